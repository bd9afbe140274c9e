"""One fork pool: map a function over items on every usable core, results in item order; or run
one function in a forked process while this one does something else (in_background).

Workers are forked, so they inherit the function and the items (closures too): nothing is
pickled on the way in, only each result on the way back. Below `min_items` items, with one
usable core, or where fork is unavailable, the map runs in this process.

The pool is a few pipes rather than multiprocessing.Pool: rendering every overlay sends ~140 MB
of objects back, and Pool's receiving thread read them through a BytesIO (a fresh buffer the
size of what is left for every 64 KiB read, then copies): about half of this process's CPU time
in the map besides unpickling. Here each worker writes length-prefixed messages (marshal for
plain data, else pickle) to its own pipe, and this process reads them straight into one buffer
per worker.
"""

from __future__ import annotations

import gc
import marshal
import os
import select
import signal
import struct
import sys
from typing import Any, Callable, Generic, Sequence, TypeVar

T = TypeVar("T")
R = TypeVar("R")

MAX_WORKERS = 8

# The map ends when the last chunk does: with 8 chunks per worker (~190 overlays, ~1 s each when
# rendering 3,000 of them on 2 cores) one worker sat idle for up to a chunk at the end. A chunk
# costs this process and the worker ~0.1 ms (a pipe read, a pickle, a select), so make them small.
CHUNKS_PER_WORKER = 32

_HEADER = struct.Struct("<QB")  # before each message on a worker's pipe: its length, whether marshal wrote it
_CHUNK = struct.Struct("<I")  # a chunk number on the shared task pipe


def workers() -> int:
    """The cores this process may run on (its CPU affinity where the platform has one), at most 8."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return min(usable, MAX_WORKERS)


def map_forked(fn: Callable[[T], R], items: Sequence[T], min_items: int,
               progress: Callable[[int, int], None] | None = None) -> list[R]:
    """[fn(item) for item in items], in forked worker processes when there are `min_items` or more.

    The items go in chunks (about CHUNKS_PER_WORKER per worker), each worker taking the next
    chunk number from a shared pipe when it is free. An exception raised by fn is raised here
    (the worker's traceback attached as a note); a worker that dies without sending its results
    is a ChildProcessError, not a hang. `progress(done, total)` is told in this process as the
    results come in."""
    count = workers()
    if len(items) < min_items or not _can_fork():
        if progress is None:
            return [fn(item) for item in items]
        results = []
        for item in items:
            results.append(fn(item))
            progress(len(results), len(items))
        return results
    # pickle and traceback (results that are not plain data, failures) are imported when needed:
    # here before the fork, so that no worker imports them again; a build of one model never forks.
    import pickle  # noqa: F401
    import traceback  # noqa: F401

    size = max(1, len(items) // (count * CHUNKS_PER_WORKER))
    chunks = (len(items) + size - 1) // size
    tasks_read, tasks_write = os.pipe()
    # every chunk number at once: fewer than 2 * count * CHUNKS_PER_WORKER of them, at most 2 KiB,
    # which fits even a one-page pipe buffer, so this write never waits for a reader
    os.write(tasks_write, b"".join(_CHUNK.pack(n) for n in range(chunks)))
    os.close(tasks_write)
    collecting = gc.isenabled()
    gc.disable()  # the results are plain data without cycles: collecting while they arrive finds nothing
    pids: list[int] = []
    pipes: list[int] = []
    finished = False
    try:
        for _ in range(min(count, chunks)):
            read_end, write_end = os.pipe()
            pipes.append(read_end)  # closed below whatever happens
            try:
                pid = os.fork()
            except OSError:
                os.close(write_end)
                raise
            if pid == 0:  # a worker: serve chunks until there are none left, then leave
                _serve(fn, items, size, tasks_read, write_end, pipes, collecting)
            os.close(write_end)
            pids.append(pid)
        results = _gather(pipes, len(items), size, chunks, progress)
        finished = True
        return results
    finally:
        os.close(tasks_read)
        for fd in pipes:
            os.close(fd)
        for pid in pids:
            if not finished:  # an exception here or there: the other workers' results are not wanted
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:  # pragma: no cover - already reaped by someone else
                    continue
            os.waitpid(pid, 0)
        if collecting:
            gc.enable()


def _serve(fn: Callable[[Any], Any], items: Sequence[Any], size: int, tasks: int, out: int,
           inherited: list[int], collecting: bool) -> None:
    """A worker's life: for each chunk number read from `tasks`, (number, ok, results or the
    exception) written to `out` after a header (_encode). Never returns: the worker leaves with
    os._exit (no cleanup of what it shares with the parent), after flushing what fn printed."""
    status = 0
    try:
        for fd in inherited:  # the read ends of the workers' pipes, its own too: should the parent
            os.close(fd)  # die, a write fails (EPIPE) instead of waiting for a reader forever
        # What the worker inherited stays out of its collector's way (gc.freeze: O(1), it only moves
        # the collector's lists): its full collections would otherwise walk the parent's whole heap
        # again and again, and write to every object's header as they go, copying each page.
        gc.freeze()
        if collecting:  # the workers collect as the caller did
            gc.enable()
        while True:
            number = os.read(tasks, _CHUNK.size)  # whole numbers: all were written before any read
            if not number:
                break
            (chunk,) = _CHUNK.unpack(number)
            try:
                outcome = (chunk, True, [fn(item) for item in items[chunk * size:(chunk + 1) * size]])
                payload, marshalled = _encode(outcome)
            except BaseException as exc:  # noqa: BLE001 - every failure goes back to the parent
                import pickle

                payload = pickle.dumps((chunk, False, _portable(exc, "a worker process")),
                                       protocol=pickle.HIGHEST_PROTOCOL)
                marshalled = False
            _write_all(out, _HEADER.pack(len(payload), marshalled))
            _write_all(out, payload)
    except BaseException:  # noqa: BLE001 - the parent sees the pipe end without the results
        status = 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001 - a closed or broken stream: nothing to save
                pass
        os._exit(status)


def _encode(outcome: tuple) -> tuple[bytes, bool]:
    """(bytes, whether marshal wrote them). Results of plain data (dicts, lists, tuples, str, int,
    float, bool, None, exactly those types: rendered objects) go through marshal, which writes and
    reads them in ~70% of pickle's time; marshal refuses anything else (also subclasses of those
    types, and nesting over its depth limit) with ValueError, and then pickle writes them."""
    try:
        return marshal.dumps(outcome), True
    except ValueError:
        import pickle

        return pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL), False


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


class _Inbox:
    """What has arrived on one worker's pipe: a header, then a message of the length it says, read
    straight into a buffer that is kept and grown for the next messages (a new one for each
    message, zero-filled, costs a pass over its memory)."""

    def __init__(self) -> None:
        self.buffer = bytearray(1 << 16)
        self.wanted = _HEADER.size  # the length of what is being read (a header or a message)
        self.filled = 0
        self.header = True
        self.marshalled = False

    def receive(self, fd: int) -> Any:
        """Read what is there; the decoded message when one is complete, else None. EOFError when
        the pipe has ended."""
        with memoryview(self.buffer) as view:
            read = os.readv(fd, [view[self.filled:self.wanted]])
        if read == 0:
            raise EOFError
        self.filled += read
        if self.filled < self.wanted:
            return None
        self.filled = 0
        if self.header:
            self.wanted, self.marshalled = _HEADER.unpack_from(self.buffer)
            self.header = False
            if len(self.buffer) < self.wanted:
                self.buffer = bytearray(self.wanted)
            return None
        self.header = True
        with memoryview(self.buffer) as view, view[:self.wanted] as message:
            self.wanted = _HEADER.size
            if self.marshalled:
                return marshal.loads(message)
            import pickle

            return pickle.loads(message)


def _gather(pipes: list[int], total: int, size: int, chunks: int,
            progress: Callable[[int, int], None] | None = None) -> list:
    """The workers' results in item order, read from their pipes as they come."""
    import selectors  # (here: building or checking a few models maps in this process and never needs it)

    results: list = [None] * total
    inboxes = {fd: _Inbox() for fd in pipes}
    waiting = chunks
    done = 0
    with selectors.DefaultSelector() as selector:
        for fd in pipes:
            selector.register(fd, selectors.EVENT_READ)
        while waiting:
            if not inboxes:
                raise ChildProcessError(f"the worker processes ended without sending {waiting} of {chunks} "
                                        "chunks of results")
            for key, _ in selector.select():
                try:
                    message = inboxes[key.fd].receive(key.fd)
                except EOFError:
                    selector.unregister(key.fd)
                    del inboxes[key.fd]
                    continue
                if message is None:
                    continue
                chunk, ok, value = message
                if not ok:
                    raise value
                results[chunk * size:chunk * size + len(value)] = value
                waiting -= 1
                if progress is not None:
                    done += len(value)
                    progress(done, total)
    return results


