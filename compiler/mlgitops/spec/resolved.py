"""The typed, resolved model: one model in one environment, as immutable typed records.

`spec.model.resolve` merges defaults, `spec` and `spec.environments.<env>` into a settings
tree; `Model.of(settings, ...)` turns that tree into the typed objects below, which are all
that generators and rules read. Values are copied as they are (never converted), so a value
that carries its model-file path (validate/provenance.py tags every scalar) still carries it
in the typed model, and positions (`ModelEnv.blame`, `source_path`) keep working through it.

Of a partial model file (one that failed the schema, spec/invalid.py), a part built from a
refused value is itself `Invalid` (`refusing`): a rule that reads it is skipped, the others run.

The facts that depend on several settings live here too, once: the thresholds the canary
analysis gates on (`Model.analysis_metrics`), the SLO objectives and their ids
(`Slo.objectives`), the framework's runtime (`Model.runtime_info`).

The records are typed NamedTuples rather than frozen dataclasses: as immutable and as checked
by mypy, and about nine times cheaper to define (every command that reads a model imports this
module; 25 frozen dataclasses cost a no-op build about 15 ms of start-up). For the same reason
this module does not use `from __future__ import annotations`: NamedTuple would compile every
string annotation (one `compile` per field); a method's return type naming its own class is
quoted instead.

A generator may own a section of the model file itself (`Section`: its JSON Schema, its
defaults, its typed settings). spec knows the core of the model file and takes the sections as
an argument (spec never imports expand); modelfiles.py, above both, passes the registry's
(expand/registry.py SECTIONS), so every entry point reads model files the same way.
"""

from typing import Any, Callable, Generic, Mapping, NamedTuple, TypeVar

from ..domain.frameworks import CUSTOM, FRAMEWORKS, Framework
from ..domain.sources import SOURCES
from ..domain.units import seconds
from .invalid import refusing

T = TypeVar("T")


class Section(NamedTuple, Generic[T]):
    """`spec.<key>` (overridable per environment as `spec.environments.<env>.<key>`), owned by
    the generator that reads it: the JSON Schema of its value, its defaults (merged under the
    model's values like spec/model.py DEFAULTS) and its typed settings, built from the merged
    values without converting them (so provenance tags survive). `environment_defaults`, when
    set, gives the defaults that depend on the environment (a config.Environment: mlgitops.yaml's
    settings of it), merged over `defaults`."""

    key: str
    schema: Mapping[str, Any]
    defaults: Mapping[str, Any]
    typed: Callable[[Mapping[str, Any]], T]
    environment_defaults: Callable[[Any], Mapping[str, Any]] | None = None


Sections = tuple[Section[Any], ...]  # the generator-owned sections of a model file, in registry order


STANDARD = "standard"
SERVERLESS = "serverless"
LATENCY_SOURCES = tuple(name for name, source in SOURCES.items() if source.histogram)  # istio, kserve
COMPONENTS = ("transformer", "explainer")  # KServe components besides the predictor


def _opt(data: Mapping[str, Any], key: str, kind: Any) -> Any:
    """`kind.of(data[key])` when the key is set, else None."""
    return refusing(kind.of, data[key]) if key in data else None


class SecretRef(NamedTuple):
    name: str
    key: str


class EnvVar(NamedTuple):
    """A literal `value` or a `secret` reference (the spec rule spec.env wants exactly one)."""

    name: str
    value: str | None
    secret: SecretRef | None

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> "EnvVar":
        ref = data.get("secretKeyRef")
        return cls(data["name"], data.get("value"), SecretRef(ref["name"], ref["key"]) if ref else None)


def _env(items: Any) -> tuple[EnvVar, ...]:
    return tuple(EnvVar.of(v) for v in items or ())


class Resources(NamedTuple):
    requests: Mapping[str, Any]  # cpu/memory quantities as written (str or number)
    limits: Mapping[str, Any]
    gpu: int | None
    gpu_resource: str

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> "Resources":
        return cls(dict(data.get("requests", {})), dict(data.get("limits", {})), data.get("gpu"),
                   data.get("gpuResource", "nvidia.com/gpu"))


