"""Where a finding inside a rendered object should point: file, line and column.

In this order (SourceMap.locate):
1. the last patch applied to the object that sets the field (kustomize/resource.PatchRecord):
   that patch's file, at the field inside the patch;
2. an object mlgitops generated from a model: the model file, at the field that produced the
   value (validate/provenance, environment overrides honoured), when the generated file on disk
   is what the model gives today (a stale file maps to itself, rule 3); a value mlgitops
   writes itself (an apiVersion, a port) is not the model's: rule 3 shows it in the generated file;
3. the file the object was read from, at the field (or its nearest ancestor written there);
4. the document itself (`doc.file`, `doc.line`).

A patch whose fields lie below the finding's path (a finding about a whole object, such as an
unknown field) counts only when it is hand-written: the components mlgitops generates patch
every overlay, and a finding about an object is not theirs because they set one field in it.
"""

from __future__ import annotations

import contextlib
import os
import re
from typing import Any, Iterator

import yaml

from .. import contain, emit, fastyaml, layout
from ..config import Config, load_config
from ..diagnostics import Diagnostics
from ..kustomize import loader
from ..kustomize.memo import Memo
from ..kustomize.resource import PatchRecord
from ..overlays import GENERATED_MARK
from ..modelfiles import read_model_file, resolve
from ..spec.model import ModelEnv, ModelFile, cluster_variants
from ..yamlsource import SourceDocument, load_yaml
from ..expand.generator import Generator
from .provenance import ObjectOrigin, file_origins, taggable_values, untraced_model_path
from .results import Document

Path = tuple
Location = tuple[str, int, int]

_FROM_MODEL = re.compile(re.escape(GENERATED_MARK) + r" from (models/[^ ]+?\.ya?ml)[ .]")
_DOC_MARKER = re.compile(r"^---(\s|$)")
_BLOCK_SCALAR = re.compile(r"[|>][-+0-9]*\s*(#.*)?$")


class _Chunk:
    """One YAML document of a file: its lines, parsed on first use."""

    def __init__(self, start: int, end: int, text: str) -> None:
        self.start, self.end, self.text = start, end, text  # 1-based, inclusive
        self.indent = 0  # columns to add (a block scalar's indentation)
        self._doc: SourceDocument | None | bool = False
        self.generated: Any = None  # the object whose emitted text this document is (_as_generated)

    @property
    def doc(self) -> SourceDocument | None:
        if self._doc is False:
            doc, problems = load_yaml(self.text, "")
            self._doc = None if doc is None or problems else doc
        return self._doc  # type: ignore[return-value]

    def position(self, path: Path) -> tuple[int, int] | None:
        if self.doc is None:
            return None
        line, col = self.doc.position(path)
        return self.start + line - 1, col + self.indent

    def find(self, path: Path) -> tuple[int, int] | None:
        """`position(path)` without parsing the whole document (fastyaml.find_position)."""
        try:
            line, col = fastyaml.find_position(self.text, path)
        except (fastyaml.Unusual, yaml.YAMLError, RecursionError):
            return self.position(path)
        return self.start + line - 1, col + self.indent


def _split(text: str) -> list[_Chunk]:
    """The documents of a YAML stream, split at `---` lines (what a document marker is)."""
    lines = text.split("\n")
    chunks, start = [], 1
    for i, line in enumerate(lines, 1):
        if _DOC_MARKER.match(line):
            chunks.append(_Chunk(start, i - 1, "\n".join(lines[start - 1:i - 1]) + "\n"))
            start = i + 1
    chunks.append(_Chunk(start, len(lines), "\n".join(lines[start - 1:])))
    return chunks


def _block(lines: list[str], first: int) -> _Chunk | None:
    """The patch text of a block scalar whose content starts on line `first` (1-based)."""
    if not 1 < first <= len(lines) or not _BLOCK_SCALAR.search(lines[first - 2].rstrip()):
        return None
    indent = len(lines[first - 1]) - len(lines[first - 1].lstrip(" "))
    body = []
    for line in lines[first - 1:]:
        if line.strip() and (len(line) - len(line.lstrip(" ")) < indent or _DOC_MARKER.match(line[indent:])):
            break
        body.append(line[indent:])
    chunk = _Chunk(first, first + len(body) - 1, "\n".join(body))
    chunk.indent = indent
    return chunk


