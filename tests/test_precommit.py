"""The hooks of .pre-commit-hooks.yaml, run by the real pre-commit (the locked version, from .venv)
through real `git commit` and `git push` in temporary repositories.

The hook repository is a temporary git repository holding this repository's working tree (tracked
and untracked files that are not ignored) in one commit, so the hooks tested are the ones being
written; this repository's own git state is never touched. pre-commit clones it and pip-installs
mlgitops with its dependencies into a virtualenv under PRE_COMMIT_HOME, once for the module,
constrained by requirements.lock (PIP_CONSTRAINT).
"""

from __future__ import annotations

import pathlib
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator

import pytest
import yaml

from conftest import copy_sources
from gitrepo import GIT_ENV, commit_all, edit, sh, use_git_env
from tooling import REPO_ROOT

pytestmark = pytest.mark.slow  # pre-commit pip-installs mlgitops and its dependencies once

LOCK = REPO_ROOT / "requirements.lock"
HOOKS = ("mlgitops-build-check", "mlgitops-check")
# what every pre-commit and git run here sees besides GIT_ENV: no colour, the lock, a fixed today
# (policy waivers expire), and no CI (the hooks' outcome must not depend on where the test runs)
ENV = {"PRE_COMMIT_COLOR": "never", "PIP_CONSTRAINT": str(LOCK), "MLGITOPS_TODAY": "2026-01-15"}


def snapshot_working_tree(dest: pathlib.Path) -> str:
    """A git repository at `dest` whose one commit holds REPO_ROOT's working tree (tracked files and
    untracked ones git does not ignore, as they are now); its sha. REPO_ROOT's index is not used."""
    dest.mkdir()
    git = ["git", f"--git-dir={dest / '.git'}", f"--work-tree={REPO_ROOT}"]
    subprocess.run(["git", "init", "-q", "-b", "main", str(dest)], check=True)
    subprocess.run([*git, "add", "-A"], check=True, cwd=REPO_ROOT)
    subprocess.run([*git, "commit", "-q", "-m", "mlgitops working tree"], check=True, cwd=REPO_ROOT)
    return sh(dest, "rev-parse", "HEAD").strip()


def pre_commit(repo: pathlib.Path, *args: str) -> subprocess.CompletedProcess:
    """The real pre-commit of the test environment, run in `repo`."""
    return subprocess.run([sys.executable, "-m", "pre_commit", *args], cwd=repo, capture_output=True, text=True)


def git(repo: pathlib.Path, *args: str) -> subprocess.CompletedProcess:
    """Real git in `repo` whatever its exit code (a commit the hooks refuse exits 1)."""
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True)


def hook_results(output: str) -> dict[str, tuple[str, str]]:
    """pre-commit's output as {hook id: (Passed|Failed|Skipped, the hook's own output)}: each hook's
    status line starts with its name (from .pre-commit-hooks.yaml), its output follows."""
    ids = {hook["name"]: hook["id"] for hook in yaml.safe_load((REPO_ROOT / ".pre-commit-hooks.yaml").read_text())}
    names = "|".join(re.escape(name) for name in ids)
    status_line = rf"^({names})(?:\.+|\(no files to check\))(Passed|Failed|Skipped)$"
    starts = list(re.finditer(status_line, output, flags=re.M))
    ends = [match.start() for match in starts[1:]] + [len(output)]
    return {ids[match.group(1)]: (match.group(2), output[match.end():end]) for match, end in zip(starts, ends)}


@pytest.fixture(scope="module")
def hooks(tmp_path_factory) -> Iterator[dict[str, str]]:
    """The pre-commit config naming the hook repository at the working tree's commit, and the
    environment, with the hooks' virtualenv installed once (PRE_COMMIT_HOME shared by the module)."""
    root = tmp_path_factory.mktemp("precommit")
    env = {**GIT_ENV, **ENV, "PRE_COMMIT_HOME": str(root / "home")}
    seed = root / "seed"
    seed.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        mp.delenv("CI", raising=False)
        sha = snapshot_working_tree(root / "hooks")
        config = (f"repos:\n  - repo: {root / 'hooks'}\n    rev: {sha}\n    hooks:\n"
                  + "".join(f"      - id: {hook}\n" for hook in HOOKS))
        (seed / ".pre-commit-config.yaml").write_text(config)
        sh(seed, "init", "-q", "-b", "main")
        done = pre_commit(seed, "install-hooks")
    assert done.returncode == 0, done.stdout + done.stderr
    yield {"config": config, **env}
    shutil.rmtree(root / "home")  # the hooks' virtualenv: 260 MB, not worth keeping with pytest's temp dirs


