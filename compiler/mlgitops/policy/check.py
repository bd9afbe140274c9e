"""`mlgitops policy check`: every policy over every matching object, as diagnostics with source mapping.

One job: read the objects as `mlgitops validate` does (validate.documents.collect: rendered
overlays, files, directories, stdin; default overlays/ and argocd/), load the policy directory
(load.load_policies), evaluate each policy under each of its bindings and parameter objects
against each object it matches, and turn the results into diagnostics:
- a violation: rule `policy.<policy-name>`, at the line that produced the value the validation's
  field path names (the policy's `mlgitops.dev/field-paths` annotation; validate.sourcemap.SourceMap:
  the model file line, a hand-written patch, or the file the object was read from), message
  `<Kind> <name> (<env>): <message>`;
- a violation a model waives (waivers.py): `policy.waived` (info) at the waiver, naming the
  policy, the object, the reason and the expiry date. In the cluster a waived object is skipped
  by the policy's binding, which excludes the label `waivers.mlgitops.dev/<policy>` that `mlgitops
  build` puts on it (expand/waivers.py); here an object a binding excludes only because of that
  label is still evaluated, so its violations are reported as waived (or as errors once the
  waiver has expired or when no waiver backs the label);
- a waiver label no waiver of the object's model backs: `policy.waiver-label` at the object;
- an evaluation failure: `policy.eval-error` at the expression in the policy file;
- an expression over a cost limit with this object's and parameters' real sizes (evaluate.py,
  cel.Program.check_inputs): `policy.cost-exceeded` (error) at the expression, not evaluated;
- missing parameters: `policy.params-missing` at the binding's paramRef (the policy is skipped);
- nothing to check (no objects, no policies): `policy.no-objects` / `policy.no-policies`.
Bad input in one policy never stops the others.
"""

from __future__ import annotations

import dataclasses
import datetime
import time
from typing import Any, Callable, Iterator, Sequence

from ..diagnostics import ERROR, INFO, WARNING, Diagnostic, Diagnostics
from ..expand.waivers import waived_policy, waiver_label
from ..validate.documents import Inputs, collect, default_paths, display_path
from ..validate.results import Document
from ..yamlsource import Path
from .cel import (LARGE_INPUT, MEMORY_HEADROOM, CelError, compile_expression, memory_budget, note_bound,
                  value_bound)
from .evaluate import (COST_RULE, Activations, Failure, Outcome, ParamSlots, Violation, evaluate, over_budget,
                       policy_fits)
from .load import Binding, Policy, PolicySet, bindings_of, find_params, load_policies
from .describe import policy_descriptions
from .fields import ALWAYS, policy_fields
from .match import Target, namespace_labels, resource_of, rule_matches, split_api_version
from .waivers import Waivers


@dataclasses.dataclass
class CheckReport:
    diagnostics: Diagnostics
    objects: int = 0
    policies: int = 0
    evaluations: int = 0
    waived: int = 0
    seconds: float = 0.0
    files: list[str] = dataclasses.field(default_factory=list)
    rules: dict[str, str] = dataclasses.field(default_factory=dict)  # policy.<name>: its description (SARIF)

    def summary(self) -> dict:
        return {"objects": self.objects, "policies": self.policies, "evaluations": self.evaluations,
                "waived": self.waived, "seconds": round(self.seconds, 3)}

    def summary_line(self) -> str:
        return (f"{self.objects} objects, {self.policies} policies, {self.evaluations} evaluations: "
                f"{self.diagnostics.count(ERROR)} errors, {self.diagnostics.count(WARNING)} warnings, "
                f"{self.waived} waived ({self.seconds:.2f}s)")


