"""`mlgitops build`: the build pipeline (pipeline.py), then with --commit the commit (commit.py)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, TypedDict

from ..diagnostics import ERROR, WARNING, Diagnostics
from . import Outcome, UsageError, require_repo

if TYPE_CHECKING:
    from ..pipeline import Progress


class CommitSummary(TypedDict):
    sha: str | None
    message: str
    paths: list[str]
    models: dict[str, list[str]]


class BuildSummary(TypedDict, total=False):
    check: bool
    models: int
    overlays: int
    seconds: float
    written: list[str]
    removed: list[str]
    unchanged: int
    missing: list[str]
    stale: list[str]
    extra: list[str]
    commit: CommitSummary | None


def build(repo: str, *, check: bool = False, models: tuple[str, ...] = (), envs: tuple[str, ...] = (),
          use_cache: bool = True, commit: bool = False, message: str | None = None,
          progress: Progress | None = None) -> Outcome:
    """Build (or with `check` compare) the generated tree; with `commit`, commit what changed.
    `progress(done, total)` is told how far loading the models is."""
    from .. import pipeline
    from ..config import CONFIG_FILE
    from ..spec.model import list_model_files

    require_repo(repo)
    if message is not None and not commit:
        raise UsageError("-m/--message needs --commit")
    if commit and check:
        raise UsageError("--commit and --check exclude each other (--check writes nothing to commit)")
    if commit and message is not None and not message.strip():
        raise UsageError("-m/--message: the commit subject is empty")
    if commit:  # git is only imported for --commit
        from ..commit import commit_build, commit_preflight
        from ..git import GitError

        refused = Diagnostics()
        if not commit_preflight(repo, refused):
            return Outcome("build", refused, summary=BuildSummary(check=False, commit=None),
                           summary_line="nothing was built or committed")
    started = time.perf_counter()
    result = pipeline.build(repo, models=models, envs=envs, check=check, use_cache=use_cache, progress=progress)
    committed = None
    if commit and result.sync is not None and not result.diagnostics.has_errors:
        try:
            committed = commit_build(repo, result.sync, subject=message, models=models, envs=envs)
        except GitError as exc:
            result.diagnostics.error(".", 0, 0, "build.git", f"--commit: {exc}")
    diags = result.diagnostics
    elapsed = time.perf_counter() - started
    sync = result.sync
    summary = BuildSummary(check=check, models=len(result.models), overlays=len(result.overlays),
                           seconds=round(elapsed, 3))
    if sync:
        summary.update(BuildSummary(written=sync.written, removed=sync.removed, unchanged=sync.unchanged,
                                    missing=sync.missing, stale=sync.stale, extra=sync.extra))
    if commit:
        summary["commit"] = None if committed is None else CommitSummary(
            sha=committed.sha, message=committed.message, paths=committed.paths, models=committed.changes)
    notes = []
    if sync and check:
        state = "up to date" if not sync.drift else \
            f"{len(sync.missing)} missing, {len(sync.stale)} stale, {len(sync.extra)} extra"
        notes.append(f"checked {len(result.models)} models, {len(result.overlays)} overlays: {state} "
                     f"({elapsed:.2f}s)")
    elif sync:
        notes.append(f"built {len(result.models)} models, {len(result.overlays)} overlays: "
                     f"{len(sync.written)} written, {len(sync.removed)} removed, {sync.unchanged} unchanged "
                     f"({elapsed:.2f}s)")
    if committed is not None and committed.sha:
        notes.append(f"committed {committed.sha[:12]}: {committed.message.splitlines()[0]} "
                     f"({len(committed.paths)} generated files)")
    elif committed is not None:
        notes.append("no generated file changed: nothing to commit")
    if diags.count(ERROR):
        notes.append(f"{diags.count(ERROR)} error(s), {diags.count(WARNING)} warning(s); "
                     + ("nothing was committed" if commit and sync is not None else "nothing was written"))
    return Outcome("build", diags, summary=summary, files=[CONFIG_FILE, *list_model_files(repo)], notes=notes)
