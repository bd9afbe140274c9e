"""One rendered object, where it came from, the patches that changed it, and its earlier names."""

from __future__ import annotations

import dataclasses
from typing import NamedTuple


class ResId(NamedTuple):
    group: str
    version: str
    kind: str
    namespace: str  # "" when the object has none
    name: str

    def __str__(self) -> str:
        gvk = "/".join(p for p in (self.group, self.version) if p)
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{gvk}, Kind={self.kind}, {where}{self.name}"


@dataclasses.dataclass(frozen=True)
class PatchRecord:
    """One patch applied to an object: where it is written and which fields it sets.

    `paths` are JSON paths inside the object. Strategic merge patches: every leaf of the patch
    (an empty map or list is a leaf); an element of a list of maps that has a `name` is written
    as `{"name": value}` (the patch merges by it, so the element's index in the result may differ
    from its index in the patch), any other element by its index in the patch. JSON 6902
    patches: the `path` of every operation, as its decoded JSON pointer tokens (strings; `-`
    appends). `line` is where the patch starts in `file`: its YAML document, or for a patch
    written inline in a kustomization, the line its text starts on."""

    file: str  # repo-relative file holding the patch (the kustomization for an inline patch)
    line: int
    paths: frozenset
    json6902: bool = False
    inline: bool = False  # the patch text is a string value inside `file` (a kustomization)


@dataclasses.dataclass
class Resource:
    obj: dict
    source: str  # repo-relative file the object was read from (or the kustomization that generated it)
    line: int = 1  # line of the document in `source`
    # Names (and namespaces) the object had before prefix/suffix/namespace/hash changed them,
    # oldest first; name references to any of them follow the object.
    previous: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    # Generated ConfigMaps/Secrets get a content-hash suffix unless disabled.
    needs_hash: bool = False
    generator_behavior: str | None = None  # create | merge | replace (generated objects only)
    patches: list[PatchRecord] = dataclasses.field(default_factory=list)  # in the order they were applied

    @property
    def api_version(self) -> str:
        return self.obj.get("apiVersion", "")

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def version(self) -> str:
        return self.api_version.rpartition("/")[2]

    @property
    def kind(self) -> str:
        return self.obj.get("kind", "")

    @property
    def name(self) -> str:
        return (self.obj.get("metadata") or {}).get("name", "")

    @property
    def namespace(self) -> str:
        return (self.obj.get("metadata") or {}).get("namespace", "") or ""

    @property
    def id(self) -> ResId:
        return ResId(self.group, self.version, self.kind, self.namespace, self.name)

    def original_id(self) -> ResId:
        """The id before any rename: what patches and references written in sources use."""
        if self.previous:
            name, namespace = self.previous[0]
            return ResId(self.group, self.version, self.kind, namespace, name)
        return self.id

    def rename(self, name: str | None = None, namespace: str | None = None) -> None:
        meta = self.obj.setdefault("metadata", {})
        self.previous.append((self.name, self.namespace))
        if name is not None:
            meta["name"] = name
        if namespace is not None:
            meta["namespace"] = namespace
