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
Every failure is a `CelError` with a kind and a one-line message; see docs/cel.md.
"""

from __future__ import annotations

import functools
import marshal
import os
import re
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
            parts = [v for k, v in self.values.items() if k != "variables"]
            parts += list((self.values.get("variables") or {}).values())
            self._bound = max((value_bound(v) for v in parts), default=0)
        return self._bound

    def largest(self) -> int:
        """The largest input value: the longest string, list or map anywhere in the values."""
        if self._largest is None:
            self._largest = largest_value(self.values)
        return self._largest


_BOUNDS: dict[int, tuple[Any, int]] = {}  # id -> (the value, kept alive so the id stays its own; bound)


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

    def __init__(self, text: str, native: Any) -> None:
        self.text = text
        self._native = native
        self._max_input: int | None = None
        self._tree: celcost.Node | None = None

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
        return celcost.estimate(self.tree, input_size=input_size)[0].cost

    def evaluate(self, activation: Activation) -> Any:
        """The expression's value as plain Python data; CelError on any evaluation error, and
        CelError("cost") without evaluating when the activation's values are too large for this
        expression's estimated cost or value sizes to stay within the limits (see check_inputs)."""
        self.check_inputs(activation)
        try:
            return _limited(lambda: self._value(activation))
        except RuntimeError as exc:
            raise _runtime_error(str(exc)) from None
        except MemoryError:  # cel-cpp's std::bad_alloc under memory_budget()
            activation.reset()  # what the evaluation had built is held by the native activation
            raise CelError("cost", f"evaluating this expression needed more than the {MEMORY_HEADROOM // 2**20} MiB "
                           "memory budget of an evaluation; it was stopped") from None


    def _value(self, activation: Activation) -> Any:
        value = self._native.eval(activation._native)
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


# The backstop that bounds memory whatever the estimate missed (inputs below LARGE_INPUT, functions it
# sizes loosely): while policies are evaluated, the process may not grow its data segment by more than
# this (RLIMIT_DATA, Linux: private writable mappings, so CEL's C++ heap and Python's alike). cel-cpp
# raises std::bad_alloc, seen here as MemoryError, and unwinds: Program.evaluate reports it as a cost
# failure at the expression, and the next evaluation starts from the same budget.
MEMORY_HEADROOM = 32 * 2**20


_STATM: list = [None, None]  # [pid, fd]: /proc/self/statm, opened once per process (forked workers reopen)


def _data_bytes() -> int | None:
    """The data segment now (the data field of /proc/self/statm: what RLIMIT_DATA limits, plus the
    stack); None off Linux. About a microsecond: the file stays open."""
    try:
        if _STATM[0] != os.getpid():
            _STATM[:] = [os.getpid(), os.open("/proc/self/statm", os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))]
        return int(os.pread(_STATM[1], 256, 0).split()[5]) * os.sysconf("SC_PAGE_SIZE")
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
    return Program(text, native)


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
