"""Source mapping: findings in rendered objects point at the model field, the patch, or the file.

Expected positions are found by searching the files' text (never hard-coded line numbers), and
objects come from the real render engine over the committed overlays or copies of them.
"""

from __future__ import annotations

import pathlib
import textwrap

import pytest

from conftest import REPO_ROOT, copy_sources, merge_config
from mlgitops.config import load_config
from mlgitops.diagnostics import Diagnostics
from mlgitops.expand import registry
from mlgitops.kustomize.engine import render
from mlgitops.kustomize.resource import PatchRecord
from mlgitops.pipeline import build
from mlgitops.modelfiles import read_model_file, resolve
from mlgitops.spec.model import list_model_files
from mlgitops.validate.provenance import overlay_origins
from mlgitops.validate.results import Document
from mlgitops.validate.sourcemap import SourceMap

# --- helpers ---------------------------------------------------------------------------------------


def find(root: pathlib.Path, rel: str, *needles: str, nth: int = 1) -> tuple[str, int, int]:
    """(rel, line, col) of the text after the last needle; each needle is searched from the
    line of the one before it, the last one `nth` times."""
    lines = (root / rel).read_text().split("\n")
    line = 0
    needles = needles[:-1] + (needles[-1],) * nth
    for needle in needles:
        while needle not in lines[line]:
            line += 1
        col = lines[line].index(needle) + len(needle) + 1
        found = line
        line += 1
    return rel, found + 1, col


def documents(root: pathlib.Path, overlay: str) -> dict[tuple[str, str], Document]:
    """The rendered objects of an overlay as the lead builds Documents, by (kind, name)."""
    out = {}
    for r in render(str(root / overlay), repo_root=str(root)):
        out[(r.kind, r.name)] = Document(obj=r.obj, file=overlay, overlay=overlay,
                                         env=overlay.split("/")[1].partition("@")[0],
                                         origin=r.source, origin_line=r.line, patches=r.patches)
    return out


def leaves(value, path=()):
    if isinstance(value, dict) and value:
        for k, v in value.items():
            yield from leaves(v, path + (k,))
    elif isinstance(value, list) and value:
        for i, v in enumerate(value):
            yield from leaves(v, path + (i,))
    else:
        yield path, value


def group_index(rule: dict, slo: str, record: str) -> tuple[int, int]:
    for g, group in enumerate(rule["spec"]["groups"]):
        for r, item in enumerate(group["rules"]):
            if item.get("record") == record and item["labels"]["slo"] == slo:
                return g, r
    raise AssertionError(f"no {record} rule for {slo}")


@pytest.fixture(scope="module")
def smap() -> SourceMap:
    return SourceMap(str(REPO_ROOT))


@pytest.fixture(scope="module")
def committed():
    cache = {}

    def get(overlay: str) -> dict:
        if overlay not in cache:
            cache[overlay] = documents(REPO_ROOT, overlay)
        return cache[overlay]
    return get


# --- model files -----------------------------------------------------------------------------------

R = REPO_ROOT


