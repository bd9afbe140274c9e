"""Load one YAML document into plain data straight from libyaml's events.

One job: the fast path of `documents.parse_stream`. PyYAML's C loader still composes a node
graph and resolves and constructs every node in Python; on 18,000 rendered objects that is
7.7 s of a 9.5 s validation run (profiled). Building dicts and lists directly from the parser's
events, resolving plain scalars with PyYAML's own implicit resolvers (memoised) and its own
scalar constructors, gives the same data in a fraction of the time.

Same result as `yaml.load(text, Loader=yamlsource._Loader)` (YAML 1.1, no timestamps), checked by
tests/test_validate_fastyaml.py. Anything unusual (explicit tags, merge keys `<<`, complex keys,
more than one document) raises `Unusual`, and the caller loads the document the slow way, so
the rare cases keep PyYAML's exact behaviour and error messages.
"""

from __future__ import annotations

from typing import Any

from yaml._yaml import CParser  # libyaml's parser, part of the PyYAML wheels
from yaml.constructor import SafeConstructor
from yaml.events import (AliasEvent, DocumentEndEvent, DocumentStartEvent, MappingEndEvent, MappingStartEvent,
                         ScalarEvent, SequenceEndEvent, SequenceStartEvent, StreamEndEvent, StreamStartEvent)
from yaml.nodes import ScalarNode

from ..yamlsource import _Loader

_RESOLVERS = _Loader.yaml_implicit_resolvers
_STR = "tag:yaml.org,2002:str"
_CONSTRUCT = SafeConstructor()
_SCALARS = {
    "tag:yaml.org,2002:null": lambda value: None,
    "tag:yaml.org,2002:bool": lambda value: SafeConstructor.bool_values[value.lower()],
    "tag:yaml.org,2002:int": lambda value: _CONSTRUCT.construct_yaml_int(ScalarNode("tag:yaml.org,2002:int", value)),
    "tag:yaml.org,2002:float":
        lambda value: _CONSTRUCT.construct_yaml_float(ScalarNode("tag:yaml.org,2002:float", value)),
}
_memo: dict[str, Any] = {}


class Unusual(Exception):
    """The document uses something the fast path leaves to PyYAML."""


def _plain(value: str) -> Any:
    """A plain (unquoted) scalar as PyYAML's safe loader reads it."""
    if value in _memo:
        return _memo[value]
    result: Any = value
    for tag, regexp in _RESOLVERS.get(value[:1], ()):
        if regexp.match(value):
            construct = _SCALARS.get(tag)
            if construct is None:
                raise Unusual(tag)  # merge keys, `=` values, `!`/`&`/`*` as plain scalars
            result = construct(value)
            break
    if len(value) <= 40:
        if len(_memo) > 50_000:
            _memo.clear()
        _memo[value] = result
    return result


def load(text: str, max_depth: int) -> tuple[Any, list[tuple[Any, int, int]], bool]:
    """(data, duplicate keys as (key, line0, col0), whether aliases occur) of a one-document text.

    Raises yaml.YAMLError for malformed YAML, Unusual for what the slow path must handle, and
    RecursionError when nesting exceeds `max_depth` (the caller reports it)."""
    parser = CParser(text)
    try:
        return _build(parser.get_event, max_depth)
    finally:
        parser.dispose()


def _build(next_event: Any, max_depth: int) -> tuple[Any, list, bool]:
    stack: list[list] = []  # frames: [container, is_mapping, pending key, key event]
    anchors: dict[str, Any] = {}
    duplicates: list[tuple[Any, int, int]] = []
    root: Any = None
    aliases = False
    documents = 0
    no_key = stack  # a sentinel no key can equal
    while True:
        event = next_event()
        kind = type(event)
        if kind is ScalarEvent:
            tag = event.tag
            if tag is not None and tag != "!":
                raise Unusual(tag)
            value: Any = event.value
            if not event.style and event.implicit[0] and tag is None:
                value = _plain(value) if value else None
            if event.anchor is not None:
                anchors[event.anchor] = value
        elif kind is MappingStartEvent or kind is SequenceStartEvent:
            if event.tag is not None and event.tag != "!":
                raise Unusual(event.tag)
            value = {} if kind is MappingStartEvent else []
            if event.anchor is not None:
                anchors[event.anchor] = value
            if len(stack) >= max_depth:
                raise RecursionError("nesting too deep")
        elif kind is MappingEndEvent or kind is SequenceEndEvent:
            stack.pop()
            continue
        elif kind is AliasEvent:
            if event.anchor not in anchors:
                raise Unusual("undefined alias")  # PyYAML's composer words the error
            value = anchors[event.anchor]
            aliases = True
        elif kind is DocumentStartEvent:
            documents += 1
            if documents > 1:
                raise Unusual("more than one document")
            continue
        elif kind is StreamStartEvent or kind is DocumentEndEvent:
            continue
        elif kind is StreamEndEvent:
            return root, duplicates, aliases
        else:  # pragma: no cover - libyaml emits no other events
            raise Unusual(kind.__name__)

        if stack:
            frame = stack[-1]
            if frame[1]:
                if frame[2] is no_key:
                    if isinstance(value, (dict, list)):
                        raise Unusual("complex key")
                    frame[2], frame[3] = value, event
                else:
                    key = frame[2]
                    container = frame[0]
                    if key in container:
                        duplicates.append((key, frame[3].start_mark.line, frame[3].start_mark.column))
                    container[key] = value
                    frame[2] = no_key
            else:
                frame[0].append(value)
        else:
            root = value
        if kind is MappingStartEvent:
            stack.append([value, True, no_key, None])
        elif kind is SequenceStartEvent:
            stack.append([value, False, no_key, None])
