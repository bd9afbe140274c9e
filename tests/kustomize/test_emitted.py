"""kustomize/emitted.py: the documents of a text the emitter wrote, built from its objects, are
exactly what the loader parses from that text (types, source-text memos and null metadata
included), or the text is refused and parsed as usual."""

from __future__ import annotations

import os
import random

import pytest

from conftest import copy_sources
from mlgitops import emit, pipeline, yamlguard
from mlgitops.config import load_config
from mlgitops.diagnostics import Diagnostics
from mlgitops.kustomize import emitted, loader
from mlgitops.modelfiles import load_model_file
from mlgitops.overlays import header
from mlgitops.spec.model import list_model_files

HEADER = header(["models/x.yaml"])


def exact(a, b, path=()) -> str | None:
    """Where `a` and `b` differ, types included (QuotedStr, RawFloat, ...), or None."""
    if type(a) is not type(b):
        return f"{path}: {type(a).__name__} {a!r} != {type(b).__name__} {b!r}"
    if isinstance(a, dict):
        if list(a) != list(b):
            return f"{path}: keys {list(a)} != {list(b)}"
        for (ka, va), kb in zip(a.items(), b):
            if type(ka) is not type(kb):
                return f"{path}: key {ka!r} is {type(ka).__name__}, {type(kb).__name__} when parsed"
            found = exact(va, b[kb], path + (ka,))
            if found:
                return found
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} items != {len(b)}"
        return next((f for f in (exact(x, y, path + (i,)) for i, (x, y) in enumerate(zip(a, b))) if f), None)
    if a != b and not (a != a and b != b):  # NaN equals itself here
        return f"{path}: {a!r} != {b!r}"
    if getattr(a, "raw", None) != getattr(b, "raw", None):
        return f"{path}: source text {getattr(a, 'raw', None)!r} != {getattr(b, 'raw', None)!r}"
    return None


def assert_as_parsed(objects: list) -> bool:
    """The emitted documents of `objects` against the parse of their text; False when refused."""
    body = emit.dump_all(objects)
    try:
        got = emitted.documents(objects, body, 2)
    except emitted.NotUsual:
        return False
    want = loader._parse_documents_uncached(HEADER + body)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert exact(g.data, w.data) is None, exact(g.data, w.data)
        assert (g.line, g.nulls, g.items, g.empty_nulls, g.finite) == (w.line, w.nulls, w.items, w.empty_nulls, w.finite)
    return True


def test_every_generated_file_of_the_example_repository(tmp_path):
    repo = copy_sources(tmp_path / "repo")
    config = load_config(str(repo), Diagnostics())
    checked = 0
    for rel in list_model_files(str(repo)):
        f = load_model_file(str(repo), rel, Diagnostics())
        found, outputs, overlays = pipeline.compile_model(f, config)
        assert outputs and overlays
        for files in overlays:
            for name, objects in files.objects.items():
                if name == "kustomization.yaml":
                    continue
                text = files.texts[name].decode()
                first, _, body = text.partition("\n")
                assert first + "\n" == header([f.path])
                docs = emitted.documents(objects, body, 2)
                want = loader._parse_documents_uncached(text)
                assert [exact(g.data, w.data) for g, w in zip(docs, want)] == [None] * len(want)
                assert [(d.line, d.nulls, d.empty_nulls, d.finite) for d in docs] == \
                    [(d.line, d.nulls, d.empty_nulls, d.finite) for d in want]
                checked += 1
    assert checked >= 8  # model.yaml and monitoring.yaml of every overlay of the four models


# Texts the emitter quotes, folds or writes as blocks, and texts every reader resolves differently.
TRICKY = ["", " ", "yes", "No", "on", "OFF", "y", "n", "~", "null", "Null", "true", "1", "-1", "+1", "0777",
          "0o17", "0x1F", "1_000", "1e3", "1.0", ".5", ".inf", "-.Inf", ".nan", "NaN", "1:30", "12:30:45",
          "2026-01-01", "2026-02-30", "2001-12-14 21:59:43.10 -5", "=", "<<", "-", "- x", "? x", ": x", "a: b",
          "a:b", "x #y", "#x", "*x", "&x", "!x", "|x", ">x", "'q'", '"q"', "{a}", "[a]", "%x", "@x", "`x",
          " lead", "trail ", "tab\there", "line\nbreak", "line\nbreak\n", "two\n\n", "\nlead", " \nx",
          "x \ny", "caf\u00e9", "emoji \U0001F600", "\ufeffbom", "nel\u0085x", "ctl\x07x",
          "word " * 30, "x" * 130, "{{args.namespace}}", "sum(rate(x[5m])) / 2", "--", "---", "...", "0b101"]


def tricky_value(rng: random.Random, depth: int):
    roll = rng.random()
    if depth < 4 and roll < 0.15:
        return {tricky_key(rng): tricky_value(rng, depth + 1) for _ in range(rng.randrange(0, 4))}
    if depth < 4 and roll < 0.25:
        return [tricky_value(rng, depth + 1) for _ in range(rng.randrange(0, 4))]
    return rng.choice(TRICKY + [None, True, False, 0, -7, 2**63, 10**30, 1.0, 0.5, -2.5e-7, 1e21, 123456789.0,
                                float("inf"), float("nan")])


