"""An external route per model (`spec.route`): a Kubernetes Ingress for ingress-nginx, or a Gateway
API HTTPRoute, with the host and path of the model file; canary-aware.

Which Service the route sends to:
- a Standard-mode canary whose entry is the predictor (no transformer): the model's stable Service
  (`<model>-stable`, expand/istio.py `services`, emitted here when Istio routing does not already
  emit it), and the Rollout splits the route's traffic (expand/rollout.py `strategy.canary.
  trafficRouting`: `nginx.stableIngress` for an Ingress, the Gateway API plugin for an HTTPRoute;
  Argo Rollouts creates the canary Ingress, or sets the HTTPRoute's backend weights);
- otherwise KServe's entry Service: `<model>-transformer` when there is one, else
  `<model>-predictor` (port 80, what KServe's Standard-mode service reconciler creates). With a
  transformer the canary is the predictor behind it, which a route to the transformer cannot
  split: Istio routing splits it (in mesh), else the replica share does.

The route is named `<model>-route`: KServe's own Standard-mode Ingress (and HTTPRoute) is named
after the InferenceService, and would fight over a route of the same name. KServe still creates
that route unless the InferenceService is cluster-local, so expand/inferenceservice.py labels it
`networking.kserve.io/visibility: cluster-local` when the model has a route: the limits and TLS of
this route cannot be bypassed through KServe's unlimited one.

Serverless (Knative) models have no route (the `spec.route-mode` rule): Knative exposes them
through its own ingress (Istio or Kourier) by Host header, and their `<model>-predictor` Service
is an ExternalName to that ingress, which neither ingress-nginx nor Gateway API backends can
address without rewriting the Host (rules/route_mode.py).

Ingress limits are ingress-nginx annotations: `limit-rps` (per client address, per controller
replica) and `limit-burst-multiplier`, `proxy-body-size`, `proxy-read-timeout` and
`proxy-send-timeout`. An HTTPRoute has a standard request timeout (`timeouts.request`) but no field
for a rate limit, a body size or TLS (TLS terminates at the Gateway's listener): the
`spec.route-kind` rule refuses those settings with kind HTTPRoute (rules/route_kind.py).
"""

from __future__ import annotations

from typing import Any, Mapping, NamedTuple

from .. import names
from ..config import Config
from ..spec.model import ModelEnv
from ..spec.resolved import Model, Section
from ..spec.schema import mapping, string
from . import istio
from .generator import ANY, MODEL_FILE, NAME, KindGenerator, settings_path

INGRESS = "Ingress"
HTTP_ROUTE = "HTTPRoute"
SERVICE_PORT = 80  # KServe's Standard-mode Service port (constants.CommonDefaultHttpPort), and istio.py's
NGINX = "nginx.ingress.kubernetes.io/"
KSERVE_VISIBILITY = "networking.kserve.io/visibility"  # `cluster-local`: KServe exposes no route itself
HOSTNAME = r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
# Absolute, no empty, `.` or `..` segment: what ingress-nginx's strict path validation and the
# HTTPRoute CRD's path rules both accept.
URL_PATH = r"^(/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)*/?$"
BODY_SIZE = r"^[1-9][0-9]{0,5}(Ki|Mi|Gi)?$"
TIMEOUT = r"^[1-9][0-9]{0,4}(s|m)$"  # within Gateway API's duration (GEP-2257: at most 5 digits a unit)


class RateLimit(NamedTuple):
    requests_per_second: Any
    burst_multiplier: Any | None


class RouteSettings(NamedTuple):
    configured: bool  # the model file sets spec.route (for this environment)
    enabled: bool
    host: str | None
    path: str
    kind: str | None  # None: routes.kind of mlgitops.yaml
    tls_secret: str | None
    rate_limit: RateLimit | None
    max_body_size: str | None
    timeout: str | None

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> RouteSettings:
        limit = data.get("rateLimit")
        return cls(bool(data), bool(data.get("enabled", True)), data.get("host"), data.get("path", "/"),
                   data.get("kind"), (data.get("tls") or {}).get("secretName"),
                   RateLimit(limit["requestsPerSecond"], limit.get("burstMultiplier")) if limit else None,
                   data.get("maxBodySize"), data.get("timeout"))

    @property
    def active(self) -> bool:
        return self.configured and self.enabled


