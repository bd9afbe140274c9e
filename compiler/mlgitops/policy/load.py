"""Read a policy directory: ValidatingAdmissionPolicies, their bindings and parameters, compiled once.

One job: turn `policies/*.yaml` (each a `ValidatingAdmissionPolicy`, admissionregistration.k8s.io/v1,
usually followed by its `ValidatingAdmissionPolicyBinding` in the same file; a binding may live in
any policy file, it is found by `spec.policyName`) and `policies/params/*.yaml` (the parameter
objects, e.g. ConfigMaps) into `Policy` values whose CEL expressions are compiled exactly once,
plus diagnostics for whatever is wrong, at the file, line and column of the offending field.
`policies/tests/` and files that are not YAML are ignored.

Every policy, binding and parameter object is first checked as the API server checks it
(apivalidation.py: unknown fields and types against kubernetes-validate's strict schema of the
Kubernetes version in mlgitops.yaml, then validation.go's static rules); what the server refuses
mlgitops refuses, each at its own line, all in one run.

Where a violation is reported: a validation has no field path in Kubernetes (fieldPath exists only
in CRD x-kubernetes-validations, and the API server refuses it in a policy), so the policy names
them in an annotation the server ignores, one line per validation in order, `.` for the object:

    metadata:
      annotations:
        mlgitops.dev/field-paths: |-
          spec.predictor.model.resources
          spec.predictor.containers

Without it every violation is reported at the object.

Rules: `policy.invalid` (what the API server refuses, a malformed field-paths annotation, a binding
naming no policy), `policy.syntax` (a CEL expression that does not parse or type-check),
`policy.cost` (its estimated cost is over Kubernetes' per-expression limit), `policy.unsupported`
(a feature that cannot be evaluated offline, such as `authorizer`), `policy.unscoped-binding` (a
binding whose objectSelector does not require app.kubernetes.io/managed-by=mlgitops: reported, the
binding still applies). A policy with any of the others is left out, and so is a binding refused
by the server; the other policies still load. A policy without a binding gets the implicit action
Deny.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
from typing import Any, Sequence

from .. import contain
from ..diagnostics import ERROR, INFO, WARNING, Diagnostics, echo
from ..validate.documents import display_path, split_documents
from ..yamlsource import Path, SourceDocument, load_yaml
from . import apivalidation
from .apivalidation import Problem
from .cel import CelError, Program, compile_expression
from .fuse import fuse
from .match import selector_matches

POLICY_API = apivalidation.POLICY_API
POLICY_KIND = "ValidatingAdmissionPolicy"
BINDING_KIND = "ValidatingAdmissionPolicyBinding"
# The policy's annotation naming each validation's field path (see the module docstring).
FIELD_PATHS_ANNOTATION = "mlgitops.dev/field-paths"
PARAMS_DIR = "params"
TESTS_DIR = "tests"
ACTION_SEVERITY = {"Deny": ERROR, "Warn": WARNING, "Audit": INFO}
_SEVERITY_ORDER = (ERROR, WARNING, INFO)
_COMPILE_RULES = {"syntax": "policy.syntax", "type": "policy.syntax", "cost": "policy.cost",
                  "unsupported": "policy.unsupported", "runtime": "policy.syntax"}
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


_NOT_YET = object()


@dataclasses.dataclass
class Expression:
    text: str
    program: Program
    where: Location  # the expression's value in the policy file
    what: str  # e.g. "validations[0].expression"
    uses: frozenset[str] = frozenset()  # the variables it reads (`variables.<name>`)
    # the policy's variables, (name, expression) in order, that `fused` inlines (a validation's
    # expressions only; empty: nothing to inline)
    fuse_with: tuple[tuple[str, str], ...] = ()
    _fused: Any = dataclasses.field(default=_NOT_YET, init=False, repr=False, compare=False)

    @property
    def fused(self) -> Program | None:
        """The expression with the variables it reads inlined (fuse.py); None when it reads none or
        that does not compile (e.g. over the cost limit once inlined: the variables are evaluated
        first then). Compiled when first asked for: most policies never need it on a small input
        set (a check of one changed model), and a failure here is never reported."""
        if self._fused is _NOT_YET:
            self._fused = None
            if self.uses and self.fuse_with:
                try:
                    self._fused = compile_expression(fuse(self.text, list(self.fuse_with)), what=self.what,
                                                     check_cost=False)
                except CelError:
                    pass
        return self._fused


@dataclasses.dataclass
class Validation:
    index: int
    expression: Expression
    message: str
    message_expression: Expression | None
    reason: str
    field_path: Path  # from FIELD_PATHS_ANNOTATION: ("spec", "containers", 0, "image"); () = the object


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
    """Let every expression of a validation that reads variables inline them (Expression.fused)."""
    texts = tuple((name, expression.text) for name, expression in variables)
    for validation in validations:
        for expression in (validation.expression, validation.message_expression):
            if expression is not None and expression.uses:
                expression.fuse_with = texts


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
    """Compiles one policy document (already checked by apivalidation; `ok` False when that found
    problems: the expressions are still compiled, so that every problem shows in one run)."""

    def __init__(self, src: Source, diags: Diagnostics, ok: bool = True) -> None:
        self.src = src
        self.diags = diags
        self.ok = ok

    def invalid(self, at: Location, message: str) -> None:
        self.ok = False
        self.diags.error(*at, "policy.invalid", message)

    def expression(self, path: Path, what: str, variables: frozenset[str]) -> Expression | None:
        """The compiled expression at `path`; None (reported by apivalidation) when there is none."""
        text = _get(self.src.doc.data, path)
        if not isinstance(text, str) or not text.strip():
            self.ok = False
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

    def server_checks(self, expressions: list[Expression], schemas: Any) -> None:
        """What the API server finds in the compiled expressions (typecheck.py): refusals at creation
        (`policy.syntax`, the policy is left out) and, for each kind the policy matches, what
        kube-controller-manager's type checker writes to status.typeChecking (`policy.type-check`,
        a warning as there: the policy still installs and runs)."""
        from .typecheck import check_policy, creation_errors

        data = self.src.doc.data
        trees = {e.text: e.program.tree for e in expressions}
        for found in creation_errors(data, trees):
            self.ok = False
            self.diags.error(*self.src.at_offset(found.path, found.expression, found.offset), "policy.syntax",
                             f"{found.field_ref}: {found.message} (the API server refuses the policy)")
        if schemas is None or not self.ok:
            return
        for found in check_policy(data, schemas, trees):
            self.diags.warning(*self.src.at_offset(found.path, found.expression, found.offset), "policy.type-check",
                               f"{found.field_ref}: {found.gvk}: {found.message} (the API server's type checker "
                               "reports it in the policy's status.typeChecking)")

    def policy(self, schemas: Any = None, *, server_checks: bool = True) -> Policy | None:
        data = self.src.doc.data
        spec = data.get("spec") if isinstance(data.get("spec"), dict) else {}
        kind = spec.get("paramKind")
        param_kind = (kind["apiVersion"], kind["kind"]) if isinstance(kind, dict) and \
            isinstance(kind.get("apiVersion"), str) and isinstance(kind.get("kind"), str) else None
        conditions = self._named(spec, "matchConditions")
        variables = self._named(spec, "variables")
        items = _list(spec.get("validations"))
        paths = self.field_paths(len(items))
        validations = self._validations(items, paths, frozenset(n for n, _ in variables))
        expressions = [e for _, e in conditions + variables]
        expressions += [e for v in validations for e in (v.expression, v.message_expression) if e is not None]
        if server_checks:
            self.server_checks(expressions, schemas)
        if not self.ok:
            return None
        _fuse_variables(variables, validations)
        constraints = spec.get("matchConstraints")
        return Policy(data["metadata"]["name"], self.src.at(("metadata", "name")), spec.get("failurePolicy") or "Fail",
                      constraints if isinstance(constraints, dict) else {}, param_kind, conditions, variables,
                      validations, combined=_combine(conditions, variables, validations))

    def _named(self, spec: dict, field: str) -> list[tuple[str, Expression]]:
        """matchConditions or variables: a list of {name, expression}; a variable sees the earlier ones."""
        out: list[tuple[str, Expression]] = []
        seen: set[str] = set()
        for i, item in enumerate(_list(spec.get(field))):
            path = ("spec", field, i)
            name = item.get("name") if isinstance(item, dict) else None
            if not isinstance(name, str) or field == "variables" and not apivalidation.is_cel_identifier(name):
                self.ok = False  # apivalidation said why
                continue
            if name in seen:  # apivalidation said why
                self.ok = False
                continue
            seen.add(name)
            scope = frozenset(seen - {name}) if field == "variables" else frozenset()
            compiled = self.expression(path + ("expression",), f"{field}[{i}] ({name})", scope)
            if compiled is not None:
                out.append((name, compiled))
        return out

    def _validations(self, items: list, paths: list[Path], variables: frozenset[str]) -> list[Validation]:
        out = []
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                self.ok = False
                continue
            path = ("spec", "validations", i)
            expression = self.expression(path + ("expression",), f"validations[{i}].expression", variables)
            message_expression = None
            raw = item.get("messageExpression")
            if isinstance(raw, str) and raw.strip():  # "" is no messageExpression, as in Kubernetes
                message_expression = self.expression(path + ("messageExpression",),
                                                     f"validations[{i}].messageExpression", variables)
            message = item.get("message")
            reason = item.get("reason")
            if expression is not None:
                out.append(Validation(i, expression, message if isinstance(message, str) else "", message_expression,
                                      reason if isinstance(reason, str) else "Invalid",
                                      paths[i] if i < len(paths) else ()))
        return out

    def field_paths(self, count: int) -> list[Path]:
        """Each validation's field path from the FIELD_PATHS_ANNOTATION: one line per validation, in
        order, `.` for the object itself; all () without the annotation. A blank or malformed line,
        or a count that is not the validations', is policy.invalid at its line."""
        where = ("metadata", "annotations", FIELD_PATHS_ANNOTATION)
        text = _get(self.src.doc.data, where)
        if not isinstance(text, str):  # absent; anything but a string is a schema problem already reported
            return [()] * count
        lines = (text[:-1] if text.endswith("\n") else text).split("\n")  # `|` keeps one final newline
        out: list[Path] = []
        offset = 0
        for i, line in enumerate(lines):
            start, offset = offset + len(line) - len(line.lstrip()), offset + len(line) + 1
            written = line.strip()
            parsed = () if written == "." else parse_field_path(written) if written else None
            if parsed is None:
                self.invalid(self.src.at_offset(where, text, start),
                             f"annotation {FIELD_PATHS_ANNOTATION}, line {i + 1}: " + (
                                 f"{echo(written)} is not a field path such as spec.containers[0].image or "
                                 "metadata.labels['team'] ('.' is the object itself)" if written else
                                 "blank: every line names the field path of one validation ('.' for the object)"))
            out.append(parsed or ())
        if len(lines) != count:
            extra = sum(len(line) + 1 for line in lines[:count])
            self.invalid(self.src.at_offset(where, text, extra) if len(lines) > count else self.src.at(where, key=True),
                         f"annotation {FIELD_PATHS_ANNOTATION} has {len(lines)} line{'s' if len(lines) != 1 else ''} "
                         f"for {count} validation{'s' if count != 1 else ''}: write one field path per validation, "
                         "in the order of spec.validations ('.' for the object itself)")
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


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _refused(src: Source, problems: list[Problem], diags: Diagnostics) -> bool:
    """Report what the API server refuses in this document; whether it refuses anything."""
    for problem in problems:
        message = problem.message
        path = problem.path
        if len(path) == 4 and path[:2] == ("spec", "validations") and path[3] == "fieldPath" \
                and src.doc.data.get("kind") == POLICY_KIND:
            message += (f" (a ValidatingAdmissionPolicy validation has no fieldPath, only CRD "
                        f"x-kubernetes-validations do: use the {FIELD_PATHS_ANNOTATION} annotation, one field path "
                        "per validation in order)")
        diags.error(*src.at(path, key=problem.key), "policy.invalid", message)
    return bool(problems)


