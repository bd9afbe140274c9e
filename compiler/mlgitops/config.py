"""mlgitops.yaml: the repository-level settings every model shares.

Environments (namespace and Argo CD destination), the KServe version the output targets,
Argo CD and monitoring settings. A change here changes the generated base and every overlay.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
from typing import Any

from . import contain
from .diagnostics import Diagnostic, Diagnostics, ERROR, echo
from .domain.burnrate import AlertTier, table_from_config
from .domain.burnrate import schema as burn_rate_schema
from .domain.sources import BUCKETED_SOURCES, SOURCES
from .domain.units import LATENCY, duration_seconds, seconds
from .schemacheck import SchemaChecker
from .yamlsource import SourceDocument, load_yaml

CONFIG_FILE = "mlgitops.yaml"
DNS1123 = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
# Oldest KServe whose replica handling allows a single writer (see docs/design.md).
MIN_KSERVE = (0, 14)


def config_schema() -> dict:
    def s(desc, **kw):
        return {"type": "string", "description": desc, **kw}

    def ns_list(desc):
        return {"type": "array", "minItems": 1, "uniqueItems": True, "items": {"type": "string", "pattern": DNS1123},
                "description": desc}

    def obj(desc, props, **kw):
        return {"type": "object", "description": desc, "additionalProperties": False, "properties": props, **kw}

    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "mlgitops repository config",
        **obj("Repository-level settings.", {
            "apiVersion": {"const": "mlgitops.dev/v1alpha1", "description": "Always `mlgitops.dev/v1alpha1`."},
            "kind": {"const": "Config", "description": "Always `Config`."},
            "kserve": obj("The KServe release the output targets.", {
                "version": s("KServe minor version, e.g. `0.16` (canonical field values differ between releases).",
                             pattern=r"^[0-9]+\.[0-9]+(\.[0-9]+)?$"),
            }, required=["version"]),
            "argocd": obj("Argo CD settings.", {
                "namespace": s("Namespace of Argo CD.", pattern=DNS1123),
                "project": s("AppProject of the generated Applications.", pattern=DNS1123),
                "repoURL": s("URL of this repository as Argo CD clones it."),
                "targetRevision": s("Branch Argo CD follows."),
            }, required=["repoURL"]),
            "monitoring": obj("Prometheus settings.", {
                "prometheusAddress": s("Prometheus URL used by canary analysis."),
                "ruleLabels": {"type": "object", "additionalProperties": {"type": "string"},
                               "description": "Labels the Prometheus CR selects PrometheusRules and ServiceMonitors by."},
                "sloSource": s("Default SLO metric source.", enum=["istio", "kserve", "custom"]),
                "runbookURL": s("Base URL of runbooks; alerts link to `<runbookURL>/<alert>`."),
                "burnRateAlerts": burn_rate_schema(),
                "meshScrape": obj("A platform scrape of every Istio sidecar (e.g. Istio's `envoy-stats-monitor` "
                                  "PodMonitor). Set, the SLO rules read the mesh metrics from its job and no "
                                  "per-model mesh PodMonitor is generated for them (canary gates still use the "
                                  "model's own, which keeps the pods' template hash).", {
                    "job": s("The `job` label of its series, e.g. `istio-system/envoy-stats-monitor`.", minLength=1),
                }, required=["job"]),
                "kubeStateMetrics": obj("The kube-state-metrics scrape the operational alerts read.", {
                    "job": s("Its `job` label (default `kube-state-metrics`, as kube-prometheus-stack).", minLength=1),
                }, required=["job"]),
                "rolloutsMetrics": obj("The Argo Rollouts controller scrape the stuck-canary alert and the "
                                       "dashboards read.", {
                    "job": s("Its `job` label (default `argo-rollouts-metrics`, the chart's metrics Service).",
                             minLength=1),
                }, required=["job"]),
                "histogramBuckets": {
                    "type": "object", "additionalProperties": False, "minProperties": 1,
                    "description": "The latency histogram buckets the clusters really have, per metric source "
                                   "(default: the exporter's own). Latency thresholds must be one of them.",
                    "properties": {
                        name: {"type": "array", "minItems": 1, "uniqueItems": True,
                               "items": {"type": "string", "pattern": LATENCY, "maxLength": 32},
                               "description": f"Bucket upper bounds of the {name} latency histogram, as durations "
                                              "(`250ms`, `1s`)."}
                        for name in BUCKETED_SOURCES},
                },
                "scrapes": {
                    "type": "array",
                    "description": "Other platform scrapes that custom SLO queries read (the collection check "
                                   "accepts their metrics).",
                    "items": obj("One platform scrape.", {
                        "job": s("Its `job` label.", minLength=1),
                        "metrics": {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1},
                                    "description": "The metric names it collects."},
                    }, required=["job", "metrics"]),
                },
            }),
            "network": obj("Where traffic to a model comes from, for the generated NetworkPolicies (cluster facts).", {
                "entryNamespaces": ns_list("Namespaces of the traffic entry: the ingress controller or Istio ingress "
                                           "gateway (default `[istio-system]`, KServe's Istio ingress)."),
                "monitoringNamespaces": ns_list("Namespaces of Prometheus, allowed on the metrics ports (default "
                                                "`[monitoring]`)."),
                "knativeNamespace": s("Namespace of Knative Serving's activator and autoscaler, allowed on every port "
                                      "of serverless models (default `knative-serving`).", pattern=DNS1123),
                "dnsNamespace": s("Namespace of the cluster DNS, allowed as an egress destination on port 53 "
                                  "(default `kube-system`).", pattern=DNS1123),
                "istiodNamespace": s("Namespace of istiod, allowed as an egress destination of sidecars (default "
                                     "`istio-system`).", pattern=DNS1123),
            }),
            "routes": obj("External routes (`spec.route` of a model): a Kubernetes Ingress (ingress-nginx) or a "
                          "Gateway API HTTPRoute.", {
                "kind": s("Kind of the generated route (default `Ingress`; `HTTPRoute` where the clusters run a "
                          "Gateway API implementation).", enum=["Ingress", "HTTPRoute"]),
                "ingressClassName": s("IngressClass of generated Ingresses (default `nginx`).", pattern=DNS1123),
                "gateway": obj("The Gateway generated HTTPRoutes attach to.", {
                    "name": s("Gateway name.", pattern=DNS1123),
                    "namespace": s("Gateway namespace.", pattern=DNS1123),
                    "sectionName": s("Listener of the Gateway (optional).", pattern=DNS1123),
                }, required=["name", "namespace"]),
                "rolloutsPlugin": s("Name of the Argo Rollouts Gateway API traffic-router plugin the canary of an "
                                    "HTTPRoute uses (default `argoproj-labs/gatewayAPI`).", minLength=1),
            }),
            "storage": obj("S3-compatible storage endpoints models pull from (`spec.storage.endpoint`).", {
                "endpoints": {
                    "type": "object", "minProperties": 1,
                    "propertyNames": {"pattern": DNS1123, "maxLength": 40},
                    "description": "Storage endpoints by name.",
                    "additionalProperties": obj("One S3-compatible endpoint.", {
                        "endpoint": s("Host and port, e.g. `minio.minio.svc.cluster.local:9000` (no scheme).",
                                      pattern=r"^[A-Za-z0-9.-]+(:[0-9]{1,5})?$"),
                        "region": s("S3 region.", pattern=r"^[a-z0-9-]+$"),
                        "https": {"type": "boolean", "description": "Use https (default true)."},
                        "verifySSL": {"type": "boolean", "description": "Verify the endpoint's certificate (default "
                                                                         "true)."},
                        "egressTo": {"type": "array", "minItems": 1, "description":
                                     "Where the endpoint is, for egress NetworkPolicies: peers as NetworkPolicy "
                                     "`to` entries (`namespace`, `podLabels` or `cidr`).",
                                     "items": obj("One peer.", {
                                         "namespace": s("Namespace of the endpoint's pods.", pattern=DNS1123),
                                         "podLabels": {"type": "object", "minProperties": 1,
                                                       "additionalProperties": {"type": "string"},
                                                       "description": "Labels of the endpoint's pods."},
                                         "cidr": s("An IP block, e.g. `10.0.0.0/8`.",
                                                   pattern=r"^[0-9a-fA-F.:]+/[0-9]{1,3}$"),
                                         "port": {"type": "integer", "minimum": 1, "maximum": 65535,
                                                  "description": "Port (default: the endpoint's, else 443/80)."},
                                     }, minProperties=1)},
                        "credentials": obj("How the storage initializer authenticates: exactly one of "
                                           "`secretName`, `externalSecret`, `irsaRoleArn`. Keys are never written "
                                           "into Git.", {
                            "secretName": s("An existing Secret in the model namespace with the keys "
                                            "`awsAccessKeyID` and `awsSecretAccessKey` and KServe's annotations "
                                            "`serving.kserve.io/s3-endpoint`, `s3-usehttps`, `s3-region`, "
                                            "`s3-verifyssl` (mlgitops does not own it, so it cannot add them).",
                                            pattern=DNS1123),
                            "externalSecret": obj("Generate an ExternalSecret (External Secrets Operator) that "
                                                  "creates the credential Secret from a secret store.", {
                                "storeName": s("Name of the SecretStore or ClusterSecretStore.", pattern=DNS1123),
                                "storeKind": s("Kind of the store (default `ClusterSecretStore`).",
                                               enum=["ClusterSecretStore", "SecretStore"]),
                                "remoteKey": s("Key of the credentials in the store.", minLength=1),
                                "accessKeyIdProperty": s("Property holding the access key id (default "
                                                         "`accessKeyId`).", minLength=1),
                                "secretAccessKeyProperty": s("Property holding the secret key (default "
                                                             "`secretAccessKey`).", minLength=1),
                                "refreshInterval": s("How often to refresh (default `1h`).",
                                                     pattern=r"^([0-9]+(s|m|h))+$"),
                            }, required=["storeName", "remoteKey"]),
                            "irsaRoleArn": s("IAM role for service accounts (EKS): the ServiceAccount is annotated "
                                             "with it, no keys at all.", pattern=r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$"),
                        }, minProperties=1, maxProperties=1),
                    }, required=["endpoint", "credentials"]),
                },
            }),
            "validation": obj("Settings of `mlgitops validate`.", {
                "schemaLocations": {
                    "type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1},
                    "description": "Schema locations, as kubeconform's `-schema-location` (templates, directories, "
                                   "URLs; `default` = the repo's `schemas/` then the bundled Kubernetes schemas)."},
                "kubernetesVersion": s("Kubernetes version of the core schemas, e.g. `1.33.0`.",
                                       pattern=r"^[0-9]+\.[0-9]+\.[0-9]+$"),
                "strictSchemas": {"type": "boolean",
                                  "description": "A missing schema is an error (default: only when `CI=true`)."},
            }),
            "limits": obj("Size limits of the files mlgitops reads from the repository, in MiB (a larger "
                          "file is refused with `input.too-large` before it is read). mlgitops.yaml itself "
                          "is limited to 1 MiB.", {
                key: {"type": "integer", "minimum": 1, "maximum": contain.MAX_CONFIGURABLE_MIB,
                      "description": f"Largest {what}, in MiB (default {default // contain.MIB})."
                      + (" `mlgitops validate --max-file-size` overrides it." if kind == "resource" else "")}
                for kind, (default, key, what) in contain.KINDS.items() if key
            }),
            "environments": {
                "type": "object", "minProperties": 1,
                "description": "Deployment environments, in promotion order.",
                "propertyNames": {"pattern": DNS1123, "maxLength": 20},
                "additionalProperties": obj("One environment.", {
                    "namespace": s("Namespace the models of this environment run in.", pattern=DNS1123, maxLength=63),
                    "server": s("Argo CD destination cluster URL."),
                    "cluster": s("Argo CD destination cluster name (instead of server)."),
                    "clusters": {
                        "type": "array", "minItems": 1, "description":
                            "Several clusters for this environment (instead of server/cluster): an ApplicationSet "
                            "matrix of the overlays and these clusters. A cluster's `overrides` compile into its own "
                            "overlays (`overlays/<env>@<cluster>/<model>`), only for models whose output differs.",
                        "items": obj("One destination cluster.", {
                            "name": s("Cluster name (unique in the environment; Argo CD's cluster name when no "
                                      "server is given).", pattern=DNS1123, maxLength=30),
                            "server": s("The cluster's API server URL, as registered in Argo CD."),
                            "labels": {"type": "object", "additionalProperties": {"type": "string"},
                                       "description": "Labels, for your own reference and ApplicationSet templates."},
                            "overrides": obj("What differs in this cluster, for every model.", {
                                "storageEndpoint": s("A storage endpoint of `storage.endpoints` used instead of the "
                                                     "one models name (e.g. the region's MinIO).", pattern=DNS1123),
                                "autoscaling": obj("Replica bounds replacing the models' in this cluster.", {
                                    "minReplicas": {"type": "integer", "minimum": 0},
                                    "maxReplicas": {"type": "integer", "minimum": 1},
                                }, minProperties=1),
                            }, minProperties=1),
                        }, required=["name", "server"]),
                    },
                    "clusterSelector": obj("Argo CD cluster secrets selected by label (instead of server/cluster/"
                                           "clusters): an ApplicationSet matrix with the cluster generator.", {
                        "matchLabels": {"type": "object", "minProperties": 1,
                                        "additionalProperties": {"type": "string"},
                                        "description": "Labels of the cluster secrets."},
                    }, required=["matchLabels"]),
                    "networkPolicy": {"type": "boolean", "description":
                                      "Default of `spec.networkPolicy.enabled` for this environment (default: true in "
                                      "the last environment, production, else false)."},
                    "alertSeverities": {
                        "type": "object", "additionalProperties": {"type": "string", "pattern": r"^[a-z][a-z0-9-]*$"},
                        "propertyNames": {"pattern": r"^[a-z][a-z0-9-]*$"},
                        "description": "Severity routing: the `severity` label each generated severity gets in this "
                                       "environment, e.g. `{page: ticket}`. Default: `{page: ticket}` in every "
                                       "environment but the last (production), so only production pages.",
                    },
                }, required=["namespace"]),
            },
        }, required=["apiVersion", "kind", "kserve", "argocd", "environments"]),
    }


@dataclasses.dataclass(frozen=True)
class Cluster:
    """One destination cluster of an environment with several (`environments.<env>.clusters`)."""

    name: str
    server: str  # its API server URL, as registered in Argo CD
    labels: dict = dataclasses.field(default_factory=dict, compare=False)
    # What differs here: {"storageEndpoint": name, "autoscaling": {minReplicas, maxReplicas}} as written.
    overrides: dict = dataclasses.field(default_factory=dict, compare=False)

    def destination(self) -> dict:
        """The Argo CD destination cluster."""
        return {"server": self.server}


@dataclasses.dataclass(frozen=True)
class Environment:
    name: str
    namespace: str
    server: str | None
    cluster: str | None
    # Severity routing: generated severity -> the `severity` label in this environment.
    alert_severities: dict = dataclasses.field(default_factory=dict, compare=False)
    clusters: tuple[Cluster, ...] = ()  # several clusters (instead of server/cluster)
    cluster_selector: dict | None = None  # Argo CD cluster secrets' matchLabels (instead of the above)
    network_policy: bool = False  # default of spec.networkPolicy.enabled here

    def severity(self, severity: str) -> str:
        """The `severity` label an alert of `severity` gets in this environment."""
        return self.alert_severities.get(severity, severity)

    def cluster_named(self, name: str) -> Cluster | None:
        return next((c for c in self.clusters if c.name == name), None)

    @property
    def overriding_clusters(self) -> tuple[Cluster, ...]:
        """The clusters with overrides: each may get its own overlays (overlays/<env>@<cluster>/)."""
        return tuple(c for c in self.clusters if c.overrides)


@dataclasses.dataclass(frozen=True)
class Network:
    """Where a model's traffic comes from (`network:`), for its NetworkPolicy."""

    entry_namespaces: tuple[str, ...] = ("istio-system",)  # KServe's default ingress: the Istio ingress gateway
    monitoring_namespaces: tuple[str, ...] = ("monitoring",)  # Prometheus (*.monitoring.svc by default)
    knative_namespace: str = "knative-serving"  # the activator and autoscaler (serverless mode)
    dns_namespace: str = "kube-system"
    istiod_namespace: str = "istio-system"


