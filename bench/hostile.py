#!/usr/bin/env python3
"""Benchmark hostile input (issue #12): every case of tests/hostile through the real CLI.

    .venv/bin/python bench/hostile.py

Each case is one `mlgitops` subprocess on a copy of the example repository with one hostile edit
(alias bombs, a cycle, deep nesting, CEL over the cost budget). It prints seconds (wall, interpreter
start-up included) and the child's own peak RSS (os.wait4) against the target: refused in under
2 s and 300 MB. Exit 0 whatever the outcome (a benchmark, not a test); the tests assert the
diagnostics.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE.parent / "tests" / "hostile"))

import test_cel_limits as cel  # noqa: E402
import test_yaml_limits as ylim  # noqa: E402
from conftest import copy_sources  # noqa: E402
from tooling import REPO_ROOT  # noqa: E402

TARGET_SECONDS, TARGET_MB = 2.0, ylim.MAX_RSS_MB


class _Stop(Exception):
    pass


def _capture(*_args, **_kwargs):  # the tests' assert helper, replaced: run and time instead
    raise _Stop


def cases():
    import inspect
    for module in (ylim, cel):
        for name, func in inspect.getmembers(module, inspect.isfunction):
            if not name.startswith("test_"):
                continue
            marks = getattr(func, "pytestmark", [])
            params = [m for m in marks if m.name == "parametrize"]
            if params:
                argname, values = params[0].args
                for value in values:
                    yield f"{name}[{value if isinstance(value, int) else ' '.join(value)}]", func, {argname: value}
            else:
                yield name, func, {}


def main() -> int:
    rows = []
    for label, func, kwargs in cases():
        tmp = pathlib.Path(tempfile.mkdtemp(prefix="mlgitops-hostile-"))
        try:
            root = copy_sources(tmp / "repo", with_output=True)
            shutil.copytree(REPO_ROOT / "policies", root / "policies")
            if func.__module__ == cel.__name__:
                shutil.rmtree(root / "policies/tests")
            measured = {}

            def timed(args, cwd, expected, _measured=measured):
                started = time.perf_counter()
                code, out, peak = ylim.run_measured(args, cwd)
                _measured.update(seconds=time.perf_counter() - started, peak=peak, code=code,
                                 found=expected in out.splitlines())
                return out

            ylim.assert_refused = timed
            cel.assert_cost_error = lambda site, expected: timed(["policy", "check"], site, expected)
            try:
                func(root, **kwargs)
            except AssertionError:
                pass  # counts checked by the tests
            rows.append((label, measured))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"hostile input through the real CLI (target: refused in < {TARGET_SECONDS:.0f} s and < {TARGET_MB} MB; "
          f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]})")
    for label, m in rows:
        ok = m["seconds"] < TARGET_SECONDS and m["peak"] < TARGET_MB and m["code"] == 1 and m["found"]
        print(f"  {label:62s} {m['seconds']:6.2f} s {m['peak']:6.0f} MB  exit {m['code']}  {'PASS' if ok else 'FAIL'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
