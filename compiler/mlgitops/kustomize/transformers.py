"""Kustomize's built-in transformers: namespace, prefix/suffix, labels, annotations, images, replicas.

Each one walks the fields its field specs name (`fieldspec.Filter` in kustomize: a path
element reaching a list applies to every item, `name[]` marks a list that is never created,
missing mappings are created only when the spec says `create: true`) and sets them.

Also here: `Tracked`, the resource with the build-time facts kustomize keeps in internal
annotations (previous ids, prefixes and suffixes added, hash suffix, generator behaviour),
and the resource id helpers every stage shares (`cur_id`, `prev_ids`, `org_id`).
"""

from __future__ import annotations

import dataclasses
import functools
import re
from typing import Any, Callable, Iterable

from .fieldspecs import (_CLUSTER_SCOPED as _CLUSTER, FieldSpec, TOTALLY_NOT_A_NAMESPACE, effective_namespace,
                         gvk_selected, is_cluster_scoped, split_group_version, split_path)
from .loader import QuotedStr
from .resource import Resource


class TransformError(Exception):
    """A transformer could not apply; the engine reports it at the kustomization field."""


# --- resources and their ids --------------------------------------------------------------------

@dataclasses.dataclass(eq=False)
class Tracked(Resource):
    """A Resource plus kustomize's build annotations (which never reach the output)."""

    # (kind, name, namespace as kustomize stores it: the *effective* namespace at that time)
    prev: list[tuple[str, str, str]] = dataclasses.field(default_factory=list)
    prefixes: list = dataclasses.field(default_factory=list)
    suffixes: list = dataclasses.field(default_factory=list)
    allow_name_change: bool = False  # patches only
    allow_kind_change: bool = False
    # kyaml shares one YAML node between every label/annotation entry that one transformer run
    # creates for one key in one object (metadata.labels.k, spec.selector.k, ...): a later write
    # to one of them (a label set again, a strategic merge patch) changes them all. Each group
    # lists the paths (from the object's root) of entries that share a node.
    aliases: list = dataclasses.field(default_factory=list)
    # labels and annotations whose value is null, by (field, key): the text it was written with
    # ("", "~", "null"), which is what kustomize makes of it when it turns them into strings
    null_texts: dict = dataclasses.field(default_factory=dict)
    # paths of nulls written as nothing (`key:`), which a strategic merge patch drops
    empty_nulls: list = dataclasses.field(default_factory=list)

    # Identity semantics: two objects with equal content are still two resources.
    __eq__ = object.__eq__
    __hash__ = object.__hash__


