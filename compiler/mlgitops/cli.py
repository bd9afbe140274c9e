"""The command line: parse options with click, call the command's library function (commands/),
print what it returns and exit with the code it decided.

Exit codes: 0 success, 1 findings (errors in the input, drift), 2 usage error (commands.exit_code
decides 0, 1 and 2), 3 internal error (a bug: a crash report is written, see `_crash`), 130
interrupted (Ctrl-C).
"""

from __future__ import annotations

import gc
import os
import sys
import time
from typing import Any, Callable, Iterable, Mapping, NoReturn, ParamSpec, TypeVar

import click

from . import __version__
from .commands import EXIT_OK, EXIT_USAGE, Outcome, UsageError, is_usage
from .commands.completion import SHELLS
from .diagnostics import Diagnostics, echo
from .report import FORMATS, render_report

EXIT_INTERNAL, EXIT_INTERRUPTED = 3, 130
P = ParamSpec("P")
R = TypeVar("R")


def _report(diags: Diagnostics, fmt: str, *, command: str, summary: Mapping[str, object] | None = None,
            rules: Mapping[str, str] | None = None, files: Iterable[str] = ()) -> None:
    """Print the findings of `mlgitops COMMAND` in `fmt`: text on stderr (coloured on a terminal),
    the machine formats (json, github, sarif, junit) on stdout."""
    text = render_report(diags, fmt, command=command, summary=None if summary is None else dict(summary),
                         rules=None if rules is None else dict(rules),
                         color=fmt == "text" and sys.stderr.isatty(), files=files)
    click.echo(text, err=fmt == "text", nl=False)


def _finish(outcome: Outcome, fmt: str, quiet: bool = False) -> NoReturn:
    """A command's report, then (text format, unless quiet) its notes and its summary line (not
    after a usage error), then its exit code."""
    _report(outcome.diagnostics, fmt, command=outcome.command, summary=outcome.summary, rules=outcome.rules,
            files=outcome.files)
    if fmt == "text" and not quiet:
        for line in outcome.notes:
            click.echo(line, err=True)
        if outcome.summary_line is not None and not is_usage(outcome.diagnostics):
            click.echo(outcome.summary_line, err=True)
    sys.exit(outcome.exit_code)


