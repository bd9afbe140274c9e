"""Scraping of the model server's own metrics (request_predict_seconds and friends), and of the
predictor pods' Istio sidecars for the canary error ratio.

`podTargetLabels: [rollouts-pod-template-hash]` copies the Rollout's hash onto every series,
so canary analysis can read the canary pods only. Istio's own metrics carry no pod labels,
hence the `<model>-mesh` PodMonitor on the sidecars (expand/analysis.py).
"""

from __future__ import annotations

from .. import names
from ..spec.model import ModelEnv
from .common import HTTP_PORT_NAME


def _monitor(kind: str, name: str, me: ModelEnv, **spec) -> dict:
    """A ServiceMonitor or PodMonitor of the model's predictor pods."""
    selector = {"matchLabels": {"serving.kserve.io/inferenceservice": me.name, "component": "predictor"}}
    return {"apiVersion": "monitoring.coreos.com/v1", "kind": kind, "metadata": {"name": name},
            "spec": {"selector": selector, **spec}}


def service_monitor(me: ModelEnv) -> dict:
    return _monitor("ServiceMonitor", names.predictor(me.name), me,
                    podTargetLabels=["rollouts-pod-template-hash"],
                    endpoints=[{"port": HTTP_PORT_NAME, "path": "/metrics", "interval": "30s"}])


def pod_monitor(me: ModelEnv) -> dict:
    """Serverless pods have no KServe predictor Service port to select; scrape the pods."""
    # Knative renames the user container's port to user-port.
    return _monitor("PodMonitor", names.predictor(me.name), me,
                    podMetricsEndpoints=[{"port": "user-port", "path": "/metrics", "interval": "30s"}])


def mesh_pod_monitor(me: ModelEnv) -> dict:
    """The predictor pods' sidecars (Envoy's port 15090), istio_requests_total only.

    The series get `job="<namespace>/<model>-mesh"` (the PodMonitor's default job label) and the
    pod's `rollouts_pod_template_hash`; the `keep` drops the thousands of other Envoy series.
    """
    return _monitor("PodMonitor", names.mesh_monitor(me.name), me,
                    podTargetLabels=["rollouts-pod-template-hash"],
                    podMetricsEndpoints=[{
                        "port": "http-envoy-prom",
                        "path": "/stats/prometheus",
                        "interval": "30s",
                        "metricRelabelings": [{"sourceLabels": ["__name__"], "regex": "istio_requests_total",
                                               "action": "keep"}],
                    }])


def service_account(me: ModelEnv) -> dict:
    sa = me.settings["serviceAccount"]
    obj = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": sa["name"]}}
    if sa.get("annotations"):
        obj["metadata"]["annotations"] = dict(sorted(sa["annotations"].items()))
    return obj
