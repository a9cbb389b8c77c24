"""Draws the report's figures, inline or in a second process beside the statistics.

Why a second process: on a large study the figures (matplotlib layout, then PNG and
SVG) take several seconds of one core while the statistics, which never need them, keep
the other core's worth of work waiting; drawn in a separate process they cost no wall
time. matplotlib is not thread-safe, so a thread would not do. A small study draws
inline: the process and the tables sent to it cost more than its figures. Where there
is no fork (Windows), figures are drawn inline.

Every figure function takes the tables it draws and a keyword `stem`, writes
`figures.figure_paths(stem)` and returns those paths, so the paths
are known before the figure exists; `finish` waits for every figure, re-raises the
first error and checks each function wrote the paths expected of it.
"""

from __future__ import annotations

import gc
import multiprocessing
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

from utility_gap.analysis.figures import figure_paths

BACKGROUND_FIGURE_PAIRS = 5_000  # judged pairs from which the figures are drawn in a second process

FigureFunction = Callable[..., list[Path]]


class FigureRenderer:
    """Figures drawn now (`background=False`) or by one worker process, collected by `finish`."""

    def __init__(self, background: bool = False) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self._pending: list[tuple[str, list[Path], Future[list[Path]]]] = []
        if background and "fork" in multiprocessing.get_all_start_methods():
            # fork, started now: before the report starts a thread of its own (`BESIDE_SECTIONS`), and without
            # spawn's re-import of the caller's main module (a script calling write_report unguarded would
            # run again in the child). gc.freeze keeps the child's collections off the inherited frames, so
            # their pages stay shared instead of being copied.
            try:
                self._pool = ProcessPoolExecutor(
                    max_workers=1, mp_context=multiprocessing.get_context("fork"), initializer=gc.freeze
                )
                self._pool.submit(int).result()  # start the worker now
            except (OSError, ImportError, NotImplementedError):
                # a platform without working semaphores (sem_open) cannot start the worker: the figures are drawn
                # inline, as on a small study (tests/test_report_parallel.py)
                self.close()

    @property
    def background(self) -> bool:
        return self._pool is not None

    def draw(self, function: FigureFunction, *args: Any, stem: Path, **kwargs: Any) -> list[Path]:
        """The figure's paths; in the background it may not exist until `finish` returns."""
        if self._pool is None:
            return function(*args, stem=stem, **kwargs)
        expected = figure_paths(stem)
        self._pending.append((function.__name__, expected, self._pool.submit(function, *args, stem=stem, **kwargs)))
        return expected

    def finish(self) -> None:
        """Wait for every figure; raise the first failure (as the inline call would have)."""
        try:
            for name, expected, future in self._pending:
                written = list(future.result())
                if written != expected:
                    raise RuntimeError(f"Figure function {name} wrote {written}, not the expected {expected}.")
        finally:
            self.close()

    def close(self) -> None:
        """Stop the worker after the figures it is drawing (none is left writing into a removed folder)."""
        self._pending = []
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
