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

Issue #15 adds, per SLO (`<slo>.health.test.yaml`), the blindness and budget-exhausted alerts:

  blind_never_seen        predictor pods ready, no SLI series ever (not collected): fires after for:
  blind_series_lost       the SLI series vanish while pods stay ready: fires window + for: later
  blind_silent_traffic    ready pods and traffic: silent
  blind_silent_not_running  no series and no ready pod of this model (look-alike pods ready): silent
  exhausted               every request bad after a healthy hour: silent for for:, then fires
  exhausted_silent        half the budget rate for 3 h: silent

and per model environment (`operations.<kind>.test.yaml`, Scenario.slo `operations`) a firing and
a silent scenario of each operational alert generated for it (expand/operations.py). Burn-rate
scenarios assert the severity the environment routes each tier to (staging: page -> ticket).

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
import math
from typing import Collection

from ..config import Config
from ..domain.burnrate import AlertTier, windows
from ..domain.sources import SOURCES, Source, neighbours
from ..domain.units import duration_seconds
from ..expand.operations import (CANARY_MARGIN_MINUTES, CAPACITY_FOR, DOWN_FOR, LOAD_FOR, longest_step_minutes,
                                  storage_containers)
from ..expand.operations import SOURCES as OPERATION_SOURCES
from ..expand.slo import BLIND_FOR, BLIND_WINDOW, EXHAUSTED_FOR, RECORD, sli_queries, sli_selector
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
EXHAUSTED_SLACK = 5  # minutes: the budget crosses 0 a few minutes into a 100% burn (more for a large budget)
LONG = {"interval": 2, "eval": 10}
MARK = "# scenario: "


