"""The NetworkPolicy of the predictor pods (`spec.networkPolicy`): on by default where
mlgitops.yaml's environment says so (`environments.<env>.networkPolicy`, true in production).

Ingress: the predictor pods accept connections only from
- the model's own InferenceService pods (its transformer and explainer) and the callers the
  model lists in `allowFrom` (namespaces, pod labels in the model's namespace, or both), on the
  serving port: the model server's, KServe's agent port 9081 too when a payload logger is set
  (in Standard mode KServe's Service then targets the agent), Knative's queue-proxy port in
  serverless mode;
- the traffic entry (`network.entryNamespaces`: the ingress controller or Istio ingress gateway),
  on the same ports. Behind an Istio sidecar the policy sees the port the caller dialled, the
  serving port, before the sidecar intercepts it, so mesh callers need nothing more;
- Prometheus (`network.monitoringNamespaces`) on the metrics ports: the serving ports, and
  Envoy's 15090 when the sidecars are scraped (expand/monitoring.py);
- in serverless mode, Knative's namespace (`network.knativeNamespace`) on every port: the
  activator proxies requests to the queue-proxy, the autoscaler scrapes its metrics.

Egress is restricted only when `networkPolicy.egress.enabled`: then the pods may reach the
cluster DNS (`network.dnsNamespace`, UDP and TCP 53), istiod (`network.istiodNamespace`, 15012)
when they carry an Istio sidecar (`has_sidecar`), the storage endpoint's `egressTo` peers
(mlgitops.yaml `storage.endpoints`, expand/storage.py) for the storage initializer, the payload
logger's namespace when `logger.url` is a cluster Service, and the peers in `egress.to`. The
`spec.network-egress` rule refuses egress that leaves the storage initializer no way to its
model.

What the policy must not cut off: the kubelet's probes (also those Istio rewrites to 15020) come
from the node, which a NetworkPolicy never blocks; the storage initializer is an init container
that only connects out (egress above); Argo Rollouts shifts traffic by rewriting Services and the
VirtualService, never by connecting to pods, and the policy's selector is the pod template's,
shared by stable and canary pods. tests/test_network_policy.py checks each path.
"""

from __future__ import annotations

from typing import Any, Mapping, NamedTuple
from urllib.parse import urlsplit

from .. import names
from ..config import Config, Environment
from ..spec.model import ModelEnv
from ..spec.resolved import DEFAULT_PORT, Model, Section
from ..spec.schema import DNS1123_LABEL, LABEL_VALUE, mapping, string
from .generator import ANY, MODEL_FILE, NAME, KindGenerator, Path
from .istio import AGENT_PORT  # KServe's agent (payload logger): its Standard-mode Service targets it
from .monitoring import ENVOY_METRICS_PORT, sidecars_scraped
from .operations import storage_containers
from .storage import endpoint_of

KIND = "NetworkPolicy"
QUEUE_PROXY_PORT = 8012  # Knative's queue-proxy: where a serverless pod receives requests
DNS_PORT = 53
ISTIOD_XDS_PORT = 15012  # istiod's xDS and certificate port, what every sidecar dials
NAMESPACE_LABEL = "kubernetes.io/metadata.name"  # set on every namespace by the API server
STORAGE_INITIALIZER = "storage-initializer"


class Peer(NamedTuple):
    """Pods allowed to call the model, or that it may call: those of `namespace`, those with
    `pod_labels` in the model's namespace, or those with `pod_labels` in `namespace`; or the
    addresses of `cidr`. `port`: only that port (egress; None: every port)."""

    namespace: str | None
    pod_labels: Mapping[str, str]
    cidr: str | None = None
    port: int | None = None

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> Peer:
        return cls(data.get("namespace"), dict(data.get("podLabels", {})), data.get("cidr"), data.get("port"))


class Egress(NamedTuple):
    enabled: bool
    to: tuple[Peer, ...]

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> Egress:
        return cls(bool(data.get("enabled", False)), tuple(Peer.of(p) for p in data.get("to", ())))