class Probe(NamedTuple):
    path: str
    port: int | None
    initial_delay_seconds: int | None
    period_seconds: int | None
    failure_threshold: int | None

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> "Probe":
        return cls(data["path"], data.get("port"), data.get("initialDelaySeconds"), data.get("periodSeconds"),
                   data.get("failureThreshold"))


DEFAULT_PORT = 8080


class Container(NamedTuple):
    """The serving container of a custom predictor, or a transformer/explainer."""

    image: str | None
    command: tuple[str, ...]
    args: tuple[str, ...]
    env: tuple[EnvVar, ...]
    port: int
    resources: Resources | None  # None: the container's own defaults (expand/common.py)
    readiness_probe: Probe | None
    liveness_probe: Probe | None
    replicas: int

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> "Container":
        resources = Resources.of(data["resources"]) if data.get("resources") else None
        return cls(data.get("image"), tuple(data.get("command") or ()), tuple(data.get("args") or ()),
                   _env(data.get("env")), data.get("port", DEFAULT_PORT), resources,
                   _opt(data, "readinessProbe", Probe), _opt(data, "livenessProbe", Probe), data.get("replicas", 1))


class ServiceAccount(NamedTuple):
    name: str
    create: bool
    annotations: Mapping[str, str]

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> "ServiceAccount":
        return cls(data["name"], bool(data.get("create", False)), dict(data.get("annotations", {})))


class Logger(NamedTuple):
    url: str
    mode: str

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> "Logger":
        return cls(data["url"], data.get("mode", "all"))


class Scheduling(NamedTuple):
    node_selector: Mapping[str, str]
    tolerations: tuple[Mapping[str, Any], ...]
    zone_spread: bool

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> "Scheduling":
        return cls(dict(data.get("nodeSelector") or {}), tuple(data.get("tolerations") or ()),
                   bool(data.get("zoneSpread", False)))


class ScalingPolicy(NamedTuple):
    type: str
    value: int
    period_seconds: int

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> "ScalingPolicy":
        return cls(data["type"], data["value"], data["periodSeconds"])


class ScalingRules(NamedTuple):
    stabilization_window_seconds: int | None
    select_policy: str | None
    policies: tuple[ScalingPolicy, ...] | None

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> "ScalingRules":
        policies = tuple(ScalingPolicy.of(p) for p in data["policies"]) if "policies" in data else None
        return cls(data.get("stabilizationWindowSeconds"), data.get("selectPolicy"), policies)


class Autoscaling(NamedTuple):
    min_replicas: int
    max_replicas: int
    cpu_utilization: int | None
    memory_utilization: int | None
    requests_per_second: int | None
    scale_up: ScalingRules
    scale_down: ScalingRules

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> "Autoscaling":
        return cls(data["minReplicas"], data["maxReplicas"], data.get("cpuUtilization"),
                   data.get("memoryUtilization"), data.get("requestsPerSecond"),
                   ScalingRules.of(data["scaleUp"]), ScalingRules.of(data["scaleDown"]))

    @property
    def scales(self) -> bool:
        """More than one replica count is possible: something must choose (HPA or Knative)."""
        return self.max_replicas > self.min_replicas


class Serverless(NamedTuple):
    target_concurrency: int | None
    window: str | None
    canary_traffic_percent: int | None

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> "Serverless":
        return cls(data.get("targetConcurrency"), data.get("window"), data.get("canaryTrafficPercent"))


class CanaryStep(NamedTuple):
    weight: int
    pause: str | None  # a duration, "manual", or None (no pause)

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> "CanaryStep":
        return cls(data["weight"], data.get("pause"))


class Analysis(NamedTuple):
    enabled: bool
    success_rate: float | None  # explicit canary.analysis.successRate (percent)
    latency_p95: str | None  # explicit canary.analysis.latencyP95
    latency_gates: bool  # canary.analysis.latencyGates: a gate per SLO latency objective
    interval: str
    initial_delay: str
    failure_limit: int
    inconclusive_limit: int
    starting_step: int
    min_requests: int

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> "Analysis":
        return cls(bool(data["enabled"]), data.get("successRate"), data.get("latencyP95"),
                   bool(data.get("latencyGates", True)), data["interval"], data["initialDelay"],
                   data["failureLimit"], data["inconclusiveLimit"], data["startingStep"], data["minRequests"])