def _same(a: Any, b: Any) -> bool:
    """Path parts compare as text: JSON patch pointers are strings, list indexes ints."""
    return str(a) == str(b)


def _resolve_patch_path(obj: Any, path: Path) -> Path:
    """A PatchRecord path with `("name", value)` elements turned into the rendered list index."""
    out, node = [], obj
    for part in path:
        if isinstance(part, tuple) and isinstance(node, list):
            index = next((i for i, item in enumerate(node) if isinstance(item, dict)
                          and str(item.get("name")) == part[1]), part)
            out.append(index)
            node = node[index] if isinstance(index, int) else None
            continue
        out.append(part)
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and str(part).isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            node = None
    return tuple(out)


def _relation(patch_path: Path, path: Path) -> str | None:
    """"covers" when the patch set `path` or an object around it, "below" when it set
    something inside `path`, else None."""
    n = min(len(patch_path), len(path))
    if not all(p == "-" or _same(p, q) for p, q in zip(patch_path[:n], path[:n])):
        return None
    return "covers" if len(patch_path) <= len(path) else "below"


class _Origins:
    """The origins of one generated file's objects, generated up to the one asked for."""

    def __init__(self, origins: Iterator[ObjectOrigin]) -> None:
        self._next = origins
        self._seen: list[ObjectOrigin] = []

    def at(self, index: int) -> ObjectOrigin | None:
        while len(self._seen) <= index:
            origin = next(self._next, None)
            if origin is None:
                return None
            self._seen.append(origin)
        return self._seen[index]


