"""SIGKILL a build at injected points of its write phase (issue #12): Argo CD must never see a
half-written generated directory, and the next build must converge and clean up.

The build under test runs in a subprocess with MLGITOPS_FAULT=<point>:<n> (overlays.py's test
hook: the process SIGKILLs itself at the n-th hit of the point; at `prestage`, a new directory's
file staged in a worker, the worker kills the build and itself). After each kill every generated
directory (overlays/<env>/<model>, base, argocd) must be byte-for-byte its old or its new
version, `build --check` must fail listing the leftovers, and a rerun must give exactly the new
tree with nothing left over."""

from __future__ import annotations

import pathlib
import re
import shutil
import signal

import pytest

from buildtrees import copy_repo, leftovers, run, synthetic_repo, units

# 80 models: 20 edited, 20 removed, 20 added and 20 left alone (every kind of directory change,
# over 100 changed directories, and untouched ones beside them; a larger repository only repeats
# the same steps, each trial runs three builds of it)
N_MODELS = 80
EDITED = [f"model-{i:04d}" for i in range(2, N_MODELS, 4)]  # 20 models edited
REMOVED = [f"model-{i:04d}" for i in range(3, N_MODELS, 4)]  # 20 removed
ADDED = [f"model-{i:04d}" for i in range(N_MODELS + 1, N_MODELS + 21)]  # 20 added (copies of others, new names)
MAX_REPLICAS = re.compile(r"^(    maxReplicas: )(\d+)$", re.M)

# (point, n, two renames instead of RENAME_EXCHANGE)
# (point, which hit as a fraction of the build's hits of it: 0 the first, 1 the last, two renames)
TRIALS = [
    ("write", 0, False), ("write", 1, False),
    ("prestage", 0, False), ("prestage", 0.1, False),
    ("fsync", 0, False),
    ("swap", 0, False), ("swap", 0.6, False), ("swap", 1, False),
    ("remove", 0, False), ("remove", 0.75, False),
    ("swap", 0.02, True), ("swap", 0.5, True), ("remove", 0.1, True),
]
CLEANUP_TRIALS = [("swap", 0.5, "cleanup", 0), ("swap", 0.5, "cleanup", 0.5)]  # a kill, then a kill while cleaning up
RESULTS: list[str] = []  # test_report_trials counts them: every test here runs in one process
pytestmark = pytest.mark.xdist_group("build-crash")


@pytest.fixture(scope="module")
def trees(tmp_path_factory) -> dict:
    """A repository built once (old tree) whose sources then changed; and the new tree."""
    base = tmp_path_factory.mktemp("crash")
    template = base / "template"
    synthetic_repo(template, N_MODELS)
    assert run(template, "--no-cache").returncode == 0
    old = units(template)
    models = template / "models"
    for name in EDITED:
        path = models / f"{name}.yaml"
        text = path.read_text()
        path.write_text(MAX_REPLICAS.sub(lambda m: f"{m.group(1)}{int(m.group(2)) + 7}", text, count=1))
    for name in REMOVED:
        (models / f"{name}.yaml").unlink()
    for i, name in enumerate(ADDED):
        donor = f"model-{i * 4 + 1:04d}"  # never one of REMOVED (3 mod 4) nor EDITED (2 mod 4)
        (models / f"{name}.yaml").write_text((models / f"{donor}.yaml").read_text().replace(donor, name))
    config = template / "mlgitops.yaml"  # argocd/ (a directory with files and a subdirectory) changes too
    config.write_text(config.read_text().replace("targetRevision: main", "targetRevision: release"))
    clean = copy_repo(template, base / "clean")
    assert run(clean, "--no-cache").returncode == 0
    new = units(clean)
    assert leftovers(clean) == []
    changed = {u for u in old.keys() | new.keys() if old.get(u) != new.get(u)}
    assert len(changed) > 100 and "argocd" in changed  # edited, added and removed overlays, and argocd/
    assert len({u for u in old.keys() & new.keys() if u.startswith("overlays/")} - changed) >= 40  # and untouched ones
    swaps = len(changed)  # one per directory (a new one, an exchange, a removal)
    # A new directory is staged where its model compiled (prestage: counted in each worker, so a
    # fraction of its total is reached by some worker only while it is small); one that exists is
    # staged by the write stage (write).
    hits = {"write": sum(len(new[u]) for u in changed if u in new and u in old),
            "prestage": sum(len(new[u]) for u in changed if u in new and u not in old),
            "fsync": 1, "swap": swaps,
            "remove": sum(1 for u in changed if u in old),  # old copies and removed directories
            "swap-2renames": swaps + sum(1 for u in changed if u in old and u in new)}
    return {"template": template, "old": old, "new": new, "base": base, "hits": hits}


def _nth(trees: dict, point: str, fraction: float, two_renames: bool = False, leftovers_now: int = 0) -> int:
    total = leftovers_now if point == "cleanup" else trees["hits"][point + ("-2renames" if two_renames and point == "swap" else "")]
    return 1 + round(fraction * (total - 1))


