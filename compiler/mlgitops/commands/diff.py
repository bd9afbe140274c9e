"""`mlgitops diff`: the rendered objects of a git revision against the working tree (diff.py)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from ..diagnostics import ERROR, Diagnostic, Diagnostics
from . import exit_code, require_repo

if TYPE_CHECKING:
    from ..diff import DiffResult
    from ..progress import Progress


@dataclasses.dataclass
class DiffOutcome:
    diagnostics: Diagnostics  # render errors, or (usage.git) a base revision git cannot read
    result: DiffResult | None = None  # None on a usage error
    fail_on_changes: bool = False

    @property
    def exit_code(self) -> int:
        changes = self.result is not None and self.result.has_changes
        return exit_code(self.diagnostics, differs=self.fail_on_changes and changes)


def diff(*, repo: str = ".", base: str | None = None, context: int = 3, fail_on_changes: bool = False,
         progress: Progress | None = None) -> DiffOutcome:
    """Compare the rendered objects of `base` (default: the merge base with the default branch)
    with the working tree; `fail_on_changes`: any difference is exit 1; `progress(done, total,
    tree)` is told as each overlay is rendered."""
    from ..diff import BaseError, run_diff

    require_repo(repo)
    try:
        result = run_diff(repo, base, context=context, progress=progress)
    except BaseError as exc:
        return DiffOutcome(Diagnostics([Diagnostic(".", 0, 0, "usage.git", ERROR, str(exc))]))
    return DiffOutcome(result.diagnostics, result, fail_on_changes)
