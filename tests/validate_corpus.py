"""The document corpus the engine agreement suite validates: real rendered objects and seeded mutations.

`base_documents()` renders every example overlay with the built-in kustomize engine and adds
the Argo CD objects under argocd/; `mutated_documents()` derives broken variants from them
(wrong types, unknown fields, missing required fields, bad enums, invalid quantities, wrong
apiVersion, unknown kind, nulls, lists for objects and objects for lists, ...). Everything is
deterministic: the same repository gives the same documents in the same order.
"""

from __future__ import annotations

import json
import pathlib
import random
from typing import Any, Callable

import yaml

from mlgitops.kustomize.engine import render_objects
from mlgitops.validate.results import Document
from objpath import DELETE, mutated, walk

SEED = 20261123

Path = tuple
Mutation = Callable[[dict, random.Random], "dict | None"]


def base_documents(repo: pathlib.Path) -> list[Document]:
    """Every object rendered from overlays/<env>/<model>, then every object in argocd/."""
    docs: list[Document] = []
    for overlay in sorted(p for p in (repo / "overlays").glob("*/*") if (p / "kustomization.yaml").is_file()):
        rel = overlay.relative_to(repo).as_posix()
        for index, obj in enumerate(render_objects(str(overlay), repo_root=str(repo))):
            docs.append(Document(obj, file=rel, index=index, overlay=rel, env=overlay.parent.name))
    for path in sorted((repo / "argocd").rglob("*.yaml")):
        rel = path.relative_to(repo).as_posix()
        for index, obj in enumerate(o for o in yaml.safe_load_all(path.read_text()) if o is not None):
            docs.append(Document(obj, file=rel, index=index))
    return docs


def _nodes(obj: dict, want: Callable[[Path, Any], bool]) -> list[tuple[Path, Any]]:
    """Nodes below the identity fields (apiVersion, kind) that `want` accepts, in document order."""
    return [(p, v) for p, v in walk(obj) if p and p[0] not in ("apiVersion", "kind") and want(p, v)]


def _pick(rng: random.Random, nodes: list) -> Any:
    return rng.choice(nodes) if nodes else None


def _replace_leaf_type(obj: dict, rng: random.Random) -> dict | None:
    """A scalar becomes a value of another JSON type (string <-> number, bool -> string)."""
    picked = _pick(rng, _nodes(obj, lambda p, v: isinstance(v, (str, int, float)) and p[0] != "metadata"))
    if picked is None:
        return None
    path, value = picked
    if isinstance(value, bool):
        return mutated(obj, path, "yes")
    if isinstance(value, (int, float)):
        return mutated(obj, path, str(value) + "x")
    return mutated(obj, path, {"value": value} if rng.random() < 0.5 else 12345)


def _integral_float(obj: dict, rng: random.Random) -> dict | None:
    """An integer becomes the float with the same value (3 -> 3.0): integer or not, by draft?"""
    picked = _pick(rng, _nodes(obj, lambda p, v: isinstance(v, int) and not isinstance(v, bool)))
    return mutated(obj, picked[0], float(picked[1])) if picked else None


def _fractional_number(obj: dict, rng: random.Random) -> dict | None:
    picked = _pick(rng, _nodes(obj, lambda p, v: isinstance(v, int) and not isinstance(v, bool)))
    return mutated(obj, picked[0], picked[1] + 0.5) if picked else None


def _negative_number(obj: dict, rng: random.Random) -> dict | None:
    picked = _pick(rng, _nodes(obj, lambda p, v: isinstance(v, int) and not isinstance(v, bool)))
    return mutated(obj, picked[0], -1 - picked[1]) if picked else None


def _unknown_top_level(obj: dict, rng: random.Random) -> dict | None:
    return mutated(obj, ("unexpectedTopLevel",), rng.choice(["x", 1, {"a": 1}]))


