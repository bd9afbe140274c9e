"""The Argo CD AppProjects allow exactly what their Applications sync, judged the way Argo CD does.

Every Application the repository makes (the root app, the policies Applications, and those the
ApplicationSets generate: tests/test_argocd_simulation.py's expand_applicationsets) is checked
against its AppProject (argocd/projects/, argocd/root-project.yaml) with Argo CD's rules
(pkg/apis/application/v1alpha1/app_project_types.go: IsSourcePermitted, IsDestinationPermitted,
IsGroupKindNamePermitted; an absent namespaceResourceWhitelist permits every namespaced kind, an
absent or empty clusterResourceWhitelist none): its source repository, its destination, every object
it syncs (an overlay rendered by mlgitops' engine, policies/ and argocd/ read as Argo CD's
directory source does) and the Namespace its `CreateNamespace=true` creates. Least privilege is
checked the other way round: each project whitelists nothing its Applications never sync (the model
project: exactly the generators' kinds), and names only its Applications' destinations.
The control tests mutate a project and see each check fail.
"""

from __future__ import annotations

import copy
import fnmatch
import pathlib
import re
import shutil

import pytest
import yaml

from conftest import copy_sources
from test_argocd_simulation import expand_applicationsets
from tooling import REPO_ROOT

CREATE_NAMESPACE = "CreateNamespace=true"


# --- Argo CD's rules ----------------------------------------------------------------------------

def _alternatives(pattern: str) -> list[str]:
    """A gobwas glob's `{a,b}` alternatives expanded (no nesting: Argo CD's include/exclude)."""
    match = re.search(r"\{([^{}]*)\}", pattern)
    if not match:
        return [pattern]
    return [alt for choice in match.group(1).split(",")
            for alt in _alternatives(pattern[:match.start()] + choice + pattern[match.end():])]


def glob(pattern: str, value: str) -> bool:
    """Argo CD's glob.Match: gobwas glob without separators (`*` crosses '/'), `{a,b}` alternatives."""
    return any(fnmatch.fnmatchcase(value, p) for p in _alternatives(pattern))


def _normalize_repo(url: str) -> str:
    return url.lower().removesuffix("/").removesuffix(".git")


def source_permitted(project: dict, repo: str) -> bool:
    return any(glob(_normalize_repo(p), _normalize_repo(repo)) for p in project["spec"].get("sourceRepos", []))


def destination_permitted(project: dict, destination: dict, namespace: str) -> bool:
    """A destination cluster (by server or by name) and namespace allowed by one of the project's."""
    for item in project["spec"].get("destinations", []):
        cluster = ((item.get("server") and "server" in destination and glob(item["server"], destination["server"]))
                   or (item.get("name") and "name" in destination and glob(item["name"], destination["name"])))
        if cluster and glob(item.get("namespace", ""), namespace):
            return True
    return False


def kind_permitted(project: dict, group: str, kind: str, name: str, namespaced: bool) -> bool:
    spec = project["spec"]
    if namespaced:
        whitelist = spec.get("namespaceResourceWhitelist")
        return whitelist is None or any(glob(e["group"], group) and glob(e["kind"], kind) for e in whitelist)
    return any(glob(e["group"], group) and glob(e["kind"], kind) and (not e.get("name") or glob(e["name"], name))
               for e in spec.get("clusterResourceWhitelist") or [])


def group_of(obj: dict) -> str:
    api_version = obj["apiVersion"]
    return api_version.split("/")[0] if "/" in api_version else ""


# --- what each Application syncs ----------------------------------------------------------------

def load(path: pathlib.Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict)]


def argocd_objects(root: pathlib.Path) -> list[dict]:
    return [d for path in sorted((root / "argocd").rglob("*.yaml")) for d in load(path)]


def directory_source(root: pathlib.Path, source: dict) -> list[dict]:
    """Argo CD's directory source: the .yaml/.yml/.json files under `path` (recursively if
    `recurse`), those matching `include` (if set), minus those matching `exclude` (paths relative to
    `path`)."""
    base = root / source["path"]
    directory = source.get("directory", {})
    files = base.rglob("*") if directory.get("recurse") else base.glob("*")
    out = []
    for path in sorted(files):
        rel = path.relative_to(base).as_posix()
        if not path.is_file() or path.suffix not in (".yaml", ".yml", ".json"):
            continue
        if directory.get("include") and not glob(directory["include"], rel):
            continue
        if directory.get("exclude") and glob(directory["exclude"], rel):
            continue
        out += load(path)
    return out


