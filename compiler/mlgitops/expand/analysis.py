"""The canary AnalysisTemplate, derived from the same objectives as the SLOs.

Both conditions are set and guarded, so "no data" (empty result or NaN from 0/0) matches
neither and is Inconclusive: the Rollout pauses for a human instead of promoting blind.
"""

from __future__ import annotations

from .. import names
from ..config import Config
from ..spec.checks import FAST_BURN, analysis_metrics, seconds
from ..spec.model import ModelEnv

_GUARD = "len(result) > 0 && !isNaN(result[0])"


def analysis_template(me: ModelEnv, config: Config) -> dict:
    thresholds = analysis_metrics(me)
    settings = me.settings["canary"]["analysis"]
    timing = {"initialDelay": settings["initialDelay"], "interval": settings["interval"],
              "failureLimit": settings["failureLimit"], "inconclusiveLimit": settings["inconclusiveLimit"]}
    args = [{"name": "namespace"}]
    metrics = []
    if "successRate" in thresholds:
        args.append({"name": "service-name"})
        limit = error_ratio_limit(me)
        selector = ('reporter="destination",destination_service_namespace="{{args.namespace}}",'
                    'destination_service_name="{{args.service-name}}"')
        query = (f'(sum(rate(istio_requests_total{{{selector},response_code=~"5.."}}[2m])) or vector(0))\n'
                 f'/\nsum(rate(istio_requests_total{{{selector}}}[2m]))\n')
        metrics.append(_metric("error-ratio", f"{limit:g}", "<=", ">", query, config, timing))
    if "latencyP95" in thresholds:
        args.append({"name": "canary-hash"})
        limit = seconds(thresholds["latencyP95"])
        query = ('histogram_quantile(0.95, sum by (le) (rate(request_predict_seconds_bucket{'
                 'namespace="{{args.namespace}}",rollouts_pod_template_hash="{{args.canary-hash}}"}[2m])))\n')
        metrics.append(_metric("p95-latency", f"{limit:g}", "<=", ">", query, config, timing))
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisTemplate",
        "metadata": {"name": names.analysis_template(me.name)},
        "spec": {"args": args, "metrics": metrics},
    }


def error_ratio_limit(me: ModelEnv) -> float:
    """The canary's tolerated 5xx ratio.

    An explicit `canary.analysis.successRate` is taken literally. Derived from the SLO, it is
    the fast-burn page threshold (14.4 x the error budget): a canary that would page if it were
    the whole service fails; one that merely spends budget a little faster than planned does
    not, because a 2-minute window over a fraction of the traffic is too noisy for the SLO itself.
    """
    explicit = me.settings["canary"]["analysis"].get("successRate")
    if explicit is not None:
        return round((100 - explicit) / 100, 10)
    budget = (100 - me.settings["slo"]["availability"]) / 100
    return round(min(1.0, FAST_BURN * budget), 10)


def _metric(name: str, limit: str, ok: str, bad: str, query: str, config: Config, timing: dict) -> dict:
    return {
        "name": name,
        **timing,
        "successCondition": f"{_GUARD} && result[0] {ok} {limit}",
        "failureCondition": f"{_GUARD} && result[0] {bad} {limit}",
        "provider": {"prometheus": {"address": config.prometheus_address, "timeout": 30, "query": query}},
    }
