"""`mlgitops build --commit` and the git helpers, in real temporary git repositories."""

from __future__ import annotations

import json
import os
import pathlib
import shutil

import pytest

from conftest import copy_sources, tree_bytes
from gitrepo import commit_all, sh, use_git_env
from tooling import REPO_ROOT

from mlgitops import git as g
from mlgitops.commit import commit_message

def commits(repo: pathlib.Path) -> int:
    return int(sh(repo, "rev-list", "--count", "HEAD"))


def committed_paths(repo: pathlib.Path, rev: str = "HEAD") -> list[str]:
    return sorted(sh(repo, "diff-tree", "--no-commit-id", "--name-only", "-r", "--no-renames", rev).split())


@pytest.fixture
def gitrepo(tmp_path: pathlib.Path, monkeypatch) -> pathlib.Path:
    """The example repository's sources, committed on main, no generated output yet committed."""
    use_git_env(monkeypatch)
    repo = copy_sources(tmp_path / "repo")
    return commit_all(repo, "sources")


def build_commit(cli, repo: pathlib.Path, *args: str) -> tuple[int, dict]:
    result = cli("build", "--repo", str(repo), "--commit", "--format", "json", *args)
    return result.exit_code, json.loads(result.stdout)


def test_first_build_commit_holds_exactly_the_generated_files(cli, gitrepo):
    user_file = gitrepo / "notes.txt"
    user_file.write_text("a change of the user's, not staged\n")
    code, report = build_commit(cli, gitrepo)
    assert code == 0, report
    commit = report["commit"]
    assert commit["sha"] == sh(gitrepo, "rev-parse", "HEAD").strip()
    assert commits(gitrepo) == 2
    generated = sorted(tree_bytes(gitrepo))
    assert committed_paths(gitrepo) == generated == commit["paths"]
    # The user's untracked file stays out, untracked.
    assert sh(gitrepo, "status", "--porcelain") == "?? notes.txt\n"
    subject = sh(gitrepo, "log", "-1", "--format=%s").strip()
    # every model in prod, prod-eu's own overlay (overlays/prod@prod-eu/) and staging: too long to list,
    # so the subject counts environments (a cluster's overlays are no environment of their own)
    assert subject == "mlgitops build: 4 models in 2 environments (prod, staging)"
    assert sh(gitrepo, "log", "-1", "--format=%an <%ae>").strip() == g.DEFAULT_AUTHOR
    assert sh(gitrepo, "log", "-1", "--format=%cn <%ce>").strip() == "Dev <dev@example.com>"
    body = sh(gitrepo, "log", "-1", "--format=%B")
    assert "  iris: prod, prod@prod-eu, staging\n" in body and "Shared output changed:" in body


def test_second_build_commit_creates_nothing(cli, gitrepo):
    assert build_commit(cli, gitrepo)[0] == 0
    head = sh(gitrepo, "rev-parse", "HEAD")
    code, report = build_commit(cli, gitrepo)
    assert code == 0
    assert report["commit"]["sha"] is None
    assert sh(gitrepo, "rev-parse", "HEAD") == head
    result = cli("build", "--repo", str(gitrepo), "--commit")
    assert result.exit_code == 0 and "nothing to commit" in result.stderr


def test_output_an_earlier_plain_build_left_is_committed(cli, gitrepo):
    assert cli("build", "--repo", str(gitrepo)).exit_code == 0
    code, report = build_commit(cli, gitrepo, "-m", "regenerate overlays")
    assert code == 0 and report["written"] == []
    assert committed_paths(gitrepo) == sorted(tree_bytes(gitrepo))
    message = sh(gitrepo, "log", "-1", "--format=%B")
    assert message.splitlines()[0] == "regenerate overlays"
    assert "  fraud: prod, prod@prod-eu, staging\n" in message


def test_staged_user_change_refuses_and_builds_nothing(cli, gitrepo):
    (gitrepo / "README.txt").write_text("mine\n")
    sh(gitrepo, "add", "README.txt")
    result = cli("build", "--repo", str(gitrepo), "--commit")
    assert result.exit_code == 1
    assert "[build.index-dirty]" in result.stderr and "README.txt" in result.stderr
    assert "Traceback" not in result.stderr
    assert commits(gitrepo) == 1 and not (gitrepo / "overlays").exists()
    assert sh(gitrepo, "diff", "--cached", "--name-only") == "README.txt\n"


def test_changed_model_commits_only_its_files_and_message_names_it(cli, gitrepo):
    assert build_commit(cli, gitrepo)[0] == 0
    path = gitrepo / "models" / "iris.yaml"
    path.write_text(path.read_text().replace("maxReplicas: 10", "maxReplicas: 12"))
    sh(gitrepo, "commit", "-q", "-am", "iris scales further")
    code, report = build_commit(cli, gitrepo)
    assert code == 0
    paths = committed_paths(gitrepo)
    assert paths and all(p.startswith(("overlays/prod/iris/", "overlays/staging/iris/")) for p in paths)
    envs = ", ".join(sorted({p.split("/")[1] for p in paths}))
    assert sh(gitrepo, "log", "-1", "--format=%s").strip() == f"mlgitops build: iris ({envs})"


