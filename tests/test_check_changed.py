"""`mlgitops check --changed-since REF` in a real temporary git repository made from the example repo."""

from __future__ import annotations

import json
import os
import pathlib
import re
import shutil

import pytest

from conftest import copy_sources
from gitrepo import commit_all, edit, sh, use_git_env
from tooling import REPO_ROOT

from mlgitops import gate, layout
from mlgitops.gate import changed_scope, run_gate

@pytest.fixture
def gitrepo(tmp_path: pathlib.Path, monkeypatch) -> pathlib.Path:
    """The example repository (sources, output, policies, CRD schemas) committed on main, check
    passing: strictly (mlgitops.yaml's validation.strictSchemas), every object against its schema."""
    use_git_env(monkeypatch)
    monkeypatch.setenv("MLGITOPS_TODAY", "2026-01-15")
    monkeypatch.delenv("CI", raising=False)
    repo = copy_sources(tmp_path / "repo", with_output=True)
    shutil.copytree(REPO_ROOT / "policies", repo / "policies")
    return commit_all(repo, "example")


def overlays_of(repo: pathlib.Path, model: str) -> list[str]:
    """The overlay directories of `model` in `repo` (overlays/<env>[@<cluster>]/<model>), sorted."""
    return [o.directory for o in layout.overlay_dirs(str(repo)) if o.model == model]


def check(cli, repo: pathlib.Path, *args: str) -> tuple[int, dict]:
    result = cli("check", "--repo", str(repo), "--format", "json", *args)
    return result.exit_code, json.loads(result.stdout)


def error_files(report: dict) -> set[str]:
    return {d["file"] for d in report["diagnostics"] if d["severity"] == "error"}


def test_nothing_changed_checks_nothing(cli, gitrepo):
    code, report = check(cli, gitrepo, "--changed-since", "HEAD")
    assert code == 0
    assert report["stages"] == {"changed": "no model changed since HEAD: nothing to check"}
    text = cli("check", "--repo", str(gitrepo), "--changed-since", "main")
    assert text.exit_code == 0 and "nothing to check" in text.stderr


def test_one_changed_model_is_the_only_one_checked(cli, gitrepo):
    edit(gitrepo / "models" / "iris.yaml", "maxReplicas: 10", "maxReplicas: 12")
    assert cli("build", "--repo", str(gitrepo), "--model", "iris").exit_code == 0
    code, report = check(cli, gitrepo, "--changed-since", "HEAD")
    assert code == 0, report["diagnostics"]
    stages = report["stages"]
    assert stages["changed"] == "1 models changed since HEAD: iris"
    assert stages["build"].startswith("1 of 4 models, ") and stages["build"].endswith(": up to date")
    # iris's overlays in prod, staging, and the prod-eu cluster's (one referring to prod's)
    iris = overlays_of(gitrepo, "iris")
    assert iris == ["overlays/prod/iris", "overlays/prod@prod-eu/iris", "overlays/staging/iris"]
    assert f" in {len(iris)} overlays" in stages["validate"]
    files = run_gate(str(gitrepo), changed_since="HEAD").files
    assert files == iris
    # Policy test cases read iris's overlays, so they ran.
    assert "passed" in stages["policy test"]


def test_a_stale_changed_model_fails_and_others_are_not_blamed(cli, gitrepo):
    edit(gitrepo / "models" / "churn.yaml", "team: ", "team: x")
    sh(gitrepo, "commit", "-q", "-am", "churn without rebuild")
    # Committed changes since REF count too; churn's output is stale.
    code, report = check(cli, gitrepo, "--changed-since", "HEAD~1")
    assert code == 1
    rules = {d["rule"] for d in report["diagnostics"] if d["severity"] == "error"}
    assert "build.stale" in rules
    assert all("churn" in f for f in error_files(report))
    assert report["stages"]["changed"] == "1 models changed since HEAD~1: churn"


def test_a_model_whose_file_is_broken_reports_its_error_not_a_usage_error(cli, gitrepo):
    (gitrepo / "models" / "fraud.yaml").write_text("apiVersion: mlgitops.dev/v1alpha1\nkind: Model\nmetadata: [\n")
    code, report = check(cli, gitrepo, "--changed-since", "HEAD")
    assert code == 1
    rules = {d["rule"] for d in report["diagnostics"]}
    assert not any(r.startswith("usage.") for r in rules)
    syntax = [d for d in report["diagnostics"] if d["rule"] == "yaml.syntax"]
    assert [d["file"] for d in syntax] == ["models/fraud.yaml"]
    assert all("fraud" in f or f.startswith("base/") for f in error_files(report))


