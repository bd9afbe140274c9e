"""Differential checking of mlgitops' policy engine against a real kube-apiserver: helpers.

- the policy documents as the server gets them (`server_documents`),
- the corpus: the generated objects (rendered by the engine, and argocd/), the test cases of a policy
  (resolved as `mlgitops policy test` does, with testing.py's own functions), seeded mutants of the
  generated objects (`mutants`: deterministic for a seed) and a fixed set of edge mutants (`EDGES`),
- verdicts: what the engine says (`engine_verdict`) and what the server said (`server_verdict`),
  and whether they agree (`agree`),
- `Round`: one policy installed for real, every corpus object sent as a server-side dry run and
  compared, then the policy removed.

Propagation (the server's admission plugin sees a new policy, binding or parameter object
asynchronously, up to about a second later): after every change a *probe* (a corpus object the
engine denies, or warns about, under the new state) is sent until the server's verdict equals the
engine's, which names the new binding. The plugin rebuilds its view from its informers' stores, and
one informer delivers the events of every binding in order, so a view that holds the new binding
has dropped every binding deleted before it was created: once the probe agrees, the state is the
intended one: this policy's new binding in force, the previous round's (or params variant's)
bindings gone. That is why each params variant's binding gets a name of its own, and why a round
need not wait for the previous round's removal (the last one is waited for: `settle_removal`).
A disagreement is then re-checked for up to RECHECK_SECONDS before it counts.

Parameter objects: kube-apiserver stops the ConfigMap informer of policy parameters for good once
no binding uses ConfigMap parameters (kubernetes/kubernetes#130887); the session's cluster keeps
an inert binding that does (kubeapi.Cluster.keep_param_informers), or every round after the first
would read frozen parameters.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import os
import pathlib
import random
import re
import time
from typing import Any, Callable, Iterable

import yaml

from kubeapi import request_pool
from tooling import REPO_ROOT

POLICY_KIND = "ValidatingAdmissionPolicy"
BINDING_KIND = "ValidatingAdmissionPolicyBinding"
WAIVER_PREFIX = "waivers.mlgitops.dev/"
SEED = 20260501
MUTANTS_PER_POLICY = 40
RECHECK_SECONDS = 5.0
SETTLE_SECONDS = 20.0

# `<resource> "<name>" is forbidden: ValidatingAdmissionPolicy '<p>' with binding '<b>' denied request: <m>`
DENY_RE = re.compile(r"ValidatingAdmissionPolicy '([^']*)' with binding '([^']*)' denied request: (.*)\Z", re.S)
WARN_RE = re.compile(r"\AValidation failed for ValidatingAdmissionPolicy '([^']*)' with binding '([^']*)': (.*)\Z",
                     re.S)
NO_PARAMS = "failed to configure binding: no params found for policy binding with `Deny` parameterNotFoundAction"


# --- policy documents -------------------------------------------------------------------------

def for_server(doc: dict) -> dict:
    """A policy or binding document as sent to the server: without `fieldPath` in validations
    (older policy files set it; mlgitops reads field paths from an annotation now), else as is."""
    out = copy.deepcopy(doc)
    for validation in (out.get("spec") or {}).get("validations") or []:
        if isinstance(validation, dict):
            validation.pop("fieldPath", None)
    return out


def server_documents(policies_dir: pathlib.Path) -> dict[str, tuple[dict, list[dict]]]:
    """policy name -> (its ValidatingAdmissionPolicy, its bindings), from every policies/*.yaml (a
    binding may sit in any file: it is found by spec.policyName)."""
    policies: dict[str, dict] = {}
    bindings: dict[str, list[dict]] = {}
    for path in sorted(policies_dir.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if not isinstance(doc, dict):
                continue
            if doc.get("kind") == POLICY_KIND:
                policies[doc["metadata"]["name"]] = for_server(doc)
            elif doc.get("kind") == BINDING_KIND:
                bindings.setdefault(doc["spec"]["policyName"], []).append(for_server(doc))
    return {name: (doc, bindings.get(name, [])) for name, doc in policies.items()}


def policy_names(policies_dir: pathlib.Path) -> list[str]:
    return sorted(server_documents(policies_dir))


def params_documents(policies_dir: pathlib.Path) -> list[dict]:
    out = []
    for path in sorted((policies_dir / "params").glob("*.yaml")):
        out += [d for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict)]
    return out


def merged_params(base: Any, override: dict) -> dict:
    """A test case's `params` over a parameter object: what check.run_policy evaluates with."""
    try:
        from mlgitops.policy.check import _merged
    except ImportError:  # pragma: no cover - the same rule, should check.py rename it
        def _merged(base, override):
            out = dict(base) if isinstance(base, dict) else {}
            for key, value in override.items():
                out[key] = {**out[key], **value} if isinstance(out.get(key), dict) and isinstance(value, dict) \
                    else value
            return out
    return _merged(copy.deepcopy(base), copy.deepcopy(override))


# --- the corpus ---------------------------------------------------------------------------------

@dataclasses.dataclass
class Item:
    label: str  # where it comes from, for reports
    source: str  # case | generated | mutant
    obj: dict
    others: list  # the objects it came with (Namespace labels for the engine)
    params: dict | None = None  # a test case's params override

    @property
    def params_key(self) -> str:
        return "" if self.params is None else json.dumps(self.params, sort_keys=True)


def generated_items(repo_root: pathlib.Path = REPO_ROOT) -> list[Item]:
    """Every object of every overlays/<env>/<model> (rendered by mlgitops' engine) and of argocd/."""
    from mlgitops.diagnostics import Diagnostics
    from mlgitops.validate.render import render_overlay

    items: list[Item] = []
    for kust in sorted(repo_root.glob("overlays/*/*/kustomization.yaml")):
        shown = kust.parent.relative_to(repo_root).as_posix()
        diags = Diagnostics()
        docs = render_overlay(str(kust.parent), shown, str(repo_root), diags)
        assert docs and not list(diags), f"{shown} does not render: {[d.format() for d in diags]}"
        objs = [d.obj for d in docs]
        items += [Item(f"{shown}: {_name(o)}", "generated", o, objs) for o in objs]
    for path in sorted((repo_root / "argocd").rglob("*.yaml")):
        objs = [d for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict)]
        shown = path.relative_to(repo_root).as_posix()
        items += [Item(f"{shown}: {_name(o)}", "generated", o, objs) for o in objs]
    return items


def case_items(policies_dir: pathlib.Path, repo_root: pathlib.Path = REPO_ROOT
               ) -> tuple[dict[str, list[Item]], list[str]]:
    """policy name -> the objects of its cases in policies/tests/, resolved as `mlgitops policy test`
    resolves them (testing._Objects, testing._select), with each case's params; and the cases that
    could not be resolved."""
    from mlgitops import contain
    from mlgitops.diagnostics import Diagnostics
    from mlgitops.policy import testing
    from mlgitops.policy.load import read_sources

    out: dict[str, list[Item]] = {}
    problems: list[str] = []
    root = contain.trusted_root(str(repo_root), str(policies_dir))
    objects = testing._Objects(str(repo_root), root)
    try:
        for path in sorted((policies_dir / "tests").glob("*.yaml")):
            shown = path.relative_to(repo_root).as_posix()
            for src in read_sources(str(path), shown, Diagnostics(), root=root, kind="policy-test"):
                data = src.doc.data
                if not isinstance(data, dict) or not isinstance(data.get("cases"), list):
                    continue
                policy = data.get("policy")
                for i, case in enumerate(data["cases"]):
                    if not isinstance(case, dict):
                        continue
                    label = f"{shown} case {case.get('name', i)!r}"
                    try:
                        if "object" in case:
                            docs = objects.inline(case["object"], src, ("cases", i, "object"))
                        elif "file" in case:
                            docs = objects.from_file(case["file"], src)
                        else:
                            docs = objects.from_model(case.get("model"), case.get("env"))
                    except testing.CaseProblem as exc:
                        problems.append(f"{label}: {exc.message}")
                        continue
                    doc = docs if isinstance(docs, str) else testing._select(docs, case.get("select"))
                    if isinstance(doc, str):
                        problems.append(f"{label}: {doc}")
                        continue
                    params = case.get("params") if isinstance(case.get("params"), dict) else None
                    out.setdefault(policy, []).append(
                        Item(label, "case", copy.deepcopy(doc.obj), [d.obj for d in docs], params))
    finally:
        objects.close()
    return out, problems


