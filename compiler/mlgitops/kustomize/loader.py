"""Reads kustomization files and the files they name, with kustomize's path rules.

* A kustomization directory holds exactly one of `kustomization.yaml`, `kustomization.yml`,
  `Kustomization`. Its fields are checked like kustomize's strict decoder does (unknown fields,
  wrong types, `kind`/`apiVersion`); fields the engine does not implement (helm, replacements,
  vars, plugins, buildMetadata, ...) are refused with `render.not-supported`, never
  ignored.
* Files (resources, patches, configurations, crds, generator sources) must lie in or below the
  kustomization's directory (kustomize's default `LoadRestrictionsRootOnly`) and in the
  repository; bases and components are directories anywhere in the repository that are not
  the directory of a kustomization being built or one of its ancestors (a cycle).
* Remote resources (URLs, git repositories) are refused as not supported.
* Every error is a RenderError at the kustomization line of the offending entry.

Resource files are read the way kustomize reads them (yaml.v3): `yes`/`on` are strings,
`0o17` and `1e3` are numbers, unquoted timestamps become RFC 3339 strings, duplicate keys
are errors. Each file is read and parsed once per render.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from typing import Any, Iterable, NamedTuple

import yaml

from .. import blockyaml, contain
from .. import yamlguard
from ..yamlsource import LoaderBase, SourceDocument, load_yaml
from . import v3events
from .errors import RenderError, not_supported
from .fieldspecs import json_type as _json_type
from .memo import Memo, copy_data

KUSTOMIZATION_FILE_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
KUSTOMIZATION_VERSION = "kustomize.config.k8s.io/v1beta1"
COMPONENT_VERSION = "kustomize.config.k8s.io/v1alpha1"

RULE_SYNTAX = "yaml.syntax"
RULE_INVALID = "render.invalid-kustomization"
RULE_MISSING = "render.missing-file"
RULE_MISSING_KUSTOMIZATION = "render.missing-kustomization"
RULE_CYCLE = "render.cycle"
RULE_OUTSIDE_REPO = "render.outside-repo"
RULE_RESTRICTED = "render.load-restrictor"
RULE_RESOURCE = "render.invalid-resource"


def find_repo_root(start: str) -> str:
    """The nearest ancestor of `start` (itself included) holding `.git` or `mlgitops.yaml`;
    the filesystem root when there is none."""
    path = os.path.realpath(start)
    if not os.path.isdir(path):
        path = os.path.dirname(path)
    probe = path
    while True:
        if os.path.exists(os.path.join(probe, ".git")) or os.path.isfile(os.path.join(probe, "mlgitops.yaml")):
            return probe
        parent = os.path.dirname(probe)
        if parent == probe:
            return parent
        probe = parent


def _inside(path: str, root: str) -> bool:
    """ConfirmedDir.HasPrefix: `path` is `root` or below it."""
    if root == os.sep or path == root:
        return True
    return path.startswith(root + os.sep)


# --- YAML as kustomize's resource reader (yaml.v3) sees it ------------------------------------------

class _V3Loader(LoaderBase):
    finite = True  # _build: no NaN or infinity built in the current document


_V3_PLAIN = "tag:mlgitops.dev,2025:v3-plain"
_V3Loader.yaml_implicit_resolvers = {}
_V3Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                                list("tTfF"))
_V3Loader.add_implicit_resolver("tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"),
                                ["~", "n", "N", ""])
_V3Loader.add_implicit_resolver("tag:yaml.org,2002:merge", re.compile(r"^(?:<<)$"), ["<"])
_V3Loader.add_implicit_resolver(_V3_PLAIN, re.compile(r"^[-+.0-9]"), list("-+.0123456789"))

_YAML_STYLE_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?\Z")
_GO_DOT_FLOAT = re.compile(r"\.[0-9](?:_?[0-9])*(?:[eE][-+]?[0-9](?:_?[0-9])*)?\Z")
_SPECIAL_FLOATS = {".nan": math.nan, ".NaN": math.nan, ".NAN": math.nan}
for _s in (".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"):
    _SPECIAL_FLOATS[_s] = math.inf
for _s in ("-.inf", "-.Inf", "-.INF"):
    _SPECIAL_FLOATS[_s] = -math.inf

_TS_DATE = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})\Z")
_TS_T = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})[Tt]([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})"
                   r"(?:[.,]([0-9]+))?(Z|[-+][0-9]{2}:[0-9]{2})\Z")
_TS_SPACE = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2}) +([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})"
                       r"(?:[.,]([0-9]+))?\Z")
_MONTH_DAYS = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _go_uint(text: str) -> int | None:
    """strconv.ParseUint(text, 0, 64) without underscores; None on any error."""
    if not text:
        return None
    base = 10
    if text[0] == "0":
        if len(text) >= 3 and text[1] in "xX":
            base, text = 16, text[2:]
        elif len(text) >= 3 and text[1] in "oO":
            base, text = 8, text[2:]
        elif len(text) >= 3 and text[1] in "bB":
            base, text = 2, text[2:]
        else:
            base, text = 8, text[1:]
            if not text:
                return 0
    digits = "0123456789abcdef"[:base]
    if not text or any(c.lower() not in digits for c in text):
        return None
    value = int(text, base)
    return value if value < 2 ** 64 else None


def _go_int(text: str) -> int | None:
    """strconv.ParseInt(text, 0, 64)."""
    if not text:
        return None
    sign = 1
    if text[0] in "+-":
        sign = -1 if text[0] == "-" else 1
        text = text[1:]
    u = _go_uint(text)
    if u is None:
        return None
    value = sign * u
    return value if -(2 ** 63) <= value < 2 ** 63 else None


def _timestamp(text: str) -> str | None:
    """yaml.v3 parseTimestamp, returned as Go's JSON encoding of the time.Time."""
    if len(text) < 5 or text[4] != "-" or not text[:4].isdigit():
        return None
    m = _TS_DATE.match(text)
    if m:
        y, mo, d = (int(g) for g in m.groups())
        h = mi = s = 0
        frac, tz = "", "Z"
    else:
        m = _TS_T.match(text) or _TS_SPACE.match(text)
        if not m:
            return None
        g = m.groups()
        y, mo, d, h, mi, s = (int(x) for x in g[:6])
        frac = (g[6] or "")[:9]
        tz = g[7] if len(g) > 7 and g[7] else "Z"
        if h >= 24 or mi >= 60 or s >= 60:
            return None
    if not 1 <= mo <= 12:
        return None
    days = _MONTH_DAYS[mo] + (1 if mo == 2 and y % 4 == 0 and (y % 100 != 0 or y % 400 == 0) else 0)
    if not 1 <= d <= days:
        return None
    if tz != "Z":
        tz_h, tz_m = int(tz[1:3]), int(tz[4:6])
        if tz_h > 23 or tz_m > 59:  # Go accepts any two digits for the offset hour up to 24
            return None
        if tz_h == 0 and tz_m == 0:
            tz = "Z"
    frac = frac.rstrip("0")
    return f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}{'.' + frac if frac else ''}{tz}"


