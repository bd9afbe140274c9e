"""spec.route-kind: a route setting its kind has no place for.

An HTTPRoute (Gateway API v1, standard channel) has a request timeout but no field for a rate
limit or a body size: those are implementation policies (Envoy Gateway's BackendTrafficPolicy,
and others), which mlgitops does not guess. Its TLS terminates at the Gateway's listener, not in
the route. A setting that would silently not apply is an error. An HTTPRoute also needs the
Gateway it attaches to (`routes.gateway` of mlgitops.yaml).
"""

from __future__ import annotations

from ..config import CONFIG_FILE, Config
from ..diagnostics import ERROR, Rule
from ..expand import route
from ..spec.model import ModelEnv
from .base import ModelCheck, Reporter

RULE = Rule("spec.route-kind", ERROR, "A route setting its kind cannot carry (rate limit, body size or TLS on an "
            "HTTPRoute), or an HTTPRoute without `routes.gateway`.",
            "Gateway API has no standard field for rate limits or body sizes, and terminates TLS at the Gateway: "
            "set them on the Gateway and its implementation's policies, or use kind: Ingress (ingress-nginx).")

_NOT_IN_HTTPROUTE = (
    ("rateLimit", "a rate limit", "an HTTPRoute has no rate-limit field (use the Gateway implementation's policy, "
                                  "or kind: Ingress)"),
    ("maxBodySize", "a body size limit", "an HTTPRoute has no body-size field (use the Gateway implementation's "
                                         "policy, or kind: Ingress)"),
    ("tls", "TLS", "an HTTPRoute's TLS terminates at the Gateway listener (routes.gateway), not in the route"),
)


def check(me: ModelEnv, report: Reporter, config: Config) -> None:
    m = me.model
    settings = route.settings(m)
    if not (m.standard and settings.active) or route.kind(m, config) != route.HTTP_ROUTE:
        return
    present = {"rateLimit": settings.rate_limit, "maxBodySize": settings.max_body_size, "tls": settings.tls_secret}
    for key, what, why in _NOT_IN_HTTPROUTE:
        if present[key] is not None:
            report(("route", key), RULE, f"{what} cannot apply to kind HTTPRoute: {why}")
    if config.routes.gateway is None:
        report(("route", "kind"), RULE, f"kind HTTPRoute needs routes.gateway in {CONFIG_FILE} (the Gateway the "
                                        "route attaches to)")


CHECK = ModelCheck((RULE,), check)
