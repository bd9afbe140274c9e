"""The policies as the clusters run them: bindings scoped to what mlgitops manages, waivers carried
to the cluster as labels (and still enforced offline), and the Argo CD Application that syncs
policies/.

Runs `mlgitops build` and `mlgitops policy check` on throw-away copies of the example repository;
the policy files are read as plain YAML, independently of mlgitops' own loader.
"""

from __future__ import annotations

import fnmatch
import json
import pathlib
import shutil

import pytest
import yaml

from conftest import copy_sources, tree_bytes
from tooling import REPO_ROOT
from yamldocs import documents

POLICIES = REPO_ROOT / "policies"
PREFIX = "waivers.mlgitops.dev/"
MANAGED = {"app.kubernetes.io/managed-by": "mlgitops"}
TODAY = "2026-11-23"  # before the example's waivers expire (2027-03-31)
# The example's waivers: (environment, model) -> the waiver labels of its overlay.
EXAMPLE_WAIVERS = {
    ("prod", "churn"): {PREFIX + "slo-objectives": "2027-03-31"},
    ("prod", "fraud"): {PREFIX + "canary-analysis-required": "2027-03-31"},
}


@pytest.fixture(autouse=True)
def _today(monkeypatch):
    monkeypatch.setenv("MLGITOPS_TODAY", TODAY)


def _policy_documents() -> list[tuple[pathlib.Path, dict, dict]]:
    out = []
    for path in sorted(POLICIES.glob("*.yaml")):
        policy, binding = list(yaml.safe_load_all(path.read_text()))
        out.append((path, policy, binding))
    return out


def _copy(tmp_path: pathlib.Path) -> pathlib.Path:
    repo = copy_sources(tmp_path / "repo", with_output=True)
    shutil.copytree(POLICIES, repo / "policies")
    return repo


def _check(cli, repo: pathlib.Path, *paths: str) -> tuple[int, list[dict]]:
    result = cli("policy", "check", "--repo", str(repo), "--format", "json", *paths)
    return result.exit_code, json.loads(result.stdout)["diagnostics"]


def _build(cli, repo: pathlib.Path) -> None:
    built = cli("build", "--repo", str(repo), "--no-cache", "-q")
    assert built.exit_code == 0, built.stderr


# --- the policy files, as the API server reads them -------------------------------------------------

def test_policies_are_written_for_the_api_server():
    """No `fieldPath` (not a field of Validation), one field path per validation in the annotation,
    no CEL reserved word as a variable name, concrete versions in every resource rule."""
    reserved = {"namespace", "package", "in", "as", "break", "const", "continue", "else", "for", "function",
                "if", "import", "let", "loop", "return", "var", "void", "while", "true", "false", "null"}
    for path, policy, _ in _policy_documents():
        spec = policy["spec"]
        validations = spec["validations"]
        assert all("fieldPath" not in v for v in validations), path
        paths = policy["metadata"]["annotations"]["mlgitops.dev/field-paths"].split("\n")
        assert len(paths) == len(validations) and all(p.strip() == p and p for p in paths), path
        assert not {v["name"] for v in spec.get("variables", [])} & reserved, path
        for rule in spec["matchConstraints"]["resourceRules"]:
            assert len(rule["apiGroups"]) == 1 and "*" not in rule["apiVersions"], (path, rule)
            assert "*" not in rule["resources"], (path, rule)


def test_rule_versions_are_served_by_the_upstream_crds():
    """Each rule's versions exist for its group (the CRDs in ../shared/crds; built-in kinds by name)."""
    builtin = {"": {"v1"}, "apps": {"v1"}, "autoscaling": {"v2"}, "policy": {"v1"}, "networking.k8s.io": {"v1"}}
    from tooling import require_shared

    served: dict[tuple[str, str], set[str]] = {}
    for crd_file in require_shared("crds").glob("*.yaml"):
        for doc in documents(crd_file):
            if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                spec = doc["spec"]
                served[(spec["group"], spec["names"]["plural"])] = {
                    v["name"] for v in spec["versions"] if v.get("served")}
    for path, policy, _ in _policy_documents():
        for rule in policy["spec"]["matchConstraints"]["resourceRules"]:
            group = rule["apiGroups"][0]
            for resource in rule["resources"]:
                versions = builtin.get(group) or served[(group, resource)]
                assert set(rule["apiVersions"]) <= versions, (path, group, resource)