def _name(obj: dict) -> str:
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace")
    return f"{obj.get('kind')} {ns + '/' if ns else ''}{meta.get('name')}"


def namespaces_of(items: Iterable[Item]) -> set[str]:
    out = set()
    for item in items:
        meta = item.obj.get("metadata")
        if isinstance(meta, dict) and isinstance(meta.get("namespace"), str) and meta["namespace"]:
            out.add(meta["namespace"])
    return out


# --- mutants --------------------------------------------------------------------------------------
#
# A mutation is a function (obj, rng) -> a description of what it did, or None when it does not
# apply to obj (obj is a deep copy it may change). Mutants are 1 to 3 mutations of a generated
# object of a kind the policy matches; the shape mutations (containers instead of KServe's model,
# a transformer, a Deployment, a Rollout with its own pod template) open the other branches of the
# policies, the others break (or mend) one rule at a time.

NAMESPACES = ("ml-prod", "ml-staging", "ml-dev", "team-sandbox", "default")
ENVIRONMENTS = ("prod", "staging", "qa", "dev")
GPU_RESOURCES = ("nvidia.com/gpu", "amd.com/gpu", "intel.com/gpu")
DIGEST = "sha256:" + "0123456789abcdef" * 4


def _containers(obj: dict) -> list[tuple[str, dict]]:
    """(role, container) of every container the policies look at: the ISVC predictor's model and
    the containers of predictor, transformer, explainer; a pod template's containers and init
    containers."""
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    out: list[tuple[str, dict]] = []
    if obj.get("kind") == "InferenceService":
        for component in ("predictor", "transformer", "explainer"):
            part = spec.get(component)
            if not isinstance(part, dict):
                continue
            if component == "predictor" and isinstance(part.get("model"), dict):
                out.append(("model", part["model"]))
            out += [(component, c) for c in part.get("containers") or [] if isinstance(c, dict)]
    else:
        pod = ((spec.get("template") or {}).get("spec") or {}) if isinstance(spec.get("template"), dict) else {}
        out += [("container", c) for c in pod.get("containers") or [] if isinstance(c, dict)]
        out += [("init", c) for c in pod.get("initContainers") or [] if isinstance(c, dict)]
    return out


def _good_container(name: str, image: str, rng: random.Random) -> dict:
    security = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "runAsNonRoot": True}
    if rng.random() < 0.5:
        security["readOnlyRootFilesystem"] = True
    return {"name": name, "image": image,
            "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
            "securityContext": security}


def _from_model(obj: dict, name: str) -> dict:
    """The ISVC's model as a plain container (an image instead of KServe's runtime)."""
    model = ((obj.get("spec") or {}).get("predictor") or {}).get("model") or {}
    container = {k: copy.deepcopy(v) for k, v in model.items()
                 if k in ("env", "args", "resources", "securityContext", "ports")}
    container["name"] = name
    container["image"] = f"registry.example.com/serving/{obj['metadata']['name']}:1.0.0"
    return container


def _meta(obj: dict) -> dict:
    return obj.setdefault("metadata", {})


def _labels(obj: dict) -> dict:
    return _meta(obj).setdefault("labels", {})


def _annotations(obj: dict) -> dict:
    return _meta(obj).setdefault("annotations", {})


def m_drop_label(obj, rng):
    labels = _labels(obj)
    if not labels:
        return None
    key = rng.choice(sorted(labels))
    del labels[key]
    return f"drop label {key}"


def m_blank_label(obj, rng):
    key = rng.choice(["mlgitops.dev/team", "app.kubernetes.io/name"])
    _labels(obj)[key] = ""  # (a label value cannot be blank otherwise: " " is refused)
    return f"blank label {key}"


def m_env_label(obj, rng):
    env = rng.choice(ENVIRONMENTS)
    _labels(obj)["mlgitops.dev/environment"] = env
    return f"environment label {env}"


def m_namespace(obj, rng):
    if obj.get("kind") in ("Namespace",):
        return None
    ns = rng.choice(NAMESPACES)
    _meta(obj)["namespace"] = ns
    return f"namespace {ns}"


def m_outside_environments(obj, rng):
    """Moved to a namespace of no environment, without an environment label (a team's sandbox)."""
    ns = rng.choice(("ml-dev", "team-sandbox"))
    _meta(obj)["namespace"] = ns
    _labels(obj).pop("mlgitops.dev/environment", None)
    return f"namespace {ns}, no environment label"


def m_no_namespace(obj, rng):
    """No metadata.namespace: the request's namespace (default) is the object's."""
    if "namespace" not in _meta(obj):
        return None
    del _meta(obj)["namespace"]
    return "no metadata.namespace"


def m_waiver(obj, rng, policies: tuple[str, ...] = ()):
    policy = rng.choice(policies) if policies else "pod-security"
    _labels(obj)[WAIVER_PREFIX + policy] = "2027-03-31"
    return f"waiver label {policy}"


def m_drop_annotation(obj, rng):
    annotations = _meta(obj).get("annotations") or {}
    if not annotations:
        return None
    key = rng.choice(sorted(annotations))
    del annotations[key]
    return f"drop annotation {key}"


def m_image(obj, rng):
    found = [c for _, c in _containers(obj) if "image" in c]
    if not found:
        return None
    container = rng.choice(found)
    repo = container["image"].split("@")[0].rsplit(":", 1)[0] if ":" in container["image"].split("/")[-1] \
        else container["image"].split("@")[0]
    image = rng.choice([f"{repo}:latest", repo, f"{repo}:1.4.2", f"{repo}@{DIGEST}", f"{repo}:latest@{DIGEST}",
                        "registry.example.com:5000/team/model", "registry.example.com:5000/team/model:2.0",
                        f"{repo}:LATEST", "python"])
    container["image"] = image
    return f"image {image}"


def m_runtime_version(obj, rng):
    model = ((obj.get("spec") or {}).get("predictor") or {}).get("model")
    if not isinstance(model, dict):
        return None
    version = rng.choice(["latest", "2.1.0", "latest-gpu"])
    model["runtimeVersion"] = version
    return f"runtimeVersion {version}"


def m_resources(obj, rng):
    found = _containers(obj)
    if not found:
        return None
    role, container = rng.choice(found)
    what = rng.choice(["resources", "limits", "requests", "requests.cpu", "limits.memory", "limits.cpu"])
    resources = container.get("resources")
    if what == "resources":
        container.pop("resources", None)
    elif isinstance(resources, dict):
        part, _, key = what.partition(".")
        if key:
            (resources.get(part) or {}).pop(key, None)
        else:
            resources.pop(part, None)
    return f"{role} {container.get('name', '')}: drop {what}"


def m_gpu(obj, rng):
    found = _containers(obj)
    if not found:
        return None
    role, container = rng.choice(found)
    gpu = rng.choice(GPU_RESOURCES)
    resources = container.setdefault("resources", {})
    resources.setdefault("limits", {})[gpu] = "1"
    if rng.random() < 0.5:
        resources.setdefault("requests", {})[gpu] = "1"
    return f"{role} {container.get('name', '')}: {gpu}"


def m_security(obj, rng):
    found = _containers(obj)
    if not found:
        return None
    role, container = rng.choice(found)
    sc = container.setdefault("securityContext", {})
    what = rng.choice(["runAsNonRoot false", "no runAsNonRoot", "privileged", "allowPrivilegeEscalation",
                       "no capabilities", "drop NET_RAW only", "no securityContext", "readOnlyRootFilesystem",
                       "readOnlyRootFilesystem false"])
    if what == "runAsNonRoot false":
        sc["runAsNonRoot"] = False
    elif what == "no runAsNonRoot":
        sc.pop("runAsNonRoot", None)
    elif what == "privileged":
        sc["privileged"] = True
        if obj.get("kind") == "Deployment":  # the API server refuses privileged without escalation
            sc["allowPrivilegeEscalation"] = True
    elif what == "allowPrivilegeEscalation":
        sc["allowPrivilegeEscalation"] = True
    elif what == "no capabilities":
        sc.pop("capabilities", None)
    elif what == "drop NET_RAW only":
        sc["capabilities"] = {"drop": ["NET_RAW"]}
    elif what == "no securityContext":
        container.pop("securityContext", None)
    elif what == "readOnlyRootFilesystem":
        sc["readOnlyRootFilesystem"] = True
    else:
        sc["readOnlyRootFilesystem"] = False
    return f"{role} {container.get('name', '')}: {what}"