def _binding(src: Source, diags: Diagnostics, refused: bool) -> tuple[str, Binding] | None:
    """The binding (None when the API server refuses it); an unscoped one is reported and kept."""
    data = src.doc.data
    unscoped = apivalidation.binding_scope(data)
    if unscoped is not None:
        diags.error(*src.at(unscoped.path, key=True), "policy.unscoped-binding", unscoped.message)
    if refused:
        return None
    spec = data["spec"]
    severity = min((ACTION_SEVERITY[a] for a in spec["validationActions"]), key=_SEVERITY_ORDER.index)
    ref = spec.get("paramRef")
    match = spec.get("matchResources")
    return spec["policyName"], Binding(str(data["metadata"]["name"]), src.at(("metadata", "name")), severity, ref,
                                       src.at(("spec", "paramRef"), key=True) if ref is not None else None,
                                       match if isinstance(match, dict) else None)


def _kubernetes_version(repo_root: str, diags: Diagnostics) -> tuple[str, Any]:
    """(mlgitops.yaml's validation.kubernetesVersion, else `mlgitops validate`'s default; the config
    or None); applies the file's `limits:` too (its other problems are build's findings). A version
    kubernetes-validate has no schemas for is reported at its line (the static checks still run)."""
    from ..config import CONFIG_FILE, load_config
    from ..validate.run import DEFAULT_KUBERNETES_VERSION

    if not os.path.lexists(os.path.join(repo_root, CONFIG_FILE)):
        return DEFAULT_KUBERNETES_VERSION, None
    config = load_config(repo_root, Diagnostics())
    configured = (config.validation or {}).get("kubernetesVersion") if config is not None else None
    if not isinstance(configured, str):
        return DEFAULT_KUBERNETES_VERSION, config
    problem = apivalidation.schema_version_problem(configured)
    if problem is not None and config is not None:
        line, col = config.doc.position(("validation", "kubernetesVersion")) if config.doc else (0, 0)
        diags.error(CONFIG_FILE, line, col, "policy.invalid",
                    f"validation.kubernetesVersion: {problem}; policies are not checked against the API schema")
    return configured, config


