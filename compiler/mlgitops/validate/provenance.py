"""Which model field produced each value of a generated object.

The generators run once more, on a copy of the resolved model whose every scalar carries the
model-file path it came from (a str/int/float subclass; `str()` of a tagged number stays
tagged; the typed model copies values without converting them, so the tags reach the
generators). Every leaf of the output that is such a value was copied from that field, whatever
code path copied it. What a generator computes (a query, a rounded ratio, a derived name) is
matched by its `derived` rows, beside its knowledge of what it computes; what it writes itself
(apiVersions, ports, rule names) by its `constants` rows (expand/generator.py). A leaf no row
explains is a gap: tests/test_validate_sourcemap.py fails on it for every registered generator, so
adding a field or a generator cannot silently lose its mapping. Booleans and None cannot carry
a tag; they are in the rows too.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Iterator

from ..config import Config
from ..expand.generator import ANY, NAME, Constant, Derived, Generator, Path, Target
from ..expand.overlay import iter_generated
from ..expand.registry import GENERATORS
from ..spec.invalid import value_at
from ..spec.model import ModelEnv, ModelFile
from ..yamlsource import SourceDocument


class _TStr(str):
    src: Path

    def __str__(self) -> str:
        return self


class _TInt(int):
    src: Path

    def __str__(self) -> str:
        return _tag(int.__repr__(self), self.src)


class _TFloat(float):
    src: Path

    def __str__(self) -> str:
        return _tag(float.__repr__(self), self.src)


_TAGGED: dict[type, type] = {str: _TStr, int: _TInt, float: _TFloat}


def _tag(value: Any, src: Path) -> Any:
    tagged = _TAGGED.get(type(value))
    if tagged is None:  # bool, None, or a subclass of str, int or float (a tagged value: retagged)
        if isinstance(value, bool) or value is None:
            return value
        tagged = next((t for plain, t in _TAGGED.items() if isinstance(value, plain)), None)
        if tagged is None:
            return value
    out = tagged(value)
    out.src = src
    return out


def _tag_tree(value: Any, path: Path, src_of: Callable[[Path], Path]) -> Any:
    if isinstance(value, dict):
        return {k: _tag_tree(v, path + (k,), src_of) for k, v in value.items()}
    if isinstance(value, list):
        return [_tag_tree(v, path + (i,), src_of) for i, v in enumerate(value)]
    return _tag(value, src_of(path))


def _tag_settings(value: Any, path: Path, parent: Path, present: Callable[[Path], bool], override: Path) -> Any:
    """_tag_tree(value, path, me.source_path), worked out from the top: the source of a path is
    the env override of it (when one sets it), else its own place under `spec`, else its parent's
    source; two lookups a node instead of two for each prefix of each leaf."""
    if path and present(override + path):
        source = override + path
    elif present(("spec",) + path):
        source = ("spec",) + path
    else:
        source = parent
    if isinstance(value, dict):
        return {k: _tag_settings(v, path + (k,), source, present, override) for k, v in value.items()}
    if isinstance(value, list):
        return [_tag_settings(v, path + (i,), source, present, override) for i, v in enumerate(value)]
    return _tag(value, source)


def _traced(me: ModelEnv) -> ModelEnv:
    """`me` with every settings scalar tagged by its model-file path (env overrides honoured:
    ModelEnv.source_path), and the model's metadata tagged by its own path."""
    doc = me.file.doc
    data = dict(doc.data, metadata=_tag_tree(doc.data["metadata"], ("metadata",), lambda p: p))
    file = ModelFile(me.file.path, SourceDocument(doc.path, data, doc.value_positions, doc.key_positions,
                                                  doc.collections), me.file.text)
    settings = _tag_settings(me.settings, (), ("spec",), doc.value_positions.__contains__,
                             ("spec", "environments", me.env.name))
    return ModelEnv(file, me.env, settings, me.sections)


# --- what the generators compute or write themselves -------------------------------------------------

# Rows every kind shares; each generator adds its own (expand/generator.py KindGenerator).
COMMON_DERIVED: tuple[Derived, ...] = ((ANY, NAME, NAME),)  # <name>-predictor, <name>-canary, ...
COMMON_CONSTANTS: tuple[Constant, ...] = ((ANY, ("apiVersion",)), (ANY, ("kind",)))


def _match(pattern: Path, path: Path) -> bool:
    return len(pattern) == len(path) and all(p == ANY or p == q for p, q in zip(pattern, path))


def _rule_for(generator: Generator, kind: str, path: Path) -> tuple[str, Target | None] | None:
    for rule_kind, pattern, target in COMMON_DERIVED + generator.derived:
        if rule_kind in (ANY, kind) and _match(pattern, path):
            return "derived", target
    for rule_kind, pattern in COMMON_CONSTANTS + generator.constants:
        if rule_kind in (ANY, kind) and _match(pattern, path):
            return "constant", None
    return None


# --- the result ------------------------------------------------------------------------------------

