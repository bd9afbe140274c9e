"""render(path): what `kubectl kustomize path` (kustomize v5.8.1) prints, in Python.

The build follows kustomize's `KustTarget` (api/internal/target/kusttarget.go):

1. accumulate `resources` (files, and directories that are fully built kustomizations of their
   own), then merge the transformer configuration (built-in field specs, `configurations:`,
   `crds:`), run the generators (`configMapGenerator`, `secretGenerator`; `behavior: merge`
   and `replace` fold into an existing object), then apply the `components` (each one sees and
   changes everything accumulated so far), then this kustomization's transformers in
   kustomize's order: patchesStrategicMerge, patches, namespace, namePrefix, nameSuffix,
   labels and commonLabels, commonAnnotations, patchesJson6902, replicas, images;
2. at the top only: content-hash suffixes on generated ConfigMaps and Secrets, then name
   references (every `nameReference` field spec of every kustomization and component in the
   build) follow renamed objects, objects annotated `config.kubernetes.io/local-config` are
   dropped, the result is sorted (legacy kind order unless `sortOptions` says otherwise) and
   kustomize's own build annotations are removed (annotation values become strings, an empty
   `annotations` disappears).

Ids are compared as kustomize does: group, version, kind, name and *effective* namespace
(none = `default`; cluster-scoped kinds have none), and an object keeps every id it had, so
patches, generators with `behavior` and `replicas` find it by an older name too. Two objects
with the same id are an error.

kustomize works on YAML nodes (kyaml), and some of its results follow from that; the engine
reproduces the ones that show in output:
* label/annotation entries created in one object by one transformer run share one node, so
  setting one of them later (a label without selectors, a strategic merge patch) sets them all,
  until a JSON patch rebuilds the object (Tracked.aliases);
* writing into a quoted scalar keeps the quotes (`maxUnavailable: "25%"` patched with `1`, or
  `replicas: "3"` with `replicas:`, give strings); strings of JSON files are quoted;
* a patch with a `target` first turns its own labels and annotations into strings (`key: null`
  becomes "null" instead of deleting the entry);
* a strategic merge patch drops nulls written as nothing (`key:`) from the object it patches;
* annotation values come out as the text they were written with (`1.10`, `2026-01-02`, `~`);
* a file holding exactly one `kind: List` is unwrapped by the reader (items in place, as
  written); other `*List` objects are re-read from JSON and their items go last.
"""

from __future__ import annotations

import dataclasses
import gc
import os
import re
from typing import Any, Callable, NoReturn, Sequence

from ..emit import dump_all, go_format_float
from ..yamlsource import load_yaml
from . import generators, jsonpatch
from .errors import RenderError
from .fieldspecs import (EMPTY_CONFIG, ConfigError, FieldSpec, TransformerConfig, config_from_crds, default_config,
                         fs_merge_all, fs_merge_one, parse_config)
from .memo import Memo
from .loader import (RULE_INVALID, RULE_MISSING, RULE_RESOURCE, Entry, Kustomization, Loader, QuotedStr, copy_data,
                     find_repo_root, quoted_all, raw_text, resolve_v3_plain)
from .namereference import fix_name_references
from .order import legacy_sort
from .resource import PatchRecord, Resource
from .transformers import (ABSENT, TransformError, Tracked, add_map_entries, add_name_affix, alias_snapshot, any_ids,
                           cur_id, get_path, go_str, id_str, org_id, propagate_aliases, set_images, set_namespace,
                           set_path, set_replicas, store_previous_id)

RULE_ID_CONFLICT = "render.id-conflict"
RULE_PATCH = "render.patch"
RULE_TRANSFORM = "render.transform"
RULE_GENERATOR = "render.generator"
RULE_NAME_REFERENCE = "render.name-reference"
RULE_CONFIG = "render.invalid-configuration"

__all__ = ["render", "render_objects", "render_yaml", "RenderError"]

# Annotations kustomize uses internally and removes from its output (resource.BuildAnnotations,
# origin and transformer annotations).
_BUILD_ANNOTATIONS = frozenset({
    "internal.config.kubernetes.io/previousKinds", "internal.config.kubernetes.io/previousNames",
    "internal.config.kubernetes.io/prefixes", "internal.config.kubernetes.io/suffixes",
    "internal.config.kubernetes.io/previousNamespaces", "internal.config.kubernetes.io/allowNameChange",
    "internal.config.kubernetes.io/allowKindChange", "internal.config.kubernetes.io/refBy",
    "internal.config.kubernetes.io/generatorBehavior", "internal.config.kubernetes.io/needsHashSuffix",
    "internal.config.kubernetes.io/path", "internal.config.kubernetes.io/index",
    "internal.config.kubernetes.io/seqindent", "internal.config.kubernetes.io/id",
    "internal.config.kubernetes.io/annotations-migration-resource-id",
    "config.kubernetes.io/path", "config.kubernetes.io/index", "config.k8s.io/id",
    "internal.config.kubernetes.io/helm-generated",
    "config.kubernetes.io/origin", "alpha.config.kubernetes.io/transformations",
})
_LOCAL_CONFIG = "config.kubernetes.io/local-config"
_NEEDS_HASH = "internal.config.kubernetes.io/needsHashSuffix"
_READER_LISTS = ("List", "ResourceList")


# --- public API -------------------------------------------------------------------------------------

def render(path: str, *, repo_root: str | None = None, max_file_bytes: int | None = None) -> Sequence[Resource]:
    """Build the kustomization in directory `path`; the objects in `kubectl kustomize` order.

    `repo_root`: files outside it are refused, also through symbolic links (default: the nearest
    directory above `path` holding .git or mlgitops.yaml). Every file is read through contain.py
    (regular files only, at most `max_file_bytes`, default its "resource" limit). Raises
    RenderError (file, line, column, rule) for every problem, including kustomization fields the
    engine does not implement. What depends only on a file's text (its parse, a decoded
    kustomization) is memoised per process by that text (memo.py): a file is read on every call,
    and an edited file is never answered from the memo.

    Python's cyclic garbage collector is paused during the build: it builds many small,
    acyclic objects, and the collector's passes over them cost about a tenth of the time."""
    if not gc.isenabled():
        return _Build(path, repo_root, max_file_bytes).run()
    gc.disable()
    try:
        return _Build(path, repo_root, max_file_bytes).run()
    finally:
        gc.enable()