@pytest.mark.parametrize("overlay, kind, name, path, expected", [
    ("overlays/prod/iris", "HorizontalPodAutoscaler", "iris", ("spec", "maxReplicas"),
     lambda: find(R, "models/iris.yaml", "autoscaling:", "maxReplicas: ")),
    ("overlays/prod/iris", "HorizontalPodAutoscaler", "iris",
     ("spec", "metrics", 0, "containerResource", "target", "averageUtilization"),
     lambda: find(R, "models/iris.yaml", "autoscaling:", "cpuUtilization: ")),
    ("overlays/prod/iris", "InferenceService", "iris", ("spec", "predictor", "model", "storageUri"),
     lambda: find(R, "models/iris.yaml", "storageUri: ")),
    ("overlays/staging/iris", "InferenceService", "iris", ("spec", "predictor", "model", "storageUri"),
     lambda: find(R, "models/iris.yaml", "storageUri: ")),
    ("overlays/prod/iris", "InferenceService", "iris", ("spec", "predictor", "model", "resources", "limits", "cpu"),
     lambda: find(R, "models/iris.yaml", "resources:", "limits: {cpu: ")),
    ("overlays/prod/iris", "InferenceService", "iris",
     ("spec", "predictor", "model", "resources", "requests", "memory"),
     lambda: find(R, "models/iris.yaml", "resources:", "memory: ")),
    ("overlays/prod/iris", "Rollout", "iris", ("spec", "strategy", "canary", "steps", 2, "setWeight"),
     lambda: find(R, "models/iris.yaml", "canary:", "- weight: ", nth=2)),
    ("overlays/prod/iris", "Rollout", "iris", ("spec", "strategy", "canary", "steps", 3, "pause", "duration"),
     lambda: find(R, "models/iris.yaml", "canary:", "pause: ", nth=2)),
    ("overlays/staging/iris", "Rollout", "iris", ("spec", "replicas"),
     lambda: find(R, "models/iris.yaml", "environments:", "staging:", "minReplicas: ")),
    ("overlays/prod/churn", "InferenceService", "churn", ("spec", "predictor", "logger", "url"),
     lambda: find(R, "models/churn.yaml", "logger:", "url: ")),
    ("overlays/prod/churn", "ExternalSecret", "churn-storage",
     ("spec", "target", "template", "metadata", "annotations", "serving.kserve.io/s3-endpoint"),
     lambda: find(R, "models/churn.yaml", "storage: {endpoint: ")),
    # prod-eu's own overlay (its cluster overrides storageEndpoint) maps into the model too
    ("overlays/prod@prod-eu/churn", "ExternalSecret", "churn-storage",
     ("spec", "target", "template", "metadata", "annotations", "serving.kserve.io/s3-endpoint"),
     lambda: find(R, "models/churn.yaml", "storage: {endpoint: ")),
    ("overlays/prod@prod-eu/churn", "InferenceService", "churn", ("spec", "predictor", "model", "env", 0, "value"),
     lambda: find(R, "models/churn.yaml", "MODEL_THRESHOLD", "value: ")),
    ("overlays/staging/churn", "InferenceService", "churn", ("spec", "predictor", "timeout"),
     lambda: find(R, "models/churn.yaml", "timeoutSeconds: ")),
    ("overlays/prod/churn", "InferenceService", "churn", ("spec", "predictor", "model", "env", 0, "value"),
     lambda: find(R, "models/churn.yaml", "MODEL_THRESHOLD", "value: ")),
    ("overlays/prod/churn", "AnalysisTemplate", "churn-canary", ("spec", "metrics", 0, "successCondition"),
     lambda: find(R, "models/churn.yaml", "slo:", "threshold: ")),
    ("overlays/prod/churn", "Rollout", "churn", ("spec", "strategy", "canary", "steps", 1, "pause"),
     lambda: find(R, "models/churn.yaml", "canary:", "pause: ")),
    ("overlays/staging/churn", "ServiceAccount", "churn-storage",
     ("metadata", "annotations", "eks.amazonaws.com/role-arn"),
     lambda: find(R, "models/churn.yaml", "environments:", "staging:", "storage: {endpoint: ")),
    ("overlays/prod/sentiment", "Rollout", "sentiment", ("spec", "strategy", "canary", "steps", 4, "setWeight"),
     lambda: find(R, "models/sentiment.yaml", "canary:", "- weight: ", nth=3)),
    ("overlays/staging/sentiment", "Rollout", "sentiment",
     ("spec", "strategy", "canary", "steps", 0, "setWeight"),
     lambda: find(R, "models/sentiment.yaml", "environments:", "staging:", "- weight: ")),
    ("overlays/staging/sentiment", "Rollout", "sentiment",
     ("spec", "strategy", "canary", "steps", 1, "pause", "duration"),
     lambda: find(R, "models/sentiment.yaml", "environments:", "staging:", "pause: ")),
    ("overlays/staging/sentiment", "HorizontalPodAutoscaler", "sentiment", ("spec", "maxReplicas"),
     lambda: find(R, "models/sentiment.yaml", "environments:", "staging:", "maxReplicas: ")),
    ("overlays/prod/sentiment", "HorizontalPodAutoscaler", "sentiment", ("spec", "maxReplicas"),
     lambda: find(R, "models/sentiment.yaml", "autoscaling:", "maxReplicas: ")),
    ("overlays/prod/sentiment", "InferenceService", "sentiment", ("spec", "transformer", "minReplicas"),
     lambda: find(R, "models/sentiment.yaml", "transformer:", "replicas: ")),
    ("overlays/prod/sentiment", "InferenceService", "sentiment",
     ("spec", "predictor", "tolerations", 0, "effect"),
     lambda: find(R, "models/sentiment.yaml", "tolerations:", "effect: ")),
    ("overlays/prod/sentiment", "InferenceService", "sentiment",
     ("spec", "predictor", "model", "resources", "limits", "nvidia.com/gpu"),
     lambda: find(R, "models/sentiment.yaml", "resources:", "gpu: ")),
])
def test_generated_values_point_at_the_model_field(smap, committed, overlay, kind, name, path, expected):
    assert smap.locate(committed(overlay)[(kind, name)], path) == expected()


