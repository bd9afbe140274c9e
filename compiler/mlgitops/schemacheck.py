"""Check loaded YAML against a JSON Schema and report every problem at its source position.

jsonschema-rs (Rust) answers "valid?" for every file: it compiles the model schema in about 3 ms
(fastjsonschema, the screen before #18, took 30-40 ms, paid by every command that reads a model)
and checks a file in microseconds. Only files that fail are re-checked with jsonschema, which
lists all errors with paths (tests/test_schema_screen.py: the two agree on mutated files).
"""

from __future__ import annotations

import difflib
import functools
import json
import math
import re
from typing import Any, Iterable, Iterator

import jsonschema_rs

from .diagnostics import ECHO_LIMIT, Diagnostic, ERROR, echo
from .yamlsource import Path, SourceDocument

# Human wording for the patterns the schemas use; anything else prints the regex.
PATTERN_WORDS = {
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$": "a DNS-1123 name (lower-case letters, digits and '-', starting and ending with a letter or digit)",
    r"^[0-9]+(\.[0-9]+)?(ms|s)$": "a duration like 500ms or 1s",
    r"^[0-9]+(s|m|h)$": "a duration like 30s, 5m or 1h",
    r"^([0-9]+(s|m|h)|manual)$": "a duration like 30s, 5m or 1h, or 'manual'",
    r"^[0-9]+(h|d|w)$": "a window like 30d, 4w or 720h",
    r"^[0-9]+(s|m)$": "a duration like 60s or 2m",
    r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$": "a Kubernetes quantity like 500m, 2, 512Mi or 4Gi",
    r"^(s3|gs|pvc|hf|oci|https)://[^\s]+$": "a URI starting with s3://, gs://, pvc://, hf://, oci:// or https://",
    r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$": "a label value (letters, digits, '-', '_', '.'; starting and ending with a letter or digit)",
}


def dotted(path: Iterable) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + echo(str(part), quote=False)
    return out or "(document)"


def _show(value: Any) -> str:
    """A value of the user's file as messages quote it (strings quoted; long values cut)."""
    if isinstance(value, str):
        return echo(value)
    if isinstance(value, (dict, list)):
        return type(value).__name__
    if isinstance(value, float) and not math.isfinite(value):
        return _yaml_float(value)
    try:
        return echo(json.dumps(value), quote=False)
    except (TypeError, ValueError):  # ValueError: an integer too long to print
        return echo(str(value)) if not isinstance(value, int) else "a very long integer"


def _yaml_float(value: float) -> str:
    """NaN and the infinities spelt as YAML writes them."""
    return ".nan" if math.isnan(value) else (".inf" if value > 0 else "-.inf")


def non_finite(data: Any, path: Path = ()) -> Iterator[tuple[Path, float]]:
    """(path, value) of every NaN or infinite number in loaded YAML (`.nan`, `.inf`, `-.inf`)."""
    if isinstance(data, float):
        if not math.isfinite(data):
            yield path, data
    elif isinstance(data, dict):
        for key, value in data.items():
            yield from non_finite(value, path + (key,))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from non_finite(value, path + (i,))


# JSON Schema patterns are ECMA 262 regexes: `$` ends the string. Python's `$` also matches before
# a trailing newline ("iris\n"), so for `re` every unescaped `$` becomes `\Z` (the screen,
# jsonschema-rs, reads patterns as ECMA 262 does: the screen and the full check must agree).
_DOLLAR = re.compile(r"(?<!\\)\$")


@functools.lru_cache(maxsize=None)
def schema_regex(pattern: str) -> re.Pattern:
    """A schema `pattern` compiled with ECMA 262's end-of-string `$` (search semantics, as JSON
    Schema applies patterns)."""
    return re.compile(_DOLLAR.sub(r"\\Z", pattern))


