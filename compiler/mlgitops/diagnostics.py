"""One finding type for every stage: file, line, column, rule id, severity and message.

Every stage (loading, spec validation, build, later render/validate/policy) reports
`Diagnostic` values into a `Diagnostics` collector; the CLI renders them and picks the
exit code. Lines and columns are 1-based, as editors and compilers print them; 0 means
"unknown" (a finding about a whole file or about the repository).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Iterable, Iterator

ERROR = "error"
WARNING = "warning"
INFO = "info"

_SEVERITY_RANK = {ERROR: 0, WARNING: 1, INFO: 2}


@dataclasses.dataclass(frozen=True)
class Rule:
    """What a rule id means: its default severity and what it catches (catalogue.py lists them all)."""

    id: str  # `family.name`; a pattern such as `policy.<name>` for a family of run-time ids
    severity: str  # the default: error, warning or info (`help` says when it differs)
    summary: str  # one sentence: what the rule catches
    help: str = ""  # more: why, when the severity differs, how to fix it

    @property
    def family(self) -> str:
        """`spec` of `spec.replicas`; the id itself when it has no dot (`schema`)."""
        return self.id.split(".", 1)[0]

    @property
    def pattern(self) -> bool:
        """True for an entry that stands for many ids made at run time (`policy.<name>`)."""
        return "<" in self.id

    def matches(self, rule_id: str) -> bool:
        if not self.pattern:
            return rule_id == self.id
        prefix = self.id.split("<", 1)[0]
        return rule_id.startswith(prefix) and len(rule_id) > len(prefix)

# The most characters of a user's value a message repeats; the rest is counted, not echoed.
ECHO_LIMIT = 80


def _printable(text: str) -> str:
    """Control characters (newlines, tabs, NUL, ...) escaped, so a finding stays on one line."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def echo(value: object, *, quote: bool = True, limit: int = ECHO_LIMIT) -> str:
    """A value from the user's input as a message may quote it: quoted as Python's repr
    quotes strings (`'iris\\n'`; `quote=False`: bare, control characters escaped), and cut to
    its first `limit` characters, then `…` and the full length: `'aaaa…' (5000000 characters)`.
    Every message that repeats user input goes through here."""
    text = value if isinstance(value, str) else str(value)
    if len(text) <= limit:
        return repr(text) if quote else _printable(text)
    cut = text[:limit]
    shown = f"{repr(cut)[:-1]}…{repr(cut)[-1]}" if quote else f"{_printable(cut)}…"
    return f"{shown} ({len(text)} characters)"


@dataclasses.dataclass(frozen=True, order=False)
class Diagnostic:
    file: str
    line: int
    column: int
    rule: str
    severity: str
    message: str

    def format(self) -> str:
        """`path:line:col: severity: message [rule]`, like compilers and yamllint print."""
        where = self.file
        if self.line:
            where += f":{self.line}:{self.column or 1}"
        return f"{where}: {self.severity}: {self.message} [{self.rule}]"

    def as_dict(self) -> dict[str, Any]:
        # what dataclasses.asdict gives (every field is a str or an int), without its recursive copy:
        # a JSON report of the #18 benchmark corpus has 4,250 of them
        return {"file": self.file, "line": self.line, "column": self.column, "rule": self.rule,
                "severity": self.severity, "message": self.message}

    def sort_key(self) -> tuple[str, int, int, int, str, str]:
        return (self.file, self.line, self.column, _SEVERITY_RANK.get(self.severity, 9), self.rule, self.message)


class Diagnostics:
    """An ordered, de-duplicated collection of findings."""

    def __init__(self, items: Iterable[Diagnostic] = ()) -> None:
        self._items: list[Diagnostic] = []
        self._seen: set[Diagnostic] = set()
        for item in items:
            self.add(item)

    def add(self, item: Diagnostic) -> None:
        if item not in self._seen:
            self._seen.add(item)
            self._items.append(item)

    def error(self, file: str, line: int, column: int, rule: str, message: str) -> None:
        self.add(Diagnostic(file, line, column, rule, ERROR, message))

    def warning(self, file: str, line: int, column: int, rule: str, message: str) -> None:
        self.add(Diagnostic(file, line, column, rule, WARNING, message))

    def extend(self, items: Iterable[Diagnostic]) -> None:
        for item in items:
            self.add(item)

    @property
    def has_errors(self) -> bool:
        return any(d.severity == ERROR for d in self._items)

    def count(self, severity: str) -> int:
        return sum(1 for d in self._items if d.severity == severity)

    def sorted(self) -> list[Diagnostic]:
        return sorted(self._items, key=Diagnostic.sort_key)

    def __iter__(self) -> Iterator[Diagnostic]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)
