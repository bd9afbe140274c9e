"""An ingress NetworkPolicy of the predictor pods (`spec.networkPolicy`, off by default).

With it on, the predictor pods accept connections only from:
- the model's own InferenceService pods (its transformer and explainer) and the callers the
  model lists in `allowFrom` (namespaces, pod labels in the model's namespace, or both), on the
  serving port (Knative's queue-proxy port in serverless mode);
- the traffic entry: KServe's ingress, the Istio ingress gateway, on the same port;
- Prometheus (the monitoring namespace) on the metrics ports: the model server's port, and
  Envoy's 15090 when the sidecars are scraped for canary analysis (expand/monitoring.py);
- in serverless mode, Knative's own namespace on every port (the activator proxies requests
  to the queue-proxy, the autoscaler scrapes its metrics).

Only ingress is restricted: the storage initializer, the Istio sidecar (to istiod) and the
model's own calls go out unhindered, and the kubelet's probes come from the node, which a
NetworkPolicy never blocks. Argo Rollouts shifts traffic by rewriting Services and the
VirtualService, not by connecting to pods.

The namespaces of the traffic entry, Prometheus and Knative are cluster facts with documented
defaults here (ISTIO_INGRESS_NAMESPACE, MONITORING_NAMESPACE, KNATIVE_NAMESPACE); issue #16
moves them to mlgitops.yaml.
"""

from __future__ import annotations

from typing import Any, Mapping, NamedTuple

from .. import names
from ..config import Config
from ..spec.model import ModelEnv
from ..spec.resolved import DEFAULT_PORT, Model, Section
from ..spec.schema import DNS1123_LABEL, LABEL_VALUE, mapping, string
from .generator import ANY, MODEL_FILE, NAME, KindGenerator
from .monitoring import ENVOY_METRICS_PORT, sidecars_scraped

KIND = "NetworkPolicy"
# Cluster defaults (issue #16 makes them settings of mlgitops.yaml).
ISTIO_INGRESS_NAMESPACE = "istio-system"  # KServe's default ingress: the Istio ingress gateway
MONITORING_NAMESPACE = "monitoring"  # Prometheus (the default prometheusAddress is *.monitoring.svc)
KNATIVE_NAMESPACE = "knative-serving"  # the activator and autoscaler (serverless mode)
QUEUE_PROXY_PORT = 8012  # Knative's queue-proxy: where a serverless pod receives requests
NAMESPACE_LABEL = "kubernetes.io/metadata.name"  # set on every namespace by the API server


class Caller(NamedTuple):
    """Pods allowed to call the model: those of `namespace`, those with `pod_labels` in the
    model's namespace, or those with `pod_labels` in `namespace`."""

    namespace: str | None
    pod_labels: Mapping[str, str]


class NetworkPolicySettings(NamedTuple):
    enabled: bool
    allow_from: tuple[Caller, ...]

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> NetworkPolicySettings:
        return cls(bool(data.get("enabled", False)),
                   tuple(Caller(c.get("namespace"), dict(c.get("podLabels", {}))) for c in data.get("allowFrom", ())))


SECTION: Section[NetworkPolicySettings] = Section(
    key="networkPolicy",
    schema=mapping(
        "Restrict ingress to the predictor pods with a NetworkPolicy: only the model's own pods, the callers in "
        f"`allowFrom`, the Istio ingress gateway (namespace `{ISTIO_INGRESS_NAMESPACE}`), Prometheus (namespace "
        f"`{MONITORING_NAMESPACE}`) on the metrics ports and, in serverless mode, Knative (`{KNATIVE_NAMESPACE}`) "
        "may connect. Egress is not restricted.", {
            "enabled": {"type": "boolean", "description": "Generate the NetworkPolicy.", "default": False},
            "allowFrom": {"type": "array",
                          "description": "Callers allowed on the serving port, each `namespace` (every pod of that "
                                         "namespace), `podLabels` (the pods with these labels in the model's "
                                         "namespace) or both (those pods in that namespace). An environment's list "
                                         "replaces the list of `spec`.",
                          "items": mapping(
                              "A caller: the pods of `namespace`, the pods with `podLabels` in the model's "
                              "namespace, or both (those pods in that namespace).", {
                                  "namespace": string("Namespace of the calling pods.", pattern=DNS1123_LABEL,
                                                      maxLength=63),
                                  "podLabels": {"type": "object", "minProperties": 1,
                                                "additionalProperties": {"type": "string", "pattern": LABEL_VALUE,
                                                                         "maxLength": 63},
                                                "description": "Labels the calling pods carry (all must match)."},
                              }, minProperties=1)},
        }),
    defaults={"enabled": False},
    typed=NetworkPolicySettings.of,
)


def _namespace(name: str) -> dict:
    return {"namespaceSelector": {"matchLabels": {NAMESPACE_LABEL: name}}}


def _peer(caller: Caller) -> dict:
    peer = _namespace(caller.namespace) if caller.namespace is not None else {}
    if caller.pod_labels:
        peer["podSelector"] = {"matchLabels": dict(sorted(caller.pod_labels.items()))}
    return peer


def _ports(numbers: list[int]) -> list[dict]:
    return [{"port": n, "protocol": "TCP"} for n in numbers]


def network_policy(model: Model, config: Config) -> dict:
    settings = model.section(SECTION)
    port = model.container.port if model.container is not None else DEFAULT_PORT
    own = {"podSelector": {"matchLabels": {"serving.kserve.io/inferenceservice": model.name}}}
    callers = [own, *(_peer(c) for c in settings.allow_from), _namespace(ISTIO_INGRESS_NAMESPACE)]
    ingress = [
        {"from": callers, "ports": _ports([port] if model.standard else [QUEUE_PROXY_PORT])},
        {"from": [_namespace(MONITORING_NAMESPACE)],
         "ports": _ports([port] + ([ENVOY_METRICS_PORT] if sidecars_scraped(model, config) else []))},
    ]
    if not model.standard:
        ingress.append({"from": [_namespace(KNATIVE_NAMESPACE)]})
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": KIND,
        "metadata": {"name": model.name},
        "spec": {
            "podSelector": {"matchLabels": names.predictor_pod_selector(model.name, model.mode)},
            "policyTypes": ["Ingress"],
            "ingress": ingress,
        },
    }


def _build(me: ModelEnv, config: Config) -> list[dict]:
    return [network_policy(me.model, config)]


_INGRESS = ("spec", "ingress", ANY)
GENERATOR = KindGenerator(
    name="network-policy",
    kinds=(KIND,),
    file=MODEL_FILE,
    applies=lambda model: model.section(SECTION).enabled,
    build=_build,
    derived=((KIND, ("spec", "podSelector", "matchLabels", "app"), NAME),),
    constants=(
        (KIND, ("spec", "podSelector", "matchLabels", "component")),
        (KIND, ("spec", "policyTypes", ANY)),
        (KIND, _INGRESS + ("ports", ANY, ANY)),  # the default serving port, Envoy's, Knative's
        (KIND, _INGRESS + ("from", ANY, "namespaceSelector", "matchLabels", NAMESPACE_LABEL)),  # cluster defaults
    ),
    section=SECTION,
)