@pytest.mark.parametrize("model", ["iris", "sentiment"])
def test_a_cluster_overlay_referring_to_the_environments_maps_like_it(smap, committed, model):
    """overlays/prod@prod-eu/<model> holds only a reference to ../../prod/<model>: every value of
    its objects points where the same value of prod's objects does (the model file, mostly)."""
    kustomization = (R / f"overlays/prod@prod-eu/{model}/kustomization.yaml").read_text()
    assert f"- ../../prod/{model}\n" in kustomization and "model.yaml" not in kustomization
    env, cluster = committed(f"overlays/prod/{model}"), committed(f"overlays/prod@prod-eu/{model}")
    assert env.keys() == cluster.keys()
    into_model = 0
    for key, doc in env.items():
        for path, _ in leaves(doc.obj):
            where = smap.locate(doc, path)
            assert smap.locate(cluster[key], path) == where, (key, path)
            into_model += where[0] == f"models/{model}.yaml"
    assert into_model > 10


@pytest.mark.parametrize("overlay, model, slo, needles", [
    ("overlays/prod/iris", "iris", "availability", ("slo:", "availability: ")),
    ("overlays/staging/iris", "iris", "latency-p99", ("slo:", "percentile: 99")),
    ("overlays/prod/churn", "churn", "latency-p99", ("slo:", "percentile: 99")),
    ("overlays/prod/sentiment", "sentiment", "availability", ("slo:", "availability: ")),
])
def test_slo_objective_points_at_its_objective(smap, committed, overlay, model, slo, needles):
    doc = committed(overlay)[("PrometheusRule", f"{model}-slo")]
    g, r = group_index(doc.obj, slo, "mlgitops:slo_objective:ratio")
    file, line, col = smap.locate(doc, ("spec", "groups", g, "rules", r, "expr"))
    expected = find(R, f"models/{model}.yaml", *needles)
    if needles[-1].startswith("percentile: "):  # the value, not the text after it
        expected = (expected[0], expected[1], expected[2] - len(needles[-1].split(": ")[1]))
    assert (file, line, col) == expected


def test_a_whole_object_points_at_the_model_section_it_comes_from(smap, committed):
    doc = committed("overlays/prod/iris")[("InferenceService", "iris")]
    rel, line, _ = find(R, "models/iris.yaml", "spec:", "resources:")
    assert smap.locate(doc, ("spec", "predictor", "model", "resources"))[:2] == (rel, line)


def test_a_value_mlgitops_writes_itself_points_at_the_generated_file(smap, committed):
    doc = committed("overlays/prod/iris")[("HorizontalPodAutoscaler", "iris")]
    assert smap.locate(doc, ("spec", "scaleTargetRef", "kind")) == \
        find(R, "overlays/prod/iris/model.yaml", "kind: HorizontalPodAutoscaler", "scaleTargetRef:", "kind: ")


def test_a_value_from_a_base_component_patch_points_at_the_patch(smap, committed):
    doc = committed("overlays/prod/iris")[("InferenceService", "iris")]
    assert smap.locate(doc, ("spec", "predictor", "minReplicas")) == \
        find(R, "base/components/kserve-standard/inferenceservice.yaml", "minReplicas: ")


# --- hand-written overlays -------------------------------------------------------------------------

CUSTOM = "overlays/custom/iris"