def test_namespace_environment_messages_do_not_list_map_keys():
    """params.data is a map: a message built by iterating it would differ between runs and between
    CI and the API server."""
    _, policy, _ = next(d for d in _policy_documents() if d[0].stem == "namespace-environment")
    for validation in policy["spec"]["validations"]:
        text = validation.get("messageExpression", "")
        assert "params.data.map(" not in text and "params.data.filter(" not in text, text


# --- waiver labels: mlgitops build ------------------------------------------------------------------

def _kustomization_labels(root: pathlib.Path) -> dict[tuple[str, str], dict]:
    """(overlays/ directory, model) -> the labels its kustomization puts on every object. A
    cluster's overlay (overlays/<env>@<cluster>/<model>) that only refers to its environment's
    overlay has no labels of its own: it gets those of the overlay it refers to."""
    out = {}
    for path in sorted((root / "overlays").glob("*/*/kustomization.yaml")):
        doc = yaml.safe_load(path.read_text())
        if "labels" not in doc:
            env, _, cluster = path.parent.parent.name.partition("@")
            assert cluster and doc["resources"] == [f"../../{env}/{path.parent.name}"], path
            doc = yaml.safe_load((root / "overlays" / env / path.parent.name / "kustomization.yaml").read_text())
        pairs = {k: v for entry in doc["labels"] for k, v in entry["pairs"].items()}
        out[(path.parent.parent.name, path.parent.name)] = pairs
    return out


def _overlay_dirs(root: pathlib.Path) -> list[tuple[str, str]]:
    """(environment, model) of every overlay directory, once per cluster directory of an environment
    (overlays/<env>@<cluster>/<model> counts as <env>): as Argo CD deploys them."""
    return [(path.parent.name.partition("@")[0], path.name)
            for path in sorted((root / "overlays").glob("*/*")) if path.is_dir()]


def test_waiver_labels_exactly_where_the_models_waive():
    found = {key: {k: v for k, v in labels.items() if k.startswith(PREFIX)}
             for key, labels in _kustomization_labels(REPO_ROOT).items()}
    # every overlay of a waived model in the waiver's environment, a prod cluster's own included
    by_env = {(directory.partition("@")[0], model): labels for (directory, model), labels in found.items()}
    assert {key: labels for key, labels in by_env.items() if labels} == EXAMPLE_WAIVERS
    assert all(labels == EXAMPLE_WAIVERS.get((directory.partition("@")[0], model), {})
               for (directory, model), labels in found.items())
    assert any("@" in directory for directory, _ in found)  # the example's prod-eu overlays are seen
    # one overlay per model and overlay directory (environments and clusters with their own)
    models = sorted(p.stem for p in (REPO_ROOT / "models").glob("*.yaml"))
    directories = sorted(p.name for p in (REPO_ROOT / "overlays").iterdir() if p.is_dir())
    assert sorted(found) == sorted((d, m) for d in directories for m in models)


def test_every_object_of_a_waived_overlay_carries_the_label():
    from mlgitops.kustomize.engine import render_objects

    for (env, model), labels in EXAMPLE_WAIVERS.items():
        objects = render_objects(str(REPO_ROOT / "overlays" / env / model), repo_root=str(REPO_ROOT))
        assert objects
        for obj in objects:
            assert labels.items() <= obj["metadata"]["labels"].items(), (env, model, obj["kind"])
            assert MANAGED.items() <= obj["metadata"]["labels"].items()
    for obj in render_objects(str(REPO_ROOT / "overlays/staging/churn"), repo_root=str(REPO_ROOT)):
        assert not any(k.startswith(PREFIX) for k in obj["metadata"]["labels"]), obj["kind"]