def go_str(value: Any) -> str:
    """The text of a scalar node, as kyaml reads it (`node.YNode().Value`)."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return repr(value)
    return str(value)


def meta(obj: dict) -> dict:
    m = obj.get("metadata")
    return m if isinstance(m, dict) else {}


def obj_name(obj: dict) -> str:
    return go_str(meta(obj).get("name"))


def obj_namespace(obj: dict) -> str:
    return go_str(meta(obj).get("namespace"))


def obj_gvk(obj: dict) -> tuple[str, str, str]:
    group, version = split_group_version(go_str(obj.get("apiVersion")))
    return group, version, go_str(obj.get("kind"))


# (group, version, kind, name, effective namespace): kustomize's resid.ResId
ResId = tuple[str, str, str, str, str]


def cur_id(r: Resource) -> ResId:
    """(group, version, kind, name, effective namespace): resid.ResId compared with Equals."""
    obj = r.obj
    api = obj.get("apiVersion")
    if type(api) is not str:
        api = go_str(api)
    kind = obj.get("kind")
    if type(kind) is not str:
        kind = go_str(kind)
    group, sep, version = api.partition("/")
    if not sep:
        group, version = "", api
    m = obj.get("metadata")
    if type(m) is dict:
        name, ns = m.get("name"), m.get("namespace")
        if type(name) is not str:
            name = go_str(name)
        if type(ns) is not str:
            ns = go_str(ns)
    else:
        name = ns = ""
    if (api, kind) in _CLUSTER:
        ns = TOTALLY_NOT_A_NAMESPACE
    elif ns == "" or ns == "default":
        ns = "default"
    return (group, version, kind, name, ns)


def prev_ids(r: Tracked) -> list[ResId]:
    """utils.PrevIds: previous ids use the current group/version and are never cluster-scoped."""
    if not r.prev:
        return []
    group, version, _ = obj_gvk(r.obj)
    return [(group, version, kind, name, effective_namespace(ns, False)) for kind, name, ns in r.prev]


def any_ids(r: Tracked) -> list[ResId]:
    return prev_ids(r) + [cur_id(r)]


def org_id(r: Tracked) -> ResId:
    if r.prev:
        return prev_ids(r)[0]
    return cur_id(r)


def store_previous_id(r: Tracked) -> None:
    """Resource.StorePreviousId: remember the current kind, name and effective namespace."""
    kind_name_ns = cur_id(r)
    r.prev.append((kind_name_ns[2], kind_name_ns[3], kind_name_ns[4]))
    r.previous.append((r.name, r.namespace))


def id_str(rid: ResId) -> str:
    group, version, kind, name, ns = rid
    gvk = "/".join(p for p in (group, version) if p)
    where = "" if ns in ("default", TOTALLY_NOT_A_NAMESPACE) else f"{ns}/"
    return f"{gvk} {kind} {where}{name}"


# --- the field-spec walker ----------------------------------------------------------------------

Setter = Callable[[Any, Any], None]  # setter(container, key): read and write container[key]

_SCALAR, _MAP, _SEQ = "scalar", "map", "seq"


@functools.lru_cache(maxsize=4096)
def _parts(path: str) -> tuple:
    out = []
    for part in split_path(path):
        if part.endswith("[]"):
            out.append((part[:-2], True))
        else:
            out.append((part, False))
    return tuple(out)


def spec_matches(spec: FieldSpec, obj: dict) -> bool:
    """fieldspec.isMatchGVK, against the object's current apiVersion and kind."""
    if not (spec.group or spec.version or spec.kind):
        return True
    group, version, kind = obj_gvk(obj)
    return gvk_selected(group, version, kind, spec.group, spec.version, spec.kind)


def get_path(obj: Any, path: tuple) -> Any:
    """The value at `path`, or ABSENT."""
    for part in path:
        if isinstance(obj, dict):
            if part not in obj:
                return ABSENT
            obj = obj[part]
        elif isinstance(obj, list) and isinstance(part, int) and 0 <= part < len(obj):
            obj = obj[part]
        else:
            return ABSENT
    return obj


def set_path(obj: Any, path: tuple, value: Any) -> bool:
    parent = get_path(obj, path[:-1])
    if isinstance(parent, dict) and path[-1] in parent:
        parent[path[-1]] = value
        return True
    return False


class _Absent:
    def __repr__(self) -> str:
        return "<absent>"


ABSENT = _Absent()


def propagate_aliases(r: Tracked, before: list | None = None) -> None:
    """Write shared values the way kyaml does: a value written at one path of an alias group
    reaches every path of the group. `before`: the group values before a change to the whole
    object (a strategic merge patch); without it nothing is compared (see write_shared)."""
    if before is None or not r.aliases:
        return
    groups = []
    for group, old in zip(r.aliases, before):
        now = [get_path(r.obj, path) for path in group]
        kept = [(path, value, was) for path, value, was in zip(group, now, old) if value is not ABSENT]
        changed = [value for _, value, was in kept if value != was]
        if changed:
            for path, _, _ in kept:
                set_path(r.obj, path, changed[0])
        paths = [path for path, _, _ in kept]
        if len(paths) > 1:
            groups.append(paths)
    r.aliases = groups


def alias_snapshot(r: Tracked) -> list | None:
    if not r.aliases:
        return None
    return [[get_path(r.obj, path) for path in group] for group in r.aliases]


def write_shared(r: Tracked, path: tuple, value: Any) -> None:
    """Set an existing entry; the value reaches every entry sharing its node."""
    set_path(r.obj, path, value)
    for group in r.aliases:
        if path in group:
            for other in group:
                if other != path:
                    set_path(r.obj, other, value)


