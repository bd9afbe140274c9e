"""The KServe InferenceService: KServe renders the runtime; in Standard mode it runs no pods.

Standard mode follows docs/design.md: KServe keeps the `<name>-predictor` Deployment at zero
replicas (annotations and minReplicas come from base/components/kserve-standard), the Rollout
adopts its pod template. Serverless mode lets Knative scale and KServe split canary traffic.
"""

from __future__ import annotations

from .. import names
from ..config import Config
from ..spec.model import ModelEnv
from ..spec.resolved import Container, Model
from .common import CONTAINER, PDBS_ANNOTATION, container, env_vars, meta, port, probes, resources, security_context
from . import route
from .disruption import budgets
from .generator import ANY, MODEL_FILE, NAME, KindGenerator, settings_path
from . import storage


def inference_service(me: ModelEnv) -> dict:
    model = me.model
    predictor: dict = {}
    serverless = model.serverless
    if not model.standard:
        predictor["minReplicas"] = model.autoscaling.min_replicas
        predictor["maxReplicas"] = model.autoscaling.max_replicas
        if serverless is not None and serverless.target_concurrency is not None:
            predictor["scaleMetric"] = "concurrency"
            predictor["scaleTarget"] = serverless.target_concurrency
        if serverless is not None and serverless.canary_traffic_percent is not None:
            predictor["canaryTrafficPercent"] = serverless.canary_traffic_percent
    account = storage.service_account_name(model)  # the model's own, or its storage endpoint's
    if account is not None:
        predictor["serviceAccountName"] = account
    if model.logger is not None:
        predictor["logger"] = {"mode": model.logger.mode, "url": model.logger.url}
    if model.timeout_seconds is not None:
        predictor["timeout"] = model.timeout_seconds
    # Stable Istio workload identity for SLO queries (destination_canonical_service/revision): the
    # model's name belongs to the component that receives its requests first, the transformer when
    # there is one (its latency and errors include the predictor's), so the SLO is end to end.
    labels = {"service.istio.io/canonical-name": canonical_name(model, "predictor")}
    if model.model_version:
        labels["service.istio.io/canonical-revision"] = model.model_version
        labels["mlgitops.dev/model-version"] = model.model_version
    predictor["labels"] = labels
    scheduling = model.scheduling
    if scheduling.node_selector:
        predictor["nodeSelector"] = dict(sorted(scheduling.node_selector.items()))
    if scheduling.tolerations:
        predictor["tolerations"] = [dict(t) for t in scheduling.tolerations]
    if scheduling.zone_spread and model.autoscaling.max_replicas > 1:
        predictor["topologySpreadConstraints"] = [{
            "maxSkew": 1,
            "topologyKey": "topology.kubernetes.io/zone",
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": names.predictor_pod_selector(model.name, model.mode)},
        }]
    if model.custom:
        main = container(model.container or Container.of({}))
        if model.env:
            main["env"] = env_vars(model.env) + main.get("env", [])
        main["resources"] = resources(model.resources)
        predictor["containers"] = [main]
    else:
        predictor["model"] = _model(model)
    spec: dict = {"predictor": predictor}
    for part, component in model.components.items():
        # KServe holds transformer/explainer replicas itself (no HPA on them): min = max.
        spec[part] = {"minReplicas": component.replicas, "maxReplicas": component.replicas,
                      "containers": [container(component)]}
        if part == "transformer":
            spec[part]["labels"] = {"service.istio.io/canonical-name": canonical_name(model, part)}
    metadata = meta(model.name)
    if route.applies(model):
        # KServe creates no Ingress/HTTPRoute of its own then: the model's route (expand/route.py),
        # with its limits and TLS, is the only way in from outside.
        metadata["labels"] = {route.KSERVE_VISIBILITY: "cluster-local"}
    annotations = {}
    if not model.standard and serverless is not None and serverless.window is not None:
        annotations["autoscaling.knative.dev/window"] = serverless.window
    pdbs = budgets(model)
    if pdbs:
        annotations[PDBS_ANNOTATION] = ",".join(f"{part}={name}" for part, name in pdbs.items())
    if annotations:
        metadata["annotations"] = annotations
    return {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService", "metadata": metadata,
            "spec": spec}