def m_pod_security(obj, rng):
    """runAsNonRoot moved from the containers to the pod (or the pod says false)."""
    spec = obj.get("spec") or {}
    if obj.get("kind") == "InferenceService":
        component = rng.choice([c for c in ("predictor", "transformer", "explainer") if isinstance(spec.get(c), dict)]
                               or ["predictor"])
        pod = spec.setdefault(component, {})
    elif isinstance(spec.get("template"), dict):
        component = "template"
        pod = spec["template"].setdefault("spec", {})
    else:
        return None
    value = rng.choice([True, False])
    pod["securityContext"] = {"runAsNonRoot": value}
    for role, container in _containers(obj):
        if role in (component, "container", "init") or (component == "predictor" and role == "model"):
            (container.get("securityContext") or {}).pop("runAsNonRoot", None)
    return f"{component} pod runAsNonRoot {value}, none on its containers"


_CREDENTIAL_ENV = [
    {"name": "DB_PASSWORD", "value": "hunter2"}, {"name": "API_TOKEN", "value": "abc"},
    {"name": "AWS_ACCESS_KEY_ID", "value": "AKIA" + "ABCDEFGHIJKLMNOP"},
    {"name": "NOTE", "value": "hf_" + "a1B2c3D4e5" * 3}, {"name": "GITHUB", "value": "ghp_" + "x" * 36},
    {"name": "SLACK_HOOK", "value": "xoxb-1234567890-abc"},
    {"name": "CERT", "value": "-----BEGIN RSA PRIVATE KEY-----"},
    {"name": "MY_KEY", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
    {"name": "PASSWORD", "value": ""}, {"name": "MONKEY", "value": "banana"}, {"name": "api_key", "value": "v"},
    {"name": "TOKENIZER", "value": "bert"}, {"name": "SECRET", "value": "x"},
]
_CREDENTIAL_ARGS = [["--api-key=abc"], ["--password", "hunter2"], ["-token=xyz"], ["--model-name=foo"],
                    ["AKIA" + "ABCDEFGHIJKLMNOP"], ["--access_key=k"], ["--verbose"]]


def m_env(obj, rng):
    found = _containers(obj)
    if not found:
        return None
    role, container = rng.choice(found)
    env = copy.deepcopy(rng.choice(_CREDENTIAL_ENV))
    container.setdefault("env", []).append(env)
    return f"{role} {container.get('name', '')}: env {env['name']}={env.get('value', '<secretKeyRef>')!r}"


def m_args(obj, rng):
    found = _containers(obj)
    if not found:
        return None
    role, container = rng.choice(found)
    args = list(rng.choice(_CREDENTIAL_ARGS))
    container.setdefault("args", []).extend(args)
    return f"{role} {container.get('name', '')}: args {args}"


_STORAGE_URIS = ["http://example.com/m", "file:///mnt/models/m", "s3://other-bucket/m/", "s3://ml-models-prod/x/",
                 "gs://kfserving-examples/models/sklearn/1.0/model", "gs://evil-bucket/x",
                 "oci://registry.example.com/m:1",
                 "oci://docker.io/m:1", "hf://org/model", "pvc://claim/path", "S3://ml-models-prod/x",
                 "models/no-scheme", "s3://user:pass@ml-models-prod/x", "https://user:secret@host.example.com/x",
                 "s3://ml-models-prod", ""]


def m_storage_uri(obj, rng):
    model = ((obj.get("spec") or {}).get("predictor") or {}).get("model")
    if not isinstance(model, dict):
        return None
    uri = rng.choice(_STORAGE_URIS)
    model["storageUri"] = uri
    return f"storageUri {uri!r}"


def m_no_storage_uri(obj, rng):
    model = ((obj.get("spec") or {}).get("predictor") or {}).get("model")
    if not isinstance(model, dict) or "storageUri" not in model:
        return None
    del model["storageUri"]
    return "no storageUri"


def _canary(obj):
    strategy = (obj.get("spec") or {}).get("strategy")
    return strategy.get("canary") if isinstance(strategy, dict) and isinstance(strategy.get("canary"), dict) else None


def m_canary(obj, rng):
    if obj.get("kind") != "Rollout":
        return None
    canary = _canary(obj)
    if canary is None:
        obj.setdefault("spec", {})["strategy"] = {"canary": {"steps": [{"setWeight": 20}, {"pause": {}}]}}
        return "a canary with steps"
    steps = canary.get("steps") or []
    weights = [s for s in steps if isinstance(s, dict) and "setWeight" in s]
    what = rng.choice(["reverse weights", "repeat a weight", "weight 101", "weight 150", "no pauses", "no steps",
                       "empty steps", "analysis as a step", "no analysis", "weights only"])
    if what == "reverse weights" and len(weights) > 1:
        values = [s["setWeight"] for s in weights][::-1]
        for step, value in zip(weights, values):
            step["setWeight"] = value
    elif what == "repeat a weight" and len(weights) > 1:
        weights[1]["setWeight"] = weights[0]["setWeight"]
    elif what in ("weight 101", "weight 150") and weights:
        rng.choice(weights)["setWeight"] = int(what.split()[1])
    elif what == "no pauses":
        canary["steps"] = [s for s in steps if not (isinstance(s, dict) and "pause" in s)]
    elif what == "no steps":
        canary.pop("steps", None)
    elif what == "empty steps":
        canary["steps"] = []
    elif what == "analysis as a step":
        analysis = canary.pop("analysis", None) or {"templates": [{"templateName": obj["metadata"]["name"]}]}
        canary["steps"] = list(steps) + [{"analysis": {"templates": analysis.get("templates", [])}}]
    elif what == "no analysis":
        canary.pop("analysis", None)
    elif what == "weights only":
        canary["steps"] = [{"setWeight": w} for w in (10, 50, 100)]
    else:
        return None
    return f"canary: {what}"


def m_blue_green(obj, rng):
    if obj.get("kind") != "Rollout":
        return None
    name = obj["metadata"]["name"]
    obj.setdefault("spec", {})["strategy"] = {"blueGreen": {"activeService": f"{name}-stable"}}
    return "blueGreen strategy"


def m_rollout_replicas(obj, rng):
    if obj.get("kind") not in ("Rollout", "Deployment"):
        return None
    replicas = rng.choice([1, 2, 3, 5])
    obj.setdefault("spec", {})["replicas"] = replicas
    return f"replicas {replicas}"


def _annotate(obj, key: str, value: str | None) -> str:
    """Set the annotation `key` to `value` (None: remove it); the mutant's description."""
    annotations = _annotations(obj)
    if value is None:
        annotations.pop(key, None)
        return f"no annotation {key}"
    annotations[key] = value
    return f"annotation {key}={value!r}"


def m_pdb_annotation(obj, rng):
    key = "mlgitops.dev/pod-disruption-budget" if obj.get("kind") != "InferenceService" \
        else "mlgitops.dev/pod-disruption-budgets"
    value = rng.choice([None, "", "predictor=p", "transformer=t", "predictor=p,transformer=t,explainer=e"]
                       if key.endswith("s") else [None, "", "some-pdb"])
    return _annotate(obj, key, value)


def m_hpa(obj, rng):
    if obj.get("kind") != "HorizontalPodAutoscaler":
        return None
    spec = obj.setdefault("spec", {})
    what = rng.choice(["maxReplicas 51", "maxReplicas 200", "minReplicas 1", "minReplicas 3", "no minReplicas",
                       "stabilization 60", "stabilization 299", "stabilization 300", "stabilization 900",
                       "no behavior", "no scaleDown stabilization"])
    # (not minReplicas above maxReplicas: the API server's own validation refuses that HPA)
    if what.startswith("maxReplicas"):
        spec["maxReplicas"] = int(what.split()[1])
    elif what.startswith("minReplicas"):
        spec["minReplicas"] = int(what.split()[1])
        spec["maxReplicas"] = max(spec["minReplicas"], spec.get("maxReplicas") or 1)
    elif what == "no minReplicas":
        spec.pop("minReplicas", None)
    elif what.startswith("stabilization"):
        spec.setdefault("behavior", {}).setdefault("scaleDown", {})["stabilizationWindowSeconds"] = int(what.split()[1])
    elif what == "no behavior":
        spec.pop("behavior", None)
    else:
        ((spec.get("behavior") or {}).get("scaleDown") or {}).pop("stabilizationWindowSeconds", None)
    return f"hpa {what}"


def m_isvc_replicas(obj, rng):
    if obj.get("kind") != "InferenceService":
        return None
    spec = obj.setdefault("spec", {})
    component = rng.choice([c for c in ("predictor", "transformer", "explainer") if isinstance(spec.get(c), dict)])
    part = spec[component]
    what = rng.choice(["min above max", "max 60", "min 60", "min 3", "min 0", "no minReplicas", "max 4"])
    if what == "min above max":
        part["maxReplicas"] = 2
        part["minReplicas"] = 3
    elif what.startswith("max"):
        part["maxReplicas"] = int(what.split()[1])
    elif what.startswith("min "):
        part["minReplicas"] = int(what.split()[1])
    else:
        part.pop("minReplicas", None)
    return f"{component} {what}"


def m_deployment_mode(obj, rng):
    if obj.get("kind") != "InferenceService":
        return None
    mode = rng.choice(["Standard", "RawDeployment", "Serverless", "Knative", None])
    if mode is None:
        _annotations(obj).pop("serving.kserve.io/deploymentMode", None)
    else:
        _annotations(obj)["serving.kserve.io/deploymentMode"] = mode
    return f"deploymentMode {mode}"


def m_autoscaler_class(obj, rng):
    if obj.get("kind") != "InferenceService":
        return None
    value = rng.choice(["none", "hpa", "external", None])
    if value is None:
        _annotations(obj).pop("serving.kserve.io/autoscalerClass", None)
    else:
        _annotations(obj)["serving.kserve.io/autoscalerClass"] = value
    return f"autoscalerClass {value}"


def m_slo(obj, rng):
    if obj.get("kind") != "PrometheusRule":
        return None
    which = rng.choice(["availability", "latency"])
    value = rng.choice(["95", "99", "99.0", "99.95", "100", None] if which == "availability"
                       else ["", "p99=2s", None])
    return _annotate(obj, f"mlgitops.dev/slo-{which}", value)


def m_slo_not_a_number(obj, rng):
    """An availability that is not a number: the policy's double() fails (an evaluation error)."""
    if obj.get("kind") != "PrometheusRule":
        return None
    _annotations(obj)["mlgitops.dev/slo-availability"] = rng.choice(["high", "99%"])
    return "slo-availability not a number"


def m_istio_version(obj, rng):
    if obj.get("apiVersion", "").startswith("networking.istio.io/"):
        obj["apiVersion"] = "networking.istio.io/v1" if obj["apiVersion"].endswith("v1beta1") \
            else "networking.istio.io/v1beta1"
        return f"apiVersion {obj['apiVersion']}"
    return None


def m_ingress_tls(obj, rng):
    """An Ingress's TLS: dropped, its Secret dropped or blank, a host outside it, or a host it lists
    in another case (host names are compared exactly)."""
    spec = obj.get("spec")
    if obj.get("kind") != "Ingress" or not isinstance(spec, dict):
        return None
    rules = spec.setdefault("rules", [])
    host = next((r.get("host") for r in rules if isinstance(r, dict) and r.get("host")), "m.ml.example.com")
    what = rng.choice(["no tls", "no secretName", "blank secretName", "extra host", "host case", "tls, no hosts"])
    if what == "no tls":
        spec.pop("tls", None)
    elif what == "extra host":
        rules.append({"host": f"extra.{host}"})
    elif what == "host case":
        spec["tls"] = [{"hosts": [host.upper()], "secretName": "m-tls"}]
    else:
        entry = {"hosts": [host], "secretName": "m-tls"}
        if what == "no secretName":
            del entry["secretName"]
        elif what == "blank secretName":
            entry["secretName"] = ""
        else:
            del entry["hosts"]
        spec["tls"] = [entry]
    return f"ingress {what}"


_NETWORK_SOURCES = {  # an ingress rule's `from`, as a hand-written NetworkPolicy may spell it
    "no from": None,
    "empty from": [],  # the API server drops the empty list before admission: the same as no from
    "every namespace": [{"namespaceSelector": {}}],
    "every namespace (empty matchLabels)": [{"namespaceSelector": {"matchLabels": {}}}],
    "every pod of every namespace": [{"namespaceSelector": {}, "podSelector": {}}],
    "ipBlock 0.0.0.0/0": [{"ipBlock": {"cidr": "0.0.0.0/0"}}],
    "ipBlock ::/0": [{"ipBlock": {"cidr": "::/0"}}],
    # allowed: named sources
    "a named namespace": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "team-a"}}}],
    "every pod of its own namespace": [{"podSelector": {}}],
    "labelled pods of labelled namespaces": [{"namespaceSelector": {"matchExpressions": [
        {"key": "team", "operator": "In", "values": ["risk"]}]}, "podSelector": {"matchLabels": {"app": "x"}}}],
    "ipBlock 10.0.0.0/8": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}],
}


