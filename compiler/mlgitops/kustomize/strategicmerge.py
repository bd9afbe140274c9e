"""Strategic-merge patches with kustomize v5's semantics (kyaml `merge2`, as `patches:` applies them).

kustomize does not use the Kubernetes strategic-merge library: it walks the target and the patch
together with kyaml's `walk.Walker` and the `merge2.Merger` visitor, in "prepend" mode (the
PatchTransformer's `MergeOptions{ListIncreaseDirection: Prepend}`). This module is a faithful port
of that walker (kyaml v0.21.1, the version in kustomize v5.8.1), including its quirks, over plain
Python data:

- maps merge recursively, fields the patch leaves out are kept, `key: null` in the patch deletes;
- a list merges element by element only when kustomize's built-in OpenAPI data (Kubernetes 1.21.2,
  see MERGE_KEYS) gives it patch strategy `merge` at that path of that exact apiVersion and kind;
  every other list is replaced by the patch's list (custom resources, `tolerations`, `args`, ...,
  and also kinds whose apiVersion the 1.21 data does not have, e.g. `autoscaling/v2`);
- merged lists put the patch's elements first, in patch order, followed by the target's other
  elements (prepend mode); primitive merge lists (`finalizers`) likewise;
- directives: `$patch: delete` (on the object, a map or a list element), `$patch: replace` (on a
  map, or as a `- $patch: replace` element of a merged list), `$patch: merge`; an unknown value
  is an error. kyaml knows no other directive: `$setElementOrder/...`, `$retainKeys`,
  `$deleteFromPrimitiveList/...` stay in the output as ordinary fields, as with kustomize, and
  directives inside lists that are replaced (not merged) are copied verbatim.

Values are compared the way kyaml compares YAML nodes: by their source text (`80` and `"80"` are
the same merge key). Values produced by the project's YAML reader that carry their source text
(`raw`) are compared by it; the Python objects of the inputs are kept in the result.

Entry point: `merge(target, patch)` reads the schema from the target's apiVersion and kind. It
is `merge2.Merge` only: restoring the target's name, kind and namespace afterwards (unless the
patch entry's `options` allow a name or kind change) is `Resource.ApplySmPatch`'s job, done by the
engine; `apply_patch` does both for callers that want kustomize's whole step.
"""

from __future__ import annotations

import contextvars
import json
import re
from typing import Any

from .memo import copy_data

__all__ = ["MERGE_KEYS", "OpenAPISchema", "merge", "apply_patch", "list_merge_keys", "check_patch_count"]

# --- merge keys from kustomize's built-in OpenAPI data --------------------------------------------
#
# Generated from sigs.k8s.io/kustomize/kyaml@v0.21.1/openapi (kubernetesapi/v1_21_2, the default
# schema of kustomize v5.8.1): for every resource type with a group-version-kind, every path the
# walker reaches through object properties and the elements of merged lists where the schema has
# `x-kubernetes-patch-strategy` containing `merge`. The value is the list of merge keys kyaml uses:
# `x-kubernetes-list-map-keys` when present, else `x-kubernetes-patch-merge-key`; an empty tuple is
# a primitive merge list (finalizers). Paths are dotted, `[]` marks the elements of a list.
# Lists the schema does not mark `merge` (tolerations, args, command, volumeClaimTemplates,
# Endpoints subsets, ...) are not here: kustomize replaces them.

_OBJECT_META = {"finalizers": (), "ownerReferences": ("uid",)}
_POD_SPEC = {
    "containers": ("name",),
    "containers[].env": ("name",),
    "containers[].ports": ("containerPort", "protocol"),
    "containers[].volumeDevices": ("devicePath",),
    "containers[].volumeMounts": ("mountPath",),
    "ephemeralContainers": ("name",),
    "ephemeralContainers[].env": ("name",),
    "ephemeralContainers[].volumeDevices": ("devicePath",),
    "ephemeralContainers[].volumeMounts": ("mountPath",),
    "hostAliases": ("ip",),
    "imagePullSecrets": ("name",),
    "initContainers": ("name",),
    "initContainers[].env": ("name",),
    "initContainers[].ports": ("containerPort", "protocol"),
    "initContainers[].volumeDevices": ("devicePath",),
    "initContainers[].volumeMounts": ("mountPath",),
    "topologySpreadConstraints": ("topologyKey", "whenUnsatisfiable"),
    "volumes": ("name",),
    "volumes[].ephemeral.volumeClaimTemplate.metadata.finalizers": (),
    "volumes[].ephemeral.volumeClaimTemplate.metadata.ownerReferences": ("uid",),
}
_POD = "spec.template.spec"
_POD_META = "spec.template.metadata"
_CONDITIONS = {"status.conditions": ("type",)}

