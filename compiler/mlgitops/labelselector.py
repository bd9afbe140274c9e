"""Kubernetes label selectors (matchLabels + matchExpressions): matching, checking, printing.

One job, shared by `mlgitops validate`'s reference checks and the policy engine's
namespaceSelector/objectSelector: the semantics of metav1.LabelSelector.
"""

from __future__ import annotations

from typing import Any

OPERATORS = {"In", "NotIn", "Exists", "DoesNotExist"}


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _str_map(value: Any) -> dict:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def _field(expr: Any, key: str) -> Any:
    return expr.get(key) if isinstance(expr, dict) else None


def problem(selector: dict) -> tuple[tuple, str] | None:
    """(path inside the selector, message) of the first entry Kubernetes would reject."""
    for i, expr in enumerate(_list(selector.get("matchExpressions"))):
        op = _field(expr, "operator")
        values = _list(_field(expr, "values"))
        if op not in OPERATORS:
            return ("matchExpressions", i, "operator"), (
                f"selector operator {op!r} is not one of In, NotIn, Exists, DoesNotExist")
        if op in ("In", "NotIn") and not values:
            return ("matchExpressions", i, "values"), f"selector operator {op} needs at least one value"
        if op in ("Exists", "DoesNotExist") and values:
            return ("matchExpressions", i, "values"), f"selector operator {op} takes no values"
    return None


def matches(selector: dict, labels: dict) -> bool:
    """Every matchLabels pair and every expression holds (an empty selector matches everything)."""
    for key, value in _str_map(selector.get("matchLabels")).items():
        if labels.get(key) != value:
            return False
    for expr in _list(selector.get("matchExpressions")):
        key, op = str(_field(expr, "key")), _field(expr, "operator")
        values = {str(v) for v in _list(_field(expr, "values"))}
        present = key in labels
        if op == "In" and not (present and labels[key] in values):
            return False
        if op == "NotIn" and present and labels[key] in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
        if op not in OPERATORS:
            return False
    return True


def text(selector: dict) -> str:
    """The selector as kubectl's -l syntax: `app=x,tier in (a,b),!legacy`."""
    parts = [f"{k}={v}" for k, v in sorted(_str_map(selector.get("matchLabels")).items())]
    for expr in _list(selector.get("matchExpressions")):
        key, op = str(_field(expr, "key")), _field(expr, "operator")
        values = ",".join(sorted(str(v) for v in _list(_field(expr, "values"))))
        parts.append({"In": f"{key} in ({values})", "NotIn": f"{key} notin ({values})",
                      "Exists": key, "DoesNotExist": f"!{key}"}.get(op, f"{key} {op}"))
    return ",".join(parts) or "{}"


def keys(selector: dict) -> set:
    """Every label key the selector looks at."""
    found = set(_str_map(selector.get("matchLabels")))
    found.update(str(_field(e, "key")) for e in _list(selector.get("matchExpressions")))
    return found
