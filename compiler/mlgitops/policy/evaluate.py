"""Evaluate one policy, under one binding and one parameter object, against one object.

One job: Kubernetes' evaluation order for a ValidatingAdmissionPolicy, offline. The activation
holds `object`, `oldObject` (null: every object is a CREATE), `params`, `request` (a synthetic
CREATE by user `mlgitops`, dryRun false), `namespaceObject` (a synthetic Namespace with the
namespace's labels) and `variables`. Then:
1. matchConditions (match.conditions_match): not all true -> the policy does not apply;
2. variables, in order (a variable may use the earlier ones); a variable that fails to evaluate
   only matters to the validations that use it, as Kubernetes evaluates variables lazily;
3. validations: true passes, false is a violation, anything else (an error, a non-bool) is an
   evaluation failure. A violation's message is `messageExpression`'s value when that is a
   non-empty one-line string, else `message`, else `failed expression: <expression>`.
Severity: a violation takes the binding's (Deny error, Warn warning, Audit info). An evaluation
failure under failurePolicy Fail is enforced by the same actions (Kubernetes does that too);
under Ignore it is at most a warning, so a broken policy is still visible.
`auditAnnotations` are not evaluated (they only annotate audit events in a cluster).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Sequence

from ..diagnostics import ERROR, INFO, WARNING
from . import celcost
from .cel import LARGE_INPUT, RUNTIME_COST_BUDGET, CelError, activation, largest_value, value_bound
from .load import Binding, Expression, Policy, Validation
from .match import OPERATION, Target, conditions_match, type_name

_RANK = {ERROR: 0, WARNING: 1, INFO: 2}
_NOT_PREFETCHED = object()


@dataclasses.dataclass
class Violation:
    validation: Validation
    message: str
    severity: str


@dataclasses.dataclass
class Failure:
    expression: Expression  # the expression that could not be evaluated
    message: str
    severity: str
    rule: str = "policy.eval-error"


@dataclasses.dataclass
class Outcome:
    matched: bool  # False: matchConditions excluded the object (nothing was validated)
    violations: list[Violation] = dataclasses.field(default_factory=list)
    failures: list[Failure] = dataclasses.field(default_factory=list)


def request_for(target: Target) -> dict:
    """The AdmissionRequest a CREATE of the object would carry."""
    kind = {"group": target.group, "version": target.version, "kind": target.kind}
    resource = {"group": target.group, "version": target.version, "resource": target.resource}
    return {"uid": "00000000-0000-0000-0000-000000000000", "kind": kind, "resource": resource,
            "subResource": "", "requestKind": kind, "requestResource": resource, "requestSubResource": "",
            "name": target.name, "namespace": target.namespace, "operation": OPERATION,
            "userInfo": {"username": "mlgitops", "groups": ["system:authenticated"]},
            "dryRun": False, "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"}}


def base_values(target: Target, params: Any) -> dict:
    return {"object": target.obj, "oldObject": None, "params": params, "request": request_for(target),
            "namespaceObject": target.namespace_object(), "variables": {}}


def _milder(a: str, b: str) -> str:
    return a if _RANK[a] >= _RANK[b] else b


# celconfig.MaxEvaluatedMessageExpressionSizeBytes: a longer messageExpression result is not used
MAX_MESSAGE_BYTES = 5 * 1024


def _message(validation: Validation, act: Any) -> str:
    """The denial message as the API server composes it (k8s.io/apiserver .../validating/validator.go):
    the messageExpression's string, trimmed, unless it failed, is empty, holds a newline or is over
    MAX_MESSAGE_BYTES (UTF-8); then `message`, trimmed; then the expression."""
    if validation.message_expression is not None:
        try:
            value = validation.message_expression.program.evaluate(act)
        except CelError:
            value = None
        if isinstance(value, str):
            value = value.strip()
            if value and "\n" not in value and len(value.encode("utf-8", "surrogatepass")) <= MAX_MESSAGE_BYTES:
                return value
    if validation.message.strip():
        return validation.message.strip()
    return f"failed expression: {validation.expression.text.strip()}"


class ParamSlots:
    """Where the shared activations of every object carry the known parameter objects:
    `variables[<key>]` (made once, not once per object)."""

    def __init__(self, known_params: Sequence[Any] = ()) -> None:
        self.keys = {id(p): f"mlgitops_params_{i}" for i, p in enumerate(known_params)}
        self.variables = {self.keys[id(p)]: p for p in known_params}
        self._known = list(known_params)  # (keeps their ids theirs)


class Activations:
    """The activations of one object. Building one converts the whole object (the costly part), so
    one shared activation carries every known parameter object under `variables[<key>]` for the
    combined programs (Policy.combined_program); `base(params)` gives the per-parameter ones the
    step-by-step evaluation needs."""

    def __init__(self, target: Target, known_params: Sequence[Any] = (), slots: ParamSlots | None = None,
                 variables: dict[str, Any] | None = None) -> None:
        self.target = target
        self.slots = slots if slots is not None else ParamSlots(known_params)
        self._keys = self.slots.keys
        # what the shared activation binds under `variables`: every known parameter object, or the
        # ones the caller's evaluations use (cel-cpp converts the whole map for each object)
        self._variables = self.slots.variables if variables is None else variables
        self._shared: Any = None
        self._by_params: dict[int, tuple[dict, Any]] = {}
        self.prefetched: dict[tuple[str, str | None], Any] = {}  # (policy, params key) -> combined value
        self._sizes: dict[tuple, int] = {}
        self.budget: dict[tuple[int, int], Any] = {}  # (policy, params) -> over_budget's answer

    def input_bound(self, params: Any) -> int:
        """A cheap upper bound of input_size (marshalled lengths)."""
        return max(value_bound(self.target.obj), value_bound(params))

    def input_size(self, params: Any) -> int:
        """The longest string, list or map in the object or the parameter object."""
        return max(self._measure(self.target.obj, largest_value), self._measure(params, largest_value))

    def _measure(self, value: Any, how: Any) -> int:
        key = (id(value), how)
        found = self._sizes.get(key)
        if found is None:
            found = self._sizes[key] = how(value)
        return found

    def base(self, params: Any) -> tuple[dict, Any]:
        key = id(params)
        if key not in self._by_params:
            values = base_values(self.target, params)
            self._by_params[key] = (values, activation(values))
        return self._by_params[key]

    def shared(self, params: Any) -> tuple[str | None, Any] | None:
        """(variables key of `params`, the shared activation); None for an unknown parameter object
        (or one the shared activation does not bind)."""
        if params is None:
            return None, self.shared_activation()
        key = self._keys.get(id(params))
        if key is None or key not in self._variables:
            return None
        return key, self.shared_activation()

    def shared_activation(self) -> Any:
        """The one activation every combined program of this object evaluates on."""
        if self._shared is None:
            values = base_values(self.target, None)
            values["variables"] = self._variables
            self._shared = activation(values)
        return self._shared


def _evaluate_combined(policy: Policy, binding: Binding, activations: Activations, params: Any) -> Outcome | None:
    """matchConditions and every validation in one evaluation on the object's shared activation;
    None when that cannot tell (an error anywhere, a non-bool): the caller then evaluates the parts
    one by one, so each failure is reported against its own expression."""
    shared = activations.shared(params)
    if shared is None:
        return None
    values = activations.prefetched.get((policy.name, shared[0]), _NOT_PREFETCHED)
    if values is _NOT_PREFETCHED:
        program = policy.combined_program(shared[0])
        if program is None:
            return None
        try:
            values = program.evaluate(shared[1])
        except CelError:
            return None
    if values == []:
        return Outcome(False)  # a matchCondition is false
    if not isinstance(values, list) or len(values) != len(policy.validations) \
            or any(not isinstance(v, bool) for v in values):
        return None
    outcome = Outcome(True)
    for validation, value in zip(policy.validations, values):
        if value is False:
            # a policy without parameters sees the same values on the shared activation
            act = shared[1] if params is None else activations.base(params)[1]
            message_expression = validation.message_expression
            if message_expression is not None and message_expression.fused is not None:
                validation = dataclasses.replace(validation, message_expression=dataclasses.replace(
                    message_expression, program=message_expression.fused))
            outcome.violations.append(Violation(validation, _message(validation, act), binding.severity))
    return outcome


def _fusable(policy: Policy) -> bool:
    return all(e is None or not e.uses or e.fused is not None
               for v in policy.validations for e in (v.expression, v.message_expression))


def _evaluate_fused(policy: Policy, binding: Binding, act: Any) -> Outcome:
    """Validations with their variables inlined, on the object's shared activation."""
    outcome = Outcome(True)
    for validation in policy.validations:
        expression = validation.expression
        try:
            value = (expression.fused or expression.program).evaluate(act)
        except CelError as exc:
            outcome.failures.append(_failure(expression, exc, binding.severity))
            return outcome
        if value is False:
            message_expression = validation.message_expression
            if message_expression is not None and message_expression.fused is not None:
                validation = dataclasses.replace(validation, message_expression=dataclasses.replace(
                    message_expression, program=message_expression.fused))
            outcome.violations.append(Violation(validation, _message(validation, act), binding.severity))
        elif value is not True:
            outcome.failures.append(Failure(expression, "not a bool", binding.severity))
            return outcome
    return outcome


