"""configMapGenerator / secretGenerator with kustomize's content hash (kustomize v5.8.1, api v0.21.1).

Pure functions; every file read goes through the ``read_file(relpath) -> bytes`` callable the
engine passes in, so the engine enforces its load restrictions and positions its errors
(an OSError from it becomes a ValueError; anything else propagates).

How the engine uses them, as kustomize does:
  obj = config_map(entry, kustomization.get("generatorOptions"), read_file)   # or secret(...)
  needs = needs_hash_suffix(entry, generatorOptions); behavior = generation_behavior(entry)
  if an object with obj's id exists (current or previous ids):
      obj = merge_generated(existing, obj, behavior); needs = merged_needs_hash(old_needs, needs)
  else: merge_generated(None, obj, behavior)  # raises for merge/replace
  ... after all transformers, at the top level: name += "-" + hash_suffix(obj) if needs,
  else check_printable(obj)  (hash_suffix runs the same checks).

Semantics follow kustomize's source, including its quirks:

* api/kv: pairs come from ``envs`` (and the legacy ``env``) first, then ``literals``, then
  ``files``; a key may appear only once across all of them.
* Literals split at the first ``=``; a leading ``=`` or no ``=`` is an error.  The value loses
  one pair of surrounding quotes when its first and last characters are the same quote.
* Env files are scanned like Go's ``bufio.Scanner`` (lines end at ``\\n``, one trailing ``\\r``
  dropped, a line of 64 KiB or more silently ends the scan).  A line with invalid UTF-8 is an
  error; a UTF-8 BOM is dropped from the first line; leading Unicode white space is trimmed;
  an empty line or one starting with ``#`` is skipped; the key is everything before the first
  ``=`` (nothing is trimmed on its right, ``export FOO`` stays the key), the value everything
  after it, untouched (quotes kept); a line without ``=`` gives the value ""; a line whose key
  is empty (``=x``) is skipped.
* kustomize's key validator is a no-op: keys are not checked against the Kubernetes
  ConfigMap key rules and env keys are not checked as variable names.  ``strict_keys=True``
  adds that check (it is not kustomize's behaviour).
* ConfigMap values that are not valid UTF-8 go to ``binaryData``; Secret values all go to
  ``data``.  Both are base64 as kyaml writes it: lines of 70 characters, each followed by a
  newline once the encoding is 70 characters or longer.  An empty ConfigMap has no ``data``;
  an empty Secret has ``data: {}``.
* Each generator entry reaches kustomize's builtin plugin through a Go JSON -> goyaml.v2 round
  trip: DEL, C1 controls (but NEL), U+FFFE/U+FFFF in any of its strings are an error, a NEL in a
  key is an error, and a NEL in a value is folded like a line break in a double-quoted scalar.
* The hash (api/hasher) is sha256 over Go's ``json.Marshal`` of ``{kind, name, data[,
  binaryData]}`` (ConfigMap) or ``{kind, name, type, data[, stringData]}`` (Secret), encoded to
  10 characters.  ``name`` is always "" there: kustomize looks the name up as the single field
  ``metadata/name``, which never exists.  ``immutable``, labels and annotations are not hashed.
* behavior merge/replace: the existing name and namespace stay, labels and annotations merge
  (generated values win), merge also merges data and binaryData; every other field comes from
  the generated object; a hash suffix only if both asked for one.
* Some generated objects cannot be printed by kustomize (keys that YAML reads as numbers,
  booleans, null or dates; multi-line values starting with a tab; see check_printable).
"""

from __future__ import annotations

import base64
import copy
import decimal
import hashlib
import math
import re
from typing import Callable

ReadFile = Callable[[str], bytes]

# bufio.MaxScanTokenSize: a line (without its "\n") this long ends the scan of an env file.
_MAX_SCAN_LINE = 64 * 1024
# Go's unicode.IsSpace (Unicode White_Space), not Python's str.isspace (which adds \x1c-\x1f).
_GO_SPACE = frozenset(
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000"
)
_B64_LINE = 70


