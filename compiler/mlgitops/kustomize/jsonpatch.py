"""RFC 6902 JSON patches as kustomize v5 applies them (gopkg.in/evanphx/json-patch.v4 v4.13.0).

kustomize's patchjson6902 filter turns the object into JSON, applies the operations with
evanphx/json-patch v4 and reads the JSON back. This module follows that library, quirks included:

- pointers are split on `/` and decoded with `~1` -> `/` then `~0` -> `~`; the first segment is
  ignored, so a path without the leading `/` (`spec/replicas`) still addresses `/replicas`;
  the empty path `""` is an error for every operation except `replace` and `test`;
- `add` on a list takes an index from 0 to len (or `-` to append); negative indices count from the
  end (`-1` appends to a list being added to, is the last element for the other operations);
  a leading `+` and leading zeros are accepted, as Go's strconv.Atoi does;
- `replace` of a missing key of a map adds it (only list indices must exist); `copy` from a
  missing key of a map copies `null`; `add` or `replace` without `value` set `null`;
- `test` compares structurally; `null` and a missing key are equal; numbers compare by value;
- operations run in order and the first failure stops the patch, with the library's message;
- the whole object comes back from JSON: every number becomes a float64, so integral values
  below 1e21 read back as integers (`1.0` -> `1`, and large integers lose precision) and others
  as floats.

`apply(target, operations)` returns a new object; errors are ValueError("operation <i> (<op>
<path>): <message>") where <message> is the text kustomize prints.

`parse_operations(text)` reads a patch's text the way kustomize's jsonPatchFromBytes does: JSON
when it starts with `[`, otherwise YAML converted by sigs.k8s.io/yaml, i.e. YAML 1.1 (go-yaml v2)
scalars: `yes`/`no`/`on`/`off`/`y`/`n` are booleans (also as keys, which become "true"/"false"),
`1e3` is a number, timestamps stay strings, and only the first document counts.
"""

from __future__ import annotations

import copy
import decimal
import json
import math
import re
from typing import Any

import yaml

from .. import yamlguard
from .memo import Memo, copy_data

__all__ = ["apply", "decode_pointer", "parse_operations"]

_INDEX = re.compile(r"[+-]?[0-9]+")
_INT64_MIN, _INT64_MAX, _UINT64_MAX = -(2**63), 2**63 - 1, 2**64 - 1

_MISSING = "missing value"
_INVALID_INDEX = "invalid index referenced"


class _Fail(Exception):
    pass


def decode_pointer(token: str) -> str:
    """RFC 6901 decoding of one reference token (`~1` is `/`, `~0` is `~`)."""
    out, i = [], 0
    while i < len(token):
        if token.startswith("~1", i):
            out.append("/")
            i += 2
        elif token.startswith("~0", i):
            out.append("~")
            i += 2
        else:
            out.append(token[i])
            i += 1
    return "".join(out)


def _atoi(key: str) -> int:
    if not _INDEX.fullmatch(key):
        raise _Fail(f'strconv.Atoi: parsing "{key}": invalid syntax')
    value = int(key)
    if not _INT64_MIN <= value <= _INT64_MAX:
        raise _Fail(f'strconv.Atoi: parsing "{key}": value out of range')
    return value


# --- containers: a dict or a list, with the library's get/set/add/remove -------------------------


def _get(con: dict | list, key: str) -> Any:
    if isinstance(con, dict):
        return con.get(key)
    idx = _atoi(key)
    if idx < 0:
        if idx < -len(con):
            raise _Fail(f"Unable to access invalid index: {idx}: {_INVALID_INDEX}")
        idx += len(con)
    if idx >= len(con):
        raise _Fail(f"Unable to access invalid index: {idx}: {_INVALID_INDEX}")
    return con[idx]


def _set(con: dict | list, key: str, value: Any) -> None:
    if isinstance(con, dict):
        con[key] = value
        return
    idx = _atoi(key)
    if idx < 0:
        idx += len(con)
    con[idx] = value


def _add(con: dict | list, key: str, value: Any) -> None:
    if isinstance(con, dict):
        con[key] = value
        return
    if key == "-":
        con.append(value)
        return
    try:
        idx = _atoi(key)
    except _Fail as exc:
        raise _Fail(f"value was not a proper array index: '{key}': {exc}") from None
    size = len(con) + 1
    if idx >= size:
        raise _Fail(f"Unable to access invalid index: {idx}: {_INVALID_INDEX}")
    if idx < 0:
        if idx < -size:
            raise _Fail(f"Unable to access invalid index: {idx}: {_INVALID_INDEX}")
        idx += size
    con.insert(idx, value)


