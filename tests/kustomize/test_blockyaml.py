"""blockyaml: a text read line by line gives exactly what libyaml gives, or it is refused. Both
readings are checked: the kustomize loader's (against its slow path, PyYAML's node graph: types,
null texts and lines included) and the validator's (fastyaml, against PyYAML's safe loader).

The texts: every file `mlgitops build` writes for the example repository, random objects through
the emitter, hand-written texts at the edges of the dialect, and thousands of mutations of
generated texts (a refusal is always allowed; a wrong reading never is)."""

from __future__ import annotations

import math
import pathlib
import random

import pytest

from conftest import copy_sources
import yaml

from mlgitops import blockyaml, emit, fastyaml, yamlguard, yamlsource
from mlgitops.kustomize import loader
from test_emitted import TRICKY, exact, tricky_key
from yamldocs import scalars

READER = blockyaml.Reader(loader._PLAIN_VALUES.__getitem__, loader.QuotedStr)


def read(text: str) -> list[loader.Document] | None:
    """The loader's documents of `text` through blockyaml, or None when it refuses the text."""
    try:
        docs = READER.load(text, yamlguard.MAX_DEPTH)
    except blockyaml.NotDialect:
        return None
    return [loader.Document(*loader.v3events._document(line, root, finite, nulls, False, []))
            for line, root, nulls, finite in docs]


def assert_same(text: str) -> bool:
    """blockyaml's reading of `text` equals libyaml's; False when blockyaml refuses it."""
    assert_same_as_safe_loader(text)
    got = read(text)
    if got is None:
        return False
    want = loader._parse_documents_slow(text)  # raises when libyaml finds the text wrong: a failure here
    assert len(got) == len(want), text
    for g, w in zip(got, want):
        assert exact(g.data, w.data) is None, (exact(g.data, w.data), text)
        assert (g.line, g.nulls, g.items, g.empty_nulls) == (w.line, w.nulls, w.items, w.empty_nulls), text
        # the slow path knows a document finite only without other tags than strings and numbers
        assert g.finite == (not any(isinstance(v, float) and not math.isfinite(v) for v in scalars(g.data)))
        assert g.finite or not w.finite, text
    try:  # and exactly what the events give, where they build the text
        events = loader.v3events.load(text, yamlguard.MAX_DEPTH, loader._PLAIN_VALUES, loader.QuotedStr)
    except loader.v3events.Unusual:
        return True
    assert [loader.Document(*d) for d in events] == got, text
    return True


def assert_same_as_safe_loader(text: str) -> None:
    """The validator's reading (YAML 1.1 scalars, quoted ones plain `str`) is PyYAML's, when read."""
    try:
        docs = fastyaml._DIALECT.load(text, yamlguard.MAX_DEPTH)
    except blockyaml.NotDialect:
        return
    want = list(yaml.load_all(text, Loader=yamlsource._Loader))
    assert [exact(root, w) for (_, root, _, _), w in zip(docs, want)] == [None] * len(want), text
    assert len(docs) == len(want)


def generated_texts(tmp_path) -> list[str]:
    from mlgitops import pipeline  # noqa: PLC0415
    from mlgitops.config import load_config  # noqa: PLC0415
    from mlgitops.diagnostics import Diagnostics  # noqa: PLC0415
    from mlgitops.modelfiles import load_model_file  # noqa: PLC0415
    from mlgitops.spec.model import list_model_files  # noqa: PLC0415

    repo = copy_sources(tmp_path / "repo")
    config = load_config(str(repo), Diagnostics())
    texts = []
    for rel in list_model_files(str(repo)):
        found, outputs, overlays = pipeline.compile_model(load_model_file(str(repo), rel, Diagnostics()), config)
        texts.extend(text.decode() for files in overlays for text in files.texts.values())
    return texts


def test_every_file_the_build_writes_is_read_as_libyaml_reads_it(tmp_path):
    texts = generated_texts(tmp_path)
    refused = [text for text in texts if not assert_same(text)]
    assert len(texts) >= 24 and not refused, refused[:1]


def test_what_kubectl_kustomize_prints_is_read():
    """The rendered output (the emitter prints what kustomize prints) of every example overlay."""
    from mlgitops.kustomize import engine  # noqa: PLC0415

    root = pathlib.Path(__file__).resolve().parents[2]
    overlays = sorted(p.parent for p in (root / "overlays").glob("*/*/kustomization.yaml"))
    assert overlays
    for overlay in overlays:
        text = emit.dump_all(engine.render_objects(str(overlay), repo_root=str(root)))
        assert assert_same(text), overlay


# The tricky texts the dialect can hold: printable ASCII (line breaks and spaces included).
MILD = [text for text in TRICKY if all(" " <= char <= "~" or char == "\n" for char in text)]


