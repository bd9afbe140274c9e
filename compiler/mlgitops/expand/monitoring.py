"""Scraping of the model server's own metrics (request_predict_seconds and friends), and of the
predictor pods' Istio sidecars for the canary error ratio.

`podTargetLabels: [rollouts-pod-template-hash]` copies the Rollout's hash onto every series,
so canary analysis can read the canary pods only. Istio's own metrics carry no pod labels,
hence the `<model>-mesh` PodMonitor on the sidecars (expand/analysis.py).
"""

from __future__ import annotations

from typing import Any

from .. import names
from ..config import Config
from ..spec.model import ModelEnv
from ..spec.resolved import Model
from .common import HTTP_PORT_NAME
from .generator import ANY, MONITORING_FILE, NAME, KindGenerator

ENVOY_METRICS_PORT = 15090  # the sidecar's `http-envoy-prom` port
KNATIVE_USER_PORT = "user-port"  # Knative renames the user container's port to this


def _monitor(kind: str, name: str, model: Model, **spec: Any) -> dict:
    """A ServiceMonitor or PodMonitor of the model's predictor pods."""
    selector = {"matchLabels": {"serving.kserve.io/inferenceservice": model.name, "component": "predictor"}}
    return {"apiVersion": "monitoring.coreos.com/v1", "kind": kind, "metadata": {"name": name},
            "spec": {"selector": selector, **spec}}


def service_monitor(model: Model) -> dict:
    return _monitor("ServiceMonitor", names.predictor(model.name), model,
                    podTargetLabels=["rollouts-pod-template-hash"],
                    endpoints=[{"port": HTTP_PORT_NAME, "path": "/metrics", "interval": "30s"}])


def pod_monitor(model: Model) -> dict:
    """Serverless pods have no KServe predictor Service port to select; scrape the pods."""
    return _monitor("PodMonitor", names.predictor(model.name), model,
                    podMetricsEndpoints=[{"port": KNATIVE_USER_PORT, "path": "/metrics", "interval": "30s"}])


def scrapes_mesh(model: Model) -> bool:
    """The sidecars are scraped for the canary's error ratio (the `<model>-mesh` PodMonitor)."""
    return model.has_analysis and "successRate" in model.analysis_metrics()


def mesh_pod_monitor(model: Model) -> dict:
    """The predictor pods' sidecars (Envoy's port 15090), istio_requests_total only.

    The series get `job="<namespace>/<model>-mesh"` (the PodMonitor's default job label) and the
    pod's `rollouts_pod_template_hash`; the `keep` drops the thousands of other Envoy series.
    """
    return _monitor("PodMonitor", names.mesh_monitor(model.name), model,
                    podTargetLabels=["rollouts-pod-template-hash"],
                    podMetricsEndpoints=[{
                        "port": "http-envoy-prom",
                        "path": "/stats/prometheus",
                        "interval": "30s",
                        "metricRelabelings": [{"sourceLabels": ["__name__"], "regex": "istio_requests_total",
                                               "action": "keep"}],
                    }])


def monitors(me: ModelEnv, config: Config) -> list[dict]:
    model = me.model
    if not model.standard:
        return [pod_monitor(model)]
    return [service_monitor(model)] + ([mesh_pod_monitor(model)] if scrapes_mesh(model) else [])


_MATCH = ("spec", "selector", "matchLabels")
GENERATOR = KindGenerator(
    name="monitoring",
    kinds=("ServiceMonitor", "PodMonitor"),
    file=MONITORING_FILE,
    applies=lambda model: True,
    build=monitors,
    derived=tuple((kind, _MATCH + ("serving.kserve.io/inferenceservice",), NAME)
                  for kind in ("ServiceMonitor", "PodMonitor")),
    constants=(
        ("ServiceMonitor", _MATCH + ("component",)),
        ("ServiceMonitor", ("spec", "podTargetLabels", ANY)),
        ("ServiceMonitor", ("spec", "endpoints", ANY, ANY)),
        ("PodMonitor", _MATCH + ("component",)),
        ("PodMonitor", ("spec", "podMetricsEndpoints", ANY, ANY)),
        ("PodMonitor", ("spec", "podTargetLabels", ANY)),
        ("PodMonitor", ("spec", "podMetricsEndpoints", ANY, "metricRelabelings", ANY, ANY)),
        ("PodMonitor", ("spec", "podMetricsEndpoints", ANY, "metricRelabelings", ANY, "sourceLabels", ANY)),
    ),
)
