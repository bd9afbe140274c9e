"""Load one YAML document into plain data (optionally with positions) straight from libyaml's events.

One job: the fast path of `validate.documents.parse_stream` and `yamlsource.load_yaml`. PyYAML's C loader still composes a node
graph and resolves and constructs every node in Python; on 18,000 rendered objects that is
7.7 s of a 9.5 s validation run (profiled). Building dicts and lists directly from the parser's
events, resolving plain scalars with PyYAML's own implicit resolvers (memoised) and its own
scalar constructors, gives the same data in a fraction of the time.

Same result as `yaml.load(text, Loader=yamlsource._Loader)` (YAML 1.1, no timestamps), and for
`load_with_positions` the same positions as yamlsource's node walk, checked by
tests/test_validate_fastyaml.py. Anything unusual (explicit tags, merge keys `<<`, complex keys,
more than one document; with positions also aliases and duplicate keys) raises `Unusual`, and the
caller loads the document the slow way, so the rare cases keep PyYAML's exact behaviour and
error messages.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Collection, TypeAlias

import yaml
from yaml._yaml import CParser  # libyaml's parser, part of the PyYAML wheels
from yaml.constructor import SafeConstructor
from yaml.events import (AliasEvent, DocumentEndEvent, DocumentStartEvent, MappingEndEvent, MappingStartEvent,
                         ScalarEvent, SequenceEndEvent, SequenceStartEvent, StreamEndEvent, StreamStartEvent)
from yaml.nodes import ScalarNode

from . import blockyaml

Path: TypeAlias = "tuple[str | int, ...]"  # a JSON path: ("spec", "canary", "steps", 2, "weight")

try:  # the timestamp-free resolvers of yamlsource._Loader (Kubernetes reads 2026-11-23 as a string)
    _BASE_RESOLVERS = yaml.CSafeLoader.yaml_implicit_resolvers
except AttributeError:  # pragma: no cover - PyYAML without libyaml
    _BASE_RESOLVERS = yaml.SafeLoader.yaml_implicit_resolvers
_RESOLVERS = {first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
              for first, resolvers in _BASE_RESOLVERS.items()}
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


class TooDeep(RecursionError):
    """Nesting beyond the caller's limit, at the 1-based (line, column) of the first node too deep."""

    def __init__(self, line: int, column: int) -> None:
        super().__init__("nesting too deep")
        self.line = line
        self.column = column


def is_depth_error(exc: BaseException) -> bool:
    """Whether libyaml itself refused the nesting depth. libyaml 0.2.6 (bundled by PyYAML 6.0.3+
    wheels; 0.2.5 has no limit) stops at 1,000 levels, for flow collections in its scanner's
    look-ahead before any event reaches us. Every caller's own depth limit is far lower, so this
    refusal is the caller's verdict too: the same rule on every libyaml, our limit checked first."""
    return isinstance(exc, yaml.YAMLError) and "maximum nesting depth" in str(exc)


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
            try:
                result = construct(value)
            except ValueError:  # an integer past Python's 4,300-digit conversion limit
                raise Unusual(tag) from None  # the node walk words it, at its position
            break
    if len(value) <= 40:
        if len(_memo) > 50_000:
            _memo.clear()
        _memo[value] = result
    return result


_DIALECT = blockyaml.Reader(_plain, str)  # what libyaml's safe loader makes of each scalar


def load(text: str, max_depth: int, keep: Callable[[dict], Collection[str] | None] | None = None
         ) -> tuple[Any, list[tuple[Any, int, int]], bool]:
    """(data, duplicate keys as (key, line0, col0), whether aliases occur) of a one-document text.

    `keep`, when given, is asked once the root mapping has a key that is not apiVersion, kind or
    metadata, with the root built so far: it answers the root keys worth building (None: all).
    The others are skipped event by event and left out of the data (their nodes are never built;
    duplicate keys are still seen). A caller that reads only some fields, such as the policy check
    reading 49 MB of PrometheusRule groups to look at their metadata, saves most of the work.

    Raises yaml.YAMLError for malformed YAML, Unusual for what the slow path must handle, and
    TooDeep (a RecursionError) when nesting exceeds `max_depth` (the caller reports it). Aliases
    are shared, not copied: callers run yamlguard.check on texts with aliases first.

    Without `keep`, a text in the dialect kubectl kustomize and mlgitops print is read line by line
    (blockyaml, the same data), the others from libyaml's events."""
    if keep is None:
        read = _read_dialect(text, max_depth)
        if read is not None:
            return read
    return _load_events(text, max_depth, keep)