def plan(policy: Policy, target: Target, pset: PolicySet, params_override: dict | None = None, *,
         waived: bool = False) -> Iterator[tuple[Binding, Any, str | None]]:
    """(binding, parameter object, None) for each evaluation the policy needs on this object (several
    with a paramRef selector), or (binding, None, problem) when missing parameters prevent one.
    `waived`: also under a binding that excludes the object only because of its waiver label for
    this policy (policy check reports those violations through the model's waivers); without it,
    what the API server does (the binding skips the object)."""
    if not target.matches(policy.match_constraints):
        return
    params_dir = f"{pset.directory}/params/"
    for binding in bindings_of(policy):
        if not target.matches(binding.match_resources) \
                and not (waived and _excluded_by_waiver(policy, binding, target)):
            continue
        key = (policy.name, binding.name, target.namespace)
        if key not in pset.params_found:
            pset.params_found[key] = find_params(policy, binding, target.namespace, pset.params, params_dir)
        found, problem = pset.params_found[key]
        if params_override is not None and policy.param_kind is not None:
            found, problem = [_merged(p, params_override) for p in found or [None]], None
        if problem is not None:
            yield binding, None, problem
            continue
        for params in found:
            yield binding, params, None


def _excluded_by_waiver(policy: Policy, binding: Binding, target: Target) -> bool:
    """Whether the binding matches the object once its waiver label for this policy is removed."""
    key = waiver_label(policy.name)
    return key in target.labels and target.without_label(key).matches(binding.match_resources)


def run_policy(policy: Policy, target: Target, pset: PolicySet, params_override: dict | None = None,
               activations: Activations | None = None) -> Iterator[tuple[Binding, Outcome | str]]:
    """Each binding's outcome for one object, or the problem (missing parameters) that kept the
    binding from being evaluated, as the API server matches them (a waiver label skips the object).
    `params_override` is merged over the parameter object (policy tests)."""
    for binding, params, problem in plan(policy, target, pset, params_override):
        yield binding, (problem if problem is not None else evaluate(policy, binding, target, params, activations))


def _merged(base: Any, override: dict) -> dict:
    out = dict(base) if isinstance(base, dict) else {}
    for key, value in override.items():
        out[key] = {**out[key], **value} if isinstance(out.get(key), dict) and isinstance(value, dict) else value
    return out


class _Reporter:
    """Outcomes -> diagnostics (source mapping and waivers)."""

    def __init__(self, repo_root: str, waivers: Waivers, diags: Diagnostics) -> None:
        from ..validate.sourcemap import SourceMap

        self.sourcemap = SourceMap(repo_root)
        self.waivers = waivers
        self.diags = diags
        self.waived = 0

    def locate(self, doc: Document, path: Path) -> tuple[str, int, int]:
        if doc.overlay is None and not path:
            return doc.file, doc.line, 1
        return self.sourcemap.locate(doc, path)

    def violation(self, doc: Document, policy: Policy, violation: Violation) -> None:
        waiver = self.waivers.waiver_for(doc, policy.name)
        if waiver is not None:
            self.waived += 1
            self.diags.add(Diagnostic(*waiver.where, "policy.waived", INFO,
                                      f"{doc.label()}: {violation.message} (policy {policy.name} waived by "
                                      f"{waiver.model} until {waiver.expires.isoformat()}: {waiver.reason})"))
            return
        file, line, col = self.locate(doc, violation.validation.field_path)
        self.diags.add(Diagnostic(file, line, col, f"policy.{policy.name}", violation.severity,
                                  f"{doc.label()}: {violation.message}"))

    def failure(self, doc: Document, policy: Policy, failure: Failure) -> None:
        file, line = (doc.origin, doc.origin_line) if doc.origin else (doc.file, doc.line)
        self.diags.add(Diagnostic(*failure.expression.where, failure.rule, failure.severity,
                                  f"{doc.label()}: policy {policy.name}, {failure.expression.what}: "
                                  f"{failure.message} (object at {file}:{line})"))

    def waiver_labels(self, doc: Document, labels: dict) -> None:
        """`policy.waiver-label` for each waiver label of the object that no waiver of its model backs."""
        for key in sorted(k for k in labels if isinstance(k, str)):
            policy = waived_policy(key)
            if policy is None:
                continue
            problem = self.waivers.label_problem(doc, policy, labels[key])
            if problem is not None:
                file, line, col = self.locate(doc, ("metadata", "labels", key))
                self.diags.error(file, line, col, "policy.waiver-label", f"{doc.label()}: {problem}")

    def params_missing(self, policy: Policy, binding: Binding, problem: str) -> None:
        self.diags.error(*(binding.param_ref_where or binding.where), "policy.params-missing",
                         f"{problem}; policy {policy.name} ({policy.file}) was not evaluated")