def _remove(con: dict | list, key: str) -> None:
    if isinstance(con, dict):
        if key not in con:
            raise _Fail(f"Unable to remove nonexistent key: {key}: {_MISSING}")
        del con[key]
        return
    idx = _atoi(key)
    if idx >= len(con):
        raise _Fail(f"Unable to access invalid index: {idx}: {_INVALID_INDEX}")
    if idx < 0:
        if idx < -len(con):
            raise _Fail(f"Unable to access invalid index: {idx}: {_INVALID_INDEX}")
        idx += len(con)
    del con[idx]


def _find(doc: dict | list, path: str) -> tuple[dict | list | None, str]:
    """findObject: the container of the last token and that token (None when not there)."""
    split = path.split("/")
    if len(split) < 2:
        return None, ""
    con: Any = doc
    for part in split[1:-1]:
        try:
            nxt = _get(con, decode_pointer(part))
        except _Fail:
            return None, ""
        if not isinstance(nxt, (dict, list)):
            return None, ""
        con = nxt
    return con, decode_pointer(split[-1])


# --- values ---------------------------------------------------------------------------------------


def _go_json_number(value: int | float) -> Any:
    """A number after YAML -> JSON float64 -> YAML, as kustomize reads a JSON-patched object."""
    f = float(value)
    if math.isnan(f) or math.isinf(f):
        return value
    if f == int(f) and abs(f) < 1e21:
        n = int(decimal.Decimal(repr(f)))  # Go prints the shortest digits, then zeros
        if _INT64_MIN <= n <= _UINT64_MAX:
            return n
    return f


