"""spec.latency-bucket: a latency threshold is a bucket boundary of the source's histogram, for
the SLO's objectives and for the canary's explicit p95 gate (read from the SLO source's
histogram, the model server's for a custom SLO: expand/analysis.py gate_source)."""

from __future__ import annotations

import math

from ..config import Config
from ..diagnostics import ERROR, Rule, echo
from ..domain.sources import SOURCES
from ..domain.units import say_seconds, seconds
from ..expand.analysis import gate_source
from ..spec.model import ModelEnv
from ..spec.resolved import EXPLICIT_P95
from .base import ModelCheck, Path, Reporter

RULE = Rule("spec.latency-bucket", ERROR,
            "A latency threshold that is not a bucket boundary of the source's histogram.",
            "The SLI counts requests below a bucket boundary; between boundaries it would never match one. The "
            "message names the nearest boundaries.")


def _check_bucket(report: Reporter, path: Path, threshold: str, source: str, config: Config) -> None:
    if source not in SOURCES:
        return
    buckets = config.buckets(source)
    declared = " (monitoring.histogramBuckets)" if source in config.histogram_buckets else ""
    value = seconds(threshold)
    if any(math.isclose(value, b) for b in buckets):
        return
    lower = max((b for b in buckets if b < value), default=None)
    upper = min((b for b in buckets if b > value), default=None)
    near = " and ".join(say_seconds(b) for b in (lower, upper) if b is not None)
    report(path, RULE,
           f"{echo(threshold, quote=False)} is not a bucket boundary of the {source} latency histogram{declared}, so the SLI would "
           f"never match a bucket; nearest boundaries: {near}")


def check_objectives(me: ModelEnv, report: Reporter, config: Config) -> None:
    slo = me.model.slo
    for objective in slo.latency:
        _check_bucket(report, ("slo", "latency", objective.position, "threshold"), objective.threshold, slo.source, config)


def check_analysis(me: ModelEnv, report: Reporter, config: Config) -> None:
    latency95 = me.model.canary.analysis.latency_p95
    if latency95:
        _check_bucket(report, EXPLICIT_P95, latency95, gate_source(me.model).name, config)


OBJECTIVES = ModelCheck((RULE,), check_objectives)
ANALYSIS = ModelCheck((RULE,), check_analysis)
