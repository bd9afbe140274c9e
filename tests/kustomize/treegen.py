"""A seeded generator of random, valid kustomization trees (for differential tests of the engine).

    generate(seed, root) -> pathlib.Path      # the directory to render

`generate` writes one tree under `root` and, when the real kustomize is available, renders it
with `kubectl kustomize` and retries with the next sub-seed if kustomize rejects the tree (a
rejected tree is useless for an equality check). Every rejection is recorded in `STATS` (and in
the `Generated` record that `generate_checked` returns), so the rate stays visible: it measures
how well this generator models kustomize's rules, and should stay near zero.

The generator keeps a small model of what kustomize does to each object on its way up the tree
(current and original names and namespaces, labels, annotations, which objects exist twice), so
that the patches, replicas, merges and references it writes point at objects that exist at that
point and JSON patches only touch paths that exist.

What a tree can contain (each with seeded randomness; `Generated.features` lists what one tree
uses, `feature_names()` all of them):
  - an overlay over 1-3 levels of nested bases (`../` paths, sometimes more than one base per
    level, sometimes a "diamond": one base included twice through two bases with distinct
    namePrefix, or with distinct namespaces and the same names), resource files with 1-3 documents
    (YAML in several styles, sometimes JSON);
  - components (`kind: Component`) with their own resources, patches, labels, annotations,
    images, generators (also `behavior: merge` over the parent's ConfigMaps) and configurations,
    nested components, and one labels component included by several kustomizations;
  - core kinds (Deployment, Service incl. ExternalName without selector, ConfigMap, Secret,
    ServiceAccount, HorizontalPodAutoscaler, PodDisruptionBudget, Ingress, Role, RoleBinding,
    ClusterRole, ClusterRoleBinding) and the CRDs mlgitops emits (Rollout with workloadRef or
    template, canary steps, analysis; AnalysisTemplate; InferenceService; ServiceMonitor;
    PrometheusRule; VirtualService); `kind: List` files; YAML quirks (anchors, CRLF, empty
    documents, unquoted YAML 1.1 scalars, special keys, emoji, long and multi-line strings);
  - `patches` (inline and file; strategic merge and JSON 6902; by name, or with `target`
    selectors by group/version/kind, name, regex name, namespace, labelSelector,
    annotationSelector, incl. negative label selectors), `$patch: delete` of list items and of
    whole objects, `$patch: replace`, nulls, renames with `allowNameChange`, JSON patch ops
    add/replace/remove/move/copy/test, `patchesStrategicMerge` and `patchesJson6902`;
  - namePrefix, nameSuffix, namespace, labels (includeSelectors / includeTemplates / fields),
    commonLabels, commonAnnotations, images (newName / newTag / digest), replicas;
  - configMapGenerator and secretGenerator (literals, files, envs, binary files, behavior
    create/merge/replace over a base, per-generator options, generatorOptions), with the
    generated names referenced from Deployments (volumes, envFrom, env valueFrom), Ingress TLS
    and ServiceAccount imagePullSecrets;
  - custom `configurations:` teaching kustomize the Argo Rollouts / KServe / Istio references
    (in the style of base/components/common/kustomizeconfig.yaml), sometimes also replicas and
    label field specs for Rollouts.
"""

from __future__ import annotations

import base64
import collections
import copy
import dataclasses
import hashlib
import json
import os
import pathlib
import posixpath
import queue
import random
import re
import shutil
import subprocess
import threading

import yaml

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
MAX_ATTEMPTS = 25

# Rejections by kustomize, over every generate() call of this process (thread-safe).
_STATS_LOCK = threading.Lock()
STATS: dict = {"trees": 0, "attempts": 0, "rejected": []}  # rejected: [{seed, attempt, error}]


def find_kubectl() -> str | None:
    candidate = REPO_ROOT / ".venv" / "bin" / "kubectl"
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate)
    return shutil.which("kubectl")


@dataclasses.dataclass
class Generated:
    seed: int
    path: pathlib.Path  # the directory to render
    attempt: int  # the sub-seed that kustomize accepted (0 = first try)
    output: bytes | None  # `kubectl kustomize` stdout for `path` (None when not checked)
    rejected: list  # [(attempt, first line of kustomize's error)]
    features: list  # sorted feature names this tree uses
    rejected_paths: list = dataclasses.field(default_factory=list)  # the directories of `rejected`


def generate(seed: int, root: pathlib.Path) -> pathlib.Path:
    """Write a random, valid kustomization tree for `seed` under `root`; return the directory to
    render. Validated with the real kustomize when it is installed (see generate_checked)."""
    return generate_checked(seed, root).path


def kustomize_runner(kubectl: str, fast: bool = True):
    """render(path) -> (returncode, stdout, stderr) with `kubectl kustomize`.

    fast: run kubectl without Go's garbage collector and on one thread (GOGC=off, GOMAXPROCS=1):
    ~40% less CPU for these short runs, several of which run side by side; same output."""
    env = dict(os.environ, GOGC="off", GOMAXPROCS="1") if fast else None

    def render(path: pathlib.Path) -> tuple[int, bytes, bytes]:
        proc = subprocess.run([kubectl, "kustomize", str(path)], stdin=subprocess.DEVNULL, capture_output=True,
                              env=env)
        return proc.returncode, proc.stdout, proc.stderr
    return render


class BatchRunner:
    """render(path) -> (returncode, stdout, stderr) like kustomize_runner's, by kustomize-batch
    (.ci/tools/kustomize-batch): kustomize's build command as kubectl runs it, in long-lived
    processes that render one directory after another (at most `processes` at once, started when
    first needed), instead of one kubectl process per directory (~0.16 s of CPU for a generated tree,
    ~0.1 s of it paid once per process: kubectl's start and kustomize's OpenAPI schema parse). test_differential.py proves its output equal to kubectl's on a sample in
    every run. Should a process die (kustomize exits the process on a few internal errors), that
    directory is rendered by `kubectl` itself (`fallbacks` counts them) and a new process starts.
    Each process runs on one thread with GOGC=1000: measured on 300 trees, 12-15% less CPU than
    GOGC=400, for about 300 MB of memory each."""

    def __init__(self, tool: str, kubectl: str, processes: int = 1) -> None:
        self.tool = tool
        self.fallback = kustomize_runner(kubectl)
        self.fallbacks = 0
        self._idle: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._procs: list[subprocess.Popen] = []
        for _ in range(processes):
            self._idle.put(None)  # a slot; its process starts on first use

    def _start(self) -> subprocess.Popen:
        proc = subprocess.Popen([self.tool], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, env=dict(os.environ, GOGC="1000", GOMAXPROCS="1"))
        with self._lock:
            self._procs.append(proc)
        return proc

    def __call__(self, path: pathlib.Path) -> tuple[int, bytes, bytes]:
        proc = self._idle.get()
        result = None
        try:
            if proc is None or proc.poll() is not None:
                proc = self._start()
            proc.stdin.write(str(path).encode() + b"\n")
            proc.stdin.flush()
            header = proc.stdout.readline().split()
            if len(header) == 3:
                returncode, n_out, n_err = map(int, header)
                stdout, stderr = proc.stdout.read(n_out), proc.stdout.read(n_err)
                if len(stdout) == n_out and len(stderr) == n_err:
                    result = returncode, stdout, stderr
        except (OSError, ValueError):
            pass
        finally:
            if result is None and proc is not None:  # it died on this directory, or cannot start
                proc.kill()
                proc.wait()
                proc = None
            self._idle.put(proc)
        if result is None:  # kubectl renders this directory; a new process the next
            with self._lock:
                self.fallbacks += 1
            result = self.fallback(path)
        return result

    def close(self) -> None:
        with self._lock:
            procs, self._procs = self._procs, []
        for proc in procs:
            if proc.poll() is None:
                proc.stdin.close()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            proc.stdout.close()


def generate_checked(seed: int, root: pathlib.Path, kubectl: str | None = "auto",
                     max_attempts: int = MAX_ATTEMPTS, render=None) -> Generated:
    """generate(), also returning kustomize's output and the rejected sub-seeds.

    kubectl="auto" finds the repository's kubectl (or PATH); None (and no `render`) writes
    sub-seed 0 unchecked. `render(path) -> (returncode, stdout, stderr)` replaces running kubectl
    (e.g. a caching wrapper around kustomize_runner). Sub-seed k of a seed is written to
    root/"t{k}"; rejected attempts are left there to inspect."""
    root = pathlib.Path(root)
    if render is None:
        if kubectl == "auto":
            kubectl = find_kubectl()
        render = kustomize_runner(kubectl) if kubectl else None
    rejected: list = []
    rejected_paths: list = []
    for attempt in range(max_attempts):
        tree_root = root / f"t{attempt}"
        if tree_root.exists():
            shutil.rmtree(tree_root)
        path, features = write_tree(seed, attempt, tree_root)
        if render is None:
            _record(seed, rejected)
            return Generated(seed, path, attempt, None, rejected, features, rejected_paths)
        returncode, stdout, stderr = render(path)
        if returncode == 0:
            _record(seed, rejected)
            return Generated(seed, path, attempt, stdout, rejected, features, rejected_paths)
        lines = stderr.decode(errors="replace").strip().splitlines()
        err = [line for line in lines if line.lower().startswith("error")] or [
            line for line in lines if not line.startswith("# Warning")] or [f"exit {returncode}"]
        rejected.append((attempt, err[0][:600]))
        rejected_paths.append(path)
    _record(seed, rejected)
    raise RuntimeError(f"seed {seed}: kustomize rejected {max_attempts} sub-seeds in a row; last: {rejected[-1]}")


def _record(seed: int, rejected: list) -> None:
    with _STATS_LOCK:
        STATS["trees"] += 1
        STATS["attempts"] += 1 + len(rejected)
        STATS["rejected"].extend({"seed": seed, "attempt": a, "error": e} for a, e in rejected)


def write_tree(seed: int, attempt: int, tree_root: pathlib.Path) -> tuple[pathlib.Path, list]:
    """Write sub-seed `attempt` of `seed` under tree_root (unchecked); (render dir, features)."""
    rng = random.Random(f"mlgitops-treegen:{seed}:{attempt}")
    gen = _TreeGen(rng)
    target = gen.build()
    for rel, content in sorted(gen.files.items()):
        path = tree_root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return tree_root / target, sorted(gen.features)


def feature_names() -> list[str]:
    return sorted(FEATURES)


FEATURES = {
    "nested-bases-1", "nested-bases-2", "nested-bases-3", "sibling-base", "diamond-base", "diamond-by-namespace", "legacy-bases-field",
    "multi-doc-file", "json-resource-file", "raw-yaml-scalars", "indented-yaml", "flow-yaml", "comments-in-yaml", "unicode",
    "component", "component-resources", "component-patches", "component-labels", "component-generator-merge",
    "nested-component",
    "kind:Deployment", "kind:Service", "kind:ConfigMap", "kind:Secret", "kind:ServiceAccount",
    "kind:HorizontalPodAutoscaler", "kind:PodDisruptionBudget", "kind:Ingress", "kind:Role", "kind:RoleBinding",
    "kind:Rollout", "rollout-workloadRef", "rollout-template", "kind:AnalysisTemplate", "kind:InferenceService",
    "kind:ServiceMonitor", "kind:PrometheusRule", "kind:VirtualService",
    "patches-smp-by-name", "patches-smp-target", "patches-json6902-target", "patches-file", "patches-inline",
    "patch-json-string", "target-kind", "target-group-version", "target-name", "target-name-regex",
    "target-namespace", "target-labelSelector", "target-annotationSelector", "smp-delete-list-item",
    "smp-delete-object", "smp-null-field", "smp-generated-configmap", "json-op-remove", "json-op-move",
    "json-op-copy", "json-op-test", "json-op-replace", "json-op-add", "patchesStrategicMerge",
    "patchesJson6902",
    "namePrefix", "nameSuffix", "namespace", "labels", "labels-includeSelectors", "labels-includeTemplates",
    "commonLabels", "commonAnnotations", "images-newName", "images-newTag", "images-digest",
    "image-registry-port", "replicas", "replicas-rollout",
    "configMapGenerator", "secretGenerator", "generator-literals", "generator-files", "generator-envs",
    "generator-binary-file", "generator-merge", "generator-replace", "generator-create-explicit",
    "generator-options", "generatorOptions", "disableNameSuffixHash", "immutable", "secret-type",
    "generator-namespace", "ref-envFrom", "ref-volume", "ref-valueFrom", "ref-ingress-tls",
    "ref-imagePullSecrets", "ref-patch-adds-volume",
    "configurations", "configurations-replicas", "configurations-labels",
    "smp-replace-directive", "smp-null-nested", "list-kind", "patch-allowNameChange", "labels-fields",
    "yaml-anchors", "crlf-line-endings", "empty-documents", "null-creationTimestamp", "special-data-keys",
    "float-quantities", "kind:ClusterRole", "kind:ClusterRoleBinding", "service-without-selector",
    "target-labelSelector-negative", "env-file-edge-lines", "generator-file-edge-content", "reused-component",
    "multi-doc-patch-file",
    # JSON 6902 on absent paths (issue #18): kustomize patches with its build annotations in
    # metadata.annotations, so these work in `patches` (PatchTransformer stores the previous id
    # first); arrays created by a patch, then addressed by index, `-` and negative indices
    "json-add-absent-annotations", "json-remove-absent-annotations", "json-array-ops",
}
CLUSTER_SCOPED = {"ClusterRole", "ClusterRoleBinding"}

# --------------------------------------------------------------------------------------------
# YAML writing
# --------------------------------------------------------------------------------------------


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):
    pass


