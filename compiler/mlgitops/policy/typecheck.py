"""Type-check a ValidatingAdmissionPolicy as kube-controller-manager does (status.typeChecking).

One job: what Kubernetes' validatingadmissionpolicy-status-controller (k8s.io/apiserver
pkg/admission/plugin/policy/validating/typechecking.go, v1.36) writes to
`status.typeChecking.expressionWarnings`, computed offline. For every kind the policy's
matchConstraints.resourceRules name without wildcards (`*` in a group or version skips the rule, a
`*` or `/` resource is skipped; at most 10 kinds, sorted by group, version, kind) and whose schema
is available, every `spec.validations[i].expression` and `.messageExpression` is checked with
`object`/`oldObject` typed by that kind's OpenAPI schema, `params` by paramKind's schema (dyn when
it has none; undeclared without paramKind), `request` and `namespaceObject` as Kubernetes declares
them, and `variables.<name>` by the type of each variable's expression (struct types become dyn,
as in Kubernetes' convertCelTypeToDeclType); matchConditions and variables themselves are not
reported, as in Kubernetes.

Schemas become CEL types as in k8s.io/apiserver pkg/cel/common/schemas.go (SchemaDeclType): field
names escaped (`x-y` is `x__dash__y`, reserved words `__namespace__`, which `.namespace` still
selects), x-kubernetes-int-or-string is dyn, additionalProperties a map, an object's unknown fields
(x-kubernetes-preserve-unknown-fields) are not fields, a property with no type (e.g. a Quantity)
or a map or list of such is not exposed at all, `apiVersion`, `kind`, `metadata.name` and
`metadata.generateName` always exist at a resource root (and x-kubernetes-embedded-resource).
A custom resource's schema gets what the API server publishes for it: `metadata` is ObjectMeta.

The checker is a port of cel-go v0.26's (checker/checker.go, types.go): type parameters and their
substitutions, overload resolution against the declarations of Kubernetes' CEL environment
(`_DECLARATIONS`, dumped from the real environment), comprehensions; then, when the check finds
no error, the AST validators Kubernetes configures that depend on types: homogeneous aggregate
literals (cel/validator.go) and string.format clauses (ext/formatting.go). It walks the tree
celcost decodes from the checked AST of cel-expr-python, whose parser and macros follow the same
specification as cel-go's, so expression ids, offsets and messages are those of the real server:
"undefined field 'replicaz'", "found no matching overload for '_==_' applied to '(int, string)'",
"expected type 'bool' but found 'int'", ... dyn never produces a warning. Object type names carry
a timestamp in Kubernetes (`Deployment123456789.spec`); here they are the kind alone.

`creation_errors` is the other half: what the API server refuses outright when the policy is
created (every expression compiled with object, oldObject and params untyped, result types exact,
no cel.bind). tests/test_apiserver_typecheck.py compares both with a real kube-apiserver and
kube-controller-manager.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Callable, Iterable, Mapping

from .celcost import Node

MAX_TYPES_TO_CHECK = 10  # maxTypesToCheck in typechecking.go
_OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
_INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
_CORE_META_KIND = ("v1", "ConfigMap")  # a core kind whose schema's $defs hold ObjectMeta's closure


# --- types -----------------------------------------------------------------------------------------

class CelType:
    """A type of cel-go's checker: kind (dyn, int, list, struct, tparam, ...), runtime type name,
    parameters; a struct has lazily built fields (schema objects) or none (library types)."""

    __slots__ = ("kind", "name", "params", "fields_of", "_fields", "identity")

    def __init__(self, kind: str, name: str, params: tuple["CelType", ...] = (),
                 fields_of: Callable[[], dict[str, "CelType"]] | None = None, identity: str | None = None) -> None:
        self.kind = kind
        self.name = name
        self.params = params
        self.fields_of = fields_of
        self._fields: dict[str, CelType] | None = None
        self.identity = identity if identity is not None else name

    @property
    def fields(self) -> dict[str, "CelType"]:
        if self._fields is None:
            self._fields = self.fields_of() if self.fields_of is not None else {}
        return self._fields

    def __repr__(self) -> str:
        return format_type(self)


DYN = CelType("dyn", "dyn")
ANY = CelType("any", "google.protobuf.Any")
BOOL = CelType("bool", "bool")
BYTES = CelType("bytes", "bytes")
DOUBLE = CelType("double", "double")
DURATION = CelType("duration", "google.protobuf.Duration")
ERROR = CelType("error", "error")
INT = CelType("int", "int")
NULL = CelType("null", "null_type")
STRING = CelType("string", "string")
TIMESTAMP = CelType("timestamp", "google.protobuf.Timestamp")
TYPE = CelType("type", "type")
UINT = CelType("uint", "uint")
_SIMPLE = {t.kind: t for t in (DYN, ANY, BOOL, BYTES, DOUBLE, DURATION, ERROR, INT, NULL, STRING, TIMESTAMP, TYPE,
                                UINT)}


def list_type(elem: CelType) -> CelType:
    return CelType("list", "list", (elem,))


def map_type(key: CelType, value: CelType) -> CelType:
    return CelType("map", "map", (key, value))


def optional_type(value: CelType) -> CelType:
    return CelType("opaque", "optional_type", (value,))


def type_type(param: CelType) -> CelType:
    return CelType("type", "type", (param,))


def type_param(name: str) -> CelType:
    return CelType("tparam", name)


def struct_type(name: str, fields: dict[str, CelType] | Callable[[], dict[str, CelType]] | None = None,
                identity: str | None = None) -> CelType:
    builder = fields if callable(fields) or fields is None else (lambda f=fields: f)
    return CelType("struct", name, (), builder, identity)


def format_type(t: CelType | None) -> str:
    """cel-go's FormatCELType."""
    if t is None:
        return ""
    special = {"any": "any", "duration": "duration", "error": "!error!", "null": "null", "timestamp": "timestamp"}
    if t.kind in special:
        return special[t.kind]
    if t.kind == "tparam" or not t.params:
        return t.name
    return f"{t.name}({', '.join(format_type(p) for p in t.params)})"


def _exact(a: CelType, b: CelType) -> bool:
    if a is b:
        return True
    if a.kind != b.kind or len(a.params) != len(b.params) or a.name != b.name or a.identity != b.identity:
        return False
    return all(_exact(x, y) for x, y in zip(a.params, b.params))


def _is_dyn(t: CelType) -> bool:
    return t.kind in ("dyn", "any")


def _is_dyn_or_error(t: CelType) -> bool:
    return t.kind in ("dyn", "any", "error")


def _unwrap_optional(t: CelType) -> tuple[CelType, bool]:
    if t.kind == "opaque" and t.name == "optional_type":
        return t.params[0], True
    return t, False


def _assignable_type(t: CelType, source: CelType) -> bool:
    """cel-go's Type.IsAssignableType (defaultIsAssignableType)."""
    if t is source or t.kind in ("dyn", "any", "tparam"):
        return True
    if t.kind != source.kind or t.name != source.name or t.identity != source.identity \
            or len(t.params) != len(source.params):
        return False
    return all(_assignable_type(p, q) for p, q in zip(t.params, source.params))


def _assignable_null(t: CelType) -> bool:
    return t.kind in ("opaque", "struct", "any", "duration", "timestamp") or _assignable_type(t, NULL)


Mapping_ = dict[str, CelType]  # type-parameter substitutions, keyed by the formatted type


def _internal_assignable(m: Mapping_, t1: CelType, t2: CelType) -> bool:
    if t2.kind == "tparam":
        valid, has_sub = _valid_substitution(m, t1, t2)
        if valid:
            return True
        if has_sub:
            return False
    if t1.kind == "tparam":
        return _valid_substitution(m, t2, t1)[0]
    if _is_dyn_or_error(t1) or _is_dyn_or_error(t2):
        return True
    if t1.kind == "null":
        return _assignable_null(t2)
    if t2.kind == "null":
        return _assignable_null(t1)
    if t1.kind in ("bool", "bytes", "double", "int", "string", "uint", "any", "duration", "timestamp", "struct"):
        return _assignable_type(t2, t1)
    if t1.kind == "type":
        return t2.kind == "type"
    if t1.kind in ("opaque", "list", "map"):
        return t1.kind == t2.kind and t1.name == t2.name and _internal_assignable_list(m, t1.params, t2.params)
    return False


def _valid_substitution(m: Mapping_, t1: CelType, t2: CelType) -> tuple[bool, bool]:
    if t1.kind == t2.kind and _exact(t1, t2):
        return True, True
    sub = m.get(format_type(t2))
    if sub is not None:
        if t1.kind == sub.kind and _exact(t1, sub):
            return True, True
        if _internal_assignable(m, t1, sub):
            general = _most_general(t1, sub)
            if _not_referenced_in(m, t2, general):
                m[format_type(t2)] = general
            return True, True
        return False, True
    if _not_referenced_in(m, t2, t1):
        m[format_type(t2)] = t1
        return True, False
    return False, False


def _internal_assignable_list(m: Mapping_, l1: Iterable[CelType], l2: Iterable[CelType]) -> bool:
    a, b = list(l1), list(l2)
    if len(a) != len(b):
        return False
    return all(_internal_assignable(m, x, y) for x, y in zip(a, b))