# (group, version, kind), [(prefix, fragment)], extra paths. `metadata` gets _OBJECT_META always.
_SCHEMA_KINDS: list[tuple[tuple[str, str, str], list[tuple[str, dict]], dict]] = [
    (("admissionregistration.k8s.io", "v1", "MutatingWebhookConfiguration"), [], {"webhooks": ("name",)}),
    (("admissionregistration.k8s.io", "v1", "ValidatingWebhookConfiguration"), [], {"webhooks": ("name",)}),
    (("admissionregistration.k8s.io", "v1beta1", "MutatingWebhookConfiguration"), [], {"webhooks": ("name",)}),
    (("admissionregistration.k8s.io", "v1beta1", "ValidatingWebhookConfiguration"), [], {"webhooks": ("name",)}),
    (("apiregistration.k8s.io", "v1", "APIService"), [], _CONDITIONS),
    (("apiregistration.k8s.io", "v1beta1", "APIService"), [], _CONDITIONS),
    (("apps", "v1", "ControllerRevision"), [], {}),
    (("apps", "v1", "DaemonSet"), [(_POD, _POD_SPEC), (_POD_META, _OBJECT_META)], _CONDITIONS),
    (("apps", "v1", "Deployment"), [(_POD, _POD_SPEC), (_POD_META, _OBJECT_META)], _CONDITIONS),
    (("apps", "v1", "ReplicaSet"), [(_POD, _POD_SPEC), (_POD_META, _OBJECT_META)], _CONDITIONS),
    (("apps", "v1", "StatefulSet"), [(_POD, _POD_SPEC), (_POD_META, _OBJECT_META)], _CONDITIONS),
    (("autoscaling", "v1", "HorizontalPodAutoscaler"), [], {}),
    (("autoscaling", "v2beta1", "HorizontalPodAutoscaler"), [], {}),
    (("autoscaling", "v2beta2", "HorizontalPodAutoscaler"), [], {}),
    (("batch", "v1", "CronJob"), [("spec.jobTemplate.spec.template.spec", _POD_SPEC),
                                  ("spec.jobTemplate.metadata", _OBJECT_META),
                                  ("spec.jobTemplate.spec.template.metadata", _OBJECT_META)], {}),
    (("batch", "v1", "Job"), [(_POD, _POD_SPEC), (_POD_META, _OBJECT_META)], _CONDITIONS),
    (("batch", "v1beta1", "CronJob"), [("spec.jobTemplate.spec.template.spec", _POD_SPEC),
                                       ("spec.jobTemplate.metadata", _OBJECT_META),
                                       ("spec.jobTemplate.spec.template.metadata", _OBJECT_META)], {}),
    (("certificates.k8s.io", "v1", "CertificateSigningRequest"), [], {}),
    (("certificates.k8s.io", "v1beta1", "CertificateSigningRequest"), [], {}),
    (("coordination.k8s.io", "v1", "Lease"), [], {}),
    (("coordination.k8s.io", "v1beta1", "Lease"), [], {}),
    (("discovery.k8s.io", "v1", "EndpointSlice"), [], {}),
    (("discovery.k8s.io", "v1beta1", "EndpointSlice"), [], {}),
    (("events.k8s.io", "v1", "Event"), [], {}),
    (("events.k8s.io", "v1beta1", "Event"), [], {}),
    (("extensions", "v1beta1", "Ingress"), [], {}),
    (("flowcontrol.apiserver.k8s.io", "v1beta1", "FlowSchema"), [], {}),
    (("flowcontrol.apiserver.k8s.io", "v1beta1", "PriorityLevelConfiguration"), [], {}),
    (("networking.k8s.io", "v1", "Ingress"), [], {}),
    (("networking.k8s.io", "v1", "IngressClass"), [], {}),
    (("networking.k8s.io", "v1", "NetworkPolicy"), [], {}),
    (("networking.k8s.io", "v1beta1", "Ingress"), [], {}),
    (("networking.k8s.io", "v1beta1", "IngressClass"), [], {}),
    (("node.k8s.io", "v1", "RuntimeClass"), [], {}),
    (("node.k8s.io", "v1beta1", "RuntimeClass"), [], {}),
    (("policy", "v1", "PodDisruptionBudget"), [], _CONDITIONS),
    (("policy", "v1beta1", "PodDisruptionBudget"), [], _CONDITIONS),
    (("policy", "v1beta1", "PodSecurityPolicy"), [], {}),
    (("rbac.authorization.k8s.io", "v1", "ClusterRole"), [], {}),
    (("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding"), [], {}),
    (("rbac.authorization.k8s.io", "v1", "Role"), [], {}),
    (("rbac.authorization.k8s.io", "v1", "RoleBinding"), [], {}),
    (("rbac.authorization.k8s.io", "v1beta1", "ClusterRole"), [], {}),
    (("rbac.authorization.k8s.io", "v1beta1", "ClusterRoleBinding"), [], {}),
    (("rbac.authorization.k8s.io", "v1beta1", "Role"), [], {}),
    (("rbac.authorization.k8s.io", "v1beta1", "RoleBinding"), [], {}),
    (("scheduling.k8s.io", "v1", "PriorityClass"), [], {}),
    (("scheduling.k8s.io", "v1beta1", "PriorityClass"), [], {}),
    (("storage.k8s.io", "v1", "CSIDriver"), [], {}),
    (("storage.k8s.io", "v1", "CSINode"), [], {"spec.drivers": ("name",)}),
    (("storage.k8s.io", "v1", "StorageClass"), [], {}),
    (("storage.k8s.io", "v1", "VolumeAttachment"), [], {}),
    (("storage.k8s.io", "v1beta1", "CSIDriver"), [], {}),
    (("storage.k8s.io", "v1beta1", "CSINode"), [], {"spec.drivers": ("name",)}),
    (("storage.k8s.io", "v1beta1", "CSIStorageCapacity"), [], {}),
    (("storage.k8s.io", "v1beta1", "StorageClass"), [], {}),
    (("storage.k8s.io", "v1beta1", "VolumeAttachment"), [], {}),
    (("", "v1", "ComponentStatus"), [], {"conditions": ("type",)}),
    (("", "v1", "ConfigMap"), [], {}),
    (("", "v1", "Endpoints"), [], {}),
    (("", "v1", "Event"), [], {}),
    (("", "v1", "LimitRange"), [], {}),
    (("", "v1", "Namespace"), [], _CONDITIONS),
    (("", "v1", "Node"), [], {"spec.podCIDRs": (), "status.addresses": ("type",), "status.conditions": ("type",)}),
    (("", "v1", "PersistentVolume"), [], {}),
    (("", "v1", "PersistentVolumeClaim"), [], _CONDITIONS),
    (("", "v1", "Pod"), [("spec", _POD_SPEC)], {"status.conditions": ("type",), "status.podIPs": ("ip",)}),
    (("", "v1", "PodTemplate"), [("template.spec", _POD_SPEC), ("template.metadata", _OBJECT_META)], {}),
    (("", "v1", "ReplicationController"), [(_POD, _POD_SPEC), (_POD_META, _OBJECT_META)], _CONDITIONS),
    (("", "v1", "ResourceQuota"), [], {}),
    (("", "v1", "Secret"), [], {}),
    (("", "v1", "Service"), [], {"spec.ports": ("port", "protocol"), "status.conditions": ("type",)}),
    (("", "v1", "ServiceAccount"), [], {"secrets": ("name",)}),
]


