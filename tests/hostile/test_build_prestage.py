"""A directory that does not exist yet is staged where its model compiled (prestage.py), in the
build's worker processes: the tree must be byte for byte what the write stage alone makes, and
whatever ends a build that does not swap a staged copy in (an error in another model, a narrowed
build, a directory that appeared meanwhile) must leave nothing of it behind.

The builds here run in this process (pipeline.build), 70 models: over PARALLEL_MIN_MODELS, so
the models compile, and their directories are staged, in forked workers. Kills mid-staging are
in test_build_crash.py (point `prestage`)."""

from __future__ import annotations

import os
import pathlib
import re
import stat
import threading
import time

import pytest

from buildtrees import leftovers, synthetic_repo, units
from mlgitops import overlays, pipeline

N_MODELS = 70
assert N_MODELS >= pipeline.PARALLEL_MIN_MODELS  # the workers stage, not this process


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> pathlib.Path:
    """models/ and mlgitops.yaml of a synthetic repository, never built."""
    root = tmp_path_factory.mktemp("prestage") / "sources"
    synthetic_repo(root, N_MODELS)
    return root


def _repo(sources: pathlib.Path, dest: pathlib.Path) -> pathlib.Path:
    dest.mkdir()
    (dest / "models").mkdir()
    (dest / "mlgitops.yaml").write_bytes((sources / "mlgitops.yaml").read_bytes())
    for path in (sources / "models").iterdir():
        (dest / "models" / path.name).write_bytes(path.read_bytes())
    return dest


def _modes(root: pathlib.Path) -> dict[str, int]:
    return {os.path.relpath(os.path.join(d, n), root): stat.S_IMODE(os.lstat(os.path.join(d, n)).st_mode)
            for top in ("overlays", "base", "argocd") for d, dirs, files in os.walk(root / top) for n in dirs + files}


@pytest.fixture
def seen(monkeypatch) -> dict:
    """What the write stage was given: how many files came staged already (PRESTAGED)."""
    found = {"prestaged": 0, "files": 0}
    real = overlays.sync_tree

    def sync_tree(root, desired, *args, **kwargs):
        found["prestaged"] += sum(1 for data in desired.values() if data == overlays.PRESTAGED)
        found["files"] += sum(1 for rel in desired if rel.startswith("overlays/"))
        return real(root, desired, *args, **kwargs)

    monkeypatch.setattr(pipeline, "sync_tree", sync_tree)
    return found


def test_a_build_from_scratch_stages_in_the_workers_and_writes_what_the_write_stage_would(
        sources, tmp_path, monkeypatch, seen):
    staged = _repo(sources, tmp_path / "staged")
    result = pipeline.build(str(staged))
    assert not result.diagnostics.has_errors, list(result.diagnostics)
    # every overlay file came staged: none was sent back to be written here
    assert seen["prestaged"] == seen["files"] > 3 * N_MODELS
    # the same sources, every file written by the write stage (as before prestage.py)
    monkeypatch.setattr(pipeline, "stage_new_units", lambda root, outputs, wanted, memo: (outputs, [], []))
    plain = _repo(sources, tmp_path / "plain")
    assert not pipeline.build(str(plain)).diagnostics.has_errors
    assert seen["prestaged"] == seen["files"] // 2  # the second build staged nothing itself
    assert units(staged) == units(plain)
    assert _modes(staged) == _modes(plain)
    assert leftovers(staged) == leftovers(plain) == []
    assert not pipeline.build(str(staged), check=True).diagnostics.has_errors


def _break(model: pathlib.Path) -> None:
    """An error found when the model compiles (spec.latency-bucket: a model rule, after the file
    and cross-file checks), so the other models' directories are staged first."""
    text = model.read_text()
    model.write_text(re.sub(r"threshold: \d+ms", "threshold: 123ms", text, count=1))


def test_an_error_in_one_model_leaves_nothing_the_others_staged(sources, tmp_path, seen):
    # from scratch: no overlays/ at all afterwards (the workers made it, and its env directories)
    root = _repo(sources, tmp_path / "fresh")
    _break(root / "models" / "model-0040.yaml")
    result = pipeline.build(str(root))
    assert [d.rule for d in result.diagnostics if d.severity == "error"] == ["spec.latency-bucket"]
    assert sorted(os.listdir(root)) == [".mlgitops", "mlgitops.yaml", "models"]
    # on a built tree: new models' directories staged, then the build fails: the tree is as it was
    root = _repo(sources, tmp_path / "built")
    assert not pipeline.build(str(root)).diagnostics.has_errors
    before, modes = units(root), _modes(root)
    for i in range(5):
        text = (root / "models" / "model-0001.yaml").read_text().replace("model-0001", f"new-{i}")
        (root / "models" / f"new-{i}.yaml").write_text(text)
    _break(root / "models" / "model-0002.yaml")
    seen["prestaged"] = 0
    result = pipeline.build(str(root))
    assert result.diagnostics.has_errors
    assert seen["prestaged"] == 0  # (the write stage never ran)
    assert units(root) == before and _modes(root) == modes
    assert leftovers(root) == []


