"""`mlgitops status`: what serves, read from the Rollout and its ReplicaSets with real kubectl.

The objects here are stored in the suite's real API server (no controllers run there: the
Rollout's and the InferenceService's status are written through their status subresource, as the
controllers would), so the kubectl command status builds (resources, label selectors, context,
kubeconfig) meets a real server. tests/lifecycle runs status against the real controllers.
"""

from __future__ import annotations

import json
import pathlib
import re
import subprocess

import yaml

from conftest import REPO_ROOT, copy_sources
from mlgitops.commands.status import format_text, summarize

MLGITOPS = str(REPO_ROOT / ".venv" / "bin" / "mlgitops")
MANAGED = {"app.kubernetes.io/managed-by": "mlgitops", "app.kubernetes.io/name": "iris"}
STABLE, CANARY = "5d8f7c9b4", "6c9d8f7b5"  # pod template hashes


def _repo(tmp_path: pathlib.Path, namespace: str) -> pathlib.Path:
    root = copy_sources(tmp_path / "repo")
    config = yaml.safe_load((root / "mlgitops.yaml").read_text())
    config["environments"]["prod"]["namespace"] = namespace
    config["environments"]["staging"]["namespace"] = namespace + "-staging"
    (root / "mlgitops.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return root


def _replicaset(name: str, pod_hash: str, version: str, ready: int) -> tuple[dict, dict]:
    labels = {"app": "isvc.iris-predictor", "serving.kserve.io/inferenceservice": "iris",
              "rollouts-pod-template-hash": pod_hash, "mlgitops.dev/model-version": version}
    rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": name, "labels": labels},
          "spec": {"replicas": ready, "selector": {"matchLabels": {"rollouts-pod-template-hash": pod_hash}},
                   "template": {"metadata": {"labels": labels},
                                "spec": {"containers": [{"name": "kserve-container", "image": "x"}]}}}}
    status = {"replicas": ready, "readyReplicas": ready, "availableReplicas": ready, "fullyLabeledReplicas": ready}
    return rs, status


def _rollout(status: dict) -> tuple[dict, dict]:
    rollout = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
               "metadata": {"name": "iris", "labels": MANAGED},
               "spec": {"selector": {"matchLabels": {"app": "isvc.iris-predictor"}},
                        "workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "iris-predictor"},
                        "strategy": {"canary": {"steps": [{"setWeight": 25}, {"pause": {"duration": "2m"}},
                                                          {"setWeight": 50}, {"pause": {}}]}}}}
    return rollout, status


def _isvc(version: str, ready: str) -> tuple[dict, dict]:
    isvc = {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
            "metadata": {"name": "iris", "labels": MANAGED},
            "spec": {"predictor": {"labels": {"mlgitops.dev/model-version": version},
                                   "model": {"modelFormat": {"name": "sklearn"}, "storageUri": "gs://b/m"}}}}
    return isvc, {"conditions": [{"type": "Ready", "status": ready, "lastTransitionTime": "2026-12-07T00:00:00Z"}]}


def _store(client, namespace: str, obj: dict, status: dict) -> None:
    obj["metadata"]["namespace"] = namespace
    created = client.create(obj, dry_run=False)
    assert created.ok, created.message
    stored = created.body
    stored["status"] = status
    path = f"{client.collection(obj)}/{obj['metadata']['name']}/status"
    put = client.request("PUT", path, stored)
    assert put.ok, put.message