def _read_dialect(text: str, max_depth: int) -> tuple[Any, list, bool] | None:
    """load's result for a one-document text in blockyaml's dialect; None for any other text."""
    try:
        docs = _DIALECT.load(text, max_depth)
    except blockyaml.NotDialect:
        return None
    return (docs[0][1], [], False) if len(docs) == 1 else None


def _load_events(text: str, max_depth: int, keep: Callable[[dict], Collection[str] | None] | None = None
                 ) -> tuple[Any, list[tuple[Any, int, int]], bool]:
    parser = CParser(text)
    try:
        return _build(parser.get_event, max_depth, keep)
    finally:
        parser.dispose()


_ALWAYS = frozenset({"apiVersion", "kind", "metadata"})
# A line at column 0 that is not indentation, a comment or a sequence entry, and a plain root key.
_COLUMN0 = re.compile(r"\n([^ \t\n#-][^\n]*)")  # (a literal first: fast; the first line is seen too)
_ROOT_KEY = re.compile(r"([A-Za-z_][A-Za-z0-9_.-]*)[ \t]*:(?:[ \t]|$)")
_PLAIN_VALUE = re.compile(r"[ \t]*([A-Za-z0-9][A-Za-z0-9_./-]*)[ \t]*(?:\n|$)")


def prune_root(text: str, keep: Callable[[dict], Collection[str] | None]) -> str | None:
    """`text` with the values of the root keys `keep` leaves out blanked (line numbers unchanged),
    or None when that cannot be done safely; then `load(text, keep=keep)` skips them event by event.

    Without building anything: root keys are the plain `key:` lines at column 0 (block style, as
    kubectl, kustomize and mlgitops write), and every one of the segments they cut the text into
    must parse on its own in libyaml (C speed, no Python objects). A "key" line that is really
    inside a multi-line quoted scalar or flow collection leaves the segment before it
    unterminated, so it is caught. Anything else unusual at column 0 (quoted or complex keys,
    merge keys, flow style, JSON), a repeated root key, or an anchor in a dropped segment: None.

    A dropped segment becomes a comment line (`#`) then blank lines, not blank lines only: a kept
    literal block scalar just before it ends at the comment as it ends at the dropped key, where
    blank lines would join a keep-chomped (`|+`) scalar's value."""
    cut = _cut_root(text, keep)
    if cut is None:
        return None
    pruned, kept = cut
    return pruned if all(_parses(segment) for segment in kept) else None


def load_pruned(text: str, keep: Callable[[dict], Collection[str] | None], max_depth: int
                ) -> tuple[Any, list[tuple[Any, int, int]], bool] | None:
    """load(prune_root(text, keep), max_depth), or None where prune_root gives None.

    The kept segments are not parsed on their own first when blockyaml reads the pruned text: its
    dialect has no flow collections and no continuation line at column 0 (every one is indented
    deeper than its collection), so each kept segment it reads ends within itself, as prune_root's
    check of each segment proves; the dropped segments are checked as prune_root checks them."""
    cut = _cut_root(text, keep)
    if cut is None:
        return None
    pruned, kept = cut
    read = _read_dialect(pruned, max_depth)
    if read is not None:
        return read
    if not all(_parses(segment) for segment in kept):
        return None
    return _load_events(pruned, max_depth)


def _parses(segment: str) -> bool:
    """libyaml parses `segment` on its own (C speed, nothing built)."""
    parser = CParser(segment)
    try:
        parser.raw_parse()
    except yaml.YAMLError:
        return False
    finally:
        parser.dispose()
    return True


