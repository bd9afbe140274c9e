"""The documents of a resource file built straight from libyaml's events: the loader's fast path.

One job: what `loader._parse_documents_uncached` builds through PyYAML's node graph (libyaml composes
a Python node per scalar, the resolver runs per node, the loader's `_build` walks the nodes), built
from the parser's events instead, as `fastyaml` does for the validator. For each document:
(line, data, nulls, items, empty_nulls, finite), the fields of `loader.Document`.

Only the usual is handled here; anything else raises `Unusual` and the caller parses the text the
slow way, which then words every error and makes every unusual choice exactly as before:
explicit tags (also `!`), anchors and aliases, complex keys, keys that are not plain strings
(numbers, nulls, timestamps), merge keys `<<` (`plain` raises for those), duplicate keys, nesting
of `max_depth` collections or more (the slow path's yamlguard refuses it), and malformed YAML
(yaml.YAMLError, also libyaml's own nesting limit). So a text this module builds is one the slow
path builds identically (tests/kustomize/test_loader_events.py compares the two), and nothing here
is ever built deeper than `max_depth`, nor through an alias.
"""

from __future__ import annotations

from typing import Any, Callable

from yaml._yaml import CParser  # libyaml's parser, part of the PyYAML wheels
from yaml.events import (AliasEvent, DocumentEndEvent, DocumentStartEvent, MappingEndEvent, MappingStartEvent,
                         ScalarEvent, SequenceEndEvent, SequenceStartEvent, StreamEndEvent, StreamStartEvent)


class Unusual(Exception):
    """The text uses something the fast path leaves to the slow path."""


def load(text: str, max_depth: int, plain: dict[str, Any], quoted: type) -> list[tuple]:
    """(line, data, nulls, items, empty_nulls, finite) of every document of `text`.

    `plain[value]`: a plain (untagged, unquoted) scalar's value (a memo that fills itself, raising
    Unusual when only the slow path may build it); `quoted`: the str subclass of quoted scalars.
    Raises Unusual, or yaml.YAMLError."""
    parser = CParser(text)
    try:
        return _documents(parser.get_event, max_depth, plain, quoted)
    finally:
        parser.dispose()


def _documents(next_event: Callable[[], Any], max_depth: int, plain: dict[str, Any],
               quoted: type) -> list[tuple]:
    docs: list[tuple] = []
    stack: list[tuple] = []  # the enclosing collections: (container, is a mapping, its pending key)
    no_key = stack  # marks "no pending key" (never a key itself)
    container: Any = None  # the innermost open collection (None: at the document's root)
    is_map = False
    key: Any = no_key  # in a mapping: the key read, waiting for its value
    root: Any = None
    line = 0
    finite = True
    nulls: dict = {}  # (id(mapping), key) -> the text of each null value in a mapping
    items: list | None = None  # the root mapping's `items` list
    items_lines: list[int] = []
    null_text = ""
    while True:
        event = next_event()
        kind = type(event)
        if kind is ScalarEvent:
            if event.tag is not None or event.anchor is not None:
                raise Unusual("tag or anchor")
            value: Any = event.value
            style = event.style
            if not style:  # plain (untagged): resolved
                value = plain[value]
                if value is None:
                    null_text = event.value
                elif value.__class__ is float:  # .nan and the infinities (numbers are int or RawFloat)
                    finite = False
            elif style == "'" or style == '"':
                value = quoted(value)
        elif kind is MappingEndEvent or kind is SequenceEndEvent:
            container, is_map, key = stack.pop()
            continue
        elif kind is MappingStartEvent or kind is SequenceStartEvent:
            if event.tag is not None or event.anchor is not None:
                raise Unusual("tag or anchor")
            if len(stack) >= max_depth:
                raise Unusual("too deep")  # yamlguard refuses it, at its position
            value = {} if kind is MappingStartEvent else []
        elif kind is DocumentStartEvent:
            root, finite, items, items_lines, nulls = None, True, None, [], {}
            continue
        elif kind is DocumentEndEvent:
            docs.append(_document(line, root, finite, nulls, items is not None, items_lines))
            continue
        elif kind is StreamStartEvent:
            continue
        elif kind is StreamEndEvent:
            return docs
        elif kind is AliasEvent:
            raise Unusual("alias")
        else:  # pragma: no cover - libyaml emits no other events
            raise Unusual(kind.__name__)

        if is_map:
            if key is no_key:  # this node is a key
                if value.__class__ is not str and value.__class__ is not quoted:
                    raise Unusual("a key that is not a string")  # (complex keys are dicts or lists)
                key = value
                continue
            if key in container:
                raise Unusual("duplicate key")
            container[key] = value
            if value is None:
                nulls[(id(container), key)] = null_text
            elif kind is SequenceStartEvent and key == "items" and len(stack) == 1:
                items = value
            key = no_key
        elif container is not None:
            container.append(value)
            if container is items:
                items_lines.append(event.start_mark.line + 1)
        else:
            root = value
            line = event.start_mark.line + 1
        if kind is not ScalarEvent:
            stack.append((container, is_map, key))
            container, is_map, key = value, kind is MappingStartEvent, no_key


def _document(line: int, root: Any, finite: bool, nulls: dict, has_items: bool, items_lines: list[int]) -> tuple:
    """The document's tuple, with the loader's metadata of its null values: `_null_meta_texts`,
    `_items_meta` and `_empty_null_paths` of the slow path, from the data and the null texts."""
    if not isinstance(root, dict):
        return line, root, {}, None, (), finite
    items = None
    if has_items:
        items = [(item_line, _meta_nulls(item, nulls), _empty_nulls(item, nulls, ()))
                 for item_line, item in zip(items_lines, root["items"])]
    return line, root, _meta_nulls(root, nulls), items, _empty_nulls(root, nulls, ()), finite


def _meta_nulls(obj: Any, nulls: dict) -> dict:
    """{(labels or annotations, key): text} of the null values of metadata.labels / annotations."""
    out: dict = {}
    if not nulls or not isinstance(obj, dict):
        return out
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        for field, entries in meta.items():
            if field in ("annotations", "labels") and isinstance(entries, dict):
                for key, value in entries.items():
                    if value is None:
                        out[(str(field), str(key))] = nulls[(id(entries), key)]
    return out


def _empty_nulls(obj: Any, nulls: dict, path: tuple) -> tuple:
    """Paths (through mappings only) of the nulls written as nothing (`key:`)."""
    if not nulls or not isinstance(obj, dict):
        return ()
    out: list = []
    for key, value in obj.items():
        if value is None:
            if nulls[(id(obj), key)] == "":
                out.append(path + (str(key),))
        elif isinstance(value, dict):
            out.extend(_empty_nulls(value, nulls, path + (str(key),)))
    return tuple(out)
