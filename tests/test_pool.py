"""pool: one fork pool for the build and for reading validate's inputs."""

from __future__ import annotations

import os
import time

import pytest

from mlgitops import pool


def test_workers_follows_the_cpu_affinity_capped_at_eight():
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    assert pool.workers() == min(usable, pool.MAX_WORKERS)


@pytest.mark.parametrize("min_items", [1, 10**9])
def test_map_forked_keeps_item_order_and_runs_closures(min_items):
    offset = 7  # a closure: forked workers inherit it, nothing is pickled on the way in
    items = list(range(40))
    assert pool.map_forked(lambda n: (n + offset, os.getpid()), items, min_items)[5][0] == 12
    results = pool.map_forked(lambda n: n * n + offset, items, min_items)
    assert results == [n * n + offset for n in items]


class Quoted(str):
    """A str subclass, as the YAML reader's QuotedStr (module level: pickle finds it by name)."""


def test_results_come_back_with_their_exact_types(monkeypatch):
    monkeypatch.setattr(pool, "workers", lambda: 2)

    def result(n):
        plain = {"name": f"m{n}", "replicas": n, "ratio": n / 2, "on": n % 2 == 0, "none": None, "ids": (n, [n])}
        return plain if n % 3 else (plain, Quoted("25%"))  # plain data, and a str subclass

    results = pool.map_forked(result, list(range(12)), 2)
    assert results == [result(n) for n in range(12)]
    assert [type(r[1]) for r in results[::3]] == [Quoted] * 4
    assert type(results[1]["ids"]) is tuple and type(results[1]["ratio"]) is float


def test_below_the_threshold_the_map_runs_in_this_process():
    assert {pid for pid in pool.map_forked(lambda _: os.getpid(), range(5), 6)} == {os.getpid()}


def test_parallel_runs_in_workers_when_there_are_cores(monkeypatch):
    monkeypatch.setattr(pool, "workers", lambda: 2)
    pids = set(pool.map_forked(lambda _: os.getpid(), list(range(16)), 2))
    assert os.getpid() not in pids


def test_a_failure_in_a_worker_is_raised_here_with_where_it_happened(monkeypatch):
    monkeypatch.setattr(pool, "workers", lambda: 2)

    def fails_on_seven(n):
        if n == 7:
            raise KeyError("no such model")
        return n

    with pytest.raises(KeyError, match="no such model") as raised:
        pool.map_forked(fails_on_seven, list(range(16)), 2)
    assert any("in a worker process" in note and "fails_on_seven" in note for note in raised.value.__notes__)


def test_a_worker_that_dies_is_an_error_not_a_hang(monkeypatch):
    monkeypatch.setattr(pool, "workers", lambda: 2)
    with pytest.raises(ChildProcessError, match="without sending"):
        pool.map_forked(lambda n: os._exit(9) if n == 3 else n, list(range(16)), 2)


def test_in_background_runs_in_another_process_and_sends_the_result_back(monkeypatch):
    monkeypatch.setattr(pool, "workers", lambda: 2)
    seen = {"ours": os.getpid()}
    wait = pool.in_background(lambda: (os.getpid(), {"closure": seen["ours"]}))
    pid, value = wait()
    assert pid != os.getpid() and value == {"closure": os.getpid()}


def test_in_background_raises_the_failure_here_with_where_it_happened(monkeypatch):
    monkeypatch.setattr(pool, "workers", lambda: 2)

    def fails():
        raise KeyError("no such model")

    wait = pool.in_background(fails)
    with pytest.raises(KeyError, match="no such model") as raised:
        wait()
    assert any("in the background process" in note and "fails" in note for note in raised.value.__notes__)

    class Unpicklable(Exception):
        def __reduce__(self):
            raise TypeError("cannot pickle")

    def fails_oddly():
        raise Unpicklable("odd")

    with pytest.raises(RuntimeError, match="Unpicklable: odd"):
        pool.in_background(fails_oddly)()


def test_in_background_with_one_core_runs_when_asked_in_this_process(monkeypatch):
    monkeypatch.setattr(pool, "workers", lambda: 1)
    calls = []
    wait = pool.in_background(lambda: calls.append(os.getpid()) or len(calls))
    assert calls == []  # not started yet
    assert wait() == 1 and calls == [os.getpid()]


def test_in_background_tells_whether_its_result_is_there_without_waiting(monkeypatch):
    monkeypatch.setattr(pool, "workers", lambda: 2)
    read_end, write_end = os.pipe()
    wait = pool.in_background(lambda: os.read(read_end, 1))  # runs until this process writes
    assert not wait.ready()
    os.write(write_end, b"x")
    deadline = time.monotonic() + 30
    while not wait.ready() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert wait.ready() and wait() == b"x" and wait.ready()  # (and still after the result was taken)
    monkeypatch.setattr(pool, "workers", lambda: 1)
    assert pool.in_background(lambda: 1).ready()  # runs here when asked: nothing to wait for


def test_a_background_process_that_dies_is_an_error_not_a_hang(monkeypatch):
    monkeypatch.setattr(pool, "workers", lambda: 2)
    wait = pool.in_background(lambda: os._exit(9))
    with pytest.raises(ChildProcessError, match="ended without a result"):
        wait()


def test_the_workers_collect_garbage_as_the_caller_does_and_the_caller_again_after(monkeypatch):
    import gc

    monkeypatch.setattr(pool, "workers", lambda: 2)
    assert gc.isenabled()
    assert set(pool.map_forked(lambda _: gc.isenabled(), list(range(8)), 2)) == {True}
    assert gc.isenabled()
    gc.disable()
    try:
        assert set(pool.map_forked(lambda _: gc.isenabled(), list(range(8)), 2)) == {False}
        assert not gc.isenabled()
    finally:
        gc.enable()


@pytest.mark.parametrize("min_items", [1, 10_000], ids=["workers", "this process"])
def test_progress_is_told_here_as_results_come_in(monkeypatch, min_items):
    monkeypatch.setattr(pool, "workers", lambda: 2)
    told: list[tuple[int, int, int]] = []
    results = pool.map_forked(lambda x: (x, os.getpid()), list(range(300)), min_items,
                              progress=lambda done, total: told.append((done, total, os.getpid())))
    assert [x for x, _pid in results] == list(range(300))
    assert {pid for *_, pid in told} == {os.getpid()}  # told in this process, never in a worker
    assert [done for done, _total, _pid in told] == sorted({done for done, _total, _pid in told})  # rising
    assert told[-1][:2] == (300, 300) and {total for _done, total, _pid in told} == {300}
    workers = {pid for _x, pid in results} - {os.getpid()}
    assert (len(told) == 300 and not workers) if min_items > 300 else (2 <= len(told) < 300 and workers)
