"""`mlgitops schemas pull` end to end: a real local HTTP server (serving ../shared/schemas in the
CRDs-catalog layout) and local directory templates stand in for GitHub."""

from __future__ import annotations

import hashlib
import json
import pathlib
import re
import shutil
import shutil

from click.testing import CliRunner

from conftest import copy_sources
from mlgitops.cli import main
from mlgitops.kustomize.engine import render_objects
from mlgitops.validate import k8sschemas
from mlgitops.validate.crdimport import import_crds
from mlgitops.validate.documents import collect
from mlgitops.validate.registry import SchemaRegistry
from test_validate_registry import serve
from tooling import REPO_ROOT, _missing, require_shared

CATALOG = "/{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json"


def pull(*args: str):
    return CliRunner().invoke(main, ["schemas", "pull", *args])


def lock_of(schemas: pathlib.Path) -> dict[str, dict]:
    return {e["path"]: e for e in json.loads((schemas / "schemas.lock").read_text())["schemas"]}


def test_pull_resources_over_http(tmp_path):
    shared = require_shared("schemas")
    with serve(shared) as (server, base):
        result = pull("serving.kserve.io/v1beta1/InferenceService", "argoproj.io/v1alpha1/Rollout",
                      "--from", base + CATALOG, "--repo", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "pulled 2 schema(s)" in result.output
    assert sorted(server.requests) == ["/argoproj.io/rollout_v1alpha1.json",
                                       "/serving.kserve.io/inferenceservice_v1beta1.json"]
    lock = lock_of(tmp_path / "schemas")
    assert sorted(lock) == ["argoproj.io/rollout_v1alpha1.json", "serving.kserve.io/inferenceservice_v1beta1.json"]
    for rel, entry in lock.items():
        data = (tmp_path / "schemas" / rel).read_bytes()
        assert data == (shared / rel).read_bytes()  # byte for byte
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        assert entry["source"] == f"{base}/{rel}"
    assert lock["argoproj.io/rollout_v1alpha1.json"]["kind"] == "Rollout"
    # validate finds them offline, pinned (no warning).
    found = SchemaRegistry(["default"], repo_root=str(tmp_path)).lookup("argoproj.io/v1alpha1", "Rollout")
    assert found.source == "schemas/argoproj.io/rollout_v1alpha1.json"
    assert found.error is None and found.warning is None
    # An edited schema is refused, with the command that restores it.
    rollout = tmp_path / "schemas" / "argoproj.io" / "rollout_v1alpha1.json"
    rollout.write_bytes(rollout.read_bytes().replace(b'"integer"', b'"string"', 1))
    edited = SchemaRegistry(["default"], repo_root=str(tmp_path)).lookup("argoproj.io/v1alpha1", "Rollout")
    assert edited.rule == "schema.checksum" and edited.schema is None
    assert "re-run 'mlgitops schemas pull argoproj.io/v1alpha1/Rollout'" in edited.error


def test_pull_discovers_custom_kinds_without_schema(tmp_path):
    shared = require_shared("schemas")
    repo = copy_sources(tmp_path / "repo", with_output=True)
    shutil.rmtree(repo / "schemas")  # a repository that has not vendored its schemas yet
    kinds = set()
    for overlay in sorted((repo / "overlays").glob("*/*")):
        kinds |= {(o["apiVersion"], o["kind"]) for o in render_objects(str(overlay), repo_root=str(repo))}
    argocd = {(d.api_version, d.kind) for d in collect([str(repo / "argocd")], str(repo)).documents}
    assert ("argoproj.io/v1alpha1", "ApplicationSet") in argocd  # argocd/ is discovered too
    kinds |= argocd
    core = {g for g in kinds if pathlib.Path(k8sschemas.source_path("1.33.0", False, *g)).exists()}
    custom = kinds - core
    assert custom and core  # the example repo has both
    # A schema imported before is not pulled again, and its lock entry is kept.
    crds = require_shared("crds")
    assert not import_crds([str(crds / "argoproj.io_rollouts.yaml")], str(repo / "schemas"),
                           repo=str(crds.parent)).diagnostics.has_errors
    # The AppProject (argocd/projects/) is in no catalog: imported from Argo CD's CRD, as `make schemas` does.
    appprojects = REPO_ROOT / ".tools/crds/argoproj.io_appprojects.yaml"
    if not appprojects.is_file():
        _missing(f"{appprojects} not found: run make tools")
    assert not import_crds([str(appprojects)], str(repo / "schemas"), repo=str(REPO_ROOT)).diagnostics.has_errors
    # The kinds the catalog lacks (schemas/SOURCE.md), imported from their CRDs as `make schemas` does.
    imported = {"HTTPRoute": "gateway.networking.k8s.io_httproutes.yaml",
                "ExternalSecret": "external-secrets.io_externalsecrets.yaml"}
    assert imported.keys() <= {k for _, k in custom}  # the example uses them (routes, storage endpoints)
    assert not import_crds([str(crds / f) for f in imported.values()], str(repo / "schemas"),
                           repo=str(crds.parent)).diagnostics.has_errors
    result = pull("--from", str(shared), "--repo", str(repo))
    assert result.exit_code == 0, result.output
    lock = lock_of(repo / "schemas")
    pulled = {p for p, e in lock.items() if "crd" not in e}
    expected = {f"{a.split('/')[0]}/{k.lower()}_{a.split('/')[1]}.json" for a, k in custom
                if k not in ("Rollout", "AppProject", *imported)}
    assert pulled == expected
    assert {"argoproj.io/rollout_v1alpha1.json", "argoproj.io-strict/rollout_v1alpha1.json"} <= set(lock)
    assert all(lock[p]["source"] == str(shared / p) for p in pulled)
    # Every object of the repo now has a schema through `default`, without network.
    registry = SchemaRegistry(["default"], repo_root=str(repo))
    assert all(registry.lookup(*g).schema is not None for g in kinds)
    # Second run: nothing left to pull, nothing written.
    before = {p: p.stat().st_mtime_ns for p in (repo / "schemas").rglob("*")}
    again = pull("--from", str(shared), "--repo", str(repo))
    assert again.exit_code == 0 and "nothing to pull" in again.output
    assert before == {p: p.stat().st_mtime_ns for p in (repo / "schemas").rglob("*")}


def test_pull_file_url_and_base_directory(tmp_path):
    shared = require_shared("schemas")
    result = pull("keda.sh/v1alpha1/ScaledObject", "--from", shared.as_uri() + CATALOG, "--repo", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "schemas" / "keda.sh" / "scaledobject_v1alpha1.json").read_bytes() == \
        (shared / "keda.sh" / "scaledobject_v1alpha1.json").read_bytes()


def test_nothing_written_when_a_fetch_fails(tmp_path):
    shared = require_shared("schemas")
    with serve(shared) as (server, base):
        missing = pull("argoproj.io/v1alpha1/Rollout", "example.com/v1/Widget",
                       "--from", base + CATALOG, "--repo", str(tmp_path))
        failing = pull("argoproj.io/v1alpha1/Rollout", "--from", base + "/fail" + CATALOG, "--repo", str(tmp_path))
        garbage = pull("argoproj.io/v1alpha1/Rollout", "--from", base + "/garbage" + CATALOG,
                       "--repo", str(tmp_path))
    assert missing.exit_code == 1
    assert f"{base}/example.com/widget_v1.json: error: no schema for Widget example.com/v1 at " \
           f"{base}/example.com/widget_v1.json [schema.not-found]" in missing.output
    assert failing.exit_code == 1 and "HTTP 500" in failing.output and "[schema.fetch]" in failing.output
    assert garbage.exit_code == 1 and "[schema.invalid-json]" in garbage.output
    assert "nothing was written" in missing.output
    assert not (tmp_path / "schemas").exists()


def test_usage_errors_exit_2(tmp_path):
    bad = pull("InferenceService", "--from", str(tmp_path), "--repo", str(tmp_path))
    assert bad.exit_code == 2 and "is not group/version/Kind" in bad.output and "[usage.resource]" in bad.output
    template = pull("a.io/v1/X", "--from", str(tmp_path) + "/{{ .Nope }}.json", "--repo", str(tmp_path))
    assert template.exit_code == 2 and "unknown template variable" in template.output
    assert not (tmp_path / "schemas").exists()


def test_help_has_example():
    result = CliRunner().invoke(main, ["schemas", "pull", "--help"])
    assert result.exit_code == 0
    assert "mlgitops schemas pull serving.kserve.io/v1beta1/InferenceService" in result.output
    assert "--from" in result.output and "--output-dir" in result.output



def _error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if ": error: " in line]


