"""Policy files are exactly as strict as the API server, field paths live in an annotation, and
bindings must be scoped to the objects mlgitops manages.

Every expected position is computed from the text written (line of a needle, column of a key or
value), never hard-coded. The differential test at the end sends the same documents to a real
kube-apiserver v1.36.3 (tests/kubeapi.py) and requires the same verdict and the same words.
"""

from __future__ import annotations

import copy
import re
import textwrap
from pathlib import Path

import pytest
import yaml

from tooling import without_section

from mlgitops.policy import apivalidation
from mlgitops.policy.check import check
from mlgitops.policy.load import FIELD_PATHS_ANNOTATION, load_policies
from test_policy_engine import copy_example, line_of, write  # noqa: F401

# validation.go, celReserved: these may not name a variable
RESERVED = ("true", "false", "null", "in", "as", "break", "const", "continue", "else", "for", "function", "if",
            "import", "let", "loop", "package", "namespace", "return", "var", "void", "while")

GOOD = """\
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: max-replicas
  labels: {app.kubernetes.io/part-of: mlgitops}
  annotations:
    mlgitops.dev/field-paths: |-
      spec.predictor.maxReplicas
      .
      metadata.labels['team']
spec:
  failurePolicy: Fail
  paramKind: {apiVersion: v1, kind: ConfigMap}
  matchConstraints:
    resourceRules:
    - apiGroups: [serving.kserve.io]
      apiVersions: ["*"]
      resources: [inferenceservices]
      operations: [CREATE, UPDATE]
  matchConditions:
  - name: has-predictor
    expression: has(object.spec.predictor)
  variables:
  - name: predictor
    expression: object.spec.predictor
  - name: ns
    expression: object.metadata.namespace
  validations:
  - expression: "!has(variables.predictor.maxReplicas) || variables.predictor.maxReplicas <= int(params.data.maxReplicas)"
    messageExpression: "'maxReplicas ' + string(variables.predictor.maxReplicas) + ' is above ' + params.data.maxReplicas"
    reason: Invalid
  - expression: variables.ns != 'default'
    message: not in the default namespace
    reason: Forbidden
  - expression: has(object.metadata.labels) && 'team' in object.metadata.labels
    message: a team label is required
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: max-replicas
spec:
  policyName: max-replicas
  validationActions: [Deny, Audit]
  paramRef: {name: limits, namespace: mlgitops-policy, parameterNotFoundAction: Deny}
  matchResources:
    objectSelector:
      matchExpressions:
      - {key: app.kubernetes.io/managed-by, operator: In, values: [mlgitops]}
"""
LIMITS = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: limits, namespace: mlgitops-policy}\ndata:\n  maxReplicas: \"3\"\n"


def load(tmp_path: Path, files: dict[str, str]):
    pol = write(tmp_path / "pol", files)
    return pol, load_policies(str(pol), str(tmp_path))


def found(pset, rule: str = "policy.invalid") -> list[tuple[str, int, int, str]]:
    return [(Path(d.file).name, d.line, d.column, d.message) for d in pset.diagnostics if d.rule == rule]


def key_at(text: str, needle: str, key: str, nth: int = 0) -> tuple[int, int]:
    """(line, column) of `key` on the nth line containing `needle`."""
    lines = [(i, line) for i, line in enumerate(text.split("\n"), 1) if needle in line]
    number, line = lines[nth]
    return number, line.index(key) + 1


def value_at(text: str, needle: str, value: str, nth: int = 0) -> tuple[int, int]:
    return key_at(text, needle, value, nth)


def test_a_correct_policy_loads_with_zero_diagnostics(tmp_path):
    _, pset = load(tmp_path, {"p.yaml": GOOD, "params/limits.yaml": LIMITS})
    assert [d.format() for d in pset.diagnostics] == []
    [policy] = pset.policies
    assert [v.field_path for v in policy.validations] == [("spec", "predictor", "maxReplicas"), (),
                                                          ("metadata", "labels", "team")]
    assert [b.name for b in policy.bindings] == ["max-replicas"] and len(pset.params) == 1


