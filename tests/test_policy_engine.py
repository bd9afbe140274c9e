"""The policy engine: loading, matching, evaluation, severities, parameters, bad policies, waivers.

Policies are written into tmp directories; objects come from the example repository (rendered
overlays) or are built inline. Positions are computed from the files, never hard-coded.
"""

from __future__ import annotations

import datetime
import shutil
import textwrap
from pathlib import Path

import pytest
import yaml

from mlgitops.diagnostics import ERROR, INFO, WARNING
from mlgitops.policy.check import check, run_policy
from mlgitops.policy.load import load_policies, parse_field_path
from mlgitops.policy.match import Target, namespace_labels, resource_of

REPO = Path(__file__).resolve().parents[1]


def without_waivers(text: str) -> str:
    """A model file's text without its `policyExceptions:` block (the tests bring their own)."""
    out, skipping = [], False
    for line in text.split("\n"):
        indent = len(line) - len(line.lstrip(" "))
        if line.strip() == "policyExceptions:" and indent == 2:
            skipping = True
            continue
        if skipping and line.strip() and indent <= 2:
            skipping = False
        if not skipping:
            out.append(line)
    return "\n".join(out)


def copy_example(root: Path) -> Path:
    """The example repository (sources and committed output) without the models' own waivers, its
    output rebuilt (a waiver also labels the generated objects)."""
    from mlgitops.pipeline import build

    root.mkdir(parents=True)
    for name in ("mlgitops.yaml", "models", "base", "overlays", "argocd"):
        src = REPO / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, root / name)
    waived = False
    for model in (root / "models").glob("*.yaml"):
        text = model.read_text()
        model.write_text(without_waivers(text))
        waived = waived or without_waivers(text) != text
    if waived:
        result = build(str(root), use_cache=False)
        assert not result.diagnostics.has_errors, [d.format() for d in result.diagnostics]
    return root


@pytest.fixture(scope="module")
def example(tmp_path_factory) -> Path:
    return copy_example(tmp_path_factory.mktemp("example") / "repo")


SCOPED = "matchResources:\n  objectSelector:\n    matchLabels: {app.kubernetes.io/managed-by: mlgitops}\n"


def policy_doc(name: str, validations: str, *, rules: str | None = None, extra: str = "",
               binding: str | None = None, field_paths: list[str] | None = None) -> str:
    """A ValidatingAdmissionPolicy (and its binding when given) as YAML text. `field_paths`: the
    lines of its mlgitops.dev/field-paths annotation. A binding without matchResources is scoped
    to the objects mlgitops manages (SCOPED), as policy.unscoped-binding wants."""
    annotations = "" if field_paths is None else \
        "  annotations:\n    mlgitops.dev/field-paths: |-\n" + "".join(f"      {p}\n" for p in field_paths)
    rules = rules or """
      - apiGroups: [serving.kserve.io]
        apiVersions: ["*"]
        resources: [inferenceservices]
        operations: [CREATE, UPDATE]"""
    text = textwrap.dedent(f"""\
        apiVersion: admissionregistration.k8s.io/v1
        kind: ValidatingAdmissionPolicy
        metadata:
          name: {name}
        {{annotations}}spec:
          failurePolicy: Fail
          matchConstraints:
            resourceRules:{textwrap.indent(textwrap.dedent(rules), '            ')}
        """).replace("{annotations}", annotations)
    if extra:
        text += textwrap.indent(textwrap.dedent(extra), "  ")
    text += "  validations:\n" + textwrap.indent(textwrap.dedent(validations), "  ")
    if binding is not None:
        binding = textwrap.dedent(binding)
        binding += "" if "matchResources" in binding else SCOPED
        text += textwrap.dedent(f"""\
            ---
            apiVersion: admissionregistration.k8s.io/v1
            kind: ValidatingAdmissionPolicyBinding
            metadata:
              name: {name}
            spec:
              policyName: {name}
            """) + textwrap.indent(binding, "  ")
    return text