class RawStr(str):
    """A string that was written differently in the source (a timestamp): `raw` is the text."""

    raw: str


class RawInt(int):
    raw: str


class RawFloat(float):
    raw: str


class QuotedStr(str):
    """A string written in quotes (every string of a JSON file is). kyaml keeps a scalar's quoting
    when a patch writes a new value into it, so a number written over it stays a string."""


def quoted_all(value: Any) -> Any:
    """Plain data as kustomize re-reads it from JSON: every string quoted, no source-text memos."""
    if isinstance(value, dict):
        return {k: quoted_all(v) for k, v in value.items()}
    if isinstance(value, list):
        return [quoted_all(v) for v in value]
    if isinstance(value, str):
        return QuotedStr(value)
    if raw_text(value) is not None:
        return int(value) if isinstance(value, int) else float(value)
    return value


def raw_text(value: Any) -> str | None:
    """The source text of a scalar the YAML reader converted, if it kept it."""
    return getattr(value, "raw", None)


def _raw(cls: type, value: Any, text: str) -> Any:
    out = cls(value)
    out.raw = text
    return out


def resolve_v3_plain(text: str) -> Any:
    """yaml.v3 resolve() for a plain scalar starting with one of `-+.0123456789`."""
    if text in _SPECIAL_FLOATS:
        return _SPECIAL_FLOATS[text]
    if text[0] == ".":
        if _GO_DOT_FLOAT.match(text):
            f = float(text.replace("_", ""))
            if not math.isinf(f):
                return _raw(RawFloat, f, text)
        return text
    ts = _timestamp(text)
    if ts is not None:
        return _raw(RawStr, ts, text)
    plain = text.replace("_", "")
    value = _go_int(plain)
    if value is None:
        value = _go_uint(plain)
    if value is not None:
        return value if plain == text and str(value) == text else _raw(RawInt, value, text)
    if _YAML_STYLE_FLOAT.match(plain):
        f = float(plain)
        if not math.isinf(f):
            return _raw(RawFloat, f, text)
    return text


class DuplicateKeyError(yaml.MarkedYAMLError):
    pass


def _construct_v3_plain(loader: _V3Loader, node: yaml.ScalarNode) -> Any:
    return resolve_v3_plain(node.value)


def _construct_str(loader: _V3Loader, node: yaml.ScalarNode) -> Any:
    if node.style in ("'", '"'):
        return QuotedStr(node.value)
    return node.value


def _construct_timestamp(loader: _V3Loader, node: yaml.ScalarNode) -> Any:
    return _timestamp(node.value) or node.value


def _construct_binary(loader: _V3Loader, node: yaml.ScalarNode) -> Any:
    data = yaml.constructor.SafeConstructor.construct_yaml_binary(loader, node)
    return data.decode("utf-8", "replace")


def _construct_unknown(loader: _V3Loader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return node.value
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    assert isinstance(node, yaml.MappingNode)  # the only other kind of node
    return loader.construct_mapping(node, deep=True)


def _construct_mapping(loader: _V3Loader, node: yaml.MappingNode, deep: bool = False) -> dict:
    explicit = {id(k) for k, _ in node.value if k.tag != "tag:yaml.org,2002:merge"}
    loader.flatten_mapping(node)
    mapping: dict = {}
    from_merge: set = set()
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str):
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark,
                f"found a {'null' if key is None else type(key).__name__} key ({key_node.value!r}); "
                "kustomize accepts only string keys", key_node.start_mark)
        if id(key_node) in explicit:
            if key in mapping and key not in from_merge:
                raise DuplicateKeyError("while constructing a mapping", node.start_mark,
                                        f"mapping key {key!r} already defined", key_node.start_mark)
            from_merge.discard(key)
        else:
            if key in mapping:
                continue  # an earlier merged mapping wins
            from_merge.add(key)
        mapping[key] = loader.construct_object(value_node, deep=deep)
    return mapping


_MERGE_TAGS = ("tag:yaml.org,2002:merge", "tag:yaml.org,2002:value")  # keys flatten_mapping handles
_STR_TAG, _NULL_TAG = "tag:yaml.org,2002:str", "tag:yaml.org,2002:null"
_MAP_TAG, _SEQ_TAG = "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"


