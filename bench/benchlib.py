"""What the benchmark scripts share: bench/build.py's synthetic repository, imported as a module."""

from __future__ import annotations

import importlib.util
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def load_build_module():
    """bench/build.py, imported under a name that cannot clash with the PyPI `build` package."""
    spec = importlib.util.spec_from_file_location("mlgitops_bench_build", os.path.join(HERE, "build.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
