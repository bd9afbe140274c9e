"""Scraping of the model server's own metrics (request_predict_seconds and friends).

`podTargetLabels: [rollouts-pod-template-hash]` copies the Rollout's hash onto every series,
so canary analysis can read the canary pods only.
"""

from __future__ import annotations

from .. import names
from ..spec.model import ModelEnv
from .common import HTTP_PORT_NAME


def service_monitor(me: ModelEnv) -> dict:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {"name": names.predictor(me.name)},
        "spec": {
            "selector": {"matchLabels": {"serving.kserve.io/inferenceservice": me.name, "component": "predictor"}},
            "podTargetLabels": ["rollouts-pod-template-hash"],
            "endpoints": [{"port": HTTP_PORT_NAME, "path": "/metrics", "interval": "30s"}],
        },
    }


def pod_monitor(me: ModelEnv) -> dict:
    """Serverless pods have no KServe predictor Service port to select; scrape the pods."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": {"name": names.predictor(me.name)},
        "spec": {
            "selector": {"matchLabels": {"serving.kserve.io/inferenceservice": me.name, "component": "predictor"}},
            # Knative renames the user container's port to user-port.
            "podMetricsEndpoints": [{"port": "user-port", "path": "/metrics", "interval": "30s"}],
        },
    }


def service_account(me: ModelEnv) -> dict:
    sa = me.settings["serviceAccount"]
    obj = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": sa["name"]}}
    if sa.get("annotations"):
        obj["metadata"]["annotations"] = dict(sorted(sa["annotations"].items()))
    return obj