def _normalize(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _normalize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalize(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return _go_json_number(value)
    if isinstance(value, str):
        return str.__str__(value)
    return value


def _equal(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, dict) or isinstance(b, dict):
        if not (isinstance(a, dict) and isinstance(b, dict)) or a.keys() != b.keys():
            return False
        return all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) or isinstance(b, list):
        if not (isinstance(a, list) and isinstance(b, list)) or len(a) != len(b):
            return False
        return all(_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return _go_json_number(a) == _go_json_number(b)
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    return False


# --- operations -------------------------------------------------------------------------------


def _str_field(op: dict, name: str) -> str | None:
    value = op.get(name)
    return value if isinstance(value, str) else None


def _path(op: dict, on_missing: str) -> str:
    path = _str_field(op, "path")
    if path is None:
        raise _Fail(on_missing)
    return path


def _from(op: dict, kind: str) -> str:
    value = _str_field(op, "from")
    if value is None:
        raise _Fail(f"{kind} operation failed to decode from: operation, missing from field: {_MISSING}")
    return value


def _value(op: dict) -> Any:
    return copy.deepcopy(op.get("value"))


def _op_add(doc: dict, op: dict) -> dict:
    path = _path(op, f"add operation failed to decode path: {_MISSING}")
    con, key = _find(doc, path)
    if con is None:
        raise _Fail(f'add operation does not apply: doc is missing path: "{path}": {_MISSING}')
    try:
        _add(con, key, _value(op))
    except _Fail as exc:
        raise _Fail(f"error in add for path: '{path}': {exc}") from None
    return doc


def _op_remove(doc: dict, op: dict) -> dict:
    path = _path(op, f"remove operation failed to decode path: {_MISSING}")
    con, key = _find(doc, path)
    if con is None:
        raise _Fail(f'remove operation does not apply: doc is missing path: "{path}": {_MISSING}')
    try:
        _remove(con, key)
    except _Fail as exc:
        raise _Fail(f"error in remove for path: '{path}': {exc}") from None
    return doc


def _op_replace(doc: Any, op: dict) -> Any:
    path = _path(op, f"replace operation failed to decode path: operation missing path field: {_MISSING}")
    if path == "":
        value = _value(op)
        if not isinstance(value, (dict, list)):
            raise _Fail("replace operation value must be object or array")
        return value
    con, key = _find(doc, path)
    if con is None:
        raise _Fail(f"replace operation does not apply: doc is missing path: {path}: {_MISSING}")
    try:
        _get(con, key)
    except _Fail:
        raise _Fail(f"replace operation does not apply: doc is missing key: {path}: {_MISSING}") from None
    _set(con, key, _value(op))
    return doc


def _op_move(doc: dict, op: dict) -> dict:
    source = _from(op, "move")
    con, key = _find(doc, source)
    if con is None:
        raise _Fail(f"move operation does not apply: doc is missing from path: {source}: {_MISSING}")
    try:
        value = _get(con, key)
        _remove(con, key)
    except _Fail as exc:
        raise _Fail(f"error in move for path: '{key}': {exc}") from None
    path = _path(op, f"move operation failed to decode path: operation missing path field: {_MISSING}")
    con, key = _find(doc, path)
    if con is None:
        raise _Fail(f"move operation does not apply: doc is missing destination path: {path}: {_MISSING}")
    try:
        _add(con, key, value)
    except _Fail as exc:
        raise _Fail(f"error in move for path: '{path}': {exc}") from None
    return doc


def _op_test(doc: Any, op: dict) -> Any:
    path = _path(op, f"test operation failed to decode path: operation missing path field: {_MISSING}")
    if path == "":
        if "value" in op and _equal(doc, op["value"]):
            return doc
        raise _Fail(f"testing value {path} failed: test failed")
    con, key = _find(doc, path)
    if con is None:
        raise _Fail(f"test operation does not apply: is missing path: {path}: {_MISSING}")
    try:
        value = _get(con, key)
    except _Fail as exc:
        raise _Fail(f"error in test for path: '{path}': {exc}") from None
    if value is None:
        if op.get("value") is None:
            return doc
    elif "value" in op and _equal(value, op["value"]):
        return doc
    raise _Fail(f"testing value {path} failed: test failed")


def _op_copy(doc: dict, op: dict) -> dict:
    source = _from(op, "copy")
    con, key = _find(doc, source)
    if con is None:
        raise _Fail(f"copy operation does not apply: doc is missing from path: {source}: {_MISSING}")
    try:
        value = _get(con, key)
    except _Fail as exc:
        raise _Fail(f"error in copy for from: '{source}': {exc}") from None
    path = _path(op, f"copy operation failed to decode path: {_MISSING}")
    con, key = _find(doc, path)
    if con is None:
        raise _Fail(f"copy operation does not apply: doc is missing destination path: {path}: {_MISSING}")
    try:
        _add(con, key, copy.deepcopy(value))
    except _Fail as exc:
        raise _Fail(f"error while adding value during copy: {exc}") from None
    return doc


_OPS = {"add": _op_add, "remove": _op_remove, "replace": _op_replace, "move": _op_move,
        "test": _op_test, "copy": _op_copy}


def apply(target: dict, operations: list[dict]) -> dict:
    """Apply RFC 6902 `operations` to a copy of `target`, as kustomize does; see the module doc."""
    if not isinstance(operations, list):
        raise ValueError("a JSON patch is a list of operations")
    doc: Any = copy.deepcopy(target)
    for i, op in enumerate(operations):
        if not isinstance(op, dict):
            raise ValueError(f"operation {i}: not an object: {op!r}")
        kind = v if isinstance(v := op.get("op"), str) else "unknown"
        where = f"operation {i} ({kind} {op.get('path', '')})"
        handler = _OPS.get(kind)
        if handler is None:
            raise ValueError(f"{where}: Unexpected kind: {kind}")
        try:
            doc = handler(doc, op)
        except _Fail as exc:
            raise ValueError(f"{where}: {exc}") from None
    if not isinstance(doc, dict):
        raise ValueError("the JSON patch did not leave an object "
                         "(json: cannot unmarshal array into Go value of type map[string]interface {})")
    return _normalize(doc)


# --- reading a patch's text (jsonPatchFromBytes) ----------------------------------------------------

_V2_BOOL = {**{k: True for k in ("y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON")},
            **{k: False for k in ("n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF")}}
_V2_NULL = {"", "~", "null", "Null", "NULL"}
_V2_SPECIAL_FLOAT = {".inf": math.inf, ".Inf": math.inf, ".INF": math.inf, "+.inf": math.inf, "+.Inf": math.inf,
                     "+.INF": math.inf, "-.inf": -math.inf, "-.Inf": -math.inf, "-.INF": -math.inf,
                     ".nan": math.nan, ".NaN": math.nan, ".NAN": math.nan}
_V2_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_GO_INT = re.compile(r"([-+]?)(0[bB][01]+|0[oO][0-7]+|0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)")


def _go_parse_int(text: str) -> int | None:
    """strconv.ParseInt(text, 0, 64), then ParseUint: None when it is not an integer."""
    m = _GO_INT.fullmatch(text)
    if not m:
        return None
    sign, digits = m.groups()
    low = digits.lower()
    if low.startswith(("0b", "0o", "0x")):
        value = int(digits[2:], {"b": 2, "o": 8, "x": 16}[low[1]])
    elif len(digits) > 1 and digits[0] == "0":
        value = int(digits[1:], 8)
    else:
        value = int(digits)
    value = -value if sign == "-" else value
    return value if -(2**63) <= value <= _UINT64_MAX else None


def _v2_plain(text: str) -> Any:
    """go-yaml v2 resolve() for a plain scalar."""
    if text in _V2_NULL:
        return None
    if text in _V2_BOOL:
        return _V2_BOOL[text]
    if text in _V2_SPECIAL_FLOAT:
        return _V2_SPECIAL_FLOAT[text]
    if text[:1] in "+-.0123456789":
        plain = text.replace("_", "")
        value = _go_parse_int(plain)
        if value is not None:
            return value
        if _V2_FLOAT.fullmatch(plain):
            return float(plain)
    return text


def _json_key(key: Any) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, str):
        return key
    if isinstance(key, int):
        return str(key)
    if isinstance(key, float):
        return format(key, ".8g").replace("inf", ".inf").replace("nan", ".nan")  # FormatFloat(32-bit)
    raise ValueError(f"unsupported map key of type: {type(key).__name__}, key: {key!r}")


def _from_yaml_node(node: yaml.Node, memo: dict) -> Any:
    if id(node) in memo:
        return memo[id(node)]
    if isinstance(node, yaml.MappingNode):
        out: dict = {}
        memo[id(node)] = out
        for k, v in node.value:
            out[_json_key(_from_yaml_node(k, memo))] = _from_yaml_node(v, memo)
        return out
    if isinstance(node, yaml.SequenceNode):
        out_list: list = []
        memo[id(node)] = out_list
        out_list.extend(_from_yaml_node(v, memo) for v in node.value)
        return out_list
    if isinstance(node, yaml.ScalarNode) and node.style is None \
            and node.tag in ("tag:yaml.org,2002:str", "tag:yaml.org,2002:bool", "tag:yaml.org,2002:int",
                             "tag:yaml.org,2002:float", "tag:yaml.org,2002:null", "tag:yaml.org,2002:timestamp"):
        return _v2_plain(node.value)
    return node.value


# text -> (operations, None) or (None, the ValueError's message)
_OPERATIONS = Memo(max_entries=512, max_weight=4 << 20)


def parse_operations(text: str) -> list[dict]:
    """The operations of a JSON6902 patch's text, as kustomize reads them; ValueError if it is not
    one (the message is kustomize's where it has one).

    Memoised by text: every overlay using a component reads its patch files again (and a strategic
    merge patch is also tried as a JSON patch). Callers get their own copy of the operations."""
    cached = _OPERATIONS.get(text)
    if cached is None:
        try:
            cached = (_parse_operations(text), None)
        except ValueError as exc:
            cached = (None, str(exc))
        _OPERATIONS.put(text, cached, len(text))
    ops, error = cached
    if error is not None:
        raise ValueError(error)
    return copy_data(ops)


def _parse_operations(text: str) -> list[dict]:
    text = text.strip()
    if not text:
        raise ValueError("empty json patch operations")
    if text[0] == "[":
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ValueError(f"invalid JSON: {exc}") from None
    else:
        try:
            yamlguard.check(text)  # alias bombs and deep nesting, before composing
            node = next(iter(yaml.compose_all(text, Loader=yaml.SafeLoader)), None)
        except yamlguard.Refused as exc:
            raise ValueError(f"invalid YAML: line {exc.line}, column {exc.column}: {exc.message} [{exc.rule}]") from None
        except yaml.YAMLError as exc:
            raise ValueError(f"invalid YAML: {exc}") from None
        data = None if node is None else _from_yaml_node(node, {})
    if not isinstance(data, list):
        kind = "null" if data is None else "object" if isinstance(data, dict) else type(data).__name__
        raise ValueError(f"json: cannot unmarshal {kind} into Go value of type jsonpatch.Patch")
    for op in data:
        if op is not None and not isinstance(op, dict):
            raise ValueError("json: cannot unmarshal non-object into Go value of type jsonpatch.Operation")
    return [op if op is not None else {} for op in data]
