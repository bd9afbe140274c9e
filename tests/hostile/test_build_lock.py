"""Builds of one repository are serialised by .mlgitops/build.lock (issue #12): two at once used
to die with FileExistsError/FileNotFoundError and leave temporary files behind."""

from __future__ import annotations

import fcntl
import os
import pathlib
import subprocess
import time

import pytest
import shutil

from buildtrees import MLGITOPS, copy_repo, leftovers, run, synthetic_repo, units
from mlgitops.pipeline import build

N_MODELS = 40  # the two builds of a trial still overlap: most odd trials see the second refused (exit 1)
TRIALS = 6  # three of each kind (the second build waits / does not wait)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> pathlib.Path:
    root = tmp_path_factory.mktemp("lock") / "template"
    synthetic_repo(root, N_MODELS)
    assert run(root, "--no-cache").returncode == 0
    return root


def _change(root: pathlib.Path, trial: int) -> None:
    """Add some models and remove others (different ones each trial)."""
    models = root / "models"
    for k in range(8):
        donor = f"model-{(trial * 11 + k * 3) % N_MODELS + 1:04d}"
        name = f"extra-{trial}-{k}"
        (models / f"{name}.yaml").write_text((models / f"{donor}.yaml").read_text().replace(donor, name))
    for k in range(8):
        victim = models / f"model-{(trial * 17 + k * 5 + 1) % N_MODELS + 1:04d}.yaml"
        if victim.exists():
            victim.unlink()


