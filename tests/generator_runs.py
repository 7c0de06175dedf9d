"""Draining a generator that yields progress and returns a result (sweeps, jobs), for tests."""

from __future__ import annotations

from collections.abc import Generator
from typing import TypeVar

Y = TypeVar("Y")
R = TypeVar("R")


def run_to_end(generator: Generator[Y, None, R]) -> tuple[list[Y], R]:
    """(what `generator` yielded, in order; what it returned)."""
    progress = []
    while True:
        try:
            progress.append(next(generator))
        except StopIteration as stop:
            return progress, stop.value
