"""spec.canary-analysis (warning): a canary with analysis enabled has something to measure."""

from __future__ import annotations

from ..config import Config
from ..diagnostics import WARNING, Rule
from ..spec.model import ModelEnv
from .base import ModelCheck, Reporter

RULE = Rule("spec.canary-analysis", WARNING,
            "A canary with analysis enabled but nothing to measure.",
            "Set slo.availability or slo.latency, canary.analysis.successRate or latencyP95, or "
            "canary.analysis.enabled: false (a latency objective gates the canary unless "
            "canary.analysis.latencyGates is false).")


def check(me: ModelEnv, report: Reporter, config: Config) -> None:
    m = me.model
    if not (m.canary_on and m.canary.analysis.enabled) or m.analysis_metrics():
        return
    if m.slo.latency and not m.canary.analysis.latency_gates:
        report(("canary", "analysis", "latencyGates"), RULE,
               "canary has no automated analysis: the SLO's latency objectives are not gated; set "
               "canary.analysis.latencyGates: true, or latencyP95 / successRate, or canary.analysis.enabled: false")
        return
    report(("canary",), RULE,
           "canary has no automated analysis: set slo.availability or slo.latency, or "
           "canary.analysis.successRate / latencyP95, or canary.analysis.enabled: false")


CHECK = ModelCheck((RULE,), check)
