"""The rule catalogue (compiler/mlgitops/catalogue.py) is complete, has no dead entries, and is what
docs/rules.md, docs/cli.md's rule summary and the `mlgitops rules` listing show.

"Used" is read from the package's source with `ast`, every way a rule id is produced:

* any string literal shaped `<family>.<name>` for a known family (yaml, input, spec, policy, ...):
  ids passed to Diagnostic/diags.error/warning/add, exception constructors (RenderError,
  SchemaError, CaseProblem, ...), module constants (RULE_PATCH = "render.patch"), tables
  (policy/load.py _COMPILE_RULES, validate/kubeconform.py _ERROR_RULES) and defaults
  (`getattr(exc, "rule", "build.locked")`, `unreadable="policy.invalid"`);
* literals of any shape (such as the bare `schema`) in a rule position: the argument a callable
  of the package takes as its `rule` parameter or field, a `rule=` keyword, a class field `rule`;
* f-strings that start with `<family>.` (f"policy.{policy.name}"): a family pattern must cover them.

A literal of that shape which is not a rule id (a Kubernetes field path) is listed in NOT_RULE_IDS.
"""

from __future__ import annotations

import ast
import json
import pathlib
import re
from collections import defaultdict

import pytest

from mlgitops import catalogue
from mlgitops.policy.describe import policy_descriptions
from tooling import REPO_ROOT

PACKAGE = REPO_ROOT / "compiler" / "mlgitops"
CATALOGUE_FILE = PACKAGE / "catalogue.py"
_NAME = r"[a-z0-9]+(?:-[a-z0-9]+)*"
SHAPED = re.compile(rf"^(?:{'|'.join(catalogue.FAMILIES)})\.{_NAME}$")
ID_LIKE = re.compile(rf"^{_NAME}(?:\.{_NAME})?$")
FAMILY_FSTRING = re.compile(rf"^(?:{'|'.join(catalogue.FAMILIES)})\.$")

# Literals shaped like rule ids that are something else: Kubernetes field paths.
NOT_RULE_IDS = {
    "spec.drivers": "kustomize/strategicmerge.py: CSINode merge key path",
    "spec.ports": "kustomize/strategicmerge.py: Service merge key path",
    "spec.template": "validate/references.py: a message naming the pod template field",
}


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def _sources() -> dict[pathlib.Path, ast.Module]:
    return {p: ast.parse(p.read_text(encoding="utf-8"), str(p)) for p in sorted(PACKAGE.rglob("*.py"))
            if p != CATALOGUE_FILE}


def _is_str(annotation: ast.expr | None) -> bool:
    return annotation is not None and "str" in ast.unparse(annotation)


def _rule_slots(trees: dict[pathlib.Path, ast.Module]) -> dict[str, set[int]]:
    """{callable name: positional indexes of its `rule: str` parameter or dataclass field}."""
    slots: dict[str, set[int]] = defaultdict(set)
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                fields = [s for s in node.body if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)]
                slots[node.name].update(i for i, s in enumerate(fields)
                                        if isinstance(s.target, ast.Name) and s.target.id == "rule"
                                        and _is_str(s.annotation))
                for item in node.body:
                    if isinstance(item, ast.FunctionDef) and item.name == "__init__":
                        slots[node.name].update(i for i, a in enumerate(item.args.args[1:])
                                                if a.arg == "rule" and _is_str(a.annotation))
            elif isinstance(node, ast.FunctionDef):
                args = node.args.args
                args = args[1:] if [a.arg for a in args[:1]] in (["self"], ["cls"]) else args
                slots[node.name].update(i for i, a in enumerate(args) if a.arg == "rule" and _is_str(a.annotation))
    return {name: found for name, found in slots.items() if found}


def _in_rule_position(tree: ast.AST, slots: dict[str, set[int]]) -> list[ast.Constant]:
    found: list[ast.Constant] = []

    def literal(node: ast.AST | None) -> None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.append(node)

    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            for kw in node.keywords:
                if kw.arg == "rule":
                    literal(kw.value)
            if name in slots:
                if any(isinstance(a, ast.Starred) for a in node.args):  # f(*where, "rule.id", message)
                    literal(next((a for a in node.args if isinstance(a, ast.Constant)), None))
                else:
                    for i in slots[name]:
                        literal(node.args[i] if i < len(node.args) else None)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == "rule":
            literal(node.value)
    return found


def used_rule_ids(trees: dict[pathlib.Path, ast.Module] | None = None
                  ) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """({rule id: where}, {f-string prefix such as 'policy.': where}) of the package (or `trees`)."""
    trees = _sources() if trees is None else trees
    slots = _rule_slots(trees)
    ids: dict[str, list[str]] = defaultdict(list)
    prefixes: dict[str, list[str]] = defaultdict(list)
    for path, tree in trees.items():
        rel = path.relative_to(PACKAGE).as_posix()
        docs = _docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs \
                    and SHAPED.match(node.value) and node.value not in NOT_RULE_IDS:
                ids[node.value].append(f"{rel}:{node.lineno}")
            elif isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant) \
                    and FAMILY_FSTRING.match(str(node.values[0].value)):
                prefixes[str(node.values[0].value)].append(f"{rel}:{node.lineno}")
        for node in _in_rule_position(tree, slots):
            if ID_LIKE.match(node.value) and node.value not in NOT_RULE_IDS:
                where = f"{rel}:{node.lineno}"
                if where not in ids[node.value]:
                    ids[node.value].append(where)
    return dict(ids), dict(prefixes)