def _cut_root(text: str, keep: Callable[[dict], Collection[str] | None]) -> tuple[str, list[str]] | None:
    """(the pruned text, its kept segments, still to be checked) for prune_root; the dropped
    segments checked already."""
    starts: list[tuple[int, str]] = []
    for match in _COLUMN0.finditer("\n" + text):
        key = _ROOT_KEY.match(match.group(1))
        if key is None:
            return None
        starts.append((match.start(1) - 1, key.group(1)))
    names = [name for _, name in starts]
    if not starts or len(set(names)) != len(names):
        return None
    if any(line.strip() and not line.lstrip().startswith("#") and line.rstrip() not in ("---", "...")
           for line in text[:starts[0][0]].split("\n")):
        return None  # content before the first root key: not a block mapping at the root
    bounds = [start for start, _ in starts] + [len(text)]
    segments = {name: text[bounds[i]:bounds[i + 1]] for i, name in enumerate(names)}
    root: dict = {}
    for name in ("apiVersion", "kind"):
        if name in segments:
            value = _PLAIN_VALUE.match(segments[name], len(name) + 1)
            if value is None:
                return None
            root[name] = value.group(1)
    wanted = keep(root)
    if wanted is None or all(name in wanted or name in _ALWAYS for name in names):
        return None
    pieces = []
    kept = []
    for name in names:
        segment = segments[name]
        if name in wanted or name in _ALWAYS:
            pieces.append(segment)
            kept.append(segment)
            continue
        if "&" in segment:
            return None  # an anchor a kept part might alias
        if not literal_blocks_valid(segment, name) and not _parses(segment):
            return None
        lines = segment.count("\n")
        pieces.append("#\n" + "\n" * (lines - 1) if lines else "")
    return text[:bounds[0]] + "".join(pieces), kept


# A root key holding a block mapping of literal block scalars (a ConfigMap's `data` of dashboards):
# the head of each entry, `<indent><plain key>: |` (an optional chomping indicator), with the first
# line of its text, which sets the scalar's indentation.
_LITERAL_HEAD = re.compile(r"( +)[A-Za-z0-9_][A-Za-z0-9_./-]{0,252}: \|[-+]?\n( +)[!-~][^\n]*(?:\n|\Z)")
_PRINTABLE = bytes(range(0x20, 0x7F)) + b"\t\n"
_LITERAL_END: dict[int, re.Pattern] = {}  # by indentation: the first line indented less that is not blank


def literal_blocks_valid(segment: str, name: str) -> bool:
    """Whether `segment` (a root key's lines, from `name:` at column 0 to the next root key) is
    certainly a valid YAML document on its own, without parsing it: True only for one common
    shape that is easy to recognise exactly, `name:` then a block mapping whose values are all
    literal block scalars of printable ASCII text; False means "not known" (libyaml decides).
    At string-search speed: libyaml scans 100-200 MB/s, and dashboards are half of a large corpus.

    That shape is valid for libyaml when: nothing but printable ASCII, tabs and newlines occurs
    (libyaml refuses control characters, and reads \\r, U+0085, U+2028 and U+2029 as line breaks);
    every entry starts at the mapping's indentation with a plain key (no indicator first, far
    below the 1024 characters of a simple key) and `: |`, `: |-` or `: |+` ending the line; the
    scalar's first line is not blank and is indented deeper than the keys (libyaml takes its
    indentation from it); every further line up to the next entry is either indented at least as
    deep (the rest of the line is content, tabs included) or blank, of spaces only (a tab where
    indentation is expected is an error). tests/test_validate_fastyaml.py compares this with
    libyaml on generated and mutated texts."""
    head = f"{name}:\n"
    if not segment.startswith(head) or not segment.isascii() \
            or segment.encode("ascii").translate(None, _PRINTABLE):
        return False
    position, end, keys = len(head), len(segment), None
    while position < end:
        match = _LITERAL_HEAD.match(segment, position)
        if match is None:
            return False
        indent, depth = len(match.group(1)), len(match.group(2))
        if keys is None:
            keys = indent
        if indent != keys or depth <= indent:
            return False
        position = match.end()  # the start of the scalar's second line (or the end)
        if position == end:
            break
        # the usual case: every further line to the end is indented `depth` spaces (or deeper)
        lines = segment.count("\n", position - 1, end - 1)  # the line starts after `position - 1`
        if segment.count("\n" + " " * depth, position - 1, end) == lines:
            break
        found = _LITERAL_END.get(depth)
        if found is None:
            found = _LITERAL_END[depth] = re.compile(r"\n {0,%d}[^ \n]" % (depth - 1))
        less = found.search(segment, position - 1)
        position = end if less is None else less.start() + 1  # there the next entry's head, or False
    return keys is not None


