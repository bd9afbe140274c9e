"""What the benchmark scripts share: bench/build.py's synthetic repository, and its rendered corpus."""

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


def write_corpus(root: str, overlays: list[str]) -> tuple[str, int]:
    """Every overlay rendered once into root/corpus/<env>/<model>.yaml (one YAML stream each), the
    files that validate and policy benchmarks time tools on; returns (directory, objects)."""
    from mlgitops.emit import dump_all
    from mlgitops.kustomize.engine import render_objects

    corpus = os.path.join(root, "corpus")
    total = 0
    for overlay in overlays:
        objs = render_objects(os.path.join(root, overlay), repo_root=root)
        env, model = overlay.split("/")[-2:]
        os.makedirs(os.path.join(corpus, env), exist_ok=True)
        with open(os.path.join(corpus, env, f"{model}.yaml"), "w", encoding="utf-8") as fh:
            fh.write(dump_all(objs, sort_keys=True))
        total += len(objs)
    return corpus, total
