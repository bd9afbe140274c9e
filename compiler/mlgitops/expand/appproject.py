"""The Argo CD AppProjects, least privilege: three projects, each allowing only what its
Applications sync.

- `<project>` (mlgitops.yaml `argocd.project`, e.g. ml-models): the model Applications of the
  ApplicationSets. Source: this repository only. Destinations: every environment's clusters, each
  with that environment's namespace only. Namespaced kinds: exactly the kinds the generators of
  expand/registry.py emit (KIND_GROUPS gives their API groups; a kind without one fails the
  build). Cluster-scoped kinds: only the Namespace of each environment, by name, for the
  Applications' `CreateNamespace=true` (Argo CD checks the namespace it creates against the
  project like any other resource: argoproj/argo-cd#20233, #22869). Orphaned-resource warnings on.
- `<project>-policies`: the policies Application(s) (policies/, not tests/). Same repository;
  destinations the same clusters with the policies namespace only; cluster-scoped kinds
  ValidatingAdmissionPolicy and ValidatingAdmissionPolicyBinding (and the policies namespace, by
  name, for CreateNamespace); namespaced kind ConfigMap (the parameters). The only project that may
  change admission control.
- `<project>-root`: the root app-of-apps, which creates the ApplicationSets, the policies
  Applications and the two projects above in Argo CD's namespace of Argo CD's own cluster. Neither
  other project may create Argo CD objects (a model Application that could would be an escalation
  path out of its project). It is applied by hand with the root app (argocd/root-project.yaml and
  argocd/root.yaml: the bootstrap) and is not synced by the root app, so no commit synced by
  Argo CD widens the root app's own permissions. No orphaned-resource warnings there: Argo CD's
  namespace holds Argo CD itself and other teams' Applications.

The projects the root app syncs are wave -2: they exist before the policies Application (wave
-1) and the ApplicationSets (wave 0) name them.
"""

from __future__ import annotations

from ..config import Config, Environment
from . import argocd, registry

PROJECTS_DIR = f"{argocd.ARGOCD_DIR}/projects"
ROOT_PROJECT_FILE = f"{argocd.ARGOCD_DIR}/root-project.yaml"
PROJECTS_WAVE = "-2"  # before the policies Application (-1) and the ApplicationSets (0)
ARGOCD_DEFAULT_PROJECT = "default"  # created by Argo CD; never generated (argocd.project: default)

# The API group of every kind a generator may emit ("" is the core group). A generator that adds
# a kind adds it here too: model_project() refuses a kind it cannot place, and
# tests/test_appproject.py checks every rendered object against the project.
KIND_GROUPS: dict[str, str] = {
    "AnalysisTemplate": "argoproj.io",
    "ConfigMap": "",
    "ExternalSecret": "external-secrets.io",
    "HorizontalPodAutoscaler": "autoscaling",
    "HTTPRoute": "gateway.networking.k8s.io",
    "Ingress": "networking.k8s.io",
    "InferenceService": "serving.kserve.io",
    "NetworkPolicy": "networking.k8s.io",
    "PodDisruptionBudget": "policy",
    "PodMonitor": "monitoring.coreos.com",
    "PrometheusRule": "monitoring.coreos.com",
    "Rollout": "argoproj.io",
    "SealedSecret": "bitnami.com",
    "Secret": "",
    "Service": "",
    "ServiceAccount": "",
    "ServiceMonitor": "monitoring.coreos.com",
    "VirtualService": "networking.istio.io",
}

