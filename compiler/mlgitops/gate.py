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
import re
import time
from typing import Any

from . import contain
from .config import CONFIG_FILE, load_config
from .diagnostics import Diagnostics


@dataclasses.dataclass
class GateReport:
    diagnostics: Diagnostics
    stages: dict[str, str] = dataclasses.field(default_factory=dict)  # stage -> its summary line
    files: list[str] = dataclasses.field(default_factory=list)
    seconds: float = 0.0


# Paths (relative to the repository root) whose change can change every model's output or checks.
GLOBAL_PATHS = (CONFIG_FILE, "base/", "argocd/", "policies/", "schemas/", "compiler/", "pyproject.toml")


@dataclasses.dataclass
class ChangedScope:
    """What `check --changed-since REF` has to check."""
    ref: str
    everything: bool  # a shared input changed: check the whole repository
    reason: str  # why everything, or '' (the first shared path that changed)
    models: list[str] = dataclasses.field(default_factory=list)  # changed model names (some maybe deleted)
    paths: list[str] = dataclasses.field(default_factory=list)  # every changed path under the repository


def changed_scope(repo: str, ref: str, policies_dir: str | None = None) -> ChangedScope:
    """The models whose files changed between REF and the working tree (git.changed_paths), or
    everything when the config, base/, argocd/, policies/, schemas/ or the compiler changed.
    A changed generated file overlays/<env>/<model>/... counts as a change of <model>.
    Raises git.GitError (not a git work tree, unknown REF)."""
    from . import git

    if git.toplevel(repo) is None:
        raise git.GitError(f"--changed-since: {repo} is not inside a git work tree")
    git.resolve(ref, repo)
    prefix = git.git(["rev-parse", "--show-prefix"], repo).strip()
    paths = [p[len(prefix):] for p in git.changed_paths(ref, repo) if p.startswith(prefix)]
    shared = list(GLOBAL_PATHS)
    if policies_dir:
        rel = os.path.relpath(os.path.abspath(policies_dir), os.path.abspath(repo)).replace(os.sep, "/")
        if not rel.startswith("../"):
            shared.append(rel.rstrip("/") + "/")
    scope = ChangedScope(ref, False, "", paths=paths)
    models: set[str] = set()
    for rel in paths:
        hit = next((s for s in shared if rel == s.rstrip("/") or (s.endswith("/") and rel.startswith(s))), None)
        if hit:
            scope.everything, scope.reason = True, rel
            break
        parts = rel.split("/")
        if parts[0] == "models" and len(parts) == 2 and parts[1].endswith((".yaml", ".yml")):
            models.add(os.path.splitext(parts[1])[0])
        elif parts[0] == "overlays" and len(parts) >= 4:
            models.add(parts[2])
    scope.models = sorted(models)
    return scope


def _tests_mention(directory: str, models: list[str], repo: str = ".") -> bool:
    """Whether a policy test case under `directory` reads the output of one of `models`
    (names a path overlays/<env>/<model>)."""
    pattern = re.compile(r"overlays/[^/\s'\"]+/(" + "|".join(re.escape(m) for m in models) + r")(?![\w.-])")
    root = contain.trusted_root(repo, directory)
    try:
        contain.resolve(root, directory)
    except contain.ContainmentError:
        return True  # run the tests: reading them reports the link
    for dirpath, _, filenames in os.walk(directory):
        for name in sorted(filenames):
            if name.endswith((".yaml", ".yml")):
                try:
                    raw = contain.read_bytes(root, os.path.join(dirpath, name), "policy-test")
                except (OSError, contain.ContainmentError):
                    return True  # unreadable: run the tests, they report it
                if pattern.search(raw.decode("utf-8", errors="replace")):
                    return True
    return False


def run_gate(repo: str, **options: Any) -> GateReport:
    """Every stage over the repository at `repo` (options: see _run_gate), holding the build lock
    shared for the whole run, so build --check, validate and policy check all read one tree: a
    build started meanwhile waits for the gate, and the gate for a build already running."""
    from .buildcache import LockError, build_lock
    from .overlays import OutsideRepoError
    from .pipeline import tell_waiting

    try:
        with build_lock(repo, shared=True, waiting=tell_waiting):
            return _run_gate(repo, **options)
    except (LockError, OutsideRepoError) as exc:
        report = GateReport(Diagnostics())
        report.diagnostics.error(exc.rel, 0, 0, getattr(exc, "rule", "build.locked"), exc.message)
        return report


