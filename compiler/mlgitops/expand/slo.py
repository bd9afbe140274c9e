"""SLO recording rules and multi-window multi-burn-rate alerts (Google SRE workbook, ch. 5).

Every SLO is a ratio of bad to all requests, recorded over each window the alerts need.
Availability: 5xx over all requests. Latency: requests slower than the objective, read from
the histogram bucket at the objective (which the spec check proved is a bucket boundary).
The denominator is guarded with `> 0`, so no traffic gives no sample (no alert, no NaN), and
the numerator with `or vector(0)`, so traffic without any 5xx series gives 0, not nothing.
"""

from __future__ import annotations

from .. import names
from ..config import Config
from ..spec.checks import seconds
from ..spec.model import ModelEnv
from .common import camel

WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
# (severity, [(long window, short window, burn factor)], for) - the workbook's defaults for 30 days.
ALERTS = (
    ("page", [("1h", "5m", 14.4), ("6h", "30m", 6)], "2m"),
    ("ticket", [("1d", "2h", 3), ("3d", "6h", 1)], "15m"),
)
RECORD = "mlgitops:slo_errors:ratio_rate"
AVAILABILITY_ANNOTATION = "mlgitops.dev/slo-availability"
LATENCY_ANNOTATION = "mlgitops.dev/slo-latency"


def _le(source: str, bound: float) -> str:
    """The `le` matcher for a bucket bound, written so it matches Prometheus 2 and 3 spellings."""
    if source == "istio":
        ms = bound * 1000
        text = f"{ms:g}"
        return f'le=~"{text}(\\\\.0)?"' if "." not in text else f'le="{text}"'
    text = repr(float(bound))
    return f'le="{text}"'


def sli_queries(me: ModelEnv) -> list[tuple[str, str, float]]:
    """(slo id, PromQL error ratio with $window, objective as a ratio) per SLO of the model."""
    s = me.settings["slo"]
    ns = me.env.namespace
    istio = f'reporter="destination",destination_workload_namespace="{ns}",destination_canonical_service="{me.name}"'
    kserve = f'namespace="{ns}",model_name="{me.name}"'
    out = []
    if "availability" in s:
        if s["source"] == "custom":
            bad, total = s["custom"]["errorQuery"], s["custom"]["totalQuery"]
        else:
            bad = f'sum(rate(istio_requests_total{{{istio},response_code=~"5.."}}[$window]))'
            total = f"sum(rate(istio_requests_total{{{istio}}}[$window]))"
        out.append(("availability", f"({bad} or vector(0))\n/\n({total} > 0)", s["availability"] / 100))
    for objective in s.get("latency", []):
        bound = seconds(objective["threshold"])
        if s["source"] == "istio":
            ok = f'{istio},response_code!~"5.."'
            good = f"sum(rate(istio_request_duration_milliseconds_bucket{{{ok},{_le('istio', bound)}}}[$window]))"
            total = f"sum(rate(istio_request_duration_milliseconds_count{{{ok}}}[$window]))"
        elif s["source"] == "kserve":
            good = f"sum(rate(request_predict_seconds_bucket{{{kserve},{_le('kserve', bound)}}}[$window]))"
            total = f"sum(rate(request_predict_seconds_count{{{kserve}}}[$window]))"
        else:
            continue
        slo_id = f"latency-p{objective['percentile']:g}".replace(".", "-")
        out.append((slo_id, f"1 - (\n  ({good} or vector(0))\n  /\n  ({total} > 0)\n)",
                    objective["percentile"] / 100))
    return out


def prometheus_rule(me: ModelEnv, config: Config) -> dict | None:
    slis = sli_queries(me)
    if not slis:
        return None
    env = me.env.name
    window = me.settings["slo"]["window"]
    groups = []
    for slo_id, query, objective in slis:
        labels = {"model": me.name, "env": env, "slo": slo_id}
        rules = [{"record": f"{RECORD}{w}", "expr": query.replace("$window", w) + "\n", "labels": dict(labels)}
                 for w in WINDOWS]
        groups.append({"name": f"{me.name}-{slo_id}-sli", "rules": rules})
        budget = round(1 - objective, 10)
        selector = f'model="{me.name}",env="{env}",slo="{slo_id}"'
        budget_rules = [
            {"record": "mlgitops:slo_objective:ratio", "expr": f"vector({objective:g})\n", "labels": dict(labels)},
            {"record": f"mlgitops:slo_errors:ratio_rate{window}",
             "expr": query.replace("$window", window) + "\n", "labels": dict(labels)},
            {"record": "mlgitops:slo_error_budget:remaining_ratio",
             "expr": f"1 - (mlgitops:slo_errors:ratio_rate{window}{{{selector}}} / {budget:g})\n",
             "labels": dict(labels)},
        ]
        # The SLO-window ratio is expensive; once every 5 minutes is plenty for a budget.
        groups.append({"name": f"{me.name}-{slo_id}-budget", "interval": "5m", "rules": budget_rules})
        alerts = []
        for severity, pairs, wait in ALERTS:
            conditions = []
            for long, short, factor in pairs:
                threshold = f"({factor:g} * {budget:g})"
                conditions.append(f"(\n  {RECORD}{long}{{{selector}}} > {threshold}\n  and\n"
                                  f"  {RECORD}{short}{{{selector}}} > {threshold}\n)")
            windows = ", ".join(f"{l}/{s} at {f:g}x" for l, s, f in pairs)
            name = f"{camel(me.name)}{camel(slo_id)}BudgetBurn"
            alert = {
                "alert": name,
                "expr": "\n or \n".join(conditions) + "\n",
                "for": wait,
                "labels": {"severity": severity, "slo": slo_id, "model": me.name, "env": env},
                "annotations": {
                    "summary": f"{me.name} ({env}) is burning its {slo_id} error budget ({objective * 100:g}% objective)",
                    "description": (f"The {slo_id} error ratio of {me.name} in {me.env.namespace} is above a burn rate "
                                    f"that {'pages' if severity == 'page' else 'opens a ticket'} ({windows}). "
                                    f"Remaining budget over {window}: "
                                    f"{{{{ with query `mlgitops:slo_error_budget:remaining_ratio{{{selector}}}` }}}}"
                                    f"{{{{ . | first | value | humanizePercentage }}}}{{{{ end }}}}."),
                },
            }
            if config.runbook_url:
                alert["annotations"]["runbook_url"] = f"{config.runbook_url}/{name}"
            alerts.append(alert)
        groups.append({"name": f"{me.name}-{slo_id}-alerts", "rules": alerts})
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": names.slo_rule(me.name), "annotations": objective_annotations(me)},
        "spec": {"groups": groups},
    }


def objective_annotations(me: ModelEnv) -> dict:
    """The objectives the rules implement, stated where a per-object policy can read them
    (policies/slo-objectives.yaml): availability in percent, latency as `p<percentile>=<threshold>`."""
    s = me.settings["slo"]
    out = {}
    if "availability" in s:
        out[AVAILABILITY_ANNOTATION] = str(s["availability"])
    if s.get("latency"):
        out[LATENCY_ANNOTATION] = ",".join(f"p{o['percentile']:g}={o['threshold']}" for o in s["latency"])
    return out
