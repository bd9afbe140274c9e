"""Where an SLI is read from: metric names, the labels that pick one model, units, bucket spellings.

One table for everything that has to agree on a metric: the generated recording rules
(expand/slo.py), the spec checks (a latency objective must be a bucket boundary) and the
synthetic series the promtool proofs feed those rules (slo/scenarios.py).
Research: ../shared/research/slo.md sections 2-3.
"""

from __future__ import annotations

import dataclasses

ERROR_CODES = '"5.."'


@dataclasses.dataclass(frozen=True)
class Source:
    name: str
    # Counter with a status-code label (availability); None when the source has none.
    requests: str | None
    code_label: str | None
    # Latency histogram base name (without _bucket/_count) and its unit per second.
    histogram: str | None
    per_second: float
    # Bucket upper bounds in seconds (the exporter's defaults).
    buckets: tuple[float, ...]
    # Whether the latency SLI counts only non-5xx requests (a status label exists on the histogram).
    latency_ok_only: bool
    # The exporter serving the metrics (EXPORTERS): Envoy sidecars, or the model server itself.
    exporter: str

    @property
    def availability(self) -> bool:
        return self.requests is not None

    def identity(self, namespace: str, model: str) -> dict[str, str]:
        """The labels that select one model's series in one namespace."""
        if self.name == "istio":
            return {"reporter": "destination", "destination_workload_namespace": namespace,
                    "destination_canonical_service": model}
        return {"namespace": namespace, "model_name": model}

    def le(self, bound_seconds: float) -> str:
        """The `le` matcher for a bucket bound, written so it matches Prometheus 2 and 3 spellings."""
        if self.per_second != 1:
            text = f"{bound_seconds * self.per_second:g}"
            return f'le=~"{text}(\\\\.0)?"' if "." not in text else f'le="{text}"'
        return f'le="{float(bound_seconds)!r}"'

    def le_value(self, bound_seconds: float) -> str:
        """The `le` label value the exporter writes for a bound (Prometheus 2 spelling)."""
        if self.per_second != 1:
            return f"{bound_seconds * self.per_second:g}"
        return repr(float(bound_seconds))


ISTIO = Source(
    name="istio", requests="istio_requests_total", code_label="response_code",
    histogram="istio_request_duration_milliseconds", per_second=1000,
    buckets=(0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
             300.0, 600.0, 1800.0, 3600.0),
    latency_ok_only=True,
    exporter="envoy",
)
KSERVE = Source(
    name="kserve", requests=None, code_label=None,
    histogram="request_predict_seconds", per_second=1,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0),
    latency_ok_only=False,
    exporter="model-server",
)
SOURCES = {"istio": ISTIO, "kserve": KSERVE}
# Sources whose latency histogram buckets mlgitops.yaml may declare (monitoring.histogramBuckets).
BUCKETED_SOURCES = tuple(SOURCES)


def _histogram(name: str) -> tuple[str, ...]:
    return tuple(f"{name}_{suffix}" for suffix in ("bucket", "count", "sum"))


# What each exporter serves on its metrics endpoint, as far as the generated queries and the
# collection check (slo/collection.py) need to know: a monitor of that endpoint without a `keep`
# relabeling collects all of these. Names from the exporters' own sources/docs:
# Istio standard metrics; the KServe Python model server (kserve/protocol/rest/server.py);
# kube-state-metrics (docs/metrics/workload/pod-metrics.md, horizontalpodautoscaler-metrics.md,
# deployment-metrics.md); Argo Rollouts (controller/metrics/prommetrics.go).
EXPORTERS: dict[str, frozenset[str]] = {
    "envoy": frozenset(
        ("istio_requests_total", "istio_tcp_sent_bytes_total", "istio_tcp_received_bytes_total",
         "istio_tcp_connections_opened_total", "istio_tcp_connections_closed_total")
        + _histogram("istio_request_duration_milliseconds") + _histogram("istio_request_bytes")
        + _histogram("istio_response_bytes")),
    "model-server": frozenset(
        _histogram("request_preprocess_seconds") + _histogram("request_predict_seconds")
        + _histogram("request_postprocess_seconds") + _histogram("request_explain_seconds")),
    "kube-state-metrics": frozenset((
        "kube_pod_info", "kube_pod_labels", "kube_pod_status_phase", "kube_pod_status_ready",
        "kube_pod_container_status_waiting_reason", "kube_pod_container_status_terminated_reason",
        "kube_pod_container_status_last_terminated_reason", "kube_pod_container_status_restarts_total",
        "kube_pod_container_status_ready", "kube_pod_init_container_status_waiting_reason",
        "kube_pod_init_container_status_terminated_reason", "kube_pod_init_container_status_restarts_total",
        "kube_deployment_status_replicas", "kube_deployment_status_replicas_available",
        "kube_deployment_spec_replicas", "kube_horizontalpodautoscaler_spec_max_replicas",
        "kube_horizontalpodautoscaler_spec_min_replicas", "kube_horizontalpodautoscaler_status_current_replicas",
        "kube_horizontalpodautoscaler_status_desired_replicas", "kube_horizontalpodautoscaler_status_condition",
        "kube_poddisruptionbudget_status_current_healthy", "kube_poddisruptionbudget_status_desired_healthy")),
    "argo-rollouts": frozenset((
        "rollout_info", "rollout_info_replicas_available", "rollout_info_replicas_unavailable",
        "rollout_info_replicas_desired", "rollout_info_replicas_updated", "rollout_phase", "rollout_events_total",
        "rollout_reconcile_error", "analysis_run_info", "analysis_run_phase", "analysis_run_metric_type",
        "analysis_run_metric_phase", "analysis_run_reconcile_error") + _histogram("rollout_reconcile")),
}
# The metric names the generated mesh PodMonitor keeps (expand/monitoring.py): the SLIs' and the
# canary gates' Istio metrics; the thousands of other Envoy series are dropped at scrape time.
MESH_KEPT = ("istio_requests_total", "istio_request_duration_milliseconds_bucket",
             "istio_request_duration_milliseconds_count")
# Sources that can measure availability: a status-coded counter, or the user's own PromQL.
AVAILABILITY_SOURCES = ("istio", "custom")


def matchers(labels: dict[str, str], *extra: str) -> str:
    return ",".join([f'{k}="{v}"' for k, v in labels.items()] + list(extra))


def neighbours(buckets: tuple[float, ...], bound_seconds: float) -> tuple[float | None, float | None]:
    """The bucket bounds just below and just above `bound_seconds` (None past either end)."""
    below = [b for b in buckets if b < bound_seconds]
    above = [b for b in buckets if b > bound_seconds]
    return (below[-1] if below else None), (above[0] if above else None)
