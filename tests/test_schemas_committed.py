"""The example repository is self-contained: schemas/ holds the schema of every custom kind it generates.

`make schemas` imports them from the upstream CRDs (the Makefile's SCHEMA_CRDS, `../shared/crds` and
`.tools/crds`); `make check` (plain `mlgitops check`, strictSchemas in mlgitops.yaml) then validates every
object strictly against them. Proved on a copy of the repository's files in a directory with no
`../shared` beside it, through both validation engines; and the committed files are what `make
schemas` makes, pinned by schemas.lock and attributed in schemas/SOURCE.md.
"""

from __future__ import annotations

import copy
import json
import os
import pathlib
import re
import shlex
import shutil
import subprocess
import sys

import pytest
import yaml

from mlgitops.config import load_config
from mlgitops.diagnostics import Diagnostics
from mlgitops.validate import k8sschemas
from mlgitops.validate.crdimport import import_crds
from mlgitops.validate.documents import collect, default_paths
from mlgitops.validate.lock import LOCK_NAME, read_lock, sha256
from mlgitops.validate.registry import SchemaRegistry
from tooling import REPO_ROOT, SHARED_ROOT, _missing, copy_repo_files, require_shared, require_tool

SCHEMAS = REPO_ROOT / "schemas"
NOT_SCHEMAS = {"SOURCE.md", LOCK_NAME}
UNKNOWN_FIELD = "notAFieldOfThisKind"


def _kubernetes_version() -> str:
    diags = Diagnostics()
    config = load_config(str(REPO_ROOT), diags)
    assert config is not None, [d.format() for d in diags]
    return config.validation["kubernetesVersion"]


def _custom_objects(root: pathlib.Path) -> dict[tuple[str, str], dict]:
    """(apiVersion, kind) -> one object of that custom kind in root's overlays/ and argocd/: every kind
    without a bundled Kubernetes schema."""
    version = _kubernetes_version()
    out: dict[tuple[str, str], dict] = {}
    for doc in collect(default_paths(str(root)), str(root)).documents:
        gvk = (doc.api_version, doc.kind)
        if gvk not in out and not os.path.exists(k8sschemas.source_path(version, False, *gvk)):
            out[gvk] = doc.obj
    return out


def _make(*args: str) -> str:
    make = require_tool("make", "apt-get install make")
    return subprocess.run([make, "-s", "--no-print-directory", *args], cwd=REPO_ROOT, check=True,
                          capture_output=True, text=True).stdout


def _schema_crds() -> list[str]:
    """The Makefile's SCHEMA_CRDS, as `make schemas` passes them (relative to the repository)."""
    return _make("--eval", "_print-schema-crds: ; @echo $(SCHEMA_CRDS)", "_print-schema-crds").split()


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """The repository's files in `<tmp>/work/repo`: no `../shared` beside it."""
    root = copy_repo_files(tmp_path_factory.mktemp("work") / "repo")
    assert not (root.parent / "shared").exists() and (root / "schemas" / LOCK_NAME).is_file()
    return root


def _env(**extra: str) -> dict[str, str]:
    """No CI=true: strictness must come from the repository itself (mlgitops.yaml), not from CI."""
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    return {**env, **extra}


def mlgitops(root: pathlib.Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mlgitops", *args], cwd=root, capture_output=True, text=True,
                          env=env or _env())


def validate_json(root: pathlib.Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, dict]:
    proc = mlgitops(root, "validate", "--format", "json", *args, env=env)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def _kubeconform_env() -> dict[str, str]:
    kubeconform = require_tool("kubeconform", "make tools")
    return _env(PATH=os.path.dirname(kubeconform) + os.pathsep + os.environ.get("PATH", ""))


def test_every_custom_kind_has_a_pinned_strict_schema_in_schemas():
    custom = _custom_objects(REPO_ROOT)
    assert {k for _, k in custom} >= {"InferenceService", "Rollout", "AppProject"}  # overlays/ and argocd/
    registry = SchemaRegistry(["default"], repo_root=str(REPO_ROOT), kubernetes_version=_kubernetes_version())
    for (api_version, kind) in sorted(custom):
        group, _, version = api_version.rpartition("/")
        found = registry.lookup(api_version, kind)
        assert (found.error, found.warning) == (None, None), (kind, found)
        assert found.source == f"schemas/{group}-strict/{kind.lower()}_{version}.json", (kind, found.tried)


def test_the_makefile_check_passes_strictly_in_a_clone_without_shared(clone):
    command = shlex.split(_make("-n", "-o", ".venv/.installed", "check").strip())
    assert command[0] == ".venv/bin/mlgitops" and command[1] == "check", command
    proc = subprocess.run([str(REPO_ROOT / command[0]), *command[1:]], cwd=clone, capture_output=True, text=True,
                          env=_env())
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    validate = next(line for line in output.splitlines() if line.startswith("validate: "))
    assert re.search(r"validate: (\d+) resources .* Valid: \1, Invalid: 0, Errors: 0, Skipped: 0$", validate)
    assert "schema.missing" not in output and "no schema for" not in output


def test_every_object_of_a_clone_is_validated_against_a_schema(clone):
    code, report = validate_json(clone)
    assert code == 0 and report["diagnostics"] == []
    assert report["skipped"] == 0 and report["valid"] == report["resources"] > 100


