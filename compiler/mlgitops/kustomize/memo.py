"""Bounded per-process memos keyed by content.

Rendering every overlay of a repository reads the same shared files (base components, their
patches and configurations) once per overlay; a memo lets the work that depends only on a
file's text (parsing it, decoding it) happen once per process. Keys hold the text itself (or a
tuple containing it), never a path or a file's stat alone, so an edited file is a new key and is
never answered from the memo. Each memo is bounded by entries and by the total weight (the
characters of the texts) it holds; the least recently used entries go first.
"""

from __future__ import annotations

from typing import Any, Hashable


class Memo:
    """A least-recently-used map with a bound on entries and on the sum of the entries' weights."""

    def __init__(self, max_entries: int, max_weight: int) -> None:
        self.max_entries = max_entries
        self.max_weight = max_weight
        self._items: dict[Hashable, tuple[Any, int]] = {}
        self._weight = 0

    def __len__(self) -> int:
        return len(self._items)

    @property
    def weight(self) -> int:
        return self._weight

    def get(self, key: Hashable, default: Any = None) -> Any:
        if key not in self._items:
            return default
        item = self._items[key] = self._items.pop(key)  # most recently used last
        return item[0]

    def put(self, key: Hashable, value: Any, weight: int) -> None:
        """Remember `value` unless its weight alone exceeds the bound; evict to fit."""
        old = self._items.pop(key, None)
        if old is not None:
            self._weight -= old[1]
        if weight > self.max_weight or self.max_entries < 1:
            return
        while self._items and (len(self._items) >= self.max_entries or self._weight + weight > self.max_weight):
            oldest = next(iter(self._items))
            self._weight -= self._items.pop(oldest)[1]
        self._items[key] = (value, weight)
        self._weight += weight

    def clear(self) -> None:
        self._items.clear()
        self._weight = 0


def copy_data(value: Any) -> Any:
    """A deep copy of plain data: dicts and lists are new, scalars (immutable) are shared. Much
    faster than copy.deepcopy, and keeps the YAML reader's str/int/float subclasses."""
    if isinstance(value, dict):
        return {k: copy_data(v) if isinstance(v, (dict, list)) else v for k, v in value.items()}
    if isinstance(value, list):
        return [copy_data(v) if isinstance(v, (dict, list)) else v for v in value]
    return value
