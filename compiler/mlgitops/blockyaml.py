"""Read the block-style YAML that kubectl kustomize and mlgitops' emitter print, without libyaml.

One job: the documents of a text in the narrow dialect of go-yaml v2's printer (emit.py describes
it). libyaml scans such text byte by byte and PyYAML turns each of its events into a Python
object; that was about 40% of rendering an overlay and half of a policy check's parse. Here a
structural line is classified once (memoised: most lines of generated files repeat across files)
and its scalar body is cut out with string operations, so a document is read in a fraction of
that time.

Read here: block mappings with plain keys; block sequences (also indentless under a key, and
compact `- - x`); plain scalars (also folded over several lines), single- and double-quoted
scalars (also folded, with every YAML escape); literal block scalars (`|`, `|-`, `|+`, an
indentation indicator); the empty flow collections `{}` and `[]`; `---` before and between
documents; blank lines and comment lines at column 0.

Everything else raises `NotDialect`, and the caller reads the text as before (libyaml), which
then makes every choice and words every error: characters other than printable ASCII (tabs,
carriage returns, Unicode), a line ending in a space, comments after content or indented,
anchors, aliases and tags, quoted or complex keys, flow collections with content, folded block
scalars, empty values (`key:` with nothing under it), duplicate keys, scalars at the root, a
root `items` list, nesting of `max_depth` collections or more, and whatever the caller's plain
scalar memo refuses. Continuation lines must be indented deeper than their collection.

What is read is exactly what libyaml's events give through the caller's resolution of plain
scalars (`plain`) and type of quoted ones (`quoted`); tests/kustomize/test_blockyaml.py compares them on
every generated file, on random objects through the emitter, and on mutated texts.
"""

from __future__ import annotations

import codecs
import re
from typing import Any, Callable

from yaml.scanner import Scanner

__all__ = ["NotDialect", "Reader"]


class NotDialect(Exception):
    """The text is not (only) the dialect read here."""


_READABLE = bytes(range(0x20, 0x7F)) + b"\n"  # printable ASCII and line feeds
_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./-]*\Z")
_BLOCK_HEADER = re.compile(r"\|([1-9]?)([-+]?)\Z")
_SPACES = re.compile(r" *")
_CONTENT = re.compile(r"[^\n]")  # the first character of a line that is not empty
# After the opening quote, to the closing one. Possessive: no backtracking, linear time whatever the text.
_DOUBLE_BODY = re.compile(r'(?:[^"\\]++|\\.)*+"', re.S)
_SINGLE_BODY = re.compile(r"(?:[^']++|'')*+'")
# Double-quoted text whose escapes Python's unicode_escape codec reads as YAML does (the rest: _unescape).
_CODEC_ESCAPES = re.compile(r'(?:[^\\]++|\\[\\"abfnrtv]|\\x[0-9A-Fa-f]{2}|\\u(?![dD][89a-fA-F])[0-9A-Fa-f]{4})*+\Z')
_ESCAPE = re.compile(r"\\(?:x([0-9A-Fa-f]{2})|u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|(.))", re.S)
_BLOCK_ENDS: dict[int, tuple[re.Pattern, str]] = {}  # indentation -> (where its block ends, "\n" + its spaces)
# What a plain scalar may not start with: YAML's indicators, and a space (`-x` is allowed below).
_NOT_PLAIN_FIRST = frozenset("-?:,[]{}#&*!|>'\"%@` ")
# What a line holds after its indentation and dashes (the `kind` of a classified line).
_VALUE = 0  # `key: scalar` or `- scalar`: a single-line quoted scalar
_PLAIN = 1  # the same, a plain scalar (its value; it may go on on the next lines)
_SPECIAL = 2  # the same, a plain null or float (recorded in nulls / clears `finite`)
_NESTED = 3  # `key:` with a collection on the next lines
_EMPTY = 4  # `{}` or `[]`
_LITERAL = 5  # a literal block scalar's header: (indentation indicator, chomping)
_QUOTED = 6  # a quoted scalar going on past the line: the offset of its quote in the line
_MEMO_LINE = 120  # the longest line memoised
_MEMO_MAX = 65_536  # lines: about 20 MB at most