def _build(loader: _V3Loader, node: yaml.Node) -> Any:
    """loader.construct_object(node, deep=True) for a document without aliases: the same values,
    built directly for the common tags (plain scalars, strings, maps without merge keys,
    sequences), through the loader's constructors for every other node. Without aliases no node
    is reached twice, so the constructor's memo of built nodes has nothing to do."""
    cls, tag = node.__class__, node.tag
    if cls is yaml.ScalarNode:
        if tag == _V3_PLAIN:
            value = resolve_v3_plain(node.value)
            if value.__class__ is float:  # only .nan and the infinities are not a RawFloat
                loader.finite = False
            return value
        if tag == _STR_TAG:
            return QuotedStr(node.value) if node.style in ("'", '"') else node.value  # type: ignore[attr-defined]
        if tag == _NULL_TAG:
            return None
    elif cls is yaml.MappingNode:
        if tag == _MAP_TAG and not any(k.tag in _MERGE_TAGS for k, _ in node.value):
            mapping: dict = {}
            for key_node, value_node in node.value:  # _construct_mapping without merge keys
                key = _build(loader, key_node)
                if not isinstance(key, str):
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping", node.start_mark,
                        f"found a {'null' if key is None else type(key).__name__} key ({key_node.value!r}); "
                        "kustomize accepts only string keys", key_node.start_mark)
                if key in mapping:
                    raise DuplicateKeyError("while constructing a mapping", node.start_mark,
                                            f"mapping key {key!r} already defined", key_node.start_mark)
                mapping[key] = _build(loader, value_node)
            return mapping
    elif cls is yaml.SequenceNode and tag == _SEQ_TAG:
        return [_build(loader, item) for item in node.value]
    loader.finite = False  # any value at all may come out
    return loader.construct_object(node, deep=True)


_V3_RESOLVERS: dict = {}  # first character -> [(tag, regexp)], filled below from the implicit resolvers


def _resolve(loader: _V3Loader, kind: type, value: str, implicit: tuple) -> str:
    """BaseResolver.resolve for the _V3Loader (no path resolvers, no wildcard resolvers), which
    libyaml's parser calls for every node: scalars without the generic lookups."""
    if kind is yaml.ScalarNode:
        if implicit[0]:
            for tag, regexp in _V3_RESOLVERS.get(value[:1], ()):
                if regexp.match(value):
                    return tag
        return _STR_TAG
    return yaml.resolver.BaseResolver.resolve(loader, kind, value, implicit)


_V3Loader.add_constructor(_V3_PLAIN, _construct_v3_plain)
_V3Loader.add_constructor("tag:yaml.org,2002:str", _construct_str)
_V3Loader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)
_V3Loader.add_constructor("tag:yaml.org,2002:binary", _construct_binary)
_V3Loader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_V3Loader.add_multi_constructor("!", _construct_unknown)
_V3Loader.add_multi_constructor("tag:", _construct_unknown)
assert not _V3Loader.yaml_path_resolvers and None not in _V3Loader.yaml_implicit_resolvers
_V3_RESOLVERS.update(_V3Loader.yaml_implicit_resolvers)
_V3Loader.resolve = _resolve  # type: ignore[method-assign,assignment]


class YamlError(Exception):
    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


class YamlRefused(YamlError):
    """Text yamlguard refuses (an alias bomb, nesting too deep): reported at its own position."""

    def __init__(self, message: str, line: int, column: int, rule: str) -> None:
        super().__init__(message, line, column)
        self.rule = rule


def _null_meta_texts(node: yaml.Node) -> dict:
    """How each null value of `metadata.labels` / `metadata.annotations` is written ("", "~",
    "null", ...), by (field, key): where kustomize turns those maps into strings it uses the
    text."""
    out: dict = {}
    if not isinstance(node, yaml.MappingNode):
        return out
    for key, value in node.value:
        if isinstance(key, yaml.ScalarNode) and key.value == "metadata" and isinstance(value, yaml.MappingNode):
            for mkey, mvalue in value.value:
                if isinstance(mkey, yaml.ScalarNode) and mkey.value in ("annotations", "labels") \
                        and isinstance(mvalue, yaml.MappingNode):
                    for akey, avalue in mvalue.value:
                        if isinstance(akey, yaml.ScalarNode) and isinstance(avalue, yaml.ScalarNode) \
                                and avalue.tag == "tag:yaml.org,2002:null":
                            out[(mkey.value, akey.value)] = avalue.value
    return out


class Document(NamedTuple):
    line: int  # where the document starts
    data: Any
    nulls: dict  # _null_meta_texts of the document
    items: list | None  # (line, nulls, empty nulls) of each element of a top-level `items` list
    empty_nulls: tuple  # _empty_null_paths of the document
    finite: bool = False  # known to hold no NaN or infinity (else _check_numbers must look)


def _empty_null_paths(node: yaml.Node, path: tuple = ()) -> tuple:
    """Paths (through mappings only) of nulls written as nothing (`key:`). kyaml's strategic
    merge drops those from the object it patches and keeps `~` and `null`."""
    out: list = []
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode):
                continue
            if isinstance(value, yaml.ScalarNode):
                if value.tag == "tag:yaml.org,2002:null" and value.value == "":
                    out.append(path + (key.value,))
            elif isinstance(value, yaml.MappingNode):
                out.extend(_empty_null_paths(value, path + (key.value,)))
    return tuple(out)


def parse_documents(text: str) -> list[tuple[int, Any]]:
    """Every document of a YAML stream as (line, plain data), read like kustomize reads resources."""
    return [(d.line, d.data) for d in parse_documents_ex(text)]


def _items_meta(node: yaml.Node) -> list | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    for key, value in node.value:
        if isinstance(key, yaml.ScalarNode) and key.value == "items" and isinstance(value, yaml.SequenceNode):
            return [(item.start_mark.line + 1, _null_meta_texts(item), _empty_null_paths(item))
                    for item in value.value]
    return None


