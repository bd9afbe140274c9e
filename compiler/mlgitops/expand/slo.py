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
from ..domain.burnrate import windows
from ..domain.sources import ERROR_CODES, SOURCES, matchers
from ..domain.units import seconds
from ..spec.model import ModelEnv
from .common import camel

RECORD = "mlgitops:slo_errors:ratio_rate"
AVAILABILITY_ANNOTATION = "mlgitops.dev/slo-availability"
LATENCY_ANNOTATION = "mlgitops.dev/slo-latency"


def slo_objectives(me: ModelEnv) -> list[tuple[str, int | None, dict | None]]:
    """(slo id, index in slo.latency or None, the latency objective or None) of every SLO the model
    sets, in rule order: `availability`, then `latency-p<percentile>` (a dot in it becomes `-`)."""
    s = me.settings["slo"]
    out: list[tuple[str, int | None, dict | None]] = [("availability", None, None)] if "availability" in s else []
    for i, objective in enumerate(s.get("latency", [])):
        out.append((f"latency-p{objective['percentile']:g}".replace(".", "-"), i, objective))
    return out


def sli_queries(me: ModelEnv) -> list[tuple[str, str, float]]:
    """(slo id, PromQL error ratio with $window, objective as a ratio) per SLO of the model."""
    s = me.settings["slo"]
    source = SOURCES.get(s["source"])
    out = []
    if "availability" in s:
        if s["source"] == "custom":
            bad, total = s["custom"]["errorQuery"], s["custom"]["totalQuery"]
        else:
            ident = source.identity(me.env.namespace, me.name)
            bad = f'sum(rate({source.requests}{{{matchers(ident, f"{source.code_label}=~{ERROR_CODES}")}}}[$window]))'
            total = f"sum(rate({source.requests}{{{matchers(ident)}}}[$window]))"
        out.append(("availability", f"({bad} or vector(0))\n/\n({total} > 0)", s["availability"] / 100))
    for slo_id, _index, objective in slo_objectives(me):
        if objective is None or source is None:
            continue
        bound = seconds(objective["threshold"])
        ident = source.identity(me.env.namespace, me.name)
        ok = [f"{source.code_label}!~{ERROR_CODES}"] if source.latency_ok_only else []
        good = f"sum(rate({source.histogram}_bucket{{{matchers(ident, *ok, source.le(bound))}}}[$window]))"
        total = f"sum(rate({source.histogram}_count{{{matchers(ident, *ok)}}}[$window]))"
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
                 for w in windows(config.burn_rate_alerts)]
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
        for tier in config.burn_rate_alerts:
            severity, wait = tier.severity, tier.wait
            pairs = [(p.long, p.short, p.burn_rate) for p in tier.pairs]
            conditions = []
            for long, short, factor in pairs:
                threshold = f"({factor:g} * {budget:g})"
                conditions.append(f"(\n  {RECORD}{long}{{{selector}}} > {threshold}\n  and\n"
                                  f"  {RECORD}{short}{{{selector}}} > {threshold}\n)")
            said = ", ".join(f"{l}/{s} at {f:g}x" for l, s, f in pairs)
            first_long = pairs[0][0]
            name = f"{camel(me.name)}{camel(slo_id)}BudgetBurn"
            alert = {
                "alert": name,
                "expr": "\n or \n".join(conditions) + "\n",
                "for": wait,
                "labels": {"severity": severity, "slo": slo_id, "model": me.name, "env": env},
                "annotations": {
                    "summary": f"{me.name} ({env}) is burning its {slo_id} error budget ({objective * 100:g}% objective)",
                    "description": (f"The {slo_id} error ratio of {me.name} in {me.env.namespace} is above a burn rate "
                                    f"that {'pages' if severity == 'page' else 'opens a ticket'} ({said}). "
                                    f"Burn rate over {first_long}: "
                                    f"{{{{ with query `{RECORD}{first_long}{{{selector}}} / {budget:g}` }}}}"
                                    f"{{{{ . | first | value | printf \"%.1f\" }}}}x{{{{ end }}}} "
                                    f"(1x spends the budget in exactly {window}). "
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
