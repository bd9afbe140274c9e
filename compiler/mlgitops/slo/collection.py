"""Collection is part of the SLO: every raw metric a generated query reads is collected.

A recording rule over a metric nobody scrapes records nothing, and an alert over an empty record
never fires: the SLO is blind and says nothing. So at every build, for each model in each
environment, this reads every PromQL query of the generated objects (PrometheusRule `expr`s,
AnalysisTemplate Prometheus queries, Grafana dashboard targets) with Prometheus' grammar
(promql-parser), and proves that each metric it selects is

- a series a generated rule records (`record:` in the same overlay), or one Prometheus makes
  itself (`ALERTS`, `up`, ...); or
- selected with `job="<job>"`, and a scrape with that job collects it: a monitor generated for the
  model (its job as Prometheus Operator names it, its endpoint's exporter, and its `keep`/`drop`
  relabelings on `__name__`), or a platform scrape declared in mlgitops.yaml (`monitoring.
  meshScrape`, `kubeStateMetrics`, `rolloutsMetrics`, `scrapes`).

A read without a `job` matcher is a finding too: it would count any second scrape of the same
targets twice, and nothing says which scrape the SLO relies on.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from typing import Callable, Iterator

import promql_parser

from .. import names
from ..config import Config, PlatformScrape
from ..domain.sources import EXPORTERS
from ..expand.common import HTTP_PORT_NAME
from ..expand.dashboard import targets as dashboard_targets
from ..expand.monitoring import KNATIVE_USER_PORT, predictor_job
from ..spec.resolved import Model

# Series Prometheus writes itself: for alerts (rule evaluation) and for every scrape target.
SYNTHETIC = frozenset(("ALERTS", "ALERTS_FOR_STATE"))
PER_TARGET = frozenset(("up", "scrape_duration_seconds", "scrape_samples_scraped",
                        "scrape_samples_post_metric_relabeling", "scrape_series_added"))
# What serves each monitored port (domain/sources.py EXPORTERS): the sidecar, or the model server.
PORT_EXPORTERS = {"http-envoy-prom": "envoy", HTTP_PORT_NAME: "model-server", KNATIVE_USER_PORT: "model-server"}
# Grafana's sidecar loads ConfigMaps with this label (expand/dashboard.py).
DASHBOARD_LABEL = "grafana_dashboard"


@dataclasses.dataclass(frozen=True)
class Selector:
    """One vector selector of a query: its metric name (None when only a regex names it) and
    its matchers as (label, operator, value), operator one of = != =~ !~."""

    metric: str | None
    matchers: tuple[tuple[str, str, str], ...]

    def equal(self, label: str) -> str | None:
        return next((v for name, op, v in self.matchers if name == label and op == "="), None)

    @functools.cached_property
    def job(self) -> str | None:
        """equal("job"), worked out once (the selectors of a parse are shared by many overlays)."""
        return self.equal("job")


@dataclasses.dataclass(frozen=True)
class Collector:
    """A scrape: its job label, what it collects, and what declares it (for messages)."""

    job: str
    metrics: frozenset[str]
    origin: str


@dataclasses.dataclass(frozen=True)
class Read:
    """A query of a generated object: where it is, and the settings path it comes from."""

    where: str  # e.g. "PrometheusRule iris-slo, rule mlgitops:slo_errors:ratio_rate5m"
    query: str
    path: tuple  # the model-file settings path to report a finding at


@dataclasses.dataclass(frozen=True)
class Finding:
    read: Read
    metric: str
    message: str


class QueryError(ValueError):
    """A query Prometheus' grammar refuses."""


_OPS = {"MatchOp.Equal": "=", "MatchOp.NotEqual": "!=", "MatchOp.Re": "=~", "MatchOp.NotRe": "!~"}
# A double-quoted string literal: '"(?:[^"\\]|\\.)*"' unrolled (the same matches, twice as fast).
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_RANGE = re.compile(r"\[[0-9a-z]+(:[0-9a-z]*)?\]")  # a range or subquery duration: [5m], [1h:1m]


def selectors(query: str, literals: tuple[str, ...] = ()) -> list[Selector]:
    """Every vector selector of `query` (range selectors and subqueries included).

    `literals` are strings (model name, namespace) to factor out of the query's string literals
    before parsing, so the many models of a repository share one parse of one query shape
    (parsing is about 150 us a query; a 1,000-model build reads 100,000 queries)."""
    shape, unmark = _factor(query, literals)
    return [Selector(unmark(s.metric), tuple((n, op, unmark(v)) for n, op, v in s.matchers))
            for s in _parse(shape)]