def test_deleted_model_must_have_its_overlays_gone(cli, gitrepo):
    os.remove(gitrepo / "models" / "sentiment.yaml")
    code, report = check(cli, gitrepo, "--changed-since", "HEAD")
    assert code == 1
    extra = {d["file"] for d in report["diagnostics"] if d["rule"] == "build.extra"}
    sentiment = overlays_of(gitrepo, "sentiment")
    assert len(sentiment) == 3  # prod, prod@prod-eu, staging
    assert extra and {f.rsplit("/", 1)[0] for f in extra} == set(sentiment)
    assert cli("build", "--repo", str(gitrepo)).exit_code == 0
    code, report = check(cli, gitrepo, "--changed-since", "HEAD")
    assert report["stages"]["changed"] == "1 models changed since HEAD: sentiment"
    assert report["stages"]["build"].endswith(": up to date")
    assert "nothing to validate" in report["stages"]["validate"]
    # The policy test cases read sentiment's overlays, so they ran, and the ones about it fail now.
    errors = {(d["rule"], d["file"].split("/")[0]) for d in report["diagnostics"] if d["severity"] == "error"}
    assert code == 1 and errors == {("policy.test-failed", "policies")}


def test_a_shared_input_change_checks_everything(cli, gitrepo):
    edit(gitrepo / "policies" / "README.md", "", "A note.\n")
    code, report = check(cli, gitrepo, "--changed-since", "HEAD")
    assert code == 0, report["diagnostics"]
    assert report["stages"]["changed"] == "policies/README.md changed since HEAD: checking everything"
    assert report["stages"]["build"].startswith("4 models, ")
    scope = changed_scope(str(gitrepo), "HEAD")
    assert scope.everything and scope.reason == "policies/README.md"
    sh(gitrepo, "checkout", "-q", "--", "policies")
    (gitrepo / "mlgitops.yaml").write_text((gitrepo / "mlgitops.yaml").read_text() + "# note\n")
    assert changed_scope(str(gitrepo), "HEAD").reason == "mlgitops.yaml"


def test_unrelated_files_and_untracked_models(cli, gitrepo):
    (gitrepo / "docs.md").write_text("notes\n")
    scope = changed_scope(str(gitrepo), "HEAD")
    assert not scope.everything and scope.models == [] and scope.paths == ["docs.md"]
    shutil.copy(gitrepo / "models" / "iris.yaml", gitrepo / "models" / "iris2.yaml")
    edit(gitrepo / "models" / "iris2.yaml", "name: iris", "name: iris2")
    scope = changed_scope(str(gitrepo), "HEAD")
    assert scope.models == ["iris2"]
    code, report = check(cli, gitrepo, "--changed-since", "HEAD")
    assert code == 1  # iris2 is new and not built
    assert {d["rule"] for d in report["diagnostics"] if d["severity"] == "error"} == {"build.missing"}
    assert all("/iris2/" in f for f in error_files(report))


def test_bad_ref_and_no_git_are_usage_errors(cli, gitrepo, tmp_path):
    repo = copy_sources(tmp_path / "plain")
    result = cli("check", "--repo", str(gitrepo), "--changed-since", "no-such-branch")
    assert result.exit_code == 2 and "no-such-branch" in result.stderr and "[usage.git]" in result.stderr
    assert "Traceback" not in result.stderr
    result = cli("check", "--repo", str(repo), "--changed-since", "HEAD")
    assert result.exit_code == 2 and "not inside a git work tree" in result.stderr
    assert "--changed-since origin/main" in cli("check", "--help").stdout


def test_an_edited_cluster_overlay_counts_as_a_change_of_its_model(cli, gitrepo):
    # overlays/prod@prod-eu/<model>: the prod-eu cluster's own overlay (churn) and one that only
    # refers to prod's (iris); a hand edit of either is a change of the model, and stale
    for model, old, new in (("churn", "minio.eu-west-1", "minio.eu-west-2"),
                            ("iris", "../../prod/iris", "../../staging/iris")):
        overlay = f"overlays/prod@prod-eu/{model}"
        target = gitrepo / overlay / ("model.yaml" if model == "churn" else "kustomization.yaml")
        edit(target, old, new)
        scope = changed_scope(str(gitrepo), "HEAD")
        assert not scope.everything and scope.models == [model]
        code, report = check(cli, gitrepo, "--changed-since", "HEAD")
        assert code == 1 and report["stages"]["changed"] == f"1 models changed since HEAD: {model}"
        stale = {(d["rule"], d["file"]) for d in report["diagnostics"] if d["severity"] == "error"}
        assert stale == {("build.stale", str(target.relative_to(gitrepo)))}
        sh(gitrepo, "checkout", "-q", "--", overlay)


def _comparable(report) -> tuple:
    """A gate report without its timings (the policy lines end in their seconds)."""
    stages = {k: re.sub(r" (in [0-9.]+s|\([0-9.]+s\))$", "", v) for k, v in report.stages.items()}
    return [str(d) for d in report.diagnostics], list(stages.items()), report.files


