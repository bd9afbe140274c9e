"""Fast, deterministic YAML emitter that writes Kubernetes objects the way
``kubectl kustomize`` (kustomize v5.8.1) prints them.

How kustomize prints a resource (established by experiment against the real
``kubectl kustomize``; see tests/test_emit.py):

* ``Resource.AsYAML`` marshals the resource to JSON and converts it with
  ``sigs.k8s.io/yaml.JSONToYAML``, i.e. the *go-yaml v2* encoder.  So the input
  file's styles, key order and number spelling are all thrown away:
  - keys of every mapping are sorted with go-yaml v2's "natural" order
    (``kustomize_key_cmp``), e.g. ``"1_" < "1a" < "Z" < "a2" < "a02" < "a10"``;
  - numbers go through float64/JSON: ``1.0 -> 1``, ``1e3 -> 1000``,
    ``12345678.9 -> 1.23456789e+07``, ``1e-05 -> 1e-05`` (Go ``%g``, shortest);
  - flow collections become block collections, except empty ``{}`` / ``[]``.
* Layout: 2-space indent, a sequence that is a mapping value is *not* indented
  (``key:\\n- a``), nested sequences are compact (``- - a``), mappings inside
  sequences start on the dash line (``- name: x``).
* Scalars (go-yaml v2 ``stringv`` + libyaml emitter rules):
  - plain if go-yaml v2 resolves the text as a string and the libyaml analysis
    allows plain: ``a:b``, ``x#y``, ``-x``, ``=x``, ``?x``, ``x?``, ``<<``,
    ``--``, ``NaN``, ``1e``, ``12e``, ``nULL``, unicode letters;
  - double quotes when go-yaml v2's (YAML 1.1 style) resolver would read the
    plain text as a non-string
    (``"1"``, ``"1.0"``, ``"true"``, ``"yes"``, ``"on"``, ``"no"``, ``"y"``,
    ``"n"``, ``"null"``, ``"~"``, ``""``, ``"0x1F"``, ``"1e3"``, ``".inf"``,
    ``"12:30"``, ``"2026-01-01"``, ``"0o17"``, ``"1_000"``, ``"+1"``);
  - single quotes when plain is not allowed by the emitter (indicators, leading
    or trailing space, ``": "``, ``" #"``): ``' leading space'``, ``'a: b'``,
    ``'#x'``, ``'- x'``, ``'*x'``, ``'{{args.namespace}}'``, ``'''x'''``;
  - double quotes with escapes when the text contains characters libyaml
    will not print raw: tab (``"a\\tb"``), control characters, U+FEFF, and
    everything outside the BMP (``"emoji \\U0001F600"``);
  - strings containing ``\\n`` use literal block style ``|`` (``|-`` without a
    trailing newline, ``|+`` with several, ``|2`` indentation indicator when the
    text starts with a space or newline), unless a line has trailing spaces,
    contains a tab/CR or the text ends with a space: then double quotes;
  - plain, single- and double-quoted scalars longer than 80 columns are folded
    at spaces (go-yaml v2 keeps libyaml's best_width of 80); literal blocks and
    simple keys are never folded;
  - keys longer than 128 bytes or containing a line break become complex keys
    (``? key`` / ``: value``).
* ``dump_all``: documents separated by ``---\\n`` exactly like kustomize.

Deviations from go-yaml v2 (and therefore from ``kubectl kustomize``), chosen so
that both ``yaml.safe_load`` (PyYAML, YAML 1.1) and kustomize's own reader
(yaml.v3) load our output back to exactly the input value:

1. Strings that go-yaml v2 prints plain but a reader would not load as that
   string are double-quoted:
   - PyYAML YAML 1.1 resolvers: ``"="`` (``!!value``), ``"<<"`` (merge key),
     dates that go's ``time.Parse`` rejects but PyYAML's timestamp regex takes
     (``"2026-02-30"``, ``"2001-12-14 21:59:43.10 -5"``), ``"0b_"``, ``".4_"``,
     ``"1.0e+400"``, ``"+0x1F"``-style overflows, ...;
   - yaml.v3 (kustomize's reader): ``"0o-74"``-style texts (an int for yaml.v3).
2. Floats whose Go ``%g`` spelling has an exponent but no dot (``1e-05``,
   ``1e+20``) get ``.0`` (``1.0e-05``): PyYAML's YAML 1.1 float regex needs the
   dot and would load ``1e-05`` as a string.  kustomize prints ``1e-05``.
3. Strings containing NEL/LS/PS (U+0085, U+2028, U+2029) are always double
   quoted with ``\\N``/``\\L``/``\\P`` escapes: these are line breaks in YAML
   1.1 but not in 1.2, so no other style reads back the same everywhere.
   (kustomize itself turns NEL into a space and prints LS/PS in single quotes.)
4. Python ints outside [-2**63, 2**64) are printed exactly; kustomize turns them
   into float64 (``1.8446744073709552e+19``).
5. Integral floats are printed as integers (``1.0 -> 1``) as kustomize does, and
   PyYAML loads them back as an equal ``int``.  Above 2**53 Go prints the
   shortest digits padded with zeros (``184294008617104450``), which is not the
   float's exact value; there we print a float (``1.8429400861710445e+17``).
   NaN/inf print as ``.nan``/``.inf``/``-.inf`` (kustomize rejects them).

Not reproducible at all: kustomize orders the keys of one mapping with a
comparator that is not transitive for some key sets (e.g. ``"9A"``, ``"10Z"``,
``"99/"``) and iterates a Go map in random order, so its output for such sets
changes from run to run; we print one deterministic order.

Not a matter of style, but worth knowing when comparing files: kustomize also
drops an empty ``metadata.annotations`` mapping (an empty ``labels`` stays).

The input must be plain data: dict (str keys), list/tuple, str, int, float,
bool, None.
"""

