"""One fork pool: map a function over items on every usable core, results in item order; or run
one function in a forked process while this one does something else (in_background).

Workers are forked, so they inherit the function and the items (closures too): nothing is
pickled on the way in, only each result on the way back. Below `min_items` items, with one
usable core, or where fork is unavailable, the map runs in this process.
"""

from __future__ import annotations

import gc
import os
import pickle
import sys
import traceback
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
    if len(items) < min_items or not _can_fork():
        return [fn(item) for item in items]
    _TASK = (fn, items)
    import multiprocessing  # (here: a forked build or check of a few models never needs it)

    collecting = gc.isenabled()
    gc.disable()  # the results are plain data without cycles: collecting while they arrive finds nothing
    try:
        # the workers collect as this process did (they inherit the switch as it is at the fork)
        with multiprocessing.get_context("fork").Pool(count, initializer=gc.enable if collecting else None) as pool:
            return pool.map(_nth, range(len(items)), chunksize=max(1, len(items) // (count * 8)))
    finally:
        _TASK = None
        if collecting:
            gc.enable()


def _can_fork() -> bool:
    # what multiprocessing.get_all_start_methods() lists "fork" for, without importing it
    return workers() >= 2 and hasattr(os, "fork") and sys.platform != "win32"


def in_background(fn: Callable[[], R]) -> Callable[[], R]:
    """Start fn() in a forked process now and return what waits for its result (pickled back; an
    exception raised there is raised again by the waiting call, the forked process's traceback
    attached as a note). With one usable core or without fork, fn runs when its result is asked
    for. fn must not write to stdout or stderr: the forked process leaves without flushing them."""
    if not _can_fork():
        return fn
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the forked process: run, send the outcome, leave without any cleanup
        status = 0
        try:
            os.close(read_end)
            try:
                payload = pickle.dumps((True, fn()), protocol=pickle.HIGHEST_PROTOCOL)
            except BaseException as exc:  # noqa: BLE001 - every failure goes back to the parent
                payload = pickle.dumps((False, _portable(exc)), protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(write_end, "wb") as out:
                out.write(payload)
        except BaseException:  # noqa: BLE001 - the parent sees an empty pipe
            status = 1
        finally:
            os._exit(status)
    os.close(write_end)

    def result() -> R:
        with os.fdopen(read_end, "rb") as source:
            payload = source.read()
        _, status = os.waitpid(pid, 0)
        if not payload:
            raise ChildProcessError(f"the background process {pid} ended without a result (wait status {status})")
        ok, value = pickle.loads(payload)
        if not ok:
            raise value
        return value

    return result


def _portable(exc: BaseException) -> BaseException:
    """`exc` with its traceback as a note (a traceback does not pickle), or, when `exc` itself
    does not pickle, a RuntimeError that says what it was."""
    text = "".join(traceback.format_exception(exc))
    try:
        pickle.dumps(exc)
    except Exception:  # noqa: BLE001 - whatever pickling raises
        exc = RuntimeError(f"{type(exc).__name__}: {exc}")
    exc.add_note(f"in the background process:\n{text}")
    return exc