def m_network_policy(obj, rng):
    """A NetworkPolicy's ingress: a rule added with sources from _NETWORK_SOURCES (or none), the
    existing rules dropped, or policyTypes without Ingress."""
    spec = obj.get("spec")
    if obj.get("kind") != "NetworkPolicy" or not isinstance(spec, dict):
        return None
    what = rng.choice([*_NETWORK_SOURCES, "egress only", "ingress and egress", "no ingress rules"])
    if what == "egress only":
        spec["policyTypes"] = ["Egress"]
    elif what == "ingress and egress":
        spec["policyTypes"] = ["Ingress", "Egress"]
    elif what == "no ingress rules":  # deny all ingress: allowed
        spec.pop("ingress", None)
    else:
        rule: dict = {"ports": [{"port": rng.choice([8080, 9000]), "protocol": "TCP"}]}
        if _NETWORK_SOURCES[what] is not None:
            rule["from"] = copy.deepcopy(_NETWORK_SOURCES[what])
        spec.setdefault("ingress", []).append(rule)
    return f"network policy: {what}"


# shapes
def s_isvc_containers(obj, rng):
    predictor = (obj.get("spec") or {}).get("predictor")
    if obj.get("kind") != "InferenceService" or not isinstance(predictor, dict) or "model" not in predictor:
        return None
    predictor["containers"] = [_from_model(obj, "kserve-container")]
    del predictor["model"]
    return "predictor containers instead of a model"


def s_isvc_component(obj, rng):
    spec = obj.get("spec")
    if obj.get("kind") != "InferenceService" or not isinstance(spec, dict):
        return None
    component = rng.choice(["transformer", "explainer"])
    name = obj["metadata"]["name"]
    spec[component] = {"containers": [_good_container(f"{component[:5]}-container",
                                                      f"registry.example.com/{name}-{component}:2.3.1", rng)]}
    if rng.random() < 0.5:
        spec[component]["minReplicas"] = rng.choice([1, 2])
    return f"a {component}"


def s_deployment(obj, rng):
    if obj.get("kind") not in ("InferenceService", "Rollout"):
        return None
    name = obj["metadata"]["name"]
    container = _from_model(obj, "main") if obj["kind"] == "InferenceService" \
        else _good_container("main", f"registry.example.com/serving/{name}:1.0.0", rng)
    meta = obj["metadata"]
    keep = {k: v for k, v in meta.items() if k in ("name", "namespace", "labels", "annotations")}
    obj.clear()
    obj.update({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": keep,
                "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                         "template": {"metadata": {"labels": {"app": name}},
                                      "spec": {"containers": [container]}}}})
    if rng.random() < 0.4:
        obj["spec"]["template"]["spec"]["initContainers"] = [
            _good_container("init", f"registry.example.com/tools/fetch:{rng.choice(['0.3.1', 'latest'])}", rng)]
    return "as a Deployment"


