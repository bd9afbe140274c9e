"""The generator registry (expand/registry.py): every registered kind is emitted by a model that
turns every generator on, validates against its real schema, and keeps the registry's promises
(names, name references, files). A new generator is covered by registering it: these tests fail
until the kitchen-sink model turns it on and its kind validates.
"""

from __future__ import annotations

import pathlib

import pytest

from conftest import copy_sources, merge_config
from mlgitops import names
from mlgitops.config import load_config
from mlgitops.diagnostics import Diagnostics
from mlgitops.expand import route as expand_route
from mlgitops.expand import storage as expand_storage
from mlgitops.expand import registry
from mlgitops.expand.base import base_files
from mlgitops.expand.generator import MODEL_FILE, MONITORING_FILE
from mlgitops.expand.overlay import generated, overlay_files
from mlgitops.modelfiles import read_model_file, resolve
from mlgitops.spec.model import list_model_files
from mlgitops.validate.engine import validate_documents
from mlgitops.validate.kubeconform import INSTALL_HINT, run_kubeconform
from mlgitops.validate.registry import SchemaRegistry
from mlgitops.validate.results import VALID, Document
from tooling import REPO_ROOT, require_shared, require_tool

CATALOG = "../shared/schemas/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json"
KUBERNETES_VERSION = "1.33.0"

# Standard mode with every optional generator on (service account, Istio routing, analysis with
# the mesh monitor, HPA, budgets, network policy, SLO rules) ...
EVERYTHING = """\
apiVersion: mlgitops.dev/v1alpha1
kind: Model
metadata: {name: everything, team: platform}
spec:
  framework: sklearn
  storageUri: s3://bucket/everything
  serviceAccount: {name: everything-sa, create: true, annotations: {eks.amazonaws.com/role-arn: arn:aws:iam::1:role/x}}
  transformer: {image: ghcr.io/example/pre:1, replicas: 2}
  autoscaling: {minReplicas: 4, maxReplicas: 8}
  canary: {trafficRouting: istio}
  slo:
    availability: 99.9
    latency: [{percentile: 95, threshold: 500ms}]
  networkPolicy:
    enabled: true
    allowFrom:
      - {namespace: frontend}
      - {podLabels: {app: gateway}}
      - {namespace: batch, podLabels: {app: scorer}}
"""
# ... and serverless, so the PodMonitor and the serverless variants are emitted too.
SERVERLESS = """\
apiVersion: mlgitops.dev/v1alpha1
kind: Model
metadata: {name: knative, team: platform}
spec:
  framework: onnx
  mode: serverless
  storageUri: gs://bucket/knative
  autoscaling: {minReplicas: 0, maxReplicas: 4}
  slo: {availability: 99}
  networkPolicy: {enabled: true}
"""


# ... and an external route (expand/route.py): an Ingress splitting the prod canary (with the stable
# and canary Services), an HTTPRoute in staging.
ROUTED = """\
apiVersion: mlgitops.dev/v1alpha1
kind: Model
metadata: {name: routed, team: platform}
spec:
  framework: sklearn
  storageUri: s3://bucket/routed
  autoscaling: {minReplicas: 4, maxReplicas: 8}
  route: {host: routed.example.com, timeout: 30s}
  environments:
    staging:
      route: {kind: HTTPRoute, host: routed.staging.example.com}
"""
ROUTES = "routes:\n  gateway: {name: public, namespace: gateways}\n"

# ... and a storage endpoint (expand/storage.py): an ExternalSecret and the `<model>-storage` ServiceAccount.
STORED = """\
apiVersion: mlgitops.dev/v1alpha1
kind: Model
metadata: {name: stored, team: platform}
spec:
  framework: sklearn
  storageUri: s3://bucket/stored
  storage: {endpoint: lake}
"""
STORAGE = ("storage:\n  endpoints:\n    lake:\n      endpoint: minio.lake.svc:9000\n"
           "      credentials: {externalSecret: {storeName: vault, remoteKey: ml/lake}}\n")


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> pathlib.Path:
    root = copy_sources(tmp_path_factory.mktemp("generators"))
    (root / "models/everything.yaml").write_text(EVERYTHING)
    (root / "models/knative.yaml").write_text(SERVERLESS)
    (root / "models/routed.yaml").write_text(ROUTED)
    (root / "models/stored.yaml").write_text(STORED)
    (root / "mlgitops.yaml").write_text(merge_config((root / "mlgitops.yaml").read_text(), STORAGE))
    if "\nroutes:" not in (root / "mlgitops.yaml").read_text():
        with open(root / "mlgitops.yaml", "a") as config:
            config.write(ROUTES)
    return root