@pytest.fixture(scope="module")
def custom_repo(tmp_path_factory) -> pathlib.Path:
    root = copy_sources(tmp_path_factory.mktemp("repo"), with_output=True)
    (root / CUSTOM).mkdir(parents=True)
    (root / CUSTOM / "kustomization.yaml").write_text(textwrap.dedent("""\
        apiVersion: kustomize.config.k8s.io/v1beta1
        kind: Kustomization
        resources:
        - ../../prod/iris
        patches:
        - path: hpa.yaml
        - target: {kind: InferenceService, name: iris}
          patch: |-
            - op: replace
              path: /spec/predictor/model/storageUri
              value: gs://other/model
        - patch: |
            apiVersion: argoproj.io/v1alpha1
            kind: Rollout
            metadata:
              name: iris
            spec:
              progressDeadlineSeconds: 900
        patchesJson6902:
        - target: {group: autoscaling, version: v2, kind: HorizontalPodAutoscaler, name: iris}
          path: hpa-json.yaml
        """))
    (root / CUSTOM / "hpa.yaml").write_text(textwrap.dedent("""\
        apiVersion: autoscaling/v2
        kind: HorizontalPodAutoscaler
        metadata:
          name: iris
        spec:
          maxReplicas: -1
          metrics:
          - type: Resource
            resource:
              name: cpu
              target: {type: Utilization, averageUtilization: 50}
        """))
    (root / CUSTOM / "hpa-json.yaml").write_text(textwrap.dedent("""\
        - op: replace
          path: /spec/minReplicas
          value: 2
        - op: add
          path: /spec/behavior/scaleDown/policies/-
          value: {type: Pods, value: 1, periodSeconds: 60}
        """))
    return root


@pytest.fixture(scope="module")
def custom(custom_repo):
    return custom_repo, documents(custom_repo, CUSTOM), SourceMap(str(custom_repo))


def test_the_engine_records_every_patch_with_its_file_line_and_paths(custom):
    root, docs, _ = custom
    hpa = docs[("HorizontalPodAutoscaler", "iris")].patches
    assert hpa == [
        PatchRecord(f"{CUSTOM}/hpa.yaml", 1, frozenset({
            ("spec", "maxReplicas"), ("spec", "metrics", 0, "type"), ("spec", "metrics", 0, "resource", "name"),
            ("spec", "metrics", 0, "resource", "target", "type"),
            ("spec", "metrics", 0, "resource", "target", "averageUtilization")})),
        PatchRecord(f"{CUSTOM}/hpa-json.yaml", 1, frozenset({
            ("spec", "minReplicas"), ("spec", "behavior", "scaleDown", "policies", "-")}), json6902=True),
    ]
    isvc = docs[("InferenceService", "iris")].patches
    assert isvc[0].file == "base/components/kserve-standard/inferenceservice.yaml"
    kustomization = f"{CUSTOM}/kustomization.yaml"
    assert isvc[-1] == PatchRecord(kustomization, find(root, kustomization, "- op: replace")[1],
                                   frozenset({("spec", "predictor", "model", "storageUri")}), json6902=True,
                                   inline=True)
    rollout = docs[("Rollout", "iris")].patches[-1]
    assert (rollout.file, rollout.line, rollout.inline) == \
        (kustomization, find(root, kustomization, "- patch: |", "apiVersion: ")[1], True)
    assert rollout.paths == {("spec", "progressDeadlineSeconds")}


def test_list_items_with_a_name_are_recorded_by_name(tmp_path):
    root = copy_sources(tmp_path, with_output=True)
    (root / "overlays/x").mkdir()
    (root / "overlays/x/kustomization.yaml").write_text(textwrap.dedent("""\
        resources: [dep.yaml]
        patches:
        - path: patch.yaml
        """))
    (root / "overlays/x/dep.yaml").write_text(textwrap.dedent("""\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web}
        spec:
          template:
            spec:
              containers:
              - {name: sidecar, image: proxy:1}
              - {name: app, image: app:1}
        """))
    (root / "overlays/x/patch.yaml").write_text(textwrap.dedent("""\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web}
        spec:
          template:
            spec:
              containers:
              - name: app
                image: app:2
        """))
    doc = documents(root, "overlays/x")[("Deployment", "web")]
    assert doc.patches[0].paths == {("spec", "template", "spec", "containers", ("name", "app"), "image")}
    smap = SourceMap(str(root))
    containers = ("spec", "template", "spec", "containers")
    index = [c["name"] for c in doc.obj["spec"]["template"]["spec"]["containers"]].index("app")
    assert smap.locate(doc, containers + (index, "image")) == find(root, "overlays/x/patch.yaml", "image: ")
    other = 1 - index
    assert smap.locate(doc, containers + (other, "image")) == \
        find(root, "overlays/x/dep.yaml", "name: sidecar, image: ")


