"""Static cost and size estimate of a checked CEL expression (the compile-time half of the cost limit).

The runtime serialises a checked expression as a `cel.expr.CheckedExpr` protobuf; this module decodes
the expression tree from that wire format (no protobuf dependency) and walks it with a simple model
in the spirit of Kubernetes' estimator (docs/cel.md, "Cost limits"):

* every node costs 1; a call also costs one unit per 10 units of argument size it may traverse;
* a comprehension (all/exists/map/filter/cel.bind...) costs its range, plus, for each element of
  the range, its condition and step; a literal list has its real length, anything derived from the
  input (object, params, ...) is assumed to hold `ASSUMED_INPUT_SIZE` elements/characters;
* sizes propagate: `a + b` is |a| + |b|, a map() result is |range| x |body|, a `cel.bind` variable
  has the size of its initialiser, so doubling chains grow the estimate exponentially.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

ASSUMED_INPUT_SIZE = 100
_BYTES_PER_COST_UNIT = 10

# functions whose result is a scalar (size 1), whatever their arguments
_SCALAR = frozenset({
    "_==_", "_!=_", "_<_", "_<=_", "_>_", "_>=_", "_&&_", "_||_", "!_", "-_", "_-_", "_*_", "_/_", "_%_",
    "@in", "size", "contains", "startsWith", "endsWith", "matches", "int", "uint", "double", "bool", "type",
    "duration", "timestamp", "@not_strictly_false", "isSorted", "indexOf", "lastIndexOf", "sum", "isQuantity",
    "quantity", "sign", "isInteger", "asInteger", "asApproximateFloat", "isGreaterThan", "isLessThan",
    "compareTo", "add", "sub", "isURL", "sets.contains", "sets.equivalent", "sets.intersects", "hasValue",
    "charAt",
})
# functions whose result is an element of their first argument
_ELEMENT = frozenset({"_[_]", "_[?_]", "min", "max", "value"})


@dataclass(frozen=True)
class Node:
    """One expression node: kind is const/ident/select/call/list/struct/comprehension.

    A struct (map literal) has one "list" child per entry: [key, value]. The fields after `text`
    describe the node for the type checker (typecheck.py) and take no part in comparisons."""

    kind: str
    name: str = ""
    children: tuple["Node", ...] = ()
    test_only: bool = False
    vars: tuple[str, ...] = ()  # comprehension: (iter_var, accu_var, iter_var2)
    text: str | None = None  # constant string value
    id: int = field(default=0, compare=False)  # the expression id of the checked AST
    offset: int | None = field(default=None, compare=False)  # code-point offset in the source, when known
    # const: null/bool/int/uint/double/string/bytes/duration/timestamp ("" when unknown)
    const_kind: str = field(default="", compare=False)
    member: bool = field(default=False, compare=False)  # call: children[0] is the receiver (target)
    # list: indices of optional elements ([?x]); struct: indices of optional entries ({?k: v})
    optional: tuple[int, ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class Estimate:
    """Worst-case cost of evaluating a node, size of its value, and size of one of its elements."""

    cost: int
    size: int
    elem: int


def _fields(buf: bytes) -> list[tuple[int, int, int | bytes]]:
    """The (field number, wire type, value) of every field of one protobuf message, in order."""
    out: list[tuple[int, int, int | bytes]] = []
    pos, end = 0, len(buf)
    while pos < end:
        key = buf[pos]
        pos += 1
        if key & 0x80:
            key, pos = _varint_rest(buf, pos, key)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value = buf[pos]
            pos += 1
            if value & 0x80:
                value, pos = _varint_rest(buf, pos, value)
            out.append((field, wire, value))
        elif wire == 2:
            length = buf[pos]
            pos += 1
            if length & 0x80:
                length, pos = _varint_rest(buf, pos, length)
            out.append((field, wire, buf[pos : pos + length]))
            pos += length
        elif wire in (1, 5):
            width = 8 if wire == 1 else 4
            out.append((field, wire, buf[pos : pos + width]))
            pos += width
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
    return out


def _varint_rest(buf: bytes, pos: int, first: int) -> tuple[int, int]:
    """A varint whose first byte (`first`, continuation bit set) is read already."""
    result, shift = first & 0x7F, 7
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    first = buf[pos]
    return (first, pos + 1) if not first & 0x80 else _varint_rest(buf, pos + 1, first)


def decode_checked(serialized: bytes) -> Node:
    """The expression tree of a serialised `google.protobuf.Any{CheckedExpr}`, each node with its
    expression id and source offset (CheckedExpr.source_info.positions)."""
    checked = next(v for f, w, v in _fields(serialized) if f == 2 and w == 2 and isinstance(v, bytes))
    parts = _fields(checked)
    expr = next(v for f, w, v in parts if f == 4 and w == 2 and isinstance(v, bytes))
    info = next((v for f, w, v in parts if f == 5 and w == 2 and isinstance(v, bytes)), b"")
    return _expr(expr, _positions(info))


def _positions(info: bytes) -> dict[int, int]:
    """SourceInfo.positions: expression id -> code-point offset (each map entry read in place)."""
    out: dict[int, int] = {}
    for f, w, v in _fields(info):
        if f == 4 and w == 2 and isinstance(v, bytes):
            key = value = 0
            for tag, number, _ in _in_place(v, 0, len(v)):  # the entry: key (field 1), value (field 2)
                if tag == 0x08:
                    key = number
                elif tag == 0x10:
                    value = number
            out[key] = value
    return out


_CONST_KINDS = {1: "null", 2: "bool", 3: "int", 4: "uint", 5: "double", 6: "string", 7: "bytes", 8: "duration",
                9: "timestamp"}


def _in_place(buf: bytes, pos: int, end: int) -> Iterator[tuple[int, int, int]]:
    """The fields of the message in buf[pos:end], read in place: (key, value, 0) for a varint,
    (key, start, stop) for a length-delimited field (its bytes are buf[start:stop]); fixed-width
    fields are skipped."""
    while pos < end:
        key = buf[pos]
        pos += 1
        if key & 0x80:
            key, pos = _varint_rest(buf, pos, key)
        wire = key & 7
        if wire == 0:
            value = buf[pos]
            pos += 1
            if value & 0x80:
                value, pos = _varint_rest(buf, pos, value)
            yield key, value, 0
        elif wire == 2:
            length = buf[pos]
            pos += 1
            if length & 0x80:
                length, pos = _varint_rest(buf, pos, length)
            yield key, pos, pos + length
            pos += length
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")


def _expr(buf: bytes, positions: dict[int, int], start: int = 0, stop: int | None = None) -> Node:
    """The Expr message in buf[start:stop]: its id (field 2) and the first of its kinds (fields 3
    to 9). Read in place (this runs for every node of every expression compiled): a sub-message is
    passed on as its bounds in `buf`, never copied."""
    ident: int | None = None
    kind = begin = finish = 0
    for key, a, b in _in_place(buf, start, len(buf) if stop is None else stop):
        if key == 0x10:  # field 2, varint
            if ident is None:
                ident = a
        elif key & 7 == 2 and not kind and 3 <= key >> 3 <= 9:
            kind, begin, finish = key >> 3, a, b
    if ident is None:
        ident = 0
    offset = positions.get(ident)
    if kind == 6:  # call: target 1, function 2, args 3 (the commonest node)
        target = []
        args = []
        name = None
        for key, a, b in _in_place(buf, begin, finish):
            if key == 0x1A:  # field 3
                args.append(_expr(buf, positions, a, b))
            elif key == 0x0A:  # field 1
                target.append(_expr(buf, positions, a, b))
            elif key == 0x12 and name is None:  # field 2
                name = buf[a:b].decode()
        return Node("call", name=name or "", children=tuple(target + args), member=bool(target), id=ident,
                    offset=offset)
    if not kind:
        return Node("const", id=ident, offset=offset)
    parts = _fields(buf[begin:finish])
    if kind == 3:
        text = next((v.decode() for f, w, v in parts if f == 6 and isinstance(v, bytes)), None)
        return Node("const", text=text, const_kind=_CONST_KINDS.get(parts[0][0], "") if parts else "", id=ident,
                    offset=offset)
    if kind == 4:
        return Node("ident", name=_string(parts, 1), id=ident, offset=offset)
    if kind == 5:
        operand = []
        name = None
        test = False
        for f, w, v in parts:
            if f == 1:
                if isinstance(v, bytes):
                    operand.append(_expr(v, positions))
            elif f == 2:
                if name is None and isinstance(v, bytes):
                    name = v.decode()
            elif f == 3 and v:
                test = True
        return Node("select", name=name or "", children=tuple(operand), test_only=test, id=ident, offset=offset)
    if kind == 7:
        elements = tuple(_expr(v, positions) for f, w, v in parts if f == 1 and isinstance(v, bytes))
        return Node("list", children=elements, optional=_packed(parts, 2), id=ident, offset=offset)
    if kind == 8:
        entries = [v for f, w, v in parts if f == 2 and isinstance(v, bytes)]
        decoded = [_entry(e, positions) for e in entries]
        return Node("struct", name=_string(parts, 1), children=tuple(d[0] for d in decoded),
                    optional=tuple(i for i, d in enumerate(decoded) if d[1]), id=ident, offset=offset)
    by_number = {f: v for f, w, v in parts if isinstance(v, bytes)}
    kids = tuple(_expr(by_number[f], positions) if f in by_number else Node("const") for f in (2, 4, 5, 6, 7))
    names = tuple(by_number[f].decode() if f in by_number else "" for f in (1, 3, 8))
    return Node("comprehension", children=kids, vars=names, id=ident, offset=offset)


def _packed(parts: list[tuple[int, int, int | bytes]], number: int) -> tuple[int, ...]:
    """A repeated int32 field, packed or not."""
    out: list[int] = []
    for f, w, v in parts:
        if f != number:
            continue
        if isinstance(v, int):
            out.append(v)
        elif w == 2:
            pos = 0
            while pos < len(v):
                item, pos = _varint(v, pos)
                out.append(item)
    return tuple(out)


def _entry(buf: bytes, positions: dict[int, int]) -> tuple[Node, bool]:
    """(a "list" node [key, value] of one map entry or [value] of a message field, optional entry)."""
    parts = _fields(buf)
    ident = next((v for f, w, v in parts if f == 1 and w == 0), 0)
    assert isinstance(ident, int)
    kids = [_expr(v, positions) for f, w, v in parts if f in (3, 4) and isinstance(v, bytes)]
    optional = any(f == 5 and v for f, w, v in parts)
    return Node("list", name=_string(parts, 2), children=tuple(kids), id=ident, offset=positions.get(ident)), optional


def _string(parts: list[tuple[int, int, int | bytes]], number: int) -> str:
    return next((v.decode() for f, w, v in parts if f == number and isinstance(v, bytes)), "")


def estimate(node: Node, scope: dict[str, Estimate] | None = None, input_size: int = ASSUMED_INPUT_SIZE
             ) -> tuple[Estimate, int]:
    """(estimate of the node, largest value size met anywhere inside it), every input value (object,
    params, ...) assumed to hold `input_size` elements or characters. Both grow with `input_size`."""
    biggest = [0, input_size]
    result = _estimate(node, scope or {}, biggest)
    return result, max(biggest[0], result.size)


def _estimate(node: Node, scope: dict[str, Estimate], biggest: list[int]) -> Estimate:
    result = _estimate_node(node, scope, biggest)
    biggest[0] = max(biggest[0], result.size)
    return result


def _estimate_node(node: Node, scope: dict[str, Estimate], biggest: list[int]) -> Estimate:
    if node.kind == "const":
        size = max(1, len(node.text)) if node.text is not None else 1
        return Estimate(1, size, size)
    if node.kind == "ident":
        return scope.get(node.name, Estimate(1, biggest[1], biggest[1]))
    kids = [_estimate(child, scope, biggest) for child in node.children if node.kind != "comprehension"]
    if node.kind == "select":
        operand = kids[0]
        return Estimate(operand.cost + 1, 1 if node.test_only else operand.elem, 1 if node.test_only else operand.elem)
    if node.kind in ("list", "struct"):
        size = sum(max(1, k.size) for k in kids)
        return Estimate(1 + sum(k.cost for k in kids), size, max((k.size for k in kids), default=1))
    if node.kind == "call":
        return _call(node.name, kids)
    return _comprehension(node, scope, biggest)


def _call(name: str, args: list[Estimate]) -> Estimate:
    cost = 1 + sum(a.cost for a in args) + sum(a.size for a in args) // _BYTES_PER_COST_UNIT
    if name in _SCALAR:
        return Estimate(cost, 1, 1)
    if name in _ELEMENT and args:
        return Estimate(cost, args[0].elem, args[0].elem)
    if name == "_?_:_":
        size = max(args[1].size, args[2].size)
        return Estimate(args[0].cost + max(args[1].cost, args[2].cost) + 1, size, max(args[1].elem, args[2].elem))
    if name == "replace" and len(args) >= 3:
        size = args[0].size * max(1, args[2].size)
        return Estimate(cost + size // _BYTES_PER_COST_UNIT, size, size)
    size = sum(a.size for a in args)
    if name == "strings.quote":
        size = 2 * size + 2
    return Estimate(cost, max(1, size), max((a.elem for a in args), default=1))


def _comprehension(node: Node, scope: dict[str, Estimate], biggest: list[int]) -> Estimate:
    iter_range, accu_init, condition, step, result = node.children
    iter_var, accu_var, iter_var2 = node.vars
    range_est = _estimate(iter_range, scope, biggest)
    count = len(iter_range.children) if iter_range.kind in ("list", "struct") else range_est.size
    init = _estimate(accu_init, scope, biggest)
    inner = dict(scope)
    element = Estimate(1, range_est.elem, range_est.elem)
    for var in (iter_var, iter_var2):
        if var:
            inner[var] = element
    inner[accu_var] = init
    cond_est = _estimate(condition, inner, biggest)
    step_est = _estimate(step, inner, biggest)
    growth = max(0, step_est.size - init.size)
    accu = Estimate(1, init.size + count * growth, max(init.elem, step_est.elem))
    biggest[0] = max(biggest[0], accu.size)
    inner[accu_var] = accu
    result_est = _estimate(result, inner, biggest)
    cost = range_est.cost + init.cost + count * (cond_est.cost + step_est.cost + 1) + result_est.cost
    return Estimate(cost, result_est.size, result_est.elem)


def max_input_size(node: Node, cost_limit: int, size_limit: int, ceiling: int = 1 << 31) -> int:
    """The largest input size (a power of two times ASSUMED_INPUT_SIZE, up to `ceiling`) at which the
    node's estimated cost stays within `cost_limit` and every value it builds within `size_limit`;
    0 when even ASSUMED_INPUT_SIZE does not. The estimate is monotonic in the input size."""
    best, size = 0, ASSUMED_INPUT_SIZE
    while size <= ceiling:
        result, biggest = estimate(node, input_size=size)
        if result.cost > cost_limit or biggest > size_limit:
            return best
        best, size = size, size * 2
    return ceiling
