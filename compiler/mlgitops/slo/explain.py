"""`mlgitops slo explain`: what the generated SLO alerts promise, in the numbers on-call asks for.

Per environment and objective: the error budget (minutes of full outage and requests per SLO
window), each alert window pair with its burn-rate and error-ratio threshold, how much budget is
gone when it fires and how long the budget lasts at that burn, and how long each alert takes to
fire at a given error rate. Times assume a constant error rate from a clean history (the
long window's ratio is then rate x elapsed / window, ../shared/research/slo.md section 0)
plus the alert's `for:`; the short window, 1/12 of the long one, is always satisfied first.

It also shows what the numbers rest on: each SLI's PromQL, where every metric it reads is
collected (the generated monitor or platform scrape of its job, slo/collection.py), the canary
gates of the generated AnalysisTemplate, and every other generated alert with its severity in
this environment (severity routing: `environments.<env>.alertSeverities`).
"""

from __future__ import annotations

from typing import Any

from ..config import Config
from ..domain.units import duration_seconds, say_duration
from ..expand.overlay import generated
from ..expand.slo import sli_queries
from ..spec.model import ModelEnv
from .collection import Collector, monitor_collectors, platform_collectors, selectors

# Default error rates to time, as multiples of the budget rate (capped at 100% errors).
DEFAULT_BURNS = (100, 20, 4, 1)


def traffic(me: ModelEnv, rps: float | None) -> tuple[float | None, str]:
    """Requests per second to count the budget in, and where the figure comes from."""
    if rps is not None:
        return rps, "--rps"
    auto = me.model.autoscaling
    target = auto.requests_per_second
    if target:
        return target * auto.min_replicas, (f"autoscaling.requestsPerSecond {target:g} x minReplicas "
                                            f"{auto.min_replicas}")
    return None, ""


def explain(me: ModelEnv, config: Config, rps: float | None = None,
            error_rates: tuple[float, ...] = ()) -> dict:
    """The explanation of one model in one environment as data (the json format prints it as is)."""
    slo = me.model.slo
    window = slo.window
    window_s = duration_seconds(window)
    rate, basis = traffic(me, rps)
    objectives = []
    latency = {slo_id: o for slo_id, o in slo.objectives() if o is not None}
    objects = [obj for _, obj in generated(me, config)]
    scrapes = [c for obj in objects for c in monitor_collectors(obj, me.model)] + platform_collectors(config)
    for slo_id, query, objective in sli_queries(me.model, config):
        budget = round(1 - objective, 12)
        threshold = latency[slo_id].threshold if slo_id in latency else None
        alerts: list[dict[str, Any]] = []
        timings: list[dict[str, Any]] = []
        entry = {
            "slo": slo_id,
            "bad_events": f"slower than {threshold}" if threshold else "failed (5xx)",
            "objective_percent": round(objective * 100, 10),
            "budget_ratio": budget,
            "budget_minutes": round(budget * window_s / 60, 3),
            "budget_requests": round(budget * rate * window_s) if rate else None,
            "requests_per_window": round(rate * window_s) if rate else None,
            "query": query,
            "collection": collection(query, scrapes),
            "alerts": alerts,
            "time_to_fire": timings,
        }
        for tier in config.burn_rate_alerts:
            for pair in tier.pairs:
                ratio = pair.burn_rate * budget
                alerts.append({
                    "severity": tier.severity, "sent_as": me.env.severity(tier.severity), "for": tier.wait, "long": pair.long, "short": pair.short,
                    "burn_rate": pair.burn_rate, "error_ratio_threshold": round(ratio, 12),
                    "can_fire": ratio < 1,
                    "budget_spent_when_firing": round(pair.burn_rate * duration_seconds(pair.long) / window_s, 6),
                    "budget_lasts_seconds": round(window_s / pair.burn_rate),
                })
        rates = error_rates or tuple(min(1.0, burn * budget) for burn in DEFAULT_BURNS)
        for error_ratio in sorted(set(rates), reverse=True):
            burn = error_ratio / budget
            fires = {}
            for tier in config.burn_rate_alerts:
                times = [t for t in (pair.time_to_fire(burn) for pair in tier.pairs) if t is not None]
                fires[tier.severity] = round(min(times) + duration_seconds(tier.wait)) if times else None
            timings.append({"error_ratio": error_ratio, "burn_rate": round(burn, 3), "seconds": fires})
        objectives.append(entry)
    return {"model": me.name, "environment": me.env.name, "namespace": me.env.namespace, "window": window,
            "source": slo.source, "requests_per_second": rate, "traffic_basis": basis,
            "objectives": objectives, "canary_gates": canary_gates(objects), "other_alerts": other_alerts(objects)}


def collection(query: str, scrapes: list[Collector]) -> list[dict]:
    """Each raw metric `query` reads, the job it selects and what collects it (None: nothing,
    which the build refuses: slo/collection.py)."""
    out, seen = [], set()
    for selector in selectors(query.replace("$window", "5m")):
        job = selector.job
        if selector.metric is None or (selector.metric, job) in seen:
            continue
        seen.add((selector.metric, job))
        by = next((c.origin for c in scrapes if c.job == job and selector.metric in c.metrics), None)
        out.append({"metric": selector.metric, "job": job, "collected_by": by})
    return out


