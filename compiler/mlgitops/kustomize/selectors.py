"""Patch `target` selectors with kustomize v5's semantics (types.SelectorRegex, resWrangler.Select).

- `group`, `version`, `kind`, `name` and `namespace` are regular expressions anchored at both
  ends (kustomize compiles `^(?:<pattern>)$`); an empty or absent field matches everything.
- `namespace` is matched against the object's *effective* namespace: `default` when it has none,
  `_non_namespaceable_` for the built-in kinds kustomize knows to be cluster-scoped. A selector
  `namespace: default` therefore selects objects without a namespace.
- kustomize tries the original name and namespace (before prefixes, suffixes, namespace and
  hash changes) and then the current ones; `matches` checks the object as given, so a caller tries
  each of them (the engine passes a view per name/namespace pair).
- `labelSelector` and `annotationSelector` use the Kubernetes label-selector grammar
  (k8s.io/apimachinery labels.Parse, as vendored in kyaml): `a=b`, `a==b`, `a!=b`,
  `a in (x,y)`, `a notin (x,y)`, `a`, `!a`, `a>1`, `a<1`, comma-separated and all required.
  Keys must be qualified names and values valid label values, as there.

Regular expressions are Go RE2 syntax; Python's `re` accepts the common subset (character
classes, alternation, repetition, non-capturing groups); an invalid pattern is a ValueError.
"""

from __future__ import annotations

import functools
import re
from typing import Any, NamedTuple

from .fieldspecs import effective_namespace, is_cluster_scoped

__all__ = ["matches", "parse_label_selector", "Requirement", "selector_matches_labels", "Target"]

_SELECTOR_FIELDS = ("group", "version", "kind", "name", "namespace", "labelSelector", "annotationSelector")


@functools.lru_cache(maxsize=1024)
def _anchored(pattern: str) -> re.Pattern:
    try:
        return re.compile(r"\A(?:" + pattern + r")\Z")
    except re.error as exc:
        raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from None


def _regex_match(pattern: str, value: str) -> bool:
    return not pattern or _anchored(pattern).match(value) is not None


# --- label selectors ------------------------------------------------------------------------------


class Requirement(NamedTuple):
    key: str
    operator: str  # "in", "notin", "=", "==", "!=", "exists", "!", "gt", "lt"
    values: tuple[str, ...]

    def matches(self, labels: dict[str, str]) -> bool:
        op, has = self.operator, self.key in labels
        if op in ("in", "=", "=="):
            return has and labels[self.key] in self.values
        if op in ("notin", "!="):
            return not has or labels[self.key] not in self.values
        if op == "exists":
            return has
        if op == "!":
            return not has
        # gt / lt
        if not has:
            return False
        try:
            value = _parse_int64(labels[self.key])
        except ValueError:
            return False
        bound = _parse_int64(self.values[0])
        return value > bound if op == "gt" else value < bound


_INT64 = re.compile(r"[+-]?[0-9]+")


def _parse_int64(text: str) -> int:
    if not _INT64.fullmatch(text):
        raise ValueError(text)
    value = int(text)
    if not -(2**63) <= value < 2**63:
        raise ValueError(text)
    return value


_QNAME = re.compile(r"(?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*")
_LABEL_VALUE = re.compile(r"(?:(?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
_QNAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_QNAME_MSG = ("must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
              "with an alphanumeric character")
_DNS1123_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
_DNS1123_MSG = ("a DNS-1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
                "and must start and end with an alphanumeric character")
_LABEL_VALUE_MSG = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
                    "or '.', and must start and end with an alphanumeric character")


def _regex_error(msg: str, fmt: str, *examples: str) -> str:
    """validation.RegexError."""
    return msg + " (e.g. " + " or ".join(f"'{e}', " for e in examples) + f"regex used for validation is '{fmt}')"


