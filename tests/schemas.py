"""Validate rendered objects against the upstream CRD schemas and Kubernetes' own schemas."""

from __future__ import annotations

import functools
import json
import pathlib

import jsonschema

from tooling import require_shared

CORE_GROUPS = {"", "v1", "apps", "autoscaling", "policy", "rbac.authorization.k8s.io"}
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
    schemas = require_shared("schemas")
    path = schemas / group / f"{obj['kind'].lower()}_{version}.json"
    assert path.exists(), f"no upstream schema for {obj['apiVersion']} {obj['kind']}: {path}"
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in _crd_validator(str(path)).iter_errors(obj)]
