"""Read a policy directory: ValidatingAdmissionPolicies, their bindings and parameters, compiled once.

One job: turn `policies/*.yaml` (each a `ValidatingAdmissionPolicy`, admissionregistration.k8s.io/v1,
usually followed by its `ValidatingAdmissionPolicyBinding` in the same file; a binding may live in
any policy file, it is found by `spec.policyName`) and `policies/params/*.yaml` (the parameter
objects, e.g. ConfigMaps) into `Policy` values whose CEL expressions are compiled exactly once,
plus diagnostics for whatever is wrong, at the file, line and column of the offending field.
`policies/tests/` and files that are not YAML are ignored.

Rules: `policy.invalid` (a malformed document: no name, no validations, a validation without an
expression, an unknown failurePolicy or validationAction, a bad fieldPath, a binding naming no
policy), `policy.syntax` (a CEL expression that does not parse or type-check), `policy.cost` (its
estimated cost is over Kubernetes' per-expression limit), `policy.unsupported` (a feature that
cannot be evaluated offline, such as `authorizer`). A policy with any of these is left out;
the other policies still load. A policy without a binding gets the implicit action Deny.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
from typing import Any

from .. import contain
from ..diagnostics import ERROR, INFO, WARNING, Diagnostics
from ..validate.documents import display_path, split_documents
from ..yamlsource import Path, SourceDocument, load_yaml
from .cel import CelError, Program, compile_expression
from .fuse import fuse
from .match import selector_matches

POLICY_API = "admissionregistration.k8s.io/v1"
POLICY_KIND = "ValidatingAdmissionPolicy"
BINDING_KIND = "ValidatingAdmissionPolicyBinding"
PARAMS_DIR = "params"
TESTS_DIR = "tests"
ACTION_SEVERITY = {"Deny": ERROR, "Warn": WARNING, "Audit": INFO}
_SEVERITY_ORDER = (ERROR, WARNING, INFO)
_COMPILE_RULES = {"syntax": "policy.syntax", "type": "policy.syntax", "cost": "policy.cost",
                  "unsupported": "policy.unsupported", "runtime": "policy.syntax"}
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")
_USES_VARIABLE = re.compile(r"\bvariables\s*(?:\.\s*([A-Za-z_][A-Za-z0-9_]*)|\[\s*['\"](\w+)['\"]\s*\])")
_AUTHORIZER = re.compile(r"(?<![\w.'\"])authorizer\b")
_FIELD_TOKEN = re.compile(r"""(\.)?([A-Za-z_$][A-Za-z0-9_$-]*)|\[\s*(\d+)\s*\]|\[\s*'((?:[^'\\]|\\.)*)'\s*\]"""
                          r"""|\[\s*"((?:[^"\\]|\\.)*)"\s*\]""")
_BLOCK_INDICATOR = re.compile(r"^[|>][-+0-9]*\s*(#.*)?$")

Location = tuple[str, int, int]


@dataclasses.dataclass
class Source:
    """One YAML document of a policy or params file, with positions in the whole file."""

    file: str  # display path
    doc: SourceDocument
    offset: int  # lines before the document in the file
    lines: list[str]  # the whole file's lines (to find expressions inside block scalars)

    def at(self, path: Path, *, key: bool = False) -> Location:
        line, col = self.doc.position(path, key=key)
        return self.file, self.offset + line, col

    def at_offset(self, path: Path, text: str, offset: int | None) -> Location:
        """Where character `offset` of the expression `text` (the value at `path`) is in the file."""
        file, line, col = self.at(path)
        if offset is None or not 0 <= offset <= len(text):
            return file, line, col
        raw = self.lines[line - 1][col - 1:] if 0 < line <= len(self.lines) else ""
        before = text[:offset]
        newlines = before.count("\n")
        if _BLOCK_INDICATOR.match(raw.strip()):
            first = line + 1 + newlines
            content = self.lines[line] if line < len(self.lines) else ""
            indent = len(content) - len(content.lstrip(" "))
            return file, first, indent + len(before) - (before.rfind("\n") + 1) + 1
        if newlines == 0 and raw.startswith(("'", '"')) and raw[1:1 + len(text)] == text:
            return file, line, col + 1 + offset
        if newlines == 0 and raw.startswith(text):
            return file, line, col + offset
        return file, line, col


