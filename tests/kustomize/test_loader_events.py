"""The loader's fast path (kustomize/v3events.py) builds exactly what its slow path (PyYAML's node
graph) builds, or leaves the text to it: same data (types, key order, the reader's str/int/float
subclasses and their source text), same line, null texts, `items` metadata and empty-null paths."""

from __future__ import annotations

import math
import pathlib
import random

import pytest

from mlgitops import yamlguard
from mlgitops.kustomize import loader, v3events
from mlgitops.kustomize.engine import render_yaml
from mlgitops.kustomize.loader import QuotedStr
from yamldocs import scalars

# Plain scalars yaml.v3 reads in every which way (YAML 1.1 words stay strings, Go number syntax,
# timestamps, special floats), and the other scalar styles.
SCALARS = [
    "on", "off", "yes", "no", "y", "n", "Y", "N", "true", "True", "TRUE", "tRue", "false", "FALSE", "null", "Null",
    "NULL", "nULL", "~", "", "0x1F", "0X1f", "0o17", "0O17", "017", "08", "0b101", "1_000", "1__0", "_1", "1_",
    ".inf", "-.inf", "+.inf", ".Inf", "+.INF", ".nan", ".NaN", "-.nan", "+.5", ".5", "-.5", ".5e3", ".5_5", "1.",
    "1.e5", "1e5", "1E+5", "-1e-5", "1.0", "1.10", "+1", "-0", "+0", "00", "-0x1F", "+0x1F", "0x", "0o", "0b",
    "9223372036854775807", "9223372036854775808", "-9223372036854775809", "18446744073709551615",
    "18446744073709551616", "1e400", "2024-01-02", "2024-1-2", "2024-02-30", "2024-02-29", "2023-02-29",
    "2024-01-02T03:04:05Z", "2024-01-02t03:04:05.123456789012+01:00", "2024-01-02 03:04:05",
    "2024-01-02T25:00:00Z", "2024-01-02T03:04:05+00:00", "1.1.1", "1:30", "190:20:30", "1,000", "<<", "<", "=",
    "-", "--", "-x", ".", "..", "name", "nope", "tea", "fals", "Nul", "~x", "3d", "100m", "512Mi", '"quoted"',
    "'single'", '"1"', "'true'", '"null"', "''", '""', "!!str 5", "! plain", "!custom x", "&a x", "*a", "|\n  block",
    ">\n  folded\n  text", "|-\n  x", "[1, 2, {a: b}]", "{a: 1, b: [x]}", "{}", "[]", "1" * 5000,
]
KEYS = ["a", '"q"', "'s'", "1", "true", "null", "~", "", "2024-01-01", "<<", "items", "metadata", "labels",
        "annotations", '"metadata"', "? [x]", "1.5", ".inf"]


def fast(text: str) -> list:
    """The fast path's documents, or the exception it leaves to the slow path."""
    try:
        return [loader.Document(*d) for d in v3events.load(text, yamlguard.MAX_DEPTH, loader._PLAIN_VALUES,
                                                          QuotedStr)]
    except Exception as exc:  # noqa: BLE001
        return exc  # type: ignore[return-value]


def slow(text: str) -> list:
    try:
        return loader._parse_documents_slow(text)
    except Exception as exc:  # noqa: BLE001
        return exc  # type: ignore[return-value]


