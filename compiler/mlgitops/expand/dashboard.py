"""A Grafana dashboard per model environment: a ConfigMap the kube-prometheus-stack Grafana sidecar loads.

The sidecar watches ConfigMaps labelled `grafana_dashboard: "1"` (the chart's default label; its
`sidecar.dashboards.searchNamespace` must reach the model namespaces) and provisions each JSON
file of their `data`. One dashboard answers on-call's questions about one model in one
environment, from the same series the alerts and gates read:

- per SLO: the SLI (good ratio) against its objective, the error budget left over the SLO
  window, and the burn rate over every alert window with the alert thresholds as lines
  (the recording rules of expand/slo.py, so the panels and the alerts cannot disagree);
- the canary, when a Rollout is generated: the traffic share each pod template really gets
  (the mesh PodMonitor's `istio_requests_total`, which carries `rollouts_pod_template_hash`),
  the Rollout's phase and the analysis results (the Argo Rollouts controller's metrics);
- replicas: the Rollout's available and desired replicas, or for serverless models the ready
  predictor pods from kube-state-metrics, with the model's minimum and maximum as lines.

Which model environments get one: those with an SLO or a Rollout. A serverless model without
an SLO would only get a replicas panel, which kube-prometheus-stack's own workload dashboards
already show.

Every raw metric selector names the `job` of the scrape that collects it (slo/collection.py
checks the `targets[].expr` of every dashboard at build time). The JSON is deterministic (sorted
keys, ids in panel order, uid derived from model and environment) and is checked against
Grafana's dashboard model in tests/test_dashboard.py; slo/plot.py renders the same panels.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib

import orjson

from .. import names
from ..config import Config
from ..domain.burnrate import windows
from ..domain.sources import SOURCES
from ..domain.units import duration_seconds
from ..spec.model import ModelEnv
from ..spec.resolved import Model
from .analysis import GENERATOR as ANALYSIS
from .generator import ANY, MONITORING_FILE, KindGenerator, Path
from .monitoring import mesh_job, scrapes_mesh
from .slo import RECORD, has_sli, sli_queries

DASHBOARD_LABEL = "grafana_dashboard"  # kube-prometheus-stack: grafana.sidecar.dashboards.label
SCHEMA_VERSION = 41  # Grafana 11.6's dashboard JSON model (the one tests/test_dashboard.py checks against)
GRID_WIDTH = 24  # Grafana's grid is 24 columns wide
ROW_HEIGHT = 8
MAX_UID = 40  # Grafana refuses longer dashboard uids
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
# Colours of the alert tiers' threshold lines, in table order (the first tier is the most urgent).
TIER_COLOURS = ("red", "orange", "yellow", "purple")
# Rollout phases as the controller's `rollout_info` labels them (controller/metrics/rollouts.go
# calculatePhase: not the Rollout's status.phase), then AnalysisRun metric phases.
ROLLOUT_PHASES = ("Completed", "Progressing", "Paused", "Abort", "Timeout", "Error", "InvalidSpec")
PHASE_COLOURS = {"Completed": "green", "Progressing": "blue", "Paused": "yellow", "Abort": "red",
                 "Timeout": "red", "InvalidSpec": "red",
                 "Running": "blue", "Successful": "green", "Failed": "red", "Error": "red",
                 "Inconclusive": "yellow", "Pending": "text"}


@dataclasses.dataclass(frozen=True)
class Query:
    expr: str
    legend: str


@dataclasses.dataclass(frozen=True)
class Panel:
    """One panel, as the dashboard JSON and the preview (slo/plot.py) both need it.

    `kind` says what it shows (sli, budget, burn, traffic, phase, analysis, replicas);
    `lines` are threshold lines (value, colour, label); `series` names what a simulation draws
    (windows, phases, analysis metrics)."""

    kind: str
    title: str
    plugin: str  # Grafana panel type: timeseries, stat, state-timeline
    queries: tuple[Query, ...]
    unit: str
    description: str
    slo: str | None = None
    objective: float | None = None
    lines: tuple[tuple[float, str, str], ...] = ()
    series: tuple[str, ...] = ()
    grid: tuple[int, int, int, int] = (0, 0, GRID_WIDTH, ROW_HEIGHT)  # x, y, w, h


def tier_colour(index: int) -> str:
    """The colour of the index-th alert tier's lines (tiers past the palette share its last)."""
    return TIER_COLOURS[min(index, len(TIER_COLOURS) - 1)]