def test_waiver_labels_follow_environments_and_expiry(cli, tmp_path):
    """A waiver without `environments` labels every environment; the label carries the expiry."""
    repo = _copy(tmp_path)
    path = repo / "models" / "iris.yaml"
    text = path.read_text()
    assert "  policyExceptions:" not in text
    text = text.replace("spec:\n", "spec:\n  policyExceptions:\n    - policy: read-only-root-filesystem\n"
                        "      reason: KServe's sklearn runtime writes to /tmp.\n      expires: \"2027-01-15\"\n", 1)
    path.write_text(text)
    _build(cli, repo)
    labels = _kustomization_labels(repo)
    for env in ("prod", "staging"):
        assert labels[(env, "iris")][PREFIX + "read-only-root-filesystem"] == "2027-01-15"
    code, diags = _check(cli, repo)
    assert code == 0
    waived = sorted(d["message"].split(":")[0] for d in diags
                    if d["rule"] == "policy.waived" and "read-only-root-filesystem" in d["message"])
    assert waived == ["InferenceService iris (prod)", "InferenceService iris (staging)"]
    assert not any(d["rule"] == "policy.read-only-root-filesystem" and "iris" in d["message"] for d in diags)


def test_waiver_labels_unit():
    from mlgitops.expand.waivers import WAIVER_LABEL_PREFIX, waived_policy, waiver_label, waiver_labels

    assert WAIVER_LABEL_PREFIX == PREFIX
    assert waiver_label("pdb-required") == PREFIX + "pdb-required"
    assert waived_policy(PREFIX + "pdb-required") == "pdb-required"
    assert waived_policy("mlgitops.dev/team") is None
    entries = [
        {"policy": "a", "reason": "r", "expires": "2027-01-01", "environments": ["prod"]},
        {"policy": "b", "reason": "r", "expires": "2027-02-01"},
        {"policy": "a", "reason": "r", "expires": "2027-03-01", "environments": ["prod", "staging"]},
        {"policy": "x" * 64, "reason": "r", "expires": "2027-01-01"},  # no label can name it
    ]
    assert waiver_labels(entries, "prod") == {PREFIX + "a": "2027-03-01", PREFIX + "b": "2027-02-01"}
    assert waiver_labels(entries, "staging") == {PREFIX + "a": "2027-03-01", PREFIX + "b": "2027-02-01"}
    assert waiver_labels(entries, "dev") == {PREFIX + "b": "2027-02-01"}
    assert waiver_labels(None, "prod") == {}


# --- waiver labels: mlgitops policy check -----------------------------------------------------------

def test_the_api_server_skips_waived_objects_policy_check_reports_them():
    """Matching as the API server does, the binding skips churn's prod PrometheusRule (waiver
    label); policy check evaluates it and reports the violation as waived."""
    from mlgitops.policy.check import check, run_policy
    from mlgitops.policy.load import load_policies
    from mlgitops.policy.match import Target
    from mlgitops.kustomize.engine import render_objects

    pset = load_policies(str(POLICIES), str(REPO_ROOT))
    rule = next(o for o in render_objects(str(REPO_ROOT / "overlays/prod/churn"), repo_root=str(REPO_ROOT))
                if o["kind"] == "PrometheusRule" and o["metadata"]["name"] == "churn-slo")
    policy = pset.get("slo-objectives")
    assert policy is not None
    assert list(run_policy(policy, Target(rule, {}), pset)) == []
    unlabelled = {**rule, "metadata": {**rule["metadata"], "labels": {
        k: v for k, v in rule["metadata"]["labels"].items() if not k.startswith(PREFIX)}}}
    [(_, outcome)] = list(run_policy(policy, Target(unlabelled, {}), pset))
    assert not isinstance(outcome, str) and outcome.violations

    import datetime

    report = check([], str(REPO_ROOT), str(POLICIES), day=datetime.date(2026, 11, 23))
    waived = sorted((d.file, d.message.split(":")[0]) for d in report.diagnostics if d.rule == "policy.waived")
    assert waived == [("models/churn.yaml", "PrometheusRule churn-slo (prod)"),
                      ("models/fraud.yaml", "InferenceService fraud (prod)")]
    # one waived violation per overlay of a waived model (each prod cluster's counts: the same
    # diagnostic, so reported once)
    overlays = [key for key in _overlay_dirs(REPO_ROOT) if key in EXAMPLE_WAIVERS]
    assert len(overlays) > len(EXAMPLE_WAIVERS)
    assert report.waived == len(overlays) and not report.diagnostics.has_errors