def iter_fieldspec(obj: dict, spec: FieldSpec, create_kind: str | None):
    """(container, key, path) of every node the spec reaches, creating like apply_fieldspec."""
    found: list = []

    def record(container: Any, key_path: Any) -> None:
        key, path = key_path
        found.append((container, key, path))

    if not spec_matches(spec, obj):
        return []
    parts = _parts(spec.path)
    if not parts:
        return []
    try:
        _walk([obj], 0, parts, 0, spec.create, record, create_kind, (None,))
    except TransformError as exc:
        raise TransformError(f"considering field '{spec.path}' of object {_describe(obj)}: {exc}") from None
    return found


def apply_fieldspec(obj: dict, spec: FieldSpec, setter: Setter, create_kind: str | None) -> None:
    """fieldspec.Filter: call `setter` on every node the spec's path reaches in `obj`.

    `create_kind` is what the transformer creates at the end of a missing path when the spec
    says `create: true` (None: the transformer never creates, like name references).
    """
    if not spec_matches(spec, obj):
        return
    parts = _parts(spec.path)
    if not parts:
        return
    try:
        _walk([obj], 0, parts, 0, spec.create, setter, create_kind)
    except TransformError as exc:
        raise TransformError(f"considering field '{spec.path}' of object {_describe(obj)}: {exc}") from None


def _describe(obj: dict) -> str:
    group, version, kind = obj_gvk(obj)
    gvk = "/".join(p for p in (group, version) if p)
    ns = obj_namespace(obj)
    return f"{gvk} {kind} {ns + '/' if ns else ''}{obj_name(obj)}"


def _new(kind: str) -> Any:
    if kind == _MAP:
        return {}
    if kind == _SEQ:
        return []
    return ""


def _walk(parent: Any, key: Any, parts: tuple, i: int, create: bool, setter: Setter,
          create_kind: str | None, path: tuple | None = None) -> None:
    if i == len(parts):
        if path is None:
            setter(parent, key)
        else:
            setter(parent, (key, path))
        return
    value = parent[key]
    if value is None:
        return
    if isinstance(value, list):
        for j in range(len(value)):
            _walk(value, j, parts, i, create, setter, create_kind, None if path is None else path + (j,))
        return
    if not isinstance(value, dict):
        raise TransformError("expected sequence or mapping node")
    name, is_seq = parts[i]
    if not name:
        raise TransformError("cannot set or create an empty field name")
    kind: str | None
    if not create or create_kind is None or is_seq:
        if name not in value:
            return
        kind = _SEQ if is_seq else None
    elif i + 1 == len(parts):
        kind = create_kind
        if name not in value:
            value[name] = _new(kind)
    else:
        kind = _MAP
        if name not in value:
            value[name] = {}
    if value[name] is None and kind is not None:
        value[name] = _new(kind)
    _walk(value, name, parts, i + 1, create, setter, create_kind, None if path is None else path + (name,))


def _scalar_only(value: Any, what: str) -> None:
    if isinstance(value, (dict, list)):
        kind = "mapping" if isinstance(value, dict) else "sequence"
        raise TransformError(f"{what} must be a scalar, found a {kind}")


# --- namespace ----------------------------------------------------------------------------------

_ROLE_BINDINGS = ("RoleBinding", "ClusterRoleBinding")