def applies(model: Model) -> bool:
    """An SLO or a Rollout (every Standard-mode model has one) to watch."""
    return has_sli(model) or model.standard


def uid(model: str, env: str) -> str:
    """Stable across builds and unique per model environment, readable, at most 40 characters:
    `<model>-<env>` cut to 31, and 8 hex digits of a hash of both (`a-b`/`c` and `a`/`b-c` differ)."""
    digest = hashlib.sha256(f"{env}/{model}".encode()).hexdigest()[:8]
    return f"{f'{model}-{env}'[:MAX_UID - 9]}-{digest}"


def _selector(model: Model, slo: str) -> str:
    return f'model="{model.name}",env="{model.environment}",slo="{slo}"'


def slo_panels(model: Model, config: Config) -> list[Panel]:
    """SLI vs objective, budget left and burn rates, one row per SLO (expand/slo.py's records)."""
    out = []
    table = config.burn_rate_alerts
    shortest, window = windows(table)[0], model.slo.window
    for slo_id, _query, objective in sli_queries(model, config):
        sel = _selector(model, slo_id)
        budget = round(1 - objective, 10)
        out.append(Panel(
            "sli", f"{slo_id}: SLI vs objective", "timeseries",
            (Query(f"1 - {RECORD}{shortest}{{{sel}}}", f"good ratio ({shortest})"),
             Query(f"1 - {RECORD}{window}{{{sel}}}", f"good ratio ({window})"),
             Query(f"mlgitops:slo_objective:ratio{{{sel}}}", "objective")),
            "percentunit", f"Share of good requests against the {objective * 100:g}% objective.",
            slo=slo_id, objective=objective, series=(shortest, window)))
        out.append(Panel(
            "budget", f"{slo_id}: error budget left ({window})", "stat",
            (Query(f"mlgitops:slo_error_budget:remaining_ratio{{{sel}}}", "budget left"),),
            "percentunit", f"Share of the {window} error budget ({budget * 100:g}% of requests) not yet spent; "
                           "below 0 the objective is missed.",
            slo=slo_id, objective=objective, series=(window,)))
        lines, said = [], []
        for i, tier in enumerate(table):
            for pair in tier.pairs:
                lines.append((float(pair.burn_rate), tier_colour(i), f"{tier.severity} {pair.long}/{pair.short}"))
                said.append(f"{tier.severity} {pair.long}/{pair.short} at {pair.burn_rate:g}x")
        out.append(Panel(
            "burn", f"{slo_id}: burn rate", "timeseries",
            tuple(Query(f"{RECORD}{w}{{{sel}}} / {budget:g}", w) for w in windows(table)),
            "suffix:x", "Error ratio over each alert window as a multiple of the budget rate (1x spends the "
                        f"budget in exactly {window}). An alert fires when both windows of a pair are above "
                        f"its line: {'; '.join(said)}.",
            slo=slo_id, objective=objective, lines=tuple(sorted(lines)), series=windows(table)))
    return out


