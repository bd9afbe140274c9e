"""Kustomize's built-in field specs and the transformer configuration built from them.

A field spec names a field of some kinds of objects (`spec/template/metadata/labels` of every
`Deployment`); transformers (namespace, prefix/suffix, labels, annotations, images, replicas)
and name references act on the fields their specs list. The built-in specs below are copied
verbatim from kustomize v5.8.1 (`api/internal/konfig/builtinpluginconsts/*.go`); a
kustomization's `configurations:` files (and `crds:`) add to them, and the merged
configuration of every nested kustomization and component is what the transformers and the
final name-reference pass use (`internal/plugins/builtinconfig/transformerconfig.go`).

Also here: which kinds kustomize knows to be cluster-scoped (kyaml's precomputed openapi
table) and kustomize's GVK order (`resid.Gvk.IsLessThan`), both needed to compare ids.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, Iterable, NamedTuple

import yaml


class ConfigError(Exception):
    """A problem in a configuration (field specs) file; `path` locates it in the file's data."""

    def __init__(self, message: str, path: tuple = ()) -> None:
        super().__init__(message)
        self.path = path


class FieldSpec(NamedTuple):
    group: str = ""
    version: str = ""
    kind: str = ""
    path: str = ""
    create: bool = False

    def selects(self, group: str, version: str, kind: str) -> bool:
        """resid.Gvk.IsSelected: this spec's (possibly empty) group/version/kind selects the type."""
        return gvk_selected(group, version, kind, self.group, self.version, self.kind)


class NameBackReference(NamedTuple):
    """Objects of (group, version, kind) are referred to by name from the `referrers` fields."""

    group: str
    version: str
    kind: str
    referrers: tuple  # of FieldSpec


def gvk_selected(group: str, version: str, kind: str, sel_group: str, sel_version: str, sel_kind: str) -> bool:
    if sel_group and group != sel_group:
        return False
    if sel_version and version != sel_version:
        return False
    if sel_kind and kind != sel_kind:
        return False
    return True


def split_group_version(api_version: str) -> tuple[str, str]:
    """resid.ParseGroupVersion: `apps/v1` -> (apps, v1), `v1` -> ("", v1)."""
    group, sep, version = api_version.partition("/")
    if not sep:
        return "", api_version
    return group, version


def split_path(path: str) -> list[str]:
    """kyaml utils.PathSplitter(path, "/"): `a/b\\/c` -> [a, b/c]; a leading slash is ignored."""
    parts = path.split("/")
    if len(parts) > 1 and parts[0] == "":
        parts = parts[1:]
    out = [parts[0]]
    for part in parts[1:]:
        if out[-1].endswith("\\"):
            out[-1] = out[-1][:-1] + "/" + part
        else:
            out.append(part)
    return out


# --- cluster scope (kyaml openapi precomputedIsNamespaceScoped, entries with value false) ---------

_CLUSTER_SCOPED = frozenset({
    ("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration"),
    ("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration"),
    ("admissionregistration.k8s.io/v1beta1", "MutatingWebhookConfiguration"),
    ("admissionregistration.k8s.io/v1beta1", "ValidatingWebhookConfiguration"),
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
    ("apiextensions.k8s.io/v1beta1", "CustomResourceDefinition"),
    ("apiregistration.k8s.io/v1", "APIService"),
    ("apiregistration.k8s.io/v1beta1", "APIService"),
    ("certificates.k8s.io/v1", "CertificateSigningRequest"),
    ("certificates.k8s.io/v1beta1", "CertificateSigningRequest"),
    ("flowcontrol.apiserver.k8s.io/v1beta1", "FlowSchema"),
    ("flowcontrol.apiserver.k8s.io/v1beta1", "PriorityLevelConfiguration"),
    ("networking.k8s.io/v1", "IngressClass"),
    ("networking.k8s.io/v1beta1", "IngressClass"),
    ("node.k8s.io/v1", "RuntimeClass"),
    ("node.k8s.io/v1beta1", "RuntimeClass"),
    ("policy/v1beta1", "PodSecurityPolicy"),
    ("rbac.authorization.k8s.io/v1", "ClusterRole"),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
    ("rbac.authorization.k8s.io/v1beta1", "ClusterRole"),
    ("rbac.authorization.k8s.io/v1beta1", "ClusterRoleBinding"),
    ("scheduling.k8s.io/v1", "PriorityClass"),
    ("scheduling.k8s.io/v1beta1", "PriorityClass"),
    ("storage.k8s.io/v1", "CSIDriver"),
    ("storage.k8s.io/v1", "CSINode"),
    ("storage.k8s.io/v1", "StorageClass"),
    ("storage.k8s.io/v1", "VolumeAttachment"),
    ("storage.k8s.io/v1beta1", "CSIDriver"),
    ("storage.k8s.io/v1beta1", "CSINode"),
    ("storage.k8s.io/v1beta1", "StorageClass"),
    ("storage.k8s.io/v1beta1", "VolumeAttachment"),
    ("v1", "ComponentStatus"),
    ("v1", "Namespace"),
    ("v1", "Node"),
    ("v1", "NodeProxyOptions"),
    ("v1", "PersistentVolume"),
})


def is_cluster_scoped(api_version: str, kind: str) -> bool:
    """True only for the built-in kinds kustomize's openapi data knows to be cluster-scoped.

    Custom resources and unknown versions count as namespaced, as in kustomize.
    """
    return (api_version, kind) in _CLUSTER_SCOPED


TOTALLY_NOT_A_NAMESPACE = "_non_namespaceable_"


def effective_namespace(namespace: str, cluster_scoped: bool) -> str:
    """resid.ResId.EffectiveNamespace."""
    if cluster_scoped:
        return TOTALLY_NOT_A_NAMESPACE
    if namespace in ("", "default"):
        return "default"
    return namespace


# --- GVK order (resid.Gvk.IsLessThan) ------------------------------------------------------------

