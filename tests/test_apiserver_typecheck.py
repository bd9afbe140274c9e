"""policy/typecheck.py against the real type checker: kube-controller-manager v1.36.3's
validatingadmissionpolicy-status-controller, which writes status.typeChecking.

A seeded generator writes ValidatingAdmissionPolicies over the kinds mlgitops generates: boolean
expressions that select fields of `object` along the kinds' schemas (through lists, maps,
comprehensions, has(), optional selection), compare them with literals and call functions on them,
and as many mutated ones (misspelt fields, literals of the wrong type, lists used as maps and the
reverse, string functions on numbers, ...), plus variables, messageExpressions, params typed by a
ConfigMap, `request` and `namespaceObject`. Every expression is valid with an untyped object (the
API server refuses the policy otherwise). The policies are created for real, the controller's
warnings are read back once it has observed them, and each (fieldRef, kind, line, column, message)
must be what typecheck.py reports: 100% agreement. A custom resource with the corners of the
schema conversion (test_policy_typecheck's Widget) is installed and checked the same way. The
policies of policies/ go through both too, and what the server says about them is printed.
typecheck.creation_errors is compared with the API server's refusals of policies (dry-run creates),
and typecheck._DECLARATIONS with the environment of k8s.io/apiserver (when Go is installed).

Object type names carry a timestamp in Kubernetes (`Deployment123456789.spec`); it is removed
before comparing.
"""

from __future__ import annotations

import copy
import functools
import os
import random
import re
import subprocess
import time
from typing import Any, Callable

import pytest
import yaml

from kubeapi import CRD_FILES
from mlgitops.policy import typecheck as tc
from mlgitops.policy.cel import CelError, compile_expression
from mlgitops.validate import k8sschemas
from tooling import REPO_ROOT, SHARED_ROOT
from yamldocs import documents

K8S_SCHEMAS = "1.36.0"  # kubernetes-validate's schemas of the server's minor version
SEED = int(os.environ.get("TYPECHECK_SEED", "20260901"))
POLICIES = int(os.environ.get("TYPECHECK_POLICIES", "24"))
VALIDATIONS_PER_POLICY = 36

# (group, version, kind, plural resource): the kinds mlgitops generates
KINDS = [
    ("serving.kserve.io", "v1beta1", "InferenceService", "inferenceservices"),
    ("argoproj.io", "v1alpha1", "Rollout", "rollouts"),
    ("argoproj.io", "v1alpha1", "AnalysisTemplate", "analysistemplates"),
    ("apps", "v1", "Deployment", "deployments"),
    ("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers"),
    ("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets"),
    ("", "v1", "ConfigMap", "configmaps"),
    ("", "v1", "Service", "services"),
    ("monitoring.coreos.com", "v1", "PrometheusRule", "prometheusrules"),
]
KIND_NAMES = [k[2] for k in KINDS]


# --- the schemas the server has ---------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def crd_documents() -> list[dict]:
    docs = []
    for name in CRD_FILES:
        for doc in documents(SHARED_ROOT / "crds" / name):
            if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                docs.append(doc)
    return docs


class RawSchemas:
    """The kinds' JSON schemas as the server resolves them (custom resources as it publishes them),
    for the generator to walk; independent of typecheck's conversion to CEL types."""

    def __init__(self, crds: list[dict]) -> None:
        self.crds: dict[tuple[str, str], dict] = {}
        for crd in crds:
            spec = crd["spec"]
            for version in spec["versions"]:
                schema = (version.get("schema") or {}).get("openAPIV3Schema")
                if schema:
                    self.crds[(f"{spec['group']}/{version['name']}", spec["names"]["kind"])] = schema
        meta = k8sschemas.standalone(K8S_SCHEMAS, False, "v1", "ConfigMap")
        self.meta_defs = meta.get("$defs", {})

    def root(self, group: str, version: str, kind: str) -> tuple[dict, dict]:
        api_version = f"{group}/{version}" if group else version
        if (api_version, kind) in self.crds:
            return tc.published_crd_schema(self.crds[(api_version, kind)]), self.meta_defs
        schema = k8sschemas.standalone(K8S_SCHEMAS, False, api_version, kind)
        assert schema is not None, kind
        return schema, schema.get("$defs", {})


def resolve(node: Any, defs: dict, seen: frozenset = frozenset()) -> tuple[dict, frozenset]:
    if not isinstance(node, dict):
        return {}, seen
    ref = node.get("$ref") or next((p.get("$ref") for p in node.get("allOf") or () if isinstance(p, dict)), None)
    if not ref:
        return node, seen
    name = ref.rsplit("/", 1)[-1]
    if name in seen:
        return {"type": "object"}, seen
    return defs.get(name, {}), seen | {name}


def shape(node: dict) -> str:
    if node.get("x-kubernetes-int-or-string") or node.get("format") == "int-or-string" \
            or any("IntOrString" in str(p.get("$ref", "")) for p in [node]):
        return "intorstring"
    types = node.get("type")
    kind = types if isinstance(types, str) else next((t for t in types or () if t != "null"), "")
    if kind == "object" and isinstance(node.get("additionalProperties"), dict):
        return "map"
    if kind == "string" and node.get("format") in ("date-time", "date"):
        return "timestamp"
    if kind == "string" and node.get("format") == "byte":
        return "bytes"
    return kind or "untyped"


