"""The policy check reads only the root fields its policies can see, and plans each kind of
object once (#5's speed work).

Three parts, each able to fail: the conservative analysis of which root fields a CEL
expression selects (policy/fields.py); the two ways of not building the other fields
(fastyaml.prune_root on the text, fastyaml.load(keep=...) on the events), which must give
exactly the full parse minus the dropped keys, or give up; and the policy check over files,
whose findings must not change.
"""

from __future__ import annotations

import json
import pathlib
import shutil

import pytest
import yaml

from conftest import REPO_ROOT
from mlgitops import fastyaml
from mlgitops.policy.fields import ALWAYS, expression_fields, policy_fields
from mlgitops.policy.load import load_policies
from mlgitops.validate.documents import PRUNE_MIN_CHARS, _load, split_documents


@pytest.mark.parametrize("text, fields", [
    ("object.spec.replicas > 0", {"spec"}),
    ("has(object.?spec) && object.status.ready", {"spec", "status"}),
    ("object['data'].size() > 0", {"data"}),
    ('object["a-b"] == 1', {"a-b"}),
    ("'the object is' + object.kind", {"kind"}),  # `object` inside a string literal is no reference
    ("oldObject.spec == object.metadata.name", {"metadata"}),  # oldObject is another variable
    ("variables.object.spec", set()),  # a variable named object is not the object
    ("object == oldObject", None),  # the object whole: everything
    ("[object].all(o, o.spec.x)", None),
    ("size(object) > 2", None),
    ("has(dyn(object).spec.minReplicas)", {"spec"}),  # dyn(object): the same selection, untyped
    ("dyn(object) == oldObject", None),
    ("mydyn(object).spec", None),  # another function of the object whole
    ("r'\\' + object.spec", {"spec"}),  # a raw string: no string skipping, the selection is still seen
    ("'''the object''' + object.spec", None),  # triple quotes: no string skipping, `object ` is whole
])
def test_expression_fields(text, fields):
    found = expression_fields(text)
    assert (None if found is None else set(found)) == fields


def test_builtin_policies_on_prometheus_rules_read_metadata_only():
    pset = load_policies(str(REPO_ROOT / "policies"), str(REPO_ROOT))
    fields = {p.name: policy_fields(p) for p in pset.policies}
    # The policies that match PrometheusRules: their bulk (spec.groups) is never read.
    for name in ("namespace-environment", "require-owner-labels", "slo-objectives"):
        assert fields[name] == ALWAYS, name
    assert fields["hpa-bounds"] == ALWAYS | {"spec"}
    assert all(f is not None for f in fields.values())


def keep_metadata(root: dict):
    return ALWAYS if root.get("kind") == "PrometheusRule" else None


def _full(text: str):
    return fastyaml.load(text, 200)


def _expected(full: dict) -> dict:
    if isinstance(full, dict) and full.get("kind") == "PrometheusRule":
        return {k: v for k, v in full.items() if k in ALWAYS}
    return full


def _repo_documents() -> list[str]:
    chunks = []
    for path in sorted(REPO_ROOT.glob("overlays/*/*/*.yaml")) + sorted(REPO_ROOT.glob("argocd/*.yaml")):
        chunks += [chunk for _, chunk in split_documents(path.read_text())]
    return chunks


def test_pruned_parse_equals_the_full_parse_minus_dropped_keys_on_every_repo_document():
    chunks = _repo_documents()
    pruned = rules = 0
    for chunk in chunks:
        full, full_dups, _ = _full(chunk)
        rules += isinstance(full, dict) and full.get("kind") == "PrometheusRule"
        # Below PRUNE_MIN_CHARS the loader builds the whole document (pruning would not pay).
        assert _load(chunk, keep_metadata)[0] == (full if len(chunk) < PRUNE_MIN_CHARS else _expected(full))
        assert fastyaml.load(chunk, 200, keep_metadata)[0] == _expected(full)
        if fastyaml.prune_root(chunk, keep_metadata) is not None:
            pruned += 1
    # two PrometheusRules (SLOs, operations) per compiled overlay (a cluster's overlay that only
    # refers to its environment's has none of its own), each pruned on the text
    compiled = len(list(REPO_ROOT.glob("overlays/*/*/monitoring.yaml")))
    assert compiled >= len(list(REPO_ROOT.glob("models/*.yaml")))
    assert pruned == rules == 2 * compiled