@dataclasses.dataclass
class Expression:
    text: str
    program: Program
    where: Location  # the expression's value in the policy file
    what: str  # e.g. "validations[0].expression"
    uses: frozenset[str] = frozenset()  # the variables it reads (`variables.<name>`)
    fused: Program | None = None  # with those variables inlined (fuse.py); None: evaluate them first


@dataclasses.dataclass
class Validation:
    index: int
    expression: Expression
    message: str
    message_expression: Expression | None
    reason: str
    field_path: Path  # JSON path inside the object ("spec", "containers", 0, "image"); () = the object


@dataclasses.dataclass
class Binding:
    name: str
    where: Location
    severity: str  # the most severe of validationActions (Deny error, Warn warning, Audit info)
    param_ref: dict | None
    param_ref_where: Location | None
    match_resources: dict | None


@dataclasses.dataclass
class Policy:
    name: str
    where: Location  # the policy document (its metadata.name)
    failure_policy: str  # Fail | Ignore
    match_constraints: dict
    param_kind: tuple[str, str] | None  # (apiVersion, kind)
    match_conditions: list[tuple[str, Expression]]
    variables: list[tuple[str, Expression]]
    validations: list[Validation]
    bindings: list[Binding] = dataclasses.field(default_factory=list)
    # matchConditions and every validation as one expression, variables inlined (fuse.py): a list
    # of the validations' values, or [] when a matchCondition is false
    combined: str | None = None
    _programs: dict = dataclasses.field(default_factory=dict, repr=False, compare=False)

    def combined_text(self, params_key: str | None) -> str:
        """`combined`, reading `params` from `variables[params_key]` when there is a key (only for a
        policy that has one)."""
        assert self.combined is not None, "combined_text of a policy with no combined expression"
        return self.combined if params_key is None else \
            f"cel.bind(params, variables['{params_key}'], ({self.combined}))"

    def combined_program(self, params_key: str | None) -> Program | None:
        """`combined` reading `params` from `variables[params_key]` (one activation per object serves
        every policy and parameter object); None when it does not compile (e.g. nesting too deep)."""
        if self.combined is None:
            return None
        if params_key not in self._programs:
            text = self.combined_text(params_key)
            try:
                self._programs[params_key] = compile_expression(text, what="validations", check_cost=False)
            except CelError:
                self._programs[params_key] = None
        return self._programs[params_key]

    @property
    def file(self) -> str:
        return self.where[0]


@dataclasses.dataclass
class ParamObject:
    obj: dict
    where: Location

    @functools.cached_property
    def key(self) -> tuple[str, str, str, str]:
        meta = m if isinstance(m := self.obj.get("metadata"), dict) else {}
        return (str(self.obj.get("apiVersion", "")), str(self.obj.get("kind", "")),
                str(meta.get("namespace") or ""), str(meta.get("name") or ""))

    @property
    def labels(self) -> dict:
        meta = self.obj.get("metadata")
        labels = meta.get("labels") if isinstance(meta, dict) else None
        return labels if isinstance(labels, dict) else {}


@dataclasses.dataclass
class PolicySet:
    policies: list[Policy]  # the policies that loaded and compiled, in file order
    names: set[str]  # every policy name declared, including policies left out for errors
    params: list[ParamObject]
    diagnostics: Diagnostics
    directory: str  # display path of the policy directory
    # (policy name, binding name, namespace) -> find_params' answer, which depends on nothing else
    params_found: dict = dataclasses.field(default_factory=dict, repr=False, compare=False)

    def get(self, name: str) -> Policy | None:
        return next((p for p in self.policies if p.name == name), None)