def cel_name(name: str) -> str | None:
    return tc.escape(name)


# --- the generator --------------------------------------------------------------------------------------

class Generator:
    """Boolean CEL expressions about a value of a known schema; about half are mutated."""

    def __init__(self, rng: random.Random, defs: dict) -> None:
        self.rng = rng
        self.defs = defs
        self.depth = 0

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def pick(self, items: list) -> Any:
        return self.rng.choice(items)

    def typo(self, name: str) -> str:
        how = self.rng.randrange(5)
        if how == 0 and len(name) > 2:
            i = self.rng.randrange(len(name))
            return name[:i] + name[i + 1:]
        if how == 1:
            return name + self.pick(["z", "s", "X"])
        if how == 2 and len(name) > 1:
            return name[0].swapcase() + name[1:]
        if how == 3 and len(name) > 3:
            i = self.rng.randrange(len(name) - 1)
            return name[:i] + name[i + 1] + name[i] + name[i + 2:]
        return "x" + name

    def wrong_literal(self, avoid: str) -> str:
        options = {"int": "7", "string": "'x'", "bool": "true", "double": "2.5", "null": "null", "list": "['a']",
                   "map": "{'a': 'b'}", "uint": "3u"}
        return options[self.pick([k for k in options if k != avoid])]

    def about(self, node: Any, text: str, seen: frozenset = frozenset(), var: int = 0) -> str:
        """A boolean expression about the value `text` whose schema is `node`."""
        node, seen = resolve(node, self.defs, seen)
        kind = shape(node)
        self.depth += 1
        try:
            return getattr(self, f"_{kind}", self._untyped)(node, text, seen, var)
        finally:
            self.depth -= 1

    def _object(self, node: dict, text: str, seen: frozenset, var: int) -> str:
        props = [p for p in (node.get("properties") or {}) if cel_name(p)]
        if not props or self.chance(0.15):
            name = self.typo(self.pick(props)) if props else self.pick(["spec", "name", "items"])
            escaped = cel_name(name) or "x"
            if self.chance(0.5):
                return f"has({text}.{escaped})"
            return f"{text}.{escaped} == {self.pick(['1', repr('a'), 'true'])}"
        name = self.pick(props)
        escaped = cel_name(name)
        if self.chance(0.25) or self.depth > 9:
            return f"has({text}.{escaped})"
        if self.chance(0.08):
            return f"{text}.?{escaped}.hasValue()"
        if self.chance(0.05):
            return f"size({text}) > 0"  # a struct has no size
        if self.chance(0.05):
            return f"{text}[{repr(name)}] == 1"  # an object is not a map
        if self.chance(0.04):
            return f"{text}.all(x, true)"  # nor a range
        return self.about(node["properties"][name], f"{text}.{escaped}", seen, var)

    def _array(self, node: dict, text: str, seen: frozenset, var: int) -> str:
        items = node.get("items") or {}
        x = f"x{var}"
        roll = self.rng.random()
        if self.depth > 9 or var > 2:
            return f"size({text}) > 0"
        if roll < 0.3:
            return f"{text}.all({x}, {self.about(items, x, seen, var + 1)})"
        if roll < 0.45:
            return f"{text}.exists({x}, {self.about(items, x, seen, var + 1)})"
        if roll < 0.5:
            return f"{text}.exists_one({x}, {self.about(items, x, seen, var + 1)})"
        if roll < 0.57:
            return f"{text}.filter({x}, {self.about(items, x, seen, var + 1)}).size() > 0"
        if roll < 0.62:
            return f"size({text}.map({x}, {self.about(items, x, seen, var + 1)})) > 1"
        if roll < 0.72:
            return self.about(items, f"{text}[0]", seen, var)
        if roll < 0.77:
            return f"size({text}) > 0"
        if roll < 0.82:
            inner, _ = resolve(items, self.defs, seen)
            props = list((inner.get("properties") or {}))
            field = cel_name(self.pick(props)) if props else "name"
            return f"{text}.{field} == 'a'"  # a list has no fields
        if roll < 0.87:
            return f"{text}['name'] == 'a'"  # nor string keys
        if roll < 0.92:
            return f"'a' in {text}"
        return f"{text}.exists({x}, {x} == {self.wrong_literal('')})"

    def _map(self, node: dict, text: str, seen: frozenset, var: int) -> str:
        values = node.get("additionalProperties") or {}
        k = f"k{var}"
        roll = self.rng.random()
        if roll < 0.2:
            return f"{text}.all({k}, {k}.startsWith('a'))"
        if roll < 0.3:
            return f"'app' in {text}"
        if roll < 0.5:
            return self.about(values, f"{text}['app']", seen, var)
        if roll < 0.6 and var < 3:
            return f"{text}.exists({k}, {self.about(values, f'{text}[{k}]', seen, var + 1)})"
        if roll < 0.67:
            return self.about(values, f"{text}.app", seen, var)
        if roll < 0.75:
            return f"{text}[0] == 'a'"  # a map's keys are strings
        if roll < 0.82:
            return f"{text}.all({k}, {k} > 1)"
        if roll < 0.9:
            return f"size({text}) < 10"
        return f"{text}.?app.orValue('') == 'a'"

    def _string(self, node: dict, text: str, seen: frozenset, var: int) -> str:
        good = [f"{text} == 'a'", f"{text}.startsWith('a')", f"size({text}) < 64", f"{text}.matches('^[a-z]')",
                f"{text} in ['a', 'b']", f"{text}.lowerAscii() != ''", f"{text}.split('/').size() > 1"]
        bad = [f"{text} == {self.wrong_literal('string')}", f"{text} > 2", f"{text}.all(c, true)",
               f"{text}.size() == 'x'", f"{text} + 1 == 'a1'", f"{text}.name == 'a'", f"{text}[0] == 'a'"]
        return self.pick(bad if self.chance(0.45) else good)

    def _integer(self, node: dict, text: str, seen: frozenset, var: int) -> str:
        good = [f"{text} > 1", f"{text} == 3", f"{text} + 1 > 2", f"double({text}) > 0.5", f"{text} > 1.5",
                f"{text} in [1, 2]", f"string({text}) != ''", f"{text} % 2 == 0"]
        bad = [f"{text} == {self.wrong_literal('int')}", f"{text}.startsWith('a')", f"size({text}) > 0",
               f"{text} + 'a' == 'b'", f"{text} in ['1']", f"{text}.foo == 1", f"{text} * 2.0 > 1.0"]
        return self.pick(bad if self.chance(0.45) else good)

    def _number(self, node: dict, text: str, seen: frozenset, var: int) -> str:
        good = [f"{text} > 0.5", f"{text} >= 1", f"{text} * 2.0 < 10.0"]
        bad = [f"{text} == 1", f"{text} == 'x'", f"{text} + 1 > 2"]
        return self.pick(bad if self.chance(0.45) else good)

    def _boolean(self, node: dict, text: str, seen: frozenset, var: int) -> str:
        good = [f"{text}", f"!{text}", f"{text} == false", f"{text} || true"]
        bad = [f"{text} == 'true'", f"{text} > 0", f"size({text}) == 1", f"{text} == 1"]
        return self.pick(bad if self.chance(0.45) else good)

    def _timestamp(self, node: dict, text: str, seen: frozenset, var: int) -> str:
        good = [f"{text} > timestamp('2020-01-01T00:00:00Z')", f"{text}.getFullYear() > 2000",
                f"string({text}) != ''"]
        bad = [f"{text} == 'x'", f"{text}.startsWith('2020')", f"{text} > 5"]
        return self.pick(bad if self.chance(0.45) else good)

    def _bytes(self, node: dict, text: str, seen: frozenset, var: int) -> str:
        return self.pick([f"size({text}) > 0", f"{text} == b'a'", f"{text} == 'a'"])

    def _intorstring(self, node: dict, text: str, seen: frozenset, var: int) -> str:
        return self.pick([f"{text} == 1 || {text} == '50%'", f"type({text}) == string", f"{text}.matches('%$')",
                          f"{text} > 1"])

    def _untyped(self, node: dict, text: str, seen: frozenset, var: int) -> str:
        return self.pick([f"has({text})" if "." in text.rsplit(")", 1)[-1] else f"{text} == 'a'",
                          f"{text} == 'a'", f"string({text}) != ''"])

    def leaves(self, root: dict, count: int) -> list[tuple[str, str]]:
        """(CEL text, shape) of values found by random walks from `object` (lists entered at [0],
        maps at ['app']), typos included now and then."""
        out: list[tuple[str, str]] = []
        for _ in range(count * 3):
            node, text, seen = root, "object", frozenset()
            for _ in range(self.rng.randrange(1, 9)):
                node, seen = resolve(node, self.defs, seen)
                kind = shape(node)
                if kind == "array" and self.chance(0.6):
                    node, text = node.get("items") or {}, f"{text}[0]"
                elif kind == "map" and self.chance(0.6):
                    node, text = node.get("additionalProperties") or {}, f"{text}['app']"
                elif kind == "object" and node.get("properties"):
                    props = [p for p in node["properties"] if cel_name(p)]
                    if not props:
                        break
                    name = self.pick(props)
                    escaped = cel_name(name) if not self.chance(0.05) else cel_name(self.typo(name))
                    node, text = node["properties"].get(name, {}), f"{text}.{escaped}"
                else:
                    break
            node, seen = resolve(node, self.defs, seen)
            out.append((text, shape(node)))
            if len(out) == count:
                break
        return out

    def mixed(self, root: dict) -> str:
        """An expression combining two or three typed values of the object."""
        (a, sa), (b, sb), (c, sc) = self.leaves(root, 3)
        templates = [
            f"{a} == {b}", f"({a} == {b}) || true", f"[{a}, {b}].size() > 0", f"{{'x': {a}, 'y': {b}}}.size() > 0",
            f"[{a}, dyn({b})].size() > 0", f"{{'x': dyn({a}), 'y': {b}}}.size() > 0", f"[[{a}], [{b}]].size() > 0",
            f"{{{a}: 1}}.size() > 0", f"'%s %s'.format([{a}, [{b}, 1]]) != ''", f"'%d'.format([{a}]) != ''",
            f"'%.2f %x'.format([{a}, {b}]) != ''",
            f"(has(object.metadata) ? {a} : {b}) == {c}", f"{a} in [{b}]", f"{a} in {b}",
            f"dyn({a}) == {b}",
            f"type({a}) == int", f"type({a}) == type({b})", f"{a} == null", f"{a} != null && {b} == null",
            f"optional.of({a}).orValue({b}) == {c}", f"[?optional.of({a}), ?optional.none()].size() > 0",
            f"{a}[0u] == {b}", f"{a}[0.5] == {b}", f"-{a} < 0", f"!{a}", f"{a}.size() > 0",
            f"{a}.contains({b})", f"{a}.join(',') == {b}", f"{a}.indexOf({b}) >= 0", f"{a}.charAt(1) == {b}",
            f"{a}.replace({b}, 'x') == {c}", f"{a}.substring(1) == {b}", f"{a}.trim() == 'x'",
            f"{a}.map(x, x.name).exists(n, n == {b})", f"{a}.filter(x, x == {b}).size() > 0",
            f"{a} + {b} == {c}", f"{a} - {b} > {c}", f"{a} * 2 == {b}", f"{a} / {b} > 1", f"{a} % {b} == 0",
            f"{a} < {b}", f"{a} >= {b}", f"duration('1s') < {a} - {b}", f"timestamp({a}) > {b}",
            f"int({a}) > 1", f"uint({a}) > 1u", f"double({a}) > 1.0", f"string({a}) == {b}", f"bool({a})",
            f"quantity({a}).isGreaterThan(quantity({b}))", f"isQuantity({a})", f"{a}.matches({b})",
            f"{a}.?name.orValue('') == {b}", f"has({a}.name) && {a}.name == {b}", f"{a}.all(k, {a}[k] == {b})",
            f"{a}.exists_one(x, true) || {b}", f"'ünïcode' == {a} && {b}.startsWith('ä')",
            f"object.metadata.namespace == {a}", f"object.metadata.__namespace__ == {a}",
            f"object.apiVersion == {a} && object.kind == {b}", f"{a}.exists(x, x.name.startsWith({b}))",
        ]
        return self.pick(templates)

    def combine(self, parts: list[str]) -> str:
        if len(parts) == 1:
            return parts[0]
        how = self.rng.randrange(5)
        if how == 4:
            return " &&\n  ".join(parts)
        if how == 0:
            return " && ".join(parts)
        if how == 1:
            return " || ".join(f"({p})" for p in parts)
        if how == 2 and len(parts) >= 3:
            return f"({parts[0]}) ? ({parts[1]}) : ({parts[2]})"
        return "!(" + parts[0] + ") || " + " && ".join(parts[1:])


