"""SLO recording rules and multi-window multi-burn-rate alerts (Google SRE workbook, ch. 5).

Every SLO is a ratio of bad to all requests, recorded over each window the alerts need.
Availability: 5xx over all requests. Latency: requests slower than the objective, read from
the histogram bucket at the objective (which the spec check proved is a bucket boundary).
The denominator is guarded with `> 0`, so no traffic gives no sample (no alert, no NaN), and
the numerator with `or vector(0)`, so traffic without any 5xx series gives 0, not nothing.

Alerts per SLO: one per tier of the burn-rate table (`tier` label: the table's key; `severity`:
the environment's routing of it, environments.<env>.alertSeverities), BudgetExhausted (the
SLO-window budget is spent) and SloBlind (the SLI has no series while predictor pods are ready:
a scrape that broke, or no request since the pods started; not for custom PromQL). The model's
operational alerts are expand/operations.py's.
"""

from __future__ import annotations

from .. import names
from ..config import Config
from ..domain.burnrate import AlertTier, windows
from ..domain.sources import ERROR_CODES, SOURCES, matchers
from ..spec.model import ModelEnv
from ..spec.resolved import AVAILABILITY, Model
from .common import camel
from .monitoring import sli_job
from .generator import ANY, MONITORING_FILE, KindGenerator, Path, settings_path
from .operations import alert, ready_pods

RECORD = "mlgitops:slo_errors:ratio_rate"
AVAILABILITY_ANNOTATION = "mlgitops.dev/slo-availability"
LATENCY_ANNOTATION = "mlgitops.dev/slo-latency"
EXHAUSTED_FOR = "15m"
# Blindness: no SLI series over this window, with ready pods for `for:` (a ticket, not urgent).
BLIND_WINDOW, BLIND_FOR = "30m", "15m"


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
        selector = _selector(me, slo_id)
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
        alerts = [burn_rate_alert(me, config, slo_id, objective, tier) for tier in config.burn_rate_alerts]
        alerts.append(budget_exhausted(me, config, slo_id, objective))
        blind = blindness(me, config, slo_id)
        if blind is not None:
            alerts.append(blind)
        groups.append({"name": f"{model.name}-{slo_id}-alerts", "rules": alerts})
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": names.slo_rule(model.name), "annotations": objective_annotations(model)},
        "spec": {"groups": groups},
    }


def _selector(me: ModelEnv, slo_id: str) -> str:
    """The labels of one SLO's recorded series."""
    return f'model="{me.model.name}",env="{me.model.environment}",slo="{slo_id}"'


def burn_rate_alert(me: ModelEnv, config: Config, slo_id: str, objective: float, tier: AlertTier) -> dict:
    """One tier of the alert table: above the tier's burn rate over both windows of any pair.

    The tier key (`page`, `ticket`) is the `tier` label; `severity` is what the environment
    routes it to (staging: a ticket), so two tiers routed to one severity stay two series."""
    model = me.model
    budget = round(1 - objective, 10)
    selector, window = _selector(me, slo_id), model.slo.window
    pairs = [(p.long, p.short, p.burn_rate) for p in tier.pairs]
    conditions = []
    for long, short, factor in pairs:
        threshold = f"({factor:g} * {budget:g})"
        conditions.append(f"(\n  {RECORD}{long}{{{selector}}} > {threshold}\n  and\n"
                          f"  {RECORD}{short}{{{selector}}} > {threshold}\n)")
    said = ", ".join(f"{l}/{s} at {f:g}x" for l, s, f in pairs)
    first_long = pairs[0][0]
    severity = me.env.severity(tier.severity)
    routed = "" if severity == tier.severity else f", sent as severity {severity} in {model.environment}"
    return alert(
        me, config, f"{camel(model.name)}{camel(slo_id)}BudgetBurn", "\nor\n".join(conditions), tier.wait,
        tier.severity,
        f"{model.name} ({model.environment}) is burning its {slo_id} error budget ({objective * 100:g}% objective)",
        f"The {slo_id} error ratio of {model.name} in {model.namespace} is above the burn rate of the "
        f"{tier.severity} tier ({said}{routed}). "
        f"Burn rate over {first_long}: "
        f"{{{{ with query `{RECORD}{first_long}{{{selector}}} / {budget:g}` }}}}"
        f"{{{{ . | first | value | printf \"%.1f\" }}}}x{{{{ end }}}} "
        f"(1x spends the budget in exactly {window}). "
        f"Remaining budget over {window}: "
        f"{{{{ with query `mlgitops:slo_error_budget:remaining_ratio{{{selector}}}` }}}}"
        f"{{{{ . | first | value | humanizePercentage }}}}{{{{ end }}}}.",
        slo=slo_id, tier=tier.severity)


def budget_exhausted(me: ModelEnv, config: Config, slo_id: str, objective: float) -> dict:
    """The error budget of the SLO window is spent: the SLO is missed for this window, whatever
    the burn rate now. A ticket: no single incident to page about, a decision to make (freeze
    risky changes, or accept the miss)."""
    model = me.model
    window = model.slo.window
    return alert(
        me, config, f"{camel(model.name)}{camel(slo_id)}BudgetExhausted",
        f"mlgitops:slo_error_budget:remaining_ratio{{{_selector(me, slo_id)}}} <= 0", EXHAUSTED_FOR, "ticket",
        f"{model.name} ({model.environment}) has spent its {slo_id} error budget over {window}",
        f"More than {(1 - objective) * 100:.4g}% of the {slo_id} requests of {model.name} in {model.namespace} "
        f"were bad over the last {window} ({objective * 100:g}% objective): the SLO is missed for this window. "
        f"Remaining budget: {{{{ $value | humanizePercentage }}}}. Freeze risky changes (canaries) until it "
        f"recovers, or agree that the objective is wrong.",
        slo=slo_id)


def blindness(me: ModelEnv, config: Config, slo_id: str) -> dict | None:
    """The SLO sees nothing while the model runs: no series of the SLI's denominator (the job and
    identity labels of the SLI, no status filter) over BLIND_WINDOW, while kube-state-metrics
    says predictor pods are ready. Without it a broken scrape or a wrong label leaves every
    recording empty and every burn-rate alert silent. None for custom PromQL (no known series)."""
    model = me.model
    source = SOURCES.get(model.slo.source)
    if source is None:
        return None
    ident = matchers(sli_selector(model, config))
    series = f"{source.requests}{{{ident}}}" if slo_id == AVAILABILITY else f"{source.histogram}_count{{{ident}}}"
    expr = f"absent_over_time({series}[{BLIND_WINDOW}])\nand on ()\n{ready_pods(model, config)} > 0"
    return alert(
        me, config, f"{camel(model.name)}{camel(slo_id)}SloBlind", expr, BLIND_FOR, "ticket",
        f"The {slo_id} SLO of {model.name} ({model.environment}) has no data while the model runs",
        f"No {series.split('{')[0]} series of {model.name} in {model.namespace} (job and labels the {slo_id} "
        f"SLO reads) for {BLIND_WINDOW}, while predictor pods have been ready for {BLIND_FOR}: the burn-rate "
        f"alerts cannot fire. Either the series are not collected (the scrape, its job label or the "
        f"model's identity labels are wrong: compare with `mlgitops slo explain`), or no request has "
        f"reached the model since its pods started (a series appears with the first request: check the "
        f"routing, or accept an idle model).",
        slo=slo_id)


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
        (_PR, _RULE + ("labels", "tier")),
        (_PR, _RULE + ("labels", "env")),
    ),
)
