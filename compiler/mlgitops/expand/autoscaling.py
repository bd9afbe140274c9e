"""The HorizontalPodAutoscaler (the only writer of the Rollout's replicas) and the PDBs.

Every object that runs more than one replica names the PodDisruptionBudget of its pods in an
annotation (common.PDB_ANNOTATION, common.PDBS_ANNOTATION on the InferenceService), so a
per-object admission policy can require one (policies/pdb-required.yaml).
"""

from __future__ import annotations

from .. import names
from ..spec.model import ModelEnv
from .common import CONTAINER, PDB_ANNOTATION


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
        "metadata": budget_annotation(me, {"name": me.name}),
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


def budgets(me: ModelEnv) -> dict[str, str]:
    """{KServe component: name of its PodDisruptionBudget} for the components that get one: the
    predictor as wants_pdb says, a transformer or explainer when it runs more than one replica
    (unless the model disables budgets)."""
    out = {"predictor": me.name} if wants_pdb(me) else {}
    if me.settings["podDisruptionBudget"].get("enabled", True):
        for part in ("transformer", "explainer"):
            if part in me.settings and me.settings[part].get("replicas", 1) > 1:
                out[part] = names.component(me.name, part)
    return out


def budget_annotation(me: ModelEnv, metadata: dict) -> dict:
    """`metadata` with the predictor's budget named in PDB_ANNOTATION, when it has one."""
    if wants_pdb(me):
        metadata["annotations"] = {PDB_ANNOTATION: me.name}
    return metadata


def pod_disruption_budgets(me: ModelEnv) -> list[dict]:
    out = []
    for part, name in budgets(me).items():
        if part == "predictor":
            selector = names.predictor_pod_selector(me.name, me.settings["mode"])
        elif me.settings["mode"] == "standard":
            selector = {"app": f"isvc.{names.component(me.name, part)}"}
        else:
            selector = {"serving.kserve.io/inferenceservice": me.name, "component": part}
        out.append({
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": name},
            "spec": {"maxUnavailable": me.settings["podDisruptionBudget"]["maxUnavailable"],
                     "selector": {"matchLabels": selector}},
        })
    return out
