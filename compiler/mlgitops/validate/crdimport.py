"""Convert Kubernetes CustomResourceDefinitions into kubeconform-style JSON schemas.

One job: CRD files in, `<out>/<group>/<kind>_<version>.json` (non-strict) and
`<out>/<group>-strict/<kind>_<version>.json` (strict) plus their entries in `<out>/schemas.lock`
(lock.py) out.
kubeconform finds them with
`-schema-location '<out>/{{ .Group }}{{ .StrictSuffix }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json'`
(its StrictSuffix is "-strict" under `-strict`, as in yannh/kubernetes-json-schema).

The conversion follows kubeconform's scripts/openapi2jsonschema.py (v0.7.0): the schema is
`spec.versions[].schema.openAPIV3Schema`; `format: int-or-string` becomes
`oneOf: [string, integer]`; strict schemas get `additionalProperties: false` on every object
below the root that has `properties` and no explicit `additionalProperties`. Beyond the script:
`x-kubernetes-int-or-string: true` is also turned into the oneOf, `nullable: true` adds "null"
to the type, and objects with `x-kubernetes-preserve-unknown-fields: true` stay open.
Every served version is converted. Output is deterministic (sorted keys, indent 2, final newline).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
from typing import Any

import yaml

from ..diagnostics import Diagnostic, Diagnostics
from ..yamlsource import Path, _Builder, _Loader
from .lock import LOCK_NAME, LockEntry, merge_lock, sha256, write_atomic

STRICT_SUFFIX = "-strict"
CRD_API_VERSION = "apiextensions.k8s.io/v1"
_INT_OR_STRING: dict[str, Any] = {"oneOf": [{"type": "string"}, {"type": "integer"}]}


@dataclasses.dataclass
class ImportResult:
    diagnostics: Diagnostics
    written: list[str]  # output paths whose content changed
    schemas: list[LockEntry]  # lock entries of this run


def _is_int_or_string(node: dict) -> bool:
    return node.get("format") == "int-or-string" or node.get("x-kubernetes-int-or-string") is True


def convert(schema: Any, *, strict: bool, root: bool = True) -> Any:
    """One openAPIV3Schema (as plain data) -> the JSON schema kubeconform reads."""
    if isinstance(schema, list):
        return [convert(x, strict=strict, root=False) for x in schema]
    if not isinstance(schema, dict):
        return schema
    if _is_int_or_string(schema):
        out = copy.deepcopy(_INT_OR_STRING)
        if schema.get("nullable") is True:
            out["oneOf"].append({"type": "null"})
        for key in ("description",):
            if key in schema:
                out[key] = schema[key]
        return out
    out = {k: convert(v, strict=strict, root=False) for k, v in schema.items()}
    if schema.get("nullable") is True and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
        if "enum" in out and None not in out["enum"]:
            out["enum"] = list(out["enum"]) + [None]
    if strict and not root and "properties" in schema and "additionalProperties" not in schema \
            and schema.get("x-kubernetes-preserve-unknown-fields") is not True:
        out["additionalProperties"] = False
    return out


def dumps(schema: Any) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _documents(text: str, file: str, diags: Diagnostics) -> list[tuple[Any, _Builder]]:
    loader = _Loader(text)
    docs = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            builder = _Builder(file, loader)
            data = builder.build(node, ())
            diags.extend(builder.problems)
            docs.append((data, builder))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = (exc.problem or exc.context or "invalid YAML").strip()
        diags.error(file, line, col, "yaml.syntax", f"YAML syntax error: {message}")
        return []
    except yaml.YAMLError as exc:
        diags.error(file, 1, 1, "yaml.syntax", f"YAML syntax error: {exc}")
        return []
    finally:
        loader.dispose()
    return docs


def _pos(builder: _Builder, path: Path) -> tuple[int, int]:
    while path not in builder.values and path:
        path = path[:-1]
    return builder.values.get(path, (1, 1))


def _source_label(path: str, repo: str) -> str:
    """The CRD's path relative to the repository, `../` included (e.g. `../shared/crds/x.yaml`): the
    same lock on every machine with the same layout. Absolute only across file-system roots."""
    ap, ar = os.path.abspath(path), os.path.abspath(repo)
    try:
        return os.path.relpath(ap, ar).replace(os.sep, "/")
    except ValueError:  # another drive (Windows)
        return ap.replace(os.sep, "/")


def collect(files: list[str], repo: str = ".") -> tuple[dict[str, str], list[LockEntry], Diagnostics]:
    """Parse and convert: returns ({relative output path: text}, lock entries, diagnostics)."""
    diags = Diagnostics()
    outputs: dict[str, str] = {}
    entries: list[LockEntry] = []
    for file in files:
        try:
            with open(file, encoding="utf-8") as fh:
                text = fh.read()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            diags.error(file, 0, 0, "crd.read", f"cannot read file: {reason}")
            continue
        docs = _documents(text, file, diags)
        if not docs and not diags.has_errors:
            diags.error(file, 1, 1, "crd.not-a-crd", "file holds no CustomResourceDefinition")
        for data, b in docs:
            items: list[tuple[Any, Path]]
            if isinstance(data, dict) and data.get("kind") == "List" and isinstance(data.get("items"), list):
                items = [(item, ("items", i)) for i, item in enumerate(data["items"])]
            else:
                items = [(data, ())]
            for crd, base in items:
                _convert_crd(crd, base, b, file, _source_label(file, repo), diags, outputs, entries)
    return outputs, entries, diags


def _convert_crd(crd: Any, base: Path, b: _Builder, file: str, source: str, diags: Diagnostics,
                 outputs: dict[str, str], entries: list[LockEntry]) -> None:
    if not isinstance(crd, dict) or crd.get("kind") != "CustomResourceDefinition":
        kind = crd.get("kind") if isinstance(crd, dict) else None
        line, col = _pos(b, base + ("kind",))
        diags.error(file, line, col, "crd.not-a-crd",
                    f"expected kind CustomResourceDefinition, found {kind!r}" if kind is not None
                    else "not a CustomResourceDefinition (no kind)")
        return
    if crd.get("apiVersion") != CRD_API_VERSION:
        line, col = _pos(b, base + ("apiVersion",))
        diags.error(file, line, col, "crd.api-version",
                    f"apiVersion {crd.get('apiVersion')!r} is not supported; expected {CRD_API_VERSION}")
        return
    spec = m if isinstance(m := crd.get("spec"), dict) else {}
    group = spec.get("group")
    kind = (spec.get("names") or {}).get("kind") if isinstance(spec.get("names"), dict) else None
    versions = spec.get("versions")
    if not isinstance(group, str) or not group or not isinstance(kind, str) or not kind \
            or not isinstance(versions, list):
        line, col = _pos(b, base + ("spec",))
        diags.error(file, line, col, "crd.invalid",
                    "CustomResourceDefinition needs spec.group, spec.names.kind and spec.versions")
        return
    name = (crd.get("metadata") or {}).get("name", "") if isinstance(crd.get("metadata"), dict) else ""
    for i, version in enumerate(versions):
        if not isinstance(version, dict) or not version.get("served", False):
            continue
        vname = version.get("name")
        schema = (version.get("schema") or {}).get("openAPIV3Schema") \
            if isinstance(version.get("schema"), dict) else None
        if not isinstance(schema, dict):
            line, col = _pos(b, base + ("spec", "versions", i))
            diags.error(file, line, col, "crd.no-schema",
                        f"served version {vname!r} has no schema.openAPIV3Schema")
            continue
        for strict in (False, True):
            rel = f"{group}{STRICT_SUFFIX if strict else ''}/{kind.lower()}_{vname}.json"
            text = dumps(convert(schema, strict=strict))
            if rel in outputs and outputs[rel] != text:
                line, col = _pos(b, base + ("spec", "versions", i))
                diags.error(file, line, col, "crd.conflict",
                            f"{rel} is produced twice with different content")
                continue
            outputs[rel] = text
            entries.append({"path": rel, "source": source, "crd": name, "group": group, "kind": kind,
                            "version": vname, "strict": strict,
                            "sha256": sha256(text.encode("utf-8"))})


def import_crds(files: list[str], output_dir: str, repo: str = ".") -> ImportResult:
    """Convert `files` and write schemas plus the lock; writes nothing when any file has an error."""
    outputs, entries, diags = collect(files, repo)
    if diags.has_errors:
        return ImportResult(diags, [], [])
    written = [os.path.join(output_dir, rel) for rel, text in sorted(outputs.items())
               if write_atomic(os.path.join(output_dir, rel), text.encode("utf-8"))]
    if merge_lock(output_dir, entries):
        written.append(os.path.join(output_dir, LOCK_NAME))
    return ImportResult(diags, written, sorted(entries, key=lambda e: e["path"]))
