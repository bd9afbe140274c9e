"""Helpers for tests that need real external binaries or the shared data directory.

Locally a missing tool or data directory skips the test with a one-line reason;
under CI (``CI=true``) it fails it, so CI can never pass by skipping real checks.
Install the tools with ``make tools`` (kubeconform, promtool) and ``make venv`` (kubectl).
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
SHARED_ROOT = REPO_ROOT.parent / "shared"


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def _search_dirs() -> list[pathlib.Path]:
    # Read REPO_ROOT at call time so tests can point it elsewhere.
    return [
        REPO_ROOT / ".venv" / "bin",
        REPO_ROOT / ".tools" / "bin",
        pathlib.Path.home() / "go" / "bin",
    ]


def find_tool(name: str) -> str | None:
    """Path of executable ``name``: repo .venv/bin, .tools/bin, ~/go/bin, then PATH."""
    for directory in _search_dirs():
        candidate = directory / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which(name)


def _missing(reason: str) -> None:
    if _in_ci():
        pytest.fail(f"{reason} (CI=true: missing prerequisites fail CI)", pytrace=False)
    pytest.skip(reason)


def require_tool(name: str, install_hint: str) -> str:
    """Path of ``name``; skip the calling test when missing (fail it when CI=true)."""
    path = find_tool(name)
    if path is None:
        _missing(f"{name} not installed: {install_hint}")
    return path  # type: ignore[return-value]


def require_shared(relpath: str) -> pathlib.Path:
    """Path of ``relpath`` under ../shared; skip when absent (fail when CI=true)."""
    path = SHARED_ROOT / relpath
    if not path.exists():
        _missing(f"shared data not found: {path}")
    return path


def without_section(config_text: str, key: str) -> str:
    """mlgitops.yaml's text without its top-level `key:` block (its comment lines included), so a
    test can append its own version of that section."""
    lines = config_text.splitlines(keepends=True)
    out: list[str] = []
    skipping = False
    for line in lines:
        if line.startswith(f"{key}:"):
            skipping = True
            while out and out[-1].startswith("#"):
                out.pop()
            continue
        if skipping and (line.startswith((" ", "\t")) or not line.strip()):
            continue
        skipping = False
        out.append(line)
    return "".join(out)



def copy_repo_files(dest: pathlib.Path) -> pathlib.Path:
    """What a clone of the repository would hold (tracked files and untracked ones not ignored: the
    next commit's tree), copied into dest."""
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO_ROOT,
                         check=True, capture_output=True).stdout.decode()
    for rel in (p for p in out.split("\0") if p and (REPO_ROOT / p).is_file()):
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / rel, dest / rel, follow_symlinks=False)
    return dest


def actionlint(path: pathlib.Path) -> list[str]:
    """The real actionlint's findings on one workflow file, one line each ([] when clean)."""
    tool = require_tool("actionlint", "run make tools (go install github.com/rhysd/actionlint/cmd/actionlint@v1.7.7)")
    proc = subprocess.run([tool, "-no-color", "-oneline", str(path)], capture_output=True, text=True)
    assert proc.returncode in (0, 1), proc.stderr  # 1: findings; anything else: actionlint failed
    return proc.stdout.splitlines()
