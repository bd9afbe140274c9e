"""The Model spec (mlgitops.dev/v1alpha1, kind Model) as a JSON Schema.

The schema is written once here and published as `model.schema.json` next to this module
(`mlgitops schema export` regenerates it; a test fails when the file is stale). Draft-07,
because editors (yaml-language-server) and jsonschema-rs both support it fully.

The fields a model may override per environment are defined once (`_settings`) and used
twice: in `spec` (with `environments`) and in each environment override (with `enabled`).
Every property has a description: the spec reference (docs/model-spec.md) is generated from them.
"""

from __future__ import annotations

import copy
import json

from ..domain.frameworks import FRAMEWORK_NAMES
from ..domain.units import LATENCY  # a latency objective: milliseconds or seconds
from .resolved import Sections

API_VERSION = "mlgitops.dev/v1alpha1"
SCHEMA_ID = "https://mlgitops.dev/schemas/model-v1alpha1.json"

FRAMEWORKS = list(FRAMEWORK_NAMES)
STORAGE_SCHEMES = ["s3", "gs", "pvc", "hf", "oci", "https"]

DNS1123_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
# Kubernetes quantities as the API server accepts them (decimal or binary suffixes).
QUANTITY = r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$"
# Go-style durations as Argo Rollouts and Prometheus accept them (s, m, h; d for SLO windows).
DURATION = r"^[0-9]+(s|m|h)$"
WINDOW = r"^[0-9]+(h|d|w)$"
LABEL_VALUE = r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$"
# Quantities and durations are numbers in a string: bounded, so a hostile `99...9d` (thousands of
# digits) is a schema error, not a number too long to convert.
QUANTITY_MAX = 64
DURATION_MAX = 32
_BOUNDED = {QUANTITY: QUANTITY_MAX, LATENCY: DURATION_MAX, DURATION: DURATION_MAX, WINDOW: DURATION_MAX,
            r"^[0-9]+(s|m)$": DURATION_MAX, r"^([0-9]+(s|m|h)|manual)$": DURATION_MAX}


def _str(description: str, **extra) -> dict:
    if extra.get("pattern") in _BOUNDED:
        extra.setdefault("maxLength", _BOUNDED[extra["pattern"]])
    return {"type": "string", "description": description, **extra}


def _int(description: str, **extra) -> dict:
    return {"type": "integer", "description": description, **extra}


def _obj(description: str, properties: dict, **extra) -> dict:
    return {"type": "object", "description": description, "additionalProperties": False,
            "properties": properties, **extra}