def parse_documents_ex(text: str) -> list[Document]:
    """parse_documents, plus each document's null label and annotation texts (_null_meta_texts)
    and those of the elements of its `items`.

    Memoised by file content once a text is seen a second time: rendering every overlay of a
    repository parses the shared base files once instead of once per overlay. Callers get their
    own copy of the data, nulls and items (they mutate them).
    """
    offered = _OFFERED.pop(text, None) if _OFFERED else None
    if offered is not None:
        return offered
    cached = _PARSED.get(text)
    if cached is None:
        seen = hash(text)
        if seen not in _SEEN:  # first sight: most files are parsed once, so do not pay for a copy
            if len(_SEEN) >= _SEEN_MAX:
                _SEEN.clear()
            _SEEN.add(seen)
            docs = _parse_documents_uncached(text)
            if not yamlguard.may_alias(text):
                return docs
            cached = docs  # aliases make objects that appear in several places: copy them apart
        else:
            cached = _parse_documents_uncached(text)
            _PARSED.put(text, cached, len(text))
    return [Document(d.line, copy_data(d.data), dict(d.nulls),
                     None if d.items is None else [(line, dict(nulls), empty) for line, nulls, empty in d.items],
                     d.empty_nulls, d.finite)
            for d in cached]


# Documents offered for a text before it is read (offer), each taken once: a check that compiled a
# model renders its overlays next, and a file on disk byte-identical to what the compile wrote
# has the compile's objects as its documents (kustomize/emitted.py) instead of a parse.
_OFFERED: dict[str, list[Document]] = {}
_TAKEN: dict[str, str] = {}  # real path -> the offered text a read of it found, since the last withdraw


def offer(text: str, docs: list[Document]) -> None:
    """Have the next parse_documents_ex(text) return `docs` (exactly what parsing `text` gives;
    the caller proves that, kustomize/emitted.py) without parsing."""
    _OFFERED[text] = docs


def taken(path: str, text: str) -> bool:
    """Whether the file at the real path `path`, read since the last withdraw, held exactly the
    offered `text` (and was answered with what was offered for it)."""
    return _TAKEN.get(path) == text


def withdraw() -> None:
    """Forget what was offered, taken or not."""
    _OFFERED.clear()
    _TAKEN.clear()


# Parsed documents by text, kept from the second time a text is parsed on. _SEEN holds the hashes
# of texts parsed once (a collision only memoises a text one sight early).
_PARSED = Memo(max_entries=1024, max_weight=16 << 20)
_SEEN: set[int] = set()
_SEEN_MAX = 1 << 16


class _PlainValues(dict):
    """Plain scalar text -> its value as the _V3Loader resolves and `_build` builds it: the memo
    v3events reads plain scalars from (bounded; short texts only). Raises v3events.Unusual for a
    merge key `<<`, which only the slow path builds."""

    def __missing__(self, value: str) -> Any:
        result: Any = value
        for tag, regexp in _V3_RESOLVERS.get(value[:1], ()):
            if regexp.match(value):
                if tag == _V3_PLAIN:
                    result = resolve_v3_plain(value)
                elif tag == _NULL_TAG:
                    result = None
                elif tag == _BOOL_TAG:
                    result = yaml.constructor.SafeConstructor.bool_values[value.lower()]
                else:
                    raise v3events.Unusual(tag)
                break
        if len(value) <= 40:
            if len(self) >= 50_000:
                self.clear()
            self[value] = result
        return result


_BOOL_TAG = "tag:yaml.org,2002:bool"
_PLAIN_VALUES = _PlainValues()
_DIALECT = blockyaml.Reader(_PLAIN_VALUES.__getitem__, QuotedStr)


def _parse_documents_uncached(text: str) -> list[Document]:
    """The documents of a resource text: read line by line when it is in the dialect kustomize and
    mlgitops print (blockyaml), else from libyaml's events (v3events) when the text is usual, else
    (also for every error) through PyYAML's node graph, after yamlguard's check."""
    try:
        return [Document(*v3events._document(line, root, finite, nulls, False, []))
                for line, root, nulls, finite in _DIALECT.load(text, yamlguard.MAX_DEPTH)]
    except blockyaml.NotDialect:
        pass
    if not yamlguard.may_alias(text):
        try:
            return [Document(*doc) for doc in v3events.load(text, yamlguard.MAX_DEPTH, _PLAIN_VALUES, QuotedStr)]
        except Exception:  # noqa: BLE001 - anything unusual or wrong: the slow path builds it or words the error
            pass
    return _parse_documents_slow(text)


def _parse_documents_slow(text: str) -> list[Document]:
    try:
        yamlguard.check(text)  # alias bombs and deep nesting, before anything is built
    except yamlguard.Refused as exc:
        raise YamlRefused(exc.message, exc.line, exc.column, exc.rule) from None
    loader = _V3Loader(text)
    docs: list[Document] = []
    construct = loader.construct_document if yamlguard.may_alias(text) else None
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            nulls = _null_meta_texts(node)
            items = _items_meta(node)
            if construct is not None:
                data = construct(node)
                finite = False
            else:
                loader.finite = True
                try:
                    data = _build(loader, node)
                finally:  # what construct_document leaves behind
                    loader.constructed_objects, loader.recursive_objects, loader.deep_construct = {}, {}, False
                finite = loader.finite
            docs.append(Document(node.start_mark.line + 1, data, nulls, items, _empty_null_paths(node), finite))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise YamlError((exc.problem or exc.context or "invalid YAML").strip(), line, col) from None
    except yaml.YAMLError as exc:
        raise YamlError(str(exc), 1, 1) from None
    finally:
        loader.dispose()
    return docs


def count_pieces(text: str) -> int:
    """How many documents kyaml's reader splits the text into (kio splitDocuments: every line
    starting with `---` separates, empty pieces count). Raises YamlError for a separator line
    with content after `---` that is not a comment."""
    if not text:
        return 0
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    count = 1
    start = text.find("\n---")
    while start >= 0:  # every `\n---...\n`, as re.finditer(r"\n---.*\n") finds them (without overlaps)
        end = text.find("\n", start + 4)
        if end < 0:
            break
        after = text[start + 4:end].strip()
        if after and after[0] != "#":
            line = text.count("\n", 0, start) + 2
            raise YamlError(f"invalid document separator: {text[start:end + 1].strip()}", line, 1)
        count += 1
        start = text.find("\n---", end + 1)
    return count


