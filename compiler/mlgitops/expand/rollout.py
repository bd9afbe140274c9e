"""The Argo Rollouts Rollout that owns every serving pod of a Standard-mode model.

It adopts the pod template of KServe's `<name>-predictor` Deployment through workloadRef
(scaleDown comes from base/components/kserve-standard, per KServe version) and never carries
`spec.replicas` when an HPA owns the count.
"""

from __future__ import annotations

from .. import names
from ..spec.model import ModelEnv
from .autoscaling import budget_annotation
from .common import meta, uses_hpa


def rollout(me: ModelEnv) -> dict:
    s = me.settings
    canary_spec = s["canary"]
    auto = s["autoscaling"]
    istio = canary_spec["trafficRouting"] == "istio"
    canary: dict = {}
    if istio:
        canary["canaryService"] = names.canary_service(me.name)
        canary["stableService"] = names.stable_service(me.name)
        canary["trafficRouting"] = {"istio": {"virtualService": {"name": me.name, "routes": ["primary"]}}}
        canary["abortScaleDownDelaySeconds"] = canary_spec["abortScaleDownDelaySeconds"]
    else:
        # Replica-based split: never drop below the current capacity while surging.
        canary["maxSurge"] = "25%"
        canary["maxUnavailable"] = 0
    if canary_spec["enabled"]:
        steps = []
        for step in canary_spec["steps"]:
            steps.append({"setWeight": step["weight"]})
            pause = step.get("pause")
            if pause == "manual":
                steps.append({"pause": {}})
            elif pause:
                steps.append({"pause": {"duration": pause}})
        canary["steps"] = steps
        if has_analysis(me):
            analysis = canary_spec["analysis"]
            canary["analysis"] = {
                "templates": [{"templateName": names.analysis_template(me.name)}],
                "startingStep": min(analysis["startingStep"], len(steps) - 1),
                "args": analysis_args(me),
            }
    spec: dict = {}
    if not uses_hpa(me):
        spec["replicas"] = auto["minReplicas"]
    spec["selector"] = {"matchLabels": {"app": names.pod_selector_value(me.name)}}
    spec["workloadRef"] = {"apiVersion": "apps/v1", "kind": "Deployment", "name": names.predictor(me.name)}
    spec["progressDeadlineSeconds"] = canary_spec["progressDeadlineSeconds"]
    spec["strategy"] = {"canary": canary}
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": budget_annotation(me, meta(me.name)),
            "spec": spec}


def has_analysis(me: ModelEnv) -> bool:
    canary = me.settings["canary"]
    return bool(me.settings["mode"] == "standard" and canary["enabled"] and canary["analysis"]["enabled"]
                and me.model.analysis_metrics())


def analysis_args(me: ModelEnv) -> list[dict]:
    """Both canary metrics read the canary pods only, by the hash of the latest pod template."""
    return [{"name": "namespace", "value": me.env.namespace},
            {"name": "canary-hash", "valueFrom": {"podTemplateHashValue": "Latest"}}]