def s_rollout_template(obj, rng):
    spec = obj.get("spec")
    if obj.get("kind") != "Rollout" or not isinstance(spec, dict) or "template" in spec:
        return None
    name = obj["metadata"]["name"]
    spec.pop("workloadRef", None)
    labels = dict(((spec.get("selector") or {}).get("matchLabels") or {"app": name}))
    spec.setdefault("selector", {"matchLabels": labels})
    pod = {"containers": [_good_container("main", f"registry.example.com/serving/{name}:1.0.0", rng)]}
    if rng.random() < 0.4:
        pod["initContainers"] = [_good_container("init", "registry.example.com/tools/fetch:0.3.1", rng)]
    spec["template"] = {"metadata": {"labels": labels}, "spec": pod}
    return "a pod template instead of workloadRef"


SHAPES: tuple[Callable, ...] = (s_isvc_containers, s_isvc_component, s_deployment, s_rollout_template)
MUTATIONS: tuple[Callable, ...] = (
    m_drop_label, m_blank_label, m_env_label, m_namespace, m_outside_environments, m_no_namespace, m_waiver,
    m_drop_annotation,
    m_image, m_runtime_version, m_resources, m_gpu, m_security, m_pod_security, m_env, m_args, m_storage_uri,
    m_no_storage_uri, m_canary, m_blue_green, m_rollout_replicas, m_pdb_annotation, m_hpa, m_isvc_replicas,
    m_deployment_mode, m_autoscaler_class, m_slo, m_slo_not_a_number, m_istio_version, m_ingress_tls,
    m_network_policy,
)

# The mutations most likely to matter to a policy (a hint: any mutation may be drawn; a policy not
# named here draws from all of them).
RELEVANT: dict[str, tuple[Callable, ...]] = {
    "canary-analysis-required": (m_canary, m_blue_green, m_deployment_mode, m_autoscaler_class, m_isvc_replicas,
                                 m_env_label),
    "canary-steps": (m_canary, m_blue_green),
    "disallow-latest-image": (m_image, m_runtime_version),
    "gpu-allowed": (m_gpu, m_namespace, m_outside_environments, m_no_namespace),
    "hpa-bounds": (m_hpa, m_isvc_replicas, m_env_label),
    "ingress-tls": (m_ingress_tls, m_env_label, m_waiver),
    "network-policy-ingress": (m_network_policy, m_env_label, m_waiver),
    "namespace-environment": (m_env_label, m_namespace, m_outside_environments, m_no_namespace, m_drop_label),
    "no-literal-credentials": (m_env, m_args, m_storage_uri),
    "pdb-required": (m_pdb_annotation, m_hpa, m_isvc_replicas, m_rollout_replicas, m_deployment_mode),
    "pod-security": (m_security, m_pod_security),
    "read-only-root-filesystem": (m_security,),
    "require-owner-labels": (m_drop_label, m_blank_label),
    "require-resources": (m_resources,),
    "slo-objectives": (m_slo, m_slo_not_a_number, m_env_label),
    "storage-uri-allowlist": (m_storage_uri, m_no_storage_uri),
}


def _fingerprint(obj: dict) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()


def mutants(policy: str, bases: list[Item], matches: Callable[[dict], bool], *, seed: int = SEED,
            pool: int = 240, policies: tuple[str, ...] = ()) -> list[Item]:
    """Up to `pool` distinct mutants of `bases` that `matches` (the policy's resource rules) keeps,
    deterministic for (policy, seed, bases): 1 to 3 mutations each, after a shape mutation in
    half of them, mostly mutations RELEVANT to the policy."""
    rng = random.Random(f"{seed}:{policy}")
    candidates = [b for b in bases if matches(b.obj)]
    out: list[Item] = []
    seen = {_fingerprint(b.obj) for b in candidates}
    if not candidates:
        return out
    attempts = 0
    while len(out) < pool and attempts < pool * 20:
        attempts += 1
        base = rng.choice(candidates)
        obj = copy.deepcopy(base.obj)
        done = []
        if rng.random() < 0.5:
            shape = rng.choice(SHAPES)
            what = shape(obj, rng)
            if what:
                done.append(what)
        relevant = RELEVANT.get(policy, MUTATIONS)
        for _ in range(rng.choice((1, 1, 2, 3))):
            mutation = rng.choice(relevant if rng.random() < 0.7 else MUTATIONS)
            what = mutation(obj, rng, policies) if mutation is m_waiver else mutation(obj, rng)
            if what:
                done.append(what)
        if not done or not matches(obj):
            continue
        key = _fingerprint(obj)
        if key in seen:
            continue
        seen.add(key)
        out.append(Item(f"mutant of {base.label}: {'; '.join(done)}", "mutant", obj, [obj]))
    return out


# Edge mutants: the same handful for every policy (each applied to the first generated object of a
# kind the policy matches that it applies to), at the corners where two CEL implementations or the
# API server's own handling of a decision may differ: number parsing, regex boundaries, limits of
# the messages (a messageExpression value over 5 KiB, warnings over the 4 KiB header budget),
# defaulting of core kinds, exact bounds.

def _model(obj):
    model = ((obj.get("spec") or {}).get("predictor") or {}).get("model")
    return model if obj.get("kind") == "InferenceService" and isinstance(model, dict) else None


def _set_storage_uri(uri):
    def edit(obj):
        model = _model(obj)
        if model is None:
            return False
        model["storageUri"] = uri
        return True
    return edit


def _set_annotation(key, value, kind):
    def edit(obj):
        if obj.get("kind") != kind:
            return False
        _annotations(obj)[key] = value
        return True
    return edit


def _many_containers(count, *, resources=False):
    """A Deployment (from an ISVC or Rollout) with `count` bare containers named with 63 characters."""
    def edit(obj):
        if obj.get("kind") not in ("InferenceService", "Rollout") or not s_deployment(obj, random.Random(0)):
            return False
        containers = [{"name": (f"c{i}-" + "x" * 63)[:63], "image": "registry.example.com/sidecar:1.0"}
                      for i in range(count)]
        if resources:
            for c in containers:
                c["resources"] = {"limits": {"cpu": "1", "memory": "1Gi"}}
        obj["spec"]["template"]["spec"]["containers"] = containers
        obj["spec"]["template"]["spec"].pop("initContainers", None)
        return True
    return edit


def _deployment_limits_only(obj):
    """Limits and no requests on a Deployment's container (for a Pod the API server would copy the
    limits into requests)."""
    if obj.get("kind") not in ("InferenceService", "Rollout") or not s_deployment(obj, random.Random(0)):
        return False
    for container in obj["spec"]["template"]["spec"]["containers"]:
        container["resources"] = {"limits": {"cpu": "1", "memory": "1Gi"}}
    return True


def _isvc_limits_only(obj):
    model = _model(obj)
    if model is None:
        return False
    model["resources"] = {"limits": {"cpu": "1", "memory": "1Gi"}}
    return True


def _weights(*weights):
    def edit(obj):
        if obj.get("kind") != "Rollout" or _canary(obj) is None:
            return False
        steps = []
        for w in weights:
            steps += [{"setWeight": w}, {"pause": {"duration": "1m"}}]
        _canary(obj)["steps"] = steps
        return True
    return edit


def _env(name, value):
    def edit(obj):
        model = _model(obj)
        target = model if model is not None else next((c for _, c in _containers(obj)), None)
        if target is None:
            return False
        target.setdefault("env", []).append({"name": name, "value": value})
        return True
    return edit


def _args(*args):
    def edit(obj):
        model = _model(obj)
        if model is None:
            return False
        model.setdefault("args", []).extend(args)
        return True
    return edit


def _predictor_image(image):
    def edit(obj):
        if _model(obj) is None or not s_isvc_containers(obj, random.Random(0)):
            return False
        obj["spec"]["predictor"]["containers"][0]["image"] = image
        return True
    return edit


def _hpa(**fields):
    def edit(obj):
        if obj.get("kind") != "HorizontalPodAutoscaler":
            return False
        spec = obj["spec"]
        if "stabilization" in fields:
            spec.setdefault("behavior", {}).setdefault("scaleDown", {})["stabilizationWindowSeconds"] = \
                fields["stabilization"]
        if "maxReplicas" in fields:
            spec["maxReplicas"] = fields["maxReplicas"]
        return True
    return edit