from __future__ import annotations

import functools
import math
import re
from typing import Any, Iterable

from yaml.resolver import Resolver as _PyYAMLResolver

__all__ = ["dump", "dump_all", "kustomize_sort_keys", "kustomize_key_cmp", "sorted_keys"]

BEST_WIDTH = 80  # libyaml/go-yaml v2 default line width
_MAX_SIMPLE_KEY_BYTES = 128

_PLAIN, _SINGLE, _DOUBLE, _LITERAL = 0, 1, 2, 3

_BREAKS = "\r\n\x85\u2028\u2029"
_BLANKZ = " \t\r\n\x85\u2028\u2029\x00"
_BREAK_RE = re.compile("[\r\n\x85\u2028\u2029]")
_YAML11_ONLY_BREAK_RE = re.compile("[\x85\u2028\u2029]")

# ---------------------------------------------------------------------------
# go-yaml v2 resolve(): would a plain scalar be read back as a non-string?
# ---------------------------------------------------------------------------

_GO_RESOLVE_MAP = frozenset(
    "y Y yes Yes YES true True TRUE on On ON n N no No NO false False FALSE "
    "off Off OFF ~ null Null NULL .nan .NaN .NAN .inf .Inf .INF +.inf +.Inf "
    "+.INF -.inf -.Inf -.INF".split()
)
_GO_HINT = {"+": "S", "-": "S", ".": "."}
_GO_HINT.update({c: "D" for c in "0123456789"})
_GO_HINT.update({c: "M" for c in "yYnNtTfFoO~"})

_GO_UINT_LITERAL = re.compile(
    r"(?:0[xX]([0-9a-fA-F]+)|0[oO]([0-7]+)|0[bB]([01]+)|0([0-7]*)|([1-9][0-9]*))\Z"
)
_GO_YAML_STYLE_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?\Z")
# strconv.ParseFloat syntax for a text starting with '.', underscores only between digits
_GO_DOT_FLOAT = re.compile(r"\.[0-9](?:_?[0-9])*(?:[eE][-+]?[0-9](?:_?[0-9])*)?\Z")
_GO_BASE60_FLOAT = re.compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?\Z")
# time.Parse with go-yaml v2's allowedTimestampFormats
_GO_TS_DATE = re.compile(r"([0-9]{4})-([0-9][0-9]?)-([0-9][0-9]?)\Z")
_GO_TS_TZ = re.compile(
    r"([0-9]{4})-([0-9][0-9]?)-([0-9][0-9]?)[Tt]([0-9][0-9]?):([0-9][0-9]?):([0-9][0-9]?)"
    r"(?:[.,][0-9]+)?(?:Z|[-+]([0-9][0-9]):([0-9][0-9]))\Z"
)
_GO_TS_SPACE = re.compile(
    r"([0-9]{4})-([0-9][0-9]?)-([0-9][0-9]?) +([0-9][0-9]?):([0-9][0-9]?):([0-9][0-9]?)"
    r"(?:[.,][0-9]+)?\Z"
)
_MONTH_DAYS = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _go_float_ok(text: str) -> bool:
    """strconv.ParseFloat succeeds (no overflow) on an already-validated literal."""
    return not math.isinf(float(text.replace("_", "")))


def _go_timestamp(s: str) -> bool:
    if len(s) < 5 or s[4] != "-" or not s[:4].isdigit() or not s[:4].isascii():
        return False
    m = _GO_TS_DATE.match(s)
    if m is None:
        m = _GO_TS_TZ.match(s) or _GO_TS_SPACE.match(s)
        if m is None:
            return False
        g = m.groups()
        if int(g[3]) >= 24 or int(g[4]) >= 60 or int(g[5]) >= 60:
            return False
        if len(g) > 6 and g[6] is not None and (int(g[6]) > 24 or int(g[7]) > 60):
            return False
    year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3))
    if not 1 <= month <= 12:
        return False
    days = _MONTH_DAYS[month]
    if month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
        days = 29
    return 1 <= day <= days


