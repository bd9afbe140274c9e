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
from ..spec.model import ModelEnv
from ..spec.resolved import AVAILABILITY, Model
from .common import camel
from .monitoring import sli_job
from .generator import ANY, MONITORING_FILE, KindGenerator, Path, settings_path

RECORD = "mlgitops:slo_errors:ratio_rate"
AVAILABILITY_ANNOTATION = "mlgitops.dev/slo-availability"
LATENCY_ANNOTATION = "mlgitops.dev/slo-latency"


def sli_selector(model: Model, config: Config) -> dict[str, str]:
    """The labels that pick the model's SLI series: the scrape's job (the collection the SLO
    relies on, expand/monitoring.py) and the source's identity labels."""
    source = SOURCES[model.slo.source]
    job = sli_job(model, config)
    return {**({"job": job} if job else {}), **source.identity(model.namespace, model.name)}


def sli_queries(model: Model, config: Config) -> list[tuple[str, str, float]]:
    """(slo id, PromQL error ratio with $window, objective as a ratio) per SLO of the model."""
    slo = model.slo
    source = SOURCES.get(slo.source)  # None: source custom
    out = []
    if slo.availability is not None:
        if source is None or source.requests is None:
            bad, total = slo.error_query, slo.total_query
        else:
            ident = sli_selector(model, config)
            bad = f'sum(rate({source.requests}{{{matchers(ident, f"{source.code_label}=~{ERROR_CODES}")}}}[$window]))'
            total = f"sum(rate({source.requests}{{{matchers(ident)}}}[$window]))"
        out.append((AVAILABILITY, f"({bad} or vector(0))\n/\n({total} > 0)", slo.availability / 100))
    for slo_id, objective in slo.objectives():
        if objective is None or source is None:
            continue
        ident = sli_selector(model, config)
        ok = [f"{source.code_label}!~{ERROR_CODES}"] if source.latency_ok_only else []
        good = f"sum(rate({source.histogram}_bucket{{{matchers(ident, *ok, source.le(objective.seconds))}}}[$window]))"
        total = f"sum(rate({source.histogram}_count{{{matchers(ident, *ok)}}}[$window]))"
        out.append((slo_id, f"1 - (\n  ({good} or vector(0))\n  /\n  ({total} > 0)\n)",
                    objective.percentile / 100))
    return out


def has_sli(model: Model) -> bool:
    """Whether sli_queries(model) is not empty (without writing the queries): an availability
    objective, or a latency objective of a source with a histogram."""
    return model.slo.availability is not None or (bool(model.slo.latency) and model.slo.source in SOURCES)


def prometheus_rule(me: ModelEnv, config: Config) -> dict | None:
    model = me.model
    slis = sli_queries(model, config)
    if not slis:
        return None
    env = model.environment
    window = model.slo.window
    groups = []
    for slo_id, query, objective in slis:
        labels = {"model": model.name, "env": env, "slo": slo_id}
        rules = [{"record": f"{RECORD}{w}", "expr": query.replace("$window", w) + "\n", "labels": dict(labels)}
                 for w in windows(config.burn_rate_alerts)]
        groups.append({"name": f"{model.name}-{slo_id}-sli", "rules": rules})
        budget = round(1 - objective, 10)
        selector = f'model="{model.name}",env="{env}",slo="{slo_id}"'
        budget_rules = [
            {"record": "mlgitops:slo_objective:ratio", "expr": f"vector({objective:g})\n", "labels": dict(labels)},
            {"record": f"mlgitops:slo_errors:ratio_rate{window}",
             "expr": query.replace("$window", window) + "\n", "labels": dict(labels)},
            {"record": "mlgitops:slo_error_budget:remaining_ratio",
             "expr": f"1 - (mlgitops:slo_errors:ratio_rate{window}{{{selector}}} / {budget:g})\n",
             "labels": dict(labels)},
        ]
        # The SLO-window ratio is expensive; once every 5 minutes is plenty for a budget.
        groups.append({"name": f"{model.name}-{slo_id}-budget", "interval": "5m", "rules": budget_rules})
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
            name = f"{camel(model.name)}{camel(slo_id)}BudgetBurn"
            alert: dict = {
                "alert": name,
                "expr": "\n or \n".join(conditions) + "\n",
                "for": wait,
                "labels": {"severity": severity, "slo": slo_id, "model": model.name, "env": env},
                "annotations": {
                    "summary": f"{model.name} ({env}) is burning its {slo_id} error budget ({objective * 100:g}% objective)",
                    "description": (f"The {slo_id} error ratio of {model.name} in {model.namespace} is above a burn rate "
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
        groups.append({"name": f"{model.name}-{slo_id}-alerts", "rules": alerts})
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": names.slo_rule(model.name), "annotations": objective_annotations(model)},
        "spec": {"groups": groups},
    }


def objective_annotations(model: Model) -> dict:
    """The objectives the rules implement, stated where a per-object policy can read them
    (policies/slo-objectives.yaml): availability in percent, latency as `p<percentile>=<threshold>`."""
    slo = model.slo
    out = {}
    if slo.availability is not None:
        out[AVAILABILITY_ANNOTATION] = str(slo.availability)
    if slo.latency:
        out[LATENCY_ANNOTATION] = ",".join(f"p{o.percentile:g}={o.threshold}" for o in slo.latency)
    return out


def _slo_of_group(me: ModelEnv, obj: dict, path: Path) -> Path:
    """A rule group belongs to one SLO (its rules' `slo` label): the objective that set it
    (availability, or the latency entry whose percentile made the id)."""
    rules = obj["spec"]["groups"][path[2]]["rules"]
    slo_id = rules[0]["labels"]["slo"]
    if slo_id == AVAILABILITY:
        return me.source_path(("slo", "availability"))
    for found, objective in me.model.slo.objectives():
        if found == slo_id and objective is not None:
            return me.source_path(("slo", "latency", objective.position, "percentile"))
    return me.source_path(("slo",))


def _build(me: ModelEnv, config: Config) -> list[dict]:
    rule = prometheus_rule(me, config)
    return [rule] if rule else []


_PR = "PrometheusRule"
_RULE = ("spec", "groups", ANY, "rules", ANY)
GENERATOR = KindGenerator(
    name="slo",
    kinds=(_PR,),
    file=MONITORING_FILE,
    applies=has_sli,
    build=_build,
    derived=(
        (_PR, ("spec", "groups", ANY, "name"), _slo_of_group),
        (_PR, _RULE + ("expr",), _slo_of_group),
        (_PR, _RULE + ("record",), settings_path("slo", "window")),
        (_PR, _RULE + ("alert",), _slo_of_group),
        (_PR, _RULE + ("labels", "slo"), _slo_of_group),
        (_PR, _RULE + ("annotations", ANY), _slo_of_group),
        (_PR, ("metadata", "annotations", LATENCY_ANNOTATION), settings_path("slo", "latency")),
    ),
    constants=(
        (_PR, ("spec", "groups", ANY, "interval")),
        (_PR, _RULE + ("for",)),
        (_PR, _RULE + ("labels", "severity")),
        (_PR, _RULE + ("labels", "env")),
    ),
)
