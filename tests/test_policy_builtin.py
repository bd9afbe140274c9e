"""The built-in policy set in policies/: its own test cases, the example repository against it, and
for each policy a realistic mistake that yields exactly that policy's finding at the line that made it.

Runs the real CLI (`mlgitops policy test`, `mlgitops build`, `mlgitops policy check`) on the
repository's policies and on throw-away copies of the example repository.
"""

from __future__ import annotations

import json
import pathlib
import shutil

import pytest
import yaml

from conftest import GENERATED_ROOTS, copy_sources
from tooling import REPO_ROOT

POLICIES = REPO_ROOT / "policies"
# The waivers in models/*.yaml expire on 2027-03-31; the example is judged on a fixed day before that.
TODAY = "2026-11-23"


def _policy_names() -> set[str]:
    names = set()
    for path in POLICIES.glob("*.yaml"):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") == "ValidatingAdmissionPolicy":
                names.add(doc["metadata"]["name"])
    return names


def _check(cli, repo: pathlib.Path, *paths: str) -> tuple[int, list[dict]]:
    result = cli("policy", "check", "--repo", str(repo), "--format", "json", *paths)
    return result.exit_code, json.loads(result.stdout)["diagnostics"]


@pytest.fixture(autouse=True)
def _today(monkeypatch):
    monkeypatch.setenv("MLGITOPS_TODAY", TODAY)


# --- the policies' own test cases -------------------------------------------------------------------

def test_every_policy_test_case_passes(cli):
    cases = sum(len(doc["cases"]) for path in (POLICIES / "tests").glob("*.yaml")
                for doc in yaml.safe_load_all(path.read_text()))
    result = cli("policy", "test", "--repo", str(REPO_ROOT), "--format", "json")
    report = json.loads(result.stdout)
    assert result.exit_code == 0, report["diagnostics"]
    assert report["diagnostics"] == []
    assert (report["passed"], report["failed"], report["errors"]) == (cases, 0, 0)
    text = cli("policy", "test", "--repo", str(REPO_ROOT))
    assert text.exit_code == 0 and f"{cases} passed in " in text.stderr


def test_every_policy_has_a_passing_and_a_failing_case():
    """Counted from the test files themselves, independently of the runner's own check."""
    expects: dict[str, set[str]] = {}
    for path in (POLICIES / "tests").glob("*.yaml"):
        for doc in yaml.safe_load_all(path.read_text()):
            expects.setdefault(doc["policy"], set()).update(case["expect"] for case in doc["cases"])
    names = _policy_names()
    assert len(names) == len(list(POLICIES.glob("*.yaml")))  # one policy per file
    assert set(expects) == names
    for name in names:
        assert {"pass", "fail"} <= expects[name], name


def test_bindings_and_params_are_consistent():
    """Every policy has a binding of the same name; a policy with paramKind names an existing ConfigMap;
    every binding is scoped to what mlgitops manages and skips what a model waives."""
    params = {}
    for path in (POLICIES / "params").glob("*.yaml"):
        doc = yaml.safe_load(path.read_text())
        assert doc["kind"] == "ConfigMap" and doc["metadata"]["namespace"] == "mlgitops-policy"
        assert all(isinstance(v, str) for v in doc["data"].values()), path
        params[doc["metadata"]["name"]] = doc
    for path in POLICIES.glob("*.yaml"):
        policy, binding = list(yaml.safe_load_all(path.read_text()))
        assert path.stem == policy["metadata"]["name"] == binding["spec"]["policyName"]
        assert policy["spec"]["failurePolicy"] == "Fail"
        assert binding["spec"]["validationActions"] in (["Deny"], ["Warn"])
        assert binding["spec"]["matchResources"] == {"objectSelector": {
            "matchLabels": {"app.kubernetes.io/managed-by": "mlgitops"},
            "matchExpressions": [{"key": f"waivers.mlgitops.dev/{path.stem}", "operator": "DoesNotExist"}]}}
        if "paramKind" in policy["spec"]:
            ref = binding["spec"]["paramRef"]
            assert ref["namespace"] == "mlgitops-policy" and ref["parameterNotFoundAction"] == "Deny"
            assert ref["name"] in params
        else:
            assert "paramRef" not in binding["spec"]


# --- the example repository -------------------------------------------------------------------------

# The predictor's: one per compiled overlay (model.yaml; a cluster's overlay that only refers to
# its environment's reports there), in the overlay's environment.
EXPECTED_WARNINGS = sorted(
    [("models/sentiment.yaml", f"InferenceService sentiment ({env}): transformer container(s) kserve-container "
      "should set securityContext.readOnlyRootFilesystem: true") for env in ("prod", "staging")]
    + [(path.relative_to(REPO_ROOT).as_posix(),
        f"InferenceService {path.parent.name} ({path.parent.parent.name.partition('@')[0]}): the predictor model "
        "should set securityContext.readOnlyRootFilesystem: true")
       for path in REPO_ROOT.glob("overlays/*/*/model.yaml")])