def test_errors_name_the_url_and_the_kind(tmp_path):
    """Each failure names the kind and the URL that failed: 404 (not found), HTTP 500, a body that
    is not JSON, JSON that is not an object, a server that is gone. A local server stands in for
    GitHub (no ../shared needed)."""
    served = tmp_path / "served"
    (served / "example.com").mkdir(parents=True)
    (served / "example.com" / "gadget_v1.json").write_text("[1, 2]")
    repo = tmp_path / "repo"
    repo.mkdir()
    with serve(served) as (server, base):
        runs = {prefix: pull("example.com/v1/Widget", "--from", base + prefix + CATALOG, "--repo", str(repo))
                for prefix in ("", "/fail", "/garbage")}
        not_object = pull("example.com/v1/Gadget", "--from", base + CATALOG, "--repo", str(repo))
    gone = pull("example.com/v1/Widget", "--from", base + CATALOG, "--repo", str(repo))
    url = f"{base}/example.com/widget_v1.json"
    expected = {
        "": f"no schema for Widget example.com/v1 at {url} [schema.not-found]",
        "/fail": f"Widget example.com/v1 from {base}/fail/example.com/widget_v1.json: HTTP 500 boom [schema.fetch]",
        "/garbage": f"Widget example.com/v1 from {base}/garbage/example.com/widget_v1.json: schema is not valid "
                    "JSON: Expecting value: line 1 column 1 (char 0) [schema.invalid-json]",
    }
    for prefix, result in runs.items():
        assert result.exit_code == 1, result.output
        (line,) = _error_lines(result.output)
        assert line.endswith(": error: " + expected[prefix]), line
    (line,) = _error_lines(not_object.output)
    assert line.endswith(f": error: Gadget example.com/v1 from {base}/example.com/gadget_v1.json: "
                         "schema is not a JSON object [schema.invalid-json]"), line
    (line,) = _error_lines(gone.output)
    assert f"error: Widget example.com/v1 from {url}: cannot fetch schema: " in line and "[schema.fetch]" in line
    assert not (repo / "schemas").exists()