# --------------------------------------------------------------------------- options


def _string_map(value, what: str) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError(f"{what} must be a map of strings")
    return {str(k): _scalar_text(v) for k, v in value.items()}


def _scalar_text(value) -> str:
    """A scalar as the string kustomize keeps for it (bool/number YAML scalars in string maps)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, (int, float)):
        return _go_float(float(value)) if isinstance(value, float) else str(value)
    raise ValueError(f"expected a string, got {type(value).__name__}")


def merge_options(local: dict | None, global_: dict | None) -> dict | None:
    """types.MergeGlobalOptionsIntoLocal: local labels/annotations win; a true bool anywhere wins."""
    local = _normalize_options(local)
    global_ = _normalize_options(global_)
    if global_ is None:
        return local
    merged = local if local is not None else {}
    for field in ("labels", "annotations"):
        gmap = global_.get(field)
        lmap = merged.get(field)
        if lmap is None:
            if gmap is not None:
                merged[field] = dict(gmap)
            continue
        for k, v in (gmap or {}).items():
            lmap.setdefault(k, v)
    for field in ("disableNameSuffixHash", "immutable"):
        if global_.get(field):
            merged[field] = True
    return merged


def _normalize_options(opts: dict | None) -> dict | None:
    if opts is None:
        return None
    if not isinstance(opts, dict):
        raise ValueError("generator options must be a map")
    out: dict = {}
    for field in ("labels", "annotations"):
        m = _string_map(opts.get(field), f"options.{field}")
        if m is not None:
            out[field] = m
    for field in ("disableNameSuffixHash", "immutable"):
        v = opts.get(field)
        if v is not None and not isinstance(v, bool):
            raise ValueError(f"options.{field} must be a boolean")
        out[field] = bool(v)
    return out


def effective_options(args: dict, options: dict | None) -> dict:
    """The generator entry's options merged with the kustomization's generatorOptions."""
    return merge_options(args.get("options"), options) or {
        "disableNameSuffixHash": False, "immutable": False}


def needs_hash_suffix(args: dict, options: dict | None) -> bool:
    """Whether the generated object gets the content-hash name suffix."""
    return not effective_options(args, options).get("disableNameSuffixHash", False)


def generation_behavior(args: dict) -> str:
    """types.NewGenerationBehavior: create | merge | replace, anything else is 'unspecified'
    (which kustomize treats as create)."""
    b = args.get("behavior")
    return b if b in ("create", "merge", "replace") else "unspecified"


# --------------------------------------------------------------------------- kustomize's YAML round trips

# kustomize hands each generator entry to its builtin plugin as YAML (sigs.k8s.io/yaml: Go JSON,
# then goyaml.v2).  Go's JSON leaves these characters raw and goyaml.v2's reader refuses them.
_V2_REFUSED = re.compile("[\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]")
# ... and leaves NEL raw, which goyaml.v2 reads as a line break inside a double-quoted scalar:
# the spaces around it are dropped and one break folds to a space, n breaks to n-1 newlines.
_NEL_RUN = re.compile("( *\x85[ \x85]*)")


def plugin_string(s: str) -> str:
    """A string of a generator entry (or of generatorOptions) as kustomize's plugin receives it."""
    bad = _V2_REFUSED.search(s)
    if bad:
        raise ValueError(f"control characters are not allowed (U+{ord(bad.group()):04X} in {s!r})")
    if "\x85" not in s:
        return s

    def fold(m: re.Match) -> str:
        n = m.group().count("\x85")
        return " " if n == 1 else "\n" * (n - 1)
    return _NEL_RUN.sub(fold, s)


def _json_yaml_key(key: str) -> None:
    """A map key that goes through Go JSON read as YAML (goyaml.v2): a raw NEL breaks the
    flow mapping ("did not find expected ',' or '}'"); refused characters as for values."""
    plugin_string(key)
    if "\x85" in key:
        raise ValueError(f"key {key!r}: did not find expected ',' or '}}' (a NEL in a map key)")