@dataclasses.dataclass
class _Partial:
    """What evaluating one file's (or overlay's) documents produced: small, so workers send it back."""

    diagnostics: list
    objects: int
    evaluations: int
    waived: int
    files: set
    models: set
    seconds: float = 0.0  # spent evaluating


class _Evaluator:
    """Evaluates batches of documents; forked workers inherit it (policies compiled once)."""

    def __init__(self, repo_root: str, pset: PolicySet, waivers: Waivers, namespaces: dict) -> None:
        self.repo_root = repo_root
        self.pset = pset
        self.waivers = waivers
        self.namespaces = namespaces
        self.known_params = [p.obj for p in pset.params]
        self.slots = ParamSlots(self.known_params)
        self._by_resource: dict[tuple[str, str, str], list[Policy]] = {}
        self._composites: dict[tuple, Any] = {}
        self._fields: dict[tuple[str, str], frozenset[str] | None] = {}
        self._policy_fields = {id(p): policy_fields(p) for p in pset.policies}
        self._plans: dict[tuple, _Work] = {}
        resources = [p.match_constraints for p in pset.policies] + [
            b.match_resources for p in pset.policies for b in p.bindings if b.match_resources]
        # The label keys selectors read (a Namespace object's own labels meet namespaceSelectors too);
        # None when a selector is not well formed (no caching then).
        self._label_keys: tuple[str, ...] | None = _selector_keys(resources)
        self._reads_names = any(isinstance(rule, dict) and rule.get("resourceNames")
                                for r in resources if isinstance(r, dict)
                                for rule in (r.get("resourceRules") or []) + (r.get("excludeResourceRules") or []))

    def keep_fields(self, root: dict) -> frozenset[str] | None:
        """The root fields of an object (so far: apiVersion and kind) that any policy able to match
        it reads (policy/fields.py); None: all of them (unknown kind, a List, a policy reading more)."""
        api_version, kind = root.get("apiVersion"), root.get("kind")
        if not isinstance(api_version, str) or not isinstance(kind, str) or kind.endswith("List"):
            return None
        key = (api_version, kind)
        if key not in self._fields:
            group, version = split_api_version(api_version)
            probe = _Probe(group, version, resource_of(group, kind))
            found = [self._policy_fields[id(p)] for p in self.candidates(probe)]
            known = [fields for fields in found if fields is not None]
            self._fields[key] = ALWAYS.union(*known) if len(known) == len(found) else None
        return self._fields[key]

    def candidates(self, target: Target | _Probe) -> list[Policy]:
        """The policies whose resource rules can match this kind of object (remembered per kind;
        run_policy still checks each fully: selectors, names, bindings)."""
        key = (target.group, target.version, target.resource)
        found = self._by_resource.get(key)
        if found is None:
            found = self._by_resource[key] = [p for p in self.pset.policies if _may_match(p, target)]
        return found

    def work(self, target: Target) -> list[tuple[Policy, Binding, Any, str | None]]:
        """(policy, binding, parameter object, problem) for every evaluation `target` needs."""
        return self._work(target).items

    def _work(self, target: Target) -> "_Work":
        """The evaluations `target` needs. What decides them (kind, namespace; name and labels only
        when some rule or selector reads them) is the cache key: 3,000 models' objects share a
        handful of plans."""
        if self._label_keys is None:
            return self._plan(target)
        labels = tuple(target.labels.get(k, _ABSENT) for k in self._label_keys)
        try:
            hash(labels)
        except TypeError:  # label values that are not strings (bad input): no caching
            return self._plan(target)
        key = (target.group, target.version, target.kind, target.resource, target.namespace,
               target.name if self._reads_names else "", labels)
        found = self._plans.get(key)
        if found is None:
            found = self._plans[key] = self._plan(target)
        return found

    def _plan(self, target: Target) -> "_Work":
        return _Work([(policy, binding, params, problem) for policy in self.candidates(target)
                      for binding, params, problem in plan(policy, target, self.pset, waived=True)], self.slots)

    def __call__(self, docs: list[Document]) -> _Partial:
        started = time.perf_counter()
        diags = Diagnostics()
        reporter = _Reporter(self.repo_root, self.waivers, diags)
        evaluations = 0
        # each file's model first, in document order: the first document's text names it (a finding
        # in a later document would otherwise read the file again for its first line)
        models = {m for m in (self.waivers.model_of(d) for d in docs) if m}
        with memory_budget():
            for doc in docs:
                try:
                    evaluations += self._one(doc, reporter)
                except MemoryError:  # converting the object itself broke the budget (CEL's own: a failure)
                    diags.error(doc.origin or doc.file, doc.origin_line if doc.origin else doc.line, 1, COST_RULE,
                                f"{doc.label()}: evaluating the policies on this object needed more than the "
                                f"{MEMORY_HEADROOM // 2**20} MiB memory budget of an evaluation; it was not checked")
        return _Partial(list(diags), len(docs), evaluations, reporter.waived, {d.file for d in docs}, models,
                        time.perf_counter() - started)

    def _one(self, doc: Document, reporter: "_Reporter") -> int:
        """Every policy on one object; the number of evaluations."""
        obj = doc.obj
        keep = self.keep_fields(obj)
        if keep is not None and not keep.issuperset(obj):
            # the root fields no policy that can match it reads: never converted for CEL (a rendered
            # object is whole; one read from a file was parsed without them already)
            obj = {key: value for key, value in obj.items() if key in keep}
        target = Target(obj, self.namespaces)
        reporter.waiver_labels(doc, target.labels)
        if doc.text is not None:  # the YAML text of exactly this object: a bound of its sizes (cel.note_bound)
            note_bound(obj, len(doc.text))
        work = self._work(target)
        activations = Activations(target, slots=self.slots, variables=work.variables)
        passed = work.passed(activations, self._composites)
        if passed is None:
            self._prefetch(work.items, activations)
            passed = frozenset()
        evaluations = 0
        for index, (policy, binding, params, problem) in enumerate(work.items):
            if problem is not None:
                reporter.params_missing(policy, binding, problem)
                continue
            if index in passed:  # every validation true, or a matchCondition false: nothing to report
                evaluations += 1
                continue
            outcome = evaluate(policy, binding, target, params, activations)
            evaluations += 1
            for violation in outcome.violations:
                reporter.violation(doc, policy, violation)
            for failure in outcome.failures:
                reporter.failure(doc, policy, failure)
        return evaluations

    def _prefetch(self, work: list, activations: Activations) -> None:
        """Every combined policy program this object needs, in one CEL evaluation (one call instead of
        one per policy); the results wait in `activations.prefetched`. Any error leaves it empty and
        each policy is evaluated on its own."""
        units = []
        for policy, _binding, params, problem in work:
            shared = activations.shared(params) if problem is None and policy.combined is not None else None
            if shared is not None and over_budget(policy, activations, params) is None:
                units.append((policy, shared[0]))
        if len(units) < 2:
            return
        key = tuple((policy.name, params_key) for policy, params_key in units)
        program = _composite(units, self._composites)
        if program is None:
            return
        try:
            values = program.evaluate(activations.shared_activation())
        except CelError:
            return
        if isinstance(values, list) and len(values) == len(units):
            activations.prefetched = {unit: value for unit, value in zip(key, values)}