@pytest.fixture(scope="module")
def package_ids() -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """used_rule_ids() of the package, scanned once for the tests that read it (2 s of CPU a scan)."""
    return used_rule_ids()


def test_the_scan_finds_ids_of_every_kind_of_source(package_ids):
    """The scan sees ids in calls, constants, tables, exception arguments, class defaults and f-strings."""
    ids, prefixes = package_ids
    expected = {
        "spec.replicas": "rules/replicas.py",  # a unit's catalogue lookup
        "render.patch": "kustomize/engine.py",  # RULE_PATCH = "render.patch"
        "policy.cost": "policy/load.py",  # _COMPILE_RULES table
        "input.bad-field": "validate/kubeconform.py",  # _ERROR_RULES table
        "schema": "validate/results.py",  # `rule: str = "schema"` class field
        "schema.invalid-json": "validate/registry.py",  # SchemaError("schema.invalid-json", ...)
        "policy.test-unknown": "policy/testing.py",  # diags.error(*src.at(...), "policy.test-unknown", ...)
    }
    for rule_id, module in expected.items():
        assert any(w.startswith(module + ":") for w in ids.get(rule_id, [])), (rule_id, ids.get(rule_id))
    assert "policy." in prefixes  # f"policy.{policy.name}"
    assert len(ids) > 100


PLANTED = '''
"""A docstring naming spec.in-a-docstring is not a use."""
from dataclasses import dataclass

@dataclass
class Finding:
    message: str
    rule: str = "bare"

class Oops(Exception):
    def __init__(self, rule: str, message: str) -> None:
        self.rule = rule

def emit(diags, where, name):
    diags.error("f", 1, 1, "spec.planted-call", "m")
    diags.error(*where, "policy.planted-starred", "m")
    raise Oops("nodot", "m")
    TABLE = {"x": "render.planted-table"}
    Finding("m", rule="kwarg-id")
    return f"usage.{name}", "spec.template"
'''


def test_the_scan_finds_a_planted_id_of_every_kind():
    """The scan could fail: it finds ids planted in each way (and not in a docstring or NOT_RULE_IDS)."""
    ids, prefixes = used_rule_ids({PACKAGE / "planted.py": ast.parse(PLANTED)})
    assert set(ids) == {"bare", "spec.planted-call", "policy.planted-starred", "nodot", "render.planted-table",
                        "kwarg-id"}
    assert set(prefixes) == {"usage."}


def test_every_rule_id_the_package_emits_is_catalogued(package_ids):
    ids, prefixes = package_ids
    missing = {rule_id: where for rule_id, where in ids.items() if rule_id not in catalogue.RULES}
    assert not missing, f"rule ids used but not in compiler/mlgitops/catalogue.py: {missing}"
    patterns = [r.id.split("<", 1)[0] for r in catalogue.RULES.values() if r.pattern]
    uncovered = {p: where for p, where in prefixes.items() if p not in patterns}
    assert not uncovered, f"rule ids made at run time without a family entry (like policy.<name>): {uncovered}"


def test_every_catalogued_rule_is_emitted_somewhere(package_ids):
    ids, prefixes = package_ids
    dead = [r.id for r in catalogue.RULES.values() if not r.pattern and r.id not in ids]
    assert not dead, f"catalogue entries no code emits (remove them, or emit them): {dead}"
    for r in catalogue.RULES.values():
        if r.pattern:
            assert r.id.split("<", 1)[0] in prefixes, f"{r.id}: no f-string makes ids of this family"


def test_entries_are_well_formed():
    for r in catalogue.RULES.values():
        assert r.family in catalogue.FAMILIES, r.id
        assert r.severity in (catalogue.ERROR, catalogue.WARNING, catalogue.INFO), r.id
        assert r.summary.endswith(".") and (not r.help or r.help.endswith(".")), r.id
        assert "\n" not in r.summary + r.help, r.id
    assert all(any(r.family == f for r in catalogue.RULES.values()) for f in catalogue.FAMILIES)


def test_lookup_and_family_patterns():
    assert catalogue.rule("spec.replicas").severity == "error"
    assert catalogue.rule("policy.require-resources").id == "policy.<name>"
    assert catalogue.rule("policy.waived").id == "policy.waived"  # its own entry wins over the family
    with pytest.raises(KeyError):
        catalogue.rule("spec.no-such-rule")
    assert catalogue.describe("policy.gpu-allowed").startswith("A violation of the policy gpu-allowed ")
    assert catalogue.describe("no.such") == "no.such"
    assert not catalogue.rule("policy.<name>").matches("policy.")


