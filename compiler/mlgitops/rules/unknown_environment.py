"""spec.unknown-environment: `spec.environments.<env>` names an environment of mlgitops.yaml."""

from __future__ import annotations

import difflib

from ..diagnostics import ERROR, Rule, echo
from ..spec.model import ModelFile
from .base import FileCheck, FileContext

RULE = Rule("spec.unknown-environment", ERROR,
            "A model overrides, or waives a policy in, an environment mlgitops.yaml does not define.")


def check(f: ModelFile, ctx: FileContext) -> None:
    known = ctx.environments
    for env in f.doc.data["spec"].get("environments", {}):
        if env not in known:
            hint = difflib.get_close_matches(env, known, n=1, cutoff=0.5) if len(env) <= 253 else []
            suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
            ctx.report(f, ("spec", "environments", env), RULE,
                       f"spec.environments.{echo(env, quote=False)}: unknown environment {echo(env)}{suggestion}; "
                       f"{ctx.config.path} defines: {', '.join(known)}", key=True)


CHECK = FileCheck((RULE,), check)
