"""`mlgitops build --commit`: commit exactly the generated files a build changed.

One job, after a successful build: find the generated paths whose working-tree state differs
from HEAD (this build's writes and removals, and those an earlier plain `build` left
uncommitted), word a deterministic commit message from them (models and environments changed),
and commit only them under the build lock. The git plumbing is git.py's.
"""

from __future__ import annotations

import dataclasses
import os

from . import git, layout
from .buildcache import LockError, build_lock, tell_waiting
from .diagnostics import Diagnostics
from .overlays import GENERATED_MARK, OutsideRepoError, SyncResult, is_generated

SUBJECT_MAX = 72  # a longer first line is summarised; the body always lists every model


@dataclasses.dataclass
class CommitResult:
    sha: str | None  # None: nothing changed, no commit
    message: str
    paths: list[str]  # repo-relative generated paths in the commit (written and removed)
    changes: dict[str, list[str]]  # model -> environments whose overlay changed


def commit_preflight(root: str, diags: Diagnostics) -> bool:
    """Whether `build --commit` may run in `root`: inside a git work tree with nothing staged."""
    if git.toplevel(root) is None:
        diags.error(".", 0, 0, "usage.not-git",
                    f"--commit: {root} is not inside a git work tree (run 'git init' or drop --commit)")
        return False
    try:
        staged = git.staged_paths(root)
    except git.GitError as exc:
        diags.error(".", 0, 0, "build.git", str(exc))
        return False
    if staged:
        shown = ", ".join(staged[:5]) + (f" and {len(staged) - 5} more" if len(staged) > 5 else "")
        diags.error(staged[0], 0, 0, "build.index-dirty",
                    f"--commit: the git index already holds staged changes ({shown}); commit or unstage them "
                    "first ('git restore --staged PATH'), so the mlgitops commit holds only generated files")
        return False
    return True


def changed_generated(root: str, sync: SyncResult, models: tuple[str, ...] = (),
                      envs: tuple[str, ...] = ()) -> list[str]:
    """Generated paths (repo-relative) whose working-tree state differs from HEAD: this build's
    written and removed files plus those an earlier plain `build` left uncommitted. A file counts as
    generated when it carries the generated header now or (deleted) carried it in HEAD."""
    prefix = git.git(["rev-parse", "--show-prefix"], root).strip()
    try:
        git.resolve("HEAD", root)
        changed = git.changed_paths("HEAD", root)
        head = True
    except git.GitError:  # no commit yet: everything not ignored is new
        changed = sorted(set(git.git(["ls-files", "--cached", "--others", "--exclude-standard"],
                                     git.toplevel(root) or root).splitlines()))
        head = False
    in_scope = layout.selection(models, envs)
    found = set(sync.written) | set(sync.removed)
    for path in changed:
        if not path.startswith(prefix):
            continue
        rel = path[len(prefix):]
        if rel.split("/", 1)[0] not in layout.GENERATED_ROOTS or not in_scope(rel) or rel in found:
            continue
        if os.path.lexists(os.path.join(root, rel)):
            if is_generated(os.path.join(root, rel)):
                found.add(rel)
        elif head:
            try:
                old = git.git(["cat-file", "blob", f"HEAD:{path}"], root)
            except git.GitError:
                continue
            if old.startswith(GENERATED_MARK):
                found.add(rel)
    return sorted(found)


def commit_message(root: str, paths: list[str], subject: str | None = None) -> tuple[str, dict[str, list[str]]]:
    """The deterministic commit message for these changed generated paths, and model -> envs."""
    changes: dict[str, set[str]] = {}
    shared: list[str] = []
    for rel in paths:
        overlay = layout.overlay_of_file(rel)
        if overlay is not None:
            changes.setdefault(overlay.model, set()).add(layout.env_dir(overlay.env, overlay.cluster))
        else:
            shared.append(rel)
    ordered = {name: sorted(changes[name]) for name in sorted(changes)}
    if subject is None:
        listed = ", ".join(f"{name} ({', '.join(envs)})" for name, envs in ordered.items())
        if shared and not ordered:
            listed = "shared output (" + ", ".join(sorted({p.split("/")[0] for p in shared})) + ")"
        subject = f"mlgitops build: {listed}"
        if len(subject) > SUBJECT_MAX:
            # environments, not a cluster's own overlays (<env>@<cluster>, which the body lists)
            environments = sorted({e.partition(layout.CLUSTER_SEPARATOR)[0] for envs in ordered.values() for e in envs})
            subject = (f"mlgitops build: {len(ordered)} models in {len(environments)} environments "
                       f"({', '.join(environments)})")
            if len(subject) > SUBJECT_MAX:
                subject = f"mlgitops build: {len(ordered)} models in {len(environments)} environments"
    # A multi-line -m: its first non-blank line is the subject, the rest (blank lines around it
    # and trailing spaces dropped) the user's body, kept ahead of the generated listing.
    given = [line.rstrip() for line in subject.strip().splitlines()]
    lines = [given[0] if given else "mlgitops build", ""]
    body = "\n".join(given[1:]).strip("\n")
    if body:
        lines += [*body.split("\n"), ""]
    lines.append("Generated by 'mlgitops build --commit'; do not edit these files by hand.")
    if ordered:
        lines += ["", "Models and environments changed:"]
        for name, envs_of in ordered.items():
            gone = [e for e in envs_of if not os.path.isdir(os.path.join(root, layout.OVERLAYS, e, name))]
            note = f" (removed from {', '.join(gone)})" if gone else ""
            lines.append(f"  {name}: {', '.join(envs_of)}{note}")
    if shared:
        lines += ["", "Shared output changed:"] + [f"  {rel}" for rel in shared]
    removed = sum(1 for rel in paths if not os.path.lexists(os.path.join(root, rel)))
    lines += ["", f"Files: {len(paths) - removed} written, {removed} removed."]
    return "\n".join(lines) + "\n", ordered


def commit_build(root: str, sync: SyncResult, *, subject: str | None = None, models: tuple[str, ...] = (),
                 envs: tuple[str, ...] = ()) -> CommitResult:
    """Stage exactly the changed generated paths and commit them; sha None when nothing changed.
    Raises git.GitError when git fails."""
    try:
        with build_lock(root, waiting=tell_waiting):  # no other build rewrites what is being committed
            paths = changed_generated(root, sync, models, envs)
            message, changes = commit_message(root, paths, subject)
            if not paths:
                return CommitResult(None, message, [], {})
            sha = git.commit_paths(paths, message, root)
    except (LockError, OutsideRepoError) as exc:
        raise git.GitError(exc.message) from exc
    return CommitResult(sha, message, paths if sha else [], changes if sha else {})