def _less_specific(t1: CelType, t2: CelType) -> bool:
    """cel-go's isEqualOrLessSpecific."""
    if _is_dyn(t1) or t1.kind == "tparam":
        return True
    if _is_dyn(t2) or t2.kind == "tparam":
        return False
    if t1.kind != t2.kind:
        return False
    if t1.kind == "opaque":
        return t1.name == t2.name and len(t1.params) == len(t2.params) and \
            all(_less_specific(p, q) for p, q in zip(t1.params, t2.params))
    if t1.kind in ("list", "map"):
        return all(_less_specific(p, q) for p, q in zip(t1.params, t2.params))
    if t1.kind == "type":
        return True
    return _exact(t1, t2)


def _most_general(t1: CelType, t2: CelType) -> CelType:
    return t1 if _less_specific(t1, t2) else t2


def _not_referenced_in(m: Mapping_, t: CelType, within: CelType) -> bool:
    if _exact(t, within):
        return False
    if within.kind == "tparam":
        sub = m.get(format_type(within))
        return True if sub is None else _not_referenced_in(m, t, sub)
    if within.kind in ("opaque", "list", "map", "type"):
        return all(_not_referenced_in(m, t, p) for p in within.params)
    return True


def _substitute(m: Mapping_, t: CelType, to_dyn: bool) -> CelType:
    if t.kind == "tparam":  # substitutions are only ever recorded for type parameters
        sub = m.get(t.name)
        if sub is not None:
            return _substitute(m, sub, to_dyn)
        return DYN if to_dyn else t
    if t.params and t.kind in ("opaque", "list", "map", "type"):
        return CelType(t.kind, t.name, tuple(_substitute(m, p, to_dyn) for p in t.params))
    return t


# --- the declarations of Kubernetes' CEL environment ------------------------------------------------

# The functions of k8s.io/apiserver's StoredExpressions environment (environment.MustBaseEnvSet with
# the admission variables; cel-go v0.26), overloads in declaration order, dumped from the real
# environment with `env.Functions()`: `name G|M(global or member) arg types -> result`. Types:
# int uint double bool string bytes duration timestamp dyn null type, list(T), map(K,V), type(T),
# opt(T) (optional_type), @name a struct, %name an opaque type, one capital letter a type parameter.
_DECLARATIONS = """
!_ G bool -> bool
-_ G double -> double
-_ G int -> int
@in G A list(A) -> bool
@in G A map(A,B) -> bool
@not_strictly_false G bool -> bool
@sortByAssociatedKeys M list(T) list(int) -> list(T)
@sortByAssociatedKeys M list(T) list(uint) -> list(T)
@sortByAssociatedKeys M list(T) list(double) -> list(T)
@sortByAssociatedKeys M list(T) list(bool) -> list(T)
@sortByAssociatedKeys M list(T) list(duration) -> list(T)
@sortByAssociatedKeys M list(T) list(timestamp) -> list(T)
@sortByAssociatedKeys M list(T) list(string) -> list(T)
@sortByAssociatedKeys M list(T) list(bytes) -> list(T)
_!=_ G A A -> bool
_%_ G int int -> int
_%_ G uint uint -> uint
_&&_ G bool bool -> bool
_*_ G double double -> double
_*_ G int int -> int
_*_ G uint uint -> uint
_+_ G bytes bytes -> bytes
_+_ G double double -> double
_+_ G duration duration -> duration
_+_ G duration timestamp -> timestamp
_+_ G timestamp duration -> timestamp
_+_ G int int -> int
_+_ G list(A) list(A) -> list(A)
_+_ G string string -> string
_+_ G uint uint -> uint
_-_ G double double -> double
_-_ G duration duration -> duration
_-_ G int int -> int
_-_ G timestamp duration -> timestamp
_-_ G timestamp timestamp -> duration
_-_ G uint uint -> uint
_/_ G double double -> double
_/_ G int int -> int
_/_ G uint uint -> uint
_<=_ G bool bool -> bool
_<=_ G int int -> bool
_<=_ G int double -> bool
_<=_ G int uint -> bool
_<=_ G uint uint -> bool
_<=_ G uint double -> bool
_<=_ G uint int -> bool
_<=_ G double double -> bool
_<=_ G double int -> bool
_<=_ G double uint -> bool
_<=_ G string string -> bool
_<=_ G bytes bytes -> bool
_<=_ G timestamp timestamp -> bool
_<=_ G duration duration -> bool
_<_ G bool bool -> bool
_<_ G int int -> bool
_<_ G int double -> bool
_<_ G int uint -> bool
_<_ G uint uint -> bool
_<_ G uint double -> bool
_<_ G uint int -> bool
_<_ G double double -> bool
_<_ G double int -> bool
_<_ G double uint -> bool
_<_ G string string -> bool
_<_ G bytes bytes -> bool
_<_ G timestamp timestamp -> bool
_<_ G duration duration -> bool
_==_ G A A -> bool
_>=_ G bool bool -> bool
_>=_ G int int -> bool
_>=_ G int double -> bool
_>=_ G int uint -> bool
_>=_ G uint uint -> bool
_>=_ G uint double -> bool
_>=_ G uint int -> bool
_>=_ G double double -> bool
_>=_ G double int -> bool
_>=_ G double uint -> bool
_>=_ G string string -> bool
_>=_ G bytes bytes -> bool
_>=_ G timestamp timestamp -> bool
_>=_ G duration duration -> bool
_>_ G bool bool -> bool
_>_ G int int -> bool
_>_ G int double -> bool
_>_ G int uint -> bool
_>_ G uint uint -> bool
_>_ G uint double -> bool
_>_ G uint int -> bool
_>_ G double double -> bool
_>_ G double int -> bool
_>_ G double uint -> bool
_>_ G string string -> bool
_>_ G bytes bytes -> bool
_>_ G timestamp timestamp -> bool
_>_ G duration duration -> bool
_?._ G dyn string -> opt(V)
_?_:_ G bool A A -> A
_[?_] G list(V) int -> opt(V)
_[?_] G opt(list(V)) int -> opt(V)
_[?_] G map(K,V) K -> opt(V)
_[?_] G opt(map(K,V)) K -> opt(V)
_[_] G list(A) int -> A
_[_] G map(A,B) A -> B
_[_] G opt(list(V)) int -> opt(V)
_[_] G opt(map(K,V)) K -> opt(V)
__not_strictly_false__ G bool -> bool
_in_ G A list(A) -> bool
_in_ G A map(A,B) -> bool
_||_ G bool bool -> bool
add M @kubernetes.Quantity @kubernetes.Quantity -> @kubernetes.Quantity
add M @kubernetes.Quantity int -> @kubernetes.Quantity
allowed M @kubernetes.authorization.Decision -> bool
asApproximateFloat M @kubernetes.Quantity -> double
asInteger M @kubernetes.Quantity -> int
bool G bool -> bool
bool G string -> bool
bytes G bytes -> bytes
bytes G string -> bytes
cel.@mapInsert G map(K,V) K V -> map(K,V)
cel.@mapInsert G map(K,V) map(K,V) -> map(K,V)
charAt M string int -> string
check M @kubernetes.authorization.PathCheck string -> @kubernetes.authorization.Decision
check M @kubernetes.authorization.ResourceCheck string -> @kubernetes.authorization.Decision
cidr G string -> %net.CIDR
compareTo M @kubernetes.Quantity @kubernetes.Quantity -> int
compareTo M @kubernetes.Semver @kubernetes.Semver -> int
contains M string string -> bool
containsCIDR M %net.CIDR string -> bool
containsCIDR M %net.CIDR %net.CIDR -> bool
containsIP M %net.CIDR string -> bool
containsIP M %net.CIDR %net.IP -> bool
distinct M list(T) -> list(T)
double G double -> double
double G int -> double
double G string -> double
double G uint -> double
duration G duration -> duration
duration G int -> duration
duration G string -> duration
dyn G A -> dyn
endsWith M string string -> bool
error M @kubernetes.authorization.Decision -> string
errored M @kubernetes.authorization.Decision -> bool
family M %net.IP -> int
fieldSelector M @kubernetes.authorization.ResourceCheck string -> @kubernetes.authorization.ResourceCheck
find M string string -> string
findAll M string string -> list(string)
findAll M string string int -> list(string)
first M list(V) -> opt(V)
flatten M list(list(T)) -> list(T)
flatten M list(dyn) int -> list(dyn)
format M string list(dyn) -> string
format.byte G -> @kubernetes.NamedFormat
format.date G -> @kubernetes.NamedFormat
format.datetime G -> @kubernetes.NamedFormat
format.dns1035Label G -> @kubernetes.NamedFormat
format.dns1035LabelPrefix G -> @kubernetes.NamedFormat
format.dns1123Label G -> @kubernetes.NamedFormat
format.dns1123LabelPrefix G -> @kubernetes.NamedFormat
format.dns1123Subdomain G -> @kubernetes.NamedFormat
format.dns1123SubdomainPrefix G -> @kubernetes.NamedFormat
format.labelValue G -> @kubernetes.NamedFormat
format.named G string -> opt(@kubernetes.NamedFormat)
format.qualifiedName G -> @kubernetes.NamedFormat
format.uri G -> @kubernetes.NamedFormat
format.uuid G -> @kubernetes.NamedFormat
getDate M timestamp -> int
getDate M timestamp string -> int
getDayOfMonth M timestamp -> int
getDayOfMonth M timestamp string -> int
getDayOfWeek M timestamp -> int
getDayOfWeek M timestamp string -> int
getDayOfYear M timestamp -> int
getDayOfYear M timestamp string -> int
getEscapedPath M @kubernetes.URL -> string
getFullYear M timestamp -> int
getFullYear M timestamp string -> int
getHost M @kubernetes.URL -> string
getHostname M @kubernetes.URL -> string
getHours M timestamp -> int
getHours M timestamp string -> int
getHours M duration -> int
getMilliseconds M timestamp -> int
getMilliseconds M timestamp string -> int
getMilliseconds M duration -> int
getMinutes M timestamp -> int
getMinutes M timestamp string -> int
getMinutes M duration -> int
getMonth M timestamp -> int
getMonth M timestamp string -> int
getPort M @kubernetes.URL -> string
getQuery M @kubernetes.URL -> map(string,list(string))
getScheme M @kubernetes.URL -> string
getSeconds M timestamp -> int
getSeconds M timestamp string -> int
getSeconds M duration -> int
group M @kubernetes.authorization.Authorizer string -> @kubernetes.authorization.GroupCheck
hasValue M opt(V) -> bool
in G A list(A) -> bool
in G A map(A,B) -> bool
indexOf M list(A) A -> int
indexOf M string string -> int
indexOf M string string int -> int
int G int -> int
int G double -> int
int G duration -> int
int G string -> int
int G timestamp -> int
int G uint -> int
ip G string -> %net.IP
ip M %net.CIDR -> %net.IP
ip.isCanonical G string -> bool
isCIDR G string -> bool
isGlobalUnicast M %net.IP -> bool
isGreaterThan M @kubernetes.Quantity @kubernetes.Quantity -> bool
isGreaterThan M @kubernetes.Semver @kubernetes.Semver -> bool
isIP G string -> bool
isInteger M @kubernetes.Quantity -> bool
isLessThan M @kubernetes.Quantity @kubernetes.Quantity -> bool
isLessThan M @kubernetes.Semver @kubernetes.Semver -> bool
isLinkLocalMulticast M %net.IP -> bool
isLinkLocalUnicast M %net.IP -> bool
isLoopback M %net.IP -> bool
isQuantity G string -> bool
isSemver G string -> bool
isSemver G string bool -> bool
isSorted M list(int) -> bool
isSorted M list(uint) -> bool
isSorted M list(double) -> bool
isSorted M list(bool) -> bool
isSorted M list(duration) -> bool
isSorted M list(timestamp) -> bool
isSorted M list(string) -> bool
isSorted M list(bytes) -> bool
isURL G string -> bool
isUnspecified M %net.IP -> bool
join M list(string) -> string
join M list(string) string -> string
labelSelector M @kubernetes.authorization.ResourceCheck string -> @kubernetes.authorization.ResourceCheck
last M list(V) -> opt(V)
lastIndexOf M list(A) A -> int
lastIndexOf M string string -> int
lastIndexOf M string string int -> int
lists.range G int -> list(int)
lowerAscii M string -> string
major M @kubernetes.Semver -> int
masked M %net.CIDR -> %net.CIDR
matches G string string -> bool
matches M string string -> bool
max M list(int) -> int
max M list(uint) -> uint
max M list(double) -> double
max M list(bool) -> bool
max M list(duration) -> duration
max M list(timestamp) -> timestamp
max M list(string) -> string
max M list(bytes) -> bytes
min M list(int) -> int
min M list(uint) -> uint
min M list(double) -> double
min M list(bool) -> bool
min M list(duration) -> duration
min M list(timestamp) -> timestamp
min M list(string) -> string
min M list(bytes) -> bytes
minor M @kubernetes.Semver -> int
name M @kubernetes.authorization.ResourceCheck string -> @kubernetes.authorization.ResourceCheck
namespace M @kubernetes.authorization.ResourceCheck string -> @kubernetes.authorization.ResourceCheck
optional.none G -> opt(V)
optional.of G V -> opt(V)
optional.ofNonZeroValue G V -> opt(V)
optional.unwrap G list(opt(V)) -> list(V)
or M opt(V) opt(V) -> opt(V)
orValue M opt(V) V -> V
patch M @kubernetes.Semver -> int
path M @kubernetes.authorization.Authorizer string -> @kubernetes.authorization.PathCheck
prefixLength M %net.CIDR -> int
quantity G string -> @kubernetes.Quantity
reason M @kubernetes.authorization.Decision -> string
replace M string string string -> string
replace M string string string int -> string
resource M @kubernetes.authorization.GroupCheck string -> @kubernetes.authorization.ResourceCheck
reverse M list(T) -> list(T)
semver G string -> @kubernetes.Semver
semver G string bool -> @kubernetes.Semver
serviceAccount M @kubernetes.authorization.Authorizer string string -> @kubernetes.authorization.Authorizer
sets.contains G list(T) list(T) -> bool
sets.equivalent G list(T) list(T) -> bool
sets.intersects G list(T) list(T) -> bool
sign G @kubernetes.Quantity -> int
size G bytes -> int
size M bytes -> int
size G list(A) -> int
size M list(A) -> int
size G map(A,B) -> int
size M map(A,B) -> int
size G string -> int
size M string -> int
slice M list(T) int int -> list(T)
sort M list(int) -> list(int)
sort M list(uint) -> list(uint)
sort M list(double) -> list(double)
sort M list(bool) -> list(bool)
sort M list(duration) -> list(duration)
sort M list(timestamp) -> list(timestamp)
sort M list(string) -> list(string)
sort M list(bytes) -> list(bytes)
split M string string -> list(string)
split M string string int -> list(string)
startsWith M string string -> bool
string G string -> string
string G bool -> string
string G bytes -> string
string G double -> string
string G duration -> string
string G int -> string
string G timestamp -> string
string G uint -> string
string G %net.IP -> string
string G %net.CIDR -> string
strings.quote G string -> string
sub M @kubernetes.Quantity @kubernetes.Quantity -> @kubernetes.Quantity
sub M @kubernetes.Quantity int -> @kubernetes.Quantity
subresource M @kubernetes.authorization.ResourceCheck string -> @kubernetes.authorization.ResourceCheck
substring M string int -> string
substring M string int int -> string
sum M list(int) -> int
sum M list(uint) -> uint
sum M list(double) -> double
sum M list(duration) -> duration
timestamp G timestamp -> timestamp
timestamp G int -> timestamp
timestamp G string -> timestamp
trim M string -> string
type G A -> type(A)
uint G uint -> uint
uint G double -> uint
uint G int -> uint
uint G string -> uint
unwrapOpt M list(opt(V)) -> list(V)
upperAscii M string -> string
url G string -> @kubernetes.URL
validate M @kubernetes.NamedFormat string -> opt(list(string))
value M opt(V) -> V
"""

