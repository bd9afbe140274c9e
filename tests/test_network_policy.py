"""spec.networkPolicy (expand/networkpolicy.py): on by default where mlgitops.yaml's environment
says so (prod), the ingress it allows, the namespaces of mlgitops.yaml `network:`, optional egress
and the spec.network-egress rule, provenance, schema errors, policy-clean example overlays; and,
one test each, the paths the policy must not cut off (storage initializer, Istio sidecar, Knative,
Argo Rollouts traffic shifting, payload logger)."""

from __future__ import annotations

import json
import shutil
import textwrap

import pytest
import yaml

from conftest import merge_config, REPO_ROOT, copy_sources, tree_bytes
from mlgitops.config import load_config
from mlgitops.diagnostics import Diagnostics
from mlgitops.expand.networkpolicy import SECTION, has_sidecar, network_policy
from mlgitops.expand.overlay import overlay_files
from mlgitops.pipeline import build
from mlgitops.modelfiles import read_model_file, resolve
from mlgitops.validate.provenance import overlay_origins

MODEL = """\
apiVersion: mlgitops.dev/v1alpha1
kind: Model
metadata: {name: scorer, team: ml}
spec:
  framework: sklearn
  storageUri: s3://ml-models-prod/scorer
  container: {port: 9000}
  networkPolicy:
    enabled: true
    allowFrom:
      - {namespace: frontend}
      - {podLabels: {app: gateway}}
      - {namespace: batch, podLabels: {app: scorer-client}}
  environments:
    staging:
      networkPolicy: {enabled: false}
"""

# A MinIO endpoint whose pods the storage initializer reaches, and a model that pulls from it,
# logs payloads to a cluster Service, calls a feature store, and restricts egress.
MINIO = """\
storage:
  endpoints:
    minio:
      endpoint: minio.minio.svc.cluster.local:9000
      https: false
      credentials: {secretName: minio-credentials}
      egressTo: [{namespace: minio, podLabels: {app: minio}}]
"""
EGRESS_MODEL = """\
apiVersion: mlgitops.dev/v1alpha1
kind: Model
metadata: {name: scorer, team: ml}
spec:
  framework: sklearn
  storageUri: s3://models/scorer
  storage: {endpoint: minio}
  logger: {url: http://payload-logger.observability.svc.cluster.local}
  networkPolicy:
    egress:
      enabled: true
      to:
        - {namespace: features, port: 6379}
        - {cidr: 10.20.0.0/16, port: 443}
"""
LISTED = EGRESS_MODEL[EGRESS_MODEL.index("      to:\n"):]  # the destinations the model lists


def namespace(name):
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}}}


def tcp(*ports):
    return [{"port": p, "protocol": "TCP"} for p in ports]


def _repo(tmp_path, text: str, config_extra: str = "", config_edit=None):
    root = copy_sources(tmp_path / "repo")
    # the test's model alone: the example models use the example's endpoints, which tests replace
    for example in (root / "models").glob("*.yaml"):
        example.unlink()
    (root / "models/scorer.yaml").write_text(text)
    config = (root / "mlgitops.yaml").read_text()
    if config_edit is not None:
        config = config_edit(config)
    # merged: the example's own network/routes/storage sections stay unless replaced
    (root / "mlgitops.yaml").write_text(merge_config(config, config_extra) if config_extra.strip() else config)
    return root


def _envs(tmp_path, text: str, config_extra: str = "", config_edit=None):
    root = _repo(tmp_path, text, config_extra, config_edit)
    diags = Diagnostics()
    config = load_config(str(root), diags)
    assert config is not None, [d.format() for d in diags]
    file = read_model_file(str(root), "models/scorer.yaml", diags)
    assert file is not None, [d.format() for d in diags]
    return {me.env.name: me for me in resolve(file, config)}, config, diags


def _kinds(me, config) -> list[str]:
    return [o["kind"] for o in overlay_files(me, config)["model.yaml"]]


def _policy(me, config) -> dict:
    (policy,) = [o for o in overlay_files(me, config)["model.yaml"] if o["kind"] == "NetworkPolicy"]
    return policy


def _errors(root) -> list[tuple[str, int, str]]:
    result = build(str(root), use_cache=False)
    return [(d.rule, d.line, d.message) for d in result.diagnostics if d.severity == "error"]


def _line(text: str, needle: str) -> int:
    (line,) = [i for i, row in enumerate(text.splitlines(), 1) if needle in row]
    return line