def _go_int_value(lit: str) -> int | None:
    """Value of an unsigned Go integer literal as strconv.ParseUint(s, 0, 64) reads it."""
    m = _GO_UINT_LITERAL.match(lit)
    if m is None:
        return None
    hx, octo, binary, octal0, dec = m.groups()
    if hx is not None:
        return int(hx, 16)
    if octo is not None:
        return int(octo, 8)
    if binary is not None:
        return int(binary, 2)
    if dec is not None:
        return int(dec)
    return int(octal0, 8) if octal0 else 0


def _go_resolves_to_string(s: str) -> bool:
    """go-yaml v2 ``resolve("", s)`` returns !!str and ``isBase60Float`` is false."""
    if not s:
        return False  # null
    hint = _GO_HINT.get(s[0])
    if hint is None:
        return True
    if s in _GO_RESOLVE_MAP:
        return False
    if hint == "M":
        return True
    if hint == ".":
        return not (_GO_DOT_FLOAT.match(s) and _go_float_ok(s))
    # hint 'D' or 'S': timestamp, int, float, 0b..., big int
    if _go_timestamp(s):
        return False
    plain = s.replace("_", "")
    sign = plain[:1] if plain[:1] in "+-" else ""
    value = _go_int_value(plain[len(sign):])
    if value is not None:
        if not sign:
            return False  # ParseUint, or big.Int after a range error
        if (-value if sign == "-" else value) in range(-(2**63), 2**63):
            return False  # ParseInt
    if _GO_YAML_STYLE_FLOAT.match(plain) and _go_float_ok(plain):
        return False
    if plain.startswith("0b"):
        rest = plain[2:]
        rsign = rest[:1] if rest[:1] in "+-" else ""
        digits = rest[len(rsign):]
        if digits and digits.strip("01") == "":
            v = int(digits, 2)
            if (-v if rsign == "-" else v) in range(-(2**63), 2**63):
                return False
            if not rsign and v < 2**64:
                return False
    elif plain.startswith("-0b"):
        digits = plain[3:]
        if digits and digits.strip("01") == "" and int(digits, 2) <= 2**63:
            return False
    if _GO_BASE60_FLOAT.match(s) and s[0] in "+-0123456789" and ":" in s:
        return False
    return True


def _v3_octal_int(s: str) -> bool:
    """yaml.v3 (kustomize's reader) resolves "0o..." / "-0o..." texts that
    go-yaml v2 treats as strings, e.g. "0o-74" is the int -60 for yaml.v3."""
    plain = s.replace("_", "")
    if plain.startswith("0o"):
        rest = plain[2:]
        sign = rest[:1] if rest[:1] in "+-" else ""
        digits = rest[len(sign):]
        if digits and digits.strip("01234567") == "":
            v = int(digits, 8)
            return (-v if sign == "-" else v) in range(-(2**63), 2**63) or (not sign and v < 2**64)
    elif plain.startswith("-0o"):
        digits = plain[3:]
        return bool(digits) and digits.strip("01234567") == "" and int(digits, 8) <= 2**63
    return False


# ---------------------------------------------------------------------------
# PyYAML (YAML 1.1) safety: what yaml.safe_load would do with a plain scalar
# ---------------------------------------------------------------------------

_PY_IMPLICIT = _PyYAMLResolver.yaml_implicit_resolvers
_PY_STR_TAG = "tag:yaml.org,2002:str"


def _unsafe_plain(s: str) -> bool:
    """True if a plain ``s`` would not be read back as this string by PyYAML's
    YAML 1.1 resolver (yaml.safe_load) or by yaml.v3 (kustomize's reader)."""
    if s[:1] in ("0", "-") and _v3_octal_int(s):
        return True
    resolvers = list(_PY_IMPLICIT.get(s[0] if s else "", ())) + list(_PY_IMPLICIT.get(None, ()))
    for tag, regexp in resolvers:
        if regexp.match(s):
            return tag != _PY_STR_TAG
    return False


# ---------------------------------------------------------------------------
# libyaml scalar analysis / style selection (go-yaml v2 emitterc.go)
# ---------------------------------------------------------------------------


# Scalars can be long (multi-line PromQL, alert descriptions), so the analysis
# below works on whole strings (compiled regexes, str methods) instead of
# walking characters in Python.  ``_printable`` / ``_needs_escape`` are the
# per-character definitions the regexes are derived from (and tested against).


