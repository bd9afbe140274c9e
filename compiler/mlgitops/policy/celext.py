"""Kubernetes CEL extension functions (lists, sets, regex, quantity, url) for the CEL runtime, and
ports of the Go parsers cel-go converts strings with (strconv, time), which cel.py calls in place of
cel-cpp's conversions (docs/cel.md, "Where cel-cpp and cel-go differ").

The strings, bindings and optional libraries come with the runtime (cel-cpp); this module adds the
Kubernetes libraries from k8s.io/apiserver/pkg/cel/library that it lacks, as Python implementations.
Quantities and URLs have no opaque type in the Python binding, so they are maps with one reserved key
(`QUANTITY_KEY` holding the exact value as a canonical fraction string, `URL_KEY` holding the URL text);
canonical values make `quantity('1Gi') == quantity('1024Mi')` hold, as in Kubernetes.
An exception raised here becomes a CEL error value, which the caller reports as a runtime error.
"""

from __future__ import annotations

import datetime
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

def _order(a: Any, b: Any) -> int | None:
    """cel-go's a.Compare(b) (-1, 0, 1), None where it is an error (different types, NaN)."""
    kind_a, kind_b = _comparable_kind(a), _comparable_kind(b)
    if kind_a != kind_b or _is_nan(a) or _is_nan(b):  # int, uint and double compare with each other
        return None
    return (a > b) - (a < b)


def _comparable_kind(value: Any) -> type:
    """The kind of a value that has cel-go's Comparer trait; TypeError for the others (list, map, null)."""
    if isinstance(value, bool):
        return bool
    if isinstance(value, (int, float)):
        return float
    if isinstance(value, (str, bytes, datetime.datetime, datetime.timedelta)):
        return type(value)
    raise TypeError("no such overload")


def _is_sorted(items: list) -> bool:
    """k8s lists.go isSorted: false only where an element compares greater than the next; pairs that
    do not compare (NaN, different types) count as in order."""
    for i, item in enumerate(items):
        _comparable_kind(item)
        if i and _order(items[i - 1], item) == 1:
            return False
    return True


def _sum(items: list) -> Any:
    total: Any = 0
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (int, float)):
            raise ValueError("sum() requires a list of numbers")
        total += item
    if isinstance(total, int) and not _INT64_MIN <= total <= _INT64_MAX:
        raise OverflowError("integer overflow")
    return total


def _extreme(items: list, name: str, prefer: int) -> Any:
    """k8s lists.go cmp(): the first element, replaced by each later one that compares `prefer`-wise
    to it (1: smaller, for min; -1: larger, for max); pairs that do not compare are skipped."""
    if not items:
        raise ValueError(f"{name} called on empty list")
    result = items[0]
    for item in items:
        _comparable_kind(item)
        if _order(result, item) == prefer:
            result = item
    return result


def _min(items: list) -> Any:
    return _extreme(items, "min", 1)


def _max(items: list) -> Any:
    return _extreme(items, "max", -1)


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

