"""The KServe InferenceService: KServe renders the runtime; in Standard mode it runs no pods.

Standard mode follows docs/design.md: KServe keeps the `<name>-predictor` Deployment at zero
replicas (annotations and minReplicas come from base/components/kserve-standard), the Rollout
adopts its pod template. Serverless mode lets Knative scale and KServe split canary traffic.
"""

from __future__ import annotations

from .. import names
from ..domain.frameworks import FRAMEWORKS
from ..spec.model import ModelEnv
from .autoscaling import budgets
from .common import (CONTAINER, HTTP_PORT_NAME, PDBS_ANNOTATION, container, env_vars, meta, probe, resources,
                     security_context)


def inference_service(me: ModelEnv) -> dict:
    s = me.settings
    predictor: dict = {}
    if s["mode"] == "serverless":
        auto = s["autoscaling"]
        predictor["minReplicas"] = auto["minReplicas"]
        predictor["maxReplicas"] = auto["maxReplicas"]
        serverless = s.get("serverless", {})
        if "targetConcurrency" in serverless:
            predictor["scaleMetric"] = "concurrency"
            predictor["scaleTarget"] = serverless["targetConcurrency"]
        if "canaryTrafficPercent" in serverless:
            predictor["canaryTrafficPercent"] = serverless["canaryTrafficPercent"]
    if "serviceAccount" in s:
        predictor["serviceAccountName"] = s["serviceAccount"]["name"]
    if "logger" in s:
        predictor["logger"] = {"mode": s["logger"].get("mode", "all"), "url": s["logger"]["url"]}
    if "timeoutSeconds" in s:
        predictor["timeout"] = s["timeoutSeconds"]
    # Stable Istio workload identity for SLO queries (destination_canonical_service/revision).
    labels = {"service.istio.io/canonical-name": me.name}
    if s.get("modelVersion"):
        labels["service.istio.io/canonical-revision"] = s["modelVersion"]
        labels["mlgitops.dev/model-version"] = s["modelVersion"]
    predictor["labels"] = labels
    scheduling = s.get("scheduling", {})
    if scheduling.get("nodeSelector"):
        predictor["nodeSelector"] = dict(sorted(scheduling["nodeSelector"].items()))
    if scheduling.get("tolerations"):
        predictor["tolerations"] = [dict(t) for t in scheduling["tolerations"]]
    if scheduling.get("zoneSpread") and (s["autoscaling"]["maxReplicas"] > 1):
        predictor["topologySpreadConstraints"] = [{
            "maxSkew": 1,
            "topologyKey": "topology.kubernetes.io/zone",
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": names.predictor_pod_selector(me.name, s["mode"])},
        }]
    if s["framework"] == "custom":
        main = container(s.get("container", {}))
        if s.get("env"):
            main["env"] = env_vars(s["env"]) + main.get("env", [])
        main["resources"] = resources(s["resources"])
        predictor["containers"] = [main]
    else:
        predictor["model"] = _model(me)
    spec: dict = {"predictor": predictor}
    for part in ("transformer", "explainer"):
        if part in s:
            replicas = s[part].get("replicas", 1)
            # KServe holds transformer/explainer replicas itself (no HPA on them): min = max.
            spec[part] = {"minReplicas": replicas, "maxReplicas": replicas, "containers": [container(s[part])]}
    obj = {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService", "metadata": meta(me.name),
           "spec": spec}
    annotations = {}
    if s["mode"] == "serverless" and "window" in s.get("serverless", {}):
        annotations["autoscaling.knative.dev/window"] = s["serverless"]["window"]
    pdbs = budgets(me)
    if pdbs:
        annotations[PDBS_ANNOTATION] = ",".join(f"{part}={name}" for part, name in pdbs.items())
    if annotations:
        obj["metadata"]["annotations"] = annotations
    return obj


def _model(me: ModelEnv) -> dict:
    s = me.settings
    fw = FRAMEWORKS[s["framework"]]
    model: dict = {
        "modelFormat": {"name": fw.model_format, "version": fw.format_version},
        "runtime": s.get("runtime", fw.runtime),
        "protocolVersion": s["protocol"],
        "storageUri": s["storageUri"],
    }
    if s.get("runtimeVersion"):
        model["runtimeVersion"] = s["runtimeVersion"]
    user = s.get("container", {})
    if user.get("args"):
        model["args"] = list(user["args"])
    env = env_vars(s.get("env", [])) + env_vars(user.get("env", []))
    if env:
        model["env"] = env
    port = user.get("port", 8080)
    # A declared port name gives the KServe Service a stable port name for the ServiceMonitor.
    model["ports"] = [{"name": HTTP_PORT_NAME, "containerPort": port, "protocol": "TCP"}]
    for key in ("readinessProbe", "livenessProbe"):
        if key in user:
            model[key] = probe(user[key], port)
    model["resources"] = resources(s["resources"])
    model["securityContext"] = security_context()
    return model


__all__ = ["inference_service", "CONTAINER"]