def message_expression(gen: Generator, root: dict) -> str:
    """A string expression about a scalar of the object (about half of them not a string)."""
    node, text, seen = root, "object", frozenset()
    for _ in range(8):
        node, seen = resolve(node, gen.defs, seen)
        props = [p for p in (node.get("properties") or {}) if cel_name(p)]
        if shape(node) != "object" or not props:
            break
        name = gen.pick(props)
        node, text = node["properties"][name], f"{text}.{cel_name(name)}"
    node, seen = resolve(node, gen.defs, seen)
    if gen.chance(0.5):
        return f"'value: ' + string({text})"
    return f"'value: ' + {text}"


# --- what the server would refuse outright --------------------------------------------------------------

def validation_idents(has_params: bool, variables: dict[str, tc.CelType]) -> dict[str, tc.CelType]:
    """The environment the API server compiles a policy's expressions with when it is created:
    object, oldObject and params untyped."""
    idents = {"object": tc.DYN, "oldObject": tc.DYN, "request": tc.REQUEST_TYPE,
              "namespaceObject": tc.NAMESPACE_TYPE, "variables": tc.struct_type("kubernetes.variables", variables)}
    if has_params:
        idents["params"] = tc.DYN
    return idents


def acceptable(text: str, idents: dict, want: tuple[str, ...]) -> tc.CelType | None:
    """The expression's untyped output type when the server would accept it (it parses, checks
    with an untyped object and its type is exactly one of `want`: bool for a validation, string
    for a messageExpression, anything for a variable), else None."""
    try:
        tree = compile_expression(text, check_cost=False).tree
    except CelError:
        return None
    errors, output = tc.check_expression(tree, idents)
    if errors or (want and output.kind not in want):
        return None
    return output