def _composite(units: Sequence[tuple[Policy, str | None]], cache: dict[tuple, Any]) -> Any:
    """One program whose value lists the combined value of each (policy, params key); None when it
    does not compile. Remembered by the units' names."""
    key = tuple((policy.name, params_key) for policy, params_key in units)
    if key not in cache:
        text = "[" + ", ".join(f"({policy.combined_text(params_key)})" for policy, params_key in units) + "]"
        try:
            cache[key] = compile_expression(text, what="policies", check_cost=False)
        except CelError:
            cache[key] = None
    return cache[key]


class _Work:
    """The evaluations one plan of objects needs (`items`: policy, binding, parameter object,
    problem), and what lets most objects through in one evaluation (`passed`)."""

    def __init__(self, items: list[tuple[Policy, Binding, Any, str | None]], slots: ParamSlots) -> None:
        self.items = items
        self.uses = 0  # objects this plan was asked about (passed)
        # the parameter objects these evaluations use, as the shared activation binds them
        used = {id(params) for _policy, _binding, params, problem in items if problem is None and params is not None}
        self.variables = {key: params for key, params in slots.variables.items() if id(params) in used}
        # (index in items, policy, params key) of every evaluation a combined program can answer when
        # the object is within the cost budget without a closer look (evaluate.over_budget: the
        # policy's estimate fits at the assumed input sizes, inputs below cel.LARGE_INPUT); None when
        # some evaluation cannot be answered that way (then `passed` leaves every object to the
        # evaluation one policy at a time)
        self.units: list[tuple[int, Policy, str | None]] | None = []
        for index, (policy, _binding, params, problem) in enumerate(items):
            if problem is not None:
                continue
            if policy.combined is None or (params is not None and id(params) not in slots.keys) \
                    or not policy_fits(policy) or value_bound(params) > LARGE_INPUT:
                self.units = None
                break
            self.units.append((index, policy, slots.keys[id(params)] if params is not None else None))

    def passed(self, activations: Activations, composites: dict[tuple, Any]) -> frozenset[int] | None:
        """The indexes in `items` whose evaluation reports nothing on this object (all validations
        true, or a matchCondition false), from one evaluation of every combined program; None when
        that cannot tell (the caller then evaluates as usual, which gives the same outcomes)."""
        units = self.units
        if not units or value_bound(activations.target.obj) > LARGE_INPUT:
            return None
        self.uses += 1
        try:
            if len(units) == 1 or self.uses < COMPOSITE_AFTER:
                # each policy's own program: compiling a composite costs more than a few evaluations
                programs = [policy.combined_program(key) for _index, policy, key in units]
                if any(program is None for program in programs):
                    return None
                values = [program.evaluate(activations.shared_activation()) for program in programs]  # type: ignore[union-attr]
            else:
                program = _composite([(policy, key) for _index, policy, key in units], composites)
                if program is None:
                    return None
                values = program.evaluate(activations.shared_activation())
        except CelError:
            return None
        if not isinstance(values, list) or len(values) != len(units):
            return None
        passed = set()
        prefetched = activations.prefetched
        for (index, policy, key), value in zip(units, values):
            prefetched[(policy.name, key)] = value
            if value == [] or (isinstance(value, list) and len(value) == len(policy.validations)
                               and all(v is True for v in value)):
                passed.add(index)
        return frozenset(passed)


