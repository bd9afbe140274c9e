"""contain.RealPaths answers exactly what os.path.realpath answers, for every kind of path through
a tree of symbolic links (loops, dangling links, links out of the tree, to files, to `.` and `..`),
while resolving paths below a directory it already resolved without asking os.path.realpath."""

from __future__ import annotations

import os
import pathlib
import random

import pytest

from mlgitops import contain

NAMES = ["a", "b", "c", "d", "e", "f.yaml", "g.yaml", "h", "x", "lb", "ld", "out", "loop1", "loop2", "self",
         "dangling", "lf", "dot", "up", "abs", "missing", "..", ".", ""]


@pytest.fixture
def tree(tmp_path: pathlib.Path) -> pathlib.Path:
    root = tmp_path / "repo"
    for d in ("a/b/c", "d/e"):
        (root / d).mkdir(parents=True)
    (tmp_path / "outside" / "x").mkdir(parents=True)
    for f in ("a/b/c/f.yaml", "d/g.yaml"):
        (root / f).write_text("x: 1\n")
    (tmp_path / "outside" / "x" / "h").write_text("secret\n")
    links = {"a/lb": "b", "a/ld": "../d", "out": str(tmp_path / "outside"), "loop1": "loop2", "loop2": "loop1",
             "self": "self", "dangling": "missing", "a/b/lf": "c/f.yaml", "dot": ".", "a/up": "..",
             "abs": str(root / "a" / "b"), "a/b/c/back": "../../../out/x"}
    for link, target in links.items():
        os.symlink(target, root / link)
    return pathlib.Path(os.path.realpath(root))


def test_every_path_resolves_as_os_path_realpath_does(tree: pathlib.Path):
    rng = random.Random(18)
    checked = 0
    for _ in range(200):
        paths = contain.RealPaths()
        paths(str(tree))
        for _ in range(40):
            path = str(tree) + "/" + "/".join(rng.choice(NAMES) for _ in range(rng.randint(1, 5)))
            if rng.random() < 0.5:
                path = os.path.normpath(path)
            if rng.random() < 0.3:
                path = rng.choice(sorted(paths.results)) + "/" + rng.choice(NAMES)
            assert paths(path) == os.path.realpath(path), path
            checked += 1
    assert checked == 8000


def test_paths_below_a_resolved_directory_need_no_realpath(tree: pathlib.Path, monkeypatch):
    calls: list[str] = []
    realpath = os.path.realpath
    monkeypatch.setattr(contain.os.path, "realpath", lambda p: calls.append(p) or realpath(p))
    paths = contain.RealPaths()
    assert paths(str(tree)) == str(tree) and calls == [str(tree)]
    assert paths(str(tree / "a/b/c/f.yaml")) == str(tree / "a/b/c/f.yaml")
    assert paths(str(tree / "d/g.yaml")) == str(tree / "d/g.yaml")
    assert len(calls) == 1  # both from the resolved root, by lstat
    assert paths(str(tree / "a/lb/c/f.yaml")) == str(tree / "a/b/c/f.yaml")  # a link on the way: realpath
    assert paths(str(tree / "loop1/x")) == realpath(str(tree / "loop1/x"))
    assert paths(str(tree / "a/b/c/back/h")) == realpath(str(tree / "a/b/c/back/h"))  # leaves the tree
    assert len(calls) == 4
    assert paths(str(tree / "a/b/c/f.yaml")) == str(tree / "a/b/c/f.yaml") and len(calls) == 4  # remembered


def test_a_link_out_of_the_repository_is_still_refused(tree: pathlib.Path):
    paths = contain.RealPaths()
    paths(str(tree))
    with pytest.raises(contain.ContainmentError) as refused:
        contain.read_bytes(str(tree), str(tree / "a/b/c/back/h"), "resource", realpath=paths)
    assert refused.value.rule == contain.RULE_OUTSIDE
    assert contain.read_bytes(str(tree), str(tree / "a/lb/lf"), "resource", realpath=paths) == b"x: 1\n"