def _factor(query: str, literals: tuple[str, ...]) -> tuple[str, Callable]:
    """(the query with `literals` inside its string literals replaced by placeholders, the
    function that puts them back into a value of the parsed shape)."""
    marks, plain = _marks(literals)
    if not marks:
        return query, _same
    unmark = _unmarker(marks)
    outside = _outside(query) if plain else ""
    if plain and not any(text in outside for text, _ in marks):
        # The common case, at C speed: a literal without quotes or escapes that occurs nowhere
        # outside the string literals can only occur inside them.
        shape = query
        for original, placeholder in marks:
            shape = shape.replace(original, placeholder)
    else:
        def mark(match: re.Match) -> str:
            text = match.group(0)
            for original, placeholder in marks:
                text = text.replace(original, placeholder)
            return text

        shape = _STRING.sub(mark, query)
    return shape, unmark


def _outside(query: str) -> str:
    """_STRING.sub('""', query): the query with every string literal emptied. Without a
    backslash and with an even number of quotes, the literals are the text between consecutive
    quotes: a split finds them at C speed."""
    if "\\" not in query:
        parts = query.split('"')
        if len(parts) % 2:
            return '""'.join(parts[0::2])
    return _STRING.sub('""', query)


def _unmarker(marks: list[tuple[str, str]]) -> Callable:
    """The function that puts `marks`' literals back into a value of a factored shape."""
    def unmark(value: str | None) -> str | None:
        if value is None or "\u27e8" not in value:
            return value
        for original, placeholder in reversed(marks):
            value = value.replace(placeholder, original)
        return value

    return unmark


_SEPARATOR = "\x00"  # joins the queries of one overlay for one pass at C speed: no query holds it


def _each(pattern: re.Pattern, replacement: str, queries: list[str]) -> list[str]:
    """[pattern.sub(replacement, q) for q in queries] in one pass (the pattern never matches
    the separator, so no match spans two queries)."""
    if len(queries) < 2 or any(_SEPARATOR in q for q in queries):
        return [pattern.sub(replacement, q) for q in queries]
    return pattern.sub(replacement, _SEPARATOR.join(queries)).split(_SEPARATOR)


def _factor_all(queries: list[str], literals: tuple[str, ...]) -> tuple[list[str], Callable]:
    """([_factor(q, literals)[0] for q in queries], the unmark function they share), with the
    fast path of _factor checked and taken for all the queries at once when it holds for each."""
    marks, plain = _marks(literals)
    if not marks:
        return list(queries), _same
    if plain and len(queries) > 1 and not any(_SEPARATOR in q for q in queries):
        outside = _SEPARATOR.join(_outside(q) for q in queries)
        # No literal outside the string literals of any query: each query takes _factor's fast
        # path, so all are replaced at once.
        if not any(text in outside for text, _ in marks):
            joined = _SEPARATOR.join(queries)
            for original, placeholder in marks:
                joined = joined.replace(original, placeholder)
            return joined.split(_SEPARATOR), _unmarker(marks)
    return [_factor(q, literals)[0] for q in queries], _unmarker(marks)


@functools.lru_cache(maxsize=64)
def _marks(literals: tuple[str, ...]) -> tuple[list[tuple[str, str]], bool]:
    """(each literal with its placeholder, longest first; whether every literal is plain)."""
    marks = [(text, f"\u27e8{i}\u27e9") for i, text in enumerate(sorted(set(literals), key=len, reverse=True)) if text]
    return marks, all(_PLAIN_LITERAL.match(text) for text, _ in marks)


def _same(value: str | None) -> str | None:
    return value


# What a literal to factor must look like for the fast path of _factor (names and namespaces do).
_PLAIN_LITERAL = re.compile(r"[A-Za-z0-9_.:/-]+\Z")


@functools.lru_cache(maxsize=4096)
def _parse(query: str) -> tuple[Selector, ...]:
    try:
        tree = promql_parser.parse(query)
    except Exception as exc:  # the binding raises plain exceptions with the parser's message
        raise QueryError(str(exc).strip().splitlines()[0] if str(exc).strip() else "not PromQL") from None
    out: list[Selector] = []

    def visit(node: object, *_: object) -> bool:
        if isinstance(node, promql_parser.VectorSelector):
            groups = [node.matchers.matchers] + list(node.matchers.or_matchers or [])
            for group in groups:
                matchers = tuple((m.name, _OPS[str(m.op)], m.value) for m in group)
                name = node.name or next((v for n, op, v in matchers if n == "__name__" and op == "="), None)
                out.append(Selector(name, tuple(m for m in matchers if m[0] != "__name__")))
        return True

    promql_parser.walk(tree, visit)
    return tuple(out)