def _popen(root: pathlib.Path, env: dict) -> subprocess.Popen:
    full = {k: v for k, v in os.environ.items() if not k.startswith("MLGITOPS_")}
    full.update(env)
    return subprocess.Popen([MLGITOPS, "build", "--repo", str(root)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=full)


def test_two_concurrent_builds_are_serialised(built, tmp_path):
    outcomes = []
    for trial in range(TRIALS):
        root = copy_repo(built, tmp_path / f"repo{trial}")
        _change(root, trial)
        clean = tmp_path / f"clean{trial}"
        clean.mkdir()

        shutil.copy(root / "mlgitops.yaml", clean / "mlgitops.yaml")
        shutil.copytree(root / "models", clean / "models")
        # odd trials: the second build does not wait at all (it must fail cleanly if it finds the lock)
        second_env = {"MLGITOPS_LOCK_TIMEOUT": "0"} if trial % 2 else {}
        first = _popen(root, {})
        second = _popen(root, second_env)
        results = [(p.wait(timeout=120), *p.communicate()) for p in (first, second)]
        for code, out, err in results:
            assert "Traceback" not in err and "internal error" not in err, err[-2000:]
            assert code in (0, 1), err
            if code == 1:
                assert "[build.locked]" in err and "waiting for another mlgitops build (pid" in err, err
        assert sum(code == 0 for code, _, _ in results) >= 1
        assert leftovers(root) == [], leftovers(root)[:5]
        assert not build(str(clean), use_cache=False).diagnostics.has_errors  # the same build, in this process
        assert units(root) == units(clean), f"trial {trial}: the tree is not what a clean build makes"
        outcomes.append(tuple(code for code, _, _ in results))
        shutil.rmtree(root)
        shutil.rmtree(clean)
    print(f"\n{TRIALS} trials of two concurrent builds, exit codes: {outcomes}")


def _hold(root: pathlib.Path, mode: int) -> int:
    (root / ".mlgitops").mkdir(exist_ok=True)
    fd = os.open(root / ".mlgitops" / "build.lock", os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, mode)
    os.pwrite(fd, f"{os.getpid():<12d}\n".encode(), 0)
    return fd


def test_a_build_waits_for_the_lock_then_fails_located_not_with_a_traceback(built, tmp_path):
    root = copy_repo(built, tmp_path / "repo")
    _change(root, 99)
    before = units(root)
    fd = _hold(root, fcntl.LOCK_EX)
    try:
        started = time.monotonic()
        result = run(root, env={"MLGITOPS_LOCK_TIMEOUT": "1"})
        assert time.monotonic() - started >= 1
        checked = run(root, "--check", env={"MLGITOPS_LOCK_TIMEOUT": "0.5"})
    finally:
        os.close(fd)
    assert result.returncode == 1
    assert f"waiting for another mlgitops build (pid {os.getpid()}) to finish..." in result.stderr
    assert ".mlgitops/build.lock: error: another mlgitops build" in result.stderr
    assert "[build.locked]" in result.stderr and "Traceback" not in result.stderr
    assert units(root) == before and leftovers(root) == []
    assert checked.returncode == 1 and "[build.locked]" in checked.stderr  # a check never sees a build half done


def test_a_waiting_build_goes_on_when_the_lock_is_released(built, tmp_path):
    root = copy_repo(built, tmp_path / "repo")
    _change(root, 98)
    fd = _hold(root, fcntl.LOCK_EX)
    waiting = _popen(root, {"MLGITOPS_LOCK_TIMEOUT": "60"})
    try:
        told = waiting.stderr.readline()  # the build's first line: it waits (released only then)
    finally:
        os.close(fd)
    out, err = waiting.communicate(timeout=120)
    assert "waiting for another mlgitops build" in told, told + err
    assert waiting.returncode == 0, err
    assert run(root, "--check", "-q").returncode == 0


def test_checks_share_the_lock(built, tmp_path):
    root = copy_repo(built, tmp_path / "repo")
    fd = _hold(root, fcntl.LOCK_SH)  # another check running: checks go on, a build waits
    try:
        assert run(root, "--check", "-q", env={"MLGITOPS_LOCK_TIMEOUT": "0"}).returncode == 0
        _change(root, 97)
        blocked = run(root, env={"MLGITOPS_LOCK_TIMEOUT": "0"})
    finally:
        os.close(fd)
    assert blocked.returncode == 1 and "[build.locked]" in blocked.stderr


def test_the_gate_holds_the_lock_for_its_whole_run(built, tmp_path):
    """`mlgitops check` reads the tree in several stages (build --check, validate, policy check):
    a build that is running blocks it, and while it runs a build waits."""
    root = copy_repo(built, tmp_path / "repo")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLGITOPS_")}
    fd = _hold(root, fcntl.LOCK_EX)
    try:
        blocked = subprocess.run([MLGITOPS, "check", "--repo", str(root), "--no-strict-schemas"],
                                 capture_output=True, text=True, env={**env, "MLGITOPS_LOCK_TIMEOUT": "0.5"},
                                 timeout=120)
    finally:
        os.close(fd)
    assert blocked.returncode == 1, blocked.stderr
    assert ".mlgitops/build.lock: error: another mlgitops build" in blocked.stderr
    assert "[build.locked]" in blocked.stderr and "Traceback" not in blocked.stderr

    # In every stage after build --check the lock is still held: a build could not start there.
    # Probed where the gate makes its validator (the overlays are rendered, validated and policy-
    # checked with it) and where it reads the validation results (validate_stage).
    import mlgitops.gate as gate
    import mlgitops.validate.run as validate_run

    seen = []

    def probing(module, name):
        original = getattr(module, name)

        def probe_then_call(*args, **kwargs):
            probe = os.open(root / ".mlgitops" / "build.lock", os.O_RDWR)
            try:
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
                seen.append((name, "free"))
            except BlockingIOError:
                seen.append((name, "held"))
            finally:
                os.close(probe)
            return original(*args, **kwargs)
        return probe_then_call

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(validate_run, "validator", probing(validate_run, "validator"))
        mp.setattr(gate, "validate_stage", probing(gate, "validate_stage"))
        report = gate.run_gate(str(root), strict_schemas=False)
    assert seen == [("validator", "held"), ("validate_stage", "held")]
    assert not report.diagnostics.has_errors, [d.format() for d in report.diagnostics]


def test_the_workers_of_a_killed_build_hold_the_lock_until_they_end(tmp_path):
    """A build's forked workers share its lock (flock belongs to the open file, which they
    inherit): killed, the build keeps the repository locked until they end, so no other build
    cleans up a directory a worker is still staging (prestage.py). A lock that belonged to the
    process alone (fcntl/lockf record locks) would fail this."""
    import signal
    import sys
    import textwrap

    from mlgitops.buildcache import LockError, build_lock

    root = tmp_path / "repo"
    root.mkdir()
    script = textwrap.dedent("""
        import os, signal, sys, time
        from mlgitops.buildcache import build_lock
        with build_lock(sys.argv[1]):
            if os.fork() == 0:  # a worker, still busy when the build is killed
                quiet = os.open(os.devnull, os.O_WRONLY)
                os.dup2(quiet, 1)
                os.dup2(quiet, 2)
                time.sleep(3)
                os._exit(0)
            print("locked", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", script, str(root)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL and proc.stdout == "locked\n", proc.stderr
    assert time.monotonic() - started < 2.5  # (the worker's sleep is not over)
    with pytest.raises(LockError):
        with build_lock(str(root), timeout=0):
            pass
    with build_lock(str(root), timeout=30):  # once the worker has ended
        assert time.monotonic() - started >= 3
