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


def run() -> None:  # pragma: no cover - console entry for `python -m mlgitops`
    try:
        main(standalone_mode=True)
    except Exception as exc:  # an internal error: say so in one line, exit 2, no traceback
        if os.environ.get("MLGITOPS_DEBUG"):
            raise
        click.echo(f"mlgitops: internal error: {exc.__class__.__name__}: {exc} "
                   "(set MLGITOPS_DEBUG=1 for a traceback)", err=True)
        sys.exit(EXIT_USAGE)