@pytest.mark.parametrize("kind, path, expected", [
    ("HorizontalPodAutoscaler", ("spec", "maxReplicas"), (f"{CUSTOM}/hpa.yaml", "maxReplicas: ")),
    ("HorizontalPodAutoscaler", ("spec", "metrics", 0, "resource", "target", "averageUtilization"),
     (f"{CUSTOM}/hpa.yaml", "averageUtilization: ")),
    ("HorizontalPodAutoscaler", ("spec", "minReplicas"), (f"{CUSTOM}/hpa-json.yaml", "/spec/minReplicas", "value: ")),
    ("HorizontalPodAutoscaler", ("spec", "behavior", "scaleDown", "policies", 1, "periodSeconds"),
     (f"{CUSTOM}/hpa-json.yaml", "policies/-", "periodSeconds: ")),
    ("InferenceService", ("spec", "predictor", "model", "storageUri"),
     (f"{CUSTOM}/kustomization.yaml", "storageUri", "value: ")),
    ("Rollout", ("spec", "progressDeadlineSeconds"), (f"{CUSTOM}/kustomization.yaml", "progressDeadlineSeconds: ")),
])
def test_a_patched_value_points_at_the_patch(custom, kind, path, expected):
    root, docs, smap = custom
    name = "iris"
    assert smap.locate(docs[(kind, name)], path) == find(root, *expected)


@pytest.mark.parametrize("kind, path, needles", [
    ("HorizontalPodAutoscaler", ("spec", "behavior", "scaleUp", "stabilizationWindowSeconds"), ("spec:",)),
    ("InferenceService", ("spec", "predictor", "model", "resources", "limits", "cpu"),
     ("resources:", "limits: {cpu: ")),
    ("Rollout", ("spec", "strategy", "canary", "steps", 0, "setWeight"), ("canary:", "- weight: ")),
])
def test_an_unpatched_value_still_points_at_the_model(custom, kind, path, needles):
    root, docs, smap = custom
    file, line, col = smap.locate(docs[(kind, "iris")], path)
    expected = find(root, "models/iris.yaml", *needles)
    if needles == ("spec:",):  # a default: the model section that would set it
        expected = (expected[0], find(root, "models/iris.yaml", "autoscaling:")[1], 3)
    assert (file, line, col) == expected


def test_a_finding_about_an_object_a_patch_added_to_points_at_the_hand_written_patch(custom):
    root, docs, smap = custom
    assert smap.locate(docs[("HorizontalPodAutoscaler", "iris")], ("spec", "metrics", 0)) == \
        find(root, f"{CUSTOM}/hpa.yaml", "- type: ")[:2] + (5,)


def test_a_generated_file_older_than_its_model_maps_to_itself(tmp_path):
    root = copy_sources(tmp_path, with_output=True)
    model = root / "models/iris.yaml"
    model.write_text(model.read_text().replace("maxReplicas: 10", "maxReplicas: 12"))
    doc = documents(root, "overlays/prod/iris")[("HorizontalPodAutoscaler", "iris")]
    assert SourceMap(str(root)).locate(doc, ("spec", "maxReplicas")) == \
        find(root, "overlays/prod/iris/model.yaml", "kind: HorizontalPodAutoscaler", "maxReplicas: ")


# --- plain files -----------------------------------------------------------------------------------

def test_a_plain_yaml_file_maps_to_its_own_lines(tmp_path):
    (tmp_path / "app.yaml").write_text(textwrap.dedent("""\
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: a}
        ---
        # the second object
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: b
        spec:
          replicas: -1
          template:
            spec:
              containers:
              - name: app
                image: app:1
        """))
    smap = SourceMap(str(tmp_path))
    doc = Document(obj={}, file="app.yaml", line=6, index=1, origin="app.yaml", origin_line=6)
    assert smap.locate(doc, ("spec", "replicas")) == find(tmp_path, "app.yaml", "replicas: ")
    containers = ("spec", "template", "spec", "containers")
    assert smap.locate(doc, containers + (0, "image")) == find(tmp_path, "app.yaml", "image: ")
    # a field that is not written: its nearest ancestor, located by its key
    assert smap.locate(doc, containers + (0, "resources", "limits")) == \
        find(tmp_path, "app.yaml", "containers:", "- ")
    first = Document(obj={}, file="app.yaml", origin="app.yaml", origin_line=1)
    assert smap.locate(first, ("metadata", "name")) == find(tmp_path, "app.yaml", "{name: ")
    # no origin file (stdin): the document itself
    stdin = Document(obj={}, file="<stdin>", line=7)
    assert smap.locate(stdin, ("spec",)) == ("<stdin>", 7, 1)