ORDER_FIRST = (
    "Namespace", "ResourceQuota", "StorageClass", "CustomResourceDefinition", "ServiceAccount",
    "PodSecurityPolicy", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding", "ConfigMap",
    "Secret", "Endpoints", "Service", "LimitRange", "PriorityClass", "PersistentVolume",
    "PersistentVolumeClaim", "Deployment", "StatefulSet", "CronJob", "PodDisruptionBudget",
)
ORDER_LAST = ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")


def type_orders(first: Iterable[str] = ORDER_FIRST, last: Iterable[str] = ORDER_LAST) -> dict[str, int]:
    first, last = list(first), list(last)
    orders = {}
    for i, kind in enumerate(first):
        orders[kind] = -len(first) + i
    for i, kind in enumerate(last):
        orders[kind] = 1 + i
    return orders


_TYPE_ORDERS = type_orders()


def gvk_sort_key(group: str, version: str, kind: str) -> tuple[int, str]:
    """Sort key equivalent to resid.Gvk.IsLessThan (kind order, then group_version_kind)."""
    return (_TYPE_ORDERS.get(kind, 0), "_".join((group or "~G", version or "~V", kind or "~K")))


# --- transformer configuration -------------------------------------------------------------------

def fs_merge_one(specs: list, spec: FieldSpec) -> list:
    """types.FsSlice.MergeOne: add `spec` unless an existing spec is effectively equal.

    Effectively equal: same path and the new spec's group/version/kind selects the existing
    one's. Equal specs that disagree about `create` conflict.
    """
    for existing in specs:
        if existing.path == spec.path and gvk_selected(existing.group, existing.version, existing.kind,
                                                       spec.group, spec.version, spec.kind):
            if existing.create != spec.create:
                raise ConfigError(f"conflicting fieldspecs: {_fs_str(existing)} and {_fs_str(spec)}")
            return specs
    return specs + [spec]


def _fs_str(spec: FieldSpec) -> str:
    gvk = "/".join(p for p in (spec.group, spec.version, spec.kind) if p) or "any kind"
    return f"{gvk} {spec.path} (create: {str(spec.create).lower()})"


def fs_merge_all(specs: Iterable[FieldSpec], incoming: Iterable[FieldSpec]) -> list:
    result = list(specs)
    for spec in incoming:
        result = fs_merge_one(result, spec)
    return result


def _nbr_merge_one(refs: list, ref: NameBackReference) -> list:
    result = []
    found = False
    for existing in refs:
        if (existing.group, existing.version, existing.kind) == (ref.group, ref.version, ref.kind):
            existing = existing._replace(referrers=tuple(fs_merge_all(existing.referrers, ref.referrers)))
            found = True
        result.append(existing)
    if not found:
        result.append(ref)
    return result


def _sorted_specs(specs: Iterable) -> tuple:
    return tuple(sorted(specs, key=lambda s: gvk_sort_key(s.group, s.version, s.kind)))


# configuration file key -> TransformerConfig attribute (field-spec lists only)
FS_FIELDS = {
    "namePrefix": "name_prefix",
    "nameSuffix": "name_suffix",
    "namespace": "namespace",
    "commonLabels": "common_labels",
    "labels": "labels",
    "templateLabels": "template_labels",
    "commonAnnotations": "common_annotations",
    "varReference": "var_reference",
    "images": "images",
    "replicas": "replicas",
}


@dataclasses.dataclass(frozen=True)
class TransformerConfig:
    name_prefix: tuple = ()
    name_suffix: tuple = ()
    namespace: tuple = ()
    common_labels: tuple = ()
    labels: tuple = ()
    template_labels: tuple = ()
    common_annotations: tuple = ()
    name_reference: tuple = ()  # of NameBackReference
    var_reference: tuple = ()
    images: tuple = ()
    replicas: tuple = ()

    def __hash__(self) -> int:
        """The hash of all fields, computed once: _merge_configs is memoised by its operands, and
        hashing every field spec of a configuration (~15 µs) on each of the dozen merges of a
        render was 3% of it. A configuration never changes (frozen), so neither does its hash."""
        cached = self.__dict__.get("_hash")
        if cached is None:
            cached = hash(tuple(getattr(self, f.name) for f in dataclasses.fields(self)))
            object.__setattr__(self, "_hash", cached)
        return cached

    def merge(self, other: "TransformerConfig | None") -> "TransformerConfig":
        """builtinconfig.TransformerConfig.Merge: union of both, every list sorted by GVK."""
        if other is None:
            return self
        return _merge_configs(self, other)

    def _merge(self, other: "TransformerConfig") -> "TransformerConfig":
        values: dict[str, Any] = {}
        for key, attr in FS_FIELDS.items():
            try:
                values[attr] = _sorted_specs(fs_merge_all(getattr(self, attr), getattr(other, attr)))
            except ConfigError as exc:
                raise ConfigError(f"failed to merge {key} fieldSpec: {exc}") from None
        refs = list(self.name_reference)
        try:
            for ref in other.name_reference:
                refs = _nbr_merge_one(refs, ref)
        except ConfigError as exc:
            raise ConfigError(f"failed to merge nameReference fieldSpec: {exc}") from None
        values["name_reference"] = _sorted_specs(refs)
        return TransformerConfig(**values)

    def sorted(self) -> "TransformerConfig":
        values = {attr: _sorted_specs(getattr(self, attr)) for attr in FS_FIELDS.values()}
        values["name_reference"] = _sorted_specs(self.name_reference)
        return TransformerConfig(**values)


EMPTY_CONFIG = TransformerConfig()


@functools.lru_cache(maxsize=256)
def _merge_configs(a: TransformerConfig, b: TransformerConfig) -> TransformerConfig:
    """Configurations are immutable values, so merging the same two (the built-in one into
    every kustomization's) is computed once."""
    return a._merge(b)

_FS_KEYS = {"group", "version", "kind", "path", "create"}