_SLO = "mlgitops.dev/slo-availability"
EDGES: tuple[tuple[str, Callable[[dict], bool]], ...] = (
    ("storageUri of 6000 characters without a scheme (a message over 5 KiB)", _set_storage_uri("models/" + "x" * 6000)),
    ("storageUri of 4000 characters without a scheme", _set_storage_uri("models/" + "x" * 4000)),
    ("slo-availability ' 99.9' (leading space)", _set_annotation(_SLO, " 99.9", "PrometheusRule")),
    ("slo-availability '99.9 ' (trailing space)", _set_annotation(_SLO, "99.9 ", "PrometheusRule")),
    ("slo-availability '0x63' (hexadecimal)", _set_annotation(_SLO, "0x63", "PrometheusRule")),
    ("slo-availability '0x1.8cp6' (hexadecimal float)", _set_annotation(_SLO, "0x1.8cp6", "PrometheusRule")),
    ("slo-availability '1e2'", _set_annotation(_SLO, "1e2", "PrometheusRule")),
    ("slo-availability 'Infinity'", _set_annotation(_SLO, "Infinity", "PrometheusRule")),
    ("slo-availability 'NaN'", _set_annotation(_SLO, "NaN", "PrometheusRule")),
    ("slo-availability '+99.5'", _set_annotation(_SLO, "+99.5", "PrometheusRule")),
    ("slo-availability '99_9'", _set_annotation(_SLO, "99_9", "PrometheusRule")),
    ("slo-availability '99.'", _set_annotation(_SLO, "99.", "PrometheusRule")),
    ("68 bare containers with 63-character names (messages over 4 KiB)", _many_containers(68)),
    ("80 bare containers with 63-character names (messages over 5 KiB)", _many_containers(80)),
    ("80 containers with limits only (messages over 5 KiB)", _many_containers(80, resources=True)),
    ("a Deployment whose container has limits and no requests", _deployment_limits_only),
    ("a predictor model with limits and no requests", _isvc_limits_only),
    ("canary weights 0, 100", _weights(0, 100)),
    ("canary weights 50, 50", _weights(50, 50)),
    ("canary weight 100 only", _weights(100)),
    ("env AWS key with lowercase letters", _env("NOTE", "AKIA" + "abcdefghijklmnop")),
    ("env hf_ token of 29 characters", _env("NOTE", "hf_" + "a" * 29)),
    ("env hf_ token of 30 characters", _env("NOTE", "hf_" + "a" * 30)),
    ("env name 'Password'", _env("Password", "x")),
    ("env name 'KEYCLOAK_URL'", _env("KEYCLOAK_URL", "https://sso")),
    ("env name 'X_API_KEY'", _env("X_API_KEY", "x")),
    ("env private key inside text", _env("PEM", "cert: -----BEGIN EC PRIVATE KEY----- ...")),
    ("args '--Api-Key=x'", _args("--Api-Key=x")),
    ("args '--token='", _args("--token=")),
    ("image with a registry port and no tag", _predictor_image("registry.example.com:5000/serving/model")),
    ("image tag latest-gpu", _predictor_image("registry.example.com/serving/model:latest-gpu")),
    ("image tag and digest", _predictor_image(f"registry.example.com/serving/model:latest@{DIGEST}")),
    ("image 'model:' (empty tag)", _predictor_image("registry.example.com/serving/model:")),
    ("HPA maxReplicas 50 (the cap)", _hpa(maxReplicas=50)),
    ("HPA scale-down stabilization 300 (the minimum)", _hpa(stabilization=300)),
    ("HPA scale-down stabilization 299", _hpa(stabilization=299)),
)


def edge_mutants(policy: str, bases: list[Item], matches: Callable[[dict], bool],
                 evaluated: Callable[[dict], bool] = lambda obj: True) -> list[Item]:
    """One mutant per EDGES entry: the entry applied to the first generated object the policy's
    rules match for which `evaluated` (the engine's "the policy applies to it") holds once edited;
    entries that apply to no such object are left out."""
    out = []
    for what, edit in EDGES:
        for base in bases:
            if not matches(base.obj):
                continue
            obj = copy.deepcopy(base.obj)
            if edit(obj) and matches(obj) and evaluated(obj):
                out.append(Item(f"edge mutant of {base.label}: {what}", "mutant", obj, [obj]))
                break
    return out


# --- completing test-case objects -------------------------------------------------------------------

def complete(obj: dict) -> tuple[dict, list[str]]:
    """`obj` with the fields the API server requires that a test case left out (only absent ones:
    nothing the case sets is changed), and what was added. A test case's object only needs what its
    policy reads; the server validates the whole object before any policy sees it."""
    out = copy.deepcopy(obj)
    added: list[str] = []
    kind = out.get("kind")
    name = str((out.get("metadata") or {}).get("name") or "x")
    spec = out.get("spec")
    if kind == "HorizontalPodAutoscaler" and isinstance(spec, dict):
        ref = spec.setdefault("scaleTargetRef", {})
        for key, value in (("apiVersion", "apps/v1"), ("kind", "Deployment"), ("name", name)):
            if isinstance(ref, dict) and not ref.get(key):
                ref[key] = value
                added.append(f"spec.scaleTargetRef.{key}")
        if "maxReplicas" not in spec:
            low = spec.get("minReplicas")
            spec["maxReplicas"] = max(low, 1) if isinstance(low, int) else 1
            added.append("spec.maxReplicas")
    elif kind == "Service" and out.get("apiVersion") == "v1":
        spec = out.setdefault("spec", {})
        if isinstance(spec, dict) and not spec.get("ports") and spec.get("type") != "ExternalName":
            spec["ports"] = [{"port": 80}]
            added.append("spec.ports")
    elif kind == "Rollout" and spec is None:
        out["spec"] = {"selector": {"matchLabels": {"app": name}},
                       "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [
                           {"name": "main", "image": "registry.example.com/app:1.0"}]}}}
        added.append("spec")
    for _role, container in _containers(out):
        resources = container.get("resources")
        if not isinstance(resources, dict) or not isinstance(resources.get("requests"), dict):
            continue
        limits = resources.setdefault("limits", {})
        for key, value in resources["requests"].items():  # extended resources need a limit (= request)
            if "/" in str(key) and key not in limits:
                limits[key] = value
                added.append(f"{_role} resources.limits[{key}]")
    return out, added


# --- verdicts -------------------------------------------------------------------------------------

@dataclasses.dataclass
class Verdict:
    kind: str  # allow | deny | warn | refused (the server refused the object for another reason)
    # deny: (policy, binding, message, exact) — the engine lists the first one of every Deny binding,
    # the server reports one; exact False: an evaluation error (only its expression is compared)
    denials: list = dataclasses.field(default_factory=list)
    warnings: list = dataclasses.field(default_factory=list)  # (policy, binding, message)
    detail: str = ""
    status: int = 0  # the server's HTTP status
    # the server cut its warnings to WARNING_ITEM_RUNES each: over WARNING_TOTAL_RUNES in all, the
    # limit of the Warning headers of one response (k8s.io/apiserver endpoints/filters/warning.go)
    truncated: bool = False

    def describe(self) -> str:
        if self.kind == "deny":
            return "deny: " + " | ".join(f"[{b}] {m}" for _, b, m, _ in self.denials)
        if self.kind == "warn":
            return "warn: " + " | ".join(f"[{b}] {m}" for _, b, m in self.warnings)
        if self.kind == "refused":
            return f"refused: {self.detail}"
        return "allow" + (f" ({self.detail})" if self.detail else "")


_VALIDATION_INDEX = re.compile(r"^validations\[(\d+)\]")
_VARIABLE_NAME = re.compile(r"^variables\[\d+\] \(([^)]*)\)")


def _failure_index(policy, failure) -> int:
    """Where an evaluation failure falls among the validations, in the server's order."""
    what = failure.expression.what
    match = _VALIDATION_INDEX.match(what)
    if match:
        return int(match.group(1))
    match = _VARIABLE_NAME.match(what)
    if match:  # the server evaluates variables lazily: at the first validation that reads it
        users = [v.index for v in policy.validations if match.group(1) in v.expression.uses]
        return min(users) if users else len(policy.validations)
    return -1  # a matchCondition: before every validation