_SCHEMA_SOURCES: dict[tuple, Any] = {}


def _schema_source(repo_root: str, config: Any, locations: Sequence[str], version: str) -> Any:
    """The schemas the policies' expressions are type-checked with (typecheck.SchemaSource): those of
    `mlgitops validate` (command-line locations, else mlgitops.yaml's, else `default`). None when
    mlgitops.yaml names locations it may not (validate reports them) or they cannot be used. One
    source per repository, locations and version in a process: its kind types are built once."""
    from ..validate.registry import SchemaRegistry
    from ..validate.run import check_config_locations, settings_from
    from .typecheck import SchemaSource

    settings = settings_from(config, locations=tuple(locations), kubernetes_version=version)
    if not check_config_locations(settings, repo_root, config, Diagnostics()):
        return None
    key = (os.path.abspath(repo_root), tuple(settings.locations), settings.locations_from_config, version)
    if key not in _SCHEMA_SOURCES:
        try:
            registry = SchemaRegistry(settings.locations, repo_root=repo_root, kubernetes_version=version,
                                      strict=False, from_config=settings.locations_from_config)
        except ValueError:  # a malformed location or version: validate reports it
            return None
        _SCHEMA_SOURCES.clear()
        _SCHEMA_SOURCES[key] = SchemaSource.from_registry(registry)
    return _SCHEMA_SOURCES[key]