def json_type(value: Any) -> str:
    """The JSON type name kustomize's errors use for a decoded YAML value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _str_field(data: dict, key: str, path: tuple) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ConfigError(f"'{key}' must be a string, not {json_type(value)}", path + (key,))
    return value


def parse_field_spec(data: Any, path: tuple, *, strict: bool = True) -> FieldSpec:
    """One field spec ({group, version, kind, path, create}) from plain data."""
    if not isinstance(data, dict):
        raise ConfigError(f"a field spec must be a mapping, not {json_type(data)}", path)
    if strict:
        for key in data:
            if key not in _FS_KEYS:
                raise ConfigError(f"unknown field '{key}' in field spec", path + (key,))
    create = data.get("create")
    if create is None:
        create = False
    if not isinstance(create, bool):
        raise ConfigError(f"'create' must be true or false, not {json_type(create)}", path + ("create",))
    return FieldSpec(_str_field(data, "group", path), _str_field(data, "version", path),
                     _str_field(data, "kind", path), _str_field(data, "path", path), create)


def _spec_list(data: Any, path: tuple) -> list:
    if data is None:
        return []
    if not isinstance(data, list):
        raise ConfigError(f"must be a list of field specs, not {json_type(data)}", path)
    return [parse_field_spec(item, path + (i,)) for i, item in enumerate(data)]


def parse_config(data: Any) -> TransformerConfig:
    """A `configurations:` file (builtinconfig.makeTransformerConfigFromBytes, strict)."""
    if data is None:
        return EMPTY_CONFIG
    if not isinstance(data, dict):
        raise ConfigError(f"a configuration file must hold a mapping, not {json_type(data)}")
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key in FS_FIELDS:
            values[FS_FIELDS[key]] = tuple(_spec_list(value, (key,)))
        elif key == "nameReference":
            refs = []
            if value is not None:
                if not isinstance(value, list):
                    raise ConfigError(f"nameReference must be a list, not {json_type(value)}", (key,))
                for i, item in enumerate(value):
                    where = (key, i)
                    if not isinstance(item, dict):
                        raise ConfigError(f"a nameReference entry must be a mapping, not {json_type(item)}",
                                          where)
                    for sub in item:
                        if sub not in ("group", "version", "kind", "fieldSpecs"):
                            raise ConfigError(f"unknown field '{sub}' in nameReference entry", where + (sub,))
                    refs.append(NameBackReference(
                        _str_field(item, "group", where), _str_field(item, "version", where),
                        _str_field(item, "kind", where),
                        tuple(_spec_list(item.get("fieldSpecs"), where + ("fieldSpecs",)))))
            values["name_reference"] = tuple(refs)
        else:
            raise ConfigError(f"unknown field '{key}' in configuration file", (key,))
    return TransformerConfig(**values).sorted()


@functools.lru_cache(maxsize=1)
def default_config() -> TransformerConfig:
    """Kustomize's built-in configuration (builtinconfig.MakeDefaultConfig). Read with fastyaml (a
    third of the time of PyYAML's loader, paid by every render; the same data: the text has no
    timestamps, tests/kustomize/test_namereference.py compares the two)."""
    from .. import fastyaml

    try:
        data = fastyaml.load(_DEFAULT_FIELD_SPECS, 200)[0]
    except fastyaml.Unusual:  # pragma: no cover - the text is a constant fastyaml reads
        data = yaml.load(_DEFAULT_FIELD_SPECS, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return parse_config(data)


# --- configuration from `crds:` (accumulator.LoadConfigFromCRDs) -----------------------------------

_X_ANNOTATION = "x-kubernetes-annotation"
_X_LABEL_SELECTOR = "x-kubernetes-label-selector"
_X_IDENTITY = "x-kubernetes-identity"
_X_VERSION = "x-kubernetes-object-ref-api-version"
_X_KIND = "x-kubernetes-object-ref-kind"
_X_NAME_KEY = "x-kubernetes-object-ref-name-key"


def _ci_get(data: dict, key: str) -> Any:
    """encoding/json matches struct fields case-insensitively."""
    if key in data:
        return data[key]
    lower = key.lower()
    for k, v in data.items():
        if isinstance(k, str) and k.lower() == lower:
            return v
    return None


def config_from_crds(data: Any) -> TransformerConfig:
    """Field specs from an OpenAPI definitions file: {type name: {Schema: ..., Dependencies: ...}}."""
    if data is None:
        return EMPTY_CONFIG
    if not isinstance(data, dict):
        raise ConfigError("an OpenAPI definitions file must hold a mapping of type names")
    schemas: dict[str, dict] = {}
    for name, definition in data.items():
        if not isinstance(definition, dict):
            raise ConfigError(f"definition '{name}' must be a mapping, not {json_type(definition)}", (name,))
        schema = _ci_get(definition, "Schema")
        if schema is not None and not isinstance(schema, dict):
            raise ConfigError(f"'Schema' of '{name}' must be a mapping", (name,))
        schemas[str(name)] = schema or {}
    result = EMPTY_CONFIG
    for name, schema in schemas.items():
        props = schema.get("properties") or {}
        if not isinstance(props, dict) or not all(k in props for k in ("kind", "apiVersion", "metadata")):
            continue
        acc = _CrdAcc()
        _load_crd(acc, name.split(".")[-1], schemas, name, [], set())
        result = result.merge(acc.config())
    return result


class _CrdAcc:
    def __init__(self) -> None:
        self.annotations: list = []
        self.labels: list = []
        self.prefix: list = []
        self.refs: list = []

    def config(self) -> TransformerConfig:
        return TransformerConfig(common_annotations=tuple(self.annotations), common_labels=tuple(self.labels),
                                 name_prefix=tuple(self.prefix), name_reference=tuple(self.refs)).sorted()


def _load_crd(acc: _CrdAcc, kind: str, schemas: dict, type_name: str, path: list, seen: set) -> None:
    schema = schemas.get(type_name)
    if schema is None or (type_name, tuple(path)) in seen:
        return
    seen.add((type_name, tuple(path)))
    props = schema.get("properties") or {}
    if not isinstance(props, dict):
        return
    for prop_name, prop in props.items():
        if not isinstance(prop, dict):
            continue
        here = path + [str(prop_name)]
        spec = FieldSpec(kind=kind, path="/".join(here))
        if isinstance(prop.get(_X_ANNOTATION), str):
            acc.annotations = fs_merge_one(acc.annotations, spec)
        if isinstance(prop.get(_X_LABEL_SELECTOR), str):
            acc.labels = fs_merge_one(acc.labels, spec)
        if isinstance(prop.get(_X_IDENTITY), str):
            acc.prefix = fs_merge_one(acc.prefix, spec)
        version, ref_kind = prop.get(_X_VERSION), prop.get(_X_KIND)
        if isinstance(version, str) and isinstance(ref_kind, str):
            name_key = prop.get(_X_NAME_KEY)
            if not isinstance(name_key, str):
                name_key = "name"
            ref = NameBackReference("", version, ref_kind,
                                    (FieldSpec(kind=kind, path="/".join(here + [name_key])),))
            acc.refs = _nbr_merge_one(acc.refs, ref)
        ref_url = prop.get("$ref")
        if isinstance(ref_url, str) and ref_url:
            _load_crd(acc, kind, schemas, ref_url, here, seen)


# Verbatim from kustomize v5.8.1 api/internal/konfig/builtinpluginconsts (GetDefaultFieldSpecs).
_DEFAULT_FIELD_SPECS = r"""
namePrefix:
- path: metadata/name