def _can_fork() -> bool:
    # what multiprocessing.get_all_start_methods() lists "fork" for, without importing it
    return workers() >= 2 and hasattr(os, "fork") and sys.platform != "win32"


class Background(Generic[R]):
    """What in_background returns: calling it waits for fn's result; `ready()` tells, without
    waiting, whether calling it would return (or raise) at once."""

    def __init__(self, result: Callable[[], R], ready: Callable[[], bool]) -> None:
        self._result = result
        self.ready = ready

    def __call__(self) -> R:
        return self._result()


def in_background(fn: Callable[[], R]) -> Background[R]:
    """Start fn() in a forked process now and return what waits for its result (pickled back; an
    exception raised there is raised again by the waiting call, the forked process's traceback
    attached as a note). With one usable core or without fork, fn runs when its result is asked
    for (and is always ready). fn must not write to stdout or stderr: the forked process leaves
    without flushing them."""
    if not _can_fork():
        return Background(fn, lambda: True)
    import pickle
    import traceback  # noqa: F401 - for _portable: imported before the fork, as in map_forked

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

    waited = []

    def result() -> R:
        waited.append(True)
        with os.fdopen(read_end, "rb") as source:
            payload = source.read()
        _, status = os.waitpid(pid, 0)
        if not payload:
            raise ChildProcessError(f"the background process {pid} ended without a result (wait status {status})")
        ok, value = pickle.loads(payload)
        if not ok:
            raise value
        return value

    def ready() -> bool:  # the forked process writes its whole result at the end (or dies: end of file)
        return bool(waited) or bool(select.select([read_end], [], [], 0)[0])

    return Background(result, ready)


def _portable(exc: BaseException, where: str = "the background process") -> BaseException:
    """`exc` with its traceback as a note (a traceback does not pickle), or, when `exc` itself
    does not pickle, a RuntimeError that says what it was."""
    import pickle
    import traceback

    text = "".join(traceback.format_exception(exc))
    try:
        pickle.dumps(exc)
    except Exception:  # noqa: BLE001 - whatever pickling raises
        exc = RuntimeError(f"{type(exc).__name__}: {exc}")
    exc.add_note(f"in {where}:\n{text}")
    return exc
