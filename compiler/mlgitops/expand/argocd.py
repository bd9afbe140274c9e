"""Argo CD: one ApplicationSet per environment over overlays/<env>/*, an Application per cluster
syncing the admission policies in policies/, and a root app-of-apps over both.

No sync waves inside a model's Application (a multi-wave sync stays open while a canary is
paused and blocks auto-sync of a revert: docs/design.md), no replicas in Git so no
ignoreDifferences, and each Application refreshes only when its own directory or base/ changes
(manifest-generate-paths). The one wave is in the root app: the policies Application is wave -1,
so the root app creates it (with the policies and their parameters) before the model
ApplicationSets (wave 0).
"""

from __future__ import annotations

from .. import layout
from ..config import Config, Environment

ARGOCD_DIR = "argocd"
APPSETS_DIR = f"{ARGOCD_DIR}/applicationsets"
ROOT_APP = f"{ARGOCD_DIR}/root.yaml"
LABELS = {"app.kubernetes.io/managed-by": "mlgitops", "app.kubernetes.io/part-of": "mlgitops"}
DEFAULT_SERVER = "https://kubernetes.default.svc"
# The admission policies (policies/*.yaml) and their parameters (policies/params/, namespace
# mlgitops-policy); the test cases in policies/tests/ are not Kubernetes objects.
POLICIES_DIR = "policies"
POLICIES_NAMESPACE = "mlgitops-policy"
POLICIES_APP = "mlgitops-policies"
SYNC_WAVE = "argocd.argoproj.io/sync-wave"
POLICIES_WAVE = "-1"  # before the ApplicationSets (wave 0) in the root app


def _destination(env: Environment) -> dict:
    return {**_cluster(env), "namespace": env.namespace}


def _cluster(env: Environment) -> dict:
    """The destination cluster of an environment: by name, or by API server URL."""
    return {"name": env.cluster} if env.cluster else {"server": env.server or DEFAULT_SERVER}


def _sync_policy(*options: str) -> dict:
    """Automated sync with prune and self-heal, the namespace created, `options` added, retries."""
    return {
        "automated": {"prune": True, "selfHeal": True},
        "syncOptions": ["CreateNamespace=true", *options],
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
                    "syncPolicy": _sync_policy("PruneLast=true"),
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
            "destination": {"server": DEFAULT_SERVER, "namespace": config.argocd_namespace},
            "syncPolicy": {"automated": {"prune": True, "selfHeal": True}},
        },
    }


def policies_application(name: str, env: Environment, config: Config) -> dict:
    """The Application that syncs policies/ (the ValidatingAdmissionPolicies, their bindings and
    parameters; not tests/) to the cluster of `env`. No resources finalizer: deleting the
    Application leaves the policies in force (removing admission control takes a deliberate act)."""
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": config.argocd_namespace, "labels": dict(LABELS),
                     "annotations": {SYNC_WAVE: POLICIES_WAVE}},
        "spec": {
            "project": config.argocd_project,
            "source": {"repoURL": config.repo_url, "targetRevision": config.target_revision, "path": POLICIES_DIR,
                       # Argo CD matches the glob against paths relative to `path`
                       "directory": {"recurse": True, "exclude": "tests/*"}},
            "destination": {**_cluster(env), "namespace": POLICIES_NAMESPACE},
            "syncPolicy": _sync_policy(),
        },
    }


def policy_clusters(config: Config) -> list[tuple[str, Environment]]:
    """(Application name, first environment) per distinct destination cluster, in config order:
    `mlgitops-policies` when every environment shares one cluster, else
    `mlgitops-policies-<env>` named after the cluster's first environment."""
    first: dict[tuple, Environment] = {}
    for env in config.environments.values():
        first.setdefault(tuple(_cluster(env).items()), env)
    if len(first) == 1:
        return [(POLICIES_APP, env) for env in first.values()]
    return [(f"{POLICIES_APP}-{env.name}", env) for env in first.values()]


def argocd_files(config: Config) -> dict[str, object]:
    files: dict[str, object] = {ROOT_APP: root_application(config)}
    for env in config.environments.values():
        files[f"{APPSETS_DIR}/{env.name}.yaml"] = application_set(env, config)
    for name, env in policy_clusters(config):
        files[f"{APPSETS_DIR}/{name}.yaml"] = policies_application(name, env, config)
    return files