nameSuffix:
- path: metadata/name


commonLabels:
- path: spec/selector
  create: true
  version: v1
  kind: Service

- path: spec/selector
  create: true
  version: v1
  kind: ReplicationController
- path: spec/selector/matchLabels
  create: true
  kind: Deployment

- path: spec/template/spec/affinity/podAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels
  create: false
  group: apps
  kind: Deployment

- path: spec/template/spec/affinity/podAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels
  create: false
  group: apps
  kind: Deployment

- path: spec/template/spec/affinity/podAntiAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels
  create: false
  group: apps
  kind: Deployment

- path: spec/template/spec/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels
  create: false
  group: apps
  kind: Deployment

- path: spec/template/spec/topologySpreadConstraints/labelSelector/matchLabels
  create: false
  group: apps
  kind: Deployment

- path: spec/selector/matchLabels
  create: true
  kind: ReplicaSet

- path: spec/selector/matchLabels
  create: true
  kind: DaemonSet

- path: spec/selector/matchLabels
  create: true
  group: apps
  kind: StatefulSet

- path: spec/template/spec/affinity/podAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels
  create: false
  group: apps
  kind: StatefulSet

- path: spec/template/spec/affinity/podAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels
  create: false
  group: apps
  kind: StatefulSet

- path: spec/template/spec/affinity/podAntiAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels
  create: false
  group: apps
  kind: StatefulSet

- path: spec/template/spec/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels
  create: false
  group: apps
  kind: StatefulSet

- path: spec/template/spec/topologySpreadConstraints/labelSelector/matchLabels
  create: false
  group: apps
  kind: StatefulSet

- path: spec/selector/matchLabels
  create: false
  group: batch
  kind: Job

- path: spec/jobTemplate/spec/selector/matchLabels
  create: false
  group: batch
  kind: CronJob

- path: spec/selector/matchLabels
  create: false
  group: policy
  kind: PodDisruptionBudget

- path: spec/podSelector/matchLabels
  create: false
  group: networking.k8s.io
  kind: NetworkPolicy

- path: spec/ingress/from/podSelector/matchLabels
  create: false
  group: networking.k8s.io
  kind: NetworkPolicy

- path: spec/egress/to/podSelector/matchLabels
  create: false
  group: networking.k8s.io
  kind: NetworkPolicy

- path: metadata/labels
  create: true

- path: spec/template/metadata/labels
  create: true
  version: v1
  kind: ReplicationController

- path: spec/template/metadata/labels
  create: true
  kind: Deployment

- path: spec/template/metadata/labels
  create: true
  kind: ReplicaSet

- path: spec/template/metadata/labels
  create: true
  kind: DaemonSet

- path: spec/template/metadata/labels
  create: true
  group: apps
  kind: StatefulSet

- path: spec/volumeClaimTemplates[]/metadata/labels
  create: true
  group: apps
  kind: StatefulSet

- path: spec/template/metadata/labels
  create: true
  group: batch
  kind: Job

- path: spec/jobTemplate/metadata/labels
  create: true
  group: batch
  kind: CronJob

- path: spec/jobTemplate/spec/template/metadata/labels
  create: true
  group: batch
  kind: CronJob


templateLabels:

- path: metadata/labels
  create: true

- path: spec/template/metadata/labels
  create: true
  version: v1
  kind: ReplicationController

- path: spec/template/metadata/labels
  create: true
  kind: Deployment

- path: spec/template/metadata/labels
  create: true
  kind: ReplicaSet

- path: spec/template/metadata/labels
  create: true
  kind: DaemonSet

- path: spec/template/metadata/labels
  create: true
  group: apps
  kind: StatefulSet

- path: spec/volumeClaimTemplates[]/metadata/labels
  create: true
  group: apps
  kind: StatefulSet

- path: spec/template/metadata/labels
  create: true
  group: batch
  kind: Job

- path: spec/jobTemplate/metadata/labels
  create: true
  group: batch
  kind: CronJob

- path: spec/jobTemplate/spec/template/metadata/labels
  create: true
  group: batch
  kind: CronJob


commonAnnotations:
- path: metadata/annotations
  create: true

- path: spec/template/metadata/annotations
  create: true
  version: v1
  kind: ReplicationController