SECTION: Section[RouteSettings] = Section(
    key="route",
    schema=mapping(
        "An external route to the model (Standard mode): an Ingress for ingress-nginx or a Gateway API HTTPRoute "
        "(`routes.kind` of mlgitops.yaml, or `kind` here), for `host` and `path`. With a canary it points at the "
        "stable Service and Argo Rollouts splits its traffic. Hosts usually differ per environment: set them "
        "under `environments.<env>.route`.", {
            "enabled": {"type": "boolean", "default": True,
                        "description": "Generate the route (e.g. `false` in one environment)."},
            "host": string("Host name the route serves, e.g. `iris.ml.example.com` (a leading `*.` for a wildcard).",
                           pattern=HOSTNAME, maxLength=253),
            "path": string("Path prefix the route matches.", pattern=URL_PATH, minLength=1,
                           maxLength=1024, default="/"),
            "kind": string("Kind of the route for this model (default: `routes.kind` of mlgitops.yaml).",
                           enum=[INGRESS, HTTP_ROUTE]),
            "tls": mapping("TLS of an Ingress (an HTTPRoute's TLS is the Gateway listener's).", {
                "secretName": string("The kubernetes.io/tls Secret, in the model's namespace, holding the host's "
                                     "certificate.", pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", maxLength=253),
            }, required=["secretName"]),
            "rateLimit": mapping("Requests per second per client address (ingress-nginx `limit-rps`, enforced by "
                                 "each controller replica); Ingress only.", {
                "requestsPerSecond": {"type": "integer", "minimum": 1, "maximum": 100000,
                                      "description": "Sustained requests per second from one client address."},
                "burstMultiplier": {"type": "integer", "minimum": 1, "maximum": 100,
                                    "description": "Burst allowed above the rate, as a multiple of it "
                                                   "(ingress-nginx `limit-burst-multiplier`, its default 5)."},
            }, required=["requestsPerSecond"]),
            "maxBodySize": string("Largest request body, e.g. `10Mi` (ingress-nginx `proxy-body-size`); Ingress "
                                  "only.", pattern=BODY_SIZE, maxLength=8),
            "timeout": string("How long a request may take, e.g. `30s` or `2m` (ingress-nginx proxy read and send "
                              "timeouts; HTTPRoute `timeouts.request`).", pattern=TIMEOUT, maxLength=6),
        }),
    defaults={},
    typed=RouteSettings.of,
)


def route_name(model: str) -> str:
    """Not `<model>`: KServe names its own Standard-mode Ingress/HTTPRoute after the InferenceService."""
    return f"{model}-route"


def settings(model: Model) -> RouteSettings:
    return model.section(SECTION)


def applies(model: Model) -> bool:
    route = settings(model)
    return model.standard and route.active and route.host is not None


def kind(model: Model, config: Config) -> str:
    return settings(model).kind or config.routes.kind


def entry_service(model: Model) -> str:
    """KServe's Service for the component that receives the model's requests first."""
    if "transformer" in model.components:
        return names.component(model.name, "transformer")
    return names.predictor(model.name)


def splits_canary(model: Model) -> bool:
    """The route carries the canary split: a canary of the predictor, reached directly by the route."""
    return applies(model) and model.canary_on and "transformer" not in model.components


def traffic_router(model: Model, config: Config) -> dict:
    """The Rollout's `trafficRouting` entry for the route ({} when the route does not split)."""
    if not splits_canary(model):
        return {}
    name = route_name(model.name)
    if kind(model, config) == INGRESS:
        return {"nginx": {"stableIngress": name}}
    return {"plugins": {config.routes.rollouts_plugin: {"httpRoute": name, "namespace": model.namespace}}}


def _backend(model: Model) -> str:
    return names.stable_service(model.name) if splits_canary(model) else entry_service(model)


def body_size(size: str) -> str:
    """`10Mi` as nginx writes it (`10m`: nginx's k/m/g are binary units); bytes stay bytes."""
    for unit, nginx in (("Ki", "k"), ("Mi", "m"), ("Gi", "g")):
        if size.endswith(unit):
            return size[:-len(unit)] + nginx
    return size


def timeout_seconds(timeout: str) -> int:
    number = int(timeout[:-1])
    return number * 60 if timeout.endswith("m") else number


def ingress(model: Model, config: Config) -> dict:
    route = settings(model)
    annotations: dict[str, str] = {}
    if route.rate_limit is not None:
        annotations[NGINX + "limit-rps"] = str(route.rate_limit.requests_per_second)
        if route.rate_limit.burst_multiplier is not None:
            annotations[NGINX + "limit-burst-multiplier"] = str(route.rate_limit.burst_multiplier)
    if route.max_body_size is not None:
        annotations[NGINX + "proxy-body-size"] = body_size(route.max_body_size)
    if route.timeout is not None:
        seconds = str(timeout_seconds(route.timeout))
        annotations[NGINX + "proxy-read-timeout"] = seconds
        annotations[NGINX + "proxy-send-timeout"] = seconds
    metadata: dict = {"name": route_name(model.name)}
    if annotations:
        metadata["annotations"] = annotations
    spec: dict = {"ingressClassName": config.routes.ingress_class}
    if route.tls_secret is not None:
        spec["tls"] = [{"hosts": [route.host], "secretName": route.tls_secret}]
    spec["rules"] = [{"host": route.host, "http": {"paths": [{
        "path": route.path, "pathType": "Prefix",
        "backend": {"service": {"name": _backend(model), "port": {"number": SERVICE_PORT}}},
    }]}}]
    return {"apiVersion": "networking.k8s.io/v1", "kind": INGRESS, "metadata": metadata, "spec": spec}


def http_route(model: Model, config: Config) -> dict:
    route = settings(model)
    gateway = config.routes.gateway
    assert gateway is not None, "routes.gateway (config.py and the spec.route-kind rule)"
    parent = {key: gateway[key] for key in ("name", "namespace", "sectionName") if key in gateway}
    if splits_canary(model):
        # Argo Rollouts' Gateway API plugin rewrites these weights, finding each backend by the
        # Rollout's stableService/canaryService name.
        backends = [{"name": names.stable_service(model.name), "port": SERVICE_PORT, "weight": 100},
                    {"name": names.canary_service(model.name), "port": SERVICE_PORT, "weight": 0}]
    else:
        backends = [{"name": entry_service(model), "port": SERVICE_PORT}]
    rule: dict = {"matches": [{"path": {"type": "PathPrefix", "value": route.path}}], "backendRefs": backends}
    if route.timeout is not None:
        rule["timeouts"] = {"request": route.timeout}
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": HTTP_ROUTE,
        "metadata": {"name": route_name(model.name)},
        "spec": {"parentRefs": [parent], "hostnames": [route.host], "rules": [rule]},
    }