# --- every problem, each at its own line and column, in one run ---------------------------------------

BROKEN = """\
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: broken
spec:
  failurePolicy: Fial
  matchConstraints:
    matchPolicy: Fuzzy
    resourceRules:
    - apiGroups: [serving.kserve.io]
      apiVersions: ["*"]
      resources: [inferenceservices]
      operations: [CREATE, PATCH]
      foo: bar
  matchConditions:
  - name: not a name
    expression: "true"
  - name: twice
    expression: "true"
  - name: twice
    expression: "true"
  variables:
  - name: namespace
    expression: object.metadata.namespace
  validations:
  - expression: "object.spec.x == 1"
    fieldPath: spec.x
    reason: Unauthorized
  - expression: "true"
    message: "two\\nlines"
  - expression: "object.metadata.name =="
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: Broken_Binding
spec:
  policyName: broken
  validationActions: [Deny, Warn, Deny]
  paramRef: {name: limits}
  matchResources:
    objectSelector:
      matchLabels: {app.kubernetes.io/managed-by: mlgitops}
"""


def test_every_problem_is_reported_at_its_line_and_column_in_one_run(tmp_path):
    _, pset = load(tmp_path, {"b.yaml": BROKEN})
    t = BROKEN
    expected = {
        (*key_at(t, "foo: bar", "foo"), 'unknown field "spec.matchConstraints.resourceRules[0].foo"'),
        (*key_at(t, "fieldPath: spec.x", "fieldPath"), 'unknown field "spec.validations[0].fieldPath" (a '
         "ValidatingAdmissionPolicy validation has no fieldPath, only CRD x-kubernetes-validations do: use the "
         "mlgitops.dev/field-paths annotation, one field path per validation in order)"),
        (*value_at(t, "failurePolicy", "Fial"),
         'spec.failurePolicy: Unsupported value: "Fial": supported values: "Fail", "Ignore"'),
        (*value_at(t, "matchPolicy", "Fuzzy"),
         'spec.matchConstraints.matchPolicy: Unsupported value: "Fuzzy": supported values: "Equivalent", "Exact"'),
        (*value_at(t, "operations: [CREATE, PATCH]", "PATCH"),
         'spec.matchConstraints.resourceRules[0].operations[1]: Unsupported value: "PATCH": supported values: '
         '"*", "CONNECT", "CREATE", "DELETE", "UPDATE"'),
        (*value_at(t, "name: not a name", "not a name"),
         "spec.matchConditions[0].name: Invalid value: \"not a name\": name part must consist of alphanumeric "
         "characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or "
         "'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"),
        (*value_at(t, "name: twice", "twice", 1), 'spec.matchConditions[2].name: Duplicate value: "twice"'),
        (*value_at(t, "name: namespace", "namespace"), 'spec.variables[0].name: Invalid value: "namespace": must be '
                                                       "a valid CEL identifier ('namespace' is a reserved CEL word)"),
        (*value_at(t, "reason: Unauthorized", "Unauthorized"),
         'spec.validations[0].reason: Unsupported value: "Unauthorized": supported values: "Forbidden", "Invalid", '
         '"RequestEntityTooLarge"'),
        (*value_at(t, 'message: "two', '"two'),
         'spec.validations[1].message: Invalid value: "two\\nlines": must not contain line breaks'),
        (*value_at(t, "name: Broken_Binding", "Broken_Binding"),
         'metadata.name: Invalid value: "Broken_Binding": a lowercase RFC 1123 subdomain must consist of lower case '
         "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. "
         "'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*"
         "[a-z0-9])?)*')"),
        (line_of_text(t, "validationActions"), t.split("\n")[line_of_text(t, "validationActions") - 1].rindex("Deny") + 1,
         'spec.validationActions[2]: Duplicate value: "Deny"'),
        (*key_at(t, "validationActions", "validationActions"),
         'spec.validationActions: Invalid value: ["Deny","Warn","Deny"]: must not contain both Deny and Warn '
         "(repeating the same validation failure information in the API response and headers serves no purpose)"),
        (*key_at(t, "paramRef:", "paramRef"), "spec.paramRef.parameterNotFoundAction: Required value"),
    }
    got = {(line, col, message) for _, line, col, message in found(pset)}
    assert got == expected
    syntax = found(pset, "policy.syntax")  # the CEL compiler still ran
    assert [(line, name) for name, line, _, _ in syntax] == [(line_of_text(t, "object.metadata.name =="), "b.yaml")]
    assert pset.policies == [] and pset.names == {"broken"}