@dataclasses.dataclass(frozen=True)
class Routes:
    """External routes (`routes:`): what `spec.route` of a model generates."""

    kind: str = "Ingress"  # or HTTPRoute
    ingress_class: str = "nginx"
    gateway: dict | None = None  # {name, namespace[, sectionName]}: the parentRef of HTTPRoutes
    rollouts_plugin: str = "argoproj-labs/gatewayAPI"


@dataclasses.dataclass(frozen=True)
class StorageEndpoint:
    """An S3-compatible endpoint of `storage.endpoints` (e.g. MinIO)."""

    name: str
    endpoint: str  # host[:port]
    region: str | None
    https: bool
    verify_ssl: bool
    credentials: dict  # exactly one of secretName / externalSecret / irsaRoleArn, as written
    egress_to: tuple[dict, ...] = ()  # NetworkPolicy peers of the endpoint, as written

    @property
    def credential_kind(self) -> str:
        (kind,) = self.credentials
        return kind


# Staging never pages by default: every environment but the last (production) turns pages into tickets.
NON_PRODUCTION_SEVERITIES = {"page": "ticket"}


@dataclasses.dataclass(frozen=True)
class PlatformScrape:
    """A scrape the platform runs (not generated by mlgitops): its job label and what it collects."""

    job: str
    metrics: frozenset[str] | None  # None: every metric of its exporter (domain/sources.py EXPORTERS)