def test_a_few_changed_models_are_checked_beside_the_policy_loading_with_the_same_report(gitrepo, monkeypatch):
    # A hand edit of iris's staging output: stale (build), a schema error (validate) and a bucket
    # outside the allowlist (policy check), one finding of each stage.
    edit(gitrepo / "overlays" / "staging" / "iris" / "model.yaml", "  replicas: 1\n", "  replicas: one\n")
    edit(gitrepo / "overlays" / "staging" / "iris" / "model.yaml", "gs://kfserving-examples/", "gs://elsewhere/")
    started = []
    real = gate.in_background

    def recorded(fn):
        started.append(fn)
        return real(fn)

    monkeypatch.setattr(gate, "in_background", recorded)
    beside = run_gate(str(gitrepo), changed_since="HEAD")
    assert len(started) == 1  # 1 changed model <= BACKGROUND_MAX_MODELS: built, rendered, validated in a fork
    monkeypatch.setattr(gate, "BACKGROUND_MAX_MODELS", 0)
    inline = run_gate(str(gitrepo), changed_since="HEAD")
    assert len(started) == 1
    rules = {d.rule for d in beside.diagnostics}
    assert {"build.stale", "schema", "policy.storage-uri-allowlist", "policy.eval-error"} <= rules, rules
    assert _comparable(beside) == _comparable(inline)


def test_while_git_finds_the_changes_the_next_stages_modules_are_imported(monkeypatch):
    import importlib

    imported = []
    monkeypatch.setattr(gate.importlib, "import_module", lambda name, package: imported.append(package + name))
    gate._import_stage_modules(lambda: len(imported) < 2)  # stops when git is done
    assert imported == [f"mlgitops{name}" for name in gate._STAGE_MODULES[:2]]
    monkeypatch.undo()
    for name in gate._STAGE_MODULES:  # each one exists (a renamed module would stop every scoped check)
        importlib.import_module(name, "mlgitops")


def test_while_the_changed_models_render_the_policies_compile_what_evaluating_them_needs():
    from mlgitops.policy.check import Checker

    checker = Checker(str(REPO_ROOT), str(REPO_ROOT / "policies"), type_check=False)  # (only read)
    policies = [p for p in checker.pset.policies if p.combined is not None]
    checker.prepare(lambda: False)  # the rendered documents are there already: nothing done ahead
    assert policies and not any(p._programs for p in policies)
    asked = []
    checker.prepare(lambda: len(asked) < 3 and not asked.append(1))  # stops as soon as they are
    assert sum(len(p._programs) for p in policies) == 2
    checker.prepare(lambda: True)
    # every combined program: without params, and for each parameter object of the paramKind
    assert all(p._programs and all(v is not None for v in p._programs.values()) for p in policies)
    assert any(key is not None for p in policies for key in p._programs)


def _deployment_policy(name: str, expression: str) -> str:
    return ("apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\n"
            f"metadata:\n  name: {name}\nspec:\n  matchConstraints:\n    resourceRules:\n"
            "    - apiGroups: [apps]\n      apiVersions: [v1]\n      resources: [deployments]\n"
            f"      operations: [CREATE, UPDATE]\n  validations:\n  - expression: {expression}\n")


def test_a_scoped_check_leaves_out_the_api_servers_findings_about_unchanged_policies(gitrepo):
    # A policy whose expression reads a field Deployments do not have: kube-controller-manager's
    # type checker warns about it (policy.type-check), in a full check. And one the API server
    # refuses at creation (policy.syntax: `request.name` is a string), left out of a full check.
    (gitrepo / "policies" / "typo.yaml").write_text(_deployment_policy("typo", "object.spec.replicaz > 0"))
    (gitrepo / "policies" / "refused.yaml").write_text(_deployment_policy("refused", "request.name > 5"))
    shutil.rmtree(gitrepo / "policies" / "tests")  # no test case reads a model: no policy test runs scoped
    sh(gitrepo, "add", "-A")
    sh(gitrepo, "commit", "-q", "-m", "a policy with a misspelt field, and one the API server refuses")
    full = run_gate(str(gitrepo))
    assert [d.message for d in full.diagnostics if d.rule == "policy.type-check"] == [
        "spec.validations[0].expression: apps/v1, Kind=Deployment: undefined field 'replicaz' (the API server's "
        "type checker reports it in the policy's status.typeChecking)"]
    assert [(d.file, d.message) for d in full.diagnostics if d.rule == "policy.syntax"] == [
        ("policies/refused.yaml", "spec.validations[0].expression: found no matching overload for '_>_' applied "
                                  "to '(string, int)' (the API server refuses the policy)")]
    assert full.stages["policy check"].startswith("145 objects, 17 policies, ")  # refused.yaml is left out
    # Only iris changed since HEAD: the policies are the base's (which a full check judged), their
    # findings are not the change's; the policies are loaded without those checks.
    edit(gitrepo / "models" / "iris.yaml", "maxReplicas: 10", "maxReplicas: 12")
    scoped = run_gate(str(gitrepo), changed_since="HEAD")
    assert scoped.stages["changed"] == "1 models changed since HEAD: iris"
    assert scoped.stages["policy test"].endswith(": skipped")
    assert not [d for d in scoped.diagnostics if d.rule in ("policy.type-check", "policy.syntax")]
    assert scoped.stages["policy check"].startswith("36 objects, 18 policies, ")  # both are loaded
