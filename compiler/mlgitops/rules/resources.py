"""spec.resources: a request above its limit is refused by the API server."""

from __future__ import annotations

from ..config import Config
from ..diagnostics import ERROR, Rule, echo
from ..domain.units import quantity
from ..spec.model import ModelEnv
from .base import ModelCheck, Reporter

RULE = Rule("spec.resources", ERROR, "A CPU or memory request above its limit (the API server refuses it).")


def check(me: ModelEnv, report: Reporter, config: Config) -> None:
    res = me.model.resources
    for kind in ("cpu", "memory"):
        req, lim = res.requests.get(kind), res.limits.get(kind)
        if req is None or lim is None:
            continue
        requested, limit = quantity(req), quantity(lim)
        if requested is not None and limit is not None and requested > limit:
            report(me.blame(("resources", "requests", kind), ("resources", "limits", kind)), RULE,
                   f"request {echo(req, quote=False)} is greater than the limit {echo(lim, quote=False)}")


CHECK = ModelCheck((RULE,), check)
