#!/usr/bin/env python3
"""Benchmark `mlgitops validate` (built-in engine) against the real `kubeconform` on one corpus.

    .venv/bin/python bench/validate.py [--models N] [--envs K] [--repeat R] [--keep DIR] [--json]

It creates bench/build.py's synthetic repository (N models x K environments, default 1,000 x 3),
runs `mlgitops build` there (untimed), renders every overlay once with the built-in renderer
into one YAML stream per overlay under corpus/ (untimed), then times, on exactly those files,
with the same schemas (the CRD catalog in ../shared/schemas when present, else the repo's
schemas/, then the bundled Kubernetes core schemas, materialised as standalone files for
kubeconform):

  (a) builtin:     `mlgitops validate corpus --schema-location ... --no-strict-schemas -q`
  (b) kubeconform: `kubeconform -strict -summary -output json -schema-location ... corpus`
                   (its default 4 workers)

Both are subprocesses timed by wall clock, interpreter and binary start-up included, median of
R runs. It prints objects per second for each and the ratio (target: builtin >= kubeconform),
and checks both counted the same number of resources and found no invalid ones.

Exit codes: 0 the benchmark ran (a missed target is printed, this is not a test); 1 the corpus
could not be made or the engines disagree on counts; 2 usage error or a missing tool.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from benchlib import build_corpus, corpus_arguments, find_kubeconform, load_build_module, run_in_workdir, speed_probe  # noqa: E402 - bench/ is on sys.path when run as a script

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SHARED_SCHEMAS = os.path.join(os.path.dirname(REPO), "shared", "schemas")
CATALOG = "{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json"
TARGET_RATIO = 1.0  # builtin objects/s over kubeconform objects/s


B = load_build_module()
log = B.log


def timed(cmd: list[str], what: str, expect=(0,)) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if proc.returncode not in expect:
        raise B.BenchError(f"{what} exited {proc.returncode}: {(proc.stderr or proc.stdout)[-2000:]}")
    return elapsed, proc


def bench(args: argparse.Namespace, root: str, kubeconform: str) -> dict:
    made = build_corpus(B, args, root)
    mlgitops, envs, overlays, corpus, objects = made.mlgitops, made.envs, made.overlays, made.directory, made.objects

    from mlgitops.validate.documents import collect
    from mlgitops.validate.registry import SchemaRegistry

    locations = ([os.path.join(SHARED_SCHEMAS, CATALOG)] if os.path.isdir(SHARED_SCHEMAS) else []) + ["default"]
    registry = SchemaRegistry(locations, repo_root=root, kubernetes_version="1.33.0", strict=True,
                              cache_dir=os.path.join(root, ".mlgitops", "cache"))
    sample = collect([corpus], root).documents
    gvks = sorted({(d.api_version, d.kind) for d in sample})
    kc_locations = registry.kubeconform_locations(gvks)

    builtin_cmd = [mlgitops, "validate", corpus, "--repo", root, "--no-strict-schemas", "--format", "json"]
    for location in locations:
        builtin_cmd += ["--schema-location", location]
    kc_cmd = [kubeconform, "-strict", "-summary", "-output", "json", "-kubernetes-version", "1.33.0"]
    for location in kc_locations:
        kc_cmd += ["-schema-location", location]
    kc_cmd.append(corpus)

    runs: dict[str, list[float]] = {"builtin": [], "kubeconform": []}
    counts: dict[str, dict] = {}
    for i in range(args.repeat):
        log(f"bench: run {i + 1}/{args.repeat}")
        seconds, proc = timed(builtin_cmd, "mlgitops validate", expect=(0, 1))
        runs["builtin"].append(seconds)
        report = json.loads(proc.stdout)
        counts["builtin"] = {k: report[k] for k in ("resources", "valid", "invalid", "skipped")}
        counts["builtin"]["errors"] = report["errored"]
        seconds, proc = timed(kc_cmd, "kubeconform", expect=(0, 1))
        runs["kubeconform"].append(seconds)
        summary = json.loads(proc.stdout)["summary"]
        counts["kubeconform"] = {"resources": summary["valid"] + summary["invalid"] + summary["errors"]
                                 + summary["skipped"], "valid": summary["valid"], "invalid": summary["invalid"],
                                 "errors": summary["errors"], "skipped": summary["skipped"]}
    medians = {k: statistics.median(v) for k, v in runs.items()}
    probe = speed_probe()
    rates = {k: objects / medians[k] for k in medians}
    return {"models": args.models, "envs": len(envs), "overlays": len(overlays), "objects": objects,
            "runs": runs, "median_s": medians, "objects_per_s": rates,
            "ratio": rates["builtin"] / rates["kubeconform"], "counts": counts,
            "kubeconform": subprocess.run([kubeconform, "-v"], capture_output=True, text=True).stdout.strip(),
            "cpus": os.cpu_count(), "python": sys.version.split()[0], "speed_probe_s": probe}


def print_report(res: dict) -> None:
    print(f"corpus: {res['models']} models x {res['envs']} environments = {res['overlays']} overlays, "
          f"{res['objects']} objects ({res['cpus']} CPUs, Python {res['python']}, kubeconform {res['kubeconform']})")
    for name in ("builtin", "kubeconform"):
        c = res["counts"][name]
        print(f"  {name:<12} median {res['median_s'][name]:7.2f} s  {res['objects_per_s'][name]:9.0f} objects/s  "
              f"(resources {c['resources']}, valid {c['valid']}, invalid {c['invalid']}, errors {c['errors']}, "
              f"skipped {c['skipped']}; runs: {', '.join(f'{x:.2f}' for x in res['runs'][name])})")
    print(f"  machine speed probe (bench/benchlib.py): {res['speed_probe_s']:.2f} s (a fixed Python loop: lower is a faster moment of this VM)")
    verdict = "PASS" if res["ratio"] >= TARGET_RATIO else "FAIL"
    print(f"  ratio builtin/kubeconform: {res['ratio']:.2f}x (target >= {TARGET_RATIO:.1f}x) {verdict}")


def main() -> int:
    args = corpus_arguments(__doc__)
    kubeconform = find_kubeconform()
    if not kubeconform:
        print("bench: kubeconform not found: go install github.com/yannh/kubeconform/cmd/kubeconform@v0.7.0 "
              "(or make tools)", file=sys.stderr)
        return 2
    res = run_in_workdir(args, "mlgitops-bench-validate-", lambda root: bench(args, root, kubeconform),
                         print_report, B.BenchError)
    if res is None:
        return 1
    same = res["counts"]["builtin"]["resources"] == res["counts"]["kubeconform"]["resources"]
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
