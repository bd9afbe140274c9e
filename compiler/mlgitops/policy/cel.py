"""Compile and evaluate CEL expressions as Kubernetes does, behind a library-neutral API.

The runtime is cel-expr-python (Google's cel-cpp) with the strings, bindings and optional libraries,
plus the Kubernetes libraries from `celext`. Expressions are type-checked against the variables of a
ValidatingAdmissionPolicy (object, oldObject, params, request, namespaceObject, variables) and
rejected when their static cost estimate (`celcost`) exceeds `PER_CALL_LIMIT`. At run time the
library caps the comprehension iterations of one evaluation (`RUNTIME_ITERATION_LIMIT`), and before each
evaluation `Program.check_inputs` redoes the estimate with the real size of the inputs (the library
has no runtime cost hook): an expression whose cost or built values could exceed the limits with
inputs that large is refused unevaluated. policy/evaluate.py adds the per-policy total
(`RUNTIME_COST_BUDGET`). Whatever the estimates miss, `memory_budget` bounds: evaluation runs with
RLIMIT_DATA at the current data segment plus `MEMORY_HEADROOM` (see docs/cel.md, "Cost limits").
Where cel-cpp's builtins differ from the API server's cel-go (string conversions, NaN ordering,
string() of a double), the evaluated program is rewritten to do what cel-go does ("cel-go
semantics" below). Every failure is a `CelError` with a kind and a one-line message; see docs/cel.md.
"""

from __future__ import annotations

import functools
import marshal
import math
import os
import re
import struct
from typing import Any

from cel_expr_python import cel
from cel_expr_python.ext import ext_bindings, ext_optional, ext_strings

from mlgitops.policy import celcost, celext

PER_CALL_LIMIT = 1_000_000  # Kubernetes' per-expression cost limit (k8s.io/apiserver/pkg/apis/cel/config.go)
RUNTIME_ITERATION_LIMIT = 10_000  # comprehension iterations per evaluation, fixed by cel-expr-python
RUNTIME_COST_BUDGET = 10_000_000  # Kubernetes' per-policy, per-object total (RuntimeCELCostBudget)
MAX_VALUE_SIZE = PER_CALL_LIMIT  # characters or elements of any value an expression may build
# Inputs up to this size (longest string, list or map) are covered by the compile-time estimate (at
# celcost.ASSUMED_INPUT_SIZE) and the iteration limit, as before; above it, the estimate is redone at
# the input's real size before evaluating. The estimate gives every input value the largest size, so
# applying it to ordinary objects (whose longest value is a few hundred characters) would refuse
# ordinary policies; 64 Ki is above the values of real manifests and far below the 1 MiB a
# ConfigMap may hold.
LARGE_INPUT = 65_536
INPUT_VARIABLES = ("object", "oldObject", "params", "request", "namespaceObject")

# Kubernetes CEL features this runtime does not provide: names that reach the checker undeclared.
UNSUPPORTED = frozenset({
    "authorizer", "ip", "isIP", "cidr", "isCIDR", "semver", "isSemver", "format", "lists", "sort", "sortBy",
    "flatten", "slice", "distinct", "first", "last", "math", "base64", "strings.format", "jsonpatch",
    "transformList", "transformMap", "transformMapEntry",
})

_STATUS = re.compile(r"^[A-Z_]+: |\s*\[[A-Z_]+\]$")
_LOCATED = re.compile(r"ERROR: <input>:(\d+):(\d+): (.*)")
_UNDECLARED = re.compile(r"undeclared reference to '([\w.]+)'|found no matching overload for '([\w.]+)'")