def set_namespace(resources: list[Tracked], namespace: str, specs: Iterable[FieldSpec]) -> None:
    """builtins.NamespaceTransformerPlugin with kustomize's defaults (not unsetOnly, subjects
    named `default` only)."""
    if not namespace:
        return
    specs = tuple(specs)

    def set_ns(container: Any, key: Any) -> None:
        _scalar_only(container[key], "namespace field specs must target scalar nodes; the field")
        container[key] = namespace

    counts: dict[tuple, int] = {}
    for r in resources:
        rid = cur_id(r)
        counts[rid] = counts.get(rid, 0) + 1
    meta_spec = FieldSpec(path="metadata/namespace", create=True)
    for r in resources:
        before = cur_id(r)
        store_previous_id(r)
        obj = r.obj
        api = go_str(obj.get("apiVersion"))
        kind = go_str(obj.get("kind"))
        fss = [s for s in specs
               if s.path != "metadata/namespace" and not (api != "v1" and s.path == "metadata/name")]
        try:
            if not is_cluster_scoped(api, kind):
                apply_fieldspec(obj, meta_spec, set_ns, _SCALAR)
            if kind in _ROLE_BINDINGS:
                fss = [s for s in fss if not (s.kind in _ROLE_BINDINGS and s.path == "subjects/namespace")]
                subjects = obj.get("subjects")
                if subjects is not None:
                    if not isinstance(subjects, list):
                        raise TransformError("setting namespace on (cluster)role binding subjects: "
                                             "'subjects' must be a list")
                    for subject in subjects:
                        if isinstance(subject, dict) and subject.get("name") == "default":
                            if subject.get("namespace") is None:
                                subject["namespace"] = ""
                            set_ns(subject, "namespace")
            for spec in fss:
                apply_fieldspec(obj, spec, set_ns, _SCALAR)
        except TransformError as exc:
            raise TransformError(f"namespace transformation failed: {exc}") from None
        after = cur_id(r)
        if after != before:
            counts[before] -= 1
            counts[after] = counts.get(after, 0) + 1
        if counts[after] != 1:
            raise TransformError(f"namespace transformation produces an id conflict: "
                                 f"more than one {id_str(after)}")


# --- namePrefix / nameSuffix --------------------------------------------------------------------

_PREFIX_SKIP = (("", "", "CustomResourceDefinition"), ("apiregistration.k8s.io", "", "APIService"),
                ("", "", "Namespace"))


def add_name_affix(resources: list[Tracked], affix: str, specs: Iterable[FieldSpec], *, suffix: bool) -> None:
    """builtins.PrefixTransformerPlugin / SuffixTransformerPlugin."""
    specs = tuple(specs)

    def setter(container: Any, key: Any) -> None:
        value = container[key]
        _scalar_only(value, "the name field")
        container[key] = go_str(value) + affix if suffix else affix + go_str(value)

    for r in resources:
        group, version, kind, _, _ = org_id(r)
        if any(gvk_selected(group, version, kind, *skip) for skip in _PREFIX_SKIP):
            continue
        for spec in specs:
            if not gvk_selected(group, version, kind, spec.group, spec.version, spec.kind):
                continue
            if spec.path == "metadata/name":
                (r.suffixes if suffix else r.prefixes).append(affix)
                if affix:
                    store_previous_id(r)
            apply_fieldspec(r.obj, spec, setter, _SCALAR)


# --- labels and annotations ---------------------------------------------------------------------

def _go_sorted(keys: Iterable[str]) -> list[str]:
    """Go sort.Strings: byte order of the UTF-8 encoding."""
    return sorted(keys, key=lambda k: k.encode("utf-8"))


def add_map_entries(resources: list[Tracked], entries: dict[str, str], specs: Iterable[FieldSpec]) -> None:
    """filters/labels and filters/annotations: set each entry in every map the specs reach.

    Entries created in one object for one key share one node (see Tracked.aliases); setting an
    entry that exists writes into its node, reaching whatever shares it."""
    if not entries:
        return
    specs = tuple(specs)
    keys = _go_sorted(entries)
    for r in resources:
        for key in keys:
            value = entries[key]
            created: list = []
            for spec in specs:
                for container, k, path in iter_fieldspec(r.obj, spec, _MAP):
                    target = container[k]
                    if target is None:
                        continue
                    if not isinstance(target, dict):
                        raise TransformError(f"considering field '{spec.path}' of object {_describe(r.obj)}: "
                                             "wrong node kind: expected a mapping")
                    where = path[1:] + (key,)
                    if key in target:
                        write_shared(r, where, value)
                    else:
                        target[key] = value
                        created.append(where)
            if len(created) > 1:
                r.aliases.append(created)


# --- images -------------------------------------------------------------------------------------

def _split_image(image: str) -> tuple[str, str, str]:
    """internal/image.Split: (name, tag, digest)."""
    search = image
    slash = image.find("/")
    if slash > 0:
        search = image[slash:]
    else:
        slash = 0
    at = search.find("@")
    colon = search.find(":")
    if colon < 0 and at < 0:
        return image, "", ""
    if at >= 0 and (at < colon or colon < 0):
        at += slash
        return image[:at], "", image[at:].removeprefix("@")
    if at >= 0 and colon >= 0:
        at += slash
        colon += slash
        return image[:colon], image[colon:at].removeprefix(":"), image[at:].removeprefix("@")
    colon += slash
    return image[:colon], image[colon:].removeprefix(":"), ""