def synced_objects(root: pathlib.Path, app: dict) -> list[dict]:
    """The objects `app` syncs, with the Namespace its CreateNamespace=true creates."""
    from mlgitops.kustomize.engine import render_objects

    source = app["spec"]["source"]
    if (root / source["path"] / "kustomization.yaml").is_file():
        objects = render_objects(str(root / source["path"]), repo_root=str(root))
    else:
        objects = directory_source(root, source)
    if CREATE_NAMESPACE in app["spec"].get("syncPolicy", {}).get("syncOptions", []):
        objects = [*objects, {"apiVersion": "v1", "kind": "Namespace",
                              "metadata": {"name": app["spec"]["destination"]["namespace"]}}]
    return objects


def applications(root: pathlib.Path) -> list[dict]:
    """Every Application: those in argocd/ and those the ApplicationSets generate."""
    direct = [o for o in argocd_objects(root) if o["kind"] == "Application"]
    return direct + expand_applicationsets(root, None)


def projects(root: pathlib.Path) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in argocd_objects(root) if o["kind"] == "AppProject"}


def namespaced(obj: dict) -> bool:
    """Namespaced objects are the ones kustomize (or the file) gives a namespace; the Namespace
    CreateNamespace adds, the admission policies and their bindings have none."""
    return "namespace" in obj.get("metadata", {})


# --- the checks ---------------------------------------------------------------------------------

def problems_of(root: pathlib.Path, apps: list[dict], projs: dict[str, dict]) -> list[str]:
    """What Argo CD would refuse, and what a project allows beyond its Applications' needs. The
    model project may also whitelist what any generator can emit (a kind the example does not
    use, e.g. HTTPRoute where the example routes with Ingress); nothing else."""
    from mlgitops.expand import appproject

    problems: list[str] = []
    used: dict[str, set[tuple[str, str, bool]]] = {name: set() for name in projs}
    model_project = yaml.safe_load((root / "mlgitops.yaml").read_text())["argocd"]["project"]
    if model_project in used:
        used[model_project] |= {(group, kind, True) for group, kind in appproject.generated_kinds()}
    created: dict[str, set[str]] = {name: set() for name in projs}
    dests: dict[str, list[dict]] = {name: [] for name in projs}
    for app in apps:
        name, spec = app["metadata"]["name"], app["spec"]
        project = projs.get(spec["project"])
        if project is None:
            problems.append(f"{name}: project {spec['project']!r} is not generated in argocd/")
            continue
        pname = spec["project"]
        destination = spec["destination"]
        dests[pname].append(destination)
        if not source_permitted(project, spec["source"]["repoURL"]):
            problems.append(f"{name}: source {spec['source']['repoURL']} not permitted in project {pname}")
        if not destination_permitted(project, destination, destination["namespace"]):
            problems.append(f"{name}: destination {destination} not permitted in project {pname}")
        for obj in synced_objects(root, app):
            group, kind, obj_name = group_of(obj), obj["kind"], obj["metadata"]["name"]
            scoped = namespaced(obj)
            used[pname].add((group, kind, scoped))
            if kind == "Namespace":
                created[pname].add(obj_name)
            if not kind_permitted(project, group, kind, obj_name, scoped):
                problems.append(f"{name}: resource {group}:{kind} {obj_name} is not permitted in project {pname}")
            if scoped and not destination_permitted(project, destination, obj["metadata"]["namespace"]):
                problems.append(f"{name}: {kind} {obj_name} in namespace {obj['metadata']['namespace']} "
                                f"not permitted in project {pname}")

    for pname, project in projs.items():
        spec = project["spec"]
        if not dests[pname]:
            problems.append(f"project {pname}: no Application uses it")
            continue
        # Nothing whitelisted that no Application of the project syncs.
        for entry in spec.get("namespaceResourceWhitelist") or []:
            if (entry["group"], entry["kind"], True) not in used[pname]:
                problems.append(f"project {pname}: whitelists namespaced {entry['group']}:{entry['kind']}, "
                                "which none of its Applications syncs")
        for entry in spec.get("clusterResourceWhitelist") or []:
            if (entry["group"], entry["kind"], False) not in used[pname]:
                problems.append(f"project {pname}: whitelists cluster-scoped {entry['group']}:{entry['kind']}, "
                                "which none of its Applications syncs")
            if entry["kind"] == "Namespace" and entry.get("name") not in created[pname]:
                problems.append(f"project {pname}: whitelists Namespace {entry.get('name') or '*'}, "
                                "which none of its Applications creates")
        for item in spec.get("destinations", []):
            if not any(destination_permitted({"spec": {"destinations": [item]}}, d, d["namespace"])
                       for d in dests[pname]):
                problems.append(f"project {pname}: destination {item} is used by none of its Applications")
            if "*" in item.get("namespace", "*"):
                problems.append(f"project {pname}: destination {item} allows any namespace")
        if spec.get("namespaceResourceWhitelist") is None:
            problems.append(f"project {pname}: no namespaceResourceWhitelist (every namespaced kind allowed)")
    return problems


