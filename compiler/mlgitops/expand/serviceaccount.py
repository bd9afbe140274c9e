"""The predictor's ServiceAccount, when the model asks mlgitops to create it (e.g. for IRSA)."""

from __future__ import annotations

from ..config import Config
from ..spec.model import ModelEnv
from .generator import MODEL_FILE, KindGenerator


def service_account(me: ModelEnv) -> dict:
    sa = me.model.service_account
    assert sa is not None
    obj: dict = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": sa.name}}
    if sa.annotations:
        obj["metadata"]["annotations"] = dict(sorted(sa.annotations.items()))
    return obj


def _build(me: ModelEnv, config: Config) -> list[dict]:
    return [service_account(me)]


GENERATOR = KindGenerator(
    name="service-account",
    kinds=("ServiceAccount",),
    file=MODEL_FILE,
    applies=lambda model: model.service_account is not None and model.service_account.create,
    build=_build,
    name_references=({"kind": "ServiceAccount", "version": "v1", "fieldSpecs": [
        {"path": "spec/predictor/serviceAccountName", "kind": "InferenceService"},
    ]},),
)
