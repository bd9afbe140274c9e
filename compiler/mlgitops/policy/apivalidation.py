"""What the API server refuses in a ValidatingAdmissionPolicy, its binding or a parameter object,
checked in the file before any CEL is compiled.

One job: every problem kube-apiserver would report when the document is applied with strict field
validation (`kubectl apply`), as `Problem`s (where in the document, the server's wording):
- the document against the strict JSON schema of its kind shipped by kubernetes-validate
  (validate/k8sschemas.py: `-local-strict`, every object `additionalProperties: false`), for the
  Kubernetes version of mlgitops.yaml: unknown fields (`unknown field "spec.validations[0].fieldPath"`,
  as the server's strict decoder says it), wrong types, missing fields;
- the server's static validation, ported from k8s.io/kubernetes v1.36.3
  pkg/apis/admissionregistration/validation/validation.go (ValidateValidatingAdmissionPolicy,
  ValidateValidatingAdmissionPolicyBinding and what they call; each check below names its Go
  function) after the server's defaulting (pkg/apis/admissionregistration/v1/defaults.go:
  failurePolicy Fail, matchPolicy Equivalent, empty selectors, rule scope `*`). Messages are
  field.Error's text: `<field>: Invalid value: "<value>": <detail>`;
- what server-side apply (Argo CD's server-side sync, `kubectl apply --server-side`) refuses on
  top: two variables of one name (`variables` is a list-map keyed by name).
Not ported: the CEL compilation (policy/cel.py compiles and cost-checks every expression), the
ownerReferences/finalizers/managedFields/generation checks of ObjectMeta (not written in policy
files), metadata.namespace (forbidden on these cluster-scoped kinds, but the create handler clears
it before validating: the server accepts it), the static-suffix name check (alpha feature gate
ManifestBasedAdmissionControlConfig, off by default), and the authorization of paramKind and
paramRef (needs a cluster).

`binding_scope` is mlgitops' own rule on top: a binding must only match objects mlgitops manages.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from typing import Any, Iterable

from ..diagnostics import ECHO_LIMIT, echo
from ..yamlsource import Path

POLICY_API = "admissionregistration.k8s.io/v1"
MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGER = "mlgitops"


@dataclasses.dataclass(frozen=True)
class Problem:
    path: Path  # where in the document: the field, or (missing) the nearest field that exists
    message: str  # the API server's wording
    key: bool = False  # point at the field's key rather than its value


def _field(path: Iterable) -> str:
    """field.Path's text: `spec.validations[0].expression`."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + echo(str(part), quote=False)
    return out or "<root>"


def _value(value: Any) -> str:
    """A bad value as field.Error prints it: strings quoted (%q), numbers and booleans bare, the rest
    as JSON; long strings cut (diagnostics.echo's limit)."""
    if isinstance(value, str):
        if len(value) > ECHO_LIMIT:
            return json.dumps(value[:ECHO_LIMIT], ensure_ascii=False)[:-1] + f'…" ({len(value)} characters)'
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return text if len(text) <= 4 * ECHO_LIMIT else text[:4 * ECHO_LIMIT] + "…"


# --- k8s.io/apimachinery validation of names (util/validation, api/validate/content) ---------------

def _regex_error(message: str, regex: str, *examples: str) -> str:
    """content.RegexError (its quirks included: `'a',  or 'b', `)."""
    if not examples:
        return f"{message} (regex used for validation is '{regex}')"
    message += " (e.g. "
    for i, example in enumerate(examples):
        message += (" or " if i else "") + f"'{example}', "
    return message + f"regex used for validation is '{regex}')"


_DNS1123_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN = _DNS1123_LABEL + "(\\." + _DNS1123_LABEL + ")*"
_DNS1035_LABEL = "[a-z]([-a-z0-9]*[a-z0-9])?"
_LABEL_KEY = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE = "(" + _LABEL_KEY + ")?"
_LABEL_KEY_MESSAGE = ("must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
                      "alphanumeric character")