# Texts where a column-0 line looks like a root key but is not one, or where pruning is unsafe.
TRICKY = {
    "quoted-continuation": ('apiVersion: v1\nkind: PrometheusRule\nmetadata:\n  name: x\nspec:\n  a: "one\n'
                            'metadata: two"\n'),
    "single-quoted-continuation": "apiVersion: v1\nkind: PrometheusRule\nspec:\n  a: 'x\nkind: y'\nmetadata: {}\n",
    "flow-continuation": "apiVersion: v1\nkind: PrometheusRule\nspec: [1,\nmetadata]\nmetadata:\n  name: m\n",
    "quote-opened-in-kept-part": ('apiVersion: v1\nkind: PrometheusRule\nmetadata:\n  annotations:\n    a: "x\n'
                                  'spec: y"\n'),
    "duplicate-dropped-key": "apiVersion: v1\nkind: PrometheusRule\nspec: 1\nmetadata: {}\nspec: 2\n",
    "anchor-in-dropped-part": "apiVersion: v1\nkind: PrometheusRule\nspec: &a {x: 1}\nmetadata:\n  labels: *a\n",
    "quoted-root-key": 'apiVersion: v1\nkind: PrometheusRule\nspec: 1\n"metadata": {name: q}\n',
    "json": '{"apiVersion": "v1", "kind": "PrometheusRule", "spec": {"groups": []}, "metadata": {"name": "j"}}\n',
    "kind-after-spec": "spec:\n  groups: []\nmetadata:\n  name: late\napiVersion: v1\nkind: PrometheusRule\n",
    "merge-key": "apiVersion: v1\nkind: PrometheusRule\n<<: {spec: 1}\nmetadata: {}\n",
    # A kept keep-chomped literal block right before a dropped key: its value ends at that key
    # (blank lines in place of the dropped lines would join it).
    "keep-chomped-block-before-dropped": ("apiVersion: v1\nkind: PrometheusRule\nmetadata:\n  name: k\n"
                                          "  annotations:\n    a: |+\n      x\n\nspec:\n  groups: []\n"
                                          + "".join(f"  other{i}: {'x' * 60}\n" for i in range(80))
                                          + "status:\n  x: 1\n"),  # over PRUNE_MIN_CHARS: pruned
}


