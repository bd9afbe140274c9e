"""spec.networkPolicy (expand/networkpolicy.py): off by default, the ingress it allows when on,
per-environment overrides, schema errors, provenance, and policy-clean example overlays."""

from __future__ import annotations

import json
import shutil
import textwrap

import pytest

from conftest import REPO_ROOT, copy_sources, tree_bytes
from mlgitops.config import load_config
from mlgitops.diagnostics import Diagnostics
from mlgitops.expand.networkpolicy import SECTION, network_policy
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


def _envs(tmp_path, text: str):
    root = copy_sources(tmp_path / "repo")
    (root / "models/scorer.yaml").write_text(text)
    diags = Diagnostics()
    config = load_config(str(root), diags)
    file = read_model_file(str(root), "models/scorer.yaml", diags)
    assert file is not None, [d.format() for d in diags]
    return {me.env.name: me for me in resolve(file, config)}, config, diags


def _kinds(me, config) -> list[str]:
    return [o["kind"] for o in overlay_files(me, config)["model.yaml"]]


def test_the_policy_allows_callers_the_gateway_and_prometheus_only(tmp_path):
    envs, config, _ = _envs(tmp_path, MODEL)
    policy = network_policy(envs["prod"].model, config)

    def namespace(name):
        return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}}}

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
                          namespace("istio-system")],
                 "ports": [{"port": 9000, "protocol": "TCP"}]},
                # no SLO, so no canary analysis and no sidecar scrape: the model server's port only
                {"from": [namespace("monitoring")], "ports": [{"port": 9000, "protocol": "TCP"}]},
            ],
        },
    }
    assert _kinds(envs["prod"], config)[-1] == "NetworkPolicy"
    assert "NetworkPolicy" not in _kinds(envs["staging"], config)


def test_prometheus_may_scrape_the_sidecars_when_a_query_reads_them(tmp_path):
    text = MODEL.replace("  environments:", "  slo: {availability: 99.9}\n  environments:")
    envs, config, _ = _envs(tmp_path, text)
    monitoring = network_policy(envs["prod"].model, config)["spec"]["ingress"][1]
    assert monitoring["ports"] == [{"port": 9000, "protocol": "TCP"}, {"port": 15090, "protocol": "TCP"}]


def test_serverless_pods_take_requests_on_the_queue_proxy_and_let_knative_in(tmp_path):
    text = MODEL.replace("  container: {port: 9000}\n", "  mode: serverless\n")
    envs, config, _ = _envs(tmp_path, text)
    spec = network_policy(envs["prod"].model, config)["spec"]
    assert spec["podSelector"] == {"matchLabels": {"serving.kserve.io/inferenceservice": "scorer",
                                                   "component": "predictor"}}
    assert spec["ingress"][0]["ports"] == [{"port": 8012, "protocol": "TCP"}]
    assert spec["ingress"][2] == {"from": [{"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": "knative-serving"}}}]}


def test_off_by_default(tmp_path):
    text = MODEL[:MODEL.index("  networkPolicy:")]
    envs, config, _ = _envs(tmp_path, text)
    assert all("NetworkPolicy" not in _kinds(me, config) for me in envs.values())
    assert envs["prod"].model.section(SECTION).enabled is False


@pytest.mark.parametrize("item, message", [
    ("{}", "allowFrom[0]"),
    ("{namespace: Not_A_Namespace}", "namespace"),
    ("{podLabels: {}}", "podLabels"),
    ("{pods: {app: x}}", "pods"),
])
def test_a_malformed_caller_is_a_schema_error(tmp_path, item, message):
    text = MODEL.replace("      - {namespace: frontend}", f"      - {item}")
    root = copy_sources(tmp_path / "repo")
    (root / "models/scorer.yaml").write_text(text)
    diags = Diagnostics()
    assert read_model_file(str(root), "models/scorer.yaml", diags) is None
    found = [d.format() for d in diags]
    assert any(message in f and ("spec.schema" in f or "spec.unknown-field" in f) for f in found), found


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
    assert origin.model_path(ingress + (4,)) is None  # the gateway namespace: a documented default


def test_example_overlays_with_the_policy_on_stay_policy_clean(tmp_path, cli):
    """The repository's policies find nothing new when every example model turns it on."""
    def findings(root):
        build(str(root), use_cache=False)
        result = cli("policy", "check", "--repo", str(root), "--format", "json")
        return sorted(json.dumps({k: v for k, v in d.items() if k not in ("line", "column")}, sort_keys=True)
                      for d in json.loads(result.stdout)["diagnostics"])

    off, on = copy_sources(tmp_path / "off"), copy_sources(tmp_path / "on")
    for root in (off, on):
        shutil.copytree(REPO_ROOT / "policies", root / "policies")
    for path in sorted((on / "models").glob("*.yaml")):
        path.write_text(path.read_text().replace("\nspec:\n", "\nspec:\n  networkPolicy: {enabled: true}\n", 1))
    found = findings(on)
    assert sum(b"kind: NetworkPolicy" in c for c in tree_bytes(on).values()) >= 8  # 4 models x 2 environments
    assert found == findings(off)


def test_the_model_schema_describes_the_section():
    from mlgitops.modelfiles import model_schema

    section = model_schema()["properties"]["spec"]["properties"]["networkPolicy"]
    assert section["properties"]["enabled"]["default"] is False
    assert "networkPolicy" in model_schema()["definitions"]["environmentOverride"]["properties"]
    assert textwrap.dedent(section["description"]).startswith("Restrict ingress")