def _call(command: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Run a command's library function; a problem with the options is click's usage error (exit 2)."""
    try:
        return command(*args, **kwargs)
    except UsageError as exc:
        raise click.UsageError(str(exc)) from None


class _Progress:
    """A one-line counter on stderr, 'LABEL DONE/TOTAL[: WHAT]', redrawn in place at most five
    times a second (and whenever WHAT changes), only when stderr is a terminal, `enabled` (the text
    format, not --quiet) and the run has at least `min_total` steps; `close` (or leaving the `with`
    block) erases it. Every long command shows its progress through this one callable."""

    def __init__(self, enabled: bool, label: str, min_total: int = 200) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.label, self.min_total = label, min_total
        self.last = 0.0
        self.what = ""
        self.shown = False

    def __call__(self, done: int, total: int, what: str = "") -> None:
        if not self.enabled or total < self.min_total:
            return
        now = time.monotonic()
        if now - self.last > 0.2 or done == total or what != self.what:
            self.last, self.what, self.shown = now, what, True
            line = f"{self.label} {done}/{total}" + (f": {what}" if what else "")
            try:  # a line longer than the terminal would wrap, and \r could not redraw it
                width = os.get_terminal_size(sys.stderr.fileno()).columns or 80
            except (OSError, ValueError):
                width = 80
            click.echo(f"\r{line[:max(width - 1, 20)]}\033[K", err=True, nl=False)

    def close(self) -> None:
        if self.shown:
            click.echo("\r\033[K", err=True, nl=False)
            self.shown = False

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_format_option = click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
                              help="Findings report: text on stderr; json, github (workflow commands), "
                                   "sarif (2.1.0) or junit (XML) on stdout.")
def _absolute(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """--repo as an absolute path (symbolic links kept): the stages join file paths to the root, and
    a relative root joined twice (`--repo platform`) named files that do not exist."""
    return None if value is None else os.path.abspath(value)


_repo_option = click.option("--repo", "repo", type=click.Path(file_okay=False), default=".", show_default=True,
                            callback=_absolute, help="Repository root (holds mlgitops.yaml and models/).")


def crash_report_dir() -> str:
    """Where crash reports go: $XDG_CACHE_HOME/mlgitops, else ~/.cache/mlgitops (an XDG_CACHE_HOME
    that is not an absolute path is ignored, as the XDG spec says)."""
    cache = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(cache):
        cache = os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "mlgitops")


def write_crash_report(exc: BaseException, argv: list[str]) -> str:
    """Write the traceback and what a bug report needs to a new file; returns its path."""
    import datetime
    import platform
    import shlex
    import traceback

    now = datetime.datetime.now(datetime.timezone.utc)
    directory = crash_report_dir()
    os.makedirs(directory, exist_ok=True)
    stem = os.path.join(directory, f"crash-{now:%Y%m%dT%H%M%S}-{os.getpid()}")
    text = "".join([
        f"mlgitops crash report, {now.isoformat(timespec='seconds')}\n",
        f"mlgitops version: {__version__}\n",
        f"python version: {sys.version.splitlines()[0]} ({sys.executable})\n",
        f"platform: {platform.platform()}\n",
        f"command line: {shlex.join(argv)}\n",
        f"argv: {argv!r}\n",
        f"cwd: {os.getcwd()}\n",
        "\n",
        *traceback.format_exception(type(exc), exc, exc.__traceback__),
    ])
    for n in range(100):
        path = f"{stem}.log" if n == 0 else f"{stem}-{n}.log"
        try:
            with open(path, "x", encoding="utf-8", errors="backslashreplace") as fh:
                fh.write(text)
            return path
        except FileExistsError:
            continue
    raise FileExistsError(f"{stem}.log")


def _crash(exc: BaseException, argv: list[str]) -> NoReturn:
    """An unexpected exception (a bug, not bad input): one line on stderr naming the crash report
    with the traceback, exit 3."""
    what = f"mlgitops: internal error: {exc.__class__.__name__}: {echo(str(exc), quote=False, limit=200)}"
    try:
        path = write_crash_report(exc, argv)
    except OSError as failed:
        click.echo(f"{what}; no crash report could be written ({failed.__class__.__name__}: {failed}); "
                   "set MLGITOPS_DEBUG=1 for a traceback and please file it", err=True)
    else:
        click.echo(f"{what}; a crash report was written to {path}; please file it", err=True)
    sys.exit(EXIT_INTERNAL)


class _Main(click.Group):
    """The top-level group: tells internal errors (exit 3, crash report) from usage errors (2)
    and a Ctrl-C (130)."""

    argv: list[str] = []

    def main(self, args=None, prog_name=None, *rest, **kwargs):
        listed = list(sys.argv[1:] if args is None else args)
        self.argv = ["mlgitops", *listed]
        return super().main(listed, prog_name, *rest, **kwargs)

    def invoke(self, ctx: click.Context):
        import errno

        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise  # usage errors (2) and deliberate exits keep click's handling
        except KeyboardInterrupt:
            click.echo("\nmlgitops: interrupted", err=True)
            raise click.exceptions.Exit(EXIT_INTERRUPTED) from None
        except Exception as exc:
            if isinstance(exc, OSError) and exc.errno == errno.EPIPE:
                raise  # the reader of stdout went away (`| head`): click exits quietly
            if os.environ.get("MLGITOPS_DEBUG"):
                raise
            _crash(exc, self.argv)


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mlgitops")
def main() -> None:
    """Compile ML model specs (models/*.yaml) into Kustomize overlays for Argo CD.

    \b
    Exit codes: 0 ok, 1 findings (invalid specs, drift), 2 usage error, 3 internal error
    (a crash report is written; please file it), 130 interrupted.
    """


@main.command()
@_repo_option
@click.option("--check", is_flag=True, help="Change nothing; exit 1 listing every stale, missing or extra generated file.")
@click.option("--model", "models", multiple=True, metavar="NAME", help="Only this model (repeatable).")
@click.option("--env", "envs", multiple=True, metavar="NAME", help="Only this environment (repeatable).")
@click.option("--no-cache", is_flag=True, help="Ignore the local build cache (.mlgitops/).")
@click.option("--quiet", "-q", is_flag=True, help="Print findings only, no summary.")
@click.option("--commit", "commit", is_flag=True,
              help="After a successful build, git-commit exactly the generated files that changed.")
@click.option("-m", "--message", "message", metavar="MESSAGE", default=None,
              help="With --commit: the commit message's first line is its subject (default: the models and "
                   "environments changed); any further lines are kept as its body, before the generated "
                   "list of changes.")
@_format_option
def build(repo: str, check: bool, models: tuple[str, ...], envs: tuple[str, ...], no_cache: bool, quiet: bool,
          commit: bool,
          message: str | None, fmt: str) -> None:
    """Expand every model into overlays/<env>/<model>/ over the shared base/.

    Writes only files whose content changed, removes generated files whose model is gone,
    never touches a file mlgitops did not generate. Nothing is written if any model has an
    error. With --check, nothing is written at all: use it as the CI drift gate.

    \b
    With --commit, the generated files that differ from HEAD (this build's and any an earlier
    'mlgitops build' left uncommitted) are staged and committed, nothing else; the first line
    lists the models and environments changed, e.g.
      mlgitops build: fraud (prod), iris (prod, staging)
    The author is always 'mlgitops <mlgitops@localhost>'; the committer is your git identity
    (the same mlgitops identity when git has none). Nothing changed: no commit, exit 0.
    It refuses (exit 1, nothing built) when the git index already holds staged changes.

    \b
    Examples:
      mlgitops build
      mlgitops build --check                 # CI: exit 1 when the output is not up to date
      mlgitops build --commit                # build and commit the generated files
      mlgitops build --commit -m "regenerate overlays"
    """
    from .commands.build import build as run_build

    with _Progress(not quiet and fmt == "text", "build") as progress:
        outcome = _call(run_build, repo, check=check, models=models, envs=envs, use_cache=not no_cache,
                        commit=commit, message=message, progress=progress)
    _finish(outcome, fmt, quiet)


class _Sibling(click.Group):
    """A group one letter from another (`schema`, `schemas`): a subcommand of the other group is a
    usage error (exit 2) that names it, not click's bare 'No such command'."""

    def __init__(self, *args: Any, sibling: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sibling = sibling

    def resolve_command(self, ctx: click.Context, args: list[str]
                        ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        parent = ctx.parent.command if ctx.parent is not None else None
        other = parent.get_command(ctx, self.sibling) if isinstance(parent, click.Group) else None
        if (name and not ctx.resilient_parsing and self.get_command(ctx, name) is None
                and isinstance(other, click.Group) and other.get_command(ctx, name) is not None):
            ctx.fail(f"No such command {name!r} in 'mlgitops {self.name}'. Did you mean 'mlgitops {self.sibling} "
                     f"{name}'? ({self.name}: {self.get_short_help_str(100).rstrip('.')}; {self.sibling}: "
                     f"{other.get_short_help_str(100).rstrip('.')})")
        return super().resolve_command(ctx, args)


@main.group(cls=_Sibling, sibling="schemas", short_help="The Model spec's JSON Schema and its reference docs.")
def schema() -> None:
    """The Model spec's JSON Schema (models/*.yaml) and its reference documentation.

    Not 'mlgitops schemas' (plural): that one imports and pulls the custom resources' JSON schemas.
    """


@schema.command("export")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write to this file instead of stdout.")
def schema_export(output: str | None) -> None:
    """Print the JSON Schema of models/*.yaml (for editors and other tools)."""
    from .modelfiles import schema_json

    text = schema_json()
    if output:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        click.echo(text, nl=False)


@schema.command("docs")
def schema_docs() -> None:
    """Print the spec reference (Markdown) generated from the JSON Schema."""
    from .modelfiles import model_schema
    from .spec.docs import reference_markdown

    click.echo(reference_markdown(model_schema()), nl=False)


@main.command()
@click.argument("path", type=click.Path(exists=True, file_okay=False))
@click.option("--output", "-o", "output", type=click.Path(file_okay=False), metavar="DIR",
              help="Write one file per object into DIR (named like 'kustomize build -o DIR') "
                   "instead of printing the stream.")
@click.option("--engine", type=click.Choice(["builtin", "kustomize"]), default="builtin", show_default=True,
              help="builtin: mlgitops' own kustomize-compatible renderer (no binary needed); "
                   "kustomize: run 'kubectl kustomize' (or 'kustomize build').")
@click.option("--repo", "repo", type=click.Path(file_okay=False, exists=True), callback=_absolute, default=None,
              help="Repository root; files outside it are refused. Default: the nearest directory "
                   "above PATH holding .git or mlgitops.yaml.")
@_format_option
def render(path: str, output: str | None, engine: str, repo: str | None, fmt: str) -> None:
    """Render the kustomization in PATH, printing what 'kubectl kustomize PATH' prints.

    The builtin engine implements kustomize v5 (resources, bases, components, generators,
    patches, namespace, prefixes and suffixes with name references, labels, annotations,
    images, replicas, custom configurations) and refuses what it does not implement (helm,
    replacements, vars, plugins, remote resources) instead of rendering something different.

    \b
    Errors print as 'file:line:col: error: message [rule]'. With --format json, github,
    sarif or junit, stdout carries that report instead of the manifests (keep them with -o DIR).
    Exit codes: 0 ok, 1 render error, 2 usage error or missing kustomize binary, 3 internal error.
    """
    from .commands.render import render as run_render

    outcome = run_render(path, engine=engine, repo=repo, output=output)
    if is_usage(outcome.diagnostics):  # no kubectl or kustomize to run
        for d in outcome.diagnostics:
            click.echo(f"mlgitops: error: {d.message}", err=True)
        sys.exit(outcome.exit_code)
    if outcome.exit_code:
        if fmt == "text" and outcome.tool_stderr is not None:
            click.echo(outcome.tool_stderr, err=True)  # kubectl's own words, as kubectl prints them
        else:
            _report(outcome.diagnostics, fmt, command="render", summary={"objects": 0}, files=[path])
        sys.exit(outcome.exit_code)
    if outcome.written is not None:
        click.echo(f"wrote {len(outcome.written)} file(s) to {output}", err=True)
    elif fmt == "text":
        click.echo(outcome.manifests, nl=False)
    if fmt != "text":
        _report(Diagnostics(), fmt, command="render", summary={"objects": outcome.objects}, files=[path])


@main.group(cls=_Sibling, sibling="schema", short_help="Custom resources' JSON schemas (CRDs), for validation.")
def schemas() -> None:
    """JSON schemas of custom resources (from their CRDs), for validating rendered manifests.

    Not 'mlgitops schema' (singular): that one exports the Model spec's JSON Schema and docs.
    """


@schemas.command("import")
@click.argument("crds", nargs=-1, required=True, type=click.Path(dir_okay=False), metavar="CRD.yaml...")
@click.option("--output-dir", "output_dir", type=click.Path(file_okay=False), default="schemas", show_default=True,
              help="Where to write the schemas; relative to --repo.")
@click.option("--repo", "repo", type=click.Path(file_okay=False), callback=_absolute, default=".", show_default=True,
              help="Repository root; CRD paths in schemas.lock are recorded relative to it.")
@_format_option
def schemas_import(crds: tuple[str, ...], output_dir: str, repo: str, fmt: str) -> None:
    """Convert CustomResourceDefinitions into JSON schemas in kubeconform's layout.

    Every served version of each CRD (apiextensions.k8s.io/v1) becomes
    OUTPUT_DIR/<group>/<kind>_<version>.json and a strict variant (unknown fields
    rejected) in OUTPUT_DIR/<group>-strict/; OUTPUT_DIR/schemas.lock records each schema's
    source CRD and sha256. Nothing is written if any file has an error.

    \b
    Use with kubeconform (add -strict for the strict variants):
      -schema-location 'OUTPUT_DIR/{{ .Group }}{{ .StrictSuffix }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json'
    Errors print as 'file:line:col: error: message [rule]'.
    Exit codes: 0 ok, 1 invalid input, 2 usage error, 3 internal error.
    """
    from .commands.schemas import schemas_import as run_import

    _finish(_call(run_import, crds, output_dir=output_dir, repo=repo), fmt)


@schemas.command("pull")
@click.argument("resources", nargs=-1, metavar="[RESOURCE]...")
@click.option("--from", "template", metavar="TEMPLATE", default=None,
              help="Where to fetch from: an http(s) URL, file:// URL or local path template with "
                   "kubeconform's variables; one not ending in 'json' gets "
                   "'/{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json' appended. "
                   "Default: the datreeio/CRDs-catalog on GitHub.")
@click.option("--output-dir", "output_dir", type=click.Path(file_okay=False), default="schemas", show_default=True,
              help="Where to write the schemas; relative to --repo.")
@_repo_option
@_format_option
def schemas_pull(resources: tuple[str, ...], template: str | None, output_dir: str, repo: str, fmt: str) -> None:
    """Fetch JSON schemas of custom resources into OUTPUT_DIR and pin them in schemas.lock.

    RESOURCE is group/version/Kind. Without RESOURCEs: every custom (non-core) kind of the
    objects 'mlgitops validate' checks (overlays/ rendered, argocd/) that has no schema in
    OUTPUT_DIR yet. Each schema
    is written byte for byte to OUTPUT_DIR/<group>/<kind>_<version>.json and recorded with
    its source URL and sha256 in OUTPUT_DIR/schemas.lock (next to 'schemas import' entries);
    'mlgitops validate' then needs no network. Nothing is written if any fetch fails.

    \b
    Examples:
      mlgitops schemas pull
      mlgitops schemas pull serving.kserve.io/v1beta1/InferenceService argoproj.io/v1alpha1/Rollout
      mlgitops schemas pull --from ../CRDs-catalog monitoring.coreos.com/v1/ServiceMonitor
    Errors print as 'file:line:col: error: message [rule]'.
    Exit codes: 0 ok, 1 fetch failed or schema not found, 2 usage error, 3 internal error.
    """
    from .commands.schemas import schemas_pull as run_pull

    _finish(_call(run_pull, resources, template=template, output_dir=output_dir, repo=repo), fmt)


@main.command()
@click.argument("paths", nargs=-1, metavar="[PATH]...")
@click.option("--schema-location", "locations", multiple=True, metavar="LOCATION",
              help="Where schemas are, as kubeconform's -schema-location (repeatable, tried in order): a "
                   "directory, a file path or http(s) URL template with {{ .Group }}, {{ .ResourceKind }}, "
                   "{{ .ResourceAPIVersion }}, {{ .KindSuffix }}, {{ .NormalizedKubernetesVersion }}, "
                   "{{ .StrictSuffix }}, or 'default' (the repo's schemas/, then the bundled Kubernetes "
                   "schemas). Default: validation.schemaLocations in mlgitops.yaml, else 'default'. "
                   "Locations in mlgitops.yaml (which a pull request can change) must be inside the "
                   "repository: a URL or an outside path there is refused; give it here instead.")
@click.option("--kubernetes-version", metavar="X.Y.Z", default=None,
              help="Kubernetes version of the core schemas (default: mlgitops.yaml, else 1.33.0).")
@click.option("--strict/--no-strict", default=True, show_default=True,
              help="Unknown fields and duplicate keys are errors (kubeconform -strict).")
@click.option("--strict-schemas/--no-strict-schemas", default=None,
              help="A missing schema is an error, not a warning (default: mlgitops.yaml's "
                   "validation.strictSchemas, else on when CI=true).")
@click.option("--engine", type=click.Choice(["builtin", "kubeconform", "both"]), default="builtin",
              show_default=True,
              help="builtin: mlgitops' own validator; kubeconform: run the real kubeconform binary; "
                   "both: run both and report every object they judge differently.")
@click.option("--kubeconform", "kubeconform_path", type=click.Path(dir_okay=False), default=None,
              help="Path of the kubeconform binary (default: $MLGITOPS_KUBECONFORM, PATH, .tools/bin, ~/go/bin).")
@click.option("--max-file-size", type=click.IntRange(min=1), default=32, show_default=True, metavar="MIB",
              help="Refuse input files larger than this many MiB.")
@click.option("--repo", "repo", type=click.Path(file_okay=False), callback=_absolute, default=".", show_default=True,
              help="Repository root: mlgitops.yaml, schemas/, and the root findings are relative to.")
@click.option("--quiet", "-q", is_flag=True, help="Print findings only, no summary.")
@_format_option
def validate(paths: tuple[str, ...], locations: tuple[str, ...], kubernetes_version: str | None, strict: bool,
             strict_schemas: bool | None, engine: str, kubeconform_path: str | None, max_file_size: int,
             repo: str, quiet: bool, fmt: str) -> None:
    """Validate rendered overlays, YAML files or stdin ('-') against JSON schemas.

    A directory holding a kustomization is rendered with the built-in engine first; other
    directories are searched for .yaml, .yml and .json files. Without PATH: every overlay under
    overlays/ and the Argo CD objects in argocd/. Each object is checked against its schema
    (strict by default), and references inside each overlay are checked too (Rollout
    workloadRef and analysis templates and args, HPA scaleTargetRef, ServiceMonitor and
    PodDisruptionBudget selectors, traffic-routing Services). Findings point at the model
    file line that produced the value, or the hand-written file that set it.

    \b
    Examples:
      mlgitops validate
      mlgitops validate overlays/prod/iris --engine both
      kubectl kustomize overlays/prod/iris | mlgitops validate -
      mlgitops validate --schema-location default \\
        --schema-location 'https://example.com/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json'

    \b
    Summary (stderr): resources found, valid, invalid, errors, skipped (and why).
    Exit codes: 0 ok, 1 findings (invalid objects, broken references, nothing validated),
    2 usage error (bad schema location, unknown Kubernetes version, kubeconform missing), 3 internal
    error.
    """
    from .commands.validate import validate as run_validate

    outcome = _call(run_validate, paths, repo=repo, locations=locations, kubernetes_version=kubernetes_version,
                    strict=strict, strict_schemas=strict_schemas, engine=engine, kubeconform=kubeconform_path,
                    max_file_bytes=max_file_size * 2**20)
    _finish(outcome, fmt, quiet)


_policies_option = click.option("--policies", "policies", type=click.Path(file_okay=False), default=None,
                                metavar="DIR", help="The policy directory (default: policies/ in --repo).")


@main.group()
def policy() -> None:
    """Policies as code: ValidatingAdmissionPolicies (CEL) over the rendered objects."""


@policy.command("check")
@click.argument("paths", nargs=-1, metavar="[PATH]...")
@_policies_option
@_repo_option
@click.option("--quiet", "-q", is_flag=True, help="Print findings only, no summary.")
@_format_option
def policy_check(paths: tuple[str, ...], policies: str | None, repo: str, quiet: bool, fmt: str) -> None:
    """Evaluate every policy in policies/ against rendered overlays, YAML files or stdin ('-').

    Inputs are read as 'mlgitops validate' reads them (default: every overlay under overlays/
    and the Argo CD objects in argocd/). Each ValidatingAdmissionPolicy is matched and evaluated
    offline as the API server would on a CREATE (matchConstraints, its bindings' matchResources,
    matchConditions, variables, validations, parameters from policies/params/). Severity follows
    the binding's validationActions: Deny error, Warn warning, Audit info. A violation points at
    the model file line that produced the value its field path names (the policy's annotation
    mlgitops.dev/field-paths). A model waives a policy with
    spec.policyExceptions (policy, reason, expires); an expired waiver is an error. Today's date
    comes from MLGITOPS_TODAY (YYYY-MM-DD) when set.

    \b
    Examples:
      mlgitops policy check
      mlgitops policy check overlays/prod/iris --format github
      kubectl kustomize overlays/prod/iris | mlgitops policy check - --policies ../platform/policies

    \b
    Summary (stderr): objects, policies, evaluations, errors, warnings, waived violations.
    Exit codes: 0 ok, 1 findings (violations, broken policies, expired waivers), 2 usage error,
    3 internal error.
    """
    from .commands.policy import policy_check as run_check

    _finish(_call(run_check, paths, repo=repo, policies=policies), fmt, quiet)


@policy.command("test")
@_policies_option
@_repo_option
@click.option("-k", "keyword", metavar="SUBSTRING", default=None,
              help="Only the cases whose test file, policy or case name contains SUBSTRING (any case).")
@click.option("--quiet", "-q", is_flag=True, help="Print failures only, no summary.")
@_format_option
def policy_test(policies: str | None, repo: str, keyword: str | None, quiet: bool, fmt: str) -> None:
    """Run the policy test cases in policies/tests/*.yaml and print a pytest-like summary.

    Each test file names a policy and lists cases: an object (inline, a file or overlay of the
    repository, or an inline model compiled by mlgitops) with the expected outcome: pass, fail
    (with a substring of the message) or skip (the policy does not match). Every policy needs at
    least one passing and one failing case; the format is in 'mlgitops/policy/testing.py'.

    \b
    Examples:
      mlgitops policy test
      mlgitops policy test -k require-resources
      mlgitops policy test --policies ../platform/policies --format junit > policy-tests.xml

    \b
    Exit codes: 0 every case passed, 1 a case failed, a policy is untested or a test file is
    invalid, 2 usage error, 3 internal error.
    """
    from .commands.policy import policy_test as run_test

    _finish(_call(run_test, repo=repo, policies=policies, keyword=keyword), fmt, quiet)


@main.command("check")
@_repo_option
@click.option("--schema-location", "locations", multiple=True, metavar="LOCATION",
              help="Schema locations for the validate stage, as 'mlgitops validate --schema-location' (repeatable; "
                   "URLs are only accepted here, not in mlgitops.yaml).")
@click.option("--kubernetes-version", metavar="X.Y.Z", default=None,
              help="Kubernetes version of the core schemas (default: mlgitops.yaml, else 1.33.0).")
@click.option("--strict-schemas/--no-strict-schemas", default=None,
              help="A missing schema is an error, not a warning (default: mlgitops.yaml's "
                   "validation.strictSchemas, else on when CI=true).")
@_policies_option
@click.option("--changed-since", "changed_since", metavar="REF", default=None,
              help="Check only the models whose files changed since git REF (everything when the config, "
                   "base/, policies/ or the compiler changed).")
@click.option("--quiet", "-q", is_flag=True, help="Print findings only, no summaries.")
@_format_option
def check_command(repo: str, locations: tuple[str, ...], kubernetes_version: str | None, strict_schemas: bool | None,
                  policies: str | None, changed_since: str | None, quiet: bool, fmt: str) -> None:
    """The CI gate: every check of the repository in one run and one report.

    \b
    In order, each stage running even when an earlier one found problems:
      build        model files valid, generated output up to date ('mlgitops build --check')
      validate     every overlay renders; objects pass their schemas and references resolve
      policy test  the cases in policies/tests/ pass
      policy check every object passes the policies in policies/
    Findings print as 'file:line:col: severity: message [rule]' (or --format json, github,
    sarif, junit: one report for all stages); a summary line per stage goes to stderr.

    \b
    --changed-since REF compares REF with the working tree (commits, staged, unstaged and
    untracked files): a change to models/<x>.yaml or overlays/<env>/<x>/ checks only model x
    (build --check of x, validate and policy check of overlays/<env>/<x>; policy tests only when
    one reads x, and no API-server findings about the unchanged policies); a change to
    mlgitops.yaml, base/, argocd/, policies/, schemas/ or the compiler checks everything; no
    changed model, nothing to check. A deleted model's overlays must be gone.

    \b
    Examples:
      mlgitops check
      mlgitops check --format github     # annotations on the pull request
      mlgitops check --format sarif > mlgitops.sarif
      mlgitops check --changed-since origin/main   # a pull request: only what it touches

    \b
    Exit codes: 0 every stage clean, 1 any error finding, 2 usage error, 3 internal error.
    """
    from .commands.check import check as run_check

    with _Progress(not quiet and fmt == "text", "check", min_total=0) as progress:
        outcome = _call(run_check, repo=repo, locations=locations, kubernetes_version=kubernetes_version,
                        strict_schemas=strict_schemas, policies=policies, changed_since=changed_since,
                        progress=progress)
    _finish(outcome, fmt, quiet)


@main.command("diff")
@_repo_option
@click.option("--base", "base", metavar="REF", default=None,
              help="The revision to compare with (branch, tag, commit). Default: the merge base of HEAD "
                   "with the default branch (origin/HEAD, else main or master).")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text",
              show_default=True, help="text (a table and unified diffs), markdown (a pull-request comment) "
                                      "or json; on stdout.")
@click.option("--exit-code", "exit_code", is_flag=True,
              help="Exit 1 when anything differs (like 'git diff --exit-code').")
@click.option("--unified", "-U", "context", type=click.IntRange(0), default=3, show_default=True, metavar="N",
              help="Lines of context around each change.")
@click.option("--color/--no-color", "color", default=None,
              help="Colour the text diff (default: when stdout is a terminal).")
def diff_command(repo: str, base: str | None, fmt: str, exit_code: bool, context: int, color: bool | None) -> None:
    """What will change in the cluster: the rendered objects of REF against the working tree.

    Every overlay (overlays/<env>/<model>/) and the Argo CD objects (argocd/) are rendered with
    the built-in engine in the base revision (read with git into a temporary directory; the
    working tree is not touched) and in the working tree, then compared per model and
    environment: models added, changed, removed; objects (API group, kind, namespace, name)
    added, changed, removed per kind. A summary table comes first, then a unified diff of each
    changed object as YAML with sorted keys (key order and generated headers are no noise).

    \b
    Examples:
      mlgitops diff                          # against the merge base with main
      mlgitops diff --base v1.4.0 -U 10
      mlgitops diff --format markdown > comment.md   # a pull-request comment
      mlgitops diff --format json --exit-code

    \b
    A render error in either tree is a finding naming the file; that model is not compared.
    Exit codes: 0 ok (with or without differences), 1 a render error (or differences with
    --exit-code), 2 usage error (not a git work tree, unknown REF), 3 internal error.
    """
    from .commands.diff import diff as run_diff
    from .diff import format_json, format_markdown, format_text

    with _Progress(fmt != "json", "diff: rendering", min_total=0) as progress:
        outcome = _call(run_diff, repo=repo, base=base, context=context, fail_on_changes=exit_code,
                        progress=progress)
    result = outcome.result
    if result is None:  # git cannot read the base revision
        _report(outcome.diagnostics, "json" if fmt == "json" else "text", command="diff")
        sys.exit(outcome.exit_code)
    if fmt == "json":
        click.echo(format_json(result), nl=False)
    else:
        if result.diagnostics:
            _report(result.diagnostics, "text", command="diff")
        if fmt == "markdown":
            click.echo(format_markdown(result), nl=False)
        else:
            use_colour = sys.stdout.isatty() and not os.environ.get("NO_COLOR") if color is None else color
            click.echo(format_text(result, color=use_colour), nl=False, color=use_colour)
    sys.exit(outcome.exit_code)


def _finite(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """FloatRange lets `nan` through (every comparison with NaN is false): refuse it."""
    import math

    for v in value if isinstance(value, tuple) else (value,):
        if v is not None and not math.isfinite(v):
            raise click.BadParameter(f"{v} is not a finite number", ctx=ctx, param=param)
    return value


@main.group()
def slo() -> None:
    """Service level objectives: what the generated alerts promise, and proof that they fire."""


@slo.command("explain")
@click.argument("model")
@click.option("--env", "envs", multiple=True, metavar="NAME", help="Only this environment (repeatable).")
@click.option("--rps", type=click.FloatRange(min=0, min_open=True), default=None, metavar="N", callback=_finite,
              help="Requests per second to count the budget in (default: autoscaling.requestsPerSecond x "
                   "minReplicas, when set).")
@click.option("--error-rate", "error_rates", multiple=True, type=click.FloatRange(min=0, max=100, min_open=True),
              callback=_finite,
              metavar="PERCENT", help="Time the alerts at this error rate, in percent of requests (repeatable; "
                                      "default: 100x, 20x, 4x and 1x the budget rate).")
@click.option("--plot", "plot", metavar="DIR", type=click.Path(file_okay=False), default=None,
              help="Also write DIR/<model>-<env>.png per environment: the generated Grafana dashboard's "
                   "panels during a simulated incident (needs the `plot` extra: pip install 'mlgitops[plot]').")
@_repo_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text, or json (the same figures, durations in seconds, and the written `files`) on stdout.")
def slo_explain(model: str, envs: tuple[str, ...], rps: float | None, error_rates: tuple[float, ...],
                plot: str | None, repo: str, fmt: str) -> None:
    """What MODEL's SLO alerts promise, per environment: the numbers on-call asks for.

    \b
    For each objective: the error budget in minutes of full outage and in requests per SLO
    window; each burn-rate alert's windows, factor and error-ratio threshold, how much budget is
    gone when it fires and how long the budget lasts at that burn; and how long each alert takes
    to fire at a constant error rate (from a clean history, including 'for:'). The alert table
    is monitoring.burnRateAlerts in mlgitops.yaml (default: the SRE workbook's).

    \b
    With --plot, a PNG preview of each environment's Grafana dashboard (the ConfigMap the build
    generates), its panels where Grafana puts them, showing a simulated incident: healthy
    traffic, then 20x the error-budget burn for two hours (windowed ratios, budget left, burn
    rates and when each alert fires), a canary rollout of the model's steps, and the replicas
    scaling between minReplicas and maxReplicas.

    \b
    Examples:
      mlgitops slo explain iris
      mlgitops slo explain iris --env prod --rps 250 --error-rate 2 --error-rate 0.5
      mlgitops slo explain iris --format json
      mlgitops slo explain iris --plot previews/

    \b
    Exit codes: 0 ok, 1 the model has spec errors, 2 usage error (unknown model or environment,
    --plot DIR not writable, matplotlib missing), 3 internal error.
    """
    import json

    from .commands.slo import slo_explain as run_explain
    from .slo.explain import format_text
    from .slo.plot import PlotUnavailable

    try:
        outcome = _call(run_explain, model, envs=envs, rps=rps, error_rates=error_rates, plot=plot, repo=repo)
    except PlotUnavailable as exc:  # an optional extra missing: one line, no usage text
        click.echo(f"Error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    if outcome.diagnostics:
        _report(outcome.diagnostics, "text", command="slo explain")
    if outcome.exit_code:
        sys.exit(outcome.exit_code)
    if fmt == "json":
        found = {"models": outcome.explanations, **({"files": outcome.files} if plot is not None else {})}
        click.echo(json.dumps(found, indent=2, sort_keys=True))
    else:
        click.echo("\n".join(format_text(r) for r in outcome.explanations), nl=False)
        for path in outcome.files:
            click.echo(f"wrote {path}", err=True)
    sys.exit(EXIT_OK)


# -- slo commands: `slo explain` (slo/explain.py) and `slo test` (slo/scenarios.py) below --


@slo.command("test")
@click.option("--model", "models", multiple=True, metavar="NAME",
              help="Only this model (name or file stem; repeatable). Default: every model.")
@click.option("--env", "envs", multiple=True, metavar="NAME", help="Only this environment (repeatable).")
@click.option("--slo", "slos", multiple=True, metavar="ID",
              help="Only this SLO's scenarios: availability, latency-p<N>, or operations for the operational "
                   "alerts (repeatable). Default: every one.")
@click.option("--keep", metavar="DIR", type=click.Path(file_okay=False), default=None,
              help="Write the rule and promtool test files to DIR/<model>-<env>/ and keep them.")
@click.option("--promtool", "promtool", metavar="PATH", default=None,
              help="The promtool binary (default: promtool on PATH).")
@_repo_option
@click.option("--quiet", "-q", is_flag=True, help="Print failures only, no summary.")
@_format_option
def slo_test(models: tuple[str, ...], envs: tuple[str, ...], slos: tuple[str, ...], keep: str | None,
             promtool: str | None, repo: str, quiet: bool, fmt: str) -> None:
    """Prove the generated SLO alerts with synthetic traffic and the real `promtool test rules`.

    For every SLO of every model environment: healthy traffic raises no alert; 20x the error
    budget rate pages within 60 min and 100x within 15 min; the page clears within 10 min after
    the burn stops; 4x opens a ticket within a day and never pages; 90% slow requests page
    (latency SLOs); requests without errors give a ratio of 0; no traffic gives no sample and no
    alert. Scenarios that cannot be synthesised (custom PromQL sources, a burn above 100% bad
    requests) are reported as skipped with the reason. Needs promtool (Debian package
    'prometheus'), which runs two at a time with GOGC=400 unless GOGC is set (about a fifth
    less CPU for some 50 MB more memory each).

    \b
    Examples:
      mlgitops slo test
      mlgitops slo test --model iris --env prod --keep /tmp/slo-tests
      mlgitops slo test --model iris --slo latency-p95
      mlgitops slo test --promtool /opt/prometheus/promtool --format junit > slo-tests.xml

    \b
    Exit codes: 0 every scenario passed, 1 a scenario failed or a model file is invalid,
    2 usage error or promtool missing, 3 internal error.
    """
    from .commands.slo import slo_test as run_slo_test

    with _Progress(not quiet and fmt == "text", "slo test: promtool runs", min_total=0) as progress:
        outcome = run_slo_test(models=models, envs=envs, slos=slos, keep=keep, promtool=promtool, repo=repo,
                               progress=progress)
    _finish(outcome, fmt, quiet)


@main.command("rules")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text (a table: rule, default severity, description) or json (every catalogue entry).")
def rules_command(fmt: str) -> None:
    """Every rule id mlgitops reports: its default severity and what it catches (docs/rules.md).

    \b
    Examples:
      mlgitops rules
      mlgitops rules --format json | jq -r '.[] | select(.severity == "error") | .id'
    """
    from .catalogue import listing

    click.echo(listing(fmt), nl=False)


@main.command("status")
@_repo_option
@click.argument("models", nargs=-1, metavar="[MODEL]...")
@click.option("--env", "envs", multiple=True, metavar="NAME",
              help="Only this environment's namespace (repeatable; default: every environment in mlgitops.yaml).")
@click.option("--context", "context", metavar="NAME", default=None,
              help="The kubeconfig context to read (default: kubectl's current context).")
@click.option("--kubeconfig", "kubeconfig", metavar="PATH", default=None,
              help="The kubeconfig file (default: kubectl's: $KUBECONFIG or ~/.kube/config).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="A table, or JSON; on stdout.")
def status_command(repo: str, models: tuple[str, ...], envs: tuple[str, ...], context: str | None,
                   kubeconfig: str | None, fmt: str) -> None:
    """What each model serves in a cluster: read from its Argo Rollout, not its InferenceService.

    For every environment in mlgitops.yaml (or --env), reads the namespace's mlgitops Rollouts,
    their ReplicaSets and InferenceServices with kubectl, and shows per model the Rollout's
    phase, the model version its stable pods serve, the canary's version, weight and step while
    an update runs, and KServe's own Ready beside it.

    \b
    Why not the InferenceService: KServe's Deployment holds the newest template at 0 replicas
    (the Rollout runs the pods), so KServe reports Ready for the new revision even after the
    canary was aborted and every pod serves the old one.

    \b
    Examples:
      mlgitops status                        # every model, every environment's namespace
      mlgitops status iris --env prod --context prod-us
      mlgitops status --format json          # {"models": [...], "diagnostics": [...]}

    \b
    Exit codes: 0 every update healthy or progressing, 1 a model needs a human (aborted or
    degraded update, a pause no timer ends: inconclusive analysis, manual step) or a namespace
    could not be read, 2 usage error (unknown --env, no kubectl), 3 internal error.
    """
    from .commands.status import format_json, format_text
    from .commands.status import status as run_status

    outcome = _call(run_status, repo, models=models, envs=envs, context=context, kubeconfig=kubeconfig)
    if fmt == "json":
        click.echo(format_json(outcome.models, outcome.diagnostics), nl=False)
    else:
        if outcome.diagnostics:
            _report(outcome.diagnostics, "text", command="status")
        if outcome.models or not outcome.diagnostics:
            click.echo(format_text(outcome.models), nl=False)
    sys.exit(outcome.exit_code)


@main.command("completion")
@click.argument("shell", metavar="SHELL", type=click.Choice(SHELLS))
def completion_command(shell: str) -> None:
    """Print the shell completion script for SHELL (bash, zsh or fish).

    It completes commands, subcommands, options and their choices: 'mlgitops sch<TAB>' offers
    schema and schemas. Install it once, then open a new shell:

    \b
      bash  add to ~/.bashrc:                eval "$(mlgitops completion bash)"
            or, loaded on first use (bash-completion), once:
            mlgitops completion bash > ~/.local/share/bash-completion/completions/mlgitops
      zsh   add to ~/.zshrc, after compinit: eval "$(mlgitops completion zsh)"
      fish  mlgitops completion fish > ~/.config/fish/completions/mlgitops.fish

    The script asks mlgitops itself for the candidates (click's _MLGITOPS_COMPLETE protocol),
    so it stays right after an upgrade.
    """
    from .commands.completion import completion_script

    click.echo(_call(completion_script, main, shell), nl=False)


@main.command("init")
@click.argument("directory", default=".", type=click.Path(file_okay=False), metavar="[DIR]")
@click.option("--repo-url", "repo_url", metavar="URL", default=None,
              help="This repository's URL as Argo CD clones it (argocd.repoURL).")
@click.option("--env", "envs", multiple=True, metavar="NAME",
              help="An environment, in promotion order (repeatable; the last must be prod). "
                   "Default: dev, staging, prod.")
@click.option("--cluster", "clusters", multiple=True, metavar="ENV=SERVER",
              help="The API server URL of ENV's cluster, as registered in Argo CD (repeatable; default "
                   "https://kubernetes.default.svc, the cluster Argo CD runs in).")
@click.option("--namespace-prefix", default="ml-", show_default=True,
              help="An environment's namespace is PREFIX + its name.")
@click.option("--yes", "-y", is_flag=True, help="Never prompt: what no option gives takes its default.")
@click.option("--force", is_flag=True,
              help="DIR already holds some of the files: write only the missing ones, keep every existing file.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text, or json (the files written, kept, or in the way) on stdout.")
def init_command(directory: str, repo_url: str | None, envs: tuple[str, ...], clusters: tuple[str, ...],
                 namespace_prefix: str, yes: bool, force: bool, fmt: str) -> None:
    """Scaffold a new GitOps repository in DIR (default: the current directory).

    \b
    Writes mlgitops.yaml, an example model (models/iris.yaml) that passes the whole gate in
    every environment, the built-in policies with their params and tests (policies/), the
    vendored CRD schemas with their lock (schemas/), a GitHub workflow running the gate,
    a Makefile, a .pre-commit-config.yaml and a .gitignore. On a terminal it asks for what
    no option gives (unless --yes).

    \b
    It refuses (exit 1, nothing written) when DIR already holds any of these files; with
    --force it writes only the missing ones and never overwrites or deletes a file.

    \b
    Examples:
      mlgitops init demo --yes && cd demo && mlgitops build && mlgitops check
      mlgitops init --repo-url https://github.com/acme/ml-models.git \\
        --env staging --env prod --cluster prod=https://prod.k8s.example.com

    \b
    Exit codes: 0 written, 1 files in the way, 2 usage error, 3 internal error.
    """
    import json

    from .commands.init import init as run_init, settings
    from .scaffold.settings import DEFAULT_ENVIRONMENTS, DEFAULT_REPO_URL, DEFAULT_SERVER

    ask = not yes and sys.stdin.isatty()
    if repo_url is None:
        repo_url = click.prompt("Repository URL (Argo CD clones it)", default=DEFAULT_REPO_URL) if ask \
            else DEFAULT_REPO_URL
    if not envs and ask:
        envs = tuple(click.prompt("Environments, in promotion order (the last must be prod)",
                                  default=" ".join(DEFAULT_ENVIRONMENTS)).replace(",", " ").split())
    envs = envs or DEFAULT_ENVIRONMENTS
    servers: dict[str, str] = {}
    for item in clusters:
        env, sep, server = item.partition("=")
        if not sep or not env or not server:
            raise click.BadParameter(f"{item!r} is not ENV=SERVER", param_hint="--cluster")
        servers[env] = server
    for env in envs:
        if ask and env not in servers:
            servers[env] = click.prompt(f"API server of the {env} cluster", default=DEFAULT_SERVER)
    config = _call(settings, repo_url, envs, servers, namespace_prefix, "iris")
    result = _call(run_init, directory, config, force=force)
    if fmt == "json":
        click.echo(json.dumps(result.as_dict(), indent=2, sort_keys=True))
    elif result.existing:
        click.echo(f"mlgitops init: error: {directory} already holds {len(result.existing)} of the files init "
                   f"writes: {', '.join(result.existing)}; nothing was written (--force writes only the "
                   "missing files and keeps the existing ones)", err=True)
    else:
        click.echo(result.text(), nl=False)
    sys.exit(result.exit_code)


def run() -> None:  # pragma: no cover - console entry for `python -m mlgitops`
    """Commands crash through `_Main.invoke`; this catches what fails outside a command."""
    # What importing built lives as long as the process: out of the collector's way, so its full
    # collections do not walk it again and again (forked workers also share those pages unwritten).
    gc.freeze()
    try:
        main(standalone_mode=True)
    except KeyboardInterrupt:
        click.echo("\nmlgitops: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except Exception as exc:
        if os.environ.get("MLGITOPS_DEBUG"):
            raise
        _crash(exc, ["mlgitops", *sys.argv[1:]])
