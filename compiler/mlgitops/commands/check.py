"""`mlgitops check`: the CI gate (gate.py: build --check, render, validate, policy test and check)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..diagnostics import ERROR, WARNING
from . import Outcome, require_repo

if TYPE_CHECKING:
    from ..progress import Progress


def check(*, repo: str = ".", locations: tuple[str, ...] = (), kubernetes_version: str | None = None,
          strict_schemas: bool | None = None, policies: str | None = None,
          changed_since: str | None = None, progress: Progress | None = None) -> Outcome:
    """Every stage of the gate over the repository (only the changed models with `changed_since`);
    `progress(done, total, stage)` is told each stage as it starts."""
    from ..gate import run_gate

    require_repo(repo)
    result = run_gate(repo, locations=locations, kubernetes_version=kubernetes_version,
                      strict_schemas=strict_schemas, policies_dir=policies, changed_since=changed_since,
                      progress=progress)
    diags = result.diagnostics
    return Outcome("check", diags, summary={"stages": result.stages, "seconds": round(result.seconds, 3)},
                   rules=result.rules, files=result.files,
                   notes=[f"{stage}: {line}" for stage, line in result.stages.items()],
                   summary_line=f"check: {diags.count(ERROR)} error(s), {diags.count(WARNING)} warning(s) "
                                f"({result.seconds:.2f}s)")