@functools.lru_cache(maxsize=256)
def _image_pattern(name: str) -> re.Pattern | None:
    try:
        return re.compile("^" + name + r"(:[a-zA-Z0-9_.{}-]*)?(@sha256:[a-zA-Z0-9_.{}-]*)?\Z")
    except re.error:
        return None


def image_updater(image: dict) -> Callable[[Any], Any]:
    """filters/imagetag imageTagUpdater.SetImageValue as a value -> new value function
    (returns the value unchanged when the image does not match)."""
    name = image.get("name") or ""
    new_name = image.get("newName") or ""
    new_tag = image.get("newTag") or ""
    digest_new = image.get("digest") or ""
    tag_suffix = image.get("tagSuffix") or ""
    pattern = _image_pattern(name)

    def update(value: Any) -> Any:
        text = go_str(value)
        if pattern is None or not pattern.match(text):
            return value
        img, tag, digest = _split_image(text)
        if new_name:
            img = new_name
        if new_tag and digest_new:
            tag, digest = new_tag, digest_new
        elif new_tag:
            tag, digest = new_tag, ""
        elif digest_new:
            tag, digest = "", digest_new
        elif tag_suffix:
            tag, digest = tag + tag_suffix, ""
        if tag:
            img += ":" + tag
        if digest:
            img += "@" + digest
        return img

    return update


def set_images(resources: list[Tracked], image: dict, specs: Iterable[FieldSpec]) -> None:
    """builtins.ImageTagTransformerPlugin: the legacy walk over every `containers` and
    `initContainers` list, then the image field specs (both run; a tagSuffix applies twice,
    as in kustomize)."""
    specs = tuple(specs)
    update = image_updater(image)

    def setter(container: Any, key: Any) -> None:
        value = container[key]
        _scalar_only(value, "an image field")
        container[key] = update(value)

    for r in resources:
        if r.obj.get("kind") == "CustomResourceDefinition":
            continue
        _legacy_images(r.obj, setter)
    for r in resources:
        if r.obj.get("kind") == "CustomResourceDefinition":
            continue
        for spec in specs:
            apply_fieldspec(r.obj, spec, setter, None)


def _legacy_images(node: Any, setter: Setter) -> None:
    if isinstance(node, dict):
        for key, value in list(node.items()):
            _legacy_images(value, setter)
            if key in ("containers", "initContainers") and isinstance(value, list):
                for item in value:
                    if item is None:
                        continue
                    if not isinstance(item, dict):
                        raise TransformError(f"items of '{key}' must be mappings")
                    if "image" in item:
                        setter(item, "image")
    elif isinstance(node, list):
        for item in node:
            _legacy_images(item, setter)


# --- replicas -----------------------------------------------------------------------------------

def _is_quoted(value: Any) -> bool:
    return isinstance(value, QuotedStr)


def set_replicas(resources: list[Tracked], name: str, count: int, specs: Iterable[FieldSpec]) -> None:
    """builtins.ReplicaCountTransformerPlugin: matches current and previous names."""
    specs = tuple(specs)

    def setter(container: Any, key: Any) -> None:
        _scalar_only(container[key], "the replicas field")
        # kyaml keeps the quoting of the field it writes into: "3" patched with 5 is "5"
        container[key] = type(container[key])(count) if _is_quoted(container[key]) else count

    found = False
    for spec in specs:
        matched = [r for r in resources
                   if any(rid[3] == name and gvk_selected(rid[0], rid[1], rid[2], spec.group, spec.version, spec.kind)
                          for rid in any_ids(r))]
        if matched:
            found = True
            for r in matched:
                apply_fieldspec(r.obj, spec, setter, _SCALAR)
    if not found:
        kinds = sorted({s.kind or "any kind" for s in specs})
        raise TransformError(f"no resource named '{name}' of a kind with replicas ({', '.join(kinds)})")