def canary_gates(objects: list[dict]) -> list[dict]:
    """The generated AnalysisTemplate's metrics: name, conditions and query."""
    out = []
    for obj in objects:
        if obj.get("kind") != "AnalysisTemplate":
            continue
        for metric in obj["spec"].get("metrics", []):
            out.append({"template": obj["metadata"]["name"], "name": metric["name"],
                        "success": metric.get("successCondition"), "failure": metric.get("failureCondition"),
                        "interval": metric.get("interval"), "failure_limit": metric.get("failureLimit"),
                        "query": metric.get("provider", {}).get("prometheus", {}).get("query", "")})
    return out


def other_alerts(objects: list[dict]) -> list[dict]:
    """Every generated alert that is not a burn-rate alert: name, severity, for, summary."""
    out = []
    for obj in objects:
        if obj.get("kind") != "PrometheusRule":
            continue
        for group in obj["spec"].get("groups", []):
            for rule in group.get("rules", []):
                if "alert" not in rule or rule["alert"].endswith("BudgetBurn"):
                    continue
                out.append({"alert": rule["alert"], "severity": rule.get("labels", {}).get("severity"),
                            "for": rule.get("for", "0s"), "summary": rule.get("annotations", {}).get("summary", "")})
    return out


def _pct(ratio: float) -> str:
    return f"{ratio * 100:.4g}%"


def _count(n: int) -> str:
    return f"{n:,}"


def format_text(result: dict) -> str:
    lines = [f"{result['model']} in {result['environment']} (namespace {result['namespace']}): "
             f"SLO window {result['window']}, metrics from {result['source']}"]
    if not result["objectives"]:
        lines.append("  no SLOs (spec.slo sets none): no burn-rate alerts are generated")
    for o in result["objectives"]:
        lines.append(f"  {o['slo']}: objective {o['objective_percent']:g}%")
        budget = (f"    error budget: {_pct(o['budget_ratio'])} of requests may be {o['bad_events']} = "
                  f"{o['budget_minutes']:g} min of all requests bad per {result['window']}")
        if o["budget_requests"] is not None:
            budget += (f"; {_count(o['budget_requests'])} of {_count(o['requests_per_window'])} requests at "
                       f"{result['requests_per_second']:g} req/s ({result['traffic_basis']})")
        lines.append(budget)
        lines.append("    SLI error ratio ($window = each alert window):")
        lines.extend(f"      {line}" for line in o["query"].splitlines())
        lines.append("    collected:")
        for c in o["collection"]:
            by = c["collected_by"] or "NOTHING (the build refuses this)"
            lines.append(f"      {c['metric']} from job {c['job']}: {by}")
        lines.append("    alerts (both windows above the threshold):")
        tiers = [a["severity"] if a["sent_as"] == a["severity"] else f"{a['severity']}->{a['sent_as']}"
                 for a in o["alerts"]]
        width = max([7] + [len(t) + 1 for t in tiers])
        for a, tier in zip(o["alerts"], tiers):
            tier = tier.ljust(width)
            if not a["can_fire"]:
                lines.append(f"      {tier} {a['long']}/{a['short']} at {a['burn_rate']:g}x: "
                             f"threshold {_pct(a['error_ratio_threshold'])} errors: can never fire")
                continue
            lines.append(f"      {tier} {a['long']}/{a['short']} at {a['burn_rate']:g}x "
                         f"(error ratio > {_pct(a['error_ratio_threshold'])}, for {a['for']}): fires once "
                         f"{_pct(a['budget_spent_when_firing'])} of the budget is gone; at that burn the budget "
                         f"lasts {say_duration(a['budget_lasts_seconds'])}")
        severities = list(o["time_to_fire"][0]["seconds"]) if o["time_to_fire"] else []
        lines.append(f"    time to fire when a constant share of requests is bad (clean history, including for:):")
        lines.append("      " + f"{'bad share':<12}{'burn':<9}" + "".join(f"{s:<12}" for s in severities).rstrip())
        for t in o["time_to_fire"]:
            cells = "".join(f"{(say_duration(v) if v is not None else 'never'):<12}" for v in t["seconds"].values())
            burn = f"{t['burn_rate']:g}x"
            lines.append("      " + f"{_pct(t['error_ratio']):<12}{burn:<9}" + cells.rstrip())
    if any(a["severity"] != a["sent_as"] for o in result["objectives"] for a in o["alerts"]):
        lines.append(f"  severity routing in {result['environment']}: a tier shown as `page->ticket` is sent with "
                     "severity ticket (environments.<env>.alertSeverities)")
    gates = result["canary_gates"]
    if gates:
        lines.append(f"  canary gates (AnalysisTemplate {gates[0]['template']}, canary pods only):")
        for g in gates:
            lines.append(f"    {g['name']}: every {g['interval']}, fails when {g['failure']} "
                         f"(more than {g['failure_limit']} failed measurement(s) abort the canary)")
            lines.extend(f"      {line}" for line in g["query"].splitlines())
    else:
        lines.append("  canary gates: none (no automated canary analysis in this environment)")
    if result["other_alerts"]:
        lines.append("  other alerts:")
        for a in result["other_alerts"]:
            lines.append(f"    {a['alert']} ({a['severity']}, for {a['for']}): {a['summary']}")
    return "\n".join(lines) + "\n"
