"""One overlay directory: overlays/<env>/<model>/: kustomization.yaml, model.yaml, monitoring.yaml."""

from __future__ import annotations

from ..config import Config
from ..spec.model import ModelEnv
from . import analysis, autoscaling, inferenceservice, istio, monitoring, rollout, slo
from .base import COMPONENTS_DIR, components_for


def overlay_dir(me: ModelEnv) -> str:
    return f"overlays/{me.env.name}/{me.name}"


def overlay_files(me: ModelEnv, config: Config) -> dict[str, object]:
    """{file name: list of objects}: the serving objects, the monitoring objects, the kustomization.

    Two resource files per overlay rather than one per object: writing and reading files
    dominates a 1,000-model build on small machines (bench/README.md), and a pull request diff
    reads the same either way. Monitoring is separate so SRE owners can be set with CODEOWNERS.
    """
    s = me.settings
    serving: list = []
    if "serviceAccount" in s and s["serviceAccount"].get("create"):
        serving.append(monitoring.service_account(me))
    serving.append(inferenceservice.inference_service(me))
    watching: list = []
    if s["mode"] == "standard":
        serving.append(rollout.rollout(me))
        if rollout.has_analysis(me):
            serving.append(analysis.analysis_template(me, config))
        if s["autoscaling"]["maxReplicas"] > s["autoscaling"]["minReplicas"]:
            serving.append(autoscaling.hpa(me))
        if s["canary"]["trafficRouting"] == "istio":
            serving.extend(istio.services(me))
            serving.append(istio.virtual_service(me))
        watching.append(monitoring.service_monitor(me))
        if rollout.has_analysis(me) and "successRate" in me.model.analysis_metrics():
            watching.append(monitoring.mesh_pod_monitor(me))
    else:
        watching.append(monitoring.pod_monitor(me))
    serving.extend(autoscaling.pod_disruption_budgets(me))
    rule = slo.prometheus_rule(me, config)
    if rule:
        watching.append(rule)
    labels = {"app.kubernetes.io/name": me.name, "mlgitops.dev/environment": me.env.name,
              "mlgitops.dev/team": me.metadata["team"]}
    labels.update(me.metadata.get("labels", {}))
    files: dict[str, object] = {"model.yaml": serving, "monitoring.yaml": watching}
    files["kustomization.yaml"] = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": me.env.namespace,
        "labels": [{"pairs": dict(sorted(labels.items()))}],
        "resources": list(files),
        "components": [f"../../../{COMPONENTS_DIR}/{c}" for c in components_for(s["mode"], config)],
    }
    return files
