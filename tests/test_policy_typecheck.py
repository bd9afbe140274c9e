"""policy/typecheck.py: kube-controller-manager's type checking of admission policies, offline.

Where a test states what Kubernetes reports (the text of status.typeChecking), that text was read
from kube-controller-manager v1.36.3 (tests/test_apiserver_typecheck.py compares the two on a
generated corpus); object type names are shown without Kubernetes' timestamp suffix.
"""

from __future__ import annotations

import json

import pytest

from mlgitops.policy import celcost
from mlgitops.policy import typecheck as tc
from mlgitops.policy.cel import compile_expression
from tooling import REPO_ROOT, require_shared

K8S = "1.36.0"
DEPLOYMENTS = {"apiGroups": ["apps"], "apiVersions": ["v1"], "resources": ["deployments"], "operations": ["CREATE"]}
SERVICES = {"apiGroups": [""], "apiVersions": ["v1"], "resources": ["services"], "operations": ["CREATE"]}
CONFIGMAP_PARAMS = {"apiVersion": "v1", "kind": "ConfigMap"}


@pytest.fixture(scope="module")
def core() -> tc.SchemaSource:
    """Core kinds only (kubernetes-validate's schemas for Kubernetes 1.36)."""
    return tc.SchemaSource.from_crds([], kubernetes_version=K8S)