COST_RULE = "policy.cost-exceeded"


def _failure(expression: Expression, exc: CelError, severity: str) -> Failure:
    """An evaluation failure; one over a cost limit is the policy's own error (rule COST_RULE) whatever
    its failurePolicy: the expression cannot be evaluated within the budget on this input."""
    if exc.kind == "cost":
        return Failure(expression, exc.message, ERROR, COST_RULE)
    return Failure(expression, exc.message, severity)


def _expressions(policy: Policy) -> list[Expression]:
    return [e for _, e in policy.match_conditions] + [e for _, e in policy.variables] + [
        e for v in policy.validations for e in (v.expression, v.message_expression) if e is not None]


_POLICY_MAX_INPUT: dict[int, tuple[Policy, int]] = {}


def policy_max_input(policy: Policy) -> int:
    """The largest input size (as in celcost.max_input_size) at which the estimated costs of all the
    policy's expressions add up to at most RUNTIME_COST_BUDGET; 0 when they exceed it even at the
    assumed input size."""
    cached = _POLICY_MAX_INPUT.get(id(policy))
    if cached is not None and cached[0] is policy:
        return cached[1]
    programs = [e.program for e in _expressions(policy)]
    best, size = 0, celcost.ASSUMED_INPUT_SIZE
    while size <= 1 << 31:
        if sum(p.cost_at(size) for p in programs) > RUNTIME_COST_BUDGET:
            break
        best, size = size, size * 2
    _POLICY_MAX_INPUT[id(policy)] = (policy, best)
    return best


