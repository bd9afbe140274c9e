"""Argo CD's sync of one model Application, done with the real tools on the test cluster.

What Argo CD does for an Application of this repository (argocd/applicationsets: automated sync,
prune, `CreateNamespace=true`, `PruneLast=true`, client-side apply): it renders the overlay with
kustomize (real `kubectl kustomize` here), marks every object with its tracking annotation, orders
them as gitops-engine does (sync phase, then sync wave, then kind in its fixed kind order with
custom resources last, then name: pkg/sync/sync_tasks.go), applies them (real `kubectl apply`),
and when prune is on deletes, last, the objects it applied before that are no longer rendered
(foreground propagation, Argo CD's default for prune).
"""

from __future__ import annotations

import dataclasses
import pathlib
import subprocess

import yaml

from kubeapi import Client

TRACKING = "argocd.argoproj.io/tracking-id"
SYNC_WAVE = "argocd.argoproj.io/sync-wave"
# gitops-engine pkg/sync/sync_tasks.go (kindOrder, after Helm's kind sorter); any other kind
# (every custom resource) sorts after these.
KIND_ORDER = (
    "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodSecurityPolicy", "PodDisruptionBudget",
    "ServiceAccount", "Secret", "SecretList", "ConfigMap", "StorageClass", "PersistentVolume",
    "PersistentVolumeClaim", "CustomResourceDefinition", "ClusterRole", "ClusterRoleList", "ClusterRoleBinding",
    "ClusterRoleBindingList", "Role", "RoleList", "RoleBinding", "RoleBindingList", "Service", "DaemonSet", "Pod",
    "ReplicationController", "ReplicaSet", "Deployment", "HorizontalPodAutoscaler", "StatefulSet", "Job",
    "CronJob", "Ingress", "APIService",
)


def sync_order(obj: dict) -> tuple:
    annotations = obj.get("metadata", {}).get("annotations") or {}
    kind = obj["kind"]
    kind_rank = KIND_ORDER.index(kind) - len(KIND_ORDER) if kind in KIND_ORDER else 0
    return (int(annotations.get(SYNC_WAVE, "0")), kind_rank, obj["metadata"]["name"])


def kustomize(kubectl: str, directory: pathlib.Path) -> list[dict]:
    """Real `kubectl kustomize directory`, as objects."""
    out = subprocess.run([kubectl, "kustomize", str(directory)], check=True, capture_output=True, text=True).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def _ref(obj: dict) -> tuple[str, str, str, str]:
    meta = obj["metadata"]
    return (obj["apiVersion"], obj["kind"], meta.get("namespace", ""), meta["name"])


@dataclasses.dataclass
class Application:
    """One model Application (an overlay directory) synced to the test cluster."""

    name: str
    path: pathlib.Path
    namespace: str
    kubectl: str
    kubeconfig: pathlib.Path
    live: set = dataclasses.field(default_factory=set)  # what the last sync applied

    def render(self) -> list[dict]:
        return kustomize(self.kubectl, self.path)

    def sync(self, client: Client, objects: list[dict] | None = None) -> list[dict]:
        """Apply the rendered overlay in Argo CD's order, then prune; returns the objects in the
        order applied."""
        objects = self.render() if objects is None else objects
        client.namespace(self.namespace)  # CreateNamespace=true
        for obj in objects:
            obj["metadata"].setdefault("namespace", self.namespace)
            group = obj["apiVersion"].rpartition("/")[0]
            obj["metadata"].setdefault("annotations", {})[TRACKING] = (
                f"{self.name}:{group}/{obj['kind']}:{obj['metadata']['namespace']}/{obj['metadata']['name']}")
        ordered = sorted(objects, key=sync_order)
        stream = yaml.safe_dump_all(ordered, sort_keys=False)
        applied = subprocess.run([self.kubectl, f"--kubeconfig={self.kubeconfig}", "apply", "-f", "-"],
                                 input=stream, capture_output=True, text=True)
        if applied.returncode != 0:
            raise AssertionError(f"kubectl apply of {self.name}: {applied.stderr}")
        desired = {_ref(obj) for obj in ordered}
        self.prune(client, self.live - desired)
        self.live = desired
        return ordered

    def delete(self, client: Client) -> None:
        """The Application deleted with its resources finalizer (or every object pruned)."""
        self.prune(client, self.live)
        self.live = set()

    @staticmethod
    def prune(client: Client, refs: set) -> None:
        for api_version, kind, namespace, name in sorted(refs):
            obj = {"apiVersion": api_version, "kind": kind, "metadata": {"name": name, "namespace": namespace}}
            path = f"{client.collection(obj, namespace)}/{name}"
            got = client.request("DELETE", path, {"kind": "DeleteOptions", "apiVersion": "v1",
                                                  "propagationPolicy": "Foreground"})
            if not got.ok and got.status != 404:
                raise AssertionError(f"prune {kind} {namespace}/{name}: {got.status} {got.message}")