class CelError(Exception):
    """A CEL failure: kind is syntax, type, cost, runtime or unsupported; offset is 0-based when known."""

    def __init__(self, kind: str, message: str, offset: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.offset = offset


class Activation:
    """Input values bound once and reused by many programs; the values must not change meanwhile."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values
        self._native = _env().Activation(values)
        self._bound: int | None = None
        self._largest: int | None = None
        self._nan: bool | None = None

    def variables_hold_nan(self) -> bool:
        """Whether a value bound under `variables` holds a NaN (a variable evaluated on its own)."""
        if self._nan is None:  # (remembered for the map itself: every object shares the parameter objects' map)
            self._nan = _holds_nan_remembered(self.values.get("variables") or {})
        return self._nan

    def reset(self) -> None:
        """Free what evaluations built (cel-cpp keeps it with the native activation, even after a
        std::bad_alloc) and bind the same values again."""
        self._native = None
        self._native = _env().Activation(self.values)

    def bound(self) -> int:
        """A cheap upper bound of `largest()`: the largest marshalled length of the values bound (every
        character or element takes at least one byte); `variables` counts by its parts, the parameter
        objects, which value_bound measures once for every object they are bound with."""
        if self._bound is None:
            parts = [value_bound(v) for k, v in self.values.items() if k != "variables"]
            self._bound = max(parts + [_variables_bound(self.values.get("variables") or {})])
        return self._bound

    def largest(self) -> int:
        """The largest input value: the longest string, list or map anywhere in the values."""
        if self._largest is None:
            self._largest = largest_value(self.values)
        return self._largest


_BOUNDS: dict[int, tuple[Any, int]] = {}  # id -> (the value, kept alive so the id stays its own; bound)
_VARIABLES_BOUNDS: dict[int, tuple[Any, int]] = {}  # the same for maps bound as `variables`


def _variables_bound(variables: dict) -> int:
    """The largest value_bound of the values of a `variables` map (not changed once bound), remembered
    for the map: every object's shared activation binds the same map of parameter objects."""
    found = _VARIABLES_BOUNDS.get(id(variables))
    if found is not None and found[0] is variables:
        return found[1]
    bound = max((value_bound(v) for v in variables.values()), default=0)
    if len(_VARIABLES_BOUNDS) >= 64:
        _VARIABLES_BOUNDS.clear()
    _VARIABLES_BOUNDS[id(variables)] = (variables, bound)
    return bound


def note_bound(value: Any, bound: int) -> None:
    """Remember `bound` as value_bound(value): any upper bound of the longest string, list or map in
    `value` serves, such as the length of the YAML text it was read from (no string or collection
    of the data is longer than its text). Decisions stay exact (a bound only spares measuring
    values that are certainly small), and marshalling the object is not needed."""
    if isinstance(value, (dict, list)):
        if len(_BOUNDS) >= 512:
            _BOUNDS.clear()
        _BOUNDS[id(value)] = (value, bound)


def value_bound(value: Any) -> int:
    """The marshalled length of `value`, an upper bound of its longest string, list or map;
    remembered for the last few hundred values (parameter objects are bound with every object)."""
    if value is None or isinstance(value, (bool, int, float)):
        return 0
    found = _BOUNDS.get(id(value))
    if found is not None and found[0] is value:
        return found[1]
    try:
        size = len(marshal.dumps(value))
    except ValueError:  # a type marshal does not know: no shortcut
        size = 1 << 62
    if len(_BOUNDS) >= 512:
        _BOUNDS.clear()
    _BOUNDS[id(value)] = (value, size)
    return size


def largest_value(value: Any) -> int:
    """The length of the longest string, list or map in `value` (iterative; shared parts walked once)."""
    best = 0
    stack = [value]
    seen: set[int] = set()
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if len(item) > best:
                best = len(item)
        elif isinstance(item, (dict, list)):
            if id(item) in seen:
                continue
            seen.add(id(item))
            if len(item) > best:
                best = len(item)
            if isinstance(item, dict):
                stack.extend(item.keys())
                stack.extend(item.values())
            else:
                stack.extend(item)
    return best


class Program:
    """A compiled, type-checked and cost-checked expression."""

    def __init__(self, text: str, native: Any, tree: celcost.Node | None = None,
                 costs: dict[int, int] | None = None) -> None:
        self.text = text
        self._native = native
        self._max_input: int | None = None
        self._costs = costs if costs is not None else {}  # input size -> cost_at's answer (the cost check's too)
        self._tree = tree  # decoded from `native` (already, by the cost check; else at first use)
        self._runtime: _Runtime | None = None  # what is evaluated (cel-go semantics), made at first use

    @property
    def tree(self) -> celcost.Node:
        if self._tree is None:
            self._tree = celcost.decode_checked(self._native.serialize())
        return self._tree

    @property
    def max_input(self) -> int:
        """The largest input value (string, list or map length) with which this expression's estimated
        cost stays within PER_CALL_LIMIT and every value it builds within MAX_VALUE_SIZE."""
        if self._max_input is None:
            self._max_input = celcost.max_input_size(self.tree, PER_CALL_LIMIT, MAX_VALUE_SIZE)
        return self._max_input

    def cost_at(self, input_size: int) -> int:
        """The estimated cost with input values of `input_size` elements or characters."""
        cost = self._costs.get(input_size)
        if cost is None:
            cost = self._costs[input_size] = celcost.estimate(self.tree, input_size=input_size)[0].cost
        return cost

    def evaluate(self, activation: Activation) -> Any:
        """The expression's value as plain Python data; CelError on any evaluation error, and
        CelError("cost") without evaluating when the activation's values are too large for this
        expression's estimated cost or value sizes to stay within the limits (see check_inputs)."""
        self.check_inputs(activation)
        if self._runtime is None:  # (outside the memory budget: it is kept)
            self._runtime = _Runtime(self._native)
        try:
            return _limited(lambda: self._value(activation))
        except RuntimeError as exc:
            raise _runtime_error(str(exc)) from None
        except MemoryError:  # cel-cpp's std::bad_alloc under memory_budget()
            activation.reset()  # what the evaluation had built is held by the native activation
            raise CelError("cost", f"evaluating this expression needed more than the {MEMORY_HEADROOM // 2**20} MiB "
                           "memory budget of an evaluation; it was stopped") from None


    def _value(self, activation: Activation) -> Any:
        assert self._runtime is not None
        value = self._runtime.program(activation).eval(activation._native)
        if value.type() == cel.Type.ERROR:
            raise _runtime_error(str(value.plain_value()))
        return value.plain_value()

    def check_inputs(self, activation: Activation) -> None:
        """The runtime half of the cost limit. cel-expr-python has no runtime cost tracker (only its
        fixed iteration limit), so the static estimate is redone with the real size of the inputs:
        when the largest string, list or map bound to the activation is longer than `max_input`, the
        expression could exceed PER_CALL_LIMIT or build a value over MAX_VALUE_SIZE, and is refused.
        Inputs up to LARGE_INPUT are left to the compile-time estimate (and memory_budget)."""
        bound = activation.bound()
        if bound <= LARGE_INPUT:  # the usual case: no estimate to decode or redo
            return
        limit = max(self.max_input, LARGE_INPUT)
        if bound <= limit:
            return
        largest = activation.largest()
        if largest <= limit:
            return
        result, biggest = celcost.estimate(self.tree, input_size=largest)
        what = (f"may build a value of estimated size {biggest:,}, above the limit of {MAX_VALUE_SIZE:,}"
                if biggest > MAX_VALUE_SIZE else
                f"has an estimated cost of {result.cost:,}, above the limit of {PER_CALL_LIMIT:,}")
        raise CelError("cost", f"with an input value of {largest:,} elements or characters this expression {what}; "
                       "it was not evaluated")


# --- cel-go semantics where cel-cpp differs --------------------------------------------------------
# The API server runs cel-go. Where cel-cpp's builtins differ, the program that is evaluated is
# rewritten (never the checked tree that type checking, cost estimates and error positions read;
# the rewritten tree is handed back to cel-cpp with Env.deserialize, which does not check it again):
# * double(), int(), uint(), bool(), duration(), timestamp() of a string call celext's ports of Go's
#   strconv and time parsers (`@go.double(s)`; durations and timestamps come back as text that the
#   runtime's own conversion reads exactly; a `dyn` argument:
#   `cel.bind(c, arg, type(c) == string ? @go.double(c) : double(c))`; a constant string is
#   converted once, here, when it converts);
# * string() of a double writes NaN, +Inf, -Inf as Go's %g does (cel-cpp: nan, inf, -inf);
# * <, <=, >, >= fail with "NaN values cannot be ordered" where cel-go's Compare does (cel-cpp:
#   false), in programs that can meet a NaN: ones that make doubles (a string conversion, double
#   arithmetic, sum()) and, when the values bound under `variables` hold a NaN (a variable evaluated
#   on its own), ones that read `variables`. A comparison whose operands may be doubles becomes
#   `cel.bind(x, a, cel.bind(y, b, (x != x || y != y) && @go.nan_ordering(x, y) ? false : x < y))`:
#   only a NaN differs from itself, so the Python function is called only then.
# Inputs hold no NaN (the API server reads JSON, which has none), so other programs need no guard.
# The `@go.*` functions are declared in celext; `@` makes them uncallable from an expression.

_ORDERING = frozenset({"_<_", "_<=_", "_>_", "_>=_"})
_NAN_SOURCES = frozenset({"add_double", "subtract_double", "multiply_double", "divide_double", "string_to_double",
                          "list_sum"})
_FROM_STRING = {"double": "string_to_double", "int": "string_to_int64", "uint": "string_to_uint64",
                "bool": "string_to_bool", "duration": "string_to_duration", "timestamp": "string_to_timestamp"}


def _uvarint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _encoded(number: int, wire: int, value: int | bytes) -> bytes:
    """One protobuf field (wire 0: varint, 2: length-delimited, 1/5: the fixed bytes as read)."""
    key = _uvarint(number << 3 | wire)
    if isinstance(value, int):
        return key + _uvarint(value)
    if wire == 2:
        return key + _uvarint(len(value)) + value
    return key + value


def _message(*fields: tuple[int, int | bytes | str]) -> bytes:
    """A message of varint (int) and length-delimited (bytes, str) fields."""
    out = b""
    for number, value in fields:
        if isinstance(value, str):
            value = value.encode()
        out += _encoded(number, 0 if isinstance(value, int) else 2, value)
    return out


class _GoRewrite:
    """One pass over a checked expression's tree (cel.expr.Expr wire format), making the evaluated
    program behave as cel-go where cel-cpp differs (see the comment above)."""

    def __init__(self, overloads: dict[int, tuple[str, ...]], not_double: set[int], last_id: int,
                 guard: bool) -> None:
        self.overloads = overloads  # expression id -> the overloads the checker left possible
        self.not_double = not_double  # expression ids whose type is neither double nor dyn
        self.last_id = last_id
        self.guard = guard
        self.changed = False
        self._names = 0
        # the encoded function names (Call field 2) of the calls it may change
        names = [*_FROM_STRING, "string", "matches", *(_ORDERING if guard else ())]
        self.markers = tuple(_encoded(2, 2, name.encode()) for name in names)

    # --- building nodes (each with an id of its own) ---
    def _node(self, kind: int, payload: bytes) -> bytes:
        self.last_id += 1
        return _encoded(2, 0, self.last_id) + _encoded(kind, 2, payload)

    def _ident(self, name: str) -> bytes:
        return self._node(4, _message((1, name)))

    def _call(self, function: str, *args: bytes) -> bytes:
        return self._node(6, _message((2, function), *((3, a) for a in args)))

    def _false(self) -> bytes:
        return self._node(3, _encoded(2, 0, 0))

    def _copy(self, leaf: bytes) -> bytes:
        """A constant or identifier node again, under a new id."""
        kind, value = next((f, v) for f, w, v in celcost._fields(leaf) if f != 2)
        assert isinstance(value, bytes)
        return self._node(kind, value)

    def _name(self) -> str:
        self._names += 1
        return f"@go{self._names}"

    def _bind(self, name: str, init: bytes, body: bytes) -> bytes:
        """cel.bind(name, init, body): a comprehension over no elements, as the bindings macro makes."""
        return self._node(9, _message((1, "#unused"), (2, self._node(7, b"")), (3, name), (4, init),
                                      (5, self._false()), (6, self._ident(name)), (7, body)))

    # --- the pass (a subtree with nothing to change keeps its bytes) ---
    def expr(self, buf: bytes) -> bytes:
        if not any(marker in buf for marker in self.markers):  # no call this pass changes
            return buf
        fields = list(celcost._fields(buf))
        ident = next((v for f, w, v in fields if f == 2 and isinstance(v, int)), 0)
        for number, wire, value in fields:
            if number == 6 and isinstance(value, bytes):
                return self._call_expr(ident, value, buf)
            if number in (5, 7, 8, 9) and isinstance(value, bytes):
                children = self._children(number, value)
                if children is value:
                    return buf
                return b"".join(_encoded(n, w, children if n == number else v) for n, w, v in fields)
        return buf

    def _children(self, kind: int, buf: bytes) -> bytes:
        """select (5): operand 1; list (7): elements 1; struct (8): entries 2 (map key 3, value 4);
        comprehension (9): range 2, init 4, condition 5, step 6, result 7. `buf` itself if unchanged."""
        nested = {5: (1,), 7: (1,), 8: (), 9: (2, 4, 5, 6, 7)}[kind]
        fields = list(celcost._fields(buf))
        out: list[tuple[int, int, int | bytes]] = []
        changed = False
        for number, wire, value in fields:
            if isinstance(value, bytes) and wire == 2:
                new: int | bytes = value
                if number in nested:
                    new = self.expr(value)
                elif kind == 8 and number == 2:
                    entry = list(celcost._fields(value))
                    parts = [self.expr(v) if n in (3, 4) and isinstance(v, bytes) else v for n, w, v in entry]
                    if any(a is not b for a, b in zip(parts, (v for _, _, v in entry))):
                        new = b"".join(_encoded(n, w, v) for (n, w, _), v in zip(entry, parts))
                changed = changed or new is not value
                value = new
            out.append((number, wire, value))
        return b"".join(_encoded(n, w, v) for n, w, v in out) if changed else buf

    def _call_expr(self, ident: int, buf: bytes, node: bytes) -> bytes:
        parts = list(celcost._fields(buf))
        function = next((v.decode() for f, w, v in parts if f == 2 and isinstance(v, bytes)), "")
        original_target = [v for f, w, v in parts if f == 1 and isinstance(v, bytes)]
        original = [v for f, w, v in parts if f == 3 and isinstance(v, bytes)]
        target = [self.expr(t) for t in original_target]
        args = [self.expr(a) for a in original]
        if not target and len(args) == 1 and _FROM_STRING.get(function, "") in self.overloads[ident]:
            return self._conversion(ident, function, args[0])
        if not target and len(args) == 1 and function == "string" and "double_to_string" in self.overloads[ident]:
            return self._double_text(ident, args[0])
        if function == "matches" and len(target) + len(args) == 2:
            return self._matches(*(target + args))
        if not target and len(args) == 2 and function in _ORDERING and self.guard:
            heads = [list(celcost._fields(a))[:2] for a in original]  # [(2, 0, id), (kind, wire, value)]
            constant = [len(h) == 2 and h[1][0] == 3 for h in heads]
            ids = [h[0][2] if h and h[0][0] == 2 else -1 for h in heads]
            if any(not c and i not in self.not_double for i, c in zip(ids, constant)):
                self.changed = True
                return self._guarded(function, args, constant)
        if all(a is b for a, b in zip(target + args, original_target + original)):
            return node
        return _encoded(2, 0, ident) + _encoded(6, 2, b"".join(
            [_encoded(1, 2, t) for t in target] + [_encoded(2, 2, function.encode())]
            + [_encoded(3, 2, a) for a in args]))

    def _conversion(self, ident: int, function: str, arg: bytes) -> bytes:
        """double(s) -> @go.double(s); double(<dyn>) -> cel.bind(c, <dyn>, type(c) == string ?
        @go.double(c) : double(c)). Durations and timestamps: @go.duration(s) is text that
        duration() reads (the exact value cel-go parses). A constant string is converted now."""
        self.changed = True
        go = celext.GO_CONVERSIONS[function]
        parse, as_text = celext.GO_PARSERS[function]
        fields = list(celcost._fields(arg))
        constant = next((v for f, w, v in fields if f == 3 and isinstance(v, bytes)), None)
        text = next((v for f, w, v in celcost._fields(constant) if f == 6 and isinstance(v, bytes)), None) \
            if constant is not None else None
        if text is not None:
            try:
                value = parse(text.decode())
            except ValueError:
                pass  # fails at run time, as in cel-go
            else:
                canonical = value if as_text else repr(value) if isinstance(value, float) \
                    else str(value).lower() if isinstance(value, bool) else str(value)
                return self._call(function, self._node(3, _message((6, canonical))))

        def converted(node: bytes) -> bytes:
            call = self._call(go, node)
            return self._call(function, call) if as_text else call

        if self.overloads[ident] == (_FROM_STRING[function],):  # a string, statically
            return converted(arg)
        name = self._name()
        is_string = self._call("_==_", self._call("type", self._ident(name)), self._ident("string"))
        body = self._call("_?_:_", is_string, converted(self._ident(name)), self._call(function, self._ident(name)))
        return self._bind(name, arg, body)

    def _double_text(self, ident: int, arg: bytes) -> bytes:
        """string(<double>): cel-go formats with Go's %g, which writes NaN, +Inf and -Inf (cel-cpp:
        nan, inf, -inf; finite values alike). cel.bind(c, x, [type(c) == double ?] (c != c ? 'NaN' :
        c == +inf ? '+Inf' : c == -inf ? '-Inf' : string(c)) [: string(c)])."""
        self.changed = True
        name = self._name()

        def text(value: str) -> bytes:
            return self._node(3, _message((6, value)))

        def infinite(sign: float) -> bytes:
            return self._call("_==_", self._ident(name), self._node(3, _encoded(5, 1, struct.pack("<d", sign * math.inf))))

        body = self._call("_?_:_", self._call("_!=_", self._ident(name), self._ident(name)), text("NaN"),
                          self._call("_?_:_", infinite(1), text("+Inf"),
                                     self._call("_?_:_", infinite(-1), text("-Inf"),
                                                self._call("string", self._ident(name)))))
        if self.overloads[ident] != ("double_to_string",):
            is_double = self._call("_==_", self._call("type", self._ident(name)), self._ident("double"))
            body = self._call("_?_:_", is_double, body, self._call("string", self._ident(name)))
        return self._bind(name, arg, body)

    def _matches(self, text: bytes, pattern: bytes) -> bytes:
        """text.matches(pattern) (or matches(text, pattern)) answered from what the builtin said
        before for the same pair (celext.matches_known); otherwise by the builtin, whose answer
        celext.matches_learn remembers: cel.bind(t, text, cel.bind(p, pattern, cel.bind(k,
        @go.matches_known(t, p), k == 2 ? @go.matches_learn(t, p, t.matches(p)) : k == 1)))."""
        self.changed = True
        t, p, k = self._name(), self._name(), self._name()

        def number(value: int) -> bytes:
            return self._node(3, _encoded(3, 0, value))  # Constant.int64_value

        builtin = self._node(6, _message((1, self._ident(t)), (2, "matches"), (3, self._ident(p))))
        body = self._call("_?_:_", self._call("_==_", self._ident(k), number(celext.UNKNOWN)),
                          self._call(celext.GO_MATCHES_LEARN, self._ident(t), self._ident(p), builtin),
                          self._call("_==_", self._ident(k), number(1)))
        body = self._bind(k, self._call(celext.GO_MATCHES_KNOWN, self._ident(t), self._ident(p)), body)
        return self._bind(t, text, self._bind(p, pattern, body))

    def _guarded(self, function: str, args: list[bytes], constant: list[bool]) -> bytes:
        """`a OP b` failing as cel-go's Compare does when an operand is NaN: each operand evaluated once
        (bound to a name; a constant, never NaN, is repeated instead)."""
        names = [None if c else self._name() for c in constant]

        def operand(i: int) -> bytes:
            name = names[i]
            return self._copy(args[i]) if name is None else self._ident(name)

        checks = [self._call("_!=_", operand(i), operand(i)) for i in (0, 1) if names[i] is not None]
        nan = checks[0] if len(checks) == 1 else self._call("_||_", *checks)
        condition = self._call("_&&_", nan, self._call(celext.GO_NAN_ORDERING, operand(0), operand(1)))
        body = self._call("_?_:_", condition, self._false(), self._call(function, operand(0), operand(1)))
        for i in (1, 0):
            name = names[i]
            if name is not None:
                body = self._bind(name, args[i], body)
        return body


def _checked_parts(serialized: bytes) -> tuple[bytes, list[tuple[int, int, int | bytes]]]:
    """(the Any's type URL field, the CheckedExpr's fields)."""
    outer = list(celcost._fields(serialized))
    url = next((v for f, w, v in outer if f == 1 and isinstance(v, bytes)), b"")
    checked = next(v for f, w, v in outer if f == 2 and isinstance(v, bytes))
    return url, list(celcost._fields(checked))


class _Overloads(dict[int, tuple[str, ...]]):
    """id -> the overload ids of its reference, decoded from the reference_map entry on first use."""

    def __init__(self, references: dict[int, bytes]) -> None:
        super().__init__()
        self.references = references

    def __missing__(self, key: int) -> tuple[str, ...]:
        entry = self.references.get(key)
        found: tuple[str, ...] = ()
        if entry is not None:
            body = next((v for f, w, v in celcost._fields(entry) if f == 2 and isinstance(v, bytes)), b"")
            found = tuple(v.decode() for f, w, v in celcost._fields(body) if f == 3 and isinstance(v, bytes))
        self[key] = found
        return found


_REWRITTEN = (b"string_to_", b"double_to_string", b"matches")  # overload ids in a checked expression that need a rewrite


class _Runtime:
    """The programs evaluated for one checked expression: `plain` (cel-go's conversions), and the
    same with NaN guards, used always (`always`: the expression can make a NaN itself) or for an
    activation whose `variables` hold a NaN (built when first needed)."""

    __slots__ = ("native", "plain", "always", "reads_variables", "_guarded")

    def __init__(self, native: Any) -> None:
        self.native = native
        self._guarded: Any = None
        serialized = native.serialize()
        sources = any(s.encode() in serialized for s in _NAN_SOURCES)
        self.reads_variables = b"variables" in serialized  # (a false positive only costs time)
        self.always = False
        self.plain = native
        if sources:
            self.plain = self.guarded()
            self.always = True
        elif any(marker in serialized for marker in _REWRITTEN):
            self.plain = _go_program(native, guard=False)

    def program(self, activation: Activation) -> Any:
        if self.always or not self.reads_variables or not activation.variables_hold_nan():
            return self.plain
        return self.guarded()

    def guarded(self) -> Any:
        if self._guarded is None:
            self._guarded = _go_program(self.native, guard=True)
        return self._guarded


def _go_program(native: Any, guard: bool) -> Any:
    """The checked expression rewritten for cel-go's conversions, and with NaN guards if `guard`
    (the program itself when there is nothing to rewrite)."""
    url, parts = _checked_parts(native.serialize())
    references: dict[int, bytes] = {}  # id -> its reference_map entry (Reference in field 2), read when needed
    not_double: set[int] = set()
    last_id = 0
    for number, wire, entry in parts:  # map entries: key (field 1) first
        if number not in (2, 3) or not isinstance(entry, bytes) or entry[:1] != b"\x08":
            continue
        key = celcost._varint(entry, 1)[0]
        last_id = max(last_id, key)
        if number == 2:
            references[key] = entry
        elif guard:  # type_map: Type dyn 1, primitive 3 / wrapper 4 (DOUBLE 4), type_param 10, error 12
            body = next((v for f, w, v in celcost._fields(entry) if f == 2 and isinstance(v, bytes)), b"")
            if not any(f in (1, 10, 12) or f in (3, 4) and v == 4 for f, w, v in celcost._fields(body)):
                not_double.add(key)
    overloads = _Overloads(references)
    expr = next(v for f, w, v in parts if f == 4 and isinstance(v, bytes))
    rewrite = _GoRewrite(overloads, not_double, last_id, guard)
    body = rewrite.expr(expr)
    if not rewrite.changed:
        return native
    checked = b"".join(_encoded(n, w, body if n == 4 else v) for n, w, v in parts)
    return _env().deserialize(_encoded(1, 2, url) + _encoded(2, 2, checked))


def holds_nan(value: Any) -> bool:
    """Whether a NaN float sits anywhere in `value`."""
    stack = [value]
    seen: set[int] = set()
    while stack:
        item = stack.pop()
        if isinstance(item, float):
            if item != item:
                return True
        elif isinstance(item, (dict, list)):
            if id(item) in seen:
                continue
            seen.add(id(item))
            stack.extend(item.values() if isinstance(item, dict) else item)
    return False


_NAN_SCANS: dict[int, tuple[Any, bool]] = {}  # id -> (the value, kept alive so the id stays its own; holds_nan)


def _holds_nan_remembered(value: Any) -> bool:
    """holds_nan, remembered for the last few hundred containers (parameter objects are bound under
    `variables` with every object)."""
    if not isinstance(value, (dict, list)):
        return holds_nan(value)
    found = _NAN_SCANS.get(id(value))
    if found is not None and found[0] is value:
        return found[1]
    if len(_NAN_SCANS) >= 512:
        _NAN_SCANS.clear()
    result = holds_nan(value)
    _NAN_SCANS[id(value)] = (value, result)
    return result


# The backstop that bounds memory whatever the estimate missed (inputs below LARGE_INPUT, functions it
# sizes loosely): while policies are evaluated, the process may not grow its data segment by more than
# this (RLIMIT_DATA, Linux: private writable mappings, so CEL's C++ heap and Python's alike). cel-cpp
# raises std::bad_alloc, seen here as MemoryError, and unwinds: Program.evaluate reports it as a cost
# failure at the expression, and the next evaluation starts from the same budget.
MEMORY_HEADROOM = 32 * 2**20


_STATM: list = [None, None, 0]  # [pid, fd, page size]: /proc/self/statm, opened once per process (forked workers reopen)


def _data_bytes() -> int | None:
    """The data segment now (the data field of /proc/self/statm: what RLIMIT_DATA limits, plus the
    stack); None off Linux. About a microsecond: the file stays open."""
    try:
        if _STATM[0] != os.getpid():
            _STATM[:] = [os.getpid(), os.open("/proc/self/statm", os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)),
                         os.sysconf("SC_PAGE_SIZE")]
        return int(os.pread(_STATM[1], 256, 0).split()[5]) * _STATM[2]
    except (OSError, ValueError, IndexError, AttributeError):
        return None


