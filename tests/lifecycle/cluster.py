"""A small real cluster for the canary lifecycle (issue #19), every process talking over 127.0.0.1.

- etcd + kube-apiserver (tests/kubeapi.py's Cluster, the upstream CRDs of ../shared/crds);
- kube-controller-manager with the controllers a model's objects meet: deployment, replicaset,
  HPA, disruption (PDB), garbage collector, endpointslice, namespace, serviceaccount;
- kwok with one fake node that runs every pod bound to it (pods turn Running and Ready, get an IP,
  and go away when deleted), plus `Binder`, a thread that binds pending pods to that node (there
  is no scheduler);
- the KServe controller manager (built from ../shared/src/kserve) out of cluster, with KServe's
  upstream `inferenceservice-config`, its ClusterServingRuntimes (rendered by real kustomize from
  KServe's config/runtimes) and its webhooks (KServe's config/webhook manifests) registered by URL
  with a self-signed certificate;
- the Argo Rollouts controller v1.8.3;
- a real Prometheus server scraping the Rollouts controller (`argo-rollouts-metrics`, whose
  `rollout_info` the stuck-canary alert reads) and `mesh.Exporter`, which plays the istio-proxy
  of every predictor pod the cluster runs: scrape jobs are made from the rendered PodMonitors as
  prometheus-operator makes them (job `<namespace>/<name>`, the pod's `podTargetLabels`, the
  metric relabelings), the targets from the pods the API server lists.

Every address given out is 127.0.0.1; two listeners cannot be narrowed to it by any flag and bind
every interface on their free port: the KServe manager's webhook server (controller-runtime's
default host) and the Rollouts controller's metrics and health ports. Everything is stopped by
PID (each process in its own group); logs stay in `Lifecycle.dir`.
"""

from __future__ import annotations

import base64
import json
import os
import pathlib
import shutil
import subprocess
import threading
import urllib.parse
import urllib.request
from typing import Any, Iterable

import yaml

from argocd import kustomize
from kubeapi import Client, Cluster, _start, free_ports

# kube-controller-manager's controllers for a model's objects (names as in its --controllers help).
CONTROLLERS = (
    "deployment-controller", "replicaset-controller", "horizontal-pod-autoscaler-controller",
    "disruption-controller", "garbage-collector-controller", "endpointslice-controller",
    "namespace-controller", "serviceaccount-controller", "root-ca-certificate-publisher-controller",
)
NODE = "kwok-node-0"
ZONE = "zone-a"
KSERVE_NAMESPACE = "kserve"
ROLLOUTS_JOB = "argo-rollouts-metrics"
# KServe's manager also watches TrainedModels and InferenceGraphs and reads ClusterStorageContainers
# (KServe's config/storagecontainers: which init container downloads a storage URI); ../shared/crds
# has only the InferenceService and serving-runtime CRDs. These stand in, accepting any content:
# no test creates the first two, the manager only needs their API to start; the storage
# container objects are KServe's own.
STAND_IN_CRDS = (("trainedmodels", "TrainedModel", "Namespaced"), ("inferencegraphs", "InferenceGraph", "Namespaced"),
                 ("clusterstoragecontainers", "ClusterStorageContainer", "Cluster"))
WEBHOOK_PORT_PLACEHOLDER = "$(webhookServiceName)"


def _stand_in_crd(plural: str, kind: str, scope: str) -> dict:
    return {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.serving.kserve.io"},
        "spec": {"group": "serving.kserve.io", "scope": scope,
                 "names": {"plural": plural, "singular": kind.lower(), "kind": kind, "listKind": f"{kind}List"},
                 "versions": [{"name": "v1alpha1", "served": True, "storage": True, "subresources": {"status": {}},
                               "schema": {"openAPIV3Schema": {"type": "object",
                                                              "x-kubernetes-preserve-unknown-fields": True}}}]},
    }


def self_signed(directory: pathlib.Path) -> tuple[pathlib.Path, pathlib.Path]:
    """A self-signed serving certificate for 127.0.0.1 (tls.crt, tls.key): also its own CA."""
    directory.mkdir(parents=True, exist_ok=True)
    crt, key = directory / "tls.crt", directory / "tls.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(crt)], check=True, capture_output=True)
    return crt, key


