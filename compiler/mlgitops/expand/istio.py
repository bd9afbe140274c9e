"""Exact canary weights through Istio: stable and canary Services plus a VirtualService.

Argo Rollouts adds the pod-template-hash to each Service's selector and rewrites the route
weights. Only in-mesh callers of `<name>-predictor` are split; traffic entering through
KServe's own ingress bypasses the VirtualService (docs/design.md).
"""

from __future__ import annotations

from .. import names
from ..config import Config
from ..spec.model import ModelEnv
from ..spec.resolved import DEFAULT_PORT, Model
from .common import HTTP_PORT_NAME
from .generator import ANY, MODEL_FILE, NAME, KindGenerator

AGENT_PORT = 9081  # KServe's agent (constants.InferenceServiceDefaultAgentPort): logger and batcher


def services(me: ModelEnv) -> list[dict]:
    model = me.model
    return [_service(names.canary_service(model.name), model), _service(names.stable_service(model.name), model)]


def _service(name: str, model: Model) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {
            "selector": {"app": names.pod_selector_value(model.name)},
            "ports": [{"name": HTTP_PORT_NAME, "port": 80, "targetPort": target_port(model), "protocol": "TCP"}],
        },
    }


def target_port(model: Model) -> int:
    """Where KServe's own `<name>-predictor` Service sends requests (service_reconciler.go
    createDefaultSvc): the payload-logging agent when a logger is set, else the serving port."""
    if model.logger is not None:
        return AGENT_PORT
    return model.container.port if model.container is not None else DEFAULT_PORT


def virtual_service(me: ModelEnv) -> dict:
    model = me.model
    host = f"{names.predictor(model.name)}.{model.namespace}.svc.cluster.local"
    return {
        "apiVersion": "networking.istio.io/v1beta1",
        "kind": "VirtualService",
        "metadata": {"name": model.name},
        "spec": {
            "hosts": [host],
            "http": [{
                "name": "primary",
                "route": [
                    {"destination": {"host": names.stable_service(model.name)}, "weight": 100},
                    {"destination": {"host": names.canary_service(model.name)}, "weight": 0},
                ],
            }],
        },
    }


def _build(me: ModelEnv, config: Config) -> list[dict]:
    return [*services(me), virtual_service(me)]


def _names(model: Model) -> list[tuple[str, str]]:
    return [("canary Service", names.canary_service(model.name)), ("stable Service", names.stable_service(model.name))]


_VS = "VirtualService"
GENERATOR = KindGenerator(
    name="istio",
    kinds=("Service", _VS),
    file=MODEL_FILE,
    applies=lambda model: model.standard and model.canary.istio,
    build=_build,
    names=_names,
    derived=(
        ("Service", ("spec", "selector", "app"), NAME),
        (_VS, ("spec", "hosts", ANY), NAME),
        (_VS, ("spec", "http", ANY, "route", ANY, "destination", "host"), NAME),
    ),
    constants=(
        ("Service", ("spec", "ports", ANY, ANY)),
        (_VS, ("spec", "http", ANY, "name")),
        (_VS, ("spec", "http", ANY, "route", ANY, "weight")),
    ),
    name_references=(
        {"kind": "Service", "version": "v1", "fieldSpecs": [
            {"path": "spec/strategy/canary/canaryService", "kind": "Rollout"},
            {"path": "spec/strategy/canary/stableService", "kind": "Rollout"},
            {"path": "spec/http/route/destination/host", "kind": _VS},
            {"path": "spec/rules/backendRefs/name", "kind": "HTTPRoute"},  # expand/route.py
        ]},
        {"kind": _VS, "group": "networking.istio.io", "fieldSpecs": [
            {"path": "spec/strategy/canary/trafficRouting/istio/virtualService/name", "kind": "Rollout"},
        ]},
    ),
)