# Identifiers every expression may use besides the admission variables: type names, and
# `authorizer` (declared for type checking even though mlgitops cannot evaluate it).
_TYPE_IDENTS = "bool bytes double google.protobuf.Duration=duration int list=list(A) map=map(A,B) null_type=null " \
               "string google.protobuf.Timestamp=timestamp type uint"


@dataclasses.dataclass(frozen=True)
class _Overload:
    member: bool
    args: tuple[CelType, ...]
    result: CelType
    params: tuple[str, ...]  # type parameter names


_TOKEN = re.compile(r"[()@%,]|[\w.]+")


def _parse_type(text: str) -> CelType:
    tokens = _TOKEN.findall(text)
    pos = 0

    def one() -> CelType:
        nonlocal pos
        token = tokens[pos]
        pos += 1
        if token in ("@", "%"):
            name = tokens[pos]
            pos += 1
            return struct_type(name) if token == "@" else CelType("opaque", name)
        params: list[CelType] = []
        if pos < len(tokens) and tokens[pos] == "(":
            pos += 1
            while True:
                params.append(one())
                token2 = tokens[pos]
                pos += 1
                if token2 == ")":
                    break
        if token == "list":
            return list_type(params[0])
        if token == "map":
            return map_type(params[0], params[1])
        if token == "opt":
            return optional_type(params[0])
        if token == "type":
            return type_type(params[0]) if params else TYPE
        if len(token) == 1 and token.isupper():
            return type_param(token)
        return _SIMPLE[token]

    return one()


def _type_params(t: CelType, out: set[str]) -> None:
    if t.kind == "tparam":
        out.add(t.name)
    for p in t.params:
        _type_params(p, out)


def _functions() -> dict[str, list[_Overload]]:
    out: dict[str, list[_Overload]] = {}
    for line in _DECLARATIONS.strip().splitlines():
        name, style, rest = line.split(" ", 2)
        args_text, _, result_text = rest.partition("->")
        args = tuple(_parse_type(a) for a in args_text.split())
        result = _parse_type(result_text.strip())
        params: set[str] = set()
        for t in args + (result,):
            _type_params(t, params)
        out.setdefault(name, []).append(_Overload(style == "M", args, result, tuple(sorted(params))))
    return out