def _size(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def is_dns1123_subdomain(value: str, unit: str = "characters") -> list[str]:
    """util/validation.IsDNS1123Subdomain (`unit` "bytes": content.IsDNS1123Subdomain's wording)."""
    errors = [f"must be no more than 253 {unit}"] if _size(value) > 253 else []
    if not re.fullmatch(_DNS1123_SUBDOMAIN, value):
        errors.append(_regex_error("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                                   "characters, '-' or '.', and must start and end with an alphanumeric character",
                                   _DNS1123_SUBDOMAIN, "example.com"))
    return errors


def is_dns1035_label(value: str) -> list[str]:
    """util/validation.IsDNS1035Label."""
    errors = ["must be no more than 63 characters"] if _size(value) > 63 else []
    if not re.fullmatch(_DNS1035_LABEL, value):
        errors.append(_regex_error("a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
                                   "start with an alphabetic character, and end with an alphanumeric character",
                                   _DNS1035_LABEL, "my-name", "abc-123"))
    return errors


def is_qualified_name(value: str) -> list[str]:
    """content.IsLabelKey (IsQualifiedName): `[prefix/]name`."""
    errors: list[str] = []
    parts = value.split("/")
    if len(parts) > 2:
        return [f"a valid label key {_regex_error(_LABEL_KEY_MESSAGE, _LABEL_KEY, 'MyName', 'my.name', '123-abc')}"
                " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
    name = parts[-1]
    if len(parts) == 2:
        if not parts[0]:
            errors.append("prefix part must be non-empty")
        else:
            errors += ["prefix part " + m for m in is_dns1123_subdomain(parts[0], "bytes")]
    if not name:
        errors.append("name part must be non-empty")
    elif _size(name) > 63:
        errors.append("name part must be no more than 63 bytes")
    if not re.fullmatch(_LABEL_KEY, name):
        errors.append("name part " + _regex_error(_LABEL_KEY_MESSAGE, _LABEL_KEY, "MyName", "my.name", "123-abc"))
    return errors


def is_label_value(value: str) -> list[str]:
    """content.IsLabelValue."""
    errors = ["must be no more than 63 bytes"] if _size(value) > 63 else []
    if not re.fullmatch(_LABEL_VALUE, value):
        errors.append(_regex_error("a valid label must be an empty string or consist of alphanumeric characters, "
                                   "'-', '_' or '.', and must start and end with an alphanumeric character",
                                   _LABEL_VALUE, "MyValue", "my_value", "12345"))
    return errors


def is_path_segment_name(value: str) -> list[str]:
    """content.IsPathSegmentName."""
    if value in (".", ".."):
        return [f"may not be '{value}'"]
    return [f"may not contain '{c}'" for c in ("/", "%") if c in value]


# validation.go isCELIdentifier: IDENT ::= [_a-zA-Z][_a-zA-Z0-9]* - RESERVED
CEL_RESERVED = frozenset({"true", "false", "null", "in", "as", "break", "const", "continue", "else", "for",
                          "function", "if", "import", "let", "loop", "package", "namespace", "return", "var",
                          "void", "while"})


def is_cel_identifier(name: str) -> bool:
    return re.fullmatch(r"[_a-zA-Z][_a-zA-Z0-9]*", name) is not None and name not in CEL_RESERVED


# --- decoding helpers: a value of the wrong type is the schema's finding, never a crash here ---------

_WRONG = object()


def _str(value: Any) -> Any:
    """A Go string field: None -> "" (absent), a string -> itself, anything else -> _WRONG."""
    return "" if value is None else value if isinstance(value, str) else _WRONG


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


class _Static:
    """validation.go's checks of one document; `problems` in the server's words."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def _add(self, field: Path, body: str, at: Path | None, key: bool) -> None:
        self.problems.append(Problem(field if at is None else at, f"{_field(field)}: {body}", key))

    # field.Required, field.Invalid, ... (k8s.io/apimachinery/pkg/util/validation/field/errors.go)
    def required(self, field: Path, detail: str = "") -> None:
        self._add(field, "Required value" + (f": {detail}" if detail else ""), None, True)

    def invalid(self, field: Path, value: Any, detail: str, *, at: Path | None = None, key: bool = False) -> None:
        self._add(field, f"Invalid value: {_value(value)}: {detail}", at, key)

    def not_supported(self, field: Path, value: Any, supported: Iterable[str]) -> None:
        self._add(field, f"Unsupported value: {_value(value)}: supported values: "
                         + ", ".join(json.dumps(s) for s in supported), None, False)

    def duplicate(self, field: Path, value: Any) -> None:
        self._add(field, f"Duplicate value: {_value(value)}", None, False)

    def forbidden(self, field: Path, detail: str) -> None:
        self._add(field, f"Forbidden: {detail}", None, True)

    # --- metadata: apimachinery api/validation ValidateObjectMeta(requiresNamespace=false, NameIsDNSSubdomain)
    def object_meta(self, meta: dict) -> None:
        name = _str(meta.get("name"))
        if name == "":
            self.required(("metadata", "name"), "name or generateName is required")
        elif name is not _WRONG:
            for message in is_dns1123_subdomain(name):
                self.invalid(("metadata", "name"), name, message)
        # metadata.namespace: ValidateObjectMeta forbids it on cluster-scoped kinds, but the create
        # handler clears it first (rest.BeforeCreate): the server accepts it, and so does mlgitops
        self.labels(_dict(meta.get("labels")), ("metadata", "labels"))
        annotations = _dict(meta.get("annotations"))
        for key in annotations:  # ValidateAnnotations: keys are qualified names, case aside
            for message in is_qualified_name(str(key).lower()):
                self.invalid(("metadata", "annotations"), key, message, at=("metadata", "annotations", key), key=True)
        size = sum(_size(str(k)) + _size(v) for k, v in annotations.items() if isinstance(v, str))
        if size > 256 * 1024:  # ValidateAnnotationsSize, TotalAnnotationSizeLimitB
            self._add(("metadata", "annotations"), f"Too long: may not be more than {256 * 1024} bytes", None, True)

    def labels(self, labels: dict, field: Path) -> None:
        """meta/v1/validation ValidateLabels: keys qualified names, values label values."""
        for key, value in labels.items():
            for message in is_qualified_name(str(key)):
                self.invalid(field, key, message, at=field + (key,), key=True)
            text = _str(value)
            if text is not _WRONG:
                for message in is_label_value(text):
                    self.invalid(field, text, message, at=field + (key,))

    def label_selector(self, selector: dict, field: Path) -> None:
        """meta/v1/validation ValidateLabelSelector (default options: strict)."""
        self.labels(_dict(selector.get("matchLabels")), field + ("matchLabels",))
        for i, requirement in enumerate(_list(selector.get("matchExpressions"))):
            if not isinstance(requirement, dict):
                continue
            here = field + ("matchExpressions", i)
            operator, values = requirement.get("operator"), _list(requirement.get("values"))
            if operator in ("In", "NotIn"):
                if not values:
                    self.required(here + ("values",), "must be specified when `operator` is 'In' or 'NotIn'")
            elif operator in ("Exists", "DoesNotExist"):
                if values:
                    self.forbidden(here + ("values",), "may not be specified when `operator` is 'Exists' or "
                                                       "'DoesNotExist'")
            elif _str(operator) is not _WRONG:
                self.invalid(here + ("operator",), _str(operator), "not a valid selector operator")
            key = _str(requirement.get("key"))
            if key is not _WRONG:
                for message in is_qualified_name(key):
                    self.invalid(here + ("key",), key, message)
            for j, value in enumerate(values):
                if _str(value) is not _WRONG:
                    for message in is_label_value(_str(value)):
                        self.invalid(here + ("values", j), _str(value), message)

    # --- matchResources: validateMatchResources, validateNamedRuleWithOperations, validateRule
    def match_resources(self, resources: dict, field: Path) -> None:
        policy = resources.get("matchPolicy")  # nil: defaulted to Equivalent
        if policy is not None and policy not in ("Equivalent", "Exact") and isinstance(policy, str):
            self.not_supported(field + ("matchPolicy",), policy, ("Equivalent", "Exact"))
        for selector in ("namespaceSelector", "objectSelector"):  # nil: defaulted to {}
            self.label_selector(_dict(resources.get(selector)), field + (selector,))
        for rules in ("resourceRules", "excludeResourceRules"):
            for i, rule in enumerate(_list(resources.get(rules))):
                if isinstance(rule, dict):
                    self.named_rule(rule, field + (rules, i))

    def named_rule(self, rule: dict, field: Path) -> None:
        seen: set[str] = set()
        for i, name in enumerate(_list(rule.get("resourceNames"))):
            name = _str(name)
            if name is _WRONG:
                continue
            for message in is_path_segment_name(name):
                self.invalid(field + ("resourceNames", i), name, message)
            if name in seen:
                self.duplicate(field + ("resourceNames", i), name)
            seen.add(name)
        # validateRuleWithOperations
        operations = [_str(o) for o in _list(rule.get("operations"))]
        if not operations:
            self.required(field + ("operations",))
        if len(operations) > 1 and "*" in operations:
            self.invalid(field + ("operations",), rule["operations"],
                         "if '*' is present, must not specify other operations")
        for i, operation in enumerate(operations):
            if operation is not _WRONG and operation not in ("*", "CONNECT", "CREATE", "DELETE", "UPDATE"):
                self.not_supported(field + ("operations", i), operation, ("*", "CONNECT", "CREATE", "DELETE", "UPDATE"))
        # validateRule(allowSubResource=true)
        groups = [_str(g) for g in _list(rule.get("apiGroups"))]
        if not groups:
            self.required(field + ("apiGroups",))
        if len(groups) > 1 and "*" in groups:
            self.invalid(field + ("apiGroups",), rule["apiGroups"],
                         "if '*' is present, must not specify other API groups")
        versions = [_str(v) for v in _list(rule.get("apiVersions"))]
        if not versions:
            self.required(field + ("apiVersions",))
        if len(versions) > 1 and "*" in versions:
            self.invalid(field + ("apiVersions",), rule["apiVersions"],
                         "if '*' is present, must not specify other API versions")
        for i, version in enumerate(versions):
            if version == "":
                self.required(field + ("apiVersions", i))
        self.resources(_list(rule.get("resources")), field + ("resources",))
        scope = rule.get("scope")  # nil: defaulted to "*"
        if isinstance(scope, str) and scope not in ("*", "Cluster", "Namespaced"):
            self.not_supported(field + ("scope",), scope, ("*", "Cluster", "Namespaced"))

    def resources(self, resources: list, field: Path) -> None:
        """validateResources, to the letter (`hasResourceWithoutSubresource` is the last plain entry's)."""
        if not resources:
            self.required(field)
        with_wildcard_sub: set[str] = set()
        sub_with_wildcard: set[str] = set()
        double = single = without_sub = False
        for i, entry in enumerate(map(_str, resources)):
            if entry is _WRONG:
                continue
            if entry == "":
                self.required(field + (i,))
                continue
            double = double or entry == "*/*"
            single = single or entry == "*"
            if "/" not in entry:
                without_sub = entry != "*"
                continue
            resource, sub = entry.split("/", 1)
            if resource in with_wildcard_sub:
                self.invalid(field + (i,), entry, f"if '{resource}/*' is present, must not specify {entry}")
            if sub in sub_with_wildcard:
                self.invalid(field + (i,), entry, f"if '*/{sub}' is present, must not specify {entry}")
            if sub == "*":
                with_wildcard_sub.add(resource)
            if resource == "*":
                sub_with_wildcard.add(sub)
        if len(resources) > 1 and double:
            self.invalid(field, resources, "if '*/*' is present, must not specify other resources")
        if single and without_sub:
            self.invalid(field, resources, "if '*' is present, must not specify other resources without subresources")

    # --- the policy: validateValidatingAdmissionPolicySpec
    def policy(self, data: dict) -> None:
        meta = _dict(data.get("metadata"))
        self.object_meta(meta)
        spec = _dict(data.get("spec"))
        field: Path = ("spec",)
        failure = spec.get("failurePolicy")  # nil: defaulted to Fail
        if isinstance(failure, str) and failure not in ("Fail", "Ignore"):
            self.not_supported(field + ("failurePolicy",), failure, ("Fail", "Ignore"))
        if isinstance(spec.get("paramKind"), dict):
            self.param_kind(spec["paramKind"], field + ("paramKind",))
        constraints = spec.get("matchConstraints")
        if constraints is None:
            self.required(field + ("matchConstraints",))
        elif isinstance(constraints, dict):
            self.match_resources(constraints, field + ("matchConstraints",))
            if not _list(constraints.get("resourceRules")):  # type information comes from them
                self.required(field + ("matchConstraints", "resourceRules"))
        self.match_conditions(_list(spec.get("matchConditions")), field + ("matchConditions",))
        names: set[Any] = set()
        for i, variable in enumerate(_list(spec.get("variables"))):
            if isinstance(variable, dict):
                self.variable(variable, field + ("variables", i))
                name = variable.get("name")
                if isinstance(name, str) and name in names:  # variables is a list-map keyed by name:
                    # server-side apply (structured-merge-diff) refuses the duplicate; a plain create
                    # would keep the last one
                    self.problems.append(Problem(field + ("variables", i, "name"), f"spec.variables: duplicate entries "
                                                 f"for key [name={_value(name)}] (server-side apply refuses it)"))
                names.add(name)
        validations, audit = _list(spec.get("validations")), _list(spec.get("auditAnnotations"))
        if not validations and not audit:
            for name in ("validations", "auditAnnotations"):
                self.required(field + (name,), "validations or auditAnnotations must contain at least one item")
            return
        for i, validation in enumerate(validations):
            if isinstance(validation, dict):
                self.validation(validation, field + ("validations", i))
        self.audit_annotations(audit, _str(meta.get("name")), field + ("auditAnnotations",))

    def param_kind(self, kind: dict, field: Path) -> None:
        """validateParamKind."""
        api_version = _str(kind.get("apiVersion"))
        if api_version == "":
            self.required(field + ("apiVersion",))
        elif api_version is not _WRONG:
            here = field + ("apiVersion",)
            if api_version.count("/") > 1:  # parseGroupVersion
                self.invalid(here, api_version, f"unexpected GroupVersion string: {api_version}")
            else:
                group, _, version = api_version.rpartition("/") if api_version != "/" else ("", "", "")
                if group and (errors := is_dns1123_subdomain(group)):
                    self.invalid(here, group, ",".join(errors))
                if not version:
                    self.invalid(here, api_version, "version must be specified")
                elif errors := is_dns1035_label(version):
                    self.invalid(here, version, ",".join(errors))
        name = _str(kind.get("kind"))
        if name == "":
            self.required(field + ("kind",))
        elif name is not _WRONG and (errors := is_dns1035_label(name.lower())):
            self.invalid(field + ("kind",), name,
                         "may have mixed case, but should otherwise match: " + ",".join(errors))

    def match_conditions(self, conditions: list, field: Path) -> None:
        """validateMatchConditions, validateMatchCondition."""
        if len(conditions) > 64:
            self._add(field, f"Too many: {len(conditions)}: must have at most 64 items", None, True)
        seen: set[str] = set()
        for i, condition in enumerate(conditions):
            if not isinstance(condition, dict):
                continue
            expression = _str(condition.get("expression"))
            if expression is not _WRONG and not expression.strip():
                self.required(field + (i, "expression"))
            name = _str(condition.get("name"))
            if name == "":
                self.required(field + (i, "name"))
            elif name is not _WRONG:
                for message in is_qualified_name(name):
                    self.invalid(field + (i, "name"), name, message)
                if name in seen:
                    self.duplicate(field + (i, "name"), name)
                seen.add(name)

    def variable(self, variable: dict, field: Path) -> None:
        """validateVariable."""
        name = _str(variable.get("name"))
        if name is not _WRONG and not name.strip():
            self.required(field + ("name",), "name is not specified")
        elif name is not _WRONG and not is_cel_identifier(name):
            why = f" ('{name}' is a reserved CEL word)" if name in CEL_RESERVED else ""
            self.invalid(field + ("name",), name, "must be a valid CEL identifier" + why)
        expression = _str(variable.get("expression"))
        if expression is not _WRONG and not expression.strip():
            self.required(field + ("expression",), "expression is not specified")

    def validation(self, validation: dict, field: Path) -> None:
        """validateValidation."""
        expression = _str(validation.get("expression"))
        if expression is not _WRONG and not expression.strip():
            self.required(field + ("expression",), "expression is not specified")
        message_expression = _str(validation.get("messageExpression"))
        if message_expression not in ("", _WRONG) and not message_expression.strip():
            self.invalid(field + ("messageExpression",), message_expression, "must be non-empty if specified")
        message = _str(validation.get("message"))
        if message not in ("", _WRONG) and not message.strip():
            self.invalid(field + ("message",), message, "must be non-empty if specified")
        elif message is not _WRONG and re.search(r"[\n\r]", message.strip()):
            self.invalid(field + ("message",), message, "must not contain line breaks")
        reason = validation.get("reason")  # nil: no reason; "" is a reason, and not a supported one
        if isinstance(reason, str) and reason not in ("Forbidden", "Invalid", "RequestEntityTooLarge"):
            self.not_supported(field + ("reason",), reason, ("Forbidden", "Invalid", "RequestEntityTooLarge"))

    def audit_annotations(self, annotations: list, policy_name: Any, field: Path) -> None:
        """validateValidatingAdmissionPolicySpec's auditAnnotations loop and validateAuditAnnotation."""
        if len(annotations) > 20:  # maxAuditAnnotations
            self.invalid(field, annotations, "must not have more than 20 auditAnnotations", key=True)
        keys: set[str] = set()
        for i, annotation in enumerate(annotations):
            if not isinstance(annotation, dict):
                continue
            key = _str(annotation.get("key"))
            if key is _WRONG:
                continue
            if policy_name not in ("", _WRONG):
                for message in is_qualified_name(f"{policy_name}/{key}"):
                    self.invalid(field + (i, "key"), f"{policy_name}/{key}", message)
            else:
                self.invalid(field + (i, "key"), key, "requires metadata.name be non-empty")
            value = _str(annotation.get("valueExpression"))
            if value is not _WRONG and not value.strip():
                self.required(field + (i, "valueExpression"), "valueExpression is not specified")
            elif value is not _WRONG and _size(value.strip()) > 5 * 1024:
                self.required(field + (i, "valueExpression"), f"must not exceed {5 * 1024} bytes in length")
            if key in keys:
                self.duplicate(field + (i, "key"), key)
            keys.add(key)

    # --- the binding: validateValidatingAdmissionPolicyBindingSpec
    def binding(self, data: dict) -> None:
        self.object_meta(_dict(data.get("metadata")))
        spec = _dict(data.get("spec"))
        field: Path = ("spec",)
        name = _str(spec.get("policyName"))
        if name == "":
            self.required(field + ("policyName",))
        elif name is not _WRONG:
            for message in is_dns1123_subdomain(name):
                self.invalid(field + ("policyName",), name, message)
        if isinstance(spec.get("paramRef"), dict):
            self.param_ref(spec["paramRef"], field + ("paramRef",))
        if isinstance(spec.get("matchResources"), dict):
            self.match_resources(spec["matchResources"], field + ("matchResources",))
        self.validation_actions(spec.get("validationActions"), field + ("validationActions",))

    def param_ref(self, ref: dict, field: Path) -> None:
        """validateParamRef."""
        name = _str(ref.get("name"))
        selector = ref.get("selector")
        if name not in ("", _WRONG):
            for message in is_path_segment_name(name):
                self.invalid(field + ("name",), name, message)
            if selector is not None:
                self.forbidden(field + ("name",), "name and selector are mutually exclusive")
        if selector is not None:
            self.label_selector(_dict(selector), field + ("selector",))
            if name not in ("", _WRONG):
                self.forbidden(field + ("selector",), "name and selector are mutually exclusive")
        if name == "" and selector is None:
            self.required(field, "one of name or selector must be specified")
        action = _str(ref.get("parameterNotFoundAction"))
        if action == "":
            self.required(field + ("parameterNotFoundAction",))
        elif action is not _WRONG and action not in ("Deny", "Allow"):
            self.not_supported(field + ("parameterNotFoundAction",), action, ("Deny", "Allow"))

    def validation_actions(self, actions: Any, field: Path) -> None:
        """validateValidationActions."""
        seen: set[str] = set()
        for i, action in enumerate(_list(actions)):
            action = _str(action)
            if action is _WRONG:
                continue
            if action not in ("Audit", "Deny", "Warn"):
                self.not_supported(field + (i,), action, ("Audit", "Deny", "Warn"))
            if action in seen:
                self.duplicate(field + (i,), action)
            seen.add(action)
        if {"Deny", "Warn"} <= seen:
            self.invalid(field, actions, "must not contain both Deny and Warn (repeating the same validation "
                                         "failure information in the API response and headers serves no purpose)",
                         key=True)
        if not seen and (actions is None or isinstance(actions, list)):
            self.required(field, "at least one validation action is required")


# --- the strict schema ------------------------------------------------------------------------------

@functools.lru_cache(maxsize=16)
def _validator(version: str, api_version: str, kind: str) -> Any:
    """The compiled strict schema of a kind for a Kubernetes version; None when kubernetes-validate
    ships none (e.g. a custom resource used as parameters)."""
    from ..validate import k8sschemas
    from ..validate.engine import compile_schema

    try:
        schema = k8sschemas.standalone(version, True, api_version, kind)
    except (ValueError, KeyError):
        return None
    return None if schema is None else compile_schema(schema)


def schema_version_problem(version: str) -> str | None:
    """Why the schemas of `version` cannot be read (kubernetes-validate has none), or None."""
    from ..validate import k8sschemas

    try:
        k8sschemas.check_version(version)
    except ValueError as exc:
        return str(exc)
    return None


_TYPE_WORDS = {"object": "a mapping", "array": "a list", "string": "a string", "integer": "an integer",
               "number": "a number", "boolean": "true or false"}


def _schema_problems(data: dict, version: str, api_version: str, kind: str, *, served: bool = False
                     ) -> list[tuple[Problem, str]]:
    """(problem, jsonschema keyword) for every schema error of the document. `served`: the kind must
    have a schema in `version` (the policy kinds: v1 is served from Kubernetes 1.30 on)."""
    validator = _validator(version, api_version, kind)
    if validator is None:
        if served and schema_version_problem(version) is None:
            return [(Problem(("apiVersion",), f"apiVersion: {kind} {api_version} is not served by Kubernetes {version} "
                                              "(validation.kubernetesVersion in mlgitops.yaml): kubernetes-validate "
                                              "has no schema of it"), "served")]
        return []
    if validator.is_valid(data):
        return []
    out = []
    for error in validator.iter_errors(data):
        path = tuple(error.instance_path)
        name = type(error.kind).__name__
        if name == "AdditionalProperties":
            for unknown in error.kind.unexpected:
                where = path + (unknown,)
                out.append((Problem(where, f'unknown field "{_field(where)}"', key=True), name))
        elif name == "Required":
            where = path + (error.kind.property,)
            out.append((Problem(where, f"{_field(where)}: Required value", key=True), name))
        elif name == "Type":
            types = [t for t in error.kind.types if t != "null"]
            expected = " or ".join(_TYPE_WORDS.get(t, t) for t in types)
            out.append((Problem(path, f"{_field(path)}: Invalid value: {_value(error.instance)}: must be {expected} "
                                      "(the API server cannot decode it)"), name))
        elif name == "Enum" and path in (("apiVersion",), ("kind",)):
            continue  # load.py chose the kind; the apiVersion is checked with the static checks
        else:
            out.append((Problem(path, f"{_field(path)}: {echo(error.message, quote=False, limit=4 * ECHO_LIMIT)}"),
                        name))
    return out


def _merged(schema: list[tuple[Problem, str]], static: list[Problem]) -> list[Problem]:
    """Schema and static problems, in document order of discovery; a schema `required` error is left
    out when the static checks report that field (or one inside it) in the server's own words."""
    said = [p.path for p in static]
    kept = [p for p, keyword in schema
            if keyword != "Required" or not any(s[:len(p.path)] == p.path for s in said)]
    return kept + static


def _api_version(data: dict) -> list[Problem]:
    value = data.get("apiVersion")
    if value == POLICY_API:
        return []
    return [Problem(("apiVersion",), f"apiVersion: Unsupported value: {_value(value)}: supported values: "
                                     f'"{POLICY_API}" (mlgitops reads {POLICY_API} only)')]


def check_policy(data: dict, version: str) -> list[Problem]:
    """Everything the API server refuses in a ValidatingAdmissionPolicy document."""
    static = _Static()
    static.policy(data)
    return _api_version(data) + _merged(
        _schema_problems(data, version, POLICY_API, "ValidatingAdmissionPolicy", served=True), static.problems)


def check_binding(data: dict, version: str) -> list[Problem]:
    """Everything the API server refuses in a ValidatingAdmissionPolicyBinding document."""
    static = _Static()
    static.binding(data)
    return _api_version(data) + _merged(
        _schema_problems(data, version, POLICY_API, "ValidatingAdmissionPolicyBinding", served=True), static.problems)


def check_params(data: dict, version: str) -> list[Problem]:
    """Schema problems (unknown fields first of all) of a parameter object whose kind
    kubernetes-validate knows (ConfigMap, ...); nothing for other kinds."""
    api_version, kind = data.get("apiVersion"), data.get("kind")
    if not isinstance(api_version, str) or not isinstance(kind, str) or not api_version or not kind:
        return []
    return [p for p, _ in _schema_problems(data, version, api_version, kind)]


def binding_scope(data: dict) -> Problem | None:
    """mlgitops' rule for bindings: matchResources.objectSelector must require
    app.kubernetes.io/managed-by=mlgitops (matchLabels, or matchExpressions `In` [mlgitops]).
    Unscoped, the policy judges every matching object in the cluster, including the ones the
    cluster makes itself (a namespace's default ServiceAccount, its kube-root-ca.crt ConfigMap),
    which mlgitops never sees and which the policy may deny."""
    spec = _dict(data.get("spec"))
    selector = _dict(_dict(spec.get("matchResources")).get("objectSelector"))
    if _dict(selector.get("matchLabels")).get(MANAGED_BY) == MANAGER:
        return None
    if any(isinstance(e, dict) and e.get("key") == MANAGED_BY and e.get("operator") == "In"
           and e.get("values") == [MANAGER] for e in _list(selector.get("matchExpressions"))):
        return None
    name = _dict(data.get("metadata")).get("name")
    return Problem(("spec", "matchResources", "objectSelector"),
                   f"ValidatingAdmissionPolicyBinding {echo(str(name))} matches objects mlgitops does not manage: add "
                   f"spec.matchResources.objectSelector.matchLabels {{{MANAGED_BY}: {MANAGER}}}. Unscoped, the "
                   "policy also judges the objects the cluster creates itself, such as every namespace's default "
                   "ServiceAccount and kube-root-ca.crt ConfigMap, and denies them when they fail it", key=True)