def _printable(c: str) -> bool:
    o = ord(c)
    return (
        o == 0x0A
        or 0x20 <= o <= 0x7E
        or 0xA0 <= o <= 0xD7FF
        or (0xE000 <= o <= 0xFFFD and o != 0xFEFF)
    )


def _needs_escape(c: str) -> bool:
    return c == '"' or c == "\\" or c in _BREAKS or not _printable(c)


# The two regular expressions below read only non-ASCII text (ASCII has str fast paths), and each
# costs about 4 ms to compile: compiled when first needed, so a build of ASCII models never does.
@functools.cache
def _not_printable_re() -> re.Pattern:
    """Some character that is not _printable()."""
    return re.compile(r"[^\n\x20-\x7e\xa0-\ud7ff\ue000-\ufefe\uff00-\ufffd]")


@functools.cache
def _needs_escape_re() -> re.Pattern:
    """Every character that _needs_escape() in a double-quoted scalar: the complement of
    _printable() minus '"', '\\', '\n', U+2028 and U+2029."""
    return re.compile(r"[^\x20\x21\x23-\x5b\x5d-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd]")
# '#' preceded by a blank/break/NUL (libyaml: a comment indicator).
_BLANK_HASH_RE = re.compile("[ \t\r\n\x85\u2028\u2029\x00]#")
_BREAK_SPACE_RE = re.compile("[\r\n\x85\u2028\u2029] ")
_SPACE_BREAK_RE = re.compile(" [\r\n\x85\u2028\u2029]")
_ASCII_CONTROL_RE = re.compile("[\x00-\x1f\x7f]")

_NAMED_ESCAPES = {
    "\x00": "\\0", "\x07": "\\a", "\x08": "\\b", "\t": "\\t", "\n": "\\n",
    "\x0b": "\\v", "\x0c": "\\f", "\r": "\\r", "\x1b": "\\e", '"': '\\"',
    "\\": "\\\\", "\x85": "\\N", "\xa0": "\\_", "\u2028": "\\L", "\u2029": "\\P",
}


def _escape(c: str) -> str:
    e = _NAMED_ESCAPES.get(c)
    if e is not None:
        return e
    o = ord(c)
    if o <= 0xFF:
        return "\\x%02X" % o
    if o <= 0xFFFF:
        return "\\u%04X" % o
    return "\\U%08X" % o


def _escape_match(m: re.Match) -> str:
    return _escape(m.group())


def _escape_text(s: str) -> str:
    """``s`` with every character that _needs_escape() replaced by its escape."""
    if not s.isascii():
        return _needs_escape_re().sub(_escape_match, s)
    # ASCII: '"', '\\' and the C0 controls / DEL need escapes; str.isprintable()
    # is exactly 0x20-0x7E.  Backslashes first, the escapes add new ones.
    if "\\" in s:
        s = s.replace("\\", "\\\\")
    if '"' in s:
        s = s.replace('"', '\\"')
    if s.isprintable():
        return s
    s = s.replace("\n", "\\n").replace("\t", "\\t")
    if s.isprintable():
        return s
    return _ASCII_CONTROL_RE.sub(_escape_match, s)


_SIMPLE_PLAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_./-]*\Z")
_FLOW_INDICATORS = frozenset("#,[]{}&*!|>'\"%@`")


def _select_style(s: str) -> int:
    if _SIMPLE_PLAIN.match(s):
        # No indicator, space, break or special character: plain unless it resolves.
        if _go_resolves_to_string(s) and not _unsafe_plain(s):
            return _PLAIN
        return _DOUBLE
    n = len(s)
    if n == 0:
        return _DOUBLE  # resolves to null
    if "\n" in s:
        return _select_block_style(s)
    first, end = s[0], s[-1]
    # libyaml's indicator analysis: a leading indicator, "?"/":"/"-" + blank at
    # the start, ":" followed by a blank or the end, "#" after a blank.
    block_ind = (
        first in _FLOW_INDICATORS
        or ((first == "?" or first == ":" or first == "-") and (n == 1 or s[1] == " " or s[1] == "\t"))
        or s.startswith("---")
        or s.startswith("...")
        or (":" in s and (end == ":" or ": " in s or ":\t" in s))
        or ("#" in s and _BLANK_HASH_RE.search(s) is not None)
    )
    ascii_only = s.isascii()
    if ascii_only:
        # Only \r and \n can be breaks; str.isprintable() is exactly 0x20-0x7E here.
        special = not s.isprintable() and not s.replace("\n", "").isprintable()
        line_breaks = "\n" in s or "\r" in s
        if line_breaks:
            break_space = "\n " in s or "\r " in s
            space_break = " \n" in s or " \r" in s
        else:
            break_space = space_break = False
    else:
        special = _not_printable_re().search(s) is not None
        line_breaks = _BREAK_RE.search(s) is not None
        if line_breaks:
            break_space = _BREAK_SPACE_RE.search(s) is not None
            space_break = _SPACE_BREAK_RE.search(s) is not None
        else:
            break_space = space_break = False
    leading = first == " " or first in _BREAKS
    trailing_space = end == " "
    trailing_break = end in _BREAKS

    plain_ok = not (leading or trailing_space or trailing_break or break_space
                    or space_break or special or line_breaks or block_ind)
    single_ok = not (break_space or space_break or special)

    # No "\n" here (_select_block_style), so never a literal block.
    if _go_resolves_to_string(s):
        style = _PLAIN
    else:
        style = _DOUBLE
    if style == _PLAIN and not plain_ok:
        style = _SINGLE
    if style == _SINGLE and not single_ok:
        style = _DOUBLE
    # Safety overrides (see module docstring).
    if style == _PLAIN and _unsafe_plain(s):
        style = _DOUBLE
    if style != _DOUBLE and not ascii_only and _YAML11_ONLY_BREAK_RE.search(s):
        style = _DOUBLE
    return style


