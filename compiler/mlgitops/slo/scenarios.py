"""Behavioural proofs of the burn-rate alerts: `promtool test rules` files with synthetic series.

For every SLO of one model in one environment this writes unit tests that feed the generated
PrometheusRule (expand/slo.py) made-up traffic in the exporter's own metric names, identity
labels and `le` spelling (domain/sources.py) and assert what the issue promises:

  healthy      errors at half the budget rate for the longest alert window: no alert at all
  page_20x     20x the budget rate pages within 60 min (the 14.4x/1h pair needs about 43)
  page_100x    100x pages within 15 min
  page_reset   a 20x burn that stops: the page is gone 10 min later and does not come back
  ticket_4x    4x opens a ticket within a day and never pages
  slow         (latency) 90% of requests just above the objective page within 60 min
  zero_errors  requests but no bad ones (no 5xx series at all): the error ratio is 0, not empty
  no_traffic   no series at all: no sample (so no NaN), no alert
  traffic_stops  traffic, then counters that stop moving (scale to zero): no sample, no alert

Scenarios that share a traffic history share one promtool test (healthy + ticket_4x, page_20x +
page_reset); each assertion is tagged with its scenario so failures are still told apart.

Burn scenarios start after a healthy history as long as the tier's longest window, so the
long-window ratios are honest (from a clean start every ratio equals the burn at once).
Deadlines are the issue's, not derived from the alert table, so a table that is too slow fails.
"Never" is `max_over_time(ALERTS{...}[span])` being empty: promtool stores ALERTS like Prometheus.
Scenarios that cannot be synthesised are returned as skipped with the reason (custom PromQL
sources; a burn that would need more than 100% bad requests).
"""

from __future__ import annotations

import dataclasses

from ..config import Config
from ..domain.burnrate import AlertTier, windows
from ..domain.sources import SOURCES, Source, neighbours
from ..domain.units import duration_seconds
from ..expand.slo import RECORD, sli_queries, sli_selector
from ..spec.model import ModelEnv

RATE = 1000.0  # synthetic requests per minute
IDLE = -1.0  # a phase burn meaning "no requests": the counters exist but stop moving
HEALTHY = 0.5  # healthy error rate, in budget multiples
PAGE_20X, PAGE_20X_WITHIN = 20.0, 60  # minutes
PAGE_100X, PAGE_100X_WITHIN = 100.0, 15
RESET_BURN, RESET_WITHIN = 20.0, 10
TICKET_BURN, TICKET_WITHIN = 4.0, 24 * 60
SLOW_SHARE, SLOW_WITHIN = 0.9, 60
# Scenarios over days read long windows: a coarser scrape keeps every query under promtool's
# 10,000-samples limit (slo.md 5.5) and the evaluation cheap.
FAST = {"interval": 1, "eval": 1}
LONG = {"interval": 2, "eval": 10}
MARK = "# scenario: "


@dataclasses.dataclass(frozen=True)
class Scenario:
    slo: str
    name: str
    summary: str
    test_file: str = ""
    skipped: str = ""

    @property
    def test_name(self) -> str:
        return f"{self.slo}: {self.name}"


@dataclasses.dataclass
class Suite:
    """Everything one `promtool test rules` run needs for one model environment."""

    model: str
    env: str
    files: dict[str, dict]  # file name -> YAML document (rule files and test files)
    test_files: list[str]
    scenarios: list[Scenario]
    slo_paths: dict[str, tuple]  # slo id -> settings path of its objective (for file positions)