class _IndentDumper(yaml.SafeDumper):  # the pure-Python emitter: increase_indent is a hook of it
    def increase_indent(self, flow=False, indentless=False):
        return super().increase_indent(flow, False)


def _str_representer(dumper, value):
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _str_representer)
_IndentDumper.add_representer(str, _str_representer)


def dump(obj, style: str = "block") -> str:
    if style == "indent":
        return yaml.dump(obj, Dumper=_IndentDumper, sort_keys=False, width=4096, allow_unicode=True)
    if style == "flow":
        return yaml.dump(obj, Dumper=_Dumper, sort_keys=False, default_flow_style=None, width=100,
                         allow_unicode=True)
    if style == "json":
        return json.dumps(obj, indent=2, ensure_ascii=False) + "\n"
    return yaml.dump(obj, Dumper=_Dumper, sort_keys=False, width=4096, allow_unicode=True)


# --------------------------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------------------------

STEMS = ["iris", "churn", "fraud", "sentiment", "ranker", "embedder", "recsys", "forecast", "vision", "ocr",
         "search", "pricing", "ltv", "anomaly", "translate", "speech", "tagger", "risk", "demand", "qa"]
STEM_VARIANTS = ["eu", "us", "lite", "gpu", "batch"]
PREFIXES = ["prod-", "staging-", "team-a-", "blue-", "eu-", "ml-", "x-"]
# No suffix may turn one name into another object's original name ("-canary" would: a Service "x"
# would become "x-canary", and references to the Service "x-canary" become ambiguous).
SUFFIXES = ["-v2", "-west", "-green", "-001"]
NAMESPACES = ["ml-prod", "ml-staging", "ml-dev", "models", "team-a", "inference"]
LABELS = [
    ("app.kubernetes.io/part-of", ["mlgitops", "recsys-platform"]),
    ("team", ["ml-platform", "risk", "growth"]),
    ("environment", ["prod", "staging", "dev"]),
    ("mlgitops.dev/tier", ["gold", "silver"]),
    ("cost-center", ["cc-1042", "research", ""]),
    ("app.kubernetes.io/managed-by", ["mlgitops", "kustomize"]),
    ("version", ["1.0", "v2", "true"]),
]
ANNOTATIONS = [
    ("mlgitops.dev/owner", ["ml-platform@example.com", "risk-team@example.com"]),
    ("example.com/oncall", ["https://oncall.example.com/rota/ml"]),
    ("argocd.argoproj.io/sync-wave", ["1", "-1", "5"]),
    ("description", ["Serves the model: v2 (canary)", "multi-line note\nsecond line\n", "Modèle de détection",
                     "🚀 canary rollout\tstep 2"]),
    ("mlgitops.dev/reviewed", ["true", "2025-01-15", "yes", "012"]),
    ("mlgitops.dev/summary", ["Canary analysis compares the p95 latency and the 5xx ratio of the canary with the "
                              "stable pods for ten minutes before every step; see the runbook for manual promotion.",
                              "# not a comment: it is {a: 'value'} with [brackets] & an *asterisk"]),
]
REMOVABLE = "example.com/remove-me"
IMAGES = [
    ("registry.example.com/ml/{stem}-server", ["1.4.2", "2.0.0-rc.1", "2024.11.03"]),
    ("nginx", ["1.25", "1.27-alpine"]),
    ("python", ["3.11-slim"]),
    ("ghcr.io/example/model-proxy", ["v0.9.1"]),
    ("kserve/sklearnserver", ["v0.16.0"]),
    ("registry.example.com:5000/ml/tokenizer", ["1.2"]),
]
SIDECAR_IMAGES = ["docker.io/istio/proxyv2:1.22.3", "ghcr.io/example/metrics-proxy:0.3.0", "busybox:1.36"]
INIT_IMAGE = "busybox:1.36"


class _RawDoc(dict):
    """An object that is written to its file as the given text, not dumped."""

    def __init__(self, obj: dict, text: str) -> None:
        super().__init__(obj)
        self.text = text


def _digest(rng: random.Random) -> str:
    return "sha256:" + hashlib.sha256(str(rng.random()).encode()).hexdigest()


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# --------------------------------------------------------------------------------------------
# The model of what kustomize does to each object
# --------------------------------------------------------------------------------------------

@dataclasses.dataclass(eq=False)
class Res:
    api: str
    kind: str
    orig_name: str
    name: str
    orig_ns: str = ""
    ns: str = ""
    labels: dict | None = None
    annotations: dict | None = None
    removable: bool = False  # still has the REMOVABLE annotation
    generated: bool = False
    dup: bool = False  # its original id exists twice at this level (diamond)
    has_data: bool = True  # ConfigMap / Secret: has a `data` map
    src: str = ""  # directory it was written in
    stem: str = ""
    extra: dict = dataclasses.field(default_factory=dict)

    @property
    def group(self) -> str:
        return self.api.rpartition("/")[0]

    @property
    def version(self) -> str:
        return self.api.rpartition("/")[2]


def _match_labels(sel: str, labels: dict) -> bool:
    """Evaluate the subset of label selector syntax the generator writes."""
    labels = labels or {}
    for term in _split_selector(sel):
        term = term.strip()
        m = re.fullmatch(r"([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)", term)
        if m:
            values = [v.strip() for v in m.group(3).split(",")]
            has = m.group(1) in labels and labels[m.group(1)] in values
            if (m.group(2) == "in") != has:
                return False
            continue
        if "!=" in term:
            k, v = term.split("!=", 1)
            if labels.get(k) == v:
                return False
        elif "=" in term:
            k, v = term.split("=", 1)
            if labels.get(k.rstrip("=")) != v.lstrip("="):
                return False
        elif term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term not in labels:
            return False
    return True


def _split_selector(sel: str) -> list[str]:
    out, depth, cur = [], 0, ""
    for ch in sel:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    out.append(cur)
    return out


def select(resources: list[Res], target: dict) -> list[Res]:
    """Which resources kustomize's resmap.Select picks for a patch target."""
    out = []
    for r in resources:
        if "namespace" in target:
            if r.kind in CLUSTER_SCOPED:  # their effective namespace is "_non_namespaceable_"
                continue
            pat = target["namespace"]
            if not (re.fullmatch(pat, r.orig_ns or "default") or re.fullmatch(pat, r.ns or "default")):
                continue
        if "name" in target and not (re.fullmatch(target["name"], r.orig_name) or re.fullmatch(target["name"], r.name)):
            continue
        if target.get("kind") and target["kind"] != r.kind:
            continue
        if target.get("group") and target["group"] != r.group:
            continue
        if target.get("version") and target["version"] != r.version:
            continue
        if "labelSelector" in target and not _match_labels(target["labelSelector"], r.labels):
            continue
        if "annotationSelector" in target and not _match_labels(target["annotationSelector"], r.annotations):
            continue
        out.append(r)
    return out


ROLLOUT_CONFIG = {
    "nameReference": [
        {"kind": "AnalysisTemplate", "group": "argoproj.io", "fieldSpecs": [
            {"path": "spec/strategy/canary/analysis/templates/templateName", "kind": "Rollout"},
            {"path": "spec/strategy/canary/steps/analysis/templates/templateName", "kind": "Rollout"}]},
        {"kind": "Rollout", "group": "argoproj.io", "fieldSpecs": [
            {"path": "spec/scaleTargetRef/name", "kind": "HorizontalPodAutoscaler"}]},
        {"kind": "Deployment", "group": "apps", "fieldSpecs": [
            {"path": "spec/workloadRef/name", "kind": "Rollout"}]},
        {"kind": "Service", "version": "v1", "fieldSpecs": [
            {"path": "spec/strategy/canary/canaryService", "kind": "Rollout"},
            {"path": "spec/strategy/canary/stableService", "kind": "Rollout"},
            {"path": "spec/http/route/destination/host", "kind": "VirtualService"}]},
        {"kind": "VirtualService", "group": "networking.istio.io", "fieldSpecs": [
            {"path": "spec/strategy/canary/trafficRouting/istio/virtualService/name", "kind": "Rollout"}]},
        {"kind": "ServiceAccount", "version": "v1", "fieldSpecs": [
            {"path": "spec/predictor/serviceAccountName", "kind": "InferenceService"}]},
        {"kind": "ConfigMap", "version": "v1", "fieldSpecs": [
            {"path": "spec/template/spec/volumes/configMap/name", "kind": "Rollout"},
            {"path": "spec/predictor/containers/envFrom/configMapRef/name", "kind": "InferenceService"}]},
        {"kind": "Secret", "version": "v1", "fieldSpecs": [
            {"path": "spec/predictor/containers/env/valueFrom/secretKeyRef/name", "kind": "InferenceService"}]},
    ],
}
ROLLOUT_REPLICAS = {"replicas": [{"path": "spec/replicas", "kind": "Rollout", "group": "argoproj.io"}]}
ROLLOUT_LABELS = {
    "commonLabels": [{"path": "spec/selector/matchLabels", "kind": "Rollout", "create": True},
                     {"path": "spec/selector/matchLabels", "kind": "ServiceMonitor", "create": False}],
    "templateLabels": [{"path": "spec/template/metadata/labels", "kind": "Rollout", "create": True}],
}