@dataclasses.dataclass(frozen=True)
class Config:
    path: str
    kserve_version: tuple[int, int]
    argocd_namespace: str
    argocd_project: str
    repo_url: str
    target_revision: str
    prometheus_address: str
    rule_labels: dict
    slo_source: str
    runbook_url: str
    burn_rate_alerts: tuple[AlertTier, ...]  # the alert table (domain/burnrate.py), defaults when not set
    environments: dict  # name -> Environment, in file order
    validation: dict  # the `validation:` section as written (see validate/run.py)
    text: str  # raw bytes of the file, part of the build fingerprint
    limits: dict = dataclasses.field(default_factory=dict)  # the `limits:` section as written (contain.py)
    # Platform scrapes (monitoring.meshScrape / kubeStateMetrics / rolloutsMetrics / scrapes).
    mesh_scrape: PlatformScrape | None = None
    kube_state_metrics: PlatformScrape = PlatformScrape("kube-state-metrics", None)
    rollouts_metrics: PlatformScrape = PlatformScrape("argo-rollouts-metrics", None)
    scrapes: tuple[PlatformScrape, ...] = ()
    # Declared latency buckets per source, in seconds (monitoring.histogramBuckets); else the exporter's.
    histogram_buckets: dict = dataclasses.field(default_factory=dict)
    network: Network = Network()
    routes: Routes = Routes()
    storage_endpoints: dict = dataclasses.field(default_factory=dict)  # name -> StorageEndpoint, in file order
    doc: SourceDocument | None = dataclasses.field(default=None, compare=False, repr=False)  # positions

    def buckets(self, source: str) -> tuple[float, ...]:
        """The latency bucket bounds (seconds) of a metric source: declared, else the exporter's defaults."""
        if source in self.histogram_buckets:
            return self.histogram_buckets[source]
        found = SOURCES.get(source)
        return found.buckets if found else ()

    @property
    def deployment_mode_standard(self) -> str:
        # KServe renamed RawDeployment to Standard in 0.16 and rewrites the legacy value from 0.17.
        return "Standard" if self.kserve_version >= (0, 16) else "RawDeployment"

    @property
    def deployment_mode_serverless(self) -> str:
        return "Knative" if self.kserve_version >= (0, 16) else "Serverless"