def write(directory: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = directory / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return directory


def line_of(path: Path, needle: str, nth: int = 0) -> int:
    lines = [i for i, line in enumerate(path.read_text().split("\n"), 1) if needle in line]
    return lines[nth]


ALWAYS_FALSE = """\
- expression: "false"
  message: always fails
"""

ISVC = {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
        "metadata": {"name": "demo", "namespace": "ml-prod",
                     "labels": {"team": "a", "app.kubernetes.io/managed-by": "mlgitops"}},
        "spec": {"predictor": {"minReplicas": 1, "maxReplicas": 4,
                               "model": {"modelFormat": {"name": "sklearn"}, "storageUri": "gs://b/m"}}}}


def outcomes(tmp_path: Path, text: str, obj: dict = ISVC, others: tuple = (), params: dict | None = None):
    write(tmp_path / "pol", {"p.yaml": text})
    pset = load_policies(str(tmp_path / "pol"), str(tmp_path))
    assert not pset.diagnostics.has_errors, [d.format() for d in pset.diagnostics]
    target = Target(obj, namespace_labels([obj, *others]))
    return [o for _, o in run_policy(pset.policies[0], target, pset, params)]


def verdict(tmp_path: Path, text: str, obj: dict = ISVC, others: tuple = ()) -> str:
    found = outcomes(tmp_path, text, obj, others)
    if not found or not any(o.matched for o in found):
        return "skip"
    return "fail" if any(o.violations for o in found) else "pass"


# --- matching ------------------------------------------------------------------------------------

@pytest.mark.parametrize("rule, expected", [
    ("apiGroups: [serving.kserve.io]\n  apiVersions: ['*']\n  resources: [inferenceservices]", "fail"),
    ("apiGroups: [apps]\n  apiVersions: ['*']\n  resources: [inferenceservices]", "skip"),
    ("apiGroups: ['*']\n  apiVersions: [v1alpha1]\n  resources: [inferenceservices]", "skip"),
    ("apiGroups: ['*']\n  apiVersions: [v1beta1]\n  resources: ['*']", "fail"),
    ("apiGroups: ['*']\n  apiVersions: ['*']\n  resources: ['*/*']", "fail"),
    ("apiGroups: ['*']\n  apiVersions: ['*']\n  resources: [inferenceservice]", "skip"),
    ("apiGroups: ['*']\n  apiVersions: ['*']\n  resources: [inferenceservices/status]", "skip"),
    ("apiGroups: ['*']\n  apiVersions: ['*']\n  resources: ['*']\n  operations: [UPDATE]", "skip"),
    ("apiGroups: ['*']\n  apiVersions: ['*']\n  resources: ['*']\n  operations: [CREATE]", "fail"),
    ("apiGroups: ['*']\n  apiVersions: ['*']\n  resources: ['*']\n  operations: ['*']", "fail"),
    ("apiGroups: ['*']\n  apiVersions: ['*']\n  resources: ['*']\n  resourceNames: [other]", "skip"),
    ("apiGroups: ['*']\n  apiVersions: ['*']\n  resources: ['*']\n  resourceNames: [demo]", "fail"),
])
def test_resource_rules(tmp_path, rule, expected):
    if "operations" not in rule:  # the API server requires them
        rule += "\n  operations: ['*']"
    text = policy_doc("p", ALWAYS_FALSE, rules="\n- " + rule)
    assert verdict(tmp_path, text) == expected


def test_resource_names_of_kinds():
    assert resource_of("argoproj.io", "Rollout") == "rollouts"
    assert resource_of("autoscaling", "HorizontalPodAutoscaler") == "horizontalpodautoscalers"
    assert resource_of("networking.k8s.io", "Ingress") == "ingresses"
    assert resource_of("example.com", "Policy") == "policies"
    assert resource_of("example.com", "Gateway") == "gateways"
    assert resource_of("example.com", "Box") == "boxes"


SELECTOR_RULES = "\n- apiGroups: ['*']\n  apiVersions: ['*']\n  resources: ['*']\n  operations: ['*']"


def with_selector(selector: str) -> str:
    text = policy_doc("p", ALWAYS_FALSE, rules=SELECTOR_RULES)
    return text.replace("    resourceRules:", textwrap.indent(textwrap.dedent(selector), "    ") + "    resourceRules:")


def test_namespace_selector_uses_name_label_and_namespace_objects(tmp_path):
    by_name = with_selector("namespaceSelector:\n  matchLabels: {kubernetes.io/metadata.name: ml-prod}\n")
    assert verdict(tmp_path, by_name) == "fail"
    by_label = with_selector("namespaceSelector:\n  matchExpressions:\n"
                             "  - {key: tier, operator: In, values: [gold]}\n")
    assert verdict(tmp_path, by_label) == "skip"
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ml-prod", "labels": {"tier": "gold"}}}
    assert verdict(tmp_path, by_label, others=(namespace,)) == "fail"
    absent = with_selector("namespaceSelector:\n  matchExpressions:\n  - {key: tier, operator: DoesNotExist}\n")
    assert verdict(tmp_path, absent, others=(namespace,)) == "skip"


def test_cluster_scoped_objects_match_any_namespace_selector(tmp_path):
    text = with_selector("namespaceSelector:\n  matchLabels: {tier: gold}\n")
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "r"}}
    assert verdict(tmp_path, text, obj=role) == "fail"