def canonical_name(model: Model, component: str) -> str:
    """The Istio canonical service of a component's pods: the model's name for its entry point
    (the transformer when there is one, else the predictor), `<model>-<component>` otherwise.
    The explainer keeps Istio's default: `:explain` calls are not the model's SLO."""
    entry = "transformer" if "transformer" in model.components else "predictor"
    return model.name if component == entry else f"{model.name}-{component}"


def _model(model: Model) -> dict:
    fw = model.runtime_info
    assert fw is not None, "a built-in framework"
    out: dict = {
        "modelFormat": {"name": fw.model_format, "version": fw.format_version},
        "runtime": model.runtime if model.runtime is not None else fw.runtime,
        "protocolVersion": model.protocol,
        "storageUri": model.storage_uri,
    }
    if model.runtime_version:
        out["runtimeVersion"] = model.runtime_version
    user = model.container or Container.of({})
    if user.args:
        out["args"] = list(user.args)
    env = env_vars(model.env) + env_vars(user.env)
    if env:
        out["env"] = env
    # A declared port name gives the KServe Service a stable port name for the ServiceMonitor.
    out["ports"] = [port(user.port)]
    probes(user, out)
    out["resources"] = resources(model.resources)
    out["securityContext"] = security_context()
    return out


def _build(me: ModelEnv, config: Config) -> list[dict]:
    return [inference_service(me)]


def _names(model: Model) -> list[tuple[str, str]]:
    """The names KServe derives: the pod label, and per component its Deployment/Service and the
    host label of KServe's default domainTemplate (<name>-<component>-<namespace>)."""
    out = [("KServe pod label app", names.pod_selector_value(model.name))]
    for part in ("predictor", *model.components):
        out.append((f"KServe {part} Deployment/Service", names.component(model.name, part)))
        out.append((f"KServe {part} host label", f"{names.component(model.name, part)}-{model.namespace}"))
    return out


_ISVC = "InferenceService"
_SPREAD = ("spec", "predictor", "topologySpreadConstraints", ANY)
GENERATOR = KindGenerator(
    name="inference-service",
    kinds=(_ISVC,),
    file=MODEL_FILE,
    applies=lambda model: True,
    build=_build,
    names=_names,
    derived=(
        (_ISVC, _SPREAD + ("labelSelector", "matchLabels", "app"), NAME),
        (_ISVC, ("metadata", "annotations", PDBS_ANNOTATION), settings_path("podDisruptionBudget")),
        (_ISVC, ("spec", ANY, "labels", "service.istio.io/canonical-name"), NAME),
        (_ISVC, ("spec", "predictor", "serviceAccountName"), NAME),  # <model>-storage (expand/storage.py)
    ),
    constants=(
        (_ISVC, ("metadata", "labels", "networking.kserve.io/visibility")),  # expand/route.py
        (_ISVC, ("spec", "predictor", "model", "modelFormat", ANY)),
        (_ISVC, ("spec", "predictor", "model", "runtime")),
        (_ISVC, ("spec", "predictor", "model", "ports", ANY, ANY)),
        (_ISVC, ("spec", "predictor", "model", ANY, "httpGet", "port")),  # probe on the default port
        (_ISVC, ("spec", "predictor", "scaleMetric")),
        (_ISVC, ("spec", ANY, "containers", ANY, "name")),
        (_ISVC, ("spec", ANY, "containers", ANY, "ports", ANY, ANY)),
        (_ISVC, ("spec", ANY, "containers", ANY, ANY, "httpGet", "port")),
        (_ISVC, ("spec", ANY, "containers", ANY, "resources", ANY, ANY)),  # a sidecar's defaults
        (_ISVC, _SPREAD + (ANY,)),
        (_ISVC, _SPREAD + ("labelSelector", "matchLabels", "component")),
        (_ISVC, ("spec", "predictor", "model", "securityContext", ANY)),  # common.security_context
        (_ISVC, ("spec", "predictor", "model", "securityContext", "capabilities", "drop", ANY)),
        (_ISVC, ("spec", ANY, "containers", ANY, "securityContext", ANY)),
        (_ISVC, ("spec", ANY, "containers", ANY, "securityContext", "capabilities", "drop", ANY)),
    ),
)

__all__ = ["inference_service", "CONTAINER", "GENERATOR"]
