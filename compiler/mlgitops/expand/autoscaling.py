"""The HorizontalPodAutoscaler (the only writer of the Rollout's replicas) and the PDB."""

from __future__ import annotations

from .. import names
from ..spec.model import ModelEnv
from .common import CONTAINER


def hpa(me: ModelEnv) -> dict:
    auto = me.settings["autoscaling"]
    metrics = []
    # ContainerResource: sidecars such as istio-proxy must not dilute the utilisation.
    for resource, key in (("cpu", "cpuUtilization"), ("memory", "memoryUtilization")):
        if key in auto:
            metrics.append({"type": "ContainerResource", "containerResource": {
                "name": resource, "container": CONTAINER,
                "target": {"type": "Utilization", "averageUtilization": auto[key]}}})
    if "requestsPerSecond" in auto:
        # Served by a custom-metrics adapter rule over rate(request_predict_seconds_count[2m]).
        metrics.append({"type": "Pods", "pods": {
            "metric": {"name": "predict_requests_per_second"},
            "target": {"type": "AverageValue", "averageValue": str(auto["requestsPerSecond"])}}})
    behavior = {direction: _rules(auto[key]) for direction, key in (("scaleUp", "scaleUp"), ("scaleDown", "scaleDown"))}
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": me.name},
        "spec": {
            "scaleTargetRef": {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": me.name},
            "minReplicas": auto["minReplicas"],
            "maxReplicas": auto["maxReplicas"],
            "metrics": metrics,
            "behavior": behavior,
        },
    }


def _rules(rules: dict) -> dict:
    out = {}
    for key in ("stabilizationWindowSeconds", "selectPolicy"):
        if key in rules:
            out[key] = rules[key]
    if "policies" in rules:
        out["policies"] = [{"type": p["type"], "value": p["value"], "periodSeconds": p["periodSeconds"]}
                           for p in rules["policies"]]
    return out


def wants_pdb(me: ModelEnv) -> bool:
    pdb = me.settings["podDisruptionBudget"]
    if "enabled" in pdb:
        return pdb["enabled"]
    return me.settings["autoscaling"]["minReplicas"] > 1


def pod_disruption_budget(me: ModelEnv) -> dict:
    selector = names.predictor_pod_selector(me.name, me.settings["mode"])
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": me.name},
        "spec": {"maxUnavailable": me.settings["podDisruptionBudget"]["maxUnavailable"],
                 "selector": {"matchLabels": selector}},
    }
