"""A model file that failed its JSON Schema, pruned to the parts that passed, so every semantic rule
still runs on the rest in the same run (one `build` reports every problem of a file).

`Pruner.prune` returns a copy of the document's data where every value the schema refused is replaced
by an `Invalid` marker (a missing required field is added as one), and every unknown field is
removed; a document whose apiVersion or kind is wrong is not known to be a Model at all, so all
of it is refused. A misspelt field stands for the known field it resembles (the suggestion
`spec.unknown-field` prints): that field becomes `Invalid` too, so its default never takes the
place of what the user wrote.

`Invalid` refuses every use: reading it as a mapping, list, string, number or truth value,
comparing, hashing or formatting it raises `InvalidValue` (a TypeError). Whatever reads a refused
value stops there: a rule is skipped for that model in that environment (rules/__init__.py), an
environment whose override failed is not resolved, and a typed part built from it is itself
`Invalid` (`refusing`). Nothing ever falls back to a default for a value the user got wrong, so a
schema error never comes back as a second, derived finding.
"""

from __future__ import annotations

import copy
import difflib
from typing import Any, Callable, Iterator, NoReturn, TypeVar, cast

from ..schemacheck import full_validator, non_finite
from ..yamlsource import Path

T = TypeVar("T")

# The fields that say a document is a Model (apiVersion, kind).
IDENTITY = {("apiVersion",), ("kind",)}
# The likeness at which spec.unknown-field suggests a known field (schemacheck.py).
SUGGESTION_CUTOFF = 0.6


class InvalidValue(TypeError):
    """A value that failed the schema was used (see `Invalid`)."""

    def __init__(self, invalid: "Invalid") -> None:
        super().__init__(f"{'.'.join(map(str, invalid.path)) or '(document)'} failed the model schema")
        self.invalid = invalid


class Invalid:
    """A value of the model file the schema refused, in its place in the pruned data."""

    __slots__ = ("path",)

    def __init__(self, path: Path) -> None:
        self.path = path

    def __repr__(self) -> str:
        return f"Invalid({self.path!r})"

    def __deepcopy__(self, memo: dict) -> "Invalid":
        return self

    def __copy__(self) -> "Invalid":
        return self

    def _refuse(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise InvalidValue(self)

    # Every use but identity (`is None`), isinstance and repr.
    __getattr__ = __getitem__ = __contains__ = __iter__ = __len__ = __bool__ = __hash__ = _refuse
    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = _refuse
    __str__ = __format__ = __int__ = __float__ = __index__ = __round__ = __abs__ = __neg__ = _refuse
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _refuse
    __truediv__ = __rtruediv__ = __floordiv__ = __rfloordiv__ = __mod__ = __rmod__ = _refuse


def refusing(build: Callable[..., T], *args: Any) -> T:
    """build(*args), or the `Invalid` it read: a part built from a refused value is refused too
    (typed as what it stands for: any use of it raises)."""
    try:
        return build(*args)
    except InvalidValue as exc:
        return cast(T, exc.invalid)


class Pruner:
    """Prunes model files that failed `schema` (its validator is built on first use)."""

    def __init__(self, schema: dict) -> None:
        self.schema = schema
        self._validator: Any = None

    def errors(self, data: Any) -> Iterator[Any]:
        """jsonschema's errors of `data`, with the ECMA 262 patterns the schema check uses."""
        if self._validator is None:
            self._validator = full_validator(self.schema)
        return self._validator.iter_errors(data)

    def prune(self, data: Any) -> Any:
        """A copy of `data` with what failed the schema pruned (see the module docstring)."""
        refused: list[Path] = [path for path, _ in non_finite(data)]
        unknown: list[Path] = []
        for error in self.errors(data):
            path = tuple(error.absolute_path)
            if error.validator == "additionalProperties":
                known = list(error.schema.get("properties") or {})
                for name in (k for k in error.instance if k not in known):
                    unknown.append(path + (name,))
                    hints = difflib.get_close_matches(name, known, n=1, cutoff=SUGGESTION_CUTOFF)
                    refused.extend(path + (hint,) for hint in hints if hint not in error.instance)
            elif error.validator == "required":
                refused.extend(path + (name,) for name in error.validator_value if name not in error.instance)
            else:
                refused.append(path)
        if IDENTITY & set(refused):
            return Invalid(())  # not known to be a Model: no part of it is checked further
        pruned = copy.deepcopy(data)
        for path in unknown:
            parent = value_at(pruned, path[:-1])
            if isinstance(parent, dict):
                parent.pop(path[-1], None)
        for path in sorted(set(refused), key=len):  # a refused mapping first: what is under it goes with it
            if not path:
                return Invalid(path)
            parent, last = value_at(pruned, path[:-1]), path[-1]
            if isinstance(parent, dict):
                parent[last] = Invalid(path)
            elif isinstance(parent, list) and isinstance(last, int) and last < len(parent):
                parent[last] = Invalid(path)
        return pruned


def value_at(data: Any, path: Path, missing: Any = None) -> Any:
    """data at `path`; `missing` where it is not (a partial file's data lacks what failed the schema)."""
    for part in path:
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            return missing
    return data