def test_a_missing_schema_is_an_error_without_ci(clone, tmp_path):
    """Strict schemas come from mlgitops.yaml: a clone that lost one kind's schemas fails, naming it."""
    (api_version, kind), _ = sorted(_custom_objects(clone).items())[0]
    group, _, version = api_version.rpartition("/")
    repo = tmp_path / "repo"
    shutil.copytree(clone, repo)
    for suffix in ("", "-strict"):
        (repo / "schemas" / f"{group}{suffix}" / f"{kind.lower()}_{version}.json").unlink()
    code, report = validate_json(repo)
    missing = [d for d in report["diagnostics"] if d["rule"] == "schema.missing"]
    assert code == 1 and report["skipped"] > 0
    assert [(d["severity"], d["message"].split(":")[0].split()[0]) for d in missing] == [("error", kind)]


@pytest.fixture(scope="module")
def mutants(clone) -> tuple[pathlib.Path, list[str]]:
    """One object of every custom kind with an unknown field in its spec, in one file of the clone."""
    docs = []
    for (_, kind), obj in sorted(_custom_objects(clone).items()):
        mutant = copy.deepcopy(obj)
        assert isinstance(mutant.get("spec"), dict), kind
        mutant["spec"][UNKNOWN_FIELD] = 1
        docs.append(mutant)
    path = clone / "mutants.yaml"
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False))
    return path, [d["kind"] for d in docs]


@pytest.mark.parametrize("engine", ["builtin", "kubeconform"])
def test_an_unknown_field_fails_every_custom_kind(clone, mutants, engine):
    path, kinds = mutants
    env = _kubeconform_env() if engine == "kubeconform" else None
    code, report = validate_json(clone, "--engine", engine, str(path), env=env)
    assert code == 1 and report["invalid"] == report["resources"] == len(kinds)
    flagged = sorted(d["message"].split()[0] for d in report["diagnostics"]
                     if d["severity"] == "error" and UNKNOWN_FIELD in d["message"])
    assert flagged == sorted(kinds)


@pytest.mark.parametrize("engine", ["kubeconform", "both"])
def test_kubeconform_validates_every_object_with_the_committed_schemas(clone, engine):
    code, report = validate_json(clone, "--engine", engine, env=_kubeconform_env())
    assert code == 0 and report["diagnostics"] == [], report["diagnostics"][:5]
    assert report["engine"] == engine and report["skipped"] == 0 and report["valid"] == report["resources"] > 100


def test_the_lock_pins_every_schema_file_by_relative_source():
    lock = read_lock(str(SCHEMAS))
    assert lock is not None
    files = {p.relative_to(SCHEMAS).as_posix() for p in SCHEMAS.rglob("*") if p.is_file()} - NOT_SCHEMAS
    assert set(lock) == files
    for rel, entry in lock.items():
        assert entry["sha256"] == sha256((SCHEMAS / rel).read_bytes()), rel
        assert not os.path.isabs(entry["source"]) and entry.get("crd"), entry  # imported, by relative path
    assert {e["source"] for e in lock.values()} == set(_schema_crds())


def _shared_crd_rows() -> dict[str, tuple[str, str]]:
    """../shared/crds/SOURCE.md: CRD file name -> (upstream repository, commit)."""
    rows: dict[str, tuple[str, str]] = {}
    for line in (require_shared("crds") / "SOURCE.md").read_text().splitlines():
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if len(cells) != 5 or not cells[0].endswith(".yaml"):
            continue
        names = [cells[0]]
        if braces := re.fullmatch(r"(.*)\{(.*)\}(.*)", cells[0]):
            names = [braces[1] + part + braces[3] for part in braces[2].split(",")]
        for name in names:
            rows[name] = (cells[1], cells[3].split()[0])
    return rows


def test_source_md_names_every_source_with_its_upstream_version():
    attribution = (SCHEMAS / "SOURCE.md").read_text()
    rows = _shared_crd_rows()
    shared = [s for s in _schema_crds() if s.startswith("../shared/crds/")]
    others = [s for s in _schema_crds() if s not in shared]
    assert shared and others == [".tools/crds/argoproj.io_appprojects.yaml"]
    for source in shared:
        repository, commit = rows[source.rsplit("/", 1)[1]]
        assert repository in attribution and f"commit {commit}" in attribution, source
    # AppProject: the Argo CD Go module .ci/tools/install pins
    module = re.search(r"^ARGOCD_MODULE=(\S+)", (REPO_ROOT / ".ci/tools/install").read_text(), re.M)
    assert module and f"`{module[1]}`" in attribution


def test_make_schemas_reproduces_the_committed_files(tmp_path):
    """What `make schemas` writes from SCHEMA_CRDS is byte for byte what is committed (a stale or
    hand-edited schema fails), and the lock records the same relative sources."""
    require_shared("crds")
    crds = _schema_crds()
    for source in crds:
        if not (REPO_ROOT / source).is_file():
            _missing(f"{source} not found: {'run make tools' if source.startswith('.tools') else SHARED_ROOT}")
    out = tmp_path / "schemas"
    result = import_crds([str(REPO_ROOT / s) for s in crds], str(out), repo=str(REPO_ROOT))
    assert not result.diagnostics.has_errors, [d.format() for d in result.diagnostics]
    made = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    committed = {p.relative_to(SCHEMAS).as_posix(): p.read_bytes() for p in SCHEMAS.rglob("*") if p.is_file()}
    assert made.keys() == committed.keys() - {"SOURCE.md"}
    assert [rel for rel in sorted(made) if made[rel] != committed[rel]] == []