def _ecma_pattern(validator: Any, pattern: str, instance: Any, schema: dict) -> Iterator[Any]:
    """jsonschema's `pattern` keyword with ECMA 262 anchors (jsonschema uses Python's `$`)."""
    from jsonschema.exceptions import ValidationError

    if validator.is_type(instance, "string") and not schema_regex(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def full_validator(schema: dict) -> Any:
    """jsonschema's Draft 7 validator of `schema`, with ECMA 262 patterns (what JSON Schema
    means by a pattern): every error, where the fast screen stops at the first."""
    import jsonschema

    return jsonschema.validators.extend(jsonschema.Draft7Validator, {"pattern": _ecma_pattern})(schema)


_TYPE_NAMES = {"object": "a mapping", "array": "a list", "string": "a string", "integer": "an integer",
               "number": "a number", "boolean": "true or false", "null": "null"}


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if value is None:
        return "null"
    return "a string"


class SchemaChecker:
    def __init__(self, schema: dict, rule: str, unknown_rule: str) -> None:
        self.schema = schema
        self.rule = rule
        self.unknown_rule = unknown_rule
        # The screen only says pass or fail (jsonschema writes the messages). Formats are not
        # asserted, as jsonschema does not without a format checker; patterns are ECMA 262 regular
        # expressions in both.
        self._fast = jsonschema_rs.Draft7Validator(schema, validate_formats=False)
        self._full: Any = None  # jsonschema, imported and built only when a file fails (90 ms of import)

    def screen(self, data: Any) -> bool:
        """Whether `data` passes the schema, by the fast screen (False for values it cannot read,
        such as mapping keys that are not strings: the full check then decides)."""
        try:
            return self._fast.is_valid(data)
        except (ValueError, TypeError, OverflowError):
            return False

    def _screened_error(self, data: Any) -> tuple[tuple, str]:
        """The path and message of the screen's first error (or of the value it could not read)."""
        try:
            error = next(iter(self._fast.iter_errors(data)), None)
        except (ValueError, TypeError, OverflowError) as exc:
            return (), str(exc)
        if error is None:
            return (), "does not match the schema"
        return tuple(error.instance_path), error.message

    def check(self, doc: SourceDocument) -> list[Diagnostic]:
        # NaN passes every JSON Schema bound (each comparison is false) and would be written as
        # `nan`: refuse NaN and the infinities anywhere, at the value, before the schema runs.
        found: list[Diagnostic] = []
        bad = set()
        for path, value in non_finite(doc.data):
            bad.add(path)
            line, col = doc.position(path)
            found.append(Diagnostic(doc.path, line, col, self.rule, ERROR,
                                    f"{dotted(path)}: {_yaml_float(value)} is not a finite number (NaN and "
                                    "infinity are refused)"))
        if self.screen(doc.data):
            return found
        if self._full is None:
            self._full = full_validator(self.schema)
        errors = 0
        for error in self._full.iter_errors(doc.data):
            errors += 1
            if tuple(error.absolute_path) not in bad:
                found.extend(self._diagnose(doc, error))
        # The two validators disagree: never let a file the screen refused pass (unless a NaN or an
        # infinity, reported above, explains it: the screen reads them as null).
        if not errors and not bad:
            path, said = self._screened_error(doc.data)
            line, col = doc.position(path)
            found.append(Diagnostic(doc.path, line, col, self.rule, ERROR, f"{dotted(path)}: {echo(said, quote=False)}"))
        return found

    def _diagnose(self, doc: SourceDocument, error: Any) -> list[Diagnostic]:  # a jsonschema.ValidationError
        path = tuple(error.absolute_path)
        where = dotted(path)
        kind = error.validator
        value = error.instance

        def at(p: tuple, message: str, rule: str | None = None, key: bool = False) -> Diagnostic:
            line, col = doc.position(p, key=key)
            return Diagnostic(doc.path, line, col, rule or self.rule, ERROR, message)

        if kind == "additionalProperties":
            known = sorted((error.schema.get("properties") or {}).keys())
            out = []
            for name in sorted(k for k in value if k not in known):
                hint = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
                suggestion = f" (did you mean '{hint[0]}'?)" if hint else f" (expected one of: {', '.join(known)})"
                out.append(at(path + (name,), f"{dotted(path + (name,))}: unknown field {echo(name)}{suggestion}",
                              self.unknown_rule, key=True))
            return out
        if kind == "required":
            missing = error.message.split("'")[1] if "'" in error.message else error.message
            return [at(path, f"{where}: missing required field '{missing}'", key=True)]
        if kind == "type":
            value_types = error.validator_value
            types: list[str] = value_types if isinstance(value_types, list) else [value_types]
            expected = " or ".join(_TYPE_NAMES.get(t, t) for t in types)
            got = _type_name(value)
            if not isinstance(value, (dict, list)) and value is not None:
                got += f" {_show(value)}"
            written = PATTERN_WORDS.get(error.schema.get("pattern", ""))
            return [at(path, f"{where}: expected {expected}, got {got}" + (f" (write {written})" if written else ""))]
        if kind == "enum":
            options = [str(o) for o in error.validator_value]
            hint = difflib.get_close_matches(str(value), options, n=1, cutoff=0.6)
            suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
            return [at(path, f"{where}: {_show(value)} is not one of {', '.join(options)}{suggestion}")]
        if kind == "const":
            return [at(path, f"{where}: must be {_show(error.validator_value)}, not {_show(value)}")]
        if kind == "pattern":
            words = PATTERN_WORDS.get(error.validator_value, f"the pattern {error.validator_value}")
            return [at(path, f"{where}: {_show(value)} is not {words}")]
        if kind == "maximum":
            return [at(path, f"{where}: {_show(value)} is greater than {error.validator_value}")]
        if kind == "minimum":
            return [at(path, f"{where}: {_show(value)} is less than {error.validator_value}")]
        if kind == "exclusiveMaximum":
            why = f": {error.schema['x-why']}" if "x-why" in error.schema else ""
            return [at(path, f"{where}: {_show(value)} is not below {error.validator_value} (the limit is exclusive)"
                             + why)]
        if kind == "exclusiveMinimum":
            return [at(path, f"{where}: {_show(value)} is not above {error.validator_value} (the limit is exclusive)")]
        if kind == "maxLength":
            if len(value) > ECHO_LIMIT:  # the shortened value already gives its length
                return [at(path, f"{where}: {_show(value)} is too long; at most {error.validator_value} "
                                 "characters allowed")]
            return [at(path, f"{where}: {_show(value)} is {len(value)} characters; at most {error.validator_value} allowed")]
        if kind == "minLength":
            return [at(path, f"{where}: must not be empty")]
        if kind == "minItems":
            return [at(path, f"{where}: needs at least {error.validator_value} item(s)")]
        if kind == "maxItems":
            return [at(path, f"{where}: allows at most {error.validator_value} items")]
        return [at(path, f"{where}: {error.message}")]