# --- completeness ----------------------------------------------------------------------------------

KITCHEN = """\
apiVersion: mlgitops.dev/v1alpha1
kind: Model
metadata:
  name: kitchen
  team: platform
  labels: {tier: gold}
spec:
  framework: custom
  modelVersion: "7"
  container:
    image: ghcr.io/example/kitchen:7
    command: ["python", "-m", "serve"]
    args: ["--port=9000"]
    port: 9000
    env:
      - {name: MODEL_DIR, value: /models}
    readinessProbe: {path: /ready, initialDelaySeconds: 5, periodSeconds: 10, failureThreshold: 3}
    livenessProbe: {path: /live, port: 9001}
  env:
    - name: API_KEY
      secretKeyRef: {name: kitchen-secrets, key: api-key}
  resources:
    requests: {cpu: 250m, memory: 256Mi}
    gpu: 1
    gpuResource: amd.com/gpu
  serviceAccount: {name: kitchen-sa, create: true, annotations: {iam.example.com/role: kitchen}}
  transformer:
    image: ghcr.io/example/kitchen-pre:7
    args: ["--fast"]
    env: [{name: MODE, value: fast}]
    readinessProbe: {path: /ready}
    replicas: 2
  explainer: {image: ghcr.io/example/kitchen-explain:7, port: 8081, replicas: 1}
  logger: {url: http://logger.example.svc, mode: request}
  timeoutSeconds: 45
  scheduling:
    nodeSelector: {pool: gpu}
    tolerations: [{key: gpu, operator: Equal, value: "true", effect: NoSchedule}]
  autoscaling:
    minReplicas: 2
    maxReplicas: 9
    memoryUtilization: 70
    requestsPerSecond: 50
    scaleUp:
      stabilizationWindowSeconds: 30
      policies: [{type: Pods, value: 2, periodSeconds: 30}]
  podDisruptionBudget: {maxUnavailable: 2}
  canary:
    trafficRouting: istio
    steps:
      - {weight: 20, pause: manual}
      - {weight: 60}
    analysis: {successRate: 99, latencyP95: 250ms, interval: 2m, startingStep: 5}
  slo:
    availability: 99.9
    latency: [{percentile: 95, threshold: 250ms}]
  networkPolicy:
    enabled: true
    allowFrom: [{namespace: frontend}, {podLabels: {app: gateway}}, {namespace: batch, podLabels: {app: client}}]
  route: {host: kitchen.example.com, path: /v1, tls: {secretName: kitchen-tls}, timeout: 30s,
          rateLimit: {requestsPerSecond: 50, burstMultiplier: 2}, maxBodySize: 512Ki}
  environments:
    staging:
      autoscaling: {maxReplicas: 3}
      canary:
        steps: [{weight: 50, pause: 1m}]
"""

KNATIVE = """\
apiVersion: mlgitops.dev/v1alpha1
kind: Model
metadata: {name: knative, team: platform}
spec:
  framework: sklearn
  mode: serverless
  runtime: kserve-mlserver
  runtimeVersion: 1.5.0
  protocol: v2
  storageUri: s3://bucket/knative
  storage: {endpoint: lake}
  podDisruptionBudget: {enabled: true, maxUnavailable: 1}
  autoscaling: {minReplicas: 1, maxReplicas: 4}
  serverless: {targetConcurrency: 4, canaryTrafficPercent: 20, window: 30s}
  networkPolicy: {enabled: true}
  slo:
    source: custom
    availability: 99
    custom:
      errorQuery: sum(rate(errors_total{job="edge-gateway"}[$window]))
      totalQuery: sum(rate(requests_total{job="edge-gateway"}[$window]))
  environments:
    staging:
      storage: {endpoint: eks}
"""

# The storage endpoints KNATIVE pulls from (expand/storage.py): an ExternalSecret in prod, IRSA in staging.
STORAGE = """
storage:
  endpoints:
    lake:
      endpoint: minio.lake.svc:9000
      region: us-east-1
      https: false
      credentials:
        externalSecret: {storeName: vault, remoteKey: ml/lake, refreshInterval: 30m}
    eks:
      endpoint: s3.eu-west-1.amazonaws.com
      region: eu-west-1
      credentials: {irsaRoleArn: "arn:aws:iam::123456789012:role/ml"}
"""