def canary_panels(me: ModelEnv, config: Config) -> list[Panel]:
    """Traffic share per pod template, Rollout phase, analysis results (a Rollout exists)."""
    model = me.model
    if not model.standard:
        return []
    out = []
    rollouts = config.rollouts_metrics.job
    ns = model.namespace
    if scrapes_mesh(model, config):
        ident = ",".join(f'{k}="{v}"' for k, v in SOURCES["istio"].identity(ns, model.name).items())
        sel = f'job="{mesh_job(model)}",{ident}'
        by_hash = (f'sum by (rollouts_pod_template_hash) (rate(istio_requests_total{{{sel},'
                   f'rollouts_pod_template_hash!=""}}[$__rate_interval]))')
        total = f"sum(rate(istio_requests_total{{{sel}}}[$__rate_interval]))"
        out.append(Panel(
            "traffic", "canary: traffic share per pod template", "timeseries",
            (Query(f"{by_hash}\n/ ignoring (rollouts_pod_template_hash) group_left\n{total}",
                   "{{rollouts_pod_template_hash}}"),),
            "percentunit", "Share of the requests the model's pods received, per pod template hash (stable "
                           "and canary ReplicaSets), as their Istio sidecars count them."))
    rollout = f'job="{rollouts}",namespace="{ns}",name="{model.name}"'
    out.append(Panel(
        "phase", "canary: rollout phase", "state-timeline",
        (Query(f"max by (phase) (rollout_info{{{rollout}}})", "{{phase}}"),),
        "none", "The Rollout's phase as the Argo Rollouts controller reports it.",
        series=("Completed", "Progressing", "Paused")))
    if model.has_analysis:
        metrics = _analysis_metrics(me, config)
        runs = (f'job="{rollouts}",namespace="{ns}",'
                f'name=~"{model.name}-[a-z0-9]+-[0-9]+(-[0-9]+)?"')
        out.append(Panel(
            "analysis", "canary: analysis results", "state-timeline",
            (Query(f"max by (metric, phase) (analysis_run_metric_phase{{{runs}}})", "{{metric}}: {{phase}}"),),
            "none", "Phase of each canary gate of the Rollout's AnalysisRuns "
                    f"(`<rollout>-<pod template hash>-<revision>`): {', '.join(metrics)}.",
            series=metrics))
    return out


def _analysis_metrics(me: ModelEnv, config: Config) -> tuple[str, ...]:
    """The canary gates' names, as the generated AnalysisTemplate has them (the one truth about its gates)."""
    return tuple(str(m["name"]) for obj in ANALYSIS.build(me, config) for m in obj["spec"]["metrics"])


def replicas_panel(model: Model, config: Config) -> Panel:
    """Available and desired replicas of the Rollout, or ready predictor pods (serverless); with
    an HPA, its live minReplicas and maxReplicas (kube-state-metrics), not the model's numbers:
    the dashboard does not change when only the replica bounds do, and shows what the cluster has."""
    queries: tuple[Query, ...]
    if model.standard:
        sel = f'job="{config.rollouts_metrics.job}",namespace="{model.namespace}",name="{model.name}"'
        queries = (Query(f"max(rollout_info_replicas_desired{{{sel}}})", "desired"),
                   Query(f"max(rollout_info_replicas_available{{{sel}}})", "available"))
        said = "The Rollout's desired and available replicas (Argo Rollouts controller)"
    else:
        pods = names.predictor_pod_regex(model.name, model.mode)  # the alerts' own regex
        sel = f'job="{config.kube_state_metrics.job}",namespace="{model.namespace}",pod=~"{pods}",condition="true"'
        queries = (Query(f"sum(kube_pod_status_ready{{{sel}}})", "ready pods"),)
        said = "Ready predictor pods (kube-state-metrics)"
    if model.uses_hpa:
        hpa = f'job="{config.kube_state_metrics.job}",namespace="{model.namespace}",horizontalpodautoscaler="{model.name}"'
        queries += (Query(f"max(kube_horizontalpodautoscaler_spec_min_replicas{{{hpa}}})", "minReplicas"),
                    Query(f"max(kube_horizontalpodautoscaler_spec_max_replicas{{{hpa}}})", "maxReplicas"))
        said += ", between the HPA's minReplicas and maxReplicas"
    return Panel("replicas", "replicas", "timeseries", queries, "none", f"{said}.",
                 series=tuple(q.legend for q in queries))


def panels(me: ModelEnv, config: Config) -> list[Panel]:
    """The dashboard's panels laid out on Grafana's grid: a row of three per SLO, then the
    canary panels and the replicas sharing the last row."""
    model = me.model
    out = []
    y = 0
    slo = slo_panels(model, config)
    for start in range(0, len(slo), 3):
        for i, panel in enumerate(slo[start:start + 3]):
            out.append(_placed(panel, (i * 8, y, 8, ROW_HEIGHT)))
        y += ROW_HEIGHT
    last = canary_panels(me, config) + [replicas_panel(model, config)]
    width = GRID_WIDTH // len(last)
    for i, panel in enumerate(last):
        w = GRID_WIDTH - i * width if i == len(last) - 1 else width
        out.append(_placed(panel, (i * width, y, w, ROW_HEIGHT)))
    return out