def _minutes(text: str) -> int:
    return int(duration_seconds(text) // 60)


def _num(x: float) -> str:
    return f"{x:.12g}"


def counter(phases: list[tuple[int, float | None]]) -> str:
    """promtool `values` for a counter growing by `inc` per step for `steps` steps per phase;
    `inc` None means the series is absent during the phase."""
    parts, value, started = [], 0.0, False
    for steps, inc in phases:
        if inc is None:
            parts.append(f"_x{steps}")
            continue
        if not started:
            parts.append(f"0+{_num(inc)}x{steps}")
            value, started = inc * steps, True
        else:
            if steps > 1:
                parts.append(f"{_num(value + inc)}+{_num(inc)}x{steps - 1}")
            else:
                parts.append(_num(value + inc))
            value += inc * steps
    return " ".join(parts)


class _Slo:
    """One SLO: its kind, budget, alert names and how to write its bad/good traffic."""

    def __init__(self, me: ModelEnv, slo_id: str, objective: float, rule: dict, config: Config):
        table = config.burn_rate_alerts
        self.me, self.id, self.objective = me, slo_id, objective
        self.selector = sli_selector(me.model, config)  # the job and identity labels the rules select
        self.buckets = config.buckets(me.model.slo.source)  # the declared (or the exporter's) buckets
        self.budget = round(1 - objective, 10)
        slo = me.model.slo
        self.source: Source = SOURCES[slo.source]
        self.groups = [g for g in rule["spec"]["groups"]
                       if any(r.get("labels", {}).get("slo") == slo_id for r in g["rules"])]
        self.alerts = {r["labels"]["severity"]: r["alert"] for g in self.groups for r in g["rules"] if "alert" in r}
        self.page, self.ticket = _tiers(table)
        self.page_history = max(_minutes(w) for p in self.page.pairs for w in (p.long, p.short))
        self.windows = windows(table)  # the recorded ratio windows, shortest first
        self.history = max(_minutes(w) for t in table for p in t.pairs for w in (p.long, p.short))
        self.sel = f'model="{me.name}",env="{me.env.name}",slo="{slo_id}"'
        latency = {found: o for found, o in slo.objectives() if o is not None}
        if slo_id in latency:
            self.bound = latency[slo_id].seconds

    # -- synthetic series ---------------------------------------------------------------

    def series(self, phases: list[tuple[int, float | None]], step: int, model: str | None = None) -> list[dict]:
        """Input series for traffic phases (minutes, burn in budget multiples or None = absent).
        A burn of None in every phase gives no series; `model` names a neighbour instead."""
        if all(b is None for _, b in phases):
            return []
        ident = dict(self.selector)
        if model:  # a neighbour: same scrape, another model's identity
            ident.update(self.source.identity(self.me.env.namespace, model))
        steps = [(m // step, b) for m, b in phases]
        total = [(n, None if b is None else 0.0 if b == IDLE else RATE * step) for n, b in steps]
        bad = [(n, None if b is None else 0.0 if b == IDLE else RATE * step * min(1.0, b * self.budget))
               for n, b in steps]
        good = [(n, None if t is None or e is None else t - e) for (n, t), (_, e) in zip(total, bad)]

        def one(name: str, labels: dict, values: list) -> dict:
            inner = ",".join(f'{k}="{v}"' for k, v in labels.items())
            return {"series": f"{name}{{{inner}}}", "values": counter(values)}

        out = []
        if self.id == "availability":
            code, requests = self.source.code_label, self.source.requests
            assert code is not None and requests is not None, "an availability source has a status-coded counter"
            out.append(one(requests, {**ident, code: "200"}, good))
            if any(e for _, e in bad):
                # The 5xx series appears with the first error, as a real exporter's does.
                first = next(i for i, (_, e) in enumerate(bad) if e)
                bad = [(n, None if i < first else e) for i, (n, e) in enumerate(bad)]
                out.append(one(requests, {**ident, code: "503"}, bad))
            return out
        extra = {self.source.code_label: "200"} if self.source.latency_ok_only else {}
        below, above = neighbours(self.buckets, self.bound)
        hist = self.source.histogram
        half = [(n, None if g is None else g / 2) for n, g in good]
        buckets = [(below, half), (self.bound, good), (above, total)]
        for bound, values in [b for b in buckets if b[0] is not None] + [(None, total)]:
            le = "+Inf" if bound is None else self.source.le_value(bound)
            out.append(one(f"{hist}_bucket", {**ident, **extra, "le": le}, values))
        out.append(one(f"{hist}_count", {**ident, **extra}, total))
        return out

    # -- assertions ---------------------------------------------------------------------

    def alerts_sel(self, severity: str | None = None, firing: bool = False) -> str:
        sel = self.sel
        if severity:
            sel += f',alertname="{self.alerts[severity]}",severity="{severity}"'
        else:
            sel += f',alertname=~"{"|".join(sorted(set(self.alerts.values())))}"'
        if firing:
            sel += ',alertstate="firing"'
        return f"ALERTS{{{sel}}}"

    def firing(self, severity: str, at: int) -> dict:
        labels = {"alertname": self.alerts[severity], "alertstate": "firing", "env": self.me.env.name,
                  "model": self.me.name, "severity": severity, "slo": self.id}
        inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        return {"expr": self.alerts_sel(severity, firing=True), "eval_time": f"{at}m",
                "exp_samples": [{"labels": f"ALERTS{{{inner}}}", "value": 1}]}

    def never(self, at: int, span: int, severity: str | None = None) -> dict:
        return {"expr": f"max_over_time({self.alerts_sel(severity)}[{span}m])", "eval_time": f"{at}m",
                "exp_samples": []}

    def ratio(self, window: str, at: int, value: float | None) -> dict:
        expr = f"{RECORD}{window}{{{self.sel}}}"
        labels = f'{RECORD}{window}{{env="{self.me.env.name}",model="{self.me.name}",slo="{self.id}"}}'
        samples = [] if value is None else [{"labels": labels, "value": value}]
        return {"expr": expr, "eval_time": f"{at}m", "exp_samples": samples}

    def count_between(self, expr: str, lo: float, hi: float, at: int) -> dict:
        return {"expr": f"count({expr}{{{self.sel}}} > {lo:g} < {hi:g})", "eval_time": f"{at}m",
                "exp_samples": [{"labels": "{}", "value": 1}]}


def _tiers(table: tuple[AlertTier, ...]) -> tuple[AlertTier, AlertTier | None]:
    """The paging tier (named `page`, else the one with the fastest burn) and the ticket tier
    (named `ticket`, else the one with the slowest); None when the table has a single tier."""
    by_name = {t.severity: t for t in table}
    page = by_name.get("page") or max(table, key=lambda t: max(p.burn_rate for p in t.pairs))
    rest = [t for t in table if t is not page]
    ticket = by_name.get("ticket") if "ticket" in by_name and by_name["ticket"] is not page else None
    if ticket is None and rest:
        ticket = min(rest, key=lambda t: min(p.burn_rate for p in t.pairs))
    return page, ticket


def build_suite(me: ModelEnv, config: Config, rule: dict | None) -> Suite:
    """The promtool files and the scenario list for one model environment."""
    objectives = me.model.slo
    suite = Suite(me.name, me.env.name, {}, [], [], {})
    paths = {slo_id: ("slo", "availability") if o is None else ("slo", "latency", o.position, "threshold")
             for slo_id, o in objectives.objectives()}
    if objectives.source == "custom":
        for slo_id, path in paths.items():
            suite.slo_paths[slo_id] = path
            suite.scenarios.append(Scenario(slo_id, "all", "every scenario", skipped=(
                "custom source: the user's PromQL has no known metric names or labels to synthesise")))
        return suite
    if rule is None:
        return suite
    for slo_id, _query, objective in sli_queries(me.model, config):
        slo = _Slo(me, slo_id, objective, rule, config)
        suite.slo_paths[slo_id] = paths[slo_id]
        _add_slo(suite, slo)
    return suite


def _file(suite: Suite, slo: _Slo, kind: str, timing: dict) -> tuple[str, dict]:
    rules_name = f"{slo.id}.rules.yaml"
    suite.files.setdefault(rules_name, {"groups": slo.groups})
    name = f"{slo.id}.{kind}.test.yaml"
    doc = suite.files.setdefault(name, {
        "rule_files": [rules_name],
        "evaluation_interval": f"{timing['eval']}m",
        "group_eval_order": [g["name"] for g in slo.groups],
        "tests": [],
    })
    if name not in suite.test_files:
        suite.test_files.append(name)
    return name, doc


def _tag(check: dict, slo_id: str, name: str) -> dict:
    """Mark a check with its scenario: promtool prints a failing expression, not the test name,
    and PromQL allows line comments."""
    return {**check, "expr": f"{check['expr']}\n{MARK}{slo_id}/{name}"}


def _add_slo(suite: Suite, slo: _Slo) -> None:
    b = slo.budget
    h, H = slo.page_history, slo.history
    page, ticket = slo.page.severity, slo.ticket.severity if slo.ticket else None
    latency = slo.id != "availability"
    what = "slow requests" if latency else "errors"
    shortest, page_long = slo.windows[0], slo.page.pairs[0].long
    within_2h = [w for w in slo.windows if _minutes(w) <= 120]

    def test(kind: str, label: str, phases: list, parts: list[tuple[str, str, list, float, str]],
             neighbour: bool = False) -> None:
        """One promtool test (one traffic history) proving one or more scenarios:
        parts are (scenario, summary, checks, burn it needs, reason to skip)."""
        timing = LONG if kind == "long" else FAST
        checks = []
        for name, summary, found, burn, skip in parts:
            if not skip and burn * b > 1 + 1e-9:
                skip = f"{burn:g}x the budget needs {burn * b:.0%} bad requests"
            if skip:
                suite.scenarios.append(Scenario(slo.id, name, summary, skipped=skip))
                continue
            checks += [_tag(c, slo.id, name) for c in found]
            file_name = f"{slo.id}.{kind}.test.yaml"
            suite.scenarios.append(Scenario(slo.id, name, summary, test_file=file_name))
        if not checks:
            return
        step = timing["interval"]
        series = slo.series(phases, step)
        if neighbour:  # another model's terrible traffic must not leak into this SLO
            series += slo.series([(m, 1 / b if bb is not None else None) for m, bb in phases], step,
                                 model=f"{slo.me.name}-neighbour")
        _, doc = _file(suite, slo, kind, timing)
        doc["tests"].append({"name": f"{slo.id}: {label}", "interval": f"{step}m",
                             "input_series": series or [{"series": 'up{job="unrelated"}', "values": "1x10"}],
                             "promql_expr_test": checks})

    day = TICKET_WITHIN
    test("long", "healthy history, then a slow burn", [(H, HEALTHY), (day, TICKET_BURN)], [
        ("healthy", f"{what} at {HEALTHY:g}x the budget rate for {H // 60} h: no alert, and a neighbour's "
         "bad traffic does not leak in",
         [slo.never(H, H), slo.count_between(f"{RECORD}{page_long}", HEALTHY * b * 0.8, HEALTHY * b * 1.2, H),
          slo.count_between("mlgitops:slo_error_budget:remaining_ratio", 0.4, 0.6, H)], HEALTHY, ""),
        ("ticket_4x", f"{what} at {TICKET_BURN:g}x the budget rate open a ticket within a day and never page",
         [slo.firing(ticket, H + day), slo.never(H + day, day, page)] if ticket else [], TICKET_BURN,
         "" if ticket else "the alert table has a single tier"),
    ], neighbour=True)
    end = h + PAGE_20X_WITHIN
    test("fast", "fast burn, then recovery", [(h, HEALTHY), (PAGE_20X_WITHIN, PAGE_20X), (60, HEALTHY)], [
        ("page_20x", f"{what} at {PAGE_20X:g}x the budget rate page within {PAGE_20X_WITHIN} min",
         [slo.never(h, h, page), slo.firing(page, end)], PAGE_20X, ""),
        ("page_reset", f"the page clears within {RESET_WITHIN} min after the burn ends and stays clear",
         [{"expr": slo.alerts_sel(page), "eval_time": f"{end + RESET_WITHIN}m", "exp_samples": []},
          slo.never(end + 60, 60 - RESET_WITHIN, page)], PAGE_20X, ""),
    ])
    test("fast", "very fast burn", [(h, HEALTHY), (PAGE_100X_WITHIN, PAGE_100X)], [
        ("page_100x", f"{what} at {PAGE_100X:g}x the budget rate page within {PAGE_100X_WITHIN} min",
         [slo.firing(page, h + PAGE_100X_WITHIN)], PAGE_100X, ""),
    ])
    if latency:
        burn = SLOW_SHARE / b
        test("fast", "slow requests", [(h, HEALTHY), (SLOW_WITHIN, burn)], [
            ("slow", f"{SLOW_SHARE:.0%} of requests just above the objective ({burn:.3g}x the budget) page "
             f"within {SLOW_WITHIN} min", [slo.firing(page, h + SLOW_WITHIN)], burn,
             "" if burn >= 18 else f"{SLOW_SHARE:.0%} slow requests are only {burn:.3g}x the budget"),
        ])
    test("fast", "requests, none bad", [(60, 0.0)], [
        ("zero_errors", f"requests but no {'slow ones' if latency else '5xx series'}: the error ratio is 0, "
         "not empty", [slo.ratio(shortest, 30, 0), slo.ratio(page_long, 60, 0)], 0, ""),
    ])
    test("fast", "no series", [(30, None)], [
        ("no_traffic", "no series at all: no sample, no alert, no NaN",
         [slo.ratio(shortest, 30, None), slo.ratio(page_long, 30, None), slo.never(30, 30)], 0, ""),
    ])
    test("fast", "traffic stops", [(60, HEALTHY), (120, IDLE)], [
        ("traffic_stops", "traffic for 1 h, then idle counters for 2 h (scale to zero): no sample, no alert",
         [slo.ratio(w, 180, None) for w in within_2h] + [slo.never(180, 120)], 0, ""),
    ])