def policy(validations: list, rules: list | None = None, variables: list | None = None,
           param_kind: dict | None = None) -> dict:
    spec: dict = {"matchConstraints": {"resourceRules": rules or [DEPLOYMENTS]},
                  "validations": [v if isinstance(v, dict) else {"expression": v} for v in validations]}
    if variables:
        spec["variables"] = [{"name": n, "expression": e} for n, e in variables]
    if param_kind:
        spec["paramKind"] = param_kind
    return {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": "p"}, "spec": spec}


def found(doc: dict, source: tc.SchemaSource) -> list[tuple]:
    return [(w.field_ref, w.gvk, w.line_column, w.message) for w in tc.check_policy(doc, source)]


def messages(doc: dict, source: tc.SchemaSource) -> list[str]:
    return [w.message for w in tc.check_policy(doc, source)]


# --- fields ---------------------------------------------------------------------------------------

def test_a_misspelt_field_is_reported_where_it_is(core):
    doc = policy(["object.metadata.name != '' && object.spec.replicaz > 1"])
    [warning] = tc.check_policy(doc, core)
    assert (warning.field_ref, warning.gvk, warning.message) == \
        ("spec.validations[0].expression", "apps/v1, Kind=Deployment", "undefined field 'replicaz'")
    assert warning.offset == len("object.metadata.name != '' && object.spec")  # the '.' before the field
    assert warning.line_column == (1, 42)
    assert warning.path == ("spec", "validations", 0, "expression")
    assert warning.text() == ("ERROR: <input>:1:42: undefined field 'replicaz'\n"
                              " | object.metadata.name != '' && object.spec.replicaz > 1\n"
                              " | " + "." * 41 + "^")


def test_a_correct_policy_has_no_warnings(core):
    doc = policy([
        "object.spec.replicas >= 1 && object.metadata.name.startsWith('m')",
        "object.spec.template.spec.containers.all(c, has(c.image) && !c.image.endsWith(':latest'))",
        "object.metadata.labels.all(k, object.metadata.labels[k].size() < 64) && 'team' in object.metadata.labels",
        "!has(object.spec.strategy.rollingUpdate) || object.spec.strategy.rollingUpdate.maxSurge != '0%'",
        "object.metadata.namespace != 'default' && object.apiVersion == 'apps/v1' && object.kind == 'Deployment'",
        "object.metadata.creationTimestamp < timestamp('2100-01-01T00:00:00Z') || oldObject == null",
        "request.operation == 'CREATE' && request.userInfo.groups.exists(g, g == 'a') || true",
        "namespaceObject.metadata.labels['env'] == 'prod' || namespaceObject.status.phase == 'Active'",
        {"expression": "object.spec.replicas < 100",
         "messageExpression": "'replicas: ' + string(object.spec.replicas)"},
    ])
    assert tc.check_policy(doc, core) == []


def test_list_and_map_elements_are_typed(core):
    doc = policy([
        "object.spec.template.spec.containers[0].imagez == 'x'",
        "object.spec.template.spec.containers.exists(c, c.ports.exists(p, p.containerPortz == 80))",
        "object.metadata.labels.all(k, object.metadata.labels[k] == 1)",
        "object.spec.template.spec.containers.name == 'a'",
        "object.metadata.labels[0] == 'a'",
        "object.spec.selector.matchLabels.app == 1",
    ])
    assert found(doc, core) == [
        ("spec.validations[0].expression", "apps/v1, Kind=Deployment", (1, 40), "undefined field 'imagez'"),
        ("spec.validations[1].expression", "apps/v1, Kind=Deployment", (1, 67), "undefined field 'containerPortz'"),
        ("spec.validations[2].expression", "apps/v1, Kind=Deployment", (1, 57),
         "found no matching overload for '_==_' applied to '(string, int)'"),
        ("spec.validations[3].expression", "apps/v1, Kind=Deployment", (1, 37),
         "type 'list(Deployment.spec.template.spec.containers.@idx)' does not support field selection"),
        ("spec.validations[4].expression", "apps/v1, Kind=Deployment", (1, 23),
         "found no matching overload for '_[_]' applied to '(map(string, string), int)'"),
        ("spec.validations[5].expression", "apps/v1, Kind=Deployment", (1, 38),
         "found no matching overload for '_==_' applied to '(string, int)'"),
    ]


def test_has_and_optional_selection_check_the_field(core):
    """A has() is reported at its '(' (where the macro is), as Kubernetes does."""
    doc = policy(["has(object.spec.replicaz)", "object.spec.template.spec.?nodeSelectorz.hasValue()",
                  "has(object.metadata.labels.anything)"])
    assert found(doc, core) == [
        ("spec.validations[0].expression", "apps/v1, Kind=Deployment", (1, 4), "undefined field 'replicaz'"),
        ("spec.validations[1].expression", "apps/v1, Kind=Deployment", (1, 26), "undefined field 'nodeSelectorz'"),
    ]


def test_no_matching_overload_for_known_types(core):
    doc = policy([
        "object.spec.replicas == 'a'",
        "object.metadata.creationTimestamp > 5",
        "object.spec.minReadySeconds.foo == 1",
        "object['spec'] == 1",
        "object.spec.template.spec.containers.exists_one(c, c.ports)",
        "object.spec.replicas.startsWith('1')",
        "size(object.spec.replicas) > 0",
    ])
    assert messages(doc, core) == [
        "found no matching overload for '_==_' applied to '(int, string)'",
        "found no matching overload for '_>_' applied to '(timestamp, int)'",
        "type 'int' does not support field selection",
        "found no matching overload for '_[_]' applied to '(Deployment, string)'",
        "found no matching overload for '_?_:_' applied to "
        "'(list(Deployment.spec.template.spec.containers.@idx.ports.@idx), int, int)'",
        "found no matching overload for 'startsWith' applied to 'int.(string)'",
        "found no matching overload for 'size' applied to '(int)'",
    ]


def test_literals_and_format_calls_are_validated(core):
    """cel-go's AST validators run when the check finds no error: list and map literals must be
    homogeneous in their checked types (int and dyn differ), format clauses must fit their arguments."""
    doc = policy([
        "[object.spec.replicas, object.spec.strategy.rollingUpdate.maxSurge].size() > 0",
        "{'a': object.spec.replicas, 'b': object.metadata.name}.size() > 0 && object.spec.replicaz > 0",
        "'%d replicas'.format([object.metadata.name]) != ''",
        "'%s'.format([object.spec]) != ''",
    ])
    assert found(doc, core) == [
        ("spec.validations[0].expression", "apps/v1, Kind=Deployment", (1, 58), "expected type 'int' but found 'dyn'"),
        ("spec.validations[1].expression", "apps/v1, Kind=Deployment", (1, 81), "undefined field 'replicaz'"),
        ("spec.validations[2].expression", "apps/v1, Kind=Deployment", (1, 38),
         "error during formatting: decimal clause can only be used on integers, was given string"),
        ("spec.validations[3].expression", "apps/v1, Kind=Deployment", (1, 20),
         "error during formatting: string clause can only be used on strings, bools, bytes, ints, doubles, maps, "
         "lists, types, durations, and timestamps, was given Deployment.spec"),
    ]


def test_creation_errors_are_what_the_api_server_refuses():
    """With object untyped, as when the policy is created (verified against kube-apiserver)."""
    doc = policy([
        "object.spec.paused",
        "request.userinfo.username == 'a'",
        "cel.bind(v, 1, v > 0)",
        "[object.a, 1].size() > 0",
        {"expression": "variables.m['a'] == 'x'", "messageExpression": "object.metadata.name"},
        "params.x == 1",
    ], variables=[("m", "{'a': 1}")])
    doc["spec"]["matchConditions"] = [{"name": "c", "expression": "variables.m.size() > 0"}]
    got = [(w.field_ref, w.line_column if w.offset is not None else None, w.message)
           for w in tc.creation_errors(doc)]
    assert got == [
        ("spec.matchConditions[0].expression", (1, 1), "undeclared reference to 'variables' (in container '')"),
        ("spec.validations[0].expression", None, "must evaluate to bool but got dyn"),
        ("spec.validations[1].expression", (1, 8), "undefined field 'userinfo'"),
        ("spec.validations[2].expression", (1, 1), "undeclared reference to 'cel' (in container '')"),
        ("spec.validations[3].expression", (1, 12), "expected type 'dyn' but found 'int'"),
        ("spec.validations[4].expression", (1, 18), "found no matching overload for '_==_' applied to '(int, string)'"),
        ("spec.validations[4].messageExpression", None, "must evaluate to string but got dyn"),
        ("spec.validations[5].expression", (1, 1), "undeclared reference to 'params' (in container '')"),
    ]
    assert tc.creation_errors(policy(["object.spec.replicas > 1"])) == []


def test_dyn_never_warns(core):
    doc = policy([
        "object.spec.strategy.rollingUpdate.maxSurge == 'x' || object.spec.strategy.rollingUpdate.maxSurge > 1",
        "dyn(object.spec.replicas) == 'a'",
        "request.options.anything.goes == 1",
    ])
    assert tc.check_policy(doc, core) == []


def test_what_kubernetes_does_not_expose(core):
    """Quantity maps (resources.limits) have no CEL type, so Kubernetes reports the field as undefined."""
    doc = policy(["object.spec.template.spec.containers.all(c, c.resources.limits['cpu'] != '')"])
    assert messages(doc, core) == ["undefined field 'limits'"]


def test_messages_are_kube_controller_managers(core):
    doc = policy([
        "object.spec.replicaz > 1",
        {"expression": "object.spec.replicas > 0", "messageExpression": "'x' + object.spec.replicas"},
        "object.spec.template.spec.containers.map(c, c.name).exists(n, n == 1)",
    ])
    assert tc.expression_warnings(doc, core) == [
        {"fieldRef": "spec.validations[0].expression",
         "warning": "apps/v1, Kind=Deployment: ERROR: <input>:1:12: undefined field 'replicaz'\n"
                    " | object.spec.replicaz > 1\n | ...........^\n"},
        {"fieldRef": "spec.validations[1].messageExpression",
         "warning": "apps/v1, Kind=Deployment: ERROR: <input>:1:5: found no matching overload for '_+_' applied to "
                    "'(string, int)'\n | 'x' + object.spec.replicas\n | ....^\n"},
        {"fieldRef": "spec.validations[2].expression",
         "warning": "apps/v1, Kind=Deployment: ERROR: <input>:1:65: found no matching overload for '_==_' applied to "
                    "'(string, int)'\n | object.spec.template.spec.containers.map(c, c.name).exists(n, n == 1)\n"
                    " | ................................................................^\n"},
    ]


def test_positions_count_code_points_and_lines(core):
    """Verified against kube-controller-manager: wide dots under non-ASCII characters, tabs as spaces."""
    doc = policy(["'üñï' == object.metadata.name && object.spec.replicaz > 1",
                  "object.metadata.name == 'a' &&\n\tobject.spec.replicaz > 1"])
    first, second = tc.check_policy(doc, core)
    assert first.text() == ("ERROR: <input>:1:45: undefined field 'replicaz'\n"
                            " | 'üñï' == object.metadata.name && object.spec.replicaz > 1\n"
                            " | .\uff0e\uff0e\uff0e" + "." * 40 + "^")
    assert second.text() == ("ERROR: <input>:2:13: undefined field 'replicaz'\n"
                             " |  object.spec.replicaz > 1\n | ............^")


# --- kinds ----------------------------------------------------------------------------------------

def test_every_matched_kind_is_checked_in_order(core):
    doc = policy(["object.spec.replicas > 0"], rules=[DEPLOYMENTS, SERVICES])
    assert tc.kinds_to_check(doc, core) == [("", "v1", "Service"), ("apps", "v1", "Deployment")]
    assert found(doc, core) == [("spec.validations[0].expression", "/v1, Kind=Service", (1, 12),
                                 "undefined field 'replicas'")]


@pytest.mark.parametrize("rule", [
    {"apiGroups": ["*"], "apiVersions": ["v1"], "resources": ["deployments"]},
    {"apiGroups": ["apps"], "apiVersions": ["*"], "resources": ["deployments"]},
    {"apiGroups": ["apps"], "apiVersions": ["v1"], "resources": ["*"]},
    {"apiGroups": ["apps"], "apiVersions": ["v1"], "resources": ["deployments/status"]},
    {"apiGroups": ["example.com"], "apiVersions": ["v1"], "resources": ["widgets"]},  # no schema
])
def test_wildcards_subresources_and_unknown_kinds_are_not_checked(core, rule):
    doc = policy(["object.spec.replicaz > 1"], rules=[rule])
    assert tc.kinds_to_check(doc, core) == []
    assert tc.check_policy(doc, core) == []


def test_at_most_ten_kinds_are_checked(core):
    rule = {"apiGroups": [""], "apiVersions": ["v1"],
            "resources": ["pods", "services", "configmaps", "secrets", "serviceaccounts", "namespaces", "endpoints",
                          "persistentvolumeclaims", "persistentvolumes", "resourcequotas", "limitranges", "nodes"]}
    assert len(tc.kinds_to_check(policy(["true"], rules=[rule]), core)) == tc.MAX_TYPES_TO_CHECK


# --- variables, params ----------------------------------------------------------------------------

def test_variables_are_typed_by_their_expressions(core):
    doc = policy([
        "variables.n == 'a'",
        "variables.s.replicaz == 1 && variables.l.all(x, x.foo == 1)",  # struct types become dyn
        "variables.bad == 1",  # a variable that does not check is dyn (and not reported)
        "variables.m['a'] == 1 && variables.names.exists(n, n == 2)",
    ], variables=[("n", "object.spec.replicas"), ("s", "object.spec"), ("l", "object.spec.template.spec.containers"),
                  ("bad", "object.spec.replicaz"), ("m", "{'a': 1}"),
                  ("names", "object.spec.template.spec.containers.map(c, c.name)")])
    assert found(doc, core) == [
        ("spec.validations[0].expression", "apps/v1, Kind=Deployment", (1, 13),
         "found no matching overload for '_==_' applied to '(int, string)'"),
        ("spec.validations[3].expression", "apps/v1, Kind=Deployment", (1, 54),
         "found no matching overload for '_==_' applied to '(string, int)'"),
    ]


def test_params_are_typed_by_param_kind(core):
    doc = policy(["params.data.max == 1", "params.dataz == null", "params.binaryData['a'] == 'x'",
                  "'max' in params.data && int(params.data.max) > 1"], param_kind=CONFIGMAP_PARAMS)
    assert messages(doc, core) == [
        "found no matching overload for '_==_' applied to '(string, int)'",
        "undefined field 'dataz'",
        "found no matching overload for '_==_' applied to '(bytes, string)'",
    ]


def test_params_of_a_kind_without_schema_are_dyn(core):
    doc = policy(["params.anything == 1"], param_kind={"apiVersion": "example.com/v1", "kind": "Widget"})
    assert tc.check_policy(doc, core) == []


# --- custom resources -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def catalog() -> tc.SchemaSource:
    """What `mlgitops validate` reads: ../shared/schemas (kubeconform layout), then core kinds."""
    require_shared("schemas")
    from mlgitops.validate.registry import SchemaRegistry

    registry = SchemaRegistry(["../shared/schemas/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json",
                               "default"], repo_root=str(REPO_ROOT), kubernetes_version=K8S, strict=True)
    return tc.SchemaSource.from_registry(registry)


def test_custom_resources_are_typed_as_the_server_publishes_them(catalog):
    rules = [{"apiGroups": ["serving.kserve.io"], "apiVersions": ["v1beta1"], "resources": ["inferenceservices"]}]
    doc = policy([
        "object.spec.predictor.minReplicas >= 1 && object.spec.predictor.model.storageUri.startsWith('s3://')",
        "object.metadata.labels['team'] != '' && object.metadata.namespace != ''",  # metadata is ObjectMeta
        "object.spec.predictor.minReplicaz >= 1",
        "object.metadata.labelz == null",
    ], rules=rules)
    assert found(doc, catalog) == [
        ("spec.validations[2].expression", "serving.kserve.io/v1beta1, Kind=InferenceService", (1, 22),
         "undefined field 'minReplicaz'"),
        ("spec.validations[3].expression", "serving.kserve.io/v1beta1, Kind=InferenceService", (1, 16),
         "undefined field 'labelz'"),
    ]


# A custom resource with the corners of Kubernetes' schema-to-CEL conversion (common/schemas.go):
# escaped and reserved property names, int-or-string, x-kubernetes-preserve-unknown-fields with and
# without a type, embedded resources, string formats, maps and lists of typed and untyped values.
WIDGET_PROPERTIES = {
    "dash-name": {"type": "string"}, "dot.name": {"type": "string"}, "slash/name": {"type": "string"},
    "dunder__name": {"type": "string"}, "namespace": {"type": "string"}, "in": {"type": "integer"},
    "ios": {"x-kubernetes-int-or-string": True, "anyOf": [{"type": "integer"}, {"type": "string"}]},
    "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
    "untyped": {"x-kubernetes-preserve-unknown-fields": True},
    "emb": {"type": "object", "x-kubernetes-embedded-resource": True, "x-kubernetes-preserve-unknown-fields": True},
    "embp": {"type": "object", "x-kubernetes-embedded-resource": True,
             "properties": {"spec": {"type": "object", "properties": {"a": {"type": "string"}}}}},
    "when": {"type": "string", "format": "date-time"}, "day": {"type": "string", "format": "date"},
    "dur": {"type": "string", "format": "duration"}, "blob": {"type": "string", "format": "byte"},
    "num": {"type": "number"}, "flag": {"type": "boolean"},
    "m": {"type": "object", "additionalProperties": {"type": "integer"}},
    "mu": {"type": "object", "additionalProperties": {"x-kubernetes-preserve-unknown-fields": True}},
    "mios": {"type": "object", "additionalProperties": {"x-kubernetes-int-or-string": True,
                                                        "anyOf": [{"type": "integer"}, {"type": "string"}]}},
    "l": {"type": "array", "items": {"type": "object", "properties": {"k": {"type": "string"}}}},
    "lu": {"type": "array", "items": {"x-kubernetes-preserve-unknown-fields": True}},
    "ll": {"type": "array", "items": {"type": "array", "items": {"type": "integer"}}},
    "lm": {"type": "array", "items": {"type": "object", "additionalProperties": {"type": "string"}}},
    "obj": {"type": "object", "properties": {"x": {"type": "string"}}, "required": ["x"]},
    "meta": {"type": "object",
             "properties": {"metadata": {"type": "object", "properties": {"name": {"type": "string"}}}}},
}
WIDGET_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {"group": "example.com", "scope": "Namespaced",
             "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
             "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                 "type": "object", "properties": {
                     "spec": {"type": "object", "properties": WIDGET_PROPERTIES},
                     "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}}}]},
}
WIDGETS = {"apiGroups": ["example.com"], "apiVersions": ["v1"], "resources": ["widgets"], "operations": ["CREATE"]}
OVERLOAD = "found no matching overload for '_==_' applied to "
# (expression, (column, message) kube-controller-manager reports, or None)
WIDGET_CASES = [
    ("object.spec.dash__dash__name == 'a'", None),
    ("object.spec.dash_name == 'a'", (12, "undefined field 'dash_name'")),
    ("object.spec.dot__dot__name == 1", (28, OVERLOAD + "'(string, int)'")),
    ("object.spec.slash__slash__name == 1", (32, OVERLOAD + "'(string, int)'")),
    ("object.spec.dunder__underscores__name == 1", (39, OVERLOAD + "'(string, int)'")),
    ("object.spec.dunder__name == 'a'", (12, "undefined field 'dunder__name'")),
    ("object.spec.namespace == 1", (23, OVERLOAD + "'(string, int)'")),
    ("object.spec.__namespace__ == 1", (27, OVERLOAD + "'(string, int)'")),
    ("object.spec.__in__ == 'a'", (20, OVERLOAD + "'(int, string)'")),
    ("object.spec.ios == 1 || object.spec.ios == 'a'", None),
    ("object.spec.free.x == 1", (17, "undefined field 'x'")),
    ("has(object.spec.free)", None),
    ("object.spec.untyped == 1", (12, "undefined field 'untyped'")),
    ("object.spec.emb.metadata.name == 1", (31, OVERLOAD + "'(string, int)'")),
    ("object.spec.emb.kind == 1", (22, OVERLOAD + "'(string, int)'")),
    ("object.spec.emb.metadata.labels == null", (33, OVERLOAD + "'(map(string, string), null)'")),
    ("object.spec.emb.spec == 1", (16, "undefined field 'spec'")),
    ("object.spec.embp.spec.a == 1", (25, OVERLOAD + "'(string, int)'")),
    ("object.spec.embp.apiVersion == 1", (29, OVERLOAD + "'(string, int)'")),
    ("object.spec.embp.metadata.namespace == 1", (37, OVERLOAD + "'(string, int)'")),
    ("object.spec.when == 'x'", (18, OVERLOAD + "'(timestamp, string)'")),
    ("object.spec.day == 'x'", (17, OVERLOAD + "'(timestamp, string)'")),
    ("object.spec.dur == 'x'", (17, OVERLOAD + "'(duration, string)'")),
    ("object.spec.blob == 'x'", (18, OVERLOAD + "'(bytes, string)'")),
    ("object.spec.num == 1", (17, OVERLOAD + "'(double, int)'")),
    ("object.spec.flag == 1", (18, OVERLOAD + "'(bool, int)'")),
    ("object.spec.m['a'] == 'x'", (20, OVERLOAD + "'(int, string)'")),
    ("object.spec.mu['a'] == 'x'", (12, "undefined field 'mu'")),
    ("object.spec.mios['a'] == 1", None),
    ("object.spec.l[0].k == 1", (20, OVERLOAD + "'(string, int)'")),
    ("object.spec.lu[0] == 1", (12, "undefined field 'lu'")),
    ("object.spec.ll[0][0] == 'a'", (22, OVERLOAD + "'(int, string)'")),
    ("object.spec.lm[0]['a'] == 1", (24, OVERLOAD + "'(string, int)'")),
    ("object.spec.obj.x == 1", (19, OVERLOAD + "'(string, int)'")),
    ("object.spec.meta.metadata.name == 1", (32, OVERLOAD + "'(string, int)'")),
    ("object.status.x == 1", (14, "undefined field 'x'")),
    ("object.metadata.labels['a'] == 1", (29, OVERLOAD + "'(string, int)'")),
    ("object.metadata.creationTimestamp == 'x'", (35, OVERLOAD + "'(timestamp, string)'")),
    ("object.metadata.managedFields[0].fieldsV1.x == 1", (42, "undefined field 'x'")),
    ("object.metadata.ownerReferences[0].uid == 1", (40, OVERLOAD + "'(string, int)'")),
    ("object.metadata.generation == 'x'", (28, OVERLOAD + "'(int, string)'")),
    ("object.kind == 1", (13, OVERLOAD + "'(string, int)'")),
    ("object.apiVersion == 1", (19, OVERLOAD + "'(string, int)'")),
]


def widget_policy() -> dict:
    return policy([e for e, _ in WIDGET_CASES], rules=[WIDGETS])


def test_schema_corners_are_typed_as_kubernetes_types_them():
    """Escaped names (`dash-name` is `dash__dash__name`, `.namespace` finds `__namespace__`),
    int-or-string is dyn, unknown fields are not fields, a property with no type (or a map or list
    of them) does not exist, an embedded resource has apiVersion, kind and ObjectMeta, string
    formats are timestamp/duration/bytes; metadata is ObjectMeta. Verified with kube-controller-manager."""
    source = tc.SchemaSource.from_crds([WIDGET_CRD], kubernetes_version=K8S, core=False)
    got = {w.field_ref: (w.line_column[1], w.message) for w in tc.check_policy(widget_policy(), source)}
    assert [got.get(f"spec.validations[{i}].expression") for i in range(len(WIDGET_CASES))] == \
        [expected for _, expected in WIDGET_CASES]


def test_a_schema_source_can_be_any_lookup():
    schema = {"type": "object", "properties": {"spec": {"type": "object", "properties": {"size": {"type": "integer"}}}}}
    source = tc.SchemaSource(lambda api_version, kind: schema if (api_version, kind) == ("example.com/v1", "Gadget")
                             else None, resources={("example.com", "gadgets"): "Gadget"}, kubernetes_version=K8S)
    doc = policy(["object.spec.size == 'big'", "object.metadata.name == 'a'"],
                 rules=[{"apiGroups": ["example.com"], "apiVersions": ["v1"], "resources": ["gadgets"]}])
    assert messages(doc, source) == ["found no matching overload for '_==_' applied to '(int, string)'"]


# --- the pieces -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "escaped"), [
    ("replicas", "replicas"), ("dash-name", "dash__dash__name"), ("a.b/c", "a__dot__b__slash__c"),
    ("x__y", "x__underscores__y"), ("namespace", "__namespace__"), ("in", "__in__"), ("1abc", None),
    ("a b", None), ("", None),
])
def test_escape(name, escaped):
    assert tc.escape(name) == escaped