_ABSENT = object()
# A plan's policies are answered by one composite program from its COMPOSITE_AFTER-th object on
# (compiling one costs about as much as ten evaluations; a one-model check meets most plans once).
COMPOSITE_AFTER = 3


def _selector_keys(resources: list) -> tuple[str, ...] | None:
    """Every label key an objectSelector or namespaceSelector of these MatchResources names."""
    keys: set[str] = set()
    for r in resources:
        if not isinstance(r, dict):
            continue
        for name in ("objectSelector", "namespaceSelector"):
            selector = r.get(name)
            if selector is None:
                continue
            if not isinstance(selector, dict):
                return None
            match_labels = selector.get("matchLabels") or {}
            expressions = selector.get("matchExpressions") or []
            if not isinstance(match_labels, dict) or not isinstance(expressions, list) \
                    or not all(isinstance(e, dict) and isinstance(e.get("key"), str) for e in expressions):
                return None
            keys.update(str(k) for k in match_labels)
            keys.update(e["key"] for e in expressions)
    return tuple(sorted(keys))


@dataclasses.dataclass(frozen=True)
class _Probe:
    """What _may_match reads of a Target, for a kind rather than an object (no name: rules that
    name objects always may match)."""

    group: str
    version: str
    resource: str
    name: str = ""


