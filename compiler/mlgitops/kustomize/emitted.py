"""The documents of a text mlgitops' own emitter wrote, built from the objects it wrote.

One job: what `loader.parse_documents_ex` would build from the text `emit.dump_all(objects)`
(after the one-line generated header), without parsing it. `mlgitops check` compiles every model
and then renders its overlays, which reads the files the build compared byte for byte a moment
before: where a file on disk is exactly what the build made, the renderer takes these documents
instead of parsing the text again (`loader.offer`), about a third of a render's time.

Each scalar becomes what the reader makes of the text the emitter chose for it (emit._scalar):
a plain scalar goes through the reader's own memo of plain values (`loader._PLAIN_VALUES`, the
same function the fast path calls), a quoted one is a `QuotedStr`, a literal block a `str`;
numbers, booleans and null as their emitted text reads. Anything the reader's fast path would
leave to its slow path (a key that does not read as a string, a complex key, a top-level `items`
list, nesting near the depth limit, text that may hold an alias) raises `NotUsual`, and the text
is parsed as usual. tests/kustomize/test_emitted.py compares these documents with the parsed
ones, types included, on every generated file of the example repository and on random objects.
"""

from __future__ import annotations

from typing import Any

from .. import emit, yamlguard
from . import v3events
from .loader import _PLAIN_VALUES, Document, QuotedStr


class NotUsual(Exception):
    """The text is left to the reader."""


_TEXT = {True: "true", False: "false", None: "null"}


def documents(objects: list, text: str, first_line: int) -> list[Document]:
    """The documents of `text`, which is `emit.dump_all(objects)` (or `emit.dump` of one
    object) starting on line `first_line` of its file. Raises NotUsual."""
    if yamlguard.may_alias(text):
        raise NotUsual("may alias")
    ends = _document_ends(text, len(objects))
    docs: list[Document] = []
    line, start = first_line, 0
    for obj, end in zip(objects, ends):
        if type(obj) is not dict or not obj:
            raise NotUsual("not a mapping")
        if "items" in obj and type(obj["items"]) is list:
            raise NotUsual("items")  # the reader records each element's line
        nulls: dict = {}
        state = [True]  # finite
        data = _mapping(obj, nulls, state, 0)
        docs.append(Document(*v3events._document(line, data, state[0], nulls, False, [])))
        line += text.count("\n", start, end) + 1  # the document's lines and the `---` after it
        start = end + 4
    return docs


def _document_ends(text: str, count: int) -> list[int]:
    """Where each of the `count` documents of `text` ends (its last line break): dump_all puts
    `---` between documents, and no other line starts with it (block scalars are indented)."""
    ends, at = [], 0
    while True:
        found = text.find("\n---\n", at)
        if found < 0:
            break
        ends.append(found + 1)
        at = found + 5
    ends.append(len(text))
    if len(ends) != count:
        raise NotUsual("documents")
    return ends


def _scalar(value: Any, state: list) -> Any:
    kind = type(value)
    if kind is str:
        style = emit._scalar(value)[0]
        if style == emit._PLAIN:
            return _plain(value, state)
        if style == emit._LITERAL:
            return value
        return QuotedStr(value)
    if kind is bool or value is None:
        return _plain(_TEXT[value], state)
    if kind is int:
        return _plain(int.__repr__(value), state)
    if kind is float:
        return _plain(emit._format_float(value), state)
    raise NotUsual(kind.__name__)


def _plain(text: str, state: list) -> Any:
    try:
        value = _PLAIN_VALUES[text]
    except v3events.Unusual as exc:
        raise NotUsual(str(exc)) from None
    if value.__class__ is float:
        state[0] = False
    return value


def _mapping(obj: dict, nulls: dict, state: list, depth: int) -> dict:
    """`depth`: the collections around this one (the reader's limit counts those)."""
    if depth >= yamlguard.MAX_DEPTH:
        raise NotUsual("too deep")
    out: dict = {}
    for key, value in obj.items():
        if type(key) is not str:
            raise NotUsual("key")
        info = emit._scalar(key)
        if not info[2]:
            raise NotUsual("complex key")
        if info[0] == emit._PLAIN:
            read = _plain(key, state)
            if read.__class__ is not str:
                raise NotUsual("a key that does not read as a string")
        else:
            read = QuotedStr(key)
        kind = type(value)
        if kind is dict:
            out[read] = _mapping(value, nulls, state, depth + 1)
        elif kind is list:
            out[read] = _sequence(value, nulls, state, depth + 1)
        else:
            out[read] = item = _scalar(value, state)
            if item is None:
                nulls[(id(out), read)] = "null"
    return out


def _sequence(seq: list, nulls: dict, state: list, depth: int) -> list:
    if depth >= yamlguard.MAX_DEPTH:
        raise NotUsual("too deep")
    out: list = []
    for value in seq:
        kind = type(value)
        if kind is dict:
            out.append(_mapping(value, nulls, state, depth + 1))
        elif kind is list:
            out.append(_sequence(value, nulls, state, depth + 1))
        else:
            out.append(_scalar(value, state))
    return out