def test_deleting_a_model_commits_exactly_the_removal_of_its_files(cli, gitrepo):
    assert build_commit(cli, gitrepo)[0] == 0
    fraud_files = sorted(p for p in tree_bytes(gitrepo) if "/fraud/" in p)
    assert fraud_files
    sh(gitrepo, "rm", "-q", "models/fraud.yaml")
    sh(gitrepo, "commit", "-q", "-m", "retire fraud")
    code, report = build_commit(cli, gitrepo)
    assert code == 0, report
    # The ApplicationSet lists directories, not models: only fraud's own files go.
    assert committed_paths(gitrepo) == fraud_files
    status = sh(gitrepo, "show", "--name-status", "--format=", "HEAD").split("\n")
    assert all(line.startswith("D\t") for line in status if line)
    message = sh(gitrepo, "log", "-1", "--format=%B")
    # its overlays in prod, staging and the prod-eu cluster's one referring to prod's
    assert message.startswith("mlgitops build: fraud (prod, prod@prod-eu, staging)\n")
    assert "fraud: prod, prod@prod-eu, staging (removed from prod, prod@prod-eu, staging)" in message
    assert not (gitrepo / "overlays" / "prod" / "fraud").exists()
    assert not (gitrepo / "overlays" / "prod@prod-eu" / "fraud").exists()


def test_build_errors_commit_nothing(cli, gitrepo):
    (gitrepo / "models" / "iris.yaml").write_text("apiVersion: mlgitops.dev/v1alpha1\nkind: Model\n")
    result = cli("build", "--repo", str(gitrepo), "--commit")
    assert result.exit_code == 1 and commits(gitrepo) == 1


def test_commit_outside_git_and_option_misuse_are_usage_errors(cli, repo):
    result = cli("build", "--repo", str(repo), "--commit")
    assert result.exit_code == 2 and "[usage.not-git]" in result.stderr
    assert not (repo / "overlays").exists()
    assert cli("build", "--repo", str(repo), "--commit", "--check").exit_code == 2
    assert cli("build", "--repo", str(repo), "-m", "x").exit_code == 2
    assert "mlgitops build --commit" in cli("build", "--help").stdout


def test_commit_message_is_deterministic_and_summarises_many_models(tmp_path):
    paths = [f"overlays/{env}/m{i:04d}/kustomization.yaml" for i in range(100) for env in ("prod", "staging")]
    first, changes = commit_message(str(tmp_path), list(reversed(paths)))
    again, _ = commit_message(str(tmp_path), paths)
    assert first == again
    assert first.splitlines()[0] == "mlgitops build: 100 models in 2 environments (prod, staging)"
    assert len(changes) == 100 and "  m0042: prod, staging (removed from prod, staging)" in first


def test_git_helpers(gitrepo, tmp_path):
    assert g.toplevel(str(gitrepo / "models")) == str(gitrepo.resolve())
    assert g.toplevel(str(tmp_path)) is None
    assert g.default_branch(str(gitrepo)) == "main"
    head = g.resolve("HEAD", str(gitrepo))
    with pytest.raises(g.GitError, match="no-such-branch"):
        g.resolve("no-such-branch", str(gitrepo))
    assert g.merge_base("main", str(gitrepo)) == head
    assert g.changed_paths("HEAD", str(gitrepo)) == []
    (gitrepo / "models" / "iris.yaml").write_text("changed\n")  # unstaged
    (gitrepo / "new.txt").write_text("new\n")  # untracked
    (gitrepo / "ignored").mkdir()
    (gitrepo / ".gitignore").write_text(".mlgitops/\nignored/\n")
    (gitrepo / "ignored" / "x").write_text("x")
    os.remove(gitrepo / "models" / "churn.yaml")
    sh(gitrepo, "rm", "-q", "--cached", "models/fraud.yaml")  # staged deletion, file kept untracked
    assert g.changed_paths("HEAD", str(gitrepo)) == [".gitignore", "models/churn.yaml", "models/fraud.yaml",
                                                     "models/iris.yaml", "new.txt"]
    assert g.staged_paths(str(gitrepo)) == ["models/fraud.yaml"]
    export = tmp_path / "export"
    g.export_tree("HEAD", str(gitrepo / "models"), str(export))
    assert (export / "models" / "churn.yaml").read_bytes() == (REPO_ROOT / "models" / "churn.yaml").read_bytes()
    assert (gitrepo / "models" / "iris.yaml").read_text() == "changed\n"  # work tree untouched
    sh(gitrepo, "reset", "-q")
    assert g.commit_paths(["nothing-here.txt"], "x", str(gitrepo)) is None
    sha = g.commit_paths(["models/churn.yaml", "new.txt"], "two paths\n", str(gitrepo))
    assert sha == g.resolve("HEAD", str(gitrepo))
    assert committed_paths(gitrepo) == ["models/churn.yaml", "new.txt"]
    assert g.commit_paths(["models/churn.yaml", "new.txt"], "again", str(gitrepo)) is None
    shutil.rmtree(export)