def _may_match(policy: Policy, target: Target | _Probe) -> bool:
    """Whether the policy's resource rules (not its selectors, which depend on the object) match the
    target's group, version and resource; rules that name objects always may."""
    rules = policy.match_constraints.get("resourceRules") or []
    if any(isinstance(r, dict) and r.get("resourceNames") for r in rules):
        return True
    return any(rule_matches(rule, target.group, target.version, target.resource, target.name) for rule in rules)


def _params_keys(policy: Policy, pset: PolicySet, slots: ParamSlots) -> list[str | None]:
    """The `variables` keys (ParamSlots) a combined program of the policy may read its parameters
    under, whatever the object's namespace: [None] without paramKind, else one per parameter object
    of the paramKind (and the paramRef's namespace and name, when it has them)."""
    if policy.param_kind is None:
        return [None]
    keys: list[str | None] = []
    for binding in bindings_of(policy):
        ref = binding.param_ref
        if not isinstance(ref, dict):
            continue
        namespace, name = ref.get("namespace"), ref.get("name")
        for param in pset.params:
            api_version, kind, ns, named = param.key
            if (api_version, kind) != policy.param_kind or isinstance(namespace, str) and namespace and ns != namespace \
                    or isinstance(name, str) and named != name:
                continue
            key = slots.keys.get(id(param.obj))
            if key not in keys:
                keys.append(key)
    return keys


def _needs_all_namespaces(pset: PolicySet) -> bool:
    """Whether a policy looks at namespace labels, which Namespace objects anywhere in the input set:
    then every document is read before any is evaluated (no per-file parallelism)."""
    for policy in pset.policies:
        if policy.match_constraints.get("namespaceSelector") or any(
                b.match_resources and b.match_resources.get("namespaceSelector") for b in policy.bindings):
            return True
        expressions = [e for _, e in policy.match_conditions + policy.variables]
        expressions += [e for v in policy.validations for e in (v.expression, v.message_expression) if e]
        if any("namespaceObject" in e.text for e in expressions):
            return True
    return False


