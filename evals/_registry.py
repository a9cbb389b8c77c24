# ruff: noqa: F401
# Imports only: what `inspect list tasks` and `--model simulated/...` see.
from utility_gap.models.providers import simulated