# --- what is collected --------------------------------------------------------------------------

def _kept(metrics: frozenset[str], relabelings: list[dict]) -> frozenset[str]:
    """The metric names left after a monitor's `keep`/`drop` relabelings on `__name__`
    (Prometheus anchors the regex; the default regex `(.*)` matches everything)."""
    for r in relabelings:
        if r.get("sourceLabels") != ["__name__"] or r.get("action", "replace").lower() not in ("keep", "drop"):
            continue
        pattern = re.compile(r.get("regex", "(.*)"))
        keep = r.get("action", "").lower() == "keep"
        metrics = frozenset(m for m in metrics if bool(pattern.fullmatch(m)) == keep)
    return metrics


def monitor_collectors(obj: dict, model: Model) -> list[Collector]:
    """The scrapes a generated ServiceMonitor or PodMonitor makes, one per endpoint.

    Prometheus Operator's job label: `<namespace>/<name>` for a PodMonitor; the Service's name
    for a ServiceMonitor (KServe's predictor Service, `<model>-predictor`, is the only Service
    the generated ServiceMonitor selects)."""
    kind, name, spec = obj.get("kind"), obj["metadata"]["name"], obj.get("spec", {})
    if kind == "PodMonitor":
        job, endpoints = f"{model.namespace}/{name}", spec.get("podMetricsEndpoints", [])
    elif kind == "ServiceMonitor":
        job, endpoints = predictor_job(model), spec.get("endpoints", [])
    else:
        return []
    out = []
    for endpoint in endpoints:
        exporter = PORT_EXPORTERS.get(endpoint.get("port", ""))
        if exporter is None:
            continue
        metrics = _kept(EXPORTERS[exporter], endpoint.get("metricRelabelings", []))
        out.append(Collector(job, metrics | PER_TARGET, f"{kind} {name}"))
    return out


def platform_collectors(config: Config) -> list[Collector]:
    """The scrapes mlgitops.yaml declares the platform runs."""
    def one(scrape: PlatformScrape, exporter: str, key: str) -> Collector:
        metrics = scrape.metrics if scrape.metrics is not None else EXPORTERS[exporter]
        return Collector(scrape.job, metrics | PER_TARGET, f"mlgitops.yaml monitoring.{key}")

    out = [one(config.kube_state_metrics, "kube-state-metrics", "kubeStateMetrics"),
           one(config.rollouts_metrics, "argo-rollouts", "rolloutsMetrics")]
    if config.mesh_scrape is not None:
        out.append(one(config.mesh_scrape, "envoy", "meshScrape"))
    out += [Collector(s.job, (s.metrics or frozenset()) | PER_TARGET, f"mlgitops.yaml monitoring.scrapes[{i}]")
            for i, s in enumerate(config.scrapes)]
    return out


# --- what is read -------------------------------------------------------------------------------

def reads(objects: list[dict], model: Model) -> Iterator[Read]:
    """Every PromQL query of the overlay's objects, with where it is and the model setting
    behind it. AnalysisTemplate arguments are filled in as the Rollout passes them."""
    for query, path, origin in _queries(objects, model):
        yield Read(_where(origin), query, path)


# Where a query is, as _queries finds it: the object's kind and name, then the rule (a dict), the
# analysis metric (a dict), or the dashboard file's key and the panel's title. Only a finding
# needs it as text (_where): an overlay has about 60 queries, and a finding is rare.
Origin = tuple


