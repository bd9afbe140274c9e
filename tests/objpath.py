"""One helper for tests that mutate Kubernetes objects: a copy with one value set or deleted."""

from __future__ import annotations

import copy
from typing import Any

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
