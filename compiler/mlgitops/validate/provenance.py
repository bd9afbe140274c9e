"""Which model field produced each value of a generated object.

The expanders run once more, on a copy of the resolved model whose every scalar carries the
model-file path it came from (a str/int/float subclass; `str()` of a tagged number stays
tagged). Every leaf of the output that is such a value was copied from that field, whatever
code path copied it. What the expanders compute (a query, a rounded ratio, a derived name) is
matched by DERIVED, a table beside the expanders' knowledge of what they compute; what they
write themselves (apiVersions, ports, rule names) by CONSTANTS. A leaf in neither table is a
gap: tests/test_validate_sourcemap.py fails on it, so adding a field to an expander cannot
silently lose its mapping. Booleans and None cannot carry a tag; they are in the tables too.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

from ..config import Config
from ..expand.overlay import overlay_files
from ..expand.slo import slo_objectives
from ..spec.model import ModelEnv, ModelFile
from ..yamlsource import SourceDocument

Path = tuple
ANY = "*"  # one key or list index in a pattern


class _TStr(str):
    src: Path

    def __str__(self) -> str:
        return self


class _TInt(int):
    src: Path

    def __str__(self) -> str:
        return _tag(int.__repr__(self), self.src)


class _TFloat(float):
    src: Path

    def __str__(self) -> str:
        return _tag(float.__repr__(self), self.src)


def _tag(value: Any, src: Path) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    for plain, tagged in ((str, _TStr), (int, _TInt), (float, _TFloat)):
        if isinstance(value, plain):
            out = tagged(value)
            out.src = src
            return out
    return value


def _tag_tree(value: Any, path: Path, src_of: Callable[[Path], Path]) -> Any:
    if isinstance(value, dict):
        return {k: _tag_tree(v, path + (k,), src_of) for k, v in value.items()}
    if isinstance(value, list):
        return [_tag_tree(v, path + (i,), src_of) for i, v in enumerate(value)]
    return _tag(value, src_of(path))


def _traced(me: ModelEnv) -> ModelEnv:
    """`me` with every settings scalar tagged by its model-file path (env overrides honoured:
    ModelEnv.source_path), and the model's metadata tagged by its own path."""
    doc = me.file.doc
    data = dict(doc.data, metadata=_tag_tree(doc.data["metadata"], ("metadata",), lambda p: p))
    file = ModelFile(me.file.path, SourceDocument(doc.path, data, doc.value_positions, doc.key_positions,
                                                  doc.collections), me.file.text)
    return ModelEnv(file, me.env, _tag_tree(me.settings, (), me.source_path))


# --- what the expanders compute or write themselves -------------------------------------------------

# A rule's target: a model-file path, or a function of (model, object, leaf path) giving one.
Target = Path | Callable[[ModelEnv, dict, Path], Path]


def _slo_of_group(me: ModelEnv, obj: dict, path: Path) -> Path:
    """A PrometheusRule group belongs to one SLO (its rules' `slo` label): the objective that
    set it (availability, or the latency entry whose percentile made the id)."""
    rules = obj["spec"]["groups"][path[2]]["rules"]
    slo_id = rules[0]["labels"]["slo"]
    if slo_id == "availability":
        return me.source_path(("slo", "availability"))
    for found, i, _objective in slo_objectives(me):
        if found == slo_id and i is not None:
            return me.source_path(("slo", "latency", i, "percentile"))
    return me.source_path(("slo",))


def _analysis_limit(me: ModelEnv, obj: dict, path: Path) -> Path:
    """An AnalysisTemplate condition's threshold: the explicit canary setting, else the SLO
    objective it is derived from (spec.checks.analysis_metrics)."""
    name = obj["spec"]["metrics"][path[2]]["name"]
    explicit = ("canary", "analysis", "successRate" if name == "error-ratio" else "latencyP95")
    if me.source_path(explicit)[-1] == explicit[-1]:
        return me.source_path(explicit)
    if name == "error-ratio":
        return me.source_path(("slo", "availability"))
    for i, objective in enumerate(me.settings["slo"].get("latency", [])):
        if objective["percentile"] == 95:
            return me.source_path(("slo", "latency", i, "threshold"))
    return me.source_path(("slo",))


