"""Scraping of the model server's own metrics (request_predict_seconds and friends), and of the
model's Istio sidecars for the SLIs and the canary gates.

Collection is part of the SLO: every raw metric a generated rule or analysis query reads is
collected by a monitor generated here, or by a platform scrape declared in mlgitops.yaml
(`monitoring.meshScrape`, `kubeStateMetrics`, `rolloutsMetrics`), and the queries select the
`job` of that scrape (`*_job` below). slo/collection.py proves it at every build.

`podTargetLabels: [rollouts-pod-template-hash]` copies the Rollout's hash onto every series,
so canary analysis can read the canary pods only. Istio's own metrics carry no pod labels,
hence the `<model>-mesh` PodMonitor on the sidecars (expand/analysis.py).
"""

from __future__ import annotations

from typing import Any

from .. import names
from ..config import Config
from ..domain.sources import MESH_KEPT, SOURCES
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


def predictor_job(model: Model) -> str:
    """The `job` of the model server's own metrics: Prometheus Operator names a ServiceMonitor's
    job after the Service (KServe's `<model>-predictor`), a PodMonitor's `<namespace>/<name>`."""
    name = names.predictor(model.name)
    return name if model.standard else f"{model.namespace}/{name}"


def mesh_job(model: Model) -> str:
    """The `job` of the model's own mesh PodMonitor (`<namespace>/<model>-mesh`)."""
    return f"{model.namespace}/{names.mesh_monitor(model.name)}"


def sli_job(model: Model, config: Config) -> str | None:
    """The `job` the model's SLO rules read their source's metrics from: the platform's mesh
    scrape when mlgitops.yaml declares one, else the monitor generated for the source; None for
    custom PromQL (the user's queries choose)."""
    if model.slo.source == "istio":
        return config.mesh_scrape.job if config.mesh_scrape is not None else mesh_job(model)
    if model.slo.source in SOURCES:
        return predictor_job(model)
    return None


def service_monitor(model: Model) -> dict:
    return _monitor("ServiceMonitor", names.predictor(model.name), model,
                    podTargetLabels=["rollouts-pod-template-hash"],
                    endpoints=[{"port": HTTP_PORT_NAME, "path": "/metrics", "interval": "30s"}])


def pod_monitor(model: Model) -> dict:
    """Serverless pods have no KServe predictor Service port to select; scrape the pods."""
    return _monitor("PodMonitor", names.predictor(model.name), model,
                    podMetricsEndpoints=[{"port": KNATIVE_USER_PORT, "path": "/metrics", "interval": "30s"}])


def canary_reads_mesh(model: Model) -> bool:
    """The canary gates read the sidecars of the canary pods (analysis on an Istio SLI)."""
    return model.has_analysis and (model.slo.source == "istio" or "successRate" in model.analysis_metrics())


def scrapes_mesh(model: Model, config: Config) -> bool:
    """The `<model>-mesh` PodMonitor is generated: the canary gates read the canary pods'
    sidecars (only this monitor copies their template hash), or the SLO reads Istio metrics and
    no platform mesh scrape is declared."""
    slo = model.slo
    slo_reads_mesh = slo.source == "istio" and (slo.availability is not None or bool(slo.latency))
    return (slo_reads_mesh and config.mesh_scrape is None) or canary_reads_mesh(model)


def sidecars_scraped(model: Model, config: Config) -> bool:
    """Prometheus scrapes the model's sidecars (port 15090): its own mesh PodMonitor, or the
    platform's mesh scrape (which reaches every sidecar)."""
    return scrapes_mesh(model, config) or config.mesh_scrape is not None


def mesh_pod_monitor(model: Model) -> dict:
    """The model's sidecars (Envoy's port 15090): the Istio request counter and duration histogram.

    The series get `job="<namespace>/<model>-mesh"` (the PodMonitor's default job label) and the
    pod's `rollouts_pod_template_hash`; the `keep` drops the thousands of other Envoy series.
    With a transformer it scrapes the transformer pods too: they receive the model's requests
    first (service.istio.io/canonical-name `<model>`, expand/inferenceservice.py), so the SLO is
    end to end.
    """
    monitor = _monitor("PodMonitor", names.mesh_monitor(model.name), model,
                       podTargetLabels=["rollouts-pod-template-hash"],
                       podMetricsEndpoints=[{
                           "port": "http-envoy-prom",
                           "path": "/stats/prometheus",
                           "interval": "30s",
                           "metricRelabelings": [{"sourceLabels": ["__name__"], "regex": "|".join(MESH_KEPT),
                                                  "action": "keep"}],
                       }])
    if "transformer" in model.components:
        monitor["spec"]["selector"] = {
            "matchLabels": {"serving.kserve.io/inferenceservice": model.name},
            "matchExpressions": [{"key": "component", "operator": "In", "values": ["predictor", "transformer"]}],
        }
    return monitor


def monitors(me: ModelEnv, config: Config) -> list[dict]:
    model = me.model
    own = [service_monitor(model)] if model.standard else [pod_monitor(model)]
    return own + ([mesh_pod_monitor(model)] if scrapes_mesh(model, config) else [])


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
        ("PodMonitor", ("spec", "selector", "matchExpressions", ANY, ANY)),
        ("PodMonitor", ("spec", "selector", "matchExpressions", ANY, "values", ANY)),
    ),
)