def load_policies(directory: str, repo_root: str, *, schema_locations: Sequence[str] = (),
                  type_check: bool = True) -> PolicySet:
    """Every policy in `directory` with its bindings, and the parameter objects in `directory`/params.
    `schema_locations`: where the schemas of the matched kinds are, for the type checker (as
    `mlgitops validate --schema-location`; default: mlgitops.yaml's, else `default`).
    `type_check=False` leaves out what the API server's checks of the policies themselves find
    (typecheck.py: the refusals at creation, policy.syntax, and the type checker's warnings,
    policy.type-check): what a check of changed models does, where the policies, the schemas and
    mlgitops did not change since a revision that passed them (gate.changed_scope)."""
    diags = Diagnostics()
    shown_dir = display_path(directory, repo_root)
    result = PolicySet([], set(), [], diags, shown_dir)
    version, config = _kubernetes_version(repo_root, diags)
    schemas = _schema_source(repo_root, config, schema_locations, version) if type_check else None
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
                refused = _refused(src, apivalidation.check_policy(data, version), diags)
                name = _get(data, ("metadata", "name"))
                if not isinstance(name, str) or not name:
                    continue  # refused: metadata.name is required
                if name in result.names:
                    diags.error(*src.at(("metadata", "name")), "policy.invalid",
                                f"{POLICY_KIND} {name} is declared twice")
                    continue
                result.names.add(name)
                policy = _Compiler(src, diags, ok=not refused).policy(schemas, server_checks=type_check)
                if policy is not None:
                    result.policies.append(policy)
            elif kind == BINDING_KIND:
                found = _binding(src, diags, _refused(src, apivalidation.check_binding(data, version), diags))
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
                _refused(src, apivalidation.check_params(src.doc.data, version), diags)  # reported, still used
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