def _canary_step(me: ModelEnv, obj: dict, path: Path) -> Path:
    """A Rollout pause step: the model's canary step it follows (each step is setWeight, pause)."""
    steps = obj["spec"]["strategy"]["canary"]["steps"]
    index = sum(1 for step in steps[:path[4] + 1] if "setWeight" in step) - 1
    return me.source_path(("canary", "steps", index, "pause"))


def _settings(*path: Any) -> Target:
    return lambda me, obj, leaf: me.source_path(path)


_NAME = ("metadata", "name")

# (kind, leaf path pattern, target): values the expanders compute from the model.
DERIVED: tuple[tuple[str, Path, Target], ...] = (
    (ANY, ("metadata", "name"), _NAME),  # <name>-predictor, <name>-canary, ...
    ("InferenceService", ("spec", "predictor", "topologySpreadConstraints", ANY, "labelSelector", "matchLabels",
                          "app"), _NAME),
    ("Rollout", ("spec", "selector", "matchLabels", "app"), _NAME),
    ("Rollout", ("spec", "workloadRef", "name"), _NAME),
    ("Rollout", ("spec", "strategy", "canary", "analysis", "templates", ANY, "templateName"), _NAME),
    ("Rollout", ("spec", "strategy", "canary", "analysis", "args", ANY, "value"), _NAME),
    ("Rollout", ("spec", "strategy", "canary", "analysis", "startingStep"),
     _settings("canary", "analysis", "startingStep")),
    ("Rollout", ("spec", "strategy", "canary", "canaryService"), _NAME),
    ("Rollout", ("spec", "strategy", "canary", "stableService"), _NAME),
    ("Rollout", ("spec", "strategy", "canary", "steps", ANY, "pause", "duration"), _canary_step),
    ("Rollout", ("spec", "strategy", "canary", "steps", ANY, "pause"), _canary_step),
    ("AnalysisTemplate", ("spec", "metrics", ANY, "successCondition"), _analysis_limit),
    ("AnalysisTemplate", ("spec", "metrics", ANY, "failureCondition"), _analysis_limit),
    ("AnalysisTemplate", ("spec", "metrics", ANY, "provider", "prometheus", "query"), _settings("slo")),
    ("PodDisruptionBudget", ("spec", "selector", "matchLabels", ANY), _NAME),
    ("Service", ("spec", "selector", "app"), _NAME),
    ("VirtualService", ("spec", "hosts", ANY), _NAME),
    ("VirtualService", ("spec", "http", ANY, "route", ANY, "destination", "host"), _NAME),
    ("ServiceMonitor", ("spec", "selector", "matchLabels", "serving.kserve.io/inferenceservice"), _NAME),
    ("PodMonitor", ("spec", "selector", "matchLabels", "serving.kserve.io/inferenceservice"), _NAME),
    ("PrometheusRule", ("spec", "groups", ANY, "name"), _slo_of_group),
    ("PrometheusRule", ("spec", "groups", ANY, "rules", ANY, "expr"), _slo_of_group),
    ("PrometheusRule", ("spec", "groups", ANY, "rules", ANY, "record"), _settings("slo", "window")),
    ("PrometheusRule", ("spec", "groups", ANY, "rules", ANY, "alert"), _slo_of_group),
    ("PrometheusRule", ("spec", "groups", ANY, "rules", ANY, "labels", "slo"), _slo_of_group),
    ("PrometheusRule", ("spec", "groups", ANY, "rules", ANY, "annotations", ANY), _slo_of_group),
    ("PrometheusRule", ("metadata", "annotations", "mlgitops.dev/slo-latency"), _settings("slo", "latency")),
    (ANY, ("metadata", "annotations", "mlgitops.dev/pod-disruption-budgets"), _settings("podDisruptionBudget")),
)