- path: spec/template/metadata/annotations
  create: true
  kind: Deployment

- path: spec/template/metadata/annotations
  create: true
  kind: ReplicaSet

- path: spec/template/metadata/annotations
  create: true
  kind: DaemonSet

- path: spec/template/metadata/annotations
  create: true
  kind: StatefulSet

- path: spec/template/metadata/annotations
  create: true
  group: batch
  kind: Job

- path: spec/jobTemplate/metadata/annotations
  create: true
  group: batch
  kind: CronJob

- path: spec/jobTemplate/spec/template/metadata/annotations
  create: true
  group: batch
  kind: CronJob



namespace:
- path: metadata/name
  kind: Namespace
  create: true
- path: spec/service/namespace
  group: apiregistration.k8s.io
  kind: APIService
  create: true
- path: spec/conversion/webhook/clientConfig/service/namespace
  group: apiextensions.k8s.io
  kind: CustomResourceDefinition


varReference:
- path: spec/jobTemplate/spec/template/spec/containers/args
  kind: CronJob

- path: spec/jobTemplate/spec/template/spec/containers/command
  kind: CronJob

- path: spec/jobTemplate/spec/template/spec/containers/env/value
  kind: CronJob

- path: spec/jobTemplate/spec/template/spec/containers/volumeMounts/mountPath
  kind: CronJob

- path: spec/jobTemplate/spec/template/spec/initContainers/args
  kind: CronJob

- path: spec/jobTemplate/spec/template/spec/initContainers/command
  kind: CronJob

- path: spec/jobTemplate/spec/template/spec/initContainers/env/value
  kind: CronJob

- path: spec/jobTemplate/spec/template/spec/initContainers/volumeMounts/mountPath
  kind: CronJob

- path: spec/jobTemplate/spec/template/volumes/nfs/server
  kind: CronJob

- path: spec/template/spec/containers/args
  kind: DaemonSet

- path: spec/template/spec/containers/command
  kind: DaemonSet

- path: spec/template/spec/containers/env/value
  kind: DaemonSet

- path: spec/template/spec/containers/volumeMounts/mountPath
  kind: DaemonSet

- path: spec/template/spec/initContainers/args
  kind: DaemonSet

- path: spec/template/spec/initContainers/command
  kind: DaemonSet

- path: spec/template/spec/initContainers/env/value
  kind: DaemonSet

- path: spec/template/spec/initContainers/volumeMounts/mountPath
  kind: DaemonSet

- path: spec/template/spec/volumes/nfs/server
  kind: DaemonSet

- path: spec/template/spec/containers/args
  kind: Deployment

- path: spec/template/spec/containers/command
  kind: Deployment

- path: spec/template/spec/containers/env/value
  kind: Deployment

- path: spec/template/spec/containers/volumeMounts/mountPath
  kind: Deployment

- path: spec/template/spec/initContainers/args
  kind: Deployment

- path: spec/template/spec/initContainers/command
  kind: Deployment

- path: spec/template/spec/initContainers/env/value
  kind: Deployment

- path: spec/template/spec/initContainers/volumeMounts/mountPath
  kind: Deployment

- path: spec/template/spec/volumes/nfs/server
  kind: Deployment

- path: spec/template/metadata/annotations
  kind: Deployment

- path: spec/rules/host
  kind: Ingress

- path: spec/tls/hosts
  kind: Ingress
  
- path: spec/tls/secretName
  kind: Ingress

- path: spec/template/spec/containers/args
  kind: Job

- path: spec/template/spec/containers/command
  kind: Job

- path: spec/template/spec/containers/env/value
  kind: Job

- path: spec/template/spec/containers/volumeMounts/mountPath
  kind: Job

- path: spec/template/spec/initContainers/args
  kind: Job

- path: spec/template/spec/initContainers/command
  kind: Job

- path: spec/template/spec/initContainers/env/value
  kind: Job

- path: spec/template/spec/initContainers/volumeMounts/mountPath
  kind: Job

- path: spec/template/spec/volumes/nfs/server
  kind: Job

- path: spec/containers/args
  kind: Pod

- path: spec/containers/command
  kind: Pod

- path: spec/containers/env/value
  kind: Pod

- path: spec/containers/volumeMounts/mountPath
  kind: Pod

- path: spec/initContainers/args
  kind: Pod

- path: spec/initContainers/command
  kind: Pod

- path: spec/initContainers/env/value
  kind: Pod

- path: spec/initContainers/volumeMounts/mountPath
  kind: Pod

- path: spec/volumes/nfs/server
  kind: Pod

- path: spec/template/spec/containers/args
  kind: ReplicaSet

- path: spec/template/spec/containers/command
  kind: ReplicaSet

- path: spec/template/spec/containers/env/value
  kind: ReplicaSet

- path: spec/template/spec/containers/volumeMounts/mountPath
  kind: ReplicaSet

- path: spec/template/spec/initContainers/args
  kind: ReplicaSet

- path: spec/template/spec/initContainers/command
  kind: ReplicaSet

- path: spec/template/spec/initContainers/env/value
  kind: ReplicaSet

- path: spec/template/spec/initContainers/volumeMounts/mountPath
  kind: ReplicaSet

- path: spec/template/spec/volumes/nfs/server
  kind: ReplicaSet

- path: spec/ports/port
  kind: Service

- path: spec/ports/targetPort
  kind: Service

- path: spec/template/spec/containers/args
  kind: StatefulSet

- path: spec/template/spec/containers/command
  kind: StatefulSet

- path: spec/template/spec/containers/env/value
  kind: StatefulSet

- path: spec/template/spec/containers/volumeMounts/mountPath
  kind: StatefulSet

- path: spec/template/spec/initContainers/args
  kind: StatefulSet

- path: spec/template/spec/initContainers/command
  kind: StatefulSet

- path: spec/template/spec/initContainers/env/value
  kind: StatefulSet

