"""`mlgitops check`: the CI gate, every check of the repository in one run and one report.

One job: run the stages in order and collect their findings: model files valid and generated
output up to date (`build --check`), every overlay renders and every object passes schema
validation and reference checks (`validate`), the policy test cases pass (`policy test`) and every
object passes the policies (`policy check`). A stage that finds problems does not stop the later
ones, so one run shows everything wrong. Each stage contributes a one-line summary.
"""

from __future__ import annotations

import dataclasses
import os
import time
from typing import Any

from .config import CONFIG_FILE, load_config
from .diagnostics import Diagnostics


@dataclasses.dataclass
class GateReport:
    diagnostics: Diagnostics
    stages: dict[str, str] = dataclasses.field(default_factory=dict)  # stage -> its summary line
    files: list[str] = dataclasses.field(default_factory=list)
    seconds: float = 0.0


def run_gate(repo: str, *, locations: tuple = (), kubernetes_version: str | None = None,
             strict_schemas: bool | None = None, policies_dir: str | None = None) -> GateReport:
    """Every stage over the repository at `repo`; `locations`.. as `mlgitops validate` takes them."""
    from .pipeline import build
    from .policy.check import check as policy_check
    from .policy.testing import run_tests
    from .validate.run import settings_from, validate

    started = time.perf_counter()
    diags = Diagnostics()
    report = GateReport(diags)

    built = build(repo, check=True)
    diags.extend(built.diagnostics)
    sync = built.sync
    state = ("up to date" if not sync.drift else
             f"{len(sync.missing)} missing, {len(sync.stale)} stale, {len(sync.extra)} extra") if sync else "not checked"
    report.stages["build"] = f"{len(built.models)} models, {len(built.overlays)} overlays: {state}"

    config: Any = None
    if os.path.isfile(os.path.join(repo, CONFIG_FILE)):
        config = load_config(repo, Diagnostics())  # its problems are build's findings already
    settings = settings_from(config, locations=locations, kubernetes_version=kubernetes_version,
                             strict_schemas=strict_schemas)
    validated = validate([], repo, settings, config=config)
    diags.extend(validated.diagnostics)
    report.stages["validate"] = validated.summary_line()
    report.files = sorted({r.doc.file for r in validated.results})

    directory = policies_dir or os.path.join(repo, "policies")
    if os.path.isdir(directory):
        from .policy.waivers import today

        try:
            today()
        except ValueError as exc:  # a malformed MLGITOPS_TODAY
            diags.error("MLGITOPS_TODAY", 0, 0, "usage.today", str(exc))
            return report
        tested = run_tests(directory, repo)
        diags.extend(tested.diagnostics)
        report.stages["policy test"] = tested.summary_line()
        checked = policy_check([], repo, directory)
        diags.extend(checked.diagnostics)
        report.stages["policy check"] = checked.summary_line()
    else:
        report.stages["policies"] = f"no policy directory {directory}: no policy was checked"
    report.seconds = time.perf_counter() - started
    return report
