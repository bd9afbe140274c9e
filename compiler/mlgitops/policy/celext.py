"""Kubernetes CEL extension functions (lists, sets, regex, quantity, url) for the CEL runtime.

The strings, bindings and optional libraries come with the runtime (cel-cpp); this module adds the
Kubernetes libraries from k8s.io/apiserver/pkg/cel/library that it lacks, as Python implementations.
Quantities and URLs have no opaque type in the Python binding, so they are maps with one reserved key
(`QUANTITY_KEY` holding the exact value as a canonical fraction string, `URL_KEY` holding the URL text);
canonical values make `quantity('1Gi') == quantity('1024Mi')` hold, as in Kubernetes.
An exception raised here becomes a CEL error value, which the caller reports as a runtime error.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any, Callable
from urllib.parse import parse_qs, quote, urlsplit

import re2
from cel_expr_python import cel

QUANTITY_KEY = "@kubernetes.quantity"
URL_KEY = "@kubernetes.url"

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


# --- lists (k8s library/lists.go) and sets (cel-go ext.Sets) -------------------------------------

def _check_comparable(items: list) -> None:
    kinds = {(bool if isinstance(x, bool) else float if isinstance(x, (int, float)) else type(x)) for x in items}
    if len(kinds) > 1:
        raise ValueError("list elements are not mutually comparable")


def _is_sorted(items: list) -> bool:
    _check_comparable(items)
    return all(a <= b for a, b in zip(items, items[1:]))


def _sum(items: list) -> Any:
    total: Any = 0
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (int, float)):
            raise ValueError("sum() requires a list of numbers")
        total += item
    if isinstance(total, int) and not _INT64_MIN <= total <= _INT64_MAX:
        raise OverflowError("integer overflow")
    return total


def _min(items: list) -> Any:
    if not items:
        raise ValueError("min called on empty list")
    _check_comparable(items)
    return min(items)


def _max(items: list) -> Any:
    if not items:
        raise ValueError("max called on empty list")
    _check_comparable(items)
    return max(items)


def _list_index_of(items: list, value: Any) -> int:
    return next((i for i, x in enumerate(items) if _cel_equal(x, value)), -1)


def _list_last_index_of(items: list, value: Any) -> int:
    return next((i for i in range(len(items) - 1, -1, -1) if _cel_equal(items[i], value)), -1)


def _cel_equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    return a == b


def _sets_contains(items: list, sub: list) -> bool:
    return all(any(_cel_equal(x, y) for x in items) for y in sub)


def _sets_equivalent(a: list, b: list) -> bool:
    return _sets_contains(a, b) and _sets_contains(b, a)


def _sets_intersects(a: list, b: list) -> bool:
    return any(any(_cel_equal(x, y) for x in a) for y in b)


# --- regex (k8s library/regex.go), RE2 syntax as in Go ------------------------------------------

def _compile_regex(pattern: str) -> Any:
    try:
        return re2.compile(pattern)
    except re2.error as exc:
        raise ValueError(f"invalid regex {pattern!r}: {exc}") from None


def _find(text: str, pattern: str) -> str:
    match = _compile_regex(pattern).search(text)
    return match.group(0) if match else ""


def _find_all(text: str, pattern: str, limit: int = -1) -> list[str]:
    if limit == 0:
        return []
    found = [m.group(0) for m in _compile_regex(pattern).finditer(text)]
    return found if limit < 0 else found[:limit]


# --- quantity (k8s library/quantity.go, resource.Quantity semantics) ----------------------------

_QUANTITY = re.compile(r"^([+-]?)([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?[0-9]+)?\Z")
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}


def parse_quantity(text: str) -> Fraction:
    """The exact value of a Kubernetes quantity string ('1Gi', '500m', '1e3'); ValueError if malformed."""
    match = _QUANTITY.match(text)
    if not match:
        raise ValueError(f"invalid quantity {text!r}")
    sign, number, suffix = match.groups()
    value = Fraction(number)
    if suffix in _BINARY:
        value *= _BINARY[suffix]
    elif suffix in _DECIMAL:
        value *= Fraction(10) ** _DECIMAL[suffix]
    elif suffix:
        exponent = int(suffix[1:])
        if abs(exponent) > 1000:
            raise ValueError(f"quantity exponent out of range in {text!r}")
        value *= Fraction(10) ** exponent
    return -value if sign == "-" else value


def _q(value: Fraction) -> dict[str, str]:
    return {QUANTITY_KEY: str(value)}


def _qv(quantity: Any) -> Fraction:
    if isinstance(quantity, int) and not isinstance(quantity, bool):
        return Fraction(quantity)
    if not isinstance(quantity, dict) or set(quantity) != {QUANTITY_KEY}:
        raise TypeError("expected a quantity")
    return Fraction(quantity[QUANTITY_KEY])


def _quantity(text: str) -> dict[str, str]:
    return _q(parse_quantity(text))


def _is_quantity(text: str) -> bool:
    try:
        parse_quantity(text)
    except ValueError:
        return False
    return True


def _as_integer(quantity: Any) -> int:
    value = _qv(quantity)
    if value.denominator != 1 or not _INT64_MIN <= value.numerator <= _INT64_MAX:
        raise ValueError("cannot convert value to integer")
    return value.numerator


def _compare(a: Any, b: Any) -> int:
    x, y = _qv(a), _qv(b)
    return (x > y) - (x < y)


# --- url (k8s library/urls.go, Go net/url.ParseRequestURI semantics) ----------------------------

def _parse_url(text: str) -> Any:
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        raise ValueError(f"URL {text!r} contains a control character")
    parts = urlsplit(text)
    if not parts.scheme and not text.startswith("/"):
        raise ValueError(f"URL {text!r} is neither an absolute URI nor an absolute path")
    if parts.scheme and not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*$", parts.scheme):
        raise ValueError(f"URL {text!r} has an invalid scheme")
    if " " in parts.netloc:
        raise ValueError(f"URL {text!r} has an invalid host")
    try:
        parts.port
    except ValueError:
        raise ValueError(f"URL {text!r} has an invalid port") from None
    return parts


def _url(text: str) -> dict[str, str]:
    _parse_url(text)
    return {URL_KEY: text}


def _is_url(text: str) -> bool:
    try:
        _parse_url(text)
    except ValueError:
        return False
    return True


def _u(url: Any) -> Any:
    if not isinstance(url, dict) or set(url) != {URL_KEY}:
        raise TypeError("expected a URL")
    return _parse_url(url[URL_KEY])


def _host(url: Any) -> str:
    netloc = _u(url).netloc
    return netloc.rpartition("@")[2]


def _hostname(url: Any) -> str:
    host = _host(url)
    if host.startswith("["):
        return host[1 : host.index("]")]
    return host.partition(":")[0]


def _port(url: Any) -> str:
    host = _host(url)
    tail = host[host.index("]") + 1 :] if host.startswith("[") else host
    return tail.partition(":")[2]


def _escaped_path(url: Any) -> str:
    return quote(_u(url).path, safe="/!$&'()*+,;=:@-._~%")


def _query(url: Any) -> dict[str, list[str]]:
    return parse_qs(_u(url).query, keep_blank_values=True)


# --- declarations --------------------------------------------------------------------------------

_T = cel.Type
_DYN, _STR, _INT, _BOOL, _DOUBLE = _T.DYN, _T.STRING, _T.INT, _T.BOOL, _T.DOUBLE
_LIST = _T.List(_DYN)
_MAP = _T.Map(_STR, _STR)
_Sig = tuple[str, Any, list, bool, Callable[..., Any]]


def _decls() -> dict[str, list[_Sig]]:
    """Function name -> (overload id, result type, parameter types, is member, implementation)."""
    return {
        "isSorted": [("list_is_sorted", _BOOL, [_LIST], True, _is_sorted)],
        "sum": [("list_sum", _DYN, [_LIST], True, _sum)],
        "min": [("list_min", _DYN, [_LIST], True, _min)],
        "max": [("list_max", _DYN, [_LIST], True, _max)],
        "indexOf": [("list_index_of", _INT, [_LIST, _DYN], True, _list_index_of)],
        "lastIndexOf": [("list_last_index_of", _INT, [_LIST, _DYN], True, _list_last_index_of)],
        "sets.contains": [("sets_contains", _BOOL, [_LIST, _LIST], False, _sets_contains)],
        "sets.equivalent": [("sets_equivalent", _BOOL, [_LIST, _LIST], False, _sets_equivalent)],
        "sets.intersects": [("sets_intersects", _BOOL, [_LIST, _LIST], False, _sets_intersects)],
        "find": [("string_find", _STR, [_STR, _STR], True, _find)],
        "findAll": [
            ("string_find_all", _T.List(_STR), [_STR, _STR], True, _find_all),
            ("string_find_all_n", _T.List(_STR), [_STR, _STR, _INT], True, _find_all),
        ],
        "quantity": [("quantity_string", _MAP, [_STR], False, _quantity)],
        "isQuantity": [("is_quantity_string", _BOOL, [_STR], False, _is_quantity)],
        "sign": [("quantity_sign", _INT, [_MAP], True, lambda q: _compare(q, 0))],
        "isInteger": [("quantity_is_integer", _BOOL, [_MAP], True, lambda q: _qv(q).denominator == 1)],
        "asInteger": [("quantity_as_integer", _INT, [_MAP], True, _as_integer)],
        "asApproximateFloat": [("quantity_as_float", _DOUBLE, [_MAP], True, lambda q: float(_qv(q)))],
        "isGreaterThan": [("quantity_gt", _BOOL, [_MAP, _MAP], True, lambda a, b: _compare(a, b) > 0)],
        "isLessThan": [("quantity_lt", _BOOL, [_MAP, _MAP], True, lambda a, b: _compare(a, b) < 0)],
        "compareTo": [("quantity_compare", _INT, [_MAP, _MAP], True, _compare)],
        "add": [
            ("quantity_add", _MAP, [_MAP, _MAP], True, lambda a, b: _q(_qv(a) + _qv(b))),
            ("quantity_add_int", _MAP, [_MAP, _INT], True, lambda a, b: _q(_qv(a) + b)),
        ],
        "sub": [
            ("quantity_sub", _MAP, [_MAP, _MAP], True, lambda a, b: _q(_qv(a) - _qv(b))),
            ("quantity_sub_int", _MAP, [_MAP, _INT], True, lambda a, b: _q(_qv(a) - b)),
        ],
        "url": [("url_string", _MAP, [_STR], False, _url)],
        "isURL": [("is_url_string", _BOOL, [_STR], False, _is_url)],
        "getScheme": [("url_get_scheme", _STR, [_MAP], True, lambda u: _u(u).scheme)],
        "getHost": [("url_get_host", _STR, [_MAP], True, _host)],
        "getHostname": [("url_get_hostname", _STR, [_MAP], True, _hostname)],
        "getPort": [("url_get_port", _STR, [_MAP], True, _port)],
        "getEscapedPath": [("url_get_escaped_path", _STR, [_MAP], True, _escaped_path)],
        "getQuery": [("url_get_query", _T.Map(_STR, _T.List(_STR)), [_MAP], True, _query)],
    }


FUNCTIONS: frozenset[str] = frozenset(_decls())


def kubernetes_extension() -> Any:
    """The cel-expr-python extension declaring every function above."""
    decls = [
        cel.FunctionDecl(name, [cel.Overload(oid, result, params, member, impl) for oid, result, params, member, impl in sigs])
        for name, sigs in sorted(_decls().items())
    ]
    return cel.CelExtension("kubernetes", decls)