def _unknown_nested(obj: dict, rng: random.Random) -> dict | None:
    """A new key in a nested object (not in free-form maps such as labels and annotations)."""
    free_form = {"labels", "annotations", "matchLabels", "selector", "nodeSelector", "data", "parameters"}
    picked = _pick(rng, _nodes(obj, lambda p, v: isinstance(v, dict) and len(p) >= 2
                               and not (set(str(x) for x in p) & free_form)))
    return mutated(obj, picked[0] + ("unexpectedField",), True) if picked else None


def _unknown_in_metadata(obj: dict, rng: random.Random) -> dict | None:
    return mutated(obj, ("metadata", "labelz"), {"a": "b"}) if isinstance(obj.get("metadata"), dict) else None


def _drop_spec(obj: dict, rng: random.Random) -> dict | None:
    return mutated(obj, ("spec",), DELETE) if "spec" in obj else None


def _drop_nested_key(obj: dict, rng: random.Random) -> dict | None:
    """Remove one key under spec: required or optional, the schema decides."""
    picked = _pick(rng, _nodes(obj, lambda p, v: len(p) >= 2 and p[0] == "spec" and isinstance(p[-1], str)))
    return mutated(obj, picked[0], DELETE) if picked else None


def _bad_quantity(obj: dict, rng: random.Random) -> dict | None:
    """A resource quantity (cpu, memory, ...) that is not a Kubernetes quantity."""
    quantity_keys = {"cpu", "memory", "ephemeral-storage", "nvidia.com/gpu", "storage"}
    bad = rng.choice(["lots", "1.5 Gi", "2 cores", "-", "1Gb!", "0x10"])
    picked = _pick(rng, _nodes(obj, lambda p, v: isinstance(p[-1], str) and p[-1] in quantity_keys
                               and isinstance(v, (str, int, float))))
    if picked is not None:
        return mutated(obj, picked[0], bad)
    resources = _pick(rng, _nodes(obj, lambda p, v: p[-1] == "resources" and isinstance(v, dict)))
    return mutated(obj, resources[0] + ("limits",), {"cpu": bad}) if resources else None


def _wrong_api_version(obj: dict, rng: random.Random) -> dict | None:
    group, _, version = str(obj.get("apiVersion", "")).rpartition("/")
    return mutated(obj, ("apiVersion",), f"{group}/v9beta9" if group else "v9")


def _wrong_group(obj: dict, rng: random.Random) -> dict | None:
    return mutated(obj, ("apiVersion",), "nonexistent.example.com/" + str(obj.get("apiVersion", "")).split("/")[-1])


def _unknown_kind(obj: dict, rng: random.Random) -> dict | None:
    return mutated(obj, ("kind",), str(obj.get("kind", "")) + "Typo")


def _no_kind(obj: dict, rng: random.Random) -> dict | None:
    return mutated(obj, ("kind",), DELETE)


def _null_value(obj: dict, rng: random.Random) -> dict | None:
    picked = _pick(rng, _nodes(obj, lambda p, v: len(p) >= 2 and v is not None))
    return mutated(obj, picked[0], None) if picked else None


def _list_for_object(obj: dict, rng: random.Random) -> dict | None:
    picked = _pick(rng, _nodes(obj, lambda p, v: isinstance(v, dict) and v))
    return mutated(obj, picked[0], [picked[1]]) if picked else None


def _object_for_list(obj: dict, rng: random.Random) -> dict | None:
    picked = _pick(rng, _nodes(obj, lambda p, v: isinstance(v, list) and v))
    return mutated(obj, picked[0], picked[1][0]) if picked else None


def _name_not_string(obj: dict, rng: random.Random) -> dict | None:
    return mutated(obj, ("metadata", "name"), 42) if isinstance(obj.get("metadata"), dict) else None


def _kind_not_string(obj: dict, rng: random.Random) -> dict | None:
    return mutated(obj, ("kind",), 5)


def _kind_not_scalar(obj: dict, rng: random.Random) -> dict | None:
    return mutated(obj, ("kind",), [obj.get("kind")])


def _no_api_version(obj: dict, rng: random.Random) -> dict | None:
    return mutated(obj, ("apiVersion",), DELETE) if "apiVersion" in obj else None


