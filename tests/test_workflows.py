"""The GitHub workflows in .github/workflows/: valid, pinned, least privilege, and their shell steps
really work when run with bash against real git repositories.

Schema: the SchemaStore github-workflow JSON schema vendored by the check-jsonschema package (test
extra), validated with jsonschema (Draft 7, as the schema declares). Workflow files are read with
YAML 1.2 booleans, as GitHub does (`on:` stays a key, not True).

The run steps are executed with bash (`bash --noprofile --norc -eo pipefail`, GitHub's default
shell), with the workflow/job/step `env` and the few `${{ }}` expressions they use filled in, in a
clone of a bare "origin" repository, with mlgitops from .venv/bin on PATH. Steps that need GitHub
itself (checkout, setup-python, upload-sarif, pip install) are not run; `gh` is a fake that records
its arguments.
"""

from __future__ import annotations

import importlib.resources
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys

import jsonschema
import pytest
import yaml

from conftest import copy_sources
from tooling import REPO_ROOT, _in_ci, actionlint

WORKFLOWS = REPO_ROOT / ".github" / "workflows"
SHA_PIN = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


class _Yaml12Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans: only true/false (so `on:` is the string "on")."""


_Yaml12Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:bool"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|false)$"), list("tf"))


def load_workflow(path: pathlib.Path) -> dict:
    return yaml.load(path.read_text(), Loader=_Yaml12Loader)


def workflow_schema() -> dict:
    vendor = importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
    return json.loads((vendor / "github-workflows.json").read_text())


def workflow_files() -> list[pathlib.Path]:
    return sorted(WORKFLOWS.glob("*.yml")) + sorted(WORKFLOWS.glob("*.yaml"))


def test_expected_workflows_exist():
    assert {p.name for p in workflow_files()} >= {"ci.yml", "pull-request.yml", "generate.yml"}


@pytest.mark.parametrize("path", workflow_files(), ids=lambda p: p.name)
def test_workflow_is_valid_against_the_github_workflow_schema(path):
    schema = workflow_schema()
    assert schema["$id"] == "https://json.schemastore.org/github-workflow.json"
    validator = jsonschema.Draft7Validator(schema)
    errors = sorted(validator.iter_errors(load_workflow(path)), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{path.name}: {'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors)


def test_schema_rejects_a_broken_workflow():
    """The schema is strict enough to matter: a typo'd key and a job without steps fail."""
    validator = jsonschema.Draft7Validator(workflow_schema())
    broken = {"on": "push", "jobs": {"a": {"runs-on": "ubuntu-latest", "step": [{"run": "true"}]}}}
    assert list(validator.iter_errors(broken))
    assert list(validator.iter_errors({"name": "x", "jobs": {}}))  # no "on"


@pytest.mark.parametrize("path", workflow_files(), ids=lambda p: p.name)
def test_actionlint_passes(path):
    """The real actionlint (expressions, contexts, job needs, runner labels, action inputs)."""
    assert actionlint(path) == []


def test_actionlint_catches_what_the_schema_cannot(tmp_path):
    """A workflow the JSON schema accepts, with an undefined context and a step output that does
    not exist: actionlint names both, so the test above can fail."""
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - id: s\n        run: echo ${{ github.event.nope.nope }} ${{ secret.TOKEN }}\n"
        "      - run: echo ${{ steps.t.outputs.x }}\n")
    assert not list(jsonschema.Draft7Validator(workflow_schema()).iter_errors(load_workflow(broken)))
    found = "\n".join(actionlint(broken))
    assert 'undefined variable "secret"' in found and 'property "t" is not defined' in found, found


@pytest.mark.parametrize("path", workflow_files(), ids=lambda p: p.name)
def test_actions_are_pinned_to_commit_shas_with_the_version_in_a_comment(path):
    text = path.read_text()
    uses = re.findall(r"^\s*(?:-\s+)?uses:\s*(\S+)(.*)$", text, flags=re.M)
    assert uses
    for ref, rest in uses:
        assert SHA_PIN.match(ref), f"{path.name}: {ref} is not pinned to a full commit SHA"
        assert re.match(r"\s*#\s*v\d+(\.\d+)*\s*$", rest), f"{path.name}: {ref} has no '# vX.Y.Z' comment"


@pytest.mark.parametrize("path", workflow_files(), ids=lambda p: p.name)
def test_the_token_is_read_only_unless_a_job_needs_more(path):
    wf = load_workflow(path)
    assert wf["permissions"] == {"contents": "read"}
    needs = {
        ("pull-request.yml", "check"): {"contents": "read", "security-events": "write"},
        ("pull-request.yml", "diff"): {"contents": "read", "pull-requests": "write"},
        ("generate.yml", "build-commit"): {"contents": "write"},
    }
    for job_id, job in wf["jobs"].items():
        assert job.get("permissions", wf["permissions"]) == needs.get((path.name, job_id), {"contents": "read"})