# --- what the policy allows -------------------------------------------------------------------------

def test_the_policy_allows_callers_the_gateway_and_prometheus_only(tmp_path):
    envs, config, _ = _envs(tmp_path, MODEL)
    policy = network_policy(envs["prod"].model, config)
    assert policy == {
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "scorer"},
        "spec": {
            "podSelector": {"matchLabels": {"app": "isvc.scorer-predictor"}},
            "policyTypes": ["Ingress"],
            "ingress": [
                {"from": [{"podSelector": {"matchLabels": {"serving.kserve.io/inferenceservice": "scorer"}}},
                          namespace("frontend"),
                          {"podSelector": {"matchLabels": {"app": "gateway"}}},
                          {**namespace("batch"), "podSelector": {"matchLabels": {"app": "scorer-client"}}},
                          # the gateways: mlgitops.yaml's network.entryNamespaces
                          *[namespace(name) for name in config.network.entry_namespaces]],
                 "ports": tcp(9000)},
                # no SLO, so no canary analysis and no sidecar scrape: the model server's port only
                {"from": [namespace("monitoring")], "ports": tcp(9000)},
            ],
        },
    }
    assert "NetworkPolicy" in _kinds(envs["prod"], config)
    assert "NetworkPolicy" not in _kinds(envs["staging"], config)


def test_prometheus_may_scrape_the_sidecars_when_a_query_reads_them(tmp_path):
    text = MODEL.replace("  environments:", "  slo: {availability: 99.9}\n  environments:")
    envs, config, _ = _envs(tmp_path, text)
    monitoring = network_policy(envs["prod"].model, config)["spec"]["ingress"][1]
    assert monitoring["ports"] == tcp(9000, 15090)


def test_the_namespaces_come_from_mlgitops_yaml(tmp_path):
    network = ("network:\n  entryNamespaces: [ingress-nginx, istio-ingress]\n  monitoringNamespaces: [monitoring, "
               "prometheus]\n  knativeNamespace: knative\n")
    text = MODEL.replace("  container: {port: 9000}\n", "  mode: serverless\n")
    envs, config, _ = _envs(tmp_path, text, network)
    ingress = network_policy(envs["prod"].model, config)["spec"]["ingress"]
    assert ingress[0]["from"][-2:] == [namespace("ingress-nginx"), namespace("istio-ingress")]
    assert ingress[1]["from"] == [namespace("monitoring"), namespace("prometheus")]
    assert ingress[2] == {"from": [namespace("knative")]}


# --- on by default where mlgitops.yaml says so ------------------------------------------------------

BARE = MODEL[:MODEL.index("  networkPolicy:")]


def test_on_by_default_in_prod_only(tmp_path):
    envs, config, _ = _envs(tmp_path, BARE)
    assert [name for name, env in config.environments.items() if env.network_policy] == ["prod"]
    assert "NetworkPolicy" in _kinds(envs["prod"], config)
    assert "NetworkPolicy" not in _kinds(envs["staging"], config)
    assert envs["prod"].model.section(SECTION).enabled is True
    assert envs["staging"].model.section(SECTION).enabled is False


@pytest.mark.parametrize("spec, prod, staging", [
    ("  networkPolicy: {enabled: false}\n", False, False),
    ("  networkPolicy: {enabled: true}\n", True, True),
    ("  environments:\n    prod:\n      networkPolicy: {enabled: false}\n", False, False),
    ("  environments:\n    staging:\n      networkPolicy: {enabled: true}\n", True, True),
    ("  networkPolicy: {enabled: true}\n  environments:\n    prod:\n      networkPolicy: {enabled: false}\n",
     False, True),
])
def test_the_model_file_overrides_the_default(tmp_path, spec, prod, staging):
    envs, config, _ = _envs(tmp_path, BARE + spec)
    assert ("NetworkPolicy" in _kinds(envs["prod"], config)) is prod
    assert ("NetworkPolicy" in _kinds(envs["staging"], config)) is staging


def test_an_environment_of_mlgitops_yaml_turns_the_default_on_or_off(tmp_path):
    def edit(text):
        return (text.replace("    namespace: ml-staging\n", "    namespace: ml-staging\n    networkPolicy: true\n")
                .replace("    namespace: ml-prod\n", "    namespace: ml-prod\n    networkPolicy: false\n"))

    envs, config, _ = _envs(tmp_path, BARE, config_edit=edit)
    assert "NetworkPolicy" in _kinds(envs["staging"], config)
    assert "NetworkPolicy" not in _kinds(envs["prod"], config)
    # the model's own setting still wins
    envs, config, _ = _envs(tmp_path / "2", BARE + "  networkPolicy: {enabled: true}\n", config_edit=edit)
    assert "NetworkPolicy" in _kinds(envs["prod"], config)