@pytest.fixture(scope="module")
def model_envs(repo):
    diags = Diagnostics()
    config = load_config(str(repo), diags)
    found = [(me, config) for rel in list_model_files(str(repo))
             for me in resolve(read_model_file(str(repo), rel, diags), config)]
    assert not diags.has_errors, [d.format() for d in diags]
    return found


@pytest.fixture(scope="module")
def emitted(model_envs):
    """(generator, object) of every overlay object of every model environment."""
    return [pair for me, config in model_envs for pair in generated(me, config)]


def test_every_registered_generator_emits_its_kinds(emitted):
    by_generator = {g.name: set() for g in registry.GENERATORS}
    for generator, obj in emitted:
        assert obj["kind"] in generator.kinds, (generator.name, obj["kind"])
        by_generator[generator.name].add(obj["kind"])
    silent = {g.name: sorted(set(g.kinds) - by_generator[g.name]) for g in registry.GENERATORS
              if set(g.kinds) - by_generator[g.name]}
    assert not silent, f"kinds no test model emits (turn them on in EVERYTHING or SERVERLESS): {silent}"


def test_generators_are_uniquely_named_and_write_known_files():
    assert len({g.name for g in registry.GENERATORS}) == len(registry.GENERATORS)
    assert {g.file for g in registry.GENERATORS} == {MODEL_FILE, MONITORING_FILE}
    assert registry.kinds() == {k for g in registry.GENERATORS for k in g.kinds}


def test_every_registered_kind_validates_against_its_schema(tmp_path, emitted):
    """The built-in engine with the strict schemas: Kubernetes' own for core kinds, the shared
    CRD catalog for the rest; the kinds validated are exactly the registry's."""
    require_shared("schemas")
    schemas = SchemaRegistry([CATALOG, "default"], repo_root=str(REPO_ROOT), kubernetes_version=KUBERNETES_VERSION,
                             strict=True, cache_dir=str(tmp_path / "cache"))
    docs = [Document(obj=obj, file=f"{generator.name}.yaml", index=i) for i, (generator, obj) in enumerate(emitted)]
    results = validate_documents(docs, schemas, strict=True)
    bad = [f"{r.doc.kind} {r.doc.obj['metadata']['name']}: {r.status} {r.reason or [f.message for f in r.findings]}"
           for r in results if r.status != VALID]
    assert not bad, "\n".join(bad)
    assert {r.doc.kind for r in results} == registry.kinds()


def test_every_registered_kind_validates_in_kubeconform(tmp_path, emitted):
    binary = require_tool("kubeconform", INSTALL_HINT)
    require_shared("schemas")
    schemas = SchemaRegistry([CATALOG, "default"], repo_root=str(REPO_ROOT), kubernetes_version=KUBERNETES_VERSION,
                             strict=True, cache_dir=str(tmp_path / "cache"))
    docs = [Document(obj=obj, file="generated.yaml", index=i) for i, (_, obj) in enumerate(emitted)]
    kinds = sorted({(d.api_version, d.kind) for d in docs})
    results = run_kubeconform(docs, schemas.kubeconform_locations(kinds), strict=True,
                              kubernetes_version=KUBERNETES_VERSION, binary=binary)
    bad = [f"{r.doc.kind}: {r.status} {r.reason or [f.message for f in r.findings]}" for r in results
           if r.status != VALID]
    assert not bad, "\n".join(bad)
    assert {r.doc.kind for r in results} == registry.kinds()


