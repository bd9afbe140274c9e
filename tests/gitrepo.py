"""What tests of the git-facing commands share: an isolated git identity, running real git, and
committing a directory as a fresh repository."""

from __future__ import annotations

import os
import pathlib
import subprocess

# No user or system git config leaks in; a fixed identity for every commit a test makes.
GIT_ENV = {"GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_NAME": "Dev",
           "GIT_AUTHOR_EMAIL": "dev@example.com", "GIT_COMMITTER_NAME": "Dev",
           "GIT_COMMITTER_EMAIL": "dev@example.com"}


def sh(repo: pathlib.Path, *args: str) -> str:
    """The stdout of real `git ARGS` run in `repo`; fails the test on a non-zero exit."""
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


def use_git_env(monkeypatch) -> None:
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)


def commit_all(repo: pathlib.Path, message: str) -> pathlib.Path:
    """`repo` made a git repository on branch main with everything committed (.mlgitops/ ignored)."""
    (repo / ".gitignore").write_text(".mlgitops/\n")
    sh(repo, "init", "-q", "-b", "main")
    sh(repo, "add", "-A")
    sh(repo, "commit", "-q", "-m", message)
    return repo


def edit(path: pathlib.Path, old: str, new: str) -> None:
    """Replace the first `old` in the file at `path` with `new` (`old` must be there)."""
    text = path.read_text()
    assert old in text, f"{path}: {old!r} not found"
    path.write_text(text.replace(old, new, 1))