def _defs() -> dict:
    secret_ref = _obj("A key in a Kubernetes Secret in the model's namespace.", {
        "name": _str("Secret name.", pattern=DNS1123_LABEL, maxLength=253),
        "key": _str("Key inside the Secret.", minLength=1),
    }, required=["name", "key"])
    env_var = _obj(
        "An environment variable: either a literal `value` (configuration only) or a "
        "`secretKeyRef` (credentials are only ever Secret references).", {
            "name": _str("Variable name.", pattern=r"^[A-Za-z_][A-Za-z0-9_.-]*$"),
            "value": _str("Literal value. Never put credentials here: use secretKeyRef."),
            "secretKeyRef": {"$ref": "#/definitions/secretKeyRef", "description": "Read the value from a Secret."},
        }, required=["name"])
    quantities = _obj("CPU and memory quantities.", {
        "cpu": {"type": ["string", "number"], "description": "CPU, e.g. `500m` or `2`.",
                "pattern": QUANTITY, "maxLength": QUANTITY_MAX, "minimum": 0, "maximum": 100000},
        "memory": _str("Memory, e.g. `512Mi` or `4Gi`.", pattern=QUANTITY),
    })
    resources = _obj("Compute resources of a container.", {
        "requests": {"$ref": "#/definitions/quantities", "description": "Requested CPU and memory (HPA utilisation targets are percentages of these)."},
        "limits": {"$ref": "#/definitions/quantities", "description": "CPU and memory limits."},
        "gpu": _int("Number of GPUs (requests and limits of `gpuResource`).", minimum=0, maximum=16),
        "gpuResource": _str("Extended resource name for GPUs.", default="nvidia.com/gpu"),
    })
    probe = _obj("An HTTP probe of the serving container.", {
        "path": _str("HTTP path, e.g. `/v2/health/ready`.", pattern=r"^/"),
        "port": _int("Container port.", minimum=1, maximum=65535),
        "initialDelaySeconds": _int("Seconds before the first probe.", minimum=0),
        "periodSeconds": _int("Seconds between probes.", minimum=1),
        "failureThreshold": _int("Failures before the probe fails.", minimum=1),
    }, required=["path"])
    container = _obj("A container image with its command line, environment and resources.", {
        "image": _str("Image reference, pinned to a tag or digest (`registry/name:tag` or `@sha256:`).", minLength=1),
        "command": {"type": "array", "items": {"type": "string"}, "description": "Entrypoint override."},
        "args": {"type": "array", "items": {"type": "string"}, "description": "Arguments."},
        "env": {"type": "array", "items": {"$ref": "#/definitions/envVar"}, "description": "Environment variables."},
        "port": _int("The HTTP port the server listens on.", minimum=1, maximum=65535, default=8080),
        "resources": {"$ref": "#/definitions/resources", "description": "Resources of this container."},
        "readinessProbe": {"$ref": "#/definitions/probe", "description": "Readiness probe (custom containers)."},
        "livenessProbe": {"$ref": "#/definitions/probe", "description": "Liveness probe (custom containers)."},
        "replicas": _int("Replicas of this component (transformer/explainer only; KServe holds the count).", minimum=1, maximum=100, default=1),
    })
    scaling_policy = _obj("One scaling policy of the HPA.", {
        "type": _str("Pods (absolute) or Percent.", enum=["Pods", "Percent"]),
        "value": _int("Pods or percent per period.", minimum=1),
        "periodSeconds": _int("Length of the period.", minimum=1, maximum=1800),
    }, required=["type", "value", "periodSeconds"])
    scaling_rules = _obj("Scale-up or scale-down behaviour of the HPA.", {
        "stabilizationWindowSeconds": _int("Look-back window for the recommendation.", minimum=0, maximum=3600),
        "selectPolicy": _str("Which policy wins.", enum=["Max", "Min", "Disabled"]),
        "policies": {"type": "array", "minItems": 1, "items": {"$ref": "#/definitions/scalingPolicy"},
                     "description": "Rate limits for scaling."},
    })
    step = _obj("One canary step: shift `weight` percent to the new version, then pause.", {
        "weight": _int("Percent of traffic (replica share without traffic routing) on the new version.",
                       minimum=1, maximum=100),
        "pause": _str("How long to wait after setting the weight: a duration (`30s`, `5m`, `1h`) "
                      "or `manual` to wait for `kubectl argo rollouts promote`.",
                      pattern=r"^([0-9]+(s|m|h)|manual)$"),
    }, required=["weight"])
    latency_objective = _obj("A latency objective: `percentile` of requests finish within `threshold`.", {
        "percentile": {"type": "number", "description": "Percentile, e.g. 95 or 99.",
                       "exclusiveMinimum": 0, "exclusiveMaximum": 100,
                       "x-why": "an objective of 100% leaves no error budget: every request slower than the threshold "
                                "would breach it and no burn-rate alert could mean anything (use e.g. 99.9)"},
        "threshold": _str("Latency bound, e.g. `500ms` or `1s`; must be a bucket boundary of the source histogram.",
                          pattern=LATENCY),
    }, required=["percentile", "threshold"])
    return {
        "secretKeyRef": secret_ref,
        "envVar": env_var,
        "quantities": quantities,
        "resources": resources,
        "probe": probe,
        "container": container,
        "scalingPolicy": scaling_policy,
        "scalingRules": scaling_rules,
        "canaryStep": step,
        "latencyObjective": latency_objective,
    }


