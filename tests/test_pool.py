"""pool: one fork pool for the build and for reading validate's inputs."""

from __future__ import annotations

import os

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
    assert pool._TASK is None


def test_below_the_threshold_the_map_runs_in_this_process():
    assert {pid for pid in pool.map_forked(lambda _: os.getpid(), range(5), 6)} == {os.getpid()}


def test_parallel_runs_in_workers_when_there_are_cores(monkeypatch):
    monkeypatch.setattr(pool, "workers", lambda: 2)
    pids = set(pool.map_forked(lambda _: os.getpid(), list(range(16)), 2))
    assert os.getpid() not in pids
