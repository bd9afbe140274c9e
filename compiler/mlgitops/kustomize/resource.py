"""One rendered object, where it came from, and the names it had before transformers ran."""

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