def line_of_text(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.split("\n"), 1) if needle in line)


def policy_with_variable(name: str) -> str:
    """GOOD with its second variable named `name` (quoted: YAML reads `true` as a boolean)."""
    return GOOD.replace("  - name: ns\n", f"  - name: '{name}'\n").replace("variables.ns", f"variables.{name}")


@pytest.mark.parametrize("name", RESERVED)
def test_each_reserved_word_is_refused_as_a_variable_name(tmp_path, name):
    text = policy_with_variable(name)
    _, pset = load(tmp_path, {"p.yaml": text, "params/limits.yaml": LIMITS})
    line, col = value_at(text, f"- name: '{name}'", f"'{name}'")
    assert (line, col, f'spec.variables[1].name: Invalid value: "{name}": must be a valid CEL identifier '
                       f"('{name}' is a reserved CEL word)") in {(a, b, c) for _, a, b, c in found(pset)}
    assert pset.policies == []


@pytest.mark.parametrize("name, ok", [("a-b", False), ("1st", False), ("é", False), ("_ns", True), ("nameSpace", True),
                                      ("namespaces", True)])
def test_variable_names_are_cel_identifiers(tmp_path, name, ok):
    text = policy_with_variable(name)
    _, pset = load(tmp_path, {"p.yaml": text, "params/limits.yaml": LIMITS})
    invalid = [m for _, _, _, m in found(pset)]
    if ok:
        assert invalid == [] and len(pset.policies) == 1
    else:
        assert invalid == [f'spec.variables[1].name: Invalid value: "{name}": must be a valid CEL identifier']


@pytest.mark.parametrize("old, new, key, field", [
    ("      operations: [CREATE, UPDATE]\n", "      operations: [CREATE, UPDATE]\n      foo: 1\n", "foo",
     "spec.matchConstraints.resourceRules[0].foo"),
    ("  name: max-replicas\n  labels", "  name: max-replicas\n  nme: typo\n  labels", "nme", "metadata.nme"),
    ("    reason: Forbidden\n", "    reason: Forbidden\n    severity: high\n", "severity", "spec.validations[1].severity"),
    ("values: [mlgitops]}", "values: [mlgitops], extra: 1}", "extra",
     "spec.matchResources.objectSelector.matchExpressions[0].extra"),
    ("spec:\n  policyName", "status: {}\nspec:\n  policyName", "status", "status"),
])
def test_unknown_fields_anywhere_are_refused_at_their_key(tmp_path, old, new, key, field):
    assert GOOD.count(old) == 1
    text = GOOD.replace(old, new)
    _, pset = load(tmp_path, {"p.yaml": text, "params/limits.yaml": LIMITS})
    assert found(pset) == [("p.yaml", *key_at(text, f"{key}: ", key), f'unknown field "{field}"')]


def test_unknown_field_in_a_parameter_object(tmp_path):
    params = LIMITS + "immutable: true\nbinaryDate: {}\n"
    _, pset = load(tmp_path, {"p.yaml": GOOD, "params/limits.yaml": params})
    assert found(pset) == [("limits.yaml", line_of_text(params, "binaryDate"), 1, 'unknown field "binaryDate"')]
    assert len(pset.params) == 1  # reported, still used