def _check_numbers(value: Any) -> None:
    """encoding/json refuses NaN and infinities."""
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        raise ValueError(f"json: unsupported value: {value}")
    if isinstance(value, dict):
        for v in value.values():
            _check_numbers(v)
    elif isinstance(value, list):
        for v in value:
            _check_numbers(v)


_SOURCE_DOCUMENTS = Memo(max_entries=256, max_weight=8 << 20)  # (shown name, text) -> SourceDocument


# --- kustomization schema -------------------------------------------------------------------------

_UNSUPPORTED = {
    "replacements": "replacements",
    "vars": "vars",
    "helmGlobals": "helm charts",
    "helmCharts": "helm charts",
    "helmChartInflationGenerator": "helm charts",
    "generators": "generator plugins",
    "transformers": "transformer plugins",
    "validators": "validator plugins",
    "buildMetadata": "build metadata annotations and labels",
}

_FIELDSPEC = {"group": "str", "version": "str", "kind": "str", "path": "str", "create": "bool"}
_SELECTOR = {"group": "str", "version": "str", "kind": "str", "name": "str", "namespace": "str",
             "annotationSelector": "str", "labelSelector": "str"}
_PATCH = {"path": "str", "patch": "str", "target": _SELECTOR,
          "options": {"allowNameChange": "bool", "allowKindChange": "bool"}}
_IMAGE = {"name": "str", "newName": "str", "tagSuffix": "str", "newTag": "str", "digest": "str"}
_GEN_OPTIONS = {"labels": "strmap", "annotations": "strmap", "disableNameSuffixHash": "bool", "immutable": "bool"}
_GEN_ARGS = {"namespace": "str", "name": "str", "behavior": "str", "literals": "strlist", "files": "strlist",
             "envs": "strlist", "env": "str", "options": _GEN_OPTIONS}
_SECRET_ARGS = dict(_GEN_ARGS, type="str")
_LABEL = {"pairs": "strmap", "includeSelectors": "bool", "includeTemplates": "bool", "fields": [_FIELDSPEC]}

KUSTOMIZATION_SCHEMA: dict[str, Any] = {
    "apiVersion": "str", "kind": "str", "metadata": "object",
    "namePrefix": "str", "nameSuffix": "str", "namespace": "str",
    "commonLabels": "strmap", "labels": [_LABEL], "commonAnnotations": "strmap",
    "patchesStrategicMerge": "strlist", "patchesJson6902": [_PATCH], "patches": [_PATCH],
    "images": [_IMAGE], "imageTags": [_IMAGE],
    "replicas": [{"name": "str", "count": "int"}],
    "sortOptions": {"order": "str", "legacySortOptions": {"orderFirst": "strlist", "orderLast": "strlist"}},
    "resources": "strlist", "components": "strlist", "crds": "strlist", "bases": "strlist",
    "configMapGenerator": [_GEN_ARGS], "secretGenerator": [_SECRET_ARGS],
    "generatorOptions": _GEN_OPTIONS, "configurations": "strlist", "openapi": "strmap",
    **{k: "any" for k in _UNSUPPORTED},
}


@dataclasses.dataclass
class Entry:
    """One string entry of a kustomization list, with where it is written."""

    value: str
    path: tuple  # JSON path in the kustomization file, e.g. ("resources", 2)


@dataclasses.dataclass
class Kustomization:
    dir: str  # real path of the kustomization root
    file: str  # absolute path of the kustomization file
    rel: str  # the file as shown in messages (repository-relative)
    doc: SourceDocument
    data: dict  # canonical field name -> decoded value
    keys: dict  # canonical field name -> key as written (kustomize matches keys case-insensitively)
    lines: list = dataclasses.field(default_factory=list)  # the file's text, by line

    @property
    def kind(self) -> str:
        return self.data.get("kind") or "Kustomization"

    @property
    def is_component(self) -> bool:
        return self.kind == "Component"

    def get(self, field: str, default: Any = None) -> Any:
        value = self.data.get(field)
        return default if value is None else value

    def at(self, field: str, *rest: Any) -> tuple:
        return (self.keys.get(field, field),) + rest

    def position(self, path: tuple, *, key: bool = False) -> tuple[int, int]:
        return self.doc.position(path, key=key)

    def error(self, path: tuple, rule: str, message: str, *, key: bool = False) -> RenderError:
        line, col = self.position(path, key=key)
        return RenderError(self.rel, line, col, rule, message)

    def entries(self, field: str) -> list[Entry]:
        return [Entry(v, self.at(field, i)) for i, v in enumerate(self.get(field, []))]

    def sort_options(self) -> dict | None:
        """The validated `sortOptions` (kustomize only reads the top kustomization's)."""
        sort = self.data.get("sortOptions")
        if sort is None:
            return None
        order = sort.get("order") or ""
        if order not in ("legacy", "fifo"):
            raise self.error(self.at("sortOptions", "order"), RULE_INVALID,
                             "the field 'sortOptions.order' must be one of [fifo, legacy]")
        if order == "fifo" and sort.get("legacySortOptions") is not None:
            raise self.error(self.at("sortOptions", "legacySortOptions"), RULE_INVALID,
                             "the field 'sortOptions.legacySortOptions' is set but the selected sort order "
                             "is 'fifo', not 'legacy'")
        return sort

    def resource_entries(self) -> list[Entry]:
        """`resources` then the deprecated `bases` (types.FixKustomization)."""
        return self.entries("resources") + self.entries("bases")


# --- the loader -------------------------------------------------------------------------------------

_REMOTE = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*://|git@|git::|[\w.-]+\.(?:com|org|io|net|dev)/)")


def looks_remote(path: str) -> bool:
    return bool(_REMOTE.match(path)) or "?ref=" in path or "?version=" in path