def test_exclude_resource_rules(tmp_path):
    exclude = "excludeResourceRules:\n- apiGroups: [serving.kserve.io]\n  apiVersions: ['*']\n" \
              "  resources: [inferenceservices]\n  operations: ['*']\n  resourceNames: [{}]\n"
    assert verdict(tmp_path, with_selector(exclude.format("demo"))) == "skip"
    assert verdict(tmp_path, with_selector(exclude.format("other"))) == "fail"


def test_object_selector(tmp_path):
    assert verdict(tmp_path, with_selector("objectSelector:\n  matchLabels: {team: a}\n")) == "fail"
    assert verdict(tmp_path, with_selector("objectSelector:\n  matchLabels: {team: b}\n")) == "skip"
    assert verdict(tmp_path, with_selector(
        "objectSelector:\n  matchExpressions:\n  - {key: team, operator: NotIn, values: [a]}\n")) == "skip"


def test_binding_match_resources_narrow_the_policy(tmp_path):
    binding = """\
    validationActions: [Deny]
    matchResources:
      namespaceSelector:
        matchLabels: {kubernetes.io/metadata.name: ml-staging}
      objectSelector:
        matchLabels: {app.kubernetes.io/managed-by: mlgitops}
    """
    assert verdict(tmp_path, policy_doc("p", ALWAYS_FALSE, binding=binding)) == "skip"
    assert verdict(tmp_path, policy_doc("p", ALWAYS_FALSE, binding=binding.replace("ml-staging", "ml-prod"))) == "fail"


def test_match_conditions(tmp_path):
    false_first = """\
    matchConditions:
    - name: never
      expression: "object.metadata.name == 'other'"
    - name: broken
      expression: "object.spec.nope == 1"
    """
    assert verdict(tmp_path, policy_doc("p", ALWAYS_FALSE, extra=false_first)) == "skip"
    true_only = "matchConditions:\n- name: demo\n  expression: \"object.metadata.name == 'demo'\"\n"
    assert verdict(tmp_path, policy_doc("p", ALWAYS_FALSE, extra=true_only)) == "fail"
    broken = "failurePolicy: Ignore\nmatchConditions:\n- name: broken\n  expression: \"object.spec.nope == 1\"\n"
    found = outcomes(tmp_path, policy_doc("p", ALWAYS_FALSE, extra=broken).replace("  failurePolicy: Fail\n", ""))
    assert [f.severity for o in found for f in o.failures] == [WARNING]
    assert "nope" in found[0].failures[0].message


# --- evaluation ----------------------------------------------------------------------------------

def test_variables_see_earlier_variables(tmp_path):
    extra = """\
    variables:
    - name: predictor
      expression: object.spec.predictor
    - name: spread
      expression: variables.predictor.maxReplicas - variables.predictor.minReplicas
    """
    validations = "- expression: variables.spread <= 2\n  messageExpression: \"'spread ' + string(variables.spread)\"\n"
    found = outcomes(tmp_path, policy_doc("p", validations, extra=extra))
    assert [v.message for v in found[0].violations] == ["spread 3"]


