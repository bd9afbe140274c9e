"""Which root fields of an object a policy can read: `spec`, `status`, ... (apiVersion, kind and
metadata always count, since matching reads them).

The policy check parses only these fields of objects it reads from files (fastyaml.load's
`keep`): the PrometheusRules of a large repository are most of its bytes, and the built-in
policies only read their metadata. The analysis is deliberately conservative. Every
occurrence of the identifier `object` in any expression of the policy (matchConditions,
variables, validations, messageExpressions) must be followed by a field selection
(`object.spec`, `object.?spec`, `object['spec']`); anything else (`object` passed whole, inside
a string literal, compared, iterated) answers None: read everything. The root field of each
validation's field path (`Validation.field_path`, from the policy's `mlgitops.dev/field-paths`
annotation) counts as read too, so findings can still be located inside it.
"""

from __future__ import annotations

import re

from .load import Policy

ALWAYS = frozenset({"apiVersion", "kind", "metadata"})
_OBJECT = r"(?<![\w.$`])object(?![\w`])"
# A string literal, or `object`: left to right, so `object` inside a string is not a reference.
_TOKEN = re.compile(r"'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\"|(" + _OBJECT + ")")
# Literals whose extent the token pattern cannot tell (raw strings, triple quotes): no skipping.
_UNUSUAL_LITERAL = re.compile(r"(?<![\w])(?:[rR][bB]?|[bB][rR])['\"]|\'\'\'|\"\"\"")
_DYN = re.compile(r"\bdyn\(\Z")  # searched up to `object`: is it the argument of dyn(...)?
_SELECT = re.compile(r"\s*(?:\.\s*\??\s*([A-Za-z_][A-Za-z0-9_]*)|\[\s*(?:'([^'\\]*)'|\"([^\"\\]*)\")\s*\])")


def expression_fields(text: str) -> frozenset[str] | None:
    """The root fields of `object` an expression selects; None when it may read more."""
    found: set[str] = set()
    tokens = re.finditer(_OBJECT, text) if _UNUSUAL_LITERAL.search(text) else \
        (m for m in _TOKEN.finditer(text) if m.group(1))
    for match in tokens:
        end = match.end()
        if _DYN.search(text, 0, match.start()) and text.startswith(")", end):
            end += 1  # dyn(object).spec: the same selection, untyped (policies/README.md)
        select = _SELECT.match(text, end)
        if select is None:
            return None
        found.add(next(g for g in select.groups() if g is not None))
    return frozenset(found)


def policy_fields(policy: Policy) -> frozenset[str] | None:
    """ALWAYS plus every root field any expression of `policy` selects; None: the whole object."""
    texts = [e.text for _, e in policy.match_conditions + policy.variables]
    texts += [e.text for v in policy.validations for e in (v.expression, v.message_expression) if e is not None]
    fields = set(ALWAYS)
    for text in texts:
        found = expression_fields(text)
        if found is None:
            return None
        fields |= found
    for validation in policy.validations:
        if validation.field_path and isinstance(validation.field_path[0], str):
            fields.add(validation.field_path[0])
    return frozenset(fields)