# k8s.io/apimachinery resource.ParseQuantity, ported: its scanner (parseQuantityString), suffixes
# and errors, the exact int64 path and the rounding of the other path (up, away from zero, to a
# multiple of 1n; binary quantities capped at 2^63-1).
_QUANTITY_FORMAT = ("quantities must match the regular expression "
                    "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
_QUANTITY_NUMERIC = "unable to parse numeric part of quantity"
_QUANTITY_SUFFIX = "unable to parse quantity's suffix"
_SUFFIX_CHARS = frozenset("eEinumkKMGTP")
_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_DIGITS = frozenset("0123456789")
_NANO = Fraction(1, 10**9)
_QUANTITY_EXPONENT_LIMIT = 1000  # beyond: not computed here (docs/cel.md)


def _scan_quantity(text: str) -> tuple[bool, str, str, str, str]:
    """parseQuantityString: (positive, value, num, denom, suffix); ValueError(format) when malformed."""
    positive, pos, end = True, 0, len(text)
    if text[:1] in ("-", "+"):
        positive = text[0] != "-"
        pos = 1
    while pos < end and text[pos] == "0":
        pos += 1
    if pos >= end:
        return positive, "0", "0", "", ""
    i = pos
    while i < end and text[i] in _DIGITS:
        i += 1
    num = text[pos:i]
    if i >= end:
        return positive, text, num, "", ""
    pos, num = i, num or "0"
    denom = ""
    if text[pos] == ".":
        pos += 1
        i = pos
        while i < end and text[i] in _DIGITS:
            i += 1
        denom = text[pos:i]
        if i >= end:
            return positive, text, num, denom, ""
        pos = i
    value, start = text[:pos], pos
    while pos < end and text[pos] in _SUFFIX_CHARS:
        pos += 1
    if pos >= end:
        return positive, value, num, denom, text[start:]
    if text[pos] in "-+":
        pos += 1
    if any(c not in _DIGITS for c in text[pos:]):
        raise ValueError(_QUANTITY_FORMAT)
    return positive, value, num, denom, text[start:]


def _int32(value: int) -> int:
    return (value + 2**31) % 2**32 - 2**31


def parse_quantity(text: str) -> Fraction:
    """The value of a Kubernetes quantity string ('1Gi', '500m', '1e3'), as resource.ParseQuantity
    gives it; ValueError with its message if malformed."""
    if text == "":
        raise ValueError(_QUANTITY_FORMAT)
    if text == "0":
        return Fraction(0)
    positive, value, num, denom, suffix = _scan_quantity(text)
    binary = suffix in _BINARY
    if binary:
        base, exponent = 2, _BINARY[suffix]
    elif suffix in _DECIMAL:
        base, exponent = 10, _DECIMAL[suffix]
    elif len(suffix) > 1 and suffix[0] in "eE":
        try:
            exponent = _int32(go_parse_int(suffix[1:]))
        except ValueError:
            raise ValueError(_QUANTITY_SUFFIX) from None
        base = 10
    else:
        raise ValueError(_QUANTITY_SUFFIX)
    if base == 10:
        precision = 18 - len(num) - len(denom)
    elif denom == "":
        precision = 15 - len(num) - int(exponent * 3 / 10) - 1
    else:
        precision = -1
    scale = (exponent if base == 10 else 0) - len(denom)
    exact = precision >= 0 and scale >= -9  # the int64 path (unless the product overflows)
    if not exact and not any(c in _DIGITS for c in value):  # inf.Dec's path needs a digit
        raise ValueError(_QUANTITY_NUMERIC)
    if num.strip("0") + denom.strip("0") == "":
        return Fraction(0)
    if exponent > _QUANTITY_EXPONENT_LIMIT:
        raise ValueError(f"quantity exponent out of range in {text!r}")
    if exponent + len(num) < -9:  # nonzero below 1n: rounded up to it
        return _NANO if positive else -_NANO
    if exact:
        result = int(num + denom) * (2**exponent if base == 2 else 1)
        if result <= _INT64_MAX:
            return (Fraction(result) if positive else -Fraction(result)) * Fraction(10) ** scale
    amount = Fraction(value) * Fraction(base) ** exponent
    scaled = abs(amount) / _NANO
    magnitude = -(-scaled.numerator // scaled.denominator) * _NANO  # RoundUp, away from zero, to 1n
    if binary and magnitude > _INT64_MAX:
        magnitude = Fraction(_INT64_MAX)
    return -magnitude if amount < 0 else magnitude


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
    """resource.ParseQuantity succeeds (a value too large to compute here counts)."""
    try:
        parse_quantity(text)
    except ValueError as exc:
        return str(exc).startswith("quantity exponent out of range")
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


# --- Go's strconv, as cel-go converts strings (common/types/string.go ConvertToType) ---------------
# cel-cpp parses numbers with its own rules (leading/trailing spaces and hex integers accepted for
# double(), '+' for uint(), no digit-separating underscores, 'T'/'F' refused by bool()); the API
# server's cel-go uses strconv.ParseFloat(s, 64), ParseInt(s, 10, 64), ParseUint(s, 10, 64) and
# ParseBool. cel.py routes double(), int(), uint() and bool() of strings to these.

CONVERSION_ERROR = "type conversion error from 'string' to '{}'"  # cel-go's words
# readFloat's syntax (the mantissa must hold a digit: checked on the groups; no nested repetition,
# so a long hostile string is matched in linear time)
_GO_DECIMAL = re.compile(r"[+-]?([0-9_]*)(?:\.([0-9_]*))?(?:[eE][+-]?[0-9][0-9_]*)?\Z")
_GO_HEX = re.compile(r"[+-]?0[xX]([0-9a-fA-F_]*)(?:\.([0-9a-fA-F_]*))?[pP][+-]?[0-9][0-9_]*\Z")
_GO_SPECIAL = re.compile(r"[+-]?(?:inf|infinity)\Z|nan\Z", re.IGNORECASE)
_GO_INT = re.compile(r"[+-]?[0-9]+\Z")
_GO_UINT = re.compile(r"[0-9]+\Z")
_GO_BOOL = {"1": True, "t": True, "T": True, "TRUE": True, "true": True, "True": True,
            "0": False, "f": False, "F": False, "FALSE": False, "false": False, "False": False}


def _go_underscores_ok(text: str) -> bool:
    """strconv.underscoreOK: every '_' sits between two digits (a base prefix counts as a digit)."""
    if text[:1] in ("+", "-"):
        text = text[1:]
    saw, start, hexa = "^", 0, False
    if len(text) >= 2 and text[0] == "0" and text[1] in "bBoOxX":
        saw, start, hexa = "0", 2, text[1] in "xX"
    for c in text[start:]:
        if "0" <= c <= "9" or hexa and c in "abcdefABCDEF":
            saw = "0"
        elif c == "_":
            if saw != "0":
                return False
            saw = "_"
        elif saw == "_":
            return False
        else:
            saw = "!"
    return saw != "_"


def go_parse_float(text: str) -> float:
    """strconv.ParseFloat(text, 64); ValueError where Go returns an error (syntax or out of range)."""
    if _GO_SPECIAL.match(text):  # Go's special(): [+-]inf, [+-]infinity, nan (no sign), any case
        return float(text)
    hexa = _GO_HEX.match(text)
    syntax = hexa or _GO_DECIMAL.match(text)
    if not syntax or not (syntax.group(1) + (syntax.group(2) or "")).strip("_"):
        raise ValueError(CONVERSION_ERROR.format("double"))
    if "_" in text:
        if not _go_underscores_ok(text):
            raise ValueError(CONVERSION_ERROR.format("double"))
        text = text.replace("_", "")
    try:
        value = float.fromhex(text) if hexa else float(text)
    except OverflowError:
        raise ValueError(CONVERSION_ERROR.format("double")) from None
    if value in (float("inf"), float("-inf")):  # ErrRange: beyond the largest double
        raise ValueError(CONVERSION_ERROR.format("double"))
    return value


def go_parse_int(text: str) -> int:
    """strconv.ParseInt(text, 10, 64): optional sign, decimal digits only, within int64."""
    if _GO_INT.match(text):
        digits = text.lstrip("+-").lstrip("0") or "0"
        if len(digits) <= 19:  # (Python's int() refuses thousands of digits; Go reads any number of zeros)
            value = -int(digits) if text[0] == "-" else int(digits)
            if _INT64_MIN <= value <= _INT64_MAX:
                return value
    raise ValueError(CONVERSION_ERROR.format("int"))


def go_parse_uint(text: str) -> int:
    """strconv.ParseUint(text, 10, 64): decimal digits only (no sign), within uint64."""
    if _GO_UINT.match(text):
        digits = text.lstrip("0") or "0"
        if len(digits) <= 20 and int(digits) < 2**64:
            return int(digits)
    raise ValueError(CONVERSION_ERROR.format("uint"))


def go_parse_bool(text: str) -> bool:
    """strconv.ParseBool(text): 1 t T TRUE true True 0 f F FALSE false False."""
    try:
        return _GO_BOOL[text]
    except KeyError:
        raise ValueError(CONVERSION_ERROR.format("bool")) from None


_DURATION_UNITS = {"ns": 1, "us": 10**3, "\u00b5s": 10**3, "\u03bcs": 10**3, "ms": 10**6, "s": 10**9,
                   "m": 60 * 10**9, "h": 3600 * 10**9}
_DURATION_ERROR = CONVERSION_ERROR.format("google.protobuf.Duration")


def _leading_int(text: str, start: int) -> tuple[int, int]:
    """time.leadingInt: (value, end); ValueError past 1<<63."""
    value, end = 0, start
    while end < len(text) and "0" <= text[end] <= "9":
        if value > (1 << 63) // 10:
            raise ValueError(_DURATION_ERROR)
        value = value * 10 + ord(text[end]) - 48
        if value > 1 << 63:
            raise ValueError(_DURATION_ERROR)
        end += 1
    return value, end


def _leading_fraction(text: str, start: int) -> tuple[int, float, int]:
    """time.leadingFraction: (digits as an integer, 10**count as a float64, end); digits past
    int64 are ignored."""
    value, scale, end, overflow = 0, 1.0, start, False
    while end < len(text) and "0" <= text[end] <= "9":
        if not overflow:
            if value > ((1 << 63) - 1) // 10:
                overflow = True
            else:
                nxt = value * 10 + ord(text[end]) - 48
                if nxt > 1 << 63:
                    overflow = True
                else:
                    value, scale = nxt, scale * 10
        end += 1
    return value, scale, end


def go_parse_duration_ns(text: str) -> int:
    """time.ParseDuration(text) in nanoseconds; ValueError where Go returns an error."""
    pos, negative = 0, False
    if text[:1] in ("-", "+"):
        negative, pos = text[0] == "-", 1
    if text[pos:] == "0":
        return 0
    if pos == len(text):
        raise ValueError(_DURATION_ERROR)
    total = 0
    while pos < len(text):
        if not (text[pos] == "." or "0" <= text[pos] <= "9"):
            raise ValueError(_DURATION_ERROR)
        value, end = _leading_int(text, pos)
        before = end != pos
        fraction, scale, after = 0, 1.0, False
        if end < len(text) and text[end] == ".":
            fraction, scale, stop = _leading_fraction(text, end + 1)
            after, end = stop != end + 1, stop
        if not before and not after:
            raise ValueError(_DURATION_ERROR)
        unit_end = end
        while unit_end < len(text) and not (text[unit_end] == "." or "0" <= text[unit_end] <= "9"):
            unit_end += 1
        unit = _DURATION_UNITS.get(text[end:unit_end])
        if unit is None:  # missing or unknown unit
            raise ValueError(_DURATION_ERROR)
        if value > (1 << 63) // unit:
            raise ValueError(_DURATION_ERROR)
        value *= unit
        if fraction > 0:
            value += int(float(fraction) * (float(unit) / scale))  # float64, as Go
            if value > 1 << 63:
                raise ValueError(_DURATION_ERROR)
        total += value
        if total > 1 << 63:
            raise ValueError(_DURATION_ERROR)
        pos = unit_end
    if negative:
        return -total
    if total > (1 << 63) - 1:
        raise ValueError(_DURATION_ERROR)
    return total


def go_duration_text(text: str) -> str:
    """The duration of Go's time.ParseDuration(text), as text cel-cpp's duration() reads exactly."""
    ns = go_parse_duration_ns(text)
    sign = "-" if ns < 0 else ""
    seconds, nanos = divmod(abs(ns), 10**9)
    return f"{sign}{seconds}.{nanos:09d}s"


_TIMESTAMP_ERROR = CONVERSION_ERROR.format("google.protobuf.Timestamp")
_MIN_UNIX, _MAX_UNIX = -62135596800, 253402300799  # cel-go: 0001-01-01T00:00:00Z, 9999-12-31T23:59:59Z


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    year -= month <= 2
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _civil_from_days(days: int) -> tuple[int, int, int]:
    days += 719468
    era = days // 146097
    doe = days - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + (3 if mp < 10 else -9)
    return yoe + era * 400 + (month <= 2), month, day


def _days_in(month: int, year: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _two(text: str, pos: int) -> int:
    """Two ASCII digits at pos (time.getnum fixed); ValueError otherwise."""
    if pos + 2 > len(text) or not ("0" <= text[pos] <= "9" and "0" <= text[pos + 1] <= "9"):
        raise ValueError(_TIMESTAMP_ERROR)
    return int(text[pos : pos + 2])


def _literal(text: str, pos: int, char: str) -> int:
    if pos >= len(text) or text[pos] != char:
        raise ValueError(_TIMESTAMP_ERROR)
    return pos + 1


def go_parse_timestamp(text: str) -> tuple[int, int]:
    """time.Parse(time.RFC3339, text) as (Unix seconds, nanoseconds), then cel-go's range check;
    ValueError where cel-go fails. Go's general layout parser, which accepts all its RFC 3339 fast
    path does and more: a one-digit hour, ',' before the fraction, zone offsets up to 24:60."""
    if len(text) < 4 or not all("0" <= c <= "9" for c in text[:4]):
        raise ValueError(_TIMESTAMP_ERROR)
    year = int(text[:4])
    pos = _literal(text, 4, "-")
    month = _two(text, pos)
    if not 1 <= month <= 12:
        raise ValueError(_TIMESTAMP_ERROR)
    pos = _literal(text, pos + 2, "-")
    day = _two(text, pos)
    pos = _literal(text, pos + 2, "T")
    if pos >= len(text) or not "0" <= text[pos] <= "9":  # the hour: one or two digits
        raise ValueError(_TIMESTAMP_ERROR)
    width = 2 if pos + 1 < len(text) and "0" <= text[pos + 1] <= "9" else 1
    hour = int(text[pos : pos + width])
    if hour >= 24:
        raise ValueError(_TIMESTAMP_ERROR)
    pos = _literal(text, pos + width, ":")
    minute = _two(text, pos)
    if minute >= 60:
        raise ValueError(_TIMESTAMP_ERROR)
    pos = _literal(text, pos + 2, ":")
    second = _two(text, pos)
    if second >= 60:
        raise ValueError(_TIMESTAMP_ERROR)
    pos += 2
    nanos = 0
    if pos + 1 < len(text) and text[pos] in ",." and "0" <= text[pos + 1] <= "9":
        end = pos + 1
        while end < len(text) and "0" <= text[end] <= "9":
            end += 1
        digits = text[pos + 1 : end][:9]
        nanos = int(digits) * 10 ** (9 - len(digits))
        pos = end
    offset = 0
    if text[pos : pos + 1] == "Z":
        pos += 1
    else:
        if len(text) - pos < 6 or text[pos + 3] != ":":
            raise ValueError(_TIMESTAMP_ERROR)
        hours, minutes = _two(text, pos + 1), _two(text, pos + 4)
        if hours > 24 or minutes > 60 or text[pos] not in "+-":
            raise ValueError(_TIMESTAMP_ERROR)
        offset = (hours * 60 + minutes) * 60 * (-1 if text[pos] == "-" else 1)
        pos += 6
    if pos != len(text) or day < 1 or day > _days_in(month, year):  # extra text; day out of range
        raise ValueError(_TIMESTAMP_ERROR)
    seconds = _days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset
    if not _MIN_UNIX <= seconds <= _MAX_UNIX:
        raise ValueError("timestamp overflow")
    return seconds, nanos


def go_timestamp_text(text: str) -> str:
    """The instant of Go's time.Parse(time.RFC3339, text), as UTC text cel-cpp's timestamp() reads
    exactly."""
    seconds, nanos = go_parse_timestamp(text)
    days, rest = divmod(seconds, 86400)
    year, month, day = _civil_from_days(days)
    return (f"{year:04d}-{month:02d}-{day:02d}T{rest // 3600:02d}:{rest // 60 % 60:02d}:{rest % 60:02d}."
            f"{nanos:09d}Z")


NAN_ORDERING = "NaN values cannot be ordered"  # cel-go common/types/double.go, int.go, uint.go Compare


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and value != value


def nan_ordering(left: Any, right: Any) -> bool:
    """The NaN half of cel-go's ordering (<, <=, >, >=: lhs.Compare(rhs)): an error when `left` is
    NaN, or when `right` is NaN and `left` a number (Int/Uint/Double.Compare); False otherwise, and
    the caller compares as usual (a string or bool left operand against NaN: no such overload)."""
    if _is_nan(left) or _is_nan(right) and isinstance(left, (int, float)) and not isinstance(left, bool):
        raise ValueError(NAN_ORDERING)
    return False


# --- matches(), remembered ------------------------------------------------------------------------
# cel-expr-python compiles the regular expression of every matches() call again (about 50-130 us for
# the patterns of policies/no-literal-credentials.yaml), constant or not. A program's matches() is
# rewritten (cel.py, _GoRewrite._matches) to ask matches_known first; where it does not know the
# answer, the builtin decides, as before, and matches_learn remembers what it said (an error is
# never remembered: the builtin is asked again and fails the same way). So every answer is the
# builtin's. Bounded: pairs up to MATCHES_PAIR_CHARS, MATCHES_MEMO_CHARS and MATCHES_MEMO_PAIRS in
# all (then forgotten); remembering never fails an evaluation (a MemoryError under the evaluation's
# memory budget leaves the pair unremembered).

MATCHES_PAIR_CHARS = 4096
MATCHES_MEMO_CHARS = 4 << 20
MATCHES_MEMO_PAIRS = 1 << 16
_MATCHES: dict[tuple[str, str], bool] = {}
_matches_chars = 0
UNKNOWN = 2  # matches_known's answer when the builtin has to decide


def matches_known(text: Any, pattern: Any) -> int:
    """1 or 0: what the builtin said for text.matches(pattern) before; UNKNOWN otherwise."""
    if type(text) is str and type(pattern) is str:
        found = _MATCHES.get((pattern, text))
        if found is not None:
            return int(found)
    return UNKNOWN


def matches_learn(text: Any, pattern: Any, result: Any) -> Any:
    """`result`, the builtin's text.matches(pattern), remembered."""
    global _matches_chars
    if type(text) is str and type(pattern) is str and type(result) is bool \
            and len(text) + len(pattern) <= MATCHES_PAIR_CHARS:
        size = len(text) + len(pattern)
        if _matches_chars + size > MATCHES_MEMO_CHARS or len(_MATCHES) >= MATCHES_MEMO_PAIRS:
            _MATCHES.clear()
            _matches_chars = 0
        try:
            if (pattern, text) not in _MATCHES:
                _MATCHES[(pattern, text)] = result
                _matches_chars += size
        except MemoryError:  # pragma: no cover - the evaluation's budget is spent: not remembered
            pass
    return result


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
        "sign": [("quantity_sign", _INT, [_MAP], False, lambda q: _compare(q, 0))],  # sign(q), not q.sign()
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

# Functions cel.py calls in place of cel-cpp's, with cel-go's semantics. Their names are no CEL
# identifiers: an expression cannot call them, only the programs cel.py rewrites.
GO_CONVERSIONS = {"double": "@go.double", "int": "@go.int", "uint": "@go.uint", "bool": "@go.bool",
                  "duration": "@go.duration", "timestamp": "@go.timestamp"}
# the Go function of each (for constant arguments, converted once), and whether it gives text that the
# runtime's own conversion then reads (durations and timestamps: nanoseconds a Python value lacks)
GO_PARSERS: dict[str, tuple[Callable[[str], Any], bool]] = {
    "double": (go_parse_float, False), "int": (go_parse_int, False), "uint": (go_parse_uint, False),
    "bool": (go_parse_bool, False), "duration": (go_duration_text, True), "timestamp": (go_timestamp_text, True)}
GO_NAN_ORDERING = "@go.nan_ordering"
GO_MATCHES_KNOWN = "@go.matches_known"
GO_MATCHES_LEARN = "@go.matches_learn"


def _go_decls() -> dict[str, list[_Sig]]:
    return {
        "@go.double": [("go_string_to_double", _DOUBLE, [_STR], False, go_parse_float)],
        "@go.int": [("go_string_to_int64", _INT, [_STR], False, go_parse_int)],
        "@go.uint": [("go_string_to_uint64", _T.UINT, [_STR], False, go_parse_uint)],
        "@go.bool": [("go_string_to_bool", _BOOL, [_STR], False, go_parse_bool)],
        "@go.duration": [("go_string_to_duration_text", _STR, [_STR], False, go_duration_text)],
        "@go.timestamp": [("go_string_to_timestamp_text", _STR, [_STR], False, go_timestamp_text)],
        GO_NAN_ORDERING: [("go_nan_ordering", _BOOL, [_DYN, _DYN], False, nan_ordering)],
        GO_MATCHES_KNOWN: [("go_matches_known", _INT, [_DYN, _DYN], False, matches_known)],
        GO_MATCHES_LEARN: [("go_matches_learn", _BOOL, [_DYN, _DYN, _BOOL], False, matches_learn)],
    }


def kubernetes_extension() -> Any:
    """The cel-expr-python extension declaring every function above."""
    decls = [
        cel.FunctionDecl(name, [cel.Overload(oid, result, params, member, impl) for oid, result, params, member, impl in sigs])
        for name, sigs in sorted({**_decls(), **_go_decls()}.items())
    ]
    return cel.CelExtension("kubernetes", decls)

