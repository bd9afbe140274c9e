"""The canary AnalysisTemplate: the SLOs' own SLIs, measured on the canary pods.

Every gate reads the metric its SLO reads, with the SLI's filters, so a canary is judged by what
the SLO promises and not by a neighbouring number (slo.md s.4):

- error-ratio: 5xx share of `istio_requests_total` as the canary pods' own sidecars report it
  (`reporter="destination"`), the availability SLI's counter.
- latency-p<percentile>: one gate per latency objective of the SLO, from the SLO source's
  histogram with the SLI's filters (Istio: `istio_request_duration_milliseconds`, non-5xx
  requests only, milliseconds; KServe: `request_predict_seconds`): the share of canary requests
  slower than the objective's threshold, `1 - bucket(le=threshold) / count`, exact because the
  threshold is a bucket boundary (rules/latency_bucket.py). The gate fails when that share is
  above `1 - percentile/100`, that is when the canary's percentile is above the threshold. An
  explicit `canary.analysis.latencyP95` is a p95 gate of the same form (it replaces the gate of a
  p95 objective); `canary.analysis.latencyGates: false` leaves only that one.

Canary pods only: series carry `rollouts_pod_template_hash` (copied from the pod label by the
monitors' `podTargetLabels`) and the Rollout passes the canary's hash as `canary-hash`
(`podTemplateHashValue: Latest`). Service-wide series would mix stable and canary pods in a
replica-based canary and dilute a bad canary by the stable traffic. That is also why the Istio
gates read the model's own `<model>-mesh` PodMonitor (expand/monitoring.py `mesh_job`) even when
the SLO reads a platform mesh scrape: only that monitor copies the hash. Every query selects the
`job` of its scrape, so a second scrape of the same pods is not counted twice.

With a transformer the SLO is end to end (the transformer pods carry the model's Istio
canonical name, expand/inferenceservice.py), but the Rollout canaries only the predictor: the
gates read the canary predictor pods (the transformer pods carry no Rollout hash), and do not
select the SLI's `destination_canonical_service`, which on the predictor is `<model>-predictor`.

Every query returns an EMPTY vector below `canary.analysis.minRequests` requests (the SLI's
denominator) in the 2m window, and both conditions are guarded, so too little traffic or "no
data" (empty result, or NaN) matches neither condition and is Inconclusive: the Rollout pauses
for a human instead of promoting blind. `or vector(0)` only fills the numerator (no 5xx series
yet = 0 errors; no request within the threshold = all slow); the guarded denominator decides
whether there is a result at all.
"""

from __future__ import annotations

from .. import names
from ..config import Config
from ..domain.burnrate import fastest_burn
from ..domain.sources import ERROR_CODES, ISTIO, KSERVE, SOURCES, Source, matchers
from ..spec.model import ModelEnv
from ..spec.resolved import LatencyGate, Model
from .generator import ANY, MODEL_FILE, KindGenerator, Path
from .monitoring import mesh_job, predictor_job

_GUARD = "len(result) > 0 && !isNaN(result[0])"
# Query window: at least 4 samples at the monitors' 30s scrape interval (slo.md s.5.2).
WINDOW = "2m"
ERROR_RATIO = "error-ratio"


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
        metrics.append(_metric(ERROR_RATIO, limit, error_ratio_query(model, minimum), config, timing))
    for gate in thresholds.get("latency", ()):
        metrics.append(_metric(gate.name, latency_limit(gate), latency_query(model, gate, minimum), config, timing))
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisTemplate",
        "metadata": {"name": names.analysis_template(model.name)},
        "spec": {"args": [{"name": "namespace"}, {"name": "canary-hash"}], "metrics": metrics},
    }


def gate_source(model: Model) -> Source:
    """The source whose histogram the latency gates read: the SLO's; for a custom SLO (which has
    no latency objective, rules/slo_source.py) the model server's own, for an explicit latencyP95."""
    return SOURCES.get(model.slo.source, KSERVE)


def canary_selector(model: Model, source: Source) -> dict[str, str]:
    """The labels that pick the canary pods' series of `source`: the job of the scrape that copies
    the pod-template hash, the SLI's filters that still hold on the predictor pods, the hash."""
    if source is ISTIO:
        return {"job": mesh_job(model), "reporter": "destination",
                "rollouts_pod_template_hash": "{{args.canary-hash}}"}
    return {"job": predictor_job(model), **source.identity(model.namespace, model.name),
            "rollouts_pod_template_hash": "{{args.canary-hash}}"}