def _build_table() -> dict[tuple[str, str, str], dict[str, tuple[str, ...]]]:
    table = {}
    for gvk, fragments, extra in _SCHEMA_KINDS:
        paths = {f"metadata.{p}": keys for p, keys in _OBJECT_META.items()}
        for prefix, fragment in fragments:
            paths.update({f"{prefix}.{p}": keys for p, keys in fragment.items()})
        paths.update(extra)
        table[gvk] = paths
    return table


# (group, version, kind) -> {list path: merge keys}. Keyed by the exact version because kustomize
# looks the schema up by exact apiVersion and kind (autoscaling/v2 HPAs have no schema in its data).
MERGE_KEYS: dict[tuple[str, str, str], dict[str, tuple[str, ...]]] = _build_table()


def list_merge_keys(api_version: str, kind: str, path: str) -> tuple[str, ...] | None:
    """The merge keys of the list at `path` (e.g. `spec.template.spec.containers[].ports`) of
    the given type, or None when kustomize replaces that list."""
    group, _, version = api_version.rpartition("/")
    return MERGE_KEYS.get((group, version, kind), {}).get(path)


# --- a YAML node model (the parts of yaml.v3's Node kyaml's merge relies on) ----------------------

_MAP, _SEQ, _SCALAR = 1, 2, 3
_NULL_TAG = "!!null"


class _Node:
    __slots__ = ("kind", "tag", "value", "content", "py", "keep")

    def __init__(self, kind: int, tag: str = "", value: str = "", content: list | None = None,
                 py: Any = None) -> None:
        self.kind = kind
        self.tag = tag
        self.value = value
        self.content = content if content is not None else []
        self.py = py  # the Python scalar this node was made from (None for new plain scalars)
        self.keep = False  # RNode.ShouldKeep (a null kept on purpose)

    def set_ynode(self, other: "_Node") -> None:
        """RNode.SetYNode: `*rn.value = *node` (the node keeps its identity, takes the content)."""
        if other is self:
            return
        self.kind, self.tag, self.value = other.kind, other.tag, other.value
        self.content = list(other.content)
        self.py = other.py


def _scalar_text(value: Any) -> str:
    raw = getattr(value, "raw", None)
    if isinstance(raw, str):
        return raw
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return float.__repr__(value)
    return str(value)


def _scalar_tag(value: Any) -> str:
    if value is None:
        return _NULL_TAG
    if isinstance(value, bool):
        return "!!bool"
    if isinstance(value, int):
        return "!!int"
    if isinstance(value, float):
        return "!!float"
    return "!!str"


class _Lazy(_Node):
    """A map or sequence node made from a Python dict or list whose child nodes are only built when
    something reads its `content`. The walker leaves most of a target alone (what the patch does
    not name, a list kustomize replaces), and such a part comes back out of `_from_node` as a copy
    of the Python data, which is what building and unbuilding its nodes would give."""

    __slots__ = ("_items", "_source")

    def __init__(self, kind: int, tag: str, source: Any) -> None:  # noqa: super().__init__ would build `content`
        self.kind, self.tag, self.value, self.py, self.keep = kind, tag, "", None, False
        self._items: list | None = None
        self._source = source

    @property
    def content(self) -> list:
        items = self._items
        if items is None:
            if self.kind == _SEQ:
                items = [_to_node(v) for v in self._source]
            else:
                items = []
                for k, v in self._source.items():
                    items.append(_Node(_SCALAR, _scalar_tag(k), _scalar_text(k), py=k))
                    items.append(_to_node(v))
            self._items = items
        return items

    @content.setter
    def content(self, items: list) -> None:
        self._items = items

    def untouched(self) -> Any:
        """The Python dict or list, when no child node was ever built (else None)."""
        return self._source if self._items is None else None


def _to_node(value: Any) -> _Node:
    if isinstance(value, dict):
        return _Lazy(_MAP, "!!map", value)
    if isinstance(value, list):
        return _Lazy(_SEQ, "!!seq", value)
    return _Node(_SCALAR, _scalar_tag(value), _scalar_text(value), py=value)


def _unchanged(node: _Node, schema: _Schema | _SwaggerSchema | None) -> bool:
    """Whether walking `node` without a patch counterpart (the walker's `[node, None]`) leaves its
    data as it is, so the walk can be skipped: a scalar or null always; a map or list not yet
    built as nodes when it holds no list the schema merges (merge2 rebuilds those, dropping empty
    elements and joining duplicates; every other value the walker returns as it found it)."""
    if node.kind == _SCALAR:
        return True
    source = node.untouched() if type(node) is _Lazy else None
    return source is not None and _unchanged_data(source, schema)


