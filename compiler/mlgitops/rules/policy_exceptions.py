"""spec.policyExceptions: `expires` is a real date (spec.schema) and `environments` name
environments of mlgitops.yaml (spec.unknown-environment)."""

from __future__ import annotations

import datetime

from ..diagnostics import echo
from ..schemacheck import dotted
from ..spec.model import SCHEMA, ModelFile
from .base import FileCheck, FileContext
from .unknown_environment import RULE as UNKNOWN_ENVIRONMENT

NOT_A_DATE = SCHEMA  # a date the JSON Schema pattern cannot check


def check(f: ModelFile, ctx: FileContext) -> None:
    known = ctx.environments
    for i, waiver in enumerate(f.doc.data["spec"].get("policyExceptions", [])):
        where = ("spec", "policyExceptions", i)
        try:
            datetime.date.fromisoformat(waiver["expires"])
        except ValueError:
            ctx.report(f, where + ("expires",), NOT_A_DATE,
                       f"{dotted(where + ('expires',))}: {echo(waiver['expires'])} is not a date (YYYY-MM-DD)")
        for j, env in enumerate(waiver.get("environments", [])):
            if env not in known:
                ctx.report(f, where + ("environments", j), UNKNOWN_ENVIRONMENT,
                           f"{dotted(where + ('environments', j))}: unknown environment {echo(env)}; "
                           f"known: {', '.join(known)}")


CHECK = FileCheck((NOT_A_DATE, UNKNOWN_ENVIRONMENT), check)