def engine_verdict(policy, item: Item, pset, binding_names: dict[str, str] | None = None) -> Verdict:
    """What mlgitops' engine says the server does with `item` under `policy` (its bindings as the
    server has them: `binding_names` maps a binding's name to the name it was installed under)."""
    from mlgitops.diagnostics import ERROR, WARNING
    from mlgitops.policy.check import run_policy
    from mlgitops.policy.match import Target, namespace_labels

    names = binding_names or {}
    target = Target(item.obj, namespace_labels(item.others))
    denials, warnings = [], []
    matched = False
    for binding, outcome in run_policy(policy, target, pset, item.params):
        name = names.get(binding.name, binding.name)
        if isinstance(outcome, str):  # its parameters are missing
            entries = [(NO_PARAMS, True)]
            matched = True
        else:
            matched = matched or outcome.matched
            ordered = [(v.validation.index, 0, v.message, True) for v in outcome.violations]
            failure_action = policy.failure_policy == "Fail"
            ordered += [(_failure_index(policy, f), 1,
                         f"expression '{f.expression.text}' resulted in error: {f.message}", False)
                        for f in outcome.failures if failure_action]
            entries = [(m, exact) for _, _, m, exact in sorted(ordered, key=lambda e: (e[0], e[1]))]
        if binding.severity == ERROR and entries:
            denials.append((policy.name, name, entries[0][0], entries[0][1]))
        elif binding.severity == WARNING:
            warnings += [(policy.name, name, m) for m, _ in entries]
    if denials:
        return Verdict("deny", denials, warnings)
    if warnings:
        return Verdict("warn", [], warnings)
    return Verdict("allow", detail="" if matched else "not matched")


WARNING_ITEM_RUNES = 256
WARNING_TOTAL_RUNES = 4 * 1024


def server_verdict(response) -> Verdict:
    warnings = []
    for text in response.warnings:
        match = WARN_RE.match(text)
        if match:
            warnings.append(match.groups())
    truncated = any(len(text) == WARNING_ITEM_RUNES for text in response.warnings)
    if response.ok:
        return Verdict("warn", [], warnings, truncated=truncated) if warnings else Verdict("allow")
    match = DENY_RE.search(response.message)
    if match:
        policy, binding, message = match.groups()
        return Verdict("deny", [(policy, binding, message, True)], warnings, status=response.status)
    return Verdict("refused", detail=f"{response.status} {response.message}", status=response.status)


def _same_message(engine: tuple, server: tuple) -> bool:
    policy, binding, message, exact = engine
    if (policy, binding) != server[:2]:
        return False
    if exact:
        return message == server[2]
    # an evaluation error: the same expression failed (CEL implementations word errors differently)
    head = message.split("' resulted in error: ")[0]
    return server[2].startswith(head + "' resulted in error: ")


def _warning_text(policy: str, binding: str, message: str) -> str:
    return f"Validation failed for ValidatingAdmissionPolicy '{policy}' with binding '{binding}': {message}"


def agree(engine: Verdict, server: Verdict) -> bool:
    if engine.kind != server.kind:
        return False
    if server.kind == "deny":
        return any(_same_message(e, server.denials[0]) for e in engine.denials)
    if not server.truncated:
        return set(engine.warnings) == set(server.warnings)
    # The warnings of the response went over the header budget: the server sent the first
    # WARNING_ITEM_RUNES characters of each (a transport limit, not the policy's decision).
    full = {_warning_text(*w) for w in engine.warnings}
    sent = {_warning_text(*w) for w in server.warnings}
    return sum(len(t) for t in full) > WARNING_TOTAL_RUNES and len(full) == len(sent) and all(
        any(f == t or (len(t) == WARNING_ITEM_RUNES and f.startswith(t)) for f in full) for t in sent)


# --- one policy in the cluster -------------------------------------------------------------------

@dataclasses.dataclass
class Stats:
    policies: int = 0
    pairs: int = 0
    agreements: int = 0
    denials: int = 0
    warnings: int = 0
    allows: int = 0
    rechecked: int = 0
    not_comparable: list = dataclasses.field(default_factory=list)
    disagreements: list = dataclasses.field(default_factory=list)
    by_policy: dict = dataclasses.field(default_factory=dict)
    seconds: float = 0.0
    seen: set = dataclasses.field(default_factory=set)  # fingerprints of the objects sent
    settle: list = dataclasses.field(default_factory=list)  # (policy, what, seconds until the probe agreed)
    updates: set = dataclasses.field(default_factory=set)  # items sent as an update (they exist)
    truncated_warnings: int = 0  # comparisons where the server cut its warnings (header budget)
    edges: list = dataclasses.field(default_factory=list)  # every edge mutant's verdicts
    completed: list = dataclasses.field(default_factory=list)  # test-case objects completed (complete())

    @property
    def objects(self) -> int:
        return len(self.seen)

    def as_json(self) -> dict:
        return {"policies": self.policies, "objects": self.objects, "pairs_compared": self.pairs,
                "agreements": self.agreements, "denials": self.denials, "warnings": self.warnings,
                "allows": self.allows, "rechecked": self.rechecked,
                "not_comparable": len(self.not_comparable), "disagreements": len(self.disagreements),
                "not_comparable_objects": self.not_comparable, "disagreement_details": self.disagreements,
                "by_policy": self.by_policy, "settle_seconds": self.settle, "seconds": round(self.seconds, 1),
                "sent_as_update": sorted(self.updates), "completed": self.completed,
                "truncated_warnings": self.truncated_warnings, "edge_verdicts": self.edges}

    def summary(self) -> str:
        return (f"policies {self.policies}, objects {self.objects}, pairs compared {self.pairs}, "
                f"denials {self.denials}, warnings {self.warnings}, allowed {self.allows}, "
                f"not comparable {len(self.not_comparable)}, disagreements {len(self.disagreements)} "
                f"(re-checked {self.rechecked}; {self.seconds:.1f}s)")