def _metadata_scalar(obj: dict, rng: random.Random) -> dict | None:
    return mutated(obj, ("metadata",), rng.choice(["name", 7]))


def _name_not_scalar(obj: dict, rng: random.Random) -> dict | None:
    """kubeconform reads metadata.name into a Go string before validating: a list there is an error."""
    meta = obj.get("metadata")
    return mutated(obj, ("metadata", "name"), [meta.get("name")]) if isinstance(meta, dict) else None


def _bad_timestamp(obj: dict, rng: random.Random) -> dict | None:
    """metadata.creationTimestamp is `format: date-time` in the Kubernetes schemas."""
    if not isinstance(obj.get("metadata"), dict):
        return None
    return mutated(obj, ("metadata", "creationTimestamp"), rng.choice(["yesterday", "2024-13-45T99:00:00Z"]))


def _int_or_string(obj: dict, rng: random.Random) -> dict | None:
    """Fields that take an integer or a string (ports, surge, minAvailable) get a bool or a fraction."""
    keys = {"targetPort", "port", "maxSurge", "maxUnavailable", "minAvailable", "averageUtilization", "weight"}
    picked = _pick(rng, _nodes(obj, lambda p, v: isinstance(p[-1], str) and p[-1] in keys))
    return mutated(obj, picked[0], rng.choice([True, 1.25, "25%", "http"])) if picked else None


MUTATIONS: dict[str, Mutation] = {
    "wrong-type": _replace_leaf_type,
    "integral-float": _integral_float,
    "fractional-number": _fractional_number,
    "negative-number": _negative_number,
    "unknown-field-top": _unknown_top_level,
    "unknown-field-nested": _unknown_nested,
    "unknown-field-metadata": _unknown_in_metadata,
    "missing-spec": _drop_spec,
    "missing-nested-field": _drop_nested_key,
    "bad-quantity": _bad_quantity,
    "wrong-api-version": _wrong_api_version,
    "wrong-group": _wrong_group,
    "unknown-kind": _unknown_kind,
    "no-kind": _no_kind,
    "null-value": _null_value,
    "list-for-object": _list_for_object,
    "object-for-list": _object_for_list,
    "name-not-string": _name_not_string,
    "name-not-scalar": _name_not_scalar,
    "kind-not-string": _kind_not_string,
    "kind-not-scalar": _kind_not_scalar,
    "no-api-version": _no_api_version,
    "metadata-scalar": _metadata_scalar,
    "bad-timestamp": _bad_timestamp,
    "int-or-string": _int_or_string,
}

IDENTITY = frozenset({"wrong-api-version", "wrong-group", "unknown-kind", "no-kind", "name-not-string",
                      "name-not-scalar", "kind-not-string", "kind-not-scalar", "no-api-version",
                      "metadata-scalar", "unknown-field-metadata", "bad-timestamp"})


# --- schema-guided mutations: break a constraint the object's own schema puts on a field it has ---

SchemaFor = Callable[[str, str], "dict | None"]
_KEYWORDS = ("enum", "minimum", "maximum", "pattern", "format")


def _deref(node: Any, root: dict) -> Any:
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/"):
        target: Any = root
        for part in node["$ref"][2:].split("/"):
            target = target.get(part.replace("~1", "/").replace("~0", "~")) if isinstance(target, dict) else None
        node = target
    return node


def constraint_sites(obj: Any, schema: dict) -> list[tuple[str, Path]]:
    """(keyword, path) for each value in `obj` (below apiVersion and kind) that its schema constrains
    with enum, minimum, maximum, pattern or format, and ("required", path) for each required key
    `obj` has; in document order."""
    sites: list[tuple[str, Path]] = []

    def visit(node: Any, sch: Any, path: Path, depth: int) -> None:
        sch = _deref(sch, schema)
        if not isinstance(sch, dict) or depth > 60:
            return
        for branch in (b for key in ("allOf", "anyOf", "oneOf") for b in sch.get(key) or []):
            visit(node, branch, path, depth + 1)
        scalar = isinstance(node, (str, int, float)) and not isinstance(node, bool)
        for keyword in _KEYWORDS:
            if keyword in sch and scalar and path[:1] not in ((), ("apiVersion",), ("kind",)) \
                    and (keyword != "pattern" or isinstance(node, str)):
                sites.append((keyword, path))
        if isinstance(node, dict):
            sites.extend(("required", path + (key,)) for key in sch.get("required") or [] if key in node)
            extra = sch.get("additionalProperties")
            for key, value in node.items():
                visit(value, (sch.get("properties") or {}).get(key, extra), path + (key,), depth + 1)
        elif isinstance(node, list) and isinstance(sch.get("items"), dict):
            for index, value in enumerate(node):
                visit(value, sch["items"], path + (index,), depth + 1)

    visit(obj, schema, (), 0)
    return list(dict.fromkeys(sites))