# --- comparing ------------------------------------------------------------------------------------------

_BLOCK = re.compile(r"(?m)^(\S*/\S+, Kind=\w+): ")
_ERROR = re.compile(r"ERROR: <input>:(-?\d+):(\d+): ([^\n]*)")


def normalise(text: str) -> str:
    """Kubernetes' object type names without their timestamp (Deployment123456789.spec -> Deployment.spec)."""
    return re.sub(r"\b(" + "|".join(KIND_NAMES) + r")\d+\b", r"\1", text)


def server_entries(warnings: list[dict]) -> set[tuple]:
    """{(fieldRef, gvk, line, column, message)} of status.typeChecking.expressionWarnings."""
    out = set()
    for warning in warnings:
        text = normalise(warning["warning"])
        starts = list(_BLOCK.finditer(text))
        assert starts or not text.strip(), f"unparsed warning: {text!r}"
        for i, start in enumerate(starts):
            block = text[start.end(): starts[i + 1].start() if i + 1 < len(starts) else len(text)]
            errors = _ERROR.findall(block)
            assert errors, f"no error in warning block: {block!r}"
            for line, column, message in errors:
                out.add((warning["fieldRef"], start.group(1), int(line), int(column), message))
    return out


def mine_entries(policy: dict, source: tc.SchemaSource) -> set[tuple]:
    return {(w.field_ref, w.gvk, *w.line_column, w.message) for w in tc.check_policy(policy, source)}


