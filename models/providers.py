"""Registers the `simulated/<role>` model provider with Inspect (loaded by the registry)."""

from inspect_ai.model import ModelAPI, modelapi


@modelapi(name="simulated")
def simulated() -> type[ModelAPI]:
    from utility_gap.models.simulated import SimulatedModelAPI

    return SimulatedModelAPI