_FUNCTIONS = _functions()


def _type_idents() -> dict[str, CelType]:
    out = {}
    for item in _TYPE_IDENTS.split():
        name, _, spelled = item.partition("=")
        out[name] = type_type(_parse_type(spelled or name))
    out["authorizer"] = struct_type("kubernetes.authorization.Authorizer")
    return out


_GLOBAL_IDENTS = _type_idents()


# --- the admission request and namespace types (plugin/cel/compile.go) --------------------------------

def _request_type() -> CelType:
    gvk = struct_type("kubernetes.GroupVersionKind", {"group": STRING, "version": STRING, "kind": STRING})
    gvr = struct_type("kubernetes.GroupVersionResource", {"group": STRING, "version": STRING, "resource": STRING})
    user = struct_type("kubernetes.UserInfo", {"username": STRING, "uid": STRING, "groups": list_type(STRING),
                                               "extra": map_type(STRING, list_type(STRING))})
    return struct_type("kubernetes.AdmissionRequest", {
        "kind": gvk, "resource": gvr, "subResource": STRING, "requestKind": gvk, "requestResource": gvr,
        "requestSubResource": STRING, "name": STRING, "namespace": STRING, "operation": STRING, "userInfo": user,
        "dryRun": BOOL, "options": DYN})


def _namespace_type() -> CelType:
    spec = struct_type("kubernetes.NamespaceSpec", {"finalizers": list_type(STRING)})
    condition = struct_type("kubernetes.NamespaceCondition", {
        "status": STRING, "type": STRING, "lastTransitionTime": TIMESTAMP, "message": STRING, "reason": STRING})
    status = struct_type("kubernetes.NamespaceStatus", {"conditions": list_type(condition), "phase": STRING})
    metadata = struct_type("kubernetes.NamespaceMetadata", {
        "name": STRING, "generateName": STRING, "namespace": STRING, "labels": map_type(STRING, STRING),
        "annotations": map_type(STRING, STRING), "UID": STRING, "creationTimestamp": TIMESTAMP,
        "deletionGracePeriodSeconds": INT, "deletionTimestamp": TIMESTAMP, "generation": INT,
        "resourceVersion": STRING, "finalizers": list_type(STRING)})
    return struct_type("kubernetes.Namespace", {"metadata": metadata, "spec": spec, "status": status})


REQUEST_TYPE = _request_type()
NAMESPACE_TYPE = _namespace_type()


# --- OpenAPI schemas as CEL types (pkg/cel/common/schemas.go) ------------------------------------------

_RESERVED = frozenset({"true", "false", "null", "in", "as", "break", "const", "continue", "else", "for", "function",
                       "if", "import", "let", "loop", "package", "namespace", "return", "var", "void", "while"})
_ESCAPES = {"__": "__underscores__", ".": "__dot__", "-": "__dash__", "/": "__slash__"}
_ESCAPE_RE = re.compile(r"(__|[-./]|[^a-zA-Z0-9\-./_])")


def escape(name: str) -> str | None:
    """A property name as a CEL field name (apiservercel.Escape), None when it cannot be one."""
    if not name or "0" <= name[0] <= "9":
        return None
    if name in _RESERVED:
        return f"__{name}__"
    bad = False

    def replace(match: re.Match) -> str:
        nonlocal bad
        found = _ESCAPES.get(match.group(1))
        if found is None:
            bad = True
            return ""
        return found

    escaped = _ESCAPE_RE.sub(replace, name)
    return None if bad else escaped


def _types_of(schema: Any) -> list[str]:
    found = schema.get("type") if isinstance(schema, dict) else None
    if isinstance(found, str):
        return [found]
    return [t for t in found if isinstance(t, str)] if isinstance(found, list) else []


def _first_type(schema: dict) -> str:
    """Go's Type[0]; a JSON schema's ["string", "null"] is the string type."""
    return next((t for t in _types_of(schema) if t != "null"), "")


def _ref_of(schema: dict) -> str | None:
    """The definition a schema refers to ($ref, or a $ref wrapped in allOf), as resolver.refOf."""
    ref = schema.get("$ref")
    if isinstance(ref, str):
        return ref
    for part in schema.get("allOf") or ():
        if isinstance(part, dict):
            found = _ref_of(part)
            if found:
                return found
    return None


_DYN_SCHEMA = {"x-kubernetes-int-or-string": True}


class _SchemaTypes:
    """One kind's schema turned into CEL types, struct fields built when first selected."""

    def __init__(self, root: dict, defs: Mapping[str, Any]) -> None:
        self.root = root
        self.defs = defs

    def resolve(self, schema: Any, visiting: frozenset[str]) -> tuple[dict | None, frozenset[str]]:
        """The schema a $ref stands for (PopulateRefs: a ref met again on the path is an empty
        object); None when it cannot be resolved."""
        if not isinstance(schema, dict):
            return None, visiting
        ref = _ref_of(schema)
        if ref is None:
            return schema, visiting
        name = ref.rsplit("/", 1)[-1]
        if name == _INT_OR_STRING:  # Go's definition has format int-or-string; JSON schemas lost it
            return _DYN_SCHEMA, visiting
        if name in visiting:
            return {"type": "object"}, visiting
        target = self.defs.get(name)
        if not isinstance(target, dict):
            return None, visiting
        return target, visiting | {name}

    def decl(self, schema: Any, name: str, is_root: bool | None, visiting: frozenset[str]) -> CelType | None:
        s, visiting = self.resolve(schema, visiting)
        if s is None:
            return None
        if s.get("format") == "int-or-string" or s.get("x-kubernetes-int-or-string") is True:
            return DYN
        if is_root is None:
            is_root = s.get("x-kubernetes-embedded-resource") is True
        if is_root:
            s = self._with_type_and_object_meta(s, visiting)
        kind = _first_type(s)
        if kind == "array":
            items = s.get("items")
            if not isinstance(items, dict):
                return None
            elem = self.decl(items, f"{name}.@idx", None, visiting)
            return None if elem is None else list_type(elem)
        if kind == "object":
            extra = s.get("additionalProperties")
            if isinstance(extra, dict):
                value = self.decl(extra, f"{name}.@elem", None, visiting)
                return None if value is None else map_type(STRING, value)
            props = s.get("properties")
            props = props if isinstance(props, dict) else {}
            return struct_type(name, lambda: self._fields(props, name, visiting))
        if kind == "string":
            return {"byte": BYTES, "duration": DURATION, "date": TIMESTAMP, "date-time": TIMESTAMP}.get(
                s.get("format") or "", STRING)
        return {"boolean": BOOL, "number": DOUBLE, "integer": INT}.get(kind)

    def _fields(self, props: dict, name: str, visiting: frozenset[str]) -> dict[str, CelType]:
        fields: dict[str, CelType] = {}
        for prop_name, prop in props.items():
            escaped = escape(prop_name) if isinstance(prop_name, str) else None
            if escaped is None:
                continue
            found = self.decl(prop, f"{name}.{escaped}", None, visiting)
            if found is not None:
                fields[escaped] = found
        return fields

    def _with_type_and_object_meta(self, s: dict, visiting: frozenset[str]) -> dict:
        props = s.get("properties")
        if isinstance(props, dict):
            def resolved(x: Any) -> dict:
                return self.resolve(x, visiting)[0] or {}
            meta = resolved(props.get("metadata"))
            meta_props = meta.get("properties")
            if "string" in _types_of(resolved(props.get("kind"))) \
                    and "string" in _types_of(resolved(props.get("apiVersion"))) \
                    and "object" in _types_of(meta) and isinstance(meta_props, dict) \
                    and "string" in _types_of(resolved(meta_props.get("name"))) \
                    and "string" in _types_of(resolved(meta_props.get("generateName"))):
                return s
        out = dict(s)
        new_props = dict(props) if isinstance(props, dict) else {}
        new_props["kind"] = {"type": "string"}
        new_props["apiVersion"] = {"type": "string"}
        new_props["metadata"] = {"type": "object", "properties": {"name": {"type": "string"},
                                                                  "generateName": {"type": "string"}}}
        out["properties"] = new_props
        return out


def schema_type(schema: dict, type_name: str, defs: Mapping[str, Any] | None = None) -> CelType | None:
    """The CEL type of a resource's schema (SchemaDeclType(schema, isResourceRoot=true) named
    `type_name`); `$ref`s are resolved in `defs` and the schema's own `$defs`/`definitions`."""
    all_defs: dict[str, Any] = dict(defs or {})
    for key in ("definitions", "$defs"):
        if isinstance(schema.get(key), dict):
            all_defs.update(schema[key])
    return _SchemaTypes(schema, all_defs).decl(schema, type_name, True, frozenset())