class Loader:
    """Per-render file access: everything read is cached for the duration of one render."""

    def __init__(self, repo_root: str, max_file_bytes: int | None = None) -> None:
        self.realpath = contain.RealPaths()  # every path this render resolves, resolved once
        self.repo_root = self.realpath(repo_root)
        self.max_file_bytes = max_file_bytes  # None: contain's limit for "resource" files
        self._text: dict[str, str] = {}
        self._shown: dict[str, str] = {}  # display()
        self._docs: dict[str, tuple[list[Document], int]] = {}
        self._kustomizations: dict[str, Kustomization] = {}

    # paths -----------------------------------------------------------------------------------
    def display(self, path: str) -> str:
        shown = self._shown.get(path)
        if shown is None:
            shown = path
            root = self.repo_root
            if root != os.sep and _inside(path, root):
                if path.startswith(root + os.sep) and "/." not in path and "//" not in path and path[-1] != os.sep:
                    shown = path[len(root) + 1:]  # what relpath gives for a normalised path below the root
                else:
                    shown = os.path.relpath(path, root)
            self._shown[path] = shown
        return shown

    def _check_in_repo(self, kust: Kustomization | None, path: tuple, target: str, what: str) -> None:
        if not _inside(target, self.repo_root):
            message = f"{what} is outside the repository ({self.display(self.repo_root)})"
            if kust is None:
                raise RenderError(self.display(target), 0, 0, RULE_OUTSIDE_REPO, message)
            raise kust.error(path, RULE_OUTSIDE_REPO, message)

    def resolve_file(self, kust: Kustomization, entry: Entry, what: str) -> str:
        """A file named by `entry`, allowed by kustomize's root-only load restrictor."""
        value = entry.value
        if looks_remote(value) and not os.path.exists(os.path.join(kust.dir, value)):
            raise not_supported(kust.rel, *kust.position(entry.path), f"remote {what} '{value}'",
                                "URLs and git repositories are not fetched")
        joined = os.path.normpath(os.path.join(kust.dir, value))
        self._check_in_repo(kust, entry.path, joined, f"{what} '{value}'")
        real = self.realpath(joined)
        if not _inside(real, self.repo_root):
            raise kust.error(entry.path, contain.RULE_OUTSIDE,
                             f"{what} '{value}' is a symbolic link that leads outside the repository")
        if not os.path.exists(real):
            raise kust.error(entry.path, RULE_MISSING, f"{what} '{value}' does not exist")
        if os.path.isdir(real):
            raise kust.error(entry.path, RULE_MISSING, f"{what} '{value}' is a directory, not a file")
        if not _inside(os.path.dirname(real), kust.dir):
            raise kust.error(entry.path, RULE_RESTRICTED,
                             f"{what} '{value}' is not in or below {self.display(kust.dir)}: kustomize only "
                             "loads files from the kustomization's directory tree (LoadRestrictionsRootOnly); "
                             "make it a resource of a kustomization in its own directory")
        return real

    def openapi_document(self, kust: Kustomization) -> Any:
        """The parsed custom schema of `openapi: {path: ...}` (JSON or YAML), or None without a path.

        `openapi: {version: v1.21.2}` (the built-in schema) is the default; other versions are
        not built into kustomize v5.8.1, and a version with a path is refused as kustomize does."""
        field = kust.get("openapi", {})
        version, rel = field.get("version"), field.get("path")
        if rel is not None and version is not None:
            raise kust.error(kust.at("openapi"), RULE_INVALID,
                             "builtin version and custom schema provided, cannot use both")
        if rel is None:
            if version not in (None, "", "v1.21.2"):
                raise kust.error(kust.at("openapi", "version"), RULE_INVALID,
                                 "the specified OpenAPI version is not built in")
            return None
        where = kust.at("openapi", "path")
        real = self.resolve_file(kust, Entry(rel, where), "openapi schema")
        text = self.read_text(kust, where, real)
        try:
            if text.lstrip().startswith("{"):
                import json
                return json.loads(text)
            yamlguard.check(text)
            return yaml.load(text, Loader=LoaderBase)
        except yamlguard.Refused as exc:
            raise RenderError(self.display(real), exc.line, exc.column, exc.rule, exc.message) from None
        except (ValueError, yaml.YAMLError) as exc:
            raise kust.error(where, RULE_INVALID,
                             f"invalid schema file {self.display(real)}: {str(exc).splitlines()[0]}") from None

    def resolve_dir(self, kust: Kustomization, entry: Entry, what: str, chain: Iterable[str]) -> str:
        """A base or component directory named by `entry` (`chain`: roots being built)."""
        value = entry.value
        if os.path.isabs(value):
            raise kust.error(entry.path, RULE_INVALID, f"{what} '{value}' must be a relative path")
        joined = os.path.normpath(os.path.join(kust.dir, value))
        if looks_remote(value) and not os.path.exists(joined):
            raise not_supported(kust.rel, *kust.position(entry.path), f"remote {what} '{value}'",
                                "URLs and git repositories are not fetched")
        self._check_in_repo(kust, entry.path, joined, f"{what} '{value}'")
        real = self.realpath(joined)
        if not _inside(real, self.repo_root):
            raise kust.error(entry.path, contain.RULE_OUTSIDE,
                             f"{what} '{value}' is a symbolic link that leads outside the repository")
        if not os.path.exists(real):
            raise kust.error(entry.path, RULE_MISSING, f"{what} '{value}' does not exist")
        if not os.path.isdir(real):
            raise kust.error(entry.path, RULE_MISSING, f"{what} '{value}' is not a directory")
        for root in chain:
            if _inside(root, real):
                if root == real:
                    detail = "is a kustomization that is already being built"
                else:
                    detail = f"contains {self.display(root)}, which is already being built"
                raise kust.error(entry.path, RULE_CYCLE, f"cycle: {what} '{value}' {detail}")
        return real

    # files -----------------------------------------------------------------------------------
    def read_bytes(self, path: str, kust: Kustomization | None = None, entry_path: tuple = ()) -> bytes:
        """The bytes of `path`, read through contain (in the repository, a regular file, within the
        size limit); a refusal is a RenderError at the kustomization entry naming the file."""
        try:
            return contain.read_bytes(self.repo_root, path, "resource", max_bytes=self.max_file_bytes,
                                      realpath=self.realpath)
        except contain.ContainmentError as exc:
            if kust is None:
                raise RenderError(self.display(path), exc.line, exc.column, exc.rule, exc.message) from None
            raise kust.error(entry_path, exc.rule, f"{self.display(path)} {exc.message}") from None
        except OSError as exc:
            message = f"cannot read {self.display(path)}: {exc.strerror}"
            if kust is None:
                raise RenderError(self.display(path), 0, 0, RULE_MISSING, message) from None
            raise kust.error(entry_path, RULE_MISSING, message) from None

    def read_text(self, kust: Kustomization | None, entry_path: tuple, path: str) -> str:
        text = self._text.get(path)
        if text is None:
            raw = self.read_bytes(path, kust, entry_path)
            try:
                text = contain.decode(raw)  # drops a byte order mark
            except contain.ContainmentError as exc:  # located in the file itself
                raise RenderError(self.display(path), exc.line, exc.column, exc.rule, exc.message) from None
            self._text[path] = text
        return text

    def documents(self, kust: Kustomization, entry_path: tuple, path: str) -> tuple[list[Document], int, bool]:
        """The documents of a resource file, how many pieces kyaml's reader splits it into, and
        whether this is the render's first request for them (parse_documents_ex gave them to this
        loader alone). Cached for this render: callers copy before changing, unless they know no
        later request can see their changes."""
        parsed = self._docs.get(path)
        if parsed is not None:
            return parsed[0], parsed[1], False
        text = self.read_text(kust, entry_path, path)
        where = self.display(path)
        offered = bool(_OFFERED) and text in _OFFERED
        docs = self.parse(kust, entry_path, text, where)
        if offered and text not in _OFFERED:  # this read took what was offered for its text
            _TAKEN[path] = text
        try:
            pieces = count_pieces(text)
        except YamlError as exc:
            raise kust.error(entry_path, RULE_SYNTAX, f"{where}:{exc.line}:{exc.column}: {exc}") from None
        self._docs[path] = (docs, pieces)
        return docs, pieces, True

    def parse(self, kust: Kustomization, entry_path: tuple, text: str, where: str) -> list[Document]:
        try:
            docs = parse_documents_ex(text)
            for doc in docs:
                if not doc.finite:
                    _check_numbers(doc.data)
        except YamlRefused as exc:
            raise RenderError(where, exc.line, exc.column, exc.rule, str(exc)) from None
        except YamlError as exc:
            raise kust.error(entry_path, RULE_SYNTAX,
                             f"{where}:{exc.line}:{exc.column}: invalid YAML: {exc}") from None
        except ValueError as exc:
            raise kust.error(entry_path, RULE_RESOURCE, f"{where}: {exc}") from None
        return docs

    def source_document(self, kust: Kustomization | None, entry_path: tuple, path: str) -> SourceDocument:
        """A configuration file with positions (yamlsource); the same (unchanged) document for the
        same file name and text within a process, so callers must not change it."""
        text = self.read_text(kust, entry_path, path)
        shown = self.display(path)
        doc = _SOURCE_DOCUMENTS.get((shown, text))
        if doc is None:
            doc, problems = load_yaml(text, shown)
            if doc is None or problems:
                d = problems[0]
                raise RenderError(d.file, d.line, d.column, d.rule, d.message)
            _SOURCE_DOCUMENTS.put((shown, text), doc, len(text))
        return doc

    # kustomizations --------------------------------------------------------------------------
    def kustomization_file(self, directory: str) -> list[str]:
        # not only regular files: a FIFO or a dangling link is found, and reading it reports it
        return [os.path.join(directory, n) for n in KUSTOMIZATION_FILE_NAMES
                if os.path.lexists(os.path.join(directory, n)) and not os.path.isdir(os.path.join(directory, n))]

    def load(self, directory: str, parent: Kustomization | None = None, entry: Entry | None = None,
             what: str = "kustomization") -> Kustomization:
        """The kustomization in `directory` (a real path), checked."""
        cached = self._kustomizations.get(directory)
        if cached is not None:
            return cached
        found = self.kustomization_file(directory)
        if len(found) != 1:
            if not found:
                message = (f"{what} '{entry.value}' has no kustomization file" if entry else
                           f"{self.display(directory)} has no kustomization file")
                message += f" ({', '.join(KUSTOMIZATION_FILE_NAMES)})"
            else:
                message = (f"{self.display(directory)} holds several kustomization files: "
                           + ", ".join(os.path.basename(f) for f in found))
            if parent is not None and entry is not None:
                raise parent.error(entry.path, RULE_MISSING_KUSTOMIZATION, message)
            raise RenderError(self.display(found[0] if found else directory), 0, 0,
                              RULE_MISSING_KUSTOMIZATION, message)
        file = found[0]
        rel = self.display(file)
        text = self.read_text(parent, entry.path if entry else (), file)  # read (and contained) every time
        key = (directory, file, rel, text)
        kust = _KUSTOMIZATIONS.get(key)
        if kust is None:
            doc, problems = load_yaml(text, rel)
            if doc is None or problems:
                d = problems[0]
                raise RenderError(d.file, d.line, d.column, d.rule, d.message)
            kust = Kustomization(directory, file, rel, doc, {}, {}, text.split("\n"))
            _decode_kustomization(kust)
            _KUSTOMIZATIONS.put(key, kust, len(text))
        self._kustomizations[directory] = kust
        return kust