class Round:
    """One policy installed for real (its ValidatingAdmissionPolicy, its bindings, parameter objects
    for test cases that override the parameters), every item compared, then all removed.

    `run(..., wait_for_removal=False)` does not wait for the removal to reach the admission plugin:
    the next round's probe proves it (module docstring); `settle_removal()` waits for it (the last
    round, before other tests use the cluster)."""

    def __init__(self, client, policy, pset, vap: dict, bindings: list[dict], stats: Stats,
                 policies_dir: pathlib.Path = REPO_ROOT / "policies") -> None:
        self.client, self.policy, self.pset = client, policy, pset
        self.policies_dir = policies_dir
        self.vap, self.bindings, self.stats = vap, bindings, stats
        self.installed: list[dict] = []  # what to delete at the end, in order
        self.probe: tuple[Item, Verdict] | None = None
        self.variant = 0

    def send(self, item: Item, client=None):
        """A dry-run create; a dry-run replace (an UPDATE) of an object that exists in the cluster
        (a test case about the namespace's default ServiceAccount, a policy's own parameters).
        Over `client`'s connection (default: the round's)."""
        client = client or self.client
        try:
            response = client.create(item.obj)
            if response.status == 409 and isinstance(response.body, dict) \
                    and response.body.get("reason") == "AlreadyExists":
                self.stats.updates.add(item.label)
                response = client.replace(item.obj)
            return response
        except KeyError:  # a kind the server does not serve
            return None

    def verdict(self, item: Item, client=None) -> Verdict:
        response = self.send(item, client)
        if response is None:
            return Verdict("refused", detail="the server serves no such kind")
        return server_verdict(response)

    # --- installing ----------------------------------------------------------------------------
    def _apply(self, obj: dict) -> None:
        response = self.client.apply(obj, manager="mlgitops-policydiff")
        if not response.ok:
            raise AssertionError(f"the server refuses {obj['kind']} {obj['metadata']['name']}: "
                                 f"{response.status} {response.message}")
        self.installed.append(obj)

    def _delete(self, obj: dict) -> None:
        response = self.client.delete(obj)
        if not response.ok and response.status != 404:
            raise AssertionError(f"cannot delete {obj['kind']} {obj['metadata']['name']}: {response.message}")
        if obj in self.installed:
            self.installed.remove(obj)

    def variant_bindings(self, params: dict | None) -> tuple[list[dict], dict[str, str], list[dict]]:
        """(bindings to install, engine binding name -> installed name, parameter objects to create)
        for one params variant: variant 0 is the policy as written; a test case's params override
        gets a ConfigMap of its own (the merged parameters) and bindings renamed `<name>-v<k>`
        pointing at it."""
        if params is None or self.policy.param_kind is None:
            return [copy.deepcopy(b) for b in self.bindings], {}, []
        self.variant += 1
        out, names, extra = [], {}, []
        for binding in self.bindings:
            ref = (binding.get("spec") or {}).get("paramRef")
            b = copy.deepcopy(binding)
            name = f"{binding['metadata']['name']}-v{self.variant}"
            names[binding["metadata"]["name"]] = name
            b["metadata"] = {"name": name}
            if isinstance(ref, dict):
                ns = ref.get("namespace") or "default"
                api_version, kind = self.policy.param_kind
                base = next((o for o in params_documents(self.policies_dir)
                             if (o.get("apiVersion"), o.get("kind")) == (api_version, kind)
                             and (o.get("metadata") or {}).get("namespace") == ns
                             and (o.get("metadata") or {}).get("name") == ref.get("name")),
                            {"apiVersion": api_version, "kind": kind})
                merged = merged_params(base, params)
                merged["metadata"] = {"name": f"{ref.get('name') or 'params'}-v{self.variant}", "namespace": ns}
                extra.append(merged)
                b["spec"]["paramRef"] = {k: v for k, v in ref.items() if k != "selector"}
                b["spec"]["paramRef"]["name"] = merged["metadata"]["name"]
            out.append(b)
        return out, names, extra

    def settle(self, candidates: list[tuple[Item, Verdict]], expect: Callable[[Verdict, Verdict], bool],
               what: str) -> float:
        """Send probes (round robin) until one gets `expect(engine, server)`; the seconds it took.
        A probe the server refuses for another reason is dropped."""
        started = time.monotonic()
        deadline = started + SETTLE_SECONDS
        pending = list(candidates[:8])
        last: dict[str, str] = {}
        while pending and time.monotonic() < deadline:
            for item, engine in list(pending):
                server = self.verdict(item)
                if expect(engine, server):
                    self.probe = (item, engine)
                    return time.monotonic() - started
                last[item.label] = f"server {server.describe()}; engine {engine.describe()}"
                if server.kind == "refused":
                    pending.remove((item, engine))
            time.sleep(0.1)
        raise AssertionError(f"{self.policy.name}: the server did not settle ({what}) within {SETTLE_SECONDS:.0f}s; "
                             "probes:\n" + "\n".join(f"- {k}: {v}" for k, v in last.items()))

    def run(self, items: list[Item], probe_pool: list[Item], *, wait_for_removal: bool = True) -> None:
        by_variant: dict[str, list[Item]] = {}
        for item in items:
            key = item.params_key if self.policy.param_kind is not None else ""
            by_variant.setdefault(key, []).append(item)
        try:
            self._apply(self.vap)
            current: list[dict] = []
            for key in sorted(by_variant, key=lambda k: (k != "", k)):
                group = by_variant[key]
                params = group[0].params if key else None
                bindings, names, extra = self.variant_bindings(params)
                for obj in extra:
                    self._apply(obj)
                for old in current:
                    self._delete(old)
                for binding in bindings:
                    self._apply(binding)
                current = bindings
                # probes: objects the engine denies (or warns about) under this variant
                candidates = []
                for item in group + probe_pool:
                    probe_item = item if not key else dataclasses.replace(item, params=params)
                    engine = engine_verdict(self.policy, probe_item, self.pset, names)
                    if engine.kind in ("deny", "warn"):
                        candidates.append((probe_item, engine))
                    if len(candidates) >= 8:
                        break
                if candidates:
                    waited = self.settle(candidates, agree, "install")
                    self.stats.settle.append((self.policy.name, f"variant {self.variant}", round(waited, 2)))
                else:  # nothing to probe with: give the plugin time, disagreements are re-checked anyway
                    time.sleep(2.0)
                    self.probe = None
                self.compare(group, names)
        finally:
            self.remove()
            if wait_for_removal or self.probe is None:
                self.settle_removal()

    def remove(self) -> None:
        """Delete what the round installed (bindings first)."""
        for obj in [o for o in self.installed if o.get("kind") == BINDING_KIND]:
            self._delete(obj)
        for obj in list(self.installed):
            self._delete(obj)

    def settle_removal(self) -> None:
        """Wait until the last probe is admitted again (no denial, no warning): the removal is in force."""
        if self.probe is not None:
            item, _ = self.probe
            waited = self.settle([(item, Verdict("allow"))], lambda _e, s: s.kind == "allow", "removal")
            self.stats.settle.append((self.policy.name, "removal", round(waited, 2)))
        else:
            time.sleep(2.0)

    def compare(self, items: list[Item], names: dict[str, str]) -> None:
        """Every item: the engine's verdict and the server's. Disagreements are sent again, all of
        them, for up to RECHECK_SECONDS before they count."""
        stats = self.stats
        judged = []
        for item in items:
            stats.seen.add(_fingerprint(item.obj))
            judged.append((item, engine_verdict(self.policy, item, self.pset, names)))
        # the server's verdicts a few at a time (kubeapi.request_pool), once the engine's are known
        # (policy evaluation sets the process's memory limit: it runs alone)
        with request_pool(self.client) as submit:
            asked = [submit(lambda connection, one: self.verdict(one, connection), item) for item, _ in judged]
            servers = [reply.result() for reply in asked]
        results = []
        for (item, engine), server in zip(judged, servers):
            if server.kind == "refused" and server.status == 422 and item.source == "case":
                obj, added = complete(item.obj)
                if added:
                    item = dataclasses.replace(item, obj=obj, label=f"{item.label} (completed: {', '.join(added)})")
                    stats.completed.append(item.label)
                    engine = engine_verdict(self.policy, item, self.pset, names)
                    server = self.verdict(item)
            results.append([item, engine, server])
        pending = [r for r in results if r[2].kind != "refused" and not agree(r[1], r[2])]
        stats.rechecked += len(pending)
        deadline = time.monotonic() + RECHECK_SECONDS
        while pending and time.monotonic() < deadline:
            time.sleep(0.25)
            for entry in list(pending):
                entry[2] = self.verdict(entry[0])
                if entry[2].kind == "refused" or agree(entry[1], entry[2]):
                    pending.remove(entry)
        for item, engine, server in results:
            self.record(item, engine, server)

    def record(self, item: Item, engine: Verdict, server: Verdict) -> None:
        stats = self.stats
        per = stats.by_policy.setdefault(self.policy.name, {"pairs": 0, "denials": 0, "warnings": 0, "allows": 0,
                                                              "not_comparable": 0, "disagreements": 0})
        if server.kind == "refused":
            stats.not_comparable.append({"policy": self.policy.name, "object": item.label, "server": server.detail,
                                         "engine": engine.describe()})
            per["not_comparable"] += 1
            return
        stats.pairs += 1
        per["pairs"] += 1
        if server.truncated:
            stats.truncated_warnings += 1
        if item.label.startswith("edge mutant"):
            stats.edges.append({"policy": self.policy.name, "object": item.label,
                                "server": server.describe()[:300], "engine": engine.describe()[:300]})
        if agree(engine, server):
            stats.agreements += 1
            bucket = {"deny": "denials", "warn": "warnings", "allow": "allows"}[server.kind]
            setattr(stats, bucket, getattr(stats, bucket) + 1)
            per[bucket] += 1
        else:
            per["disagreements"] += 1
            stats.disagreements.append({
                "policy": self.policy.name, "object": item.label, "params": item.params,
                "server": server.describe(), "engine": engine.describe(), "manifest": item.obj})


def write_report(stats: Stats) -> str | None:
    path = os.environ.get("MLGITOPS_DIFF_REPORT")
    if path:
        pathlib.Path(path).write_text(json.dumps(stats.as_json(), indent=2, sort_keys=True, default=str) + "\n")
    return path
