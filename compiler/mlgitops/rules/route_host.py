"""spec.route-host: a route without a host in an environment (hosts are usually set per
environment, so the schema cannot require one)."""

from __future__ import annotations

from ..config import Config
from ..diagnostics import ERROR, Rule
from ..expand import route
from ..spec.model import ModelEnv
from .base import ModelCheck, Reporter

RULE = Rule("spec.route-host", ERROR, "A route (`route`) with no host in an environment it is enabled in.")


def check(me: ModelEnv, report: Reporter, config: Config) -> None:
    settings = route.settings(me.model)
    if settings.active and settings.host is None:
        report(("route",), RULE, f"the route has no host in environment {me.env.name}: set route.host "
                                 f"(or environments.{me.env.name}.route.host, or enabled: false there)")


CHECK = ModelCheck((RULE,), check)