class SourceMap:
    """Locates findings; reads each file once and runs the expanders once per model and env."""

    def __init__(self, repo_root: str) -> None:
        self.root = repo_root
        self._files: dict[str, list[_Chunk] | None] = {}
        self._lines: dict[str, list[str]] = {}
        self._config: Config | None | bool = False
        self._origins: dict[tuple[str, str, str, str], _Origins | None] = {}
        self._models: dict[str, ModelFile | None] = {}

    # public ---------------------------------------------------------------------------------------
    def locate(self, doc: Document, path: tuple) -> Location:
        path = tuple(path)
        found = self._from_patches(doc, path)
        if found is None and doc.origin:
            found = self._from_model(doc, path) or self._from_origin(doc, path)
        return found or (doc.file, doc.line, 1)

    # 1. patches -----------------------------------------------------------------------------------
    def _from_patches(self, doc: Document, path: Path) -> Location | None:
        below: PatchRecord | None = None
        for record in reversed(doc.patches):
            for patch_path in sorted(record.paths, key=str):
                relation = _relation(_resolve_patch_path(doc.obj, patch_path), path)
                if relation == "covers":
                    return self._in_patch(record, doc.obj, path)
                if relation == "below" and below is None and path and not self._generated(record.file):
                    below = record
        return self._in_patch(below, doc.obj, path) if below is not None else None

    def _in_patch(self, record: PatchRecord, obj: Any, path: Path) -> Location:
        chunk = self._patch_chunk(record)
        where = None
        if chunk is not None and chunk.doc is not None:
            data = chunk.doc.data
            inside = _json_patch_path(data, path) if record.json6902 else _translate(data, obj, path)
            where = chunk.position(inside)
        line, col = where or (record.line, 1)
        return record.file, line, col

    def _patch_chunk(self, record: PatchRecord) -> _Chunk | None:
        if record.inline:
            return _block(self._text_lines(record.file), record.line)
        return self._chunk(record.file, record.line)

    # 2. models ------------------------------------------------------------------------------------
    def _from_model(self, doc: Document, path: Path) -> Location | None:
        origin_file = doc.origin
        overlay = layout.overlay_of_file(origin_file) if origin_file is not None else None
        if origin_file is None or overlay is None or "/" in overlay.file:
            return None
        lines = self._text_lines(origin_file)
        match = _FROM_MODEL.match(lines[0]) if lines else None
        if match is None:
            return None
        model, env, name = match.group(1), overlay.env, overlay.file
        chunks = self._files.get(origin_file) or []
        index = next((i for i, c in enumerate(chunks) if c.start <= doc.origin_line <= c.end), None)
        compiled = self._compiled(origin_file)
        if compiled is not None and compiled.me.file.path != model:
            compiled = None
        if compiled is not None:
            self._models.setdefault(model, compiled.me.file)  # read a moment before (gate.after_compile)
            if index is not None and index < min(len(compiled.objects), len(compiled.generators)):
                found = self._from_compiled(compiled, chunks[index], index, doc, path, model)
                if found is not False:
                    return found  # type: ignore[return-value]
        origins = self._model_origins(model, env, overlay.cluster, name, compiled) if index is not None else None
        origin = origins.at(index) if origins is not None and index is not None else None
        if origin is None or index is None:
            return None
        if compiled is None and not _as_generated(chunks[index], origin.obj):
            return None  # not generated from the model as it is now: map into the file itself
        label = self._model_label(model, path)
        if label is not None:
            return label
        existing = _deepest(origin.obj, _translate(origin.obj, doc.obj, path))
        model_path = origin.model_path(existing)
        if model_path is None:
            return None  # mlgitops wrote this value itself: the generated file shows it
        line, col = self._models[model].doc.position(model_path)  # type: ignore[union-attr]
        return model, line, col

    def _from_compiled(self, compiled: Compiled, chunk: _Chunk, index: int, doc: Document, path: Path,
                       model: str) -> Location | None | bool:
        """_from_model's answer from the object the build made (document `index` of the compiled
        file, whose text `chunk` holds) when no leaf under the finding's path can carry a tag
        (provenance.untraced_model_path); False when one might (then it generates with tags)."""
        obj = compiled.objects[index]
        chunk.generated = obj  # the text the build wrote for it a moment before
        label = self._model_label(model, path)
        if label is not None:
            return label
        existing = _deepest(obj, _translate(obj, doc.obj, path))
        known, model_path = untraced_model_path(compiled.me, compiled.generators[index], obj, existing,
                                                compiled.taggable())
        if not known:
            return False
        if model_path is None:
            return None  # mlgitops wrote this value itself: the generated file shows it
        line, col = self._models[model].doc.position(model_path)  # type: ignore[union-attr]
        return model, line, col

    def _model_label(self, model: str, path: Path) -> Location | None:
        """A label the model file sets itself (`metadata.labels`, which the overlay's kustomization
        puts on every object): its line in the model, whatever labels the generator wrote."""
        file = self._model_file(model)
        if len(path) != 3 or path[:2] != ("metadata", "labels") or file is None:
            return None
        labels = file.doc.data.get("metadata", {}).get("labels") if isinstance(file.doc.data, dict) else None
        if not isinstance(labels, dict) or path[2] not in labels:
            return None
        line, col = file.doc.position(path)
        return model, line, col

    def _model_origins(self, model: str, env: str, cluster: str, file: str,
                       compiled: "Compiled | None" = None) -> _Origins | None:
        """The origins of the objects of `file` of `model`'s overlay in `env` (in `cluster`'s own
        overlay, overlays/<env>@<cluster>/, with the cluster's overrides); None when the model or
        the config does not load (validate reports neither: `mlgitops build` does). From the
        model environment the file was `compiled` from (this model's), when given."""
        key = (model, env, cluster, file)
        if key not in self._origins and compiled is not None:
            self._origins[key] = _Origins(file_origins(compiled.me, compiled.config, file))
        if key not in self._origins:
            self._origins[key] = None
            config, model_file = self._load_config(), self._model_file(model)
            if config is None or model_file is None:
                return None
            for resolved in resolve(model_file, config, only=env):
                found: ModelEnv | None = resolved
                if cluster:
                    found = next((v for v in cluster_variants(resolved) if v.cluster is not None
                                  and v.cluster.name == cluster), None)
                if found is not None:
                    self._origins[key] = _Origins(file_origins(found, config, file))
        return self._origins[key]

    def _model_file(self, model: str) -> ModelFile | None:
        if model not in self._models:
            self._models[model] = _read_model(self.root, model)
        return self._models[model]

    def _load_config(self) -> Config | None:
        if self._config is False:
            self._config = load_config(self.root, Diagnostics())
        return self._config  # type: ignore[return-value]

    # 3. the origin file ---------------------------------------------------------------------------
    def _from_origin(self, doc: Document, path: Path) -> Location | None:
        origin = doc.origin
        if origin is None:
            return None
        if doc.overlay is None and origin == doc.file and doc.text is not None:
            try:  # the document's own text, already in memory
                line, col = fastyaml.find_position(doc.text, path)
                return origin, doc.text_line + line - 1, col
            except (fastyaml.Unusual, yaml.YAMLError, RecursionError):
                pass
        chunk = self._chunk(origin, doc.origin_line)
        if chunk is None:
            return None
        if doc.overlay is None and origin == doc.file:
            # read as it is written (no kustomize in between): the path needs no translation
            found = chunk.find(path)
            return (origin, *found) if found else None
        if chunk.generated is not None:  # its data without parsing it: found by a scan
            at = chunk.find(_translate(chunk.generated, doc.obj, path))
            return (origin, *at) if at else None
        if chunk.doc is None:
            return None
        at = chunk.position(_translate(chunk.doc.data, doc.obj, path))
        return (origin, *at) if at else None

    # files ----------------------------------------------------------------------------------------
    def _compiled(self, rel: str) -> "Compiled | None":
        """What the build compiled for the generated file `rel`, while the render just read exactly
        that text from it (compiled_overlay)."""
        found = _COMPILED.get((self.root, rel))
        return found if found is not None and loader.taken(found.path, found.text) else None

    def _text_lines(self, rel: str) -> list[str]:
        if rel not in self._lines:
            compiled = self._compiled(rel)
            if compiled is not None:
                text: str | None = compiled.text
            else:
                path = os.path.join(self.root, rel)
                try:
                    text = contain.read_text(contain.trusted_root(self.root, path), path, "resource")
                except (OSError, contain.ContainmentError):
                    text = None  # reading the input reported it
            self._lines[rel] = text.split("\n") if text is not None else []
            self._files[rel] = _split(text) if text is not None else None
        return self._lines[rel]

    def _chunk(self, rel: str, line: int) -> _Chunk | None:
        self._text_lines(rel)
        return next((c for c in self._files.get(rel) or [] if c.start <= line <= c.end), None)

    def _generated(self, rel: str) -> bool:
        lines = self._text_lines(rel)
        return bool(lines) and lines[0].startswith(GENERATED_MARK)


