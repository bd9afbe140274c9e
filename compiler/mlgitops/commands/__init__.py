"""The commands as library functions: each takes plain options and returns an `Outcome` (or a
richer result of its own) holding the findings, the data to print and the exit code; cli.py only
parses options, calls one of them and prints what it returns.

    build.py     mlgitops build [--check] [--commit]
    render.py    mlgitops render
    validate.py  mlgitops validate
    policy.py    mlgitops policy check / policy test
    check.py     mlgitops check (the CI gate)
    diff.py      mlgitops diff
    schemas.py   mlgitops schemas import / schemas pull
    slo.py       mlgitops slo explain / slo test

The exit code is decided here, once (`exit_code`): 2 when a finding is a usage problem (its rule
starts with `usage.`), 1 for any other error finding (or a difference the caller asked to fail
on), else 0. A problem with the options themselves raises `UsageError` (cli.py shows it as
click's usage error, exit 2).
"""

from __future__ import annotations

import dataclasses
import os
from typing import Mapping, Sequence

from ..diagnostics import Diagnostics

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2
USAGE_RULE_PREFIX = "usage."


class UsageError(Exception):
    """The options given cannot work together or name nothing (shown as a usage error, exit 2)."""


def is_usage(diags: Diagnostics) -> bool:
    """Whether a finding is a usage problem (`usage.*` rule): the command line, not the input."""
    return any(d.rule.startswith(USAGE_RULE_PREFIX) for d in diags)


def exit_code(diags: Diagnostics, *, differs: bool = False) -> int:
    """The exit code of a command that found `diags` (and, `differs`, a difference to fail on)."""
    if is_usage(diags):
        return EXIT_USAGE
    return EXIT_FINDINGS if diags.has_errors or differs else EXIT_OK


def require_repo(repo: str) -> None:
    """--repo must be a directory."""
    if not os.path.isdir(repo):
        raise UsageError(f"--repo {repo}: not a directory")


@dataclasses.dataclass
class Outcome:
    """What a command found and what its report shows."""
    command: str  # as the report names it, e.g. "policy check"
    diagnostics: Diagnostics
    summary: Mapping[str, object] | None = None  # the machine formats' summary
    rules: Mapping[str, str] | None = None  # descriptions the catalogue cannot know: policy.<name> (SARIF)
    files: Sequence[str] = ()  # the inputs (JUnit)
    notes: list[str] = dataclasses.field(default_factory=list)  # text format, after the findings (unless quiet)
    summary_line: str | None = None  # text format, last (unless quiet or a usage problem)

    @property
    def exit_code(self) -> int:
        return exit_code(self.diagnostics)