def error_ratio_query(model: Model, min_requests: int) -> str:
    """5xx / all requests received by the canary pods' sidecars; empty below min_requests."""
    counter, code = ISTIO.requests, ISTIO.code_label
    selector = canary_selector(model, ISTIO)
    errors = f"sum(increase({counter}{{{matchers(selector, f'{code}=~{ERROR_CODES}')}}}[{WINDOW}]))"
    total = f"sum(increase({counter}{{{matchers(selector)}}}[{WINDOW}]))"
    return f"({errors} or vector(0))\n/\n({total} >= {min_requests})\n"


def latency_query(model: Model, gate: LatencyGate, min_requests: int) -> str:
    """Share of the canary's requests slower than the gate's threshold, with the SLI's filters
    (Istio: non-5xx only, as the latency SLO counts them); empty below min_requests requests."""
    source = gate_source(model)
    selector = canary_selector(model, source)
    ok = [f"{source.code_label}!~{ERROR_CODES}"] if source.latency_ok_only else []
    within = (f"sum(increase({source.histogram}_bucket{{{matchers(selector, *ok, source.le(gate.seconds))}}}"
              f"[{WINDOW}]))")
    total = f"sum(increase({source.histogram}_count{{{matchers(selector, *ok)}}}[{WINDOW}]))"
    return f"1 - (\n  ({within} or vector(0))\n  /\n  ({total} >= {min_requests})\n)\n"


def latency_limit(gate: LatencyGate) -> float:
    """The tolerated share of canary requests slower than the threshold: above it, the canary's
    percentile is above the threshold. The SLO objective itself, not a burn rate: a latency
    objective already says what share may be slow at any moment, and a canary that is slower
    than the objective with enough requests is a regression."""
    return round(1 - gate.percentile / 100, 10)


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
    return derived_error_ratio_limit(model, config)


def derived_error_ratio_limit(model: Model, config: Config) -> float:
    """The error-ratio limit derived from slo.availability (see error_ratio_limit)."""
    assert model.slo.availability is not None, "successRate is derived from slo.availability"
    budget = (100 - model.slo.availability) / 100
    return round(min(1.0, fastest_burn(config.burn_rate_alerts) * budget), 10)


def _metric(name: str, limit: float, query: str, config: Config, timing: dict) -> dict:
    """A metric that succeeds at or below `limit` and fails above it (both guarded)."""
    return {
        "name": name,
        **timing,
        "successCondition": f"{_GUARD} && result[0] <= {limit:g}",
        "failureCondition": f"{_GUARD} && result[0] > {limit:g}",
        "provider": {"prometheus": {"address": config.prometheus_address, "timeout": 30, "query": query}},
    }


def _gate(me: ModelEnv, obj: dict, path: Path) -> LatencyGate | None:
    name = obj["spec"]["metrics"][path[2]]["name"]
    return next((g for g in me.model.latency_gates() if g.name == name), None)


def _limit(me: ModelEnv, obj: dict, path: Path) -> Path:
    """A condition's threshold: the explicit canary setting, else the SLO objective it is derived
    from (Model.analysis_metrics)."""
    gate = _gate(me, obj, path)
    if gate is not None:
        return me.source_path(gate.setting)
    explicit = ("canary", "analysis", "successRate")
    if me.source_path(explicit)[-1] == explicit[-1]:
        return me.source_path(explicit)
    return me.source_path(("slo", "availability"))


def _query(me: ModelEnv, obj: dict, path: Path) -> Path:
    """A latency query reads the bucket at its threshold; the error ratio, the SLO's source."""
    gate = _gate(me, obj, path)
    return me.source_path(gate.setting if gate is not None else ("slo",))


def _name(me: ModelEnv, obj: dict, path: Path) -> Path:
    """A latency gate is named after its percentile (the SLO objective's, or latencyP95); the
    error ratio after the threshold it checks."""
    gate = _gate(me, obj, path)
    if gate is None:
        return _limit(me, obj, path)
    return me.source_path(gate.setting if gate.explicit else gate.setting[:-1] + ("percentile",))


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
        (_AT, _METRIC + ("provider", "prometheus", "query"), _query),
        (_AT, _METRIC + ("name",), _name),
    ),
    constants=(
        (_AT, ("spec", "args", ANY, "name")),
        (_AT, _METRIC + ("provider", "prometheus", "address")),
        (_AT, _METRIC + ("provider", "prometheus", "timeout")),
    ),
    name_references=({"kind": _AT, "group": "argoproj.io", "fieldSpecs": [
        {"path": "spec/strategy/canary/analysis/templates/templateName", "kind": "Rollout"},
        {"path": "spec/strategy/canary/steps/analysis/templates/templateName", "kind": "Rollout"},
    ]},),
)
