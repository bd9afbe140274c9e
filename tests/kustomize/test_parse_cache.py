"""The content-keyed parse memo in the loader never leaks one caller's mutations to another."""

from __future__ import annotations

import pytest

from mlgitops.kustomize import jsonpatch, loader
from mlgitops.kustomize.memo import Memo

TEXT = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: shared
  labels: {app: x}
data:
  ratio: "0.5"
  count: 3
  on: yes
---
apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: ServiceAccount, metadata: {name: a}}
"""


def test_repeated_parses_return_independent_equal_copies():
    loader.parse_documents_ex(TEXT)
    first = loader.parse_documents_ex(TEXT)
    pristine = [(d.line, repr(d.data), d.nulls, d.items, d.empty_nulls) for d in first]
    first[0].data["metadata"]["labels"]["app"] = "changed"
    first[0].data["data"].pop("count")
    first[1].data["items"].append({"kind": "Intruder"})
    second = loader.parse_documents_ex(TEXT)
    assert [(d.line, repr(d.data), d.nulls, d.items, d.empty_nulls) for d in second] == pristine
    assert second[0].data["data"]["count"] == 3 and type(second[0].data["data"]["count"]) is int
    assert second[0].data is not first[0].data


def test_memo_is_bounded(monkeypatch):
    monkeypatch.setattr(loader, "_PARSED", Memo(max_entries=3, max_weight=1 << 20))
    monkeypatch.setattr(loader, "_SEEN", set())
    for i in range(10):
        loader.parse_documents_ex(f"a: {i}\n")
        loader.parse_documents_ex(f"a: {i}\n")  # memoised from the second sight on
    assert len(loader._PARSED) == 3
    assert [d.data for d in loader.parse_documents_ex("a: 9\n")] == [{"a": 9}]


def test_memo_bounds_entries_and_weight_and_keeps_recent_entries():
    memo = Memo(max_entries=3, max_weight=10)
    for key in "abc":
        memo.put(key, key.upper(), 2)
    assert memo.get("a") == "A"  # now the most recently used
    memo.put("d", "D", 2)  # over 3 entries: the least recently used ("b") goes
    assert memo.get("b") is None and [memo.get(k) for k in "acd"] == ["A", "C", "D"]
    memo.put("e", "E", 6)  # over the weight: the oldest go until it fits
    assert len(memo) <= 3 and memo.weight <= 10 and memo.get("e") == "E"
    memo.put("huge", "H", 11)  # heavier than the whole memo: not kept
    assert memo.get("huge") is None and memo.weight <= 10


def test_first_sight_is_not_shared_through_aliases():
    """Without the memo (a text's first sight), a document with aliases is copied apart as the
    memo's copies are: changing one place must not change another."""
    text = "a: &x {k: [1]}\nb: *x\n"
    loader._SEEN.discard(hash(text))
    (doc,) = loader.parse_documents_ex(text)
    assert doc.data["a"] == doc.data["b"] and doc.data["a"] is not doc.data["b"]
    doc.data["a"]["k"].append(2)
    assert doc.data["b"] == {"k": [1]}


@pytest.mark.parametrize("text, finite", [
    ("a: 1.5\nb: [1, x, '.nan']\n", True),
    ("a: .nan\n", False), ("a: [1, -.Inf]\n", False), ("a: !!float 1e999\n", False),
    ("m:\n  <<: {b: .inf}\n", False), ("a: &x .inf\nb: *x\n", False),
])
def test_documents_know_whether_they_may_hold_nan_or_infinity(text, finite):
    """The loader skips its NaN/infinity walk only for documents known to hold none."""
    assert [d.finite for d in loader.parse_documents_ex(text)] == [finite]


def test_operations_memo_hands_out_copies():
    text = "- op: add\n  path: /data\n  value: {a: [1]}\n"
    first = jsonpatch.parse_operations(text)
    first[0]["value"]["a"].append(2)
    first.append({"op": "remove"})
    assert jsonpatch.parse_operations(text) == [{"op": "add", "path": "/data", "value": {"a": [1]}}]
    with pytest.raises(ValueError, match="cannot unmarshal object") as one:
        jsonpatch.parse_operations("a: 1\n")
    with pytest.raises(ValueError) as two:  # a memoised refusal says the same
        jsonpatch.parse_operations("a: 1\n")
    assert str(one.value) == str(two.value)