def test_the_decoded_tree_keeps_ids_offsets_and_literal_kinds():
    tree = compile_expression("object.spec.x > 1u && [?optional.none()].size() == 0", check_cost=False).tree
    nodes = []

    def walk(node: celcost.Node) -> None:
        nodes.append(node)
        for child in node.children:
            walk(child)
    walk(tree)
    assert len({n.id for n in nodes}) == len(nodes)
    select = next(n for n in nodes if n.kind == "select" and n.name == "x")
    assert select.offset == len("object.spec")
    assert {n.const_kind for n in nodes if n.kind == "const"} == {"uint", "int"}
    assert next(n for n in nodes if n.kind == "list").optional == (0,)
    assert next(n for n in nodes if n.name == "size").member


def test_types_are_built_once_per_kind(core):
    assert core.object_type(("apps", "v1", "Deployment")) is core.object_type(("apps", "v1", "Deployment"))
    assert core.object_type(("example.com", "v1", "Nothing")) is False


def test_the_builtin_policies_check(catalog):
    """Every policy of policies/ type-checks without an exception; the warnings are Kubernetes'
    (tests/test_apiserver_typecheck.py compares them with the real controller)."""
    import yaml

    docs = [d for path in sorted((REPO_ROOT / "policies").glob("*.yaml"))
            for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict)
            and d.get("kind") == "ValidatingAdmissionPolicy"]
    assert len(docs) >= 14
    for doc in docs:
        for warning in tc.check_policy(doc, catalog):
            assert warning.field_ref.startswith("spec.validations[")
            json.dumps(tc.expression_warnings(doc, catalog))


