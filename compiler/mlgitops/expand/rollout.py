"""The Argo Rollouts Rollout that owns every serving pod of a Standard-mode model.

It adopts the pod template of KServe's `<name>-predictor` Deployment through workloadRef
(scaleDown comes from base/components/kserve-standard, per KServe version) and never carries
`spec.replicas` when an HPA owns the count.
"""

from __future__ import annotations

from .. import names
from ..config import Config
from ..spec.model import ModelEnv
from ..spec.resolved import Model
from . import route
from .common import meta
from .disruption import budget_annotation
from .generator import ANY, MODEL_FILE, NAME, KindGenerator, Path, settings_path


def rollout(me: ModelEnv, config: Config) -> dict:
    model = me.model
    settings = model.canary
    canary: dict = {}
    routing: dict = {}
    if settings.istio:
        routing["istio"] = {"virtualService": {"name": model.name, "routes": ["primary"]}}
    # The model's external route splits its own traffic too (expand/route.py): Argo Rollouts
    # drives every provider listed here at each step (multiple providers, Argo Rollouts >= 1.2).
    routing.update(route.traffic_router(model, config))
    if routing:
        canary["canaryService"] = names.canary_service(model.name)
        canary["stableService"] = names.stable_service(model.name)
        canary["trafficRouting"] = routing
        canary["abortScaleDownDelaySeconds"] = settings.abort_scale_down_delay_seconds
    else:
        # Replica-based split: never drop below the current capacity while surging.
        canary["maxSurge"] = "25%"
        canary["maxUnavailable"] = 0
    if settings.enabled:
        steps: list[dict] = []
        for step in settings.steps:
            steps.append({"setWeight": step.weight})
            if step.pause == "manual":
                steps.append({"pause": {}})
            elif step.pause:
                steps.append({"pause": {"duration": step.pause}})
        canary["steps"] = steps
        if model.has_analysis:
            canary["analysis"] = {
                "templates": [{"templateName": names.analysis_template(model.name)}],
                "startingStep": min(settings.analysis.starting_step, len(steps) - 1),
                "args": analysis_args(model),
            }
    spec: dict = {}
    if not model.uses_hpa:
        spec["replicas"] = model.autoscaling.min_replicas
    spec["selector"] = {"matchLabels": {"app": names.pod_selector_value(model.name)}}
    spec["workloadRef"] = {"apiVersion": "apps/v1", "kind": "Deployment", "name": names.predictor(model.name)}
    spec["progressDeadlineSeconds"] = settings.progress_deadline_seconds
    spec["strategy"] = {"canary": canary}
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
            "metadata": budget_annotation(model, meta(model.name)), "spec": spec}


def analysis_args(model: Model) -> list[dict]:
    """Both canary metrics read the canary pods only, by the hash of the latest pod template."""
    return [{"name": "namespace", "value": model.namespace},
            {"name": "canary-hash", "valueFrom": {"podTemplateHashValue": "Latest"}}]


def _canary_step(me: ModelEnv, obj: dict, path: Path) -> Path:
    """A Rollout pause step: the model's canary step it follows (each step is setWeight, pause)."""
    steps = obj["spec"]["strategy"]["canary"]["steps"]
    index = sum(1 for step in steps[:path[4] + 1] if "setWeight" in step) - 1
    return me.source_path(("canary", "steps", index, "pause"))


def _build(me: ModelEnv, config: Config) -> list[dict]:
    return [rollout(me, config)]


def _names(model: Model) -> list[tuple[str, str]]:
    """Argo Rollouts names ReplicaSets <rollout>-<pod-template-hash> (the hash: up to 10 characters)."""
    return [("Argo Rollouts ReplicaSet name", f"{model.name}-{'x' * (names.HASH_SUFFIX - 1)}")]


_CANARY = ("spec", "strategy", "canary")
_ROLLOUT = "Rollout"
GENERATOR = KindGenerator(
    name="rollout",
    kinds=(_ROLLOUT,),
    file=MODEL_FILE,
    applies=lambda model: model.standard,
    build=_build,
    names=_names,
    derived=(
        (_ROLLOUT, ("spec", "selector", "matchLabels", "app"), NAME),
        (_ROLLOUT, ("spec", "workloadRef", "name"), NAME),
        (_ROLLOUT, _CANARY + ("analysis", "templates", ANY, "templateName"), NAME),
        (_ROLLOUT, _CANARY + ("analysis", "args", ANY, "value"), NAME),
        (_ROLLOUT, _CANARY + ("analysis", "startingStep"), settings_path("canary", "analysis", "startingStep")),
        (_ROLLOUT, _CANARY + ("canaryService",), NAME),
        (_ROLLOUT, _CANARY + ("stableService",), NAME),
        (_ROLLOUT, _CANARY + ("trafficRouting", "nginx", "stableIngress"), NAME),
        (_ROLLOUT, _CANARY + ("trafficRouting", "plugins", ANY, "httpRoute"), NAME),
        (_ROLLOUT, _CANARY + ("trafficRouting", "plugins", ANY, "namespace"), NAME),  # the environment's
        (_ROLLOUT, _CANARY + ("steps", ANY, "pause", "duration"), _canary_step),
        (_ROLLOUT, _CANARY + ("steps", ANY, "pause"), _canary_step),
    ),
    constants=(
        (_ROLLOUT, ("spec", "workloadRef", "apiVersion")),
        (_ROLLOUT, ("spec", "workloadRef", "kind")),
        (_ROLLOUT, _CANARY + ("maxSurge",)),
        (_ROLLOUT, _CANARY + ("maxUnavailable",)),
        (_ROLLOUT, _CANARY + ("trafficRouting", "istio", "virtualService", "routes", ANY)),
        (_ROLLOUT, _CANARY + ("analysis", "args", ANY, "name")),
        (_ROLLOUT, _CANARY + ("analysis", "args", ANY, "valueFrom", "podTemplateHashValue")),
    ),
    # mlgitops' Rollouts adopt a Deployment KServe creates (not in the kustomization, so this
    # never fires for them); a hand-written overlay that ships its own Deployment keeps the
    # reference through namePrefix/nameSuffix.
    name_references=({"kind": "Deployment", "group": "apps", "fieldSpecs": [
        {"path": "spec/workloadRef/name", "kind": _ROLLOUT},
    ]},),
)
