"""`mlgitops check`: the CI gate, every check of the repository in one run and one report.

One job: run the stages in order and collect their findings. The stages, top to bottom (each a
function below, composed by `_run_gate`):

    scope     --changed-since REF: the models whose files changed (or everything)
    build     model files valid, generated output up to date: pipeline.build(check=True), that is
              load -> check spec -> expand -> compare (pipeline.py)
    render    every overlay rendered and every other input read, once for the stages after it
              (validate.documents.collect; the renderer is validate/render.py)
    validate  every object passes its schema, references resolve (validate/run.py)
    policy    the policy test cases pass, every object passes the policies (policy/)

Where the build compiles many models (a full check), each model's overlays are rendered, validated
and checked against the policies right after it is compiled, in the same worker process, and every
generated file on disk that is byte-identical to what the compile wrote is read as the compiled
objects instead of being parsed again (kustomize/emitted.py, loader.offer): the render stage then
takes those results and renders only what is left (a cluster's overlay that refers to its
environment's, stale files, argocd/). The report is the same either way.

A stage that finds problems does not stop the later ones, so one run shows everything wrong.
Each stage contributes a one-line summary.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import threading
import time
from typing import TYPE_CHECKING, Any, Callable

from . import contain, layout
from .config import CONFIG_FILE, load_config
from .diagnostics import Diagnostics
from .pool import Background, in_background

if TYPE_CHECKING:
    from .policy.check import Checker
    from .policy.load import PolicySet
    from .policy.testing import TestReport
    from .progress import Progress
    from .validate.documents import Inputs
    from .validate.run import Settings


@dataclasses.dataclass
class GateReport:
    diagnostics: Diagnostics
    stages: dict[str, str] = dataclasses.field(default_factory=dict)  # stage -> its summary line
    rules: dict[str, str] = dataclasses.field(default_factory=dict)  # policy.<name>: description (SARIF)
    files: list[str] = dataclasses.field(default_factory=list)
    seconds: float = 0.0


# The stages a full run goes through, as `progress(done, len(STAGES), stage)` is told before each.
STAGES = ("build", "render", "validate", "policy test", "policy check")


def _tell(progress: Progress | None, stage: str, detail: str = "") -> None:
    if progress is not None:
        progress(STAGES.index(stage) + 1, len(STAGES), f"{stage}: {detail}" if detail else stage)


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
    from . import git  # (imported by scope_stage already, when it runs this in a thread)

    top = git.toplevel(repo)
    if top is None:
        raise git.GitError(f"--changed-since: {repo} is not inside a git work tree")
    sha = git.resolve(ref, repo)
    prefix = git.git(["rev-parse", "--show-prefix"], repo).strip()
    paths = [p[len(prefix):] for p in git.changed_paths(ref, repo, sha=sha, top=top) if p.startswith(prefix)]
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
        overlay = layout.overlay_of_file(rel)
        if parts[0] == "models" and len(parts) == 2 and parts[1].endswith((".yaml", ".yml")):
            models.add(os.path.splitext(parts[1])[0])
        elif overlay is not None:
            models.add(overlay.model)
    scope.models = sorted(models)
    return scope


def _tests_mention(directory: str, models: list[str], repo: str = ".") -> bool:
    """Whether a policy test case under `directory` reads the output of one of `models`
    (names a path overlays/<env>/<model>)."""
    pattern = layout.mentions(models)
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
    from .buildcache import LockError, build_lock, tell_waiting
    from .overlays import OutsideRepoError

    try:
        with build_lock(repo, shared=True, waiting=tell_waiting):
            return _run_gate(repo, **options)
    except (LockError, OutsideRepoError) as exc:
        report = GateReport(Diagnostics())
        report.diagnostics.error(exc.rel, 0, 0, getattr(exc, "rule", "build.locked"), exc.message)
        return report


def _run_gate(repo: str, *, locations: tuple[str, ...] = (), kubernetes_version: str | None = None,
              strict_schemas: bool | None = None, policies_dir: str | None = None,
              changed_since: str | None = None, progress: Progress | None = None) -> GateReport:
    """Every stage over the repository at `repo`; `locations`.. as `mlgitops validate` takes them;
    `progress` is told each stage as it starts (see STAGES).

    With `changed_since` (a git ref), only the models whose files changed since then are checked
    (see changed_scope); everything when a shared input changed."""
    started = time.perf_counter()
    report = GateReport(Diagnostics())
    selected: tuple[str, ...] = ()
    if changed_since is not None:
        scoped = scope_stage(repo, changed_since, policies_dir, report)
        if scoped is None:
            if not report.diagnostics:  # nothing changed (not a usage error)
                report.seconds = time.perf_counter() - started
            return report
        selected = scoped

    _tell(progress, "build")
    directory = policies_dir or os.path.join(repo, "policies")
    options = dict(locations=locations, kubernetes_version=kubernetes_version, strict_schemas=strict_schemas)
    tests: Background[TestReport] | None = None  # the policy tests when started early
    if selected and len(selected) <= BACKGROUND_MAX_MODELS:
        try:
            _checked_today(directory, report)  # before anything starts
        except ValueError:  # a malformed MLGITOPS_TODAY: reported, the gate stops
            return report
        front = in_background(lambda: _front_detached(repo, selected, options))
        setup = GateReport(Diagnostics())
        checker = policy_setup(repo, directory, locations, setup, type_check=False)  # meanwhile
        if checker is not None:
            checker.prepare(lambda: not front.ready())  # what evaluating needs, until the documents come
        part, targets, rendered = front()
        _merge(report, part, setup)
        if rendered is not None and checker is not None:
            docs = rendered.inputs.documents
            rendered.policy.append(checker.evaluator(docs)(docs))
    else:
        setup = GateReport(Diagnostics())
        try:
            checker = policy_setup(repo, directory, locations, setup, type_check=not selected)
        except ValueError:  # a malformed MLGITOPS_TODAY: reported after the build's findings, the gate stops
            build_stage(repo, selected, report)
            report.diagnostics.extend(setup.diagnostics)
            return report
        # The policy test cases read the policies and the overlays on disk, which the check never
        # writes: they run in a forked process from here, beside the build's fork pool, instead of
        # one core's second after it (a whole check is CPU bound on every core).
        tests = (in_background(lambda: run_policy_tests(repo, directory, locations, checker.pset))
                 if checker is not None and not selected else None)
        renderer = _Renderer(repo, options, checker)
        targets = build_stage(repo, selected, report, renderer=renderer, progress=progress)
        report.diagnostics.extend(setup.diagnostics)
        report.stages.update(setup.stages)
        rendered = _front(repo, selected, targets, options, checker, report, progress, renderer=renderer)
    if checker is not None:
        policy_test_stage(repo, directory, selected, report, locations=locations, progress=progress,
                          policies=checker.pset, started=tests)
        if rendered is not None:
            _tell(progress, "policy check")
            policy_check_stage(targets, checker, rendered, report)
    report.seconds = time.perf_counter() - started
    return report


# A check of at most this many changed models builds, renders and validates them in a forked
# process while this one loads the policies (two cores: the two take about as long); more models
# render in the fork pool, with the policies evaluated where each overlay is rendered.
BACKGROUND_MAX_MODELS = 8


def _front(repo: str, selected: tuple[str, ...], targets: list[str], options: dict, checker: Checker | None,
           report: GateReport, progress: Progress | None, *, keep_documents: bool = False,
           renderer: _Renderer | None = None) -> Rendered | None:
    """The render and validate stages after the build stage made `targets` (and, with `renderer`,
    rendered what it could where it compiled); None when the changed models left no overlay."""
    from .validate.documents import default_paths

    if renderer is None:
        renderer = _Renderer(repo, options, checker, keep_documents=keep_documents)
    if selected and not targets:
        report.stages["validate"] = "no overlay of the changed models left: nothing to validate"
        report.stages["policy check"] = "no overlay of the changed models left: nothing to check"
        return None
    _tell(progress, "render")
    rendered = render_stage(targets or default_paths(repo), repo, renderer)
    _tell(progress, "validate")
    validate_stage(targets, repo, rendered, report)
    return rendered


def _front_detached(repo: str, selected: tuple[str, ...], options: dict
                    ) -> tuple[GateReport, list[str], Rendered | None]:
    """Build, render and validate the changed models (in_background: no progress, no output),
    keeping the rendered documents for the policies; what goes back is picklable."""
    part = GateReport(Diagnostics())
    targets = build_stage(repo, selected, part)
    rendered = _front(repo, selected, targets, options, None, part, None, keep_documents=True)
    if rendered is not None:
        rendered.validator = None  # compiled schemas: done with, and they do not pickle
        rendered.validation = []
        rendered.inputs.results = []
    return part, targets, rendered


def _merge(report: GateReport, part: GateReport, setup: GateReport) -> None:
    """The stages run in the background (build first) and the policy setup's, in the order of a
    run without the background process."""
    report.diagnostics.extend(part.diagnostics)
    report.diagnostics.extend(setup.diagnostics)
    stages = dict(part.stages)
    report.stages["build"] = stages.pop("build")
    report.stages.update(setup.stages)
    report.stages.update(stages)
    report.files = part.files


def _checked_today(directory: str, report: GateReport) -> None:
    """Raise ValueError, reported, for a malformed MLGITOPS_TODAY when policies will be checked."""
    from .policy.waivers import today

    if not os.path.isdir(directory):
        return
    try:
        today()
    except ValueError as exc:
        report.diagnostics.error("MLGITOPS_TODAY", 0, 0, "usage.today", str(exc))
        raise


# What the stages after the scope import (build, render and validate in the background process,
# the source map findings are located with in this one), those both processes need first:
# imported while git works out what changed (scope_stage), the forked process starts with them.
_STAGE_MODULES = (".validate.sourcemap", ".validate.run", ".pipeline", ".rules", ".validate.documents",
                  ".validate.registry", ".validate.references", ".validate.render", ".kustomize.engine")


def _import_stage_modules(busy: Callable[[], bool]) -> None:
    """Import _STAGE_MODULES (relative to this package) in order while `busy()`; the rest are
    imported where they are used, as always. Only when they are imported changes."""
    for name in _STAGE_MODULES:
        if not busy():
            return
        importlib.import_module(name, __package__)


def scope_stage(repo: str, changed_since: str, policies_dir: str | None,
                report: GateReport) -> tuple[str, ...] | None:
    """The changed models to check (() for everything); None when the gate stops here: a usage
    error, or no model changed. The git commands run in a thread while this one imports what the
    next stages need (_import_stage_modules): most of their time is spent waiting for git."""
    from .git import GitError

    outcome: list = []

    def find() -> None:
        try:
            outcome.append(changed_scope(repo, changed_since, policies_dir))
        except BaseException as exc:  # noqa: BLE001 - raised again in this thread
            outcome.append(exc)

    thread = threading.Thread(target=find, name="mlgitops-changed-scope", daemon=True)
    thread.start()
    _import_stage_modules(thread.is_alive)
    thread.join()
    if isinstance(outcome[0], GitError):
        report.diagnostics.error(".", 0, 0, "usage.git", str(outcome[0]))
        return None
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    scope: ChangedScope = outcome[0]
    if scope.everything:
        report.stages["changed"] = f"{scope.reason} changed since {changed_since}: checking everything"
        return ()
    if not scope.models:
        report.stages["changed"] = f"no model changed since {changed_since}: nothing to check"
        return None
    shown = ", ".join(scope.models[:10]) + (f" and {len(scope.models) - 10} more" if len(scope.models) > 10 else "")
    report.stages["changed"] = f"{len(scope.models)} models changed since {changed_since}: {shown}"
    return tuple(scope.models)


def build_stage(repo: str, selected: tuple[str, ...], report: GateReport, *,
                renderer: _Renderer | None = None, progress: Progress | None = None) -> list[str]:
    """`build --check` (of the `selected` models only, when given); the overlay directories of the
    selected models that exist ([] for all overlays). With `renderer`, each model's overlays are
    rendered, validated and checked where it was compiled (_Renderer.after_compile). `progress`
    is told the build stage with the models loaded, then compiled, as they come."""
    from .pipeline import build

    built = build(repo, check=True, models=selected, changed_only=bool(selected),
                  after_compile=renderer.after_compile if renderer is not None else None,
                  progress=_BuildProgress(progress, fused=renderer is not None) if progress is not None else None)
    if renderer is not None:
        for done in built.after:
            renderer.done.update(done or {})
    report.diagnostics.extend(built.diagnostics)
    sync = built.sync
    state = ("up to date" if not sync.drift else
             f"{len(sync.missing)} missing, {len(sync.stale)} stale, {len(sync.extra)} extra") if sync else "not checked"
    what = f"{len(selected)} of {len(built.models)} models" if selected else f"{len(built.models)} models"
    report.stages["build"] = f"{what}, {len(built.overlays)} overlays: {state}"
    if not selected:
        return []
    return [os.path.join(repo, overlay.directory) for overlay in layout.overlay_dirs(repo, models=selected)]


class _BuildProgress:
    """The build stage's line, `build: DONE/TOTAL models loaded` then `... compiled` (and, in the
    fused check, rendered, validated and checked), redrawn at most five times a second."""

    def __init__(self, progress: Progress, fused: bool) -> None:
        from .pipeline import COMPILED

        self.progress = progress
        self.names = {COMPILED: COMPILED + ", rendered, validated and checked"} if fused else {}
        self.last = 0.0

    def __call__(self, done: int, total: int, what: str = "") -> None:
        now = time.monotonic()
        if done != total and now - self.last < 0.2:
            return
        self.last = now
        _tell(self.progress, "build", f"{done}/{total} {self.names.get(what, what)}")


@dataclasses.dataclass
class Rendered:
    """What the render stage produced for the stages after it: the inputs read, and for each overlay
    or file its validation and policy partials (computed where it was rendered)."""

    inputs: Inputs
    validator: Any  # validate.run.Validator, or None when the schema locations were refused
    validator_problems: Diagnostics
    validation: list  # validate.run.Partial per overlay or file
    policy: list  # policy.check._Partial per overlay or file (one for all when evaluated at once)


def policy_setup(repo: str, directory: str, locations: tuple[str, ...], report: GateReport, *,
                 type_check: bool = True) -> Checker | None:
    """The policies loaded for policy test and check; None without a policy directory. Raises
    ValueError, reported, for a malformed MLGITOPS_TODAY (the gate stops). `type_check=False`
    (a check of changed models: the policies are those of the base, unchanged) leaves out what
    the API server's checks find in the policies (type-checker warnings, refusals at creation),
    as the policy tests are left out then."""
    from .policy.check import Checker

    if not os.path.isdir(directory):
        shown = os.path.relpath(directory, repo) if directory.startswith(os.path.join(repo, "")) else directory
        report.stages["policies"] = f"no policy directory {shown}: no policy was checked"
        return None
    _checked_today(directory, report)
    return Checker(repo, directory, schema_locations=locations, type_check=type_check)


class _Renderer:
    """What the render stage does with each overlay's (or file's) documents, set up once: validate
    them and check them against the policies in the (forked) process that rendered them, so only
    findings come back. When a policy reads namespace labels, which need every Namespace object
    first, the documents come back and the policies are evaluated after (policy_check_stage); with
    `keep_documents`, they come back for policies evaluated elsewhere (checker is None)."""

    def __init__(self, repo: str, options: dict, checker: Checker | None, *, keep_documents: bool = False) -> None:
        from .validate.run import settings_from, validator as make_validator

        self.repo = repo
        self.checker = checker
        config: Any = None
        if os.path.isfile(os.path.join(repo, CONFIG_FILE)):
            config = load_config(repo, Diagnostics())  # its problems are build's findings already
        self.config = config
        self.settings: Settings = settings_from(config, **options)
        self.problems = Diagnostics()
        self.validator = make_validator(self.settings, repo, config, self.problems)
        self.evaluator = checker.evaluator() if checker is not None and not checker.needs_all_documents else None
        self.keep_documents = keep_documents or (checker is not None and self.evaluator is None)
        self.done: dict = {}  # overlay jobs rendered where their model was compiled: their results

    def each(self, docs: list) -> tuple:
        return (self.validator.partial(docs) if self.validator is not None else None,
                self.evaluator(docs) if self.evaluator is not None else None,
                docs if self.keep_documents else None)

    def after_compile(self, model: Any, overlays: list) -> dict:
        """In the process that compiled a model: each of its overlays rendered as the render stage
        would (validate.documents.overlay_job), with the compiled objects as the documents of every
        file on disk that is byte-identical to what the compile wrote (kustomize/emitted.py), and
        findings in those files located with what compiled them (sourcemap.compiled_overlay); the
        results by job, for the render stage to take instead of rendering again."""
        from .kustomize import emitted, loader
        from .validate.documents import overlay_job
        from .validate.sourcemap import compiled_overlay, remember_model

        remember_model(self.repo, model)  # where findings in its overlays are located
        done = {}
        root = contain.trusted_root(self.repo, os.path.join(self.repo, layout.OVERLAYS))
        try:
            for files in overlays:
                job = overlay_job(os.path.join(self.repo, files.directory), self.repo, self.settings.strict,
                                  self.settings.max_file_bytes, root)
                if job is None:
                    continue
                offered = {}
                for name, text in files.texts.items():
                    objects = files.objects.get(name)
                    if name == "kustomization.yaml" or not isinstance(objects, list):
                        continue
                    decoded = text.decode("utf-8")
                    body = decoded.partition("\n")[2]  # after the one-line generated header (overlays.header)
                    try:
                        loader.offer(decoded, emitted.documents(objects, body, 2))
                    except emitted.NotUsual:
                        continue
                    offered[f"{files.directory}/{name}"] = (decoded, objects, files.generators.get(name, []))
                if self.config is None:
                    done[job] = job.load(self.each)
                else:
                    with compiled_overlay(self.repo, offered, files.me, self.config):
                        done[job] = job.load(self.each)
                loader.withdraw()
        finally:
            loader.withdraw()
        return done


def render_stage(paths: list[str], repo: str, renderer: _Renderer) -> Rendered:
    """Every overlay rendered and every other input read, once (_Renderer.each), except the overlays
    rendered where their model was compiled (renderer.done)."""
    from .validate.documents import collect

    settings, checker, keep_documents = renderer.settings, renderer.checker, renderer.keep_documents
    inputs = collect(paths, repo, strict=settings.strict, max_file_bytes=settings.max_file_bytes,
                     on_documents=renderer.each, done=renderer.done)
    rendered = Rendered(inputs, renderer.validator, renderer.problems, [], [])
    for validation, policy, docs in inputs.results:
        if validation is not None:
            rendered.validation.append(validation)
        if policy is not None:
            rendered.policy.append(policy)
        if docs is not None:
            inputs.documents.extend(docs)
    if keep_documents and checker is not None:
        rendered.policy.append(checker.evaluator(inputs.documents)(inputs.documents))
    return rendered


def validate_stage(targets: list[str], repo: str, rendered: Rendered, report: GateReport) -> None:
    """Schemas and references of the rendered objects."""
    from .validate.run import EMPTY_COUNTS, Report

    diags = rendered.validator_problems
    if rendered.validator is None:
        validated = Report(diags, dict(EMPTY_COUNTS), {}, None, [])
    else:
        diags.extend(rendered.inputs.diagnostics)
        validated = rendered.validator.report(rendered.validation, rendered.inputs, targets, repo, diags)
    report.diagnostics.extend(validated.diagnostics)
    report.stages["validate"] = validated.summary_line()
    report.files = validated.files


def run_policy_tests(repo: str, directory: str, locations: tuple[str, ...], policies: PolicySet | None) -> TestReport:
    """`policy test` of the policies in `directory` (`policies`: loaded already, when given)."""
    from .policy.testing import run_tests

    return run_tests(directory, repo, schema_locations=locations, policies=policies)


def policy_test_stage(repo: str, directory: str, selected: tuple[str, ...], report: GateReport, *,
                      locations: tuple[str, ...] = (), progress: Progress | None = None,
                      policies: PolicySet | None = None, started: Background[TestReport] | None = None) -> None:
    """`policy test` (of `policies`, loaded already, when given), skipped when no test case reads
    a changed model; `started`: the run of run_policy_tests begun in the background, waited for."""
    if started is not None or not selected or _tests_mention(os.path.join(directory, "tests"), list(selected), repo):
        _tell(progress, "policy test")
        tested = started() if started is not None else run_policy_tests(repo, directory, locations, policies)
        report.diagnostics.extend(tested.diagnostics)
        report.stages["policy test"] = tested.summary_line()
    else:
        report.stages["policy test"] = "policies unchanged and no test case reads a changed model: skipped"


def policy_check_stage(targets: list[str], checker: Checker, rendered: Rendered, report: GateReport) -> None:
    """Every rendered object against the policies (evaluated in render_stage)."""
    checked = checker.finish(rendered.policy, rendered.inputs, targets)
    report.diagnostics.extend(checked.diagnostics)
    report.stages["policy check"] = checked.summary_line()
    report.rules.update(checked.rules)