@pytest.fixture
def env(hooks, monkeypatch) -> None:
    use_git_env(monkeypatch)
    for key, value in hooks.items():
        if key != "config":
            monkeypatch.setenv(key, value)
    monkeypatch.delenv("CI", raising=False)


def example(dest: pathlib.Path, config: str) -> pathlib.Path:
    """The example repository's sources, output, policies and CRD schemas, with the pre-commit
    config, in `dest`."""
    repo = copy_sources(dest, with_output=True)  # with schemas/
    shutil.copytree(REPO_ROOT / "policies", repo / "policies")
    (repo / ".pre-commit-config.yaml").write_text(config)
    return repo


@pytest.fixture
def gitrepo(hooks, env, tmp_path: pathlib.Path) -> pathlib.Path:
    """The example committed on main (check passing) with the hooks installed for git commit."""
    repo = commit_all(example(tmp_path / "repo", hooks["config"]), "example")
    done = pre_commit(repo, "install", "--hook-type", "pre-commit", "--hook-type", "pre-push")
    assert done.returncode == 0, done.stdout + done.stderr
    return repo


def head(repo: pathlib.Path) -> str:
    return sh(repo, "rev-parse", "HEAD").strip()


def commit(repo: pathlib.Path, message: str) -> tuple[int, dict[str, tuple[str, str]]]:
    """`git add -A && git commit` through the installed hooks: git's exit code, the hooks' results."""
    sh(repo, "add", "-A")
    done = git(repo, "commit", "-m", message)
    return done.returncode, hook_results(done.stdout + done.stderr)


def test_the_hooks_virtualenv_holds_the_locked_versions(hooks):
    """pre-commit installed mlgitops and only locked versions of its dependencies (PIP_CONSTRAINT)."""
    lock = dict(line.lower().replace("_", "-").split("==") for line in LOCK.read_text().splitlines()
                if line and not line.startswith("#"))
    pythons = list(pathlib.Path(hooks["PRE_COMMIT_HOME"]).glob("repo*/py_env-*/bin/python"))
    assert len(pythons) == 1, pythons
    freeze = subprocess.run([str(pythons[0]), "-m", "pip", "freeze", "--all"], capture_output=True,
                            text=True, check=True).stdout.splitlines()
    installed = dict(line.lower().replace("_", "-").split("==") for line in freeze if "==" in line)
    assert any(line.startswith("mlgitops @ ") for line in freeze), freeze
    assert {"click", "pyyaml", "jsonschema-rs", "kubernetes-validate"} <= installed.keys()
    assert {name: version for name, version in installed.items() if lock.get(name) != version} == {}


def test_before_the_first_commit_everything_is_checked(hooks, env, tmp_path):
    """With no commit yet there is no HEAD to compare: mlgitops-check runs the whole gate."""
    repo = example(tmp_path / "repo", hooks["config"])
    sh(repo, "init", "-q", "-b", "main")
    assert pre_commit(repo, "install").returncode == 0
    sh(repo, "add", "-A")
    done = pre_commit(repo, "run", "--verbose", "mlgitops-check")
    results = hook_results(done.stdout)
    assert done.returncode == 0 and results["mlgitops-check"][0] == "Passed", done.stdout
    output = results["mlgitops-check"][1]
    models = sorted(p.stem for p in (repo / "models").glob("*.yaml"))
    assert f"build: {len(models)} models," in output and "policy check:" in output