class ObjectOrigin:
    """Where each leaf of one generated object came from. `fields` and `gaps` are worked out when
    first read: locating a finding reads one object of an overlay, and walking every leaf of every
    object (3,000 overlays' worth in a gate run) cost more than generating them."""

    def __init__(self, obj: dict, me: ModelEnv, generator: Generator) -> None:
        self.obj = obj  # the object as generated (plain values are enough: it is only read)
        self.generator = generator.name  # the name of the generator that emitted it
        self.file = generator.file  # the overlay's resource file it is written to
        self._me = me
        self._generator = generator

    @functools.cached_property
    def _explained(self) -> tuple[dict[Path, Path], set[Path]]:
        return _explain(self._me, self._generator, self.obj)

    @property
    def fields(self) -> dict[Path, Path]:
        """leaf path -> model-file path of the field that produced it"""
        return self._explained[0]

    @property
    def gaps(self) -> set[Path]:
        """leaf paths no rule explains (a row missing in its generator)"""
        return self._explained[1]

    def model_path(self, path: Path) -> Path | None:
        """The model-file path behind `path` (a leaf, or an object or list inside the object):
        the leaf's field; for a collection, the deepest path its model-derived leaves share.
        None when only constants lie there (or nothing does)."""
        path = tuple(path)
        # Only the leaves at or under `path` decide: a finding's locating explains those alone
        # (all of them, `fields`, only when already worked out), not every leaf of the object.
        fields = self.fields if "_explained" in self.__dict__ else _explain(self._me, self._generator, self.obj, path)[0]
        return _common_source(fields, path)


def _common_source(fields: dict[Path, Path], path: Path) -> Path | None:
    """ObjectOrigin.model_path from the explained leaves `fields`."""
    if path in fields:
        return fields[path]
    below = [src for leaf, src in fields.items() if leaf[:len(path)] == path]
    if not below:
        return None
    common = below[0]
    for src in below[1:]:
        n = 0
        while n < min(len(common), len(src)) and common[n] == src[n]:
            n += 1
        common = common[:n]
    return common or ("spec",)


# --- without tags --------------------------------------------------------------------------------
# A tag sits only on a value _tag made: a str, int or float equal to a leaf of the model's settings
# or metadata, or the str() of such an int or float (_TInt, _TFloat), which generators pass on
# (what they compute from them is untagged). So a leaf of an untagged object whose value equals
# none of those has no tag in the traced object either, and where no leaf at or under a path could
# have one, the path's model_path is the generator's rows' alone: worked out from the object the
# build made, without generating it again with tagged settings.

def taggable_values(me: ModelEnv) -> frozenset:
    """The values a tag can sit on in `me`'s traced generation: the str, int and float leaves of
    its settings and of the model's metadata, and the str() of each int and float."""
    found: set = set()
    for tree in (me.settings, me.metadata):
        for _path, value in _leaves(tree):
            if isinstance(value, str):
                found.add(value)
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                found.add(value)
                found.add(int.__repr__(value) if isinstance(value, int) else float.__repr__(value))
    return frozenset(found)


def untraced_model_path(me: ModelEnv, generator: Generator, obj: dict, path: Path, taggable: frozenset
                        ) -> tuple[bool, Path | None]:
    """(True, ObjectOrigin.model_path(path)) of the object `generator` made for `me` (untagged: as
    the build made it) when no leaf at or under `path` can carry a tag (`taggable`:
    taggable_values(me)); (False, None) when one might, or a leaf is a NaN (equal to nothing)."""
    path = tuple(path)
    node = value_at(obj, path, _ABSENT)
    if node is not _ABSENT:
        for _leaf, value in _leaves(node, path):
            if isinstance(value, (str, int, float)) and not isinstance(value, bool) \
                    and (value in taggable or value != value):
                return False, None
    return True, _common_source(_explain(me, generator, obj, path)[0], path)


def _leaves(value: Any, path: Path = ()):
    if isinstance(value, dict) and value:
        for k, v in value.items():
            yield from _leaves(v, path + (k,))
    elif isinstance(value, list) and value:
        for i, v in enumerate(value):
            yield from _leaves(v, path + (i,))
    else:
        yield path, value


_ABSENT = object()


def _explain(me: ModelEnv, generator: Generator, obj: dict, under: Path = ()
             ) -> tuple[dict[Path, Path], set[Path]]:
    """(fields, gaps) of the leaves of `obj` at or under the path `under` (all by default; a
    path that is not in `obj` has none)."""
    kind = obj.get("kind", "")
    fields: dict[Path, Path] = {}
    gaps: set[Path] = set()
    node = value_at(obj, under, _ABSENT)
    if node is _ABSENT:
        return fields, gaps
    for path, value in _leaves(node, under):
        src = getattr(value, "src", None)
        if src is not None:
            fields[path] = src
            continue
        rule = _rule_for(generator, kind, path)
        if rule is None:
            gaps.add(path)
        elif rule[0] == "derived":
            target = rule[1]
            if callable(target):
                fields[path] = target(me, obj, path)
            elif target is not None:
                fields[path] = target
    return fields, gaps


def overlay_origins(me: ModelEnv, config: Config) -> dict[str, list[ObjectOrigin]]:
    """{resource file of the overlay (model.yaml, monitoring.yaml): its objects' origins, in order}."""
    out: dict[str, list[ObjectOrigin]] = {g.file: [] for g in GENERATORS}
    for origin in file_origins(me, config):
        out[origin.file].append(origin)
    return out


def file_origins(me: ModelEnv, config: Config, file: str | None = None) -> Iterator[ObjectOrigin]:
    """The origins of the objects of one resource file of the overlay (every file when None), in
    order, generated as they are asked for."""
    for generator, obj in iter_generated(_traced(me), config, None if file is None else (file,)):
        yield ObjectOrigin(obj, me, generator)
