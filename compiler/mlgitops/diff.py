"""`mlgitops diff`: what will change in the cluster between a git revision and the working tree.

One job: render every overlay (`overlays/<env>/<model>/` holding a kustomization) and the Argo CD
objects (`argocd/`) twice, in the tree of the base revision (exported with real git into a
temporary directory: the working tree, index and HEAD are untouched) and in the working tree,
with the built-in kustomize engine; then compare them per (environment, model): models added,
changed and removed, and objects added, changed and removed (an object is its API group, kind,
namespace and name). Each object is printed as YAML with sorted keys, so key order is no noise;
generated-file headers are comments and never part of a rendered object.

A unit (one overlay, or `argocd/`) that fails to render in either tree is not compared: its
render error is a finding naming the file, so a broken overlay never shows up as "every object
removed".
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
import tempfile
import time
from typing import TYPE_CHECKING, Any, Collection

from . import layout
from .diagnostics import ERROR, WARNING, Diagnostic, Diagnostics

if TYPE_CHECKING:
    from .progress import Progress

ADDED, CHANGED, REMOVED, FAILED = "added", "changed", "removed", "error"
_STATUS_ORDER = {ADDED: 0, CHANGED: 1, REMOVED: 2, FAILED: 3}
ARGOCD_UNIT = layout.ARGOCD
# GitHub refuses comments over 65,536 characters; stay well below with the summary included.
MARKDOWN_MAX_CHARS = 60_000
MARKDOWN_MAX_LINES_PER_MODEL = 400

Identity = tuple[str, str, str, str]  # (group, kind, namespace, name)


@dataclasses.dataclass
class ObjectChange:
    status: str  # added, changed, removed
    api_version: str
    kind: str
    namespace: str
    name: str
    diff: str  # unified diff of the object's YAML (sorted keys)

    @property
    def label(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"

    def as_dict(self) -> dict:
        return {"status": self.status, "apiVersion": self.api_version, "kind": self.kind,
                "namespace": self.namespace, "name": self.name, "diff": self.diff}


@dataclasses.dataclass
class UnitChange:
    """One model in one environment (an overlay directory), or the Argo CD objects."""
    path: str  # repo-relative: overlays/<env>/<model>, or argocd
    env: str  # "" for argocd/
    model: str
    status: str  # added, changed, removed, error
    objects: list[ObjectChange] = dataclasses.field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.model} ({self.env})" if self.env else f"{self.model}/"

    def count(self, status: str) -> int:
        return sum(1 for o in self.objects if o.status == status)

    def kinds(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for o in self.objects:
            out.setdefault(o.kind, {ADDED: 0, CHANGED: 0, REMOVED: 0})[o.status] += 1
        return dict(sorted(out.items()))

    def diff(self) -> str:
        return "".join(o.diff for o in self.objects)

    def as_dict(self) -> dict:
        return {"path": self.path, "env": self.env, "model": self.model, "status": self.status,
                ADDED: self.count(ADDED), CHANGED: self.count(CHANGED), REMOVED: self.count(REMOVED),
                "kinds": self.kinds(), "objects": [o.as_dict() for o in self.objects]}


@dataclasses.dataclass
class DiffResult:
    base_ref: str  # what the user named (or "merge base of HEAD and main")
    base_commit: str  # full sha, "" when the base could not be resolved
    units: list[UnitChange]
    diagnostics: Diagnostics
    seconds: float = 0.0

    @property
    def has_changes(self) -> bool:
        return any(u.status != FAILED for u in self.units)

    def summary(self) -> dict:
        units = [u for u in self.units if u.status != FAILED]
        kinds: dict[str, dict[str, int]] = {}
        for u in units:
            for kind, counts in u.kinds().items():
                total = kinds.setdefault(kind, {ADDED: 0, CHANGED: 0, REMOVED: 0})
                for status, n in counts.items():
                    total[status] += n
        return {"models": {s: sum(1 for u in units if u.status == s) for s in (ADDED, CHANGED, REMOVED)},
                "objects": {s: sum(u.count(s) for u in units) for s in (ADDED, CHANGED, REMOVED)},
                "kinds": dict(sorted(kinds.items())),
                "failed": [u.path for u in self.units if u.status == FAILED]}

    def summary_line(self) -> str:
        s = self.summary()
        m, o = s["models"], s["objects"]
        if not self.has_changes:
            text = "no changes"
        else:
            text = (f"{m[ADDED]} model(s) added, {m[CHANGED]} changed, {m[REMOVED]} removed; "
                    f"objects: {o[ADDED]} added, {o[CHANGED]} changed, {o[REMOVED]} removed")
        if s["failed"]:
            text += f"; {len(s['failed'])} not compared (render errors)"
        return text


# --- git -----------------------------------------------------------------------------------------

class BaseError(Exception):
    """The base revision cannot be read (not a git repository, unknown ref): a usage error."""


def resolve_base(repo: str, base: str | None) -> tuple[str, str]:
    """(label, commit sha) of the base: `base` as given, else the merge base of HEAD with the
    default branch. Raises BaseError with a one-line message."""
    from . import git

    if git.toplevel(repo) is None:
        raise BaseError(f"{repo} is not inside a git work tree: mlgitops diff reads the base revision with git")
    try:
        if base:
            return base, git.resolve(base, repo)
        branch = git.default_branch(repo)
        return f"merge base of HEAD and {branch}", git.merge_base(branch, repo)
    except git.GitError as exc:
        raise BaseError(str(exc)) from None


# --- rendering -----------------------------------------------------------------------------------

def identity(obj: dict) -> Identity:
    api_version = obj.get("apiVersion")
    if not isinstance(api_version, str):
        api_version = ""
    metadata = obj.get("metadata")
    if not isinstance(metadata, dict):
        metadata = {}
    group = api_version.rpartition("/")[0]
    return (group, str(obj.get("kind") or ""), str(metadata.get("namespace") or ""), str(metadata.get("name") or ""))


def _overlay_dirs(root: str, diags: Diagnostics | None = None) -> list[str]:
    """Repo-relative overlays/<env>/<model> directories holding a (non-Component) kustomization.
    A directory that is a symbolic link leading outside the repository is not listed nor read:
    it is reported into `diags` (input.outside-repo)."""
    from . import contain
    from .validate.documents import _is_component, kustomization_file

    def contained(directory: str) -> bool:
        try:
            contain.resolve(root, directory)
            return True
        except contain.ContainmentError as exc:
            if diags is not None:
                diags.add(exc.diagnostic(os.path.relpath(directory, root).replace(os.sep, "/")))
            return False

    found: list[str] = []
    for overlay in layout.overlay_dirs(root, enter=contained):
        path = overlay.directory
        kust = kustomization_file(os.path.join(root, path))
        if kust and not _is_component(kust, root):
            found.append(path)
    return found


def render_tree(root: str, progress: Progress | None = None, what: str = "",
                ) -> tuple[dict[str, dict[Identity, dict]], Diagnostics, set[str]]:
    """Every unit of the tree at `root`: {unit path: {identity: object}}, the render and parse
    findings (files repo-relative), and the units that failed to render; `progress(done, total,
    what)` is told as each overlay is rendered."""
    from .kustomize.engine import render_objects
    from .kustomize.errors import RenderError
    from .validate.documents import collect

    units: dict[str, dict[Identity, dict]] = {}
    diags = Diagnostics()
    failed: set[str] = set()
    paths = _overlay_dirs(root, diags)
    for done, path in enumerate(paths, 1):
        if progress:
            progress(done, len(paths), what)
        try:
            objs = render_objects(os.path.join(root, path), repo_root=root)
        except RenderError as exc:
            diags.add(exc.diagnostic)
            failed.add(path)
            continue
        units[path] = _by_identity(objs)
    argocd = os.path.join(root, ARGOCD_UNIT)
    if os.path.isdir(argocd):
        inputs = collect([argocd], root)
        diags.extend(inputs.diagnostics)
        if inputs.diagnostics.has_errors:
            failed.add(ARGOCD_UNIT)
        else:
            units[ARGOCD_UNIT] = _by_identity([d.obj for d in inputs.documents])
    return units, diags, failed


def _by_identity(objs: list) -> dict[Identity, dict]:
    out: dict[Identity, dict] = {}
    for obj in objs:
        if not isinstance(obj, dict):
            continue
        key = identity(obj)
        if key in out:  # the same identity twice (two API versions): keep both, distinguishably
            n = 2
            while (*key[:3], f"{key[3]}#{n}") in out:
                n += 1
            key = (*key[:3], f"{key[3]}#{n}")
        out[key] = obj
    return out


# --- comparing -----------------------------------------------------------------------------------

def _yaml(obj: dict) -> list[str]:
    from .emit import dump

    return dump(obj, sort_keys=True).splitlines(keepends=True)


def _object_diff(unit: str, key: Identity, old: dict | None, new: dict | None, context: int) -> str:
    group, kind, namespace, name = key
    what = f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}"
    old_lines = _yaml(old) if old is not None else []
    new_lines = _yaml(new) if new is not None else []
    lines = list(difflib.unified_diff(old_lines, new_lines,
                                      fromfile=f"a/{unit}: {what}" if old is not None else "/dev/null",
                                      tofile=f"b/{unit}: {what}" if new is not None else "/dev/null",
                                      n=context))
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


def _split_unit(path: str) -> tuple[str, str]:
    """(env, model) of a unit overlays/<env>/<model>; ("", path) for argocd."""
    overlay = layout.parse_overlay(path)
    return (layout.env_dir(overlay.env, overlay.cluster), overlay.model) if overlay is not None else ("", path)


def _unit_order(path: str) -> tuple:
    env, model = _split_unit(path)
    return (0 if env else 1, model, env)


def compare(old: dict[str, dict[Identity, dict]], new: dict[str, dict[Identity, dict]],
            failed: Collection[str] = frozenset(), *, context: int = 3) -> list[UnitChange]:
    """The units that differ (and the failed ones, status error): by model, then environment;
    argocd/ last."""
    out = []
    for path in sorted(set(old) | set(new) | set(failed), key=_unit_order):
        env, model = _split_unit(path)
        if path in failed:
            out.append(UnitChange(path, env, model, FAILED))
            continue
        before, after = old.get(path), new.get(path)
        status = ADDED if before is None else REMOVED if after is None else CHANGED
        before, after = before or {}, after or {}
        objects = []
        for key in sorted(set(before) | set(after), key=lambda k: (k[1], k[2], k[3], k[0])):
            a, b = before.get(key), after.get(key)
            if a is not None and b is not None and _yaml(a) == _yaml(b):
                continue
            ostatus = ADDED if a is None else REMOVED if b is None else CHANGED
            obj = b if b is not None else a or {}
            objects.append(ObjectChange(ostatus, str(obj.get("apiVersion") or ""), key[1], key[2], key[3],
                                        _object_diff(path, key, a, b, context)))
        if objects or status != CHANGED:
            out.append(UnitChange(path, env, model, status, objects))
    return out


def run_diff(repo: str, base: str | None = None, *, context: int = 3, progress: Progress | None = None) -> DiffResult:
    """Compare the rendered objects of the base revision (default: the merge base of HEAD with the
    default branch) with the working tree at `repo`; `progress(done, total, tree)` is told as each
    overlay of either tree is rendered. Raises BaseError when git cannot read the base."""
    from . import git

    started = time.perf_counter()
    label, commit = resolve_base(repo, base)
    top = git.toplevel(repo) or repo
    inside = os.path.relpath(os.path.realpath(repo), os.path.realpath(top))
    diags = Diagnostics()
    with tempfile.TemporaryDirectory(prefix="mlgitops-diff-") as tmp:
        try:
            git.export_tree(commit, repo, tmp)
        except git.GitError as exc:
            raise BaseError(str(exc)) from None
        base_root = os.path.normpath(os.path.join(tmp, inside))
        old, old_diags, old_failed = (render_tree(base_root, progress, f"base revision {label}")
                                      if os.path.isdir(base_root)
                                      else ({}, Diagnostics(), set()))
    where = f"in the base revision ({label}, {commit[:12]})"
    for d in old_diags:
        diags.add(Diagnostic(d.file, d.line, d.column, d.rule, d.severity, f"{where}: {d.message}"))
    new, new_diags, new_failed = render_tree(repo, progress, "working tree")
    diags.extend(new_diags)
    units = compare(old, new, old_failed | new_failed, context=context)
    return DiffResult(label, commit, units, diags, time.perf_counter() - started)


# --- output --------------------------------------------------------------------------------------

def _kinds_cell(unit: UnitChange) -> str:
    parts = []
    for kind, counts in unit.kinds().items():
        marks = " ".join(f"{sign}{counts[s]}" for sign, s in (("+", ADDED), ("~", CHANGED), ("-", REMOVED))
                         if counts[s])
        parts.append(f"{kind} {marks}")
    return ", ".join(parts) if parts else ("render error" if unit.status == FAILED else "")


def _rows(result: DiffResult) -> list[list[str]]:
    return [[u.model + ("/" if not u.env else ""), u.env or "-", u.status, str(u.count(ADDED)),
             str(u.count(CHANGED)), str(u.count(REMOVED)), _kinds_cell(u)] for u in result.units]


_HEADER = ["MODEL", "ENV", "STATUS", "+", "~", "-", "KINDS"]


def _base_line(result: DiffResult) -> str:
    return f"base: {result.base_ref} ({result.base_commit[:12]}) -> working tree"


def format_text(result: DiffResult, *, color: bool = False) -> str:
    """The summary table, then each unit's unified diff (coloured when `color`)."""
    import click

    out = [f"mlgitops diff {_base_line(result)}\n"]
    if result.units:
        rows = [_HEADER, *_rows(result)]
        widths = [max(len(r[i]) for r in rows) for i in range(len(_HEADER) - 1)]
        for r in rows:
            out.append("  ".join(cell.ljust(w) for cell, w in zip(r, widths)) + "  " + r[-1] + "\n")
    out.append(result.summary_line() + "\n")
    for u in result.units:
        text = u.diff()
        if not text:
            continue
        out.append("\n")
        for line in text.splitlines(keepends=True):
            if color:
                if line.startswith(("---", "+++")):
                    line = click.style(line.rstrip("\n"), bold=True) + "\n"
                elif line.startswith("+"):
                    line = click.style(line.rstrip("\n"), fg="green") + "\n"
                elif line.startswith("-"):
                    line = click.style(line.rstrip("\n"), fg="red") + "\n"
                elif line.startswith("@@"):
                    line = click.style(line.rstrip("\n"), fg="cyan") + "\n"
            out.append(line)
    return "".join(out)


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _fence(text: str) -> str:
    longest, run = 0, 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    return "`" * max(3, longest + 1)


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def format_markdown(result: DiffResult, *, max_lines: int = MARKDOWN_MAX_LINES_PER_MODEL,
                    max_chars: int = MARKDOWN_MAX_CHARS) -> str:
    """A pull-request comment: the summary table on top, then one collapsed <details> block per
    model with its diff (each capped at `max_lines`; the whole comment at about `max_chars`)."""
    out = [f"### mlgitops diff\n\n`{_md_cell(result.base_ref)}` ({result.base_commit[:12]}) → working tree: "
           f"**{result.summary_line()}**\n"]
    errors = [d for d in result.diagnostics.sorted() if d.severity in (ERROR, WARNING)]
    if errors:
        out.append("\n**Render errors** (these models are not compared):\n\n")
        out.extend(f"- `{_md_cell(d.file)}{f':{d.line}' if d.line else ''}`: {_md_cell(d.message)} "
                   f"[{d.rule}]\n" for d in errors)
    if result.units:
        out.append("\n| Model | Env | Status | + | ~ | - | Kinds |\n|---|---|---|--:|--:|--:|---|\n")
        out.extend("| " + " | ".join(_md_cell(c) for c in row) + " |\n" for row in _rows(result))
    used = sum(len(part) for part in out)
    omitted = []
    for u in result.units:
        text = u.diff()
        if not text:
            continue
        lines = text.splitlines(keepends=True)
        note = ""
        if len(lines) > max_lines:
            note = (f"\n_Diff truncated: {len(lines) - max_lines} more line(s); run `mlgitops diff` "
                    f"locally for all of it._\n")
            lines = lines[:max_lines]
        body = "".join(lines)
        fence = _fence(body)
        summary = (f"{_html(u.label)}: +{u.count(ADDED)} ~{u.count(CHANGED)} -{u.count(REMOVED)}"
                   + ("" if u.status == CHANGED else f" (model {u.status})"))
        block = (f"\n<details><summary>{summary}</summary>\n\n{fence}diff\n{body}{fence}\n{note}\n"
                 f"</details>\n")
        if used + len(block) > max_chars:
            omitted.append(u.label)
            continue
        used += len(block)
        out.append(block)
    if omitted:
        out.append(f"\n_The comment is at its size limit: the diffs of {', '.join(omitted)} are left out; "
                   f"run `mlgitops diff` locally to see them._\n")
    return "".join(out)


def format_json(result: DiffResult) -> str:
    """The summary and every object change, for machines; deterministic."""
    data: dict[str, Any] = {
        "base": {"ref": result.base_ref, "commit": result.base_commit},
        "changes": result.has_changes,
        "summary": result.summary(),
        "models": [u.as_dict() for u in result.units],
        "errors": result.diagnostics.count(ERROR),
        "warnings": result.diagnostics.count(WARNING),
        "diagnostics": [d.as_dict() for d in result.diagnostics.sorted()],
    }
    return json.dumps(data, indent=2, sort_keys=True) + "\n"