@pytest.mark.parametrize("values", [TRICKY, MILD], ids=["tricky", "printable"])
def test_random_objects_through_the_emitter(values):
    rng = random.Random(1807)
    same = refused = 0
    def key():  # mostly plain keys; some that the emitter quotes or writes as complex keys
        return tricky_key(rng) if rng.random() < 0.1 else rng.choice(["a", "b-c", "d.e/f", "g_h", "spec"])

    for _ in range(1000):
        def value(depth):
            roll = rng.random()
            if depth < 4 and roll < 0.2:
                return {key(): value(depth + 1) for _ in range(rng.randrange(0, 4))}
            if depth < 4 and roll < 0.35:
                return [value(depth + 1) for _ in range(rng.randrange(0, 4))]
            return rng.choice(values + [None, True, 0, -7, 10**30, 0.5, 1e21, float("inf"), float("nan")])

        objects = [{"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": "x", "labels": {"a": rng.choice(values), "b": None}},
                    **{key(): value(1) for _ in range(rng.randrange(1, 4))}}
                   for _ in range(rng.randrange(1, 4))]
        if assert_same("# a comment\n" + emit.dump_all(objects)):
            same += 1
        else:
            refused += 1
    # both occur: keys that do not read as strings, complex keys, tabs, Unicode are left to libyaml
    assert same > 500 and refused > 100, (same, refused)


# Texts inside the dialect, each read exactly as libyaml reads it.
READ = [
    "a: 1\n",
    "a: b\nc:\n  d: e\n  f:\n  - 1\n  - - x\n    - y\n  - k: v\n    l: w\ng: h\n",
    "- a\n- - b\n  - c\n- d: e\n  f: g\n",
    "a:\n- x: 1\n  y:\n  - z\n- w\nb: {}\nc: []\nd:\n  - 1\n",
    "a: null\nb: ~\nc: Null\nd:\n  e: NULL\n",
    "metadata:\n  annotations:\n    a: null\n    b: ~\n  labels:\n    c: null\n",
    "a: .nan\nb: -.inf\nc: .5\nd: 1e3\ne: 0x1F\nf: 0777\ng: yes\nh: 'yes'\ni: \"on\"\n",
    "a: 'it''s'\nb: '#x'\nc: \"x: y\"\nd: '- x'\ne: ''\nf: \"\"\n",
    "a: |\n  line 1\n    indented\n\n  line 3\nb: |-\n  x\nc: |+\n  y\n\n\nd: e\n",
    "a: |+\n  y\n\n",
    "a: |2\n    starts with spaces\n  and not\nb: |2-\n   x\n",
    "- |\n  in a sequence\n- - |-\n    nested\n- k: |\n    in a mapping in a sequence\n",
    "a: |\n  x\n# a comment at column 0 ends the block\nb: c\n",
    "a: word word word word word word word word word word word word word word word word\n"
    "  word word word\nb: x\n",
    "- word word\n  word\n- k: a\n    b\n",
    "a: \"a \\\"quoted\\\" word\\n\\t\\\\ \\x41\\u00e9\\u2028 x\"\n",
    "a: \"\\0\\e\\N\\_\\L\\P\\/\\ \\U0001F600\\\\e\"\n",
    "a: \"folded\n  over lines\n\n  and a blank\"\nb: 'single\n  folded'' too\n\n\n  x'\n",
    "a: \"escaped \\\n  break\\\n  \\ space\"\n",
    "a: \"two backslashes \\\\\n  fold\"\n",
    "a: 1\n---\nb: 2\n---\n# only a comment first\nc: 3\n",
    "---\na: 1\n---\nb: 2\n", "---\n# a comment\n\na: 1\n",
    "a: -1\nb: -x\nc: a:b\nd: x#y\ne: \"{{args.namespace}}\"\nf: sum(rate(x[5m])) / 2\ng: ---\n",
    "items: x\nkind: List\n",
    "a: =\nb: <<x\n",
    # runs of empty lines and comment lines (what a root key the policy check drops leaves), at the
    # start, between entries, at the end of a document and of the text: later lines keep their numbers
    "\n\n\na: 1\n\n\n\nb:\n\n\n  c: 2\n#\n\n\n\n\n#x\n\nd: 3\n\n\n---\n\n\ne: 4\n#\n\n\n",
    "a: |\n  x\n\n\n#\n\n\n\nb:\n- 1\n#\n\n\n\n- 2\n---\n#\n\n\nc: 3\n\n\n\n",
    "- a\n\n\n\n- b\n---\n\n\n\n- c\n",
]


@pytest.mark.parametrize("text", READ)
def test_texts_of_the_dialect_are_read(text):
    assert assert_same(text)