def test_a_rebuilt_model_commits_and_unstaged_edits_are_not_checked(gitrepo, cli):
    before = head(gitrepo)
    edit(gitrepo / "models" / "iris.yaml", "cpuUtilization: 70", "cpuUtilization: 60")
    assert cli("build", "--repo", str(gitrepo)).exit_code == 0
    sh(gitrepo, "add", "-A")
    # an unstaged edit leaving fraud's overlays stale: pre-commit sets it aside, the commit is checked
    edit(gitrepo / "models" / "fraud.yaml", "team: ", "team: x")
    done = git(gitrepo, "commit", "-m", "iris at 60% cpu")
    results = hook_results(done.stdout + done.stderr)
    assert done.returncode == 0, done.stdout + done.stderr
    assert {hook: status for hook, (status, _) in results.items()} == dict.fromkeys(HOOKS, "Passed")
    assert sh(gitrepo, "rev-parse", "HEAD~1").strip() == before
    assert sh(gitrepo, "status", "--porcelain") == " M models/fraud.yaml\n"


def test_an_edit_without_rebuilding_fails_naming_the_stale_files_until_built(gitrepo, cli):
    before = head(gitrepo)
    edit(gitrepo / "models" / "iris.yaml", "cpuUtilization: 70", "cpuUtilization: 60")
    code, results = commit(gitrepo, "iris at 60% cpu, not built")
    assert code == 1 and head(gitrepo) == before
    status, output = results["mlgitops-build-check"]
    assert status == "Failed"
    # the files `mlgitops build` then rewrites are the ones the hook named stale
    assert cli("build", "--repo", str(gitrepo)).exit_code == 0
    rebuilt = sorted(line[3:] for line in sh(gitrepo, "status", "--porcelain").splitlines()
                     if line[3:].startswith("overlays/"))
    assert rebuilt
    named = sorted(re.findall(r"^(\S+): error: .*\[build\.stale\]$", output, flags=re.M))
    assert named == rebuilt, output
    code, results = commit(gitrepo, "iris at 60% cpu")
    assert code == 0, results
    assert results["mlgitops-build-check"][0] == results["mlgitops-check"][0] == "Passed"
    assert sh(gitrepo, "rev-parse", "HEAD~1").strip() == before


def test_a_model_error_fails_the_check_hook_at_its_location(gitrepo):
    before = head(gitrepo)
    model = gitrepo / "models" / "iris.yaml"
    edit(model, "maxReplicas: 10", "maxReplicas: 2")
    code, results = commit(gitrepo, "iris with min > max")
    assert code == 1 and head(gitrepo) == before
    status, output = results["mlgitops-check"]
    assert status == "Failed"
    line = next(n for n, text in enumerate(model.read_text().splitlines(), 1) if "minReplicas: 4" in text)
    col = model.read_text().splitlines()[line - 1].index("4") + 1
    assert re.search(rf"^models/iris\.yaml:{line}:{col}: error: .*maxReplicas 2.* \[[a-z][a-z.-]*\]$",
                     output, flags=re.M), output


def test_pre_push_checks_every_commit_being_pushed(gitrepo, tmp_path):
    """On push the hook compares the remote's commit (PRE_COMMIT_FROM_REF), not HEAD, which would
    see nothing changed in the commits being pushed."""
    remote = tmp_path / "remote.git"
    sh(tmp_path, "init", "-q", "--bare", str(remote))
    sh(gitrepo, "remote", "add", "origin", str(remote))
    sh(gitrepo, "push", "-q", "--no-verify", "origin", "main")
    edit(gitrepo / "models" / "iris.yaml", "maxReplicas: 10", "maxReplicas: 2")
    sh(gitrepo, "commit", "-q", "--no-verify", "-am", "iris with min > max, hooks skipped")
    done = git(gitrepo, "push", "origin", "main")
    assert done.returncode != 0
    status, output = hook_results(done.stdout + done.stderr)["mlgitops-check"]
    assert status == "Failed"
    assert re.search(r"^models/iris\.yaml:\d+:\d+: error: .*maxReplicas 2", output, flags=re.M), output
    assert sh(remote, "rev-parse", "main").strip() == sh(gitrepo, "rev-parse", "HEAD~1").strip()