def _get(obj: Any, path: Path) -> Any:
    for part in path:
        obj = obj[part]
    return obj


def _guided(keyword: str, change: Callable[[Any, random.Random], Any]) -> Callable:
    def mutate(obj: dict, rng: random.Random, schema: dict) -> dict | None:
        paths = [p for k, p in constraint_sites(obj, schema) if k == keyword]
        if not paths:
            return None
        path = rng.choice(paths)
        if keyword == "required":
            return mutated(obj, path, DELETE)
        return mutated(obj, path, change(_get(obj, path), rng))
    return mutate


GUIDED: dict[str, Callable] = {
    "bad-enum": _guided("enum", lambda v, rng: "NotAnEnumValue" if isinstance(v, str) else 987654),
    "below-minimum": _guided("minimum", lambda v, rng: -1000000),
    "above-maximum": _guided("maximum", lambda v, rng: 1000000000),
    "pattern-mismatch": _guided("pattern", lambda v, rng: rng.choice(["!! not matching !!", "", "UPPER case/x"])),
    "bad-format": _guided("format", lambda v, rng: rng.choice(["not a valid value", "2024-13-45T99:00:00Z", "-"])
                          if isinstance(v, str) else 2 ** 40),  # int32 fields: out of range
    "missing-required": _guided("required", lambda v, rng: None),
}


def mutated_documents(base: list[Document], schema_for: SchemaFor | None = None, *,
                      seed: int = SEED) -> list[Document]:
    """Every mutation applied to every base document it fits, each with its own seeded RNG.

    `schema_for(apiVersion, kind)` (the schema both engines will use) enables the schema-guided
    mutations, which only choose *where* to break a document; the verdict is still the engines'.
    Mutations of the identity fields (IDENTITY) depend on the kind, not on the object, so they
    are applied to the first object of each apiVersion/kind only.
    A mutation's name is appended to the document's `file` (`overlays/prod/iris#3~bad-enum`)
    so a disagreement names the base object and what was done to it.
    """
    out: list[Document] = []
    seen_kinds: set[tuple[str, str]] = set()
    for number, doc in enumerate(base):
        schema = schema_for(doc.api_version, doc.kind) if schema_for else None
        first_of_kind = (doc.api_version, doc.kind) not in seen_kinds
        seen_kinds.add((doc.api_version, doc.kind))
        plans = [(name, lambda obj, rng, m=m: m(obj, rng)) for name, m in MUTATIONS.items()
                 if first_of_kind or name not in IDENTITY]
        if isinstance(schema, dict):
            plans += [(name, lambda obj, rng, m=m: m(obj, rng, schema)) for name, m in GUIDED.items()]
        for name, mutate in plans:
            rng = random.Random(f"{seed}:{number}:{name}")
            obj = mutate(doc.obj, rng)
            if obj is None or json.dumps(obj, sort_keys=True) == json.dumps(doc.obj, sort_keys=True):
                continue
            out.append(Document(obj, file=f"{doc.file}#{doc.index}~{name}", index=doc.index,
                                overlay=doc.overlay, env=doc.env))
    return out


def corpus(repo: pathlib.Path, schema_for: SchemaFor | None = None) -> list[Document]:
    """Base documents followed by their mutations."""
    base = base_documents(repo)
    return base + mutated_documents(base, schema_for)