def _unchanged_data(value: Any, schema: _Schema | _SwaggerSchema | None) -> bool:
    if isinstance(value, list):
        return schema is None or schema.merge_keys() is None
    if schema is None and "apiVersion" in value and "kind" in value:  # walk() looks for a schema here
        schema = _schema_for_data(value)
    for key, item in value.items():
        if isinstance(item, (dict, list)):
            child = None if schema is None else schema.field(key if type(key) is str else _scalar_text(key))
            if not _unchanged_data(item, child):
                return False
    return True


_PLAIN_INT = re.compile(r"[-+]?[0-9]+")
_PLAIN_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")


def _resolve_plain(text: str) -> Any:
    """The value of a new plain (untagged) scalar as kustomize's YAML 1.2 output reads back."""
    if text in ("", "~", "null", "Null", "NULL"):
        return None
    if text in ("true", "True", "TRUE"):
        return True
    if text in ("false", "False", "FALSE"):
        return False
    if _PLAIN_INT.fullmatch(text):
        return int(text)
    if _PLAIN_FLOAT.fullmatch(text):
        return float(text)
    return text


def _from_node(node: _Node) -> Any:
    if node.kind == _MAP:
        if type(node) is _Lazy:
            source = node.untouched()
            if source is not None:
                return copy_data(source)
        out = {}
        content = node.content
        for i in range(0, len(content) - 1, 2):
            out[_from_node(content[i])] = _from_node(content[i + 1])
        return out
    if node.kind == _SEQ:
        if type(node) is _Lazy:
            source = node.untouched()
            if source is not None:
                return copy_data(source)
        return [_from_node(n) for n in node.content]
    if node.tag == _NULL_TAG:
        return None
    if node.py is not None or node.tag:
        return node.py
    return _resolve_plain(node.value)


def _missing_or_null(node: _Node | None) -> bool:
    return node is None or node.tag == _NULL_TAG


def _tagged_null(node: _Node | None) -> bool:
    return node is not None and node.tag == _NULL_TAG


def _empty_map(node: _Node | None) -> bool:
    return node is None or node.tag == _NULL_TAG or (node.kind == _MAP and not node.content)


def _nil_or_empty(node: _Node | None) -> bool:
    """IsNilOrEmpty: null, an empty map or an empty list."""
    return (node is None or node.tag == _NULL_TAG or (node.kind in (_MAP, _SEQ) and not node.content))


def _get_value(node: _Node | None) -> str:
    return "" if node is None or node.tag == _NULL_TAG else node.value


_KIND_NAMES = {_MAP: "MappingNode", _SEQ: "SequenceNode", _SCALAR: "ScalarNode"}


def _short(node: _Node) -> str:
    text = json.dumps(_from_node(node), default=str, separators=(",", ":"))
    return text if len(text) <= 80 else text[:77] + "..."


def _check_kind(node: _Node | None, kind: int) -> None:
    """ErrorIfInvalid."""
    if node is None or node.tag == _NULL_TAG:
        return
    if node.kind != kind:
        raise ValueError(f"wrong node kind: expected {_KIND_NAMES[kind]} but got "
                         f"{_KIND_NAMES[node.kind]}: node contents: {_short(node)}")


def _field(node: _Node | None, name: str) -> tuple[_Node, _Node] | None:
    """RNode.Field: the first key/value pair named `name` of a map."""
    if node is None or node.kind != _MAP:
        return None
    content = node.content
    for i in range(0, len(content) - 1, 2):
        if content[i].value == name:
            return content[i], content[i + 1]
    return None


def _field_value(node: _Node | None, name: str) -> _Node | None:
    pair = _field(node, name)
    return pair[1] if pair else None


def _field_names(node: _Node) -> list[str]:
    content = node.content
    return [content[i].value for i in range(0, len(content) - 1, 2)]


def _clear(node: _Node, name: str) -> None:
    """FieldClearer: remove the first field named `name`."""
    content = node.content
    for i in range(0, len(content) - 1, 2):
        if content[i].value == name:
            del content[i:i + 2]
            return


def _field_matcher(rn: _Node | None, name: str, value: _Node | None = None, string_value: str = "") -> _Node | None:
    """FieldMatcher.Filter."""
    if string_value != "" and value is None:
        value = _Node(_SCALAR, value=string_value)
    if _missing_or_null(rn):
        return None
    if name == "":
        _check_kind(rn, _SCALAR)
        return rn if _get_value(rn) == _get_value(value) else None
    _check_kind(rn, _MAP)
    pair = _field(rn, name)
    if pair is None:
        return None
    if value is None or pair[1].value == value.value:
        return pair[1]
    return None


def _set_field(rn: _Node, name: str, value: _Node | None, key: _Node | None = None) -> None:
    """FieldSetter.Filter (comments aside). A new field's key keeps the style, hence the type, of
    the source's key (`key`)."""
    if name == "":
        # Only reached for a primitive list element whose value equals `value`'s text; kyaml
        # keeps the node's style, so the element reads back as the same value: nothing to do.
        _check_kind(rn, _SCALAR)
        return
    if value is None or (_tagged_null(value) and not value.keep):
        _check_kind(rn, _MAP)
        _clear(rn, name)
        return
    existing = _field_matcher(rn, name)
    if existing is not None:
        existing.set_ynode(value)
        return
    rn.content.append(_Node(_SCALAR, key.tag, name, py=key.py) if key is not None
                      else _Node(_SCALAR, "!!str", name, py=name))
    rn.content.append(value)