@pytest.fixture(scope="module")
def every_feature(tmp_path_factory) -> pathlib.Path:
    """The example models plus two that use every field the expanders read, built."""
    root = copy_sources(tmp_path_factory.mktemp("kitchen"))
    (root / "models/kitchen.yaml").write_text(KITCHEN)
    (root / "models/knative.yaml").write_text(KNATIVE)
    # The platform scrape the custom SLO's queries read (the build checks their collection).
    config = (root / "mlgitops.yaml").read_text()
    (root / "mlgitops.yaml").write_text(config.replace("  runbookURL:", (
        "  scrapes: [{job: edge-gateway, metrics: [errors_total, requests_total]}]\n  runbookURL:")))
    (root / "mlgitops.yaml").write_text(merge_config((root / "mlgitops.yaml").read_text(), STORAGE))
    result = build(str(root), use_cache=False)
    assert not result.diagnostics.has_errors, [d.format() for d in result.diagnostics]
    return root


def _model_envs(root: pathlib.Path):
    diags = Diagnostics()
    config = load_config(str(root), diags)
    for rel in list_model_files(str(root)):
        for me in resolve(read_model_file(str(root), rel, diags), config):
            yield me, config


@pytest.fixture(scope="module")
def origins_by_generator(every_feature):
    """{generator name: [(model, env, origin)]} of every object the kitchen-sink models emit."""
    found: dict = {g.name: [] for g in registry.GENERATORS}
    for me, config in _model_envs(every_feature):
        for origins in overlay_origins(me, config).values():
            for origin in origins:
                found[origin.generator].append((me.name, me.env.name, origin))
    return found


@pytest.mark.parametrize("generator", [g.name for g in registry.GENERATORS])
def test_every_leaf_a_generator_emits_maps_to_a_model_field_or_is_a_known_constant(origins_by_generator, generator):
    """Per registered generator (a new one is covered by registering it): it emits something for
    the kitchen-sink models (turn it on in KITCHEN or KNATIVE otherwise), and its rows explain
    every leaf it emits."""
    emitted = origins_by_generator[generator]
    assert emitted, f"{generator} emits nothing for the kitchen-sink models: turn it on in KITCHEN or KNATIVE"
    gaps = [f"{model} ({env}) {o.obj['kind']} {p}" for model, env, o in emitted for p in sorted(o.gaps, key=str)]
    assert not gaps, f"leaves no row of {generator} (expand/<kind>.py GENERATOR) explains:\n" + "\n".join(gaps)


def test_model_path_explaining_only_the_leaves_under_the_path_gives_what_all_leaves_give(every_feature):
    """ObjectOrigin.model_path explains only the leaves at or under the path asked for (locating
    a finding reads one path of one object); for every path of every object the kitchen-sink
    models emit (leaves, collections and the root), the answer is the one worked out from every
    leaf of the object (`fields`)."""
    from mlgitops.validate.provenance import file_origins
    from objpath import walk

    compared = mapped = 0
    for me, config in _model_envs(every_feature):
        # the same objects twice: one whose every leaf is explained first (the reference), one
        # asked path by path
        for reference, origin in zip(file_origins(me, config), file_origins(me, config)):
            assert reference.obj == origin.obj and reference.fields is not None
            for path in [p for p, _ in walk(origin.obj)] + [("spec", "no-such-field")]:
                restricted = origin.model_path(path)
                assert restricted == reference.model_path(path), (me.name, origin.obj["kind"], path)
                compared += 1
                mapped += restricted is not None
            assert "_explained" not in origin.__dict__  # it never explained every leaf
    assert compared > 2000 and mapped > 500, (compared, mapped)


