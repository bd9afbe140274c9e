"""Reference integrity inside each rendered overlay: every name an object points at resolves.

One job: `check_references(docs)` groups the documents by overlay (documents read from plain
files are grouped by file) and reports each reference that does not resolve inside its group,
comparing names within the effective namespace (`metadata.namespace`; cluster-scoped kinds have
none). What is checked, by rule id:

* `reference.workload`: a Rollout's `spec.workloadRef` names a Deployment of the group, or the
  `<isvc>-predictor` (`-transformer`, `-explainer`) Deployment KServe creates for an
  InferenceService of the group. KServe creates that Deployment only in Standard (formerly
  RawDeployment) mode; without a `serving.kserve.io/deploymentMode` annotation the mode is the
  cluster's default, which cannot be known offline (a warning).
* `reference.analysis-template`: every `templateName` (background analysis, `steps[].analysis`,
  `steps[].experiment.analyses[]`, blue-green pre/post-promotion analysis, an AnalysisTemplate's
  own `spec.templates`) names an AnalysisTemplate of the group; `clusterScope: true` names a
  ClusterAnalysisTemplate, which may be installed outside the overlay (a warning if absent).
* `reference.analysis-args`: a template arg with neither `value` nor `valueFrom` must be passed
  by the Rollout's analysis block; an arg the block passes that none of its templates declares is
  an error (Argo Rollouts would silently ignore it, so it is almost always a typo).
* `reference.scale-target`: HorizontalPodAutoscaler and KEDA ScaledObject `scaleTargetRef`
  (API group, kind, name) names an object of the group or a KServe-created Deployment.
* `reference.selector`: a ServiceMonitor selector matches the labels of a Service of the group
  or of one KServe creates; PodMonitor and PodDisruptionBudget selectors match the pod labels of
  a workload of the group (pod templates of Deployments, StatefulSets, DaemonSets, ReplicaSets,
  Jobs, CronJobs and Rollouts, a Rollout's workloadRef target, bare Pods, and the pods KServe
  runs for an InferenceService); a Rollout's `spec.selector` matches its own pod template.
  Kubernetes label-selector semantics: `matchLabels` and every `matchExpressions` entry
  (In, NotIn, Exists, DoesNotExist) must all hold; an empty selector matches everything.
  PodDisruptionBudget: under policy/v1 an empty selector `{}` selects every pod in the
  namespace, not just this overlay's. That is reported as an error: it overlaps the budget of
  every other model in the namespace, and the eviction API refuses to evict a pod covered by
  more than one budget, so node drains stall. A PDB without `selector` selects no pod (error).
  Monitors whose `namespaceSelector` reaches other namespaces get a warning instead of an error
  when nothing in the overlay matches, since their targets may live elsewhere.
* `reference.service`: Rollout traffic routing names Services (canaryService, stableService,
  pingPong, blue-green active/preview, ALB/SMI root services), Istio VirtualServices and
  DestinationRules, and Ingresses (NGINX, ALB) of the group (Services also those KServe creates);
  the VirtualService routes named by the Rollout exist in it, and each routed HTTP route has
  destinations for the stable and canary Services (or subsets), as Argo Rollouts requires.

What KServe creates is taken from its reconcilers (pkg/controller/v1beta1/inferenceservice):
objects `<isvc>-<component>`, labelled with the ISVC's labels, the component's `labels`,
`serving.kserve.io/inferenceservice: <isvc>` and `component: <component>`; Standard-mode pods
(and, through a shared label map, the Deployment and Service) also carry
`app: isvc.<isvc>-<component>`; Knative-mode pods carry `serving.knative.dev/service` and
`serving.knative.dev/configuration` naming the Knative Service `<isvc>-<component>`. Labels a
ServingRuntime adds, and Knative revision labels, cannot be known offline and are not modelled.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Iterable

from .. import labelselector
from ..diagnostics import ERROR, WARNING
from .results import Document, Finding

WORKLOAD = "reference.workload"
ANALYSIS_TEMPLATE = "reference.analysis-template"
ANALYSIS_ARGS = "reference.analysis-args"
SCALE_TARGET = "reference.scale-target"
SELECTOR = "reference.selector"
SERVICE = "reference.service"

_CLUSTER_SCOPED = {
    "ClusterAnalysisTemplate", "Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
    "ClusterServingRuntime", "ClusterStorageContainer", "PersistentVolume", "StorageClass", "PriorityClass",
    "IngressClass", "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "APIService",
}
_KSERVE_COMPONENTS = ("predictor", "transformer", "explainer")
_STANDARD_MODES = {"Standard", "RawDeployment"}
_KNATIVE_MODES = {"Knative", "Serverless"}
_MODE_ANNOTATION = "serving.kserve.io/deploymentMode"
_POD_TEMPLATE_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "Rollout"}

Path = tuple


@dataclasses.dataclass(frozen=True)
class _Obj:
    """An object that exists once the overlay is applied: rendered, or created by KServe."""

    kind: str
    group: str
    name: str
    namespace: str
    labels: dict
    pod_labels: dict | None  # labels of the pods it runs, for workloads
    doc: Document | None  # the rendered document, None when KServe creates the object
    via: str = ""  # "InferenceService iris" for KServe-created objects
    mode_unknown: bool = False  # KServe creates it only in one deployment mode, and the ISVC names none

    def shown(self) -> str:
        return f"{self.name} (from {self.via})" if self.via else self.name


def _rendered(obj: _Obj) -> dict:
    """The rendered object (empty for one KServe creates: found objects of these kinds are rendered)."""
    return obj.doc.obj if obj.doc is not None else {}


def _get(obj: Any, *keys: Any) -> Any:
    for key in keys:
        if isinstance(obj, dict):
            obj = obj.get(key)
        elif isinstance(obj, list) and isinstance(key, int) and 0 <= key < len(obj):
            obj = obj[key]
        else:
            return None
    return obj


def _str_map(value: Any) -> dict:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _group_of(api_version: Any) -> str:
    text = str(api_version or "")
    return text.split("/", 1)[0] if "/" in text else ""


def _plural(kind: str) -> str:
    return kind + ("es" if kind.endswith(("s", "x")) else "s")


def _names(names: Iterable[str]) -> str:
    return ", ".join(sorted(set(names)))


# ---------------------------------------------------------------- the objects of one overlay

def _kserve_objects(doc: Document) -> list[_Obj]:
    """Deployments and Services KServe creates for the InferenceService `doc` (see module doc)."""
    obj = doc.obj
    mode = _get(obj, "metadata", "annotations", _MODE_ANNOTATION)
    if mode not in _STANDARD_MODES and mode not in _KNATIVE_MODES and mode is not None:
        return []  # ModelMesh: pods belong to the shared ModelMesh runtime, not to the ISVC
    out = []
    for component in _KSERVE_COMPONENTS:
        spec = _get(obj, "spec", component)
        if not isinstance(spec, dict):
            continue
        name = f"{doc.name}-{component}"
        labels = {**_str_map(_get(obj, "metadata", "labels")), **_str_map(spec.get("labels")),
                  "serving.kserve.io/inferenceservice": doc.name, "component": component}
        via = f"InferenceService {doc.name}"
        unknown = mode is None  # the cluster default decides: model both modes, flagged
        if mode in _KNATIVE_MODES or unknown:
            pods = {**labels, "serving.knative.dev/service": name, "serving.knative.dev/configuration": name}
            out.append(_Obj("Service", "serving.knative.dev", name, doc.namespace, labels, pods, None, via, unknown))
        if mode in _STANDARD_MODES or unknown:
            labels = {**labels, "app": f"isvc.{name}"}
            out.append(_Obj("Deployment", "apps", name, doc.namespace, labels, labels, None, via, unknown))
        out.append(_Obj("Service", "", name, doc.namespace, labels, None, None, via))
    return out


def _pod_labels(doc: Document) -> dict | None:
    obj = doc.obj
    if doc.kind == "Pod":
        return _str_map(_get(obj, "metadata", "labels"))
    if doc.kind == "CronJob":
        return _str_map(_get(obj, "spec", "jobTemplate", "spec", "template", "metadata", "labels"))
    if doc.kind in _POD_TEMPLATE_KINDS and isinstance(_get(obj, "spec", "template"), dict):
        return _str_map(_get(obj, "spec", "template", "metadata", "labels"))
    return None


class _Overlay:
    """Every object of one group, rendered or KServe-created, and look-ups by kind and name."""

    def __init__(self, docs: list[Document]) -> None:
        self.objects: list[_Obj] = []
        self.isvcs: list[Document] = []
        for doc in docs:
            labels = _str_map(_get(doc.obj, "metadata", "labels"))
            self.objects.append(_Obj(doc.kind, _group_of(doc.api_version), doc.name, self._ns(doc.kind, doc.namespace),
                                     labels, _pod_labels(doc), doc))
            if doc.kind == "InferenceService" and _group_of(doc.api_version) == "serving.kserve.io":
                self.isvcs.append(doc)
                self.objects.extend(_kserve_objects(doc))
        self._resolve_workload_refs()

    @staticmethod
    def _ns(kind: str, namespace: str) -> str:
        return "" if kind in _CLUSTER_SCOPED else namespace

    def _resolve_workload_refs(self) -> None:
        """Rollouts with a workloadRef run the pods of the Deployment it names."""
        for i, o in enumerate(self.objects):
            if o.kind == "Rollout" and o.doc is not None and o.pod_labels is None:
                ref = _get(o.doc.obj, "spec", "workloadRef")
                target = self.find(_get(ref, "kind") or "", _group_of(_get(ref, "apiVersion")),
                                   str(_get(ref, "name") or ""), o.namespace)
                if target is not None and target.pod_labels is not None:
                    self.objects[i] = dataclasses.replace(o, pod_labels=target.pod_labels)

    def of_kind(self, kind: str, group: str | None, namespace: str) -> list[_Obj]:
        ns = self._ns(kind, namespace)
        return [o for o in self.objects if o.kind == kind and o.namespace == ns
                and (group is None or o.group == group)]

    def find(self, kind: str, group: str | None, name: str, namespace: str) -> _Obj | None:
        return next((o for o in self.of_kind(kind, group, namespace) if o.name == name), None)

    def missing(self, kind: str, group: str | None, name: str, namespace: str) -> str:
        """`names Kind 'x', which is not in this overlay (Kinds here: a, b)`, plus a namespace or group hint."""
        here = self.of_kind(kind, None, namespace)
        other_group = sorted({o.group or "core" for o in here if o.name == name})
        if other_group:
            return (f"names {kind} {name!r} in API group {group or 'core'}, but the {kind} {name!r} here is in "
                    f"API group {', '.join(other_group)}")
        listed = f"{_plural(kind)} here: {_names(o.shown() for o in here)}" if here else f"no {_plural(kind)} here"
        text = f"names {kind} {name!r}, which is not in this overlay ({listed})"
        elsewhere = sorted({o.namespace for o in self.objects if o.kind == kind and o.name == name
                            and o.namespace != self._ns(kind, namespace)})
        if elsewhere:
            text += f"; a {kind} {name!r} is in namespace {', '.join(elsewhere)}, not {namespace or '(none)'}"
        return text

    def pod_sets(self, namespace: str) -> list[_Obj]:
        """Workloads in `namespace` whose pod labels are known (rendered or KServe-created)."""
        return [o for o in self.objects if o.pod_labels is not None and o.namespace == namespace]

    def services(self, namespace: str) -> list[_Obj]:
        return self.of_kind("Service", "", namespace)


# ---------------------------------------------------------------- the checks

class _Checker:
    def __init__(self, docs: list[Document]) -> None:
        self.overlay = _Overlay(docs)
        self.docs = docs
        self.found: list[tuple[Document, Finding]] = []

    def add(self, doc: Document, path: Path, message: str, rule: str, severity: str = ERROR) -> None:
        self.found.append((doc, Finding(path=tuple(path), message=message, rule=rule, severity=severity)))

    def run(self) -> list[tuple[Document, Finding]]:
        for doc in self.docs:
            kind, group = doc.kind, _group_of(doc.api_version)
            if kind == "Rollout" and group == "argoproj.io":
                self.workload_ref(doc)
                self.rollout_selector(doc)
                self.analysis(doc)
                self.traffic(doc)
            elif kind in ("AnalysisTemplate", "ClusterAnalysisTemplate") and group == "argoproj.io":
                for i, ref in enumerate(_list(_get(doc.obj, "spec", "templates"))):
                    self.template_ref(doc, ("spec", "templates", i), ref)
            elif kind == "HorizontalPodAutoscaler":
                self.scale_target(doc, _get(doc.obj, "spec", "scaleTargetRef"), None, None)
            elif kind == "ScaledObject" and group == "keda.sh":
                self.scale_target(doc, _get(doc.obj, "spec", "scaleTargetRef"), "Deployment", "apps")
            elif kind == "ServiceMonitor" and group == "monitoring.coreos.com":
                self.monitor(doc, self.overlay.services(doc.namespace), "Service")
            elif kind == "PodMonitor" and group == "monitoring.coreos.com":
                self.monitor(doc, self.overlay.pod_sets(doc.namespace), "workload's pods")
            elif kind == "PodDisruptionBudget" and group == "policy":
                self.pdb(doc)
            elif kind == "InferenceService" and group == "serving.kserve.io":
                self.spread(doc)
        return self.found

    # -- workloadRef

    def workload_ref(self, doc: Document) -> None:
        ref = _get(doc.obj, "spec", "workloadRef")
        if not isinstance(ref, dict):
            return
        kind, name = str(ref.get("kind") or ""), str(ref.get("name") or "")
        path = ("spec", "workloadRef", "name")
        found = self.overlay.find(kind, _group_of(ref.get("apiVersion")), name, doc.namespace)
        if found is not None and found.mode_unknown:
            self.add(doc, path, self._mode_unknown(found), WORKLOAD, WARNING)
        if found is not None:
            return
        for isvc in self.overlay.isvcs:
            if (kind, _group_of(ref.get("apiVersion"))) != ("Deployment", "apps") or isvc.namespace != doc.namespace:
                continue
            if name not in {f"{isvc.name}-{c}" for c in _KSERVE_COMPONENTS}:
                continue
            mode = _get(isvc.obj, "metadata", "annotations", _MODE_ANNOTATION)  # set: unset modes resolve above
            self.add(doc, path, f"names Deployment {name!r}, but InferenceService {isvc.name} is in {mode} mode; "
                     f"KServe creates the {name} Deployment only in Standard (RawDeployment) mode", WORKLOAD)
            return
        self.add(doc, path, self.overlay.missing(kind, _group_of(ref.get("apiVersion")), name, doc.namespace),
                 WORKLOAD)

    @staticmethod
    def _mode_unknown(found: _Obj) -> str:
        return (f"names {found.kind} {found.name!r}, which KServe creates for {found.via} only in Standard "
                f"(RawDeployment) mode; the InferenceService has no {_MODE_ANNOTATION} annotation, so its mode is "
                "the cluster default, which cannot be checked offline")

    def rollout_selector(self, doc: Document) -> None:
        selector = _get(doc.obj, "spec", "selector")
        me = self.overlay.find("Rollout", "argoproj.io", doc.name, doc.namespace)
        if not isinstance(selector, dict) or me is None or me.pod_labels is None or labelselector.problem(selector):
            return
        if not labelselector.matches(selector, me.pod_labels):
            source = "its workloadRef's pod template" if _get(doc.obj, "spec", "workloadRef") else "spec.template"
            self.add(doc, ("spec", "selector"), f"selector {labelselector.text(selector)} does not match the pod "
                     f"labels of {source} ({self._labels_for(selector, me.pod_labels)})", SELECTOR)

    # -- analysis

    def analysis(self, doc: Document) -> None:
        strategy = _get(doc.obj, "spec", "strategy") or {}
        blocks: list[tuple[Path, Any, list[tuple[Path, Any]]]] = []  # (args path, args, [(template path, ref)])

        def block(path: Path, value: Any) -> None:
            if isinstance(value, dict):
                refs = [(path + ("templates", i), t) for i, t in enumerate(_list(value.get("templates")))]
                blocks.append((path + ("args",), value.get("args"), refs))

        canary = ("spec", "strategy", "canary")
        block(canary + ("analysis",), _get(strategy, "canary", "analysis"))
        for i, step in enumerate(_list(_get(strategy, "canary", "steps"))):
            block(canary + ("steps", i, "analysis"), _get(step, "analysis"))
            for j, run in enumerate(_list(_get(step, "experiment", "analyses"))):
                at = canary + ("steps", i, "experiment", "analyses", j)
                if isinstance(run, dict):
                    blocks.append((at + ("args",), run.get("args"), [(at, run)]))
        for key in ("prePromotionAnalysis", "postPromotionAnalysis"):
            block(("spec", "strategy", "blueGreen", key), _get(strategy, "blueGreen", key))
        for args_path, args, refs in blocks:
            templates = [self.template_ref(doc, path, ref) for path, ref in refs]
            self.args(doc, args_path, args, templates)

    def template_ref(self, doc: Document, path: Path, ref: Any) -> _Obj | None:
        name = str(_get(ref, "templateName") or "")
        cluster = _get(ref, "clusterScope") is True
        kind = "ClusterAnalysisTemplate" if cluster else "AnalysisTemplate"
        found = self.overlay.find(kind, "argoproj.io", name, doc.namespace)
        if found is None and cluster:
            self.add(doc, path + ("templateName",), f"names ClusterAnalysisTemplate {name!r}, which is not in this "
                     "overlay; it may be installed cluster-wide, which cannot be checked offline",
                     ANALYSIS_TEMPLATE, WARNING)
        elif found is None:
            self.add(doc, path + ("templateName",), self.overlay.missing(kind, "argoproj.io", name, doc.namespace),
                     ANALYSIS_TEMPLATE)
        return found

    def _declared_args(self, template: _Obj, seen: set) -> tuple[list[dict], bool]:
        """The template's args plus those of the templates it includes (spec.templates), flattened;
        and whether every included template was found (otherwise more args may be declared)."""
        if template.doc is None or id(template) in seen:
            return [], True
        seen.add(id(template))
        out, complete = [a for a in _list(_get(template.doc.obj, "spec", "args")) if isinstance(a, dict)], True
        for ref in _list(_get(template.doc.obj, "spec", "templates")):
            kind = "ClusterAnalysisTemplate" if _get(ref, "clusterScope") is True else "AnalysisTemplate"
            inner = self.overlay.find(kind, "argoproj.io", str(_get(ref, "templateName") or ""), template.namespace)
            if inner is None:
                complete = False
                continue
            more, inner_complete = self._declared_args(inner, seen)
            out, complete = out + more, complete and inner_complete
        return out, complete

    def args(self, doc: Document, path: Path, args: Any, templates: list[_Obj | None]) -> None:
        """Required args are passed; passed args are declared (when every template is known)."""
        passed = [a for a in _list(args) if isinstance(a, dict)]
        complete = bool(templates) and all(t is not None for t in templates)
        supplied = {str(a.get("name")) for a in passed if "value" in a or "valueFrom" in a}
        declared: dict[str, bool] = {}  # name -> has a default (value or valueFrom) in some template
        for template in templates:
            if template is None:
                continue
            template_args, known = self._declared_args(template, set())
            complete = complete and known
            for a in template_args:
                key = str(a.get("name"))
                declared[key] = declared.get(key, False) or "value" in a or "valueFrom" in a
            for key in dict.fromkeys(str(a.get("name")) for a in template_args):
                if not declared[key] and key not in supplied:
                    shown = f"passed: {_names(supplied)}" if supplied else "it passes no args"
                    self.add(doc, path, f"{template.kind} {template.name!r} needs arg {key!r}, which this analysis "
                             f"does not pass ({shown})", ANALYSIS_ARGS)
        if not complete:
            return  # an unresolved template may declare the remaining args
        names = _names(t.name for t in templates if t is not None)
        for i, a in enumerate(passed):
            key = str(a.get("name"))
            if key not in declared:
                listed = f"declared: {_names(declared)}" if declared else "it declares no args"
                self.add(doc, path + (i, "name"), f"passes arg {key!r}, which analysis template {names} does not "
                         f"declare ({listed})", ANALYSIS_ARGS)

    # -- scaleTargetRef

    def scale_target(self, doc: Document, ref: Any, default_kind: str | None, default_group: str | None) -> None:
        if not isinstance(ref, dict):
            return
        kind = str(ref.get("kind") or default_kind or "")
        group = _group_of(ref["apiVersion"]) if ref.get("apiVersion") else default_group
        name = str(ref.get("name") or "")
        found = self.overlay.find(kind, group, name, doc.namespace)
        if found is not None and found.mode_unknown:
            self.add(doc, ("spec", "scaleTargetRef", "name"), self._mode_unknown(found),
                     SCALE_TARGET, WARNING)
        if found is None:
            self.add(doc, ("spec", "scaleTargetRef", "name"),
                     self.overlay.missing(kind, group, name, doc.namespace), SCALE_TARGET)

    # -- selectors

    def _selector_ok(self, doc: Document, selector: Any, path: Path) -> bool:
        if not isinstance(selector, dict):
            return False
        problem = labelselector.problem(selector)
        if problem:
            self.add(doc, path + problem[0], problem[1], SELECTOR)
        return problem is None

    def _labels_for(self, selector: dict, labels: dict) -> str:
        keys = sorted(labelselector.keys(selector))
        shown = [f"{k}={labels[k]}" for k in keys if k in labels]
        return ",".join(shown) if shown else "none of " + ",".join(keys)

    def _candidates(self, selector: dict, objs: list[_Obj], labels_of: str) -> str:
        if not objs:
            return "nothing here to match"
        parts = []
        for o in sorted(objs, key=lambda o: (o.kind, o.name)):
            who = o.shown() if o.via else f"{o.kind} {o.name}"
            parts.append(f"{who}: {self._labels_for(selector, getattr(o, labels_of))}")
        return "; ".join(parts)

    def monitor(self, doc: Document, targets: list[_Obj], noun: str) -> None:
        selector = _get(doc.obj, "spec", "selector")
        path = ("spec", "selector")
        if not self._selector_ok(doc, selector, path):
            return
        attr = "labels" if doc.kind == "ServiceMonitor" else "pod_labels"
        if any(labelselector.matches(selector, getattr(o, attr)) for o in targets):
            return
        text = (f"selector {labelselector.text(selector)} matches no {noun} of this overlay in namespace "
                f"{doc.namespace or '(none)'} ({self._candidates(selector, targets, attr)})")
        ns_sel = _get(doc.obj, "spec", "namespaceSelector") or {}
        others = ns_sel.get("any") is True or any(str(n) != doc.namespace for n in _list(ns_sel.get("matchNames")))
        if others:
            self.add(doc, path, text + "; its namespaceSelector reaches other namespaces, which cannot be "
                     "checked offline", SELECTOR, WARNING)
        else:
            self.add(doc, path, text, SELECTOR)

    def pdb(self, doc: Document) -> None:
        path = ("spec", "selector")
        selector = _get(doc.obj, "spec", "selector")
        if selector is None:
            self.add(doc, ("spec",), "has no selector, so it selects no pods", SELECTOR)
            return
        if not self._selector_ok(doc, selector, path):
            return
        if not labelselector.keys(selector):
            if doc.api_version == "policy/v1beta1":
                self.add(doc, path, "selector {} selects no pods under policy/v1beta1", SELECTOR)
            else:
                self.add(doc, path, f"selector {{}} selects every pod in namespace {doc.namespace or '(none)'}, not "
                         "only this overlay's workloads; it overlaps other budgets, and pods covered by more than "
                         "one PodDisruptionBudget cannot be evicted (node drains stall)", SELECTOR)
            return
        pods = self.overlay.pod_sets(doc.namespace)
        if not any(o.pod_labels is not None and labelselector.matches(selector, o.pod_labels) for o in pods):
            self.add(doc, path, f"selector {labelselector.text(selector)} matches the pod labels of no workload in "
                     f"this overlay ({self._candidates(selector, pods, 'pod_labels')})", SELECTOR)

    def spread(self, doc: Document) -> None:
        """topologySpreadConstraints of each InferenceService component must select its own pods
        (a selector that matches nothing makes the constraint a silent no-op)."""
        for component in _KSERVE_COMPONENTS:
            constraints = _get(doc.obj, "spec", component, "topologySpreadConstraints")
            pods = [o for o in self.overlay.objects if o.via == f"InferenceService {doc.name}"
                    and o.name == f"{doc.name}-{component}" and o.pod_labels is not None]
            for i, constraint in enumerate(_list(constraints)):
                selector = _get(constraint, "labelSelector")
                path = ("spec", component, "topologySpreadConstraints", i, "labelSelector")
                if not pods or not isinstance(selector, dict) or not self._selector_ok(doc, selector, path):
                    continue
                if not any(o.pod_labels is not None and labelselector.matches(selector, o.pod_labels) for o in pods):
                    self.add(doc, path, f"selector {labelselector.text(selector)} matches none of the {component} pods "
                             f"KServe creates ({self._candidates(selector, pods, 'pod_labels')}), so the spread "
                             "constraint has no effect", SELECTOR)

    # -- traffic routing

    def _service(self, doc: Document, path: Path, name: Any) -> None:
        if name and not self.overlay.find("Service", "", str(name), doc.namespace):
            self.add(doc, path, self.overlay.missing("Service", "", str(name), doc.namespace), SERVICE)

    def _object(self, doc: Document, path: Path, kind: str, group: str, name: Any, namespace: str) -> _Obj | None:
        found = self.overlay.find(kind, group, str(name), namespace)
        if found is None and name:
            self.add(doc, path, self.overlay.missing(kind, group, str(name), namespace), SERVICE)
        return found

    def traffic(self, doc: Document) -> None:
        canary = _get(doc.obj, "spec", "strategy", "canary") or {}
        blue_green = _get(doc.obj, "spec", "strategy", "blueGreen") or {}
        cpath, bpath = ("spec", "strategy", "canary"), ("spec", "strategy", "blueGreen")
        for key in ("canaryService", "stableService"):
            self._service(doc, cpath + (key,), canary.get(key))
        for key in ("pingService", "pongService"):
            self._service(doc, cpath + ("pingPong", key), _get(canary, "pingPong", key))
        for key in ("activeService", "previewService"):
            self._service(doc, bpath + (key,), blue_green.get(key))
        routing = canary.get("trafficRouting")
        if not isinstance(routing, dict):
            return
        rpath = cpath + ("trafficRouting",)
        istio = routing.get("istio")
        if isinstance(istio, dict):
            self.istio(doc, rpath + ("istio",), istio, canary)
        nginx = routing.get("nginx") or {}
        self._object(doc, rpath + ("nginx", "stableIngress"), "Ingress", "networking.k8s.io",
                     nginx.get("stableIngress"), doc.namespace)
        for i, name in enumerate(_list(nginx.get("stableIngresses"))):
            self._object(doc, rpath + ("nginx", "stableIngresses", i), "Ingress", "networking.k8s.io", name,
                         doc.namespace)
        alb = routing.get("alb") or {}
        self._object(doc, rpath + ("alb", "ingress"), "Ingress", "networking.k8s.io", alb.get("ingress"),
                     doc.namespace)
        for i, name in enumerate(_list(alb.get("ingresses"))):
            self._object(doc, rpath + ("alb", "ingresses", i), "Ingress", "networking.k8s.io", name, doc.namespace)
        self._service(doc, rpath + ("alb", "rootService"), alb.get("rootService"))
        self._service(doc, rpath + ("smi", "rootService"), _get(routing, "smi", "rootService"))

    def istio(self, doc: Document, path: Path, istio: dict, canary: dict) -> None:
        rule = istio.get("destinationRule")
        subsets: tuple | None = None
        if isinstance(rule, dict):
            dr = self._object(doc, path + ("destinationRule", "name"), "DestinationRule", "networking.istio.io",
                              rule.get("name"), doc.namespace)
            if dr is not None:
                have = {str(_get(s, "name")) for s in _list(_get(_rendered(dr), "spec", "subsets"))}
                for key in ("canarySubsetName", "stableSubsetName"):
                    if rule.get(key) and str(rule[key]) not in have:
                        self.add(doc, path + ("destinationRule", key), f"names subset {rule[key]!r}, which "
                                 f"DestinationRule {dr.name} does not define (subsets: {_names(have) or 'none'})",
                                 SERVICE)
                subsets = (rule.get("stableSubsetName"), rule.get("canarySubsetName"))
            else:
                subsets = ()  # without the DestinationRule, the routes' subsets cannot be judged
        refs = [(path + ("virtualService",), istio.get("virtualService"))] if istio.get("virtualService") else []
        refs += [(path + ("virtualServices", i), v) for i, v in enumerate(_list(istio.get("virtualServices")))]
        for vpath, ref in refs:
            if not isinstance(ref, dict):
                continue
            name, _, namespace = str(ref.get("name") or "").partition(".")
            vs = self._object(doc, vpath + ("name",), "VirtualService", "networking.istio.io", name,
                              namespace or doc.namespace)
            if vs is not None:
                self.vs_routes(doc, vpath, ref, vs, canary, subsets)

    def vs_routes(self, doc: Document, path: Path, ref: dict, vs: _Obj, canary: dict, subsets: tuple | None) -> None:
        """Named routes exist; routed HTTP routes lead to the stable and canary Services (or `subsets`;
        `()` when the DestinationRule is missing, which skips that part)."""
        http = [r for r in _list(_get(_rendered(vs), "spec", "http")) if isinstance(r, dict)]
        by_name = {str(r.get("name")): r for r in http if r.get("name") is not None}
        routed: list[tuple[Path, dict]] = []
        names = _list(ref.get("routes"))
        for k, route in enumerate(names):
            if str(route) in by_name:
                routed.append((path + ("routes", k), by_name[str(route)]))
            else:
                self.add(doc, path + ("routes", k), f"names route {route!r}, which VirtualService {vs.name} does "
                         f"not have (http routes: {_names(by_name) or 'none named'})", SERVICE)
        if not names and not ref.get("tlsRoutes") and not ref.get("tcpRoutes"):
            if len(http) == 1:
                routed.append((path + ("name",), http[0]))
            else:
                self.add(doc, path + ("name",), f"names no routes, so VirtualService {vs.name} must have exactly "
                         f"one http route; it has {len(http)}", SERVICE)
        for rpath, route in routed if subsets != () else []:
            dests = [_get(d, "destination") or {} for d in _list(route.get("route"))]
            label = f"VirtualService {vs.name} route {route.get('name') or '(unnamed)'}"
            if subsets is not None:
                have = {str(d["subset"]) for d in dests if d.get("subset")}
                wanted = [s for s in subsets if s]
                shown = "subsets"
            else:
                have = {str(d.get("host") or "").split(".")[0] for d in dests}
                wanted = [canary.get("stableService"), canary.get("canaryService")]
                wanted = [str(w) for w in wanted if w]
                shown = "hosts"
            for want in wanted:  # a Service missing altogether is reported once, at its own field
                if subsets is None and not self.overlay.find("Service", "", want, doc.namespace):
                    continue
                if str(want) not in have:
                    self.add(doc, rpath, f"{label} has no destination for {want!r} ({shown}: "
                             f"{_names(have) or 'none'})", SERVICE)


def _group_key(doc: Document) -> tuple:
    return ("overlay", doc.overlay) if doc.overlay is not None else ("file", doc.file)


def check_references(docs: list[Document]) -> list[tuple[Document, Finding]]:
    """Findings for references that do not resolve inside their overlay, in document order."""
    groups: dict[tuple, list[Document]] = {}
    for doc in docs:
        if isinstance(doc.obj, dict):
            groups.setdefault(_group_key(doc), []).append(doc)
    found: list[tuple[Document, Finding]] = []
    for members in groups.values():
        found += _Checker(members).run()
    order = {id(doc): i for i, doc in enumerate(docs)}
    return sorted(found, key=lambda pair: order[id(pair[0])])
