"""Small builders shared by the expanders."""

from __future__ import annotations

from ..spec.resolved import Container, EnvVar, Probe, Resources

CONTAINER = "kserve-container"  # KServe's name for the serving container
HTTP_PORT_NAME = "http1"
PDB_ANNOTATION = "mlgitops.dev/pod-disruption-budget"  # on the HPA/Rollout: the budget of its pods
PDBS_ANNOTATION = "mlgitops.dev/pod-disruption-budgets"  # on the ISVC: component=budget,...
# A sidecar container's resources when the model sets none (transformer, explainer, custom).
SIDECAR_RESOURCES = Resources({"cpu": "100m", "memory": "256Mi"}, {"cpu": "1", "memory": "1Gi"}, None,
                              "nvidia.com/gpu")


def security_context() -> dict:
    """The container securityContext of every serving container: what KServe's own runtimes set
    (config/runtimes/*.yaml) and the Pod Security "restricted" profile asks for. The root
    filesystem stays writable: the runtimes write caches and temporary files (policies/README.md)."""
    return {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "runAsNonRoot": True}


def meta(name: str) -> dict:
    """metadata for an object of the overlay; labels and namespace come from the kustomization."""
    return {"name": name}


def env_vars(items: tuple[EnvVar, ...]) -> list[dict]:
    out: list[dict] = []
    for var in items:
        if var.secret is not None:
            out.append({"name": var.name, "valueFrom": {"secretKeyRef": {"name": var.secret.name,
                                                                         "key": var.secret.key}}})
        else:
            out.append({"name": var.name, "value": var.value})
    return out


def resources(spec: Resources) -> dict:
    out: dict = {}
    for kind, given in (("requests", spec.requests), ("limits", spec.limits)):
        values = {k: str(v) for k, v in given.items()}
        if spec.gpu:
            values[spec.gpu_resource] = str(spec.gpu)
        if values:
            out[kind] = dict(sorted(values.items()))
    return out


def probe(spec: Probe, default_port: int) -> dict:
    out: dict = {"httpGet": {"path": spec.path, "port": spec.port if spec.port is not None else default_port}}
    for key, value in (("initialDelaySeconds", spec.initial_delay_seconds), ("periodSeconds", spec.period_seconds),
                       ("failureThreshold", spec.failure_threshold)):
        if value is not None:
            out[key] = value
    return out


def probes(spec: Container, out: dict) -> None:
    """The readiness and liveness probes of `spec` into the container `out`."""
    for key, found in (("readinessProbe", spec.readiness_probe), ("livenessProbe", spec.liveness_probe)):
        if found is not None:
            out[key] = probe(found, spec.port)


def port(number: int) -> dict:
    """The serving container's port, named so the KServe Service (and a ServiceMonitor) can use it."""
    return {"name": HTTP_PORT_NAME, "containerPort": number, "protocol": "TCP"}


def container(spec: Container, *, name: str = CONTAINER, with_port: bool = True) -> dict:
    """A container of a transformer, explainer or custom predictor."""
    out: dict = {"name": name}
    if spec.image:
        out["image"] = spec.image
    for key, values in (("command", spec.command), ("args", spec.args)):
        if values:
            out[key] = list(values)
    if spec.env:
        out["env"] = env_vars(spec.env)
    if with_port:
        out["ports"] = [port(spec.port)]
    probes(spec, out)
    out["resources"] = resources(spec.resources or SIDECAR_RESOURCES)
    out["securityContext"] = security_context()
    return out


def camel(text: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in text.replace("_", "-").split("-") if part)