def test_schema_types_and_missing_fields(tmp_path):
    text = GOOD.replace("    reason: Forbidden\n", "    reason: [Forbidden]\n").replace(
        "  - expression: has(object.metadata.labels)", "  - message: no expression\n  - expression: has(object.metadata.labels)")
    text = text.replace("      spec.predictor.maxReplicas\n", "      spec.predictor.maxReplicas\n      .\n")
    _, pset = load(tmp_path, {"p.yaml": text, "params/limits.yaml": LIMITS})
    assert {(line, col, message) for _, line, col, message in found(pset)} == {
        (*key_at(text, "reason: [Forbidden]", "reason"),  # a list is located by its key
         'spec.validations[1].reason: Invalid value: ["Forbidden"]: must be a string (the API server cannot decode it)'),
        (*key_at(text, "- message: no expression", "message"),  # the item: its first key
         "spec.validations[2].expression: Required value: expression is not specified"),
    }


# --- the field-paths annotation ------------------------------------------------------------------------

def with_field_paths(lines: str) -> str:
    start = GOOD.index("    mlgitops.dev/field-paths: |-\n")
    end = GOOD.index("spec:\n")
    return GOOD[:start] + f"    {FIELD_PATHS_ANNOTATION}: |-\n" + textwrap.indent(lines, "      ") + GOOD[end:]


@pytest.mark.parametrize("lines, bad, message", [
    ("spec.predictor.maxReplicas\nspec..x\n.\n", "spec..x",
     "annotation mlgitops.dev/field-paths, line 2: 'spec..x' is not a field path such as spec.containers[0].image "
     "or metadata.labels['team'] ('.' is the object itself)"),
    ("spec.predictor.maxReplicas\n.\nmetadata.labels[team\n", "metadata.labels[team",
     "annotation mlgitops.dev/field-paths, line 3: 'metadata.labels[team' is not a field path such as "
     "spec.containers[0].image or metadata.labels['team'] ('.' is the object itself)"),
    ("spec.predictor.maxReplicas\n.\nspec\nspec.extra\n", "spec.extra",
     "annotation mlgitops.dev/field-paths has 4 lines for 3 validations: write one field path per validation, in "
     "the order of spec.validations ('.' for the object itself)"),
])
def test_a_malformed_annotation_line_is_reported_at_that_line(tmp_path, lines, bad, message):
    text = with_field_paths(lines)
    _, pset = load(tmp_path, {"p.yaml": text, "params/limits.yaml": LIMITS})
    assert found(pset) == [("p.yaml", *value_at(text, f"      {bad}", bad), message)]
    assert pset.policies == []


def test_a_blank_annotation_line_and_too_few_lines(tmp_path):
    text = with_field_paths("spec.predictor.maxReplicas\n\n.\n")  # a blank line inside the block
    _, pset = load(tmp_path, {"p.yaml": text, "params/limits.yaml": LIMITS})
    annotation = line_of_text(text, FIELD_PATHS_ANNOTATION)
    assert found(pset) == [("p.yaml", annotation + 2, 7, "annotation mlgitops.dev/field-paths, line 2: blank: every "
                                                         "line names the field path of one validation ('.' for the "
                                                         "object)")]
    text = with_field_paths("spec.predictor.maxReplicas\n")
    _, pset = load(tmp_path / "few", {"p.yaml": text, "params/limits.yaml": LIMITS})
    assert found(pset) == [("p.yaml", annotation, 5, "annotation mlgitops.dev/field-paths has 1 line for 3 "
                                                     "validations: write one field path per validation, in the order "
                                                     "of spec.validations ('.' for the object itself)")]