_SKIPPED = object()  # the value of a skipped root key until the document ends


def _skip_value(next_event: Any) -> None:
    """Consume the events of one node (a scalar, an alias or a whole collection)."""
    depth = 0
    while True:
        kind = type(next_event())
        if kind is MappingStartEvent or kind is SequenceStartEvent:
            depth += 1
        elif kind is MappingEndEvent or kind is SequenceEndEvent:
            depth -= 1
        if depth == 0:
            return


def _build(next_event: Any, max_depth: int, keep: Any = None) -> tuple[Any, list, bool]:
    # The hot loop of validation: locals only, the commonest event (a scalar) first.
    stack: list[list] = []  # frames: [container, is_mapping, pending key, key event]
    push, pop = stack.append, stack.pop
    anchors: dict[str, Any] = {}
    duplicates: list[tuple[Any, int, int]] = []
    root: Any = None
    aliases = False
    documents = 0
    no_key = stack  # a sentinel no key can equal
    memo, plain = _memo, _plain
    scalar_event, mapping_start, sequence_start = ScalarEvent, MappingStartEvent, SequenceStartEvent
    kept: Any = None if keep is None else False  # False: not asked yet; None: keep everything
    pruned = False
    while True:
        event = next_event()
        kind = type(event)
        if kind is scalar_event:
            tag = event.tag
            value: Any = event.value
            if tag is None:
                if not event.style and event.implicit[0]:
                    if value in memo:
                        value = memo[value]
                    else:
                        value = plain(value) if value else None
            elif tag != "!":
                raise Unusual(tag)
            if event.anchor is not None:
                anchors[event.anchor] = value
        elif kind is mapping_start or kind is sequence_start:
            if event.tag is not None and event.tag != "!":
                raise Unusual(event.tag)
            value = {} if kind is mapping_start else []
            if event.anchor is not None:
                anchors[event.anchor] = value
            if len(stack) >= max_depth:
                raise TooDeep(event.start_mark.line + 1, event.start_mark.column + 1)
        elif kind is MappingEndEvent or kind is SequenceEndEvent:
            pop()
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
            if pruned:
                for key in [k for k, v in root.items() if v is _SKIPPED]:
                    del root[key]
            return root, duplicates, aliases
        else:  # pragma: no cover - libyaml emits no other events
            raise Unusual(kind.__name__)

        if stack:
            frame = stack[-1]
            if frame[1]:
                if frame[2] is no_key:
                    if value.__class__ is dict or value.__class__ is list:
                        raise Unusual("complex key")
                    frame[2] = value
                    frame[3] = event
                    if kept is not None and len(stack) == 1 and value not in _ALWAYS:
                        if kept is False:
                            kept = keep(frame[0])
                        if kept is not None and value not in kept:
                            _skip_value(next_event)
                            if value in frame[0]:
                                duplicates.append((value, event.start_mark.line, event.start_mark.column))
                            frame[0][value] = _SKIPPED
                            frame[2] = no_key
                            pruned = True
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
        if kind is mapping_start:
            push([value, True, no_key, None])
        elif kind is sequence_start:
            push([value, False, no_key, None])


def load_with_positions(text: str, max_depth: int = 200) -> tuple[Any, dict, dict, set]:
    """(data, value positions, key positions, collection paths) of a one-document text, with
    1-based (line, column) by JSON path as yamlsource.SourceDocument holds them. Raises
    yaml.YAMLError or Unusual (also for aliases and duplicate keys) for the slow path to handle,
    TooDeep when a collection nests deeper than `max_depth`."""
    parser = CParser(text)
    try:
        return _build_positions(parser.get_event, max_depth)
    finally:
        parser.dispose()