def test_a_broken_variable_only_fails_the_validations_using_it(tmp_path):
    extra = "variables:\n- name: bad\n  expression: object.spec.missing.deeper\n"
    validations = """\
    - expression: variables.bad == 1
    - expression: object.metadata.name == 'other'
      message: wrong name
    """
    found = outcomes(tmp_path, policy_doc("p", validations, extra=extra))
    assert [v.message for v in found[0].violations] == ["wrong name"]
    assert [f.expression.what for f in found[0].failures] == ["variables[0] (bad)"]


def test_message_expression_and_its_fallbacks(tmp_path):
    validations = """\
    - expression: "false"
      messageExpression: "'name is ' + object.metadata.name"
      message: plain
    - expression: "false"
      messageExpression: "string(object.spec.nope)"
      message: fallback message
    - expression: "false"
      messageExpression: "''"
    - expression: "1 == 2"
    """
    found = outcomes(tmp_path, policy_doc("p", validations))
    assert [v.message for v in found[0].violations] == [
        "name is demo", "fallback message", "failed expression: false", "failed expression: 1 == 2"]


@pytest.mark.parametrize("text, used", [
    ("é" * 2560, True),  # 5,120 bytes: the API server's limit, still used
    ("é" * 2561, False),  # 5,122 bytes in 2,561 characters: over the limit, the static message instead
    ("  padded  ", True),
    ("two\nlines", False),
])
def test_a_message_expression_result_is_used_as_the_api_server_uses_it(tmp_path, text, used):
    obj = {**ISVC, "metadata": {**ISVC["metadata"], "annotations": {"m": text}}}
    validations = """\
    - expression: "false"
      messageExpression: "string(object.metadata.annotations['m'])"
      message: "  the static message  "
    """
    found = outcomes(tmp_path, policy_doc("p", validations), obj)
    assert [v.message for v in found[0].violations] == [text.strip() if used else "the static message"]


def test_a_validation_that_is_not_bool_is_refused_as_the_api_server_refuses_it(tmp_path):
    write(tmp_path / "pol", {"p.yaml": policy_doc("p", "- expression: object.metadata.name\n")})
    pset = load_policies(str(tmp_path / "pol"), str(tmp_path))
    assert pset.policies == []
    assert [(d.rule, d.message) for d in pset.diagnostics] == [
        ("policy.syntax", "spec.validations[0].expression: must evaluate to bool but got dyn "
                          "(the API server refuses the policy)")]


@pytest.mark.parametrize("text, expected", [
    ("spec.replicas", ("spec", "replicas")),
    ("spec.containers[0].image", ("spec", "containers", 0, "image")),
    ("metadata.labels['team']", ("metadata", "labels", "team")),
    ("metadata.annotations['mlgitops.dev/slo']", ("metadata", "annotations", "mlgitops.dev/slo")),
    ("spec..replicas", None),
    (".spec", None),
    ("spec[", None),
])
def test_parse_field_path(text, expected):
    assert parse_field_path(text) == expected


@pytest.mark.parametrize("actions, severity", [
    ("[Deny]", ERROR), ("[Warn]", WARNING), ("[Audit]", INFO), ("[Warn, Audit]", WARNING), ("[Deny, Audit]", ERROR),
])
def test_severity_from_validation_actions(tmp_path, actions, severity):
    found = outcomes(tmp_path, policy_doc("p", ALWAYS_FALSE, binding=f"validationActions: {actions}\n"))
    assert [v.severity for v in found[0].violations] == [severity]


def test_no_binding_means_deny(tmp_path):
    assert [v.severity for v in outcomes(tmp_path, policy_doc("p", ALWAYS_FALSE))[0].violations] == [ERROR]


# --- the example repository: source mapping, params, bad policies ------------------------------------

