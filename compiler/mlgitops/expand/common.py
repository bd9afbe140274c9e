"""Small builders shared by the expanders."""

from __future__ import annotations

from ..spec.model import ModelEnv

CONTAINER = "kserve-container"  # KServe's name for the serving container
HTTP_PORT_NAME = "http1"
PDB_ANNOTATION = "mlgitops.dev/pod-disruption-budget"  # on the HPA/Rollout: the budget of its pods
PDBS_ANNOTATION = "mlgitops.dev/pod-disruption-budgets"  # on the ISVC: component=budget,...


def security_context() -> dict:
    """The container securityContext of every serving container: what KServe's own runtimes set
    (config/runtimes/*.yaml) and the Pod Security "restricted" profile asks for. The root
    filesystem stays writable: the runtimes write caches and temporary files (policies/README.md)."""
    return {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "runAsNonRoot": True}


def meta(name: str) -> dict:
    """metadata for an object of the overlay; labels and namespace come from the kustomization."""
    return {"name": name}


def env_vars(items: list[dict]) -> list[dict]:
    out = []
    for var in items:
        if "secretKeyRef" in var:
            ref = var["secretKeyRef"]
            out.append({"name": var["name"], "valueFrom": {"secretKeyRef": {"name": ref["name"], "key": ref["key"]}}})
        else:
            out.append({"name": var["name"], "value": var["value"]})
    return out


def resources(spec: dict) -> dict:
    out: dict = {}
    for kind in ("requests", "limits"):
        values = {k: str(v) for k, v in spec.get(kind, {}).items()}
        if spec.get("gpu"):
            values[spec.get("gpuResource", "nvidia.com/gpu")] = str(spec["gpu"])
        if values:
            out[kind] = dict(sorted(values.items()))
    return out


def probe(spec: dict, default_port: int) -> dict:
    out = {"httpGet": {"path": spec["path"], "port": spec.get("port", default_port)}}
    for key in ("initialDelaySeconds", "periodSeconds", "failureThreshold"):
        if key in spec:
            out[key] = spec[key]
    return out


def container(spec: dict, *, name: str = CONTAINER, with_port: bool = True) -> dict:
    """A container of a transformer, explainer or custom predictor."""
    port = spec.get("port", 8080)
    out: dict = {"name": name}
    if spec.get("image"):
        out["image"] = spec["image"]
    for key in ("command", "args"):
        if spec.get(key):
            out[key] = list(spec[key])
    if spec.get("env"):
        out["env"] = env_vars(spec["env"])
    if with_port:
        out["ports"] = [{"name": HTTP_PORT_NAME, "containerPort": port, "protocol": "TCP"}]
    for key in ("readinessProbe", "livenessProbe"):
        if key in spec:
            out[key] = probe(spec[key], port)
    out["resources"] = resources(spec.get("resources") or {"requests": {"cpu": "100m", "memory": "256Mi"},
                                                             "limits": {"cpu": "1", "memory": "1Gi"}})
    out["securityContext"] = security_context()
    return out


def uses_rollout(me: ModelEnv) -> bool:
    return me.settings["mode"] == "standard"


def uses_hpa(me: ModelEnv) -> bool:
    auto = me.settings["autoscaling"]
    return uses_rollout(me) and auto["maxReplicas"] > auto["minReplicas"]


def camel(text: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in text.replace("_", "-").split("-") if part)