def _placed(panel: Panel, grid: tuple[int, int, int, int]) -> Panel:
    """dataclasses.replace(panel, grid=grid), without its field-by-field introspection (a fifth of
    a dashboard's time): a new panel with the same fields."""
    placed = object.__new__(Panel)
    placed.__dict__.update(panel.__dict__, grid=grid)
    return placed


# --- the JSON -------------------------------------------------------------------------------------

def _legend() -> dict:
    return {"calcs": [], "displayMode": "list", "placement": "bottom", "showLegend": True}


def _thresholds(panel: Panel) -> dict:
    steps: list[dict] = [{"color": "green", "value": None}]
    if panel.kind == "budget":
        steps = [{"color": "red", "value": None}, {"color": "orange", "value": 0}, {"color": "green", "value": 0.25}]
    steps += [{"color": colour, "value": value} for value, colour, _ in panel.lines]
    return {"mode": "absolute", "steps": steps}


def _overrides(panel: Panel) -> list[dict]:
    """Fixed colours: the objective line, and each phase (Rollout and analysis) by name."""
    def colour(matcher: dict, name: str) -> dict:
        return {"matcher": matcher, "properties": [{"id": "color", "value": {"fixedColor": name, "mode": "fixed"}}]}

    if panel.kind == "sli":
        return [colour({"id": "byName", "options": "objective"}, "red")]
    if panel.kind == "phase":
        return [colour({"id": "byName", "options": p}, PHASE_COLOURS[p])
                for p in ROLLOUT_PHASES]
    if panel.kind == "analysis":
        return [colour({"id": "byRegexp", "options": f".*: {p}"}, PHASE_COLOURS[p])
                for p in ("Running", "Successful", "Failed", "Error", "Inconclusive")]
    return []


def _field_config(panel: Panel) -> dict:
    return _shared_field_config(panel.kind, panel.plugin, panel.unit, panel.lines)


@functools.lru_cache(maxsize=256)
def _shared_field_config(kind: str, plugin: str, unit: str, lines: tuple) -> dict:
    """_field_config of every panel with these settings: made once, and shared (only serialised)."""
    panel = Panel(kind, "", plugin, (), unit, "", lines=lines)
    defaults: dict = {"color": {"mode": "palette-classic"}, "thresholds": _thresholds(panel), "unit": panel.unit}
    if panel.plugin == "timeseries":
        defaults["custom"] = {"fillOpacity": 10 if panel.kind != "traffic" else 60, "lineWidth": 2,
                              "showPoints": "never",
                              "stacking": {"group": "A", "mode": "normal" if panel.kind == "traffic" else "none"},
                              "thresholdsStyle": {"mode": "line" if panel.lines else "off"}}
        if panel.kind == "traffic":
            defaults.update(min=0, max=1)
        if panel.kind == "replicas":
            defaults.update(min=0, decimals=0)
    elif panel.plugin == "state-timeline":
        defaults["custom"] = {"fillOpacity": 80, "lineWidth": 0}
        defaults["mappings"] = [{"type": "value", "options": {"1": {"text": "now", "index": 0}}}]
    else:
        defaults["color"] = {"mode": "thresholds"}
        defaults["decimals"] = 1
    return {"defaults": defaults, "overrides": _overrides(panel)}


def _options(panel: Panel) -> dict:
    return _shared_options(panel.plugin)