def published_crd_schema(schema: dict) -> dict:
    """A custom resource's openAPIV3Schema as the API server publishes it (apiextensions
    builder.buildKubeNative): apiVersion and kind strings, metadata ObjectMeta, and the same for
    every x-kubernetes-embedded-resource. `schema` is not changed (copied where it changes)."""
    meta = {"$ref": f"#/$defs/{_OBJECT_META}"}
    type_meta = {"apiVersion": {"type": "string"}, "kind": {"type": "string"}}

    def embed(node: Any) -> Any:
        if not isinstance(node, dict):
            return node
        out = node
        props = node.get("properties")
        if isinstance(props, dict):
            new_props = {k: embed(v) for k, v in props.items()}
            if any(new_props[k] is not props[k] for k in props):
                out = {**out, "properties": new_props}
        for key in ("items", "additionalProperties"):
            child = node.get(key)
            new_child = embed(child)
            if new_child is not child:
                out = {**out, key: new_child}
        if node.get("x-kubernetes-embedded-resource") is True:
            out = {**out, "properties": {**(out.get("properties") or {}), **type_meta, "metadata": meta}}
        return out

    root = embed(schema)
    props = root.get("properties")
    return {**root, "properties": {**(props if isinstance(props, dict) else {}), **type_meta, "metadata": meta}}


# --- where schemas come from ------------------------------------------------------------------------

GVK = tuple[str, str, str]  # (group, version, kind)


def gvk_text(gvk: GVK) -> str:
    """schema.GroupVersionKind.String(): `apps/v1, Kind=Deployment`, `/v1, Kind=ConfigMap`."""
    return f"{gvk[0]}/{gvk[1]}, Kind={gvk[2]}"


def _api_version(group: str, version: str) -> str:
    return f"{group}/{version}" if group else version


class SchemaSource:
    """The schemas the type checker uses, and which kinds a resource name stands for.

    `lookup(api_version, kind)` returns a JSON schema (a core kind of kubernetes-validate with its
    `$defs`, or a custom resource's schema as `mlgitops validate` finds it) or None. `resources`
    adds (group, plural resource) -> kind pairs to the table policy/match.py knows. `core_defs`
    are the definitions a custom resource's metadata refers to (ObjectMeta and what it uses);
    by default those of kubernetes-validate's `kubernetes_version`. Types are built once per kind."""

    def __init__(self, lookup: Callable[[str, str], dict | None], *,
                 resources: Mapping[tuple[str, str], str] | None = None,
                 core_defs: Mapping[str, Any] | None = None, kubernetes_version: str = "1.36.0") -> None:
        self._lookup = lookup
        self._resources: dict[tuple[str, str], list[str]] = {}
        for (group, kind_map) in _known_resources().items():
            for kind, resource in kind_map.items():
                self._resources.setdefault((group, resource), []).append(kind)
        for (group, resource), kind in (resources or {}).items():
            kinds = self._resources.setdefault((group, resource), [])
            if kind not in kinds:
                kinds.append(kind)
        self._core_defs = core_defs
        self.kubernetes_version = kubernetes_version
        self._types: dict[GVK, CelType | None | bool] = {}

    @classmethod
    def from_registry(cls, registry: Any, *, resources: Mapping[tuple[str, str], str] | None = None
                      ) -> "SchemaSource":
        """The schemas `mlgitops validate` uses (a validate.registry.SchemaRegistry): its lookup
        order, core kinds of its Kubernetes version. A schema it fails to read is not used."""
        def lookup(api_version: str, kind: str) -> dict | None:
            found = registry.lookup(api_version, kind)
            return found.schema if found.error is None else None
        return cls(lookup, resources=resources, kubernetes_version=registry.kubernetes_version)

    @classmethod
    def from_crds(cls, crds: Iterable[dict], *, kubernetes_version: str = "1.36.0",
                  core: bool = True) -> "SchemaSource":
        """Core kinds from kubernetes-validate (unless `core` is False) and the served versions of
        the given CustomResourceDefinitions (with their plural names)."""
        schemas: dict[tuple[str, str], dict] = {}
        resources: dict[tuple[str, str], str] = {}
        for crd in crds:
            spec = crd.get("spec") if isinstance(crd, dict) else None
            if not isinstance(spec, dict):
                continue
            group, names = spec.get("group", ""), spec.get("names") or {}
            resources[(group, names.get("plural", ""))] = names.get("kind", "")
            for version in spec.get("versions") or ():
                schema = ((version.get("schema") or {}).get("openAPIV3Schema"))
                if version.get("served", True) and isinstance(schema, dict):
                    schemas[(f"{group}/{version['name']}", names.get("kind", ""))] = schema

        def lookup(api_version: str, kind: str) -> dict | None:
            found = schemas.get((api_version, kind))
            if found is not None:
                return found
            return _core_schema(kubernetes_version, api_version, kind) if core else None
        return cls(lookup, resources=resources, kubernetes_version=kubernetes_version)

    def kinds_for(self, group: str, version: str, resource: str) -> list[str]:
        """The kinds a resource name of a group stands for (the RESTMapper's KindsFor)."""
        return list(self._resources.get((group, resource.lower()), ()))

    def object_type(self, gvk: GVK) -> CelType | None | bool:
        """The CEL type of a kind; False when no schema is found (the kind is not checked), None
        when its schema has no CEL type (object is then dyn)."""
        if gvk not in self._types:
            self._types[gvk] = self._build(gvk)
        return self._types[gvk]

    def _build(self, gvk: GVK) -> CelType | None | bool:
        group, version, kind = gvk
        try:
            schema = self._lookup(_api_version(group, version), kind)
        except (OSError, ValueError):  # a schema that cannot be read is a schema not found
            schema = None
        if not isinstance(schema, dict):
            return False
        defs: dict[str, Any] = {}
        if "x-kubernetes-group-version-kind" not in schema:  # a custom resource: publish it as the server does
            schema = published_crd_schema(schema)
            defs = dict(self._meta_defs())
        return schema_type(schema, kind, defs)

    def _meta_defs(self) -> Mapping[str, Any]:
        if self._core_defs is None:
            core = _core_schema(self.kubernetes_version, *_CORE_META_KIND) or {}
            self._core_defs = core.get("$defs") or {}
        return self._core_defs


def _core_schema(version: str, api_version: str, kind: str) -> dict | None:
    from ..validate import k8sschemas

    try:
        return k8sschemas.standalone(version, False, api_version, kind)
    except (OSError, ValueError):
        return None


def _known_resources() -> dict[str, dict[str, str]]:
    """policy/match.py's (group -> kind -> plural resource) table."""
    from . import match

    table = getattr(match, "_RESOURCES", None)
    return table if isinstance(table, dict) else {}


# --- the checker (cel-go checker/checker.go) -------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class CheckError:
    offset: int | None  # code-point offset in the expression
    message: str