class NetworkPolicySettings(NamedTuple):
    enabled: bool
    allow_from: tuple[Peer, ...]
    egress: Egress

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> NetworkPolicySettings:
        return cls(bool(data.get("enabled", False)), tuple(Peer.of(c) for c in data.get("allowFrom", ())),
                   Egress.of(data.get("egress", {})))


def network_policy_default(env: Environment) -> dict:
    """The section's defaults in `env`: on where mlgitops.yaml's environment says so."""
    return {"enabled": env.network_policy}


_NAMESPACE = string("Namespace of the pods.", pattern=DNS1123_LABEL, maxLength=63)
_POD_LABELS = {"type": "object", "minProperties": 1,
               "additionalProperties": {"type": "string", "pattern": LABEL_VALUE, "maxLength": 63},
               "description": "Labels the pods carry (all must match)."}

SECTION: Section[NetworkPolicySettings] = Section(
    key="networkPolicy",
    schema=mapping(
        "A NetworkPolicy of the predictor pods, on by default where mlgitops.yaml's environment sets "
        "`networkPolicy: true` (by default the last environment, production). Ingress only from the model's own "
        "pods, the callers in `allowFrom` and the traffic entry (`network.entryNamespaces`, default "
        "`[istio-system]`) on the serving port, Prometheus (`network.monitoringNamespaces`, default "
        "`[monitoring]`) on the metrics ports and, in serverless mode, Knative (`network.knativeNamespace`, "
        "default `knative-serving`). Egress is restricted only with `egress.enabled`.", {
            "enabled": {"type": "boolean",
                        "description": "Generate the NetworkPolicy (default: the environment's `networkPolicy` in "
                                       "mlgitops.yaml: true in the last environment, production, else false)."},
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
            "egress": mapping(
                "Restrict the predictor pods' outgoing connections too (off by default). Allowed then: the cluster "
                "DNS (`network.dnsNamespace`, port 53), istiod (`network.istiodNamespace`, port 15012) when the "
                "pods carry an Istio sidecar, the storage endpoint's `egressTo` peers (mlgitops.yaml "
                "`storage.endpoints`), the payload logger's namespace when `logger.url` is a cluster Service "
                "(`<svc>.<namespace>.svc...`), and the peers in `to`.", {
                    "enabled": {"type": "boolean", "description": "Restrict egress.", "default": False},
                    "to": {"type": "array",
                           "description": "Other destinations the pods may connect to (e.g. a model store outside "
                                          "the cluster, a feature store). An environment's list replaces the list "
                                          "of `spec`.",
                           "items": mapping(
                               "A destination: the pods of `namespace`, the pods with `podLabels` in the model's "
                               "namespace, both (those pods in that namespace), or the addresses of `cidr`; on "
                               "`port` only, else on every port (`port` alone: any destination on that port).", {
                                   "namespace": _NAMESPACE,
                                   "podLabels": _POD_LABELS,
                                   "cidr": string("An IP block, e.g. `10.20.0.0/16` (not with `namespace` or "
                                                  "`podLabels`).", pattern=r"^[0-9a-fA-F.:]+/[0-9]{1,3}$",
                                                  maxLength=43),
                                   "port": {"type": "integer", "minimum": 1, "maximum": 65535,
                                            "description": "TCP port the pods dial (a Service's target port: "
                                                           "the policy sees the pod's port)."},
                               }, minProperties=1)},
                }),
        }),
    defaults={"enabled": False},
    typed=NetworkPolicySettings.of,
    environment_defaults=network_policy_default,
)


def has_sidecar(model: Model, config: Config) -> bool:
    """The predictor pods carry an Istio sidecar: what the model reads from the mesh (an Istio SLO
    source, Istio canary traffic routing, a scrape of the sidecars) needs one. The sidecar dials
    istiod; allowing that for a pod without one costs nothing, missing it breaks the pod."""
    return (model.slo.source == "istio" or (model.canary_on and model.canary.istio)
            or sidecars_scraped(model, config))


def serving_ports(model: Model) -> list[int]:
    """The ports the pods receive requests on (the policy sees the port a caller dials)."""
    if not model.standard:
        return [QUEUE_PROXY_PORT]
    port = model.container.port if model.container is not None else DEFAULT_PORT
    return [port] + ([AGENT_PORT] if model.logger is not None else [])


