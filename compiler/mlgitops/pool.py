"""One fork pool: map a function over items on every usable core, results in item order.

Workers are forked, so they inherit the function and the items (closures too): nothing is
pickled on the way in, only each result on the way back. Below `min_items` items, with one
usable core, or where fork is unavailable, the map runs in this process.
"""

from __future__ import annotations

import multiprocessing
import os
from typing import Any, Callable, Sequence, TypeVar

T = TypeVar("T")
R = TypeVar("R")

MAX_WORKERS = 8

_TASK: tuple[Callable[[Any], Any], Sequence[Any]] | None = None  # inherited by the forked workers


def workers() -> int:
    """The cores this process may run on (its CPU affinity where the platform has one), at most 8."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return min(usable, MAX_WORKERS)


def _nth(index: int) -> Any:
    assert _TASK is not None
    fn, items = _TASK
    return fn(items[index])


def map_forked(fn: Callable[[T], R], items: Sequence[T], min_items: int) -> list[R]:
    """[fn(item) for item in items], in forked worker processes when there are `min_items` or more."""
    global _TASK
    count = workers()
    if len(items) < min_items or count < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return [fn(item) for item in items]
    _TASK = (fn, items)
    try:
        with multiprocessing.get_context("fork").Pool(count) as pool:
            return pool.map(_nth, range(len(items)), chunksize=max(1, len(items) // (count * 8)))
    finally:
        _TASK = None