def _plugin_config(value):
    if isinstance(value, str):
        return plugin_string(value)
    if isinstance(value, list):
        return [_plugin_config(v) for v in value]
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if isinstance(k, str):
                _json_yaml_key(k)
            out[k] = _plugin_config(v)
        return out
    return value


_YAML_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_RESOLVE_MAP = {
    "true": "bool", "True": "bool", "TRUE": "bool", "false": "bool", "False": "bool",
    "FALSE": "bool", "~": "null", "null": "null", "Null": "null", "NULL": "null",
    ".nan": "float", ".NaN": "float", ".NAN": "float", ".inf": "float", ".Inf": "float",
    ".INF": "float", "+.inf": "float", "+.Inf": "float", "+.INF": "float", "-.inf": "float",
    "-.Inf": "float", "-.INF": "float",
}


def _go_parse_int(s: str, base: int, signed: bool) -> bool:
    """Whether Go's strconv.ParseInt (signed) / ParseUint accepts s (underscores already gone)."""
    negative = False
    if s[:1] in ("+", "-"):
        if not signed:
            return False
        negative, s = s[0] == "-", s[1:]
    if base == 0:
        prefix = s[:2].lower()
        if prefix in ("0x", "0o", "0b"):
            base, s = {"0x": 16, "0o": 8, "0b": 2}[prefix], s[2:]
        elif s[:1] == "0" and len(s) > 1:
            base, s = 8, s[1:]
        else:
            base = 10
    digits = "0123456789abcdef"[:base]
    if not s or any(c not in digits for c in s.lower()):
        return False
    v = int(s, base) * (-1 if negative else 1)
    return -(2 ** 63) <= v < 2 ** 63 if signed else v < 2 ** 64


def _finite_float(s: str) -> bool:
    try:
        return not math.isinf(float(s))
    except ValueError:  # pragma: no cover - callers pass only float syntax
        return False


_TS_DATE = r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})"
_TS_TIME = r"([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})(?:[.,][0-9]+)?"
_TS_FORMATS = [re.compile(_TS_DATE + "[T]" + _TS_TIME + r"(Z|[+-][0-9]{2}:[0-9]{2})"),
               re.compile(_TS_DATE + "[t]" + _TS_TIME + r"(Z|[+-][0-9]{2}:[0-9]{2})"),
               re.compile(_TS_DATE + " " + _TS_TIME),
               re.compile(_TS_DATE)]