# (kind, leaf path pattern): values an expander writes itself, whatever the model says.
CONSTANTS: tuple[tuple[str, Path], ...] = (
    (ANY, ("apiVersion",)),
    (ANY, ("kind",)),
    ("InferenceService", ("spec", "predictor", "model", "modelFormat", ANY)),
    ("InferenceService", ("spec", "predictor", "model", "runtime")),
    ("InferenceService", ("spec", "predictor", "model", "ports", ANY, ANY)),
    ("InferenceService", ("spec", "predictor", "model", ANY, "httpGet", "port")),  # probe on the default port
    ("InferenceService", ("spec", "predictor", "scaleMetric")),
    ("InferenceService", ("spec", ANY, "containers", ANY, "name")),
    ("InferenceService", ("spec", ANY, "containers", ANY, "ports", ANY, ANY)),
    ("InferenceService", ("spec", ANY, "containers", ANY, ANY, "httpGet", "port")),
    ("InferenceService", ("spec", ANY, "containers", ANY, "resources", ANY, ANY)),  # a sidecar's defaults
    ("InferenceService", ("spec", "predictor", "topologySpreadConstraints", ANY, ANY)),
    ("Rollout", ("spec", "workloadRef", "apiVersion")),
    ("Rollout", ("spec", "workloadRef", "kind")),
    ("Rollout", ("spec", "strategy", "canary", "maxSurge")),
    ("Rollout", ("spec", "strategy", "canary", "maxUnavailable")),
    ("Rollout", ("spec", "strategy", "canary", "trafficRouting", "istio", "virtualService", "routes", ANY)),
    ("Rollout", ("spec", "strategy", "canary", "analysis", "args", ANY, "name")),
    ("Rollout", ("spec", "strategy", "canary", "analysis", "args", ANY, "valueFrom", "podTemplateHashValue")),
    ("AnalysisTemplate", ("spec", "args", ANY, "name")),
    ("AnalysisTemplate", ("spec", "metrics", ANY, "name")),
    ("AnalysisTemplate", ("spec", "metrics", ANY, "provider", "prometheus", "address")),
    ("AnalysisTemplate", ("spec", "metrics", ANY, "provider", "prometheus", "timeout")),
    ("HorizontalPodAutoscaler", ("spec", "scaleTargetRef", "apiVersion")),
    ("HorizontalPodAutoscaler", ("spec", "scaleTargetRef", "kind")),
    ("HorizontalPodAutoscaler", ("spec", "metrics", ANY, "type")),
    ("HorizontalPodAutoscaler", ("spec", "metrics", ANY, ANY, "name")),
    ("HorizontalPodAutoscaler", ("spec", "metrics", ANY, ANY, "container")),
    ("HorizontalPodAutoscaler", ("spec", "metrics", ANY, ANY, "metric", "name")),
    ("HorizontalPodAutoscaler", ("spec", "metrics", ANY, ANY, "target", "type")),
    ("PodDisruptionBudget", ("spec", "selector", "matchLabels", "component")),
    ("InferenceService", ("spec", "predictor", "topologySpreadConstraints", ANY, "labelSelector", "matchLabels",
                          "component")),
    ("Service", ("spec", "ports", ANY, ANY)),
    ("VirtualService", ("spec", "http", ANY, "name")),
    ("VirtualService", ("spec", "http", ANY, "route", ANY, "weight")),
    ("ServiceMonitor", ("spec", "selector", "matchLabels", "component")),
    ("ServiceMonitor", ("spec", "podTargetLabels", ANY)),
    ("ServiceMonitor", ("spec", "endpoints", ANY, ANY)),
    ("PodMonitor", ("spec", "selector", "matchLabels", "component")),
    ("PodMonitor", ("spec", "podMetricsEndpoints", ANY, ANY)),
    ("PodMonitor", ("spec", "podTargetLabels", ANY)),
    ("PodMonitor", ("spec", "podMetricsEndpoints", ANY, "metricRelabelings", ANY, ANY)),
    ("PodMonitor", ("spec", "podMetricsEndpoints", ANY, "metricRelabelings", ANY, "sourceLabels", ANY)),
    ("PrometheusRule", ("spec", "groups", ANY, "interval")),
    ("PrometheusRule", ("spec", "groups", ANY, "rules", ANY, "for")),
    ("PrometheusRule", ("spec", "groups", ANY, "rules", ANY, "labels", "severity")),
    ("PrometheusRule", ("spec", "groups", ANY, "rules", ANY, "labels", "env")),
    ("InferenceService", ("spec", "predictor", "model", "securityContext", ANY)),  # common.security_context
    ("InferenceService", ("spec", "predictor", "model", "securityContext", "capabilities", "drop", ANY)),
    ("InferenceService", ("spec", ANY, "containers", ANY, "securityContext", ANY)),
    ("InferenceService", ("spec", ANY, "containers", ANY, "securityContext", "capabilities", "drop", ANY)),
)


