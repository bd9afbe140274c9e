"""spec.route-mode: an external route needs Standard mode.

A serverless (Knative) model is exposed by Knative's own ingress (Istio or Kourier), which routes
by Host header; its `<model>-predictor` Service is an ExternalName pointing at that ingress, which
an ingress-nginx or Gateway API backend cannot address without rewriting the Host. Rather than
generate a route that would answer 404, mlgitops refuses it: serverless models keep KServe's
domain (`ingress.ingressDomain` of KServe's inferenceservice-config) or move to Standard mode.
"""

from __future__ import annotations

from ..config import Config
from ..diagnostics import ERROR, Rule
from ..expand import route
from ..spec.model import ModelEnv
from .base import ModelCheck, Reporter

RULE = Rule("spec.route-mode", ERROR, "An external route (`route`) on a serverless model.",
            "Knative exposes serverless models through its own ingress by Host header; an Ingress or HTTPRoute "
            "cannot reach them. Use mode: standard, or KServe's own domain.")


def check(me: ModelEnv, report: Reporter, config: Config) -> None:
    m = me.model
    if not m.standard and route.settings(m).active:
        report(("route",), RULE, "a route needs mode: standard; a serverless model is exposed by Knative's own "
                                 "ingress (KServe's domain), which an Ingress or HTTPRoute cannot reach")


CHECK = ModelCheck((RULE,), check)