def _element_setter(rn: _Node, element: _Node | None, keys: list[str], values: list[str]) -> _Node | None:
    """ElementSetter.Filter: replace, delete or append an element of a list."""
    if not keys:
        keys = [""]
    _check_kind(rn, _SEQ)
    mapping_setter = bool(keys) and keys[0] != "" and bool(values) and values[0] != ""
    new_content = []
    found_any = False
    for elem in rn.content:
        if _missing_or_null(elem) or _empty_map(elem):
            continue  # empty elements are dropped
        if elem.kind != _MAP and mapping_setter:
            new_content.append(elem)
            continue
        val = None
        found = True
        for j, key in enumerate(keys):
            if j < len(values):
                val = _field_matcher(elem, key, string_value=values[j])
            if val is None:
                found = False
                break
        if not found:
            if values:
                new_content.append(elem)
            continue
        found_any = True
        if element is None:
            continue
        new_content.append(element)
    rn.content = new_content
    if _missing_or_null(element):
        return None
    if not found_any:
        rn.content.append(element)
    return element


def _element_list(rn: _Node | None, keys: list[str], values: list[str]) -> _Node | None:
    """RNode.ElementList (ElementMatcher without MatchAnyValue); None on any error."""
    if rn is None or rn.kind != _SEQ:
        return None
    keys = keys or [""]
    values = values or [""]
    if not keys[0]:
        for elem in rn.content:
            if elem.value == values[0]:
                return elem
        return None
    for elem in rn.content:
        if _missing_or_null(elem) or elem.kind != _MAP:
            continue
        if len(keys) != len(values):
            return None
        try:
            if all(_field_matcher(elem, k, value=_Node(_SCALAR, value=v)) is not None for k, v in zip(keys, values)):
                return elem
        except ValueError:
            return None
    return None


def _element_values_list(rn: _Node, keys: list[str]) -> list[list[str]]:
    """RNode.ElementValuesList."""
    _check_kind(rn, _SEQ)
    out = []
    for elem in rn.content:
        row = []
        for key in keys:
            value = _field_value(elem, key)
            row.append("" if value is None or _nil_or_empty(value) else value.value)
        out.append(row)
    return out


# --- $patch directives (merge2/smpdirective.go) ---------------------------------------------------

_UNKNOWN, _REPLACE, _DELETE, _MERGE = "unknown", "replace", "delete", "merge"
_DIRECTIVE = "$patch"


def _determine_directive(patch: _Node | None) -> str:
    if patch is None:
        return _MERGE
    if patch.kind == _SEQ:
        return _sequence_directive(patch)
    if patch.kind == _MAP:
        node = _field_value(patch, _DIRECTIVE)
        if node is None:
            return _MERGE
        if node.value in (_DELETE, _REPLACE, _MERGE):
            _clear(patch, _DIRECTIVE)
            return node.value
        raise ValueError(f"unknown patch strategy '{node.value}'")
    raise ValueError(f"no implemented strategic merge patch strategy for '{patch.tag}' ('{_short(patch)}')")


def _sequence_directive(patch: _Node) -> str:
    node = None
    for elem in patch.content:
        if elem.kind == _MAP and not _missing_or_null(elem) and _field(elem, _DIRECTIVE) is not None:
            node = elem
            break
    # more than one field: the directive is about that element, not the list
    if node is None or len(node.content) > 2:
        return _MERGE
    value = _field_value(node, _DIRECTIVE)
    if value is None:
        return _MERGE
    v = value.value
    if v in (_DELETE, _REPLACE, _MERGE):
        _element_setter(patch, None, [_DIRECTIVE], [v])
        return v
    raise ValueError(f"unknown patch strategy '{v}'")


# --- the schema position --------------------------------------------------------------------------


class _Schema:
    """Where the walker is in a known resource type: that type's list table and the path."""

    __slots__ = ("table", "path")

    def __init__(self, table: dict[str, tuple[str, ...]], path: str) -> None:
        self.table, self.path = table, path

    def field(self, name: str) -> "_Schema":
        return _Schema(self.table, f"{self.path}.{name}" if self.path else name)

    def elements(self) -> "_Schema":
        return _Schema(self.table, self.path + "[]")

    def merge_keys(self) -> tuple[str, ...] | None:
        return self.table.get(self.path)


class OpenAPISchema:
    """A custom schema from a kustomization's `openapi: {path: ...}` (swagger 2.0 `definitions`).

    Definitions with `x-kubernetes-group-version-kind` are the schemas of those resource types
    (kyaml AddDefinitions); `$ref: "#/definitions/NAME"` is resolved among this file's
    definitions. `builtin` says whether kustomize's built-in Kubernetes schema (MERGE_KEYS) is
    still consulted for types the file does not define: kyaml replaces it with the custom schema
    unless the built-in one had already been parsed (a strategic merge ran) when the custom schema
    was set; a type the file defines always takes the file's schema.
    """

    def __init__(self, document: Any, *, builtin: bool = False) -> None:
        defs = document.get("definitions") if isinstance(document, dict) else None
        self.definitions: dict = defs if isinstance(defs, dict) else {}
        self.builtin = builtin
        self.by_type: dict[tuple[str, str, str], dict] = {}
        for d in self.definitions.values():
            exts = d.get("x-kubernetes-group-version-kind") if isinstance(d, dict) else None
            if not isinstance(exts, list):
                continue
            for e in exts:
                if not isinstance(e, dict) or not isinstance(e.get("kind"), str):
                    continue
                group = v if isinstance(v := e.get("group"), str) else ""
                version = v if isinstance(v := e.get("version"), str) else ""
                self.by_type[(group, version, e["kind"])] = d

    def resolve(self, s: Any) -> dict | None:
        """Follow `$ref`s (openapi.Resolve); None when one cannot be resolved."""
        seen = 0
        while isinstance(s, dict) and s.get("$ref"):
            ref = s["$ref"]
            if not isinstance(ref, str) or not ref.startswith("#/definitions/") or seen > 100:
                return None
            s = self.definitions.get(ref[len("#/definitions/"):].replace("~1", "/").replace("~0", "~"))
            seen += 1
        return s if isinstance(s, dict) else None