# --- through load_policies: what `mlgitops policy check/test` report ------------------------------

TYPO_POLICY = """\
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: typo
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
    - apiGroups: [apps]
      apiVersions: [v1]
      resources: [deployments]
      operations: [CREATE, UPDATE]
  validations:
  - expression: "object.spec.replicaz > 0 && object.spec.replicas > 0"
    reason: Invalid
    message: m
  - expression: object.spec.paused
    reason: Invalid
    message: m
"""


def _load(tmp_path, text: str, *locations: str):
    from mlgitops.policy.load import load_policies

    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "p.yaml").write_text(text)
    return load_policies(str(tmp_path / "policies"), str(tmp_path), schema_locations=locations)


def test_load_reports_the_type_checker_at_the_expression_and_refuses_what_the_server_refuses(tmp_path):
    pset = _load(tmp_path, TYPO_POLICY)
    found = [(d.line, d.column, d.rule, d.severity) for d in pset.diagnostics]
    messages = [d.message for d in pset.diagnostics]
    # the select of 'replicaz' is at the dot before it (as cel-go reports it), column 29 of line 14
    assert (14, 29, "policy.type-check", "warning") not in found  # the policy is refused first ...
    assert (17, 17, "policy.syntax", "error") in found, messages  # ... for a non-bool validation
    assert any("must evaluate to bool" in m for m in messages)
    assert pset.policies == []