def over_budget(policy: Policy, activations: Activations, params: Any) -> Failure | None:
    """The per-policy total of Kubernetes (RuntimeCELCostBudget) on this object and parameter object:
    a cost failure at the expression whose estimated cost, added to the ones before it (with the
    inputs' real sizes), crosses the budget; None within it. cel-expr-python has no runtime cost
    tracker, so the static estimate stands in for the runtime cost. Answered once per object."""
    key = (id(policy), id(params))
    if key not in activations.budget:
        activations.budget[key] = _over_budget(policy, activations, params)
    return activations.budget[key]


_POLICY_FITS: dict[int, tuple[Policy, bool]] = {}


def policy_fits(policy: Policy) -> bool:
    """Whether the policy's expressions fit RUNTIME_COST_BUDGET at the assumed input size, that is
    whether policy_max_input(policy) is not 0 (one estimate per expression instead of one per
    doubling of the size: what evaluating a small input needs to know)."""
    cached = _POLICY_FITS.get(id(policy))
    if cached is not None and cached[0] is policy:
        return cached[1]
    fits = sum(e.program.cost_at(celcost.ASSUMED_INPUT_SIZE) for e in _expressions(policy)) <= RUNTIME_COST_BUDGET
    _POLICY_FITS[id(policy)] = (policy, fits)
    return fits