class _SwaggerSchema:
    """Where the walker is in a custom schema (kyaml ResourceSchema over spec.Schema)."""

    __slots__ = ("doc", "schema")

    def __init__(self, doc: OpenAPISchema, schema: dict) -> None:
        self.doc, self.schema = doc, schema

    def field(self, name: str) -> "_SwaggerSchema | None":
        props = self.schema.get("properties")
        if isinstance(props, dict) and name in props:
            s = props[name]
        elif isinstance(self.schema.get("additionalProperties"), dict):
            s = self.schema["additionalProperties"]
        else:
            return None
        s = self.doc.resolve(s)
        return _SwaggerSchema(self.doc, s) if s is not None else None

    def elements(self) -> "_SwaggerSchema | None":
        t = self.schema.get("type")
        if t != "array" and t != ["array"]:
            return None
        s = self.doc.resolve(self.schema.get("items"))
        return _SwaggerSchema(self.doc, s) if s is not None else None

    def merge_keys(self) -> tuple[str, ...] | None:
        strategy = self.schema.get("x-kubernetes-patch-strategy")
        if not isinstance(strategy, str) or "merge" not in strategy.split(","):
            return None
        keys = self.schema.get("x-kubernetes-list-map-keys")
        if isinstance(keys, list):
            return tuple(str(k) for k in keys)
        key = self.schema.get("x-kubernetes-patch-merge-key")
        return (str(key),) if isinstance(key, str) else ()


_OPENAPI: contextvars.ContextVar = contextvars.ContextVar("openapi", default=None)


def _schema_for(node: _Node | None) -> _Schema | _SwaggerSchema | None:
    """openapi.SchemaForResourceType from a source's apiVersion and kind (GetMeta)."""
    if node is None or node.tag == _NULL_TAG or node.kind != _MAP:
        return None
    api_version = _field_value(node, "apiVersion")
    kind = _field_value(node, "kind")
    if api_version is None or kind is None or _nil_or_empty(api_version) or _nil_or_empty(kind) \
            or api_version.kind != _SCALAR or kind.kind != _SCALAR:
        return None
    return _schema_of_type(api_version.value, kind.value)


def _schema_for_data(value: dict) -> _Schema | _SwaggerSchema | None:
    """_schema_for(_to_node(value)) without building nodes."""
    api_version, kind = value.get("apiVersion"), value.get("kind")
    if api_version is None or kind is None or isinstance(api_version, (dict, list)) or isinstance(kind, (dict, list)):
        return None  # null, or not a scalar (an empty map or list is "nil or empty" too)
    return _schema_of_type(_scalar_text(api_version), _scalar_text(kind))


def _schema_of_type(api_version: str, kind: str) -> _Schema | _SwaggerSchema | None:
    group, _, version = api_version.rpartition("/")
    custom = _OPENAPI.get()
    if custom is not None:
        definition = custom.by_type.get((group, version, kind))
        if definition is not None:
            return _SwaggerSchema(custom, definition)
        if not custom.builtin:
            return None
    table = MERGE_KEYS.get((group, version, kind))
    return _Schema(table, "") if table is not None else None


# --- the walker (kyaml/yaml/walk) with the merge2.Merger visitor, prepend mode --------------------