def test_overlay_files_group_the_generated_objects_by_file(model_envs):
    me, config = next((me, config) for me, config in model_envs if me.name == "everything" and me.env.name == "prod")
    files = overlay_files(me, config)
    expected = {MODEL_FILE: [], MONITORING_FILE: []}
    for generator, obj in generated(me, config):
        expected[generator.file].append(obj)
    assert {k: files[k] for k in expected} == expected
    assert files["kustomization.yaml"]["resources"] == [MODEL_FILE, MONITORING_FILE]


def test_derived_names_are_the_applying_generators_names(model_envs):
    for me, _ in model_envs:
        model = me.model
        found = registry.derived_names(me)
        assert found == [n for g in registry.GENERATORS if g.applies(model) for n in g.names(model)]
        parts = ("predictor",) + tuple(model.components)
        hand = _hand_list(me.name, me.env.namespace, parts, model.canary.istio)
        if expand_route.applies(model):  # the route, and the Services it splits the canary with
            hand.append(("route", f"{me.name}-route"))
            if expand_route.splits_canary(model) and not model.canary.istio:
                hand += [("canary Service", names.canary_service(me.name)),
                         ("stable Service", names.stable_service(me.name))]
        if expand_storage.endpoint_name(model) is not None:  # its ServiceAccount, ExternalSecret, Secret
            hand.append(("storage ServiceAccount, ExternalSecret and Secret", f"{me.name}-storage"))
        if model.standard:
            assert sorted(found) == sorted(hand)
        else:  # no Rollout (so no ReplicaSet), no Istio Services
            assert set(found) <= set(hand)
            assert ("KServe pod label app", names.pod_selector_value(me.name)) in found


def _hand_list(model: str, namespace: str, components: tuple[str, ...], istio: bool) -> list[tuple[str, str]]:
    """The hand-written list the name-length rule used before the generators declared their names
    (the oracle: the registry must derive the same names wherever the kinds that need them exist)."""
    out = [("KServe pod label app", names.pod_selector_value(model)),
           ("Argo Rollouts ReplicaSet name", f"{model}-{'x' * (names.HASH_SUFFIX - 1)}")]
    for part in components:
        out.append((f"KServe {part} Deployment/Service", names.component(model, part)))
        out.append((f"KServe {part} host label", f"{names.component(model, part)}-{namespace}"))
    if istio:
        out += [("canary Service", names.canary_service(model)), ("stable Service", names.stable_service(model))]
    # Every standard model has a Rollout, so a dashboard (expand/dashboard.py).
    out.append(("Grafana dashboard ConfigMap name", names.dashboard(model)))
    return out


def test_base_name_references_come_from_the_generators_in_the_committed_order():
    config = load_config(str(REPO_ROOT), Diagnostics())
    refs = base_files(config)["base/components/common/kustomizeconfig.yaml"]["nameReference"]
    committed = ["AnalysisTemplate", "Rollout", "Deployment", "Service", "VirtualService", "ServiceAccount"]
    kinds = [r["kind"] for r in refs]
    # The references base/ had before the registry first, then any newer kind in registry order.
    assert kinds[:len(committed)] == committed
    assert kinds[len(committed):] == [r["kind"] for r in registry.name_references() if r["kind"] not in committed]
    assert sorted(map(str, refs)) == sorted(map(str, registry.name_references()))


def test_the_slo_generator_applies_exactly_when_there_are_sli_queries(model_envs):
    """`has_sli` (the cheap test the registry asks) agrees with writing the queries, for every
    example model and for each way an SLO can be set or not."""
    from mlgitops.expand.slo import has_sli, sli_queries

    seen = set()
    for me, config in model_envs:
        base = me.model
        for availability in (None, 99.5):
            for latency in ((), base.slo.latency):
                for source in ("istio", "kserve", "custom"):
                    slo = base.slo._replace(availability=availability, latency=latency, source=source)
                    model = base._replace(slo=slo)
                    assert has_sli(model) == bool(sli_queries(model, config)), (me.name, slo)
                    seen.add(has_sli(model))
    assert seen == {True, False}
