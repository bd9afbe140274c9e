"""spec.slo-target: an availability target whose error budget lets the fastest burn-rate alert
fire (a warning otherwise), and each latency percentile listed once (an error).

Two checks: check_rules registers them apart, in the order the findings were always reported
(the budget, the latency buckets of the objectives, the percentiles)."""

from __future__ import annotations

from ..config import Config
from ..diagnostics import ERROR, WARNING, Rule
from ..domain.burnrate import fastest_burn
from ..spec.model import ModelEnv
from .base import ModelCheck, Reporter

RULE = Rule("spec.slo-target", ERROR,
            "A latency percentile listed twice; or (a warning) an availability target whose error budget is so large "
            "that the fast-burn alert can never fire.")


def check_budget(me: ModelEnv, report: Reporter, config: Config) -> None:
    availability = me.model.slo.availability
    if availability is not None and (fast := fastest_burn(config.burn_rate_alerts)) * (100 - availability) / 100 >= 1:
        report(("slo", "availability"), RULE,
               f"availability {availability}% leaves an error budget so large that the {fast:g}x "
               "burn-rate alert can never fire", WARNING)


def check_percentiles(me: ModelEnv, report: Reporter, config: Config) -> None:
    percentiles = [o.percentile for o in me.model.slo.latency]
    for i, p in enumerate(percentiles):
        if p in percentiles[:i]:
            report(("slo", "latency", i, "percentile"), RULE, f"percentile {p:g} is listed twice")


BUDGET = ModelCheck((RULE,), check_budget)
PERCENTILES = ModelCheck((RULE,), check_percentiles)
