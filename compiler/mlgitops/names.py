"""Names of the objects mlgitops writes and of those KServe and Argo Rollouts derive from them.

Every derived name must fit Kubernetes' 63-character limit for labels, Service names and DNS
labels; each generator lists the names it derives (expand/registry.py `derived_names`), so the
spec.name-length rule can reject a model whose name (with its
environment's namespace) would break one only at deploy time.
"""

from __future__ import annotations

MAX_LABEL = 63
# Argo Rollouts names ReplicaSets <rollout>-<pod-template-hash>; the hash is up to 10 characters,
# and the name is copied into the pod label rollouts-pod-template-hash's sibling labels.
HASH_SUFFIX = 11


def predictor(model: str) -> str:
    return f"{model}-predictor"


def component(model: str, part: str) -> str:
    return f"{model}-{part}"


def predictor_pod_selector(model: str, mode: str) -> dict:
    """Labels that select the predictor pods KServe creates: `app: isvc.<name>-predictor` in
    standard (raw) mode; Knative sets `app` to the revision name, so serverless pods are selected
    by the labels KServe puts on every component pod."""
    if mode == "standard":
        return {"app": pod_selector_value(model)}
    return {"serving.kserve.io/inferenceservice": model, "component": "predictor"}


def pod_selector_value(model: str) -> str:
    """KServe's pod label app=isvc.<isvc>-predictor (also the Deployment and Service selector)."""
    return f"isvc.{model}-predictor"


def analysis_template(model: str) -> str:
    return f"{model}-canary"


def mesh_monitor(model: str) -> str:
    """The PodMonitor scraping the predictor pods' Istio sidecars; Prometheus Operator sets the
    `job` label of its series to `<namespace>/<this name>`, which the canary analysis selects."""
    return f"{model}-mesh"


def slo_rule(model: str) -> str:
    return f"{model}-slo"


def stable_service(model: str) -> str:
    return f"{model}-stable"


def canary_service(model: str) -> str:
    return f"{model}-canary"


def dashboard(model: str) -> str:
    """The ConfigMap holding the model's Grafana dashboard (expand/dashboard.py)."""
    return f"{model}-dashboard"


def alerts_rule(model: str) -> str:
    """The PrometheusRule of the model's operational alerts (expand/operations.py)."""
    return f"{model}-alerts"


# The alphabet of Kubernetes' generated name parts (k8s.io/apimachinery rand.SafeEncodeString):
# pod-template hashes (Deployment and Argo Rollouts ReplicaSets) and pods' 5-character suffixes.
_SAFE = "[bcdfghjklmnpqrstvwxz2456789]"


def predictor_pod_regex(model: str, mode: str) -> str:
    """An anchored regex (PromQL `=~`) of the names of the model's predictor pods, and of no other.

    Standard: the Rollout's ReplicaSets are `<rollout>-<hash>` (argo-rollouts rollout/sync.go),
    the Rollout being named after the model, and KServe's own Deployment's `<model>-predictor-
    <hash>` (before the Rollout scales it down); pods add `-<5 characters>`. The hash and the
    suffix use the safe alphabet (no vowels), so `<model>-transformer-...` pods cannot match, nor
    another model's `<model>-v2-<hash>-<suffix>` (one name part more). Serverless: Knative names the revision
    `<model>-predictor-<00001>` and its Deployment `<revision>-deployment`."""
    if mode == "standard":
        return f"{model}(-predictor)?-{_SAFE}{{1,10}}-{_SAFE}{{5}}"
    return f"{model}-predictor-[0-9]{{5}}-deployment-{_SAFE}{{1,10}}-{_SAFE}{{5}}"