def _fuse_variables(variables: list[tuple[str, Expression]], validations: list[Validation]) -> None:
    """Give every expression that reads variables a program with them inlined (see fuse.py)."""
    texts = [(name, expression.text) for name, expression in variables]
    for validation in validations:
        for expression in (validation.expression, validation.message_expression):
            if expression is None or not expression.uses:
                continue
            try:
                expression.fused = compile_expression(fuse(expression.text, texts), what=expression.what,
                                                      check_cost=False)
            except CelError:
                expression.fused = None  # e.g. over the cost limit once inlined: evaluate variables first


def _combine(conditions: list[tuple[str, Expression]], variables: list[tuple[str, Expression]],
             validations: list[Validation]) -> str | None:
    """One expression for the whole policy: `(c1) && (c2) ? [v1, v2, ...] : []`, variables inlined.

    CEL's `&&` is false when any side is false and an error only when none is: Kubernetes' rule
    for matchConditions. Any error makes the caller evaluate the parts one by one."""
    if not validations:
        return None
    text = "[" + ", ".join(f"({v.expression.text})" for v in validations) + "]"
    if conditions:
        text = "(" + " && ".join(f"({c.text})" for _, c in conditions) + f") ? {text} : []"
    return fuse(text, [(n, e.text) for n, e in variables])


def parse_field_path(text: str) -> Path | None:
    """`spec.containers[0].image` or `metadata.labels['team']` as a JSON path; None if malformed."""
    out: list = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _FIELD_TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            return None
        dot, name, index, single, double = match.groups()
        if name is not None:
            if bool(dot) != bool(out):  # a dot between names, none before the first
                return None
            out.append(name)
        elif index is not None:
            out.append(int(index))
        else:
            quoted = single if single is not None else double
            out.append(re.sub(r"\\(.)", r"\1", quoted))
        pos = match.end()
    return tuple(out) if out else None


def read_sources(path: str, shown: str, diags: Diagnostics, *, root: str | None = None,
                 kind: str = "policy") -> list[Source]:
    """Every YAML document of a file with positions; syntax errors become diagnostics. The file is
    read through contain (its real path under `root`, a regular file, at most the limit of `kind`)."""
    text = contain.read_reported(root, path, kind, diags, shown, unreadable="policy.invalid")
    if text is None:
        return []
    lines = text.split("\n")
    out = []
    for offset, chunk in split_documents(text):
        doc, problems = load_yaml(chunk, shown)
        for p in problems:
            diags.add(dataclasses.replace(p, line=p.line + offset))
        if doc is not None and not problems and doc.data is not None:
            out.append(Source(shown, doc, offset, lines))
    return out


def _yaml_files(directory: str, root: str | None = None) -> list[str]:
    """The YAML files of `directory` (subdirectories left out; FIFOs and the like are kept, so that
    reading them reports them). ContainmentError when `directory` leads outside `root`."""
    names = contain.list_dir(root or directory, directory)
    real = os.path.realpath(directory)
    return [os.path.join(directory, n) for n in names if not os.path.isdir(os.path.join(real, n))]


