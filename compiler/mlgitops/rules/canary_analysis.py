"""spec.canary-analysis (warning): a canary with analysis enabled has something to measure."""

from __future__ import annotations

from ..config import Config
from ..diagnostics import WARNING, Rule
from ..spec.model import ModelEnv
from .base import ModelCheck, Reporter

RULE = Rule("spec.canary-analysis", WARNING,
            "A canary with analysis enabled but nothing to measure.",
            "Set slo.availability or slo.latency (p95), canary.analysis.successRate or latencyP95, or "
            "canary.analysis.enabled: false.")


def check(me: ModelEnv, report: Reporter, config: Config) -> None:
    m = me.model
    if m.canary_on and m.canary.analysis.enabled and not m.analysis_metrics():
        report(("canary",), RULE,
               "canary has no automated analysis: set slo.availability or slo.latency (p95), or "
               "canary.analysis.successRate / latencyP95, or canary.analysis.enabled: false")


CHECK = ModelCheck((RULE,), check)
