"""The content-keyed parse memo in the loader never leaks one caller's mutations to another."""

from __future__ import annotations

from mlgitops.kustomize import loader

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
    monkeypatch.setattr(loader, "_PARSED", {})
    monkeypatch.setattr(loader, "_SEEN", set())
    monkeypatch.setattr(loader, "_PARSED_MAX", 3)
    for i in range(10):
        loader.parse_documents_ex(f"a: {i}\n")
        loader.parse_documents_ex(f"a: {i}\n")  # memoised from the second sight on
    assert len(loader._PARSED) == 3
    assert [d.data for d in loader.parse_documents_ex("a: 9\n")] == [{"a": 9}]