_ASCII_CONTROLS_BUT_NL = bytes(c for c in [*range(0x20), 0x7F] if c != 0x0A)  # \r included


def _select_block_style(s: str) -> int:
    """_select_style of a text with a line break: literal unless the block is not allowed (a
    trailing space, a space before a break, a character that is not printable), then double
    quotes. Only what decides between the two is looked at (no indicator analysis, which only
    plain and single-quoted texts need): a dashboard's 40 KB of JSON is scanned in a few passes
    at C speed."""
    if s[-1] == " ":
        return _DOUBLE
    if s.isascii():
        # A space before a break (\r is a control character, so " \n" is the only one left to
        # look for; rfind, as CPython's forward search crawls through JSON's runs of indentation),
        # or a control character other than \n.
        if s.rfind(" \n") >= 0 or len(s.encode().translate(None, _ASCII_CONTROLS_BUT_NL)) != len(s):
            return _DOUBLE
        return _LITERAL
    if _SPACE_BREAK_RE.search(s) is not None or _not_printable_re().search(s) is not None:
        return _DOUBLE
    if _YAML11_ONLY_BREAK_RE.search(s):
        return _DOUBLE  # safety override (module docstring, deviation 3)
    return _LITERAL


def _render_double(s: str) -> str:
    if s.startswith("\ufeff"):
        # libyaml's is_bom() looks at the start of the *value*: every char is escaped.
        return '"' + "".join(_escape(c) for c in s) + '"'
    return '"' + _escape_text(s) + '"'


def _no_breaks(s: str) -> bool:
    if s.isascii():
        return "\n" not in s and "\r" not in s
    return _BREAK_RE.search(s) is None


@functools.lru_cache(maxsize=1 << 16)
def _scalar(s: str) -> tuple:
    """(style, unfolded text, simple-key ok, may fold) for a string scalar."""
    style = _select_style(s)
    if style == _PLAIN:
        text = s
    elif style == _SINGLE:
        text = "'" + s.replace("'", "''") + "'"
    elif style == _DOUBLE:
        text = _render_double(s)
    else:
        text = ""
    simple_key = _no_breaks(s) and (
        len(s) * 4 <= _MAX_SIMPLE_KEY_BYTES
        or len(s.encode("utf-8", "surrogatepass")) <= _MAX_SIMPLE_KEY_BYTES
    )
    may_fold = style != _LITERAL and " " in s and not s.startswith("\ufeff")
    return (style, text, simple_key, may_fold)


@functools.lru_cache(maxsize=1 << 12)
def _fold(s: str, style: int, col: int, indent: int) -> str:
    """Render a plain/single/double scalar starting at column ``col`` with
    libyaml's line folding at spaces (continuation lines at ``indent``).

    libyaml writes the scalar character by character and breaks the line at a
    space once the column is past BEST_WIDTH, if that space is
    - plain: the first of its run and the only one (next character not a space);
    - single-quoted: the same, and neither the first nor the last character;
    - double-quoted: the first of its run, not the first character and not a
      single trailing space; if more spaces follow, the break is followed by
      ``\\`` (an escaped line break) and the remaining spaces are kept.
    Here the text is rendered first (quotes doubled / characters escaped: an
    escape never contains a space and every character is one column), so the
    column of text[q] is known without walking the characters: from each line
    start, look for the first space past the width that may break.
    """
    if style == _PLAIN:
        text, quote = s, ""
    elif style == _SINGLE:
        text, quote = s.replace("'", "''"), "'"
        col += 1
    else:
        text, quote = _escape_text(s), '"'
        col += 1
    last = len(text) - 1
    nl = "\n" + " " * indent
    out = [quote]
    pos = 0  # text[pos] is written at column ``col``
    find = text.find
    while True:
        q = find(" ", pos + BEST_WIDTH + 1 - col if col <= BEST_WIDTH else pos)
        while q >= 0:  # first space at q whose column col + q - pos > BEST_WIDTH
            if q == 0 or text[q - 1] != " ":  # first space of its run
                if style == _DOUBLE:
                    if 0 < q < last:
                        break
                elif style == _SINGLE:
                    if 0 < q < last and text[q + 1] != " ":
                        break
                elif text[q + 1] != " ":
                    break
            q = find(" ", q + 1)
        if q < 0:
            break
        if q < last and text[q + 1] == " ":  # double-quoted only
            out.append(text[pos:q] + nl + "\\")
            col = indent + 1
        else:
            out.append(text[pos:q] + nl)
            col = indent
        pos = q + 1
    out.append(text[pos:])
    out.append(quote)
    return "".join(out)