def _over_budget(policy: Policy, activations: Activations, params: Any) -> Failure | None:
    if policy_fits(policy) and activations.input_bound(params) <= LARGE_INPUT:  # the usual case
        return None
    limit = policy_max_input(policy)
    if limit:  # within the budget at the assumed sizes: re-checked only for large inputs (cel.LARGE_INPUT)
        limit = max(limit, LARGE_INPUT)
    if activations.input_bound(params) <= limit:
        return None
    size = max(activations.input_size(params), celcost.ASSUMED_INPUT_SIZE)
    if size <= limit:
        return None
    running = 0
    for expression in _expressions(policy):
        running += expression.program.cost_at(size)
        if running > RUNTIME_COST_BUDGET:
            return Failure(expression, f"the estimated cost of this policy's expressions reaches {running:,} here, above "
                           f"the per-policy budget of {RUNTIME_COST_BUDGET:,} (Kubernetes' RuntimeCELCostBudget); "
                           "the policy was not evaluated", ERROR, COST_RULE)
    return None


def evaluate(policy: Policy, binding: Binding, target: Target, params: Any,
             activations: Activations | None = None) -> Outcome:
    """Run `policy` over `target` (already matched by matchConstraints and the binding)."""
    failure_severity = binding.severity if policy.failure_policy == "Fail" else _milder(WARNING, binding.severity)
    activations = activations or Activations(target)
    over = over_budget(policy, activations, params)
    if over is not None:
        return Outcome(True, failures=[over])
    outcome = _evaluate_combined(policy, binding, activations, params)
    if outcome is not None:
        return outcome
    values, act = activations.base(params)
    matched, error = conditions_match(policy.match_conditions, act)
    if not matched:
        if error is None:
            return Outcome(False)
        expression, message = error
        return Outcome(True, failures=[Failure(expression, message, failure_severity)])
    if policy.variables and _fusable(policy):
        outcome = _evaluate_fused(policy, binding, act)
        if not outcome.failures:
            return outcome
        # an error: evaluate the variables one by one, so the failure names the expression at fault
    outcome = Outcome(True)
    broken: dict[str, Failure] = {}
    if policy.variables:
        computed: dict[str, Any] = {}
        scope, bound = act, set[str]()  # `scope` holds the variables in `bound`
        for name, expression in policy.variables:
            uses = expression.uses
            if uses & broken.keys():
                broken[name] = broken[sorted(uses & broken.keys())[0]]
                continue
            if not uses <= bound:
                scope, bound = activation({**values, "variables": dict(computed)}), set(computed)
            try:
                computed[name] = expression.program.evaluate(scope)
            except CelError as exc:
                broken[name] = _failure(expression, exc, failure_severity)
        act = activation({**values, "variables": computed})
    for validation in policy.validations:
        expression = validation.expression
        broken_uses = sorted(expression.uses & broken.keys())
        if broken_uses:
            outcome.failures.append(broken[broken_uses[0]])
            continue
        try:
            value = expression.program.evaluate(act)
        except CelError as exc:
            outcome.failures.append(_failure(expression, exc, failure_severity))
            continue
        if value is False:
            outcome.violations.append(Violation(validation, _message(validation, act), binding.severity))
        elif value is not True:
            outcome.failures.append(Failure(expression, f"must evaluate to a bool, got {type_name(value)}",
                                            failure_severity))
    return outcome
