"""spec.duplicate-model: one file per model. The file named after the model owns the name
(check_files goes through those first); a duplicate is blamed on the other file."""

from __future__ import annotations

from ..diagnostics import ERROR, Rule, echo
from ..spec.model import ModelFile
from .base import FileCheck, FileContext

RULE = Rule("spec.duplicate-model", ERROR, "Two model files declare the same model.")


def check(f: ModelFile, ctx: FileContext) -> None:
    if f.name in ctx.seen:
        ctx.report(f, ("metadata", "name"), RULE,
                   f"metadata.name: model {echo(f.name)} is already declared in {ctx.seen[f.name]}")
    else:
        ctx.seen[f.name] = f.path


CHECK = FileCheck((RULE,), check)