MAX_REPLICAS = policy_doc("max-replicas", """\
- expression: "!has(object.spec.predictor.maxReplicas) || object.spec.predictor.maxReplicas <= int(params.data.maxReplicas)"
  messageExpression: "'maxReplicas ' + string(object.spec.predictor.maxReplicas) + ' is above ' + params.data.maxReplicas"
""", extra="paramKind: {apiVersion: v1, kind: ConfigMap}\n", field_paths=["spec.predictor.maxReplicas"], binding="""\
validationActions: [Deny]
paramRef: {name: limits, namespace: mlgitops-policy, parameterNotFoundAction: Deny}
""")
LIMITS = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: limits, namespace: mlgitops-policy}\ndata:\n  maxReplicas: \"10\"\n"
NAMED = policy_doc("named", """\
- expression: object.metadata.name != 'fraud'
  message: fraud is not allowed
""")


def test_violation_maps_to_the_model_line(tmp_path, example):
    pol = write(tmp_path / "pol", {"max-replicas.yaml": MAX_REPLICAS, "params/limits.yaml": LIMITS})
    report = check([str(example / "overlays" / "prod")], str(example), str(pol))
    found = [d for d in report.diagnostics if d.rule == "policy.max-replicas"]
    model = example / "models" / "fraud.yaml"
    assert [(d.file, d.line, d.severity) for d in found] == [("models/fraud.yaml", line_of(model, "maxReplicas:"), ERROR)]
    assert found[0].message.startswith("InferenceService fraud (prod): maxReplicas ")
    assert report.evaluations == 4 and report.policies == 1 and report.objects > 4


def test_missing_params_name_the_policy_file_and_paramref_line_and_others_still_run(tmp_path, example):
    pol = write(tmp_path / "pol", {"max-replicas.yaml": MAX_REPLICAS, "named.yaml": NAMED})
    report = check([str(example / "overlays" / "prod")], str(example), str(pol))
    missing = [d for d in report.diagnostics if d.rule == "policy.params-missing"]
    assert len(missing) == 1
    assert (missing[0].file, missing[0].line) == (str(pol / "max-replicas.yaml"),
                                                  line_of(pol / "max-replicas.yaml", "paramRef:"))
    assert "ConfigMap mlgitops-policy/limits" in missing[0].message and "max-replicas.yaml" in missing[0].message
    assert [d.message for d in report.diagnostics if d.rule == "policy.named"] == [
        "InferenceService fraud (prod): fraud is not allowed"]


def test_params_not_found_with_allow_skips_the_policy(tmp_path, example):
    pol = write(tmp_path / "pol", {"max-replicas.yaml": MAX_REPLICAS.replace("Deny}", "Allow}")})
    report = check([str(example / "overlays" / "prod")], str(example), str(pol))
    assert not report.diagnostics.has_errors and report.evaluations == 0


@pytest.mark.parametrize("expression, rule, kind", [
    ("object.metadata.name ==", "policy.syntax", "syntax"),
    ("object.spec.predictor.maxReplicas + 'x' == 'a'", "policy.eval-error", "type"),
    ("object.spec.predictor.maxReplicas + 'x' == 1", "policy.syntax", "type"),
    ("object.metadata.name.size() > 0 && [1,2,3,4,5,6,7,8,9,10].map(a, [1,2,3,4,5,6,7,8,9,10].map(b, "
     "[1,2,3,4,5,6,7,8,9,10].map(c, [1,2,3,4,5,6,7,8,9,10].map(d, a+b+c+d)))).size() > 0", "policy.cost-exceeded", "cost"),
    ("object.spec.x.all(a, object.spec.x.all(b, object.spec.x.all(c, a == b)))", "policy.cost", "cost"),
    ("authorizer.group('').resource('x').check('get').allowed()", "policy.unsupported", "unsupported"),
])
def test_a_bad_policy_is_reported_at_its_line_and_the_others_still_run(tmp_path, example, expression, rule, kind):
    bad = policy_doc("bad", f"- expression: \"{expression}\"\n")
    pol = write(tmp_path / "pol", {"bad.yaml": bad, "named.yaml": NAMED})
    report = check([str(example / "overlays" / "prod" / "fraud")], str(example), str(pol))
    found = [d for d in report.diagnostics if d.rule == rule]
    assert found and all(d.severity == ERROR for d in found)
    assert {(d.file, d.line) for d in found} == {(str(pol / "bad.yaml"), line_of(pol / "bad.yaml", "expression:"))}
    if rule == "policy.eval-error":
        assert "InferenceService fraud (prod)" in found[0].message and "validations[0].expression" in found[0].message
        assert ("iterations" in found[0].message) == (kind == "cost")
    if kind == "syntax":
        assert found[0].column > line_of(pol / "bad.yaml", "expression:") and found[0].column > 10
    assert [d.rule for d in report.diagnostics if d.rule == "policy.named"] == ["policy.named"]


