"""Load YAML with source positions for every key and value.

We compose with PyYAML's C loader (libyaml) and build plain Python data ourselves, so each
node's start mark becomes a 1-based (line, column). Measured on a 35-line model file:
libyaml compose 0.15 ms, ruamel.yaml round-trip load 5.4 ms; a 1,000-model no-op build has
to load every file in well under a second, so ruamel.yaml is not used for loading.
Building the data ourselves also lets us reject duplicate keys, which PyYAML silently
collapses (last one wins).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

import yaml

from . import fastyaml, yamlguard
from .diagnostics import Diagnostic, ERROR

if TYPE_CHECKING:  # the stubs do not derive CSafeLoader from SafeLoader; its interface is the same
    LoaderBase = yaml.SafeLoader
else:
    try:  # libyaml is part of the PyYAML wheels; the pure-Python fallback keeps marks too.
        LoaderBase = yaml.CSafeLoader
    except AttributeError:  # pragma: no cover - only on a PyYAML built without libyaml
        LoaderBase = yaml.SafeLoader


class _Loader(LoaderBase):
    """SafeLoader without YAML 1.1 timestamps: `2026-11-02` stays a string, as Kubernetes reads it."""

    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in LoaderBase.yaml_implicit_resolvers.items()
    }

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        """An integer, or a located error past Python's int conversion limit (4,300 digits), which
        would otherwise escape as a ValueError: no Kubernetes field holds more than 19 digits."""
        try:
            return super().construct_yaml_int(node)
        except ValueError:
            raise yaml.constructor.ConstructorError(
                None, None, f"integer of {len(node.value):,} characters is too large (no Kubernetes or mlgitops "
                "field holds more than 19 digits)", node.start_mark) from None


_Loader.add_constructor("tag:yaml.org,2002:int", _Loader.construct_yaml_int)

Path = fastyaml.Path  # a JSON path: ("spec", "canary", "steps", 2, "weight")


@dataclasses.dataclass
class SourceDocument:
    """Plain data plus where each part of it came from."""

    path: str
    data: Any
    # JSON path -> (line, col) of the value node, and of the key for mapping entries.
    value_positions: dict[Path, tuple[int, int]]
    key_positions: dict[Path, tuple[int, int]]
    collections: set[Path] = dataclasses.field(default_factory=set)  # paths whose value is a mapping or list

    def position(self, path: Sequence[str | int], *, key: bool = False) -> tuple[int, int]:
        """Position of `path`, or of its nearest ancestor that exists in the file.

        A mapping or list is located by its key (`spec:`), not by its first child; a scalar by
        its value (`weight: 120` points at `120`). `key=True` always prefers the key.
        """
        path = tuple(path)
        while True:
            if (key or path in self.collections) and path in self.key_positions:
                return self.key_positions[path]
            if path in self.value_positions:
                return self.value_positions[path]
            if not path:
                return (1, 1)
            path = path[:-1]

    def has(self, path: Sequence[str | int]) -> bool:
        return tuple(path) in self.value_positions


class _Builder:
    def __init__(self, file: str, loader: yaml.SafeLoader) -> None:
        self.file = file
        self.loader = loader
        self.values: dict[Path, tuple[int, int]] = {}
        self.keys: dict[Path, tuple[int, int]] = {}
        self.problems: list[Diagnostic] = []
        self.collections: set[Path] = set()

    @staticmethod
    def _pos(node: yaml.Node) -> tuple[int, int]:
        return (node.start_mark.line + 1, node.start_mark.column + 1)

    def build(self, node: yaml.Node, path: Path) -> Any:
        self.values[path] = self._pos(node)
        if isinstance(node, yaml.MappingNode):
            self.collections.add(path)
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            self.collections.add(path)
            return [self.build(child, path + (i,)) for i, child in enumerate(node.value)]
        return self.loader.construct_object(node, deep=True)

    def _mapping(self, node: yaml.MappingNode, path: Path) -> dict:
        result: dict = {}
        # Expand YAML merge keys (<<) the way SafeLoader does before we walk the pairs. Keys
        # pulled in by a merge may be overridden by explicit keys; explicit keys may not repeat.
        explicit = {id(k) for k, _ in node.value if k.tag != "tag:yaml.org,2002:merge"}
        self.loader.flatten_mapping(node)
        merged: set = set()
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                line, col = self._pos(key_node)
                self.problems.append(Diagnostic(self.file, line, col, "yaml.syntax", ERROR,
                                                "mapping keys must be plain scalars"))
                continue
            key = self.loader.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                key = str(key_node.value)
            child = path + (key,)
            if id(key_node) not in explicit:
                merged.add(key)
            elif key in merged:
                merged.discard(key)  # an explicit key overrides a merged one
                del result[key]
            if key in result:
                line, col = self._pos(key_node)
                first = self.keys[child]
                self.problems.append(Diagnostic(
                    self.file, line, col, "yaml.duplicate-key", ERROR,
                    f"duplicate key '{key}' (first defined at line {first[0]}); YAML keeps only one of them"))
                continue
            self.keys[child] = self._pos(key_node)
            result[key] = self.build(value_node, child)
        return result


def load_yaml(text: str, file: str) -> tuple[SourceDocument | None, list[Diagnostic]]:
    """Parse one YAML document. Returns (document, problems); document is None on a syntax error.

    Usual documents are built straight from libyaml's events (fastyaml.load_with_positions, about
    ten times faster); anything else (errors, aliases, merge keys, duplicates, tags) takes the
    node walk below, which words every problem."""
    try:
        data, values, keys, collections = fastyaml.load_with_positions(text, yamlguard.MAX_DEPTH)
    except fastyaml.TooDeep as exc:
        return None, [Diagnostic(file, exc.line, exc.column, yamlguard.DEPTH_RULE, ERROR,
                                 yamlguard.too_deep_message(yamlguard.MAX_DEPTH))]
    except (fastyaml.Unusual, yaml.YAMLError, RecursionError):
        pass
    else:
        if not values:
            return SourceDocument(file, None, {(): (1, 1)}, {}), []
        return SourceDocument(file, data, values, keys, collections), []
    # The slow path expands aliases (and recurses per level): bound both before building anything.
    try:
        yamlguard.check(text)
    except yamlguard.Refused as exc:
        return None, [Diagnostic(file, exc.line, exc.column, exc.rule, ERROR, exc.message)]
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = (exc.problem or exc.context or "invalid YAML").strip()
        if exc.context and exc.context.startswith(("while scanning a quoted", "while parsing a flow")) \
                and exc.context_mark and exc.problem_mark and exc.context_mark.line != exc.problem_mark.line:
            # An unterminated quote or bracket: point where it opened, say where parsing failed.
            opened = exc.context_mark
            line, col = opened.line + 1, opened.column + 1
            message = f"{exc.context} started here: {message} (at line {exc.problem_mark.line + 1})"
        if "expected a single document" in str(exc):
            message = "expected one YAML document; this file holds several"
        return None, [Diagnostic(file, line, col, "yaml.syntax", ERROR, f"YAML syntax error: {message}")]
    except RecursionError:  # pragma: no cover - yamlguard.check refuses such depth first
        return None, [Diagnostic(file, 1, 1, yamlguard.DEPTH_RULE, ERROR, yamlguard.too_deep_message(yamlguard.MAX_DEPTH))]
    except yaml.YAMLError as exc:  # reader errors (bad encoding, control characters)
        mark = getattr(exc, "position", None)
        return None, [Diagnostic(file, 1, 1, "yaml.syntax", ERROR, f"YAML syntax error: {exc}")]
    finally:
        loader.dispose()
    if node is None:
        return SourceDocument(file, None, {(): (1, 1)}, {}), []
    builder = _Builder(file, loader)
    try:
        data = builder.build(node, ())
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        return None, [Diagnostic(file, line, col, "yaml.syntax", ERROR, f"YAML error: {exc.problem}")]
    return SourceDocument(file, data, builder.values, builder.keys, builder.collections), builder.problems
