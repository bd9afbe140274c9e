"""Helpers for tests that walk or mutate Kubernetes objects: every (path, node), and a copy with
one value set or deleted."""

from __future__ import annotations

import copy
from typing import Any, Iterator

DELETE = object()  # pass as `value` to remove the key instead of setting it


def mutated(obj: Any, path: tuple, value: Any, *, create: bool = False) -> Any:
    """A deep copy of `obj` with the value at `path` (keys and list indexes) set to `value`.

    `value=DELETE` removes the last key; `create=True` makes missing intermediate maps."""
    out = copy.deepcopy(obj)
    node = out
    for part in path[:-1]:
        node = node.setdefault(part, {}) if create and isinstance(node, dict) else node[part]
    if value is DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return out


def walk(node: Any, path: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    """(path, node) of `node` and of everything in it, parents first (keys and list indexes)."""
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, path + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, path + (index,))