def _build_positions(next_event: Any, max_depth: int) -> tuple[Any, dict, dict, set]:
    values: dict[tuple, tuple[int, int]] = {}
    keys: dict[tuple, tuple[int, int]] = {}
    collections: set = set()
    stack: list[list] = []  # frames: [container, is_mapping, pending key or no_key, path]
    no_key = stack
    root: Any = None
    documents = 0
    while True:
        event = next_event()
        kind = type(event)
        if kind is ScalarEvent or kind is MappingStartEvent or kind is SequenceStartEvent:
            if event.tag is not None and event.tag != "!":
                raise Unusual(event.tag)
            if kind is ScalarEvent:
                value: Any = event.value
                if not event.style and event.implicit[0] and event.tag is None:
                    value = _plain(value) if value else None
            else:
                value = {} if kind is MappingStartEvent else []
            mark = event.start_mark
            position = (mark.line + 1, mark.column + 1)
            if stack:
                frame = stack[-1]
                if frame[1] and frame[2] is no_key:  # a mapping key
                    if kind is not ScalarEvent:
                        raise Unusual("complex key")
                    key = value if isinstance(value, str) else event.value
                    path = frame[3] + (key,)
                    if path in keys:
                        raise Unusual("duplicate key")
                    keys[path] = position
                    frame[2] = key
                    continue
                if frame[1]:
                    path = frame[3] + (frame[2],)
                    frame[0][frame[2]] = value
                    frame[2] = no_key
                else:
                    path = frame[3] + (len(frame[0]),)
                    frame[0].append(value)
            else:
                path = ()
                root = value
            values[path] = position
            if kind is not ScalarEvent:
                if len(stack) >= max_depth:
                    raise TooDeep(*position)
                collections.add(path)
                stack.append([value, kind is MappingStartEvent, no_key, path])
        elif kind is MappingEndEvent or kind is SequenceEndEvent:
            stack.pop()
        elif kind is AliasEvent:
            raise Unusual("alias")
        elif kind is DocumentStartEvent:
            documents += 1
            if documents > 1:
                raise Unusual("more than one document")
        elif kind is StreamEndEvent:
            return root, values, keys, collections


def find_position(text: str, path: Path) -> tuple[int, int]:
    """`SourceDocument.position(path)` of a one-document text without building the document:
    the 1-based (line, column) of `path`, or of its nearest ancestor present; a mapping or list
    entered through a key is located by its key, anything else by its value. Raises
    yaml.YAMLError or Unusual (aliases, tagged or complex keys) for the slow path."""
    parser = CParser(text)
    try:
        return _find(parser.get_event, tuple(path))
    finally:
        parser.dispose()


def _find(next_event: Any, target: tuple) -> tuple[int, int]:
    best = (1, 1)
    best_depth = -1
    # frames: [is_mapping, pending key (no_key when the next scalar is a key), next index, path, key mark]
    stack: list[list] = []
    no_key = stack
    skip = 0  # depth inside a subtree that is not on the way to the target
    while True:
        event = next_event()
        kind = type(event)
        if kind is StreamEndEvent:
            return best
        if kind is AliasEvent:
            raise Unusual("alias")
        if kind is MappingEndEvent or kind is SequenceEndEvent:
            if skip:
                skip -= 1
            else:
                stack.pop()
                if len(stack) <= best_depth:
                    return best  # left the best node's container: nothing deeper is on the way
            continue
        if kind is not ScalarEvent and kind is not MappingStartEvent and kind is not SequenceStartEvent:
            continue
        if skip:
            if kind is not ScalarEvent:
                skip += 1
            continue
        key_mark = None
        if stack:
            frame = stack[-1]
            if frame[0]:
                if frame[1] is no_key:  # this scalar is a key
                    if kind is not ScalarEvent or (event.tag is not None and event.tag != "!"):
                        raise Unusual("complex or tagged key")
                    value = event.value
                    if not event.style and event.implicit[0]:
                        value = _plain(value) if value else None
                    frame[1] = value if isinstance(value, str) else event.value
                    frame[4] = event.start_mark
                    continue
                path = frame[3] + (frame[1],)
                key_mark = frame[4]
                frame[1] = no_key
            else:
                path = frame[3] + (frame[2],)
                frame[2] += 1
        else:
            path = ()
        depth = len(path)
        on_the_way = path == target[:depth]
        if on_the_way and depth > best_depth:
            mark = key_mark if (key_mark is not None and kind is not ScalarEvent) else event.start_mark
            best, best_depth = (mark.line + 1, mark.column + 1), depth
            if depth == len(target):
                return best
        if kind is not ScalarEvent:
            if on_the_way:
                stack.append([kind is MappingStartEvent, no_key, 0, path, None])
            else:
                skip = 1
