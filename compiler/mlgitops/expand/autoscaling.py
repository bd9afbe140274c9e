"""The HorizontalPodAutoscaler: the only writer of the Rollout's replicas (docs/design.md)."""

from __future__ import annotations

from ..config import Config
from ..spec.model import ModelEnv
from ..spec.resolved import ScalingRules
from .common import CONTAINER
from .disruption import budget_annotation
from .generator import ANY, MODEL_FILE, KindGenerator


def hpa(me: ModelEnv) -> dict:
    model = me.model
    auto = model.autoscaling
    metrics = []
    # ContainerResource: sidecars such as istio-proxy must not dilute the utilisation.
    for resource, target in (("cpu", auto.cpu_utilization), ("memory", auto.memory_utilization)):
        if target is not None:
            metrics.append({"type": "ContainerResource", "containerResource": {
                "name": resource, "container": CONTAINER,
                "target": {"type": "Utilization", "averageUtilization": target}}})
    if auto.requests_per_second is not None:
        # Served by a custom-metrics adapter rule over rate(request_predict_seconds_count[2m]).
        metrics.append({"type": "Pods", "pods": {
            "metric": {"name": "predict_requests_per_second"},
            "target": {"type": "AverageValue", "averageValue": str(auto.requests_per_second)}}})
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": budget_annotation(model, {"name": model.name}),
        "spec": {
            "scaleTargetRef": {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": model.name},
            "minReplicas": auto.min_replicas,
            "maxReplicas": auto.max_replicas,
            "metrics": metrics,
            "behavior": {"scaleUp": _rules(auto.scale_up), "scaleDown": _rules(auto.scale_down)},
        },
    }


def _rules(rules: ScalingRules) -> dict:
    out: dict = {}
    if rules.stabilization_window_seconds is not None:
        out["stabilizationWindowSeconds"] = rules.stabilization_window_seconds
    if rules.select_policy is not None:
        out["selectPolicy"] = rules.select_policy
    if rules.policies is not None:
        out["policies"] = [{"type": p.type, "value": p.value, "periodSeconds": p.period_seconds}
                           for p in rules.policies]
    return out


def _build(me: ModelEnv, config: Config) -> list[dict]:
    return [hpa(me)]


_HPA = "HorizontalPodAutoscaler"
GENERATOR = KindGenerator(
    name="autoscaling",
    kinds=(_HPA,),
    file=MODEL_FILE,
    applies=lambda model: model.uses_hpa,
    build=_build,
    constants=(
        (_HPA, ("spec", "scaleTargetRef", "apiVersion")),
        (_HPA, ("spec", "scaleTargetRef", "kind")),
        (_HPA, ("spec", "metrics", ANY, "type")),
        (_HPA, ("spec", "metrics", ANY, ANY, "name")),
        (_HPA, ("spec", "metrics", ANY, ANY, "container")),
        (_HPA, ("spec", "metrics", ANY, ANY, "metric", "name")),
        (_HPA, ("spec", "metrics", ANY, ANY, "target", "type")),
    ),
    # kustomize follows a namePrefix/nameSuffix into the HPA's target.
    name_references=({"kind": "Rollout", "group": "argoproj.io", "fieldSpecs": [
        {"path": "spec/scaleTargetRef/name", "kind": _HPA},
    ]},),
)