def same(a, b) -> bool:
    """Equal, and of the same types all the way down (keys included), with the same source text."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return [type(k) for k in a] == [type(k) for k in b] and list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return a == b and getattr(a, "raw", None) == getattr(b, "raw", None)


def agree(text: str) -> bool:
    """True when the fast path built the text (as the slow path does), False when it left it."""
    got, want = fast(text), slow(text)
    if isinstance(got, Exception):
        return False
    assert not isinstance(want, Exception), (text, want)
    assert len(got) == len(want), text
    for g, w in zip(got, want):
        for field in ("line", "data", "nulls", "items", "empty_nulls"):
            assert same(getattr(g, field), getattr(w, field)), (text, field, getattr(g, field), getattr(w, field))
        assert g.finite or not w.finite, text  # known finite only when it is
        assert g.finite == (not any(isinstance(v, float) and not math.isfinite(v) for v in scalars(g.data)))
    return True




@pytest.mark.parametrize("scalar", SCALARS)
def test_every_scalar_as_value_item_label_and_root(scalar):
    for text in (f"a: {scalar}\n", f"- {scalar}\n", f"{scalar}\n", f"metadata:\n  labels:\n    k: {scalar}\n",
                 f"items:\n- metadata:\n    annotations:\n      k: {scalar}\n  e: {scalar}\n"):
        agree(text)


@pytest.mark.parametrize("key", KEYS)
def test_every_key(key):
    for text in (f"{key}: v\n", f"metadata:\n  labels:\n    {key}:\n", f"m:\n  {key}: ~\n"):
        agree(text)


def test_usual_documents_take_the_fast_path():
    text = ('# a comment\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: "n"\n  labels:\n    a: ~\n    b:\n'
            '  annotations: {c: null, d: 1.10}\ndata:\n  e: |\n    {x="1"}\n  f: [1, "2", 0x1F, .5]\n  g:\n---\n'
            "---\napiVersion: v1\nkind: List\nitems:\n- metadata: {name: i, labels: {l: }}\n  x:\n- 3\n")
    assert agree(text)
    docs = fast(text)
    assert docs[0].nulls == {("labels", "a"): "~", ("labels", "b"): "", ("annotations", "c"): "null"}
    assert docs[0].empty_nulls == (("metadata", "labels", "b"), ("data", "g"))
    assert docs[1].data is None and docs[1].line == 16 and docs[2].line == 17
    assert docs[2].items == [(20, {("labels", "l"): ""}, (("metadata", "labels", "l"), ("x",))), (22, {}, ())]


@pytest.mark.parametrize("text", [
    "a: &x 1\nb: 2\n", "a: !!str 1\n", "a: ! 1\n", "a: 1\na: 2\n", "1: x\n", "? [a]\n: b\n", "m:\n  <<: {b: 1}\n",
    "2024-01-01: x\n", "a: [1, 2\n", "a: b: c\n", "a: " + "1" * 5000 + "\n",
])
def test_unusual_or_wrong_texts_are_left_to_the_slow_path(text):
    assert isinstance(fast(text), Exception)


@pytest.mark.parametrize("text", [
    "x: " + "[" * 199 + "]" * 199 + "\n",
    "x:\n" + "".join(" " * i + "-\n" for i in range(1, 199)),
])
def test_nesting_up_to_the_limit_is_built(text):
    assert agree(text)


@pytest.mark.parametrize("text, line, column", [
    ("x: " + "[" * 200 + "]" * 200 + "\n", 1, 203),
    ("x: " + "[" * 5000 + "]" * 5000 + "\n", 1, 1003),
    ("x:\n" + "".join(" " * i + "-\n" for i in range(1, 400)), 201, 201),
])
def test_too_deep_nesting_is_never_built_and_refused_at_its_position(text, line, column):
    assert isinstance(fast(text), Exception)
    with pytest.raises(loader.YamlRefused) as refused:
        loader.parse_documents_ex(text)
    assert (refused.value.rule, refused.value.line, refused.value.column) == (yamlguard.DEPTH_RULE, line, column)


def test_random_documents_agree():
    rng = random.Random(18)

    def value(depth):
        roll = rng.random()
        if depth == 0 or roll < 0.5:
            return rng.choice(SCALARS[:-1]).replace("\n", "\n" + "  " * (4 - depth))
        if roll < 0.8:
            return mapping(depth - 1)
        return "[" + ", ".join(rng.choice(["1", "x", "~", "'q'", "{a: b}"]) for _ in range(rng.randint(0, 3))) + "]"

    def mapping(depth):
        pad = "  " * (4 - depth)
        keys = rng.sample(["a", "b", "metadata", "labels", "annotations", "items", "k", '"s"'], rng.randint(1, 3))
        return "".join(f"\n{pad}{k}: {value(depth)}" for k in keys)

    built = 0
    for _ in range(1500):
        docs = ["apiVersion: v1\nkind: X" + mapping(4) + "\n" for _ in range(rng.randint(1, 3))]
        built += agree(rng.choice(["", "---\n", "# c\n"]) + "---\n".join(docs))
    assert built > 150  # both paths are exercised


def test_repository_files_agree():
    root = pathlib.Path(__file__).resolve().parents[2]
    texts = [p.read_text() for d in ("overlays", "base", "argocd") for p in sorted((root / d).rglob("*.yaml"))]
    assert texts and all(agree(text) for text in texts)


def test_render_of_the_example_overlays_is_unchanged_by_the_fast_path(monkeypatch):
    root = pathlib.Path(__file__).resolve().parents[2]
    overlays = sorted(p.parent for p in (root / "overlays").glob("*/*/kustomization.yaml"))
    assert overlays
    quick = [render_yaml(str(o), repo_root=str(root)) for o in overlays]
    monkeypatch.setattr(loader, "_parse_documents_uncached", loader._parse_documents_slow)
    monkeypatch.setattr(loader, "_PARSED", loader.Memo(max_entries=1024, max_weight=16 << 20))
    assert [render_yaml(str(o), repo_root=str(root)) for o in overlays] == quick
