"""`Exporter`: the istio-proxy sidecars of the predictor pods, as Prometheus scrapes them.

kwok's pods run nothing, so this one HTTP server on 127.0.0.1 answers for every pod at
`/pods/<namespace>/<pod>/<path>` with Istio's standard metrics, as the sidecar of a real pod
reports them (`reporter="destination"`): `istio_requests_total` by `response_code`, and the
`istio_request_duration_milliseconds` histogram with Istio's default buckets. The counters grow
with time as traffic arrives, at a rate, error ratio and share of slow requests that the test sets
per pod template hash (`Traffic`): the Rollouts canary's pods get one behaviour, the stable pods
another. `cluster.Lifecycle` gives Prometheus the targets, one per running pod, with the labels
prometheus-operator would give them from the model's PodMonitor.
"""

from __future__ import annotations

import dataclasses
import http.server
import threading
import time

# Istio's default request-duration buckets (milliseconds).
BUCKETS = (0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000,
           1800000, 3600000)
FAST_MS, SLOW_MS = 40.0, 2000.0  # a slow request is above every latency gate of the examples (<= 1 s)
HASH_LABEL = "rollouts-pod-template-hash"


@dataclasses.dataclass(frozen=True)
class Traffic:
    rps: float = 20.0          # requests per second reaching one pod
    error_ratio: float = 0.0   # share answered 5xx
    slow_ratio: float = 0.0    # share of the non-5xx answers that take SLOW_MS instead of FAST_MS


GOOD = Traffic()
NONE = Traffic(rps=0.0)


@dataclasses.dataclass
class _Pod:
    namespace: str
    name: str
    hash: str
    last: float
    ok_fast: float = 0.0
    ok_slow: float = 0.0
    errors: float = 0.0


def _bucket(le: float) -> str:
    return str(int(le)) if float(le).is_integer() else repr(le)


class Exporter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pods: dict[tuple[str, str], _Pod] = {}
        self.by_hash: dict[str, Traffic] = {}
        self.default = GOOD
        self.scrapes = 0
        exporter = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                parts = self.path.split("/")
                body = exporter._render(parts[2], parts[3]) if len(parts) > 4 and parts[1] == "pods" else None
                if body is None:
                    self.send_error(404)
                    return
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(data)))
                try:
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # Prometheus gave up on this scrape (its timeout): nothing to answer

            def log_message(self, *args) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="mesh-exporter")
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def set(self, pod_hash: str, traffic: Traffic) -> None:
        with self._lock:
            self._advance_all()
            self.by_hash[pod_hash] = traffic

    def set_default(self, traffic: Traffic) -> None:
        """Traffic of every pod whose template hash has no `set` of its own (e.g. the next canary)."""
        with self._lock:
            self._advance_all()
            self.default = traffic

    def pod(self, namespace: str, name: str, labels: dict) -> None:
        """A running pod to answer for (pod discovery calls this)."""
        with self._lock:
            if (namespace, name) not in self._pods:
                self._pods[(namespace, name)] = _Pod(namespace, name, labels.get(HASH_LABEL, ""), time.monotonic())

    def _advance_all(self) -> None:
        for pod in self._pods.values():
            self._advance(pod)

    def _advance(self, pod: _Pod) -> None:
        now = time.monotonic()
        traffic = self.by_hash.get(pod.hash, self.default)
        requests = traffic.rps * (now - pod.last)
        pod.last = now
        pod.errors += requests * traffic.error_ratio
        ok = requests * (1 - traffic.error_ratio)
        pod.ok_slow += ok * traffic.slow_ratio
        pod.ok_fast += ok * (1 - traffic.slow_ratio)

    def _render(self, namespace: str, name: str) -> str | None:
        with self._lock:
            pod = self._pods.get((namespace, name))
            if pod is None:
                return None
            self._advance(pod)
            self.scrapes += 1
            fast, slow, errors = int(pod.ok_fast), int(pod.ok_slow), int(pod.errors)
        common = 'reporter="destination",request_protocol="http",destination_workload_namespace="%s"' % namespace
        lines = ["# TYPE istio_requests_total counter"]
        for code, count in (("200", fast + slow), ("503", errors)):
            lines.append(f'istio_requests_total{{{common},response_code="{code}"}} {count}')
        lines.append("# TYPE istio_request_duration_milliseconds histogram")
        for code, requests in (("200", ((FAST_MS, fast), (SLOW_MS, slow))), ("503", ((FAST_MS, errors),))):
            total = sum(n for _, n in requests)
            duration = sum(ms * n for ms, n in requests)
            for le in BUCKETS:
                within = sum(n for ms, n in requests if ms <= le)
                lines.append(f'istio_request_duration_milliseconds_bucket{{{common},response_code="{code}",'
                             f'le="{_bucket(le)}"}} {within}')
            lines.append(f'istio_request_duration_milliseconds_bucket{{{common},response_code="{code}",'
                         f'le="+Inf"}} {total}')
            lines.append(f'istio_request_duration_milliseconds_sum{{{common},response_code="{code}"}} {duration}')
            lines.append(f'istio_request_duration_milliseconds_count{{{common},response_code="{code}"}} {total}')
        return "\n".join(lines) + "\n"
