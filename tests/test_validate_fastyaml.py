"""The event-based fast loader reads exactly what PyYAML's safe loader (without timestamps) reads.

Every document of every YAML file in this repository, plus scalars chosen for YAML 1.1's
corner cases, are loaded both ways and compared with their types (1, 1.0 and True differ).
"""

from __future__ import annotations

import math
import pathlib

import pytest
import yaml

from mlgitops import fastyaml
from mlgitops.validate.documents import MAX_DEPTH, _StrictLoader, split_documents
from tooling import REPO_ROOT


def typed(value):
    """`value` with every leaf tagged by its type, NaN made comparable."""
    if isinstance(value, dict):
        return ("dict", [(typed(k), typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [typed(v) for v in value])
    if isinstance(value, float) and math.isnan(value):
        return ("float", "nan")
    return (type(value).__name__, value)


def slow(text: str):
    loader = _StrictLoader(text)
    try:
        return loader.get_single_data(), loader.duplicates
    finally:
        loader.dispose()


def assert_same(text: str) -> None:
    try:
        expected, expected_dups = slow(text)
    except yaml.YAMLError:
        with pytest.raises((yaml.YAMLError, fastyaml.Unusual)):
            fastyaml.load(text, MAX_DEPTH)
        return
    try:
        data, dups, _ = fastyaml.load(text, MAX_DEPTH)
    except fastyaml.Unusual:
        return  # left to PyYAML by design (explicit tags, merge keys, ...)
    assert typed(data) == typed(expected), text
    assert dups == expected_dups, text


def repository_documents() -> list[tuple[str, str]]:
    out = []
    for path in sorted(REPO_ROOT.rglob("*.y*ml")):
        rel = path.relative_to(REPO_ROOT).as_posix()
        if rel.startswith((".venv/", ".tools/", ".git/", ".mlgitops/")):
            continue
        for offset, chunk in split_documents(path.read_text(encoding="utf-8")):
            out.append((f"{rel}@{offset + 1}", chunk))
    return out


DOCUMENTS = repository_documents()


def test_repository_has_documents_to_compare():
    assert len(DOCUMENTS) > 60


@pytest.mark.parametrize("where, text", DOCUMENTS, ids=[w for w, _ in DOCUMENTS])
def test_repository_documents_load_the_same(where: str, text: str):
    assert_same(text)


SCALARS = [
    "yes", "No", "ON", "off", "y", "n", "True", "FALSE", "null", "Null", "~", "", "0", "-0", "+12", "0x1F", "0o17",
    "017", "0b101", "1_000", "1e3", "1.5e-3", "6.8523015e+5", ".inf", "-.Inf", ".NaN", "190:20:30", "1:30",
    "2026-11-23", "2026-11-23T10:00:00Z", "1.0", "1.", ".5", "+.5", "0.0.0", "v1", "500m", "1Gi", "=", "<<",
    "'quoted'", '"double \\u00e9"', "héllo", "a b c", "#not-a-comment", "- not a list",
]


@pytest.mark.parametrize("scalar", SCALARS)
def test_scalars_resolve_as_pyyaml_resolves_them(scalar: str):
    assert_same(f"value: {scalar}\nlist: [{scalar}]\n")


@pytest.mark.parametrize("text", [
    "a: &x {b: 1}\nc: *x\n",
    "a: &x [1, 2]\nb: [*x, *x]\n",
    "base: &b {x: 1}\nderived:\n  <<: *b\n  y: 2\n",
    "a: !!str 5\nb: !!int '7'\n",
    "? [complex]\n: key\n",
    "a: 1\na: 2\nb: {c: 1, c: 3}\n",
    "text: |\n  line 1\n  line 2\nfolded: >\n  a\n  b\n",
    "plain: multi\n  line\n",
    "a: *undefined\n",
    "--- a\n--- b\n",
    "a: [unclosed\n",
    "[1, [2, [3, {x: [4]}]]]\n",
    "empty:\nnested: {}\nlist: []\n",
])
def test_structures_and_unusual_documents(text: str):
    assert_same(text)


def test_nesting_deeper_than_the_limit_raises():
    with pytest.raises(RecursionError):
        fastyaml.load("a: " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5) + "\n", MAX_DEPTH)


def test_unusual_constructs_are_left_to_pyyaml():
    for text in ("a: !!str 5\n", "b: &x {}\nc: {<<: *x}\n", "? [k]\n: v\n"):
        with pytest.raises(fastyaml.Unusual):
            fastyaml.load(text, MAX_DEPTH)


def test_aliases_are_reported():
    assert fastyaml.load("a: &x 1\nb: *x\n", MAX_DEPTH)[2] is True
    assert fastyaml.load("a: 1\n", MAX_DEPTH)[2] is False


def test_a_large_rendered_overlay_matches(tmp_path: pathlib.Path):
    from mlgitops.emit import dump_all
    from mlgitops.kustomize.engine import render_objects

    text = dump_all(render_objects(str(REPO_ROOT / "overlays" / "prod" / "sentiment"), repo_root=str(REPO_ROOT)),
                    sort_keys=True)
    chunks = split_documents(text)
    assert len(chunks) > 5
    for _, chunk in chunks:
        assert_same(chunk)


def slow_positions(text: str):
    from mlgitops.yamlsource import _Builder, _Loader

    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    finally:
        loader.dispose()
    builder = _Builder("x.yaml", loader)
    data = builder.build(node, ()) if node is not None else None
    return data, builder.values, builder.keys, builder.collections, builder.problems


@pytest.mark.parametrize("where, text", DOCUMENTS, ids=[w for w, _ in DOCUMENTS])
def test_positions_are_the_node_walks(where: str, text: str):
    """yamlsource.load_yaml's fast path gives the data and every position its node walk gives."""
    try:
        data, values, keys, collections = fastyaml.load_with_positions(text)
    except (fastyaml.Unusual, yaml.YAMLError):
        return
    if not values:
        return
    s_data, s_values, s_keys, s_collections, problems = slow_positions(text)
    assert problems == []
    assert typed(data) == typed(s_data)
    assert (values, keys, collections) == (s_values, s_keys, s_collections)


def test_positions_fall_back_for_aliases_duplicates_and_merge_keys():
    for text in ("a: &x 1\nb: *x\n", "a: 1\na: 2\n", "b: &x {}\nc: {<<: *x}\n", "a: !!str 1\n"):
        with pytest.raises(fastyaml.Unusual):
            fastyaml.load_with_positions(text)


def pyyaml(text: str):
    return slow(text)[0]


@pytest.mark.parametrize("where, text", DOCUMENTS, ids=[w for w, _ in DOCUMENTS])
def test_the_loading_chain_reads_what_pyyaml_reads(where: str, text: str):
    """documents._load picks the event path or PyYAML; whichever it picks, the data is PyYAML's."""
    from mlgitops.validate.documents import _load

    try:
        expected = pyyaml(text)
    except yaml.YAMLError:
        return
    assert typed(_load(text)[0]) == typed(expected)


@pytest.mark.parametrize("where, text", DOCUMENTS, ids=[w for w, _ in DOCUMENTS])
def test_find_position_is_source_document_position(where: str, text: str):
    """Every path of every document, plus paths below scalars and missing keys, is located where
    SourceDocument.position locates it."""
    from mlgitops.yamlsource import load_yaml

    doc, problems = load_yaml(text, where)
    if doc is None or problems:
        return
    paths = list(doc.value_positions) + [p + ("missing",) for p in doc.value_positions] + [("nope", 3)]
    try:
        found = {p: fastyaml.find_position(text, p) for p in paths}
    except fastyaml.Unusual:
        return
    assert found == {p: doc.position(p) for p in paths}
