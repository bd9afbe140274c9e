"""Hostile YAML through the real CLI: alias bombs, cycles and deep nesting are located errors, fast,
in bounded memory, in every reader (issue #12).

Each case runs `.venv/bin/mlgitops` as a child process (a `timeout` guards against a hang) and
asserts the exact diagnostic, exit code 1, no traceback and the child's own peak RSS under 300 MB
(os.wait4 in a small launcher process, see run_measured). Speed targets live in bench/hostile.py, not here."""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys

import pytest

from conftest import copy_sources
from tooling import REPO_ROOT

MLGITOPS = str(pathlib.Path(sys.executable).with_name("mlgitops"))
MAX_RSS_MB = 300
BOMB_MESSAGE = ("error: YAML aliases expand to more than 1,000,000 nodes; refusing it "
                "(Kubernetes refuses excessive aliasing too) [input.alias-bomb]")
DEEP_MESSAGE = "error: YAML nests deeper than 200 levels; refusing it (no Kubernetes object or mlgitops file does) [input.too-deep]"


def bomb(levels: int = 9, indent: str = "  ") -> str:
    """Block-mapping entries of a billion laughs: a{k} holds ten aliases of a{k-1} (10**levels leaves).
    The anchor that crosses the 1,000,000-node budget is a5, its first alias at column 47."""
    lines = ['a0: &a0 ["lol"' + ', "lol"' * 9 + "]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    return "".join(f"{indent}{line}\n" for line in lines)


# Runs argv[2:] and writes its peak RSS (KiB) to argv[1]. The CLI is started by this small
# process, not by pytest: a child created with vfork (as subprocess does) shares its parent's
# memory until exec, and Linux records that memory's high-water mark into the child's ru_maxrss,
# so a child of a pytest process of 340 MB would "peak" at 340 MB whatever it does itself.
_MEASURE = """
import os, signal, subprocess, sys
proc = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(proc.pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(str(usage.ru_maxrss))
code = os.waitstatus_to_exitcode(status)
sys.exit(128 - code if code < 0 else code)
"""


def run_measured(args: list[str], cwd: pathlib.Path, timeout: float = 60) -> tuple[int, str, float]:
    """(exit code, stdout + stderr, the child's own peak RSS in MB) of the real CLI."""
    import selectors
    import signal
    import tempfile
    import time

    with tempfile.TemporaryDirectory() as tmp:
        peak_file = os.path.join(tmp, "maxrss")
        proc = subprocess.Popen([sys.executable, "-c", _MEASURE, peak_file, MLGITOPS, *args], cwd=cwd,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
                                env={**os.environ, "NO_COLOR": "1"})
        chunks: list[bytes] = []
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            while True:
                if time.monotonic() > deadline:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                    pytest.fail(f"mlgitops {' '.join(args)} did not finish in {timeout} s")
                if sel.select(timeout=0.5):
                    data = os.read(proc.stdout.fileno(), 65536)
                    if not data:
                        break
                    chunks.append(data)
        proc.wait()
        proc.stdout.close()
        with open(peak_file) as fh:
            peak_kib = int(fh.read())
    return proc.returncode, b"".join(chunks).decode("utf-8", "replace"), peak_kib / 1024


@pytest.fixture
def site(tmp_path: pathlib.Path) -> pathlib.Path:
    """The example repository with its generated output and policies."""
    root = copy_sources(tmp_path / "repo", with_output=True)
    shutil.copytree(REPO_ROOT / "policies", root / "policies")
    return root


def assert_refused(args: list[str], cwd: pathlib.Path, expected: str) -> str:
    code, out, peak = run_measured(args, cwd)
    assert "Traceback" not in out, out
    assert expected in out.splitlines(), out
    assert code == 1, out
    assert peak < MAX_RSS_MB, f"peak RSS {peak:.0f} MB"
    return out


def append(path: pathlib.Path, text: str) -> None:
    path.write_text(path.read_text() + text)


def test_alias_bomb_in_a_model_file(site: pathlib.Path):
    lines = len((site / "models/iris.yaml").read_text().splitlines())
    append(site / "models/iris.yaml", "x-bomb:\n" + bomb())
    assert_refused(["build", "--repo", str(site)], site, f"models/iris.yaml:{lines + 7}:47: {BOMB_MESSAGE}")


def test_alias_bomb_in_mlgitops_yaml(site: pathlib.Path):
    lines = len((site / "mlgitops.yaml").read_text().splitlines())
    append(site / "mlgitops.yaml", "x-bomb:\n" + bomb())
    assert_refused(["build", "--repo", str(site)], site, f"mlgitops.yaml:{lines + 7}:47: {BOMB_MESSAGE}")


def test_alias_bomb_in_a_policy_file(site: pathlib.Path):
    policy = site / "policies/hpa-bounds.yaml"
    text = policy.read_text()
    marker = "kind: ValidatingAdmissionPolicy\n"
    line = text[:text.index(marker)].count("\n") + 2  # the x-bomb line
    policy.write_text(text.replace(marker, marker + "x-bomb:\n" + bomb(), 1))
    assert_refused(["policy", "check"], site, f"policies/hpa-bounds.yaml:{line + 6}:47: {BOMB_MESSAGE}")


def test_alias_bomb_in_a_policy_test_file(site: pathlib.Path):
    cases = site / "policies/tests/hpa-bounds.yaml"
    lines = len(cases.read_text().splitlines())
    append(cases, "x-bomb:\n" + bomb())
    assert_refused(["policy", "test"], site, f"policies/tests/hpa-bounds.yaml:{lines + 7}:47: {BOMB_MESSAGE}")


def test_alias_bomb_in_a_kustomization(site: pathlib.Path):
    kust = site / "overlays/prod/iris/kustomization.yaml"
    lines = len(kust.read_text().splitlines())
    append(kust, "x-bomb:\n" + bomb())
    assert_refused(["render", str(kust.parent)], site,
                   f"overlays/prod/iris/kustomization.yaml:{lines + 7}:47: {BOMB_MESSAGE}")


def test_alias_bomb_in_a_strategic_merge_patch(site: pathlib.Path):
    """A patch file named by patchesStrategicMerge: its own rule at its own position (kubectl kustomize
    1.37 was still expanding such a patch, named under patches:, when it was stopped)."""
    patch = site / "overlays/prod/iris/bomb-patch.yaml"
    patch.write_text("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nx-bomb:\n" + bomb())
    append(site / "overlays/prod/iris/kustomization.yaml", "patchesStrategicMerge:\n- bomb-patch.yaml\n")
    assert_refused(["render", "overlays/prod/iris"], site, f"overlays/prod/iris/bomb-patch.yaml:10:47: {BOMB_MESSAGE}")


@pytest.mark.parametrize("command", [["render", "overlays/prod/iris"], ["validate", "overlays/prod/iris"],
                                     ["check", "--no-strict-schemas"]])
def test_alias_bomb_in_an_overlay_resource(site: pathlib.Path, command: list[str]):
    resource = site / "overlays/prod/iris/monitoring.yaml"
    resource.write_text("x-bomb:\n" + bomb() + "---\n" + resource.read_text())
    assert_refused(command, site, f"overlays/prod/iris/monitoring.yaml:7:47: {BOMB_MESSAGE}")


def test_self_referential_alias(site: pathlib.Path):
    lines = len((site / "models/iris.yaml").read_text().splitlines())
    append(site / "models/iris.yaml", "x-loop: &loop [*loop]\n")
    assert_refused(["build", "--repo", str(site)], site,
                   f"models/iris.yaml:{lines + 1}:16: error: alias *loop is inside the node of its own anchor "
                   "&loop: a cycle that expands forever; refusing it [input.alias-bomb]")


def test_alias_to_an_open_mapping_in_an_overlay_resource(site: pathlib.Path):
    resource = site / "overlays/prod/iris/monitoring.yaml"
    resource.write_text("x: &top\n  y: *top\n---\n" + resource.read_text())
    assert_refused(["validate", "overlays/prod/iris"], site,
                   "overlays/prod/iris/monitoring.yaml:2:6: error: alias *top is inside the node of its own anchor "
                   "&top: a cycle that expands forever; refusing it [input.alias-bomb]")


@pytest.mark.parametrize("levels", [300, 5000])
def test_deep_flow_nesting_in_a_model(site: pathlib.Path, levels: int):
    lines = len((site / "models/iris.yaml").read_text().splitlines())
    append(site / "models/iris.yaml", "x-deep: " + "[" * levels + "]" * levels + "\n")
    # the 200th bracket is level 201 (the root mapping is level 1); past 1,000 levels libyaml itself
    # stops, in its look-ahead, and the verdict is the same
    column = 208 if levels < 1000 else 1008  # libyaml stops at its 1,000th bracket
    assert_refused(["build", "--repo", str(site)], site, f"models/iris.yaml:{lines + 1}:{column}: {DEEP_MESSAGE}")


def test_deep_block_nesting_in_a_model(site: pathlib.Path):
    lines = len((site / "models/iris.yaml").read_text().splitlines())
    append(site / "models/iris.yaml", "x-deep:\n" + "".join(" " * i + "- \n" for i in range(1, 400)))
    assert_refused(["build", "--repo", str(site)], site, f"models/iris.yaml:{lines + 201}:201: {DEEP_MESSAGE}")


def test_deep_block_nesting_in_a_kustomization(site: pathlib.Path):
    kust = site / "overlays/prod/iris/kustomization.yaml"
    lines = len(kust.read_text().splitlines())
    append(kust, "x-deep:\n" + "".join(" " * i + "-\n" for i in range(1, 400)))
    assert_refused(["render", str(kust.parent)], site,
                   f"overlays/prod/iris/kustomization.yaml:{lines + 201}:201: {DEEP_MESSAGE}")


def test_deep_flow_nesting_in_a_kustomization(site: pathlib.Path):
    kust = site / "overlays/prod/iris/kustomization.yaml"
    lines = len(kust.read_text().splitlines())
    append(kust, "x-deep: " + "{a: " * 3000 + "1" + "}" * 3000 + "\n")
    assert_refused(["render", str(kust.parent)], site,
                   f"overlays/prod/iris/kustomization.yaml:{lines + 1}:805: {DEEP_MESSAGE}")


@pytest.mark.parametrize("levels, column", [(300, 208), (5000, 1008)])
def test_deep_flow_nesting_in_an_overlay_resource(site: pathlib.Path, levels: int, column: int):
    resource = site / "overlays/prod/iris/monitoring.yaml"
    resource.write_text("x-deep: " + "[" * levels + "]" * levels + "\n---\n" + resource.read_text())
    assert_refused(["render", "overlays/prod/iris"], site,
                   f"overlays/prod/iris/monitoring.yaml:1:{column}: {DEEP_MESSAGE}")


def test_deep_block_nesting_in_an_overlay_resource(site: pathlib.Path):
    resource = site / "overlays/prod/iris/monitoring.yaml"
    resource.write_text("x-deep:\n" + "".join(" " * i + "-\n" for i in range(1, 400)) + "---\n" + resource.read_text())
    assert_refused(["render", "overlays/prod/iris"], site,
                   f"overlays/prod/iris/monitoring.yaml:201:201: {DEEP_MESSAGE}")


def test_deep_nesting_is_refused_before_an_earlier_duplicate_key_is_reported(site: pathlib.Path):
    """The depth check reads the whole text before any document is built, so it wins over a
    problem found while building (a duplicate key), wherever each is."""
    resource = site / "overlays/prod/iris/monitoring.yaml"
    resource.write_text("a: 1\na: 2\nx-deep: " + "[" * 300 + "]" * 300 + "\n---\n" + resource.read_text())
    assert_refused(["render", "overlays/prod/iris"], site, f"overlays/prod/iris/monitoring.yaml:3:208: {DEEP_MESSAGE}")