def render_objects(path: str, *, repo_root: str | None = None) -> list[dict]:
    """render(), as plain data (dict/list/str/int/float/bool/None)."""
    return [r.obj for r in render(path, repo_root=repo_root)]


def render_yaml(path: str, *, repo_root: str | None = None) -> str:
    """The YAML stream `kubectl kustomize path` prints."""
    return dump_all(render_objects(path, repo_root=repo_root), sort_keys=True)


# --- the build ----------------------------------------------------------------------------------------

@dataclasses.dataclass
class _Acc:
    """kustomize's ResAccumulator: the resources so far and the merged transformer config."""

    resources: list
    config: TransformerConfig


def _same(value: Any) -> Any:
    return value


def _empty(obj: Any) -> bool:
    return obj is None or obj == {} or obj == []


def _unraw(value: Any) -> Any:
    """Plain data without the YAML reader's source-text memos (as after a JSON round trip)."""
    if isinstance(value, dict):
        return {k: _unraw(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unraw(v) for v in value]
    if raw_text(value) is not None:
        if isinstance(value, str):
            return str.__str__(value)
        if isinstance(value, bool):  # pragma: no cover - bools are never wrapped
            return value
        if isinstance(value, int):
            return int(value)
        if isinstance(value, float):
            return float(value)
    return value


# The transformer configuration read from a `configurations:` or `crds:` document (by the parse
# function and the document, which the loader's memo keeps while its text is unchanged).
_CONFIGS = Memo(max_entries=256, max_weight=256)


class _Build:
    def __init__(self, path: str, repo_root: str | None, max_file_bytes: int | None = None) -> None:
        self.path = path
        root = repo_root if repo_root is not None else find_repo_root(path if os.path.exists(path) else ".")
        self.loader = Loader(root, max_file_bytes)
        # kyaml's global schema (openapi.SetSchema): the first custom schema met (top first, then
        # bases and components as they are loaded) applies to every later strategic merge
        self.openapi: Any = None
        self.merged = False  # a strategic merge ran (kyaml parsed its built-in schema)
        self.records: dict[int, PatchRecord] = {}  # id(strategic merge patch object) -> its record
        self.top: Kustomization | None = None  # the kustomization being built

    # entry point ----------------------------------------------------------------------------------
    def run(self) -> list[Tracked]:
        loader = self.loader
        top = loader.realpath(self.path)
        if not os.path.exists(top):
            raise RenderError(self.path, 0, 0, RULE_MISSING, f"{self.path} does not exist")
        if not os.path.isdir(top):
            raise RenderError(loader.display(top), 0, 0, RULE_INVALID,
                              "must build at a directory (the one holding the kustomization file)")
        if not top.startswith(loader.repo_root.rstrip(os.sep) + os.sep) and top != loader.repo_root:
            raise RenderError(self.path, 0, 0, "render.outside-repo",
                              f"{self.path} is outside the repository {loader.repo_root}")
        kust = self.top = loader.load(top)
        self.set_openapi(kust)
        sort = kust.sort_options() or {"order": "legacy"}
        acc = self.accumulate(kust, _Acc([], EMPTY_CONFIG), (top,))
        resources = acc.resources
        for r in resources:
            if r.needs_hash:
                try:
                    suffix = generators.hash_suffix(r.obj)
                except ValueError as exc:
                    raise RenderError(r.source, r.line, 1, RULE_GENERATOR, f"content hash of {r.name}: {exc}") \
                        from None
                store_previous_id(r)
                r.obj.setdefault("metadata", {})["name"] = f"{r.name}-{suffix}"
        try:
            fix_name_references(resources, acc.config.name_reference)
        except TransformError as exc:
            raise self._resource_error(resources, exc) from None
        resources = [r for r in resources if not _local_config(r.obj)]
        if sort.get("order") == "legacy":
            legacy = sort.get("legacySortOptions")
            if legacy is not None:
                resources = legacy_sort(resources, legacy.get("orderFirst") or (), legacy.get("orderLast") or ())
            else:
                resources = legacy_sort(resources)
        for r in resources:
            _finalize(r)
            r.obj = _plain(r.obj)
        return resources

    def _resource_error(self, resources: list[Tracked], exc: TransformError) -> RenderError:
        # name reference errors name the referrer; point at the file it came from
        text = str(exc)
        for r in resources:
            if id_str(cur_id(r)) in text:
                return RenderError(r.source, r.line, 1, RULE_NAME_REFERENCE, text)
        top = self.loader.load(self.loader.realpath(self.path))
        return RenderError(top.rel, 1, 1, RULE_NAME_REFERENCE, text)

    def set_openapi(self, kust: Kustomization) -> None:
        """openapi.SetSchema(kustomization.OpenAPI, ...): the file is read (and must exist) for
        every kustomization naming one, but only the first custom schema takes effect. It replaces
        the built-in schema unless a strategic merge already made kyaml parse that one."""
        document = self.loader.openapi_document(kust)
        if document is None or self.openapi is not None:
            return
        from .strategicmerge import OpenAPISchema
        self.openapi = OpenAPISchema(document, builtin=self.merged)

    # accumulation -------------------------------------------------------------------------------------
    def accumulate(self, kust: Kustomization, acc: _Acc, chain: tuple) -> _Acc:
        for entry in kust.resource_entries():
            self.add_resources(kust, entry, acc, chain)
        self.merge_configurations(kust, acc)
        self.run_generators(kust, acc)
        for entry in kust.entries("components"):
            directory = self.loader.resolve_dir(kust, entry, "component", chain)
            component = self.loader.load(directory, kust, entry, "component")
            self.set_openapi(component)
            if not component.is_component:
                raise kust.error(entry.path, RULE_INVALID,
                                 f"component '{entry.value}' is a {component.kind}; components must have "
                                 "kind: Component")
            self.accumulate(component, acc, chain + (directory,))
        self.run_transformers(kust, acc)
        return acc

    def add_resources(self, kust: Kustomization, entry: Entry, acc: _Acc, chain: tuple) -> None:
        loader = self.loader
        value = entry.value
        if not value:
            raise kust.error(entry.path, RULE_INVALID, "an empty resource path")
        joined = loader.realpath(os.path.join(kust.dir, value))
        if os.path.isdir(joined):
            directory = loader.resolve_dir(kust, entry, "resource", chain)
            sub = loader.load(directory, kust, entry, "resource")
            self.set_openapi(sub)
            if sub.is_component:
                raise kust.error(entry.path, RULE_INVALID,
                                 f"'{value}' is a Component: list it under components, not resources")
            sub_acc = self.accumulate(sub, _Acc([], EMPTY_CONFIG), chain + (directory,))
            self.append_all(kust, entry.path, acc, sub_acc.resources)
            try:
                acc.config = acc.config.merge(sub_acc.config)
            except ConfigError as exc:
                raise kust.error(entry.path, RULE_CONFIG, f"merging the configuration of '{value}': {exc}") from None
            return
        path = loader.resolve_file(kust, entry, "resource")  # a file (or a refused remote resource)
        self.append_all(kust, entry.path, acc, self.read_resources(kust, entry, path))

    def read_resources(self, kust: Kustomization, entry: Entry, path: str) -> list[Tracked]:
        """The objects of a resource file; `kind: *List` with `items` expand (after the file's
        other documents, as kustomize appends them)."""
        rel = self.loader.display(path)
        docs, pieces, first = self.loader.documents(kust, entry.path, path)
        # The top kustomization's own files are read by no other kustomization of the build (no
        # base or component is its directory or above it), and again by the top only within its
        # `resources` loop, before anything changes the objects read: their first reader may keep
        # the parsed documents instead of copying them.
        take = _same if first and kust is self.top and os.path.dirname(path) == kust.dir else copy_data
        queue = []
        for doc in docs:
            data = doc.data
            if pieces == 1 and len(docs) == 1 and isinstance(data, dict) and data.get("kind") in _READER_LISTS \
                    and ("items" in data or "functionConfig" in data):
                # kyaml's reader unwraps a file that is one List: the items, as written, in place
                items = data.get("items")
                if isinstance(items, list):
                    meta = doc.items or []
                    for j, item in enumerate(items):
                        line, nulls, empty = meta[j] if j < len(meta) else (doc.line, {}, ())
                        queue.append((line, take(item), nulls, empty))
                continue
            queue.append((doc.line, take(data), doc.nulls, doc.empty_nulls))
        out: list[Tracked] = []
        i = 0
        while i < len(queue):
            line, data, nulls, empty = queue[i]
            i += 1
            if _empty(data):
                continue
            where = f"{rel}:{line}"
            self._validate_object(kust, entry, data, where)
            kind = go_str(data.get("kind"))
            if kind.endswith("List") and "items" in data:
                items = data["items"]
                if items is None:
                    continue
                if not isinstance(items, list):
                    raise kust.error(entry.path, RULE_RESOURCE,
                                     f"{where}: expected a list in {kind}/items, found {type(items).__name__}")
                for item in items:
                    if _empty(item):
                        continue
                    queue.append((line, quoted_all(item), {}, ()))  # kustomize re-reads items as JSON
                continue
            r = Tracked(obj=data, source=rel, line=line, null_texts=dict(nulls), empty_nulls=list(empty))
            meta = data.get("metadata")
            annotations = meta.get("annotations") if isinstance(meta, dict) else None
            if isinstance(annotations, dict) and annotations.get(_NEEDS_HASH) == "enabled":
                r.needs_hash = True  # kustomize reads its own build annotation from any object
            out.append(r)
        return out

    def _validate_object(self, kust: Kustomization, entry: Entry, data: Any, where: str) -> None:
        if not isinstance(data, dict):
            raise kust.error(entry.path, RULE_RESOURCE,
                             f"{where}: a document must be a Kubernetes object (a mapping with kind and "
                             "metadata.name)")
        if not go_str(data.get("kind")) or isinstance(data.get("kind"), (dict, list)):
            raise kust.error(entry.path, RULE_RESOURCE, f"{where}: missing kind")
        kind = go_str(data.get("kind"))
        if kind.endswith("List"):
            return
        meta = data.get("metadata")
        name = meta.get("name") if isinstance(meta, dict) else None
        if name is None or isinstance(name, (dict, list)) or go_str(name) == "":
            raise kust.error(entry.path, RULE_RESOURCE, f"{where}: missing metadata.name in {kind}")

    def append_all(self, kust: Kustomization, path: tuple, acc: _Acc, resources: list[Tracked]) -> None:
        """resWrangler.AppendAll: an object whose id is already registered is an error."""
        ids = {cur_id(r): r for r in acc.resources}
        for r in resources:
            rid = cur_id(r)
            if rid in ids:
                other = ids[rid]
                raise kust.error(path, RULE_ID_CONFLICT,
                                 f"may not add resource with an already registered id: {id_str(rid)} "
                                 f"({r.source}:{r.line} and {other.source}:{other.line})")
            ids[rid] = r
            acc.resources.append(r)

    # configuration --------------------------------------------------------------------------------------
    def merge_configurations(self, kust: Kustomization, acc: _Acc) -> None:
        config = default_config()
        entries = kust.entries("configurations")
        if entries:
            extra = self._config_from_files(kust, entries, "configuration file", parse_config, "")
            try:
                config = config.merge(extra)
            except ConfigError as exc:
                raise kust.error(kust.at("configurations"), RULE_CONFIG, str(exc)) from None
        try:
            acc.config = acc.config.merge(config)
        except ConfigError as exc:
            raise kust.error(kust.at("configurations"), RULE_CONFIG, str(exc)) from None
        crds = kust.entries("crds")
        if crds:
            crd_config = self._config_from_files(kust, crds, "crd file", config_from_crds,
                                                 "unable to parse open API definition: ")
            try:
                acc.config = acc.config.merge(crd_config)
            except ConfigError as exc:
                raise kust.error(kust.at("crds"), RULE_CONFIG, str(exc)) from None

    def _config_from_files(self, kust: Kustomization, entries: list, what: str,
                           parse: Callable[[Any], TransformerConfig], prefix: str) -> TransformerConfig:
        """Merge the transformer configurations read from `configurations:` or `crds:` files;
        a problem in one is reported at its own line."""
        merged = EMPTY_CONFIG
        for entry in entries:
            path = self.loader.resolve_file(kust, entry, what)
            doc = self.loader.source_document(kust, entry.path, path)
            config = _CONFIGS.get((parse, id(doc)))
            try:
                if config is None or config[0] is not doc:
                    config = (doc, parse(doc.data))
                    _CONFIGS.put((parse, id(doc)), config, 1)
                merged = merged.merge(config[1])
            except ConfigError as exc:
                line, col = doc.position(exc.path, key=True)
                raise RenderError(doc.path, line, col, RULE_CONFIG, f"{prefix}{exc}") from None
        return merged

    # generators -----------------------------------------------------------------------------------------
    def run_generators(self, kust: Kustomization, acc: _Acc) -> None:
        options = kust.get("generatorOptions")
        for field, make in (("configMapGenerator", generators.config_map), ("secretGenerator", generators.secret)):
            for i, args in enumerate(kust.get(field, [])):
                where = kust.at(field, i)
                read = self._generator_reader(kust, where, args)
                try:
                    obj = make(args, options, read)
                    needs_hash = generators.needs_hash_suffix(args, options)
                    behavior = generators.generation_behavior(args)
                except ValueError as exc:
                    raise kust.error(where, RULE_GENERATOR, f"{field}[{i}]: {exc}") from None
                line = kust.position(where)[0]
                generated = Tracked(obj=obj, source=kust.rel, line=line, needs_hash=needs_hash,
                                    generator_behavior=behavior)
                self.absorb(kust, where, acc, generated)

    def _generator_reader(self, kust: Kustomization, where: tuple, args: dict) -> Callable[[str], bytes]:
        def read(rel: str) -> bytes:
            path = where
            for field in ("envs", "files"):
                for j, source in enumerate(args.get(field) or []):
                    if isinstance(source, str) and (source == rel or source.endswith("=" + rel)):
                        path = where + (field, j)
            if args.get("env") == rel:
                path = where + ("env",)
            real = self.loader.resolve_file(kust, Entry(rel, path), "generator source file")
            return self.loader.read_bytes(real, kust, path)
        return read

    def absorb(self, kust: Kustomization, where: tuple, acc: _Acc, generated: Tracked) -> None:
        """resWrangler.appendReplaceOrMerge."""
        rid = cur_id(generated)
        matches = [r for r in acc.resources if rid in any_ids(r)]
        behavior = generated.generator_behavior or "unspecified"
        if len(matches) > 1:
            raise kust.error(where, RULE_GENERATOR,
                             f"found multiple objects that could accept the merge of {id_str(rid)}")
        existing = matches[0] if matches else None
        try:
            obj = generators.merge_generated(existing.obj if existing else None, generated.obj, behavior)
        except ValueError as exc:
            raise kust.error(where, RULE_GENERATOR, str(exc)) from None
        if existing is None:
            generated.obj = obj
            self.append_all(kust, where, acc, [generated])
            return
        merged = Tracked(obj=obj, source=generated.source, line=generated.line,
                         previous=list(existing.previous), prev=list(existing.prev), patches=list(existing.patches),
                         prefixes=list(existing.prefixes), suffixes=list(existing.suffixes),
                         needs_hash=generators.merged_needs_hash(existing.needs_hash, generated.needs_hash),
                         generator_behavior=existing.generator_behavior)
        acc.resources[acc.resources.index(existing)] = merged

    # transformers -----------------------------------------------------------------------------------------
    def run_transformers(self, kust: Kustomization, acc: _Acc) -> None:
        config = acc.config
        self.patches_strategic_merge(kust, acc)
        self.patches(kust, acc)
        namespace = kust.get("namespace")
        if namespace:
            self._transform(kust, "namespace", set_namespace, acc.resources, namespace, config.namespace)
        if kust.get("namePrefix"):
            self._transform(kust, "namePrefix", add_name_affix, acc.resources, kust.get("namePrefix"),
                            config.name_prefix, suffix=False)
        if kust.get("nameSuffix"):
            self._transform(kust, "nameSuffix", add_name_affix, acc.resources, kust.get("nameSuffix"),
                            config.name_suffix, suffix=True)
        self.labels(kust, acc)
        annotations = kust.get("commonAnnotations")
        if annotations:
            self._transform(kust, "commonAnnotations", add_map_entries, acc.resources, annotations,
                            config.common_annotations)
        self.patches_json6902(kust, acc)
        for i, replica in enumerate(kust.get("replicas", [])):
            self._transform(kust, ("replicas", i), set_replicas, acc.resources, replica.get("name") or "",
                            replica.get("count") or 0, config.replicas)
        for i, image in enumerate(kust.get("images", [])):
            self._transform(kust, ("images", i), set_images, acc.resources, image, config.images)
        for i, image in enumerate(kust.get("imageTags", [])):
            self._transform(kust, ("imageTags", i), set_images, acc.resources, image, config.images)

    def _transform(self, kust: Kustomization, field: Any, fn: Callable, *args: Any, **kwargs: Any) -> None:
        path = kust.at(*field) if isinstance(field, tuple) else kust.at(field)
        try:
            fn(*args, **kwargs)
        except TransformError as exc:
            raise kust.error(path, RULE_TRANSFORM, str(exc)) from None

    def labels(self, kust: Kustomization, acc: _Acc) -> None:
        config = acc.config
        for i, label in enumerate(kust.get("labels", [])):
            where = kust.at("labels", i)
            fields = [FieldSpec(f.get("group") or "", f.get("version") or "", f.get("kind") or "",
                                f.get("path") or "", bool(f.get("create"))) for f in label.get("fields") or []]
            try:
                specs = fs_merge_all(fields, config.labels)
                if label.get("includeSelectors"):
                    specs = fs_merge_all(specs, config.common_labels)
                else:
                    if label.get("includeTemplates"):
                        specs = fs_merge_all(specs, config.template_labels)
                    specs = fs_merge_one(specs, FieldSpec(path="metadata/labels", create=True))
            except ConfigError as exc:
                raise kust.error(where, RULE_CONFIG, f"failed to merge labels: {exc}") from None
            pairs = label.get("pairs") or {}
            self._transform(kust, ("labels", i), add_map_entries, acc.resources, pairs, specs)
        common = kust.get("commonLabels")
        if common:
            self._transform(kust, "commonLabels", add_map_entries, acc.resources, common, config.common_labels)

    # patches ----------------------------------------------------------------------------------------------
    def _patch_objects(self, kust: Kustomization, where: tuple, text: str, source: str,
                       first_line: int = 1) -> list[Tracked] | None:
        """kustomize's SliceFromBytes: the documents as patch objects (each needs kind and
        metadata.name), or None when the text is not that. `first_line`: the line of `source`
        the text starts on (not 1 for a patch written inline in a kustomization)."""
        try:
            from .loader import parse_documents_ex
            docs = parse_documents_ex(text)
        except Exception:  # noqa: BLE001 - not YAML objects: the caller decides what it is
            return None
        out = []
        for line, data, nulls, *_ in docs:
            if _empty(data):
                continue
            if not isinstance(data, dict):
                return None
            kind = data.get("kind")
            if not kind or isinstance(kind, (dict, list)):
                return None
            meta = data.get("metadata")
            name = meta.get("name") if isinstance(meta, dict) else None
            if not go_str(kind).endswith("List") and (name is None or isinstance(name, (dict, list))
                                                     or go_str(name) == ""):
                return None
            patch = Tracked(obj=data, source=source, line=line, null_texts=nulls)
            self.records[id(patch)] = PatchRecord(source, first_line + line - 1, _sm_paths(data),
                                                  inline=source == kust.rel)
            out.append(patch)
        return out

    def _read_patch(self, kust: Kustomization, where: tuple, rel: str) -> tuple[str, str]:
        real = self.loader.resolve_file(kust, Entry(rel, where), "patch file")
        return self.loader.read_text(kust, where, real), self.loader.display(real)

    def patches_strategic_merge(self, kust: Kustomization, acc: _Acc) -> None:
        loaded: list[tuple[tuple, Tracked]] = []
        for entry in kust.entries("patchesStrategicMerge"):
            patches = self._patch_objects(kust, entry.path, entry.value, kust.rel,
                                          _inline_line(kust, entry.path, ""))
            if patches is None:
                text, source = self._read_patch(kust, entry.path, entry.value)
                patches = self._patch_objects(kust, entry.path, text, source)
                if patches is None:
                    self._explain_bad_patch(kust, entry.path, text, source)
            loaded.extend((entry.path, p) for p in patches)
        if kust.entries("patchesStrategicMerge") and not loaded:
            raise kust.error(kust.at("patchesStrategicMerge"), RULE_PATCH, "the patches appear to be empty")
        for where, patch in loaded:
            target = self._get_by_id(kust, where, acc.resources, patch)
            self._apply_sm_to(kust, where, acc, [target], patch)

    def _explain_bad_patch(self, kust: Kustomization, where: tuple, text: str, source: str) -> NoReturn:
        from .loader import YamlRefused, parse_documents
        try:
            docs = parse_documents(text)
        except YamlRefused as exc:  # an alias bomb or deep nesting: its own rule, at its own position
            raise RenderError(source, exc.line, exc.column, exc.rule, str(exc)) from None
        except Exception as exc:  # noqa: BLE001
            line = getattr(exc, "line", 1)
            raise kust.error(where, RULE_PATCH, f"{source}:{line}: invalid YAML: {exc}") from None
        for line, data in docs:
            if _empty(data):
                continue
            if not isinstance(data, dict) or not data.get("kind"):
                raise kust.error(where, RULE_PATCH, f"{source}:{line}: a strategic merge patch needs a kind")
            raise kust.error(where, RULE_PATCH, f"{source}:{line}: a strategic merge patch needs metadata.name")
        raise kust.error(where, RULE_PATCH, f"{source}: the patch is empty")

    def _get_by_id(self, kust: Kustomization, where: tuple, resources: list[Tracked], patch: Tracked) -> Tracked:
        """resWrangler.GetById(patch.OrgId()): exactly one object that has (or had) the patch's id."""
        pid = cur_id(patch)
        matches = [r for r in resources if not _empty(r.obj) and pid in any_ids(r)]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise kust.error(where, RULE_PATCH, f"no resource matches strategic merge patch {id_str(pid)}")
        raise kust.error(where, RULE_PATCH, f"multiple resources match strategic merge patch {id_str(pid)}: "
                         + ", ".join(id_str(cur_id(r)) for r in matches))

    def _apply_sm_to(self, kust: Kustomization, where: tuple, acc: _Acc, targets: list[Tracked],
                     patch: Tracked, *, set_gvk: bool = True) -> None:
        """resWrangler.ApplySmPatch: patch every target, drop what the patch deleted, re-check ids."""
        chosen = {id(t) for t in targets}
        kept = []
        for r in acc.resources:
            if id(r) in chosen:
                patch_obj = copy_data(patch.obj)
                _patch_copy_metadata(patch_obj, patch.null_texts)
                if set_gvk:
                    patch_obj["apiVersion"] = r.obj.get("apiVersion")
                    if patch_obj.get("apiVersion") is None:
                        del patch_obj["apiVersion"]
                self._apply_sm(kust, where, r, patch_obj, patch)
            if not _empty(r.obj):
                kept.append(r)
        acc.resources[:] = []
        self.append_all(kust, where, acc, kept)

    def _apply_sm(self, kust: Kustomization, where: tuple, r: Tracked, patch_obj: dict, patch: Tracked) -> None:
        """Resource.ApplySmPatch: name, kind and namespace survive unless the patch options allow."""
        from . import strategicmerge
        old_meta = r.obj.get("metadata")
        name = old_meta.get("name") if isinstance(old_meta, dict) else None
        namespace, kind = r.namespace, r.obj.get("kind")
        if patch.allow_name_change or patch.allow_kind_change:
            store_previous_id(r)
        shared = alias_snapshot(r)
        quoted = _quoted_targets(r.obj, patch_obj)
        try:
            self.merged = True
            # r.obj is replaced by the result; without alias groups nothing in it appears twice
            merged = strategicmerge.merge(r.obj, patch_obj, self.openapi, reuse=not r.aliases)
        except ValueError as exc:
            raise kust.error(where, RULE_PATCH, f"patching {id_str(cur_id(r))}: {exc}") from None
        if merged is None or _empty(merged):
            r.obj = {}
            return
        r.obj = merged
        if not patch.allow_kind_change:
            merged["kind"] = kind
        meta = merged.get("metadata")
        if not isinstance(meta, dict):
            meta = merged["metadata"] = {}
        if not patch.allow_name_change:
            meta["name"] = name
        if namespace:
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        for path, value in quoted:
            if get_path(merged, path) == value and not isinstance(get_path(merged, path), str):
                set_path(merged, path, QuotedStr(raw_text(value) or go_str(value)))
        for path in r.empty_nulls:  # kyaml keeps a null only when it is written (`~`, `null`)
            if get_path(patch_obj, path) is ABSENT and get_path(merged, path) is None:
                parent = get_path(merged, path[:-1])
                if isinstance(parent, dict):
                    del parent[path[-1]]
        r.empty_nulls = []
        propagate_aliases(r, shared)
        r.patches.append(self.records[id(patch)])

    def patches(self, kust: Kustomization, acc: _Acc) -> None:
        for i, spec in enumerate(kust.get("patches", [])):
            where = kust.at("patches", i)
            path, inline = spec.get("path") or "", (spec.get("patch") or "").strip()
            if not path and not inline:
                raise kust.error(where, RULE_PATCH, "a patch needs one of 'patch' and 'path'")
            if path and inline:
                raise kust.error(where, RULE_PATCH, "'patch' and 'path' can't be set at the same time")
            if path:
                text, source = self._read_patch(kust, where + ("path",), path)
                pwhere, first_line = where + ("path",), 1
            else:
                text, source, pwhere = inline, kust.rel, where + ("patch",)
                first_line = _inline_line(kust, pwhere, spec.get("patch") or "")
            sm = self._patch_objects(kust, pwhere, text, source, first_line)
            ops = _json_patch_ops(text, source)
            if sm is None and not isinstance(ops, list):
                raise kust.error(pwhere, RULE_PATCH,
                                 f"unable to parse a strategic merge or JSON patch from {source}: {ops}")
            if sm is not None and isinstance(ops, list) and sm and ops:
                raise kust.error(pwhere, RULE_PATCH, f"{source} qualifies as both a strategic merge and a JSON patch")
            target = spec.get("target")
            options = spec.get("options") or {}
            if sm is not None:
                for p in sm:
                    p.allow_name_change = bool(options.get("allowNameChange"))
                    p.allow_kind_change = bool(options.get("allowKindChange"))
                if target is not None:
                    if len(sm) > 1:
                        raise kust.error(where, RULE_PATCH, "a patch with a target may hold only one strategic "
                                         f"merge patch ({source} holds {len(sm)})")
                    if sm:
                        selected = self._select(kust, where + ("target",), acc, target)
                        self._apply_sm_to(kust, where, acc, selected, sm[0])
                    continue
                for p in sm:
                    found = self._get_by_id(kust, where, acc.resources, p)
                    self._apply_sm(kust, where, found, copy_data(p.obj), p)
                    if _empty(found.obj):
                        acc.resources.remove(found)
                continue
            if target is None:
                raise kust.error(where, RULE_PATCH, f"a JSON patch needs a target ({source})")
            assert isinstance(ops, list)  # not a strategic merge patch, so a JSON patch (checked above)
            record = _json_patch_record(source, first_line, ops, inline=not path)
            for r in self._select(kust, where + ("target",), acc, target):
                store_previous_id(r)
                self._json_patch(kust, where, r, ops, record)

    def _json_patch(self, kust: Kustomization, where: tuple, r: Tracked, ops: list, record: PatchRecord) -> None:
        """PatchTransformer.transformJson6902 / PatchJson6902Transformer.Transform on one object.

        kustomize patches the object *with* its build annotations in metadata.annotations (the
        previous ids that StorePreviousId has just appended, prefixes, suffixes, generator ones):
        so `add /metadata/annotations/x` finds the map on an object that has no annotations of its
        own, a `test`, `copy` or `move` of the map sees them, and `remove /metadata/annotations`
        succeeds. Afterwards it reads the annotations back as strings, puts back the internal
        ones it had before the patch and writes them all again (SetAnnotations: every value a
        string, the map gone when empty, metadata created when missing)."""
        from . import jsonpatch
        build = _build_annotations(r)
        try:
            result = jsonpatch.apply(_with_build_annotations(_unraw(r.obj), build), ops)
        except ValueError as exc:
            raise kust.error(where, RULE_PATCH, f"JSON patch on {id_str(cur_id(r))}: {exc}") from None
        if not isinstance(result, dict):
            raise kust.error(where, RULE_PATCH, f"JSON patch on {id_str(cur_id(r))} did not leave an object")
        _reset_annotations_after_json_patch(result, build)
        r.obj = _from_json_patch(result)
        r.aliases = []  # kustomize rebuilds the object from JSON: nothing is shared any more
        r.null_texts = {}
        r.empty_nulls = []
        r.patches.append(record)

    def patches_json6902(self, kust: Kustomization, acc: _Acc) -> None:
        for i, spec in enumerate(kust.get("patchesJson6902", [])):
            where = kust.at("patchesJson6902", i)
            target = spec.get("target")
            if target is None or not target.get("name"):
                raise kust.error(where, RULE_PATCH, "patchesJson6902 needs a target with a name")
            path, inline = spec.get("path") or "", spec.get("patch") or ""
            if not path and not inline:
                raise kust.error(where, RULE_PATCH, "empty file path and empty patch")
            if path and inline:
                raise kust.error(where, RULE_PATCH, "give a file path or a patch, not both")
            if path:
                text, source = self._read_patch(kust, where + ("path",), path)
                if not text:
                    raise kust.error(where + ("path",), RULE_PATCH, f"patch file '{path}' is empty")
                first_line = 1
            else:
                text, source = inline, kust.rel
                first_line = _inline_line(kust, where + ("patch",), inline)
            ops = _json_patch_ops(text, source)
            if not isinstance(ops, list):
                raise kust.error(where, RULE_PATCH, f"decoding the JSON patch {source}: {ops}")
            if not ops:
                raise kust.error(where, RULE_PATCH, f"the JSON patch {source} appears to be empty")
            record = _json_patch_record(source, first_line, ops, inline=not path)
            for r in self._select(kust, where + ("target",), acc, target):
                self._json_patch(kust, where, r, ops, record)

    def _select(self, kust: Kustomization, where: tuple, acc: _Acc, target: dict) -> list[Tracked]:
        """resWrangler.Select: original or current name and (effective) namespace, regexes anchored."""
        from . import selectors
        selector = {k: v for k, v in target.items() if v}
        compiled = None
        out = []
        for r in acc.resources:
            if _empty(r.obj):
                continue
            try:
                if compiled is None:
                    compiled = selectors.Target(selector)
            except ValueError as exc:
                raise kust.error(where, RULE_PATCH, f"invalid patch target: {exc}") from None
            if not compiled.may_match(r.obj):  # (every view below has the object's apiVersion and kind)
                continue
            cur = cur_id(r)
            org = org_id(r) if r.prev else cur
            names = [org[3]] if org[3] == cur[3] else [org[3], cur[3]]
            namespaces = [org[4]] if org[4] == cur[4] else [org[4], cur[4]]
            if "name" not in selector and "namespace" not in selector:
                names, namespaces = names[:1], namespaces[:1]  # the other views differ only there
            matched = False
            for name in names:
                for namespace in namespaces:
                    view = None  # the object as if named `name` in `namespace`
                    if type(r.obj.get("metadata")) is not dict:
                        view = dict(r.obj)
                        view["metadata"] = dict(r.obj.get("metadata") or {}, name=name, namespace=namespace)
                    try:
                        if view is None:
                            matched = compiled.matches(r.obj, name, namespace)
                        else:
                            matched = compiled.matches(view)
                    except ValueError as exc:
                        raise kust.error(where, RULE_PATCH, f"invalid patch target: {exc}") from None
                    if matched:
                        break
                if matched:
                    break
            if matched:
                out.append(r)
        return out


def _json_patch_ops(text: str, source: str) -> list | str:
    """kustomize's jsonPatchFromBytes: a JSON array of operations, or YAML (read with go-yaml v2's
    YAML 1.1 rules, first document only) that converts to one. Returns the operations, or a
    reason (str) when the text is not a JSON patch."""
    try:
        return jsonpatch.parse_operations(text)
    except ValueError as exc:
        return str(exc)


_BLOCK_SCALAR = re.compile(r"[|>][-+0-9]*\s*(#.*)?$")
_IDENTITY_PATHS = frozenset({("apiVersion",), ("kind",), ("metadata", "name"), ("metadata", "namespace")})


def _inline_line(kust: Kustomization, where: tuple, raw: str) -> int:
    """The line of the kustomization a patch written in it as a string starts on: the line after
    a block scalar's `|`, past the blank lines the engine strips, else the value's own line."""
    line = kust.position(where)[0]
    text = kust.lines[line - 1] if 0 < line <= len(kust.lines) else ""
    if _BLOCK_SCALAR.search(text.rstrip()):
        return line + 1 + raw[:len(raw) - len(raw.lstrip())].count("\n")
    return line


def _sm_paths(patch: dict) -> frozenset:
    """The fields a strategic merge patch sets (PatchRecord.paths), without the id fields."""
    out: set = set()

    def walk(value: Any, path: tuple, skip: str = "") -> None:
        keys = [k for k in value if k != skip and not (isinstance(k, str) and k.startswith("$"))] \
            if isinstance(value, dict) else []
        if keys:
            for key in keys:
                walk(value[key], path + (key,))
        elif isinstance(value, list) and value:
            for i, item in enumerate(value):
                name = item.get("name") if isinstance(item, dict) else None
                if isinstance(name, str):  # the element's id, not a field the patch sets
                    walk(item, path + (("name", name),), "name")
                else:
                    walk(item, path + (i,))
        elif path not in _IDENTITY_PATHS:
            out.add(path)

    walk(patch, ())
    return frozenset(out)


def _json_patch_record(source: str, first_line: int, ops: list, *, inline: bool) -> PatchRecord:
    """A JSON 6902 patch's PatchRecord: the decoded pointer of every operation's `path`."""
    paths = set()
    for op in ops:
        pointer = op.get("path")
        if isinstance(pointer, str):
            paths.add(tuple(jsonpatch.decode_pointer(t) for t in pointer.split("/")[1:]))
    return PatchRecord(source, first_line, frozenset(paths), json6902=True, inline=inline)


def _patch_copy_metadata(patch: dict, null_texts: dict) -> None:
    """resWrangler.ApplySmPatch copies the patch with CopyMergeMetaDataFieldsFrom, which rewrites
    its labels and annotations as strings (`key: null` becomes "null" instead of deleting, a
    number becomes its text) and drops them when empty."""
    meta = patch.get("metadata")
    if not isinstance(meta, dict):
        return
    for field in ("labels", "annotations"):
        if field not in meta:
            continue
        values = meta[field]
        if not isinstance(values, dict) or not values:
            del meta[field]
            continue
        strings = {}
        for key, value in values.items():
            if value is None:
                strings[key] = null_texts.get((field, key), "null")
            elif isinstance(value, (dict, list)):
                strings[key] = ""
            else:
                strings[key] = raw_text(value) or go_str(value)
        meta[field] = strings
    if not meta.get("namespace"):
        meta.pop("namespace", None)


def _quoted_targets(target: dict, patch: Any, path: tuple = ()) -> list[tuple[tuple, Any]]:
    """Scalars a strategic merge patch writes as a number or bool over a quoted string: kyaml
    keeps the quotes, so the result is the patch value's text (`maxUnavailable: "25%"` patched
    with `1` becomes "1"). Mappings only; (path, patch value) pairs."""
    out: list = []
    if not isinstance(patch, dict):
        return out
    for key, value in patch.items():
        if isinstance(value, dict):
            out.extend(_quoted_targets(target, value, path + (key,)))
        elif value is not None and not isinstance(value, (str, list)) \
                and isinstance(get_path(target, path + (key,)), QuotedStr):
            out.append((path + (key,), value))
    return out


_INTERNAL_PREFIX = "internal.config.kubernetes.io/"
_LEGACY_INTERNAL = frozenset({"config.kubernetes.io/path", "config.kubernetes.io/index", "config.k8s.io/id"})


def _build_annotations(r: Tracked) -> dict:
    """The build annotations kustomize keeps on `r` (in the order it writes them; values are
    comma-separated lists, empty entries skipped as appendCsvAnnotation does)."""
    out: dict = {}
    if r.generator_behavior is not None:
        out[_INTERNAL_PREFIX + "generatorBehavior"] = r.generator_behavior
    if r.needs_hash:
        out[_NEEDS_HASH] = "enabled"
    for field, values in (("prefixes", r.prefixes), ("suffixes", r.suffixes),
                          ("previousNames", [p[1] for p in r.prev]),
                          ("previousNamespaces", [p[2] for p in r.prev]),
                          ("previousKinds", [p[0] for p in r.prev])):
        values = [v for v in values if v]
        if values:
            out[_INTERNAL_PREFIX + field] = ",".join(values)
    return out


def _with_build_annotations(obj: dict, build: dict) -> dict:
    """The object as kustomize's JSON patch sees it: `build` added to metadata.annotations
    (kyaml.SetAnnotation creates metadata and the map when missing)."""
    if not build:
        return obj
    meta = obj.get("metadata")
    if meta is None:
        meta = obj["metadata"] = {}
    if not isinstance(meta, dict):
        return obj
    annotations = meta.get("annotations")
    meta["annotations"] = dict(annotations if isinstance(annotations, dict) else {}, **build)
    return obj


def _go_format_number(f: float) -> str:
    """strconv.FormatFloat(f, 'g', -1, 64) as yaml.v3 writes a float64 (.nan, .inf, -.inf)."""
    if f != f:
        return ".nan"
    if f in (float("inf"), float("-inf")):
        return ".inf" if f > 0 else "-.inf"
    return go_format_float(f)


def _annotation_text(value: Any) -> str:
    """The text kyaml reads (node.Value) from an annotation value after the JSON round trip
    (yaml.v3 marshals Go's float64 with strconv.FormatFloat(f, 'g', -1, 64))."""
    if isinstance(value, str):
        return str.__str__(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return _go_format_number(float(value))
    return ""  # a map or a list: a node without a scalar value


def _reset_annotations_after_json_patch(obj: dict, build: dict) -> None:
    """After a JSON patch, kustomize rewrites metadata.annotations: GetAnnotations (every value's
    text), the internal annotations it read before the patch put back, SetAnnotations. The build
    annotations go back to the Tracked fields they came from (dropped here); the map stays, maybe
    empty, while there are any (RemoveBuildAnnotations deletes it at the end)."""
    meta = obj.get("metadata")
    if meta is None:
        meta = obj["metadata"] = {}  # LookupCreate(MappingNode, "metadata")
    if not isinstance(meta, dict):
        return
    annotations = meta.get("annotations")
    if isinstance(annotations, dict):
        texts = {k: _annotation_text(v) for k, v in annotations.items()}
    elif isinstance(annotations, list) and len(annotations) % 2 == 0:
        # visitMappingNodeFields walks a sequence's items as key, value pairs (an odd count
        # panics in kustomize)
        texts = {_annotation_text(k): _annotation_text(v) for k, v in zip(annotations[::2], annotations[1::2])}
    else:
        texts = {}
    for key in build:
        texts.pop(key, None)
    if texts or build:
        meta["annotations"] = texts
    else:
        meta.pop("annotations", None)


def _from_json_patch(value: Any) -> Any:
    """An object after a JSON patch, as kustomize re-reads it (yaml.v3 marshals a string in
    quotes when it would read back as something else)."""
    if isinstance(value, dict):
        return {k: _from_json_patch(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_json_patch(v) for v in value]
    if isinstance(value, str):
        if value == "" or value in ("true", "True", "TRUE", "false", "False", "FALSE", "~", "null", "Null",
                                    "NULL") or (value[0] in "-+.0123456789" and not isinstance(
                                        resolve_v3_plain(value), str)):
            return QuotedStr(value)
        return str.__str__(value)
    return value


_PLAIN_SCALARS = (str, int, float, bool, type(None))


def _plain(value: Any) -> Any:
    """The output as plain dict/list/str/int/float/bool/None (the reader's memo subclasses of
    str, int and float are dropped), so callers can json.dumps or yaml.safe_dump it."""
    t = type(value)
    if t is dict:
        return {k if type(k) is str else str.__str__(k): v if type(v) in _PLAIN_SCALARS else _plain(v)
                for k, v in value.items()}
    if t is list:
        return [v if type(v) in _PLAIN_SCALARS else _plain(v) for v in value]
    if t in _PLAIN_SCALARS:
        return value
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return value


def _local_config(obj: dict) -> bool:
    meta = obj.get("metadata")
    annotations = meta.get("annotations") if isinstance(meta, dict) else None
    if not isinstance(annotations, dict) or _LOCAL_CONFIG not in annotations:
        return False
    value = annotations[_LOCAL_CONFIG]
    return (raw_text(value) or go_str(value)) != "false"


def _finalize(r: Tracked) -> None:
    """Resource.RemoveBuildAnnotations: kustomize rewrites the annotations of every object
    (values become strings, from the text they were written with; an empty map disappears)."""
    meta = r.obj.get("metadata")
    if not isinstance(meta, dict) or "annotations" not in meta:
        return
    annotations = meta["annotations"]
    if annotations is None:
        del meta["annotations"]
        return
    if not isinstance(annotations, dict):
        return
    cleaned = {}
    for key, value in annotations.items():
        if key in _BUILD_ANNOTATIONS:
            continue
        if isinstance(value, (dict, list)):
            value = ""
        if value is None:
            cleaned[key] = r.null_texts.get(("annotations", key), "null")
            continue
        raw = raw_text(value)
        cleaned[key] = raw if raw is not None else go_str(value)
    if cleaned:
        meta["annotations"] = cleaned
    else:
        del meta["annotations"]
