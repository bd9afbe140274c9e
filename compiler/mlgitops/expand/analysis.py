"""The canary AnalysisTemplate, derived from the same objectives as the SLOs.

Both metrics read the canary pods only: series carry `rollouts_pod_template_hash` (copied from
the pod label by the monitors' `podTargetLabels`) and the Rollout passes the canary's hash as
`canary-hash` (`podTemplateHashValue: Latest`). Service-wide series would mix stable and canary
pods in a replica-based canary and dilute a bad canary by the stable traffic.

- error-ratio: 5xx share of the requests the canary pods' own Istio sidecars received
  (`reporter="destination"`), scraped by the `<model>-mesh` PodMonitor; the `job` matcher keeps a
  second, cluster-wide scrape of the same sidecars from being counted twice.
- p95-latency: `request_predict_seconds` from the model server, scraped by the ServiceMonitor
  (`job="<model>-predictor"`).

Both queries return an EMPTY vector below `canary.analysis.minRequests` requests in the 2m
window, and both conditions are guarded, so too little traffic or "no data" (empty result, or
NaN) matches neither condition and is Inconclusive: the Rollout pauses for a human instead of
promoting blind. `or vector(0)` only fills the numerator (no 5xx series yet = 0 errors); the
guarded denominator decides whether there is a result at all.
"""

from __future__ import annotations

from .. import names
from ..config import Config
from ..domain.burnrate import fastest_burn
from ..domain.units import seconds
from ..spec.model import ModelEnv
from ..spec.resolved import Model
from .generator import ANY, MODEL_FILE, KindGenerator, Path, settings_path

_GUARD = "len(result) > 0 && !isNaN(result[0])"
# Query window: at least 4 samples at the monitors' 30s scrape interval (slo.md s.5.2).
WINDOW = "2m"


def analysis_template(me: ModelEnv, config: Config) -> dict:
    model = me.model
    thresholds = model.analysis_metrics()
    settings = model.canary.analysis
    timing = {"initialDelay": settings.initial_delay, "interval": settings.interval,
              "failureLimit": settings.failure_limit, "inconclusiveLimit": settings.inconclusive_limit}
    minimum = int(settings.min_requests)
    metrics = []
    if "successRate" in thresholds:
        limit = error_ratio_limit(model, config)
        metrics.append(_metric("error-ratio", f"{limit:g}", "<=", ">", error_ratio_query(model.name, minimum),
                               config, timing))
    if "latencyP95" in thresholds:
        limit = seconds(thresholds["latencyP95"])
        metrics.append(_metric("p95-latency", f"{limit:g}", "<=", ">", p95_latency_query(model.name, minimum),
                               config, timing))
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisTemplate",
        "metadata": {"name": names.analysis_template(model.name)},
        "spec": {"args": [{"name": "namespace"}, {"name": "canary-hash"}], "metrics": metrics},
    }


def error_ratio_query(model: str, min_requests: int) -> str:
    """5xx / all requests received by the canary pods' sidecars; empty below min_requests."""
    selector = (f'job="{{{{args.namespace}}}}/{names.mesh_monitor(model)}",reporter="destination",'
                'rollouts_pod_template_hash="{{args.canary-hash}}"')
    return (f'(sum(increase(istio_requests_total{{{selector},response_code=~"5.."}}[{WINDOW}])) or vector(0))\n'
            f'/\n(sum(increase(istio_requests_total{{{selector}}}[{WINDOW}])) >= {min_requests})\n')


def p95_latency_query(model: str, min_requests: int) -> str:
    """p95 of the canary pods' predict latency (seconds); empty below min_requests.

    `job` is the ServiceMonitor's (Prometheus Operator names it after the Service): a second
    scrape of the same pods would not change the quantile, but would double the traffic guard.
    """
    selector = (f'job="{names.predictor(model)}",namespace="{{{{args.namespace}}}}",'
                'rollouts_pod_template_hash="{{args.canary-hash}}"')
    return (f'histogram_quantile(0.95, sum by (le) (rate(request_predict_seconds_bucket{{{selector}}}[{WINDOW}])))\n'
            f'and on ()\n(sum(increase(request_predict_seconds_count{{{selector}}}[{WINDOW}])) >= {min_requests})\n')


def error_ratio_limit(model: Model, config: Config) -> float:
    """The canary's tolerated 5xx ratio.

    An explicit `canary.analysis.successRate` is taken literally. Derived from the SLO, it is
    the fast-burn page threshold (14.4 x the error budget): a canary that would page if it were
    the whole service fails; one that merely spends budget a little faster than planned does
    not, because a 2-minute window over a fraction of the traffic is too noisy for the SLO itself.
    """
    explicit = model.canary.analysis.success_rate
    if explicit is not None:
        return round((100 - explicit) / 100, 10)
    assert model.slo.availability is not None, "successRate is derived from slo.availability"
    budget = (100 - model.slo.availability) / 100
    return round(min(1.0, fastest_burn(config.burn_rate_alerts) * budget), 10)


def _metric(name: str, limit: str, ok: str, bad: str, query: str, config: Config, timing: dict) -> dict:
    return {
        "name": name,
        **timing,
        "successCondition": f"{_GUARD} && result[0] {ok} {limit}",
        "failureCondition": f"{_GUARD} && result[0] {bad} {limit}",
        "provider": {"prometheus": {"address": config.prometheus_address, "timeout": 30, "query": query}},
    }


def _limit(me: ModelEnv, obj: dict, path: Path) -> Path:
    """A condition's threshold: the explicit canary setting, else the SLO objective it is derived
    from (Model.analysis_metrics)."""
    name = obj["spec"]["metrics"][path[2]]["name"]
    explicit = ("canary", "analysis", "successRate" if name == "error-ratio" else "latencyP95")
    if me.source_path(explicit)[-1] == explicit[-1]:
        return me.source_path(explicit)
    if name == "error-ratio":
        return me.source_path(("slo", "availability"))
    objective = me.model.slo.latency_at(95)
    if objective is not None:
        return me.source_path(("slo", "latency", objective.position, "threshold"))
    return me.source_path(("slo",))


def _build(me: ModelEnv, config: Config) -> list[dict]:
    return [analysis_template(me, config)]


_AT = "AnalysisTemplate"
_METRIC = ("spec", "metrics", ANY)
GENERATOR = KindGenerator(
    name="analysis",
    kinds=(_AT,),
    file=MODEL_FILE,
    applies=lambda model: model.has_analysis,
    build=_build,
    derived=(
        (_AT, _METRIC + ("successCondition",), _limit),
        (_AT, _METRIC + ("failureCondition",), _limit),
        (_AT, _METRIC + ("provider", "prometheus", "query"), settings_path("slo")),
    ),
    constants=(
        (_AT, ("spec", "args", ANY, "name")),
        (_AT, _METRIC + ("name",)),
        (_AT, _METRIC + ("provider", "prometheus", "address")),
        (_AT, _METRIC + ("provider", "prometheus", "timeout")),
    ),
    name_references=({"kind": _AT, "group": "argoproj.io", "fieldSpecs": [
        {"path": "spec/strategy/canary/analysis/templates/templateName", "kind": "Rollout"},
        {"path": "spec/strategy/canary/steps/analysis/templates/templateName", "kind": "Rollout"},
    ]},),
)