def _run_gate(repo: str, *, locations: tuple = (), kubernetes_version: str | None = None,
              strict_schemas: bool | None = None, policies_dir: str | None = None,
              changed_since: str | None = None) -> GateReport:
    """Every stage over the repository at `repo`; `locations`.. as `mlgitops validate` takes them.

    With `changed_since` (a git ref), only the models whose files changed since then are checked
    (see changed_scope); everything when a shared input changed."""
    from .pipeline import build
    from .policy.check import check as policy_check
    from .policy.testing import run_tests
    from .validate.run import settings_from, validate

    started = time.perf_counter()
    diags = Diagnostics()
    report = GateReport(diags)

    scope = None
    if changed_since is not None:
        from .git import GitError

        try:
            scope = changed_scope(repo, changed_since, policies_dir)
        except GitError as exc:
            diags.error(".", 0, 0, "usage.git", str(exc))
            return report
        if scope.everything:
            report.stages["changed"] = f"{scope.reason} changed since {changed_since}: checking everything"
            scope = None
        elif not scope.models:
            report.stages["changed"] = f"no model changed since {changed_since}: nothing to check"
            report.seconds = time.perf_counter() - started
            return report
        else:
            shown = ", ".join(scope.models[:10]) + (f" and {len(scope.models) - 10} more"
                                                    if len(scope.models) > 10 else "")
            report.stages["changed"] = f"{len(scope.models)} models changed since {changed_since}: {shown}"
    selected = tuple(scope.models) if scope else ()

    built = build(repo, check=True, models=selected, changed_only=bool(selected))
    diags.extend(built.diagnostics)
    sync = built.sync
    state = ("up to date" if not sync.drift else
             f"{len(sync.missing)} missing, {len(sync.stale)} stale, {len(sync.extra)} extra") if sync else "not checked"
    what = f"{len(selected)} of {len(built.models)} models" if selected else f"{len(built.models)} models"
    report.stages["build"] = f"{what}, {len(built.overlays)} overlays: {state}"
    targets: list[str] = []
    if selected:
        overlays_dir = os.path.join(repo, "overlays")
        envs = sorted(os.listdir(overlays_dir)) if os.path.isdir(overlays_dir) else []
        targets = [os.path.join(overlays_dir, env, model) for env in envs for model in selected
                   if os.path.isdir(os.path.join(overlays_dir, env, model))]

    config: Any = None
    if os.path.isfile(os.path.join(repo, CONFIG_FILE)):
        config = load_config(repo, Diagnostics())  # its problems are build's findings already
    settings = settings_from(config, locations=locations, kubernetes_version=kubernetes_version,
                             strict_schemas=strict_schemas)
    inputs = None
    if selected and not targets:
        report.stages["validate"] = "no overlay of the changed models left: nothing to validate"
        report.stages["policy check"] = "no overlay of the changed models left: nothing to check"
    else:
        from .validate.documents import collect, default_paths

        # read (and render) every input once, for validate and for policy check
        inputs = collect(targets or default_paths(repo), repo, strict=settings.strict,
                         max_file_bytes=settings.max_file_bytes)
        validated = validate(targets, repo, settings, config=config, inputs=inputs)
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
        if not selected or _tests_mention(os.path.join(directory, "tests"), list(selected), repo):
            tested = run_tests(directory, repo)
            diags.extend(tested.diagnostics)
            report.stages["policy test"] = tested.summary_line()
        else:
            report.stages["policy test"] = "policies unchanged and no test case reads a changed model: skipped"
        if selected and not targets:
            report.seconds = time.perf_counter() - started
            return report
        checked = policy_check(targets, repo, directory, inputs=inputs)
        diags.extend(checked.diagnostics)
        report.stages["policy check"] = checked.summary_line()
    else:
        report.stages["policies"] = f"no policy directory {directory}: no policy was checked"
    report.seconds = time.perf_counter() - started
    return report