- path: spec/template/spec/initContainers/volumeMounts/mountPath
  kind: StatefulSet

- path: spec/volumeClaimTemplates/spec/nfs/server
  kind: StatefulSet

- path: spec/nfs/server
  kind: PersistentVolume

- path: metadata/labels

- path: metadata/annotations


nameReference:
- kind: Deployment
  fieldSpecs:
  - path: spec/scaleTargetRef/name
    kind: HorizontalPodAutoscaler

- kind: ReplicationController
  fieldSpecs:
  - path: spec/scaleTargetRef/name
    kind: HorizontalPodAutoscaler

- kind: ReplicaSet
  fieldSpecs:
  - path: spec/scaleTargetRef/name
    kind: HorizontalPodAutoscaler

- kind: StatefulSet
  fieldSpecs:
  - path: spec/scaleTargetRef/name
    kind: HorizontalPodAutoscaler

- kind: ConfigMap
  version: v1
  fieldSpecs:
  - path: spec/volumes/configMap/name
    version: v1
    kind: Pod
  - path: spec/containers/env/valueFrom/configMapKeyRef/name
    version: v1
    kind: Pod
  - path: spec/initContainers/env/valueFrom/configMapKeyRef/name
    version: v1
    kind: Pod
  - path: spec/containers/envFrom/configMapRef/name
    version: v1
    kind: Pod
  - path: spec/initContainers/envFrom/configMapRef/name
    version: v1
    kind: Pod
  - path: spec/volumes/projected/sources/configMap/name
    version: v1
    kind: Pod
  - path: template/spec/volumes/configMap/name
    kind: PodTemplate
  - path: template/spec/containers/env/valueFrom/configMapKeyRef/name
    kind: PodTemplate
  - path: template/spec/initContainers/env/valueFrom/configMapKeyRef/name
    kind: PodTemplate
  - path: template/spec/containers/envFrom/configMapRef/name
    kind: PodTemplate
  - path: template/spec/initContainers/envFrom/configMapRef/name
    kind: PodTemplate
  - path: template/spec/volumes/projected/sources/configMap/name
    kind: PodTemplate
  - path: spec/template/spec/volumes/configMap/name
    kind: Deployment
  - path: spec/template/spec/containers/env/valueFrom/configMapKeyRef/name
    kind: Deployment
  - path: spec/template/spec/initContainers/env/valueFrom/configMapKeyRef/name
    kind: Deployment
  - path: spec/template/spec/containers/envFrom/configMapRef/name
    kind: Deployment
  - path: spec/template/spec/initContainers/envFrom/configMapRef/name
    kind: Deployment
  - path: spec/template/spec/volumes/projected/sources/configMap/name
    kind: Deployment
  - path: spec/template/spec/volumes/configMap/name
    kind: ReplicaSet
  - path: spec/template/spec/containers/env/valueFrom/configMapKeyRef/name
    kind: ReplicaSet
  - path: spec/template/spec/initContainers/env/valueFrom/configMapKeyRef/name
    kind: ReplicaSet
  - path: spec/template/spec/containers/envFrom/configMapRef/name
    kind: ReplicaSet
  - path: spec/template/spec/initContainers/envFrom/configMapRef/name
    kind: ReplicaSet
  - path: spec/template/spec/volumes/projected/sources/configMap/name
    kind: ReplicaSet
  - path: spec/template/spec/volumes/configMap/name
    kind: DaemonSet
  - path: spec/template/spec/containers/env/valueFrom/configMapKeyRef/name
    kind: DaemonSet
  - path: spec/template/spec/initContainers/env/valueFrom/configMapKeyRef/name
    kind: DaemonSet
  - path: spec/template/spec/containers/envFrom/configMapRef/name
    kind: DaemonSet
  - path: spec/template/spec/initContainers/envFrom/configMapRef/name
    kind: DaemonSet
  - path: spec/template/spec/volumes/projected/sources/configMap/name
    kind: DaemonSet
  - path: spec/template/spec/volumes/configMap/name
    kind: StatefulSet
  - path: spec/template/spec/containers/env/valueFrom/configMapKeyRef/name
    kind: StatefulSet
  - path: spec/template/spec/initContainers/env/valueFrom/configMapKeyRef/name
    kind: StatefulSet
  - path: spec/template/spec/containers/envFrom/configMapRef/name
    kind: StatefulSet
  - path: spec/template/spec/initContainers/envFrom/configMapRef/name
    kind: StatefulSet
  - path: spec/template/spec/volumes/projected/sources/configMap/name
    kind: StatefulSet
  - path: spec/template/spec/volumes/configMap/name
    kind: Job
  - path: spec/template/spec/containers/env/valueFrom/configMapKeyRef/name
    kind: Job
  - path: spec/template/spec/initContainers/env/valueFrom/configMapKeyRef/name
    kind: Job
  - path: spec/template/spec/containers/envFrom/configMapRef/name
    kind: Job
  - path: spec/template/spec/initContainers/envFrom/configMapRef/name
    kind: Job
  - path: spec/template/spec/volumes/projected/sources/configMap/name
    kind: Job
  - path: spec/jobTemplate/spec/template/spec/volumes/configMap/name
    kind: CronJob
  - path: spec/jobTemplate/spec/template/spec/volumes/projected/sources/configMap/name
    kind: CronJob
  - path: spec/jobTemplate/spec/template/spec/containers/env/valueFrom/configMapKeyRef/name
    kind: CronJob
  - path: spec/jobTemplate/spec/template/spec/initContainers/env/valueFrom/configMapKeyRef/name
    kind: CronJob
  - path: spec/jobTemplate/spec/template/spec/containers/envFrom/configMapRef/name
    kind: CronJob
  - path: spec/jobTemplate/spec/template/spec/initContainers/envFrom/configMapRef/name
    kind: CronJob
  - path: spec/configSource/configMap
    kind: Node
  - path: rules/resourceNames
    kind: Role
  - path: rules/resourceNames
    kind: ClusterRole
  - path: metadata/annotations/nginx.ingress.kubernetes.io\/fastcgi-params-configmap
    kind: Ingress

