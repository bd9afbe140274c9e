"""spec.name-mismatch: metadata.name is the file name without `.yaml`."""

from __future__ import annotations

from ..diagnostics import ERROR, Rule, echo
from ..spec.model import ModelFile
from .base import FileCheck, FileContext

RULE = Rule("spec.name-mismatch", ERROR, "metadata.name differs from the file name.")


def check(f: ModelFile, ctx: FileContext) -> None:
    if f.name != f.stem:
        ctx.report(f, ("metadata", "name"), RULE,
                   f"metadata.name: {echo(f.name)} does not match the file name {echo(f.stem)} "
                   f"(rename the file to {echo(f.name + '.yaml', quote=False)} or the model to "
                   f"{echo(f.stem, quote=False)})")


CHECK = FileCheck((RULE,), check)