class _Walker:
    __slots__ = ("sources", "schema")

    def __init__(self, sources: list, schema: _Schema | _SwaggerSchema | None) -> None:
        self.sources = sources  # [dest, origin]
        self.schema = schema

    def _kind(self) -> int:
        for s in self.sources:
            if not _missing_or_null(s):
                return s.kind
        return 0

    def walk(self) -> _Node | None:
        if self.schema is None:
            for s in self.sources:
                self.schema = _schema_for(s)
                if self.schema is not None:
                    break
        kind = self._kind()
        if kind == _MAP or kind == 0:
            for s in self.sources:
                _check_kind(s, _MAP)
            return self._walk_map()
        if kind == _SEQ:
            for s in self.sources:
                _check_kind(s, _SEQ)
            merge_keys = self.schema.merge_keys() if self.schema is not None else None
            if merge_keys is not None:
                return self._walk_associative_sequence(merge_keys)
            return self._visit_list(associative=False)
        for s in self.sources:
            _check_kind(s, _SCALAR)
        return self._visit_scalar()

    # visitor (merge2.Merger) -------------------------------------------------------------------

    def _visit_map(self) -> _Node | None:
        dest, origin = self.sources
        if _missing_or_null(dest):
            try:
                directive = _determine_directive(origin)
            except ValueError:
                directive = _UNKNOWN
            if directive == _DELETE:
                return None
            if origin is None and dest is not None and dest.value:
                kept = _Node(_SCALAR, _NULL_TAG, dest.value)
                kept.keep = True
                return kept
            return origin
        if _tagged_null(origin):
            return None
        directive = _determine_directive(origin)
        if directive == _DELETE:
            return None
        if directive == _REPLACE:
            return origin
        return dest

    def _visit_scalar(self) -> _Node | None:
        dest, origin = self.sources
        return origin if origin is not None else dest

    def _visit_list(self, associative: bool) -> _Node | None:
        dest, origin = self.sources
        if not associative:
            return origin if origin is not None else dest
        if _missing_or_null(dest):
            return origin
        if _tagged_null(origin):
            return None
        directive = _determine_directive(origin)
        if directive == _DELETE:
            return None
        if directive == _REPLACE:
            return origin
        return dest

    # maps ------------------------------------------------------------------------------------

    def _walk_map(self) -> _Node | None:
        dest = self._visit_map()
        self.sources[0] = dest
        if dest is None:
            return None
        names = set()
        for s in self.sources:
            if s is not None and s.kind == _MAP:
                names.update(_field_names(s))
        for name in sorted(names):
            schema = self.schema.field(name) if self.schema is not None else None
            pairs = [_field(s, name) if s is not None else None for s in self.sources]
            if pairs[1] is None and pairs[0] is not None and _unchanged(pairs[0][1], schema):
                continue  # only the target has it, and walking it alone would change nothing
            val = _Walker([p[1] if p else None for p in pairs], schema).walk()
            key = next((p[0] for p in reversed(pairs) if p is not None), None)
            _set_field(dest, name, val, key)
        return dest

    # associative lists -----------------------------------------------------------------------

    def _walk_associative_sequence(self, merge_keys: tuple[str, ...]) -> _Node | None:
        dest = self._visit_list(associative=True)
        self.sources[0] = dest
        if dest is None:
            return None
        keys = list(merge_keys)
        values = self._element_values(keys)
        if values or keys:
            return self._set_elements(values, keys, dest)
        return self._set_elements(self._element_primitive_values(), [""], dest)

    def _ordered_sources(self) -> list:
        # prepend mode: the patch's elements come first
        n = len(self.sources)
        return [self.sources[(i + 1) % n] for i in range(n)]

    def _element_values(self, keys: list[str]) -> list[list[str]]:
        out: list[list[str]] = []
        for src in self._ordered_sources():
            if src is None:
                continue
            for row in _element_values_list(src, keys):
                if not row or row in out:
                    continue
                out.append(row)
        return out

    def _element_primitive_values(self) -> list[list[str]]:
        out, seen = [], set()
        for src in self._ordered_sources():
            if src is None:
                continue
            for item in src.content:
                if item.value in seen:
                    continue
                out.append([item.value])
                seen.add(item.value)
        return out

    def _element_value_list(self, keys: list[str], values: list[str]) -> list:
        keys, values = _validate_keys([values], values, keys)
        return [None if s is None else _element_list(s, keys, values) for s in self.sources]

    def _set_elements(self, values_list: list[list[str]], keys: list[str], dest: _Node) -> _Node | None:
        items = _Node(_SEQ, "!!seq")
        schema = self.schema.elements() if self.schema is not None else None
        if len(keys) > 1:
            values_list = _merge_values(values_list)
        valid_keys: list[str] = []
        valid_values: list[str] = []
        for values in values_list:
            if not values:
                continue
            valid_keys, valid_values = _validate_keys(values_list, values, keys)
            val = _Walker(self._element_value_list(valid_keys, valid_values), schema).walk()
            deleted = False
            for i, key in enumerate(valid_keys):
                if val is None or _empty_map(val):
                    _element_setter(dest, None, valid_keys, valid_values)
                    deleted = True
                elif _field(val, key) is None and valid_values[i] != "":
                    _set_field(val, key, _Node(_SCALAR, value=valid_values[i]))
            if deleted:
                continue
            _element_setter(items, val, valid_keys, valid_values)
        if values_list:
            dest = _append_list_node(items, dest, valid_keys)
        if _missing_or_null(dest):
            return None
        return dest


def _validate_keys(values_list: list[list[str]], values: list[str], keys: list[str]) -> tuple[list[str], list[str]]:
    valid = set()
    for row in values_list:
        for i, v in enumerate(row):
            if v != "":
                valid.add(keys[i])
    if not valid:
        return keys, values
    valid_keys = [k for k in keys if k in valid]
    valid_values = [v for i, v in enumerate(values) if v != "" or keys[i] in valid]
    return valid_keys, valid_values


def _match(a: list[str], b: list[str]) -> list[str] | None:
    """The row `a` and `b` are together when they share a value and differ only where one is empty."""
    if len(a) != len(b):
        return None
    common = False
    out = []
    for x, y in zip(a, b):
        if x == y:
            common = True
            out.append(x)
            continue
        if x != "" and y != "":
            return None
        out.append(x if x != "" else y)
    return out if common else None


def _merge_values(values_list: list[list[str]]) -> list[list[str]]:
    """Rows that differ only where one side is empty are one element (e.g. a port without protocol)."""
    for i in range(len(values_list)):
        first = values_list[i]
        for j in range(len(values_list)):
            merged = _match(first, values_list[j])
            if merged is not None:
                values_list[i] = merged
                values_list[j] = merged
    return values_list


def _append_list_node(dst: _Node, src: _Node, keys: list[str]) -> _Node:
    """walk.appendListNode: set each element of src into dst by its key values."""
    for elem in list(src.content):
        if keys[0] == "":
            _element_setter(dst, elem, [""], [elem.value])
            continue
        v = []
        for key in keys:
            value = _field_matcher(elem, key)
            if value is None:
                _check_kind(dst, _SEQ)
                dst.content.append(elem)
                continue
            v.append(value.value)
        if len(keys) > 1:
            _element_setter(dst, None, keys, v)
        _element_setter(dst, elem, keys, v)
    return dst


# --- public API -------------------------------------------------------------------------------