- kind: Secret
  version: v1
  fieldSpecs:
  - path: spec/volumes/secret/secretName
    version: v1
    kind: Pod
  - path: spec/containers/env/valueFrom/secretKeyRef/name
    version: v1
    kind: Pod
  - path: spec/initContainers/env/valueFrom/secretKeyRef/name
    version: v1
    kind: Pod
  - path: spec/containers/envFrom/secretRef/name
    version: v1
    kind: Pod
  - path: spec/initContainers/envFrom/secretRef/name
    version: v1
    kind: Pod
  - path: spec/imagePullSecrets/name
    version: v1
    kind: Pod
  - path: spec/volumes/projected/sources/secret/name
    version: v1
    kind: Pod
  - path: template/spec/volumes/secret/secretName
    kind: PodTemplate
  - path: template/spec/containers/env/valueFrom/secretKeyRef/name
    kind: PodTemplate
  - path: template/spec/initContainers/env/valueFrom/secretKeyRef/name
    kind: PodTemplate
  - path: template/spec/containers/envFrom/secretRef/name
    kind: PodTemplate
  - path: template/spec/initContainers/envFrom/secretRef/name
    kind: PodTemplate
  - path: template/spec/imagePullSecrets/name
    kind: PodTemplate
  - path: template/spec/volumes/projected/sources/secret/name
    kind: PodTemplate
  - path: spec/template/spec/volumes/secret/secretName
    kind: Deployment
  - path: spec/template/spec/containers/env/valueFrom/secretKeyRef/name
    kind: Deployment
  - path: spec/template/spec/initContainers/env/valueFrom/secretKeyRef/name
    kind: Deployment
  - path: spec/template/spec/containers/envFrom/secretRef/name
    kind: Deployment
  - path: spec/template/spec/initContainers/envFrom/secretRef/name
    kind: Deployment
  - path: spec/template/spec/imagePullSecrets/name
    kind: Deployment
  - path: spec/template/spec/volumes/projected/sources/secret/name
    kind: Deployment
  - path: spec/template/spec/volumes/secret/secretName
    kind: ReplicaSet
  - path: spec/template/spec/containers/env/valueFrom/secretKeyRef/name
    kind: ReplicaSet
  - path: spec/template/spec/initContainers/env/valueFrom/secretKeyRef/name
    kind: ReplicaSet
  - path: spec/template/spec/containers/envFrom/secretRef/name
    kind: ReplicaSet
  - path: spec/template/spec/initContainers/envFrom/secretRef/name
    kind: ReplicaSet
  - path: spec/template/spec/imagePullSecrets/name
    kind: ReplicaSet
  - path: spec/template/spec/volumes/projected/sources/secret/name
    kind: ReplicaSet
  - path: spec/template/spec/volumes/secret/secretName
    kind: DaemonSet
  - path: spec/template/spec/containers/env/valueFrom/secretKeyRef/name
    kind: DaemonSet
  - path: spec/template/spec/initContainers/env/valueFrom/secretKeyRef/name
    kind: DaemonSet
  - path: spec/template/spec/containers/envFrom/secretRef/name
    kind: DaemonSet
  - path: spec/template/spec/initContainers/envFrom/secretRef/name
    kind: DaemonSet
  - path: spec/template/spec/imagePullSecrets/name
    kind: DaemonSet
  - path: spec/template/spec/volumes/projected/sources/secret/name
    kind: DaemonSet
  - path: spec/template/spec/volumes/secret/secretName
    kind: StatefulSet
  - path: spec/template/spec/containers/env/valueFrom/secretKeyRef/name
    kind: StatefulSet
  - path: spec/template/spec/initContainers/env/valueFrom/secretKeyRef/name
    kind: StatefulSet
  - path: spec/template/spec/containers/envFrom/secretRef/name
    kind: StatefulSet
  - path: spec/template/spec/initContainers/envFrom/secretRef/name
    kind: StatefulSet
  - path: spec/template/spec/imagePullSecrets/name
    kind: StatefulSet
  - path: spec/template/spec/volumes/projected/sources/secret/name
    kind: StatefulSet
  - path: spec/template/spec/volumes/secret/secretName
    kind: Job
  - path: spec/template/spec/containers/env/valueFrom/secretKeyRef/name
    kind: Job
  - path: spec/template/spec/initContainers/env/valueFrom/secretKeyRef/name
    kind: Job
  - path: spec/template/spec/containers/envFrom/secretRef/name
    kind: Job
  - path: spec/template/spec/initContainers/envFrom/secretRef/name
    kind: Job
  - path: spec/template/spec/imagePullSecrets/name
    kind: Job
  - path: spec/template/spec/volumes/projected/sources/secret/name
    kind: Job
  - path: spec/jobTemplate/spec/template/spec/volumes/secret/secretName
    kind: CronJob
  - path: spec/jobTemplate/spec/template/spec/volumes/projected/sources/secret/name
    kind: CronJob
  - path: spec/jobTemplate/spec/template/spec/containers/env/valueFrom/secretKeyRef/name
    kind: CronJob
  - path: spec/jobTemplate/spec/template/spec/initContainers/env/valueFrom/secretKeyRef/name
    kind: CronJob
  - path: spec/jobTemplate/spec/template/spec/containers/envFrom/secretRef/name
    kind: CronJob
  - path: spec/jobTemplate/spec/template/spec/initContainers/envFrom/secretRef/name
    kind: CronJob
  - path: spec/jobTemplate/spec/template/spec/imagePullSecrets/name
    kind: CronJob
  - path: spec/tls/secretName
    kind: Ingress
  - path: metadata/annotations/ingress.kubernetes.io\/auth-secret
    kind: Ingress
  - path: metadata/annotations/nginx.ingress.kubernetes.io\/auth-secret
    kind: Ingress
  - path: metadata/annotations/nginx.ingress.kubernetes.io\/auth-tls-secret
    kind: Ingress
  - path: spec/tls/secretName
    kind: Ingress
  - path: imagePullSecrets/name
    kind: ServiceAccount
  - path: parameters/secretName
    kind: StorageClass
  - path: parameters/adminSecretName
    kind: StorageClass
  - path: parameters/userSecretName
    kind: StorageClass
  - path: parameters/secretRef
    kind: StorageClass
  - path: rules/resourceNames
    kind: Role
  - path: rules/resourceNames
    kind: ClusterRole
  - path: spec/template/spec/containers/env/valueFrom/secretKeyRef/name
    kind: Service
    group: serving.knative.dev
    version: v1
  - path: spec/azureFile/secretName
    kind: PersistentVolume

