"""One overlay directory: overlays/<env>/<model>/, a kustomization plus one file per object."""

from __future__ import annotations

from ..config import Config
from ..spec.model import ModelEnv
from . import analysis, autoscaling, inferenceservice, istio, monitoring, rollout, slo
from .base import COMPONENTS_DIR, components_for


def overlay_dir(me: ModelEnv) -> str:
    return f"overlays/{me.env.name}/{me.name}"


def overlay_files(me: ModelEnv, config: Config) -> dict[str, object]:
    """{file name: object or list of objects}, kustomization.yaml last."""
    s = me.settings
    files: dict[str, object] = {}
    if "serviceAccount" in s and s["serviceAccount"].get("create"):
        files["serviceaccount.yaml"] = monitoring.service_account(me)
    files["inferenceservice.yaml"] = inferenceservice.inference_service(me)
    if s["mode"] == "standard":
        files["rollout.yaml"] = rollout.rollout(me)
        if rollout.has_analysis(me):
            files["analysistemplate.yaml"] = analysis.analysis_template(me, config)
        if s["autoscaling"]["maxReplicas"] > s["autoscaling"]["minReplicas"]:
            files["hpa.yaml"] = autoscaling.hpa(me)
        if s["canary"]["trafficRouting"] == "istio":
            files["services.yaml"] = istio.services(me)
            files["virtualservice.yaml"] = istio.virtual_service(me)
        files["servicemonitor.yaml"] = monitoring.service_monitor(me)
    else:
        files["podmonitor.yaml"] = monitoring.pod_monitor(me)
    if autoscaling.wants_pdb(me):
        files["poddisruptionbudget.yaml"] = autoscaling.pod_disruption_budget(me)
    rule = slo.prometheus_rule(me, config)
    if rule:
        files["prometheusrule.yaml"] = rule
    labels = {"app.kubernetes.io/name": me.name, "mlgitops.dev/environment": me.env.name,
              "mlgitops.dev/team": me.metadata["team"]}
    labels.update(me.metadata.get("labels", {}))
    files["kustomization.yaml"] = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": me.env.namespace,
        "labels": [{"pairs": dict(sorted(labels.items()))}],
        "resources": list(files),
        "components": [f"../../../{COMPONENTS_DIR}/{c}" for c in components_for(s["mode"], config)],
    }
    return files