class Canary(NamedTuple):
    enabled: bool
    steps: tuple[CanaryStep, ...]
    traffic_routing: str  # none | istio
    analysis: Analysis
    progress_deadline_seconds: int
    abort_scale_down_delay_seconds: int

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> "Canary":
        return cls(bool(data["enabled"]), tuple(CanaryStep.of(s) for s in data["steps"]), data["trafficRouting"],
                   Analysis.of(data["analysis"]), data["progressDeadlineSeconds"], data["abortScaleDownDelaySeconds"])

    @property
    def istio(self) -> bool:
        return self.traffic_routing == "istio"


class LatencyObjective(NamedTuple):
    position: int  # index in slo.latency (for positions)
    percentile: float
    threshold: str

    @property
    def slo_id(self) -> str:
        """`latency-p<percentile>`, a dot in it becoming `-` (a label value and a rule-group name)."""
        return f"latency-p{self.percentile:g}".replace(".", "-")

    @property
    def seconds(self) -> float:
        return seconds(self.threshold)


AVAILABILITY = "availability"  # the id of the availability SLO
EXPLICIT_P95 = ("canary", "analysis", "latencyP95")  # the settings path of the explicit p95 gate


class LatencyGate(NamedTuple):
    """A canary latency gate: at most `100 - percentile` percent of the canary's requests slower
    than `threshold`. `setting` is the settings path that set the threshold: an SLO latency
    objective's, or EXPLICIT_P95."""

    percentile: float
    threshold: str
    setting: tuple[str | int, ...]

    @property
    def name(self) -> str:
        """The metric name, `latency-p95`: the id of the SLO it mirrors (LatencyObjective.slo_id)."""
        return f"latency-p{self.percentile:g}".replace(".", "-")

    @property
    def explicit(self) -> bool:
        return self.setting == EXPLICIT_P95

    @property
    def seconds(self) -> float:
        return seconds(self.threshold)


class Slo(NamedTuple):
    availability: float | None  # percent
    latency: tuple[LatencyObjective, ...]
    window: str
    source: str  # istio | kserve | custom
    error_query: str | None  # source: custom
    total_query: str | None

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> "Slo":
        custom = data.get("custom") or {}
        latency = tuple(LatencyObjective(i, o["percentile"], o["threshold"]) for i, o in enumerate(data.get("latency", [])))
        return cls(data.get("availability"), latency, data["window"], data["source"], custom.get("errorQuery"),
                   custom.get("totalQuery"))

    @property
    def custom(self) -> bool:
        return self.error_query is not None

    def objectives(self) -> list[tuple[str, LatencyObjective | None]]:
        """(slo id, latency objective or None for availability) of every SLO, in rule order:
        `availability`, then each latency objective."""
        out: list[tuple[str, LatencyObjective | None]] = [(AVAILABILITY, None)] if self.availability is not None else []
        return out + [(o.slo_id, o) for o in self.latency]

    def latency_at(self, percentile: float) -> LatencyObjective | None:
        return next((o for o in self.latency if o.percentile == percentile), None)


class Budget(NamedTuple):
    enabled: bool | None  # None: on when the component runs more than one replica
    max_unavailable: int

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> "Budget":
        return cls(data.get("enabled"), data["maxUnavailable"])