class _Checker:
    def __init__(self, idents: Mapping[str, CelType]) -> None:
        self.scopes: list[dict[str, CelType]] = [dict(idents)]
        self.types: dict[int, CelType] = {}
        self.mappings: Mapping_ = {}
        self.counter = 0
        self.errors: list[CheckError] = []

    # helpers
    def error(self, node: Node, message: str) -> None:
        self.errors.append(CheckError(node.offset, message))

    def mismatch(self, node: Node, expected: CelType, actual: CelType) -> None:
        self.error(node, f"expected type '{format_type(expected)}' but found '{format_type(actual)}'")

    def type_of(self, node: Node) -> CelType:
        return self.types.get(id(node), DYN)

    def set_type(self, node: Node, t: CelType) -> None:
        self.types[id(node)] = t

    def lookup(self, name: str) -> CelType | None:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        return None

    def new_var(self) -> CelType:
        t = type_param(f"_var{self.counter}")
        self.counter += 1
        return t

    def assignable(self, t1: CelType, t2: CelType) -> bool:
        m = dict(self.mappings)
        if _internal_assignable(m, t1, t2):
            self.mappings = m
            return True
        return False

    def assignable_list(self, l1: list[CelType], l2: list[CelType]) -> bool:
        m = dict(self.mappings)
        if _internal_assignable_list(m, l1, l2):
            self.mappings = m
            return True
        return False

    # the walk
    def check(self, node: Node) -> None:
        kind = node.kind
        if kind == "const":
            self.set_type(node, {"null": NULL, "bool": BOOL, "int": INT, "uint": UINT, "double": DOUBLE,
                                 "string": STRING, "bytes": BYTES}.get(node.const_kind, DYN))
        elif kind == "ident":
            found = self.lookup(node.name)
            if found is None:
                self.set_type(node, ERROR)
                self.error(node, f"undeclared reference to '{node.name}' (in container '')")
            else:
                self.set_type(node, found)
        elif kind == "select":
            self.check_select(node)
        elif kind == "call":
            self.check_call(node)
        elif kind == "list":
            self.check_list(node)
        elif kind == "struct":
            self.check_struct(node)
        elif kind == "comprehension":
            self.check_comprehension(node)
        else:
            self.set_type(node, DYN)

    def check_select(self, node: Node) -> None:
        qualified = _qualified_name(node)
        if qualified is not None:
            found = self.lookup(qualified)
            if found is not None:
                self.set_type(node, found)
                return
        result = self.select_field(node, node.children[0], node.name, False)
        if node.test_only:
            result = BOOL
        self.set_type(node, _substitute(self.mappings, result, False))

    def select_field(self, node: Node, operand: Node, field: str, optional: bool) -> CelType:
        self.check(operand)
        operand_type = _substitute(self.mappings, self.type_of(operand), False)
        target, is_opt = _unwrap_optional(operand_type)
        result = ERROR
        if target.kind == "map":
            result = target.params[1]
        elif target.kind == "struct":
            fields = target.fields
            found = fields.get(field)
            if found is None and field in _RESERVED:
                found = fields.get(f"__{field}__")
            if found is None:
                self.error(node, f"undefined field '{field}'")
            else:
                result = found
        elif target.kind == "tparam":
            self.assignable(DYN, target)
            result = DYN
        else:
            if not _is_dyn_or_error(target):
                self.error(node, f"type '{format_type(target)}' does not support field selection")
            result = DYN
        if is_opt or optional:
            return optional_type(result)
        return result

    def check_call(self, node: Node) -> None:
        name = node.name
        if name == "_?._":
            self.check_opt_select(node)
            return
        target = node.children[0] if node.member else None
        args = list(node.children[1:] if node.member else node.children)
        for arg in args:
            self.check(arg)
        if target is not None:
            self.check(target)
        overloads = _FUNCTIONS.get(name)
        if overloads is None:
            self.set_type(node, ERROR)
            self.error(node, f"undeclared reference to '{name}' (in container '')")
            return
        result = self.resolve(node, name, overloads, target, args)
        self.set_type(node, ERROR if result is None else result)

    def resolve(self, node: Node, name: str, overloads: list[_Overload], target: Node | None,
                args: list[Node]) -> CelType | None:
        arg_types = ([self.type_of(target)] if target is not None else []) + [self.type_of(a) for a in args]
        result: CelType | None = None
        for overload in overloads:
            if (target is None) == overload.member:
                continue
            if name in ("_&&_", "_||_"):
                failed = False
                for i, arg_type in enumerate(arg_types):
                    if not self.assignable(arg_type, BOOL):
                        self.mismatch(args[i], BOOL, arg_type)
                        failed = True
                return None if failed else BOOL
            if overload.params:  # fresh type variables (cel-go takes the parameters in map order)
                params = {p: self.new_var() for p in overload.params}
                if len(overload.args) != len(arg_types):
                    continue
                candidates = [_substitute(params, a, False) for a in overload.args]
                result_type = _substitute(params, overload.result, False)
            elif len(overload.args) != len(arg_types):
                continue
            else:
                candidates, result_type = list(overload.args), overload.result
            if self.assignable_list(arg_types, candidates):
                found = _substitute(self.mappings, result_type, False)
                if result is None:
                    result = found
                elif not _is_dyn(result) and not _exact(found, result):
                    result = DYN
        if result is None:
            shown = [_substitute(self.mappings, t, True) for t in arg_types]
            if target is not None:
                signature = f"{format_type(shown[0])}.({', '.join(format_type(t) for t in shown[1:])})"
            else:
                signature = f"({', '.join(format_type(t) for t in shown)})"
            self.error(node, f"found no matching overload for '{name}' applied to '{signature}'")
            return None
        return result

    def check_opt_select(self, node: Node) -> None:
        if len(node.children) != 2 or node.member:
            self.error(node, f"unsupported optional field selection: incorrect signature. argument count: "
                             f"{len(node.children)}")
            self.set_type(node, ERROR)
            return
        operand, field = node.children
        if field.kind != "const" or field.text is None:
            self.error(field, "unsupported optional field selection")
            self.set_type(node, ERROR)
            return
        result = self.select_field(node, operand, field.text, True)
        self.set_type(node, _substitute(self.mappings, result, False))

    def join(self, node: Node, previous: CelType | None, current: CelType) -> CelType:
        """joinTypes: the most general of two element types, dyn when they disagree (Kubernetes'
        HomogeneousAggregateLiterals is the validator of `validate`, not the checker's option)."""
        if previous is None:
            return current
        if self.assignable(previous, current):
            return _most_general(previous, current)
        return DYN

    def check_list(self, node: Node) -> None:
        elems: CelType | None = None
        for i, element in enumerate(node.children):
            self.check(element)
            elem_type = self.type_of(element)
            if i in node.optional:
                elem_type, is_opt = _unwrap_optional(elem_type)
                if not is_opt and not _is_dyn(elem_type):
                    self.mismatch(element, optional_type(elem_type), elem_type)
            elems = self.join(element, elems, elem_type)
        self.set_type(node, list_type(elems if elems is not None else self.new_var()))

    def check_struct(self, node: Node) -> None:
        if node.name:  # a message literal: Kubernetes declares no message types
            self.error(node, f"undeclared reference to '{node.name}' (in container '')")
            self.set_type(node, ERROR)
            return
        key_type: CelType | None = None
        value_type: CelType | None = None
        for i, entry in enumerate(node.children):
            if len(entry.children) != 2:
                continue
            key, value = entry.children
            self.check(key)
            key_type = self.join(key, key_type, self.type_of(key))
            self.check(value)
            vt = self.type_of(value)
            if i in node.optional:
                vt, is_opt = _unwrap_optional(vt)
                if not is_opt and not _is_dyn(vt):
                    self.mismatch(value, optional_type(vt), vt)
            value_type = self.join(value, value_type, vt)
        if key_type is None or value_type is None:
            key_type, value_type = self.new_var(), self.new_var()
        self.set_type(node, map_type(key_type, value_type))

    def check_comprehension(self, node: Node) -> None:
        iter_range, accu_init, condition, step, result = node.children
        iter_var, accu_var, iter_var2 = node.vars
        self.check(iter_range)
        self.check(accu_init)
        range_type = _substitute(self.mappings, self.type_of(iter_range), False)
        accu_type = self.type_of(accu_init)
        self.scopes.append({accu_var: accu_type})
        var2: CelType | None = None
        if range_type.kind == "list":
            var = range_type.params[0]
            if iter_var2:
                var, var2 = INT, var
        elif range_type.kind == "map":
            var = range_type.params[0]
            if iter_var2:
                var2 = range_type.params[1]
        elif range_type.kind in ("dyn", "error", "tparam"):
            self.assignable(DYN, range_type)
            var = DYN
            var2 = DYN if iter_var2 else None
        else:
            self.error(iter_range, f"expression of type '{format_type(range_type)}' cannot be range of a "
                                   "comprehension (must be list, map, or dynamic)")
            var = ERROR
            var2 = ERROR if iter_var2 else None
        loop = {iter_var: var}
        if iter_var2 and var2 is not None:
            loop[iter_var2] = var2
        self.scopes.append(loop)
        self.check(condition)
        if not self.assignable(BOOL, self.type_of(condition)):
            self.mismatch(condition, BOOL, self.type_of(condition))
        self.check(step)
        if not self.assignable(accu_type, self.type_of(step)):
            self.mismatch(step, accu_type, self.type_of(step))
        self.scopes.pop()
        self.check(result)
        self.scopes.pop()
        self.set_type(node, _substitute(self.mappings, self.type_of(result), False))

    def output_type(self, root: Node) -> CelType:
        return _substitute(self.mappings, self.type_of(root), True)

    def validate(self, node: Node, exempt: bool = False) -> None:
        """cel-go's homogeneous aggregate literal validator (run when the check found no error): the
        elements of a list literal, the keys and the values of a map literal, must have the same
        type (checked types, so dyn and int differ), except under a call of `format`."""
        exempt = exempt or (node.kind == "call" and node.name == "format")
        for child in node.children:
            if node.kind == "struct":  # an entry: [key, value]
                for part in child.children:
                    self.validate(part, exempt)
            else:
                self.validate(child, exempt)
        if exempt or node.kind not in ("list", "struct") or node.name:
            return
        if node.kind == "list":
            first: CelType | None = None
            for i, element in enumerate(node.children):
                t = self.final_type(element, i in node.optional)
                if first is None:
                    first = t
                elif not _exact(first, t):
                    self.mismatch(element, first, t)
                    break
            return
        key_type: CelType | None = None
        value_type: CelType | None = None
        for i, entry in enumerate(node.children):
            if len(entry.children) != 2:
                continue
            key, value = entry.children
            kt, vt = self.final_type(key, False), self.final_type(value, i in node.optional)
            if key_type is None or value_type is None:
                key_type, value_type = kt, vt
                continue
            if not _exact(key_type, kt):
                self.mismatch(key, key_type, kt)
            if not _exact(value_type, vt):
                self.mismatch(value, value_type, vt)

    def validate_formats(self, node: Node) -> None:
        """cel-go's string format validator (ext/formatting.go, strings library v2): for
        `'literal'.format([list literal])`, each clause's argument must have a type the clause takes."""
        for child in node.children:
            self.validate_formats(child)
        if node.kind != "call" or node.name != "format" or not node.member or len(node.children) != 2:
            return
        target, args = node.children
        if target.kind != "const" or target.const_kind != "string" or target.text is None or args.kind != "list":
            return
        failed = _format_problem(target.text, args.children, self.final_type)
        if failed is not None:
            self.errors.append(CheckError((failed[0] or node).offset, failed[1]))
        requested = _format_arguments(target.text)
        if failed is None and requested is not None and len(args.children) > requested:
            self.error(node, "too many arguments supplied to string.format "
                             f"(expected {requested}, got {len(args.children)})")

    def final_type(self, node: Node, optional: bool) -> CelType:
        t = _substitute(self.mappings, self.type_of(node), True)
        return t.params[0] if optional and t.params else t


