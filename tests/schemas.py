"""Validate rendered objects against the upstream CRD schemas and Kubernetes' own schemas."""

from __future__ import annotations

import functools
import json
import pathlib

import jsonschema

from tooling import REPO_ROOT, require_shared

CORE_GROUPS = {"", "v1", "apps", "autoscaling", "policy", "rbac.authorization.k8s.io", "networking.k8s.io"}
KUBERNETES_VERSION = "1.33.0"


@functools.lru_cache(maxsize=None)
def _crd_validator(path: str) -> jsonschema.protocols.Validator:
    schema = json.loads(pathlib.Path(path).read_text())
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    # No format checker: the PrometheusRule schema's regex format breaks Python's re.
    return cls(schema)


def errors_for(obj: dict) -> list[str]:
    """Schema errors of one object ([] when valid)."""
    group, _, version = obj["apiVersion"].rpartition("/")
    if group in CORE_GROUPS or "." not in group:
        import kubernetes_validate

        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            return [f"{'/'.join(map(str, exc.path))}: {exc.message}"]
        return []
    name = f"{group}/{obj['kind'].lower()}_{version}.json"
    path = require_shared("schemas") / name
    if not path.exists():  # in no catalog: the repository's, made from the upstream CRD (schemas.lock)
        path = REPO_ROOT / "schemas" / name
    assert path.exists(), f"no upstream schema for {obj['apiVersion']} {obj['kind']}: {path}"
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in _crd_validator(str(path)).iter_errors(obj)]
