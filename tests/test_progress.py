"""Progress on long commands (issue #17): `check`, `diff` and `slo test` draw a one-line counter on
stderr when it is a terminal, erase it before the report, and print none of it when stderr is
piped, with --quiet or with --format json. The commands run as real processes, their stderr on a
pseudo-terminal (python's pty module) or a pipe."""

from __future__ import annotations

import concurrent.futures
import fcntl
import os
import pathlib
import pty
import re
import shutil
import struct
import subprocess
import sys
import termios

import yaml
from conftest import copy_sources
from gitrepo import GIT_ENV, commit_all, sh
from tooling import REPO_ROOT, require_tool

from mlgitops import layout

ERASE = b"\r\x1b[K"
COLUMNS = 120


def _env() -> dict[str, str]:
    path = os.pathsep.join([str(REPO_ROOT / ".tools" / "bin"), os.path.dirname(sys.executable), os.environ["PATH"]])
    return {**os.environ, **GIT_ENV, "PATH": path, "MLGITOPS_DEBUG": "1"}


def run(args: list[str], cwd: pathlib.Path, *, tty: bool) -> tuple[int, str, bytes]:
    """`python -m mlgitops ARGS` in `cwd`: exit code, stdout, and stderr's raw bytes (on a
    COLUMNS-wide pseudo-terminal when `tty`, else a pipe)."""
    command = [sys.executable, "-m", "mlgitops", *args]
    if not tty:
        done = subprocess.run(command, cwd=cwd, env=_env(), stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=600)
        return done.returncode, done.stdout.decode(), done.stderr
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, COLUMNS, 0, 0))
    proc = subprocess.Popen(command, cwd=cwd, env=_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=slave)
    os.close(slave)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        out = pool.submit(proc.stdout.read)  # type: ignore[union-attr]
        err = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the process closed the terminal's last descriptor
                break
            if not chunk:
                break
            err += chunk
        os.close(master)
        code = proc.wait(timeout=600)
        return code, out.result().decode(), err.replace(b"\r\n", b"\n")  # the terminal's own CRLF


def run_all(*runs: tuple[list[str], pathlib.Path, bool]) -> list[tuple[int, str, bytes]]:
    """Several runs at once (each is a separate process)."""
    with concurrent.futures.ThreadPoolExecutor(len(runs)) as pool:
        return list(pool.map(lambda r: run(r[0], r[1], tty=r[2]), runs))


def drawn(stderr: bytes) -> list[str]:
    """The progress lines drawn in place: each starts with \\r and ends with erase-to-end-of-line."""
    return [m.decode() for m in re.findall(rb"\r([^\r\n\x1b]+)\x1b\[K", stderr)]


def assert_no_progress(stderr: bytes, label: str) -> None:
    assert b"\r" not in stderr.replace(b"\r\n", b"") and b"\x1b[K" not in stderr, stderr[:300]
    assert label.encode() not in stderr


def gated_repo(tmp_path: pathlib.Path) -> pathlib.Path:
    """The example's sources, output and policies, so `check` runs all of its stages."""
    repo = copy_sources(tmp_path / "repo", with_output=True)
    shutil.copytree(REPO_ROOT / "policies", repo / "policies")
    return repo


def test_check_shows_each_stage_on_a_terminal_only(tmp_path):
    repo = gated_repo(tmp_path)
    (code, out, tty), (piped_code, _, piped), (_, _, quiet), (json_code, json_out, as_json) = run_all(
        (["check"], repo, True), (["check"], repo, False), (["check", "--quiet"], repo, True),
        (["check", "--format", "json"], repo, True))
    assert code == piped_code == json_code, (tty[-500:], piped[-500:])
    lines = drawn(tty)
    # the build stage with its models, loaded then compiled (each rendered, validated and checked
    # where it compiled): counts rise to 4/4, at most five redraws a second in between
    building = [line for line in lines if line.startswith("check 1/5: build: ")]
    assert lines == ["check 1/5: build", *building, "check 2/5: render", "check 3/5: validate",
                     "check 4/5: policy test", "check 5/5: policy check"], lines
    loaded = [int(m.group(1)) for m in map(re.compile(r"check 1/5: build: (\d)/4 models loaded\Z").match, building) if m]
    compiled = [int(m.group(1)) for m in map(re.compile(
        r"check 1/5: build: (\d)/4 models compiled, rendered, validated and checked\Z").match, building) if m]
    assert len(loaded) + len(compiled) == len(building), building
    assert loaded == sorted(loaded) and loaded[-1] == 4 and compiled == sorted(compiled) and compiled[-1] == 4, building
    assert building.index(f"check 1/5: build: 4/4 models loaded") < len(loaded) + 1
    # erased before the report: the stage summaries come after the last erase, on a clean line
    report = tty[tty.rindex(ERASE) + len(ERASE):]
    assert b"build: 4 models" in report and b"\r" not in report
    assert_no_progress(piped, "check 1/5")
    assert b"build: 4 models" in piped  # the same report
    assert_no_progress(quiet, "check 1/5")
    assert_no_progress(as_json, "check 1/5")
    assert '"stages"' in json_out