@pytest.mark.parametrize("name", sorted(TRICKY))
def test_tricky_texts_give_the_full_parse_minus_dropped_keys_or_the_same_error(name):
    # Where the fast paths give up (an alias into a dropped part, a merge key), PyYAML's loader
    # reads the whole object: more fields than asked for is fine, different values never.
    text = TRICKY[name]
    try:
        full = yaml.load(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        with pytest.raises(yaml.YAMLError) as caught:
            _load(text, keep_metadata)
        assert type(caught.value) is type(exc)
        return
    assert _load(text, keep_metadata)[0] in (_expected(full), full)


def test_the_unsafe_texts_are_not_pruned_on_the_text():
    for name in ("quoted-continuation", "single-quoted-continuation", "flow-continuation",
                 "quote-opened-in-kept-part", "duplicate-dropped-key", "anchor-in-dropped-part", "quoted-root-key",
                 "json", "merge-key"):
        assert fastyaml.prune_root(TRICKY[name], keep_metadata) is None, name
        # load_pruned, which leaves the kept segments' own check to blockyaml, gives up as well
        assert fastyaml.load_pruned(TRICKY[name], keep_metadata, 200) is None, name
    assert fastyaml.prune_root(TRICKY["kind-after-spec"], keep_metadata) is not None


def test_a_kept_keep_chomped_block_ends_where_the_dropped_key_was():
    text = TRICKY["keep-chomped-block-before-dropped"]
    assert len(text) >= PRUNE_MIN_CHARS
    assert yaml.safe_load(text)["metadata"]["annotations"]["a"] == "x\n\n"
    pruned = fastyaml.prune_root(text, keep_metadata)
    assert pruned is not None and pruned.count("\n") == text.count("\n")
    assert fastyaml.load(pruned, 200)[0]["metadata"]["annotations"]["a"] == "x\n\n"
    assert fastyaml.load_pruned(text, keep_metadata, 200)[0] == _expected(yaml.safe_load(text))


def test_load_pruned_reads_what_prune_root_then_load_read():
    """load_pruned leaves the kept segments' libyaml check out when blockyaml reads the pruned
    text: on every document of the example (and the tricky texts), the same data as prune_root
    then load, and on texts outside blockyaml's dialect (comments after content), too."""
    compared = 0
    commented = [chunk.replace("\nspec:\n", "\nspec: # a comment after content\n", 1) for chunk in _repo_documents()]
    for chunk in _repo_documents() + commented + list(TRICKY.values()):
        pruned = fastyaml.prune_root(chunk, keep_metadata)
        loaded = fastyaml.load_pruned(chunk, keep_metadata, 200)
        if pruned is None:
            assert loaded is None
            continue
        assert loaded == fastyaml.load(pruned, 200)
        compared += 1
    assert compared >= 20, compared


def test_pruning_keeps_line_numbers_of_findings_in_kept_fields():
    text = ("apiVersion: v1\nkind: PrometheusRule\nspec:\n  groups:\n  - name: a\n    rules: []\n"
            "metadata:\n  name: x\n  name: y\n")
    pruned = fastyaml.prune_root(text, keep_metadata)
    assert pruned is not None and pruned.count("\n") == text.count("\n")
    _, duplicates, _ = _load(text, keep_metadata)
    _, full_duplicates, _ = _full(text)
    assert duplicates == full_duplicates == [("name", 8, 2)]


def _rendered_files(tmp_path: pathlib.Path, cli) -> pathlib.Path:
    out = tmp_path / "rendered"
    for overlay in sorted(REPO_ROOT.glob("overlays/*/*")):
        target = out / overlay.parent.name / f"{overlay.name}.yaml"
        target.parent.mkdir(parents=True, exist_ok=True)
        result = cli("render", str(overlay), "--repo", str(REPO_ROOT))
        assert result.exit_code == 0, result.output
        target.write_text(result.stdout)
    return out


def _policy_check(cli, path: pathlib.Path, policies: pathlib.Path) -> dict:
    result = cli("policy", "check", str(path), "--policies", str(policies), "--repo", str(REPO_ROOT),
                 "--format", "json")
    report = json.loads(result.stdout)
    return {"exit": result.exit_code, "diagnostics": report["diagnostics"]}


def test_policy_check_findings_are_the_same_with_and_without_pruning(cli, tmp_path, monkeypatch):
    from mlgitops.policy import check as check_module

    files = _rendered_files(tmp_path, cli)
    pruned = _policy_check(cli, files, REPO_ROOT / "policies")
    monkeypatch.setattr(check_module._Evaluator, "keep_fields", lambda self, root: None)
    whole = _policy_check(cli, files, REPO_ROOT / "policies")
    assert pruned == whole
    assert len(pruned["diagnostics"]) >= 10  # the example's read-only-root-filesystem warnings at least


def test_policy_check_findings_are_the_same_without_the_one_evaluation_pass(cli, tmp_path, monkeypatch):
    """#18: most objects are let through after one evaluation of every combined program they need
    (check._Work.passed), and the YAML text's length stands for the marshalled size of an object
    (cel.note_bound); without either, each policy is evaluated on its own, as before."""
    from mlgitops.policy import check as check_module

    files = _rendered_files(tmp_path, cli)
    fast = _policy_check(cli, files, REPO_ROOT / "policies")
    monkeypatch.setattr(check_module._Work, "passed", lambda self, activations, composites: None)
    monkeypatch.setattr(check_module, "note_bound", lambda value, bound: None)
    slow = _policy_check(cli, files, REPO_ROOT / "policies")
    assert fast == slow
    assert len(fast["diagnostics"]) >= 10


@pytest.mark.parametrize("text", [
    "a: \"\\x41\\x42\\N\\L\"\n",  # escapes: shorter than written
    "a: &x [1, 2, 3]\nb: [*x, *x, *x, *x]\nc: *x\n",  # aliases share, never lengthen
    "a: >-\n  folded\n  text\n\n  kept\nb: |+\n  kept\n\n\n",
    "k: {a: 1, b: 2, c: 3}\n",
    "- x\n- y\n",
])
def test_the_text_length_bounds_every_string_list_and_map_of_its_data(text):
    """What cel.note_bound relies on: no string, list or map read from a YAML text is longer than
    the text (the cost guards then decide exactly as with the marshalled size)."""
    from mlgitops.policy.cel import largest_value

    assert largest_value(yaml.safe_load(text)) <= len(text)
    paths = [p for d in ("models", "policies", "argocd", "overlays") for p in sorted((REPO_ROOT / d).rglob("*.yaml"))]
    assert paths
    for path in paths:
        for _offset, chunk in split_documents(path.read_text(encoding="utf-8")):
            try:
                data = yaml.safe_load(chunk)
            except yaml.YAMLError:
                continue
            assert largest_value(data) <= len(chunk), path


def test_a_policy_reading_the_spec_of_prometheus_rules_still_sees_it(cli, tmp_path):
    files = _rendered_files(tmp_path, cli)
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "rule-groups.yaml").write_text("""\
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: few-rule-groups
spec:
  matchConstraints:
    resourceRules:
    - apiGroups: [monitoring.coreos.com]
      apiVersions: ["*"]
      resources: [prometheusrules]
      operations: [CREATE, UPDATE]
  validations:
  - expression: size(object.spec.groups) < 3
    message: too many rule groups
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: few-rule-groups
spec:
  policyName: few-rule-groups
  validationActions: [Deny]
  matchResources:
    objectSelector:
      matchLabels: {app.kubernetes.io/managed-by: mlgitops}
""")
    report = _policy_check(cli, files, policies)
    rules = [d for d in report["diagnostics"] if d["rule"] == "policy.few-rule-groups"]
    # Every example model has at least one SLO: 3 groups (sli, budget, alerts) per SLO; one finding
    # per rendered overlay (a cluster's overlay included).
    rendered = sorted(str(p) for p in files.rglob("*.yaml"))
    assert len(rendered) == len(list(REPO_ROOT.glob("overlays/*/*")))
    assert sorted(d["file"] for d in rules) == rendered and report["exit"] == 1
    assert all("too many rule groups" in d["message"] for d in rules)
    shutil.rmtree(files)