# --- tests --------------------------------------------------------------------------------------

def _build(root: pathlib.Path) -> None:
    from click.testing import CliRunner

    from mlgitops.cli import main

    result = CliRunner().invoke(main, ["build", "--repo", str(root), "-q", "--no-cache"])
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> pathlib.Path:
    """A fresh build of the example repository (policies/ copied in)."""
    root = copy_sources(tmp_path_factory.mktemp("appproject") / "repo")
    shutil.copytree(REPO_ROOT / "policies", root / "policies")
    _build(root)
    return root


def test_every_application_is_permitted_and_no_project_allows_more(built):
    apps = applications(built)
    assert {a["spec"]["project"] for a in apps} == set(projects(built)), "every project is used, none missing"
    assert problems_of(built, apps, projects(built)) == []


def test_the_committed_repository_passes():
    assert problems_of(REPO_ROOT, applications(REPO_ROOT), projects(REPO_ROOT)) == []


def _config(root: pathlib.Path):
    from mlgitops.config import load_config
    from mlgitops.diagnostics import Diagnostics

    config = load_config(str(root), Diagnostics())
    assert config is not None
    return config


def test_the_model_project_whitelists_exactly_the_generators_kinds(built):
    """Its namespaced kinds are those of expand/registry.py, each with the API group the rendered
    objects really use; its only cluster-scoped kind is each environment's Namespace, by name."""
    from mlgitops.expand import appproject, registry

    config = _config(built)
    project = projects(built)[config.argocd_project]
    whitelisted = {(e["group"], e["kind"]) for e in project["spec"]["namespaceResourceWhitelist"]}
    assert {kind for _, kind in whitelisted} == registry.kinds()
    assert whitelisted == set(appproject.generated_kinds())
    rendered = {(group_of(o), o["kind"]) for app in expand_applicationsets(built, None)
                for o in synced_objects(built, app) if namespaced(o)}
    assert rendered <= whitelisted and rendered, "every rendered kind whitelisted, with its real group"
    assert {e["kind"] for e in project["spec"]["clusterResourceWhitelist"]} == {"Namespace"}
    assert sorted(e["name"] for e in project["spec"]["clusterResourceWhitelist"]) == sorted(
        env.namespace for env in config.environments.values())
    assert project["spec"]["sourceRepos"] == [config.repo_url]
    assert project["spec"]["orphanedResources"] == {"warn": True}


def test_every_generator_kind_has_an_api_group():
    """A generator that adds a kind without its group in KIND_GROUPS fails here (and the build
    refuses to write a project that could not whitelist it)."""
    from mlgitops.expand import appproject, registry

    assert registry.kinds() <= appproject.KIND_GROUPS.keys()


def test_a_kind_without_a_group_stops_the_project(monkeypatch):
    import dataclasses

    from mlgitops.expand import appproject, registry

    first = registry.GENERATORS[0]
    assert "CronJob" not in registry.kinds()
    extra = dataclasses.replace(first, kinds=(*first.kinds, "CronJob"))  # type: ignore[type-var]
    monkeypatch.setattr(registry, "GENERATORS", (extra, *registry.GENERATORS[1:]))
    with pytest.raises(appproject.UnknownKind, match="CronJob"):
        appproject.generated_kinds()
    monkeypatch.setitem(appproject.KIND_GROUPS, "CronJob", "batch")
    assert ("batch", "CronJob") in appproject.generated_kinds()