def test_a_literal_block_with_its_final_newline_and_no_annotation(tmp_path):
    text = GOOD.replace("mlgitops.dev/field-paths: |-", "mlgitops.dev/field-paths: |")
    _, pset = load(tmp_path, {"p.yaml": text, "params/limits.yaml": LIMITS})
    assert not pset.diagnostics.has_errors and pset.policies[0].validations[0].field_path[-1] == "maxReplicas"
    start, end = GOOD.index("  annotations:\n"), GOOD.index("spec:\n")
    _, pset = load(tmp_path / "none", {"p.yaml": GOOD[:start] + GOOD[end:], "params/limits.yaml": LIMITS})
    assert not pset.diagnostics.has_errors
    assert [v.field_path for v in pset.policies[0].validations] == [(), (), ()]


MODEL_POLICY = """\
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: replicas
  annotations:
    mlgitops.dev/field-paths: |-
      .
      spec.predictor.maxReplicas
spec:
  matchConstraints:
    resourceRules:
    - apiGroups: [serving.kserve.io]
      apiVersions: ["*"]
      resources: [inferenceservices]
      operations: [CREATE, UPDATE]
  validations:
  - expression: object.metadata.name != 'fraud'
    message: fraud is not allowed
  - expression: "!has(object.spec.predictor.maxReplicas) || object.spec.predictor.maxReplicas < 2"
    message: too many replicas
"""


@pytest.fixture(scope="module")
def example(tmp_path_factory) -> Path:
    return copy_example(tmp_path_factory.mktemp("strict") / "repo")


def test_the_annotation_places_each_validation_at_its_own_model_line(tmp_path, example):
    pol = write(tmp_path / "pol", {"replicas.yaml": MODEL_POLICY})
    report = check([str(example / "overlays" / "prod" / "fraud")], str(example), str(pol))
    model = example / "models" / "fraud.yaml"
    by_message = {d.message.split(": ", 1)[1]: (d.file, d.line) for d in report.diagnostics if d.rule == "policy.replicas"}
    assert by_message == {"fraud is not allowed": ("models/fraud.yaml", line_of(model, "spec:")),
                          "too many replicas": ("models/fraud.yaml", line_of(model, "maxReplicas:"))}
    swapped = MODEL_POLICY.replace("      .\n      spec.predictor.maxReplicas\n", "      spec.predictor.maxReplicas\n      .\n")
    write(tmp_path / "pol", {"replicas.yaml": swapped})
    report = check([str(example / "overlays" / "prod" / "fraud")], str(example), str(pol))
    by_message = {d.message.split(": ", 1)[1]: d.line for d in report.diagnostics if d.rule == "policy.replicas"}
    assert by_message == {"fraud is not allowed": line_of(model, "maxReplicas:"), "too many replicas": line_of(model, "spec:")}


def test_the_annotation_places_a_finding_at_the_line_of_a_plain_file(tmp_path):
    objects = tmp_path / "objects.yaml"
    objects.write_text(textwrap.dedent("""\
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: other, namespace: ns}
        ---
        apiVersion: serving.kserve.io/v1beta1
        kind: InferenceService
        metadata:
          name: demo
          namespace: ns
        spec:
          predictor:
            minReplicas: 1
            maxReplicas: 5
        """))
    pol = write(tmp_path / "pol", {"replicas.yaml": MODEL_POLICY})
    report = check([str(objects)], str(tmp_path), str(pol))
    assert [(d.file, d.line, d.message) for d in report.diagnostics if d.rule == "policy.replicas"] == [
        ("objects.yaml", line_of(objects, "maxReplicas: 5"), "InferenceService demo (ns): too many replicas")]


# --- bindings must be scoped to what mlgitops manages -------------------------------------------------

def binding(match: str) -> str:
    return GOOD.split("---\n")[0] + "---\n" + textwrap.dedent("""\
        apiVersion: admissionregistration.k8s.io/v1
        kind: ValidatingAdmissionPolicyBinding
        metadata:
          name: max-replicas
        spec:
          policyName: max-replicas
          validationActions: [Deny]
          paramRef: {name: limits, namespace: mlgitops-policy, parameterNotFoundAction: Deny}
        """) + textwrap.indent(textwrap.dedent(match), "  ")


