"""strategicmerge.merge's shortcuts give what the whole walk gives: the simple patch merged on the
Python data (_merge_simple), the target's parts the patch does not name left unwalked (_unchanged),
and `reuse` (the target's untouched parts moved into the result instead of copied). The reference
is the walker over fully built nodes, every shortcut off; kyaml itself judges the walker in
test_strategicmerge.py's differential tests."""

from __future__ import annotations

import math
import random

import pytest

from mlgitops.kustomize import strategicmerge as sm
from mlgitops.kustomize.loader import QuotedStr, resolve_v3_plain
from mlgitops.kustomize.memo import copy_data

WIDGETS = sm.OpenAPISchema({"definitions": {
    "Widget": {"x-kubernetes-group-version-kind": [{"group": "example.com", "version": "v1", "kind": "Widget"}],
               "properties": {"spec": {"$ref": "#/definitions/Spec"}}},
    "Spec": {"properties": {"ports": {"type": "array", "x-kubernetes-patch-strategy": "merge",
                                      "x-kubernetes-patch-merge-key": "name", "items": {"type": "object"}},
                            "x": {"additionalProperties": {"$ref": "#/definitions/Spec"}}}},
}})
TYPES = [("apps/v1", "Deployment"), ("v1", "Service"), ("v1", "Pod"), ("batch/v1", "CronJob"),
         ("serving.kserve.io/v1beta1", "InferenceService"), ("example.com/v1", "Widget"), ("v1", "ConfigMap")]
KEYS = ["a", "b", "name", "spec", "template", "containers", "ports", "env", "metadata", "labels", "x", "finalizers",
        "volumes", "apiVersion", "kind", "$patch", "image", QuotedStr("q"), resolve_v3_plain("2024-01-01")]


def full_walk(target: dict, patch: dict, openapi=None):
    """merge() with every shortcut off: the walker over built nodes, walking everything."""
    token = sm._OPENAPI.set(openapi)
    try:
        result = sm._Walker([built(sm._to_node(target)), built(sm._to_node(patch))], None).walk()
    finally:
        sm._OPENAPI.reset(token)
    return None if result is None else sm._from_node(result)


def built(node):
    for child in node.content:  # reading `content` builds a lazy node's children
        if child.kind != sm._SCALAR:
            built(child)
    return node


def outcome(fn, *args, **kwargs):
    try:
        return "ok", fn(*args, **kwargs)
    except ValueError as exc:
        return "error", str(exc)


def same(a, b) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return [type(k) for k in a] == [type(k) for k in b] and list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return a == b and getattr(a, "raw", None) == getattr(b, "raw", None)


def containers(value, out=None) -> list:
    out = [] if out is None else out
    if isinstance(value, (dict, list)):
        out.append(value)
        for v in value.values() if isinstance(value, dict) else value:
            containers(v, out)
    return out


