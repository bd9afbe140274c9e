"""Argo CD: one ApplicationSet per environment over overlays/<env>/* (matrix generators with its
clusters when it has several), an Application per cluster syncing the admission policies in
policies/ (an ApplicationSet for clusters chosen by label), the AppProjects (expand/appproject.py)
and a root app-of-apps over argocd/applicationsets/ and argocd/projects/.

No sync waves inside a model's Application (a multi-wave sync stays open while a canary is
paused and blocks auto-sync of a revert: docs/design.md), no replicas in Git so no
ignoreDifferences, and each Application refreshes only when its own directory or base/ changes
(manifest-generate-paths). The only waves are in the root app: the projects (-2), then the
policies Application (-1, with the policies and their parameters), before the model
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


def destinations(env: Environment) -> list[dict]:
    """The Argo CD destination clusters of an environment ({server} or {name}), in config order;
    [] when a label selector picks them (the cluster generator: known only to Argo CD)."""
    if env.cluster_selector is not None:
        return []
    if env.clusters:
        return [c.destination() for c in env.clusters]
    return [_cluster(env)]


def _cluster(env: Environment) -> dict:
    """The destination cluster of an environment with one: by name, or by API server URL."""
    return {"name": env.cluster} if env.cluster else {"server": env.server or DEFAULT_SERVER}


def _sync_policy(*options: str) -> dict:
    """Automated sync with prune and self-heal, the namespace created, `options` added, retries."""
    return {
        "automated": {"prune": True, "selfHeal": True},
        "syncOptions": ["CreateNamespace=true", *options],
        "retry": {"limit": 3, "backoff": {"duration": "10s", "factor": 2, "maxDuration": "3m"}},
    }


def _git(config: Config, env_dir: str) -> dict:
    """Argo CD's git directory generator over the overlays in overlays/<env_dir>/."""
    return {"git": {"repoURL": config.repo_url, "revision": config.target_revision,
                    "directories": [{"path": f"{layout.OVERLAYS}/{env_dir}/*"}]}}


def _cluster_generator(env: Environment) -> dict:
    """Argo CD's cluster generator over the cluster secrets an environment selects by label."""
    assert env.cluster_selector is not None
    return {"clusters": {"selector": {"matchLabels": dict(sorted(env.cluster_selector.items()))}}}


def _generators(env: Environment, config: Config) -> tuple[list[dict], str, dict]:
    """(generators, name suffix, destination cluster) of an environment's ApplicationSet.

    One cluster: the git directory generator alone. Several (`clusters`): a matrix of the overlays
    and a list generator of the clusters that share them, and one matrix per cluster with
    overrides over its own overlays/<env>@<cluster>/ (mlgitops writes an overlay there for every
    model: compiled where the overrides change it, else a reference to the environment's). A label
    selector: a matrix of the overlays and Argo CD's cluster generator."""
    if env.cluster_selector is not None:
        matrix = {"matrix": {"generators": [_git(config, env.name), _cluster_generator(env)]}}
        return [matrix], "-{{.name}}", {"server": "{{.server}}"}
    if not env.clusters:
        return [_git(config, env.name)], "", _cluster(env)

    def element(cluster) -> dict:
        return {"cluster": cluster.name, "server": cluster.server}

    generators = []
    shared = [element(c) for c in env.clusters if not c.overrides]
    if shared:
        generators.append({"matrix": {"generators": [_git(config, env.name), {"list": {"elements": shared}}]}})
    for cluster in env.overriding_clusters:
        generators.append({"matrix": {"generators": [_git(config, layout.env_dir(env.name, cluster.name)),
                                                     {"list": {"elements": [element(cluster)]}}]}})
    return generators, "-{{.cluster}}", {"server": "{{.server}}"}


def application_set(env: Environment, config: Config) -> dict:
    generators, suffix, cluster = _generators(env, config)
    # Refresh an app only when its overlay or the shared base changes (a cluster's overlay may
    # refer to the environment's overlay of the same model).
    generate_paths = ".;/base" if not env.overriding_clusters else \
        f".;/base;/{layout.OVERLAYS}/{env.name}/{{{{.path.basename}}}}"
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": f"mlgitops-{env.name}", "namespace": config.argocd_namespace, "labels": dict(LABELS)},
        "spec": {
            "goTemplate": True,
            "goTemplateOptions": ["missingkey=error"],
            "generators": generators,
            # Deleting the ApplicationSet must not delete running models.
            "syncPolicy": {"preserveResourcesOnDeletion": True},
            "template": {
                "metadata": {
                    "name": "{{.path.basename}}-" + env.name + suffix,
                    "labels": {**LABELS, "app.kubernetes.io/name": "{{.path.basename}}",
                               "mlgitops.dev/environment": env.name},
                    "annotations": {"argocd.argoproj.io/manifest-generate-paths": generate_paths},
                    "finalizers": ["resources-finalizer.argocd.argoproj.io"],
                },
                "spec": {
                    "project": config.argocd_project,
                    "source": {"repoURL": config.repo_url, "targetRevision": config.target_revision,
                               "path": "{{.path.path}}"},
                    "destination": {**cluster, "namespace": env.namespace},
                    "syncPolicy": _sync_policy("PruneLast=true"),
                },
            },
        },
    }