class MemoryBudget:
    """While active (a `with` block around policy evaluation), every native evaluation runs with
    RLIMIT_DATA at the data segment it starts with plus `MEMORY_HEADROOM`: an evaluation can grow the
    process by that much and no more, while compiling, caching and the rest of the run are not
    limited. The previous limit is restored after each evaluation. Only the outermost budget acts;
    a no-op where RLIMIT_DATA or /proc/self/statm are missing, or where a lower limit is set."""

    _active = 0
    _limits: tuple[Any, int, int] | None = None  # (the resource module, soft, hard) while active

    def __enter__(self) -> "MemoryBudget":
        MemoryBudget._active += 1
        if MemoryBudget._active == 1:
            try:
                import resource
            except ImportError:  # pragma: no cover - not POSIX
                return self
            if _data_bytes() is not None:
                MemoryBudget._limits = (resource, *resource.getrlimit(resource.RLIMIT_DATA))
        return self

    def __exit__(self, *exc: Any) -> None:
        MemoryBudget._active -= 1
        if MemoryBudget._active == 0:
            MemoryBudget._limits = None


memory_budget = MemoryBudget


def _limited(run: Any) -> Any:
    """run() under the memory budget of one evaluation, when one is active."""
    limits = MemoryBudget._limits
    if limits is None:
        return run()
    resource, soft, hard = limits
    current = _data_bytes()
    wanted = (current or 0) + MEMORY_HEADROOM
    if hard != resource.RLIM_INFINITY:
        wanted = min(wanted, hard)
    if current is None or (soft != resource.RLIM_INFINITY and wanted >= soft):
        return run()
    resource.setrlimit(resource.RLIMIT_DATA, (wanted, hard))
    try:
        return run()
    finally:
        resource.setrlimit(resource.RLIMIT_DATA, (soft, hard))