def _settings(sections: Sections) -> dict:
    """Everything a model sets that an environment may override: the sections spec knows, then
    those the generators own (spec/resolved.py Section), in registry order."""
    settings: dict = {
        "framework": _str("Model framework; selects KServe's modelFormat and serving runtime. "
                          "`custom` serves `container.image`.", enum=FRAMEWORKS),
        "storageUri": _str("Where the model artefact lives: `s3://`, `gs://`, `pvc://`, `hf://`, `oci://` or `https://`.",
                           pattern=r"^(s3|gs|pvc|hf|oci|https)://[^\s]+$"),
        "protocol": _str("Inference protocol: `v1` (KServe V1) or `v2` (Open Inference Protocol). "
                         "Default: v2 for onnx, triton and huggingface, v1 otherwise.", enum=["v1", "v2"]),
        "runtime": _str("Serving runtime override (a ServingRuntime or ClusterServingRuntime name). "
                        "Default: the KServe runtime for the framework.", pattern=DNS1123_LABEL),
        "runtimeVersion": _str("Runtime image tag override.", pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"),
        "modelVersion": _str("Version of the model artefact; becomes a label on the serving pods.",
                             pattern=LABEL_VALUE, maxLength=63),
        "mode": _str("KServe deployment mode. `standard` (raw Deployment; canary by Argo Rollouts, scaling by HPA) "
                     "or `serverless` (Knative; scale to zero, KServe's canaryTrafficPercent).",
                     enum=["standard", "serverless"], default="standard"),
        "container": {"$ref": "#/definitions/container",
                      "description": "The serving container for `framework: custom` (image required there); "
                                     "for other frameworks only args, env, port and probes apply."},
        "resources": {"$ref": "#/definitions/resources",
                      "description": "Resources of the predictor container. Default: requests 500m/512Mi, limits 1/1Gi."},
        "env": {"type": "array", "items": {"$ref": "#/definitions/envVar"},
                "description": "Environment variables of the predictor container."},
        "serviceAccount": _obj("Service account of the predictor (storage credentials, e.g. an IRSA role).", {
            "name": _str("Name of the ServiceAccount.", pattern=DNS1123_LABEL, maxLength=63),
            "create": {"type": "boolean", "description": "Generate the ServiceAccount (default: refer to an existing one)."},
            "annotations": {"type": "object", "additionalProperties": {"type": "string"},
                            "description": "Annotations of a generated ServiceAccount, e.g. `eks.amazonaws.com/role-arn`."},
        }, required=["name"]),
        "transformer": {"$ref": "#/definitions/container", "description": "Optional pre/post-processing container (`image` required)."},
        "explainer": {"$ref": "#/definitions/container", "description": "Optional explainer container (`image` required)."},
        "logger": _obj("Send requests and/or responses to a CloudEvents sink (KServe payload logging).", {
            "url": _str("Sink URL, e.g. `http://message-dumper.logging.svc`.", pattern=r"^https?://[^\s]+$"),
            "mode": _str("What to log.", enum=["all", "request", "response"], default="all"),
        }, required=["url"]),
        "timeoutSeconds": _int("Request timeout of the predictor.", minimum=1, maximum=3600),
        "scheduling": _obj("Where pods may run.", {
            "nodeSelector": {"type": "object", "additionalProperties": {"type": "string"}, "description": "Node labels to select."},
            "tolerations": {"type": "array", "description": "Kubernetes tolerations (e.g. for GPU nodes).",
                            "items": _obj("A toleration.", {
                                "key": _str("Taint key."),
                                "operator": _str("Exists or Equal.", enum=["Exists", "Equal"]),
                                "value": _str("Taint value."),
                                "effect": _str("Taint effect.", enum=["NoSchedule", "PreferNoSchedule", "NoExecute"]),
                            })},
            "zoneSpread": {"type": "boolean", "description": "Spread replicas across zones (topologySpreadConstraints, ScheduleAnyway).",
                           "default": True},
        }),
        "autoscaling": _obj("Replica bounds and HPA targets (Standard mode), or Knative scale bounds (Serverless).", {
            "minReplicas": _int("Lowest replica count (0 allowed in serverless mode only: scale to zero).", minimum=0, default=1),
            "maxReplicas": _int("Highest replica count.", minimum=1, maximum=1000, default=3),
            "cpuUtilization": _int("Target CPU utilisation, percent of the request.", minimum=1, maximum=100, default=80),
            "memoryUtilization": _int("Target memory utilisation, percent of the request.", minimum=1, maximum=100),
            "requestsPerSecond": _int("Target requests per second per pod (needs a custom-metrics adapter).", minimum=1),
            "scaleUp": {"$ref": "#/definitions/scalingRules", "description": "How fast to add pods."},
            "scaleDown": {"$ref": "#/definitions/scalingRules", "description": "How fast to remove pods (default: 5 minute window, at most half per minute)."},
        }),
        "serverless": _obj("Knative settings (mode: serverless).", {
            "targetConcurrency": _int("Target in-flight requests per pod.", minimum=1),
            "window": _str("Knative autoscaling stable window, e.g. `60s`.", pattern=r"^[0-9]+(s|m)$"),
            "canaryTrafficPercent": _int("KServe canary: percent of traffic to the latest revision.", minimum=0, maximum=100),
        }),
        "canary": _obj("Progressive delivery with Argo Rollouts (Standard mode).", {
            "enabled": {"type": "boolean", "description": "Run canary steps; when false an update rolls out at once.", "default": True},
            "steps": {"type": "array", "minItems": 1, "maxItems": 20, "items": {"$ref": "#/definitions/canaryStep"},
                      "description": "Weights must increase and stay at or below 100. Default: 25/50/75 with 2m pauses."},
            "trafficRouting": _str("`none`: weights by replica count; `istio`: exact weights through a VirtualService.",
                                   enum=["none", "istio"], default="none"),
            "analysis": _obj("Automated background canary analysis (Prometheus), of the canary pods only, on "
                             "the SLOs' own metrics: the availability SLI's error ratio and one gate per "
                             "latency objective, measured every `interval` after `initialDelay`; "
                             "more than `failureLimit` failed measurements abort the update, more than "
                             "`inconclusiveLimit` measurements without enough traffic pause it.", {
                "enabled": {"type": "boolean", "description": "Gate the canary on metrics.", "default": True},
                "successRate": {"type": "number", "description": "Minimum success rate of the canary in percent (default: from slo.availability, the fast-burn threshold: 14.4x its error budget).",
                                "exclusiveMinimum": 0, "maximum": 100},
                "latencyP95": _str("A p95 gate: at most 5% of the canary's requests slower than this, read from the SLO "
                                   "source's latency histogram (a bucket boundary of it). Replaces the gate of an SLO "
                                   "p95 objective; a gate looser than an SLO latency objective is a warning.",
                                   pattern=LATENCY),
                "latencyGates": {"type": "boolean", "default": True,
                                 "description": "Gate the canary on every SLO latency objective: fail when more of its "
                                                "requests than the objective allows are slower than the threshold "
                                                "(its percentile is above the threshold). `false`: only `latencyP95` "
                                                "if set."},
                "interval": _str("How often to measure.", pattern=DURATION, default="1m"),
                "initialDelay": _str("Wait before the first measurement.", pattern=DURATION, default="1m"),
                "failureLimit": _int("Failed measurements tolerated before aborting.", minimum=0, default=1),
                "inconclusiveLimit": _int("No-data measurements tolerated before pausing for a human.", minimum=0, default=2),
                "startingStep": _int("Step index at which background analysis starts.", minimum=0, default=1),
                "minRequests": _int("Fewest canary requests in a measurement's 2-minute window for a verdict; with "
                                    "fewer the query returns no data and the measurement is Inconclusive (never "
                                    "a pass). Raise it for busy models (more evidence per measurement), lower it "
                                    "for quiet ones (below it the Rollout keeps pausing).", minimum=1, default=30),
            }),
            "progressDeadlineSeconds": _int("Abort an update that makes no progress for this long.", minimum=30, default=600),
            "abortScaleDownDelaySeconds": _int("Keep aborted canary pods this long for debugging.", minimum=0, default=30),
        }),
        "slo": _obj("Service level objectives; generate recording rules and multi-window burn-rate alerts.", {
            "availability": {"type": "number", "description": "Percent of requests that must succeed, e.g. 99.9.",
                             "exclusiveMinimum": 0, "exclusiveMaximum": 100,
                             "x-why": "an objective of 100% leaves no error budget: every failed request would breach it "
                                      "and no burn-rate alert could mean anything (use e.g. 99.9)"},
            "latency": {"type": "array", "items": {"$ref": "#/definitions/latencyObjective"},
                        "description": "Latency objectives, e.g. p95 within 500ms."},
            "window": _str("SLO window.", pattern=WINDOW, default="30d"),
            "source": _str("Metric source: `istio` (availability and latency), `kserve` (latency only), "
                           "`custom` (your PromQL). Default from mlgitops.yaml.", enum=["istio", "kserve", "custom"]),
            "custom": _obj("PromQL for `source: custom`; `$window` is replaced with the rate window.", {
                "errorQuery": _str("Rate of failed requests, e.g. `sum(rate(http_requests_total{code=~\"5..\"}[$window]))`."),
                "totalQuery": _str("Rate of all requests."),
            }, required=["errorQuery", "totalQuery"]),
        }),
        "podDisruptionBudget": _obj("Voluntary-disruption budget (generated when more than one replica).", {
            "enabled": {"type": "boolean", "description": "Force on or off (default: on when minReplicas > 1)."},
            "maxUnavailable": _int("Pods that may be down at once.", minimum=1, default=1),
        }),
    }
    for section in sections:
        settings[section.key] = copy.deepcopy(dict(section.schema))
    return settings


def model_schema(sections: Sections) -> dict:
    """The model file's JSON Schema: spec's own fields and the generator-owned `sections`."""
    settings = _settings(sections)
    override = copy.deepcopy(settings)
    override["enabled"] = {"type": "boolean", "description": "Deploy the model to this environment.", "default": True}
    spec_props = copy.deepcopy(settings)
    spec_props["environments"] = {
        "type": "object",
        "description": "Per-environment overrides, keyed by an environment of mlgitops.yaml. "
                       "Maps merge, lists and scalars replace.",
        "additionalProperties": {"$ref": "#/definitions/environmentOverride"},
    }
    spec_props["policyExceptions"] = {
        "type": "array", "items": {"$ref": "#/definitions/policyException"},
        "description": "Waivers of policies in policies/ for this model's objects (`mlgitops policy check`): "
                       "each needs a reason and an expiry date; an expired waiver is an error. "
                       "Set here only, not per environment: restrict one with `environments`.",
    }
    defs = _defs()
    defs["policyException"] = _obj("A waiver of one policy for the objects generated from this model.", {
        "policy": _str("The waived policy's metadata.name.", pattern=DNS1123_LABEL, minLength=1, maxLength=253),
        "reason": _str("Why the model may break the policy (shown in every policy report).", minLength=1,
                       pattern=r"\S"),
        "expires": _str("Last day the waiver applies, `YYYY-MM-DD`; after it the waiver is an error.",
                        pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"),
        "environments": {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1,
                         "uniqueItems": True,
                         "description": "Only in these environments (default: every environment)."},
    }, required=["policy", "reason", "expires"])
    defs["environmentOverride"] = _obj("Overrides for one environment.", override)
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": SCHEMA_ID,
        "title": "mlgitops Model",
        "description": "One ML model served by KServe, released by Argo Rollouts, watched by SLOs, synced by Argo CD.",
        "type": "object",
        "additionalProperties": False,
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": {"const": API_VERSION, "description": f"Always `{API_VERSION}`."},
            "kind": {"const": "Model", "description": "Always `Model`."},
            "metadata": _obj("Identity and ownership.", {
                "name": _str("DNS-1123 name; must equal the file name without `.yaml`.",
                             pattern=DNS1123_LABEL, minLength=1, maxLength=63),
                "team": _str("Owning team (label `mlgitops.dev/team`).", pattern=LABEL_VALUE, minLength=1, maxLength=63),
                "description": _str("What the model does."),
                "labels": {"type": "object", "additionalProperties": {"type": "string", "pattern": LABEL_VALUE, "maxLength": 63},
                           "description": "Extra labels on every generated object."},
            }, required=["name", "team"]),
            "spec": _obj("The model and how it is served.", spec_props, required=["framework"]),
        },
        "definitions": defs,
    }


def schema_json(sections: Sections) -> str:
    """The published schema text (stable key order, trailing newline)."""
    return json.dumps(model_schema(sections), indent=2, sort_keys=False) + "\n"


# The builders a generator-owned section (spec/resolved.py Section) writes its schema with.
string, integer, mapping = _str, _int, _obj
