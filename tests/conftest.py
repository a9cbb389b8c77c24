"""Shared test setup: the report's frames cache goes to a temporary folder, never the user's."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from utility_gap.analysis.frames.cache import CACHE_ENV


@pytest.fixture(autouse=True, scope="session")
def _frames_cache_in_a_temporary_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    patch = pytest.MonkeyPatch()
    patch.setenv(CACHE_ENV, str(tmp_path_factory.mktemp("frames-cache")))
    yield
    patch.undo()
