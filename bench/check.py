#!/usr/bin/env python3
"""Benchmark `mlgitops check`: the whole gate on 1,000 models x 3 environments, full and for one change.

    .venv/bin/python bench/check.py [--models N] [--envs K] [--repeat R] [--full-repeat F] [--keep DIR] [--json]

It creates bench/build.py's synthetic repository, copies this repository's policies/ into it
(parameters made to fit the synthetic platform as bench/policy.py does) with their test cases,
adds the example's four models (the cases read their overlays) and the platform settings they
need (mlgitops.yaml network, routes, storage), builds it and commits everything in a fresh git
repository (all untimed). So the full check runs the example's 177 policy test cases, as it does
in a real repository. Then it times, as subprocesses of the real CLI
(interpreter start-up included):
  full  `mlgitops check` over the whole repository (median of F runs, 3 by default: on a 2-core
        VM one run swings by a second, the whole margin to the target);
  one   `mlgitops check --changed-since HEAD` after one model changed and was rebuilt with
        `mlgitops build --model NAME` (median of R runs).
Targets (2-core machine, issue #18): full <= 15 s, one <= 0.5 s. The gate's findings (the
synthetic models break a few of the example policies) are counted, not fatal: exit 0 or 1 are
both fine.

In the same run, the real tools: what a CI job without mlgitops runs per overlay,
`kubectl kustomize DIR | kubeconform -strict -summary -` (the same schemas), on S evenly spaced
overlays one after another; the mean is EXTRAPOLATED to all overlays and compared with the full
check, which does more (build --check, references, policy test and check).

Exit codes: 0 the benchmark ran (a missed target is printed, this is not a test); 1 the
repository could not be made or a check did not pass; 2 usage error.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

from benchlib import corpus_arguments, find_kubeconform, load_build_module, run_in_workdir, speed_probe  # noqa: E402 - bench/ is on sys.path
from policy import comply_params  # noqa: E402 - bench/policy.py

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
TARGETS = {"full": 15.0, "one": 0.5}
B = load_build_module()
GIT_ENV = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@localhost",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@localhost"}


# The CRD catalog beside the repository (the repository also commits its own CRD schemas in schemas/).
_SHARED_SCHEMAS = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared",
                                               "schemas"))
SCHEMAS = ["--schema-location", _SHARED_SCHEMAS + "/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json",
           "--schema-location", "default"] if os.path.isdir(_SHARED_SCHEMAS) else []


# What the example's models need from mlgitops.yaml besides what the synthetic one has.
EXAMPLE_PLATFORM = ("network", "routes", "storage")


def add_example_models(root: str) -> None:
    """The example's models and the platform settings they use, so that the example's policy test
    cases (which read their overlays) run in the synthetic repository. The GPU test objects are in
    ml-dev, a namespace without GPUs in the example; the synthetic platform has GPUs there
    (comply_params), so they move to one without."""
    import yaml

    for path in sorted(glob.glob(os.path.join(REPO, "models", "*.yaml"))):
        shutil.copy(path, os.path.join(root, "models", os.path.basename(path)))
    with open(os.path.join(REPO, "mlgitops.yaml"), encoding="utf-8") as fh:
        example = yaml.safe_load(fh)
    config_path = os.path.join(root, "mlgitops.yaml")
    with open(config_path, encoding="utf-8") as fh:
        config = yaml.safe_load(fh)
    config.update({key: example[key] for key in EXAMPLE_PLATFORM if key in example})
    with open(config_path, "w", encoding="utf-8") as fh:
        yaml.safe_dump(config, fh, sort_keys=False)
    cases = os.path.join(root, "policies", "tests", "gpu-allowed.yaml")
    with open(cases, encoding="utf-8") as fh:
        text = fh.read()
    with open(cases, "w", encoding="utf-8") as fh:
        fh.write(re.sub(r"namespace: ml-dev\b", "namespace: ml-sandbox", text))


def git(root: str, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, env=GIT_ENV)


def timed_check(mlgitops: str, root: str, *args: str) -> tuple[float, dict]:
    """Seconds of one `mlgitops check` run and its JSON report (its CPU time, with its workers',
    goes to build.py's CPU_LOG). Exit 1 (findings: the synthetic models break some of the example
    policies, e.g. Knative prod models have no canary analysis) is a normal outcome; anything else
    is a failure of the benchmark."""
    command = [mlgitops, "check", "--repo", root, "--format", "json", *SCHEMAS, *args]
    cpu = B.children_cpu()
    started = time.perf_counter()
    proc = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True)
    seconds = time.perf_counter() - started
    B.CPU_LOG.append(B.children_cpu() - cpu)
    if proc.returncode not in (0, 1):
        raise B.BenchError(f"`{' '.join(command)}` exited {proc.returncode}: {proc.stderr.decode()[-2000:]}")
    return seconds, json.loads(proc.stdout)


def real_tools(root: str, overlays: list[str], sample: int, total: int) -> dict | None:
    """Seconds per overlay of `kubectl kustomize DIR | kubeconform -strict -summary -` on `sample`
    evenly spaced overlays of `overlays` (after one untimed warm-up), extrapolated to `total`
    overlays, and the objects kubeconform counted; None without kubectl or kubeconform."""
    from mlgitops.kustomize.engine import render_objects
    from mlgitops.validate.registry import SchemaRegistry

    kubectl, kubeconform = B.venv_tool("kubectl"), find_kubeconform()
    if not kubectl or not kubeconform or sample <= 0:
        return None
    chosen = [overlays[i * len(overlays) // sample] for i in range(sample)]
    gvks = sorted({(o["apiVersion"], o["kind"]) for rel in chosen
                   for o in render_objects(os.path.join(root, rel), repo_root=root)})
    locations = SCHEMAS[1::2] if SCHEMAS else ["default"]
    registry = SchemaRegistry(locations, repo_root=root, kubernetes_version="1.33.0", strict=True,
                              cache_dir=os.path.join(root, ".mlgitops", "cache"))
    validate = [kubeconform, "-strict", "-summary", "-output", "json", "-kubernetes-version", "1.33.0"]
    for location in registry.kubeconform_locations(gvks):
        validate += ["-schema-location", location]
    validate.append("-")

    def once(rel: str) -> tuple[float, int]:
        started = time.perf_counter()
        rendered = subprocess.run([kubectl, "kustomize", os.path.join(root, rel)], capture_output=True)
        checked = subprocess.run(validate, input=rendered.stdout, capture_output=True)
        seconds = time.perf_counter() - started
        if rendered.returncode != 0 or checked.returncode != 0:
            raise B.BenchError(f"kubectl kustomize | kubeconform on {rel} failed: "
                               f"{(rendered.stderr + checked.stderr + checked.stdout).decode()[-2000:]}")
        summary = json.loads(checked.stdout)["summary"]
        return seconds, summary["valid"] + summary["invalid"] + summary["errors"]

    once(chosen[0])  # warm-up
    runs = [once(rel) for rel in chosen]
    per_overlay = statistics.mean(seconds for seconds, _ in runs)
    return {"sample": sample, "per_overlay_s": per_overlay, "objects": sum(n for _, n in runs),
            "extrapolated_s": per_overlay * total}


def bench(args, root: str) -> dict:
    mlgitops = B.venv_tool("mlgitops")
    if not mlgitops:
        raise B.BenchError("mlgitops not found next to this interpreter (run with .venv/bin/python)")
    envs = B.environment_names(args.envs)
    B.log(f"bench: generating {args.models} models x {len(envs)} environments in {root}")
    names = B.create_repo(root, args.models, envs, prod_clusters=1)  # N x K overlays, as the earlier figures (build.py's default adds a second prod cluster)
    shutil.copytree(os.path.join(REPO, "policies"), os.path.join(root, "policies"))
    comply_params(os.path.join(root, "policies", "params"), envs)
    add_example_models(root)
    B.run([mlgitops, "build", "--repo", root, "--quiet"], what="mlgitops build of the synthetic repository")
    with open(os.path.join(root, ".gitignore"), "w", encoding="utf-8") as fh:
        fh.write(".mlgitops/\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "synthetic repository")

    overlays = sorted(os.path.relpath(os.path.dirname(path), root) for path in
                      glob.glob(os.path.join(root, "overlays", "*", "*", "kustomization.yaml")))
    # The sample is of synthetic overlays, as before the example's models were added (theirs need
    # schemas the shared ones lack, such as ExternalSecret's).
    synthetic_names = set(names)
    synthetic = [rel for rel in overlays if os.path.basename(rel) in synthetic_names]
    B.log(f"bench: kubectl kustomize | kubeconform on {args.sample} of {len(overlays)} overlays")
    tools = real_tools(root, synthetic, args.sample, len(overlays))
    full_runs = []
    for i in range(max(1, args.full_repeat)):
        B.log(f"bench: mlgitops check (full), run {i + 1} of {max(1, args.full_repeat)}")
        seconds, report = timed_check(mlgitops, root)
        full_runs.append(seconds)
    full = statistics.median(full_runs)
    full_cpu = statistics.median(B.CPU_LOG[-len(full_runs):])
    changed = names[len(names) // 2]
    B.bump_max_replicas(root, changed)
    B.run([mlgitops, "build", "--repo", root, "--quiet", "--model", changed], what=f"mlgitops build --model {changed}")
    runs = []
    for _ in range(args.repeat):
        seconds, one = timed_check(mlgitops, root, "--changed-since", "HEAD")
        runs.append(seconds)
    one_cpu = statistics.median(B.CPU_LOG[-len(runs):]) if runs else 0.0
    if one["stages"].get("changed") != f"1 models changed since HEAD: {changed}":
        raise B.BenchError(f"--changed-since did not narrow the check to {changed}: {one['stages']}")
    return {"models": args.models, "envs": len(envs), "changed_model": changed, "overlays": len(overlays),
            "real_tools": tools,
            "full_s": full, "full_runs": full_runs, "full_cpu_s": full_cpu, "one_cpu_s": one_cpu, "full_stages": report["stages"], "full_errors": report["errors"],
            "one_errors": one["errors"],
            "one_runs": runs, "one_median_s": statistics.median(runs), "one_stages": one["stages"],
            "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
            "python": sys.version.split()[0], "speed_probe_s": round(speed_probe(), 3)}


def print_report(res: dict) -> None:
    def verdict(name: str, seconds: float) -> str:
        return f"PASS (target <= {TARGETS[name]:g} s)" if seconds <= TARGETS[name] \
            else f"FAIL (target <= {TARGETS[name]:g} s)"

    print(f"mlgitops check on {res['models']} models x {res['envs']} environments "
          f"({res['cpus']} CPUs, Python {res['python']}, speed probe {res['speed_probe_s']} s)")
    print(f"  full check                    {res['full_s']:6.2f} s  {verdict('full', res['full_s'])} "
          f"(median; runs: {', '.join(f'{x:.2f}' for x in res['full_runs'])}; {res['full_errors']} error findings)")
    cores = res["cpus"] or 1
    print(f"      CPU (user + system, the command and its workers): median {res['full_cpu_s']:.2f} s; "
          f"/{cores} cores = {res['full_cpu_s'] / cores:.2f} s, the shortest wall time any split could reach")
    for stage, line in res["full_stages"].items():
        print(f"      {stage}: {line}")
    print(f"  --changed-since, one model    {res['one_median_s']:6.2f} s  {verdict('one', res['one_median_s'])} "
          f"(median; runs: {', '.join(f'{x:.2f}' for x in res['one_runs'])}; {res['one_errors']} error findings)")
    print(f"      CPU (user + system, the command and its workers): median {res['one_cpu_s']:.2f} s")
    for stage, line in res["one_stages"].items():
        print(f"      {stage}: {line}")
    tools = res.get("real_tools")
    if tools:
        print(f"  real tools: `kubectl kustomize DIR | kubeconform -strict -` on {tools['sample']} overlays "
              f"({tools['objects']} objects): {tools['per_overlay_s'] * 1000:.1f} ms per overlay, "
              f"EXTRAPOLATED to {res['overlays']} overlays: {tools['extrapolated_s']:.1f} s")
        print(f"  full check vs real tools: {tools['extrapolated_s'] / res['full_s']:.1f}x "
              "(kustomize+kubeconform time / mlgitops check time; the check also runs build --check, "
              "references and policies)")
    else:
        print("  real tools: skipped (kubectl or kubeconform not found, or --sample 0)")


def main() -> int:
    args = corpus_arguments(__doc__, sample=20, full_repeat=3)
    res = run_in_workdir(args, "mlgitops-bench-check-", lambda root: bench(args, root), print_report, B.BenchError)
    return 0 if res is not None else 1


if __name__ == "__main__":
    sys.exit(main())