def test_policy_rules_are_what_the_cli_described():
    """The catalogue describes what cli.py's _POLICY_RULES held (and what `policy test` added);
    SARIF reports take these descriptions from it."""
    check = catalogue.descriptions(["policy.syntax", "policy.cost", "policy.eval-error", "policy.params-missing",
                                    "policy.invalid", "policy.unsupported", "policy.waiver-expired",
                                    "policy.waiver-unknown", "policy.waiver-invalid", "policy.waived"])
    assert check["policy.syntax"] == "A CEL expression of a policy does not parse or type-check."
    assert check["policy.waived"] == "A policy violation waived by the model."
    tests = catalogue.descriptions(["policy.test-failed", "policy.untested"])
    assert tests == {"policy.test-failed": "A policy test case did not get its expected outcome.",
                     "policy.untested": "A policy lacks a passing or a failing test case."}


def test_a_policy_describes_its_own_rule():
    class V:
        def __init__(self, message: str) -> None:
            self.message = message

    class P:
        def __init__(self, name: str, *messages: str) -> None:
            self.name, self.validations = name, [V(m) for m in messages]

    found = policy_descriptions([P("canary-steps", "weights must increase", "a pause is needed."),
                                 P("silent", "")])
    assert found == {"policy.canary-steps": "Policy canary-steps: weights must increase; a pause is needed.",
                     "policy.silent": catalogue.describe("policy.silent")}


def test_the_builtin_policies_describe_their_rules():
    """The real policies load into descriptions of their own (not the family's)."""
    from mlgitops.policy.load import load_policies

    pset = load_policies(str(REPO_ROOT / "policies"), str(REPO_ROOT))
    found = policy_descriptions(pset.policies)
    assert len(found) == len(pset.policies) > 10
    assert all(text.startswith(f"Policy {rule_id[len('policy.'):]}: ") for rule_id, text in found.items())


def test_listing_text_and_json():
    text = catalogue.listing("text")
    lines = text.splitlines()
    assert lines[0].split() == ["RULE", "SEVERITY", "DESCRIPTION"]
    assert len(lines) == len(catalogue.RULES) + 1
    row = next(line for line in lines if line.startswith("spec.canary-replicas "))
    assert row.split(None, 2) == ["spec.canary-replicas", "warning", catalogue.RULES["spec.canary-replicas"].summary]
    data = json.loads(catalogue.listing("json"))
    assert [d["id"] for d in data] == [r.id for r in catalogue.ordered()]
    assert {d["id"] for d in data} == set(catalogue.RULES)
    policy = next(d for d in data if d["id"] == "policy.<name>")
    assert policy["pattern"] is True and policy["family"] == "policy" and policy["severity"] == "error"
    with pytest.raises(ValueError):
        catalogue.listing("yaml")


def test_docs_rules_md_is_current():
    """docs/rules.md is generated from the catalogue: `make docs` (python -m mlgitops.readme --rules docs/rules.md)."""
    page = (REPO_ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    assert page == catalogue.reference_markdown(), "docs/rules.md is stale: run 'make docs'"
    for r in catalogue.RULES.values():
        assert f"| `{r.id}` | {r.severity} |" in page


def test_docs_check_mode_reports_a_stale_page(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]):
    from mlgitops.readme import main

    page = tmp_path / "rules.md"
    assert main(["--rules", "--check", str(page)]) == 1  # missing
    assert main(["--rules", str(page)]) == 0 and page.read_text() == catalogue.reference_markdown()
    assert main(["--check", "--rules", str(page)]) == 0
    page.write_text(page.read_text() + "edited\n")
    assert main(["--rules", "--check", str(page)]) == 1
    assert "stale" in capsys.readouterr().err


def test_cli_page_rule_summary_counts_every_family():
    page = (REPO_ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert catalogue.families_markdown() in page
    assert "[rules.md](rules.md)" in page


def test_a_spec_rule_is_described_once_in_its_own_unit():
    """A spec rule's entry lives in its module (rules/<rule>.py, or spec/model.py for the schema
    checker's two), and the catalogue gathers it: catalogue.py holds no spec.* entry of its own."""
    from mlgitops.rules import FILE_RULES, MODEL_RULES
    from mlgitops.spec.model import SCHEMA_RULES

    owned = {r.id: r for unit in (*FILE_RULES, *MODEL_RULES) for r in unit.rules} | {r.id: r for r in SCHEMA_RULES}
    assert {i for i in catalogue.RULES if i.startswith("spec.")} == set(owned)
    assert all(catalogue.RULES[i] is owned[i] or catalogue.RULES[i] == owned[i] for i in owned)
    data = CATALOGUE_FILE.read_text(encoding="utf-8")
    assert not re.search(r'R\("spec\.', data), "a spec rule described in catalogue.py instead of its unit"
    with pytest.raises(ValueError, match="described twice"):
        catalogue._rules(catalogue.Rule("x.y", "error", "one"), catalogue.Rule("x.y", "error", "other"))