class _Compiler:
    """Checks and compiles one policy document, reporting into `diags`."""

    def __init__(self, src: Source, diags: Diagnostics) -> None:
        self.src = src
        self.diags = diags
        self.ok = True

    def invalid(self, path: Path, message: str, *, key: bool = False) -> None:
        self.ok = False
        self.diags.error(*self.src.at(path, key=key), "policy.invalid", message)

    def expression(self, path: Path, what: str, variables: frozenset[str]) -> Expression | None:
        text = _get(self.src.doc.data, path)
        if not isinstance(text, str) or not text.strip():
            self.invalid(path, f"{what}: an expression (a non-empty string) is required")
            return None
        match = _AUTHORIZER.search(text)
        if match:
            self.ok = False
            self.diags.error(*self.src.at_offset(path, text, match.start()), "policy.unsupported",
                             f"{what}: 'authorizer' checks cannot run offline (no API server to ask); "
                             "mlgitops does not support them")
            return None
        try:
            program = compile_expression(text, variables=variables, what=what)
        except CelError as exc:
            self.ok = False
            self.diags.error(*self.src.at_offset(path, text, exc.offset), _COMPILE_RULES.get(exc.kind, "policy.syntax"),
                             f"{what}: {exc.message}")
            return None
        return Expression(text, program, self.src.at(path), what, frozenset(a or b for a, b in _USES_VARIABLE.findall(text)))

    def policy(self) -> Policy | None:
        data = self.src.doc.data
        name = _get(data, ("metadata", "name"))
        spec = data.get("spec")
        if not isinstance(spec, dict):
            self.invalid(("spec",), f"{POLICY_KIND} {name}: spec must be a mapping")
            return None
        failure = spec.get("failurePolicy", "Fail")
        if failure not in ("Fail", "Ignore"):
            self.invalid(("spec", "failurePolicy"), f"failurePolicy: '{failure}' is not Fail or Ignore")
        constraints = spec.get("matchConstraints")
        if not isinstance(constraints, dict) or not isinstance(constraints.get("resourceRules"), list) \
                or not constraints["resourceRules"]:
            self.invalid(("spec", "matchConstraints") if "matchConstraints" in spec else ("spec",),
                         "matchConstraints.resourceRules is required (which objects the policy applies to)",
                         key=True)
            constraints = {}
        param_kind = None
        if "paramKind" in spec:
            pk = spec["paramKind"]
            if not isinstance(pk, dict) or not isinstance(pk.get("apiVersion"), str) \
                    or not isinstance(pk.get("kind"), str):
                self.invalid(("spec", "paramKind"), "paramKind needs apiVersion and kind", key=True)
            else:
                param_kind = (pk["apiVersion"], pk["kind"])
        conditions = self._named(spec, "matchConditions", frozenset())
        variables = self._named(spec, "variables", frozenset())
        names = frozenset(n for n, _ in variables)
        validations = self._validations(spec, names)
        if not self.ok:
            return None
        _fuse_variables(variables, validations)
        return Policy(name, self.src.at(("metadata", "name")), failure, constraints, param_kind,
                      conditions, variables, validations, combined=_combine(conditions, variables, validations))

    def _named(self, spec: dict, field: str, known: frozenset[str]) -> list[tuple[str, Expression]]:
        """matchConditions or variables: a list of {name, expression}; a variable sees the earlier ones."""
        items = spec.get(field, [])
        if not isinstance(items, list):
            self.invalid(("spec", field), f"{field} must be a list", key=True)
            return []
        out: list[tuple[str, Expression]] = []
        seen: set[str] = set()
        for i, item in enumerate(items):
            path = ("spec", field, i)
            name = item.get("name") if isinstance(item, dict) else None
            if not isinstance(name, str) or not _IDENTIFIER.match(name) and field == "variables":
                self.invalid(path, f"{field}[{i}].name: a name is required"
                             + (" (a CEL identifier)" if field == "variables" else ""))
                continue
            if name in seen:
                self.invalid(path + ("name",), f"{field}[{i}].name: '{name}' is used twice")
                continue
            seen.add(name)
            scope = frozenset(seen - {name}) if field == "variables" else known
            compiled = self.expression(path + ("expression",), f"{field}[{i}] ({name})", scope)
            if compiled is not None:
                out.append((name, compiled))
        return out

    def _validations(self, spec: dict, variables: frozenset[str]) -> list[Validation]:
        items = spec.get("validations", [])
        if not isinstance(items, list) or not items and not spec.get("auditAnnotations"):
            self.invalid(("spec", "validations") if "validations" in spec else ("spec",),
                         "validations: at least one validation is required", key=True)
            return []
        out = []
        for i, item in enumerate(items):
            path = ("spec", "validations", i)
            if not isinstance(item, dict):
                self.invalid(path, f"validations[{i}] must be a mapping with an expression")
                continue
            expression = self.expression(path + ("expression",), f"validations[{i}].expression", variables)
            message_expression = None
            if "messageExpression" in item:
                message_expression = self.expression(path + ("messageExpression",),
                                                     f"validations[{i}].messageExpression", variables)
            message = item.get("message", "")
            if not isinstance(message, str):
                self.invalid(path + ("message",), f"validations[{i}].message must be a string")
            field_path: Path | None = ()
            if "fieldPath" in item:
                raw = item["fieldPath"]
                field_path = parse_field_path(raw) if isinstance(raw, str) else None
                if field_path is None:
                    self.invalid(path + ("fieldPath",), f"validations[{i}].fieldPath: {raw!r} is not a field "
                                 "path such as spec.containers[0].image or metadata.labels['team']")
            if expression is not None and field_path is not None and isinstance(message, str):
                out.append(Validation(i, expression, message, message_expression,
                                      str(item.get("reason", "Invalid")), field_path))
        return out