class Reader:
    """Reads texts with one resolution of plain scalars (`plain(text)`, raising for what only
    the slow path may build) and one type of quoted scalars."""

    def __init__(self, plain: Callable[[str], Any], quoted: type) -> None:
        self.plain = plain
        self.quoted = quoted
        self.lines: dict[str, tuple] = {}  # line -> _classify(line)
        # `indentation, dashes, key: ` -> (indentation, mapping entry, dashes, key): the part of a
        # line memoised when the whole line is new (a line whose first ": " ends that part)
        self.heads: dict[str, tuple] = {}

    def load(self, text: str, max_depth: int) -> list[tuple[int, Any, dict, bool]]:
        """(1-based line of the root, root, nulls, finite) of each document of `text`: `nulls`
        maps (id(mapping), key) to the text of each null value of a mapping; `finite` is false
        when a float (`.nan`, `.inf`) occurs. Raises NotDialect."""
        if not text.endswith("\n") or not text.isascii() or text.encode("ascii").translate(None, _READABLE):
            raise NotDialect("characters")
        try:
            return self._documents(text, max_depth)
        except NotDialect:
            raise
        except Exception as exc:  # noqa: BLE001 - what `plain` refuses, text ending inside a scalar
            raise NotDialect(type(exc).__name__) from None

    def _documents(self, text: str, max_depth: int) -> list[tuple[int, Any, dict, bool]]:
        memo = self.lines
        classify = self._classify
        find = text.find
        content = _CONTENT.search
        end = len(text)
        docs: list[tuple[int, Any, dict, bool]] = []
        counted, lines_before = 0, 0  # text.count("\n", 0, counted) == lines_before
        pos = 4 if text.startswith("---\n") else 0  # an explicit start of the first document
        while True:
            stop = find("\n---\n", pos)  # no line of the dialect inside a document is `---`
            stop = end if stop < 0 else stop + 1
            stack: list[tuple[int, Any, bool]] = []  # the open collections: (column, collection, is a mapping)
            top: Any = None  # stack[-1]
            top_col, top_map = -1, False
            pending: tuple | None = None  # (mapping, key, its column) after `key:`
            root: Any = None
            root_pos = pos
            nulls: dict = {}
            finite = True
            while pos < stop:
                nl = find("\n", pos)
                line = text[pos:nl]
                if not line or line[0] == "#":
                    # and every empty line after it at once: a root key the policy check drops
                    # (fastyaml.prune_root) leaves a comment line and hundreds of empty ones
                    following = content(text, nl + 1, stop)
                    pos = stop if following is None else following.start()
                    continue
                indent, entry, dashes, key, kind, value, raw = memo.get(line) or classify(line)
                line_pos, pos = pos, nl + 1

                # The collection this line goes in: `container`, at column `col` (the common case:
                # the innermost open one).
                if indent == top_col and top_map is entry and pending is None:
                    container = top
                else:
                    if pending is not None:
                        parent, parent_key, parent_col = pending
                        pending = None
                        if len(stack) >= max_depth:
                            raise NotDialect("too deep")
                        if not entry and indent >= parent_col:
                            container = []
                        elif entry and indent > parent_col:
                            container = {}
                        else:
                            raise NotDialect("empty value")
                        parent[parent_key] = container
                        stack.append((indent, container, entry))
                    elif root is None:
                        if indent:
                            raise NotDialect("indented root")
                        container = root = {} if entry else []
                        root_pos = line_pos
                        stack.append((0, root, entry))
                    else:
                        while stack:
                            top_col, container, top_map = stack[-1]
                            if top_col > indent or (top_col == indent and not top_map and entry):
                                stack.pop()
                            else:
                                break
                        else:
                            raise NotDialect("after the root")
                        if top_col != indent or top_map is not entry:
                            raise NotDialect("indentation")
                    top, top_col, top_map = container, indent, entry
                col = indent

                if dashes:  # the first dash is an entry of `container`, each further one opens a sequence
                    for _ in range(dashes - 1):
                        if len(stack) >= max_depth:
                            raise NotDialect("too deep")
                        inner: Any = []
                        container.append(inner)
                        col += 2
                        stack.append((col, inner, False))
                        container = inner
                    if key is None:
                        top, top_col, top_map = container, col, False
                        if kind == _VALUE or (kind == _PLAIN and text[pos + col:pos + col + 1] != " "):
                            container.append(value)
                            continue
                    else:
                        if len(stack) >= max_depth:
                            raise NotDialect("too deep")
                        inner = {}
                        container.append(inner)
                        col += 2
                        stack.append((col, inner, True))
                        container = top = inner
                        top_col, top_map = col, True
                if key is not None:
                    if key in container:
                        raise NotDialect("duplicate key")
                    if kind == _VALUE or (kind == _PLAIN and text[pos + col:pos + col + 1] != " "):
                        container[key] = value
                        continue
                    if kind == _NESTED:
                        pending = (container, key, col)
                        continue
                # The rarer values: plain scalars on more lines, nulls and floats, empty collections,
                # literal block scalars, quoted scalars on more lines.
                if kind == _PLAIN or kind == _SPECIAL:
                    if text.startswith(" " * (col + 1), pos):
                        value, pos = self._plain_lines(text, pos, col, raw)
                    if value is None:
                        if key is not None:
                            nulls[(id(container), key)] = raw
                    elif value.__class__ is float:
                        finite = False
                elif kind == _EMPTY:
                    if len(stack) >= max_depth:
                        raise NotDialect("too deep")
                    value = {} if value == "{}" else []
                elif kind == _LITERAL:
                    value, pos = self._literal(text, pos, value, col)
                else:  # _QUOTED
                    value, pos = self._quoted(text, line_pos + value, col)
                if key is None:
                    container.append(value)
                else:
                    container[key] = value
            if pos != stop or root is None or pending is not None:
                raise NotDialect("document")
            if root.__class__ is dict and root.get("items").__class__ is list:
                raise NotDialect("items")  # the loader records each element's line
            lines_before += text.count("\n", counted, root_pos)
            counted = root_pos
            docs.append((lines_before + 1, root, nulls, finite))
            if stop >= end:
                return docs
            pos = stop + 4

    def _classify(self, line: str) -> tuple:
        """(indentation, whether it is a mapping entry (no dash), dashes, key or None, kind,
        value, raw text of a plain scalar) of a line."""
        colon = line.find(": ")
        head = self.heads.get(line[:colon + 2]) if colon > 0 else None
        if head is not None:  # a known `indentation, dashes, key: ` (the rest: model names, numbers...)
            rest = line[colon + 2:]
            if line[-1] == " ":
                raise NotDialect("entry")
            kind, value = self._scalar(rest)
            return self._remember(line, (*head, kind, colon + 2 if kind == _QUOTED else value, rest))
        indent = len(line) - len(line.lstrip(" "))
        dashes = 0
        at = indent
        while line.startswith("- ", at):
            dashes += 1
            at += 2
        rest = line[at:]
        if not rest or line[-1] == " ":
            raise NotDialect("entry")
        key = None
        if rest[0] != "'" and rest[0] != '"':
            colon = rest.find(": ")
            if colon >= 0:
                key = self._key(rest[:colon])
                rest = rest[colon + 2:]
                at += colon + 2
                _bounded_put(self.heads, line[:at], (indent, not dashes, dashes, key))
            elif rest[-1] == ":":
                return self._remember(line, (indent, not dashes, dashes, self._key(rest[:-1]), _NESTED, None, None))
        if key is None and not dashes:
            raise NotDialect("a line that is not an entry")
        kind, value = self._scalar(rest)
        return self._remember(line, (indent, not dashes, dashes, key, kind, at if kind == _QUOTED else value, rest))

    def _remember(self, line: str, cls: tuple) -> tuple:
        """`cls`, remembered for `line` when the line is short enough to come again."""
        if len(line) <= _MEMO_LINE:
            _bounded_put(self.lines, line, cls)
        return cls

    def _key(self, text: str) -> str:
        if _KEY.match(text) is None:
            raise NotDialect("key")
        key = self.plain(text)
        if key.__class__ is not str:
            raise NotDialect("a key that does not read as a string")
        return key

    def _scalar(self, text: str) -> tuple[int, Any]:
        """(kind, value) of the text after `key: ` or `- `."""
        first = text[0]
        if first in _NOT_PLAIN_FIRST:
            if first == '"':
                inner = text[1:-1]
                if len(text) >= 2 and text[-1] == '"' and '"' not in inner and "\\" not in inner:
                    return _VALUE, self.quoted(inner)
                return _QUOTED, None
            if first == "'":
                inner = text[1:-1]
                if len(text) >= 2 and text[-1] == "'" and "'" not in inner.replace("''", ""):
                    return _VALUE, self.quoted(inner.replace("''", "'"))
                return _QUOTED, None
            if first == "|":
                header = _BLOCK_HEADER.match(text)
                if header is None:
                    raise NotDialect("block scalar header")
                return _LITERAL, (int(header.group(1) or 0), header.group(2))
            if text == "{}" or text == "[]":
                return _EMPTY, text
            if first != "-" or len(text) < 2 or text[1] == " ":
                raise NotDialect("indicator")
        if ": " in text or " #" in text or text[-1] == ":":
            raise NotDialect("plain")
        value = self.plain(text)
        if value is None or value.__class__ is float:
            return _SPECIAL, value
        return _PLAIN, value

    def _plain_lines(self, text: str, pos: int, col: int, first: str) -> tuple[Any, int]:
        """A plain scalar folded over the lines from `pos` (indented deeper than `col`)."""
        parts = [first]
        deeper = " " * (col + 1)
        while text.startswith(deeper, pos):
            nl = text.find("\n", pos)
            line = text[pos:nl].lstrip(" ")
            if line[0] in _NOT_PLAIN_FIRST or line[-1] == " " or ": " in line or " #" in line or line[-1] == ":":
                raise NotDialect("plain continuation")
            parts.append(line)
            pos = nl + 1
        return self.plain(" ".join(parts)), pos

    def _literal(self, text: str, pos: int, header: tuple[int, str], col: int) -> tuple[str, int]:
        """A literal block scalar whose lines start at `pos`: (its value, the position after it)."""
        increment, chomp = header
        if increment:
            indent = col + increment
        else:
            first = pos
            while text.startswith("\n", first):
                first += 1
            indent = _spaces(text, first)
            if indent <= col or text[first + indent] == "\n":
                raise NotDialect("empty block scalar")
        known = _BLOCK_ENDS.get(indent)
        if known is None:  # the line break before the first line neither blank nor indented enough
            known = _BLOCK_ENDS[indent] = (re.compile(r"\n(?!\n| {%d})" % indent), "\n" + " " * indent)
        ends, pad = known
        found = ends.search(text, pos - 1)
        after = found.start() + 1 if found is not None else len(text)
        if text.startswith(pad[1:], pos):  # the usual first line, indented: no leading blank line
            value = text[pos + indent:after].replace(pad, "\n")
        else:
            value = ("\n" + text[pos:after]).replace(pad, "\n")[1:]
        stripped = value.rstrip("\n")
        if not stripped:
            raise NotDialect("empty block scalar")
        if chomp == "-":
            return stripped, after
        if chomp == "+":
            return value, after
        return stripped + "\n", after

    def _quoted(self, text: str, pos: int, col: int) -> tuple[Any, int]:
        """The quoted scalar whose quote is at `pos`, continued on lines indented deeper than
        `col`: (its value, the position of the line after it)."""
        double = text[pos] == '"'
        found = (_DOUBLE_BODY if double else _SINGLE_BODY).match(text, pos + 1)
        if found is None:
            raise NotDialect("no closing quote")
        after = found.end()
        if text[after] != "\n":
            raise NotDialect("after a quoted scalar")
        body = text[pos + 1:after - 1]
        if "\n" in body:
            body = self._fold(body, col, double)
        if double:
            if "\\" in body:
                if _CODEC_ESCAPES.match(body) is not None:
                    body = codecs.decode(body, "unicode_escape")
                else:
                    body = _ESCAPE.sub(_unescape, body)
        else:
            body = body.replace("''", "'")
        return self.quoted(body), after + 1

    @staticmethod
    def _fold(body: str, col: int, double: bool) -> str:
        """The lines of a quoted scalar's text joined as YAML folds them: one line break is a
        space, each blank line a line break, an escaped line break (`\\` ending a line of a
        double-quoted scalar) joins without a space; the indentation of the continued lines is
        dropped (it must be deeper than `col`)."""
        lines = body.split("\n")
        parts = [lines[0]]
        breaks = 0
        escaped = False
        for line in lines[1:]:
            if not line:
                breaks += 1
                continue
            text = line.lstrip(" ")
            if len(line) - len(text) <= col or not text:
                raise NotDialect("continuation indentation")
            previous = parts[-1]
            if previous.endswith(" "):
                raise NotDialect("a space before a line break in a quoted scalar")
            if double and previous.endswith("\\") \
                    and (len(previous) - len(previous.rstrip("\\"))) % 2:
                parts[-1] = previous[:-1]
                escaped = True
            parts.append("\n" * breaks if breaks or escaped else " ")
            parts.append(text)
            breaks = 0
            escaped = False
        if breaks:
            raise NotDialect("blank lines before the closing quote")
        return "".join(parts)


def _bounded_put(memo: dict, key: str, value: tuple) -> None:
    if len(memo) >= _MEMO_MAX:
        memo.clear()
    memo[key] = value


def _spaces(text: str, pos: int) -> int:
    """How many spaces `text` has from `pos` on."""
    found = _SPACES.match(text, pos)
    return 0 if found is None else found.end() - pos


def _unescape(escape: re.Match) -> str:
    hexadecimal = escape.group(1) or escape.group(2) or escape.group(3)
    if hexadecimal is None:
        try:
            return Scanner.ESCAPE_REPLACEMENTS[escape.group(4)]  # YAML's named escapes, as libyaml's
        except KeyError:
            raise NotDialect("escape") from None
    number = int(hexadecimal, 16)
    if 0xD800 <= number <= 0xDFFF or number > 0x10FFFF:
        raise NotDialect("escape")
    return chr(number)