def test_ci_still_runs_the_gate_the_test_suite_and_the_lifecycle():
    steps = load_workflow(WORKFLOWS / "ci.yml")["jobs"]["test"]["steps"]
    runs = [s.get("run") for s in steps]
    assert "make check" in runs
    # .ci/run's two steps, each under its own time limit, both with CI=true (a missing tool fails)
    ci_steps = {s["run"]: s for s in steps if str(s.get("run", "")).startswith("bash .ci/run")}
    assert set(ci_steps) == {"bash .ci/run test", "bash .ci/run lifecycle"}
    for step in ci_steps.values():
        assert step["env"]["CI"] == "true" and step["timeout-minutes"] <= 90


def test_ci_run_runs_both_steps_by_default_and_refuses_an_unknown_one():
    text = (REPO_ROOT / ".ci" / "run").read_text()
    assert "steps=(test lifecycle)" in text
    done = subprocess.run(["bash", str(REPO_ROOT / ".ci" / "run"), "nonsense"], capture_output=True, text=True)
    assert done.returncode == 2 and "usage: bash .ci/run" in done.stderr


def test_pull_request_workflow_shape():
    wf = load_workflow(WORKFLOWS / "pull-request.yml")
    assert "pull_request" in wf["on"]
    check = wf["jobs"]["check"]["steps"]
    upload = next(s for s in check if s.get("uses", "").startswith("github/codeql-action/upload-sarif@"))
    assert upload["with"]["sarif_file"] == "mlgitops.sarif"
    assert "!cancelled()" in upload["if"]  # uploaded even when the gate failed
    runs = "\n".join(s.get("run", "") for s in check)
    assert "mlgitops check --format github" in runs
    assert re.search(r"mlgitops check --format sarif .*> mlgitops\.sarif", runs)
    diff = wf["jobs"]["diff"]["steps"]
    assert diff[0]["with"]["fetch-depth"] == 0
    assert "mlgitops diff --base" in "\n".join(s.get("run", "") for s in diff)


# --- running the steps ------------------------------------------------------------------------------

EXPRESSIONS = {
    "github.base_ref": "main",
    "github.ref_name": "main",
    "github.token": "fake-token",
    "github.event.pull_request.number": "7",
}


def _expand(value: str) -> str:
    def sub(m: re.Match) -> str:
        expr = m.group(1).strip()
        if expr not in EXPRESSIONS:
            raise AssertionError(f"expression {expr!r} not simulated")
        return EXPRESSIONS[expr]
    return re.sub(r"\$\{\{(.*?)\}\}", sub, str(value))


def run_step(workflow: str, job: str, step_name: str, cwd: pathlib.Path, extra_env: dict | None = None,
             ) -> subprocess.CompletedProcess:
    """Run the named `run:` step as GitHub would: bash -eo pipefail, workflow + job + step env."""
    wf = load_workflow(WORKFLOWS / workflow)
    step = next(s for s in wf["jobs"][job]["steps"] if s.get("name") == step_name)
    env = {**os.environ, "CI": "true", "GITHUB_ACTIONS": "true"}
    env["PATH"] = f"{REPO_ROOT / '.venv' / 'bin'}{os.pathsep}{pathlib.Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    for scope in (wf.get("env", {}), wf["jobs"][job].get("env", {}), step.get("env", {})):
        env.update({k: _expand(v) for k, v in scope.items()})
    env.update(extra_env or {})
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
                          cwd=cwd, env=env, capture_output=True, text=True)


def git(cwd: pathlib.Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
                          env={**os.environ, **IDENTITY}).stdout.strip()


IDENTITY = {"GIT_AUTHOR_NAME": "dev", "GIT_AUTHOR_EMAIL": "dev@example.com",
            "GIT_COMMITTER_NAME": "dev", "GIT_COMMITTER_EMAIL": "dev@example.com"}


def _require_command(*args: str, option: str = "") -> None:
    """The workflows call commands written alongside them (diff, build --commit)."""
    proc = subprocess.run([str(REPO_ROOT / ".venv/bin/mlgitops"), *args, "--help"], capture_output=True, text=True)
    if proc.returncode != 0 or option not in proc.stdout:
        reason = f"'mlgitops {' '.join(args)} {option}' is not available: {proc.stderr.strip()[:200]}"
        if _in_ci():
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)


@pytest.fixture
def origin(tmp_path: pathlib.Path) -> pathlib.Path:
    """A bare 'origin' holding the example repository on main (generated output committed)."""
    if not (REPO_ROOT / ".venv/bin/mlgitops").exists():
        pytest.skip("mlgitops not installed in .venv (make venv)")
    seed = copy_sources(tmp_path / "seed", with_output=True)
    shutil.copytree(REPO_ROOT / "policies", seed / "policies")
    shutil.copy(REPO_ROOT / ".gitignore", seed / ".gitignore")  # keeps the .mlgitops/ build cache out
    git(seed, "init", "-q", "-b", "main")
    git(seed, "add", "-A")
    git(seed, "commit", "-q", "-m", "example repository")
    bare = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(seed), str(bare))
    return bare


def clone(origin: pathlib.Path, dest: pathlib.Path) -> pathlib.Path:
    git(origin.parent, "clone", "-q", str(origin), str(dest))
    return dest