@pytest.mark.parametrize("match, scoped, at", [
    ("", False, ("spec:", "spec", 1)),
    ("matchResources:\n  namespaceSelector: {matchLabels: {env: prod}}\n", False, ("matchResources:", "matchResources", 0)),
    ("matchResources:\n  objectSelector:\n    matchLabels: {app.kubernetes.io/managed-by: helm}\n", False,
     ("objectSelector:", "objectSelector", 0)),
    ("matchResources:\n  objectSelector:\n    matchExpressions:\n"
     "    - {key: app.kubernetes.io/managed-by, operator: In, values: [mlgitops, helm]}\n", False,
     ("objectSelector:", "objectSelector", 0)),
    ("matchResources:\n  objectSelector:\n    matchExpressions:\n"
     "    - {key: app.kubernetes.io/managed-by, operator: NotIn, values: [helm]}\n", False,
     ("objectSelector:", "objectSelector", 0)),
    ("matchResources:\n  objectSelector:\n    matchLabels: {app.kubernetes.io/managed-by: mlgitops, tier: gold}\n",
     True, None),
    ("matchResources:\n  objectSelector:\n    matchExpressions:\n    - {key: tier, operator: Exists}\n"
     "    - {key: app.kubernetes.io/managed-by, operator: In, values: [mlgitops]}\n", True, None),
])
def test_a_binding_must_select_only_objects_mlgitops_manages(tmp_path, match, scoped, at):
    text = binding(match)
    _, pset = load(tmp_path, {"p.yaml": text, "params/limits.yaml": LIMITS})
    unscoped = found(pset, "policy.unscoped-binding")
    assert found(pset) == []  # nothing the API server refuses
    assert len(pset.policies[0].bindings) == 1  # an unscoped binding is reported, not dropped
    if scoped:
        assert unscoped == []
        return
    needle, key, nth = at
    [(_, line, col, message)] = unscoped
    assert (line, col) == key_at(text, needle, key, nth)
    assert "max-replicas" in message and "objectSelector.matchLabels {app.kubernetes.io/managed-by: mlgitops}" in message
    assert "default ServiceAccount" in message and "kube-root-ca.crt" in message


# --- the Kubernetes version comes from mlgitops.yaml -------------------------------------------------------

def test_the_kubernetes_version_of_mlgitops_yaml_chooses_the_schema(tmp_path):
    from conftest import copy_sources

    root = copy_sources(tmp_path / "repo")
    config = root / "mlgitops.yaml"
    original = without_section(config.read_text(), "validation")
    assert "validation:" not in original
    pol = write(root / "policies", {"p.yaml": GOOD, "params/limits.yaml": LIMITS})

    def run(version: str):
        config.write_text(original + f"validation:\n  kubernetesVersion: \"{version}\"\n")
        return load_policies(str(pol), str(root))

    assert not run("1.30.0").diagnostics.has_errors  # admissionregistration.k8s.io/v1 policies: GA in 1.30
    old = run("1.29.0")
    assert sorted((Path(d.file).name, d.line) for d in old.diagnostics) == [("p.yaml", 1), ("p.yaml", 1 + GOOD.split(
        "---\n")[0].count("\n") + 1)]
    assert all("not served by Kubernetes 1.29.0" in d.message for d in old.diagnostics)
    unknown = run("1.99.0")
    assert [(d.file, d.line, d.rule) for d in unknown.diagnostics] == [
        ("mlgitops.yaml", line_of(config, "kubernetesVersion"), "policy.invalid")]
    assert "1.99.0" in next(iter(unknown.diagnostics)).message and len(unknown.policies) == 1


# --- the same verdict and words as a real API server --------------------------------------------------------