# Decoded kustomizations by (directory, file, shown name, text): the shared components of every
# overlay are decoded once per process. A Kustomization is never changed after decoding.
_KUSTOMIZATIONS = Memo(max_entries=1024, max_weight=8 << 20)


def _decode_kustomization(kust: Kustomization) -> None:
    data = kust.doc.data
    if data is None:
        raise kust.error((), RULE_INVALID, "the kustomization is empty")
    if not isinstance(data, dict):
        raise kust.error((), RULE_INVALID, f"a kustomization must be a mapping, not {_json_type(data)}")
    lower = {k.lower(): k for k in KUSTOMIZATION_SCHEMA}
    for key, value in data.items():
        field = key if key in KUSTOMIZATION_SCHEMA else lower.get(key.lower())
        if field is None:
            raise kust.error((key,), RULE_INVALID, f"unknown field '{key}' in a kustomization", key=True)
        if field in _UNSUPPORTED:
            if value in (None, [], {}, ""):
                continue
            raise not_supported(kust.rel, *kust.doc.position((key,), key=True), field, _UNSUPPORTED[field])
        kust.keys[field] = key
        kust.data[field] = _check(kust, value, KUSTOMIZATION_SCHEMA[field], (key,), field)
    if not any(f not in ("apiVersion", "kind") for f in kust.keys):
        raise kust.error((), RULE_INVALID, "the kustomization is empty")
    kind = kust.data.get("kind") or "Kustomization"
    if kind not in ("Kustomization", "Component"):
        raise kust.error(kust.at("kind"), RULE_INVALID, "kind should be Kustomization or Component")
    required = COMPONENT_VERSION if kind == "Component" else KUSTOMIZATION_VERSION
    api = kust.data.get("apiVersion")
    if api and api != required:
        raise kust.error(kust.at("apiVersion"), RULE_INVALID, f"apiVersion for {kind} should be {required}")