def _get(data: Any, path: Path) -> Any:
    for part in path:
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            return None
    return data


def _binding(src: Source, diags: Diagnostics) -> tuple[str, Binding] | None:
    data = src.doc.data
    spec = data.get("spec")
    name = str(_get(data, ("metadata", "name")) or "")
    if not isinstance(spec, dict) or not isinstance(spec.get("policyName"), str):
        diags.error(*src.at(("spec",)), "policy.invalid", f"{BINDING_KIND} {name}: spec.policyName is required")
        return None
    actions = spec.get("validationActions")
    if not isinstance(actions, list) or not actions or any(a not in ACTION_SEVERITY for a in actions):
        diags.error(*src.at(("spec", "validationActions")), "policy.invalid",
                    f"{BINDING_KIND} {name}: validationActions must list Deny, Warn or Audit")
        return None
    if "Deny" in actions and "Warn" in actions:
        diags.error(*src.at(("spec", "validationActions")), "policy.invalid",
                    f"{BINDING_KIND} {name}: Deny and Warn may not be used together (Kubernetes rejects it)")
        return None
    severity = min((ACTION_SEVERITY[a] for a in actions), key=_SEVERITY_ORDER.index)
    ref = spec.get("paramRef")
    if ref is not None:
        ok = isinstance(ref, dict) and (isinstance(ref.get("name"), str)) != isinstance(ref.get("selector"), dict) \
            and ref.get("parameterNotFoundAction", "Deny") in ("Deny", "Allow")
        if not ok:
            diags.error(*src.at(("spec", "paramRef"), key=True), "policy.invalid",
                        f"{BINDING_KIND} {name}: paramRef needs either name or selector, and "
                        "parameterNotFoundAction Deny or Allow")
            return None
    match = spec.get("matchResources")
    return spec["policyName"], Binding(name, src.at(("metadata", "name")), severity, ref,
                                       src.at(("spec", "paramRef"), key=True) if ref is not None else None,
                                       match if isinstance(match, dict) else None)