def test_an_expired_waiver_fails_although_the_label_is_there(cli, monkeypatch):
    monkeypatch.setenv("MLGITOPS_TODAY", "2027-04-01")
    code, diags = _check(cli, REPO_ROOT)
    errors = sorted((d["rule"], d["message"].split(":")[0]) for d in diags if d["severity"] == "error")
    assert code == 1
    assert errors == [
        ("policy.canary-analysis-required", "InferenceService fraud (prod)"),
        ("policy.slo-objectives", "PrometheusRule churn-slo (prod)"),
        ("policy.waiver-expired", "policyExceptions[0]"),
        ("policy.waiver-expired", "policyExceptions[0]"),
    ]
    assert sorted(d["file"] for d in diags if d["rule"] == "policy.waiver-expired") == [
        "models/churn.yaml", "models/fraud.yaml"]
    assert not any(d["rule"] in ("policy.waived", "policy.waiver-label") for d in diags)


def test_a_waiver_label_added_by_hand_to_a_model_is_an_error(cli, tmp_path):
    """iris labels itself as waiving pod-security: every iris object, in both environments."""
    repo = _copy(tmp_path)
    path = repo / "models" / "iris.yaml"
    text = path.read_text()
    text = text.replace("  team: ml-platform\n", "  team: ml-platform\n  labels:\n"
                        "    waivers.mlgitops.dev/pod-security: \"2099-01-01\"\n", 1)
    path.write_text(text)
    _build(cli, repo)
    code, diags = _check(cli, repo)
    errors = [d for d in diags if d["severity"] == "error"]
    assert code == 1
    assert {d["rule"] for d in errors} == {"policy.waiver-label"}
    objects = sum(1 for env in ("prod", "staging") for doc in
                  (yaml.safe_load_all((repo / "overlays" / env / "iris" / f).read_text())
                   for f in ("model.yaml", "monitoring.yaml")) for o in doc if o)
    assert len(errors) == objects
    assert all(d["file"] == "models/iris.yaml" for d in errors)
    assert all("label waivers.mlgitops.dev/pod-security=2099-01-01 switches policy pod-security off" in d["message"]
               and "models/iris.yaml has no waiver of pod-security in " in d["message"] for d in errors)


def test_a_waiver_label_extended_in_a_kustomization_is_an_error(cli, tmp_path):
    repo = _copy(tmp_path)
    path = repo / "overlays/prod/churn/kustomization.yaml"
    text = path.read_text()
    assert text.count('waivers.mlgitops.dev/slo-objectives: "2027-03-31"') == 1
    path.write_text(text.replace('slo-objectives: "2027-03-31"', 'slo-objectives: "2099-03-31"'))
    code, diags = _check(cli, repo)
    errors = [d for d in diags if d["severity"] == "error"]
    assert code == 1 and errors
    assert {d["rule"] for d in errors} == {"policy.waiver-label"}
    assert all("(prod)" in d["message"] and "its waiver of slo-objectives in prod expires on 2027-03-31"
               in d["message"] for d in errors)
    # the violation itself is still reported as waived (the model's waiver is valid)
    assert any(d["rule"] == "policy.waived" and "churn-slo (prod)" in d["message"] for d in diags)


MANIFEST = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: legacy-scorer
  namespace: ml-prod
  labels:
    app.kubernetes.io/managed-by: mlgitops
    mlgitops.dev/environment: prod
    mlgitops.dev/team: risk
    app.kubernetes.io/name: legacy-scorer
    waivers.mlgitops.dev/pod-security: "2099-01-01"
spec:
  selector:
    matchLabels: {app: legacy-scorer}
  template:
    metadata:
      labels: {app: legacy-scorer}
    spec:
      containers:
      - name: scorer
        image: ghcr.io/example/scorer:2.3.1
        resources:
          requests: {cpu: 500m, memory: 1Gi}
          limits: {cpu: "1", memory: 1Gi}
        securityContext:
          readOnlyRootFilesystem: true
