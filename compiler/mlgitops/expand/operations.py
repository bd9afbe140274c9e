"""Operational alerts of a model environment: is it up, does it load, is its canary stuck, is it
out of capacity. One PrometheusRule `<model>-alerts` per model and environment (monitoring.yaml).

The SLO alerts (expand/slo.py) say that users suffer; these say why, or warn before they do.
Each is generated only where it applies, from what the model file already says:

- Down (page): no ready predictor pod for 5 minutes; not where the environment scales to zero.
- ModelLoadFailing (ticket): the serving container or the model download keeps failing.
- CanaryStuck (ticket): only with a Rollout (Standard mode); the Rollout sits in a phase that
  needs a human for longer than any of its own canary steps takes.
- AtMaxReplicas (ticket): only with an HPA; the HPA can add no capacity for 30 minutes.

Every raw read selects the `job` of the scrape it relies on (mlgitops.yaml `kubeStateMetrics`,
`rolloutsMetrics`; slo/collection.py proves it), pods are picked by a precise regex of the names
KServe, Knative and Argo Rollouts give them (names.predictor_pod_regex), and every `severity`
goes through the environment's routing (`alertSeverities`: staging never pages by default).
"""

from __future__ import annotations

import math

from .. import names
from ..config import Config
from ..domain.sources import matchers
from ..domain.units import duration_seconds
from ..spec.model import ModelEnv
from ..spec.resolved import Model
from .common import CONTAINER, camel
from .generator import ANY, MONITORING_FILE, NAME, KindGenerator, Path

DOWN_FOR = "5m"
LOAD_WINDOW, LOAD_FOR = "5m", "10m"
CAPACITY_FOR = "30m"
# A stuck canary waits for its longest step plus this, so a manual pause fires after it too.
CANARY_MARGIN_MINUTES = 15
# Rollout phases that need a human (argo-rollouts controller/metrics/rollouts.go; the others are
# Completed and Progressing).
STUCK_PHASES = ("Paused", "Abort", "Timeout", "Error", "InvalidSpec")
# Waiting reasons of a container that will not start by itself (kubelet): a crash loop, an image
# that cannot be pulled, a configuration the kubelet refuses.
FAILING_REASONS = ("CrashLoopBackOff", "ErrImagePull", "ImagePullBackOff", "InvalidImageName",
                   "CreateContainerConfigError", "CreateContainerError")
# Alert name suffix -> the model-file setting that makes the alert exist (provenance).
SOURCES: dict[str, Path] = {
    "Down": ("autoscaling", "minReplicas"),
    "ModelLoadFailing": ("storageUri",),
    "CanaryStuck": ("canary", "steps"),
    "AtMaxReplicas": ("autoscaling", "maxReplicas"),
}


def ksm(model: Model, config: Config, metric: str, *extra: str) -> str:
    """A kube-state-metrics series of the model's predictor pods (precise pod-name regex)."""
    pods = names.predictor_pod_regex(model.name, model.mode)
    labels = {"job": config.kube_state_metrics.job, "namespace": model.namespace}
    pod = f'pod=~"{pods}"'
    return f"{metric}{{{matchers(labels, pod, *extra)}}}"


def ready_pods(model: Model, config: Config) -> str:
    """The number of ready predictor pods; empty (not 0) when kube-state-metrics has no pod."""
    ready = ksm(model, config, "kube_pod_status_ready", 'condition="true"')
    return f"sum({ready})"


def ksm_up(config: Config) -> str:
    """kube-state-metrics is scraped and answers (every target of its job): its series are current."""
    return f'min(up{{job="{config.kube_state_metrics.job}"}}) == 1'


def alert(me: ModelEnv, config: Config, name: str, expr: str, wait: str, severity: str, summary: str,
          description: str, **labels: str) -> dict:
    """One alert rule: the routed `severity`, the model and environment, a runbook link."""
    model = me.model
    rule: dict = {
        "alert": name,
        "expr": expr + "\n",
        "for": wait,
        "labels": {"severity": me.env.severity(severity), **labels, "model": model.name, "env": model.environment},
        "annotations": {"summary": summary, "description": description},
    }
    if config.runbook_url:
        rule["annotations"]["runbook_url"] = f"{config.runbook_url}/{name}"
    return rule


def scales_to_zero(model: Model) -> bool:
    return model.autoscaling.min_replicas == 0


