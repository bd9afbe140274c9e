"""Regenerate the generated sections of the documentation: the rule families and the CLI
reference (docs/cli.md), the spec reference (docs/model-spec.md) and the rule reference page
(docs/rules.md).

`python -m mlgitops.readme` rewrites every generated section of PAGES in place (or only the
pages named); `--check` exits 1 when one is stale. `python -m mlgitops.readme --rules
docs/rules.md` rewrites the rule reference page. All come from the code (the rule catalogue, the
JSON Schema and the click commands), so the documentation cannot drift. `make docs` runs both.
"""

from __future__ import annotations

import sys
from typing import Callable

import click

from .catalogue import families_markdown
from .catalogue import reference_markdown as rules_reference
from .modelfiles import model_schema
from .spec.docs import SPEC_BEGIN, SPEC_END, reference_markdown
from .validate.lock import write_atomic

RULES_BEGIN = "<!-- rule-families:begin (generated from compiler/mlgitops/catalogue.py; do not edit) -->"
RULES_END = "<!-- rule-families:end -->"
RULES_PAGE = "docs/rules.md"

CLI_BEGIN = "<!-- cli-reference:begin (generated from --help; do not edit) -->"
CLI_END = "<!-- cli-reference:end -->"


def _command_paths(group: click.Command, prefix: list[str]):
    yield prefix
    if isinstance(group, click.Group):
        for name in sorted(group.commands):
            yield from _command_paths(group.commands[name], prefix + [name])


def cli_reference() -> str:
    """`--help` of every command, exactly as a user sees it on a 100-column terminal."""
    from click.testing import CliRunner

    from .cli import main

    runner = CliRunner()
    parts = []
    for words in _command_paths(main, []):
        result = runner.invoke(main, words + ["--help"], prog_name="mlgitops", terminal_width=100, color=False)
        parts.append(f"### `{' '.join(['mlgitops'] + words)}`\n\n```\n{result.output.rstrip()}\n```\n")
    return "\n".join(parts)


def _replace(text: str, begin: str, end: str, body: str) -> str:
    head, sep, rest = text.partition(begin)
    if not sep:
        raise SystemExit(f"no marker {begin!r}")
    _, sep2, tail = rest.partition(end)
    if not sep2:
        raise SystemExit(f"no marker {end!r}")
    return f"{head}{begin}\n\n{body}\n{end}{tail}"


# Each generated section: its markers and what fills it.
SECTIONS: dict[str, tuple[str, str, Callable[[], str]]] = {
    "rule-families": (RULES_BEGIN, RULES_END, families_markdown),
    "spec-reference": (SPEC_BEGIN, SPEC_END, lambda: reference_markdown(model_schema())),
    "cli-reference": (CLI_BEGIN, CLI_END, cli_reference),
}
# The pages holding them (each section in exactly one page).
PAGES: dict[str, tuple[str, ...]] = {
    "docs/model-spec.md": ("spec-reference",),
    "docs/cli.md": ("rule-families", "cli-reference"),
}


def render(text: str, sections: tuple[str, ...] = tuple(SECTIONS)) -> str:
    """`text` with each of `sections` regenerated; a missing marker is an error."""
    for name in sections:
        begin, end, make = SECTIONS[name]
        text = _replace(text, begin, end, make())
    return text


def render_page(path: str) -> Callable[[str], str]:
    """The regeneration of page `path` (a key of PAGES)."""
    try:
        sections = PAGES[path]
    except KeyError:
        raise SystemExit(f"{path}: not a generated page (one of: {', '.join(PAGES)})") from None
    return lambda text: render(text, sections)


def _regenerate(path: str, make: Callable[[str], str], check: bool) -> bool:
    """Rewrite `path` to `make(its text)` (with `check`, only say it differs); True when it did."""
    try:
        with open(path, encoding="utf-8") as fh:
            current = fh.read()
    except FileNotFoundError:
        current = ""
    wanted = make(current)
    if wanted == current:
        return False
    if check:
        print(f"{path}: generated reference is stale; run 'make docs'", file=sys.stderr)
    else:
        write_atomic(path, wanted.encode("utf-8"))
    return True


def main(argv: list[str]) -> int:
    check = "--check" in argv
    rules = "--rules" in argv
    paths = [a for a in argv if a not in ("--check", "--rules")] or ([RULES_PAGE] if rules else list(PAGES))
    stale = [path for path in paths
             if _regenerate(path, (lambda _current: rules_reference()) if rules else render_page(path), check)]
    return 1 if (check and stale) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
