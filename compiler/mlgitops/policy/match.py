"""Which objects a policy applies to: matchConstraints, a binding's matchResources, matchConditions.

One job: Kubernetes' matching rules for admission policies, evaluated offline where every
object is a CREATE request:
- resourceRules / excludeResourceRules: apiGroups, apiVersions, resources (plural lowercase
  names from `resource_of`; "*" and "*/*" match any; a rule naming a subresource never
  matches, objects have none), operations ("CREATE" or "*"), resourceNames;
- namespaceSelector against the namespace's labels (`kubernetes.io/metadata.name: <name>` plus
  the labels of a Namespace object among the inputs); a cluster-scoped object matches any
  namespaceSelector, a Namespace object is matched by its own labels, as in Kubernetes;
- objectSelector against the object's labels;
- a binding's matchResources narrows the policy's matchConstraints (both must match);
- matchConditions: all must be true; one false means no match even when another errors.
`matchPolicy` (Exact/Equivalent) is ignored: offline there is no other version of an object.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from .. import labelselector
from ..kustomize.fieldspecs import is_cluster_scoped
from .cel import CelError

if TYPE_CHECKING:
    from .load import Expression

OPERATION = "CREATE"
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"

# (group, kind) -> resource, for the kinds mlgitops generates and their neighbours.
_RESOURCES = {
    "": {"Pod": "pods", "Service": "services", "ConfigMap": "configmaps", "Secret": "secrets",
         "ServiceAccount": "serviceaccounts", "Namespace": "namespaces", "Endpoints": "endpoints",
         "PersistentVolumeClaim": "persistentvolumeclaims", "PersistentVolume": "persistentvolumes",
         "ResourceQuota": "resourcequotas", "LimitRange": "limitranges", "Node": "nodes"},
    "apps": {"Deployment": "deployments", "StatefulSet": "statefulsets", "DaemonSet": "daemonsets",
             "ReplicaSet": "replicasets"},
    "batch": {"Job": "jobs", "CronJob": "cronjobs"},
    "autoscaling": {"HorizontalPodAutoscaler": "horizontalpodautoscalers"},
    "policy": {"PodDisruptionBudget": "poddisruptionbudgets"},
    "networking.k8s.io": {"Ingress": "ingresses", "NetworkPolicy": "networkpolicies"},
    "rbac.authorization.k8s.io": {"Role": "roles", "RoleBinding": "rolebindings", "ClusterRole": "clusterroles",
                                  "ClusterRoleBinding": "clusterrolebindings"},
    "serving.kserve.io": {"InferenceService": "inferenceservices", "ServingRuntime": "servingruntimes",
                          "ClusterServingRuntime": "clusterservingruntimes", "InferenceGraph": "inferencegraphs",
                          "TrainedModel": "trainedmodels", "ClusterStorageContainer": "clusterstoragecontainers"},
    "argoproj.io": {"Rollout": "rollouts", "AnalysisTemplate": "analysistemplates",
                    "ClusterAnalysisTemplate": "clusteranalysistemplates", "AnalysisRun": "analysisruns",
                    "Experiment": "experiments", "Application": "applications",
                    "ApplicationSet": "applicationsets", "AppProject": "appprojects"},
    "monitoring.coreos.com": {"ServiceMonitor": "servicemonitors", "PodMonitor": "podmonitors",
                              "PrometheusRule": "prometheusrules", "Prometheus": "prometheuses",
                              "Alertmanager": "alertmanagers", "Probe": "probes"},
    "networking.istio.io": {"VirtualService": "virtualservices", "DestinationRule": "destinationrules",
                            "Gateway": "gateways", "ServiceEntry": "serviceentries", "Sidecar": "sidecars"},
    "admissionregistration.k8s.io": {"ValidatingAdmissionPolicy": "validatingadmissionpolicies",
                                     "ValidatingAdmissionPolicyBinding": "validatingadmissionpolicybindings"},
}


def resource_of(group: str, kind: str) -> str:
    """The plural resource name of a kind: from the table, else English plural of the lowercase kind."""
    known = _RESOURCES.get(group, {}).get(kind)
    if known:
        return known
    lower = kind.lower()
    if lower.endswith(("s", "x", "z", "ch", "sh")):
        return lower + "es"
    if lower.endswith("y") and lower[-2:-1] not in ("a", "e", "i", "o", "u", ""):
        return lower[:-1] + "ies"
    return lower + "s"


def split_api_version(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version


def _listed(values: Any, value: str) -> bool:
    return isinstance(values, list) and ("*" in values or value in values)


def _resource_listed(resources: Any, resource: str) -> bool:
    if not isinstance(resources, list):
        return False
    return any(r in ("*", "*/*", resource) for r in resources)


def rule_matches(rule: Any, group: str, version: str, resource: str, name: str) -> bool:
    """One entry of resourceRules (a NamedRuleWithOperations) against an object."""
    if not isinstance(rule, dict):
        return False
    names = rule.get("resourceNames")
    return (_listed(rule.get("apiGroups"), group) and _listed(rule.get("apiVersions"), version)
            and _resource_listed(rule.get("resources"), resource)
            and _listed(rule.get("operations", ["*"]), OPERATION)
            and (not names or name in names))


def selector_matches(selector: Any, labels: dict) -> bool:
    """A metav1.LabelSelector (matchLabels and matchExpressions); {} or absent matches everything."""
    return not isinstance(selector, dict) or labelselector.matches(selector, labels)


def labels_of(obj: Any) -> dict:
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    labels = meta.get("labels") if isinstance(meta, dict) else None
    return labels if isinstance(labels, dict) else {}


# (id of a MatchResources, group, version, resource, name) -> (that MatchResources, whether its rules
# match). Holding the dict keeps its id from being reused by another one.
_RULE_MEMO: dict[tuple, tuple[dict, bool]] = {}


class Target:
    """What matching needs to know about one object, computed once."""

    def __init__(self, obj: dict, namespace_labels: dict[str, dict]) -> None:
        self.obj = obj
        api_version = _str_at(obj, "apiVersion")
        self.kind = _str_at(obj, "kind")
        self.group, self.version = split_api_version(api_version)
        self.resource = resource_of(self.group, self.kind)
        meta = m if isinstance(m := obj.get("metadata"), dict) else {}
        self.name = _str_at(meta, "name")
        self.cluster_scoped = is_cluster_scoped(api_version, self.kind)
        namespace = _str_at(meta, "namespace")
        self.namespace = "" if self.cluster_scoped else namespace or "default"
        self.labels = labels_of(obj)
        self.namespace_labels = namespace_labels_for(self.namespace, namespace_labels) if self.namespace else {}

    def without_label(self, key: str) -> "Target":
        """This object as if it did not carry the label `key` (what a waiver label hides)."""
        other = copy.copy(self)
        other.labels = {k: v for k, v in self.labels.items() if k != key}
        return other

    def matches(self, resources: dict | None) -> bool:
        """A MatchResources (the policy's matchConstraints or a binding's matchResources)."""
        if resources is None:
            return True
        if not self._selected(resources):
            return False
        return self._rules_match(resources)

    def _rules_match(self, resources: dict) -> bool:
        """resourceRules and excludeResourceRules, remembered per kind (and name when rules name objects)."""
        rules = resources.get("resourceRules") or []  # none in a binding: what the policy matches
        excluded = resources.get("excludeResourceRules") or []
        named = any(isinstance(r, dict) and r.get("resourceNames") for r in rules + excluded)
        key = (id(resources), self.group, self.version, self.resource, self.name if named else "")
        entry = _RULE_MEMO.get(key)
        if entry is None:
            args = (self.group, self.version, self.resource, self.name)
            found = (not rules or any(rule_matches(rule, *args) for rule in rules)) \
                and not any(rule_matches(rule, *args) for rule in excluded)
            entry = _RULE_MEMO[key] = (resources, found)
        return entry[1]

    def _selected(self, resources: dict) -> bool:
        if "objectSelector" not in resources and "namespaceSelector" not in resources:
            return True
        if not selector_matches(resources.get("objectSelector"), self.labels):
            return False
        if self.kind == "Namespace" and self.group == "":
            return selector_matches(resources.get("namespaceSelector"), self.labels)
        if self.cluster_scoped:
            return True
        return selector_matches(resources.get("namespaceSelector"), self.namespace_labels)

    def namespace_object(self) -> dict | None:
        """The synthetic Namespace `namespaceObject` stands for (None for cluster-scoped objects)."""
        if not self.namespace:
            return None
        return {"apiVersion": "v1", "kind": "Namespace",
                "metadata": {"name": self.namespace, "labels": dict(self.namespace_labels)}}


def _str_at(mapping: dict, key: str) -> str:
    """mapping[key] when it is a string, else ""."""
    value = mapping.get(key)
    return value if isinstance(value, str) else ""


def namespace_labels_for(namespace: str, known: dict[str, dict]) -> dict:
    return {**known.get(namespace, {}), NAMESPACE_NAME_LABEL: namespace}


def namespace_labels(objects: list[Any]) -> dict[str, dict]:
    """Labels of each Namespace object among `objects`, by name."""
    out: dict[str, dict] = {}
    for obj in objects:
        if isinstance(obj, dict) and obj.get("kind") == "Namespace" and obj.get("apiVersion") == "v1":
            meta = m if isinstance(m := obj.get("metadata"), dict) else {}
            if isinstance(meta.get("name"), str):
                out[meta["name"]] = {str(k): str(v) for k, v in labels_of(obj).items()}
    return out


def conditions_match(conditions: list[tuple[str, Expression]], activation: Any
                     ) -> tuple[bool, tuple[Expression, str] | None]:
    """(matched, (expression, message) of the first error). False when any condition is false;
    an error only counts when none is."""
    error = None
    for _name, expression in conditions:
        try:
            value = expression.program.evaluate(activation)
        except CelError as exc:
            error = error or (expression, exc.message)
            continue
        if value is False:
            return False, None
        if value is not True:
            error = error or (expression, f"must evaluate to a bool, got {type_name(value)}")
    return error is None, error


def type_name(value: Any) -> str:
    return {bool: "bool", int: "int", float: "double", str: "string", list: "list", dict: "map",
            type(None): "null"}.get(type(value), type(value).__name__)