def test_the_policies_project_allows_only_what_policies_contain(built):
    """Cluster-scoped admission kinds are allowed only there; its kinds are derived from policies/."""
    from mlgitops.expand import appproject

    config = _config(built)
    projs = projects(built)
    policies = projs[appproject.policies_project_name(config)]
    docs = [d for path in (built / "policies").rglob("*.yaml")
            if "tests" not in path.relative_to(built / "policies").parts for d in load(path)]
    cluster = {(group_of(d), d["kind"]) for d in docs if not namespaced(d)}
    scoped = {(group_of(d), d["kind"]) for d in docs if namespaced(d)}
    assert {(e["group"], e["kind"]) for e in policies["spec"]["clusterResourceWhitelist"]
            if e["kind"] != "Namespace"} == cluster == set(appproject.POLICY_CLUSTER_KINDS)
    assert {(e["group"], e["kind"]) for e in policies["spec"]["namespaceResourceWhitelist"]} == scoped
    assert [e["name"] for e in policies["spec"]["clusterResourceWhitelist"] if e["kind"] == "Namespace"] == [
        "mlgitops-policy"]
    assert {d["namespace"] for d in policies["spec"]["destinations"]} == {"mlgitops-policy"}
    assert policies["spec"]["orphanedResources"] == {"warn": True}
    # no other project may create an admission policy (or any cluster-scoped kind but its namespaces)
    for name, project in projs.items():
        if name != policies["metadata"]["name"]:
            assert {e["kind"] for e in project["spec"].get("clusterResourceWhitelist") or []} <= {"Namespace"}, name


def test_the_root_project_allows_only_argo_cd_objects_in_argo_cd_namespace(built):
    from mlgitops.expand import appproject

    config = _config(built)
    root_app = load(built / "argocd/root.yaml")[0]
    root = load(built / appproject.ROOT_PROJECT_FILE)[0]
    assert root_app["spec"]["project"] == root["metadata"]["name"] == appproject.root_project_name(config)
    assert root["spec"]["destinations"] == [{"server": "https://kubernetes.default.svc",
                                             "namespace": config.argocd_namespace}]
    assert root["spec"]["clusterResourceWhitelist"] == []
    synced = directory_source(built, root_app["spec"]["source"])
    assert {(group_of(o), o["kind"]) for o in synced} == {
        (e["group"], e["kind"]) for e in root["spec"]["namespaceResourceWhitelist"]}
    # the bootstrap objects are not synced by the root app: it cannot widen its own project
    assert not [o for o in synced if o["metadata"]["name"] in (root["metadata"]["name"], "mlgitops-root")]
    assert {o["metadata"]["name"] for o in synced if o["kind"] == "AppProject"} == {
        config.argocd_project, appproject.policies_project_name(config)}
    # the projects the root app syncs come before the Applications that name them
    waves = {o["metadata"]["name"]: int(o["metadata"].get("annotations", {}).get("argocd.argoproj.io/sync-wave", 0))
             for o in synced}
    for obj in synced:
        if obj["kind"] == "Application":
            assert waves[obj["spec"]["project"]] < waves[obj["metadata"]["name"]]
    # no model or policies project may create Argo CD objects
    for name, project in projects(built).items():
        if name != root["metadata"]["name"]:
            assert not any(e["group"] == "argoproj.io" and e["kind"] in ("Application", "ApplicationSet", "AppProject")
                           for e in project["spec"]["namespaceResourceWhitelist"]), name


# --- control tests: each check fails on a mutated project -----------------------------------------

def _mutated(built: pathlib.Path, name: str, edit) -> list[str]:
    projs = copy.deepcopy(projects(built))
    edit(projs[name]["spec"])
    return problems_of(built, applications(built), projs)