def test_a_default_on_policy_is_explained_leaf_by_leaf(tmp_path):
    """Nothing in the model file mentions the policy: every leaf is still explained (the name by
    metadata.name, the port by the documented default, the namespaces by mlgitops.yaml)."""
    envs, config, _ = _envs(tmp_path, BARE.replace("  container: {port: 9000}\n", ""))
    (origin,) = [o for o in overlay_origins(envs["prod"], config)["model.yaml"] if o.obj["kind"] == "NetworkPolicy"]
    assert origin.gaps == set()
    assert origin.fields[("spec", "podSelector", "matchLabels", "app")] == ("metadata", "name")
    assert origin.obj["spec"]["ingress"][0]["ports"] == tcp(8080)
    assert origin.model_path(("spec", "ingress", 0, "ports")) is None  # a documented default


# --- egress -----------------------------------------------------------------------------------------

def test_egress_allows_dns_istiod_the_storage_endpoint_the_logger_and_the_listed_peers(tmp_path):
    envs, config, _ = _envs(tmp_path, EGRESS_MODEL, MINIO)
    spec = network_policy(envs["prod"].model, config)["spec"]
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    assert spec["egress"] == [
        {"to": [namespace("kube-system")], "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]},
        {"to": [namespace("istio-system")], "ports": tcp(15012)},  # slo.source istio (mlgitops.yaml): a sidecar
        {"to": [{**namespace("minio"), "podSelector": {"matchLabels": {"app": "minio"}}}], "ports": tcp(9000)},
        {"to": [namespace("observability")]},  # the logger's Service: every port (its target port is unknown)
        {"to": [namespace("features")], "ports": tcp(6379)},
        {"to": [{"ipBlock": {"cidr": "10.20.0.0/16"}}], "ports": tcp(443)},
    ]
    assert "NetworkPolicy" not in _kinds(envs["staging"], config)  # egress settings alone turn nothing on


def test_egress_namespaces_come_from_mlgitops_yaml(tmp_path):
    envs, config, _ = _envs(tmp_path, EGRESS_MODEL, MINIO + "network: {dnsNamespace: dns, istiodNamespace: mesh}\n")
    egress = network_policy(envs["prod"].model, config)["spec"]["egress"]
    assert egress[0]["to"] == [namespace("dns")] and egress[1]["to"] == [namespace("mesh")]


def test_egress_leaves_are_explained_by_the_lines_that_caused_them(tmp_path):
    envs, config, _ = _envs(tmp_path, EGRESS_MODEL, MINIO)
    (origin,) = [o for o in overlay_origins(envs["prod"], config)["model.yaml"] if o.obj["kind"] == "NetworkPolicy"]
    assert origin.gaps == set()
    label = ("namespaceSelector", "matchLabels", "kubernetes.io/metadata.name")
    egress = ("spec", "egress")
    assert origin.fields[egress + (0, "to", 0) + label] == ("spec", "networkPolicy", "egress", "enabled")
    assert origin.fields[egress + (1, "to", 0) + label] == ("spec", "networkPolicy", "egress", "enabled")
    assert origin.fields[egress + (2, "to", 0) + label] == ("spec", "storage", "endpoint")
    assert origin.fields[egress + (3, "to", 0) + label] == ("spec", "logger", "url")
    assert origin.fields[egress + (4, "to", 0) + label] == ("spec", "networkPolicy", "egress", "to", 0, "namespace")
    assert origin.fields[egress + (5, "to", 0, "ipBlock", "cidr")] == ("spec", "networkPolicy", "egress", "to", 1,
                                                                       "cidr")
    assert origin.fields[egress + (5, "ports", 0, "port")] == ("spec", "networkPolicy", "egress", "to", 1, "port")


def test_a_logger_in_the_model_namespace_and_one_outside_the_cluster(tmp_path):
    text = EGRESS_MODEL.replace("payload-logger.observability.svc.cluster.local", "payload-logger")
    envs, config, _ = _envs(tmp_path, text, MINIO)
    assert {"to": [{"podSelector": {}}]} in network_policy(envs["prod"].model, config)["spec"]["egress"]
    (origin,) = [o for o in overlay_origins(envs["prod"], config)["model.yaml"] if o.obj["kind"] == "NetworkPolicy"]
    assert origin.gaps == set()
    outside = EGRESS_MODEL.replace("payload-logger.observability.svc.cluster.local", "logs.example.com")
    envs, config, _ = _envs(tmp_path / "2", outside, MINIO)
    egress = network_policy(envs["prod"].model, config)["spec"]["egress"]
    assert not [r for r in egress if "ports" not in r]  # no rule for it: the listed peers must reach it


def test_egress_without_a_way_to_the_model_store_is_a_located_error(tmp_path):
    text = EGRESS_MODEL.replace("  storage: {endpoint: minio}\n", "").replace(LISTED, "")
    root = _repo(tmp_path, text)
    errors = _errors(root)
    assert [(rule, line) for rule, line, _ in errors] == [("spec.network-egress", _line(text, "enabled: true"))]
    assert "storage initializer must download 's3://models/scorer'" in errors[0][2]
    # a destination listed in the model file may be the way: no error
    root = _repo(tmp_path / "2", text.replace("      enabled: true\n",
                                              "      enabled: true\n      to: [{cidr: 10.0.0.0/8, port: 443}]\n"))
    assert _errors(root) == []


def test_an_endpoint_without_egress_peers_is_blamed_on_the_override_that_turned_egress_on(tmp_path):
    minio = MINIO.replace("      egressTo: [{namespace: minio, podLabels: {app: minio}}]\n", "")
    text = (EGRESS_MODEL.replace("  networkPolicy:\n    egress:\n      enabled: true\n" + LISTED, "")
            + "  environments:\n    prod:\n      networkPolicy: {egress: {enabled: true}}\n")
    root = _repo(tmp_path, text, minio)
    errors = _errors(root)
    assert [(rule, line) for rule, line, _ in errors] == [("spec.network-egress", _line(text, "egress: {enabled"))]
    assert "storage endpoint 'minio' of mlgitops.yaml lists no egressTo" in errors[0][2]


def test_an_external_logger_and_a_mixed_destination_are_errors(tmp_path):
    text = (EGRESS_MODEL.replace("payload-logger.observability.svc.cluster.local", "logs.example.com")
            .replace(LISTED, ""))
    errors = _errors(_repo(tmp_path, text, MINIO))
    assert [(rule, line) for rule, line, _ in errors] == [("spec.network-egress", _line(text, "enabled: true"))]
    assert "payload logger 'http://logs.example.com' is not a cluster Service" in errors[0][2]
    mixed = EGRESS_MODEL.replace("{cidr: 10.20.0.0/16, port: 443}", "{cidr: 10.20.0.0/16, namespace: x}")
    errors = _errors(_repo(tmp_path / "2", mixed, MINIO))
    assert [(rule, line) for rule, line, _ in errors] == [("spec.network-egress", _line(mixed, "cidr: 10.20"))]
    assert "not both" in errors[0][2]


# --- the paths the policy must not cut off (one test each, and how it is checked) -----------------------

def test_path_storage_initializer(tmp_path):
    """The storage initializer is an init container: it only connects out. Checked: without
    `egress` the policy has no Egress type and no egress rules (egress unrestricted); with it, an
    egress rule admits the storage endpoint's peer on the endpoint's port (and the rule above
    refuses egress that admits no way to the store)."""
    envs, config, _ = _envs(tmp_path, MODEL)
    spec = network_policy(envs["prod"].model, config)["spec"]
    assert spec["policyTypes"] == ["Ingress"] and "egress" not in spec
    envs, config, _ = _envs(tmp_path / "2", EGRESS_MODEL, MINIO)
    spec = network_policy(envs["prod"].model, config)["spec"]
    peer = {**namespace("minio"), "podSelector": {"matchLabels": {"app": "minio"}}}
    assert [r for r in spec["egress"] if r.get("to") == [peer]] == [{"to": [peer], "ports": tcp(9000)}]


def test_path_istio_sidecar(tmp_path):
    """The sidecar intercepts inside the pod, after the policy saw the port the caller dialled.
    Checked: the mesh's entry (the Istio ingress gateway's namespace) and the model's own pods are
    admitted on the serving port; Prometheus on Envoy's 15090 when it scrapes the sidecars; with
    egress restricted, a rule admits istiod's namespace on 15012 (the sidecar's xDS and certificates)."""
    text = MODEL.replace("  environments:", "  slo: {availability: 99.9}\n  environments:")
    egress = "    egress: {enabled: true, to: [{cidr: 10.0.0.0/8}]}\n"
    envs, config, _ = _envs(tmp_path, text.replace("    enabled: true\n", "    enabled: true\n" + egress))
    model = envs["prod"].model
    assert has_sidecar(model, config)
    spec = network_policy(model, config)["spec"]
    entry = spec["ingress"][0]
    assert namespace("istio-system") in entry["from"] and entry["ports"] == tcp(9000)
    assert {"podSelector": {"matchLabels": {"serving.kserve.io/inferenceservice": "scorer"}}} in entry["from"]
    assert spec["ingress"][1] == {"from": [namespace("monitoring")], "ports": tcp(9000, 15090)}
    assert {"to": [namespace("istio-system")], "ports": tcp(15012)} in spec["egress"]


def test_path_knative(tmp_path):
    """Serverless pods take requests on the queue-proxy (8012), from the activator or the gateway,
    and the autoscaler scrapes the queue-proxy's metrics. Checked: the entry is admitted on 8012,
    and Knative's namespace on every port (a rule without ports)."""
    text = MODEL.replace("  container: {port: 9000}\n", "  mode: serverless\n")
    envs, config, _ = _envs(tmp_path, text)
    spec = network_policy(envs["prod"].model, config)["spec"]
    assert spec["podSelector"] == {"matchLabels": {"serving.kserve.io/inferenceservice": "scorer",
                                                   "component": "predictor"}}
    assert spec["ingress"][0]["ports"] == tcp(8012) and namespace("istio-system") in spec["ingress"][0]["from"]
    assert spec["ingress"][2] == {"from": [namespace("knative-serving")]}
    assert spec["ingress"][1]["ports"] == tcp(8080)  # Prometheus: the PodMonitor's user port


def test_path_rollouts_traffic_shifting(tmp_path):
    """Argo Rollouts shifts traffic by rewriting the stable/canary Services and the VirtualService;
    its controller never connects to pods. Checked: the policy selects exactly the pods the Rollout
    selects (stable and canary alike: Rollouts only adds its template hash), the stable and
    canary Services target a port the policy admits, and no rule depends on the template hash."""
    text = MODEL.replace("  environments:", "  slo: {availability: 99.9}\n  canary: {trafficRouting: istio}\n"
                                            "  environments:")
    envs, config, _ = _envs(tmp_path, text)
    objects = overlay_files(envs["prod"], config)["model.yaml"]
    (rollout,) = [o for o in objects if o["kind"] == "Rollout"]
    policy = _policy(envs["prod"], config)
    assert policy["spec"]["podSelector"] == rollout["spec"]["selector"]
    services = [o for o in objects if o["kind"] == "Service"]
    assert {s["metadata"]["name"] for s in services} == {"scorer-stable", "scorer-canary"}
    admitted = {p["port"] for p in policy["spec"]["ingress"][0]["ports"]}
    assert all(port["targetPort"] in admitted for s in services for port in s["spec"]["ports"])
    assert "rollouts-pod-template-hash" not in json.dumps(policy)


def test_path_payload_logger(tmp_path):
    """With a logger, KServe's Standard-mode Service targets its agent (9081) in the pod. Checked:
    callers and Prometheus are admitted on 9081 besides the model server's port."""
    text = MODEL.replace("  environments:", "  logger: {url: http://logger.observability.svc}\n  environments:")
    envs, config, _ = _envs(tmp_path, text)
    ingress = network_policy(envs["prod"].model, config)["spec"]["ingress"]
    assert ingress[0]["ports"] == tcp(9000, 9081) and ingress[1]["ports"] == tcp(9000, 9081)


# --- the model file ---------------------------------------------------------------------------------

@pytest.mark.parametrize("item, message", [
    ("{}", "allowFrom[0]"),
    ("{namespace: Not_A_Namespace}", "namespace"),
    ("{podLabels: {}}", "podLabels"),
    ("{pods: {app: x}}", "pods"),
])
def test_a_malformed_caller_is_a_schema_error(tmp_path, item, message):
    _assert_schema_error(tmp_path, MODEL.replace("      - {namespace: frontend}", f"      - {item}"), message)


def _assert_schema_error(tmp_path, text: str, message: str) -> None:
    """The model file `text` is refused by its schema with a finding that mentions `message`."""
    root = copy_sources(tmp_path / "repo")
    (root / "models/scorer.yaml").write_text(text)
    diags = Diagnostics()
    assert read_model_file(str(root), "models/scorer.yaml", diags) is None
    found = [d.format() for d in diags]
    assert any(message in f and ("spec.schema" in f or "spec.unknown-field" in f) for f in found), found


@pytest.mark.parametrize("item, message", [
    ("{}", "to[0]"),
    ("{cidr: everywhere}", "cidr"),
    ("{port: 0}", "port"),
    ("{namespace: x, ports: [1]}", "ports"),
])
def test_a_malformed_destination_is_a_schema_error(tmp_path, item, message):
    _assert_schema_error(tmp_path, EGRESS_MODEL.replace("        - {namespace: features, port: 6379}",
                                                        f"        - {item}"), message)


def test_every_leaf_has_provenance_and_callers_point_at_their_lines(tmp_path):
    envs, config, _ = _envs(tmp_path, MODEL)
    (origin,) = [o for o in overlay_origins(envs["prod"], config)["model.yaml"] if o.obj["kind"] == "NetworkPolicy"]
    assert origin.gaps == set()
    ingress = ("spec", "ingress", 0, "from")
    assert origin.fields[ingress + (1, "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name")] == \
        ("spec", "networkPolicy", "allowFrom", 0, "namespace")
    assert origin.fields[ingress + (2, "podSelector", "matchLabels", "app")] == \
        ("spec", "networkPolicy", "allowFrom", 1, "podLabels", "app")
    assert origin.fields[("spec", "ingress", 0, "ports", 0, "port")] == ("spec", "container", "port")
    assert origin.model_path(ingress + (4,)) is None  # the gateway namespace: mlgitops.yaml's network


def test_example_overlays_with_the_policy_on_stay_policy_clean(tmp_path, cli):
    """The repository's policies find nothing new when every example model turns it on everywhere."""
    def findings(root):
        build(str(root), use_cache=False)
        result = cli("policy", "check", "--repo", str(root), "--format", "json")
        return sorted(json.dumps({k: v for k, v in d.items() if k not in ("line", "column")}, sort_keys=True)
                      for d in json.loads(result.stdout)["diagnostics"])

    off, on = copy_sources(tmp_path / "off"), copy_sources(tmp_path / "on")
    for root in (off, on):
        shutil.copytree(REPO_ROOT / "policies", root / "policies")
    models = sorted((on / "models").glob("*.yaml"))
    config = (on / "mlgitops.yaml").read_text()
    loaded = load_config(str(on), Diagnostics())
    # With the policy on everywhere, a model that restricts egress (churn) must reach its store in
    # every environment: an endpoint without egressTo (an S3 region, e.g. staging's) gets S3's
    # address range, or the build refuses it (spec.network-egress), which is the rule working.
    endpoints = {name: {**yaml.safe_load(config)["storage"]["endpoints"][name],
                        "egressTo": [{"cidr": "52.216.0.0/15", "port": 443}]}
                 for name, endpoint in loaded.storage_endpoints.items() if not endpoint.egress_to}
    (on / "mlgitops.yaml").write_text(merge_config(config, json.dumps(
        {"environments": {name: {"networkPolicy": True} for name in loaded.environments},
         "storage": {"endpoints": endpoints}})))
    diagnostics = build(str(on), use_cache=False).diagnostics
    assert not diagnostics.has_errors, [d.format() for d in diagnostics]
    found = findings(on)
    environments = load_config(str(on), Diagnostics()).environments
    assert sum(b"kind: NetworkPolicy" in c for c in tree_bytes(on).values()) >= len(models) * len(environments)
    assert found == findings(off)


def test_the_model_schema_describes_the_section():
    from mlgitops.modelfiles import model_schema

    section = model_schema()["properties"]["spec"]["properties"]["networkPolicy"]
    assert "default" not in section["properties"]["enabled"]  # it depends on the environment
    assert "mlgitops.yaml" in section["properties"]["enabled"]["description"]
    assert "networkPolicy" in model_schema()["definitions"]["environmentOverride"]["properties"]
    assert textwrap.dedent(section["description"]).startswith("A NetworkPolicy of the predictor pods")
    assert "network.entryNamespaces" in section["description"]
    assert set(section["properties"]["egress"]["properties"]) == {"enabled", "to"}