def metrics_ports(model: Model) -> list[int]:
    """The ports Prometheus scrapes the model server on: the Service's target (the serving ports)
    in Standard mode, the user container's port (a PodMonitor) in serverless mode."""
    if model.standard:
        return serving_ports(model)
    return [model.container.port if model.container is not None else DEFAULT_PORT]


def fetches_over_network(model: Model) -> bool:
    """KServe's storage initializer downloads the model (not a volume, not an OCI modelcar the
    kubelet pulls)."""
    return STORAGE_INITIALIZER in storage_containers(model)[1]


def logger_namespace(model: Model) -> str | None:
    """The namespace of the payload logger when its URL names a cluster Service
    (`<svc>.<namespace>.svc[.<cluster domain>]`, or `<svc>`: the model's own namespace); None
    when it is elsewhere (or there is none)."""
    if model.logger is None:
        return None
    host = (urlsplit(str(model.logger.url)).hostname or "").split(".")
    if len(host) == 1:
        return str(model.namespace)
    if len(host) >= 3 and host[2] == "svc":
        return host[1]
    return None


def _namespace(name: str) -> dict:
    return {"namespaceSelector": {"matchLabels": {NAMESPACE_LABEL: name}}}


def _peer(peer: Peer) -> dict:
    """A NetworkPolicy peer of namespace and/or pod selectors."""
    out = _namespace(peer.namespace) if peer.namespace is not None else {}
    if peer.pod_labels:
        out["podSelector"] = {"matchLabels": dict(sorted(peer.pod_labels.items()))}
    return out


def _peers(peer: Peer) -> list[dict]:
    """The NetworkPolicy peers of a destination: its ipBlock, its selectors. A NetworkPolicy peer
    cannot be both, so a destination naming both (which the spec.network-egress rule refuses in
    model files) allows each."""
    out = [{"ipBlock": {"cidr": peer.cidr}}] if peer.cidr is not None else []
    return out + ([_peer(peer)] if peer.namespace is not None or peer.pod_labels else [])


def _ports(numbers: list[int], protocol: str = "TCP") -> list[dict]:
    return [{"port": n, "protocol": protocol} for n in numbers]


def _endpoint_port(endpoint: str, https: bool) -> int:
    host, _, port = endpoint.rpartition(":")
    return int(port) if host and port.isdigit() else (443 if https else 80)


def _peer_rule(peer: Mapping[str, Any] | Peer, default_port: int | None) -> dict:
    """One egress rule: to `peer` (none: anywhere), on its port, else `default_port` (None: every port)."""
    p = Peer.of(peer) if isinstance(peer, Mapping) else peer
    rule: dict = {}
    if _peers(p):
        rule["to"] = _peers(p)
    port = p.port if p.port is not None else default_port
    if port is not None:
        rule["ports"] = _ports([port])
    return rule


def logger_rule(model: Model) -> dict | None:
    """Egress to the payload logger's namespace, every port: the URL gives the Service's port,
    the policy sees the pod's (its target port), which mlgitops cannot know."""
    ns = logger_namespace(model)
    if ns is None:
        return None
    if ns == model.namespace:
        return {"to": [{"podSelector": {}}]}
    return {"to": [_namespace(ns)]}


def storage_rules(model: Model, config: Config) -> list[dict]:
    """Egress to the model's storage endpoint (its `egressTo` peers), for the storage initializer."""
    endpoint = endpoint_of(model, config)
    if endpoint is None or not fetches_over_network(model):
        return []
    port = _endpoint_port(endpoint.endpoint, endpoint.https)
    return [_peer_rule(peer, port) for peer in endpoint.egress_to]


def egress_rules(model: Model, config: Config) -> list[dict]:
    network = config.network
    rules = [{"to": [_namespace(network.dns_namespace)],
              "ports": _ports([DNS_PORT], "UDP") + _ports([DNS_PORT], "TCP")}]
    if has_sidecar(model, config):
        rules.append({"to": [_namespace(network.istiod_namespace)], "ports": _ports([ISTIOD_XDS_PORT])})
    rules += storage_rules(model, config)
    logger = logger_rule(model)
    if logger is not None:
        rules.append(logger)
    rules += [_peer_rule(peer, None) for peer in model.section(SECTION).egress.to]
    return rules