@pytest.mark.parametrize("edit, expected", [
    (lambda s: s["namespaceResourceWhitelist"].remove({"group": "serving.kserve.io", "kind": "InferenceService"}),
     "resource serving.kserve.io:InferenceService iris is not permitted in project ml-models"),
    (lambda s: s["namespaceResourceWhitelist"].append({"group": "apps", "kind": "Deployment"}),
     "project ml-models: whitelists namespaced apps:Deployment, which none of its Applications syncs"),
    (lambda s: s["namespaceResourceWhitelist"].append({"group": "argoproj.io", "kind": "ApplicationSet"}),
     "project ml-models: whitelists namespaced argoproj.io:ApplicationSet"),
    (lambda s: s.pop("namespaceResourceWhitelist"),
     "project ml-models: no namespaceResourceWhitelist"),
    (lambda s: s["clusterResourceWhitelist"].append(
        {"group": "admissionregistration.k8s.io", "kind": "ValidatingAdmissionPolicy"}),
     "project ml-models: whitelists cluster-scoped admissionregistration.k8s.io:ValidatingAdmissionPolicy"),
    (lambda s: s["clusterResourceWhitelist"].pop(),
     "resource :Namespace ml-staging is not permitted in project ml-models"),
    (lambda s: s["clusterResourceWhitelist"].append({"group": "", "kind": "Namespace", "name": "kube-system"}),
     "project ml-models: whitelists Namespace kube-system, which none of its Applications creates"),
    (lambda s: s["sourceRepos"].__setitem__(0, "https://git.example.com/other.git"),
     "iris-staging: source https://git.example.com/ml-platform/mlgitops.git not permitted in project ml-models"),
    (lambda s: s["destinations"].pop(0),
     "iris-staging: destination {'server': 'https://kubernetes.default.svc', 'namespace': 'ml-staging'} not permitted"),
    (lambda s: s["destinations"].append({"server": "https://kubernetes.default.svc", "namespace": "kube-system"}),
     "is used by none of its Applications"),
    (lambda s: s["destinations"].append({"server": "https://kubernetes.default.svc", "namespace": "*"}),
     "allows any namespace"),
])
def test_a_mutated_model_project_is_caught(built, edit, expected):
    problems = _mutated(built, "ml-models", edit)
    assert any(expected in p for p in problems), problems


def test_a_mutated_policies_project_is_caught(built):
    def drop_binding(spec):
        spec["clusterResourceWhitelist"] = [e for e in spec["clusterResourceWhitelist"]
                                            if e["kind"] != "ValidatingAdmissionPolicyBinding"]
    problems = _mutated(built, "ml-models-policies", drop_binding)
    assert any("resource admissionregistration.k8s.io:ValidatingAdmissionPolicyBinding" in p
               and "not permitted in project ml-models-policies" in p for p in problems), problems
    problems = _mutated(built, "ml-models-policies", lambda s: s["namespaceResourceWhitelist"].clear())
    assert any("resource :ConfigMap" in p and "ml-models-policies" in p for p in problems), problems


def test_a_missing_project_and_a_wrong_root_project_are_caught(built):
    projs = projects(built)
    del projs["ml-models"]
    apps = applications(built)
    problems = problems_of(built, apps, projs)
    models = [a["metadata"]["name"] for a in apps if a["spec"]["project"] == "ml-models"]
    assert models and all(f"{name}: project 'ml-models' is not generated in argocd/" in problems
                          for name in models), problems
    problems = _mutated(built, "ml-models-root", lambda s: s["namespaceResourceWhitelist"].pop(0))
    assert any("resource argoproj.io:AppProject ml-models is not permitted in project ml-models-root" in p
               for p in problems), problems


def test_orphaned_resource_warnings_are_on(built):
    projs = projects(built)
    assert [n for n, p in sorted(projs.items()) if p["spec"].get("orphanedResources") == {"warn": True}] == [
        "ml-models", "ml-models-policies"]


# --- configurations beyond the example --------------------------------------------------------------

def _expected_destinations(root: pathlib.Path) -> tuple[list[dict], list[dict]]:
    """(model project, policies project) destinations, from mlgitops.yaml read as plain YAML: each
    environment's clusters (its `clusters`, else its one server) with its namespace, in config
    order; each distinct cluster once with the policies namespace."""
    models: list[dict] = []
    for spec in yaml.safe_load((root / "mlgitops.yaml").read_text())["environments"].values():
        servers = [c["server"] for c in spec["clusters"]] if "clusters" in spec else \
            [spec.get("server", "https://kubernetes.default.svc")]
        models += [{"server": server, "namespace": spec["namespace"]} for server in servers]
    servers = list(dict.fromkeys(d["server"] for d in models))
    return models, [{"server": server, "namespace": "mlgitops-policy"} for server in servers]


