"""The YAML documents of a file, parsed with libyaml (PyYAML's CSafeLoader) when PyYAML has it:
the upstream CRDs the tests read are megabytes, which the pure-Python loader takes seconds over.
Same safe constructors and resolvers either way, so the same values."""

from __future__ import annotations

import pathlib
from typing import Any

import yaml

LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def documents(path: pathlib.Path) -> list[Any]:
    """Every document of the YAML file `path`, in order (None for an empty one)."""
    return list(yaml.load_all(path.read_text(), Loader=LOADER))


def scalars(node: Any):
    """Every scalar of parsed YAML data (the values of mappings, the items of lists), depth first."""
    if isinstance(node, dict):
        for v in node.values():
            yield from scalars(v)
    elif isinstance(node, list):
        for v in node:
            yield from scalars(v)
    else:
        yield node
