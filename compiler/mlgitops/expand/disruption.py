"""PodDisruptionBudgets: the predictor's, and a transformer's or explainer's that runs more than
one replica.

Every object that runs more than one replica names the PodDisruptionBudget of its pods in an
annotation (common.PDB_ANNOTATION, common.PDBS_ANNOTATION on the InferenceService), so a
per-object admission policy can require one (policies/pdb-required.yaml).
"""

from __future__ import annotations

from .. import names
from ..config import Config
from ..spec.model import ModelEnv
from ..spec.resolved import Model
from .common import PDB_ANNOTATION
from .generator import ANY, MODEL_FILE, NAME, KindGenerator


def wants_pdb(model: Model) -> bool:
    if model.budget.enabled is not None:
        return model.budget.enabled
    return model.autoscaling.min_replicas > 1


def budgets(model: Model) -> dict[str, str]:
    """{KServe component: name of its PodDisruptionBudget} for the components that get one: the
    predictor as wants_pdb says, a transformer or explainer when it runs more than one replica
    (unless the model disables budgets)."""
    out = {"predictor": model.name} if wants_pdb(model) else {}
    if model.budget.enabled is not False:
        for part, spec in model.components.items():
            if spec.replicas > 1:
                out[part] = names.component(model.name, part)
    return out


def budget_annotation(model: Model, metadata: dict) -> dict:
    """`metadata` with the predictor's budget named in PDB_ANNOTATION, when it has one."""
    if wants_pdb(model):
        metadata["annotations"] = {PDB_ANNOTATION: model.name}
    return metadata


def pod_disruption_budgets(me: ModelEnv, config: Config | None = None) -> list[dict]:
    model = me.model
    out = []
    for part, name in budgets(model).items():
        if part == "predictor":
            selector = names.predictor_pod_selector(model.name, model.mode)
        elif model.standard:
            selector = {"app": f"isvc.{names.component(model.name, part)}"}
        else:
            selector = {"serving.kserve.io/inferenceservice": model.name, "component": part}
        out.append({
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": name},
            "spec": {"maxUnavailable": model.budget.max_unavailable, "selector": {"matchLabels": selector}},
        })
    return out


GENERATOR = KindGenerator(
    name="pod-disruption-budgets",
    kinds=("PodDisruptionBudget",),
    file=MODEL_FILE,
    applies=lambda model: bool(budgets(model)),
    build=pod_disruption_budgets,
    derived=(("PodDisruptionBudget", ("spec", "selector", "matchLabels", ANY), NAME),),
    constants=(("PodDisruptionBudget", ("spec", "selector", "matchLabels", "component")),),
)