def _is_timestamp(s: str) -> bool:
    """goyaml.v3 parseTimestamp: Go's time.Parse with its four layouts, range checks included."""
    for fmt in _TS_FORMATS:
        m = fmt.fullmatch(s)
        if not m:
            continue
        g = m.groups()
        year, month, day = int(g[0]), int(g[1]), int(g[2])
        if not 1 <= month <= 12:
            continue
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        days = [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        if not 1 <= day <= days:
            continue
        if len(g) > 3 and not (int(g[3]) < 24 and int(g[4]) < 60 and int(g[5]) < 60):
            continue
        if len(g) > 6 and g[6] != "Z" and not (int(g[6][1:3]) <= 24 and int(g[6][4:6]) <= 60):
            continue
        return True
    return False


def yaml_key_type(key: str) -> str:
    """What goyaml.v3 reads an unquoted ``key`` as: str, int, float, bool, null, timestamp, merge.

    kyaml writes data/label keys without a tag, so a key that reads as anything but a string
    makes kustomize fail ("json: unsupported type: map[interface {}]interface {}").
    """
    if key == "<<":
        return "merge"  # a merge key: "map merge requires map or sequence of maps as the value"
    if not key or key[0] not in "+-0123456789yYnNtTfFoO~.":
        return "str"
    if key in _RESOLVE_MAP:
        return _RESOLVE_MAP[key]
    if key[0] == ".":
        return "float" if re.fullmatch(r"\.[0-9]+([eE][-+]?[0-9]+)?", key) and _finite_float(key) \
            else "str"
    if key[0] not in "+-0123456789":
        return "str"
    if _is_timestamp(key):
        return "timestamp"  # decoded as a time.Time map key
    plain = key.replace("_", "")
    if _go_parse_int(plain, 0, True) or _go_parse_int(plain, 0, False):
        return "int"
    if _YAML_FLOAT.fullmatch(plain) and _finite_float(plain):
        return "float"
    for prefix, base in (("0b", 2), ("0o", 8)):
        if plain.startswith(prefix):
            if _go_parse_int(plain[2:], base, True) or _go_parse_int(plain[2:], base, False):
                return "int"
        elif plain.startswith("-" + prefix):
            if _go_parse_int("-" + plain[3:], base, True):
                return "int"
    return "str"


def _check_yaml_keys(keys, where: str) -> None:
    for key in keys:
        kind = yaml_key_type(key)
        if kind == "merge":
            raise ValueError(f"{where} key {key!r} is a YAML merge key: kustomize fails on it "
                             "(map merge requires map or sequence of maps as the value)")
        if kind != "str":
            raise ValueError(f"{where} key {key!r} reads as a YAML {kind}: kustomize fails on it "
                             "(json: unsupported type: map[interface {}]interface {})")


# --------------------------------------------------------------------------- key/value sources


def parse_literal(source: str) -> tuple[str, str]:
    """kv.parseLiteralSource: split at the first '=', strip one pair of matching quotes."""
    if not isinstance(source, str):
        raise ValueError(f"invalid literal source {source!r}, expected key=value")
    if source.startswith("=") or "=" not in source:
        raise ValueError(f"invalid literal source {source}, expected key=value")
    key, value = source.split("=", 1)
    return key, _remove_quotes(value)


def _remove_quotes(s: str) -> str:
    if len(s.encode("utf-8", "surrogatepass")) < 2 or s[0] != s[-1]:
        return s
    if s[0] in "\"'":
        return s[1:-1]
    return s


def _go_path_base(p: str) -> str:
    """Go's path.Base."""
    if p == "":
        return "."
    p = p.rstrip("/")
    if p == "":
        return "/"
    return p.rsplit("/", 1)[-1]


def parse_file_source(source: str) -> tuple[str, str]:
    """generators.ParseFileSource: ``path`` (key = basename) or ``key=path``."""
    if not isinstance(source, str):
        raise ValueError(f"invalid file source {source!r}")
    n = source.count("=")
    if n == 0:
        return _go_path_base(source), source
    if n == 1 and source.startswith("="):
        return _fail(f"missing key name for file path {source[1:]!r} in source {source!r}")
    if n == 1 and source.endswith("="):
        return _fail(f"missing file path for key name {source[:-1]!r} in source {source!r}")
    if n > 1:
        return _fail(f"source {source!r} key name or file path contains '='")
    key, path = source.split("=")
    return key, path


def _fail(message: str):
    raise ValueError(message)


def _scan_lines(content: bytes) -> list[bytes]:
    """Go's bufio.Scanner with ScanLines and the default 64 KiB token limit.

    kustomize never checks scanner.Err(), so a too-long line silently ends the scan.
    """
    lines: list[bytes] = []
    pos, n = 0, len(content)
    while pos < n:
        nl = content.find(b"\n", pos)
        end = n if nl < 0 else nl
        if end - pos >= _MAX_SCAN_LINE:
            break
        line = content[pos:end]
        if line.endswith(b"\r"):
            line = line[:-1]
        lines.append(line)
        pos = n if nl < 0 else nl + 1
    return lines


def parse_env(content: bytes, path: str = "") -> list[tuple[str, str]]:
    """kv.keyValuesFromLines: the pairs of an env file, in order."""
    pairs: list[tuple[str, str]] = []
    for number, raw in enumerate(_scan_lines(content)):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            where = f"{path}: " if path else ""
            raise ValueError(f"{where}line {number + 1} has invalid utf8 bytes") from None
        if number == 0 and line.startswith("\ufeff"):
            line = line[1:]
        i = 0
        while i < len(line) and line[i] in _GO_SPACE:
            i += 1
        line = line[i:]
        if not line or line[0] == "#":
            continue
        key, eq, value = line.partition("=")
        if not key:
            continue  # kustomize treats an empty key like a blank line
        pairs.append((key, value if eq else ""))
    return pairs


def _read(read_file: ReadFile, path: str, what: str) -> bytes:
    try:
        content = read_file(path)
    except (OSError, UnicodeError) as e:
        reason = getattr(e, "strerror", None) or str(e)
        raise ValueError(f"{what} {path!r}: {reason}") from None
    if isinstance(content, str):
        content = content.encode("utf-8")
    return bytes(content)


def _as_list(value, field: str) -> list:
    if value is None:
        return []
    if isinstance(value, str):
        raise ValueError(f"{field} must be a list of strings")
    if not isinstance(value, list):
        raise ValueError(f"{field} must be a list of strings")
    return value


def load_pairs(args: dict, read_file: ReadFile) -> list[tuple[str, str | bytes]]:
    """kv.loader.Load: env files, then literals, then files (values: str, file contents: bytes)."""
    pairs: list[tuple[str, str | bytes]] = []
    envs = list(_as_list(args.get("envs"), "envs"))
    if args.get("env"):  # types.FixKustomization appends the legacy singular form
        envs.append(args["env"])
    for path in envs:
        if not isinstance(path, str):
            raise ValueError(f"invalid env source {path!r}")
        pairs.extend(parse_env(_read(read_file, path, "env source file"), path))
    for source in _as_list(args.get("literals"), "literals"):
        pairs.append(parse_literal(source))
    for source in _as_list(args.get("files"), "files"):
        key, path = parse_file_source(source)
        pairs.append((key, _read(read_file, path, "file source")))
    return pairs


_CM_KEY = re.compile(r"[-._a-zA-Z0-9]+")


def configmap_key_errors(key: str) -> list[str]:
    """Kubernetes' IsConfigMapKey rules (kustomize does not apply them; see strict_keys)."""
    errs = []
    if len(key) > 253:
        errs.append("must be no more than 253 characters")
    if not _CM_KEY.fullmatch(key):
        errs.append("a valid config key must consist of alphanumeric characters, '-', '_' or '.'")
    if key == ".":
        errs.append("must not be '.'")
    elif key == "..":
        errs.append("must not be '..'")
    elif key.startswith(".."):
        errs.append("must not start with '..'")
    return errs


def _validated_map(name: str, pairs, strict_keys: bool) -> dict:
    known: dict = {}
    for key, value in pairs:
        if strict_keys:
            errs = configmap_key_errors(key)
            if errs:
                raise ValueError(f"invalid key {key!r}: {'; '.join(errs)}")
        if key in known:
            raise ValueError(f"configmap {name} illegally repeats the key `{key}`")
        known[key] = value
    return known


# --------------------------------------------------------------------------- objects


def encode_base64(data: bytes) -> str:
    """kyaml's encodeBase64: std base64, in lines of 70, each ending in \\n once it needs > 1."""
    enc = base64.b64encode(data).decode("ascii")
    if len(enc) < _B64_LINE:
        return enc
    return "".join(enc[i:i + _B64_LINE] + "\n" for i in range(0, len(enc), _B64_LINE))


def _as_bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")


def _base_object(kind: str, args: dict) -> dict:
    name = args.get("name")
    if not name:
        raise ValueError("a configmap must have a name")
    if not isinstance(name, str):
        raise ValueError("the generator name must be a string")
    meta: dict = {"name": name}
    namespace = args.get("namespace")
    if namespace:
        meta["namespace"] = str(namespace)
    return {"apiVersion": "v1", "kind": kind, "metadata": meta}


def _apply_options(obj: dict, opts: dict | None) -> None:
    if not opts:
        return
    meta = obj["metadata"]
    if opts.get("labels"):
        meta["labels"] = dict(opts["labels"])
    if opts.get("annotations"):
        meta["annotations"] = dict(opts["annotations"])
    if opts.get("immutable"):
        obj["immutable"] = True


def _v3_printable(c: str) -> bool:
    return (c == "\n" or " " <= c <= "~" or "\xa0" <= c <= "\ud7ff"
            or "\ue000" <= c <= "\ufffd" and c != "\ufeff")


def _literal_block_breaks(value: str) -> bool:
    """Whether kyaml's literal-style (|) value fails to read back: goyaml.v3 writes a value whose
    first line starts with a tab without an indentation indicator, then refuses it ("found a
    tab character where an indentation space is expected").  Only values that goyaml.v3 may
    write as a block (no trailing space, no space before a break, only printable characters)."""
    if "\n" not in value or not value.startswith("\t"):
        return False
    if value.endswith(" ") or re.search(" [\n\r\x85\u2028\u2029]", value):
        return False  # written double-quoted
    return all(c == "\t" or _v3_printable(c) for c in value)


def _check_json_yaml_strings(value, path: str) -> None:
    if isinstance(value, str):
        bad = _V2_REFUSED.search(value)
        if bad:
            raise ValueError(f"{path}: control characters are not allowed (U+{ord(bad.group()):04X})")
    elif isinstance(value, dict):
        for k, v in value.items():
            if isinstance(k, str):
                try:
                    _json_yaml_key(k)
                except ValueError as e:
                    raise ValueError(f"{path}: {e}") from None
            _check_json_yaml_strings(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_json_yaml_strings(v, f"{path}[{i}]")


def check_printable(obj: dict) -> None:
    """Raise ValueError where kustomize fails to print a generated ConfigMap/Secret in its
    final form (kustomize checks nothing earlier: a replaced or patched-away value is fine).

    kustomize prints each object as kyaml -> goyaml.v3 text -> map -> Go JSON -> goyaml.v2
    (resource.AsYAML), which fails on: a data, binaryData, label or annotation key that
    goyaml.v3 reads as a non-string; a multi-line ConfigMap data value or annotation value that
    starts with a tab (written as a literal block that cannot be read back); characters
    goyaml.v2 refuses (DEL, C1 controls but NEL, U+FFFE, U+FFFF) anywhere; a NEL in a map key.
    (kubectl also prints a NEL in a value as a folded line break and U+2028/U+2029 as raw line
    breaks in block scalars: a printing matter, the values themselves are as built here.)
    hash_suffix() runs these checks too; call this for objects printed without a hash.
    """
    _check_json_yaml_strings(obj, obj.get("kind", "object"))
    meta = obj.get("metadata") or {}
    for where, m in (("data", obj.get("data")), ("binaryData", obj.get("binaryData")),
                     ("label", meta.get("labels")), ("annotation", meta.get("annotations"))):
        if isinstance(m, dict):
            _check_yaml_keys(m, where)
    checked = [("annotation", meta.get("annotations"))]
    if obj.get("kind") == "ConfigMap":
        checked.append(("data", obj.get("data")))
    for where, m in checked:
        for key, value in (m or {}).items() if isinstance(m, dict) else ():
            if isinstance(value, str) and _literal_block_breaks(value):
                raise ValueError(f"{where} {key!r}: found a tab character where an indentation "
                                 "space is expected (kustomize cannot read back a multi-line "
                                 "value that starts with a tab)")


def config_map(args: dict, options: dict | None, read_file: ReadFile, *,
               strict_keys: bool = False) -> dict:
    """generators.MakeConfigMap for one configMapGenerator entry (name without hash suffix)."""
    args, options = _plugin_config(args), _plugin_config(options)
    obj = _base_object("ConfigMap", args)
    opts = merge_options(args.get("options"), options)
    values = _validated_map(args["name"], load_pairs(args, read_file), strict_keys)
    data: dict[str, str] = {}
    binary: dict[str, str] = {}
    for key, value in values.items():
        if isinstance(value, bytes):
            try:
                data[key] = value.decode("utf-8")
            except UnicodeDecodeError:
                binary[key] = encode_base64(value)
        else:
            data[key] = value
    if data:
        obj["data"] = data
    if binary:
        obj["binaryData"] = binary
    _apply_options(obj, opts)
    return obj


def secret(args: dict, options: dict | None, read_file: ReadFile, *,
           strict_keys: bool = False) -> dict:
    """generators.MakeSecret for one secretGenerator entry (name without hash suffix)."""
    args, options = _plugin_config(args), _plugin_config(options)
    obj = _base_object("Secret", args)
    obj["type"] = str(args.get("type") or "Opaque")
    opts = merge_options(args.get("options"), options)
    values = _validated_map(args["name"], load_pairs(args, read_file), strict_keys)
    obj["data"] = {k: encode_base64(_as_bytes(v)) for k, v in values.items()}  # `data: {}` if none
    _apply_options(obj, opts)
    return obj


# --------------------------------------------------------------------------- behavior merge|replace


def _res_id(obj: dict) -> str:
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace") or ""
    where = f"{ns}/" if ns else ""
    return f"{obj.get('apiVersion', '')}, Kind={obj.get('kind', '')}, {where}{meta.get('name', '')}"


def _string_values(m) -> dict[str, str]:
    """kyaml GetDataMap: every entry's scalar text (a missing or non-map field gives {})."""
    if not isinstance(m, dict):
        return {}
    out = {}
    for k, v in m.items():
        if isinstance(v, (dict, list)):
            v = ""  # GetValue of a non-scalar node is its (empty) Value
        out[_scalar_text(k)] = _scalar_text(v)
    return out


def merge_generated(existing: dict | None, generated: dict, behavior: str) -> dict:
    """resWrangler.appendReplaceOrMerge for a generated object whose id matches ``existing``.

    ``existing`` is None when no object matches.  Returns the object that takes the existing
    one's place (or ``generated`` itself for create).  Both behaviors keep the existing name and
    namespace and merge labels and annotations (generated values win); ``merge`` also merges
    ``data`` and ``binaryData`` (generated values win).  Every other field (type, immutable,
    stringData, ...) comes from the generated object alone.  Hash suffix: kustomize appends one
    only if both the existing and the generated object asked for it (see merged_needs_hash).
    """
    behavior = behavior or "unspecified"
    if existing is None:
        if behavior in ("merge", "replace"):
            raise ValueError(f"id {_res_id(generated)} does not exist; cannot merge or replace")
        return copy.deepcopy(generated)
    if behavior not in ("merge", "replace"):
        raise ValueError(f"id {_res_id(generated)} exists; can not use behavior: '{behavior}', "
                         "behavior must be merge or replace")
    result = copy.deepcopy(generated)
    old_meta = existing.get("metadata") or {}
    meta = result.setdefault("metadata", {})
    for field in ("labels", "annotations"):
        merged = {**_string_values(old_meta.get(field)), **_string_values(meta.get(field))}
        meta.pop(field, None)
        if merged:
            meta[field] = merged
    meta["name"] = old_meta.get("name", "")
    if old_meta.get("namespace"):
        meta["namespace"] = old_meta["namespace"]
    else:
        meta.pop("namespace", None)
    if behavior == "merge":
        for field in ("data", "binaryData"):
            merged = {**_string_values(existing.get(field)), **_string_values(result.get(field))}
            result.pop(field, None)
            if merged:
                result[field] = merged
    # Merged labels are rewritten unquoted (setMapInMetadata), so like annotations they fail
    # to print as a literal block starting with a tab.
    for key, value in (meta.get("labels") or {}).items():
        if _literal_block_breaks(value):
            raise ValueError(f"label {key!r}: found a tab character where an indentation space "
                             "is expected (kustomize cannot read back a multi-line value that "
                             "starts with a tab)")
    return result


def merged_needs_hash(existing_needs_hash: bool, generated_needs_hash: bool) -> bool:
    """CopyMergeMetaDataFieldsFrom keeps the needsHashSuffix build annotation only when both
    the existing object (its value wins) and the generated one carry it."""
    return existing_needs_hash and generated_needs_hash


# --------------------------------------------------------------------------- content hash


def _go_float(f: float) -> str:
    """encoding/json's float64 encoding."""
    if math.isnan(f) or math.isinf(f):
        raise ValueError(f"unsupported value: {f}")
    if f == 0:
        return "-0" if math.copysign(1.0, f) < 0 else "0"
    a = abs(f)
    if a < 1e-6 or a >= 1e21:
        # strconv 'e' with the shortest digits (as repr), then json's "e-07" -> "e-7" clean-up
        return re.sub(r"e-0(\d)$", r"e-\1", repr(f))
    return format(decimal.Decimal(repr(f)).normalize(), "f")


_GO_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t",
                     "\b": "\\b", "\f": "\\f"}


def _go_json_string(s: str) -> str:
    out = ['"']
    for ch in s:
        esc = _GO_SHORT_ESCAPES.get(ch)
        if esc is not None:
            out.append(esc)
        elif ch < " " or ch in "<>&\u2028\u2029":
            out.append(f"\\u{ord(ch):04x}")
        elif "\ud800" <= ch <= "\udfff":
            out.append("\ufffd")  # invalid UTF-8 is replaced
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def go_json(value) -> str:
    """Go's json.Marshal of a value that went through JSON (maps sorted, HTML-safe escapes)."""
    if isinstance(value, str):
        return _go_json_string(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return _go_float(float(value))
    if isinstance(value, dict):
        items = sorted(((_scalar_text(k), v) for k, v in value.items()),
                       key=lambda kv: kv[0].encode("utf-8", "surrogatepass"))
        return "{" + ",".join(f"{_go_json_string(k)}:{go_json(v)}" for k, v in items) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(go_json(v) for v in value) + "]"
    raise ValueError(f"cannot hash a value of type {type(value).__name__}")


def _hash_field(obj: dict, field: str):
    """hasher.getNodeValues: "" when absent, a map's JSON value, or a scalar's text."""
    if field not in obj:
        return ""
    v = obj[field]
    if isinstance(v, dict):
        return v
    if isinstance(v, list):
        return None  # a sequence does not unmarshal into a map: nil map, JSON null
    return "" if v is None else _scalar_text(v)  # (kustomize: "null"/"~" when written so)


def encode_for_hash(obj: dict) -> str:
    """hasher.encodeConfigMap / encodeSecret: the exact JSON text that is hashed."""
    kind = obj.get("kind")
    # kustomize looks up "metadata/name" as one field name, so the name is always "".
    if kind == "ConfigMap":
        m = {"kind": "ConfigMap", "name": "", "data": _hash_field(obj, "data")}
        if isinstance(obj.get("binaryData"), (dict, list)):  # a map (nil for a list), not a scalar
            m["binaryData"] = _hash_field(obj, "binaryData")
    elif kind == "Secret":
        m = {"kind": "Secret", "type": _hash_field(obj, "type"), "name": "",
             "data": _hash_field(obj, "data")}
        if isinstance(obj.get("stringData"), (dict, list)):
            m["stringData"] = _hash_field(obj, "stringData")
    else:
        raise ValueError(f"no content hash for kind {kind!r} (only ConfigMap and Secret)")
    return go_json(m)


def encode_hash(hex_digest: str) -> str:
    """hasher.encode: the first 10 hex digits with 0 1 3 a e replaced (no vowels, no look-alikes)."""
    if len(hex_digest) < 10:
        raise ValueError("input length must be at least 10")
    return hex_digest[:10].translate(str.maketrans("013ae", "ghkmt"))


def hash_suffix(obj: dict) -> str:
    """kustomize's name-suffix content hash of a ConfigMap or Secret (its final form).

    Raises ValueError where kustomize fails on the object (see check_printable)."""
    encoded = encode_for_hash(obj)
    check_printable(obj)
    return encode_hash(hashlib.sha256(encoded.encode("utf-8", "surrogatepass")).hexdigest())
