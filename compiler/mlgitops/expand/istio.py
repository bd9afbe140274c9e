"""Exact canary weights through Istio: stable and canary Services plus a VirtualService.

Argo Rollouts adds the pod-template-hash to each Service's selector and rewrites the route
weights. Only in-mesh callers of `<name>-predictor` are split; traffic entering through
KServe's own ingress bypasses the VirtualService (docs/design.md).
"""

from __future__ import annotations

from .. import names
from ..spec.model import ModelEnv
from .common import HTTP_PORT_NAME


def services(me: ModelEnv) -> list[dict]:
    return [_service(names.canary_service(me.name), me), _service(names.stable_service(me.name), me)]


def _service(name: str, me: ModelEnv) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {
            "selector": {"app": names.pod_selector_value(me.name)},
            "ports": [{"name": HTTP_PORT_NAME, "port": 80, "targetPort": 8080, "protocol": "TCP"}],
        },
    }


def virtual_service(me: ModelEnv) -> dict:
    host = f"{names.predictor(me.name)}.{me.env.namespace}.svc.cluster.local"
    return {
        "apiVersion": "networking.istio.io/v1beta1",
        "kind": "VirtualService",
        "metadata": {"name": me.name},
        "spec": {
            "hosts": [host],
            "http": [{
                "name": "primary",
                "route": [
                    {"destination": {"host": names.stable_service(me.name)}, "weight": 100},
                    {"destination": {"host": names.canary_service(me.name)}, "weight": 0},
                ],
            }],
        },
    }