class Model(NamedTuple):
    """One model resolved for one environment."""

    name: str
    team: str
    labels: Mapping[str, str]  # metadata.labels: extra labels on every object
    environment: str
    namespace: str
    framework: str
    protocol: str
    storage_uri: str | None
    runtime: str | None  # an explicit runtime override
    runtime_version: str | None
    model_version: str | None
    mode: str  # standard | serverless
    container: Container | None  # the user's serving container settings (args, env, port, probes; image for custom)
    resources: Resources  # the predictor's
    env: tuple[EnvVar, ...]  # the predictor's environment
    service_account: ServiceAccount | None
    components: Mapping[str, Container]  # transformer / explainer that are set, in COMPONENTS order
    logger: Logger | None
    timeout_seconds: int | None
    scheduling: Scheduling
    autoscaling: Autoscaling
    serverless: Serverless | None
    canary: Canary
    slo: Slo
    budget: Budget
    section_settings: Mapping[str, Any]  # key -> typed settings of a generator-owned Section

    @classmethod
    def of(cls, settings: Mapping[str, Any], metadata: Mapping[str, Any], environment: str,
           namespace: str, sections: Sections = ()) -> "Model":
        s = settings
        return cls(
            name=metadata["name"], team=metadata["team"], labels=refusing(dict, metadata.get("labels", {})),
            environment=environment, namespace=namespace,
            framework=s["framework"], protocol=s["protocol"], storage_uri=s.get("storageUri"),
            runtime=s.get("runtime"), runtime_version=s.get("runtimeVersion"), model_version=s.get("modelVersion"),
            mode=s["mode"], container=_opt(s, "container", Container),
            resources=refusing(Resources.of, s["resources"]), env=refusing(_env, s.get("env")),
            service_account=_opt(s, "serviceAccount", ServiceAccount),
            components={part: refusing(Container.of, s[part]) for part in COMPONENTS if part in s},
            logger=_opt(s, "logger", Logger), timeout_seconds=s.get("timeoutSeconds"),
            scheduling=refusing(Scheduling.of, s.get("scheduling", {})),
            autoscaling=refusing(Autoscaling.of, s["autoscaling"]), serverless=_opt(s, "serverless", Serverless),
            canary=refusing(Canary.of, s["canary"]), slo=refusing(Slo.of, s["slo"]),
            budget=refusing(Budget.of, s["podDisruptionBudget"]),
            section_settings={sec.key: refusing(sec.typed, s.get(sec.key, sec.defaults)) for sec in sections},
        )

    def section(self, section: Section[T]) -> T:
        """The typed settings of a generator-owned section."""
        found: T = self.section_settings[section.key]
        return found

    # --- facts derived from several settings -----------------------------------------------------

    @property
    def standard(self) -> bool:
        """Standard mode: KServe raw Deployment, pods owned by an Argo Rollout, scaled by an HPA."""
        return self.mode == STANDARD

    @property
    def custom(self) -> bool:
        return self.framework == CUSTOM

    @property
    def runtime_info(self) -> Framework | None:
        """KServe's built-in runtime for the framework (None for custom)."""
        return FRAMEWORKS.get(self.framework)

    @property
    def uses_hpa(self) -> bool:
        return self.standard and self.autoscaling.scales

    @property
    def canary_on(self) -> bool:
        return self.standard and self.canary.enabled

    def analysis_metrics(self) -> dict[str, Any]:
        """The thresholds the canary analysis gates on: `successRate` (percent; needs the Istio
        source), explicit or derived from slo.availability; and `latency`, the latency gates
        (`latency_gates`), when there is one."""
        analysis, slo = self.canary.analysis, self.slo
        result: dict[str, Any] = {}
        success = analysis.success_rate if analysis.success_rate is not None else slo.availability
        if success is not None and slo.source == "istio":
            result["successRate"] = success
        gates = self.latency_gates()
        if gates:
            result["latency"] = gates
        return result

    def latency_gates(self) -> tuple[LatencyGate, ...]:
        """One gate per SLO latency objective (unless `canary.analysis.latencyGates: false`; none
        for a source without a histogram), and the explicit `latencyP95`, which replaces the
        gate of a p95 objective: in percentile order.

        Without a latency objective and without latencyP95 there is no latency gate: the canary
        is measured on what the SLO promises, and an SLO that promises no latency gives no
        threshold that would not be invented."""
        analysis, slo = self.canary.analysis, self.slo
        gates: dict[float, LatencyGate] = {}
        if analysis.latency_gates and slo.source in LATENCY_SOURCES:
            for o in slo.latency:
                gates.setdefault(o.percentile, LatencyGate(o.percentile, o.threshold,
                                                           ("slo", "latency", o.position, "threshold")))
        if analysis.latency_p95:
            gates[95] = LatencyGate(95, analysis.latency_p95, EXPLICIT_P95)
        return tuple(gates[p] for p in sorted(gates))

    @property
    def has_analysis(self) -> bool:
        """A canary gated by an AnalysisTemplate."""
        return self.canary_on and self.canary.analysis.enabled and bool(self.analysis_metrics())