_FORMAT_KINDS = {
    "s": ("list", "map", "int", "uint", "double", "bool", "string", "timestamp", "bytes", "duration", "type", "null"),
    "d": ("int", "uint"), "o": ("int", "uint"), "f": ("double", "string"), "e": ("double", "string"),
    "b": ("int", "uint", "bool"), "x": ("int", "uint", "string", "bytes"), "X": ("int", "uint", "string", "bytes"),
}
_FORMAT_ERRORS = {
    "s": "string clause can only be used on strings, bools, bytes, ints, doubles, maps, lists, types, durations, "
         "and timestamps, was given %s",
    "d": "decimal clause can only be used on integers, was given %s",
    "o": "octal clause can only be used on integers, was given %s",
    "f": "fixed-point clause can only be used on doubles, was given %s",
    "e": "scientific clause can only be used on doubles, was given %s",
    "b": "only integers and bools can be formatted as binary, was given %s",
    "x": "only integers, byte buffers, and strings can be formatted as hex, was given %s",
    "X": "only integers, byte buffers, and strings can be formatted as hex, was given %s",
}


def _format_clauses(text: str) -> Iterable[tuple[int, str | None, str | None]]:
    """(argument index, verb, parse error) of each clause of a format string, as parseFormatString
    reads it; stops after an error."""
    i, index = 0, 0
    while i < len(text):
        if text[i] != "%":
            i += 1
            continue
        if i + 1 < len(text) and text[i + 1] == "%":
            i += 2
            continue
        if i + 1 >= len(text):
            yield index, None, "unexpected end of string"
            return
        j = i + 1
        if text[j] == ".":
            j += 1
            while j < len(text) and text[j].isascii() and text[j].isdigit():
                j += 1
            if j >= len(text):
                yield index, None, ("could not parse formatting clause: error while parsing precision: "
                                    "could not find end of precision specifier")
                return
            if j == i + 2:
                yield index, None, ("could not parse formatting clause: error while parsing precision: error while "
                                    'converting precision to integer: strconv.Atoi: parsing "": invalid syntax')
                return
        verb = text[j]
        if verb not in _FORMAT_KINDS:
            yield index, None, f'could not parse formatting clause: unrecognized formatting clause "{verb}"'
            return
        yield index, verb, None
        i, index = j + 1, index + 1


def _format_arguments(text: str) -> int | None:
    """How many arguments the format string reads (None when it does not parse)."""
    count = 0
    for _, verb, problem in _format_clauses(text):
        if problem is not None:
            return None
        count += 1
    return count


def _format_problem(text: str, args: tuple[Node, ...], type_of: Callable[[Node, bool], CelType]
                    ) -> tuple[Node | None, str] | None:
    """(the argument to blame, or None for the call; message) of the first bad clause."""
    for index, verb, problem in _format_clauses(text):
        if problem is None and index >= len(args):
            problem = f"index {index} out of range"
        if problem is not None:
            return None, problem
        assert verb is not None
        arg = args[index]
        bad = _format_bad_arg(arg, _FORMAT_KINDS[verb], verb == "s", type_of)
        if bad is not None:
            message = _FORMAT_ERRORS[verb] % type_of(bad, False).name
            return bad, f"error during formatting: {message}"
    return None


def _format_bad_arg(arg: Node, kinds: tuple[str, ...], nested: bool,
                    type_of: Callable[[Node, bool], CelType]) -> Node | None:
    t = type_of(arg, False)
    if t.kind != "dyn" and t.kind not in kinds:
        return arg
    if nested and arg.kind == "list":
        for element in arg.children:
            bad = _format_bad_arg(element, kinds, True, type_of)
            if bad is not None:
                return bad
    if nested and arg.kind == "struct" and not arg.name:
        for entry in arg.children:
            for part in entry.children:
                bad = _format_bad_arg(part, kinds, True, type_of)
                if bad is not None:
                    return bad
    return None


def _qualified_name(node: Node) -> str | None:
    if node.kind == "ident":
        return node.name
    if node.kind == "select" and not node.test_only and node.children:
        inner = _qualified_name(node.children[0])
        return None if inner is None else f"{inner}.{node.name}"
    return None


def check_expression(tree: Node, idents: Mapping[str, CelType]) -> tuple[list[CheckError], CelType]:
    """Type-check one expression with these identifiers (besides the type names): its errors in
    source order and its output type (dyn where unknown)."""
    checker = _Checker({**_GLOBAL_IDENTS, **idents})
    checker.check(tree)
    if not checker.errors:
        checker.validate(tree)
        checker.validate_formats(tree)
    return checker.errors, checker.output_type(tree)


def variable_type(t: CelType | None) -> CelType:
    """convertCelTypeToDeclType: what `variables.<name>` is typed as."""
    if t is None:
        return DYN
    if t.kind in ("any", "bool", "bytes", "double", "duration", "int", "null", "string", "timestamp", "uint"):
        return t
    if t.kind == "list":
        return list_type(variable_type(t.params[0]))
    if t.kind == "map":
        return map_type(variable_type(t.params[0]), variable_type(t.params[1]))
    return DYN


# --- policies ---------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class TypeWarning:
    """One type-checking error of one expression for one kind, as kube-controller-manager reports it."""

    field_ref: str  # e.g. "spec.validations[0].expression"
    gvk: str  # "apps/v1, Kind=Deployment"
    offset: int | None  # 0-based code-point offset in the expression (None: unknown)
    message: str  # e.g. "undefined field 'replicaz'"
    expression: str = dataclasses.field(default="", repr=False)

    @property
    def path(self) -> tuple[str | int, ...]:
        """field_ref as a document path: ("spec", "validations", 0, "expression")."""
        return tuple(int(p) if p.isdigit() else p for p in re.split(r"[.\[\]]+", self.field_ref) if p)

    @property
    def line_column(self) -> tuple[int, int]:
        """1-based line and column, as in the message ("<input>:1:16"); (-1, 0) when unknown."""
        if self.offset is None or self.offset < 0:
            return -1, 0
        before = self.expression[: self.offset]
        return before.count("\n") + 1, self.offset - (before.rfind("\n") + 1) + 1

    def text(self) -> str:
        """`ERROR: <input>:L:C: message` with the source line and a caret, as cel-go prints it."""
        line, column = self.line_column
        out = f"ERROR: <input>:{line}:{column}: {self.message}"
        if line < 1:
            return out
        source = self.expression.split("\n")[line - 1].replace("\t", " ")
        if len(source) > 16384:
            return out
        marker = "".join("\uff0e" if len(ch.encode()) > 1 else "." for ch in source[: column - 1])
        caret = "\uff3e" if column - 1 < len(source) and len(source[column - 1].encode()) > 1 else "^"
        return f"{out}\n | {source}\n | {marker}{caret}"


def _parse_group_version(text: Any) -> tuple[str, str] | None:
    if not isinstance(text, str):
        return None
    if text == "":
        return "", ""
    parts = text.split("/")
    if len(parts) == 1:
        return "", parts[0]
    if len(parts) == 2:
        return parts[0], parts[1]
    return None


def kinds_to_check(policy: dict, schemas: SchemaSource) -> list[GVK]:
    """typesToCheck: the kinds with a schema that the policy's resourceRules name without
    wildcards, sorted by group, version and kind, at most MAX_TYPES_TO_CHECK."""
    spec = policy.get("spec") if isinstance(policy, dict) else None
    constraints = spec.get("matchConstraints") if isinstance(spec, dict) else None
    rules = constraints.get("resourceRules") if isinstance(constraints, dict) else None
    if not isinstance(rules, list):
        return []
    found: list[GVK] = []
    count = 0
    for rule in rules:
        if not isinstance(rule, dict):
            continue
        groups = [g for g in rule.get("apiGroups") or () if isinstance(g, str)]
        versions = [v for v in rule.get("apiVersions") or () if isinstance(v, str)]
        if any("*" in g for g in groups) or any("*" in v for v in versions):
            continue
        resources = [r for r in rule.get("resources") or () if isinstance(r, str) and not set(r) & {"*", "/"}]
        if not groups or not versions or not resources:
            continue
        for group in sorted(groups):
            for version in sorted(versions):
                for resource in sorted(resources):
                    for kind in schemas.kinds_for(group, version, resource):
                        if schemas.object_type((group, version, kind)) is False:
                            continue  # not served here, or no schema: not checked
                        if (group, version, kind) not in found:
                            found.append((group, version, kind))
                        count += 1
                        if count == MAX_TYPES_TO_CHECK:
                            return sorted(found)
    return sorted(found)


def _param_gvk(spec: dict) -> GVK | None:
    kind = spec.get("paramKind")
    if not isinstance(kind, dict):
        return None
    gv = _parse_group_version(kind.get("apiVersion", ""))
    if gv is None:
        return None
    name = kind.get("kind")
    name = name if isinstance(name, str) else ""
    if gv == ("", "") and not name:
        return None
    return gv[0], gv[1], name


TreeOf = Callable[[str], Node | None]