def root_application(config: Config) -> dict:
    """The app-of-apps, applied by hand with its project (argocd/root-project.yaml): it syncs
    argocd/applicationsets/ and argocd/projects/ (not itself, not its own project) into Argo CD's
    namespace, in the root project, which allows only Argo CD's own kinds there: the model and
    policies projects must not (expand/appproject.py)."""
    from . import appproject  # it reads this module's names

    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "mlgitops-root", "namespace": config.argocd_namespace, "labels": dict(LABELS)},
        "spec": {
            "project": appproject.root_project_name(config),
            "source": {"repoURL": config.repo_url, "targetRevision": config.target_revision, "path": ARGOCD_DIR,
                       # a glob matched against paths relative to `path`; `*` crosses '/'
                       "directory": {"recurse": True,
                                     "include": "{" + ",".join(f"{d}/*" for d in appproject.ROOT_SYNCED) + "}"}},
            "destination": {"server": DEFAULT_SERVER, "namespace": config.argocd_namespace},
            "syncPolicy": {"automated": {"prune": True, "selfHeal": True}},
        },
    }


def policies_application(name: str, cluster: dict, config: Config) -> dict:
    """The Application that syncs policies/ (the ValidatingAdmissionPolicies, their bindings and
    parameters; not tests/) to `cluster` (an Argo CD destination without namespace). No resources
    finalizer: deleting the Application leaves the policies in force (removing admission control
    takes a deliberate act).
    Its project is the only one allowed the cluster-scoped admission kinds (expand/appproject.py)."""
    from . import appproject  # it reads this module's names

    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": config.argocd_namespace, "labels": dict(LABELS),
                     "annotations": {SYNC_WAVE: POLICIES_WAVE}},
        "spec": {
            "project": appproject.policies_project_name(config),
            "source": {"repoURL": config.repo_url, "targetRevision": config.target_revision, "path": POLICIES_DIR,
                       # Argo CD matches the glob against paths relative to `path`
                       "directory": {"recurse": True, "exclude": "tests/*"}},
            "destination": {**cluster, "namespace": POLICIES_NAMESPACE},
            "syncPolicy": _sync_policy(),
        },
    }


def policy_clusters(config: Config) -> list[tuple[str, dict]]:
    """(Application name, destination cluster) per distinct listed destination cluster, in config
    order: `mlgitops-policies` when every environment shares one cluster, else
    `mlgitops-policies-<env>` (`-<env>-<cluster>` for a cluster of a `clusters` list) named after
    the cluster's first environment. Clusters chosen by label are ApplicationSets of their own
    (policies_application_set)."""
    first: dict[tuple, tuple[str, dict]] = {}
    for env in config.environments.values():
        suffixes = [f"{env.name}-{c.name}" for c in env.clusters] or [env.name]
        for suffix, cluster in zip(suffixes, destinations(env)):  # none for a label selector
            first.setdefault(tuple(cluster.items()), (suffix, cluster))
    if len(first) == 1 and not any(env.cluster_selector is not None for env in config.environments.values()):
        return [(POLICIES_APP, cluster) for _, cluster in first.values()]
    return [(f"{POLICIES_APP}-{suffix}", cluster) for suffix, cluster in first.values()]


def policies_application_set(env: Environment, config: Config) -> dict:
    """The policies Application of every cluster an environment selects by label: an
    ApplicationSet with Argo CD's cluster generator (mlgitops cannot know those clusters)."""
    template = policies_application(f"{POLICIES_APP}-{{{{.name}}}}", {"server": "{{.server}}"}, config)
    del template["apiVersion"], template["kind"], template["metadata"]["namespace"]
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": f"{POLICIES_APP}-{env.name}", "namespace": config.argocd_namespace,
                     "labels": dict(LABELS), "annotations": {SYNC_WAVE: POLICIES_WAVE}},
        "spec": {
            "goTemplate": True,
            "goTemplateOptions": ["missingkey=error"],
            "generators": [_cluster_generator(env)],
            "syncPolicy": {"preserveResourcesOnDeletion": True},
            "template": template,
        },
    }


def argocd_files(config: Config) -> dict[str, object]:
    files: dict[str, object] = {ROOT_APP: root_application(config)}
    for env in config.environments.values():
        files[f"{APPSETS_DIR}/{env.name}.yaml"] = application_set(env, config)
    for name, cluster in policy_clusters(config):
        files[f"{APPSETS_DIR}/{name}.yaml"] = policies_application(name, cluster, config)
    for env in config.environments.values():
        if env.cluster_selector is not None:
            files[f"{APPSETS_DIR}/{POLICIES_APP}-{env.name}-clusters.yaml"] = policies_application_set(env, config)
    from . import appproject  # it reads this module's names

    files.update(appproject.project_files(config))
    return files
