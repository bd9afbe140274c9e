"""Compile and evaluate CEL expressions as Kubernetes does, behind a library-neutral API.

The runtime is cel-expr-python (Google's cel-cpp) with the strings, bindings and optional libraries,
plus the Kubernetes libraries from `celext`. Expressions are type-checked against the variables of a
ValidatingAdmissionPolicy (object, oldObject, params, request, namespaceObject, variables) and
rejected when their static cost estimate (`celcost`) exceeds `PER_CALL_LIMIT`. At run time the
library caps the comprehension iterations of one evaluation (`RUNTIME_ITERATION_LIMIT`).
Every failure is a `CelError` with a kind and a one-line message; see docs/cel.md.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from cel_expr_python import cel
from cel_expr_python.ext import ext_bindings, ext_optional, ext_strings

from mlgitops.policy import celcost, celext

PER_CALL_LIMIT = 1_000_000  # Kubernetes' per-expression cost limit (k8s.io/apiserver/pkg/apis/cel/config.go)
RUNTIME_ITERATION_LIMIT = 10_000  # comprehension iterations per evaluation, fixed by cel-expr-python
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


class Program:
    """A compiled, type-checked and cost-checked expression."""

    def __init__(self, text: str, native: Any) -> None:
        self.text = text
        self._native = native

    def evaluate(self, activation: Activation) -> Any:
        """The expression's value as plain Python data; CelError on any evaluation error."""
        try:
            value = self._native.eval(activation._native)
        except RuntimeError as exc:
            raise _runtime_error(str(exc)) from None
        if value.type() == cel.Type.ERROR:
            raise _runtime_error(str(value.plain_value()))
        return value.plain_value()


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
    if biggest > PER_CALL_LIMIT:
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
