"""`build` must not follow a symbolic link out of the repository when it writes (issue #12):
every directory from the repository root down to a written file, and .mlgitops/, must be a real
directory. Otherwise: exit 1, a located `input.outside-repo` error, nothing written anywhere."""

from __future__ import annotations

import json
import os
import pathlib

import pytest

from conftest import copy_sources, tree_bytes


def _snapshot(directory: pathlib.Path) -> dict[str, bytes | None]:
    out: dict[str, bytes | None] = {}
    for dirpath, dirnames, filenames in os.walk(directory):
        for name in dirnames:
            out[os.path.relpath(os.path.join(dirpath, name), directory) + "/"] = None
        for name in filenames:
            path = os.path.join(dirpath, name)
            out[os.path.relpath(path, directory)] = pathlib.Path(path).read_bytes()
    return out


def _link(repo: pathlib.Path, outside: pathlib.Path, rel: str, move_existing: bool) -> None:
    """Make repo/rel a symlink to outside/<name>, moving what was there to outside (or empty)."""
    target = outside / rel.replace("/", "_")
    path = repo / rel
    if move_existing and path.exists():
        path.rename(target)
    else:
        target.mkdir()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(target, target_is_directory=True)


CASES = [  # (linked path, built before, the finding's file)
    ("overlays/prod", True, "overlays/prod"),
    ("overlays/prod", False, "overlays/prod"),
    ("overlays", False, "overlays"),
    ("overlays", True, "overlays"),
    ("overlays/staging/iris", True, "overlays/staging/iris"),
    ("base", True, "base"),
    ("base/components", False, "base/components"),
    ("argocd/applicationsets", True, "argocd/applicationsets"),
    (".mlgitops", False, ".mlgitops"),
    (".mlgitops", True, ".mlgitops"),
]


@pytest.mark.parametrize("rel,built,finding", CASES, ids=[f"{r}-{'built' if b else 'fresh'}" for r, b, _ in CASES])
@pytest.mark.parametrize("check", [False, True], ids=["build", "check"])
def test_a_symlinked_output_directory_is_refused_and_nothing_is_written(tmp_path, cli, rel, built, finding, check):
    repo = copy_sources(tmp_path / "repo")
    outside = tmp_path / "outside"
    outside.mkdir()
    if built:
        assert cli.build_json(repo)[0] == 0
        # change every model so a build has something to write everywhere
        for model in (repo / "models").glob("*.yaml"):
            model.write_text(model.read_text().replace("team: ", "team: x-", 1))
    _link(repo, outside, rel, move_existing=built)
    before_outside = _snapshot(outside)
    before_repo = tree_bytes(repo)
    code, report = cli.build_json(repo, *(["--check"] if check else []))
    assert code == 1
    found = [d for d in report["diagnostics"] if d["rule"] == "input.outside-repo"]
    assert found and found[0]["file"] == finding and found[0]["severity"] == "error", report["diagnostics"]
    assert "symbolic link" in found[0]["message"]
    assert str(outside) not in found[0]["message"]  # where a link points is never printed
    assert _snapshot(outside) == before_outside  # nothing written (or created) outside
    assert tree_bytes(repo) == before_repo
    assert not list(repo.rglob("*.mlgitops-*"))
    # and the text report is located: path:line:col-style, with the rule
    text = cli("build", "--repo", str(repo), *(["--check"] if check else []))
    assert text.exit_code == 1
    assert f"{finding}: error: " in text.stderr and "[input.outside-repo]" in text.stderr
    assert _snapshot(outside) == before_outside


def test_the_cache_file_and_lock_file_are_not_followed(tmp_path, cli):
    repo = copy_sources(tmp_path / "repo")
    outside = tmp_path / "outside"
    outside.mkdir()
    (repo / ".mlgitops").mkdir()
    (repo / ".mlgitops/build-cache.json.mlgitops-tmp").symlink_to(outside / "cache")
    (repo / ".mlgitops/build-cache.json").symlink_to(outside / "cache2")
    assert cli.build_json(repo)[0] == 0
    assert list(outside.iterdir()) == []
    (repo / ".mlgitops/build.lock").unlink()
    (repo / ".mlgitops/build.lock").symlink_to(outside / "lock")
    code, report = cli.build_json(repo)
    assert code == 1 and [d["rule"] for d in report["diagnostics"]] == ["input.outside-repo"]
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize("command", [["build", "--check"], ["check"]], ids=["build-check", "check"])
def test_comparing_with_the_tree_never_reads_through_a_linked_directory(tmp_path, command):
    """`build --check` and `check` compare what the models compile to with the files on disk.
    Behind a linked output directory every file is a FIFO here: opening one (even to compare)
    would block until the timeout, so a read through the link fails the test."""
    import subprocess
    import sys

    from conftest import REPO_ROOT

    repo = copy_sources(tmp_path / "repo")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "compiler")}
    run = [sys.executable, "-m", "mlgitops"]
    subprocess.run(run + ["build", "--repo", str(repo), "--quiet"], check=True, env=env, timeout=120)
    outside = tmp_path / "outside"
    (repo / "overlays/prod").rename(outside)
    files = list(outside.glob("*/*.yaml"))
    assert files
    for path in files:
        path.unlink()
        os.mkfifo(path)
    (repo / "overlays/prod").symlink_to(outside, target_is_directory=True)
    proc = subprocess.run(run + command + ["--repo", str(repo), "--format", "json"], capture_output=True,
                          text=True, env=env, timeout=60)
    assert proc.returncode == 1, proc.stderr
    found = [d for d in json.loads(proc.stdout)["diagnostics"] if d["rule"] == "input.outside-repo"]
    assert found and found[0]["file"] == "overlays/prod", proc.stdout