@dataclasses.dataclass(frozen=True)
class Scenario:
    slo: str
    name: str
    summary: str
    test_file: str = ""
    skipped: str = ""
    alert: str = ""  # the alert a firing/silent scenario proves (new alerts; burn-rate scenarios leave it empty)
    fires_after: int | None = None  # minutes from the condition's start to firing, asserted to the minute
    path: tuple = ()  # settings path to report a failure at, when not the SLO's (operational alerts)

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
        self.me, self.id, self.objective, self.config = me, slo_id, objective, config
        self.selector = sli_selector(me.model, config)  # the job and identity labels the rules select
        self.buckets = config.buckets(me.model.slo.source)  # the declared (or the exporter's) buckets
        self.budget = round(1 - objective, 10)
        slo = me.model.slo
        self.source: Source = SOURCES[slo.source]
        self.groups = [g for g in rule["spec"]["groups"]
                       if any(r.get("labels", {}).get("slo") == slo_id for r in g["rules"])]
        rules = [r for g in self.groups for r in g["rules"] if "alert" in r]
        # Burn-rate alerts by tier (the table's key); `severity` is the environment's routing of it.
        self.alerts = {r["labels"]["tier"]: r["alert"] for r in rules if "tier" in r["labels"]}
        # What each tier must be sent as here: from the environment's routing, not read off the rule.
        self.routed = {t.severity: me.env.severity(t.severity) for t in table}
        self.others = {_kind(r["alert"]): r for r in rules if "tier" not in r["labels"]}  # exhausted, blind
        self.all_alerts = sorted({r["alert"] for r in rules})
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
        # Only the buckets the exporter has (a bound off the declared buckets has no series).
        at_bound = self.bound if any(abs(b - self.bound) < 1e-12 for b in self.buckets) else None
        buckets = [(below, half), (at_bound, good), (above, total)]
        for bound, values in [b for b in buckets if b[0] is not None] + [(None, total)]:
            le = "+Inf" if bound is None else self.source.le_value(bound)
            out.append(one(f"{hist}_bucket", {**ident, **extra, "le": le}, values))
        out.append(one(f"{hist}_count", {**ident, **extra}, total))
        return out

    # -- assertions ---------------------------------------------------------------------

    def alerts_sel(self, tier: str | None = None, firing: bool = False) -> str:
        """ALERTS of one burn-rate tier (any routed severity), or of every alert of this SLO."""
        sel = self.sel
        if tier:
            sel += f',alertname="{self.alerts[tier]}",tier="{tier}"'
        else:
            sel += f',alertname=~"{"|".join(self.all_alerts)}"'
        if firing:
            sel += ',alertstate="firing"'
        return f"ALERTS{{{sel}}}"

    def firing(self, tier: str, at: int) -> dict:
        """The tier's alert fires at `at`, with the severity the environment routes it to."""
        labels = {"alertname": self.alerts[tier], "alertstate": "firing", "env": self.me.env.name,
                  "model": self.me.name, "severity": self.routed[tier], "slo": self.id, "tier": tier}
        return {"expr": self.alerts_sel(tier, firing=True), "eval_time": f"{at}m",
                "exp_samples": [{"labels": _labels("ALERTS", labels), "value": 1}]}

    def never(self, at: int, span: int, tier: str | None = None) -> dict:
        return {"expr": f"max_over_time({self.alerts_sel(tier)}[{span}m])", "eval_time": f"{at}m",
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
    by_name = {t.severity: t for t in table}  # AlertTier.severity is the tier key
    page = by_name.get("page") or max(table, key=lambda t: max(p.burn_rate for p in t.pairs))
    rest = [t for t in table if t is not page]
    ticket = by_name.get("ticket") if "ticket" in by_name and by_name["ticket"] is not page else None
    if ticket is None and rest:
        ticket = min(rest, key=lambda t: min(p.burn_rate for p in t.pairs))
    return page, ticket


def build_suite(me: ModelEnv, config: Config, rule: dict | None, operations: dict | None = None,
                only: Collection[str] = ()) -> Suite:
    """The promtool files and the scenario list for one model environment: the SLO rule's
    scenarios, then the operational alerts' (`operations`, expand/operations.py) when given.
    `only`: just the scenarios of these SLO ids (slo_ids; OPERATIONS for the operational alerts)."""
    objectives = me.model.slo
    suite = Suite(me.name, me.env.name, {}, [], [], {})
    paths = {slo_id: ("slo", "availability") if o is None else ("slo", "latency", o.position, "threshold")
             for slo_id, o in objectives.objectives() if not only or slo_id in only}
    if objectives.source == "custom":
        for slo_id, path in paths.items():
            suite.slo_paths[slo_id] = path
            suite.scenarios.append(Scenario(slo_id, "all", "every scenario", skipped=(
                "custom source: the user's PromQL has no known metric names or labels to synthesise")))
    elif rule is not None:
        for slo_id, _query, objective in sli_queries(me.model, config):
            if slo_id not in paths:
                continue
            slo = _Slo(me, slo_id, objective, rule, config)
            suite.slo_paths[slo_id] = paths[slo_id]
            _add_slo(suite, slo)
            _add_slo_health(suite, slo)
    if operations is not None and (not only or OPERATIONS in only):
        _add_operations(suite, _Ops(me, config, operations))
    return suite


def slo_ids(me: ModelEnv) -> list[str]:
    """The ids build_suite's `only` selects from for this model environment: its SLOs, then
    OPERATIONS."""
    return [slo_id for slo_id, _ in me.model.slo.objectives()] + [OPERATIONS]


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


# -- the SLO's health alerts and the operational alerts -------------------------------------------
#
# Each alert gets a scenario where it fires and one where it stays silent. A firing scenario
# asserts the exact minute it fires (`fires_after` minutes after the condition starts: silent,
# not even firing, one minute before), so a slower or faster rule fails; silent scenarios assert
# that it never fires (ALERTS{alertstate="firing"} empty over the whole history), next to
# look-alike series (a transformer pod, a model named `<model>-v2`) that must not leak in.

GONE = "gone"  # a gauge value: the series disappears (a staleness marker, then no samples)
OPERATIONS = "operations"  # the Scenario.slo of the operational alerts
_KINDS = {"BudgetExhausted": "exhausted", "SloBlind": "blind", "Down": "down", "ModelLoadFailing": "load",
          "CanaryStuck": "canary", "AtMaxReplicas": "capacity"}
# The severity issue #15 gives each alert kind, before the environment's routing.
SEVERITIES = {"exhausted": "ticket", "blind": "ticket", "down": "page", "load": "ticket", "canary": "ticket",
              "capacity": "ticket"}
_SAFE_HASH, _SAFE_SUFFIX = "5d8f7c9b4", "x7k2p"  # a pod-template hash and a pod suffix, as Kubernetes writes them


def _kind(alert: str) -> str:
    return next((kind for suffix, kind in _KINDS.items() if alert.endswith(suffix)), alert)


def _labels(name: str, labels: dict) -> str:
    return f"{name}{{{','.join(f'{k}={chr(34)}{v}{chr(34)}' for k, v in sorted(labels.items()))}}}"


Phase = tuple[int, "float | str | None"]  # (minutes, a value, GONE, or None for no sample)


def gauge(phases: list[Phase]) -> str:
    """promtool `values`, one per minute: `minutes` samples of `value` per phase; None is no
    sample, GONE a staleness marker (the exporter dropped the series) and then no samples."""
    tokens: list[str] = []
    for minutes, value in phases:
        if value == GONE:
            tokens += ["stale"] + ["_"] * (minutes - 1)
        else:
            tokens += ["_" if value is None else _num(float(value))] * minutes
    return " ".join(tokens)


def pod_name(model: str, mode: str, deployment: bool = False) -> str:
    """A predictor pod's name as Kubernetes writes it: the Rollout's (or, `deployment`, KServe's
    Deployment's) in Standard mode, the Knative revision's in Serverless."""
    if mode == "standard":
        return f"{model}{'-predictor' if deployment else ''}-{_SAFE_HASH}-{_SAFE_SUFFIX}"
    return f"{model}-predictor-00001-deployment-{_SAFE_HASH}-{_SAFE_SUFFIX}"


def _alert_sel(rule: dict, firing: bool = True) -> str:
    keep = ("model", "env", "slo")
    labels = {"alertname": rule["alert"], **{k: v for k, v in rule["labels"].items() if k in keep}}
    if firing:
        labels["alertstate"] = "firing"
    return _labels("ALERTS", labels)


def _expected(rule: dict, me: ModelEnv, **extra: str) -> dict:
    """The labels the firing alert must carry: its SLO, the model and environment, and the
    severity issue #15 gives its kind as this environment routes it (not read off the rule)."""
    kind = _kind(rule["alert"])
    return {**{k: v for k, v in rule["labels"].items() if k == "slo"}, **extra, "model": me.name, "env": me.env.name,
            "severity": me.env.severity(SEVERITIES[kind]), "alertname": rule["alert"], "alertstate": "firing"}


def fires_at(rule: dict, me: ModelEnv, at: int, **extra: str) -> list[dict]:
    """The alert is not firing one minute before `at` (nor ever before), and fires at `at` with
    the expected labels (_expected) and the expression's `extra` labels."""
    labels = _expected(rule, me, **extra)
    return [{"expr": f"max_over_time({_alert_sel(rule)}[{at - 1}m])", "eval_time": f"{at - 1}m", "exp_samples": []},
            {"expr": _alert_sel(rule), "eval_time": f"{at}m",
             "exp_samples": [{"labels": _labels("ALERTS", labels), "value": 1}]}]


def fires_within(rule: dict, me: ModelEnv, earliest: int, slack: int) -> list[dict]:
    """The alert is not firing before `earliest`, and fires by `earliest + slack`."""
    at = earliest + slack
    return [{"expr": f"max_over_time({_alert_sel(rule)}[{earliest - 1}m])", "eval_time": f"{earliest - 1}m",
             "exp_samples": []},
            {"expr": _alert_sel(rule), "eval_time": f"{at}m",
             "exp_samples": [{"labels": _labels("ALERTS", _expected(rule, me)), "value": 1}]}]


def silent(rule: dict, at: int) -> list[dict]:
    """The alert never fires in the first `at` minutes."""
    return [{"expr": f"max_over_time({_alert_sel(rule)}[{at}m])", "eval_time": f"{at}m", "exp_samples": []}]


def _wait(rule: dict, me: ModelEnv) -> int:
    """The minutes an alert of this kind must wait before firing, from the alert's design
    (expand/operations.py, expand/slo.py) and the model, not read off the rule under test."""
    kind = _kind(rule["alert"])
    if kind == "canary":
        return math.ceil(longest_step_minutes(me.model) + CANARY_MARGIN_MINUTES)
    return _minutes({"down": DOWN_FOR, "load": LOAD_FOR, "capacity": CAPACITY_FOR, "blind": BLIND_FOR,
                     "exhausted": EXHAUSTED_FOR}[kind])


def _add_test(suite: Suite, owner: str, rules_name: str, groups: list, kind: str, label: str, series: list,
              parts: list[tuple[str, str, list, dict, int | None]], path: tuple = ()) -> None:
    """One promtool test (one history, one minute apart) proving `parts`:
    (scenario, summary, checks, the alert rule, minutes to fire after the condition starts)."""
    suite.files.setdefault(rules_name, {"groups": groups})
    name = f"{owner}.{kind}.test.yaml"
    doc = suite.files.setdefault(name, {"rule_files": [rules_name], "evaluation_interval": "1m",
                                        "group_eval_order": [g["name"] for g in groups], "tests": []})
    if name not in suite.test_files:
        suite.test_files.append(name)
    checks = []
    for scenario, summary, found, rule, after in parts:
        checks += [_tag(c, owner, scenario) for c in found]
        suite.scenarios.append(Scenario(owner, scenario, summary, test_file=name, alert=rule["alert"],
                                        fires_after=after, path=path))
    doc["tests"].append({"name": f"{owner}: {label}", "interval": "1m",
                         "input_series": series or [{"series": 'up{job="unrelated"}', "values": "1x10"}],
                         "promql_expr_test": checks})


class _Pods:
    """kube-state-metrics series of one model's pods, and of look-alikes that must not count."""

    def __init__(self, me: ModelEnv, config: Config):
        self.me, self.job, self.ns, self.mode = me, config.kube_state_metrics.job, me.env.namespace, me.model.mode

    def series(self, metric: str, pod: str, values: str, namespace: str | None = None, **labels: str) -> dict:
        return {"series": _labels(metric, {"job": self.job, "namespace": namespace or self.ns, "pod": pod, **labels}),
                "values": values}

    def ready(self, values: str) -> dict:
        return self.series("kube_pod_status_ready", pod_name(self.me.name, self.mode), values, condition="true")

    def own(self) -> list[str]:
        """The model's predictor pod names (Standard: the Rollout's and the Deployment's)."""
        found = [pod_name(self.me.name, self.mode)]
        return found + ([pod_name(self.me.name, self.mode, deployment=True)] if self.mode == "standard" else [])

    def look_alikes(self) -> list[tuple[str, str | None]]:
        """(pod, namespace) of pods that are not this model's predictor: its transformer, a model
        named `<model>-v2`, the same pod name in another namespace."""
        name = self.me.name
        transformer = (f"{name}-transformer-{_SAFE_HASH}-{_SAFE_SUFFIX}" if self.mode == "standard"
                       else f"{name}-transformer-00001-deployment-{_SAFE_HASH}-{_SAFE_SUFFIX}")
        return [(transformer, None), (pod_name(f"{name}-v2", self.mode), None),
                (pod_name(name, self.mode), f"{self.ns}-other")]

    def look_alikes_ready(self, minutes: int) -> list[dict]:
        return [self.series("kube_pod_status_ready", pod, gauge([(minutes, 1)]), ns, condition="true")
                for pod, ns in self.look_alikes()]

    def up(self, values: str) -> dict:
        return {"series": _labels("up", {"job": self.job, "instance": "10.0.0.1:8080"}), "values": values}


def _add_slo_health(suite: Suite, slo: _Slo) -> None:
    """The SLO's blindness and budget-exhausted alerts (expand/slo.py)."""
    # The window ratios are not read by these alerts: leaving their group out keeps promtool quick.
    groups, b = [g for g in slo.groups if not g["name"].endswith("-sli")], slo.budget
    pods = _Pods(slo.me, slo.config)
    rules_name = f"{slo.id}.health.rules.yaml"
    blind, exhausted = slo.others.get("blind"), slo.others.get("exhausted")
    if blind is not None:
        wait, window = _wait(blind, slo.me), _minutes(BLIND_WINDOW)
        _add_test(suite, slo.id, rules_name, groups, "health", "ready pods, no SLI series",
                  [pods.ready(gauge([(60, 1)]))], [
                      ("blind_never_seen", f"predictor pods ready and no SLI series at all (not collected): "
                       f"fires after {wait} min", fires_at(blind, slo.me, wait, **slo.selector), blind, wait)])
        lost = 60
        _add_test(suite, slo.id, rules_name, groups, "health", "the SLI series stop",
                  [pods.ready(gauge([(lost + window + wait + 10, 1)]))]
                  + slo.series([(lost, HEALTHY), (window + wait + 10, None)], 1), [
                      ("blind_series_lost", f"traffic for {lost} min, then the SLI series vanish (the scrape broke) "
                       f"while pods stay ready: fires {window} + {wait} min after the first missing scrape",
                       fires_at(blind, slo.me, lost + 1 + window + wait, **slo.selector), blind, window + wait)])
        _add_test(suite, slo.id, rules_name, groups, "health", "ready pods and traffic",
                  [pods.ready(gauge([(120, 1)]))] + slo.series([(120, HEALTHY)], 1), [
                      ("blind_silent_traffic", "predictor pods ready and the SLI has traffic: silent",
                       silent(blind, 120), blind, None)])
        _add_test(suite, slo.id, rules_name, groups, "health", "no ready pod of this model",
                  [pods.ready(gauge([(90, 0)]))] + pods.look_alikes_ready(90), [
                      ("blind_silent_not_running", "no SLI series and no ready predictor pod of this model (its "
                       "transformer, a `-v2` model and another namespace have ready pods): silent",
                       silent(blind, 90), blind, None)])
    if exhausted is not None:
        burn, wait = 1 / b, _wait(exhausted, slo.me)
        start = 61  # the first bad sample (the first phase ends with the sample at minute 60)
        _add_test(suite, slo.id, rules_name, groups, "health", "the budget runs out",
                  slo.series([(60, HEALTHY), (60, burn)], 1), [
                      ("exhausted", f"{HEALTHY:g}x the budget rate for 60 min, then every request bad: silent "
                       f"for the first {wait} min (for:), firing within {EXHAUSTED_SLACK} more (the budget is "
                       "spent within minutes; production evaluates it every 5 min)",
                       fires_within(exhausted, slo.me, start + wait, EXHAUSTED_SLACK), exhausted, None)])
        _add_test(suite, slo.id, rules_name, groups, "health", "the budget lasts",
                  slo.series([(180, HEALTHY)], 1), [
                      ("exhausted_silent", f"{HEALTHY:g}x the budget rate for 3 h: half the budget left, silent",
                       silent(exhausted, 180), exhausted, None)])


class _Ops:
    """The model's operational alerts (expand/operations.py) and the series that drive them."""

    def __init__(self, me: ModelEnv, config: Config, rule: dict):
        self.me, self.config = me, config
        self.groups = rule["spec"]["groups"]
        self.rules = {_kind(r["alert"]): r for g in self.groups for r in g["rules"]}
        self.pods = _Pods(me, config)
        self.rollouts_job = config.rollouts_metrics.job

    def path(self, kind: str) -> tuple:
        suffix = next(s for s, k in _KINDS.items() if k == kind)
        return OPERATION_SOURCES[suffix]

    def test(self, suite: Suite, kind: str, label: str, series: list, parts: list) -> None:
        _add_test(suite, OPERATIONS, "operations.rules.yaml", self.groups, kind, label, series, parts,
                  self.path(kind))


def _add_operations(suite: Suite, ops: _Ops) -> None:
    for kind, add in (("down", _down), ("load", _load), ("canary", _canary), ("capacity", _capacity)):
        if kind in ops.rules:
            add(suite, ops, ops.rules[kind])


def _down(suite: Suite, ops: _Ops, rule: dict) -> None:
    pods, wait = ops.pods, _wait(rule, ops.me)
    ksm_up = pods.up(gauge([(60, 1)]))

    def each(values: str) -> list[dict]:
        """The readiness of every predictor pod of the model (Standard: the Rollout's and the Deployment's)."""
        return [pods.series("kube_pod_status_ready", pod, values, condition="true") for pod in pods.own()]

    ops.test(suite, "down", "pods stop being ready", [ksm_up] + each(gauge([(30, 1), (30, 0)]))
             + pods.look_alikes_ready(60), [
                 ("down_not_ready", f"every predictor pod turns not ready (look-alike pods stay ready): fires after "
                  f"{wait} min", fires_at(rule, ops.me, 30 + wait), rule, wait)])
    ops.test(suite, "down", "pods deleted", [ksm_up] + each(gauge([(30, 1), (30, GONE)]))
             + pods.look_alikes_ready(60), [
                 ("down_pods_gone", f"every predictor pod deleted (no series = 0 ready pods): fires after {wait} min",
                  fires_at(rule, ops.me, 30 + wait), rule, wait)])
    ops.test(suite, "down", "kube-state-metrics down", [pods.up(gauge([(30, 1), (60, 0)]))]
             + each(gauge([(30, 1), (60, GONE)])), [
                 ("down_silent_monitoring_lost", "kube-state-metrics goes down and its pod series vanish: silent "
                  "(a monitoring outage is not a model outage)", silent(rule, 90), rule, None)])


def _load(suite: Suite, ops: _Ops, rule: dict) -> None:
    pods, wait = ops.pods, _wait(rule, ops.me)
    pod = pods.own()[0]
    _sidecars, inits = storage_containers(ops.me.model)
    # A crash loop: waiting 3 minutes, running 2 (kube-state-metrics drops the waiting series), from minute 20.
    loop = gauge([(20, None)] + [(3, 1), (2, GONE)] * 10)
    ops.test(suite, "load", "the model server crash-loops", [
        pods.series("kube_pod_container_status_waiting_reason", pod, gauge([(3, 1)]), container="kserve-container",
                    reason="ContainerCreating"),
        pods.series("kube_pod_container_status_waiting_reason", pod, loop, container="kserve-container",
                    reason="CrashLoopBackOff")], [
        ("load_crash_loop", f"kserve-container in CrashLoopBackOff (running between back-offs): fires after {wait} min",
         fires_at(rule, ops.me, 20 + wait, container="kserve-container"), rule, wait)])
    if inits:
        init = inits[0]
        failed = gauge([(20, None)] + [(1, 1), (4, GONE)] * 10)
        backoff = gauge([(21, None)] + [(3, 1), (2, GONE)] * 10)
        ops.test(suite, "load", "the model download fails", [
            pods.series("kube_pod_init_container_status_terminated_reason", pod, failed, container=init,
                        reason="Error"),
            pods.series("kube_pod_init_container_status_waiting_reason", pod, backoff, container=init,
                        reason="CrashLoopBackOff")], [
            ("load_download_fails", f"{init} exits with an error, again and again: fires after {wait} min",
             fires_at(rule, ops.me, 20 + wait, container=init), rule, wait)])
    silent_series = [
        pods.series("kube_pod_container_status_waiting_reason", pod, gauge([(3, 1)]), container="kserve-container",
                    reason="ContainerCreating")]
    if inits:
        silent_series.append(pods.series("kube_pod_init_container_status_terminated_reason", pod, gauge([(60, 1)]),
                                          container=inits[0], reason="Completed"))
    silent_series += [pods.series("kube_pod_container_status_waiting_reason", p, gauge([(60, 1)]), ns,
                                  container="kserve-container" if "transformer" not in p else "transformer-container",
                                  reason="CrashLoopBackOff") for p, ns in pods.look_alikes()]
    ops.test(suite, "load", "a normal start", silent_series, [
        ("load_silent_normal_start", "the model downloads and starts (look-alike pods crash-loop): silent",
         silent(rule, 60), rule, None)])


def _canary(suite: Suite, ops: _Ops, rule: dict) -> None:
    wait, name, ns = _wait(rule, ops.me), ops.me.name, ops.me.env.namespace
    strategy = "canary"

    def info(phase: str, values: str, rollout: str = name) -> dict:
        labels = {"job": ops.rollouts_job, "namespace": ns, "name": rollout, "strategy": strategy,
                  "traffic_router": "Istio" if ops.me.model.canary.istio else "", "phase": phase}
        return {"series": _labels("rollout_info", {k: v for k, v in labels.items() if v}), "values": values}

    total = 10 + wait + 10
    for phase, scenario, what in (("Paused", "canary_paused", "paused (a manual pause step, or an inconclusive "
                                   "analysis) and nobody acts"), ("Abort", "canary_aborted", "aborted")):
        ops.test(suite, "canary", f"the Rollout stays {phase}", [
            info("Progressing", gauge([(10, 1), (total - 10, GONE)])),
            info(phase, gauge([(10, None), (total - 10, 1)]))], [
            (scenario, f"the Rollout is {what}: fires after {wait} min (longest step + {CANARY_MARGIN_MINUTES} min)",
             fires_at(rule, ops.me, 10 + wait, phase=phase), rule, wait)])
    # A healthy canary: each step paused as long as the longest step (plus a scrape or two), then on.
    step = wait - CANARY_MARGIN_MINUTES + 2
    progressing: list[Phase] = []
    paused: list[Phase] = []
    for _ in range(3):  # the controller exports the current phase only: the other one goes stale
        progressing += [(2, 1), (step, GONE)]
        paused += [(2, GONE), (step, 1)]
    length = 3 * (2 + step)
    ops.test(suite, "canary", "a canary that moves on", [
        info("Progressing", gauge(progressing + [(20, GONE)])),
        info("Paused", gauge(paused + [(20, GONE)])),
        info("Completed", gauge([(length, None), (20, 1)])),
        info("Paused", gauge([(length + 20, 1)]), rollout=f"{name}-v2")], [
        ("canary_silent_steps", f"three steps paused {step} min each, then Completed (another Rollout stays "
         "paused): silent", silent(rule, length + 20), rule, None)])


def _capacity(suite: Suite, ops: _Ops, rule: dict) -> None:
    wait, name = _wait(rule, ops.me), ops.me.name
    top = ops.me.model.autoscaling.max_replicas

    def hpa(metric: str, values: str, hpa_name: str = name) -> dict:
        labels = {"job": ops.pods.job, "namespace": ops.me.env.namespace, "horizontalpodautoscaler": hpa_name}
        return {"series": _labels(metric, labels), "values": values}

    current = "kube_horizontalpodautoscaler_status_current_replicas"
    spec = "kube_horizontalpodautoscaler_spec_max_replicas"
    ops.test(suite, "capacity", "at maxReplicas", [
        hpa(spec, gauge([(10 + wait + 10, top)])), hpa(current, gauge([(10, top - 1), (wait + 10, top)]))], [
        ("capacity_at_max", f"the HPA reaches maxReplicas ({top}) and stays: fires after {wait} min",
         fires_at(rule, ops.me, 10 + wait), rule, wait)])
    burst = wait - 5
    ops.test(suite, "capacity", "bursts at maxReplicas", [
        hpa(spec, gauge([(2 * burst + 5, top)])),
        hpa(current, gauge([(burst, top), (5, top - 1), (burst, top)])),
        hpa(spec, gauge([(2 * burst + 5, top)]), f"{name}-v2"),
        hpa(current, gauge([(2 * burst + 5, top)]), f"{name}-v2")], [
        ("capacity_silent_bursts", f"two bursts at maxReplicas of {burst} min each (another HPA stays at its "
         "maximum): silent", silent(rule, 2 * burst + 5), rule, None)])