# What policies/ holds (tests/ excluded): the policies and their bindings (cluster-scoped), the
# parameters (ConfigMaps in the policies namespace). tests/test_appproject.py reads policies/.
POLICY_CLUSTER_KINDS = (("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
                        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"))
POLICY_NAMESPACED_KINDS = (("", "ConfigMap"),)
# What the root app syncs (argocd/applicationsets/, argocd/projects/), all in Argo CD's namespace.
ROOT_KINDS = (("argoproj.io", "AppProject"), ("argoproj.io", "Application"), ("argoproj.io", "ApplicationSet"))
# The Argo CD directories the root app syncs (relative to argocd/): not root.yaml or root-project.yaml.
ROOT_SYNCED = ("applicationsets", "projects")


class UnknownKind(Exception):
    """A generator emits a kind KIND_GROUPS does not know: the project could not whitelist it."""


def policies_project_name(config: Config) -> str:
    return f"{config.argocd_project}-policies"


def root_project_name(config: Config) -> str:
    return f"{config.argocd_project}-root"


def _group_kinds(pairs) -> list[dict]:
    return [{"group": group, "kind": kind} for group, kind in sorted(set(pairs))]


def generated_kinds() -> list[tuple[str, str]]:
    """(group, kind) of every kind the generators can emit, sorted."""
    missing = sorted(registry.kinds() - KIND_GROUPS.keys())
    if missing:
        raise UnknownKind(f"no API group for {', '.join(missing)} in expand/appproject.py KIND_GROUPS: "
                          "the Argo CD project could not whitelist it")
    return sorted((KIND_GROUPS[kind], kind) for kind in registry.kinds())


def clusters(env: Environment) -> list[dict]:
    """The project destinations' clusters of `env`: argocd.destinations(env), or any cluster
    (`server: '*'`) when a label selector picks them (Argo CD's cluster generator: the servers are
    known only to Argo CD; the namespace still restricts)."""
    found = argocd.destinations(env)
    return found if found or env.cluster_selector is None else [{"server": "*"}]


def _destinations(config: Config, namespace_of) -> list[dict]:
    out: list[dict] = []
    for env in config.environments.values():
        for cluster in clusters(env):
            destination = {**cluster, "namespace": namespace_of(env)}
            if destination not in out:
                out.append(destination)
    return out


def _namespaces(names) -> list[dict]:
    """The Namespaces an Application's `CreateNamespace=true` creates, by name."""
    return [{"group": "", "kind": "Namespace", "name": name} for name in sorted(set(names))]


def _project(name: str, config: Config, description: str, spec: dict, *, wave: str | None) -> dict:
    metadata: dict = {"name": name, "namespace": config.argocd_namespace, "labels": dict(argocd.LABELS)}
    if wave is not None:
        metadata["annotations"] = {argocd.SYNC_WAVE: wave}
    # No `resources-finalizer.argocd.argoproj.io` (it would keep a project while an Application
    # names it): the API server warns about a finalizer name without a '/'. Sync waves order the
    # creation; a project removed while Applications name it leaves their resources in place.
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject", "metadata": metadata,
            "spec": {"description": description, "sourceRepos": [config.repo_url], **spec}}


def model_project(config: Config) -> dict:
    return _project(config.argocd_project, config, "mlgitops models: the overlays of every environment", {
        "destinations": _destinations(config, lambda env: env.namespace),
        "clusterResourceWhitelist": _namespaces(env.namespace for env in config.environments.values()),
        "namespaceResourceWhitelist": _group_kinds(generated_kinds()),
        "orphanedResources": {"warn": True},
    }, wave=PROJECTS_WAVE)


def policies_project(config: Config) -> dict:
    return _project(policies_project_name(config), config, "mlgitops admission policies (policies/)", {
        "destinations": _destinations(config, lambda env: argocd.POLICIES_NAMESPACE),
        "clusterResourceWhitelist": [*_group_kinds(POLICY_CLUSTER_KINDS), *_namespaces([argocd.POLICIES_NAMESPACE])],
        "namespaceResourceWhitelist": _group_kinds(POLICY_NAMESPACED_KINDS),
        "orphanedResources": {"warn": True},
    }, wave=PROJECTS_WAVE)


def root_project(config: Config) -> dict:
    return _project(root_project_name(config), config,
                    "mlgitops root app: the ApplicationSets, Applications and AppProjects in argocd/", {
                        "destinations": [{"server": argocd.DEFAULT_SERVER, "namespace": config.argocd_namespace}],
                        "clusterResourceWhitelist": [],
                        "namespaceResourceWhitelist": _group_kinds(ROOT_KINDS),
                    }, wave=None)


def project_files(config: Config) -> dict[str, object]:
    """argocd/projects/<name>.yaml (synced by the root app) and argocd/root-project.yaml (applied
    by hand with argocd/root.yaml)."""
    files: dict[str, object] = {}
    for project in (model_project(config), policies_project(config)):
        if project["metadata"]["name"] == ARGOCD_DEFAULT_PROJECT:
            continue  # Argo CD's own, which other Applications may use: not rewritten from here
        files[f"{PROJECTS_DIR}/{project['metadata']['name']}.yaml"] = project
    files[ROOT_PROJECT_FILE] = root_project(config)
    return files