class Checker:
    """`policy check` in three steps: the policies loaded (here), batches of documents evaluated
    (`evaluator()`, which forked workers inherit, so each overlay is checked where it was rendered),
    and the partials put together (`report`)."""

    def __init__(self, repo_root: str, policies_dir: str, *, day: datetime.date | None = None,
                 schema_locations: Sequence[str] = (), type_check: bool = True) -> None:
        from .waivers import today

        started = time.perf_counter()
        self.repo_root = repo_root
        self.report = CheckReport(Diagnostics())
        self.pset = load_policies(policies_dir, repo_root, schema_locations=schema_locations, type_check=type_check)
        self.report.diagnostics.extend(self.pset.diagnostics)
        self.report.policies = len(self.pset.policies)
        self.report.rules = policy_descriptions(self.pset.policies)
        self.waivers = Waivers(repo_root, self.pset.names, day or today())
        # A policy that reads namespace labels needs every Namespace object of the input first.
        self.needs_all_documents = _needs_all_namespaces(self.pset)
        self.load_seconds = time.perf_counter() - started

    def prepare(self, go_on: Callable[[], bool]) -> None:
        """What evaluating documents does at first use, done ahead while `go_on()` is true (the gate:
        while the changed models are rendered in another process, which this one would otherwise
        sit waiting for): the modules findings are located with, and the combined program of each
        policy (Policy.combined_program) for each parameter object of its kind. Only when things
        are computed changes, never what: a program that is never used costs only idle time."""
        if not go_on():
            return
        from ..validate import sourcemap  # noqa: F401 - what _Reporter locates findings with

        slots = ParamSlots([p.obj for p in self.pset.params])
        for policy in self.pset.policies:
            if policy.combined is None or not policy_fits(policy):  # (as _Work: no combined program then)
                continue
            for key in _params_keys(policy, self.pset, slots):
                if not go_on():
                    return
                policy.combined_program(key)

    def evaluator(self, documents: Sequence[Document] = ()) -> _Evaluator:
        """What evaluates a batch of documents, with the namespaces (and their labels) of `documents`."""
        return _Evaluator(self.repo_root, self.pset, self.waivers, namespace_labels([d.obj for d in documents]))

    def finish(self, partials: list[_Partial], inputs: Inputs, paths: list[str]) -> CheckReport:
        """The report; its `seconds` are those spent loading the policies, evaluating (in every
        process, summed) and here: what the policy check cost, whatever else ran meanwhile."""
        started = time.perf_counter()
        report, diags = self.report, self.report.diagnostics
        diags.extend(inputs.diagnostics)
        files, models = set(), set()
        for partial in partials:
            diags.extend(partial.diagnostics)
            report.objects += partial.objects
            report.evaluations += partial.evaluations
            report.waived += partial.waived
            files |= partial.files
            models |= partial.models
        report.files = sorted(files)
        for model in sorted(models):
            self.waivers.of_model(model)
        diags.extend(self.waivers.diagnostics)
        repo_root = self.repo_root
        where = display_path(paths[0], repo_root) if paths and paths[0] != "-" else "<stdin>" if paths else "."
        if not report.objects and not diags.has_errors:
            diags.error(where, 0, 0, "policy.no-objects", "no Kubernetes objects found: no policy was evaluated")
        if not self.pset.names and not diags.has_errors:
            diags.error(self.pset.directory, 0, 0, "policy.no-policies",
                        f"no ValidatingAdmissionPolicy in {self.pset.directory}: nothing was checked")
        report.seconds = self.load_seconds + sum(p.seconds for p in partials) + time.perf_counter() - started
        return report


def check(paths: list[str], repo_root: str, policies_dir: str, *, stdin: Any = None,
          day: datetime.date | None = None, inputs: Inputs | None = None,
          schema_locations: Sequence[str] = ()) -> CheckReport:
    """Run every policy in `policies_dir` over the objects in `paths` (default overlays/, argocd/)."""
    started = time.perf_counter()
    checker = Checker(repo_root, policies_dir, day=day, schema_locations=schema_locations)
    sources = paths or default_paths(repo_root)
    if inputs is None and not checker.needs_all_documents:
        evaluator = checker.evaluator()
        inputs = collect(sources, repo_root, stdin=stdin, on_documents=evaluator, keep_fields=evaluator.keep_fields)
        partials = inputs.results
    else:  # documents already read (mlgitops check reads them once for every stage), or needed all at once
        if inputs is None:
            inputs = collect(sources, repo_root, stdin=stdin)
        partials = [checker.evaluator(inputs.documents)(inputs.documents)]
    report = checker.finish(partials, inputs, paths)
    report.seconds = time.perf_counter() - started  # reading the input included
    return report