class Compiled:
    """A generated file as `mlgitops check`'s build compiled it: its text, its objects and the
    generator of each, and the model environment and config they came from."""

    __slots__ = ("file", "_path", "text", "objects", "generators", "me", "config")

    def __init__(self, file: str, text: str, objects: list, generators: list[Generator], me: ModelEnv,
                 config: Config) -> None:
        self.file = file  # the file's path
        self._path: str | None = None
        self.text, self.objects, self.generators, self.me, self.config = text, objects, generators, me, config

    @property
    def path(self) -> str:
        """The file's real path, as the renderer reads it (worked out when a finding asks)."""
        if self._path is None:
            self._path = os.path.realpath(self.file)
        return self._path

    def taggable(self) -> frozenset:
        """provenance.taggable_values(me), worked out once for the overlay's files."""
        found = _TAGGABLE.get(id(self.me))
        if found is None:
            found = _TAGGABLE[id(self.me)] = taggable_values(self.me)
        return found


# (repository, generated file) -> Compiled, for the overlay the gate renders where it compiled its
# model (compiled_overlay). Answers only while the render's read of that very file found exactly
# that text (loader.taken): then the finding's object came from it, and it came from `me`.
_COMPILED: dict[tuple[str, str], Compiled] = {}
_TAGGABLE: dict[int, frozenset] = {}  # id(model environment) -> taggable_values, while it is compiled