@functools.lru_cache(maxsize=1 << 12)
def _literal(s: str, indent: int) -> str:
    """Literal block scalar: header plus lines; the final line break (if any) is
    left to the next line's prefix (the emitter adds "\\n" lazily)."""
    header = "|2" if s[0] == " " or s[0] == "\n" else "|"
    if s[-1] != "\n":
        header += "-"
    elif len(s) == 1 or s[-2] == "\n":
        header += "+"
    body = s[:-1] if s[-1] == "\n" else s
    pad = "\n" + " " * indent
    if body and body[0] != "\n" and body[-1] != "\n" and body.rfind("\n\n") < 0:  # (rfind: see above)
        # No empty line (the common case, e.g. a dashboard's JSON): one replace at C speed.
        return header + pad + body.replace("\n", pad)
    return header + "".join(pad + line if line else "\n" for line in body.split("\n"))


def _scalar_text(s: str, col: int, indent: int) -> str:
    """Text of a string scalar whose first character is written at ``col``;
    continuation/block lines are indented to ``indent``."""
    info = _scalar(s)
    style = info[0]
    if style == _LITERAL:
        return _literal(s, indent)
    text = info[1]
    if info[3] and col + len(text) > BEST_WIDTH:
        return _fold(s, style, col, indent)
    return text


# ---------------------------------------------------------------------------
# Numbers
# ---------------------------------------------------------------------------


def go_format_float(f: float) -> str:
    """strconv.FormatFloat(f, 'g', -1, 64) (go-yaml v2 floatv)."""
    r = repr(f)
    neg = r[0] == "-"
    if neg:
        r = r[1:]
    mant, _, exp = r.partition("e")
    ip, _, fp = mant.partition(".")
    digits = ip + fp
    dp = len(ip) + (int(exp) if exp else 0)
    stripped = digits.lstrip("0")
    dp -= len(digits) - len(stripped)
    digits = stripped.rstrip("0") or "0"
    if digits == "0":
        return "-0" if neg else "0"
    x = dp - 1
    if x < -4 or x >= 6:  # shortest formatting uses eprec = 6
        s = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        s += "e" + ("-" if x < 0 else "+") + ("%02d" % abs(x))
    elif dp <= 0:
        s = "0." + "0" * -dp + digits
    elif dp >= len(digits):
        s = digits + "0" * (dp - len(digits))
    else:
        s = digits[:dp] + "." + digits[dp:]
    return "-" + s if neg else s


def _go_format_fixed(f: float) -> str:
    """strconv.FormatFloat(f, 'f', -1, 64) for an integral float (encoding/json)."""
    r = repr(f)
    neg = r[0] == "-"
    mant, _, exp = r.lstrip("-").partition("e")
    ip, _, fp = mant.partition(".")
    digits = (ip + fp).lstrip("0")
    dp = len(ip) + (int(exp) if exp else 0) - (len(ip + fp) - len(digits))
    digits = digits.rstrip("0")
    if not digits:
        return "0"  # json writes -0 as "-0"; go-yaml reads it as int 0
    s = digits + "0" * (dp - len(digits))
    return "-" + s if neg else s


def _format_float(f: float) -> str:
    if f != f:
        return ".nan"
    if f in (math.inf, -math.inf):
        return ".inf" if f > 0 else "-.inf"
    if f.is_integer() and -1e21 < f < 1e21:
        # Go's JSON writes an integral float as its shortest digits padded with
        # zeros ("%f"); go-yaml v2 then reads an int if it fits int64/uint64.
        padded = _go_format_fixed(f)
        n = int(padded)
        if -(2**63) <= n < 2**64:
            if n == f:
                return padded
            # Padded digits differ from the float's exact value (|f| > 2**53):
            # PyYAML would load a different number, keep a float (deviation 5).
    s = go_format_float(f)
    mant, e, exp = s.partition("e")
    if e and "." not in mant:
        s = mant + ".0e" + exp  # YAML 1.1 floats need a dot (deviation 2)
    return s


