"""What a rule unit is made of: the catalogue entries it reports, a check function, and the
reporters that put a finding at the line that produced the value.

A model check reads the typed model (`me.model`, spec/resolved.py) of one model in one
environment; a file check reads one model file with what the files before it declared. A
problem that comes from the shared `spec` is reported once, however many environments inherit
it (the message does not name the environment then: `Diagnostics` drops the repeats).
"""

from __future__ import annotations

import dataclasses
from typing import Callable, TypeAlias

from ..config import Config
from ..diagnostics import Diagnostic, Diagnostics, Rule
from ..schemacheck import dotted
from ..spec.model import ModelEnv, ModelFile


# A path of settings (("autoscaling", "minReplicas")) or of the model document (("spec", "env", 0)).
Path: TypeAlias = tuple[str | int, ...]


class Reporter:
    """Reports findings about one ModelEnv at the line that produced the value."""

    def __init__(self, me: ModelEnv, diags: Diagnostics) -> None:
        self.me = me
        self.diags = diags

    def __call__(self, path: Path, rule: Rule, message: str, severity: str | None = None) -> None:
        """A finding about the setting at `path` (under `spec`), at the line of the environment
        override when it sets the value, else of the shared spec; the message starts with the
        dotted path of that line."""
        source = self.me.source_path(path)
        shown = dotted(source) if source[:2] == ("spec", "environments") else dotted(("spec",) + tuple(path))
        self.at(source, rule, f"{shown}: {message}", severity)

    def at(self, source: Path, rule: Rule, message: str, severity: str | None = None) -> None:
        """A finding at `source`, a path of the model document, with `message` as it is."""
        line, col = self.me.file.doc.position(source)
        self.diags.add(Diagnostic(self.me.file.path, line, col, rule.id, severity or rule.severity, message))


@dataclasses.dataclass
class FileContext:
    """What file checks share while they go through the model files in order."""

    config: Config
    diags: Diagnostics
    seen: dict[str, str]  # model name -> the file that declared it first

    @property
    def environments(self) -> list[str]:
        return list(self.config.environments)

    def report(self, f: ModelFile, path: Path, rule: Rule, message: str, *, key: bool = False) -> None:
        line, col = f.doc.position(path, key=key)
        self.diags.add(Diagnostic(f.path, line, col, rule.id, rule.severity, message))


@dataclasses.dataclass(frozen=True)
class ModelCheck:
    """A check of one model in one environment, and the rules it reports."""

    rules: tuple[Rule, ...]
    check: Callable[[ModelEnv, Reporter, Config], None]

    @property
    def name(self) -> str:
        return f"{self.check.__module__.rsplit('.', 1)[-1]}.{self.check.__name__}"


@dataclasses.dataclass(frozen=True)
class FileCheck:
    """A check of one model file (and of what the files before it declared)."""

    rules: tuple[Rule, ...]
    check: Callable[[ModelFile, FileContext], None]

    @property
    def name(self) -> str:
        return f"{self.check.__module__.rsplit('.', 1)[-1]}.{self.check.__name__}"