def _default_tree(text: str) -> Node | None:
    from .cel import CelError, compile_expression

    try:
        return compile_expression(text, check_cost=False).tree
    except CelError:
        return None


def check_policy(policy: dict, schemas: SchemaSource, trees: Mapping[str, Node] | TreeOf | None = None
                 ) -> list[TypeWarning]:
    """What kube-controller-manager's type checker reports for a ValidatingAdmissionPolicy (a dict
    as in the YAML): one TypeWarning per error, per kind checked, per validation expression or
    messageExpression, in the order of status.typeChecking.expressionWarnings.

    `trees` gives the decoded checked tree of an expression text (a mapping, e.g. built from
    load.py's `Expression.program.tree`, or a function); by default expressions are compiled here
    (cached). An expression that does not compile locally is skipped: load.py reports it. Cost:
    the kinds' types are built once per SchemaSource; each expression is walked once per kind."""
    spec = policy.get("spec") if isinstance(policy, dict) else None
    if not isinstance(spec, dict):
        return []
    tree_of = _tree_getter(trees)
    checked: list[tuple[GVK, CelType | None]] = []
    for gvk in kinds_to_check(policy, schemas):
        found = schemas.object_type(gvk)
        checked.append((gvk, found if isinstance(found, CelType) else None))
    if not checked:
        return []
    param_gvk = _param_gvk(spec)
    params: CelType | None = None
    if param_gvk is not None:
        found = schemas.object_type(param_gvk)
        params = found if isinstance(found, CelType) else None
    variables = [v for v in spec.get("variables") or () if isinstance(v, dict)]
    validations = spec.get("validations") or []
    warnings: list[TypeWarning] = []
    per_kind: list[tuple[GVK, dict[str, CelType]]] = []
    for gvk, object_t in checked:
        idents: dict[str, CelType] = {"namespaceObject": NAMESPACE_TYPE, "request": REQUEST_TYPE,
                                      "object": object_t or DYN, "oldObject": object_t or DYN}
        if param_gvk is not None:
            idents["params"] = params or DYN
        fields: dict[str, CelType] = {}
        idents["variables"] = struct_type("kubernetes.variables", fields)
        for variable in variables:
            name, text = variable.get("name"), variable.get("expression")
            if not isinstance(name, str):
                continue
            tree = tree_of(text) if isinstance(text, str) else None
            output = None
            if tree is not None:
                errors, out = check_expression(tree, idents)
                output = None if errors else out
            fields[name] = variable_type(output)
        per_kind.append((gvk, idents))
    for i, validation in enumerate(validations if isinstance(validations, list) else []):
        if not isinstance(validation, dict):
            continue
        for key in ("expression", "messageExpression"):
            text = validation.get(key)
            if not isinstance(text, str) or not text or (key == "expression" and not text.strip()):
                continue
            tree = tree_of(text)
            if tree is None:
                continue
            for gvk, idents in per_kind:
                errors, _ = check_expression(tree, idents)
                for error in _sorted(errors, text):
                    warnings.append(TypeWarning(f"spec.validations[{i}].{key}", gvk_text(gvk), error.offset,
                                                error.message, text))
    return warnings


def _sorted(errors: list[CheckError], text: str) -> list[CheckError]:
    """In the order cel-go prints them: by line, then column (stable)."""
    def key(error: CheckError) -> tuple[int, int]:
        warning = TypeWarning("", "", error.offset, "", text)
        return warning.line_column
    return sorted(errors, key=key)


def _tree_getter(trees: Mapping[str, Node] | TreeOf | None) -> TreeOf:
    if trees is None:
        return _default_tree
    if callable(trees):
        return trees
    known = trees

    def get(text: str) -> Node | None:
        found = known.get(text)
        return found if found is not None else _default_tree(text)
    return get


def expression_warnings(policy: dict, schemas: SchemaSource, trees: Mapping[str, Node] | TreeOf | None = None
                        ) -> list[dict[str, str]]:
    """status.typeChecking.expressionWarnings as kube-controller-manager writes them:
    [{"fieldRef": "spec.validations[0].expression", "warning": "apps/v1, Kind=Deployment: ERROR: ..."}]
    (object type names without Kubernetes' timestamp suffix)."""
    grouped: dict[str, dict[str, list[str]]] = {}
    for warning in check_policy(policy, schemas, trees):
        grouped.setdefault(warning.field_ref, {}).setdefault(warning.gvk, []).append(warning.text())
    out = []
    for field_ref, by_kind in grouped.items():
        blocks = [f"{gvk}: " + "\n".join(texts) + "\n" for gvk, texts in by_kind.items()]
        out.append({"fieldRef": field_ref, "warning": "\n".join(blocks)})
    return out


# --- what the API server refuses when the policy is created --------------------------------------------

def type_string(t: CelType) -> str:
    """cel-go's Type.String(), as in "must evaluate to bool but got google.protobuf.Timestamp"."""
    if t.kind == "tparam":
        return f"<{t.name}>"
    if not t.params:
        return t.name
    return f"{t.name}({', '.join(type_string(p) for p in t.params)})"


def _bind_errors(node: Node, text: str) -> list[CheckError]:
    """cel.bind() (expanded by cel-expr-python) does not exist in Kubernetes: the server's first
    error is the undeclared `cel` before each one."""
    out = []
    if node.kind == "comprehension" and node.vars[0] == "#unused" and node.offset is not None:
        start = text.rfind("cel", 0, node.offset)
        out.append(CheckError(start if start >= 0 else node.offset, "undeclared reference to 'cel' (in container '')"))
    for child in node.children:
        out += _bind_errors(child, text)
    return out


def creation_errors(policy: dict, trees: Mapping[str, Node] | TreeOf | None = None) -> list[TypeWarning]:
    """What the API server refuses in the policy's CEL when it is created (ValidateValidatingAdmissionPolicy
    compiles every expression with object, oldObject and params untyped): type errors (`request`,
    `namespaceObject` and `variables.<name>` are typed; `params` exists only with a paramKind,
    `variables` only when the policy has some and not in matchConditions, `authorizer` not in a
    messageExpression), result types (a validation or matchCondition must be exactly bool, a
    messageExpression a string, an audit annotation a string or null: "must evaluate to bool but
    got dyn", offset None), and cel.bind, which Kubernetes does not have. gvk is "". Expressions
    that do not compile locally are skipped (load.py reports them)."""
    spec = policy.get("spec") if isinstance(policy, dict) else None
    if not isinstance(spec, dict):
        return []
    tree_of = _tree_getter(trees)
    base: dict[str, CelType] = {"object": DYN, "oldObject": DYN, "request": REQUEST_TYPE,
                                "namespaceObject": NAMESPACE_TYPE}
    if isinstance(spec.get("paramKind"), dict):
        base["params"] = DYN
    variables = [v for v in spec.get("variables") or () if isinstance(v, dict)]
    fields: dict[str, CelType] = {}
    composited = dict(base, variables=struct_type("kubernetes.variables", fields)) if variables else dict(base)
    out: list[TypeWarning] = []

    def check(field_ref: str, text: Any, idents: dict[str, CelType], want: tuple[CelType, ...],
              without_authorizer: bool = False) -> CelType | None:
        if not isinstance(text, str) or not text.strip():
            return None
        tree = tree_of(text)
        if tree is None:
            return None
        declared = {**_GLOBAL_IDENTS, **idents}
        if without_authorizer:
            del declared["authorizer"]
        checker = _Checker(declared)
        checker.check(tree)
        if not checker.errors:
            checker.validate(tree)
            checker.validate_formats(tree)
        errors = checker.errors + _bind_errors(tree, text)
        for error in _sorted(errors, text):
            out.append(TypeWarning(field_ref, "", error.offset, error.message, text))
        if errors:
            return None
        output = checker.output_type(tree)
        if want and not any(_exact(output, w) for w in want):
            wanted = type_string(want[0]) if len(want) == 1 else f"[{' '.join(type_string(w) for w in want)}]"
            out.append(TypeWarning(field_ref, "", None, f"must evaluate to {'one of ' if len(want) > 1 else ''}"
                                                        f"{wanted} but got {type_string(output)}", text))
        return output

    for i, condition in enumerate(spec.get("matchConditions") or ()):
        if isinstance(condition, dict):
            check(f"spec.matchConditions[{i}].expression", condition.get("expression"), dict(base), (BOOL,))
    for i, variable in enumerate(variables):
        output = check(f"spec.variables[{i}].expression", variable.get("expression"), composited, ())
        if isinstance(variable.get("name"), str):
            fields[variable["name"]] = variable_type(output)
    for i, validation in enumerate(spec.get("validations") or ()):
        if isinstance(validation, dict):
            check(f"spec.validations[{i}].expression", validation.get("expression"), composited, (BOOL,))
            check(f"spec.validations[{i}].messageExpression", validation.get("messageExpression"), composited,
                  (STRING,), without_authorizer=True)
    for i, annotation in enumerate(spec.get("auditAnnotations") or ()):
        if isinstance(annotation, dict):
            check(f"spec.auditAnnotations[{i}].valueExpression", annotation.get("valueExpression"), composited,
                  (STRING, NULL))
    return out
