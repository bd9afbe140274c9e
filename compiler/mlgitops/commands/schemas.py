"""`mlgitops schemas import` and `schemas pull`: JSON schemas of custom resources (validate/)."""

from __future__ import annotations

import os

from .. import layout
from ..diagnostics import ERROR
from . import Outcome, require_repo


def _output_dir(repo: str, output_dir: str) -> str:
    require_repo(repo)
    return output_dir if os.path.isabs(output_dir) else os.path.join(repo, output_dir)


def _nothing_written(outcome: Outcome) -> Outcome:
    if outcome.diagnostics.has_errors:
        outcome.summary_line = f"{outcome.diagnostics.count(ERROR)} error(s); nothing was written"
    return outcome


def schemas_import(crds: tuple[str, ...], *, output_dir: str = "schemas", repo: str = ".") -> Outcome:
    """Convert CustomResourceDefinitions into schemas in `output_dir` (relative to `repo`)."""
    from ..validate.crdimport import import_crds

    out = _output_dir(repo, output_dir)
    result = import_crds(list(crds), out, repo)
    outcome = Outcome("schemas import", result.diagnostics, files=crds,
                      summary={"output_dir": out, "schemas": len(result.schemas), "written": result.written},
                      summary_line=f"imported {len(result.schemas)} schema(s) into {out}: "
                                   f"{len(result.written)} file(s) written")
    return _nothing_written(outcome)


def schemas_pull(resources: tuple[str, ...], *, template: str | None = None, output_dir: str = "schemas",
                 repo: str = ".") -> Outcome:
    """Fetch the schemas of `resources` (default: every custom kind without one) into `output_dir`."""
    from ..validate.pull import DEFAULT_TEMPLATE, pull_schemas

    out = _output_dir(repo, output_dir)
    result = pull_schemas(list(resources), out, repo, template or DEFAULT_TEMPLATE)
    if not result.resources:
        line = (f"nothing to pull: every custom resource in {os.path.join(repo, layout.OVERLAYS)} "
                f"has a schema in {out}")
    else:
        line = f"pulled {len(result.schemas)} schema(s) into {out}: {len(result.written)} file(s) written"
    outcome = Outcome("schemas pull", result.diagnostics,
                      summary={"output_dir": out, "schemas": len(result.schemas), "written": result.written},
                      summary_line=line)
    return _nothing_written(outcome)