def test_discovered_kinds_errors_name_their_url_and_kind(tmp_path):
    """In discovery mode the file column is the overlay that uses the kind: the message still
    names the kind and the URL tried, for every kind."""
    repo = copy_sources(tmp_path / "repo", with_output=True)
    shutil.rmtree(repo / "schemas", ignore_errors=True)  # the example commits its schemas: none here
    empty = tmp_path / "served"
    empty.mkdir()
    with serve(empty) as (server, base):
        missing = pull("--from", base + CATALOG, "--repo", str(repo))
        missing_requests = list(server.requests)
        garbage = pull("--from", base + "/garbage" + CATALOG, "--repo", str(repo))
        garbage_requests = server.requests[len(missing_requests):]
    for result, requests, pattern, prefix in (
            (missing, missing_requests, r"error: no schema for (\w+) (\S+) at (\S+) \[schema\.not-found\]$", ""),
            (garbage, garbage_requests,
             r"error: (\w+) (\S+) from (\S+): schema is not valid JSON: .* \[schema\.invalid-json\]$", "/garbage")):
        assert result.exit_code == 1, result.output
        lines = _error_lines(result.output)
        assert len(lines) == len(requests)  # one finding per kind requested
        kinds = set()
        for line in lines:
            found = re.search(pattern, line)
            assert found, line
            kind, api_version, url = found.groups()
            group, _, version = api_version.partition("/")
            assert url == f"{base}{prefix}/{group}/{kind.lower()}_{version}.json"
            kinds.add(kind)
        assert {"InferenceService", "Rollout", "ApplicationSet"} <= kinds
    assert not (repo / "schemas").exists()
