"""What the benchmark scripts share: bench/build.py's synthetic repository, and its rendered corpus."""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import os
import shutil
import sys
import tempfile
from typing import Any, Callable

HERE = os.path.dirname(os.path.abspath(__file__))

# The CLI under test keeps its bytecode, as an installed mlgitops does (pip compiles a wheel's
# modules at install time). A development environment that sets PYTHONDONTWRITEBYTECODE=1 would
# otherwise make every timed `mlgitops` subprocess compile compiler/ again (0.2-0.4 s for `check`).
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)


def load_build_module():
    """bench/build.py, imported under a name that cannot clash with the PyPI `build` package."""
    spec = importlib.util.spec_from_file_location("mlgitops_bench_build", os.path.join(HERE, "build.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def find_kubeconform() -> str | None:
    """The kubeconform binary: $MLGITOPS_KUBECONFORM, .tools/bin (make tools), PATH, ~/go/bin."""
    for candidate in (os.environ.get("MLGITOPS_KUBECONFORM"), os.path.join(os.path.dirname(HERE), ".tools", "bin",
                      "kubeconform"), shutil.which("kubeconform"), os.path.expanduser("~/go/bin/kubeconform")):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


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


def corpus_arguments(doc: str, sample: int | None = None, full_repeat: int | None = None) -> argparse.Namespace:
    """The options every corpus benchmark takes (and --sample S, real-tool runs, when `sample` is
    given; --full-repeat F, runs of the slow whole-repository command, when `full_repeat` is)."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    if sample is not None:
        parser.add_argument("--sample", type=int, default=sample, help="overlays the real tools run on (0 skips)")
    if full_repeat is not None:
        parser.add_argument("--full-repeat", type=int, default=full_repeat,
                            help="runs of the whole-repository command (the median is judged)")
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--envs", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", metavar="DIR", help="build the corpus in DIR and keep it")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    return parser.parse_args()


def run_in_workdir(args: argparse.Namespace, prefix: str, bench: Callable[[str], dict],
                   report: Callable[[dict], None], failure: type[Exception]) -> dict | None:
    """bench(root) in --keep DIR or a temporary directory (removed after), then its report (JSON with
    --json); None, with the reason on stderr, when it raised `failure`."""
    root = args.keep or tempfile.mkdtemp(prefix=prefix)
    try:
        res: Any = bench(root)
    except failure as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return None
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    if args.json:
        print(json.dumps(res, indent=2, sort_keys=True))
    else:
        report(res)
    return res


@dataclasses.dataclass
class Corpus:
    mlgitops: str  # the CLI under test
    envs: list[str]
    overlays: list[str]
    directory: str  # root/corpus
    objects: int


def build_corpus(B: Any, args: argparse.Namespace, root: str, prepare: Callable[[list[str]], None] = lambda e: None
                 ) -> Corpus:
    """bench/build.py's synthetic repository of args.models x args.envs in root, built with
    `mlgitops build` and rendered into root/corpus (all untimed); `prepare(envs)` runs before the build."""
    mlgitops = B.venv_tool("mlgitops")
    if not mlgitops:
        raise B.BenchError("mlgitops not found next to this interpreter (run with .venv/bin/python)")
    envs = B.environment_names(args.envs)
    B.log(f"bench: generating {args.models} models x {len(envs)} environments in {root}")
    B.create_repo(root, args.models, envs, prod_clusters=1)  # N x K overlays, as the earlier figures (build.py's default adds a second prod cluster)
    prepare(envs)
    B.run([mlgitops, "build", "--repo", root, "--quiet"], what="mlgitops build of the synthetic repository")
    overlays = B.overlay_dirs(root)
    B.log(f"bench: rendering {len(overlays)} overlays into corpus/ (untimed)")
    directory, objects = write_corpus(root, overlays)
    return Corpus(mlgitops, envs, overlays, directory, objects)


def speed_probe() -> float:
    """Seconds for a fixed pure-Python loop: this VM's speed varies by up to 2x between minutes,
    so reports print it next to their timings (lower is faster)."""
    import time

    started = time.perf_counter()
    total = 0
    for i in range(10_000_000):
        total += i
    return time.perf_counter() - started