@functools.lru_cache(maxsize=16)
def _shared_options(plugin: str) -> dict:
    """The options of every panel of a plugin: made once, and shared (only serialised)."""
    if plugin == "stat":
        return {"colorMode": "value", "graphMode": "area", "justifyMode": "auto", "orientation": "auto",
                "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                "showPercentChange": False, "textMode": "value", "wideLayout": True}
    options: dict = {"legend": _legend(), "tooltip": {"mode": "multi", "sort": "none"}}
    if plugin == "state-timeline":
        options.update(alignValue="left", mergeValues=True, rowHeight=0.9, showValue="never")
    return options


def panel_json(panel: Panel, panel_id: int) -> dict:
    x, y, w, h = panel.grid
    targets = [{"datasource": DATASOURCE, "editorMode": "code", "expr": q.expr, "legendFormat": q.legend,
                "range": True, "refId": chr(ord("A") + i)} for i, q in enumerate(panel.queries)]
    return {"datasource": DATASOURCE, "description": panel.description, "fieldConfig": _field_config(panel),
            "gridPos": {"h": h, "w": w, "x": x, "y": y}, "id": panel_id, "options": _options(panel),
            "targets": targets, "title": panel.title, "type": panel.plugin}


def dashboard(me: ModelEnv, config: Config) -> dict:
    """The dashboard JSON model of one model environment. Its panels' field configs and options
    are shared with every other dashboard's (made once): read it, serialise it, or copy it before
    changing anything in it."""
    model = me.model
    env = model.environment
    variable = {"current": {}, "hide": 0, "includeAll": False, "label": "Data source", "multi": False,
                "name": "datasource", "options": [], "query": "prometheus", "refresh": 1, "regex": "",
                "type": "datasource"}
    return {
        "annotations": {"list": []},
        "description": f"Generated by mlgitops from {me.file.path}: edit that file, not this dashboard.",
        "editable": False,
        "graphTooltip": 1,
        "links": [],
        "panels": [panel_json(p, i) for i, p in enumerate(panels(me, config), 1)],
        "refresh": "1m",
        "schemaVersion": SCHEMA_VERSION,
        "tags": ["mlgitops", str(env), str(model.name)],
        "templating": {"list": [variable]},
        "time": {"from": "now-6h", "to": "now"},
        "timepicker": {},
        "timezone": "utc",
        "title": f"{model.name} ({env})",
        "uid": uid(model.name, env),
        "version": 1,
    }


def dashboard_text(doc: dict) -> str:
    """The JSON file: sorted keys, one value a line (diffs read per field), two-space indents.
    orjson, not json.dumps: an indent makes the standard library fall back from its C encoder to
    pure Python, about 1.5 ms a dashboard, the largest single cost of a 1,000-model build
    (bench/build.py); orjson takes 0.03 ms, with the same bytes on every machine."""
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode() + "\n"


# The queries of the dashboard texts this process generated last, by the text's identity: the
# collection check (slo/collection.py) reads them from here instead of parsing 40 KB of JSON back.
_TARGETS: dict[int, tuple[str, tuple[tuple[str, str], ...]]] = {}
_TARGETS_KEPT = 16


def panel_targets(doc: dict) -> tuple[tuple[str, str], ...]:
    """(panel title, query) of every target with a query in a dashboard JSON model, its panels
    and then the panels of its rows."""
    panels = doc.get("panels", [])
    return tuple((panel.get("title", "?"), target["expr"])
                 for panel in panels + [p for row in panels for p in row.get("panels", [])]
                 for target in panel.get("targets", []) if target.get("expr"))


def targets(text: str) -> tuple[tuple[str, str], ...]:
    """panel_targets of a dashboard JSON file: remembered when this process generated `text`
    (the same object) recently, else parsed."""
    known = _TARGETS.get(id(text))
    if known is not None and known[0] is text:
        return known[1]
    return panel_targets(orjson.loads(text))


def _generated_text(doc: dict) -> str:
    text = dashboard_text(doc)
    if len(_TARGETS) >= _TARGETS_KEPT:
        _TARGETS.clear()
    _TARGETS[id(text)] = (text, panel_targets(doc))  # the entry holds `text`: its id stays unique
    return text


def data_key(model: Model) -> str:
    return f"{model.name}-{model.environment}.json"


def config_map(me: ModelEnv, config: Config) -> dict:
    model = me.model
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": names.dashboard(model.name), "labels": {DASHBOARD_LABEL: "1"}},
            "data": {data_key(model): _generated_text(dashboard(me, config))}}


def _source(me: ModelEnv, obj: dict, path: Path) -> Path:
    """The dashboard is drawn from the SLOs when there are any, else from the canary."""
    return me.source_path(("slo",) if has_sli(me.model) else ("canary",))


def _build(me: ModelEnv, config: Config) -> list[dict]:
    return [config_map(me, config)]


def _names(model: Model) -> list[tuple[str, str]]:
    return [("Grafana dashboard ConfigMap name", names.dashboard(model.name))]


_CM = "ConfigMap"
GENERATOR = KindGenerator(
    name="dashboard",
    kinds=(_CM,),
    file=MONITORING_FILE,
    applies=applies,
    build=_build,
    names=_names,
    derived=((_CM, ("data", ANY), _source),),
    constants=((_CM, ("metadata", "labels", DASHBOARD_LABEL)),),
)