def test_a_path_no_tag_can_reach_is_explained_from_the_untagged_object_as_from_the_traced_one(every_feature):
    """provenance.untraced_model_path (a finding in an overlay the gate compiled: the object the
    build made, not generated again with tagged settings) answers only where no leaf at or under
    the path equals a value a tag can sit on, and then as ObjectOrigin.model_path does: for every
    path of every object the kitchen-sink and example models emit, in every environment and
    cluster variant."""
    from mlgitops.expand.overlay import overlay_files
    from mlgitops.spec.model import cluster_variants
    from mlgitops.validate.provenance import file_origins, taggable_values, untraced_model_path
    from objpath import walk

    answered = left = mapped = 0
    for root in (every_feature, REPO_ROOT):
        for me, config in _model_envs(root):
            for variant in [me, *cluster_variants(me)]:
                generators: dict = {}
                files = overlay_files(variant, config, generators)
                taggable = taggable_values(variant)
                for name in generators:
                    objects = files[name]
                    assert len(objects) == len(generators[name])
                    for origin, obj, generator in zip(file_origins(variant, config, name), objects, generators[name]):
                        assert origin.obj == obj and origin.generator == generator.name
                        for path in [p for p, _ in walk(obj)] + [("spec", "no-such-field")]:
                            known, found = untraced_model_path(variant, generator, obj, path, taggable)
                            if not known:
                                left += 1
                                continue
                            assert found == origin.model_path(path), (variant.name, obj["kind"], path)
                            answered += 1
                            mapped += found is not None
    assert answered > 5000 and left > 1000 and mapped > 300, (answered, left, mapped)


def test_each_setting_is_tagged_with_the_model_path_source_path_gives(every_feature):
    """_traced tags the settings from the top down (two lookups a node); each leaf's tag is what
    ModelEnv.source_path, which tries every prefix of the leaf's path, gives for it: on the
    kitchen-sink models and the example's, in every environment and cluster variant."""
    from mlgitops.spec.model import cluster_variants
    from mlgitops.validate.provenance import _traced

    checked = overridden = 0
    for root in (every_feature, REPO_ROOT):
        for me, _config in _model_envs(root):
            for variant in [me, *cluster_variants(me)]:
                for path, value in leaves(_traced(variant).settings):
                    if isinstance(value, (bool, dict, list)) or value is None:
                        continue  # (not taggable: empty collections are leaves here)
                    assert value.src == variant.source_path(path), (variant.name, variant.env.name, path)
                    checked += 1
                    overridden += value.src[:2] == ("spec", "environments")
    assert checked > 500 and overridden > 20, (checked, overridden)


def test_a_copied_value_carries_the_model_field_it_was_copied_from(every_feature):
    checked = 0
    for me, config in _model_envs(every_feature):
        model = me.file.doc
        for origins in overlay_origins(me, config).values():
            for origin in origins:
                for path, value in leaves(origin.obj):
                    src = getattr(value, "src", None)
                    if src is None or src in model.collections or not model.has(src):
                        continue  # computed, a constant, or a default (located at its section)
                    written = model.data
                    for part in src:
                        written = written[part]
                    assert str(written) == str(value), (me.name, origin.obj["kind"], path, src)
                    checked += 1
    assert checked > 300


def test_every_rendered_leaf_locates_inside_an_existing_file(every_feature):
    smap = SourceMap(str(every_feature))
    to_model = 0
    for overlay in sorted(p.parent.relative_to(every_feature).as_posix()
                          for p in every_feature.glob("overlays/*/*/kustomization.yaml")):
        for doc in documents(every_feature, overlay).values():
            for path, _ in leaves(doc.obj):
                file, line, col = smap.locate(doc, path)
                lines = (every_feature / file).read_text().split("\n")
                assert 1 <= line <= len(lines) and 1 <= col <= len(lines[line - 1]) + 1, (overlay, path, file, line)
                to_model += file.startswith("models/")
    assert to_model > 500


def test_a_field_an_expander_computes_without_a_rule_is_a_gap(monkeypatch):
    from mlgitops.expand import autoscaling
    original = autoscaling.hpa

    def hpa(me):
        obj = original(me)
        obj["spec"]["computed"] = f"{me.settings['autoscaling']['maxReplicas']}x"
        obj["spec"]["copied"] = me.settings["autoscaling"]["maxReplicas"]
        return obj

    monkeypatch.setattr(autoscaling, "hpa", hpa)
    me, config = next((me, config) for me, config in _model_envs(REPO_ROOT)
                      if me.name == "iris" and me.env.name == "prod")
    origin = next(o for o in overlay_origins(me, config)["model.yaml"] if o.obj["kind"] == "HorizontalPodAutoscaler")
    assert origin.gaps == {("spec", "computed")}
    assert origin.fields[("spec", "copied")] == ("spec", "autoscaling", "maxReplicas")
