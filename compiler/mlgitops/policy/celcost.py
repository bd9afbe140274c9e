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

from dataclasses import dataclass
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
    """One expression node: kind is const/ident/select/call/list/struct/comprehension."""

    kind: str
    name: str = ""
    children: tuple["Node", ...] = ()
    test_only: bool = False
    vars: tuple[str, ...] = ()  # comprehension: (iter_var, accu_var, iter_var2)
    text: str | None = None  # constant string value


@dataclass(frozen=True)
class Estimate:
    """Worst-case cost of evaluating a node, size of its value, and size of one of its elements."""

    cost: int
    size: int
    elem: int


def _fields(buf: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
            yield field, wire, value
        elif wire == 2:
            length, pos = _varint(buf, pos)
            yield field, wire, buf[pos : pos + length]
            pos += length
        elif wire in (1, 5):
            width = 8 if wire == 1 else 4
            yield field, wire, buf[pos : pos + width]
            pos += width
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def decode_checked(serialized: bytes) -> Node:
    """The expression tree of a serialised `google.protobuf.Any{CheckedExpr}`."""
    checked = next(v for f, w, v in _fields(serialized) if f == 2 and w == 2 and isinstance(v, bytes))
    expr = next(v for f, w, v in _fields(checked) if f == 4 and w == 2 and isinstance(v, bytes))
    return _expr(expr)


def _expr(buf: bytes) -> Node:
    for field, wire, value in _fields(buf):
        if wire != 2:
            continue
        assert isinstance(value, bytes)
        if field == 3:
            text = next((v.decode() for f, w, v in _fields(value) if f == 6 and isinstance(v, bytes)), None)
            return Node("const", text=text)
        if field == 4:
            return Node("ident", name=_string(value, 1))
        if field == 5:
            operand = [_expr(v) for f, w, v in _fields(value) if f == 1 and isinstance(v, bytes)]
            test = any(f == 3 and v for f, w, v in _fields(value))
            return Node("select", name=_string(value, 2), children=tuple(operand), test_only=test)
        if field == 6:
            target = [_expr(v) for f, w, v in _fields(value) if f == 1 and isinstance(v, bytes)]
            args = [_expr(v) for f, w, v in _fields(value) if f == 3 and isinstance(v, bytes)]
            return Node("call", name=_string(value, 2), children=tuple(target + args))
        if field == 7:
            return Node("list", children=tuple(_expr(v) for f, w, v in _fields(value) if f == 1 and isinstance(v, bytes)))
        if field == 8:
            entries = [v for f, w, v in _fields(value) if f == 2 and isinstance(v, bytes)]
            return Node("struct", children=tuple(_entry(e) for e in entries))
        if field == 9:
            parts = {f: v for f, w, v in _fields(value) if isinstance(v, bytes)}
            kids = tuple(_expr(parts[f]) if f in parts else Node("const") for f in (2, 4, 5, 6, 7))
            names = tuple(parts[f].decode() if f in parts else "" for f in (1, 3, 8))
            return Node("comprehension", children=kids, vars=names)
    return Node("const")


def _entry(buf: bytes) -> Node:
    kids = [_expr(v) for f, w, v in _fields(buf) if f in (3, 4) and isinstance(v, bytes)]
    return Node("list", children=tuple(kids))


def _string(buf: bytes, number: int) -> str:
    return next((v.decode() for f, w, v in _fields(buf) if f == number and isinstance(v, bytes)), "")


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