# Texts outside the dialect (some valid YAML, some not): left to libyaml.
REFUSED = [
    "", "# only a comment\n", "a: 1", "a: 1 \n", "a:\tb\n", "a: caf\u00e9\n", "a: b\r\n",
    "a: 1 # comment\n", "  # indented comment\na: 1\n", "a: &x 1\nb: *x\n", "a: !!str 1\n",
    "\"a\": 1\n", "'a': 1\n", "? a\n: b\n", "a: {b: 1}\n", "a: [1]\n", "a: >\n  folded\n",
    "a:\nb: 1\n", "a:\n", "a: 1\na: 2\n", "x\n", "- a\nb: c\n", "  a: 1\n", "items:\n- a\n",
    "items: []\n", "a: 1\n---\n", "---\n", "--- a: 1\n", "---\n---\na: 1\n", "a b: 1\n", "1: a\n", "true: a\n", "<<: {}\n",
    "a: b: c\n", "a: b:\n", "a: :x\n", "a: ?x\n", "a: -\n", "-\n", "- \n", "a: '\n", "a: \"\n",
    "a: 'x' y\n", "a: \"x\" y\n", "a: \"\\ud800\"\n", "a: \"\\U00110000\"\n", "a: \"\\'\"\n",
    "a: \"\\x4\"\n", "a: \"\\u12\"\n", "a: \"\\q\"\n", "a: \"x \n  y\"\n", "- \"x\ny\"\n",
    "a: \"x\n\n\"\n", "a: |\n\n", "a: |\nb: 1\n", "a: |\n   \n  x\n", "a: |\n  x\n \nb: 1\n",
    "a: |3\n  x\n", "a:  b\n", "a:\n  - b\n  c: d\n", "a:\n    b: 1\n  c: 2\n", "a: 1\n  b: 2\n",
    "- a\n  - b\n", "a: x\n  - y\n", "a: x\n  # y\n", "a: x\n  y: z\n", "a: ''x'\n",
]


@pytest.mark.parametrize("text", REFUSED)
def test_texts_outside_the_dialect_are_refused(text):
    assert read(text) is None


def test_nesting_at_the_readers_limit():
    deep = "".join("  " * i + f"k{i}:\n" for i in range(yamlguard.MAX_DEPTH - 1)) + "  " * (yamlguard.MAX_DEPTH - 1) + "x: 1\n"
    assert assert_same(deep)  # MAX_DEPTH mappings: as deep as the loader builds
    deeper = "".join("  " * i + f"k{i}:\n" for i in range(yamlguard.MAX_DEPTH)) + "  " * yamlguard.MAX_DEPTH + "x: 1\n"
    assert read(deeper) is None
    assert read("a:\n" + "".join("  " * i + "- " for i in range(1)) + "- " * (yamlguard.MAX_DEPTH + 1) + "x\n") is None
    assert read(deep.replace("x: 1", "x: {}")) is None


# Edits that turn generated text into texts near the dialect's edges.
PIECES = [" ", "  ", "\n", "\n\n", ":", ": ", "#", " #", "-", "- ", "'", "''", '"', "\\", "\\n", "|", "|-",
          "|+", "|2", "{}", "[]", "{", "&a", "*a", "!", "?", "---\n", "\n---\n", "null", "~", ".nan", "x",
          "yes", "1", "\t", "\u00e9"]


def mutate(rng: random.Random, text: str) -> str:
    for _ in range(rng.randrange(1, 4)):
        roll = rng.random()
        at = rng.randrange(len(text) + 1)
        if roll < 0.35:
            text = text[:at] + rng.choice(PIECES) + text[at:]
        elif roll < 0.55:
            text = text[:at] + text[at + rng.randrange(1, 4):]
        elif roll < 0.8:  # indent or dedent a line
            lines = text.split("\n")
            i = rng.randrange(len(lines))
            lines[i] = "  " + lines[i] if rng.random() < 0.5 else lines[i][rng.choice((1, 2)):]
            text = "\n".join(lines)
        else:  # duplicate or drop a line
            lines = text.split("\n")
            i = rng.randrange(len(lines))
            lines[i:i + 1] = [lines[i]] * rng.choice((0, 2))
            text = "\n".join(lines)
    return text


def test_mutated_texts_are_read_as_libyaml_reads_them_or_refused(tmp_path):
    rng = random.Random(2026)
    seeds = [text for text in generated_texts(tmp_path) if len(text) < 6000]
    seeds += READ
    read_same = refused = 0
    for _ in range(15000):
        text = mutate(rng, rng.choice(seeds))
        try:
            if assert_same(text):
                read_same += 1
            else:
                refused += 1
        except (loader.YamlError, loader.YamlRefused) as exc:
            raise AssertionError(f"read a text libyaml refuses ({exc}):\n{text}") from None
    assert read_same > 4000 and refused > 8000, (read_same, refused)


@pytest.mark.parametrize("text", ['a: "' + "word " * 40_000 + "\n", "a: '" + "word " * 40_000 + "\n",
                                  'a: "' + "x" * 200_000 + '\\q"\n'])
def test_unterminated_or_odd_quoted_text_is_refused_in_linear_time(text):
    """The scans are possessive: a backtracking one would take longer than the universe's age here."""
    assert read(text) is None