class Cases:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def scalar(self, null: bool = True):
        values = ["v", 1, 0, True, 1.5, QuotedStr("q"), QuotedStr("1"), resolve_v3_plain("0x1F"), "", "null",
                  resolve_v3_plain("2024-01-01"), resolve_v3_plain("1.50"), "delete", "replace", "merge"]
        return self.rng.choice(values + [None] * null)

    def value(self, depth: int, simple: bool = False):
        roll = self.rng.random()
        if depth <= 0 or roll < 0.45:
            return self.scalar(null=not simple)
        if roll < 0.8 or simple:
            return self.mapping(depth - 1, simple)
        return [self.value(depth - 1) if self.rng.random() < 0.5 else
                {"name": self.rng.choice("nmo"), "containerPort": self.rng.choice([80, 81]), "v": self.scalar()}
                for _ in range(self.rng.randint(0, 3))]

    def mapping(self, depth: int, simple: bool = False) -> dict:
        keys = [k for k in self.rng.sample(KEYS, self.rng.randint(0, 4)) if not (simple and k == "$patch")]
        out = {k: self.value(depth, simple) for k in keys}
        if self.rng.random() < 0.3:
            out["apiVersion"], out["kind"] = self.rng.choice(TYPES)
        return out

    def target(self) -> dict:
        api, kind = self.rng.choice(TYPES)
        out = {"apiVersion": api, "kind": kind, "metadata": {"name": "n", "labels": {"a": "b"}}, **self.mapping(4)}
        if self.rng.random() < 0.5:
            out["spec"] = {"template": {"spec": {"containers": [{"name": "c", "ports": [{"containerPort": 80}],
                                                                 "env": [{"name": "e"}, {"name": "e"}, {}]}]}},
                           "ports": [{"port": 80, "protocol": "TCP"}, {"port": 80}, {"name": "p"}, {"name": "p"}],
                           **self.mapping(3)}
        return out

    def patch(self, target: dict) -> dict:
        out = self.mapping(3, simple=self.rng.random() < 0.7)
        if self.rng.random() < 0.5:
            out.update(apiVersion=target["apiVersion"], kind=target["kind"])
        return out


@pytest.mark.parametrize("seed", range(2))
def test_merge_gives_what_the_whole_walk_gives(seed):
    cases = Cases(seed)
    simple = 0
    for _ in range(1500):
        target = cases.target()
        patch = cases.patch(target)
        openapi = WIDGETS if cases.rng.random() < 0.2 else None
        want = outcome(full_walk, copy_data(target), copy_data(patch), openapi)
        got = outcome(sm.merge, copy_data(target), copy_data(patch), openapi)
        assert got[0] == want[0] and (same(got[1], want[1]) if got[0] == "ok" else got[1] == want[1]), \
            (target, patch, got, want)
        simple += sm._merge_simple(target, patch) is not None
    assert simple > 300  # the shortcut was taken often, and not always


def test_reuse_moves_the_untouched_parts_and_changes_nothing_else():
    cases = Cases(9)
    moved = 0
    for _ in range(500):
        target = cases.target()
        patch = cases.mapping(3, simple=True)
        pristine = copy_data(target)
        want = outcome(sm.merge, copy_data(target), copy_data(patch))
        result = outcome(sm.merge, target, patch, reuse=True)
        assert result[0] == want[0] and same(target, pristine)  # the target itself is not changed
        if result[0] == "error":
            assert result[1] == want[1]
            continue
        got = result[1]
        assert same(got, want[1])
        ids = [id(c) for c in containers(got)]
        assert len(ids) == len(set(ids))  # nothing appears twice in the result
        moved += any(id(c) in {id(t) for t in containers(target)} for c in containers(got))
    assert moved > 100


def test_a_list_the_schema_merges_is_walked_even_where_the_patch_does_not_go():
    target = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
              "spec": {"ports": [{"port": 80, "protocol": "TCP"}, {"port": 80, "protocol": "TCP"}, {}]}}
    patch = {"metadata": {"labels": {"a": "b"}}}
    assert sm._merge_simple(target, patch) is None
    assert sm.merge(target, patch) == full_walk(target, patch) == {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "labels": {"a": "b"}},
        "spec": {"ports": [{"port": 80, "protocol": "TCP"}]}}


def test_an_embedded_object_brings_its_own_schema():
    embedded = {"apiVersion": "v1", "kind": "Service", "spec": {"ports": [{"port": 1}, {"port": 1}]}}
    target = {"apiVersion": "example.com/v1", "kind": "Thing", "metadata": {"name": "t"}, "spec": {"svc": embedded}}
    patch = {"metadata": {"labels": {"a": "b"}}}
    assert sm._merge_simple(target, patch) is None  # the embedded Service's ports get merged
    assert sm.merge(target, patch) == full_walk(target, patch)
    assert sm.merge(target, patch)["spec"]["svc"]["spec"]["ports"] == [{"port": 1}]