@functools.lru_cache(maxsize=None)
def config_checker() -> SchemaChecker:
    return SchemaChecker(config_schema(), "config.schema", "config.unknown-field")


def load_config(root: str, diags: Diagnostics) -> Config | None:
    path = os.path.join(root, CONFIG_FILE)
    contain.configure(None)  # the defaults, until this file's `limits:` are known
    if not os.path.lexists(path):
        diags.error(CONFIG_FILE, 0, 0, "config.missing",
                    f"no {CONFIG_FILE} in {root}: create one (see docs/config.md, or run 'mlgitops init')")
        return None
    text = contain.read_reported(root, CONFIG_FILE, "config", diags, CONFIG_FILE)
    if text is None:
        return None
    parsed = _PARSED.get(text)
    if parsed is None:
        parsed = _parse(text)
        if len(_PARSED) >= 8:
            _PARSED.clear()
        _PARSED[text] = parsed
    config, problems, limits = parsed
    diags.extend(problems)
    if limits is not None:
        contain.configure(limits[0])
    return config


# text -> what _parse made of it: a process reads the same config many times (the policy check
# locates findings in every overlay through it), and the result depends on the text alone.
_PARSED: dict[str, tuple[Config | None, list[Diagnostic], tuple[Any] | None]] = {}


def _parse(text: str) -> tuple[Config | None, list[Diagnostic], tuple[Any] | None]:
    """(the config or None, its problems, (the `limits:` to configure,) once the schema passed)."""
    diags = Diagnostics()
    doc, problems = load_yaml(text, CONFIG_FILE)
    diags.extend(problems)
    if doc is None or problems:
        return None, list(diags), None
    if not isinstance(doc.data, dict):
        diags.error(CONFIG_FILE, 1, 1, "config.schema", "expected a mapping")
        return None, list(diags), None
    found = config_checker().check(doc)
    diags.extend(found)
    if found:
        return None, list(diags), None
    limits = (doc.data.get("limits"),)
    contain.configure(limits[0])  # _from_document's checks see them, as before
    return _from_document(doc, text, diags), list(diags), limits