def activation(values: dict[str, Any]) -> Activation:
    """Bind plain Python data (dict/list/str/int/float/bool/None) to variable names for evaluation."""
    return Activation(values)


def compile_expression(text: str, *, variables: frozenset[str] = frozenset(), what: str = "expression",
                       check_cost: bool = True) -> Program:
    """Parse, type-check and cost-check `text`; `variables` are the names usable as `variables.<name>`.

    `check_cost=False` is for programs mlgitops assembles from expressions already checked one by one
    (policy/fuse.py); the runtime iteration limit still applies to them."""
    return _compile(text, variables, what, check_cost)


@functools.lru_cache(maxsize=4096)
def _compile(text: str, variables: frozenset[str], what: str, check_cost: bool = True) -> Program:
    try:
        native = _env().compile(text)
    except RuntimeError as exc:
        raise _compile_error(text, str(exc), what) from None
    if not check_cost:
        return Program(text, native)
    tree = celcost.decode_checked(native.serialize())
    _check_variables(text, tree, variables)
    estimate, biggest = celcost.estimate(tree)
    if estimate.cost > PER_CALL_LIMIT:
        raise CelError("cost", f"estimated cost of this {what} is {estimate.cost}, above the limit of {PER_CALL_LIMIT}")
    if biggest > MAX_VALUE_SIZE:
        raise CelError("cost", f"this {what} may build a value of estimated size {biggest}, above the limit of {PER_CALL_LIMIT}")
    return Program(text, native, tree, {celcost.ASSUMED_INPUT_SIZE: estimate.cost})


