"""The predictor's ServiceAccount: the model's own when it asks mlgitops to create it (e.g. for
IRSA), else `<model>-storage` when the model pulls from a storage endpoint (expand/storage.py).

A storage endpoint adds what KServe's storage initializer reads: the credential Secret in
`secrets` (`secretName`, `externalSecret`), or the IRSA role and the s3-* annotations
(`irsaRoleArn`). A model whose own ServiceAccount is not created by mlgitops (`create: false`)
cannot take an endpoint's credentials: the rule spec.storage-service-account stops the build.
"""

from __future__ import annotations

from ..config import Config
from ..spec.model import ModelEnv
from ..spec.resolved import Model
from . import storage
from .generator import ANY, MODEL_FILE, KindGenerator, Path

KIND = "ServiceAccount"


def service_account(me: ModelEnv, config: Config) -> dict:
    model = me.model
    name = storage.service_account_name(model)
    assert name is not None
    own = dict(model.service_account.annotations) if model.service_account is not None else {}
    added, secrets = storage.service_account_additions(model, config)
    obj: dict = {"apiVersion": "v1", "kind": KIND, "metadata": {"name": name}}
    annotations = {**own, **added}  # a conflicting key is an error (spec.storage-service-account)
    if annotations:
        obj["metadata"]["annotations"] = dict(sorted(annotations.items()))
    if secrets:
        obj["secrets"] = secrets
    return obj


def _applies(model: Model) -> bool:
    sa = model.service_account
    if sa is not None:
        return sa.create
    return storage.endpoint_name(model) is not None


def _build(me: ModelEnv, config: Config) -> list[dict]:
    return [service_account(me, config)]


def _storage_line(me: ModelEnv, obj: dict, leaf: Path) -> Path:
    """What the model wrote that made the leaf: its storage endpoint (annotations, secrets)."""
    return me.source_path((storage.SECTION.key, "endpoint"))


GENERATOR = KindGenerator(
    name="service-account",
    kinds=(KIND,),
    file=MODEL_FILE,
    applies=_applies,
    build=_build,
    derived=(
        (KIND, ("metadata", "annotations", ANY), _storage_line),
        (KIND, ("secrets", ANY, "name"), _storage_line),
    ),
    name_references=({"kind": KIND, "version": "v1", "fieldSpecs": [
        {"path": "spec/predictor/serviceAccountName", "kind": "InferenceService"},
    ]},),
)
