"""spec.slo-window: the SLO window is at least the longest burn-rate alert window."""

from __future__ import annotations

from ..config import Config
from ..diagnostics import ERROR, Rule, echo
from ..domain.burnrate import longest_window
from ..domain.units import duration_seconds
from ..spec.model import ModelEnv
from .base import ModelCheck, Reporter

RULE = Rule("spec.slo-window", ERROR, "An SLO window shorter than the longest burn-rate alert window.")


def check(me: ModelEnv, report: Reporter, config: Config) -> None:
    window = me.model.slo.window
    longest = longest_window(config.burn_rate_alerts)
    if duration_seconds(window) < duration_seconds(longest):
        report(("slo", "window"), RULE,
               f"SLO window {echo(window, quote=False)} is shorter than the longest alert window {longest} "
               f"({config.path} monitoring.burnRateAlerts), so the budget could never be spent as the alerts assume; "
               f"use a window of at least {longest} (the default is 30d)")


CHECK = ModelCheck((RULE,), check)