def _documents() -> dict[str, dict]:
    policy, scoped = yaml.safe_load_all(GOOD)

    def change(doc: dict, path: tuple, value) -> dict:
        out = copy.deepcopy(doc)
        node = out
        for part in path[:-1]:
            node = node[part]
        if value is None:
            del node[path[-1]]
        else:
            node[path[-1]] = value
        return out

    rule = ("spec", "matchConstraints", "resourceRules", 0)
    return {
        "good policy": policy, "good binding": scoped,
        "fieldPath": change(policy, ("spec", "validations", 0, "fieldPath"), "spec.x"),
        "deep unknown field": change(policy, rule + ("foo",), 1),
        "reserved variable": change(policy, ("spec", "variables", 1, "name"), "namespace"),
        "reason": change(policy, ("spec", "validations", 0, "reason"), "Unauthorized"),
        "message line break": change(policy, ("spec", "validations", 1, "message"), "a\nb"),
        "blank message": change(policy, ("spec", "validations", 1, "message"), "  "),
        "failurePolicy": change(policy, ("spec", "failurePolicy"), "Never"),
        "operations": change(policy, rule + ("operations",), ["*", "CREATE"]),
        "resources": change(policy, rule + ("resources",), ["pods/*", "pods/log"]),
        "scope": change(policy, rule + ("scope",), "Global"),
        "no resourceRules": change(policy, ("spec", "matchConstraints", "resourceRules"), []),
        "matchConditions": change(policy, ("spec", "matchConditions"),
                                  [{"name": "a b", "expression": "true"}, {"name": "x", "expression": "true"},
                                   {"name": "x", "expression": " "}]),
        "too many matchConditions": change(policy, ("spec", "matchConditions"),
                                           [{"name": f"c{i}", "expression": "true"} for i in range(65)]),
        "paramKind": change(policy, ("spec", "paramKind"), {"apiVersion": "Bad_Group/v1", "kind": "Config_Map"}),
        "auditAnnotations": change(policy, ("spec", "auditAnnotations"),
                                   [{"key": "a b", "valueExpression": "'x'"}, {"key": "k", "valueExpression": " "}]),
        "labels": change(policy, ("metadata", "labels"), {"a/b/c": "x", "ok": "-bad-"}),
        "selector": change(policy, ("spec", "matchConstraints", "namespaceSelector"), {"matchExpressions": [
            {"key": "k", "operator": "In"}, {"key": "k", "operator": "Exists", "values": ["a"]},
            {"key": "Bad Key", "operator": "Foo"}]}),
        "validationActions": change(scoped, ("spec", "validationActions"), ["Deny", "Warn", "Deny", "Block"]),
        "paramRef": change(scoped, ("spec", "paramRef"), {"name": "a/b", "selector": {}}),
        "parameterNotFoundAction": change(scoped, ("spec", "paramRef"), {"name": "x"}),
        "binding unknown field": change(scoped, ("spec", "matchResources", "objectSelector", "matchLabel"), {}),
        "policyName": change(scoped, ("spec", "policyName"), "Bad_Name"),
    }


def differences(client) -> list[str]:
    """Where mlgitops and the API server (a kubeapi.Client) disagree on the documents above: the
    verdict, and each of mlgitops' messages (without its own hint on reserved words) in the server's."""
    out = []
    for name, doc in _documents().items():
        check = apivalidation.check_policy if doc["kind"] == "ValidatingAdmissionPolicy" else apivalidation.check_binding
        ours = [re.sub(r" \('\w+' is a reserved CEL word\)$", "", p.message) for p in check(doc, "1.36.0")]
        response = client.create(doc)
        if response.ok == bool(ours):
            out.append(f"{name}: the server {'accepts' if response.ok else 'refuses'} it, mlgitops "
                       f"{'refuses' if ours else 'accepts'} it: {ours or response.message}")
        out += [f"{name}: the server does not say {m!r}: {response.message}" for m in ours if m not in response.message]
    return out


def test_the_api_server_agrees(apiserver):
    assert differences(apiserver.client) == []