def _check_destinations(root: pathlib.Path) -> None:
    projs = projects(root)
    models, policies = _expected_destinations(root)
    assert projs["ml-models"]["spec"]["destinations"] == models
    assert projs["ml-models-policies"]["spec"]["destinations"] == policies
    apps = expand_applicationsets(root, None)
    assert apps and all(destination_permitted(projs["ml-models"], a["spec"]["destination"],
                                              a["spec"]["destination"]["namespace"]) for a in apps)
    # each used: no destination beyond the Applications'
    assert problems_of(root, applications(root), projs) == []


def test_two_clusters_give_each_environment_its_own_destinations(built, tmp_path):
    """Prod's second cluster (the example's prod-eu): the model project names it with ml-prod only,
    and the policies project with the policies namespace only; the same for prod on a cluster of
    its own."""
    _check_destinations(built)
    projs = projects(built)
    prod = yaml.safe_load((built / "mlgitops.yaml").read_text())["environments"]["prod"]
    other = [c["server"] for c in prod["clusters"] if c["server"] != "https://kubernetes.default.svc"]
    assert other
    assert {"server": other[0], "namespace": "ml-prod"} in projs["ml-models"]["spec"]["destinations"]
    # a staging Application may not deploy to prod's own cluster
    assert not destination_permitted(projs["ml-models"], {"server": other[0]}, "ml-staging")

    from tooling import without_section

    root = copy_sources(tmp_path / "repo")
    shutil.copytree(REPO_ROOT / "policies", root / "policies")
    text = without_section((root / "mlgitops.yaml").read_text(), "environments")
    (root / "mlgitops.yaml").write_text(
        text + "environments:\n  staging:\n    namespace: ml-staging\n    server: https://kubernetes.default.svc\n"
        "  prod:\n    namespace: ml-prod\n    server: https://prod.example.com:6443\n")
    _build(root)
    _check_destinations(root)
    projs = projects(root)
    assert projs["ml-models"]["spec"]["destinations"] == [
        {"server": "https://kubernetes.default.svc", "namespace": "ml-staging"},
        {"server": "https://prod.example.com:6443", "namespace": "ml-prod"}]
    assert projs["ml-models-policies"]["spec"]["destinations"] == [
        {"server": "https://kubernetes.default.svc", "namespace": "mlgitops-policy"},
        {"server": "https://prod.example.com:6443", "namespace": "mlgitops-policy"}]
    assert not destination_permitted(projs["ml-models"], {"server": "https://prod.example.com:6443"}, "ml-staging")


def test_a_cluster_selector_allows_any_cluster_but_only_the_namespace():
    from mlgitops.config import Environment
    from mlgitops.expand import appproject

    env = Environment(name="prod", namespace="ml-prod", server=None, cluster=None,
                      cluster_selector={"env": "prod"})
    assert appproject.clusters(env) == [{"server": "*"}]
    env = Environment(name="prod", namespace="ml-prod", server=None, cluster="prod-eu")
    assert appproject.clusters(env) == [{"name": "prod-eu"}]


def test_argo_cds_default_project_is_never_generated(tmp_path):
    root = copy_sources(tmp_path / "repo")
    text = (root / "mlgitops.yaml").read_text()
    assert "  project: ml-models\n" in text
    (root / "mlgitops.yaml").write_text(text.replace("  project: ml-models\n", "  project: default\n"))
    _build(root)
    assert sorted(projects(root)) == ["default-policies", "default-root"]


def test_the_project_files_are_valid_against_the_appproject_schema(built, cli):
    """Strict schema validation (schemas/argoproj.io-strict) of argocd/, and a misspelt field fails it."""
    # as `make check`: every Argo CD kind (Application, ApplicationSet, AppProject) from the repository's
    # committed schemas/ (`default`), strict schemas (also mlgitops.yaml's)
    locations = ["--schema-location", "default", "--strict-schemas"]
    result = cli("validate", "--repo", str(built), *locations, str(built / "argocd"))
    assert result.exit_code == 0, result.stdout + result.stderr
    path = built / "argocd/projects/ml-models.yaml"
    good = path.read_text()
    try:
        path.write_text(good.replace("  orphanedResources:", "  orphanResources:"))
        result = cli("validate", "--repo", str(built), *locations, str(built / "argocd"))
        assert result.exit_code == 1 and "orphanResources" in result.stdout + result.stderr
    finally:
        path.write_text(good)