def network_policy(model: Model, config: Config) -> dict:
    settings = model.section(SECTION)
    network = config.network
    ports = serving_ports(model)
    own = {"podSelector": {"matchLabels": {"serving.kserve.io/inferenceservice": model.name}}}
    callers = [own, *(_peer(c) for c in settings.allow_from), *(_namespace(n) for n in network.entry_namespaces)]
    metrics = metrics_ports(model)
    ingress = [
        {"from": callers, "ports": _ports(ports)},
        {"from": [_namespace(n) for n in network.monitoring_namespaces],
         "ports": _ports(metrics + ([ENVOY_METRICS_PORT] if sidecars_scraped(model, config) else []))},
    ]
    if not model.standard:
        ingress.append({"from": [_namespace(network.knative_namespace)]})
    spec: dict = {
        "podSelector": {"matchLabels": names.predictor_pod_selector(model.name, model.mode)},
        "policyTypes": ["Ingress"],
        "ingress": ingress,
    }
    if settings.egress.enabled:
        spec["policyTypes"] = ["Ingress", "Egress"]
        spec["egress"] = egress_rules(model, config)
    return {"apiVersion": "networking.k8s.io/v1", "kind": KIND, "metadata": {"name": model.name}, "spec": spec}


def _build(me: ModelEnv, config: Config) -> list[dict]:
    return [network_policy(me.model, config)]


def _egress_source(me: ModelEnv, obj: dict, leaf: Path) -> Path:
    """The model-file field behind a destination mlgitops chose: the logger's URL for the logger's
    namespace, `storage.endpoint` for the endpoint's peers, `networkPolicy.egress` (what turned
    egress on) for the cluster DNS and istiod. (The peers of `egress.to` carry their own lines.)"""
    rule = obj["spec"]["egress"][leaf[2]]
    if rule == logger_rule(me.model):
        return me.source_path(("logger", "url"))
    protocols = {(p["port"], p["protocol"]) for p in rule.get("ports", ())}
    if protocols in ({(DNS_PORT, "UDP"), (DNS_PORT, "TCP")}, {(ISTIOD_XDS_PORT, "TCP")}):
        return me.source_path(("networkPolicy", "egress", "enabled"))
    return me.source_path(("storage", "endpoint"))


_INGRESS = ("spec", "ingress", ANY)
_EGRESS = ("spec", "egress", ANY)
GENERATOR = KindGenerator(
    name="network-policy",
    kinds=(KIND,),
    file=MODEL_FILE,
    applies=lambda model: model.section(SECTION).enabled,
    build=_build,
    derived=(
        (KIND, ("spec", "podSelector", "matchLabels", "app"), NAME),
        (KIND, _EGRESS + ("to", ANY, "namespaceSelector", "matchLabels", NAMESPACE_LABEL), _egress_source),
        (KIND, _EGRESS + ("to", ANY, "podSelector"), _egress_source),  # the logger in the model's namespace
        (KIND, _EGRESS + ("to", ANY, "podSelector", "matchLabels", ANY), _egress_source),
        (KIND, _EGRESS + ("to", ANY, "ipBlock", "cidr"), _egress_source),
    ),
    constants=(
        (KIND, ("spec", "podSelector", "matchLabels", "component")),
        (KIND, ("spec", "policyTypes", ANY)),
        (KIND, _INGRESS + ("ports", ANY, ANY)),  # the default serving port, the agent's, Envoy's, Knative's
        # mlgitops.yaml `network:`: the traffic entry, Prometheus, Knative (cluster facts, documented defaults)
        (KIND, _INGRESS + ("from", ANY, "namespaceSelector", "matchLabels", NAMESPACE_LABEL)),
        (KIND, _EGRESS + ("ports", ANY, ANY)),  # DNS, istiod, the storage endpoint's port
    ),
    section=SECTION,
)