SELECTOR_POLICY = """\
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: prod-needs-owner
spec:
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: ["*"]
      resources: [configmaps]
      operations: [CREATE, UPDATE]
      resourceNames: [named-a, named-b, named-c]
    objectSelector:
      matchExpressions:
      - {key: env, operator: In, values: [prod]}
  validations:
  - expression: has(object.metadata.annotations) && 'owner' in object.metadata.annotations
    message: prod config maps need an owner
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: prod-needs-owner
spec:
  policyName: prod-needs-owner
  validationActions: [Deny]
  matchResources:
    objectSelector:
      matchLabels: {app.kubernetes.io/managed-by: mlgitops}
"""


def _config_map(name: str, labels: dict) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "ns", "labels": {**labels, "app.kubernetes.io/managed-by": "mlgitops"}}}


def test_objects_that_differ_only_in_selected_labels_or_names_get_their_own_plan(tmp_path):
    """The evaluator caches what to evaluate per kind and namespace, plus the label values the
    selectors read and the name when rules name objects: these objects share everything else."""
    from mlgitops.policy.check import check

    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "p.yaml").write_text(SELECTOR_POLICY)
    objects = [  # the same name with other labels, the same labels with another name
        _config_map("named-a", {"env": "prod", "model": "one"}),      # selected: violation
        _config_map("named-a", {"env": "staging", "model": "one"}),   # not selected
        _config_map("named-a", {"model": "one"}),                     # no env label: not selected
        _config_map("unnamed", {"env": "prod", "model": "one"}),      # not a named object
        _config_map("named-c", {"env": "prod", "model": "two"}),      # selected: violation
    ]
    path = tmp_path / "objects.yaml"
    path.write_text(yaml.safe_dump_all(objects))
    report = check([str(path)], str(tmp_path), str(policies))
    flagged = sorted(d.message.split(":")[0] for d in report.diagnostics if d.rule == "policy.prod-needs-owner")
    assert flagged == ["ConfigMap named-a (ns)", "ConfigMap named-c (ns)"], [d.message for d in report.diagnostics]
    assert report.evaluations == 2