class _TreeGen:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.files: dict[str, str | bytes] = {}
        self.features: set[str] = set()
        self.used_stems: set[str] = set()
        self.dir_counter = collections.Counter()
        self.images_in_use: set[str] = set()
        self.config_placed = False
        # Per kustomization being built: does a configuration in its subtree give Rollouts replicas?
        self.cfg_stack: list[bool] = []
        self.has_crds = False
        self.env = rng.choice(["prod", "staging", "dev"])
        self.gen_names: set[tuple[str, str]] = set()
        self._smp_group: list = []

    # ---------------------------------------------------------------- helpers

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def feat(self, name: str) -> None:
        assert name in FEATURES, name
        self.features.add(name)

    def new_stem(self) -> str:
        free = [s for s in STEMS if s not in self.used_stems]
        if free:
            stem = self.rng.choice(free)
        else:
            while True:
                stem = f"{self.rng.choice(STEMS)}-{self.rng.choice(STEM_VARIANTS)}"
                if stem not in self.used_stems:
                    break
        self.used_stems.add(stem)
        return stem

    def new_dir(self, parent: str, kind: str) -> str:
        self.dir_counter[kind] += 1
        n = self.dir_counter[kind]
        names = {"base": ["base", "core", "common", "lib", "platform"], "component": ["monitoring", "canary",
                 "hardening", "istio", "team-labels", "config"]}[kind]
        name = names[(n - 1) % len(names)] + ("" if n <= len(names) else f"-{n}")
        layout = self.rng.random()
        if kind == "component":
            return f"components/{name}" if layout < 0.7 else f"{parent}/components/{name}"
        if layout < 0.6 or parent.count("/") > 3:
            return f"bases/{name}"
        return f"{parent}/{name}" if layout < 0.8 else f"shared/{name}/base"

    def rel(self, frm: str, to: str) -> str:
        return posixpath.relpath(to, frm)

    def write(self, rel: str, content: str | bytes) -> None:
        assert rel not in self.files, rel
        self.files[rel] = content

    def label_pair(self, exclude: set | None = None) -> tuple[str, str]:
        while True:
            k, vs = self.rng.choice(LABELS)
            if not exclude or k not in exclude:
                return k, self.rng.choice(vs)

    def label_pairs(self, n: int) -> dict:
        out = {}
        while len(out) < n:
            k, v = self.label_pair(set(out))
            out[k] = v
        return out

    def annotation_pairs(self, n: int) -> dict:
        out = {}
        while len(out) < n:
            k, vs = self.rng.choice(ANNOTATIONS)
            v = self.rng.choice(vs)
            if "è" in v or "🚀" in v:
                self.feat("unicode")
            out[k] = v
        return out

    def image(self, stem: str) -> str:
        name, tags = self.rng.choice(IMAGES)
        name = name.format(stem=stem)
        if ":5000/" in name:
            self.feat("image-registry-port")
        self.images_in_use.add(name)
        r = self.rng.random()
        if r < 0.7:
            return f"{name}:{self.rng.choice(tags)}"
        if r < 0.85:
            return f"{name}@{_digest(self.rng)}"
        if r < 0.93:
            return name
        return f"{name}:{self.rng.choice(tags)}@{_digest(self.rng)}"

    # ---------------------------------------------------------------- the tree

    def build(self) -> str:
        depth = self.rng.choice([1, 1, 2, 2, 3])
        self.feat(f"nested-bases-{depth}")
        overlay = self.rng.choice(["overlay", f"envs/{self.env}", f"apps/model/overlays/{self.env}"])
        self.build_dir(overlay, depth, top=True)
        return overlay

    def build_dir(self, reldir: str, depth: int, top: bool = False, shared: tuple | None = None,
                  prefix: str | None = None, namespace: str | None = None) -> list[Res]:
        """Write one kustomization directory (and everything below it); the resources it outputs."""
        self.cfg_stack.append(False)
        try:
            return self._build_dir(reldir, depth, top, shared, prefix, namespace)
        finally:
            rollout_replicas = self.cfg_stack.pop()
            if self.cfg_stack:
                self.cfg_stack[-1] = self.cfg_stack[-1] or rollout_replicas

    def _build_dir(self, reldir: str, depth: int, top: bool, shared: tuple | None, prefix: str | None,
                   namespace: str | None) -> list[Res]:
        rng = self.rng
        k: dict = {}
        if self.chance(0.8):
            k["apiVersion"] = "kustomize.config.k8s.io/v1beta1"
            k["kind"] = "Kustomization"
        acc: list[Res] = []
        entries: list[str] = []

        # Sub-bases.
        if shared is not None:
            rel_s, res_s = shared
            entries.append(self.rel(reldir, rel_s))
            acc += copy.deepcopy(res_s)
        if depth > 0:
            if depth >= 2 and self.chance(0.3):
                acc += self.diamond(reldir, entries)
            else:
                child = self.new_dir(reldir, "base")
                acc += self.build_dir(child, depth - 1)
                entries.append(self.rel(reldir, child))
            if self.chance(0.2):
                self.feat("sibling-base")
                sib = self.new_dir(reldir, "base")
                acc += self.build_dir(sib, 0)
                entries.append(self.rel(reldir, sib))

        # Generators decided first, so that this level's objects can reference them.
        gens = self.plan_generators(reldir, acc, top)

        # Own resources.
        napps = rng.choice([0, 1, 1, 2]) if depth > 0 or shared is not None else rng.choice([1, 1, 2])
        if top and self.chance(0.4):
            napps = 0
        own: list[tuple[dict, Res]] = []
        refs = self.reference_pool(acc, gens)
        for _ in range(napps):
            own += self.make_app(reldir, refs)
        if own:
            entries += self.write_resource_files(reldir, [o for o, _ in own])
            acc += [r for _, r in own]
        if entries:
            rng.shuffle(entries)
            if self.chance(0.1) and depth > 0:
                self.feat("legacy-bases-field")
                dirs = [e for e in entries if not e.endswith((".yaml", ".json", ".yml"))]
                k["bases"] = dirs
                entries = [e for e in entries if e not in dirs]
            if entries:
                k["resources"] = entries

        # Generators run after resources are accumulated.
        self.apply_generators(reldir, k, gens, acc)

        # Components: after generators, before this level's transformers.
        comps = []
        if self.chance(0.28):
            comps.append(self.rel(reldir, self.shared_component(acc)))
        if self.chance(0.4 if top else 0.15):
            for _ in range(rng.choice([1, 1, 2])):
                cdir = self.new_dir(reldir, "component")
                self.build_component(cdir, acc)
                comps.append(self.rel(reldir, cdir))
        if comps:
            k["components"] = comps

        if not self.config_placed and self.has_crds and self.chance(0.5 if top else 0.3):
            self.place_configurations(reldir, k)

        self.transformers(reldir, k, acc, top, forced_prefix=prefix, forced_namespace=namespace)
        self.write(f"{reldir}/kustomization.yaml" if self.chance(0.9) else f"{reldir}/kustomization.yml",
                   self.dump_kustomization(k))
        return acc

    namespace_frozen = False  # set once two copies of a base differ only by namespace

    def diamond(self, reldir: str, entries: list) -> list[Res]:
        """Two bases include one shared base; they give its copies distinct namePrefix, or (a
        tenant per namespace) distinct namespaces and the same names."""
        self.feat("diamond-base")
        shared_dir = self.new_dir(reldir, "base")
        res_s = self.build_dir(shared_dir, 0)
        out = []
        for r in res_s:
            r.extra["diamond"] = shared_dir
        by_namespace = (not self.namespace_frozen and self.chance(0.7)
                        and not any(r.kind in CLUSTER_SCOPED for r in res_s))
        if by_namespace:
            self.feat("diamond-by-namespace")
            forced = [(None, ns) for ns in self.rng.sample(NAMESPACES, 2)]
        else:
            forced = [(p, None) for p in self.rng.sample(PREFIXES, 2)]
        for p, ns in forced:
            d = self.new_dir(reldir, "base")
            # The intermediate base: the shared base plus (sometimes) a little of its own, and a prefix.
            res = self.build_dir(d, 0, shared=(shared_dir, res_s), prefix=p, namespace=ns)
            for r in res:
                if r.extra.get("diamond") == shared_dir:
                    r.dup = True
            out += res
            entries.append(self.rel(reldir, d))
        if by_namespace:
            # A namespace set above this point would make the two copies the same objects.
            self.namespace_frozen = True
        return out

    # ---------------------------------------------------------------- objects

    def reference_pool(self, acc: list[Res], gens: list[dict]) -> dict:
        """Names this level's objects may reference: generated ConfigMaps/Secrets of this level and
        of the bases below (by the name written in their generator), static ones too."""
        pool = {"ConfigMap": [], "Secret": [], "tls": [], "dockercfg": []}
        for g in gens:
            if g.get("behavior", "create") == "create":
                kind = "Secret" if g["_kind"] == "Secret" else "ConfigMap"
                if g.get("type") == "kubernetes.io/tls":
                    pool["tls"].append(g["name"])
                elif g.get("type") == "kubernetes.io/dockerconfigjson":
                    pool["dockercfg"].append(g["name"])
                else:
                    pool[kind].append(g["name"])
        for r in acc:
            if r.dup or r.kind not in ("ConfigMap", "Secret"):
                continue
            if r.extra.get("type") == "kubernetes.io/tls":
                pool["tls"].append(r.orig_name)
            elif r.extra.get("type") == "kubernetes.io/dockerconfigjson":
                pool["dockercfg"].append(r.orig_name)
            else:
                pool[r.kind].append(r.orig_name)
        return pool

    def make_app(self, reldir: str, refs: dict) -> list[tuple[dict, Res]]:
        rng = self.rng
        stem = self.new_stem()
        flavour = rng.choice(["web", "web", "model", "model", "monitoring"])
        kinds: list[str] = []
        if flavour == "web":
            kinds.append("Deployment")
            for kind in ("Service", "ServiceAccount", "ConfigMap", "Secret", "HorizontalPodAutoscaler",
                         "PodDisruptionBudget", "Ingress", "Role"):
                # An Ingress more often when there is a TLS Secret to reference
                if self.chance(0.9 if kind == "Ingress" and refs["tls"] else 0.4):
                    kinds.append(kind)
            if self.chance(0.15):
                kinds += rng.sample(["ServiceMonitor", "PrometheusRule", "VirtualService"], 1)
        elif flavour == "model":
            for kind, p in (("Rollout", 0.85), ("Deployment", 0.6), ("AnalysisTemplate", 0.6),
                            ("InferenceService", 0.7), ("ServiceMonitor", 0.4), ("PrometheusRule", 0.4),
                            ("VirtualService", 0.4), ("Service", 0.4), ("HorizontalPodAutoscaler", 0.5),
                            ("PodDisruptionBudget", 0.35), ("ServiceAccount", 0.4), ("ConfigMap", 0.2)):
                if self.chance(p):
                    kinds.append(kind)
            if not kinds:
                kinds.append("InferenceService")
        else:
            kinds += rng.sample(["ServiceMonitor", "PrometheusRule", "ConfigMap", "Secret"], rng.choice([1, 2]))
        out = []
        ctx = {"stem": stem, "kinds": set(kinds), "refs": refs, "flavour": flavour}
        for kind in kinds:
            out += getattr(self, f"obj_{kind}")(ctx)
        final = []
        for obj, _ in out:
            meta = obj["metadata"]
            if isinstance(obj, _RawDoc):
                pass
            elif self.chance(0.75):
                meta.setdefault("annotations", {}).update(self.annotation_pairs(rng.choice([1, 1, 2])))
            if not isinstance(obj, _RawDoc):
                if self.chance(0.3):
                    meta.setdefault("annotations", {})[REMOVABLE] = "yes"
                if self.chance(0.08) and obj["kind"] not in CLUSTER_SCOPED:
                    meta["namespace"] = rng.choice(NAMESPACES)
                if self.chance(0.06):
                    # What `kubectl create --dry-run=client -o yaml` writes.
                    self.feat("null-creationTimestamp")
                    meta["creationTimestamp"] = None
                    if obj["kind"] not in ("ConfigMap", "Secret", "ServiceAccount", "Role", "RoleBinding"):
                        obj["status"] = {}
                # Key order inside metadata: name first mostly, sometimes labels first.
                if self.chance(0.2):
                    obj["metadata"] = dict(reversed(list(meta.items())))
            obj_res = Res(api=obj["apiVersion"], kind=obj["kind"], orig_name=meta["name"], name=meta["name"],
                          orig_ns=meta.get("namespace", ""), ns=meta.get("namespace", ""),
                          labels=dict(meta["labels"]) if "labels" in meta else None,
                          annotations=dict(meta["annotations"]) if "annotations" in meta else None,
                          removable=REMOVABLE in meta.get("annotations", {}), src=reldir, stem=stem)
            if obj["kind"] == "Secret":
                obj_res.has_data = "data" in obj
                obj_res.extra["type"] = obj.get("type")
            if obj["kind"] == "ConfigMap" and "on" in obj.get("data", {}):
                # kustomize v5.8.1 fails to merge a generator into a ConfigMap whose keys read as
                # non-strings ("on", "1.0", "null"): "json: unsupported type: map[interface {}]..."
                obj_res.extra["no_merge"] = True
            final.append((obj, obj_res))
            self.feat(f"kind:{obj['kind']}")
        return final

    def app_labels(self, ctx: dict, component: str) -> dict:
        labels = {"app.kubernetes.io/name": ctx["stem"]}
        if self.chance(0.5):
            labels["app.kubernetes.io/component"] = component
        if self.chance(0.3):
            labels.update(self.label_pairs(1))
        return labels

    def container(self, ctx: dict, name: str = "server") -> dict:
        rng = self.rng
        c = {"name": name, "image": self.image(ctx["stem"])}
        if self.chance(0.3):
            c["args"] = [f"--model-name={ctx['stem']}", "--port=8080"]
        c["ports"] = [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
        env = [{"name": "LOG_LEVEL", "value": rng.choice(["info", "debug"])}, {"name": "DEBUG", "value": "false"}]
        refs = ctx["refs"]
        if refs["ConfigMap"] and self.chance(0.5):
            self.feat("ref-valueFrom")
            env.append({"name": "MODEL_THRESHOLD", "valueFrom": {"configMapKeyRef": {
                "name": rng.choice(refs["ConfigMap"]), "key": "threshold", "optional": True}}})
        if refs["Secret"] and self.chance(0.4):
            self.feat("ref-valueFrom")
            env.append({"name": "API_TOKEN", "valueFrom": {"secretKeyRef": {
                "name": rng.choice(refs["Secret"]), "key": "token"}}})
        c["env"] = env
        env_from = []
        if refs["ConfigMap"] and self.chance(0.6):
            self.feat("ref-envFrom")
            env_from.append({"configMapRef": {"name": rng.choice(refs["ConfigMap"])}})
        if refs["Secret"] and self.chance(0.4):
            self.feat("ref-envFrom")
            env_from.append({"secretRef": {"name": rng.choice(refs["Secret"])}})
        if env_from:
            c["envFrom"] = env_from
        c["resources"] = {"requests": {"cpu": rng.choice(["100m", "250m", "1"]), "memory": rng.choice(["128Mi", "1Gi"])},
                          "limits": {"memory": rng.choice(["256Mi", "2Gi"])}}
        if self.chance(0.15):
            self.feat("float-quantities")
            c["resources"]["limits"]["cpu"] = rng.choice([0.5, 1.0, 2, 1.5])
        if self.chance(0.4):
            c["readinessProbe"] = {"httpGet": {"path": "/v2/health/ready", "port": "http"}, "periodSeconds": 10}
        return c

    def pod_spec(self, ctx: dict) -> dict:
        rng = self.rng
        spec: dict = {}
        if "ServiceAccount" in ctx["kinds"] and self.chance(0.8):
            spec["serviceAccountName"] = f"{ctx['stem']}-sa"
        if self.chance(0.25):
            spec["initContainers"] = [{"name": "fetch-model", "image": INIT_IMAGE,
                                       "command": ["sh", "-c", "echo fetching"]}]
            self.images_in_use.add("busybox")
        spec["containers"] = [self.container(ctx)]
        volumes, mounts = [], []
        refs = ctx["refs"]
        if refs["ConfigMap"] and self.chance(0.5):
            self.feat("ref-volume")
            volumes.append({"name": "config", "configMap": {"name": rng.choice(refs["ConfigMap"])}})
            mounts.append({"name": "config", "mountPath": "/etc/model"})
        if refs["Secret"] and self.chance(0.4):
            self.feat("ref-volume")
            volumes.append({"name": "credentials", "secret": {"secretName": rng.choice(refs["Secret"]),
                                                               "defaultMode": 0o440}})
            mounts.append({"name": "credentials", "mountPath": "/var/run/secrets/model", "readOnly": True})
        if refs["ConfigMap"] and self.chance(0.15):
            self.feat("ref-volume")
            volumes.append({"name": "bundle", "projected": {"sources": [
                {"configMap": {"name": rng.choice(refs["ConfigMap"])}}]}})
        if self.chance(0.2):
            volumes.append({"name": "scratch", "emptyDir": {"sizeLimit": "1Gi"}})
            mounts.append({"name": "scratch", "mountPath": "/tmp"})
        if mounts:
            spec["containers"][0]["volumeMounts"] = mounts
        if volumes:
            spec["volumes"] = volumes
        if refs["dockercfg"] and self.chance(0.8):
            self.feat("ref-imagePullSecrets")
            spec["imagePullSecrets"] = [{"name": rng.choice(refs["dockercfg"])}]
        if self.chance(0.2):
            spec["nodeSelector"] = {"kubernetes.io/os": "linux"}
        return spec

    def obj_Deployment(self, ctx):
        stem = ctx["stem"]
        name = f"{stem}-predictor" if "Rollout" in ctx["kinds"] else stem
        sel = {"app.kubernetes.io/name": stem}
        labels = self.app_labels(ctx, "predictor")
        spec: dict = {}
        if self.chance(0.6):
            spec["replicas"] = self.rng.choice([0, 1, 2, 3])
        spec["selector"] = {"matchLabels": dict(sel)}
        tmeta = {"labels": dict(sel, **({"version": "v1"} if self.chance(0.3) else {}))}
        if self.chance(0.15):
            # The same Python object twice: PyYAML writes an anchor and an alias (&id001 / *id001).
            self.feat("yaml-anchors")
            tmeta["labels"] = spec["selector"]["matchLabels"]
        if self.chance(0.3):
            tmeta["annotations"] = {"prometheus.io/scrape": "true", "prometheus.io/port": "8080"}
        spec["template"] = {"metadata": tmeta, "spec": self.pod_spec(ctx)}
        return [({"apiVersion": "apps/v1", "kind": "Deployment",
                  "metadata": {"name": name, "labels": labels}, "spec": spec}, None)]

    def obj_Service(self, ctx):
        stem = ctx["stem"]
        out = []
        names = [stem] + ([f"{stem}-canary"] if "Rollout" in ctx["kinds"] and self.chance(0.7) else [])
        for name in names:
            spec = {"selector": {"app.kubernetes.io/name": stem},
                    "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}]}
            if name == stem and self.chance(0.15):
                # An ExternalName Service has no selector: includeSelectors / commonLabels create one.
                self.feat("service-without-selector")
                spec = {"type": "ExternalName", "externalName": f"{stem}.models.example.com",
                        "ports": [{"name": "http", "port": 80}]}
                out.append(({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec}, None))
                continue
            if self.chance(0.3):
                spec["type"] = self.rng.choice(["ClusterIP", "NodePort"])
            out.append(({"apiVersion": "v1", "kind": "Service",
                         "metadata": {"name": name, "labels": self.app_labels(ctx, "service")}, "spec": spec}, None))
        return out

    def obj_ServiceAccount(self, ctx):
        stem = ctx["stem"]
        obj = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": f"{stem}-sa"}}
        if self.chance(0.5):
            obj["metadata"]["annotations"] = {
                "eks.amazonaws.com/role-arn": f"arn:aws:iam::123456789012:role/{stem}-reader"}
        if self.chance(0.5):
            obj["metadata"]["labels"] = self.app_labels(ctx, "identity")
        if ctx["refs"]["dockercfg"] and self.chance(0.8):
            self.feat("ref-imagePullSecrets")
            obj["imagePullSecrets"] = [{"name": self.rng.choice(ctx["refs"]["dockercfg"])}]
        if self.chance(0.3):
            obj["automountServiceAccountToken"] = False
        return [(obj, None)]

    def obj_ConfigMap(self, ctx):
        stem = ctx["stem"]
        data = {"threshold": self.rng.choice(["0.5", "0.75"]), "MODEL_NAME": stem}
        if self.chance(0.5):
            data["settings.yaml"] = f"model:\n  name: {stem}\n  batch: 8\nlogging:\n  level: info\n"
        if self.chance(0.2):
            self.feat("special-data-keys")
            data.update({"on": "enabled", "1.0": "legacy", "null": "", "notes": "keep\n\n", "strip": "no newline"})
        obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"{stem}-static"}, "data": data}
        if self.chance(0.4):
            obj["metadata"]["labels"] = self.app_labels(ctx, "config")
        return [(obj, None)]

    def obj_Secret(self, ctx):
        stem = ctx["stem"]
        obj = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": f"{stem}-creds"}, "type": "Opaque"}
        if self.chance(0.5):
            obj["data"] = {"token": _b64(f"{stem}-token-123"), "username": _b64("svc-model")}
        else:
            obj["stringData"] = {"token": f"{stem}-token-456"}
        return [(obj, None)]

    def obj_HorizontalPodAutoscaler(self, ctx):
        stem = ctx["stem"]
        if "Rollout" in ctx["kinds"]:
            ref = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": stem}
        else:
            ref = {"apiVersion": "apps/v1", "kind": "Deployment",
                   "name": stem if "Deployment" in ctx["kinds"] or self.chance(0.5) else f"{stem}-predictor"}
        mn = self.rng.choice([1, 2, 3])
        spec = {"scaleTargetRef": ref, "minReplicas": mn, "maxReplicas": mn + self.rng.choice([2, 5, 9]),
                "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                    "type": "Utilization", "averageUtilization": self.rng.choice([60, 70, 80])}}}]}
        return [({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                  "metadata": {"name": stem, "labels": self.app_labels(ctx, "autoscaler")}, "spec": spec}, None)]

    def obj_PodDisruptionBudget(self, ctx):
        stem = ctx["stem"]
        spec = {"selector": {"matchLabels": {"app.kubernetes.io/name": stem}}}
        if self.chance(0.5):
            spec["minAvailable"] = 1
        else:
            spec["maxUnavailable"] = self.rng.choice([1, "25%"])
        return [({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                  "metadata": {"name": stem}, "spec": spec}, None)]

    def obj_Ingress(self, ctx):
        stem = ctx["stem"]
        spec: dict = {"ingressClassName": "nginx"} if self.chance(0.5) else {}
        if self.chance(0.2):
            spec["defaultBackend"] = {"service": {"name": stem, "port": {"name": "http"}}}
        spec["rules"] = [{"host": f"{stem}.ml.example.com", "http": {"paths": [
            {"path": "/", "pathType": "Prefix",
             "backend": {"service": {"name": stem, "port": {"number": 80}}}}]}}]
        if ctx["refs"]["tls"] and self.chance(0.95):
            self.feat("ref-ingress-tls")
            spec["tls"] = [{"hosts": [f"{stem}.ml.example.com"], "secretName": self.rng.choice(ctx["refs"]["tls"])}]
        obj = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": stem}, "spec": spec}
        if self.chance(0.5):
            obj["metadata"]["annotations"] = {"nginx.ingress.kubernetes.io/proxy-body-size": "16m"}
        return [(obj, None)]

    def obj_Role(self, ctx):
        stem = ctx["stem"]
        role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": f"{stem}-reader"},
                "rules": [{"apiGroups": [""], "resources": ["configmaps", "secrets"], "verbs": ["get", "list", "watch"]}]}
        subject = {"kind": "ServiceAccount", "name": f"{stem}-sa"}
        if self.chance(0.4):
            subject["namespace"] = self.rng.choice(NAMESPACES + ["default"])
        binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                   "metadata": {"name": f"{stem}-reader"},
                   "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": f"{stem}-reader"},
                   "subjects": [subject]}
        out = [(role, None), (binding, None)]
        if self.chance(0.3):
            # Cluster-scoped: no namespace, but the binding's ServiceAccount subject gets one.
            crole = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                     "metadata": {"name": f"{stem}-node-reader"},
                     "rules": [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list"]}]}
            csubject = {"kind": "ServiceAccount", "name": f"{stem}-sa"}
            if self.chance(0.5):
                csubject["namespace"] = self.rng.choice(NAMESPACES + ["default"])
            cbinding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                        "metadata": {"name": f"{stem}-node-reader"},
                        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                    "name": f"{stem}-node-reader"},
                        "subjects": [csubject]}
            out += [(crole, None), (cbinding, None)]
            if self.chance(0.3):
                binding["roleRef"] = {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                      "name": f"{stem}-node-reader"}
        return out

    def obj_Rollout(self, ctx):
        rng = self.rng
        stem = ctx["stem"]
        self.has_crds = True
        steps = []
        for w in sorted(rng.sample([5, 10, 20, 25, 50, 75], rng.choice([1, 2, 3]))):
            steps.append({"setWeight": w})
            steps.append({"pause": {"duration": rng.choice(["1m", "5m", "10m"])} if self.chance(0.7) else {}})
        if self.chance(0.4):
            steps.insert(2, {"analysis": {"templates": [{"templateName": f"{stem}-canary-analysis"}]}})
        canary: dict = {"maxSurge": rng.choice(["25%", 1]), "maxUnavailable": 0, "steps": steps}
        if "Service" in ctx["kinds"] and self.chance(0.7):
            canary["canaryService"] = f"{stem}-canary"
            canary["stableService"] = stem
            if "VirtualService" in ctx["kinds"]:
                canary["trafficRouting"] = {"istio": {"virtualService": {"name": stem, "routes": ["primary"]}}}
        if self.chance(0.7):
            canary["analysis"] = {"templates": [{"templateName": f"{stem}-canary-analysis"}], "startingStep": 1,
                                  "args": [{"name": "service-name", "value": f"{stem}-predictor"},
                                           {"name": "canary-hash", "valueFrom": {"podTemplateHashValue": "Latest"}}]}
        spec: dict = {}
        if self.chance(0.4):
            spec["replicas"] = rng.choice([2, 3, 4])
        spec["revisionHistoryLimit"] = 3
        spec["selector"] = {"matchLabels": {"app.kubernetes.io/name": stem}}
        if self.chance(0.75):
            self.feat("rollout-workloadRef")
            spec["workloadRef"] = {"apiVersion": "apps/v1", "kind": "Deployment", "name": f"{stem}-predictor"}
            if self.chance(0.6):
                spec["workloadRef"]["scaleDown"] = rng.choice(["never", "onsuccess", "progressively"])
        else:
            self.feat("rollout-template")
            spec["template"] = {"metadata": {"labels": {"app.kubernetes.io/name": stem}},
                                "spec": self.pod_spec(ctx)}
        spec["strategy"] = {"canary": canary}
        obj = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
               "metadata": {"name": stem, "labels": self.app_labels(ctx, "rollout")}, "spec": spec}
        return [(obj, None)]

    def obj_AnalysisTemplate(self, ctx):
        stem = ctx["stem"]
        self.has_crds = True
        threshold = self.rng.choice(["0.01", "0.0144", "0.05"])
        query = ('sum(rate(istio_requests_total{reporter="destination",destination_service_name='
                 '"{{args.service-name}}",response_code=~"5.."}[2m]))\n/\n'
                 'sum(rate(istio_requests_total{reporter="destination",destination_service_name='
                 '"{{args.service-name}}"}[2m]))\n')
        metric = {"name": "error-ratio", "interval": "1m", "failureLimit": 1,
                  "successCondition": f"len(result) > 0 && result[0] <= {threshold}",
                  "provider": {"prometheus": {"address": "http://prometheus-operated.monitoring.svc:9090",
                                              "query": query}}}
        obj = {"apiVersion": "argoproj.io/v1alpha1", "kind": "AnalysisTemplate",
               "metadata": {"name": f"{stem}-canary-analysis"},
               "spec": {"args": [{"name": "service-name"}, {"name": "canary-hash"}], "metrics": [metric]}}
        return [(obj, None)]

    def obj_InferenceService(self, ctx):
        rng = self.rng
        stem = ctx["stem"]
        self.has_crds = True
        if self.chance(0.25):
            # Written by hand, with the unquoted scalars people write (YAML 1.1 vs 1.2 differences).
            self.feat("raw-yaml-scalars")
            sa = f"\n    serviceAccountName: {stem}-sa" if "ServiceAccount" in ctx["kinds"] else ""
            text = (f"apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata:\n  name: {stem}\n"
                    f"  annotations:\n    serving.kserve.io/deploymentMode: Standard\n"
                    f"    mlgitops.dev/reviewed: \"2025-01-15\"\n"
                    f"spec:\n  predictor:\n    minReplicas: {rng.choice(['1', '01', '0x2'])}{sa}\n    model:\n"
                    f"      modelFormat:\n        name: sklearn\n        version: {rng.choice(['1.10', '1.0', '1'])}\n"
                    f"      runtimeVersion: {rng.choice(['1.10', '0.16.0', '2025.01'])}\n"
                    f"      storageUri: gs://ml-models/{stem}/v{rng.randint(1, 9)}/model\n"
                    f"      env:\n      - name: ENABLE_BATCHING\n        value: {rng.choice(['yes', 'on', 'Off', 'y'])}\n"
                    f"      - name: WORKERS\n        value: \"4\"\n"
                    f"      - name: RATIO\n        value: {rng.choice(['.5', '1e3', '1_000', '+12', '0o17'])}\n"
                    f"      resources:\n        requests:\n          cpu: {rng.choice(['.5', '0.50', '1', '2.0'])}\n"
                    f"          memory: 1Gi\n")
            return [(_RawDoc(yaml.safe_load(text), text), None)]
        predictor: dict = {"minReplicas": rng.choice([0, 1, 2])}
        if "ServiceAccount" in ctx["kinds"]:
            predictor["serviceAccountName"] = f"{stem}-sa"
        if self.chance(0.6):
            predictor["model"] = {"modelFormat": {"name": rng.choice(["sklearn", "xgboost", "onnx"])},
                                  "storageUri": f"gs://ml-models/{stem}/v{rng.randint(1, 9)}/model",
                                  "resources": {"requests": {"cpu": "500m", "memory": "512Mi"}}}
            if self.chance(0.3):
                predictor["model"]["protocolVersion"] = "v2"
        else:
            c = {"name": "kserve-container", "image": self.image(stem),
                 "env": [{"name": "STORAGE_URI", "value": f"s3://ml-models/{stem}/"}]}
            refs = ctx["refs"]
            if refs["ConfigMap"] and self.chance(0.5):
                c["envFrom"] = [{"configMapRef": {"name": rng.choice(refs["ConfigMap"])}}]
            if refs["Secret"] and self.chance(0.5):
                c["env"].append({"name": "TOKEN", "valueFrom": {"secretKeyRef": {
                    "name": rng.choice(refs["Secret"]), "key": "token"}}})
            predictor["containers"] = [c]
        meta = {"name": stem, "annotations": {"serving.kserve.io/deploymentMode": rng.choice(["Standard", "Serverless"])}}
        if self.chance(0.5):
            meta["labels"] = self.app_labels(ctx, "predictor")
        return [({"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService", "metadata": meta,
                  "spec": {"predictor": predictor}}, None)]

    def obj_ServiceMonitor(self, ctx):
        stem = ctx["stem"]
        self.has_crds = True
        spec = {"selector": {"matchLabels": {"app.kubernetes.io/name": stem}},
                "endpoints": [{"port": "http", "path": "/metrics", "interval": self.rng.choice(["15s", "30s"])}]}
        if self.chance(0.3):
            spec["namespaceSelector"] = {"matchNames": [self.rng.choice(NAMESPACES)]}
        return [({"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor",
                  "metadata": {"name": stem, "labels": {"release": "kube-prometheus-stack"}}, "spec": spec}, None)]

    def obj_PrometheusRule(self, ctx):
        stem = ctx["stem"]
        self.has_crds = True
        rules = [
            {"record": "mlgitops:request_errors:ratio_rate5m",
             "expr": f'sum(rate(istio_requests_total{{destination_service_name="{stem}",response_code=~"5.."}}[5m]))\n'
                     f'/\nsum(rate(istio_requests_total{{destination_service_name="{stem}"}}[5m]))\n',
             "labels": {"model": stem}},
            {"alert": f"{stem.title().replace('-', '')}ErrorBudgetBurn",
             "expr": "mlgitops:request_errors:ratio_rate5m > (14.4 * 0.001)",
             "for": "2m", "labels": {"severity": "page"},
             "annotations": {"summary": "{{ $labels.model }}: error budget burning fast",
                             "runbook_url": f"https://runbooks.example.com/mlgitops/{stem}"}},
        ]
        return [({"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
                  "metadata": {"name": f"{stem}-slo", "labels": {"release": "kube-prometheus-stack", "role": "alert-rules"}},
                  "spec": {"groups": [{"name": f"{stem}.slo", "rules": rules}]}}, None)]

    def obj_VirtualService(self, ctx):
        stem = ctx["stem"]
        self.has_crds = True
        routes = [{"destination": {"host": stem, "port": {"number": 80}}, "weight": 100}]
        if "Rollout" in ctx["kinds"]:
            routes.append({"destination": {"host": f"{stem}-canary", "port": {"number": 80}}, "weight": 0})
        spec = {"hosts": [f"{stem}.ml.example.com"], "gateways": ["istio-system/ml-gateway"],
                "http": [{"name": "primary", "route": routes}]}
        return [({"apiVersion": self.rng.choice(["networking.istio.io/v1beta1", "networking.istio.io/v1"]),
                  "kind": "VirtualService", "metadata": {"name": stem}, "spec": spec}, None)]

    def write_resource_files(self, reldir: str, objs: list[dict]) -> list[str]:
        rng = self.rng
        objs = list(objs)
        rng.shuffle(objs)
        names = []
        i = 0
        used = set()
        while i < len(objs):
            n = min(len(objs) - i, rng.choice([1, 1, 2, 3]))
            chunk = objs[i:i + n]
            i += n
            base = chunk[0]["kind"].lower()
            fname = f"{base}.yaml"
            j = 2
            while fname in used:
                fname = f"{base}-{j}.yaml"
                j += 1
            if n > 1:
                self.feat("multi-doc-file")
            style = rng.choice(["block", "block", "block", "indent", "flow"])
            if n == 1 and self.chance(0.12) and not isinstance(chunk[0], _RawDoc):
                style = "json"
                fname = fname[:-5] + ".json"
                self.feat("json-resource-file")
            elif style == "indent":
                self.feat("indented-yaml")
            elif style == "flow":
                self.feat("flow-yaml")
            used.add(fname)
            if n > 1 and style != "json" and self.chance(0.08) and not any(isinstance(o, _RawDoc) for o in chunk):
                self.feat("list-kind")
                chunk = [{"apiVersion": "v1", "kind": "List", "items": chunk}]
            if style == "json" and not isinstance(chunk[0], _RawDoc):
                text = dump(chunk[0], "json")
            else:
                docs = [o.text if isinstance(o, _RawDoc) else dump(o, style) for o in chunk]
                if len(docs) > 1 and self.chance(0.06):
                    self.feat("empty-documents")
                    docs.insert(1, "# this document intentionally left empty\n")
                text = "---\n".join(docs)
                if self.chance(0.2):
                    text = "---\n" + text
                if self.chance(0.15):
                    self.feat("comments-in-yaml")
                    text = f"# {chunk[0]['kind']} objects for this level\n" + text
                if self.chance(0.1):
                    text += "---\n"
            if style != "json" and self.chance(0.04):
                self.feat("crlf-line-endings")
                text = text.replace("\n", "\r\n")
            stem_, dot, ext = fname.rpartition(".")
            j = 2
            while f"{reldir}/{fname}" in self.files:
                fname = f"{stem_}-{j}.{ext}"
                j += 1
            used.add(fname)
            self.write(f"{reldir}/{fname}", text)
            names.append(fname)
        return names

    # ---------------------------------------------------------------- generators

    def plan_generators(self, reldir: str, acc: list[Res], top: bool) -> list[dict]:
        """configMapGenerator / secretGenerator entries of one level (not yet written)."""
        rng = self.rng
        gens: list[dict] = []
        if not self.chance(0.55):
            return gens
        # New generated ConfigMaps / Secrets.
        for _ in range(rng.choice([1, 1, 2])):
            stem = self.new_stem() if self.chance(0.4) else rng.choice(sorted(self.used_stems) or [self.new_stem()])
            if self.chance(0.65):
                name = f"{stem}-config" if self.chance(0.7) else f"{stem}-env"
                if ("ConfigMap", name) in self.gen_names:
                    continue
                self.gen_names.add(("ConfigMap", name))
                g = {"_kind": "ConfigMap", "name": name}
                if self.chance(0.08):
                    g["namespace"] = rng.choice(NAMESPACES)
                gens.append(g)
            else:
                kind = rng.choice(["Opaque", "Opaque", "kubernetes.io/tls", "kubernetes.io/tls",
                                   "kubernetes.io/dockerconfigjson", "kubernetes.io/dockerconfigjson", None])
                name = {"kubernetes.io/tls": f"{stem}-tls", "kubernetes.io/dockerconfigjson": f"{stem}-regcred"}.get(
                    kind, f"{stem}-secret")
                if ("Secret", name) in self.gen_names:
                    continue
                self.gen_names.add(("Secret", name))
                g = {"_kind": "Secret", "name": name}
                if kind:
                    g["type"] = kind
                gens.append(g)
        # Merges / replacements over ConfigMaps and Secrets of the bases below.
        candidates = [r for r in acc if r.kind in ("ConfigMap", "Secret") and not r.dup and r.extra.get("type") in
                      (None, "Opaque") and not r.extra.get("no_merge")]
        if candidates and self.chance(0.5):
            r = rng.choice(candidates)
            behavior = "merge" if self.chance(0.7) else "replace"
            g = {"_kind": r.kind, "name": r.orig_name, "behavior": behavior, "_target": r}
            if r.orig_ns:
                g["namespace"] = r.orig_ns
            gens.append(g)
        return gens

    def generator_sources(self, reldir: str, g: dict) -> None:
        """Fill literals / files / envs of generator entry g (writing the files it reads)."""
        rng = self.rng
        stem = g["name"].rsplit("-", 1)[0]
        is_secret = g["_kind"] == "Secret"
        if g.get("type") == "kubernetes.io/tls":
            self.write(f"{reldir}/tls/{g['name']}.crt", f"-----BEGIN CERTIFICATE-----\nMIIB{stem}Q==\n-----END CERTIFICATE-----\n")
            self.write(f"{reldir}/tls/{g['name']}.key", "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI\n-----END PRIVATE KEY-----\n")
            g["files"] = [f"tls.crt=tls/{g['name']}.crt", f"tls.key=tls/{g['name']}.key"]
            self.feat("generator-files")
            return
        if g.get("type") == "kubernetes.io/dockerconfigjson":
            cfg = json.dumps({"auths": {"registry.example.com": {"auth": _b64("robot:secret")}}})
            g["literals"] = [f".dockerconfigjson={cfg}"]
            self.feat("generator-literals")
            return
        kinds = rng.sample(["literals", "files", "envs"], rng.choice([1, 1, 2, 3]))
        if "literals" in kinds:
            self.feat("generator-literals")
            lits = []
            pool = [("threshold", rng.choice(["0.5", "0.75", "0.9"])), ("MODEL_NAME", stem),
                    ("ENABLE_BATCHING", rng.choice(["yes", "on", "true"])), ("OCTAL_MODE", "012"),
                    ("HEX_MASK", "0x1F"), ("RUNTIME_VERSION", "1.10"), ("RELEASE_DATE", "2025-01-15"),
                    ("NULLISH", rng.choice(["null", "~"])), ("BIG", "12345678901234567890"),
                    ("LOG_LEVEL", rng.choice(["info", "debug"])), ("ENDPOINT", f"https://{stem}.ml.example.com/v1"),
                    ("token" if is_secret else "FEATURES", "a=b,c=d"), ("BATCH_SIZE", "32"),
                    ("ENABLED", "true"), ("GREETING", '"hello world"'), ("EMPTY", "")]
            for key, value in rng.sample(pool, rng.choice([1, 2, 3])):
                lits.append(f"{key}={value}")
            g["literals"] = lits
        if "files" in kinds:
            self.feat("generator-files")
            files = []
            for _ in range(rng.choice([1, 1, 2])):
                choice = rng.choice(["json", "props", "yaml", "rename", "binary", "edge"])
                sub = rng.choice(["", "files/", "config/"])
                if choice == "edge":
                    # Content that forces the YAML emitter off the literal block style.
                    self.feat("generator-file-edge-content")
                    fname = f"{sub}{g['name']}-edge.txt"
                    if f"{reldir}/{fname}" not in self.files:
                        self.write(f"{reldir}/{fname}", rng.choice([
                            "trailing spaces   \nsecond line\n",
                            "\tstarts with a tab\nand\r\nhas a CRLF\n",
                            "no final newline",
                            json.dumps({"model": stem, "thresholds": [0.1, 0.5, 0.9], "note": "a: b # c"}) * 3,
                            "\n\nleading blank lines\n\n\n",
                            "emoji 🚀 and nbsp\u00a0here\n",
                        ]))
                    files.append(fname)
                    continue
                if choice == "json":
                    fname = f"{sub}{g['name']}-settings.json"
                    if f"{reldir}/{fname}" not in self.files:
                        self.write(f"{reldir}/{fname}", json.dumps({"model": stem, "batch": 8, "labels": ["a", "b"]}, indent=2) + "\n")
                    files.append(fname)
                elif choice == "props":
                    fname = f"{sub}logging.properties"
                    if f"{reldir}/{fname}" not in self.files:
                        self.write(f"{reldir}/{fname}", "log.level=INFO\nlog.format=json\n")
                    files.append(fname)
                elif choice == "yaml":
                    fname = f"{sub}{g['name']}.yaml"
                    if f"{reldir}/{fname}" not in self.files:
                        self.write(f"{reldir}/{fname}", f"model:\n  name: {stem}\n  max_batch: 16\n")
                    files.append(fname)
                elif choice == "rename":
                    fname = f"{sub}{g['name']}-raw.txt"
                    if f"{reldir}/{fname}" not in self.files:
                        self.write(f"{reldir}/{fname}", f"{stem} serving notes\n  indented line\n")
                    files.append(f"notes.txt={fname}")
                else:
                    self.feat("generator-binary-file")
                    fname = f"{sub}{g['name']}.bin"
                    if f"{reldir}/{fname}" not in self.files:
                        self.write(f"{reldir}/{fname}", bytes([0, 1, 2, 255, 254, 10, 128]) + stem.encode())
                    files.append(fname)
            keys = [f.split("=")[0].rsplit("/", 1)[-1] for f in files]
            if len(set(keys)) == len(keys):
                g["files"] = files
            else:
                g["files"] = files[:1]
        if "envs" in kinds:
            self.feat("generator-envs")
            fname = f"{g['name']}.env"
            if f"{reldir}/{fname}" not in self.files:
                lines = ["# environment for the model server", f"MODEL_VERSION={rng.randint(1, 9)}.{rng.randint(0, 9)}",
                         "", f"MODEL_URI=gs://ml-models/{stem}/model", "WORKERS=4"]
                if is_secret:
                    lines.append("password=s3cr3t")
                if self.chance(0.3):
                    self.feat("env-file-edge-lines")
                    lines += ["  # an indented comment", 'QUOTED="quoted value"', "EQUALS=a=b=c",
                              "URL=https://api.example.com/v1?model=x&limit=10", "UNICODE=héllo wörld",
                              "TRAILING=value   ", "   LEADING_KEY=ok"]
                self.write(f"{reldir}/{fname}", "\n".join(lines) + ("\n" if self.chance(0.8) else ""))
            g["envs"] = [fname]

    def apply_generators(self, reldir: str, k: dict, gens: list[dict], acc: list[Res]) -> None:
        rng = self.rng
        if not gens:
            return
        global_opts = {}
        if self.chance(0.3):
            self.feat("generatorOptions")
            if self.chance(0.5):
                global_opts["labels"] = self.label_pairs(1)
            if self.chance(0.4):
                global_opts["annotations"] = {"mlgitops.dev/generated": "true"}
            if self.chance(0.3):
                global_opts["disableNameSuffixHash"] = True
                self.feat("disableNameSuffixHash")
            if self.chance(0.15):
                global_opts["immutable"] = True
                self.feat("immutable")
            if global_opts:
                k["generatorOptions"] = global_opts
        cms, secrets = [], []
        for g in gens:
            self.generator_sources(reldir, g)
            entry = {key: v for key, v in g.items() if not key.startswith("_")}
            behavior = g.get("behavior")
            if behavior:
                self.feat("generator-merge" if behavior == "merge" else "generator-replace")
            elif self.chance(0.1):
                entry["behavior"] = "create"
                self.feat("generator-create-explicit")
            if "type" in entry:
                self.feat("secret-type")
            opts = {}
            if self.chance(0.25):
                self.feat("generator-options")
                if self.chance(0.5):
                    opts["labels"] = self.label_pairs(1)
                if self.chance(0.4):
                    opts["annotations"] = {"example.com/config-source": "generator"}
                if self.chance(0.3):
                    opts["disableNameSuffixHash"] = True
                    self.feat("disableNameSuffixHash")
                if self.chance(0.1):
                    opts["immutable"] = True
                    self.feat("immutable")
                if opts:
                    entry["options"] = opts
            if "namespace" in entry:
                self.feat("generator-namespace")
            (secrets if g["_kind"] == "Secret" else cms).append(entry)
            labels = dict(global_opts.get("labels", {}), **opts.get("labels", {}))
            annotations = dict(global_opts.get("annotations", {}), **opts.get("annotations", {}))
            if behavior:
                t = g["_target"]
                # Merge and replace keep the base's metadata and add the generator's.
                if labels:
                    t.labels = dict(t.labels or {}, **labels)
                if annotations:
                    t.annotations = dict(t.annotations or {}, **annotations)
                has_data = bool(g.get("literals") or g.get("envs") or
                                any(not f.endswith(".bin") for f in g.get("files", [])))
                t.has_data = has_data if behavior == "replace" else (t.has_data and has_data) or has_data
            else:
                has_data = bool(g.get("literals") or g.get("envs") or
                                any(not f.endswith(".bin") for f in g.get("files", [])))
                r = Res(api="v1", kind=g["_kind"], orig_name=g["name"], name=g["name"], labels=labels or None,
                        orig_ns=g.get("namespace", ""), ns=g.get("namespace", ""),
                        annotations=annotations or None, generated=True, has_data=has_data, src=reldir,
                        stem=g["name"])
                r.extra["type"] = g.get("type")
                acc.append(r)
        if cms:
            self.feat("configMapGenerator")
            k["configMapGenerator"] = cms
        if secrets:
            self.feat("secretGenerator")
            k["secretGenerator"] = secrets

    # ---------------------------------------------------------------- components

    def build_component(self, cdir: str, acc: list[Res], nested: bool = False) -> None:
        """A kind: Component directory; mutates the model `acc` of the including kustomization."""
        rng = self.rng
        self.feat("component")
        k: dict = {"apiVersion": "kustomize.config.k8s.io/v1alpha1", "kind": "Component"}
        if self.chance(0.4):
            self.feat("component-resources")
            refs = self.reference_pool(acc, [])
            stems = sorted({r.stem for r in acc if r.stem and not r.dup and r.kind in ("Deployment", "Rollout")})
            objs: list[tuple[dict, Res]] = []
            if stems and self.chance(0.6):
                # Monitoring for an existing app (names must not clash with the app's own).
                stem = rng.choice(stems)
                taken = {(r.kind, r.orig_name) for r in acc}
                if ("ServiceMonitor", stem) not in taken and ("PrometheusRule", f"{stem}-slo") not in taken:
                    ctx = {"stem": stem, "kinds": set(), "refs": refs}
                    objs = self.obj_ServiceMonitor(ctx) + self.obj_PrometheusRule(ctx)
                    objs = [(o, self.res_for(o, cdir, stem)) for o, _ in objs]
            if not objs:
                objs = self.make_app(cdir, refs)
            k["resources"] = self.write_resource_files(cdir, [o for o, _ in objs])
            acc += [r for _, r in objs]
        gens = []
        if self.chance(0.3):
            candidates = [r for r in acc if r.kind == "ConfigMap" and not r.dup and r.extra.get("type") is None
                          and not r.extra.get("no_merge")]
            if candidates and self.chance(0.6):
                self.feat("component-generator-merge")
                r = rng.choice(candidates)
                g = {"_kind": "ConfigMap", "name": r.orig_name, "behavior": "merge", "_target": r}
                if r.orig_ns:
                    g["namespace"] = r.orig_ns
                gens.append(g)
            else:
                stem = self.new_stem()
                self.gen_names.add(("ConfigMap", f"{stem}-config"))
                gens.append({"_kind": "ConfigMap", "name": f"{stem}-config"})
        self.apply_generators(cdir, k, gens, acc)
        if not nested and self.chance(0.15):
            self.feat("nested-component")
            sub = f"{cdir}/{rng.choice(['extra', 'more'])}"
            self.build_component(sub, acc, nested=True)
            k["components"] = [self.rel(cdir, sub)]
        if not self.config_placed and self.has_crds and self.chance(0.4):
            self.place_configurations(cdir, k)
        self.transformers(cdir, k, acc, top=False, component=True)
        if len(k) == 2:  # kustomize rejects a component with nothing in it
            pairs = self.annotation_pairs(1)
            k["commonAnnotations"] = pairs
            self.feat("commonAnnotations")
            for r in acc:
                r.annotations = dict(r.annotations or {}, **pairs)
        self.write(f"{cdir}/kustomization.yaml", self.dump_kustomization(k))

    def shared_component(self, acc: list[Res]) -> str:
        """A component with labels and annotations only, included by several kustomizations of
        the tree (kustomize applies it once per inclusion)."""
        if self._shared_component is None:
            cdir = "components/platform-labels"
            pairs = self.label_pairs(self.rng.choice([1, 2]))
            entry: dict = {"pairs": pairs}
            if self.chance(0.4):
                entry["includeSelectors"] = True
            annotations = {"mlgitops.dev/platform": "ml-serving"}
            k = {"apiVersion": "kustomize.config.k8s.io/v1alpha1", "kind": "Component", "labels": [entry],
                 "commonAnnotations": annotations}
            self.write(f"{cdir}/kustomization.yaml", self.dump_kustomization(k))
            self._shared_component = (cdir, pairs, annotations)
            self.feat("component")
        else:
            self.feat("reused-component")
        cdir, pairs, annotations = self._shared_component
        for r in acc:
            r.labels = dict(r.labels or {}, **pairs)
            r.annotations = dict(r.annotations or {}, **annotations)
        return cdir

    _shared_component: tuple | None = None

    def res_for(self, obj: dict, reldir: str, stem: str) -> Res:
        meta = obj["metadata"]
        self.feat(f"kind:{obj['kind']}")
        return Res(api=obj["apiVersion"], kind=obj["kind"], orig_name=meta["name"], name=meta["name"],
                   labels=dict(meta["labels"]) if "labels" in meta else None,
                   annotations=dict(meta["annotations"]) if "annotations" in meta else None, src=reldir, stem=stem)

    # ---------------------------------------------------------------- configurations

    def place_configurations(self, reldir: str, k: dict) -> None:
        self.feat("configurations")
        self.config_placed = True
        cfg = copy.deepcopy(ROLLOUT_CONFIG)
        extra = {}
        if self.chance(0.5):
            self.feat("configurations-replicas")
            extra.update(ROLLOUT_REPLICAS)
            self.cfg_stack[-1] = True
        if self.chance(0.2):
            self.feat("configurations-labels")
            extra.update(ROLLOUT_LABELS)
        files = []
        if extra and self.chance(0.5):
            self.write(f"{reldir}/kustomizeconfig.yaml", dump(cfg))
            self.write(f"{reldir}/config/rollout-fields.yaml", dump(extra))
            files = ["kustomizeconfig.yaml", "config/rollout-fields.yaml"]
        else:
            cfg.update(extra)
            header = "# Teach kustomize where Argo Rollouts, KServe and Istio objects reference each other.\n"
            self.write(f"{reldir}/kustomizeconfig.yaml", header + dump(cfg))
            files = ["kustomizeconfig.yaml"]
        k["configurations"] = files

    # ---------------------------------------------------------------- transformers

    def transformers(self, reldir: str, k: dict, acc: list[Res], top: bool, component: bool = False,
                     forced_prefix: str | None = None, forced_namespace: str | None = None) -> None:
        """Patches and transformers of one level, in kustomize's order, updating the model."""
        rng = self.rng
        live = acc  # deleted objects are removed from acc in place
        self.current_live = live

        # 1. patchesStrategicMerge (legacy)
        if live and self.chance(0.15):
            psm = []
            for _ in range(rng.choice([1, 1, 2])):
                r = self.pick_named_target(live, prefer="Deployment")
                if r is None:
                    break
                patch = self.smp_for(r, live, by_name=True)
                if patch is None:
                    continue
                if self.chance(0.5):
                    fname = f"psm-{r.kind.lower()}-{len(psm)}.yaml"
                    text = dump(patch)
                    other = self.pick_named_target(live)
                    if other is not None and other is not r and self.chance(0.3):
                        # Several patches in one file, each applied to the object it names.
                        second = self.smp_for(other, live, by_name=True)
                        if second is not None:
                            self.feat("multi-doc-patch-file")
                            text += "---\n" + dump(second)
                    self.write(f"{reldir}/{fname}", text)
                    psm.append(fname)
                else:
                    psm.append(dump(patch))
            if psm:
                self.feat("patchesStrategicMerge")
                k["patchesStrategicMerge"] = psm

        # 2. patches
        if live and self.chance(0.6 if not component else 0.7):
            patches = []
            for _ in range(rng.choice([1, 1, 2, 3, 4])):
                p = self.make_patch(reldir, live, len(patches))
                if p:
                    patches.append(p)
            if patches:
                if component:
                    self.feat("component-patches")
                k["patches"] = patches

        # 3. namespace
        if forced_namespace or (not self.namespace_frozen and self.chance(0.3 if not component else 0.08)):
            ns = forced_namespace or rng.choice(NAMESPACES)
            k["namespace"] = ns
            self.feat("namespace")
            for r in live:
                if r.kind not in CLUSTER_SCOPED:
                    r.ns = ns
        # 4/5. prefix / suffix
        prefix = forced_prefix
        if prefix is None and self.chance(0.25 if not component else 0.05):
            prefix = rng.choice(PREFIXES)
        if prefix:
            k["namePrefix"] = prefix
            self.feat("namePrefix")
        suffix = rng.choice(SUFFIXES) if self.chance(0.18 if not component else 0.05) else None
        if suffix:
            k["nameSuffix"] = suffix
            self.feat("nameSuffix")
        if prefix or suffix:
            for r in live:
                r.name = f"{prefix or ''}{r.name}{suffix or ''}"
        # 6. labels / commonLabels
        if self.chance(0.15):
            pairs = self.label_pairs(rng.choice([1, 2]))
            k["commonLabels"] = pairs
            self.feat("commonLabels")
            for r in live:
                r.labels = dict(r.labels or {}, **pairs)
        if self.chance(0.35 if not component else 0.5):
            entries = []
            for _ in range(rng.choice([1, 1, 2])):
                pairs = self.label_pairs(rng.choice([1, 2]))
                e = {"pairs": pairs}
                v = rng.random()
                if v < 0.3:
                    e["includeSelectors"] = True
                    self.feat("labels-includeSelectors")
                elif v < 0.55:
                    e["includeTemplates"] = True
                    self.feat("labels-includeTemplates")
                elif v < 0.65:
                    e["includeSelectors"] = False
                elif v < 0.7:
                    e["includeSelectors"] = False
                    e["includeTemplates"] = True
                    self.feat("labels-includeTemplates")
                if self.chance(0.12):
                    self.feat("labels-fields")
                    # create: false, as in ROLLOUT_LABELS (kustomize rejects two field specs that differ only in it)
                    e["fields"] = [{"path": "spec/selector/matchLabels", "kind": "ServiceMonitor", "create": False}]
                entries.append(e)
                for r in live:
                    r.labels = dict(r.labels or {}, **pairs)
            k["labels"] = entries
            self.feat("labels")
            if component:
                self.feat("component-labels")
        # 7. commonAnnotations
        if self.chance(0.25 if not component else 0.4):
            pairs = self.annotation_pairs(rng.choice([1, 2]))
            k["commonAnnotations"] = pairs
            self.feat("commonAnnotations")
            for r in live:
                r.annotations = dict(r.annotations or {}, **pairs)
        # 8. patchesJson6902 (legacy), after the renames of this level
        if live and self.chance(0.15):
            entries = []
            for _ in range(rng.choice([1, 1, 2])):
                e = self.make_legacy_json_patch(reldir, live, len(entries))
                if e:
                    entries.append(e)
            if entries:
                self.feat("patchesJson6902")
                k["patchesJson6902"] = entries
        # 9. replicas
        if live and self.chance(0.3 if top else 0.12):
            reps = []
            workloads = [r for r in live if r.kind == "Deployment"]
            # Rollouts only when a configuration of this subtree gives them replicas; then often one
            rollouts = [r for r in live if r.kind == "Rollout"] if self.cfg_stack and self.cfg_stack[-1] else []
            picked = rng.sample(workloads + rollouts, min(len(workloads + rollouts), rng.choice([1, 2])))
            if rollouts and not any(r.kind == "Rollout" for r in picked) and self.chance(0.6):
                picked[0] = rng.choice(rollouts)
            seen = set()
            for r in picked:
                name = r.orig_name if self.chance(0.5) else r.name
                if name in seen:
                    continue
                seen.add(name)
                reps.append({"name": name, "count": rng.choice([0, 1, 3, 5])})
                if r.kind == "Rollout":
                    self.feat("replicas-rollout")
            if reps:
                k["replicas"] = reps
                self.feat("replicas")
        # 10. images
        if self.images_in_use and self.chance(0.4 if top else 0.15):
            imgs = []
            for name in rng.sample(sorted(self.images_in_use), min(len(self.images_in_use), rng.choice([1, 2, 3]))):
                e = {"name": name}
                v = rng.random()
                if v < 0.35:
                    e["newTag"] = rng.choice(["1.5.0", "2025.01.15", "v0.17.0-rc.1"])
                    self.feat("images-newTag")
                elif v < 0.55:
                    e["digest"] = _digest(rng)
                    self.feat("images-digest")
                elif v < 0.75:
                    e["newName"] = f"mirror.example.com/{name.rsplit('/', 1)[-1]}"
                    self.feat("images-newName")
                else:
                    e["newName"] = f"mirror.example.com/{name.rsplit('/', 1)[-1]}"
                    e["newTag"] = "1.5.0"
                    self.feat("images-newName")
                    self.feat("images-newTag")
                imgs.append(e)
            if self.chance(0.15):
                imgs.append({"name": "not-used-anywhere", "newTag": "9.9"})
            k["images"] = imgs

    # ---------------------------------------------------------------- patches

    def pick_named_target(self, live: list[Res], prefer: str | None = None) -> Res | None:
        """An object a patch without target can name unambiguously (of kind `prefer`, often, when
        there is one: the kinds with the most strategic-merge variants)."""
        cands = [r for r in live if not r.dup]
        preferred = [r for r in cands if r.kind == prefer]
        if preferred and self.chance(0.4):
            return self.rng.choice(preferred)
        return self.rng.choice(cands) if cands else None

    def patch_meta(self, r: Res, by_name: bool) -> dict:
        """metadata naming r: its original name (no namespace), or its current name and namespace."""
        if by_name and self.chance(0.5) and (r.name != r.orig_name or r.ns != r.orig_ns):
            meta = {"name": r.name}
            if r.ns:
                meta["namespace"] = r.ns
            return meta
        meta = {"name": r.orig_name}
        if r.orig_ns:
            meta["namespace"] = r.orig_ns
        return meta

    def smp_for(self, r: Res, live: list[Res], by_name: bool, group: list[Res] | None = None) -> dict | None:
        """A strategic-merge patch for r (or for every object in `group`, all of r's kind)."""
        rng = self.rng
        group = group or [r]
        patch: dict = {"apiVersion": r.api, "kind": r.kind, "metadata": self.patch_meta(r, by_name)
                       if by_name else {"name": rng.choice(["not-important", r.orig_name])}}
        kind = r.kind if all(g.kind == r.kind for g in group) else None
        if by_name and self.chance(0.07) and not r.generated:
            self.feat("smp-delete-object")
            patch["$patch"] = "delete"
            for g in group:
                live.remove(g)
            return patch
        choice = rng.random()
        if kind is None or choice < 0.25:
            # Metadata-only patch.
            meta = patch["metadata"]
            if self.chance(0.5):
                key, value = self.label_pair()
                meta["labels"] = {key: value}
                for g in group:
                    g.labels = dict(g.labels or {}, **{key: value})
            else:
                meta["annotations"] = {"mlgitops.dev/patched-by": "overlay"}
                for g in group:
                    g.annotations = dict(g.annotations or {}, **meta["annotations"])
            if all(g.removable for g in group) and self.chance(0.4):
                self.feat("smp-null-field")
                meta.setdefault("annotations", {})[REMOVABLE] = None
                for g in group:
                    g.removable = False
                    g.annotations.pop(REMOVABLE, None)
                    if not g.annotations:
                        g.annotations = None
            return patch
        body = getattr(self, f"smp_{kind}", None)
        self._smp_group = group
        spec = body(r, live) if body else None
        if spec is None:
            spec = {"metadata": {"annotations": {"mlgitops.dev/patched-by": "overlay"}}}
        meta = spec.pop("metadata", {})
        patch["metadata"].update(meta)
        for g in group:
            if "annotations" in meta:
                g.annotations = dict(g.annotations or {}, **meta["annotations"])
            if "labels" in meta:
                g.labels = dict(g.labels or {}, **meta["labels"])
        patch.update(spec)
        return patch

    # smp_Deployment's variants, the rarer directives (delete, replace, null, a new reference) weighted up
    SMP_DEPLOYMENT_VARIANTS = (0, 1, 2, 3, 3, 3, 4, 5, 5, 5, 6, 7, 8, 8, 9, 9, 10, 10, 10)

    def smp_Deployment(self, r: Res, live: list[Res]) -> dict:
        rng = self.rng
        v = rng.choice(self.SMP_DEPLOYMENT_VARIANTS)
        if v == 8:
            self.feat("smp-replace-directive")
            return {"spec": {"template": {"spec": {"nodeSelector": {"$patch": "replace", "kubernetes.io/arch": "amd64"}}}}}
        if v == 9:
            self.feat("smp-replace-directive")
            return {"spec": {"template": {"spec": {"containers": [{"name": "server", "env": [
                {"$patch": "replace"}, {"name": "LOG_LEVEL", "value": "warn"}]}]}}}}
        if v == 10:
            self.feat("smp-null-nested")
            return {"spec": {"strategy": None, "template": {"spec": {"nodeSelector": None}}}}
        if v == 0:
            return {"spec": {"template": {"spec": {"containers": [{"name": "server", "env": [
                {"name": "FEATURE_FLAGS", "value": "fast-path,batching"}]}]}}}}
        if v == 1:
            return {"spec": {"template": {"spec": {"containers": [{"name": "server", "resources": {
                "limits": {"cpu": "2", "memory": "4Gi"}}}]}}}}
        if v == 2:
            img = rng.choice(SIDECAR_IMAGES)
            self.images_in_use.add(img.rsplit(":", 1)[0])
            return {"spec": {"template": {"spec": {"containers": [{"name": "metrics-proxy", "image": img,
                                                                   "env": [{"name": "UPSTREAM", "value": "localhost:8080"}],
                                                                   "ports": [{"containerPort": 9090, "name": "metrics"}]}]}}}}
        if v == 3:
            self.feat("smp-delete-list-item")
            return {"spec": {"template": {"spec": {"containers": [{"name": "server", "env": [
                {"name": "DEBUG", "$patch": "delete"}]}]}}}}
        if v == 4:
            return {"spec": {"replicas": rng.choice([2, 4, 6])}}
        if v == 5:
            cms = [x for x in live if x.kind == "ConfigMap" and not x.dup]
            if cms:
                self.feat("ref-patch-adds-volume")
                cm = rng.choice(cms)
                return {"spec": {"template": {"spec": {
                    "containers": [{"name": "server", "volumeMounts": [{"name": "extra-config", "mountPath": "/etc/extra"}]}],
                    "volumes": [{"name": "extra-config", "configMap": {"name": cm.orig_name}}]}}}}
            return {"spec": {"template": {"metadata": {"annotations": {"prometheus.io/scrape": "true"}}}}}
        if v == 6:
            return {"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}}}
        return {"spec": {"template": {"spec": {"nodeSelector": {"nvidia.com/gpu.present": "true"},
                                               "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists",
                                                                "effect": "NoSchedule"}]}}}}

    def smp_Service(self, r, live):
        if self.chance(0.6):
            return {"spec": {"ports": [{"name": "metrics", "port": 9090, "targetPort": 9090}]}}
        return {"spec": {"sessionAffinity": "ClientIP"}}

    def smp_HorizontalPodAutoscaler(self, r, live):
        if self.chance(0.6):
            return {"spec": {"maxReplicas": self.rng.choice([12, 20])}}
        return {"spec": {"metrics": [{"type": "Resource", "resource": {"name": "memory", "target": {
            "type": "Utilization", "averageUtilization": 75}}}]}}

    def smp_PodDisruptionBudget(self, r, live):
        return {"spec": {"maxUnavailable": 1}} if self.chance(0.5) else {"spec": {"minAvailable": "50%"}}

    def smp_Ingress(self, r, live):
        return {"metadata": {"annotations": {"nginx.ingress.kubernetes.io/proxy-read-timeout": "120"}},
                "spec": {"ingressClassName": "internal"}}

    def smp_ConfigMap(self, r, live):
        if r.generated:
            self.feat("smp-generated-configmap")
        if self.chance(0.8):
            return {"data": {"PATCHED": "true", "threshold": "0.8"}}
        self.feat("smp-null-field")
        for g in self._smp_group:
            g.has_data = False  # it may have been the only key
        return {"data": {"threshold": None}}

    def smp_Secret(self, r, live):
        if r.generated:
            return {"data": {"extra": _b64("patched")}}
        return {"type": "Opaque"}

    def smp_ServiceAccount(self, r, live):
        return {"automountServiceAccountToken": False}

    def smp_Role(self, r, live):
        return {"rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}]}

    def smp_RoleBinding(self, r, live):
        return {"subjects": [{"kind": "ServiceAccount", "name": "default"}]}

    def smp_Rollout(self, r, live):
        v = self.rng.randrange(4)
        if v == 0:
            return {"spec": {"strategy": {"canary": {"steps": [{"setWeight": 50}, {"pause": {}}]}}}}
        if v == 1:
            return {"spec": {"replicas": 5}}
        if v == 2:
            if self.chance(0.6):
                self.feat("smp-null-nested")
                return {"spec": {"strategy": {"canary": {"maxSurge": "50%", "analysis": None}}}}
            return {"spec": {"strategy": {"canary": {"maxSurge": "50%"}}}}
        return {"spec": {"workloadRef": {"scaleDown": "progressively"}}} if self.chance(0.5) else {
            "spec": {"progressDeadlineSeconds": 900}}

    def smp_AnalysisTemplate(self, r, live):
        return {"spec": {"args": [{"name": "service-name"}, {"name": "canary-hash"}, {"name": "namespace"}]}}

    def smp_InferenceService(self, r, live):
        if self.chance(0.5):
            return {"spec": {"predictor": {"minReplicas": 2, "maxReplicas": 6}}}
        return {"metadata": {"annotations": {"serving.kserve.io/autoscalerClass": "none"}},
                "spec": {"predictor": {"timeout": 60}}}

    def smp_ServiceMonitor(self, r, live):
        return {"spec": {"endpoints": [{"port": "http", "path": "/metrics", "interval": "10s"}]}}

    def smp_PrometheusRule(self, r, live):
        return {"spec": {"groups": [{"name": "patched.slo", "rules": [
            {"record": "mlgitops:up", "expr": "up == 1"}]}]}}

    def smp_VirtualService(self, r, live):
        return {"spec": {"http": [{"name": "primary", "timeout": "30s", "retries": {"attempts": 3, "perTryTimeout": "10s"},
                                   "route": [{"destination": {"host": r.stem or "svc"}}]}]}}

    def make_target(self, r: Res, live: list[Res]) -> dict:
        """A `target` selector that selects r (and maybe others); recorded as features."""
        rng = self.rng
        t: dict = {}
        v = rng.random()
        if v < 0.25:
            t["kind"] = r.kind
            self.feat("target-kind")
        elif v < 0.45:
            t["kind"] = r.kind
            t["name"] = r.orig_name if self.chance(0.6) else r.name
            self.feat("target-name")
        elif v < 0.6:
            t["kind"] = r.kind
            t["name"] = rng.choice([f"{re.escape(r.stem)}.*", ".*" + re.escape(r.orig_name[-4:]), f"{r.orig_name}|nothing"])
            self.feat("target-name-regex")
        elif v < 0.75 and r.labels and any(r.labels.values()):
            key = rng.choice(sorted(k for k, value in r.labels.items() if value))
            forms = [f"{key}={r.labels[key]}", key, f"{key} in ({r.labels[key]},other)", f"{key}=={r.labels[key]}"]
            others = [k for k, _ in LABELS if k not in r.labels]
            if others and self.chance(0.3):
                self.feat("target-labelSelector-negative")
                other = rng.choice(others)
                forms = [f"{key},!{other}", f"{other} notin (x,y),{key}={r.labels[key]}", f"{other}!=nothing,{key}"]
            t["labelSelector"] = rng.choice(forms)
            if self.chance(0.5):
                t["kind"] = r.kind
            self.feat("target-labelSelector")
        elif v < 0.87 and r.annotations:
            key = rng.choice(sorted(r.annotations))
            value = r.annotations[key]
            if re.fullmatch(r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?", value or "x"):
                t["annotationSelector"] = f"{key}={value}"
            else:
                t["annotationSelector"] = key
            if self.chance(0.5):
                t["kind"] = r.kind
            self.feat("target-annotationSelector")
        else:
            t["kind"] = r.kind
            t["name"] = r.name
        if "kind" in t and self.chance(0.3):
            if r.group:
                t["group"] = r.group
            t["version"] = r.version
            self.feat("target-group-version")
        if self.chance(0.15) and (r.ns or r.orig_ns):
            t["namespace"] = r.ns or r.orig_ns
            self.feat("target-namespace")
        return t

    def make_patch(self, reldir: str, live: list[Res], idx: int) -> dict | None:
        rng = self.rng
        if not live:
            return None
        mode = rng.choice(["smp-name", "smp-target", "json", "json"])
        if self.chance(0.04):
            # Rename one object with a patch (allowNameChange); references to it must follow.
            cands = [x for x in live if not x.dup and not x.generated and not x.extra.get("renamed")]
            if cands:
                r = rng.choice(cands)
                target = {"kind": r.kind, "name": r.name}
                if len(select(live, target)) == 1:
                    self.feat("patch-allowNameChange")
                    new = f"{r.stem or r.orig_name}-{rng.choice(['primary', 'main', 'live'])}-{r.kind.lower()[:6]}"
                    patch = {"apiVersion": r.api, "kind": r.kind, "metadata": {"name": new}}
                    r.name = new
                    r.extra["renamed"] = True
                    entry = self.patch_entry(reldir, patch, idx, target)
                    entry["options"] = {"allowNameChange": True}
                    return entry
        if mode == "smp-name":
            r = self.pick_named_target(live, prefer="Deployment")
            if r is None:
                return None
            patch = self.smp_for(r, live, by_name=True)
            self.feat("patches-smp-by-name")
            return self.patch_entry(reldir, patch, idx, None)
        r = rng.choice(live)
        target = self.make_target(r, live)
        selected = select(live, target)
        if r not in selected:  # the model and the selector disagree: use the plain kind+name form
            target = {"kind": r.kind, "name": r.name}
            selected = select(live, target)
        if mode == "smp-target":
            # Kind-specific when every selected object has r's kind, else metadata only (smp_for).
            patch = self.smp_for(r, live, by_name=False, group=selected)
            if patch.get("$patch") == "delete":
                return None
            # A metadata-only patch applies to every selected object whatever their kinds.
            self.feat("patches-smp-target")
            return self.patch_entry(reldir, patch, idx, target)
        ops = self.json_ops(selected, r)
        if not ops:
            return None
        self.feat("patches-json6902-target")
        return self.patch_entry(reldir, ops, idx, target, json_patch=True)

    def patch_entry(self, reldir, patch, idx, target, json_patch=False) -> dict:
        rng = self.rng
        entry: dict = {}
        if self.chance(0.3 if json_patch else 0.1):
            text = json.dumps(patch)  # JSON is YAML: a strategic-merge patch may be written as JSON too
            self.feat("patch-json-string")
        else:
            text = dump(patch)
        if self.chance(0.35):
            ext = "json" if json_patch and text.startswith("[") else "yaml"
            fname = f"patches/{'json' if json_patch else 'smp'}-{idx}-{rng.randrange(1000)}.{ext}"
            while f"{reldir}/{fname}" in self.files:
                fname = fname.replace(".", "x.", 1)
            self.write(f"{reldir}/{fname}", text)
            entry["path"] = fname
            self.feat("patches-file")
        else:
            entry["patch"] = text
            self.feat("patches-inline")
        if target:
            entry["target"] = target
            if self.chance(0.3):
                entry = {"target": target, **{k: v for k, v in entry.items() if k != "target"}}
        return entry

    current_live: list = []

    def json_ops(self, selected: list[Res], r: Res, legacy: bool = False) -> list[dict]:
        """JSON 6902 operations valid on every selected object (r is one of them). legacy: for
        patchesJson6902, which (unlike `patches`) does not store the previous id first, so an
        object may have no annotations map at all while patched: no absent-path operations."""
        rng = self.rng
        ops: list[dict] = []
        kinds = {s.kind for s in selected}
        for _ in range(rng.choice([1, 1, 2, 3])):
            if not legacy and self.chance(0.45):
                self.absent_path_ops(selected, ops)
                continue
            v = rng.random()
            if v < 0.5 and len(kinds) == 1:
                op = self.kind_json_op(r, selected)
                if op:
                    ops.append(op)
                    continue
            v = rng.random()
            if v < 0.3 and all(s.annotations is not None for s in selected):
                key = rng.choice(["mlgitops.dev/patched", "example.com/json-patch"])
                ops.append({"op": "add", "path": f"/metadata/annotations/{key.replace('~', '~0').replace('/', '~1')}",
                            "value": rng.choice(["yes", "2", "true"])})
                self.feat("json-op-add")
                for s in selected:
                    s.annotations = dict(s.annotations, **{key: "x"})
            elif v < 0.45 and all(s.labels for s in selected):
                ops.append({"op": "add", "path": "/metadata/labels/patched-by", "value": "json6902"})
                self.feat("json-op-add")
                for s in selected:
                    s.labels = dict(s.labels, **{"patched-by": "json6902"})
            elif v < 0.6 and len(selected) == 1 and r.removable:
                r.removable = False
                if self.chance(0.5):
                    ops.append({"op": "remove", "path": "/metadata/annotations/example.com~1remove-me"})
                    self.feat("json-op-remove")
                else:
                    ops.append({"op": "move", "from": "/metadata/annotations/example.com~1remove-me",
                                "path": "/metadata/annotations/example.com~1moved"})
                    self.feat("json-op-move")
                    r.annotations = dict(r.annotations or {}, **{"example.com/moved": "yes"})
                if r.annotations:
                    r.annotations.pop(REMOVABLE, None)
                if not r.annotations:
                    r.annotations = None
            elif v < 0.75 and all(s.annotations is not None for s in selected):
                ops.append({"op": "copy", "from": "/metadata/name", "path": "/metadata/annotations/example.com~1source-name"})
                self.feat("json-op-copy")
                for s in selected:
                    s.annotations = dict(s.annotations, **{"example.com/source-name": s.name})
            elif len(kinds) == 1:
                ops.append({"op": "test", "path": "/kind", "value": r.kind})
                self.feat("json-op-test")
        return ops

    def absent_path_ops(self, selected: list[Res], ops: list[dict]) -> None:
        """Operations on paths the object lacks: under an absent annotations map (there during
        a `patches` JSON patch: kustomize's build annotations), and on an array the patch
        creates (metadata.finalizers), by index, `-` and negative index."""
        rng = self.rng
        v = rng.random()
        absent = any(s.annotations is None for s in selected)
        removed = {"op": "remove", "path": "/metadata/annotations"} in ops  # then the map is gone
        if v < 0.35 and not removed:  # valid with or without an annotations map of the object's own
            key = rng.choice(["mlgitops.dev/json-added", "example.com/no-annotations-before"])
            ops.append({"op": "add", "path": f"/metadata/annotations/{key.replace('/', '~1')}",
                        "value": rng.choice(["on", "1", "x", 3, True])})
            if absent:
                self.feat("json-add-absent-annotations")
            self.feat("json-op-add")
            for s in selected:
                s.annotations = dict(s.annotations or {}, **{key: "x"})
            return
        if v < 0.8 and not removed and (absent or self.chance(0.3)):
            ops.append({"op": "remove", "path": "/metadata/annotations"})
            if absent:
                self.feat("json-remove-absent-annotations")
            self.feat("json-op-remove")
            for s in selected:
                s.annotations = None
                s.removable = False
            return
        first = rng.choice(["example.com/a", "example.com/b"])
        ops.append({"op": "add", "path": "/metadata/finalizers", "value": [first]})
        ops.append({"op": "add", "path": f"/metadata/finalizers/{rng.choice(['-', '0', '1', '-1', '-2'])}",
                    "value": "example.com/c"})
        self.feat("json-array-ops")
        self.feat("json-op-add")
        w = rng.random()
        if w < 0.35:
            ops.append({"op": "remove", "path": f"/metadata/finalizers/{rng.choice(['0', '-1', '-2'])}"})
            self.feat("json-op-remove")
        elif w < 0.7:
            ops.append({"op": "move", "from": f"/metadata/finalizers/{rng.choice(['0', '-1'])}",
                        "path": "/metadata/finalizers/-"})
            self.feat("json-op-move")
        elif w < 0.85:
            ops.append({"op": "replace", "path": "/metadata/finalizers/-1", "value": "example.com/d"})
            self.feat("json-op-replace")

    def kind_json_op(self, r: Res, selected: list[Res]) -> dict | None:
        rng = self.rng
        kind = r.kind
        if kind == "Deployment":
            v = rng.randrange(5)
            if v == 4 and len(selected) == 1 and self.chance(0.5):
                # A reference written by a JSON patch: kustomize renames it like any other.
                cms = [x for x in self.current_live if x.kind == "ConfigMap" and not x.dup]
                if cms:
                    self.feat("ref-patch-adds-volume")
                    return {"op": "add", "path": "/spec/template/spec/containers/0/envFrom",
                            "value": [{"configMapRef": {"name": rng.choice(cms).orig_name}}]}
            if v == 0:
                self.feat("json-op-replace")
                img = f"registry.example.com/ml/patched:{rng.choice(['3.0.0', '3.1.0'])}"
                self.images_in_use.add("registry.example.com/ml/patched")
                return {"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": img}
            if v == 1:
                self.feat("json-op-add")
                return {"op": "add", "path": "/spec/template/spec/containers/0/env/-",
                        "value": {"name": "PATCHED_BY", "value": "json6902"}}
            if v == 2:
                self.feat("json-op-add")
                return {"op": "add", "path": "/spec/revisionHistoryLimit", "value": 5}
            self.feat("json-op-add")
            return {"op": "add", "path": "/spec/template/metadata/labels/sidecar.istio.io~1inject", "value": "true"}
        if kind == "Service":
            self.feat("json-op-add")
            return {"op": "add", "path": "/spec/ports/-", "value": {"name": "grpc", "port": 9000, "targetPort": 9000}}
        if kind == "HorizontalPodAutoscaler":
            self.feat("json-op-replace")
            return {"op": "replace", "path": "/spec/maxReplicas", "value": rng.choice([7, 15])}
        if kind == "Ingress":
            self.feat("json-op-add")
            return {"op": "add", "path": "/spec/rules/0/http/paths/-", "value": {
                "path": "/metrics", "pathType": "Exact", "backend": {"service": {"name": "metrics", "port": {"number": 9090}}}}}
        if kind == "ConfigMap" and all(s.has_data for s in selected):
            self.feat("json-op-add")
            return {"op": "add", "path": "/data/json_patched", "value": "yes"}
        if kind == "Role":
            self.feat("json-op-add")
            return {"op": "add", "path": "/rules/-", "value": {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get"]}}
        if kind == "RoleBinding":
            self.feat("json-op-add")
            return {"op": "add", "path": "/subjects/-", "value": {"kind": "ServiceAccount", "name": "auditor"}}
        if kind == "ServiceAccount":
            self.feat("json-op-add")
            return {"op": "add", "path": "/automountServiceAccountToken", "value": False}
        if kind == "Rollout":
            self.feat("json-op-add")
            if self.chance(0.5):
                return {"op": "add", "path": "/spec/strategy/canary/steps/0", "value": {"setWeight": 1}}
            return {"op": "replace", "path": "/spec/revisionHistoryLimit", "value": 10}
        if kind == "AnalysisTemplate":
            self.feat("json-op-add")
            return {"op": "add", "path": "/spec/metrics/0/failureLimit", "value": 3}
        if kind == "InferenceService":
            self.feat("json-op-add")
            return {"op": "add", "path": "/spec/predictor/minReplicas", "value": 3}
        if kind == "ServiceMonitor":
            self.feat("json-op-add")
            return {"op": "add", "path": "/spec/endpoints/0/scrapeTimeout", "value": "10s"}
        if kind == "PrometheusRule":
            self.feat("json-op-add")
            return {"op": "add", "path": "/spec/groups/0/interval", "value": "30s"}
        if kind == "VirtualService":
            self.feat("json-op-add")
            return {"op": "add", "path": "/spec/hosts/-", "value": "internal.ml.example.com"}
        if kind == "PodDisruptionBudget":
            self.feat("json-op-add")
            return {"op": "add", "path": "/spec/unhealthyPodEvictionPolicy", "value": "AlwaysAllow"}
        return None

    def make_legacy_json_patch(self, reldir: str, live: list[Res], idx: int) -> dict | None:
        rng = self.rng
        r = rng.choice(live)
        target = {"group": r.group, "version": r.version, "kind": r.kind,
                  "name": r.orig_name if self.chance(0.5) else r.name}
        if not r.group:
            del target["group"]
        if r.ns and self.chance(0.3):
            target["namespace"] = r.ns
        selected = select(live, target)
        ops = self.json_ops(selected, r, legacy=True)
        if not ops:
            return None
        entry = {"target": target}
        if self.chance(0.5):
            fname = f"json6902-{idx}-{r.kind.lower()}.yaml" if self.chance(0.6) else f"json6902-{idx}-{r.kind.lower()}.json"
            text = json.dumps(ops, indent=2) if fname.endswith(".json") else dump(ops)
            self.write(f"{reldir}/{fname}", text)
            entry["path"] = fname
        else:
            entry["patch"] = dump(ops) if self.chance(0.7) else json.dumps(ops)
        return entry

    # ---------------------------------------------------------------- writing

    def dump_kustomization(self, k: dict) -> str:
        if self.chance(0.2):
            # Resources last (kustomize does not care about key order).
            res = {key: k.pop(key) for key in ("resources", "bases") if key in k}
            k.update(res)
        return dump(k, "block" if self.chance(0.85) else "indent")


def tree_digest(path: pathlib.Path) -> str:
    """sha256 over every file of the tree that `path` belongs to (its t<k> directory)."""
    top = path
    while top.parent != top and not re.fullmatch(r"t\d+", top.name):
        top = top.parent
    digest = hashlib.sha256()
    for f in sorted(top.rglob("*")):
        if f.is_file():
            digest.update(f.relative_to(top).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
    digest.update(path.relative_to(top).as_posix().encode())
    return digest.hexdigest()


if __name__ == "__main__":  # python tests/kustomize/treegen.py SEED [DIR]: write (and check) one tree
    import sys
    import tempfile

    seed_arg = int(sys.argv[1])
    out_dir = pathlib.Path(sys.argv[2] if len(sys.argv) > 2 else tempfile.mkdtemp(prefix=f"treegen-{seed_arg}-"))
    result = generate_checked(seed_arg, out_dir)
    for attempt_no, error in result.rejected:
        print(f"sub-seed {attempt_no} rejected by kustomize: {error}", file=sys.stderr)
    print(result.path)
