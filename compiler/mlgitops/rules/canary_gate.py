"""spec.canary-gate-looser (warning): an explicit canary gate lets through a canary the SLO would
not.

The gates derived from the SLO (expand/analysis.py) hold the canary to the objectives
themselves; an explicit setting is for a stricter bar. A `latencyP95` of X is looser than an
objective "p<P> within T" when X >= T and 95 <= P, not both equal: a canary can pass it and still
break the objective (p95 <= 250ms says nothing of p99 <= 250ms). A `successRate` is looser when it
tolerates a higher error ratio than the one derived from slo.availability.
"""

from __future__ import annotations

import math

from ..config import Config
from ..diagnostics import WARNING, Rule, echo
from ..domain.units import seconds
from ..expand.analysis import derived_error_ratio_limit
from ..spec.model import ModelEnv
from ..spec.resolved import EXPLICIT_P95, LatencyObjective, Model
from .base import ModelCheck, Reporter

RULE = Rule("spec.canary-gate-looser", WARNING,
            "An explicit canary gate looser than the SLO: canary.analysis.latencyP95 that lets through more slow "
            "requests than a latency objective, or a successRate below the one derived from slo.availability.",
            "Without the setting the canary is gated on every SLO objective. A latencyP95 of X is looser than an "
            "objective pP within T when X >= T and 95 <= P (not both equal): a canary can pass it and break the "
            "objective. Remove the setting or make it stricter.")


def looser(threshold_seconds: float, percentile: float, objective: LatencyObjective) -> bool:
    """Whether a gate "p<percentile> within threshold" lets through more slow requests than
    `objective`: a threshold at least the objective's, a percentile at most its, not both equal."""
    same = math.isclose(threshold_seconds, objective.seconds)
    return ((same or threshold_seconds > objective.seconds) and percentile <= objective.percentile
            and not (same and percentile == objective.percentile))


def _why(model: Model, objective: LatencyObjective) -> str:
    """What still holds the canary to the objective."""
    if objective.percentile == 95:
        return "and replaces that objective's gate"
    if model.canary.analysis.latency_gates:
        return f"(the objective's own gate, {objective.slo_id}, still holds: remove latencyP95 or make it stricter)"
    return "and canary.analysis.latencyGates is false, so no gate holds the canary to the objective"


def check_latency(me: ModelEnv, report: Reporter) -> None:
    model = me.model
    explicit = model.canary.analysis.latency_p95
    if not explicit:
        return
    value = echo(explicit, quote=False)
    for objective in model.slo.latency:
        if looser(seconds(explicit), 95, objective):
            report(EXPLICIT_P95, RULE,
                   f"{value} is looser than the SLO objective p{objective.percentile:g} within "
                   f"{echo(objective.threshold, quote=False)}: it lets 5% of the canary's requests be slower than "
                   f"{value}, the objective {100 - objective.percentile:g}% {_why(model, objective)}")


def check_success_rate(me: ModelEnv, report: Reporter, config: Config) -> None:
    model = me.model
    explicit = model.canary.analysis.success_rate
    if explicit is None or model.slo.availability is None or "successRate" not in model.analysis_metrics():
        return
    derived = derived_error_ratio_limit(model, config)
    tolerated = (100 - explicit) / 100
    if tolerated > derived and not math.isclose(tolerated, derived):
        report(("canary", "analysis", "successRate"), RULE,
               f"{explicit:g} lets {tolerated * 100:g}% of the canary's requests fail, more than the "
               f"{derived * 100:g}% derived from slo.availability {model.slo.availability:g} (the fast-burn "
               "threshold); remove successRate or make it stricter")


def check(me: ModelEnv, report: Reporter, config: Config) -> None:
    if me.model.has_analysis:
        check_latency(me, report)
        check_success_rate(me, report, config)


CHECK = ModelCheck((RULE,), check)
