"""The event-based fast loader reads exactly what PyYAML's safe loader (without timestamps) reads.

Every document of every YAML file in this repository, plus scalars chosen for YAML 1.1's
corner cases, are loaded both ways and compared with their types (1, 1.0 and True differ).
"""

from __future__ import annotations

import math
import pathlib
import random
import re

import pytest
import yaml
from yaml._yaml import CParser

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


# --- literal_blocks_valid: a dropped root key's text known valid without libyaml (prune_root) ---

def libyaml_accepts(text: str) -> bool:
    parser = CParser(text)
    try:
        parser.raw_parse()
        return True
    except yaml.YAMLError:
        return False
    finally:
        parser.dispose()


_PIECES = ["a", "{", "}", "#", "-", ":", " ", "\t", "'", '"', "|", ">", "&", "*", "!", "%", "@", "`", ",", "[",
           "]", "é", "\x07", "\r", "\x85", "\u2028", "\x7f", "\ufeff", "---", "...", "key: |", "? x", "0", "\n",
           "\n ", "\n  ", "\n\t", "\t "]


def _literal_segment(rng: random.Random) -> tuple[str, str]:
    """A root key holding literal block scalars, as dashboards are written (valid)."""
    name = rng.choice(["data", "spec"])
    keys = rng.choice([1, 2, 2, 3])
    lines = [name + ":"]
    for _ in range(rng.randrange(1, 4)):
        lines.append(" " * keys + rng.choice(["x.json", "model-1.json", "a/b", "_k", "0"])
                     + rng.choice([": |", ": |-", ": |+"]))
        depth = keys + rng.choice([1, 2, 2, 4])
        lines.append(" " * depth + rng.choice(["{", "a", "#", "-", '"x": 1,', "!x", "|"]))
        for _ in range(rng.randrange(0, 10)):
            if rng.random() < 0.7:
                lines.append(" " * (depth + rng.choice([0, 0, 1, 2]))
                             + "".join(rng.choice("ab {}:\"',#-\t") for _ in range(rng.randrange(0, 10))))
            else:
                lines.append(" " * rng.randrange(0, depth + 3))
    return name, "\n".join(lines) + rng.choice(["\n", ""])


def _mutated(rng: random.Random, text: str) -> str:
    """`text` with one to three random edits: a character or line break inserted or deleted, a line
    indented one space more or less, a line repeated elsewhere."""
    for _ in range(rng.choice([1, 1, 2, 3])):
        roll, at = rng.random(), rng.randrange(0, len(text) + 1)
        if roll < 0.4:
            text = text[:at] + rng.choice(_PIECES) + text[at:]
        elif roll < 0.6:
            text = text[:at] + text[at + 1:]
        else:
            lines = text.split("\n")
            i = rng.randrange(len(lines))
            if roll < 0.8:
                lines[i] = lines[i][rng.choice([1, 2]):] if rng.random() < 0.5 else " " + lines[i]
            else:
                lines.insert(rng.randrange(len(lines) + 1), lines[i])
            text = "\n".join(lines)
    return text


@pytest.mark.parametrize("seed", range(4))
def test_literal_blocks_valid_only_when_libyaml_accepts(seed: int):
    # Differential, against libyaml itself: texts of the recognised shape, most of them mutated at
    # random (seeded). A True verdict on a text libyaml refuses would hide a syntax error in a
    # pruned document; False only costs the parse it used to.
    rng = random.Random(seed)
    recognised = refused = 0
    for _ in range(6000):
        name, text = _literal_segment(rng)
        if rng.random() < 0.8:
            text = _mutated(rng, text)
        if fastyaml.literal_blocks_valid(text, name):
            recognised += 1
            assert libyaml_accepts(text), repr(text)
        elif not libyaml_accepts(text):
            refused += 1
    assert recognised > 2000 and refused > 500  # both sides of the line were met


@pytest.mark.parametrize("text, valid", [
    ("data:\n  a.json: |\n    {\n      \"x\": 1\n    }\n", True),
    ("data:\n  a.json: |-\n    x\n\n  b.json: |+\n     y\n   \n", True),
    ("data:\n  a.json: |\n    x\n    y", True),  # no final line break
    ("data:\n  a.json: |\n    x\n    \ty\n", True),  # a tab after the indentation is content
    ("data:\n  a.json: |\n    x\r\n", False),  # \r: a line break to libyaml
    ("data:\n  a.json: |\n    x\x07\n", False),  # a control character
    ("data:\n  a.json: |\n    caf\u00e9\n", False),  # valid, but not ASCII: libyaml decides
    ("data:\n  a.json: |\n  \tx\n", False),  # a tab where indentation is expected
    ("data:\n  a.json: |\n    x\n  y\n", False),  # less indented: not a key
    ("data:\n  a.json: |\n\n    x\n", False),  # a blank first line (libyaml: valid; not recognised)
    ("data:\n  a.json: |\n    x\n   b.json: |\n    y\n", False),  # keys at two indentations
    ("data:\n  a.json: |\n  x\n", False),  # text not deeper than the keys
    ("data:\n  a.json: >\n    x\n", False),  # folded: not recognised
    ("data:\n  -a: |\n    x\n", False),  # an indicator first
    ("data:\n  a.json: |\n    x\n# comment\n", False),
    ("spec:\n  a.json: |\n    x\n", False),  # another root key than the one named
])
def test_literal_blocks_valid_cases(text: str, valid: bool):
    assert fastyaml.literal_blocks_valid(text, "data") is valid
    if valid:
        assert libyaml_accepts(text)


def test_dashboards_are_recognised_and_pruned_as_before():
    # The dashboards of this repository's overlays (ConfigMaps whose `data` the policies never
    # read) are recognised; pruning them gives the same data as building them and dropping `data`.
    def keep_metadata(root):
        return {"apiVersion", "kind", "metadata"} if root.get("kind") == "ConfigMap" else None

    seen = 0
    for where, text in DOCUMENTS:
        if "\ndata:\n" not in text or "kind: ConfigMap" not in text or len(text) < 4096:
            continue
        start = text.index("\ndata:\n") + 1
        following = [m.start() for m in re.finditer(r"\n[^ \n#-]", text) if m.start() > start]
        segment = text[start:following[0] + 1] if following else text[start:]
        if ".json: |\n" not in segment.split("\n", 2)[1] + "\n":
            continue
        seen += 1
        assert fastyaml.literal_blocks_valid(segment, "data"), where
        full, _, _ = fastyaml.load(text, MAX_DEPTH)
        pruned = fastyaml.prune_root(text, keep_metadata)
        assert pruned is not None and pruned.count("\n") == text.count("\n"), where
        assert fastyaml.load(pruned, MAX_DEPTH)[0] == {k: v for k, v in full.items() if k != "data"}, where
    assert seen >= 4