def _qualified_name_errors(value: str) -> list[str]:
    errs = []
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            if len(prefix) > 253:
                errs.append("prefix part must be no more than 253 characters")
            if not _DNS1123_SUBDOMAIN.fullmatch(prefix):
                errs.append("prefix part " + _regex_error(_DNS1123_MSG, _DNS1123_FMT, "example.com"))
    else:
        return ["a qualified name " + _regex_error(_QNAME_MSG, _QNAME_FMT, "MyName", "my.name", "123-abc")
                + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
    if not name:
        errs.append("name part must be non-empty")
    elif len(name) > 63:
        errs.append("name part must be no more than 63 characters")
    if not _QNAME.fullmatch(name):
        errs.append("name part " + _regex_error(_QNAME_MSG, _QNAME_FMT, "MyName", "my.name", "123-abc"))
    return errs


def _go_quote(text: str) -> str:
    """Go's %q for the plain strings selectors hold."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _validate_key(key: str) -> None:
    errs = _qualified_name_errors(key)
    if errs:
        raise ValueError(f"invalid label key {_go_quote(key)}: {'; '.join(errs)}")


def _validate_value(key: str, value: str) -> None:
    errs = []
    if len(value) > 63:
        errs.append("must be no more than 63 characters")
    if not _LABEL_VALUE.fullmatch(value):
        errs.append(_regex_error(_LABEL_VALUE_MSG, "(" + _QNAME_FMT + ")?", "MyValue", "my_value", "12345"))
    if errs:
        raise ValueError(f"invalid label value: {_go_quote(value)}: at key: {_go_quote(key)}: {'; '.join(errs)}")


# tokens
_ERROR, _END, _CLOSE, _COMMA, _NOT, _DEQ, _EQ, _GT, _IDENT, _IN, _LT, _NEQ, _NOTIN, _OPEN = range(14)
_STRING_TOKENS = {")": _CLOSE, ",": _COMMA, "!": _NOT, "==": _DEQ, "=": _EQ, ">": _GT, "in": _IN,
                  "<": _LT, "!=": _NEQ, "notin": _NOTIN, "(": _OPEN}
_SPECIAL = set("=!(),><")
_SPACE = set(" \t\r\n")


def _lex(text: str) -> list[tuple[int, str]]:
    items, pos, n = [], 0, len(text)
    while True:
        while pos < n and text[pos] in _SPACE:
            pos += 1
        if pos >= n:
            items.append((_END, ""))
            return items
        if text[pos] in _SPECIAL:
            buffer, last = "", None
            while pos < n and text[pos] in _SPECIAL:
                buffer += text[pos]
                if buffer in _STRING_TOKENS:
                    last = (_STRING_TOKENS[buffer], buffer)
                    pos += 1
                elif last is not None:
                    break
                else:
                    pos += 1
            items.append(last if last is not None else (_ERROR, f"error expected: keyword found '{buffer}'"))
            continue
        start = pos
        while pos < n and text[pos] not in _SPECIAL and text[pos] not in _SPACE:
            pos += 1
        word = text[start:pos]
        items.append((_STRING_TOKENS.get(word, _IDENT), word))


class _Parser:
    def __init__(self, text: str) -> None:
        self.items = _lex(text)
        self.pos = 0

    def lookahead(self, values: bool = True) -> tuple[int, str]:
        tok, lit = self.items[self.pos]
        if values and tok in (_IN, _NOTIN):
            tok = _IDENT
        return tok, lit

    def consume(self, values: bool = True) -> tuple[int, str]:
        tok, lit = self.lookahead(values)
        self.pos += 1
        return tok, lit

    def parse(self) -> list[Requirement]:
        reqs = []
        while True:
            tok, lit = self.lookahead()
            if tok in (_IDENT, _NOT):
                try:
                    reqs.append(self.requirement())
                except ValueError as exc:
                    raise ValueError(f"unable to parse requirement: {exc}") from None
                t, lit2 = self.consume()
                if t == _END:
                    return reqs
                if t == _COMMA:
                    t2, l2 = self.lookahead()
                    if t2 not in (_IDENT, _NOT):
                        raise ValueError(f"found '{l2}', expected: identifier after ','")
                    continue
                raise ValueError(f"found '{lit2}', expected: ',' or 'end of string'")
            if tok == _END:
                return reqs
            raise ValueError(f"found '{lit}', expected: !, identifier, or 'end of string'")

    def requirement(self) -> Requirement:
        operator = None
        tok, lit = self.consume()
        if tok == _NOT:
            operator = "!"
            tok, lit = self.consume()
        if tok != _IDENT:
            raise ValueError(f"found '{lit}', expected: identifier")
        key = lit
        _validate_key(key)
        if self.lookahead()[0] in (_END, _COMMA):
            if operator != "!":
                operator = "exists"
        if operator in ("exists", "!"):
            return Requirement(key, operator, ())
        tok, lit = self.consume(values=False)
        ops = {_IN: "in", _EQ: "=", _DEQ: "==", _GT: "gt", _LT: "lt", _NOTIN: "notin", _NEQ: "!="}
        if tok not in ops:
            raise ValueError(f"found '{lit}', expected: '=', '!=', '==', 'in', notin'")
        operator = ops[tok]
        values = self.set_values() if operator in ("in", "notin") else self.exact_value()
        return _new_requirement(key, operator, tuple(sorted(values)))

    def set_values(self) -> set[str]:
        tok, lit = self.consume()
        if tok != _OPEN:
            raise ValueError(f"found '{lit}' expected: '('")
        tok, lit = self.lookahead()
        if tok in (_IDENT, _COMMA):
            values = self.identifiers()
            if self.consume()[0] != _CLOSE:
                raise ValueError(f"found '{lit}', expected: ')'")
            return values
        if tok == _CLOSE:
            self.consume()
            return {""}
        raise ValueError(f"found '{lit}', expected: ',', ')' or identifier")

    def identifiers(self) -> set[str]:
        values: set[str] = set()
        while True:
            tok, lit = self.consume()
            if tok == _IDENT:
                values.add(lit)
                tok2, lit2 = self.lookahead()
                if tok2 == _COMMA:
                    continue
                if tok2 == _CLOSE:
                    return values
                raise ValueError(f"found '{lit2}', expected: ',' or ')'")
            if tok == _COMMA:
                if not values:
                    values.add("")
                tok2, _ = self.lookahead()
                if tok2 == _CLOSE:
                    values.add("")
                    return values
                if tok2 == _COMMA:
                    self.consume()
                    values.add("")
                continue
            raise ValueError(f"found '{lit}', expected: ',', or identifier")

    def exact_value(self) -> set[str]:
        tok, lit = self.lookahead()
        if tok in (_END, _COMMA):
            return {""}
        tok, lit = self.consume()
        if tok == _IDENT:
            return {lit}
        raise ValueError(f"found '{lit}', expected: identifier")


def _new_requirement(key: str, operator: str, values: tuple[str, ...]) -> Requirement:
    if operator in ("in", "notin") and not values:
        raise ValueError("for 'in', 'notin' operators, values set can't be empty")
    if operator in ("=", "==", "!=") and len(values) != 1:
        raise ValueError("exact-match compatibility requires one single value")
    if operator in ("gt", "lt"):
        if len(values) != 1:
            raise ValueError("for 'Gt', 'Lt' operators, exactly one value is required")
        try:
            _parse_int64(values[0])
        except ValueError:
            raise ValueError("for 'Gt', 'Lt' operators, the value must be an integer") from None
    for value in values:
        _validate_value(key, value)
    return Requirement(key, operator, values)


@functools.lru_cache(maxsize=512)
def parse_label_selector(text: str) -> tuple[Requirement, ...]:
    """Parse a label selector (labels.Parse); requirements sorted by key. ValueError if invalid."""
    reqs = _Parser(text).parse()
    return tuple(sorted(reqs, key=lambda r: r.key))


def selector_matches_labels(text: str, labels: dict[str, str]) -> bool:
    return all(r.matches(labels) for r in parse_label_selector(text))


# --- objects ------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    """A label or annotation value as kyaml reads it: the scalar's text."""
    raw = getattr(value, "raw", None)
    if isinstance(raw, str):
        return raw
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _meta_map(obj: dict, field: str) -> dict[str, str]:
    meta = obj.get("metadata")
    values = meta.get(field) if isinstance(meta, dict) else None
    if not isinstance(values, dict):
        return {}
    return {str(k): _text(v) for k, v in values.items()}


def _str(value: Any) -> str:
    return "" if value is None else str(value)


def matches(resource_obj: dict, selector: dict) -> bool:
    """Whether the object (with its current apiVersion, kind, metadata.name/namespace, labels and
    annotations) is selected by a patch `target`. ValueError for an invalid regular expression or
    label selector (kustomize fails the build for those)."""
    return Target(selector).matches(resource_obj)


class Target:
    """A patch `target` read once (every pattern compiled, an invalid one a ValueError, as
    kustomize compiles them before matching anything), to match many objects."""

    __slots__ = ("group", "version", "kind", "name", "namespace", "labels", "annotations")

    def __init__(self, selector: dict) -> None:
        sel = {k: _str(selector.get(k)) for k in _SELECTOR_FIELDS}
        self.group, self.version, self.kind, self.name, self.namespace = (
            _anchored(sel[field]) if sel[field] else None
            for field in ("group", "version", "kind", "name", "namespace"))
        self.labels, self.annotations = sel["labelSelector"], sel["annotationSelector"]

    def may_match(self, resource_obj: dict) -> bool:
        """False when the object's apiVersion or kind alone rules it out, whatever name and
        namespace `matches` is asked about: most objects of an overlay fail a patch target's kind,
        and this tells so without working out their names and namespaces."""
        api_version = _str(resource_obj.get("apiVersion"))
        group, _, version = api_version.rpartition("/")
        for pattern, value in ((self.group, group), (self.version, version)):
            if pattern is not None and pattern.match(value) is None:
                return False
        return self.kind is None or self.kind.match(_str(resource_obj.get("kind"))) is not None

    def matches(self, resource_obj: dict, name: str | None = None, namespace: str | None = None) -> bool:
        """`matches(resource_obj, selector)`; `name`, `namespace`: match as if the object's
        metadata.name and metadata.namespace were these (metadata must then be a mapping)."""
        api_version = _str(resource_obj.get("apiVersion"))
        kind = _str(resource_obj.get("kind"))
        group, _, version = api_version.rpartition("/")
        meta = m if isinstance(m := resource_obj.get("metadata"), dict) else {}
        if name is None:
            name = _str(meta.get("name"))
        if namespace is None:
            namespace = _str(meta.get("namespace"))
        namespace = effective_namespace(namespace, is_cluster_scoped(api_version, kind))
        for pattern, value in ((self.namespace, namespace), (self.name, name), (self.group, group),
                               (self.version, version), (self.kind, kind)):
            if pattern is not None and pattern.match(value) is None:
                return False
        if self.labels and not selector_matches_labels(self.labels, _meta_map(resource_obj, "labels")):
            return False
        return not self.annotations or selector_matches_labels(self.annotations,
                                                               _meta_map(resource_obj, "annotations"))
