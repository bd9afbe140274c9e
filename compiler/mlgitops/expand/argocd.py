"""Argo CD: one ApplicationSet per environment over overlays/<env>/*, and a root app-of-apps.

No sync waves (a multi-wave sync stays open while a canary is paused and blocks auto-sync of a
revert: docs/design.md), no replicas in Git so no ignoreDifferences, and each Application
refreshes only when its own directory or base/ changes (manifest-generate-paths).
"""

from __future__ import annotations

from .. import layout
from ..config import Config, Environment

ARGOCD_DIR = "argocd"
APPSETS_DIR = f"{ARGOCD_DIR}/applicationsets"
ROOT_APP = f"{ARGOCD_DIR}/root.yaml"
LABELS = {"app.kubernetes.io/managed-by": "mlgitops", "app.kubernetes.io/part-of": "mlgitops"}


def _destination(env: Environment) -> dict:
    target = {"name": env.cluster} if env.cluster else {"server": env.server or "https://kubernetes.default.svc"}
    return {**target, "namespace": env.namespace}


def _sync_policy() -> dict:
    return {
        "automated": {"prune": True, "selfHeal": True},
        "syncOptions": ["CreateNamespace=true", "PruneLast=true"],
        "retry": {"limit": 3, "backoff": {"duration": "10s", "factor": 2, "maxDuration": "3m"}},
    }


def application_set(env: Environment, config: Config) -> dict:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": f"mlgitops-{env.name}", "namespace": config.argocd_namespace, "labels": dict(LABELS)},
        "spec": {
            "goTemplate": True,
            "goTemplateOptions": ["missingkey=error"],
            "generators": [{"git": {
                "repoURL": config.repo_url,
                "revision": config.target_revision,
                "directories": [{"path": f"{layout.OVERLAYS}/{env.name}/*"}],
            }}],
            # Deleting the ApplicationSet must not delete running models.
            "syncPolicy": {"preserveResourcesOnDeletion": True},
            "template": {
                "metadata": {
                    "name": "{{.path.basename}}-" + env.name,
                    "labels": {**LABELS, "app.kubernetes.io/name": "{{.path.basename}}",
                               "mlgitops.dev/environment": env.name},
                    # Refresh this app only when its overlay or the shared base changes.
                    "annotations": {"argocd.argoproj.io/manifest-generate-paths": ".;/base"},
                    "finalizers": ["resources-finalizer.argocd.argoproj.io"],
                },
                "spec": {
                    "project": config.argocd_project,
                    "source": {"repoURL": config.repo_url, "targetRevision": config.target_revision,
                               "path": "{{.path.path}}"},
                    "destination": _destination(env),
                    "syncPolicy": _sync_policy(),
                },
            },
        },
    }


def root_application(config: Config) -> dict:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "mlgitops-root", "namespace": config.argocd_namespace, "labels": dict(LABELS)},
        "spec": {
            "project": config.argocd_project,
            "source": {"repoURL": config.repo_url, "targetRevision": config.target_revision, "path": APPSETS_DIR},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": config.argocd_namespace},
            "syncPolicy": {"automated": {"prune": True, "selfHeal": True}},
        },
    }


def argocd_files(config: Config) -> dict[str, object]:
    files: dict[str, object] = {ROOT_APP: root_application(config)}
    for env in config.environments.values():
        files[f"{APPSETS_DIR}/{env.name}.yaml"] = application_set(env, config)
    return files