def _match(pattern: Path, path: Path) -> bool:
    return len(pattern) == len(path) and all(p == ANY or p == q for p, q in zip(pattern, path))


def _rule_for(kind: str, path: Path) -> tuple[str, Target | None] | None:
    for rule_kind, pattern, target in DERIVED:
        if rule_kind in (ANY, kind) and _match(pattern, path):
            return "derived", target
    for rule_kind, pattern in CONSTANTS:
        if rule_kind in (ANY, kind) and _match(pattern, path):
            return "constant", None
    return None


# --- the result ------------------------------------------------------------------------------------

@dataclasses.dataclass
class ObjectOrigin:
    """Where each leaf of one generated object came from."""

    obj: dict  # the object as generated (plain values are enough: it is only read)
    fields: dict[Path, Path]  # leaf path -> model-file path of the field that produced it
    gaps: set[Path]  # leaf paths no rule explains (a missing DERIVED/CONSTANTS entry)

    def model_path(self, path: Path) -> Path | None:
        """The model-file path behind `path` (a leaf, or an object or list inside the object):
        the leaf's field; for a collection, the deepest path its model-derived leaves share.
        None when only constants lie there (or nothing does)."""
        path = tuple(path)
        if path in self.fields:
            return self.fields[path]
        below = [src for leaf, src in self.fields.items() if leaf[:len(path)] == path]
        if not below:
            return None
        common = below[0]
        for src in below[1:]:
            n = 0
            while n < min(len(common), len(src)) and common[n] == src[n]:
                n += 1
            common = common[:n]
        return common or ("spec",)


def _leaves(value: Any, path: Path = ()):
    if isinstance(value, dict) and value:
        for k, v in value.items():
            yield from _leaves(v, path + (k,))
    elif isinstance(value, list) and value:
        for i, v in enumerate(value):
            yield from _leaves(v, path + (i,))
    else:
        yield path, value


def _origin(me: ModelEnv, obj: dict) -> ObjectOrigin:
    kind = obj.get("kind", "")
    fields: dict[Path, Path] = {}
    gaps: set[Path] = set()
    for path, value in _leaves(obj):
        src = getattr(value, "src", None)
        if src is not None:
            fields[path] = src
            continue
        rule = _rule_for(kind, path)
        if rule is None:
            gaps.add(path)
        elif rule[0] == "derived":
            target = rule[1]
            fields[path] = target(me, obj, path) if callable(target) else target
    return ObjectOrigin(obj, fields, gaps)


def overlay_origins(me: ModelEnv, config: Config) -> dict[str, list[ObjectOrigin]]:
    """{resource file of the overlay (model.yaml, monitoring.yaml): its objects' origins, in order}."""
    files = overlay_files(_traced(me), config)
    return {name: [_origin(me, obj) for obj in objects] for name, objects in files.items()
            if isinstance(objects, list)}
