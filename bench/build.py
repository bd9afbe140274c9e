#!/usr/bin/env python3
"""Benchmark `mlgitops build` on a synthetic repository of N models x K environments.

Run with the project's virtualenv, so the CLI under test is the one installed there:

    .venv/bin/python bench/build.py [--models N] [--envs K] [--repeat R] [--keep DIR] [--json]

Every timing is the wall time of a subprocess running the real CLI
(`<venv>/bin/mlgitops build --repo DIR --quiet ...`), interpreter start-up included, as a user
sees it. In the same run it times the real `kubectl kustomize` on a sample of the generated
overlays and quotes the ratio. See bench/README.md for what each scenario means.

Exit codes: 0 the benchmark ran (even when a target is missed: misses are printed, this is not
a test); 1 the synthetic repository did not build (a generated model is invalid) or a scenario
did not behave as expected (e.g. --check found drift); 2 usage / missing tool.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

# Targets on a 2-core machine (seconds), judged on the median of the repetitions (PASS: at or
# below). Issue #18 set full <= 3 s and one model <= 0.3 s (#16 had 10 s and 1 s), judged on the
# default corpus: 1,000 models x 3 environments with prod in 2 clusters (4,000 overlays); the
# issue's corpus as filed (3,000 overlays) is --prod-clusters 1.
TARGETS = {"full": 3.0, "noop": 2.0, "one": 0.3}
# The CLI under test keeps its bytecode, as an installed mlgitops does (see benchlib.py).
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
GENERATED_ROOTS = ("overlays", "base", "argocd")
CACHE_DIR = ".mlgitops"


class BenchError(Exception):
    """The benchmark cannot produce meaningful numbers (invalid input, unexpected exit code)."""


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# The synthetic repository
# --------------------------------------------------------------------------------------------

def environment_names(k: int) -> list[str]:
    """dev, staging, prod (the last k of them for k < 3); more regional prod copies for k > 3."""
    base = ["dev", "staging", "prod"]
    if k <= 3:
        return base[3 - k:]
    return base + [f"prod-{j}" for j in range(2, k - 1)]


PROD_CLUSTERS = 2  # clusters of the `prod` environment: the second overrides maxReplicas (--prod-clusters)
# What the clusters after the first override (--cluster-override): `replicas` (maxReplicas: every
# model with autoscaling gets its own compiled overlay there, the worst case) or `storage` (a storage
# endpoint no synthetic model uses: one overlay referring to prod's per model, the common case).
CLUSTER_OVERRIDE = "replicas"


def config_text(envs: list[str], prod_clusters: int | None = None) -> str:
    """mlgitops.yaml with the structure of the repository's own, for the given environments.
    `prod` has `prod_clusters` clusters (default PROD_CLUSTERS): each after the first overrides the
    models' maxReplicas, so it gets its own compiled overlay of every model with autoscaling (the
    most a second cluster can cost); with 1, one named destination cluster."""
    prod_clusters = PROD_CLUSTERS if prod_clusters is None else prod_clusters
    lines = [
        "# Repository settings shared by every model (synthetic benchmark repository).",
        "apiVersion: mlgitops.dev/v1alpha1",
        "kind: Config",
        "kserve:",
        '  version: "0.16"',
        "argocd:",
        "  namespace: argocd",
        "  project: ml-models",
        "  repoURL: https://git.example.com/ml-platform/mlgitops-bench.git",
        "  targetRevision: main",
        "monitoring:",
        "  prometheusAddress: http://prometheus-operated.monitoring.svc.cluster.local:9090",
        "  ruleLabels:",
        "    release: kube-prometheus-stack",
        "  sloSource: istio",
        "  runbookURL: https://runbooks.example.com/mlgitops",
    ]
    if CLUSTER_OVERRIDE == "storage":
        lines += ["storage:", "  endpoints:", "    minio-eu:", "      endpoint: minio.eu.example.com",
                  "      credentials: {secretName: minio-eu-reader}"]
    lines += [
        "environments:",
    ]
    for name in envs:
        lines.append(f"  {name}:")
        lines.append(f"    namespace: ml-{name}")
        if name == "prod" and prod_clusters > 1:
            lines.append("    clusters:")
            for j in range(prod_clusters):
                lines += [f"      - name: {name}-{j + 1}", f"        server: https://{name}-{j + 1}.k8s.example.com"]
                if j and CLUSTER_OVERRIDE == "replicas":
                    lines += ["        overrides:", f"          autoscaling: {{maxReplicas: {30 + j}}}"]
                elif j:  # the region's storage endpoint: no synthetic model pulls from one
                    lines += ["        overrides:", "          storageEndpoint: minio-eu"]
        elif name.startswith("prod"):
            lines.append(f"    cluster: {name}-eu-west-1")  # a named destination cluster
        else:
            lines.append("    server: https://kubernetes.default.svc")
    return "\n".join(lines) + "\n"


TEAMS = ["ml-platform", "growth", "risk", "nlp", "search", "ads", "fraud-ops", "recsys"]
COST_CENTERS = ["growth-analytics", "risk-engineering", "platform", "research"]
# Latency thresholds that are bucket boundaries of each metric source (see rules/latency_bucket.py).
ISTIO_PAIRS = [("100ms", "250ms"), ("250ms", "500ms"), ("500ms", "1s"), ("1s", "2.5s")]
KSERVE_THRESHOLDS = ["50ms", "75ms", "100ms", "250ms", "500ms", "750ms", "1s"]
AVAILABILITY = [99.0, 99.5, 99.9, 99.95]
# (steps, replicas needed for an accurate replica-based canary = ceil(100 / smallest weight))
SKLEARN_STEPS = [
    ([(25, "2m"), (50, "5m"), (75, "5m")], 4),
    ([(20, "1m"), (40, "2m"), (60, "2m"), (80, "5m")], 5),
    ([(50, "5m")], 2),
    ([(34, "3m"), (67, "3m")], 3),
]


def _steps(steps: list[tuple[int, str | None]], indent: str) -> list[str]:
    out = []
    for weight, pause in steps:
        out.append(f"{indent}- weight: {weight}")
        if pause:
            out.append(f"{indent}  pause: {pause}")
    return out


def _header(name: str, team: str, description: str, labels: dict[str, str] | None = None) -> list[str]:
    lines = [
        "# yaml-language-server: $schema=../compiler/mlgitops/spec/model.schema.json",
        "apiVersion: mlgitops.dev/v1alpha1",
        "kind: Model",
        "metadata:",
        f"  name: {name}",
        f"  team: {team}",
        f"  description: {description}",
    ]
    if labels:
        lines.append("  labels:")
        lines.extend(f"    {k}: {v}" for k, v in labels.items())
    return lines


def sklearn_model(i: int, name: str, envs: list[str]) -> str:
    """Like iris: replica-based canary, availability + two latency SLOs on Istio metrics."""
    steps, needed = SKLEARN_STEPS[(i // 4) % len(SKLEARN_STEPS)]
    mn = needed + i % 3
    mx = mn + 2 + (i * 7) % 9
    p95, p99 = ISTIO_PAIRS[(i // 4) % len(ISTIO_PAIRS)]
    version = f"1.{i % 17}.{i % 5}"
    lines = _header(name, TEAMS[i % len(TEAMS)],
                    f"Synthetic scikit-learn classifier {i} (benchmark), replica-based canary with SLOs.",
                    {"cost-center": COST_CENTERS[i % len(COST_CENTERS)]} if i % 3 == 0 else None)
    lines += [
        "spec:",
        "  framework: sklearn",
        f"  protocol: {'v2' if i % 2 else 'v1'}",
        f"  storageUri: gs://ml-models-bench/{name}/{version}/model",
        f'  modelVersion: "{version}"',
        "  resources:",
        f"    requests: {{cpu: {250 * (1 + i % 4)}m, memory: {256 * (1 + i % 4)}Mi}}",
        f'    limits: {{cpu: "{1 + i % 2}", memory: {1 + i % 4}Gi}}',
        "  autoscaling:",
        f"    minReplicas: {mn}",
        f"    maxReplicas: {mx}",
        f"    cpuUtilization: {60 + (i * 3) % 30}",
    ]
    if i % 2 == 0:
        lines.append(f"    memoryUtilization: {70 + i % 20}")
    if i % 5 == 0:
        lines.append(f"    requestsPerSecond: {50 + 10 * (i % 10)}")
    lines += ["  canary:", "    steps:"] + _steps(steps, "      ")
    lines += [
        "  slo:",
        f"    availability: {AVAILABILITY[i % len(AVAILABILITY)]}",
        "    latency:",
        "      - percentile: 95",
        f"        threshold: {p95}",
        "      - percentile: 99",
        f"        threshold: {p99}",
    ]
    overrides = []
    if "dev" in envs:
        overrides += ["    dev:", "      autoscaling: {minReplicas: 1, maxReplicas: 2}", "      canary: {enabled: false}"]
    if "staging" in envs:
        overrides += ["    staging:", "      autoscaling: {minReplicas: 1, maxReplicas: 1}",
                      "      canary: {enabled: false}"]
    if "prod" in envs and i % 3 == 2:  # not model-0001: scenario (c) edits its spec-level maxReplicas
        overrides += ["    prod:", "      autoscaling:", f"        maxReplicas: {mx * 2}"]
    if overrides:
        lines += ["  environments:"] + overrides
    return "\n".join(lines) + "\n"


def xgboost_model(i: int, name: str, envs: list[str]) -> str:
    """Like churn: KServe latency SLO, manual canary gate, a generated IRSA service account."""
    mn = 2 + i % 3
    mx = mn + 2 + (i * 5) % 7
    index = (i // 4) % len(KSERVE_THRESHOLDS)
    threshold = KSERVE_THRESHOLDS[index]
    # An explicit p95 gate stricter than the p99 objective (a looser one is a spec.canary-gate-looser
    # warning); none where no smaller bucket exists: the gate is then the objective's own.
    p95 = KSERVE_THRESHOLDS[index - 1] if index else None
    day = 1 + i % 28
    lines = _header(name, TEAMS[i % len(TEAMS)],
                    f"Synthetic gradient-boosted model {i} (XGBoost), latency SLO from KServe's own histograms.",
                    {"cost-center": COST_CENTERS[i % len(COST_CENTERS)]})
    lines += [
        "spec:",
        "  framework: xgboost",
        f"  storageUri: s3://ml-models-bench/{name}/2026-11-{day:02d}/",
        f"  modelVersion: 2026-11-{day:02d}",
        "  serviceAccount:",
        f"    name: {name}-reader",
        "    create: true",
        "    annotations:",
        f"      eks.amazonaws.com/role-arn: arn:aws:iam::123456789012:role/{name}-reader",
        "  env:",
        "    - name: MODEL_THRESHOLD",
        f'      value: "0.{30 + i % 60}"',
        "  resources:",
        f'    requests: {{cpu: "1", memory: {1 + i % 3}Gi}}',
        f'    limits: {{cpu: "2", memory: {1 + i % 3}Gi}}',
        "  autoscaling:",
        f"    minReplicas: {mn}",
        f"    maxReplicas: {mx}",
        f"    cpuUtilization: {65 + i % 20}",
        "  canary:",
        "    steps:",
        "      - weight: 50",
        "        pause: manual",
        "      - weight: 100",
    ] + (["    analysis:", f"      latencyP95: {p95}"] if p95 else []) + [
        "  slo:",
        "    source: kserve",
        "    latency:",
        "      - percentile: 99",
        f"        threshold: {threshold}",
    ]
    overrides = []
    if "dev" in envs:
        overrides += ["    dev:", "      autoscaling: {minReplicas: 1, maxReplicas: 1}", "      canary: {enabled: false}"]
    if "staging" in envs:
        overrides += ["    staging:", "      canary: {enabled: false}"]
    if overrides:
        lines += ["  environments:"] + overrides
    return "\n".join(lines) + "\n"


def huggingface_model(i: int, name: str, envs: list[str]) -> str:
    """Like sentiment: GPUs, a tokenising transformer, Istio canary routing."""
    gpus = 1 + (i // 4) % 2
    mn = 2 + i % 2
    mx = mn + 2 + (i * 3) % 7
    p95 = ["500ms", "1s", "2.5s"][(i // 4) % 3]
    lines = _header(name, TEAMS[i % len(TEAMS)],
                    f"Synthetic Hugging Face model {i} on GPUs, with a tokenising transformer and Istio canary routing.")
    lines += [
        "spec:",
        "  framework: huggingface",
        f"  storageUri: hf://example-org/{name}-distilbert",
        "  container:",
        f'    args: ["--model_name={name}", "--task=sequence_classification"]',
        "    env:",
        "      - name: HF_TOKEN",
        "        secretKeyRef: {name: huggingface-token, key: token}",
        "  resources:",
        f'    requests: {{cpu: "{4 * gpus}", memory: {16 * gpus}Gi}}',
        f'    limits: {{cpu: "{8 * gpus}", memory: {16 * gpus}Gi}}',
        f"    gpu: {gpus}",
        "  scheduling:",
        "    nodeSelector:",
        '      nvidia.com/gpu.present: "true"',
        "    tolerations:",
        "      - key: nvidia.com/gpu",
        "        operator: Exists",
        "        effect: NoSchedule",
        "  transformer:",
        f"    image: ghcr.io/example/{name}-tokenizer:1.4.{i % 10}",
        "    resources:",
        "      requests: {cpu: 500m, memory: 1Gi}",
        '      limits: {cpu: "1", memory: 1Gi}',
        f"    replicas: {1 + i % 3}",
        "  autoscaling:",
        f"    minReplicas: {mn}",
        f"    maxReplicas: {mx}",
        f"    cpuUtilization: {50 + i % 30}",
        "  canary:",
        "    trafficRouting: istio",
        "    steps:",
    ] + _steps([(10, "10m"), (30, "10m"), (60, "manual")] if i % 8 < 4 else [(5, "5m"), (50, "10m")], "      ")
    lines += [
        "  slo:",
        f"    availability: {AVAILABILITY[(i // 4) % len(AVAILABILITY)]}",
        "    latency:",
        "      - percentile: 95",
        f"        threshold: {p95}",
    ]
    overrides = []
    if "dev" in envs:
        overrides += ["    dev:", "      autoscaling: {minReplicas: 1, maxReplicas: 1}", "      canary: {enabled: false}"]
    if "staging" in envs:
        overrides += ["    staging:", "      autoscaling: {minReplicas: 1, maxReplicas: 2}", "      canary:",
                      "        steps:", "          - weight: 50", "            pause: 2m"]
    if overrides:
        lines += ["  environments:"] + overrides
    return "\n".join(lines) + "\n"


def onnx_model(i: int, name: str, envs: list[str]) -> str:
    """Like fraud: Knative (serverless), scale to zero outside prod, KServe canary traffic split."""
    mx = 10 + (i * 3) % 20
    concurrency = 4 + (i // 4) % 12
    lines = _header(name, TEAMS[i % len(TEAMS)],
                    f'"Synthetic ONNX scorer {i} on Knative (Serverless): scales to zero in staging."')
    lines += [
        "spec:",
        "  framework: onnx",
        "  mode: serverless",
        f"  storageUri: oci://registry.example.com/models/{name}:3.{i % 7}.{i % 3}",
        "  resources:",
        "    requests: {cpu: \"1\", memory: 1Gi}",
        "    limits: {cpu: \"2\", memory: 2Gi}",
        "  autoscaling:",
        f"    minReplicas: {1 + i % 3}",
        f"    maxReplicas: {mx}",
        "  serverless:",
        f"    targetConcurrency: {concurrency}",
        f"    window: {[30, 60, 120][i % 3]}s",
        "  slo:",
        f"    availability: {AVAILABILITY[(i + 2) % len(AVAILABILITY)]}",
        "    latency:",
        "      - percentile: 99",
        f"        threshold: {['100ms', '250ms', '500ms'][(i // 4) % 3]}",
    ]
    overrides = []
    if "dev" in envs:
        overrides += ["    dev:", "      autoscaling: {minReplicas: 0, maxReplicas: 1}"]
    if "staging" in envs:
        overrides += ["    staging:", "      autoscaling: {minReplicas: 0, maxReplicas: 2}"]
    if "prod" in envs:
        overrides += ["    prod:", "      serverless:", f"        targetConcurrency: {concurrency}",
                      f"        window: {[30, 60, 120][i % 3]}s", f"        canaryTrafficPercent: {5 + 5 * (i % 4)}"]
    if overrides:
        lines += ["  environments:"] + overrides
    return "\n".join(lines) + "\n"


ARCHETYPES = [sklearn_model, xgboost_model, huggingface_model, onnx_model]


def model_name(i: int, n: int) -> str:
    return f"model-{i:0{max(4, len(str(n)))}d}"


def create_repo(root: str, n: int, envs: list[str], prod_clusters: int | None = None) -> list[str]:
    os.makedirs(os.path.join(root, "models"))
    with open(os.path.join(root, "mlgitops.yaml"), "w", encoding="utf-8") as fh:
        fh.write(config_text(envs, prod_clusters))
    names = []
    for i in range(1, n + 1):
        name = model_name(i, n)
        text = ARCHETYPES[(i - 1) % len(ARCHETYPES)](i, name, envs)
        with open(os.path.join(root, "models", f"{name}.yaml"), "w", encoding="utf-8") as fh:
            fh.write(text)
        names.append(name)
    return names


MAX_REPLICAS = re.compile(r"^(    maxReplicas: )(\d+)$", re.M)  # spec.autoscaling (overrides are deeper)


def bump_max_replicas(root: str, name: str) -> int:
    """Edit one model the way a user would: raise spec.autoscaling.maxReplicas by one."""
    path = os.path.join(root, "models", f"{name}.yaml")
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    match = MAX_REPLICAS.search(text)
    if not match:
        raise BenchError(f"{path}: no spec.autoscaling.maxReplicas line to edit")
    value = int(match.group(2)) + 1
    text = text[:match.start()] + f"{match.group(1)}{value}" + text[match.end():]
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    return value


def trash_dir(root: str) -> str:
    """Where remove_outputs moves the generated trees: beside the repository (same file system,
    so a rename), emptied once the benchmark ends."""
    return os.path.join(os.path.dirname(root), f".{os.path.basename(root)}.bench-trash")


def remove_outputs(root: str) -> None:
    """Take the generated trees away before a from-scratch build, by renaming them out of the
    repository, not by deleting them. On ext4, deleting 12,000 files and creating as many within
    the next 30 s (vm.dirty_expire_centisecs) makes every create scan the freed inodes
    (ext4's find_inode_bit -> recently_deleted: 80% of the kernel time under perf), which
    tripled a build's write stage here; a fresh clone has no such inodes. See bench/README.md."""
    trash = trash_dir(root)
    os.makedirs(trash, exist_ok=True)
    slot = tempfile.mkdtemp(dir=trash)
    for top in GENERATED_ROOTS + (CACHE_DIR,):
        if os.path.lexists(os.path.join(root, top)):
            os.rename(os.path.join(root, top), os.path.join(slot, top))


def generated_files(root: str) -> int:
    count = 0
    for top in GENERATED_ROOTS:
        for _, _, filenames in os.walk(os.path.join(root, top)):
            count += len(filenames)
    return count


def overlay_dirs(root: str) -> list[str]:
    found = []
    base = os.path.join(root, "overlays")
    for env in sorted(os.listdir(base)):
        for model in sorted(os.listdir(os.path.join(base, env))):
            found.append(f"overlays/{env}/{model}")
    return found


# --------------------------------------------------------------------------------------------
# Running the tools
# --------------------------------------------------------------------------------------------

def venv_tool(name: str) -> str | None:
    """`name` next to the running interpreter (the venv's bin/), else on PATH."""
    candidate = os.path.join(os.path.dirname(sys.executable), name)  # no realpath: keep the venv
    if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
        return candidate
    return shutil.which(name)


# The CPU time (user + system, seconds) of each command `run` ran, in order: the command and every
# process it waited for (its forked workers), as getrusage(RUSAGE_CHILDREN) counts them.
CPU_LOG: list[float] = []


def children_cpu() -> float:
    """CPU time (user + system) of this process's finished children and everything they waited
    for (the CLI's workers, kubectl runs); bench/render.py, policy.py and check.py use it too."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(cmd: list[str], *, expect: int = 0, what: str) -> tuple[float, subprocess.CompletedProcess]:
    cpu = children_cpu()
    started = time.perf_counter()
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - started
    CPU_LOG.append(children_cpu() - cpu)
    if proc.returncode != expect:
        out = (proc.stdout.decode(errors="replace") + proc.stderr.decode(errors="replace")).strip()
        lines = out.splitlines()
        shown = "\n".join(lines[:60]) + (f"\n... ({len(lines) - 60} more lines)" if len(lines) > 60 else "")
        raise BenchError(f"{what}: `{' '.join(cmd)}` exited {proc.returncode}, expected {expect}:\n{shown}")
    return elapsed, proc


def package_dir(python: str) -> str | None:
    """Where the interpreter imports mlgitops from (the editable install points at compiler/)."""
    code = "import os, mlgitops; print(os.path.dirname(mlgitops.__file__))"
    proc = subprocess.run([python, "-c", code], capture_output=True, text=True)
    return proc.stdout.strip() if proc.returncode == 0 else None


def package_digest(directory: str | None) -> str:
    """Digest of the mlgitops package sources (others may edit them while the benchmark runs;
    any edit also invalidates the build cache, whose fingerprint covers the same files)."""
    if not directory:
        return "unknown"
    digest = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(directory):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for name in sorted(filenames):
            if name.endswith((".py", ".json")):
                try:
                    with open(os.path.join(dirpath, name), "rb") as fh:
                        digest.update(name.encode() + b"\0" + fh.read())
                except OSError:
                    digest.update(name.encode() + b"\0<unreadable>")
    return digest.hexdigest()[:16]


def machine_info(mlgitops: str, kubectl: str | None) -> dict:
    cpu_model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu_model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0
    try:
        nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip() or str(usable)
    except OSError:
        nproc = str(usable)
    version = subprocess.run([mlgitops, "--version"], capture_output=True, text=True).stdout.strip()
    kubectl_version = ""
    if kubectl:
        kubectl_version = " / ".join(subprocess.run([kubectl, "version", "--client"], capture_output=True,
                                                    text=True).stdout.strip().splitlines())
    return {
        "nproc": int(nproc) if nproc.isdigit() else nproc,
        "cpu": cpu_model,
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "mlgitops": version,
        "kubectl": kubectl_version,
    }


# --------------------------------------------------------------------------------------------
# The benchmark
# --------------------------------------------------------------------------------------------

def summarise(sid: str, name: str, runs: list[float], target: float | None, code_changed: bool = False) -> dict:
    """A scenario's figures; `runs` are the wall times of the last len(runs) commands `run` ran
    (their CPU times are in CPU_LOG)."""
    median = statistics.median(runs)
    cpu = CPU_LOG[-len(runs):]
    return {
        "cpu_median": round(statistics.median(cpu), 4),
        "code_changed": code_changed,
        "id": sid,
        "scenario": name,
        "runs": [round(r, 4) for r in runs],
        "min": round(min(runs), 4),
        "median": round(median, 4),
        "target": target,
        "pass": None if target is None else median <= target,
    }


def bench(args: argparse.Namespace, root: str) -> dict:
    mlgitops = venv_tool("mlgitops")
    if not mlgitops:
        raise SystemExit("bench: mlgitops not found next to this interpreter or on PATH "
                         "(run with .venv/bin/python after `.venv/bin/pip install -e .`)")
    kubectl = None if args.kustomize_sample == 0 else venv_tool("kubectl")
    envs = environment_names(args.envs)
    pkg = package_dir(sys.executable)
    code_before = package_digest(pkg)
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else None

    log(f"bench: generating {args.models} models x {len(envs)} environments ({', '.join(envs)}; prod in "
        f"{args.prod_clusters} cluster(s)) in {root}")
    names = create_repo(root, args.models, envs, args.prod_clusters)
    build = [mlgitops, "build", "--repo", root]

    # Untimed first build: proves every generated model is valid, warms the page cache and the
    # bytecode cache, and reports what a full build writes.
    log("bench: validating the synthetic repository (untimed full build)")
    _, proc = run(build + ["--format", "json"], what="full build of the synthetic repository "
                  "(a generated model is invalid, or the build failed)")
    summary = json.loads(proc.stdout)
    if summary.get("warnings"):
        log(f"bench: WARNING: the synthetic repository has {summary['warnings']} warning(s):")
        for d in summary.get("diagnostics", [])[:10]:
            log(f"  {d}")
    counts = {
        "models": summary["models"],
        "environments": len(envs),
        "overlays": summary["overlays"],
        "files_written_full_build": len(summary.get("written", [])),
        "generated_files_on_disk": generated_files(root),
        "model_bytes": sum(os.path.getsize(os.path.join(root, "models", f"{n}.yaml")) for n in names),
        "warnings": summary.get("warnings", 0),
    }
    # every model in every environment, and in every prod cluster with overrides (its own overlay,
    # or one referring to prod's: both are overlay directories)
    expected_overlays = args.models * (len(envs) + (max(args.prod_clusters, 1) - 1 if "prod" in envs else 0))
    if counts["models"] != args.models or counts["overlays"] != expected_overlays:
        raise BenchError(f"expected {args.models} models and {expected_overlays} overlays, the build reported "
                         f"{counts['models']} models and {counts['overlays']} overlays")

    results = []
    r = args.repeat

    # CLI start-up floor: interpreter + click + mlgitops.cli, no build (informational).
    runs = [run([mlgitops, "--version"], what="mlgitops --version")[0] for _ in range(r)]
    results.append(summarise("startup", "CLI start-up floor (mlgitops --version)", runs, None))

    scenario_code = package_digest(pkg)
    # (a) full build from scratch: no overlays, no base/argocd, no cache.
    log(f"bench: (a) full build from scratch x{r}")
    runs = []
    for _ in range(r):
        remove_outputs(root)
        runs.append(run(build + ["--quiet"], what="(a) full build")[0])
    results.append(summarise("full", "(a) full build from scratch", runs, TARGETS["full"],
                              package_digest(pkg) != scenario_code))
    cache_file = os.path.join(root, CACHE_DIR, "build-cache.json")
    try:
        with open(cache_file, encoding="utf-8") as fh:
            cached_models = len(json.load(fh).get("models", {}))
    except (OSError, ValueError):
        cached_models = 0
    counts["cache_entries_after_full_build"] = cached_models
    if cached_models != args.models:
        log(f"bench: WARNING: the build cache holds {cached_models} of {args.models} models after a full build; "
            "the no-op and one-model rebuilds will not be served from it")

    scenario_code = package_digest(pkg)
    # (b) no-op rebuild: nothing changed, the cache vouches for every model.
    log(f"bench: (b) no-op rebuild x{r}")
    runs = [run(build + ["--quiet"], what="(b) no-op rebuild")[0] for _ in range(r)]
    results.append(summarise("noop", "(b) no-op rebuild (cache)", runs, TARGETS["noop"],
                              package_digest(pkg) != scenario_code))

    scenario_code = package_digest(pkg)
    # (c) one model changed: spec.autoscaling.maxReplicas + 1 in one sklearn model.
    changed = names[0]
    log(f"bench: (c) rebuild after editing models/{changed}.yaml x{r}")
    bump_max_replicas(root, changed)
    _, proc = run(build + ["--format", "json"], what="(c) verification rebuild after one change")
    written_one = json.loads(proc.stdout).get("written", [])
    counts["files_written_one_change"] = len(written_one)
    if not written_one:
        raise BenchError(f"editing models/{changed}.yaml changed no generated file; scenario (c) would measure nothing")
    runs = []
    for _ in range(r):
        bump_max_replicas(root, changed)
        runs.append(run(build + ["--quiet"], what="(c) one-model rebuild")[0])
    results.append(summarise("one", "(c) rebuild after one model changed", runs, TARGETS["one"],
                              package_digest(pkg) != scenario_code))

    scenario_code = package_digest(pkg)
    # (d) build --check on the up-to-date tree (never uses the cache, by design).
    log(f"bench: (d) build --check x{r}")
    runs = [run(build + ["--check", "--quiet"], what="(d) build --check on an up-to-date tree (drift found?)")[0]
            for _ in range(r)]
    results.append(summarise("check", "(d) build --check, unchanged tree", runs, None,
                              package_digest(pkg) != scenario_code))

    scenario_code = package_digest(pkg)
    # (e) full build with --no-cache on an up-to-date tree (reads and compares every file).
    log(f"bench: (e) build --no-cache on an up-to-date tree x{r}")
    runs = [run(build + ["--no-cache", "--quiet"], what="(e) --no-cache rebuild")[0] for _ in range(r)]
    results.append(summarise("nocache", "(e) build --no-cache, up-to-date tree", runs, None,
                              package_digest(pkg) != scenario_code))

    # Sanity: the tree is still exactly what the sources compile to.
    run(build + ["--check", "--quiet"], what="final --check (the benchmark left drift behind)")

    kustomize = None
    if args.kustomize_sample:
        if not kubectl:
            log("bench: kubectl not found (.venv/bin or PATH): skipping the kustomize comparison")
        else:
            kustomize = bench_kustomize(kubectl, root, args.kustomize_sample)

    code_after = package_digest(pkg)
    full_median = next(s["median"] for s in results if s["id"] == "full")
    comparison = None
    if kustomize:
        extrapolated = kustomize["mean_ms"] / 1000 * counts["overlays"]
        kustomize["extrapolated_all_overlays_s"] = round(extrapolated, 2)
        comparison = {
            "mlgitops_full_build_s": full_median,
            "kustomize_extrapolated_s": round(extrapolated, 2),
            "ratio_kustomize_over_mlgitops": round(extrapolated / full_median, 2),
            "mlgitops_ms_per_overlay": round(full_median * 1000 / counts["overlays"], 3),
            "kustomize_ms_per_overlay": kustomize["mean_ms"],
        }
    machine = machine_info(mlgitops, kubectl)
    if load_before is not None:
        machine["loadavg"] = {"before": load_before, "after": os.getloadavg()[0]}
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": machine,
        "parameters": {"models": args.models, "envs": envs, "prod_clusters": args.prod_clusters,
                       "cluster_override": CLUSTER_OVERRIDE, "repeat": r,
                       "kustomize_sample": args.kustomize_sample, "changed_model": changed},
        "counts": counts,
        "scenarios": results,
        "kustomize": kustomize,
        "comparison": comparison,
        "misses": [s["id"] for s in results if s["pass"] is False],
        "code_changed_during_run": code_before != code_after,
        "mlgitops_code_digest": code_after,
    }


def bench_kustomize(kubectl: str, root: str, sample: int) -> dict:
    overlays = overlay_dirs(root)
    step = max(1, len(overlays) / min(sample, len(overlays)))
    chosen = [overlays[int(j * step)] for j in range(min(sample, len(overlays)))]
    log(f"bench: kubectl kustomize on {len(chosen)} of {len(overlays)} overlays, sequentially")
    run([kubectl, "kustomize", os.path.join(root, chosen[0])], what="kubectl kustomize (warm-up)")
    times, objects = [], 0
    for rel in chosen:
        elapsed, proc = run([kubectl, "kustomize", os.path.join(root, rel)], what=f"kubectl kustomize {rel}")
        times.append(elapsed)
        objects += proc.stdout.count(b"\nkind: ") + proc.stdout.startswith(b"kind: ")
    return {
        "sampled": len(chosen),
        "overlays_total": len(overlays),
        "mean_ms": round(statistics.mean(times) * 1000, 2),
        "median_ms": round(statistics.median(times) * 1000, 2),
        "min_ms": round(min(times) * 1000, 2),
        "sample_total_s": round(sum(times), 3),
        "objects_rendered": objects,
    }


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------

def fmt_s(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f} s"


def print_report(res: dict) -> None:
    m, c, p = res["machine"], res["counts"], res["parameters"]
    print(f"mlgitops build benchmark  {res['date']}")
    print(f"machine: nproc={m['nproc']}  cpu={m['cpu'] or '?'}  python={m['python']} ({m['python_implementation']})"
          f"  {m['platform']}")
    print(f"tools:   {m['mlgitops']}; kubectl: {m['kubectl'] or 'not found'}")
    print(f"repo:    {c['models']} models x {c['environments']} environments ({', '.join(p['envs'])}; prod in "
          f"{p['prod_clusters']} clusters, the others overriding {p.get('cluster_override', 'replicas')}) = "
          f"{c['overlays']} overlays; full build writes {c['files_written_full_build']} files "
          f"({c['generated_files_on_disk']} generated files on disk); model sources {c['model_bytes'] / 1024:.0f} KiB; "
          f"one-model change rewrites {c['files_written_one_change']} files")
    print(f"timing:  wall time of `mlgitops build --repo DIR --quiet` subprocesses (start-up included), "
          f"{p['repeat']} runs each; PASS = median at or below target")
    print(f"targets: judged on this corpus ({c['overlays']} overlays)"
          + ("" if p["prod_clusters"] == 1 else "; the issue's corpus as filed (prod in one cluster, "
             f"{c['models'] * c['environments']} overlays) is --prod-clusters 1"))
    print()
    cores = m["nproc"] if isinstance(m["nproc"], int) and m["nproc"] > 0 else 1
    head = ("scenario", "min", "median", "CPU", f"CPU/{cores}", "target", "result")
    rows = []
    for s in res["scenarios"]:
        result = "-" if s["pass"] is None else ("PASS" if s["pass"] else "FAIL")
        if s.get("code_changed"):
            result += " *"
        rows.append((s["scenario"], fmt_s(s["min"]), fmt_s(s["median"]), fmt_s(s["cpu_median"]),
                     fmt_s(s["cpu_median"] / cores), "-" if s["target"] is None else f"<= {s['target']:g} s", result))
    widths = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]
    line = "  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(head, widths)))
    print(line)
    print("-" * len(line))
    for r in rows:
        print("  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(r, widths))))
    print(f"CPU: median user + system seconds of the command and its workers (getrusage). CPU/{cores} is the "
          f"shortest wall time any split over this machine's {cores} cores could reach: a target below it "
          "needs less CPU, not more parallelism.")
    print()

    k, cmp_ = res["kustomize"], res["comparison"]
    if k:
        print(f"kubectl kustomize: {k['sampled']} of {k['overlays_total']} overlays rendered sequentially: "
              f"mean {k['mean_ms']:.1f} ms, median {k['median_ms']:.1f} ms, min {k['min_ms']:.1f} ms per overlay "
              f"({k['objects_rendered']} objects); extrapolated to all {k['overlays_total']} overlays: "
              f"{k['extrapolated_all_overlays_s']:.1f} s")
        print(f"mlgitops full build of {c['models']}x{c['environments']} = {c['overlays']} overlays: "
              f"{cmp_['mlgitops_full_build_s']:.2f} s ({cmp_['mlgitops_ms_per_overlay']:.2f} ms/overlay) vs. "
              f"kubectl kustomize rendering the same overlays (extrapolated): {cmp_['kustomize_extrapolated_s']:.1f} s "
              f"-> ratio {cmp_['ratio_kustomize_over_mlgitops']:.1f}x "
              f"(kustomize time / mlgitops time; >1 means mlgitops is faster)")
        print()
    if c.get("warnings"):
        print(f"NOTE: the synthetic repository produced {c['warnings']} warning(s) (see stderr)")
    if any(s.get("code_changed") for s in res["scenarios"]):
        print("* the mlgitops package sources changed while this scenario ran (someone edited compiler/): its runs "
              "may mix two versions of the code and a cache invalidated in between; run again for clean numbers")
    elif res["code_changed_during_run"]:
        print("NOTE: the mlgitops package sources changed during the run (outside the timed scenarios)")
    load = res["machine"].get("loadavg")
    if load:
        print(f"load average (1 min) before/after: {load['before']:.2f} / {load['after']:.2f} "
              f"on {res['machine']['nproc']} cores (other processes share the machine when it exceeds ~0.5)")
    if res["misses"]:
        print("!" * 78)
        for s in res["scenarios"]:
            if s["pass"] is False:
                print(f"!! TARGET MISSED: {s['scenario']}: median {s['median']:.3f} s, target <= {s['target']:g} s "
                      f"({s['median'] / s['target']:.1f}x over)")
        print("!" * 78)
    else:
        print("all targets met")


def work_dir(parser: argparse.ArgumentParser, keep: str | None, prefix: str) -> str:
    """The benchmark repository's directory: --keep DIR (new or empty) or a fresh temp dir."""
    if not keep:
        return tempfile.mkdtemp(prefix=prefix)
    root = os.path.abspath(keep)
    if os.path.exists(root) and (not os.path.isdir(root) or os.listdir(root)):
        parser.error(f"--keep {keep}: must be a new or empty directory")
    os.makedirs(root, exist_ok=True)
    return root


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=int, default=1000, metavar="N", help="synthetic models (default 1000)")
    parser.add_argument("--envs", type=int, default=3, metavar="K", help="environments (default 3: dev, staging, prod)")
    parser.add_argument("--prod-clusters", type=int, default=PROD_CLUSTERS, metavar="C",
                        help=f"clusters of prod (default {PROD_CLUSTERS}: the second overrides maxReplicas, so it gets "
                             "its own overlay of most models; 1: one named cluster)")
    parser.add_argument("--cluster-override", choices=("replicas", "storage"), default="replicas",
                        help="what prod's other clusters override: replicas (every model gets its own overlay "
                             "there, default) or storage (every model gets a one-line overlay referring to prod's)")
    parser.add_argument("--repeat", type=int, default=3, metavar="R", help="runs per scenario (default 3)")
    parser.add_argument("--keep", metavar="DIR",
                        help="create the synthetic repository in DIR (new or empty) and keep it afterwards "
                             "(default: a tempfile.mkdtemp directory, removed at the end)")
    parser.add_argument("--kustomize-sample", type=int, default=30, metavar="S",
                        help="overlays to render with kubectl kustomize (default 30; 0 skips)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON on stdout")
    args = parser.parse_args()
    if args.models < 1 or args.envs < 1 or args.repeat < 1 or args.kustomize_sample < 0:
        parser.error("--models, --envs and --repeat must be at least 1, --kustomize-sample at least 0")

    globals()["CLUSTER_OVERRIDE"] = args.cluster_override
    root = work_dir(parser, args.keep, "mlgitops-bench-")
    try:
        results = bench(args, root)
    except BenchError as exc:
        log(f"bench: FAILED: {exc}")
        log(f"bench: the synthetic repository is at {root}" if args.keep else
            "bench: rerun with --keep DIR to inspect the synthetic repository")
        return 1
    finally:
        shutil.rmtree(trash_dir(root), ignore_errors=True)
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print_report(results)
    if args.keep:
        log(f"bench: kept the synthetic repository at {root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