def load_policies(directory: str, repo_root: str) -> PolicySet:
    """Every policy in `directory` with its bindings, and the parameter objects in `directory`/params."""
    diags = Diagnostics()
    shown_dir = display_path(directory, repo_root)
    result = PolicySet([], set(), [], diags, shown_dir)
    from ..config import CONFIG_FILE, load_config

    if os.path.lexists(os.path.join(repo_root, CONFIG_FILE)):
        load_config(repo_root, Diagnostics())  # applies its `limits:` (its problems are build's findings)
    if not os.path.isdir(directory):
        diags.error(shown_dir, 0, 0, "usage.policies", "no such policy directory")
        return result
    root = contain.trusted_root(repo_root, directory)
    bindings: list[tuple[str, Binding]] = []
    try:
        files = _yaml_files(directory, root)
    except contain.ContainmentError as exc:
        diags.add(exc.diagnostic(shown_dir))
        return result
    for path in files:
        for src in read_sources(path, display_path(path, repo_root), diags, root=root):
            data = src.doc.data
            kind = data.get("kind") if isinstance(data, dict) else None
            if kind == POLICY_KIND:
                name = _get(data, ("metadata", "name"))
                if not isinstance(name, str) or not name:
                    diags.error(*src.at(("metadata",)), "policy.invalid", f"{POLICY_KIND}: metadata.name is required")
                    continue
                if name in result.names:
                    diags.error(*src.at(("metadata", "name")), "policy.invalid",
                                f"{POLICY_KIND} {name} is declared twice")
                    continue
                result.names.add(name)
                if data.get("apiVersion") != POLICY_API:
                    diags.error(*src.at(("apiVersion",)), "policy.invalid",
                                f"{POLICY_KIND} {name}: apiVersion must be {POLICY_API}")
                    continue
                policy = _Compiler(src, diags).policy()
                if policy is not None:
                    result.policies.append(policy)
            elif kind == BINDING_KIND:
                found = _binding(src, diags)
                if found is not None:
                    bindings.append(found)
            else:
                diags.error(*src.at(("kind",)), "policy.invalid",
                            f"expected a {POLICY_KIND} or {BINDING_KIND}, got kind {kind!r}")
    for policy_name, binding in bindings:
        policy = result.get(policy_name)
        if policy is not None:
            policy.bindings.append(binding)
        elif policy_name not in result.names:
            diags.error(*binding.where, "policy.invalid",
                        f"{BINDING_KIND} {binding.name}: no policy named '{policy_name}' in {shown_dir}")
    params_dir = os.path.join(directory, PARAMS_DIR)
    try:
        params_files = _yaml_files(params_dir, root)
    except contain.ContainmentError as exc:
        diags.add(exc.diagnostic(display_path(params_dir, repo_root)))
        params_files = []
    for path in params_files:
        for src in read_sources(path, display_path(path, repo_root), diags, root=root):
            if isinstance(src.doc.data, dict):
                result.params.append(ParamObject(src.doc.data, src.at(())))
    return result


def bindings_of(policy: Policy) -> list[Binding]:
    """The policy's bindings; without one, an implicit binding with validationActions [Deny]."""
    return policy.bindings or [Binding("(no binding: Deny)", policy.where, ERROR, None, None, None)]


def find_params(policy: Policy, binding: Binding, namespace: str, params: list[ParamObject], params_dir: str
                ) -> tuple[list[Any], str | None]:
    """(parameter objects to evaluate with, problem). Without paramKind: ([None], None). A missing
    object is a problem under parameterNotFoundAction Deny and nothing to evaluate under Allow.
    paramRef.namespace defaults to the object's namespace, as in Kubernetes."""
    if policy.param_kind is None:
        return [None], None
    api_version, kind = policy.param_kind
    ref = binding.param_ref
    if ref is None:
        return [], (f"policy {policy.name} has paramKind {api_version} {kind} but binding {binding.name} "
                    "has no paramRef naming its parameters")
    ns = ref.get("namespace") or namespace
    candidates = [p for p in params if p.key[:3] == (api_version, kind, ns)]
    if isinstance(ref.get("name"), str):
        found = [p for p in candidates if p.key[3] == ref["name"]]
        wanted = f"{kind} {ns + '/' if ns else ''}{ref['name']}"
    else:
        found = [p for p in candidates if selector_matches(ref.get("selector"), p.labels)]
        wanted = f"a {kind}{' in ' + ns if ns else ''} matching the paramRef selector"
    if found:
        return [p.obj for p in found], None
    if ref.get("parameterNotFoundAction", "Deny") == "Allow":
        return [], None
    return [], f"parameters of policy {policy.name} not found: no {wanted} ({api_version}) in {params_dir}"