def merge(target: dict, patch: dict, openapi: OpenAPISchema | None = None, *, reuse: bool = False) -> dict | None:
    """kustomize's strategic merge of `patch` into `target` (kyaml merge2.Merge, prepend mode).

    Returns a new object (the inputs are not changed), or None when the patch deletes the whole
    object (`$patch: delete` at its top). The schema (which lists merge, by which keys) comes from
    the target's apiVersion and kind, as in kustomize (where a patch with a `target` gets the
    target's apiVersion). Raises ValueError for a bad directive or a type clash (a map patched
    with a scalar, ...), with kyaml's message. `openapi` is a custom schema (kustomization
    `openapi: {path}`) used instead of (or, see OpenAPISchema.builtin, before) the built-in one.
    `reuse`: the caller gives `target` up (and nothing in it appears twice), so the parts of it a
    simple patch leaves alone go into the result as they are instead of as copies.
    """
    token = _OPENAPI.set(openapi)
    try:
        merged = _merge_simple(target, patch, reuse)
        if merged is not None:
            return merged
        result = _Walker([_to_node(target), _to_node(patch)], None).walk()
    finally:
        _OPENAPI.reset(token)
    if result is None:
        return None
    return _from_node(result)


# --- the walk of a simple patch, on the Python data -------------------------------------------------
#
# Most patches are maps of maps and scalars (labels, annotations, a replica count): no lists, no
# nulls, no `$patch`. For those the walker's result is known without building nodes: the target's
# fields in their order, a scalar of the patch replacing the target's (set_ynode), maps merged
# field by field, and the patch's new fields appended in sorted order (the walker visits the names
# sorted); the target's other fields stay as they are when they hold no list the schema merges
# (see _unchanged). Anything else (and every error) is left to the walker.


def _merge_simple(target: Any, patch: Any, reuse: bool = False) -> dict | None:
    """merge(target, patch) when the patch is simple (see above), else None."""
    if not isinstance(target, dict) or not isinstance(patch, dict):
        return None
    return _simple_map(target, patch, _walker_schema(target, patch, None), reuse)


def _walker_schema(dest: dict, origin: dict, schema: Any) -> Any:
    """The schema walk() uses for a map: the one its parent gives, else one read from the
    target's or the patch's apiVersion and kind."""
    if schema is None:
        for source in (dest, origin):
            if "apiVersion" in source and "kind" in source:
                schema = _schema_for_data(source)
                if schema is not None:
                    break
    return schema


def _plain_key(key: Any) -> bool:
    """A key the walker names by its Python value (not a number, nor a timestamp with its text)."""
    return type(key) is str or (isinstance(key, str) and _scalar_text(key) == key)


def _simple_patch(patch: dict) -> bool:
    """A patch map of maps and scalars: no list, no null, no `$patch` directive."""
    for key, value in patch.items():
        if not _plain_key(key) or key == _DIRECTIVE or value is None or isinstance(value, list):
            return False
        if isinstance(value, dict) and not _simple_patch(value):
            return False
    return True


def _simple_map(dest: dict, origin: dict, schema: Any, reuse: bool) -> dict | None:
    for key, new in origin.items():
        if not _plain_key(key) or key == _DIRECTIVE or new is None or isinstance(new, list):
            return None
    out: dict = {}
    for key, value in dest.items():
        if not _plain_key(key):
            return None
        if key in origin:
            new = origin[key]
            if isinstance(new, dict):
                if not isinstance(value, dict):
                    return None  # a null or a type clash: the walker decides
                child = schema.field(key) if schema is not None else None
                merged = _simple_map(value, new, _walker_schema(value, new, child), reuse)
                if merged is None:
                    return None
                out[key] = merged
            elif isinstance(value, (dict, list)):
                return None  # a type clash: the walker words it
            else:
                out[key] = new
        elif isinstance(value, (dict, list)):
            if not _unchanged_data(value, schema.field(key) if schema is not None else None):
                return None
            out[key] = value if reuse else copy_data(value)
        else:
            out[key] = value
    added = [key for key in origin if key not in dest]
    for key in sorted(added):
        new = origin[key]
        if isinstance(new, dict) and not _simple_patch(new):
            return None
        out[key] = copy_data(new)
    return out


def apply_patch(target: dict, patch: dict, *, allow_name_change: bool = False,
                allow_kind_change: bool = False) -> dict | None:
    """Resource.ApplySmPatch as the PatchTransformer does it for a selected target.

    The patch takes the target's apiVersion (resWrangler.ApplySmPatch sets its GVK from the
    target and keeps its own kind); after the merge the target's kind and name are restored unless
    `options.allowKindChange` / `allowNameChange` are set, and its namespace always is.
    """
    patch = dict(patch)
    if "apiVersion" in target:
        patch["apiVersion"] = target["apiVersion"]
    old_meta = m if isinstance(m := target.get("metadata"), dict) else {}
    name, namespace, kind = old_meta.get("name"), old_meta.get("namespace") or "", target.get("kind")
    merged = merge(target, patch)
    if merged is None or merged == {}:
        return None
    if not allow_kind_change:
        merged["kind"] = kind if kind is not None else ""
    meta = merged.get("metadata")
    if not isinstance(meta, dict):
        meta = merged["metadata"] = {}
    if not allow_name_change:
        meta["name"] = name if name is not None else ""
    if namespace:
        meta["namespace"] = namespace
    else:
        meta.pop("namespace", None)
    return merged


def check_patch_count(documents: list, has_target: bool) -> None:
    """A `patches` entry with a `target` may hold only one strategic-merge document (kustomize
    issue 5049); without a target, each document patches the object with its own id."""
    if has_target and len(documents) > 1:
        raise ValueError("Multiple Strategic-Merge Patches in one `patches` entry is not allowed "
                         "to set `patches.target` field")