def _other_scalar(v: Any) -> str:
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return int.__repr__(v)
    if isinstance(v, float):
        return _format_float(v)
    raise TypeError(f"cannot emit {type(v).__name__} value {v!r} as YAML")


# ---------------------------------------------------------------------------
# Key order (go-yaml v2 sorter.go keyList.Less, as used by kustomize)
# ---------------------------------------------------------------------------


def _wrap_int64(n: int) -> int:
    n &= 0xFFFFFFFFFFFFFFFF
    return n - (1 << 64) if n >= (1 << 63) else n


def kustomize_key_cmp(a: str, b: str) -> int:
    """Compare two mapping keys the way kustomize orders them (-1, 0, 1).

    Letters compare by code point; a non-letter sorts before a letter; runs of
    digits compare numerically ("a2" < "a10"); a shorter prefix sorts first.
    """
    if a == b:
        return 0
    return -1 if _key_less(a, b) else 1


def _key_less(a: str, b: str) -> bool:
    la, lb = len(a), len(b)
    for i in range(min(la, lb)):
        ca, cb = a[i], b[i]
        if ca == cb:
            continue
        al, bl = ca.isalpha(), cb.isalpha()
        if al and bl:
            return ca < cb
        if al or bl:
            return bl
        an = bn = 0
        if ca == "0" or cb == "0":
            j = i - 1
            while j >= 0 and a[j].isdecimal():
                if a[j] != "0":
                    an = bn = 1
                    break
                j -= 1
        ai = i
        while ai < la and a[ai].isdecimal():
            an = _wrap_int64(an * 10 + ord(a[ai]) - 48)
            ai += 1
        bi = i
        while bi < lb and b[bi].isdecimal():
            bn = _wrap_int64(bn * 10 + ord(b[bi]) - 48)
            bi += 1
        if an != bn:
            return an < bn
        if ai != bi:
            return ai < bi
        return ca < cb
    return la < lb


_cmp_key = functools.cmp_to_key(kustomize_key_cmp)
_PLAIN_KEY = re.compile(r"[A-Za-z]*\Z")


@functools.lru_cache(maxsize=1 << 14)
def sorted_keys(keys: tuple) -> tuple:
    """The keys of one mapping in kustomize's output order."""
    if all(type(k) is str and _PLAIN_KEY.match(k) for k in keys):
        return tuple(sorted(keys))  # letters only: plain code point order
    return tuple(sorted(keys, key=_cmp_key))


def kustomize_sort_keys(obj: Any) -> Any:
    """Deep copy of ``obj`` with every mapping's keys in kustomize's order."""
    if isinstance(obj, dict):
        return {k: kustomize_sort_keys(obj[k]) for k in sorted_keys(tuple(obj))}
    if isinstance(obj, (list, tuple)):
        return [kustomize_sort_keys(v) for v in obj]
    return obj


# ---------------------------------------------------------------------------
# Emitter
# ---------------------------------------------------------------------------
# Every line break is written lazily as the prefix of the next line ("\n" +
# indentation); the document adds the final "\n".  Literal blocks ending in a
# line break leave that break to the next prefix, which reproduces libyaml's
# write_indent() (no extra newline when the column is already 0).

_NL = ["\n" + " " * i for i in range(64)]


def _nl(indent: int) -> str:
    return _NL[indent] if indent < 64 else "\n" + " " * indent


def _key_str(k: Any) -> str:
    if type(k) is str:
        return k
    if isinstance(k, str):
        return str.__str__(k)
    raise TypeError(f"mapping keys must be str, got {type(k).__name__} {k!r}")


def _normalize(v: Any) -> Any:
    """Map subclasses of the supported container/str types to the base types."""
    if isinstance(v, str):
        return str.__str__(v)
    if isinstance(v, dict):
        return dict(v)
    if isinstance(v, (list, tuple)):
        return list(v)
    return v  # scalars: handled (or rejected) by _other_scalar


# A simple key's text with ": " and with ":" (the value on the same line, or on the next ones):
# most keys recur in every object (apiVersion, metadata, name, ...), so they are looked up once.
_SIMPLE_KEYS: dict[str, tuple[str, str]] = {}
_SIMPLE_KEYS_MAX = 1 << 14


def _simple_key(k: str) -> tuple[str, str] | None:
    """(``key: ``, ``key:``) of a key written as a simple key; None for a complex key."""
    found = _SIMPLE_KEYS.get(k)
    if found is None:
        kinfo = _scalar(k)
        if not kinfo[2]:
            return None
        found = (kinfo[1] + ": ", kinfo[1] + ":")
        if len(_SIMPLE_KEYS) < _SIMPLE_KEYS_MAX:
            _SIMPLE_KEYS[k] = found
    return found


