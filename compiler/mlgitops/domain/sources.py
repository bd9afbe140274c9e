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
)
KSERVE = Source(
    name="kserve", requests=None, code_label=None,
    histogram="request_predict_seconds", per_second=1,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0),
    latency_ok_only=False,
)
SOURCES = {"istio": ISTIO, "kserve": KSERVE}
# Sources that can measure availability: a status-coded counter, or the user's own PromQL.
AVAILABILITY_SOURCES = ("istio", "custom")


def matchers(labels: dict[str, str], *extra: str) -> str:
    return ",".join([f'{k}="{v}"' for k, v in labels.items()] + list(extra))


def neighbours(buckets: tuple[float, ...], bound_seconds: float) -> tuple[float | None, float | None]:
    """The bucket bounds just below and just above `bound_seconds` (None past either end)."""
    below = [b for b in buckets if b < bound_seconds]
    above = [b for b in buckets if b > bound_seconds]
    return (below[-1] if below else None), (above[0] if above else None)