def tricky_key(rng: random.Random) -> str:
    return rng.choice(["name", "labels", "a", "x" * 140, "key with space", "1", "true", "null", "<<", "~",
                       "a: b", "'q'", "k\tv", "2026-01-01", "metadata", "annotations"] + [f"k{i}" for i in range(8)])


def test_random_objects_are_built_as_parsed_or_refused():
    rng = random.Random(18)
    built = refused = 0
    for _ in range(1500):
        objects = []
        for _ in range(rng.randrange(1, 4)):
            obj = {"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": "x", "labels": {tricky_key(rng): tricky_value(rng, 3) for _ in range(2)},
                                "annotations": {"a": None, "b": rng.choice(TRICKY)}}}
            obj.update({tricky_key(rng): tricky_value(rng, 1) for _ in range(rng.randrange(1, 5))})
            objects.append(obj)
        if assert_as_parsed(objects):
            built += 1
        else:
            refused += 1
    # both kinds occur: most objects are built, keys that read as non-strings are refused
    assert built > 500 and refused > 100, (built, refused)


def test_keys_that_read_as_other_types_are_quoted_and_built_so():
    assert assert_as_parsed([{"kind": "x", "1": "a", "true": "b", "<<": "c", "~": "d", "2026-01-01": "e",
                              "*x": "&y", "a": "*ref"}])
    doc = emitted.documents([{"1": "a"}], emit.dump({"1": "a"}), 2)[0]
    assert [type(k) for k in doc.data] == [loader.QuotedStr]


@pytest.mark.parametrize("obj", [
    {"kind": "x", "k" * 200: "a"},  # a complex key
    {"kind": "List", "items": [{"a": 1}]},  # the reader records each item's line
    {"kind": "x", "data": "x: &a 1\ny: *a\n"},  # may hold an alias (yamlguard): the reader's slow path
])
def test_what_the_reader_builds_otherwise_is_refused(obj):
    with pytest.raises(emitted.NotUsual):
        emitted.documents([obj], emit.dump(obj), 2)


def test_nesting_at_the_readers_limit_is_refused():
    deep: dict = {"a": 1}
    for _ in range(yamlguard.MAX_DEPTH):
        deep = {"d": deep}
    with pytest.raises(emitted.NotUsual):
        emitted.documents([deep], emit.dump(deep), 2)
    shallow: dict = {"a": 1}
    for _ in range(yamlguard.MAX_DEPTH - 2):
        shallow = {"d": shallow}
    assert assert_as_parsed([shallow])


def test_a_count_of_objects_that_does_not_match_the_text_is_refused():
    objects = [{"a": 1}, {"b": 2}]
    with pytest.raises(emitted.NotUsual):
        emitted.documents(objects, emit.dump(objects[0]), 2)


def test_an_offered_text_is_taken_once_without_parsing(monkeypatch):
    objects = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"a": "yes"}}]
    text = HEADER + emit.dump_all(objects)
    docs = emitted.documents(objects, text.partition("\n")[2], 2)
    parsed: list[str] = []
    real = loader._parse_documents_uncached
    monkeypatch.setattr(loader, "_parse_documents_uncached", lambda t: parsed.append(t) or real(t))
    loader.offer(text, docs)
    try:
        assert loader.parse_documents_ex(text) is docs and parsed == []
        again = loader.parse_documents_ex(text)  # taken: the next reader parses
        assert parsed == [text] and exact(again[0].data, docs[0].data) is None
    finally:
        loader.withdraw()


def test_taken_names_the_file_whose_read_took_the_offer(tmp_path):
    """loader.taken(path, text): the read of that very file found the offered text (what lets the
    gate locate a finding in it with the compiled objects). A file that holds something else is
    not taken, even when another file read in the same render holds the offered text."""
    from mlgitops.kustomize import engine

    objects = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"a": "yes"}}]
    text = HEADER + emit.dump_all(objects)
    (tmp_path / "kustomization.yaml").write_text("resources:\n- a.yaml\n- b.yaml\n")
    # a.yaml is what the build wrote for it once edited (stale); b.yaml holds a's text as the build
    # wrote it
    (tmp_path / "a.yaml").write_text(HEADER + emit.dump_all([{**objects[0], "metadata": {"name": "y"}}]))
    (tmp_path / "b.yaml").write_text(text)
    a, b = (os.path.realpath(tmp_path / name) for name in ("a.yaml", "b.yaml"))
    loader.offer(text, emitted.documents(objects, text.partition("\n")[2], 2))
    try:
        engine.render(str(tmp_path), repo_root=str(tmp_path))
        assert loader.taken(b, text) and not loader.taken(a, text)
    finally:
        loader.withdraw()
    assert not loader.taken(b, text)  # forgotten with the offers