def test_load_reports_an_undefined_field_for_the_matched_kind(tmp_path):
    text = TYPO_POLICY.replace("  - expression: object.spec.paused\n", "  - expression: object.spec.paused == true\n")
    pset = _load(tmp_path, text)
    found = [(d.line, d.column, d.rule, d.severity) for d in pset.diagnostics]
    assert found == [(14, 29, "policy.type-check", "warning")], [str(d) for d in pset.diagnostics]
    assert "apps/v1, Kind=Deployment: undefined field 'replicaz'" in list(pset.diagnostics)[0].message
    assert [p.name for p in pset.policies] == ["typo"]  # a warning, as on the server: the policy runs


def test_the_builtin_policies_are_type_clean_with_the_crd_schemas():
    from mlgitops.policy.load import load_policies

    catalog = require_shared("schemas")
    location = str(catalog) + "/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json"
    pset = load_policies(str(REPO_ROOT / "policies"), str(REPO_ROOT), schema_locations=[location, "default"])
    assert len(pset.policies) == len(list((REPO_ROOT / "policies").glob("*.yaml")))  # one policy per file
    assert [str(d) for d in pset.diagnostics] == []
    # and the checker did look at the custom kinds: a typo in one of them is found
    source = tc.SchemaSource.from_registry(__import__("mlgitops.validate.registry", fromlist=["x"]).SchemaRegistry(
        [location, "default"], repo_root=str(REPO_ROOT), kubernetes_version=K8S, strict=False))
    isvc = {"apiGroups": ["serving.kserve.io"], "apiVersions": ["v1beta1"], "resources": ["inferenceservices"],
            "operations": ["CREATE"]}
    warnings = tc.check_policy(policy(["has(object.spec.predictr)"], rules=[isvc]), source)
    assert [w.message for w in warnings] == ["undefined field 'predictr'"]
