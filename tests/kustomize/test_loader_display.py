"""Loader.display shows a path as os.path.relpath from the repository root does (paths outside it
as they are), also for paths that are not normalised."""

from __future__ import annotations

import os
import random

from mlgitops.kustomize.loader import Loader


def test_display_is_relpath_below_the_root(tmp_path):
    root = os.path.realpath(tmp_path)
    loader = Loader(root)
    rng = random.Random(18)
    parts = ["a", "b", ".", "..", "", ".git", "x.yaml", "..."]
    for _ in range(5000):
        path = root + "".join(rng.choice(["/", "//"]) + rng.choice(parts) for _ in range(rng.randint(0, 4)))
        path += rng.choice(["", "/"])
        inside = path == root or path.startswith(root + "/")
        assert loader.display(path) == (os.path.relpath(path, root) if inside else path), path
    assert loader.display(root) == "." and loader.display(root + "x") == root + "x"