def test_malformed_policy_documents(tmp_path, example):
    no_validations = policy_doc("empty", ALWAYS_FALSE).split("  validations:")[0] + "  validations: []\n"
    bad_path = policy_doc("badpath", "- expression: 'true'\n", field_paths=["spec..x"])
    orphan = policy_doc("x", ALWAYS_FALSE, binding="validationActions: [Deny]\n").split("---\n")[1].replace(
        "policyName: x", "policyName: nobody")
    pol = write(tmp_path / "pol", {"a.yaml": no_validations, "b.yaml": bad_path, "c.yaml": orphan, "named.yaml": NAMED})
    report = check([str(example / "overlays" / "prod" / "fraud")], str(example), str(pol))
    invalid = sorted((Path(d.file).name, d.line) for d in report.diagnostics if d.rule == "policy.invalid")
    assert invalid == [("a.yaml", line_of(pol / "a.yaml", "spec:")),  # spec.auditAnnotations: not there
                       ("a.yaml", line_of(pol / "a.yaml", "validations:")),
                       ("b.yaml", line_of(pol / "b.yaml", "spec..x")),
                       ("c.yaml", line_of(pol / "c.yaml", "name: x"))]
    assert report.policies == 1 and any(d.rule == "policy.named" for d in report.diagnostics)


# --- waivers -------------------------------------------------------------------------------------

@pytest.fixture
def repo_copy(tmp_path):
    return copy_example(tmp_path / "repo")


def waive(root: Path, entries: str) -> Path:
    model = root / "models" / "fraud.yaml"
    model.write_text(without_waivers((REPO / "models" / "fraud.yaml").read_text()).rstrip("\n") + "\n  policyExceptions:\n"
                     + textwrap.indent(textwrap.dedent(entries), "    "))
    return model


def run_waivers(root: Path, tmp_path: Path, day: str):
    pol = write(tmp_path / "pol", {"named.yaml": NAMED})
    return check([str(root / "overlays")], str(root), str(pol), day=datetime.date.fromisoformat(day))


def test_waiver_turns_a_violation_into_an_info_finding(repo_copy, tmp_path):
    model = waive(repo_copy, "- policy: named\n  reason: legacy name, renamed in Q3\n  expires: \"2030-01-31\"\n")
    report = run_waivers(repo_copy, tmp_path, "2030-01-31")
    assert not report.diagnostics.has_errors
    waived = [d for d in report.diagnostics if d.rule == "policy.waived"]
    assert [(d.file, d.line, d.severity) for d in waived] == [
        ("models/fraud.yaml", line_of(model, "- policy: named"), INFO)] * 2
    assert all("legacy name, renamed in Q3" in d.message and "2030-01-31" in d.message for d in waived)
    assert sorted(d.message.split(":")[0] for d in waived) == [
        "InferenceService fraud (prod)", "InferenceService fraud (staging)"]
    # one waived violation per overlay of fraud (a prod cluster's own included: the same finding)
    overlays = list(repo_copy.glob("overlays/*/fraud"))
    assert len(overlays) >= 2 and report.waived == len(overlays)


def test_a_waiver_key_written_with_escapes_is_still_read(repo_copy, tmp_path):
    # Model files without the text "policyExceptions" are not parsed for waivers; a key spelt
    # with a YAML escape does not contain that text, and still counts.
    model = waive(repo_copy, "- policy: named\n  reason: legacy name, renamed in Q3\n  expires: \"2030-01-31\"\n")
    model.write_text(model.read_text().replace("  policyExceptions:", '  "policy\\x45xceptions":'))
    assert "policyExceptions" not in model.read_text()
    report = run_waivers(repo_copy, tmp_path, "2030-01-31")
    assert not report.diagnostics.has_errors and report.waived >= 2