def _emit_mapping(d: dict, indent: int, out: list, inline: bool, sort_keys: bool) -> None:
    append = out.append
    simple_keys = _SIMPLE_KEYS
    nl = _nl(indent)
    vindent = indent + 2
    items = [(k, d[k]) for k in sorted_keys(tuple(d))] if sort_keys else d.items()
    for k, v in items:
        # Each entry's line break (none for the first one of an inline mapping) is written with it.
        if inline:
            inline = False
            start = ""
        else:
            start = nl
        if type(k) is not str:
            k = _key_str(k)
        tv = type(v)
        if tv is not str and tv is not dict and tv is not list:
            v = _normalize(v)
            tv = type(v)
        key = simple_keys.get(k) or _simple_key(k)
        if key is not None:  # simple key: "key: value"
            if tv is str:
                info = _scalar(v)
                if info[0] == _LITERAL:
                    append(start + key[0] + _literal(v, vindent))
                elif info[3] and indent + len(key[0]) + len(info[1]) > BEST_WIDTH:
                    append(start + key[0] + _fold(v, info[0], indent + len(key[0]), vindent))
                else:
                    append(start + key[0] + info[1])
            elif tv is dict:
                if v:
                    append(start + key[1])
                    _emit_mapping(v, vindent, out, False, sort_keys)
                else:
                    append(start + key[0] + "{}")
            elif tv is list:
                if v:
                    append(start + key[1])
                    _emit_sequence(v, indent, out, False, sort_keys)  # not indented
                else:
                    append(start + key[0] + "[]")
            else:
                append(start + key[0] + _other_scalar(v))
        else:  # complex key: "? key" / ": value"
            append(start + "? " + _scalar_text(k, vindent, vindent))
            append(nl + ":")
            if tv is str:
                append(" " + _scalar_text(v, vindent, vindent))
            elif tv is dict:
                if v:
                    append(" ")
                    _emit_mapping(v, vindent, out, True, sort_keys)
                else:
                    append(" {}")
            elif tv is list:
                if v:
                    append(" ")
                    _emit_sequence(v, vindent, out, True, sort_keys)
                else:
                    append(" []")
            else:
                append(" " + _other_scalar(v))


def _emit_sequence(seq: list, indent: int, out: list, inline: bool, sort_keys: bool) -> None:
    append = out.append
    nl = _nl(indent)
    vindent = indent + 2
    dash = nl + "- "
    for v in seq:
        if inline:  # the first item of an inline sequence: no line break before its dash
            inline = False
            start = "- "
        else:
            start = dash
        tv = type(v)
        if tv is not str and tv is not dict and tv is not list:
            v = _normalize(v)
            tv = type(v)
        if tv is str:
            info = _scalar(v)
            if info[0] == _LITERAL:
                append(start + _literal(v, vindent))
            elif info[3] and vindent + len(info[1]) > BEST_WIDTH:
                append(start + _fold(v, info[0], vindent, vindent))
            else:
                append(start + info[1])
        elif tv is dict:
            if v:
                append(start)
                _emit_mapping(v, vindent, out, True, sort_keys)
            else:
                append(start + "{}")
        elif tv is list:
            if v:
                append(start)
                _emit_sequence(v, vindent, out, True, sort_keys)
            else:
                append(start + "[]")
        else:
            append(start + _other_scalar(v))


def _emit_document(obj: Any, out: list, sort_keys: bool) -> None:
    obj = _normalize(obj)
    if isinstance(obj, dict):
        if obj:
            _emit_mapping(obj, 0, out, True, sort_keys)
        else:
            out.append("{}")
    elif isinstance(obj, list):
        if obj:
            _emit_sequence(obj, 0, out, True, sort_keys)
        else:
            out.append("[]")
    elif isinstance(obj, str):
        # A root scalar starts at column 0; its block/continuation indent is 2.
        out.append(_scalar_text(obj, 0, 2))
    else:
        out.append(_other_scalar(obj))
    out.append("\n")


def dump(obj: Any, *, sort_keys: bool = False) -> str:
    """One YAML document (no leading ``---``), in kustomize's style.

    With ``sort_keys=True`` every mapping is ordered as kustomize orders it, so
    the result equals ``kubectl kustomize`` output for the same object.
    """
    out: list = []
    _emit_document(obj, out, sort_keys)
    return "".join(out)


def dump_all(objs: Iterable[Any], *, sort_keys: bool = False) -> str:
    """Several documents separated by ``---\\n``, as ``kubectl kustomize`` prints them."""
    out: list = []
    first = True
    for obj in objs:
        if first:
            first = False
        else:
            out.append("---\n")
        _emit_document(obj, out, sort_keys)
    return "".join(out)