def _build(me: ModelEnv, config: Config) -> list[dict]:
    model = me.model
    out: list[dict] = []
    if splits_canary(model) and not istio.GENERATOR.applies(model):
        out.extend(istio.services(me))  # the stable and canary Services the Rollout rewrites
    out.append(ingress(model, config) if kind(model, config) == INGRESS else http_route(model, config))
    return out


def _names(model: Model) -> list[tuple[str, str]]:
    found = [("route", route_name(model.name))]
    if splits_canary(model) and not istio.GENERATOR.applies(model):  # else Istio's generator names them
        found += [("canary Service", names.canary_service(model.name)),
                  ("stable Service", names.stable_service(model.name))]
    return found


_RULE = ("spec", "rules", ANY)
_PATH = _RULE + ("http", "paths", ANY)
_ANNOTATIONS = ("metadata", "annotations")
GENERATOR = KindGenerator(
    name="route",
    kinds=("Service", INGRESS, HTTP_ROUTE),
    file=MODEL_FILE,
    applies=applies,
    build=_build,
    names=_names,
    derived=(
        ("Service", ("spec", "selector", "app"), NAME),
        (INGRESS, _ANNOTATIONS + (NGINX + "proxy-body-size",), settings_path("route", "maxBodySize")),
        (INGRESS, _ANNOTATIONS + (NGINX + "proxy-read-timeout",), settings_path("route", "timeout")),
        (INGRESS, _ANNOTATIONS + (NGINX + "proxy-send-timeout",), settings_path("route", "timeout")),
        (INGRESS, _PATH + ("backend", "service", "name"), NAME),
        (HTTP_ROUTE, _RULE + ("backendRefs", ANY, "name"), NAME),
    ),
    constants=(
        ("Service", ("spec", "ports", ANY, ANY)),
        (INGRESS, ("spec", "ingressClassName")),  # routes.ingressClassName of mlgitops.yaml
        (INGRESS, _PATH + ("path",)),  # the default `/`
        (INGRESS, _PATH + ("pathType",)),
        (INGRESS, _PATH + ("backend", "service", "port", "number")),
        (HTTP_ROUTE, ("spec", "parentRefs", ANY, ANY)),  # routes.gateway of mlgitops.yaml
        (HTTP_ROUTE, _RULE + ("matches", ANY, "path", "type")),
        (HTTP_ROUTE, _RULE + ("matches", ANY, "path", "value")),  # the default `/`
        (HTTP_ROUTE, _RULE + ("backendRefs", ANY, "port")),
        (HTTP_ROUTE, _RULE + ("backendRefs", ANY, "weight")),
    ),
    # The Rollout names the stable Ingress (kustomize's built-in references already cover an
    # Ingress's backend Services; an HTTPRoute's backendRefs are declared with the Service's, in
    # expand/istio.py, since a kind's references are declared once).
    name_references=({"kind": INGRESS, "group": "networking.k8s.io", "fieldSpecs": [
        {"path": "spec/strategy/canary/trafficRouting/nginx/stableIngress", "kind": "Rollout"},
    ]},),
    section=SECTION,
)