def _status(root: pathlib.Path, kubeconfig: pathlib.Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([MLGITOPS, "status", "--repo", str(root), "--kubeconfig", str(kubeconfig), *args],
                          capture_output=True, text=True)


def _canary(apiserver, namespace: str, rollout_status: dict, stable_ready: int, canary_ready: int) -> None:
    """In `namespace`: the Rollout iris (with `rollout_status`), the ReplicaSets of its stable (1.0)
    and canary (2.0) pod template hashes, and KServe's InferenceService Ready on 2.0."""
    client = apiserver.client
    client.namespace(namespace)
    weight = rollout_status.pop("weight")
    rollout_status.update(stableRS=STABLE, currentPodHash=CANARY, canary={"weights": {
        "canary": {"weight": weight, "podTemplateHash": CANARY},
        "stable": {"weight": 100 - weight, "podTemplateHash": STABLE}}})
    for obj, status in (_rollout(rollout_status), _replicaset(f"iris-{STABLE}", STABLE, "1.0", stable_ready),
                        _replicaset(f"iris-{CANARY}", CANARY, "2.0", canary_ready), _isvc("2.0", "True")):
        _store(client, namespace, obj, status)


def test_status_shows_the_stable_pods_version_while_kserve_says_ready_for_the_aborted_one(apiserver, tmp_path):
    namespace = "status-aborted"
    _canary(apiserver, namespace, {"phase": "Degraded", "abort": True, "currentStepIndex": 0, "weight": 0,
                                   "message": "RolloutAborted: Metric \"error-ratio\" assessed Failed"}, 4, 0)
    root = _repo(tmp_path, namespace)
    kubeconfig = apiserver.write_kubeconfig()
    done = _status(root, kubeconfig, "--env", "prod", "--format", "json")
    assert done.returncode == 1, done.stderr  # an aborted update needs a human
    (shown,) = json.loads(done.stdout)["models"]
    assert (shown["model"], shown["env"], shown["namespace"]) == ("iris", "prod", namespace)
    assert (shown["phase"], shown["aborted"], shown["attention"]) == ("Degraded", True, True)
    assert (shown["serving"], shown["serving_pods"]) == ("1.0", 4)
    assert (shown["canary"], shown["canary_pods"], shown["weight"], shown["step"]) == ("2.0", 0, 0, "0/4")
    assert (shown["isvc_ready"], shown["isvc_version"]) == ("True", "2.0")
    text = _status(root, kubeconfig, "--env", "prod")
    assert text.returncode == 1
    lines = text.stdout.splitlines()
    assert re.split(r"\s{2,}", lines[0]) == ["MODEL", "ENV", "PHASE", "SERVING", "CANARY", "WEIGHT", "STEP",
                                             "KSERVE-READY"]
    assert re.split(r"\s{2,}", lines[1]) == ["iris", "prod", "Degraded (aborted)", "1.0 (4 ready)", "2.0 (0 ready)",
                                             "0%", "0/4", "True (2.0)"]
    assert lines[2].startswith("iris (prod): needs attention: RolloutAborted")
    # staging's namespace holds nothing: no row, no error; a model named but absent is a warning
    missing = _status(root, kubeconfig, "fraud", "--format", "json")
    assert missing.returncode == 0 and missing.stderr == ""
    report = json.loads(missing.stdout)
    assert report["models"] == [] and [(d["rule"], d["severity"]) for d in report["diagnostics"]] == [
        ("cluster.not-deployed", "warning")]
    assert report["diagnostics"][0]["message"].startswith("model fraud: no Rollout or InferenceService of it in ")
    text = _status(root, kubeconfig, "fraud")
    assert text.returncode == 0
    assert "model fraud: no Rollout or InferenceService of it" in text.stderr and "[cluster.not-deployed]" in text.stderr


def test_a_healthy_rollout_exits_0_and_a_canary_in_progress_shows_its_weight(apiserver, tmp_path):
    namespace = "status-progress"
    _canary(apiserver, namespace, {"phase": "Paused", "currentStepIndex": 1, "weight": 25, "pauseConditions": [
        {"reason": "CanaryPauseStep", "startTime": "2026-12-07T00:00:00Z"}]}, 3, 1)
    done = _status(_repo(tmp_path, namespace), apiserver.write_kubeconfig(), "iris", "--env", "prod",
                   "--format", "json")
    assert done.returncode == 0, done.stderr  # a timed pause ends by itself
    (shown,) = json.loads(done.stdout)["models"]
    assert (shown["phase"], shown["serving"], shown["canary"], shown["weight"], shown["step"]) == (
        "Paused", "1.0", "2.0", 25, "1/4")
    assert shown["paused"] == ["CanaryPauseStep"] and not shown["attention"]


def test_an_unreachable_cluster_is_a_finding_naming_the_environment(tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "gone",
        "clusters": [{"name": "gone", "cluster": {"server": "https://127.0.0.1:1"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "gone", "context": {"cluster": "gone", "user": "u"}}]}))
    done = _status(copy_sources(tmp_path / "repo"), kubeconfig, "--env", "staging")
    assert done.returncode == 1
    assert re.search(r"^mlgitops\.yaml: error: environment staging: kubectl could not read namespace ml-staging: "
                     r".*127\.0\.0\.1:1.* \[cluster\.unreadable\]$", done.stderr, re.M), done.stderr
    assert "Traceback" not in done.stderr


def test_an_unknown_environment_is_a_usage_error(tmp_path):
    done = _status(copy_sources(tmp_path / "repo"), tmp_path / "none", "--env", "qa")
    assert done.returncode == 2 and "--env qa: not an environment of mlgitops.yaml (staging, prod)" in done.stderr


def test_summary_of_a_model_whose_rollout_is_missing():
    isvc, status = _isvc("1.0", "False")
    isvc["status"] = status
    isvc["metadata"]["namespace"] = "ml-prod"
    shown = summarize("prod", None, [], isvc)
    assert (shown.phase, shown.serving, shown.isvc_ready, shown.attention) == ("-", None, "False", False)
    assert format_text([shown]).splitlines()[1].split() == ["iris", "prod", "-", "-", "-", "-", "-", "False", "(1.0)"]