def test_a_directory_made_meanwhile_gets_its_files_from_the_staged_copy(sources, tmp_path, monkeypatch):
    """Between the compile and the write, a user's file appears where a new overlay goes: the
    staged copy is given back, the write stage stages the directory itself, keeping the file."""
    expected = _repo(sources, tmp_path / "expected")
    assert not pipeline.build(str(expected)).diagnostics.has_errors
    root = _repo(sources, tmp_path / "repo")
    real = pipeline.write
    unit = "overlays/prod/model-0003"

    def write(root_dir, desired, *args, **kwargs):
        assert desired[f"{unit}/model.yaml"] == overlays.PRESTAGED
        os.makedirs(os.path.join(root_dir, unit))
        with open(os.path.join(root_dir, unit, "NOTES.md"), "w") as fh:
            fh.write("the user's\n")
        return real(root_dir, desired, *args, **kwargs)

    monkeypatch.setattr(pipeline, "write", write)
    result = pipeline.build(str(root))
    assert not result.diagnostics.has_errors, list(result.diagnostics)
    got, want = units(root), units(expected)
    assert got.pop(unit) == {**want.pop(unit), f"{unit}/NOTES.md": b"the user's\n"}
    assert got == want
    assert leftovers(root) == []


def test_a_narrowed_build_stages_only_what_it_writes(sources, tmp_path, monkeypatch):
    root = _repo(sources, tmp_path / "repo")
    staged: list[str] = []
    real = pipeline.stage_new_units

    def stage_new_units(root_dir, outputs, wanted, memo):
        outputs, made, created = real(root_dir, outputs, wanted, memo)
        staged.extend(unit.unit for unit in made)
        return outputs, made, created

    monkeypatch.setattr(pipeline, "stage_new_units", stage_new_units)
    monkeypatch.setattr(pipeline, "PARALLEL_MIN_MODELS", 10**6)  # in this process: `staged` is seen
    result = pipeline.build(str(root), envs=("staging",), models=("model-0001", "model-0002"))
    assert not result.diagnostics.has_errors, list(result.diagnostics)
    assert sorted(staged) == ["overlays/staging/model-0001", "overlays/staging/model-0002"]
    assert sorted(os.listdir(root / "overlays")) == ["staging"]
    assert sorted(os.listdir(root / "overlays" / "staging")) == ["model-0001", "model-0002"]
    assert leftovers(root) == []


@pytest.mark.parametrize("cleanup", [True, False], ids=["build", "staged-copies-kept"])
def test_a_linked_environment_directory_is_refused_and_nothing_is_staged_through_it(
        sources, tmp_path, monkeypatch, cleanup):
    """Without the cleanup (as after a kill), what was staged stays: still nothing outside."""
    if not cleanup:
        monkeypatch.setattr(pipeline.Prestaged, "discard", lambda self: None)
    root = _repo(sources, tmp_path / "repo")
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "overlays").mkdir()
    os.symlink(outside, root / "overlays" / "prod")
    result = pipeline.build(str(root))
    assert "input.outside-repo" in [d.rule for d in result.diagnostics]
    assert os.listdir(outside) == []
    if cleanup:
        assert leftovers(root) == []
        assert sorted(os.listdir(root / "overlays")) == ["prod"]  # the link, and nothing staged beside it
    else:  # the other environments' directories were staged (and the link's were not: outside is empty)
        assert {rel.split("/")[1] for rel in leftovers(root)} == {"staging", "prod@prod-2"}


def _fds_on(path: pathlib.Path) -> list[str]:
    """This process's open descriptors on `path`."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == str(path):
                found.append(fd)
        except OSError:  # the listing's own descriptor, closed meanwhile
            continue
    return found


def test_what_the_workers_staged_is_flushed_beside_the_write_stage_and_the_flush_always_ends(
        sources, tmp_path, monkeypatch):
    """overlays._early_flush: a syncfs of the repository's file system in a thread from the start
    of the write stage (the workers' files reach the disk while it plans the swap); the thread and
    its descriptor are gone when the build ends, also when the write stage fails; a build that
    staged nothing in the workers starts none."""
    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("needs /proc/self/fd (Linux)")
    real = overlays._libc_function("syncfs")
    if real is None:
        pytest.skip("no syncfs(2) here: the write stage flushes with os.sync()")
    calls: list[tuple[str, str]] = []

    def syncfs(fd):
        calls.append((threading.current_thread().name, os.readlink(f"/proc/self/fd/{fd}")))
        if threading.current_thread().name == "mlgitops-flush":
            time.sleep(0.2)  # as slow as on a large tree: a thread not waited for is still running
        return real(fd)

    monkeypatch.setitem(overlays._LIBC, "syncfs", syncfs)
    root = _repo(sources, tmp_path / "repo")
    assert not pipeline.build(str(root)).diagnostics.has_errors
    assert ("mlgitops-flush", str(root)) in calls  # in its own thread, on this repository
    assert ("MainThread", str(root)) in calls  # and _flush still flushes before the swap
    assert not [t for t in threading.enumerate() if t.name == "mlgitops-flush"]
    assert _fds_on(root) == []

    calls.clear()
    edited = root / "models" / "model-0001.yaml"
    edited.write_text(re.sub(r"maxReplicas: (\d+)", lambda m: f"maxReplicas: {int(m.group(1)) + 1}",
                             edited.read_text(), count=1))
    assert not pipeline.build(str(root), use_cache=False).diagnostics.has_errors
    assert [name for name, _ in calls if name == "mlgitops-flush"] == []  # every directory existed

    def failing(*args, **kwargs):
        raise RuntimeError("the write stage failed")

    monkeypatch.setattr(overlays, "_take_prestaged", failing)
    fresh = _repo(sources, tmp_path / "fresh")
    with pytest.raises(RuntimeError, match="the write stage failed"):
        pipeline.build(str(fresh))
    assert ("mlgitops-flush", str(fresh)) in calls
    assert not [t for t in threading.enumerate() if t.name == "mlgitops-flush"]
    assert _fds_on(fresh) == []
    assert not (fresh / "overlays").exists() or leftovers(fresh) == []
