"""Write a small kustomization tree for a test: {relative path: dedented text}."""

from __future__ import annotations

import pathlib
import textwrap


def write(root: pathlib.Path, files: dict[str, str], *, dedent: bool = True) -> pathlib.Path:
    """Write the files under root (marked as a repository root with .git) and return root;
    `dedent=False` writes each text exactly as given."""
    (root / ".git").mkdir(parents=True, exist_ok=True)
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(content).lstrip("\n") if dedent else content, encoding="utf-8")
    return root