def test_build_counts_the_models_loaded_then_compiled(tmp_path):
    """200 models (the build draws its line from 200 on): loaded, then compiled in the fork pool,
    each count reported as the workers' results come in."""
    sys.path.insert(0, str(REPO_ROOT / "bench"))
    try:
        from benchlib import load_build_module
    finally:
        sys.path.pop(0)
    bench = load_build_module()
    repo = tmp_path / "repo"
    bench.create_repo(str(repo), 200, bench.environment_names(1))
    code, _, tty = run(["build"], repo, tty=True)
    piped_code, _, piped = run(["build", "--check"], repo, tty=False)
    assert code == 0 and piped_code == 0, (tty[-500:], piped[-500:])
    lines = drawn(tty)
    counts = [(what, int(done)) for done, what in
              (re.fullmatch(r"build (\d+)/200: models (loaded|compiled)", line).groups() for line in lines)]
    loaded = [done for what, done in counts if what == "loaded"]
    compiled = [done for what, done in counts if what == "compiled"]
    assert counts == [("loaded", n) for n in loaded] + [("compiled", n) for n in compiled], lines
    assert loaded[-1] == compiled[-1] == 200 and compiled == sorted(compiled) and len(compiled) >= 2, lines
    summary = tty[tty.rindex(ERASE) + len(ERASE):]  # erased before the summary, on a clean line
    assert summary.startswith(b"built 200 models") and b"\r" not in summary, summary
    assert_no_progress(piped, "/200: models")


def test_diff_counts_the_overlays_of_each_tree(tmp_path):
    repo = copy_sources(tmp_path / "repo", with_output=True)
    commit_all(repo, "example repository")
    model = repo / "models" / "iris.yaml"
    text = model.read_text()
    replicas = re.search(r"minReplicas: (\d+)", text)
    assert replicas, "the example's iris model sets minReplicas"
    model.write_text(text.replace(replicas.group(0), f"minReplicas: {int(replicas.group(1)) + 1}", 1))
    built = run(["build", "--quiet"], repo, tty=False)
    assert built[0] == 0, built[2]
    assert sh(repo, "status", "--porcelain", "overlays")  # the build changed an overlay
    overlays = len(layout.overlay_dirs(str(repo)))
    (code, out, tty), (_, piped_out, piped), (_, json_out, as_json) = run_all(
        (["diff", "--base", "main"], repo, True), (["diff", "--base", "main"], repo, False),
        (["diff", "--base", "main", "--format", "json"], repo, True))
    assert code == 0, tty
    lines = drawn(tty)
    assert lines[0] == "diff: rendering 1/%d: base revision main" % overlays
    assert f"diff: rendering {overlays}/{overlays}: base revision main" in lines
    assert lines[-1] == f"diff: rendering {overlays}/{overlays}: working tree"
    assert tty.endswith(ERASE)  # erased: stdout's diff is not written over it
    assert "minReplicas" in out and out == piped_out
    assert_no_progress(piped, "diff: rendering")
    assert_no_progress(as_json, "diff: rendering")
    assert '"changes": true' in json_out


def test_slo_test_counts_promtool_runs(tmp_path):
    require_tool("promtool", "make tools (Debian package 'prometheus')")
    repo = copy_sources(tmp_path / "repo")
    # churn without its SLO: `slo test` still proves its operational alerts, three promtool runs to
    # count, without the SLO scenarios' ~6 s of promtool CPU (twice: on a terminal and piped)
    model = repo / "models" / "churn.yaml"
    doc = yaml.safe_load(model.read_text())
    del doc["spec"]["slo"]
    model.write_text(yaml.safe_dump(doc, sort_keys=False))
    args = ["slo", "test", "--model", "churn", "--env", "staging"]
    (code, _, tty), (piped_code, _, piped) = run_all((args, repo, True), (args, repo, False))
    assert code == piped_code == 0, (tty[-500:], piped[-500:])
    lines = drawn(tty)
    total = int(re.fullmatch(r"slo test: promtool runs 0/(\d+)", lines[0]).group(1))
    assert total > 1 and lines[-1] == f"slo test: promtool runs {total}/{total}"
    counts = [int(re.fullmatch(r"slo test: promtool runs (\d+)/\d+", line).group(1)) for line in lines]
    assert counts == sorted(counts)  # counting up
    summary = tty[tty.rindex(ERASE) + len(ERASE):]
    assert summary.startswith(b"slo test: 0 SLOs in 1 model environment")
    assert_no_progress(piped, "promtool runs")
    assert piped.startswith(b"slo test: 0 SLOs in 1 model environment")