def _from_document(doc: SourceDocument, text: str, diags: Diagnostics) -> Config | None:
    data = doc.data
    raw_version = data["kserve"]["version"]
    version = re.match(r"^(\d+)\.(\d+)", raw_version)
    assert version is not None, "the schema's kserve.version pattern"
    major, minor = (int(x) for x in version.groups())
    if (major, minor) < MIN_KSERVE:
        line, col = doc.position(("kserve", "version"))
        diags.add(Diagnostic(CONFIG_FILE, line, col, "config.kserve-version", ERROR,
                             f"kserve.version {echo(raw_version, quote=False)} is not supported: KServe <= 0.13 resets the predictor "
                             "Deployment to 1 replica on every change, so a canary leaks (use 0.14 or newer)"))
        return None
    argocd = data["argocd"]
    monitoring = data.get("monitoring", {})
    envs = {}
    storage = {name: StorageEndpoint(name, e["endpoint"], e.get("region"), e.get("https", True),
                                     e.get("verifySSL", True), dict(e["credentials"]), tuple(e.get("egressTo", ())))
               for name, e in data.get("storage", {}).get("endpoints", {}).items()}
    for name, env in data["environments"].items():
        destinations = [key for key in ("server", "cluster", "clusters", "clusterSelector") if key in env]
        if len(destinations) > 1:
            line, col = doc.position(("environments", name, destinations[1]), key=True)
            diags.error(CONFIG_FILE, line, col, "config.schema",
                        f"environments.{name}: set one of server, cluster, clusters or clusterSelector, "
                        f"not {' and '.join(destinations)}")
        clusters = tuple(Cluster(c["name"], c["server"], dict(c.get("labels", {})), dict(c.get("overrides", {})))
                         for c in env.get("clusters", ()))
        seen: set[str] = set()
        for i, cluster in enumerate(clusters):
            if cluster.name in seen:
                line, col = doc.position(("environments", name, "clusters", i, "name"))
                diags.error(CONFIG_FILE, line, col, "config.schema",
                            f"environments.{name}.clusters: cluster {echo(cluster.name)} is listed twice")
            seen.add(cluster.name)
            endpoint = cluster.overrides.get("storageEndpoint")
            if endpoint is not None and endpoint not in storage:
                line, col = doc.position(("environments", name, "clusters", i, "overrides", "storageEndpoint"))
                diags.error(CONFIG_FILE, line, col, "config.unknown-storage-endpoint",
                            f"environments.{name}.clusters[{i}]: unknown storage endpoint {echo(endpoint)} "
                            f"(storage.endpoints has: {', '.join(storage) or 'none'})")
        last = name == list(data["environments"])[-1]
        severities = env.get("alertSeverities", {} if last else NON_PRODUCTION_SEVERITIES)
        selector = env.get("clusterSelector")
        envs[name] = Environment(name, env["namespace"], env.get("server"), env.get("cluster"), dict(severities),
                                 clusters=clusters,
                                 cluster_selector=dict(selector["matchLabels"]) if selector else None,
                                 network_policy=env.get("networkPolicy", last))
    for severity, tier in monitoring.get("burnRateAlerts", {}).items():
        for i, pair in enumerate(tier["windows"]):
            if duration_seconds(pair["short"]) >= duration_seconds(pair["long"]):
                line, col = doc.position(("monitoring", "burnRateAlerts", severity, "windows", i, "short"))
                diags.error(CONFIG_FILE, line, col, "config.burn-rate-alerts",
                            f"monitoring.burnRateAlerts.{severity}: short window {echo(pair['short'], quote=False)} must be "
                            f"shorter than the long window {echo(pair['long'], quote=False)} (the workbook uses 1/12 of it)")
    routes = data.get("routes", {})
    if routes.get("kind") == "HTTPRoute" and "gateway" not in routes:
        line, col = doc.position(("routes", "kind"))
        diags.error(CONFIG_FILE, line, col, "config.schema",
                    "routes.kind HTTPRoute needs routes.gateway (the Gateway the routes attach to)")
    scrape = lambda key, default: (PlatformScrape(monitoring[key]["job"], None) if key in monitoring  # noqa: E731
                                   else default)
    return Config(
        path=CONFIG_FILE,
        kserve_version=(major, minor),
        argocd_namespace=argocd.get("namespace", "argocd"),
        argocd_project=argocd.get("project", "default"),
        repo_url=argocd["repoURL"],
        target_revision=argocd.get("targetRevision", "HEAD"),
        prometheus_address=monitoring.get("prometheusAddress", "http://prometheus-operated.monitoring.svc:9090"),
        rule_labels=dict(monitoring.get("ruleLabels", {})),
        slo_source=monitoring.get("sloSource", "istio"),
        validation=dict(data.get("validation", {})),
        runbook_url=monitoring.get("runbookURL", "").rstrip("/"),
        burn_rate_alerts=table_from_config(monitoring.get("burnRateAlerts")),
        environments=envs,
        text=text,
        limits=dict(data.get("limits", {})),
        doc=doc,
        mesh_scrape=scrape("meshScrape", None),
        kube_state_metrics=scrape("kubeStateMetrics", Config.kube_state_metrics),
        rollouts_metrics=scrape("rolloutsMetrics", Config.rollouts_metrics),
        scrapes=tuple(PlatformScrape(s["job"], frozenset(s["metrics"])) for s in monitoring.get("scrapes", ())),
        histogram_buckets={name: tuple(sorted(seconds(b) for b in bounds))
                           for name, bounds in monitoring.get("histogramBuckets", {}).items()},
        network=_network(data.get("network", {})),
        routes=Routes(routes.get("kind", Routes.kind), routes.get("ingressClassName", Routes.ingress_class),
                      dict(routes["gateway"]) if "gateway" in routes else None,
                      routes.get("rolloutsPlugin", Routes.rollouts_plugin)),
        storage_endpoints=storage,
    )


def _network(data: dict) -> Network:
    default = Network()
    return Network(tuple(data.get("entryNamespaces", default.entry_namespaces)),
                   tuple(data.get("monitoringNamespaces", default.monitoring_namespaces)),
                   data.get("knativeNamespace", default.knative_namespace),
                   data.get("dnsNamespace", default.dns_namespace),
                   data.get("istiodNamespace", default.istiod_namespace))