# --- the server -----------------------------------------------------------------------------------------

def wait_for_status(client, policy: dict, generation: int, timeout: float = 90.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = client.get(policy)
        status = (got.body or {}).get("status") or {}
        if status.get("observedGeneration") == generation:
            return (status.get("typeChecking") or {}).get("expressionWarnings") or []
        time.sleep(0.1)
    raise AssertionError(f"the controller did not type-check {policy['metadata']['name']} within {timeout:.0f}s")


_REFUSED = re.compile(r"spec\.validations\[(\d+)\]")


def create(client, policy: dict) -> tuple[dict, int, list[str]]:
    """Create `policy` for real; validations the server refuses are dropped (and reported)."""
    refused: list[str] = []
    for _ in range(5):
        response = client.apply(policy)
        if response.ok:
            return policy, response.body["metadata"]["generation"], refused
        bad = {int(i) for i in _REFUSED.findall(response.message)}
        if not bad:
            raise AssertionError(f"{policy['metadata']['name']} refused: {response.message}")
        refused.append(response.message)
        policy = copy.deepcopy(policy)
        policy["spec"]["validations"] = [v for i, v in enumerate(policy["spec"]["validations"]) if i not in bad]
    raise AssertionError(f"{policy['metadata']['name']} still refused: {refused[-1]}")


# --- the corpus -----------------------------------------------------------------------------------------

def rule(group: str, version: str, resource: str) -> dict:
    return {"apiGroups": [group], "apiVersions": [version], "resources": [resource], "operations": ["CREATE"]}


def generate(seed: int, count: int, raw: RawSchemas, refused: list[str] | None = None) -> list[dict]:
    """`count` policies; most match one kind, some two (the same expressions typed by both), one
    a wildcard rule too. Expressions the API server would refuse are left out (and added to
    `refused`)."""
    rng = random.Random(seed)
    policies = []
    for n in range(count):
        kinds = [KINDS[n % len(KINDS)]]
        if n % 5 == 4:
            kinds.append(rng.choice([k for k in KINDS if k != kinds[0]]))
        group, version, kind, _ = kinds[0]
        root, defs = raw.root(group, version, kind)
        gen = Generator(rng, defs)
        has_params = n % 3 == 0
        rules = [rule(g, v, r) for g, v, _, r in kinds]
        if n % 11 == 10:
            rules.append({"apiGroups": ["*"], "apiVersions": ["*"], "resources": ["*"], "operations": ["CREATE"]})
        variables: list[dict] = []
        variable_types: dict[str, tc.CelType] = {}
        for i in range(rng.randrange(0, 4)):
            text = variable_expression(gen, root, i)
            output = acceptable(text, validation_idents(has_params, variable_types), ())
            if output is not None:
                variables.append({"name": f"v{i}", "expression": text})
                variable_types[f"v{i}"] = tc.variable_type(output)
        validations: list[dict] = []
        idents = validation_idents(has_params, variable_types)
        while len(validations) < VALIDATIONS_PER_POLICY:
            text = gen.combine([gen.about(root, "object") for _ in range(rng.choice([1, 1, 1, 2, 3]))])
            roll = rng.random()
            if roll < 0.25:
                text = gen.mixed(root)
            if 0.25 < roll < 0.33 and variables:
                text = variable_use(gen, rng.choice(variables)["name"])
            elif 0.33 < roll < 0.39 and has_params:
                text = rng.choice(PARAM_EXPRESSIONS)
            elif 0.39 < roll < 0.45:
                text = rng.choice(REQUEST_EXPRESSIONS)
            if acceptable(text, idents, ("bool",)) is None:
                if refused is not None and "variables" not in text and "params" not in text:
                    refused.append(text)
                continue
            validation = {"expression": text}
            if rng.random() < 0.2:
                message = message_expression(gen, root)
                if acceptable(message, idents, ("string",)) is not None:
                    validation["messageExpression"] = message
            validations.append(validation)
        spec: dict = {"failurePolicy": "Fail", "matchConstraints": {"resourceRules": rules},
                      "validations": validations}
        if variables:
            spec["variables"] = variables
        if has_params:
            spec["paramKind"] = {"apiVersion": "v1", "kind": "ConfigMap"}
        policies.append({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
                         "metadata": {"name": f"typecheck-{seed}-{n}"}, "spec": spec})
    return policies


def variable_expression(gen: Generator, root: dict, i: int) -> str:
    return gen.pick(["object.spec", "object.metadata.name", "object.metadata.labels",
                     "has(object.spec) ? 1 : 2", "object.metadata.generation",
                     "[object.metadata.name]", "{'a': 1}", "object.metadata.creationTimestamp",
                     gen.about(root, "object")])


def variable_use(gen: Generator, name: str) -> str:
    v = f"variables.{name}"
    return gen.pick([f"{v} == 'a'", f"{v} == 1", f"{v}.size() > 0", f"has({v}.replicas)", f"{v}",
                     f"{v}.startsWith('a')", f"{v}['a'] == 1", f"{v} > timestamp('2020-01-01T00:00:00Z')",
                     f"{v}.all(x, x == 'a')", f"{v}.foo.bar == 1"])


PARAM_EXPRESSIONS = [
    "params.data['max'] == '3'", "params.data.max == '3'", "params.data['max'] == 3", "params.dataz == null",
    "'max' in params.data", "params.data.all(k, k.startsWith('a'))", "params.binaryData['k'] == b'a'",
    "params.binaryData['k'] == 'a'", "int(params.data.max) > object.metadata.generation",
    "params.metadata.name == 'p'", "params.metadata.labels.team == 1", "params.immutable == true",
    "params.immutable == 'yes'", "has(params.data) && size(params.data) > 0", "params.data[0] == 'x'",
]
REQUEST_EXPRESSIONS = [
    "request.operation == 'CREATE'", "request.userInfo.username.startsWith('system:')",
    "request.userInfo.groups.exists(g, g == 'admins')", "request.dryRun == false", "request.options.x == 1",
    "namespaceObject.metadata.labels['env'] == 'prod'", "namespaceObject.metadata.name.size() > 0",
    "namespaceObject.status.phase == 'Active'", "namespaceObject.metadata.generation > 1",
    "namespaceObject.metadata.creationTimestamp > timestamp('2020-01-01T00:00:00Z')",
    "request.kind.kind == object.kind", "request.userInfo.extra['k'].size() > 0",
]


# --- the tests ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def source() -> tc.SchemaSource:
    return tc.SchemaSource.from_crds(crd_documents(), kubernetes_version=K8S_SCHEMAS)


@pytest.fixture(scope="module")
def client(apiserver):
    with apiserver.policy_type_checking():  # the controller under test
        yield apiserver.client


def compare(client, policies: list[dict], source: tc.SchemaSource) -> tuple[dict, list[str]]:
    """Create the policies, read the controller's warnings, compare; (counts, disagreements)."""
    created = []
    counts = {"policies": 0, "expressions": 0, "server warnings": 0, "kinds checked": 0}
    refusals: list[str] = []
    for policy in policies:
        policy, generation, refused = create(client, policy)
        refusals += refused
        created.append((policy, generation))
    problems: list[str] = []
    for policy, generation in created:
        server = server_entries(wait_for_status(client, policy, generation))
        mine = mine_entries(policy, source)
        validations = policy["spec"]["validations"]
        counts["policies"] += 1
        counts["expressions"] += sum(1 + ("messageExpression" in v) for v in validations)
        counts["server warnings"] += len(server)
        counts["kinds checked"] += len(tc.kinds_to_check(policy, source))
        for entry in sorted(server ^ mine):
            side = "server only" if entry in server else "typecheck only"
            index = int(re.search(r"\[(\d+)\]", entry[0]).group(1))  # type: ignore[union-attr]
            key = entry[0].rsplit(".", 1)[1]
            problems.append(f"{policy['metadata']['name']} {side}: {entry}\n    {validations[index].get(key)}")
        client.delete(policy)
    return counts, problems + [f"refused by the API server: {r}" for r in refusals]


def test_generated_policies_agree_with_the_controller(client, source, capsys):
    raw = RawSchemas(crd_documents())
    policies = generate(SEED, POLICIES, raw)
    counts, problems = compare(client, policies, source)
    with capsys.disabled():
        print(f"\ntype checking, seed {SEED}: " + ", ".join(f"{v} {k}" for k, v in counts.items())
              + f"; {len(problems)} disagreements")
    assert counts["server warnings"] > 100  # the corpus does exercise the checker
    assert not problems, "\n".join(problems[:30])


def test_schema_corners_agree_with_the_controller(client, source):
    """test_policy_typecheck's Widget: a custom resource with the corners of the schema-to-CEL
    conversion, installed for real; the controller reads its schema from the published OpenAPI."""
    from test_policy_typecheck import WIDGET_CASES, WIDGET_CRD, widget_policy

    response = client.apply(WIDGET_CRD, manager="crd-install")
    assert response.ok, response.message
    try:
        deadline = time.monotonic() + 60
        while client.request("GET", "/openapi/v3/apis/example.com/v1").status != 200:
            assert time.monotonic() < deadline, "the Widget CRD's OpenAPI was not published"
            time.sleep(0.2)
        policy = widget_policy()
        policy["metadata"]["name"] = "typecheck-widgets"
        policy, generation, refused = create(client, policy)
        assert not refused, refused
        server = server_entries(wait_for_status(client, policy, generation))
        mine = mine_entries(policy, tc.SchemaSource.from_crds([WIDGET_CRD], kubernetes_version=K8S_SCHEMAS))
        client.delete(policy)
    finally:
        client.request("DELETE", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com")
    assert len(server) == sum(1 for _, expected in WIDGET_CASES if expected)
    assert server == mine


# --- what the API server refuses when a policy is created ----------------------------------------------

_FIELD = re.compile(r"(spec\.(?:validations|variables|matchConditions|auditAnnotations)\[\d+\]\.\w+): Invalid value: ")
_MUST = re.compile(r"(must evaluate to (?:one of \[[^\]]*\]|\S+) but got [^,\]\n]+)")


def refusal_entries(message: str) -> set[tuple]:
    """{(fieldRef, line, column, message)} of the CEL errors in a refusal (line and column None for
    a result type error)."""
    out: set[tuple] = set()
    starts = list(_FIELD.finditer(message))
    for i, start in enumerate(starts):
        segment = message[start.end(): starts[i + 1].start() if i + 1 < len(starts) else len(message)]
        errors = _ERROR.findall(segment)
        for line, column, text in errors:
            out.add((start.group(1), int(line), int(column), text))
        if not errors:
            must = _MUST.search(segment)
            assert must, f"unparsed refusal: {segment!r}"
            out.add((start.group(1), None, None, must.group(1)))
    return out


def creation_entries(policy: dict) -> set[tuple]:
    return {(w.field_ref, None, None, w.message) if w.offset is None else (w.field_ref, *w.line_column, w.message)
            for w in tc.creation_errors(policy)}


def refusals_agree(client, policy: dict, counts: dict | None = None) -> list[str]:
    response = client.create(policy, dry_run=True)
    server = set() if response.ok else refusal_entries(response.message)
    mine = creation_entries(policy)
    if counts is not None:
        counts["server errors"] = counts.get("server errors", 0) + len(server)
    return [f"{policy['metadata']['name']} {'server only' if e in server else 'typecheck only'}: {e}"
            for e in sorted(server ^ mine, key=str)]


def bare_policy(name: str, validations: list[dict], **spec: Any) -> dict:
    return {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": name},
            "spec": {"failurePolicy": "Fail", "matchConstraints": {"resourceRules": [rule("apps", "v1", "deployments")]},
                     "validations": validations, **spec}}


CREATION_CASES = [
    bare_policy("refused-1", [{"expression": e} for e in [
        "object.spec.paused", "object.spec + 1", "[1, 'a'].size() > 0", "params.x == 1", "cel.bind(v, 1, v > 0)",
        "request.userinfo.username == 'a'", "namespaceObject.metadata.labelz == null", "variables.x == 1",
        "object.metadata.creationTimestamp", "request.operation", "object.spec.replicas > 1",
        "{'a': 1, 'b': 'x'}.size() > 0", "[object.a, 1].size() > 0", "[1, dyn(2)].size() > 0",
        "{1: 'a', dyn(2): 'b'}.size() > 0", "[[1], [dyn(2)]].size() > 0",
        "'%s'.format([1, 2]) != ''", "'%d'.format(['a']) != ''", "'%.2f'.format([1]) != ''", "'%q'.format([1]) != ''",
        "'%'.format([1]) != ''", "'%s %s'.format([1]) != ''", "'%s'.format([[1, object.x]]) != ''",
        "'%.f'.format([1.0]) != ''", "'%.2'.format([1.0]) != ''", "'%x %b %o %e'.format([b'a', true, 1u, 'NaN']) != ''",
        "'%s'.format([{'a': [1, 2]}]) != ''", "'%s'.format([[optional.none()]]) != ''",
        "'%s'.format([quantity('1')]) != ''", "'%e'.format([1]) != ''"]]),
    bare_policy("refused-2", [
        {"expression": "variables.m['a'] == 'x'", "messageExpression": "'a' + variables.n"},
        {"expression": "variables.later == 1", "messageExpression": "object.metadata.name"},
        {"expression": "true", "messageExpression": "params.a"}],
        variables=[{"name": "m", "expression": "{'a': 1}"}, {"name": "n", "expression": "1"},
                   {"name": "bad", "expression": "variables.later2 + 1"}, {"name": "later2", "expression": "1"}],
        matchConditions=[{"name": "c", "expression": "variables.m.size() > 0"}, {"name": "d", "expression": "object.kind"},
                         {"name": "e", "expression": "params.x == 1"}],
        auditAnnotations=[{"key": "a", "valueExpression": "object.metadata.name"}, {"key": "b", "valueExpression": "1"},
                          {"key": "c", "valueExpression": "null"}]),
    bare_policy("refused-3", [{"expression": "params.data.x == 'a' && variables.p == 1", "messageExpression": "params.data.x"}],
                variables=[{"name": "p", "expression": "params.data"}], paramKind={"apiVersion": "v1", "kind": "ConfigMap"},
                matchConditions=[{"name": "e", "expression": "params.x == 1"}]),
]


CREATION_FRAGMENTS = [
    "object.spec.x == 1", "request.operation == 'CREATE'", "request.userInfo.usernamez == 'a'",
    "namespaceObject.metadata.nam == 'a'", "[1, 'a'].size() > 0", "[object.a, 1].size() > 0", "[object.a, object.b][0]",
    "{'a': 1, 'b': 'x'}.size() > 0", "{'a': object.a, 'b': 'x'}.size() > 0", "'%d'.format([request.name]) != ''",
    "'%s: %d'.format([request.name, object.x]) != ''", "size(request.name) == 'a'", "request.dryRun || object.x",
    "request.userInfo.groups[0] == 1", "request.userInfo.extra['a'] == ['b']", "request.kind.kind.startsWith('a')",
    "request.options.x.y == 1", "namespaceObject.metadata.labels.env == 'prod'", "namespaceObject.status.phase + 1 == 2",
    "object.x.y.z.all(e, e == 1)", "object.x.map(e, e.y)", "request.userInfo.groups.map(g, g + 1).size() > 0",
    "request.resource.resource in ['pods', 1]", "namespaceObject.metadata.creationTimestamp > 5",
    "namespaceObject.metadata.generation == 'a'", "request.name.matches('^a') == 'x'", "type(object.x) == int",
    "[optional.of(1), optional.none()].size() > 0", "[?optional.of(object.x)].size() > 0", "object.?x.orValue(1) == 'a'",
    "request.userInfo.extra.all(k, request.userInfo.extra[k].size() > 0)", "object.x + request.name",
    "duration('1s') < object.x", "timestamp(object.x) > namespaceObject.metadata.deletionTimestamp",
]


def creation_corpus(rng: random.Random, count: int) -> list[str]:
    """Expressions of which many are refused when the policy is created whatever the object."""
    out = []
    for _ in range(count):
        parts = [rng.choice(CREATION_FRAGMENTS) for _ in range(rng.choice([1, 1, 2, 3]))]
        out.append(rng.choice([" && ", " || "]).join(f"({p})" if len(parts) > 1 else p for p in parts))
    return out


def test_creation_errors_agree_with_the_api_server(client, capsys):
    """typecheck.creation_errors against the API server's refusal of a policy (dry-run create):
    hand-written cases (cel.bind: the server also reports `bind` and the bound name as undeclared,
    typecheck only the first error), then the generator's expressions the server would refuse."""
    problems: list[str] = []
    for policy in CREATION_CASES:
        found = refusals_agree(client, policy)
        problems += [p for p in found if not ("cel.bind" in json_text(policy) and "server only" in p)]
    refused: list[str] = []
    generate(SEED + 1, 12, RawSchemas(crd_documents()), refused)
    texts = sorted(set(refused + creation_corpus(random.Random(SEED), 240)))
    compiled = [t for t in texts if _compiles(t)]  # what does not compile locally is load.py's to report
    counts: dict = {}
    for n in range(0, len(compiled), 30):
        policy = bare_policy(f"refused-generated-{n}", [{"expression": t} for t in compiled[n:n + 30]])
        problems += refusals_agree(client, policy, counts)
    with capsys.disabled():
        print(f"\ncreation-time compilation: {len(compiled)} generated expressions, "
              f"{counts.get('server errors', 0)} errors in the server's refusals; {len(problems)} disagreements")
    assert len(compiled) > 100
    assert not problems, "\n".join(problems[:30])


def _compiles(text: str) -> bool:
    try:
        compile_expression(text, check_cost=False)
    except CelError:
        return False
    return True


def json_text(value: Any) -> str:
    import json

    return json.dumps(value)


def builtin_policies() -> list[dict]:
    out = []
    for path in sorted((REPO_ROOT / "policies").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if isinstance(doc, dict) and doc.get("kind") == "ValidatingAdmissionPolicy":
                out.append(doc)
    return out


def test_builtin_policies_agree_with_the_controller(client, source, capsys):
    policies = builtin_policies()
    assert len(policies) >= 14
    lines = []
    problems = []
    clean = True
    for doc in policies:
        policy = copy.deepcopy(doc)
        policy["metadata"] = {"name": f"builtin-{doc['metadata']['name']}"}
        policy, generation, refused = create(client, policy)
        assert not refused, refused
        warnings = wait_for_status(client, policy, generation)
        server = server_entries(warnings)
        clean &= not server
        mine = mine_entries(policy, source)
        lines.append(f"{doc['metadata']['name']}: {len(server)} warning(s)")
        for field_ref, gvk, line, column, message in sorted(server):
            lines.append(f"    {field_ref} [{gvk}] {line}:{column} {message}")
        problems += [f"{doc['metadata']['name']} {'server only' if e in server else 'typecheck only'}: {e}"
                     for e in sorted(server ^ mine)]
        client.delete(policy)
    with capsys.disabled():
        print("\nkube-controller-manager's type checking of policies/*.yaml:\n" + "\n".join(lines))
    assert not problems, "\n".join(problems)
    assert clean, "the built-in policies must be type-clean on the server (policies/README.md):\n" + "\n".join(lines)


# The Go program that prints the function declarations of Kubernetes' CEL environment (what the
# controller's type checker resolves overloads against) in the format of typecheck._DECLARATIONS:
# a module of its own whose go.sum pins every module; `make tools` downloads and builds them.
DECLARATIONS_DUMPER = REPO_ROOT / ".ci" / "tools" / "celdecls"


def test_the_declarations_are_the_servers():
    """typecheck._DECLARATIONS is what k8s.io/apiserver v0.36.3's environment declares (regenerate
    it with `go run .` in .ci/tools/celdecls when Kubernetes is bumped). Needs the Go toolchain and
    the modules in the local module cache, which `make tools` fills (nothing is downloaded here)."""
    from tooling import _missing, require_tool

    go = require_tool("go", "install Go (make tools needs it too)")
    env = {**os.environ, "GOFLAGS": "-mod=readonly", "GOPROXY": "off", "GOSUMDB": "off"}
    run = subprocess.run([go, "run", "."], cwd=DECLARATIONS_DUMPER, env=env, capture_output=True, text=True,
                         timeout=900)
    if run.returncode != 0 and "GOPROXY=off" in run.stderr:
        _missing(f"the modules of .ci/tools/celdecls are not in the Go module cache (make tools downloads "
                 f"them): {run.stderr.strip()[:200]}")
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines() == tc._DECLARATIONS.strip().splitlines()