def _queries(objects: list[dict], model: Model) -> Iterator[tuple[str, tuple, Origin]]:
    """(query, settings path, origin) of every query: reads() without the texts."""
    args = {"{{args.namespace}}": model.namespace, "{{args.canary-hash}}": "0123456789"}
    for obj in objects:
        kind = obj.get("kind")
        if kind == "PrometheusRule":
            name = obj.get("metadata", {}).get("name", "")
            for group in obj.get("spec", {}).get("groups", []):
                for rule in group.get("rules", []):
                    yield rule["expr"], ("slo",), (kind, name, rule)
        elif kind == "AnalysisTemplate":
            name = obj.get("metadata", {}).get("name", "")
            for metric in obj.get("spec", {}).get("metrics", []):
                query = metric.get("provider", {}).get("prometheus", {}).get("query")
                if query:
                    for placeholder, value in args.items():
                        query = query.replace(placeholder, value)
                    yield query, ("canary", "analysis"), (kind, name, metric)
        elif kind == "ConfigMap" and DASHBOARD_LABEL in obj.get("metadata", {}).get("labels", {}):
            name = obj.get("metadata", {}).get("name", "")
            for key, text in sorted(obj.get("data", {}).items()):
                for title, expr in dashboard_targets(text):
                    # Grafana's own variables stand in for a range and an interval.
                    query = expr.replace("$__rate_interval", "5m").replace("$__interval", "1m")
                    yield query, ("slo",), (kind, name, key, title)


def _where(origin: Origin) -> str:
    kind, name = origin[0], origin[1]
    if kind == "PrometheusRule":
        rule = origin[2]
        return f"{kind} {name}, {'rule' if 'record' in rule else 'alert'} {rule.get('record') or rule.get('alert')}"
    if kind == "AnalysisTemplate":
        return f"{kind} {name}, metric {origin[2]['name']}"
    return f"{kind} {name} {origin[2]}, panel {origin[3]!r}"


# --- the check ----------------------------------------------------------------------------------

def uncollected(objects: list[dict], model: Model, config: Config) -> list[Finding]:
    """Every read of a metric nothing collects (or that names no job), in object order."""
    collectors = [c for obj in objects for c in monitor_collectors(obj, model)] + platform_collectors(config)
    by_job: dict[str, list[Collector]] = {}
    for c in collectors:
        by_job.setdefault(c.job, []).append(c)
    recorded = {rule["record"] for obj in objects if obj.get("kind") == "PrometheusRule"
                for group in obj.get("spec", {}).get("groups", []) for rule in group.get("rules", [])
                if "record" in rule}
    literals = (model.name, model.namespace, names.predictor(model.name))
    findings: list[Finding] = []
    found_queries = list(_queries(objects, model))
    # The same query over another window (one recording rule per window) reads the same
    # series: checked, and reported, once. (Bracketed text inside a string literal, a regex
    # class, may be blurred too: harmless, only metric names and `job` values decide.)
    seen: set[str] = set()
    first = []
    for item, blurred in zip(found_queries, _each(_RANGE, "[]", [query for query, _, _ in found_queries])):
        if blurred not in seen:
            seen.add(blurred)
            first.append(item)
    shapes, unmark = _factor_all([query for query, _, _ in first], literals)
    problems: dict[tuple[str | None, str | None], str | None] = {}  # the same metric and job: one verdict
    for (query, path, origin), shape in zip(first, shapes):
        read = None
        try:
            selected = _parse(shape)
        except QueryError as exc:
            read = Read(_where(origin), query, path)
            findings.append(Finding(read, "", f"{read.where}: not a valid PromQL query: {exc}"))
            continue
        for selector in selected:
            # Only the metric and the job decide (_problem): the other matchers stay factored.
            key = (selector.metric, selector.job)
            if key not in problems:
                problems[key] = _problem(unmark(key[0]), unmark(key[1]), recorded, by_job)
            problem = problems[key]
            if problem:
                read = read or Read(_where(origin), query, path)
                findings.append(Finding(read, selector.metric or "", f"{read.where}: {problem}"))
    return findings


def _problem(metric: str | None, job: str | None, recorded: set[str],
             by_job: dict[str, list[Collector]]) -> str | None:
    if metric is None:
        return "selects series by a regular expression on their name; name the metric, so its collection can be checked"
    if metric in recorded or metric in SYNTHETIC:
        return None
    if ":" in metric:
        return f"reads {metric}, a recording rule's name that no generated rule records"
    if job is None:
        return (f"reads {metric} without `job=\"...\"`: select the job of the scrape that collects it "
                "(a generated monitor, or one declared in mlgitops.yaml monitoring)")
    scrapes = by_job.get(job)
    if not scrapes:
        known = ", ".join(sorted(by_job)) or "none"
        return (f"reads {metric} from job {job!r}, which no generated monitor and no platform scrape in "
                f"mlgitops.yaml has (jobs: {known})")
    if any(metric in c.metrics for c in scrapes):
        return None
    origins = ", ".join(sorted({c.origin for c in scrapes}))
    return f"reads {metric} from job {job!r} ({origins}), which does not collect it"