"""


def test_a_waiver_label_on_a_hand_written_manifest_is_an_error(cli, tmp_path):
    """No model backs it: the label error, and the violation it would hide in the cluster."""
    path = tmp_path / "legacy.yaml"
    path.write_text(MANIFEST)
    code, diags = _check(cli, REPO_ROOT, str(path))
    errors = sorted((d["rule"], d["line"]) for d in diags if d["severity"] == "error")
    assert code == 1
    assert [rule for rule, _ in errors] == ["policy.pod-security", "policy.waiver-label"]
    label = next(d for d in diags if d["rule"] == "policy.waiver-label")
    assert "was not generated from a model file" in label["message"]


# --- scope ------------------------------------------------------------------------------------------

def test_objects_mlgitops_does_not_manage_are_not_checked(cli, tmp_path):
    """What a cluster or Argo CD creates by itself passes every binding untouched."""
    path = tmp_path / "cluster.yaml"
    path.write_text(yaml.safe_dump_all([
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": "ml-prod"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kube-root-ca.crt", "namespace": "ml-prod"},
         "data": {"ca.crt": "x"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
            "name": "argocd-cm", "namespace": "argocd", "labels": {"app.kubernetes.io/part-of": "argocd"}}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "coredns", "namespace": "kube-system"},
         "spec": {"selector": {"matchLabels": {"k": "v"}}, "template": {
             "metadata": {"labels": {"k": "v"}}, "spec": {"containers": [{"name": "c", "image": "coredns"}]}}}},
    ]))
    code, diags = _check(cli, REPO_ROOT, str(path), str(POLICIES / "params"))
    assert code == 0 and diags == [], diags


# --- the Argo CD Application ------------------------------------------------------------------------

APPS = "argocd/applicationsets"


def _policies_apps(root: pathlib.Path) -> dict[str, dict]:
    """The policies Applications (mlgitops-policies*.yaml) by repo-relative path."""
    return {p.relative_to(root).as_posix(): yaml.safe_load(p.read_text())
            for p in sorted((root / APPS).glob("mlgitops-policies*.yaml"))}


def _expected_policies_apps(config: dict) -> dict[str, str]:
    """Application name -> destination server, read from mlgitops.yaml as plain YAML: one per
    distinct cluster, named after the first environment (and cluster of a `clusters` list) using it;
    plain `mlgitops-policies` when every environment shares one cluster."""
    first: dict[str, str] = {}
    for env, spec in config["environments"].items():
        clusters = [(f"{env}-{c['name']}", c["server"]) for c in spec["clusters"]] if "clusters" in spec \
            else [(env, spec.get("server", "https://kubernetes.default.svc"))]
        for suffix, server in clusters:
            first.setdefault(server, suffix)
    if len(first) == 1:
        return {"mlgitops-policies": server for server in first}
    return {f"mlgitops-policies-{suffix}": server for server, suffix in first.items()}


def test_the_policies_application():
    apps = _policies_apps(REPO_ROOT)
    appset = yaml.safe_load((REPO_ROOT / "argocd/applicationsets/prod.yaml").read_text())
    root = yaml.safe_load((REPO_ROOT / "argocd/root.yaml").read_text())
    expected = _expected_policies_apps(yaml.safe_load((REPO_ROOT / "mlgitops.yaml").read_text()))
    assert len(expected) > 1  # the example's prod-eu cluster is not the staging/prod-us one
    assert {app["metadata"]["name"]: app["spec"]["destination"]["server"] for app in apps.values()} == expected
    from test_appproject import glob

    for path, app in apps.items():
        assert path == f"{APPS}/{app['metadata']['name']}.yaml"
        assert app["apiVersion"] == "argoproj.io/v1alpha1" and app["kind"] == "Application"
        assert app["metadata"] == {"name": app["metadata"]["name"], "namespace": "argocd",
                                   "labels": appset["metadata"]["labels"],
                                   "annotations": {"argocd.argoproj.io/sync-wave": "-1"}}
        spec = app["spec"]
        # its own project, the only one allowed the cluster-scoped admission kinds (tests/test_appproject.py)
        assert spec["project"] == "ml-models-policies" and root["spec"]["project"] == "ml-models-root"
        assert spec["source"] == {"repoURL": root["spec"]["source"]["repoURL"],
                                  "targetRevision": root["spec"]["source"]["targetRevision"], "path": "policies",
                                  "directory": {"recurse": True, "exclude": "tests/*"}}
        assert spec["destination"] == {"server": expected[app["metadata"]["name"]], "namespace": "mlgitops-policy"}
        assert spec["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
        assert "CreateNamespace=true" in spec["syncPolicy"]["syncOptions"]
        # the root app syncs the directory the Application is in (its `include` glob: `*` crosses '/')
        assert root["spec"]["source"]["path"] == "argocd"
        assert glob(root["spec"]["source"]["directory"]["include"], path.removeprefix("argocd/"))
        # every parameter lives where the Application creates its namespace
        for params in (POLICIES / "params").glob("*.yaml"):
            assert yaml.safe_load(params.read_text())["metadata"]["namespace"] == spec["destination"]["namespace"]


def test_the_application_syncs_policies_and_params_but_not_tests():
    """Argo CD's directory source: .yaml/.yml/.json files under `path` (recurse), minus those whose
    path relative to `path` matches `exclude` (a glob whose `*` also crosses '/')."""
    apps = _policies_apps(REPO_ROOT)
    assert apps
    for app in apps.values():
        exclude = app["spec"]["source"]["directory"]["exclude"]
        files = sorted(p.relative_to(POLICIES).as_posix() for p in POLICIES.rglob("*")
                       if p.is_file() and p.suffix in (".yaml", ".yml", ".json"))
        synced = [f for f in files if not fnmatch.fnmatchcase(f, exclude)]
        assert synced == sorted([p.name for p in POLICIES.glob("*.yaml")]
                                + [f"params/{p.name}" for p in (POLICIES / "params").glob("*.yaml")])
        kinds = {doc["kind"] for f in synced for doc in yaml.safe_load_all((POLICIES / f).read_text()) if doc}
        assert kinds == {"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "ConfigMap"}


def _destinations(repo: pathlib.Path) -> dict[str, dict]:
    return {path.removeprefix(APPS + "/"): app["spec"]["destination"] for path, app in _policies_apps(repo).items()}


def test_one_policies_application_per_cluster(cli, tmp_path):
    from tooling import without_section

    repo = copy_sources(tmp_path / "repo")
    config = repo / "mlgitops.yaml"
    text = config.read_text()
    policy = {"namespace": "mlgitops-policy"}
    # the example: one Application per distinct cluster (staging and prod-us share the default
    # cluster, named after staging, the first environment there; prod-eu is a cluster of its own)
    _build(cli, repo)
    expected = _expected_policies_apps(yaml.safe_load(text))
    assert len(expected) > 1
    assert _destinations(repo) == {f"{name}.yaml": {"server": server, **policy} for name, server in expected.items()}
    assert tree_bytes(repo) == tree_bytes(REPO_ROOT)
    # one cluster per environment, each its own: one Application per environment
    environments = "environments:\n  staging:\n    namespace: ml-staging\n    server: https://kubernetes.default.svc\n" \
                   "  prod:\n    namespace: ml-prod\n    server: {server}\n"
    base = without_section(text, "environments")
    assert "environments:" not in base and "prod-eu" not in base
    config.write_text(base + environments.format(server="https://prod.example.com:6443"))
    _build(cli, repo)
    apps = _policies_apps(repo)
    assert apps[f"{APPS}/mlgitops-policies-prod.yaml"]["metadata"]["name"] == "mlgitops-policies-prod"
    assert _destinations(repo) == {
        "mlgitops-policies-prod.yaml": {"server": "https://prod.example.com:6443", **policy},
        "mlgitops-policies-staging.yaml": {"server": "https://kubernetes.default.svc", **policy}}
    # every environment on one cluster: one Application, the per-environment ones removed
    config.write_text(base + environments.format(server="https://kubernetes.default.svc"))
    _build(cli, repo)
    assert _destinations(repo) == {"mlgitops-policies.yaml": {"server": "https://kubernetes.default.svc", **policy}}
    # back to the example
    config.write_text(text)
    _build(cli, repo)
    assert tree_bytes(repo) == tree_bytes(REPO_ROOT)


# The same on a real API server (every policy installed, the example admitted with policy check's
# warnings, waived objects admitted through their labels and denied without them, what mlgitops
# does not manage left alone): tests/test_apiserver_policies.py.
