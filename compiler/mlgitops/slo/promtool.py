"""Run the SLO scenario proofs (slo/scenarios.py) through the real `promtool test rules`.

For each selected model environment: generate the PrometheusRule in memory, write its groups and
the scenario test files into a temporary directory (or `--keep DIR`), run promtool on each test
file (two at a time), and turn every failed assertion into a Diagnostic `slo.scenario-failed` at
the SLO's line in the model file. promtool prints the failing expression, not the test name, so
each expression carries a `# scenario: <slo>/<name>` comment that maps it back.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import os
import re
import shutil
import subprocess
import tempfile
import time
from typing import TYPE_CHECKING

import yaml

from ..diagnostics import INFO, Diagnostic, Diagnostics
from ..expand.operations import alerts_rule
from ..expand.slo import prometheus_rule
from ..spec.model import MODELS_DIR, ModelEnv
from .models import load_model_envs
from .scenarios import MARK, Scenario, Suite, build_suite, slo_ids

if TYPE_CHECKING:
    from ..progress import Progress

INSTALL_HINT = "install Debian's 'prometheus' package (apt-get install prometheus), which ships promtool"
_TAG = re.compile(re.escape(MARK) + r"([A-Za-z0-9_.-]+)/([A-Za-z0-9_]+)")


def find_promtool(explicit: str | None = None) -> str | None:
    """`explicit` if it is an executable (a path or a name on PATH), else `promtool` on PATH."""
    if explicit:
        if os.path.isfile(explicit) and os.access(explicit, os.X_OK):
            return explicit
        return shutil.which(explicit)
    return shutil.which("promtool")


@dataclasses.dataclass
class Outcome:
    scenario: Scenario
    status: str  # passed, failed, skipped
    detail: str = ""


@dataclasses.dataclass
class Result:
    diagnostics: Diagnostics
    outcomes: list[tuple[ModelEnv, Outcome]] = dataclasses.field(default_factory=list)
    slos: int = 0
    model_envs: int = 0
    seconds: float = 0.0
    files: list[str] = dataclasses.field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for _, o in self.outcomes if o.status == status)

    def summary(self) -> dict:
        return {
            "slos": self.slos, "model_envs": self.model_envs, "passed": self.count("passed"),
            "failed": self.count("failed"), "skipped": self.count("skipped"), "seconds": round(self.seconds, 3),
            "scenarios": [{"model": me.name, "env": me.env.name, "slo": o.scenario.slo, "scenario": o.scenario.name,
                           "status": o.status, "summary": o.scenario.summary,
                           **({"alert": o.scenario.alert} if o.scenario.alert else {}),
                           **({"fires_after_minutes": o.scenario.fires_after}
                              if o.scenario.fires_after is not None else {}),
                           **({"reason": o.detail} if o.detail else {})} for me, o in self.outcomes],
        }

    def summary_line(self) -> str:
        parts = [f"{self.count('passed')} scenarios passed"]
        if self.count("failed"):
            parts.append(f"{self.count('failed')} failed")
        if self.count("skipped"):
            parts.append(f"{self.count('skipped')} skipped")
        return (f"slo test: {self.slos} SLO{'s' if self.slos != 1 else ''} in {self.model_envs} model "
                f"environment{'s' if self.model_envs != 1 else ''}, {', '.join(parts)} in {self.seconds:.1f}s")


# Go's garbage collector target for promtool's runs (unless GOGC is set): a rule unit test builds
# many short-lived series, and at Go's default (100) collecting took about a fifth of its CPU time;
# at 400 a run uses about 20% less CPU for some 50 MB more heap (bench: `promtool test rules` of a
# latency SLO's fast scenarios, 3.43 -> 2.75 s CPU, 65 -> 118 MB).
PROMTOOL_GOGC = "400"


def run_promtool(promtool: str, jobs: list[tuple[str, str]], progress: Progress | None = None,
                 ) -> dict[tuple[str, str], subprocess.CompletedProcess]:
    """Run `promtool test rules FILE` in DIRECTORY for every (directory, file), two at a time;
    `progress(done, total)` is told as each run ends."""
    env = {**os.environ, "GOGC": os.environ.get("GOGC", PROMTOOL_GOGC)}

    def one(job: tuple[str, str]) -> subprocess.CompletedProcess:
        directory, name = job
        return subprocess.run([promtool, "test", "rules", name], cwd=directory, capture_output=True, text=True,
                              env=env)

    workers = max(1, min(2, os.cpu_count() or 1, len(jobs)))
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        futures = {pool.submit(one, job): job for job in jobs}
        if progress:
            progress(0, len(jobs))
        for done, future in enumerate(concurrent.futures.as_completed(futures), 1):
            if progress:
                progress(done, len(jobs))
        return {job: future.result() for future, job in futures.items()}


def grade(suite: Suite, runs: dict[str, subprocess.CompletedProcess]) -> list[Outcome]:
    """Each scenario of `suite` passed, failed (with promtool's words) or skipped (with the reason);
    scenarios of test files missing from `runs` (not run) are left out."""
    outcomes = []
    for sc in suite.scenarios:
        if sc.skipped:
            outcomes.append(Outcome(sc, "skipped", sc.skipped))
            continue
        if sc.test_file not in runs:
            continue
        proc = runs[sc.test_file]
        if proc.returncode == 0:
            outcomes.append(Outcome(sc, "passed"))
            continue
        failures = _failures(proc.stdout + proc.stderr)
        if failures is None:  # promtool could not run the file at all: every scenario in it failed
            outcomes.append(Outcome(sc, "failed", _first_lines(proc.stdout + proc.stderr)))
        elif (sc.slo, sc.name) in failures:
            found = failures[(sc.slo, sc.name)]
            more = f" (and {len(found) - 1} more failed assertion{'s' if len(found) > 2 else ''})" \
                if len(found) > 1 else ""
            outcomes.append(Outcome(sc, "failed", found[0] + more))
        else:
            outcomes.append(Outcome(sc, "passed"))
    return outcomes


def _failures(output: str) -> dict[tuple[str, str], list[str]] | None:
    """Failed assertions per (slo, scenario), from promtool's report; None when none is tagged."""
    found: dict[tuple[str, str], list[str]] = {}
    chunks = re.split(r"\n\s*(?=expr: )", output)
    for chunk in chunks:
        tag = _TAG.search(chunk)
        if not tag:
            continue
        time_at = re.search(r", time: ([^,\s]+)", chunk)
        exp = re.search(r"\n\s*exp: (.*)", chunk)
        got = re.search(r"\n\s*got: (.*)", chunk)
        query = chunk.split("\\n" + MARK)[0].removeprefix('expr: "').replace('\\"', '"').replace("\\n", " ")
        text = (f"at {time_at.group(1) if time_at else '?'}, {' '.join(query.split())} expected "
                f"{_short(exp.group(1)) if exp else '?'}, got {_short(got.group(1)) if got else '?'}")
        if not exp and not got:
            text = f"{' '.join(query.split())}: {_first_lines(chunk)}"
        found.setdefault((tag.group(1), tag.group(2)), []).append(text)
    return found or None


def _short(text: str) -> str:
    text = text.strip()
    return "no sample" if text == "nil" else text[:300]


def _first_lines(text: str, n: int = 4) -> str:
    return " | ".join(line.strip() for line in text.strip().splitlines()[:n] if line.strip())


def run_slo_tests(root: str, *, models: tuple[str, ...] = (), envs: tuple[str, ...] = (),
                  slos: tuple[str, ...] = (), promtool: str | None = None, keep: str | None = None,
                  progress: Progress | None = None) -> Result:
    """`mlgitops slo test`: the scenarios of every selected model environment (of the SLO ids in
    `slos` only, when given), graded by promtool; `progress(done, total)` counts the promtool runs
    (see run_promtool). An id no selected model environment has is a usage error."""
    start = time.monotonic()
    diags = Diagnostics()
    result = Result(diags)
    binary = find_promtool(promtool)
    if binary is None:
        what = f"'{promtool}' is not an executable" if promtool else "promtool not found on PATH"
        diags.error("promtool", 0, 0, "usage.promtool-missing", f"{what}: {INSTALL_HINT}, or pass --promtool PATH")
        return result
    config, selected = load_model_envs(root, models, envs, diags)
    if config is None or diags.has_errors:
        return result
    known = list(dict.fromkeys(slo_id for me in selected for slo_id in slo_ids(me)))
    for slo_id in slos:
        if slo_id not in known:
            diags.error(f"{MODELS_DIR}/", 0, 0, "usage.unknown-slo",
                        f"--slo {slo_id}: no selected model environment has this SLO (known: {', '.join(known) or 'none'})")
    if diags.has_errors:
        return result
    suites = []
    for me in selected:
        suite = build_suite(me, config, prometheus_rule(me, config), alerts_rule(me, config), only=slos)
        result.model_envs += 1
        result.slos += len(suite.slo_paths)
        if me.file.path not in result.files:
            result.files.append(me.file.path)
        suites.append((me, suite, _directory(keep, me)))
    try:
        jobs = []
        for _me, suite, directory in suites:
            for name, doc in suite.files.items():
                with open(os.path.join(directory.name, name), "w", encoding="utf-8") as fh:
                    yaml.safe_dump(doc, fh, sort_keys=False, width=1000)
            jobs += [(directory.name, name) for name in suite.test_files]
        runs = run_promtool(binary, jobs, progress) if jobs else {}
    finally:
        for _me, _suite, directory in suites:
            directory.cleanup()
    for me, suite, directory in suites:
        mine = {name: proc for (d, name), proc in runs.items() if d == directory.name}
        for outcome in grade(suite, mine):
            result.outcomes.append((me, outcome))
            _diagnose(me, suite, outcome, diags)
    result.seconds = time.monotonic() - start
    return result


def _diagnose(me: ModelEnv, suite: Suite, outcome: Outcome, diags: Diagnostics) -> None:
    sc = outcome.scenario
    line, col = me.position(sc.path or suite.slo_paths[sc.slo])
    subject = "operational alerts" if sc.path else f"SLO {sc.slo}"
    where = f"{me.name} ({me.env.name}) {subject}, scenario {sc.name}"
    if outcome.status == "failed":
        diags.error(me.file.path, line, col, "slo.scenario-failed",
                    f"{where} failed: {sc.summary}; promtool: {outcome.detail}")
    elif outcome.status == "skipped" and sc.skipped.startswith("custom source"):
        diags.add(Diagnostic(me.file.path, line, col, "slo.scenario-skipped", INFO,
                             f"{where} skipped: {sc.skipped}"))


class _directory:
    """A fresh temporary directory, or `keep/<model>-<env>` kept after the run."""

    def __init__(self, keep: str | None, me: ModelEnv) -> None:
        self.keep = keep
        if keep:
            self.name = os.path.join(keep, f"{me.name}-{me.env.name}")
            os.makedirs(self.name, exist_ok=True)
        else:
            self._tmp = tempfile.TemporaryDirectory(prefix="mlgitops-slo-")
            self.name = self._tmp.name

    def cleanup(self) -> None:
        if not self.keep:
            self._tmp.cleanup()