def test_example_repository_passes_every_deny_policy(cli):
    code, diags = _check(cli, REPO_ROOT)
    assert code == 0
    assert [d for d in diags if d["severity"] == "error"] == []
    # Warnings: only the documented read-only-root-filesystem one (policies/README.md), on every serving container.
    warnings = [d for d in diags if d["severity"] == "warning"]
    assert {d["rule"] for d in warnings} == {"policy.read-only-root-filesystem"}
    assert sorted((d["file"], d["message"]) for d in warnings) == EXPECTED_WARNINGS
    # The two waivers of the example, listed with their reason and expiry.
    waived = sorted((d["file"], d["message"].split("(policy ")[1].split(" waived")[0]) for d in diags
                    if d["rule"] == "policy.waived")
    assert waived == [("models/churn.yaml", "slo-objectives"), ("models/fraud.yaml", "canary-analysis-required")]


def test_example_waivers_are_needed(cli, tmp_path):
    """Without its waivers (rebuilt: the waiver labels go too) the example fails exactly the two
    waived policies, in prod only."""
    repo = _copy(tmp_path)
    for name in ("churn", "fraud"):
        path = repo / "models" / f"{name}.yaml"
        text = path.read_text()
        start = text.index("  policyExceptions:")
        end = text.index("\n  environments:", start) + 1
        path.write_text(text[:start] + text[end:])
    assert cli("build", "--repo", str(repo), "--no-cache", "-q").exit_code == 0
    assert "waivers.mlgitops.dev/" not in "".join(p.read_text() for p in (repo / "overlays").rglob("*.yaml"))
    code, diags = _check(cli, repo)
    errors = sorted((d["rule"], d["message"].split(":")[0]) for d in diags if d["severity"] == "error")
    assert code == 1
    assert errors == [("policy.canary-analysis-required", "InferenceService fraud (prod)"),
                      ("policy.slo-objectives", "PrometheusRule churn-slo (prod)")]


# --- one realistic mistake per policy ------------------------------------------------------------------

def _copy(tmp_path: pathlib.Path) -> pathlib.Path:
    repo = copy_sources(tmp_path / "repo", with_output=True)
    shutil.copytree(POLICIES, repo / "policies")
    return repo


def _line_of(path: pathlib.Path, needle: str) -> int:
    lines = path.read_text().splitlines()
    hits = [i for i, line in enumerate(lines, 1) if needle in line]
    assert len(hits) == 1, (needle, hits)
    return hits[0]


def _edit(path: pathlib.Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new))


def _errors_after_build(cli, repo: pathlib.Path) -> list[tuple[str, str, int, str]]:
    built = cli("build", "--repo", str(repo), "--no-cache", "-q")
    assert built.exit_code == 0, built.stderr
    code, diags = _check(cli, repo)
    errors = sorted((d["rule"], d["file"], d["line"], d["message"]) for d in diags if d["severity"] == "error")
    assert code == (1 if errors else 0)
    return errors


# (policy, model, old text, new text, marker of the line the finding must point at, message substring,
#  environments that must report it)
MISTAKES = [
    ("require-resources", "sentiment",
     "      limits: {cpu: \"1\", memory: 1Gi}\n    replicas: 2", "    replicas: 2",
     "  transformer:", "transformer container(s) kserve-container must set cpu and memory", ("prod", "staging")),
    ("disallow-latest-image", "sentiment", "sentiment-tokenizer:1.4.2", "sentiment-tokenizer:latest",
     "  transformer:", "transformer container(s) kserve-container must pin the image", ("prod", "staging")),
    ("storage-uri-allowlist", "iris", "gs://kfserving-examples/models/sklearn/1.0/model",
     "s3://unknown-bucket/models/iris/1.0/", "storageUri:",
     "bucket unknown-bucket of storageUri is not on the allow-list", ("prod", "staging")),
    # A name only the policy reads as a credential: a key-shaped value is refused by the build already
    # (spec.credential-value), a name of rules/env.py by spec.literal-credential.
    ("no-literal-credentials", "churn", "- name: MODEL_THRESHOLD", "- name: SIGNING_KEY",
     "- name: SIGNING_KEY", "an env var of the predictor model holds a literal credential", ("prod", "staging")),
    ("canary-analysis-required", "iris", "  canary:\n    steps:\n",
     "  canary:\n    analysis: {enabled: false}\n    steps:\n",
     # The finding points at the canary's steps, the model's `steps:` (nothing in the Rollout comes
     # from the disabled analysis).
     "    steps:", "must run an automated analysis", ("prod",)),
    ("canary-steps", "iris",
     "        pause: 2m\n      - weight: 50\n        pause: 5m\n      - weight: 75\n        pause: 5m\n",
     "      - weight: 50\n      - weight: 75\n", "    steps:", "at least one pause step", ("prod",)),
    ("slo-objectives", "sentiment", "availability: 99.5", "availability: 98.5", "availability:",
     "availability objective 98.5% is below the 99% required in prod", ("prod",)),
    ("hpa-bounds", "iris", "maxReplicas: 10", "maxReplicas: 80", "maxReplicas: 80",
     "HPA maxReplicas 80 is above the cap of 50", ("prod",)),
    ("pdb-required", "churn", "  autoscaling:\n", "  podDisruptionBudget: {enabled: false}\n  autoscaling:\n",
     "minReplicas: 2", "the HPA keeps 2 replicas but names no PodDisruptionBudget", ("prod", "staging")),
]