@contextlib.contextmanager
def compiled_overlay(root: str, files: dict[str, tuple[str, list, list[Generator]]], me: ModelEnv, config: Config
                     ) -> Iterator[None]:
    """Within: findings in the generated files `files` (path relative to `root` -> the text the
    build wrote, its objects, their generators) are located with what compiled them instead of
    reading each file again and resolving and generating its model once more."""
    for rel, (text, objects, generators) in files.items():
        _COMPILED[(root, rel)] = Compiled(os.path.join(root, rel), text, objects, generators, me, config)
    try:
        yield
    finally:
        _COMPILED.clear()
        _TAGGABLE.clear()


# (repository, model file) -> the ModelFile last read from it, with the bytes it was read from: a
# process locating findings in every overlay reads each model once per environment. Bounded by
# entries and by the bytes of the files (what is held per file is a few times its size).
_MODEL_FILES = Memo(1024, 8 << 20)


def remember_model(root: str, file: ModelFile) -> None:
    """Have _read_model answer with `file` (read by the caller from `root`, with no problem) while
    the file's bytes stay the same: the gate's build compiled it a moment before."""
    if not file.partial:
        _MODEL_FILES.put((root, file.path), file, len(file.text))


def _read_model(root: str, rel: str) -> ModelFile | None:
    """The model file `rel` as read_model_file reads it (None when it has a problem: the build
    reports those), answered from _MODEL_FILES when its bytes are still the same."""
    if not os.path.isfile(os.path.join(root, rel)):
        return None
    known = _MODEL_FILES.get((root, rel))
    if known is not None and contain.read_reported(root, rel, "model", Diagnostics(), rel, text=False) == known.text:
        return known
    found = read_model_file(root, rel, Diagnostics())
    if found is not None:
        _MODEL_FILES.put((root, rel), found, len(found.text))
    return found


def _as_generated(chunk: _Chunk, obj: Any) -> bool:
    """Whether the document `chunk` holds `obj`: its text is what the build writes for it (the
    emitter's, after the generated header's comment lines), or else its data equals `obj`."""
    text = chunk.text
    while text.startswith("#"):
        text = text.partition("\n")[2]
    if text == emit.dump(obj):
        chunk.generated = obj
        return True
    written = chunk.doc
    return written is not None and written.data == obj


def _deepest(obj: Any, path: Path) -> Path:
    """The longest prefix of `path` that exists in `obj`."""
    node = obj
    for i, part in enumerate(path):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            return path[:i]
    return path


def _translate(data: Any, obj: Any, path: Path) -> Path:
    """`path` in the rendered object `obj` as a path in `data` (a patch, or the object as
    written): list elements with a name are found by it (a strategic merge puts patched
    elements first), others by index."""
    out: list = []
    node, rendered = data, obj
    for part in path:
        if isinstance(node, list) and isinstance(part, int):
            name = rendered[part].get("name") if isinstance(rendered, list) and part < len(rendered) \
                and isinstance(rendered[part], dict) else None
            index = next((i for i, item in enumerate(node) if name is not None and isinstance(item, dict)
                          and item.get("name") == name), part)
            out.append(index)
            node = node[index] if index < len(node) else None
        else:
            out.append(part)
            node = node.get(part) if isinstance(node, dict) else None
        rendered = _child(rendered, part)
        if node is None:
            break
    return tuple(out)


def _json_patch_path(ops: Any, path: Path) -> Path:
    """`path` as a path in a JSON 6902 patch: the last operation on it or on an object around
    it (into its `value`), else the last one on something inside it (its `path`)."""
    if not isinstance(ops, list):
        return ()
    below = None
    for i in range(len(ops) - 1, -1, -1):
        op = ops[i]
        pointer = op.get("path") if isinstance(op, dict) else None
        if not isinstance(pointer, str):
            continue
        tokens = tuple(t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")[1:])
        relation = _relation(tokens, path)
        if relation == "covers":
            if "value" in op:
                return (i, "value") + path[len(tokens):]
            return (i, "path")
        if relation == "below" and below is None:
            below = (i, "path")
    return below or ()


def _child(node: Any, part: Any) -> Any:
    if isinstance(node, dict):
        return node.get(part)
    if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
        return node[part]
    return None
