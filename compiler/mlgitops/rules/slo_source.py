"""spec.slo-source: the SLO's metric source can measure its objectives (availability needs a
request counter with a status code, latency a histogram), and `custom` comes with its queries."""

from __future__ import annotations

from ..config import Config
from ..diagnostics import ERROR, Rule
from ..domain.sources import AVAILABILITY_SOURCES, SOURCES
from ..spec.model import ModelEnv
from .base import ModelCheck, Reporter

RULE = Rule("spec.slo-source", ERROR, "An SLO its metric source cannot measure, or source custom without queries.")


def check(me: ModelEnv, report: Reporter, config: Config) -> None:
    slo = me.model.slo
    source = slo.source
    if slo.availability is not None and source not in AVAILABILITY_SOURCES:
        report(me.blame(("slo", "availability"), ("slo", "source")), RULE,
               f"source '{source}' has no request counter with a status code, so it cannot measure availability "
               "(use source: istio or custom)")
    if source == "custom" and not slo.custom:
        report(("slo", "source"), RULE, "source 'custom' needs slo.custom.errorQuery and totalQuery")
    if source not in SOURCES and slo.latency:
        report(me.blame(("slo", "latency"), ("slo", "source")), RULE,
               f"source '{source}' has no latency histogram, so it cannot measure latency objectives "
               "(use source: istio or kserve, or express latency as a custom availability SLI)")


CHECK = ModelCheck((RULE,), check)