@pytest.mark.parametrize("policy,model,old,new,marker,message,envs", MISTAKES, ids=[m[0] for m in MISTAKES])
def test_a_broken_model_yields_exactly_its_policy_finding(cli, tmp_path, policy, model, old, new, marker, message,
                                                          envs):
    repo = _copy(tmp_path)
    path = repo / "models" / f"{model}.yaml"
    _edit(path, old, new)
    errors = _errors_after_build(cli, repo)
    line = _line_of(path, marker)
    expected = [(f"policy.{policy}", f"models/{model}.yaml", line)] * len(envs)
    assert [(rule, file, at) for rule, file, at, _ in errors] == expected
    assert sorted(msg.split(":")[0].split("(")[1].rstrip(")") for *_, msg in errors) == sorted(envs)
    assert all(message in msg for *_, msg in errors)


def test_hpa_scale_down_window_in_prod_only(cli, tmp_path):
    repo = _copy(tmp_path)
    path = repo / "models" / "churn.yaml"
    _edit(path, "    cpuUtilization: 75\n", "    cpuUtilization: 75\n    scaleDown: {stabilizationWindowSeconds: 60}\n")
    errors = _errors_after_build(cli, repo)
    assert [(rule, file, at) for rule, file, at, _ in errors] == [
        ("policy.hpa-bounds", "models/churn.yaml", _line_of(path, "stabilizationWindowSeconds: 60"))]
    assert "churn (prod): scale-down stabilization of 60 s is below the 300 s required in prod" in errors[0][3]


def test_gpu_outside_the_allowed_namespaces(cli, tmp_path):
    repo = _copy(tmp_path)
    _edit(repo / "policies" / "params" / "gpu-allowed.yaml", "allowedNamespaces: ml-prod,ml-staging",
          "allowedNamespaces: ml-prod")
    errors = _errors_after_build(cli, repo)
    path = repo / "models" / "sentiment.yaml"
    assert [(rule, file, at) for rule, file, at, _ in errors] == [
        ("policy.gpu-allowed", "models/sentiment.yaml", _first_line(path, "  resources:"))]
    assert "sentiment (staging): the predictor model requests a GPU" in errors[0][3]


def _first_line(path: pathlib.Path, prefix: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if line == prefix)


def test_namespace_of_an_environment(cli, tmp_path):
    """prod pointed at the staging namespace: every prod object is flagged, at mlgitops.yaml's namespace."""
    repo = _copy(tmp_path)
    _edit(repo / "mlgitops.yaml", "    namespace: ml-prod\n", "    namespace: ml-staging\n")
    errors = _errors_after_build(cli, repo)
    assert errors and {rule for rule, *_ in errors} == {"policy.namespace-environment"}
    assert all("namespace ml-staging does not belong to environment prod" in msg for *_, msg in errors), errors


MANIFEST = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: legacy-scorer
  namespace: ml-prod
  labels:
    app.kubernetes.io/managed-by: mlgitops
    mlgitops.dev/environment: prod
    app.kubernetes.io/name: legacy-scorer
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
          runAsNonRoot: true
          allowPrivilegeEscalation: false
          capabilities: {drop: [ALL]}
          readOnlyRootFilesystem: true
"""


def test_hand_written_manifest_without_team_or_security(cli, tmp_path):
    """Policies mlgitops' own output cannot break (the generator always sets them) still guard
    hand-written manifests labelled as managed by mlgitops: a Deployment without a team label that
    may escalate privileges. Without the label no binding matches it (as in the cluster)."""
    path = tmp_path / "legacy.yaml"
    path.write_text(MANIFEST.replace("          allowPrivilegeEscalation: false\n", ""))
    code, diags = _check(cli, REPO_ROOT, str(path))
    errors = sorted((d["rule"], d["line"]) for d in diags if d["severity"] == "error")
    assert code == 1
    text = MANIFEST.splitlines()
    assert errors == [("policy.pod-security", text.index("      containers:") + 1),
                      ("policy.require-owner-labels", text.index("  labels:") + 1)]
    team = "    mlgitops.dev/team: risk\n    app.kubernetes.io/name"
    path.write_text(MANIFEST.replace("    app.kubernetes.io/name", team))
    code, diags = _check(cli, REPO_ROOT, str(path))
    assert code == 0 and diags == [], diags
    path.write_text(MANIFEST.replace("    app.kubernetes.io/managed-by: mlgitops\n", "")
                    .replace("          allowPrivilegeEscalation: false\n", ""))
    code, diags = _check(cli, REPO_ROOT, str(path))
    assert code == 0 and diags == [], diags