def down(me: ModelEnv, config: Config) -> dict | None:
    """No ready predictor pod, for 5 minutes. Absent pod series count as 0 ready pods (every pod
    gone); kube-state-metrics being down or unscraped makes the alert silent instead (its own
    target alert says so), so a monitoring outage never pages as a model outage."""
    model = me.model
    if scales_to_zero(model):
        return None
    expr = (f"(\n  {ready_pods(model, config)}\n  or on () vector(0)\n) == 0\n"
            f"and on ()\n{ksm_up(config)}")
    return alert(me, config, f"{camel(model.name)}Down", expr, DOWN_FOR, "page",
                 f"{model.name} ({model.environment}) has no ready predictor pod",
                 f"No predictor pod of {model.name} in {model.namespace} has been ready for {DOWN_FOR} "
                 f"(kube-state-metrics job {config.kube_state_metrics.job} is up, so this is the model, not "
                 f"the monitoring): every request fails. See {camel(model.name)}ModelLoadFailing for a crash "
                 f"loop or a failed model download, and the pods' events for scheduling (GPU, quota).")


def storage_containers(model: Model) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(containers, init containers) that fetch the model, by storage URI: KServe's
    `storage-initializer` init container; for `oci://` the modelcar (sidecar `modelcar`, init
    `modelcar-init`); none for `pvc://` (mounted) or without a storage URI (custom image)."""
    uri = model.storage_uri or ""
    if not uri or uri.startswith("pvc://"):
        return (), ()
    if uri.startswith("oci://"):
        return ("modelcar",), ("modelcar-init",)
    return (), ("storage-initializer",)


def load_failing(me: ModelEnv, config: Config) -> dict:
    """The serving container (or the model download) keeps failing on some predictor pod.

    A crash loop alternates waiting, running and terminated: the reads are `max_over_time` over
    5 minutes so a short running spell does not restart the `for:`."""
    model = me.model
    sidecars, inits = storage_containers(model)
    waiting = "|".join(FAILING_REASONS)
    reads = [ksm(model, config, "kube_pod_container_status_waiting_reason",
                 f'container=~"{"|".join((CONTAINER,) + sidecars)}"', f'reason=~"{waiting}"')]
    if inits:
        containers = f'container=~"{"|".join(inits)}"'
        reads.append(ksm(model, config, "kube_pod_init_container_status_waiting_reason", containers,
                         f'reason=~"{waiting}"'))
        reads.append(ksm(model, config, "kube_pod_init_container_status_terminated_reason", containers,
                         'reason!="Completed"'))
    inner = "\n    or\n".join(f"    max_over_time({r}[{LOAD_WINDOW}])" for r in reads)
    expr = f"count by (container) (\n  max by (pod, container) (\n{inner}\n  ) > 0\n)"
    fetch = f" or the model download ({', '.join(inits)})" if inits else ""
    return alert(me, config, f"{camel(model.name)}ModelLoadFailing", expr, LOAD_FOR, "ticket",
                 f"{model.name} ({model.environment}): {{{{ $labels.container }}}} keeps failing on "
                 f"{{{{ $value }}}} predictor pod(s)",
                 f"Container {{{{ $labels.container }}}} of {{{{ $value }}}} predictor pod(s) of {model.name} in "
                 f"{model.namespace} has been crash-looping, failing to pull its image or failing to start for "
                 f"{LOAD_FOR}: the model server{fetch} cannot load the model (storage URI, credentials, memory, "
                 f"image). Severity ticket, not page: pods that still serve keep the model up, a new revision "
                 f"that never becomes ready is held back by the rollout, and when no pod is ready at all "
                 f"{camel(model.name)}Down pages; this alert names the cause.")


def longest_step_minutes(model: Model) -> float:
    """The longest a healthy canary stays in one step: its longest timed pause, or the time the
    background analysis needs for a verdict (initial delay, then one more measurement than the
    failure or inconclusive limit tolerates)."""
    canary = model.canary
    steps = [duration_seconds(s.pause) / 60 for s in canary.steps
             if canary.enabled and s.pause and s.pause != "manual"]
    if model.has_analysis:
        a = canary.analysis
        measurements = max(a.failure_limit, a.inconclusive_limit) + 1
        steps.append((duration_seconds(a.initial_delay) + measurements * duration_seconds(a.interval)) / 60)
    return max(steps, default=0)


def canary_stuck(me: ModelEnv, config: Config) -> dict | None:
    """The Rollout sits in a phase that needs a human (paused, aborted, timed out, in error,
    invalid) for longer than its longest step plus a margin."""
    model = me.model
    if not model.standard:
        return None
    longest = longest_step_minutes(model)
    wait = f"{math.ceil(longest + CANARY_MARGIN_MINUTES)}m"
    labels = {"job": config.rollouts_metrics.job, "namespace": model.namespace, "name": model.name}
    phases = f'phase=~"{"|".join(STUCK_PHASES)}"'
    expr = f"max by (phase) (\n  rollout_info{{{matchers(labels, phases)}}}\n) == 1"
    manual = any(s.pause == "manual" for s in model.canary.steps) and model.canary.enabled
    return alert(me, config, f"{camel(model.name)}CanaryStuck", expr, wait, "ticket",
                 f"{model.name} ({model.environment}): the Rollout has been {{{{ $labels.phase }}}} for {wait}",
                 f"The Rollout {model.name} in {model.namespace} has been in phase {{{{ $labels.phase }}}} for "
                 f"{wait}, longer than its longest canary step ({longest:g} min: timed pause or analysis) plus "
                 f"{CANARY_MARGIN_MINUTES} min. Abort, Error, Timeout or InvalidSpec: the update failed and the "
                 f"stable version serves; fix it and retry or roll back. Paused: the update waits for a human "
                 f"(an inconclusive analysis, or a manual pause step"
                 f"{' - this model has one, so this is also the reminder to promote or abort it' if manual else ''})"
                 f": `kubectl argo rollouts promote` or `abort`.")


def at_max_replicas(me: ModelEnv, config: Config) -> dict | None:
    """The HPA has been at its maximum for 30 minutes: no capacity left for more load."""
    model = me.model
    if not model.uses_hpa:
        return None
    labels = {"job": config.kube_state_metrics.job, "namespace": model.namespace, "horizontalpodautoscaler": model.name}
    expr = (f"max(kube_horizontalpodautoscaler_status_current_replicas{{{matchers(labels)}}})\n>=\n"
            f"max(kube_horizontalpodautoscaler_spec_max_replicas{{{matchers(labels)}}})")
    return alert(me, config, f"{camel(model.name)}AtMaxReplicas", expr, CAPACITY_FOR, "ticket",
                 f"{model.name} ({model.environment}) has run at its maximum replicas for {CAPACITY_FOR}",
                 f"The HPA {model.name} in {model.namespace} has been at maxReplicas for {CAPACITY_FOR}"
                 f" ({{{{ $value }}}} replicas): more load cannot be absorbed and "
                 f"latency will suffer. Raise autoscaling.maxReplicas (check quota and GPUs) or find the "
                 f"source of the load.")


def alerts_rule(me: ModelEnv, config: Config) -> dict:
    model = me.model
    rules = [r for r in (down(me, config), load_failing(me, config), canary_stuck(me, config),
                         at_max_replicas(me, config)) if r is not None]
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": names.alerts_rule(model.name)},
        "spec": {"groups": [{"name": f"{model.name}-operations", "rules": rules}]},
    }


def _source(me: ModelEnv, obj: dict, path: Path) -> Path:
    """An alert's leaf: the setting that makes the alert exist (SOURCES, by its name's suffix)."""
    rule = obj["spec"]["groups"][path[2]]["rules"][path[4]]
    for suffix, setting in SOURCES.items():
        if rule["alert"].endswith(suffix):
            return me.source_path(setting)
    return NAME


def _build(me: ModelEnv, config: Config) -> list[dict]:
    return [alerts_rule(me, config)]


_PR = "PrometheusRule"
_RULE = ("spec", "groups", ANY, "rules", ANY)
GENERATOR = KindGenerator(
    name="operations",
    kinds=(_PR,),
    file=MONITORING_FILE,
    applies=lambda model: True,
    build=_build,
    derived=(
        (_PR, ("spec", "groups", ANY, "name"), NAME),
        (_PR, _RULE + ("alert",), NAME),
        (_PR, _RULE + ("expr",), _source),
        (_PR, _RULE + ("for",), _source),
        (_PR, _RULE + ("annotations", ANY), _source),
    ),
    constants=(
        (_PR, _RULE + ("labels", "severity")),
        (_PR, _RULE + ("labels", "env")),
    ),
)