class Binder(threading.Thread):
    """The scheduler's one job here: bind every pending pod to the fake node."""

    def __init__(self, client: Client, node: str) -> None:
        super().__init__(daemon=True, name="pod-binder")
        self.client = Client(client.host, client.port, client.token)
        self.node = node
        self.stopping = threading.Event()
        self.bound = 0

    def run(self) -> None:
        while not self.stopping.wait(0.25):
            try:
                pods = self.client.request("GET", "/api/v1/pods", query={"fieldSelector": "spec.nodeName="})
                for pod in (pods.body or {}).get("items", []) if pods.ok else []:
                    meta = pod["metadata"]
                    if meta.get("deletionTimestamp"):
                        continue
                    binding = {"apiVersion": "v1", "kind": "Binding",
                               "metadata": {"name": meta["name"], "namespace": meta["namespace"]},
                               "target": {"apiVersion": "v1", "kind": "Node", "name": self.node}}
                    got = self.client.request(
                        "POST", f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}/binding", binding)
                    self.bound += got.ok
            except Exception:  # the server restarting or stopping: try again next round
                self.client.close()

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=5)
        self.client.close()


class Lifecycle:
    """The cluster of the module docstring. `start()` returns the admin Client."""

    def __init__(self, binaries: dict[str, str], shared: pathlib.Path, tools_crd_dir: pathlib.Path | None,
                 kubectl: str, exporter: Any) -> None:
        self.binaries = binaries
        self.shared = shared
        self.kubectl = kubectl
        self.exporter = exporter
        self.tools_crd_dir = tools_crd_dir
        self.cluster = Cluster(binaries, shared / "crds", tools_crd_dir=tools_crd_dir, controller_manager=False)
        self.dir = self.cluster.dir
        self.binder: Binder | None = None
        self.prometheus_port = 0
        self.rollouts_metrics_port = 0
        self._pod_monitors: dict[str, dict] = {}
        self._targets_stop = threading.Event()
        self._targets_thread: threading.Thread | None = None
        # the pod-discovery thread and monitor() both rewrite the target files (one .tmp each)
        self._targets_lock = threading.Lock()

    @property
    def client(self) -> Client:
        assert self.cluster.client is not None
        return self.cluster.client

    @property
    def prometheus(self) -> str:
        return f"http://127.0.0.1:{self.prometheus_port}"

    def start(self, timeout: float = 180.0) -> Client:
        try:
            self._start(timeout)
        except BaseException:
            self.stop()
            raise
        return self.client

    def _start(self, timeout: float) -> None:
        cluster = self.cluster
        client = cluster.start(timeout)
        experiments = [self.tools_crd_dir / "argoproj.io_experiments.yaml"] if self.tools_crd_dir else []
        cluster.install_crds(experiments, extra=[_stand_in_crd(*crd) for crd in STAND_IN_CRDS])
        kubeconfig = cluster.write_kubeconfig()
        kcm_port, kserve_probe, kserve_webhook, rollouts_health, self.rollouts_metrics_port, \
            self.prometheus_port = free_ports(6)
        cluster.processes.append(cluster._controller_manager(
            CONTROLLERS, "kube-controller-manager", kcm_port,
            extra=("--horizontal-pod-autoscaler-sync-period=2s",
                   "--horizontal-pod-autoscaler-initial-readiness-delay=1s",
                   "--concurrent-deployment-syncs=2")))
        self._node(client)
        cluster.processes.append(_start([
            self.binaries["kwok"], f"--kubeconfig={kubeconfig}", "--manage-all-nodes=false",
            "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
            "--cidr=10.244.0.1/24", "--node-ip=127.0.0.1",
        ], self.dir / "kwok.log"))
        self.binder = Binder(client, NODE)
        self.binder.start()
        self._kserve(client, kubeconfig, kserve_probe, kserve_webhook)
        cluster.processes.append(_start([
            self.binaries["rollouts-controller"], f"--kubeconfig={kubeconfig}", "--leader-elect=false",
            f"--healthzPort={rollouts_health}", f"--metricsport={self.rollouts_metrics_port}",
            "--loglevel=info", "--rollout-resync=60",
        ], self.dir / "rollouts-controller.log"))
        self._start_prometheus()
        cluster._wait(lambda: _http_ok(f"http://127.0.0.1:{rollouts_health}/healthz"), timeout,
                      "the Rollouts controller's /healthz")
        cluster._wait(lambda: _http_ok(f"{self.prometheus}/-/ready"), timeout, "Prometheus /-/ready")
        self._targets_thread = threading.Thread(target=self._write_targets, daemon=True, name="pod-discovery")
        self._targets_thread.start()

    # --- the fake node ----------------------------------------------------------------------
    def _node(self, client: Client) -> None:
        allocatable = {"cpu": "64", "memory": "256Gi", "pods": "110", "ephemeral-storage": "100Gi"}
        client.ensure({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": NODE, "annotations": {"kwok.x-k8s.io/node": "fake"},
                         "labels": {"kubernetes.io/hostname": NODE, "kubernetes.io/os": "linux",
                                    "kubernetes.io/arch": "amd64", "type": "kwok",
                                    "topology.kubernetes.io/zone": ZONE}},
            "spec": {},
        })
        got = client.request("GET", f"/api/v1/nodes/{NODE}")
        node = got.body
        node["status"] = {"allocatable": allocatable, "capacity": allocatable}
        put = client.request("PUT", f"/api/v1/nodes/{NODE}/status", node)
        if not put.ok:
            raise RuntimeError(f"node status: {put.message}")

    # --- KServe -------------------------------------------------------------------------------
    def _kserve(self, client: Client, kubeconfig: pathlib.Path, probe_port: int, webhook_port: int) -> None:
        src = self.shared / "src" / "kserve" / "config"
        client.namespace(KSERVE_NAMESPACE)
        for obj in kustomize(self.kubectl, src / "configmap"):
            client.ensure(obj)
        scratch = self.dir / "kserve-tmp"
        crt, key = self_signed(scratch / "k8s-webhook-server" / "serving-certs")
        env = {**os.environ, "KUBECONFIG": str(kubeconfig), "TMPDIR": str(scratch), "POD_NAMESPACE": KSERVE_NAMESPACE}
        handle = (self.dir / "kserve-manager.log").open("wb")
        try:
            self.cluster.processes.append(subprocess.Popen([
                self.binaries["kserve-manager"], "--metrics-addr=0",
                f"--health-probe-addr=127.0.0.1:{probe_port}", f"--webhook-port={webhook_port}",
            ], stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, start_new_session=True))
        finally:
            handle.close()
        self.cluster._wait(lambda: _http_ok(f"http://127.0.0.1:{probe_port}/readyz"), 180.0,
                           "the KServe manager's /readyz")
        ca = base64.b64encode(crt.read_bytes()).decode()
        for obj in yaml.safe_load_all((src / "webhook" / "manifests.yaml").read_text()):
            if not obj:
                continue
            obj["metadata"].pop("creationTimestamp", None)
            for hook in obj.get("webhooks", []):
                path = hook["clientConfig"]["service"]["path"]
                hook["clientConfig"] = {"url": f"https://127.0.0.1:{webhook_port}{path}", "caBundle": ca}
            client.ensure(obj)
        for part in ("runtimes", "storagecontainers"):
            for obj in kustomize(self.kubectl, src / part):
                client.ensure(obj)

    # --- Prometheus -----------------------------------------------------------------------------
    def _prometheus_config(self) -> dict:
        jobs: list[dict] = [{"job_name": ROLLOUTS_JOB,
                             "static_configs": [{"targets": [f"127.0.0.1:{self.rollouts_metrics_port}"]}]}]
        for key, monitor in sorted(self._pod_monitors.items()):
            for index, endpoint in enumerate(monitor["spec"].get("podMetricsEndpoints", [])):
                job: dict = {"job_name": key, "honor_labels": False,
                             "scrape_interval": "1s", "scrape_timeout": "1s",
                             "metrics_path": endpoint.get("path", "/metrics"),
                             "file_sd_configs": [{"files": [str(self._targets_file(key, index))],
                                                  "refresh_interval": "1s"}]}
                relabelings = [_relabel(r) for r in endpoint.get("metricRelabelings", [])]
                if relabelings:
                    job["metric_relabel_configs"] = relabelings
                jobs.append(job)
        return {"global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
                "scrape_configs": jobs}

    def _targets_file(self, key: str, index: int) -> pathlib.Path:
        return self.dir / "targets" / f"{key.replace('/', '_')}-{index}.json"

    def _write_prometheus_config(self) -> pathlib.Path:
        config = self.dir / "prometheus.yml"
        config.write_text(yaml.safe_dump(self._prometheus_config()))
        return config

    def _start_prometheus(self) -> None:
        (self.dir / "targets").mkdir(exist_ok=True)
        config = self._write_prometheus_config()
        self.cluster.processes.append(_start([
            self.binaries["prometheus"], f"--config.file={config}", f"--storage.tsdb.path={self.dir / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{self.prometheus_port}", "--web.enable-lifecycle",
            "--storage.tsdb.retention.time=2h", "--log.level=warn",
        ], self.dir / "prometheus.log"))

    def monitor(self, pod_monitors: Iterable[dict]) -> None:
        """Scrape what these PodMonitors select, as prometheus-operator would (reloads Prometheus)."""
        changed = False
        for monitor in pod_monitors:
            key = f"{monitor['metadata']['namespace']}/{monitor['metadata']['name']}"
            if self._pod_monitors.get(key) != monitor:
                self._pod_monitors[key] = monitor
                changed = True
        if changed:
            self._refresh_targets()
            self._write_prometheus_config()
            with urllib.request.urlopen(urllib.request.Request(f"{self.prometheus}/-/reload", method="POST"),
                                        timeout=10):
                pass

    def _write_targets(self) -> None:
        client = Client(self.client.host, self.client.port, self.client.token)
        try:
            while not self._targets_stop.wait(0.5):
                try:
                    self._refresh_targets(client)
                except Exception:
                    client.close()
        finally:
            client.close()

    def _refresh_targets(self, client: Client | None = None) -> None:
        if client is None:
            own = Client(self.client.host, self.client.port, self.client.token)
            try:
                return self._refresh_targets(own)
            finally:
                own.close()
        with self._targets_lock:
            self._refresh_targets_now(client)

    def _refresh_targets_now(self, client: Client) -> None:
        for key, monitor in list(self._pod_monitors.items()):
            namespace = monitor["metadata"]["namespace"]
            spec = monitor["spec"]
            selector = ",".join(f"{k}={v}" for k, v in sorted(spec["selector"].get("matchLabels", {}).items()))
            pods = client.request("GET", f"/api/v1/namespaces/{namespace}/pods", query={"labelSelector": selector})
            if not pods.ok:
                continue
            for index, _ in enumerate(spec.get("podMetricsEndpoints", [])):
                groups = []
                for pod in sorted(pods.body.get("items", []), key=lambda p: p["metadata"]["name"]):
                    meta, status = pod["metadata"], pod.get("status", {})
                    if meta.get("deletionTimestamp") or status.get("phase") != "Running":
                        continue
                    labels = {"namespace": namespace, "pod": meta["name"], "container": "istio-proxy",
                              "__metrics_path__": f"/pods/{namespace}/{meta['name']}"
                                                  f"{spec['podMetricsEndpoints'][index].get('path', '/metrics')}"}
                    for name in spec.get("podTargetLabels", []):
                        if name in meta.get("labels", {}):
                            labels[_label_name(name)] = meta["labels"][name]
                    self.exporter.pod(namespace, meta["name"], meta.get("labels", {}))
                    groups.append({"targets": [self.exporter.address], "labels": labels})
                path = self._targets_file(key, index)
                text = json.dumps(groups, indent=1, sort_keys=True)
                if not path.exists() or path.read_text() != text:
                    tmp = path.with_suffix(".tmp")
                    tmp.write_text(text)
                    os.replace(tmp, path)

    def query(self, expr: str) -> list[dict]:
        """An instant query against the test Prometheus: its result vector."""
        url = f"{self.prometheus}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        with urllib.request.urlopen(url, timeout=10) as response:
            body = json.load(response)
        if body.get("status") != "success":
            raise AssertionError(f"query failed: {body}")
        return body["data"]["result"]

    # --- stopping -----------------------------------------------------------------------------
    def stop(self) -> None:
        self._targets_stop.set()
        if self._targets_thread is not None:
            self._targets_thread.join(timeout=5)
        if self.binder is not None:
            self.binder.stop()
        self.cluster.stop()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def log(self, name: str) -> str:
        return self.cluster.log(name)


def _relabel(rule: dict) -> dict:
    """A prometheus-operator RelabelConfig (camelCase) as Prometheus's relabel_config."""
    names = {"sourceLabels": "source_labels", "targetLabel": "target_label", "regex": "regex",
             "action": "action", "replacement": "replacement", "separator": "separator", "modulus": "modulus"}
    return {names[k]: v for k, v in rule.items() if k in names}


def _label_name(name: str) -> str:
    """prometheus-operator's sanitizing of a pod label into a target label name."""
    return "".join(c if c.isalnum() or c == "_" else "_" for c in name)


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return 200 <= response.status < 300
    except OSError:
        return False
