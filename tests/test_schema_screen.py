"""The fast schema screen (jsonschema-rs, schemacheck.SchemaChecker) says exactly what jsonschema
says about model and config files: a file the screen passes is accepted without the full check,
so the screen must never be more lenient, and one it refuses must get jsonschema's messages."""

from __future__ import annotations

import copy
import random

import jsonschema
import pytest
from mlgitops.config import config_schema
from mlgitops.modelfiles import model_schema
from mlgitops.schemacheck import SchemaChecker, _ecma_pattern
from mlgitops.yamlsource import load_yaml
from objpath import walk
from tooling import REPO_ROOT

SEEDS = 400


def _set(doc, path, value):
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value


WRONG = [None, True, 0, -1, 1.5, 10**9, "", "x y", "Model", "v3", "500ms", "-", [], {}, {"unknown": 1}, ["a"]]


def mutants(doc: dict, rng: random.Random):
    """Seeded variations of `doc`: a value replaced by one of another type or range, a key
    added or removed."""
    paths = [p for p, _ in walk(doc) if p]
    for _ in range(SEEDS):
        out = copy.deepcopy(doc)
        path = rng.choice(paths)
        action = rng.random()
        try:
            if action < 0.7:
                _set(out, path, copy.deepcopy(rng.choice(WRONG)))
            elif action < 0.85 and isinstance(path[-1], str):
                parent = out
                for key in path[:-1]:
                    parent = parent[key]
                del parent[path[-1]]
            else:
                parent = out
                for key in path[:-1]:
                    parent = parent[key]
                if isinstance(parent, dict):
                    parent["unexpectedField"] = 1
        except (KeyError, IndexError, TypeError):
            continue
        yield out


def _verdicts(schema: dict, docs: list) -> list[tuple[bool, bool]]:
    checker = SchemaChecker(schema, "x.schema", "x.unknown-field")
    full = jsonschema.validators.extend(jsonschema.Draft7Validator, {"pattern": _ecma_pattern})(schema)
    return [(checker.screen(doc), full.is_valid(doc)) for doc in docs]


def _examples(pattern: str) -> list:
    """The example files as mlgitops reads them (YAML 1.1 dates stay strings)."""
    return [load_yaml(p.read_text(), p.name)[0].data for p in sorted(REPO_ROOT.glob(pattern))]


@pytest.mark.parametrize("kind", ["model", "config"])
def test_the_screen_and_jsonschema_agree_on_mutated_files(kind):
    schema = model_schema() if kind == "model" else config_schema()
    examples = _examples("models/*.yaml") if kind == "model" else _examples("mlgitops.yaml")
    rng = random.Random(13)
    docs = [d for example in examples for d in [example, *mutants(example, rng)]]
    verdicts = _verdicts(schema, docs)
    disagree = [(doc, v) for doc, v in zip(docs, verdicts) if v[0] != v[1]]
    assert not disagree, disagree[:3]
    # Every example passes, and the mutations exercised both outcomes.
    assert all(v == (True, True) for v in _verdicts(schema, examples))
    assert {v[1] for v in verdicts} == {True, False}


def test_the_screen_keeps_const():
    """const is a constraint of the screen too."""
    schema = {"type": "object", "properties": {"kind": {"const": "Model"}}}
    assert _verdicts(schema, [{"kind": "Model"}, {"kind": "Other"}, {}]) == [(True, True), (False, False),
                                                                           (True, True)]


def test_the_screen_agrees_on_values_where_json_schema_libraries_differ():
    """Values where implementations are known to part ways: a trailing newline against `$`,
    Unicode digits against `[0-9]` and `\\d`, 1.0 as an integer, booleans as numbers, integers
    beyond 64 bits, and mapping keys that are not strings (the screen cannot read them: it refuses,
    so the full check decides)."""
    schema = {"type": "object", "properties": {
        "name": {"type": "string", "pattern": "^[a-z]+$"},
        "digits": {"type": "string", "pattern": "^\\d+$"},
        "ascii": {"type": "string", "pattern": "^[0-9]+$"},
        "count": {"type": "integer", "minimum": 0},
        "one": {"enum": [1]},
        "flag": {"type": "boolean"},
    }, "additionalProperties": False}
    docs = [{"name": "iris"}, {"name": "iris\n"}, {"digits": "٣"}, {"ascii": "٣"}, {"count": 1.0}, {"count": True},
            {"count": 2**70}, {"count": -(2**70)}, {"one": True}, {"one": 1.0}, {"flag": 1}, {1: "x"},
            {"name": "\u00e9"}]
    verdicts = _verdicts(schema, docs)
    # Never more lenient than jsonschema. Stricter once: `\d` is ASCII in ECMA 262 (JSON Schema's
    # regex dialect) and in jsonschema-rs, Unicode in Python's `re`; SchemaChecker.check then
    # reports the screen's own error, so the file is still refused.
    assert verdicts == [(True, True), (False, False), (False, True), (False, False), (True, True), (False, False),
                        (True, True), (False, False), (False, False), (True, True), (False, False), (False, False),
                        (False, False)], list(zip(docs, verdicts))
    checker = SchemaChecker(schema, "x.schema", "x.unknown-field")
    (problem,) = checker.check(load_yaml("digits: \"\u0663\"\n", "x.yaml")[0])
    assert (problem.line, problem.column, problem.rule) == (1, 9, "x.schema") and "does not match" in problem.message