@functools.cache
def _env() -> Any:
    declared = {name: cel.Type.DYN for name in INPUT_VARIABLES}
    declared["variables"] = cel.Type.Map(cel.Type.STRING, cel.Type.DYN)
    extensions = [ext_strings.ExtStrings(), ext_bindings.ExtBindings(), ext_optional.ExtOptional(),
                  celext.kubernetes_extension()]
    return cel.NewEnv(variables=declared, extensions=extensions)


def _check_variables(text: str, tree: celcost.Node, variables: frozenset[str]) -> None:
    for name in _variable_names(tree):
        if name not in variables:
            known = ", ".join(sorted(variables)) or "none"
            found = re.search(rf"\bvariables\s*(\.\s*|\[\s*['\"]){re.escape(name)}\b", text)
            raise CelError("type", f"undefined variable 'variables.{name}' (defined: {known})",
                           found.start() if found else None)


def _variable_names(node: celcost.Node) -> list[str]:
    """Names read as `variables.<name>` or `variables['<name>']`, in source order."""
    names: list[str] = []
    kids = node.children
    if kids and kids[0].kind == "ident" and kids[0].name == "variables":
        if node.kind == "select":
            names.append(node.name)
        elif node.kind == "call" and node.name in ("_[_]", "_[?_]") and kids[1].text is not None:
            names.append(kids[1].text)
    for child in kids:
        names.extend(_variable_names(child))
    return names