def test_expired_waiver_is_an_error_and_waives_nothing(repo_copy, tmp_path):
    model = waive(repo_copy, "- policy: named\n  reason: legacy\n  expires: \"2030-01-31\"\n")
    report = run_waivers(repo_copy, tmp_path, "2030-02-01")
    expired = [d for d in report.diagnostics if d.rule == "policy.waiver-expired"]
    assert [(d.file, d.line) for d in expired] == [("models/fraud.yaml", line_of(model, "expires:"))]
    assert len([d for d in report.diagnostics if d.rule == "policy.named"]) == 2 and report.waived == 0


def test_waiver_of_an_unknown_policy(repo_copy, tmp_path):
    model = waive(repo_copy, "- policy: nmaed\n  reason: typo\n  expires: \"2030-01-31\"\n")
    report = run_waivers(repo_copy, tmp_path, "2029-01-01")
    unknown = [d for d in report.diagnostics if d.rule == "policy.waiver-unknown"]
    assert [(d.file, d.line) for d in unknown] == [("models/fraud.yaml", line_of(model, "nmaed"))]
    assert "named" in unknown[0].message


def test_waiver_restricted_to_an_environment(repo_copy, tmp_path):
    waive(repo_copy, "- policy: named\n  reason: staging only\n  expires: \"2030-01-31\"\n  environments: [staging]\n")
    report = run_waivers(repo_copy, tmp_path, "2029-01-01")
    assert [d.message for d in report.diagnostics if d.rule == "policy.named"] == [
        "InferenceService fraud (prod): fraud is not allowed"]
    assert [d.rule for d in report.diagnostics if d.rule == "policy.waived"] == ["policy.waived"]


def test_today_comes_from_mlgitops_today(monkeypatch):
    from mlgitops.policy.waivers import today

    monkeypatch.setenv("MLGITOPS_TODAY", "2031-05-06")
    assert today() == datetime.date(2031, 5, 6)
    monkeypatch.setenv("MLGITOPS_TODAY", "tomorrow")
    with pytest.raises(ValueError, match="MLGITOPS_TODAY"):
        today()
    monkeypatch.delenv("MLGITOPS_TODAY")
    assert today() == datetime.date.today()


def test_a_model_with_waivers_labels_its_own_overlays_only(repo_copy):
    """A waiver reaches the cluster as the label waivers.mlgitops.dev/<policy> on the model's objects
    (expand/waivers.py): only that model's overlays change."""
    from mlgitops.pipeline import build

    before = {p: p.read_text() for p in repo_copy.glob("overlays/*/*/*.yaml")}
    waive(repo_copy, "- policy: named\n  reason: legacy\n  expires: \"2030-01-31\"\n")
    result = build(str(repo_copy), use_cache=False)
    assert not result.diagnostics.has_errors, [d.format() for d in result.diagnostics]
    changed = sorted(p.relative_to(repo_copy).as_posix() for p, text in before.items() if p.read_text() != text)
    # a cluster's overlay that only refers to its environment's (overlays/<env>@<cluster>/fraud)
    # gets the label from there: it does not change
    fraud, references = [], []
    for path in sorted(repo_copy.glob("overlays/*/fraud/kustomization.yaml")):
        doc = yaml.safe_load(path.read_text())
        env, _, cluster = path.parent.parent.name.partition("@")
        refers = cluster and doc.get("resources") == [f"../../{env}/fraud"] and "labels" not in doc
        (references if refers else fraud).append(path.relative_to(repo_copy).as_posix())
    assert changed == fraud and len(fraud) >= 2
    assert all('waivers.mlgitops.dev/named: "2030-01-31"' in (repo_copy / p).read_text() for p in fraud)
    assert all(f"overlays/{p.split('/')[1].partition('@')[0]}/fraud/kustomization.yaml" in fraud for p in references)
    waive(repo_copy, "- policy: named\n  reason: bad date\n  expires: \"2030-02-30\"\n")
    result = build(str(repo_copy), check=True, use_cache=False)
    assert [d.rule for d in result.diagnostics] == ["spec.schema"]