def _edit_min_replicas(root: pathlib.Path, value: int) -> None:
    model = root / "models/iris.yaml"
    text = model.read_text()
    new = re.sub(r"minReplicas: 4", f"minReplicas: {value}", text, count=1)
    assert new != text
    model.write_text(new)


def test_pull_request_steps_annotate_write_sarif_and_comment_the_diff(origin, tmp_path):
    _require_command("diff")
    work = clone(origin, tmp_path / "pr")
    git(work, "checkout", "-q", "-b", "feature")
    _edit_min_replicas(work, 5)
    subprocess.run([str(REPO_ROOT / ".venv/bin/mlgitops"), "build", "--repo", str(work)], check=True,
                   capture_output=True)
    git(work, "commit", "-q", "-am", "iris: 5 replicas")

    gate = run_step("pull-request.yml", "check", "mlgitops check (annotations)", work)
    assert gate.returncode == 0, gate.stderr
    assert re.search(r"^::warning file=overlays/", gate.stdout, flags=re.M)
    sarif = run_step("pull-request.yml", "check", "mlgitops check (SARIF)", work)
    assert sarif.returncode == 0, sarif.stderr
    report = json.loads((work / "mlgitops.sarif").read_text())
    assert report["version"] == "2.1.0" and report["runs"][0]["results"]

    diff = run_step("pull-request.yml", "diff", "mlgitops diff", work)
    assert diff.returncode == 0, diff.stderr
    markdown = (work / "mlgitops-diff.md").read_text()
    assert "iris" in markdown and "fraud" not in markdown

    # Fake gh: the first --edit-last finds no earlier comment (exit 1), the fallback creates one.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "gh.log"
    (bin_dir / "gh").write_text(
        "#!/usr/bin/env bash\n"
        f'printf "%s\\n" "$GH_TOKEN $*" >> {log}\n'
        'for a in "$@"; do [ "$a" = --edit-last ] && exit 1; done\n'
        "exit 0\n")
    (bin_dir / "gh").chmod(0o755)
    comment = run_step("pull-request.yml", "diff", "Comment on the pull request", work,
                       {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"})
    assert comment.returncode == 0, comment.stderr
    assert log.read_text().splitlines() == [
        "fake-token pr comment 7 --body-file mlgitops-diff.md --edit-last",
        "fake-token pr comment 7 --body-file mlgitops-diff.md",
    ]


def test_pull_request_gate_fails_on_an_invalid_model_and_still_writes_sarif(origin, tmp_path):
    work = clone(origin, tmp_path / "pr")
    (work / "models/iris.yaml").write_text((work / "models/iris.yaml").read_text().replace(
        "framework: sklearn", "framework: not-a-framework"))
    gate = run_step("pull-request.yml", "check", "mlgitops check (annotations)", work)
    assert gate.returncode == 1
    assert re.search(r"^::error file=models/iris\.yaml,line=\d+", gate.stdout, flags=re.M)
    sarif = run_step("pull-request.yml", "check", "mlgitops check (SARIF)", work)
    assert sarif.returncode == 0, sarif.stderr  # findings (exit 1) still give a report to upload
    results = json.loads((work / "mlgitops.sarif").read_text())["runs"][0]["results"]
    assert any(r["level"] == "error" for r in results)


def test_generate_steps_commit_and_push_only_when_the_output_changed(origin, tmp_path):
    _require_command("build", option="--commit")
    work = clone(origin, tmp_path / "main")
    # A merged pull request that changed a model but not its generated output.
    _edit_min_replicas(work, 6)
    git(work, "commit", "-q", "-am", "iris: 6 replicas (output not rebuilt)")
    git(work, "push", "-q", "origin", "main")
    before = git(work, "rev-parse", "HEAD")

    out = tmp_path / "github_output"
    out.write_text("")
    build = run_step("generate.yml", "build-commit", "mlgitops build --commit", work, {"GITHUB_OUTPUT": str(out)})
    assert build.returncode == 0, build.stderr
    assert out.read_text() == "changed=true\n"
    assert git(work, "rev-parse", "HEAD^") == before
    changed = git(work, "diff", "--name-only", "HEAD^", "HEAD").splitlines()
    assert changed and all(re.fullmatch(r"overlays/(staging|prod)/iris/[\w.-]+", p) for p in changed), changed
    assert git(work, "status", "--porcelain") == ""

    push = run_step("generate.yml", "build-commit", "Push the generated output", work)
    assert push.returncode == 0, push.stderr
    assert git(origin, "rev-parse", "main") == git(work, "rev-parse", "HEAD")

    # Nothing changed: no commit, nothing to push.
    out.write_text("")
    again = run_step("generate.yml", "build-commit", "mlgitops build --commit", work, {"GITHUB_OUTPUT": str(out)})
    assert again.returncode == 0, again.stderr
    assert out.read_text() == "changed=false\n"
    assert git(origin, "rev-parse", "main") == git(work, "rev-parse", "HEAD")