def _compile_error(text: str, raw: str, what: str) -> CelError:
    first = raw.splitlines()[0] if raw else "compilation failed"
    located = _LOCATED.search(first)
    if not located:
        return CelError("syntax", f"invalid {what}: {_STATUS.sub('', first)}")
    line, column, message = int(located.group(1)), int(located.group(2)), _STATUS.sub("", located.group(3))
    offset = sum(len(part) + 1 for part in text.split("\n")[: line - 1]) + column - 1
    if message.startswith("Syntax error"):
        return CelError("syntax", f"{message[0].lower()}{message[1:]}", offset)
    name = _UNDECLARED.search(message)
    if name and _root(name.group(1) or name.group(2)) in UNSUPPORTED:
        feature = name.group(1) or name.group(2)
        return CelError("unsupported", f"'{feature}' is a Kubernetes CEL feature that mlgitops does not support (docs/cel.md)", offset)
    return CelError("type", message, offset)


def _root(name: str) -> str:
    return name if name in UNSUPPORTED else name.split(".")[0]


def _runtime_error(raw: str) -> CelError:
    message = _STATUS.sub("", raw.splitlines()[0] if raw else "evaluation failed")
    if "Iteration budget exceeded" in message:
        return CelError("cost", f"evaluation exceeded the limit of {RUNTIME_ITERATION_LIMIT} comprehension iterations")
    if message.startswith("No matching overloads found"):
        call = message.partition(": ")[2].strip()
        call = re.sub(r"^_(\W+)_", r"'\1' applied to ", re.sub(r"\b(u?int)64\b", r"\1", call))
        return CelError("type", f"no matching overload for {call}")
    key = re.match(r'Key not found in map : "?(.*?)"?$', message)
    if key:
        return CelError("runtime", f"no such key: {key.group(1)}")
    name = re.match(r'No value with name "(.*)" found in Activation', message)
    if name:
        return CelError("runtime", f"variable '{name.group(1)}' is not available here")
    return CelError("runtime", message)