- kind: Service
  version: v1
  fieldSpecs:
  - path: spec/serviceName
    kind: StatefulSet
    group: apps
  - path: spec/rules/http/paths/backend/serviceName
    kind: Ingress
  - path: spec/backend/serviceName
    kind: Ingress
  - path: spec/rules/http/paths/backend/service/name
    kind: Ingress
  - path: spec/defaultBackend/service/name
    kind: Ingress
  - path: spec/service/name
    kind: APIService
    group: apiregistration.k8s.io
  - path: webhooks/clientConfig/service
    kind: ValidatingWebhookConfiguration
    group: admissionregistration.k8s.io
  - path: webhooks/clientConfig/service
    kind: MutatingWebhookConfiguration
    group: admissionregistration.k8s.io

- kind: Role
  group: rbac.authorization.k8s.io
  fieldSpecs:
  - path: roleRef/name
    kind: RoleBinding
    group: rbac.authorization.k8s.io

- kind: ClusterRole
  group: rbac.authorization.k8s.io
  fieldSpecs:
  - path: roleRef/name
    kind: RoleBinding
    group: rbac.authorization.k8s.io
  - path: roleRef/name
    kind: ClusterRoleBinding
    group: rbac.authorization.k8s.io

- kind: ServiceAccount
  version: v1
  fieldSpecs:
  - path: subjects
    kind: RoleBinding
    group: rbac.authorization.k8s.io
  - path: subjects
    kind: ClusterRoleBinding
    group: rbac.authorization.k8s.io
  - path: spec/serviceAccountName
    kind: Pod
  - path: spec/template/spec/serviceAccountName
    kind: StatefulSet
  - path: spec/template/spec/serviceAccountName
    kind: Deployment
  - path: spec/template/spec/serviceAccountName
    kind: ReplicationController
  - path: spec/jobTemplate/spec/template/spec/serviceAccountName
    kind: CronJob
  - path: spec/template/spec/serviceAccountName
    kind: Job
  - path: spec/template/spec/serviceAccountName
    kind: DaemonSet

- kind: PersistentVolumeClaim
  version: v1
  fieldSpecs:
  - path: spec/volumes/persistentVolumeClaim/claimName
    kind: Pod
  - path: spec/template/spec/volumes/persistentVolumeClaim/claimName
    kind: StatefulSet
  - path: spec/template/spec/volumes/persistentVolumeClaim/claimName
    kind: Deployment
  - path: spec/template/spec/volumes/persistentVolumeClaim/claimName
    kind: ReplicationController
  - path: spec/jobTemplate/spec/template/spec/volumes/persistentVolumeClaim/claimName
    kind: CronJob
  - path: spec/template/spec/volumes/persistentVolumeClaim/claimName
    kind: Job
  - path: spec/template/spec/volumes/persistentVolumeClaim/claimName
    kind: DaemonSet

- kind: PersistentVolume
  version: v1
  fieldSpecs:
  - path: spec/volumeName
    kind: PersistentVolumeClaim
  - path: rules/resourceNames
    kind: ClusterRole

- kind: StorageClass
  version: v1
  group: storage.k8s.io
  fieldSpecs:
  - path: spec/storageClassName
    kind: PersistentVolume
  - path: spec/storageClassName
    kind: PersistentVolumeClaim
  - path: spec/volumeClaimTemplates/spec/storageClassName
    kind: StatefulSet

- kind: PriorityClass
  version: v1
  group: scheduling.k8s.io
  fieldSpecs:
  - path: spec/priorityClassName
    kind: Pod
  - path: spec/template/spec/priorityClassName
    kind: StatefulSet
  - path: spec/template/spec/priorityClassName
    kind: Deployment
  - path: spec/template/spec/priorityClassName
    kind: ReplicationController
  - path: spec/jobTemplate/spec/template/spec/priorityClassName
    kind: CronJob
  - path: spec/template/spec/priorityClassName
    kind: Job
  - path: spec/template/spec/priorityClassName
    kind: DaemonSet

- kind: IngressClass
  version: v1
  group: networking.k8s.io/v1
  fieldSpecs:
  - path: spec/ingressClassName
    kind: Ingress

- kind: ValidatingAdmissionPolicy
  group: admissionregistration.k8s.io
  fieldSpecs:
  - path: spec/policyName
    kind: ValidatingAdmissionPolicyBinding
    group: admissionregistration.k8s.io


images:
- path: spec/containers[]/image
  create: true
- path: spec/initContainers[]/image
  create: true
- path: spec/volumes[]/image/reference
  create: true
- path: spec/template/spec/containers[]/image
  create: true
- path: spec/template/spec/initContainers[]/image
  create: true
- path: spec/template/spec/volumes[]/image/reference
  create: true


replicas:
- path: spec/replicas
  create: true
  kind: Deployment

- path: spec/replicas
  create: true
  kind: ReplicationController

- path: spec/replicas
  create: true
  kind: ReplicaSet

- path: spec/replicas
  create: true
  kind: StatefulSet
"""