def _assert_whole(root: pathlib.Path, old: dict, new: dict, two_renames: bool, what: str) -> None:
    now = units(root)
    for unit in sorted(old.keys() | new.keys() | now.keys()):
        state = now.get(unit)
        if state is None and two_renames and old.get(unit) is not None and new.get(unit) is not None:
            # the documented window of the two-rename swap: absent, its old copy kept beside it
            parent, name = unit.rsplit("/", 1) if "/" in unit else ("", unit)
            kept = root / parent / f".{name}.mlgitops-old"
            assert kept.is_dir(), f"{what}: {unit} is absent and has no old copy"
            continue
        assert state in (old.get(unit), new.get(unit)), f"{what}: {unit} is neither wholly old nor wholly new"
    for unit, files in now.items():
        if unit.startswith("overlays/") and f"{unit}/model.yaml" in files:
            assert f"{unit}/kustomization.yaml" in files, f"{what}: {unit} has model.yaml but no kustomization.yaml"


def _check_then_converge(cli, root: pathlib.Path, new: dict, what: str) -> None:
    """`build --check`, then a build, through the CLI in this process (only the killed build needs a
    process of its own; an exception here fails the test, where a process would print a traceback)."""
    left = leftovers(root)
    checked = cli("build", "--repo", str(root), "--check", "-q")
    assert "Traceback" not in checked.stderr and "internal error" not in checked.stderr
    if left:
        assert checked.exit_code == 1, f"{what}: build --check passed with leftovers {left[:3]}"
        assert "[build.leftover]" in checked.stderr
        for rel in left:
            if rel.startswith(("overlays/", "base/", "argocd/", ".argocd.", ".base.")):
                assert rel in checked.stderr or "/" in rel.split("/", 3)[-1], rel
    rerun = cli("build", "--repo", str(root))
    assert rerun.exit_code == 0, f"{what}: rerun failed: {rerun.stderr[-2000:]}"
    assert "Traceback" not in rerun.stderr
    assert units(root) == new, f"{what}: the rerun did not converge to the new tree"
    assert leftovers(root) == [], f"{what}: leftovers after the rerun: {leftovers(root)[:5]}"


@pytest.mark.parametrize("point,n,two_renames", TRIALS, ids=[f"{p}-{n}{'-2renames' if t else ''}" for p, n, t in TRIALS])
def test_sigkill_mid_build_leaves_every_directory_wholly_old_or_new(trees, cli, tmp_path, point, n, two_renames):
    root = copy_repo(trees["template"], tmp_path / "repo")
    n = _nth(trees, point, n, two_renames)
    env = {"MLGITOPS_FAULT": f"{point}:{n}"}
    if two_renames:
        env["MLGITOPS_NO_EXCHANGE"] = "1"
    killed = run(root, "--no-cache", env=env)
    assert killed.returncode == -signal.SIGKILL, f"the build was not killed at {point}:{n} (rc {killed.returncode})"
    what = f"killed at {point}:{n}{' (two renames)' if two_renames else ''}"
    _assert_whole(root, trees["old"], trees["new"], two_renames, what)
    RESULTS.append(f"{what}: {len(leftovers(root))} leftovers")
    _check_then_converge(cli, root, trees["new"], what)
    shutil.rmtree(root)


@pytest.mark.parametrize("point,n,clean_point,clean_n", CLEANUP_TRIALS,
                         ids=[f"{p}-{n}-then-{c}-{m}" for p, n, c, m in CLEANUP_TRIALS])
def test_sigkill_while_cleaning_up_after_an_earlier_kill(trees, cli, tmp_path, point, n, clean_point, clean_n):
    root = copy_repo(trees["template"], tmp_path / "repo")
    n = _nth(trees, point, n)
    assert run(root, "--no-cache", env={"MLGITOPS_FAULT": f"{point}:{n}"}).returncode == -signal.SIGKILL
    assert leftovers(root)
    clean_n = _nth(trees, clean_point, clean_n, leftovers_now=len(leftovers(root)))
    again = run(root, "--no-cache", env={"MLGITOPS_FAULT": f"{clean_point}:{clean_n}"})
    assert again.returncode == -signal.SIGKILL
    what = f"killed at {point}:{n}, then at {clean_point}:{clean_n}"
    _assert_whole(root, trees["old"], trees["new"], False, what)
    RESULTS.append(f"{what}: {len(leftovers(root))} leftovers")
    _check_then_converge(cli, root, trees["new"], what)
    shutil.rmtree(root)


def test_report_trials():
    """Records how many kills the tests above made (pytest -s shows it)."""
    print(f"\nSIGKILL trials: {len(RESULTS)} ({len(TRIALS)} single, {len(CLEANUP_TRIALS)} double)")
    for line in RESULTS:
        print("  " + line)
    assert len(RESULTS) == len(TRIALS) + len(CLEANUP_TRIALS)
