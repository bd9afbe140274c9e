"""loader.count_pieces splits a text as kyaml's reader does, and finds every separator the
regular expression it replaced finds (re.finditer(r"\\n---.*\\n"), so also its quirks: a
separator line right after another one is not one)."""

from __future__ import annotations

import random
import re

import pytest

from mlgitops.kustomize.loader import YamlError, count_pieces


def reference(text: str) -> int | tuple[str, int]:
    if not text:
        return 0
    text = text.replace("\r\n", "\n")
    count = 1
    for m in re.finditer(r"\n---.*\n", text):
        after = m.group()[4:].strip()
        if after and after[0] != "#":
            return m.group().strip(), text.count("\n", 0, m.start()) + 2
        count += 1
    return count


def pieces(text: str) -> int | tuple[str, int]:
    try:
        return count_pieces(text)
    except YamlError as exc:
        return str(exc).removeprefix("invalid document separator: "), exc.line


@pytest.mark.parametrize("text, expected", [
    ("", 0), ("a: 1\n", 1), ("a: 1\n---\nb: 2\n", 2), ("---\na: 1\n", 1), ("a\n---\n---\nb\n", 2),
    ("a\n--- # c\nb\n", 2), ("a\n---x\nb\n", ("---x", 2)), ("a\r\n---\r\nb\r\n", 2), ("a\n---", 1),
])
def test_pieces(text, expected):
    assert pieces(text) == reference(text) == expected


def test_random_texts_split_as_the_regular_expression_does():
    rng = random.Random(18)
    lines = ["a: 1", "---", "--- # c", "---x", "--- x", "----", " ---", "", "b: |", "  ---", "\r", "---\r", "#"]
    for _ in range(5000):
        text = rng.choice(["", "\n"]) + rng.choice(["\n", "\r\n"]).join(
            rng.choice(lines) for _ in range(rng.randint(0, 8))) + rng.choice(["", "\n", "\r\n"])
        assert pieces(text) == reference(text), repr(text)