_V2_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?\Z")


def _v2_type(kust: Kustomization, path: tuple, value: str) -> str | None:
    """kustomize reads kustomization files with goyaml.v2 (YAML 1.1), which takes a few plain
    scalars that PyYAML keeps as strings for other types: `y`/`n` (bool), `0o17`, `1e3`."""
    kind: str | None
    if value in ("y", "Y", "n", "N"):
        kind = "bool"
    elif value[:2] in ("0o", "0O") or value[:3] in ("-0o", "+0o"):
        kind = "number" if _go_int(value.replace("_", "")) is not None else None
    elif _V2_FLOAT.match(value) and not re.fullmatch(r"[-+]?(?:[0-9][0-9_]*)?\.[0-9_]*(?:[eE][-+][0-9]+)?", value):
        kind = "number"
    else:
        kind = None
    if kind is None:
        return None
    position = kust.doc.value_positions.get(path)
    if position is None:
        return None
    line, col = position
    try:
        first = kust.lines[line - 1][col - 1]
    except IndexError:
        return None
    return None if first in "'\"|>" else kind


def _check(kust: Kustomization, value: Any, schema: Any, path: tuple, name: str) -> Any:
    """Decode `value` like encoding/json into kustomize's types: wrong types and unknown fields
    are errors, null is the zero value."""
    if value is None or schema == "any" or schema == "object" and isinstance(value, dict):
        return value
    if isinstance(value, str) and schema in ("str", "strlist", "strmap") or schema == "str":
        if not isinstance(value, str) or _v2_type(kust, path, value):
            kind = _json_type(value) if not isinstance(value, str) else _v2_type(kust, path, value)
            raise kust.error(path, RULE_INVALID, f"{name} must be a string, not {kind} (quote it)")
        return value
    if schema == "bool":
        if not isinstance(value, bool):
            raise kust.error(path, RULE_INVALID, f"{name} must be true or false, not {_json_type(value)}")
        return value
    if schema == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise kust.error(path, RULE_INVALID, f"{name} must be an integer, not {_json_type(value)}")
        if not -(2 ** 63) <= value < 2 ** 63:
            raise kust.error(path, RULE_INVALID, f"{name} is out of range")
        return value
    if schema == "strlist":
        if not isinstance(value, list):
            raise kust.error(path, RULE_INVALID, f"{name} must be a list of strings, not {_json_type(value)}")
        out = []
        for i, item in enumerate(value):
            if item is None:
                item = ""
            kind = _json_type(item) if not isinstance(item, str) else _v2_type(kust, path + (i,), item)
            if kind:
                raise kust.error(path + (i,), RULE_INVALID, f"{name}[{i}] must be a string, not {kind}")
            out.append(item)
        return out
    if schema == "strmap":
        if not isinstance(value, dict):
            raise kust.error(path, RULE_INVALID, f"{name} must be a map of strings, not {_json_type(value)}")
        out_map = {}
        for k, v in value.items():
            if v is None:
                v = ""
            kind = _json_type(v) if not isinstance(v, str) else _v2_type(kust, path + (k,), v)
            if kind:
                raise kust.error(path + (k,), RULE_INVALID, f"{name}.{k} must be a string, not {kind} (quote it)")
            out_map[k] = v
        return out_map
    if schema == "object":
        raise kust.error(path, RULE_INVALID, f"{name} must be a mapping, not {_json_type(value)}")
    if isinstance(schema, list):
        if not isinstance(value, list):
            raise kust.error(path, RULE_INVALID, f"{name} must be a list, not {_json_type(value)}")
        return [_check(kust, item, schema[0], path + (i,), f"{name}[{i}]") for i, item in enumerate(value)]
    if isinstance(schema, dict):
        if not isinstance(value, dict):
            raise kust.error(path, RULE_INVALID, f"{name} must be a mapping, not {_json_type(value)}")
        lower = {k.lower(): k for k in schema}
        out_obj: dict = {}
        for key, item in value.items():
            field = key if key in schema else lower.get(str(key).lower())
            if field is None:
                raise kust.error(path + (key,), RULE_INVALID, f"unknown field '{key}' in {name}", key=True)
            out_obj[field] = _check(kust, item, schema[field], path + (key,), f"{name}.{field}")
        return out_obj
    raise AssertionError(schema)  # pragma: no cover
