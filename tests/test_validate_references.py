"""Reference integrity (mlgitops.validate.references) on the real rendered example overlays.

Every example overlay must come out clean; then one reference at a time is broken in a deep
copy of a rendered object, and exactly one finding must name the rule, the field and the bad
name. A hand-written (non-KServe) Deployment + Rollout + HPA group checks plain resolution.
"""

from __future__ import annotations

import copy
from typing import Callable

import pytest

from mlgitops import layout
from mlgitops.config import load_config
from mlgitops.diagnostics import ERROR, WARNING, Diagnostics
from mlgitops.kustomize.engine import render_objects
from mlgitops.validate.references import check_references
from mlgitops.validate.results import Document
from tooling import REPO_ROOT

OVERLAYS = sorted(str(p.parent.relative_to(REPO_ROOT)) for p in REPO_ROOT.glob("overlays/*/*/kustomization.yaml"))
_RENDERED: dict[str, list[dict]] = {}


def rendered(overlay: str) -> list[dict]:
    if overlay not in _RENDERED:
        _RENDERED[overlay] = render_objects(str(REPO_ROOT / overlay), repo_root=str(REPO_ROOT))
    return copy.deepcopy(_RENDERED[overlay])


def docs_of(overlay: str, objs: list[dict]) -> list[Document]:
    return [Document(obj=o, file=overlay, overlay=overlay, env=overlay.split("/")[1]) for o in objs]


def obj(objs: list[dict], kind: str, name: str | None = None) -> dict:
    found = [o for o in objs if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def broken(overlay: str, change: Callable[[list[dict]], None]) -> list:
    objs = rendered(overlay)
    change(objs)
    return check_references(docs_of(overlay, objs))


def only(findings: list, rule: str, path: tuple, *words: str, severity: str = ERROR, kind: str | None = None):
    assert len(findings) == 1, [(d.kind, f.dotted_path(), f.message) for d, f in findings]
    doc, finding = findings[0]
    assert (finding.rule, finding.path, finding.severity) == (rule, path, severity)
    for word in words:
        assert word in finding.message, (word, finding.message)
    if kind:
        assert doc.kind == kind
    return finding


def test_the_example_overlays_exist():
    # one per model and environment, and one per model in each cluster with overrides (overlays/<env>@<cluster>/)
    config = load_config(str(REPO_ROOT), Diagnostics())
    models = [p.stem for p in (REPO_ROOT / "models").glob("*.yaml")]
    dirs = [layout.env_dir(e.name) for e in config.environments.values()]
    dirs += [layout.env_dir(e.name, c.name) for e in config.environments.values() for c in e.overriding_clusters]
    assert any("@" in d for d in dirs)  # the example has a cluster of its own
    assert OVERLAYS == sorted(f"overlays/{d}/{m}" for d in dirs for m in models)
    assert "overlays/prod/sentiment" in OVERLAYS and "overlays/prod@prod-eu/sentiment" in OVERLAYS


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_example_overlay_has_no_broken_reference(overlay):
    assert check_references(docs_of(overlay, rendered(overlay))) == []


def test_all_overlays_together_are_grouped_by_overlay_and_still_clean():
    docs = [d for o in OVERLAYS for d in docs_of(o, rendered(o))]
    assert check_references(docs) == []


# ---------------------------------------------------------------- reference.workload

def test_workload_ref_to_a_missing_deployment():
    findings = broken("overlays/prod/iris", lambda objs: obj(objs, "Rollout")["spec"]["workloadRef"].update(
        name="iris-predictr"))
    only(findings, "reference.workload", ("spec", "workloadRef", "name"), "Deployment 'iris-predictr'",
         "iris-predictor (from InferenceService iris)", kind="Rollout")


def test_workload_ref_to_a_knative_inference_service():
    def change(objs):
        obj(objs, "InferenceService")["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] = "Knative"
    findings = broken("overlays/prod/churn", change)
    # Switching the mode breaks three references: no predictor Deployment for the Rollout, and
    # Knative pods do not carry the app=isvc.churn-predictor label the PDB and the spread select.
    assert sorted((d.kind, f.rule, f.path) for d, f in findings) == [
        ("InferenceService", "reference.selector", ("spec", "predictor", "topologySpreadConstraints", 0,
                                                    "labelSelector")),
        ("PodDisruptionBudget", "reference.selector", ("spec", "selector")),
        ("Rollout", "reference.workload", ("spec", "workloadRef", "name"))]
    [workload] = [f for d, f in findings if d.kind == "Rollout"]
    assert "'churn-predictor'" in workload.message and "Knative mode" in workload.message


def test_workload_ref_when_the_deployment_mode_is_left_to_the_cluster_is_a_warning():
    def change(objs):
        del obj(objs, "InferenceService")["metadata"]["annotations"]["serving.kserve.io/deploymentMode"]
    only(broken("overlays/prod/iris", change), "reference.workload", ("spec", "workloadRef", "name"),
         "cluster default", severity=WARNING)


def test_workload_ref_with_the_wrong_api_group():
    findings = broken("overlays/prod/iris", lambda objs: obj(objs, "Rollout")["spec"]["workloadRef"].update(
        apiVersion="argoproj.io/v1alpha1"))
    only(findings, "reference.workload", ("spec", "workloadRef", "name"), "API group argoproj.io", "API group apps")


# ---------------------------------------------------------------- reference.analysis-template

def test_analysis_template_name_that_does_not_exist():
    def change(objs):
        obj(objs, "Rollout")["spec"]["strategy"]["canary"]["analysis"]["templates"][0]["templateName"] = "iris-canry"
    only(broken("overlays/prod/iris", change), "reference.analysis-template",
         ("spec", "strategy", "canary", "analysis", "templates", 0, "templateName"),
         "AnalysisTemplate 'iris-canry'", "AnalysisTemplates here: iris-canary")


def test_cluster_analysis_template_outside_the_overlay_is_a_warning():
    def change(objs):
        obj(objs, "Rollout")["spec"]["strategy"]["canary"]["analysis"]["templates"][0]["clusterScope"] = True
    only(broken("overlays/prod/iris", change), "reference.analysis-template",
         ("spec", "strategy", "canary", "analysis", "templates", 0, "templateName"),
         "ClusterAnalysisTemplate 'iris-canary'", "cannot be checked offline", severity=WARNING)


def test_analysis_template_in_a_step_and_in_an_experiment():
    def change(objs):
        steps = obj(objs, "Rollout")["spec"]["strategy"]["canary"]["steps"]
        steps.append({"analysis": {"templates": [{"templateName": "iris-canary"}], "args": [
            {"name": "namespace", "value": "ml-prod"},
            {"name": "canary-hash", "valueFrom": {"podTemplateHashValue": "Latest"}}]}})
        steps.append({"experiment": {"templates": [{"name": "c", "specRef": "canary"}], "analyses": [
            {"name": "a", "templateName": "iris-smoke"}]}})
    findings = broken("overlays/prod/iris", change)
    only(findings, "reference.analysis-template",
         ("spec", "strategy", "canary", "steps", 7, "experiment", "analyses", 0, "templateName"), "'iris-smoke'")


# ---------------------------------------------------------------- reference.analysis-args

def _args(objs):
    return obj(objs, "Rollout")["spec"]["strategy"]["canary"]["analysis"]["args"]


def test_a_required_template_arg_the_rollout_does_not_pass():
    def change(objs):
        _args(objs).pop(1)  # canary-hash
    only(broken("overlays/prod/iris", change), "reference.analysis-args",
         ("spec", "strategy", "canary", "analysis", "args"), "AnalysisTemplate 'iris-canary' needs arg 'canary-hash'",
         "passed: namespace")


def test_a_template_arg_with_a_default_need_not_be_passed():
    def change(objs):
        _args(objs).pop(1)
        obj(objs, "AnalysisTemplate")["spec"]["args"][1]["value"] = "none"
    assert broken("overlays/prod/iris", change) == []


def test_an_arg_the_template_does_not_declare():
    def change(objs):
        _args(objs)[1]["name"] = "service"
    findings = broken("overlays/prod/iris", change)
    assert [(f.path, f.rule) for _, f in findings] == [
        (("spec", "strategy", "canary", "analysis", "args"), "reference.analysis-args"),
        (("spec", "strategy", "canary", "analysis", "args", 1, "name"), "reference.analysis-args")]
    assert "needs arg 'canary-hash'" in findings[0][1].message
    assert "passes arg 'service'" in findings[1][1].message


def test_an_extra_arg_alone_is_one_finding():
    findings = broken("overlays/prod/iris", lambda objs: _args(objs).append({"name": "canary-hsh", "value": "x"}))
    only(findings, "reference.analysis-args", ("spec", "strategy", "canary", "analysis", "args", 2, "name"),
         "'canary-hsh'", "declared: canary-hash, namespace")


# ---------------------------------------------------------------- reference.scale-target

def test_hpa_scale_target_with_a_typo():
    findings = broken("overlays/prod/iris", lambda objs: obj(objs, "HorizontalPodAutoscaler")["spec"][
        "scaleTargetRef"].update(name="iirs"))
    finding = only(findings, "reference.scale-target", ("spec", "scaleTargetRef", "name"),
                   kind="HorizontalPodAutoscaler")
    assert finding.message == "names Rollout 'iirs', which is not in this overlay (Rollouts here: iris)"


def test_hpa_scale_target_in_another_namespace():
    findings = broken("overlays/prod/iris", lambda objs: obj(objs, "HorizontalPodAutoscaler")["metadata"].update(
        namespace="other"))
    only(findings, "reference.scale-target", ("spec", "scaleTargetRef", "name"), "no Rollouts here",
         "a Rollout 'iris' is in namespace ml-prod, not other")


def test_hpa_scale_target_may_be_the_deployment_kserve_creates():
    def change(objs):
        obj(objs, "HorizontalPodAutoscaler")["spec"]["scaleTargetRef"] = {
            "apiVersion": "apps/v1", "kind": "Deployment", "name": "iris-predictor"}
    assert broken("overlays/prod/iris", change) == []


def test_a_reference_into_another_overlay_does_not_resolve():
    iris, churn = rendered("overlays/prod/iris"), rendered("overlays/prod/churn")
    obj(iris, "HorizontalPodAutoscaler")["spec"]["scaleTargetRef"]["name"] = "churn"
    findings = check_references(docs_of("overlays/prod/iris", iris) + docs_of("overlays/prod/churn", churn))
    only(findings, "reference.scale-target", ("spec", "scaleTargetRef", "name"), "'churn'", "Rollouts here: iris")


# ---------------------------------------------------------------- reference.selector

def _pdb_selector(objs, selector):
    obj(objs, "PodDisruptionBudget")["spec"]["selector"] = selector


def test_pdb_selector_with_a_typo():
    findings = broken("overlays/prod/iris", lambda objs: _pdb_selector(objs, {"matchLabels": {
        "app": "isvc.iris-predictr"}}))
    only(findings, "reference.selector", ("spec", "selector"), "app=isvc.iris-predictr",
         "app=isvc.iris-predictor", kind="PodDisruptionBudget")


@pytest.mark.parametrize("expression, matches", [
    ({"key": "app", "operator": "In", "values": ["isvc.iris-predictor", "x"]}, True),
    ({"key": "app", "operator": "In", "values": ["isvc.other"]}, False),
    ({"key": "component", "operator": "NotIn", "values": ["transformer"]}, True),
    ({"key": "component", "operator": "NotIn", "values": ["predictor"]}, False),
    ({"key": "serving.kserve.io/inferenceservice", "operator": "Exists"}, True),
    ({"key": "tier", "operator": "Exists"}, False),
    ({"key": "tier", "operator": "DoesNotExist"}, True),
    ({"key": "component", "operator": "DoesNotExist"}, False),
])
def test_pdb_selector_operators(expression, matches):
    selector = {"matchLabels": {"serving.kserve.io/inferenceservice": "iris"}, "matchExpressions": [expression]}
    findings = broken("overlays/prod/iris", lambda objs: _pdb_selector(objs, selector))
    if matches:
        assert findings == []
    else:
        only(findings, "reference.selector", ("spec", "selector"), f"{expression['key']}")


def test_match_labels_and_expressions_must_all_hold():
    selector = {"matchLabels": {"app": "isvc.iris-predictor"},
                "matchExpressions": [{"key": "component", "operator": "In", "values": ["explainer"]}]}
    only(broken("overlays/prod/iris", lambda objs: _pdb_selector(objs, selector)), "reference.selector",
         ("spec", "selector"), "component in (explainer)", "component=predictor")


def test_an_unknown_selector_operator_is_reported_once():
    selector = {"matchExpressions": [{"key": "app", "operator": "Equals", "values": ["isvc.iris-predictor"]}]}
    only(broken("overlays/prod/iris", lambda objs: _pdb_selector(objs, selector)), "reference.selector",
         ("spec", "selector", "matchExpressions", 0, "operator"), "'Equals'")


def test_an_empty_pdb_selector_covers_the_whole_namespace():
    only(broken("overlays/prod/iris", lambda objs: _pdb_selector(objs, {})), "reference.selector",
         ("spec", "selector"), "every pod in namespace ml-prod", "cannot be evicted")


def test_a_pdb_without_selector_selects_nothing():
    only(broken("overlays/prod/iris", lambda objs: obj(objs, "PodDisruptionBudget")["spec"].pop("selector")),
         "reference.selector", ("spec",), "selects no pods")


def test_pdb_on_knative_pods_uses_the_labels_kserve_sets():
    # fraud is Knative: its pods carry no app=isvc.fraud-predictor label.
    only(broken("overlays/prod/fraud", lambda objs: _pdb_selector(objs, {"matchLabels": {
        "app": "isvc.fraud-predictor"}})), "reference.selector", ("spec", "selector"), "app=isvc.fraud-predictor")


def test_service_monitor_selector_must_match_a_service():
    def change(objs):
        obj(objs, "ServiceMonitor")["spec"]["selector"]["matchLabels"]["component"] = "transformer"
    # sentiment has a transformer, so that one matches; iris has none.
    assert broken("overlays/prod/sentiment", change) == []
    only(broken("overlays/prod/iris", change), "reference.selector", ("spec", "selector"), "component=transformer",
         "no Service of this overlay in namespace ml-prod", "iris-predictor (from InferenceService iris)",
         kind="ServiceMonitor")


def test_service_monitor_reaching_other_namespaces_is_a_warning():
    def change(objs):
        monitor = obj(objs, "ServiceMonitor")
        monitor["spec"]["selector"]["matchLabels"]["serving.kserve.io/inferenceservice"] = "elsewhere"
        monitor["spec"]["namespaceSelector"] = {"any": True}
    only(broken("overlays/prod/iris", change), "reference.selector", ("spec", "selector"), "other namespaces",
         severity=WARNING)


def test_pod_monitor_selector_must_match_pods():
    def change(objs):
        obj(objs, "PodMonitor", "fraud-predictor")["spec"]["selector"]["matchLabels"]["serving.kserve.io/inferenceservice"] = "frau"
    only(broken("overlays/prod/fraud", change), "reference.selector", ("spec", "selector"),
         "serving.kserve.io/inferenceservice=frau", kind="PodMonitor")


def test_rollout_selector_must_match_the_pods_of_its_workload():
    findings = broken("overlays/prod/iris", lambda objs: obj(objs, "Rollout")["spec"]["selector"].update(
        matchLabels={"app": "iris"}))
    only(findings, "reference.selector", ("spec", "selector"), "app=iris", "workloadRef", kind="Rollout")


# ---------------------------------------------------------------- reference.service

def _canary(objs):
    return obj(objs, "Rollout")["spec"]["strategy"]["canary"]


def test_canary_service_that_does_not_exist():
    findings = broken("overlays/prod/sentiment", lambda objs: _canary(objs).update(canaryService="sentiment-canry"))
    only(findings, "reference.service", ("spec", "strategy", "canary", "canaryService"), "Service 'sentiment-canry'",
         "sentiment-canary", "sentiment-predictor (from InferenceService sentiment)")


def test_stable_service_may_be_the_one_kserve_creates_but_must_be_routed():
    findings = broken("overlays/prod/sentiment", lambda objs: _canary(objs).update(
        stableService="sentiment-predictor"))
    only(findings, "reference.service",
         ("spec", "strategy", "canary", "trafficRouting", "istio", "virtualService", "routes", 0),
         "route primary has no destination for 'sentiment-predictor'", "sentiment-canary, sentiment-stable")


def test_virtual_service_that_does_not_exist():
    def change(objs):
        _canary(objs)["trafficRouting"]["istio"]["virtualService"]["name"] = "sentimnt"
    only(broken("overlays/prod/sentiment", change), "reference.service",
         ("spec", "strategy", "canary", "trafficRouting", "istio", "virtualService", "name"),
         "VirtualService 'sentimnt'", "VirtualServices here: sentiment")


def test_virtual_service_route_that_does_not_exist():
    def change(objs):
        _canary(objs)["trafficRouting"]["istio"]["virtualService"]["routes"] = ["primry"]
    only(broken("overlays/prod/sentiment", change), "reference.service",
         ("spec", "strategy", "canary", "trafficRouting", "istio", "virtualService", "routes", 0),
         "route 'primry'", "http routes: primary")


def test_virtual_service_route_missing_the_canary_destination():
    def change(objs):
        obj(objs, "VirtualService")["spec"]["http"][0]["route"][1]["destination"]["host"] = "sentiment-predictor"
    only(broken("overlays/prod/sentiment", change), "reference.service",
         ("spec", "strategy", "canary", "trafficRouting", "istio", "virtualService", "routes", 0),
         "no destination for 'sentiment-canary'")


# ---------------------------------------------------------------- a hand-written group, no KServe

def _plain_group() -> list[dict]:
    labels = {"app": "web"}
    return [
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"},
         "spec": {"selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels},
                                                                     "spec": {"containers": []}}}},
        {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": {"name": "web", "namespace": "shop"},
         "spec": {"selector": {"matchLabels": labels},
                  "workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                  "strategy": {"canary": {"steps": [{"setWeight": 50}]}}}},
        {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
         "metadata": {"name": "web", "namespace": "shop"},
         "spec": {"scaleTargetRef": {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": "web"},
                  "minReplicas": 2, "maxReplicas": 4}},
        {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "web", "namespace": "shop"},
         "spec": {"maxUnavailable": 1, "selector": {"matchLabels": labels}}},
    ]


def _plain_docs(objs: list[dict]) -> list[Document]:
    return [Document(obj=o, file="shop.yaml", index=i) for i, o in enumerate(objs)]


def test_a_hand_written_deployment_rollout_and_hpa_resolve():
    assert check_references(_plain_docs(_plain_group())) == []


def test_a_hand_written_group_with_a_broken_workload_ref():
    objs = _plain_group()
    objs[1]["spec"]["workloadRef"]["name"] = "webb"
    findings = check_references(_plain_docs(objs))
    # The Rollout no longer has pods, so only the reference itself is reported; the PDB still
    # matches the Deployment's template labels.
    only(findings, "reference.workload", ("spec", "workloadRef", "name"),
         "names Deployment 'webb', which is not in this overlay (Deployments here: web)")


def test_documents_from_different_files_are_separate_groups():
    objs = _plain_group()
    docs = _plain_docs(objs[:2]) + [Document(obj=objs[2], file="hpa.yaml")]
    only(check_references(docs), "reference.scale-target", ("spec", "scaleTargetRef", "name"), "no Rollouts here")


# ---------------------------------------------------------------- less common references

def test_destination_rule_subsets_must_exist():
    def change(objs):
        istio = _canary(objs)["trafficRouting"]["istio"]
        istio["destinationRule"] = {"name": "sentiment", "canarySubsetName": "canry", "stableSubsetName": "stable"}
        objs.append({"apiVersion": "networking.istio.io/v1beta1", "kind": "DestinationRule",
                     "metadata": {"name": "sentiment", "namespace": "ml-prod"},
                     "spec": {"host": "sentiment-predictor", "subsets": [{"name": "stable"}, {"name": "canary"}]}})
        for dest, subset in zip(obj(objs, "VirtualService")["spec"]["http"][0]["route"], ("stable", "canary")):
            dest["destination"] = {"host": "sentiment-predictor", "subset": subset}
    findings = broken("overlays/prod/sentiment", change)
    assert [(f.rule, f.path[-1]) for _, f in findings] == [("reference.service", "canarySubsetName"),
                                                          ("reference.service", 0)]
    assert "subset 'canry'" in findings[0][1].message and "subsets: canary, stable" in findings[0][1].message
    assert "no destination for 'canry'" in findings[1][1].message


def test_analysis_templates_included_by_a_template_must_exist_and_bring_their_args():
    def change(objs, with_extra):
        obj(objs, "AnalysisTemplate")["spec"]["templates"] = [{"templateName": "iris-extra"}]
        if with_extra:
            objs.append({"apiVersion": "argoproj.io/v1alpha1", "kind": "AnalysisTemplate",
                         "metadata": {"name": "iris-extra", "namespace": "ml-prod"},
                         "spec": {"args": [{"name": "threshold"}], "metrics": []}})
    only(broken("overlays/prod/iris", lambda objs: change(objs, False)), "reference.analysis-template",
         ("spec", "templates", 0, "templateName"), "'iris-extra'", kind="AnalysisTemplate")
    only(broken("overlays/prod/iris", lambda objs: change(objs, True)), "reference.analysis-args",
         ("spec", "strategy", "canary", "analysis", "args"), "needs arg 'threshold'", kind="Rollout")


def test_keda_scaled_object_defaults_to_a_deployment():
    def change(objs, name):
        objs.append({"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
                     "metadata": {"name": "iris", "namespace": "ml-prod"}, "spec": {"scaleTargetRef": {"name": name}}})
    assert broken("overlays/prod/iris", lambda objs: change(objs, "iris-predictor")) == []
    only(broken("overlays/prod/iris", lambda objs: change(objs, "iris")), "reference.scale-target",
         ("spec", "scaleTargetRef", "name"), "Deployment 'iris'", "iris-predictor (from InferenceService iris)")


def _spread_selector(objs: list[dict], labels: dict) -> None:
    spread = obj(objs, "InferenceService")["spec"]["predictor"]["topologySpreadConstraints"][0]
    spread["labelSelector"] = {"matchLabels": labels}


def test_spread_constraint_must_select_the_components_pods_knative():
    """Knative sets `app` to the revision name: selecting app=isvc.<name>-predictor on a serverless
    model matches no pod (mlgitops generated exactly this before it was caught here)."""
    findings = broken("overlays/prod/fraud", lambda objs: _spread_selector(objs, {"app": "isvc.fraud-predictor"}))
    only(findings, "reference.selector", ("spec", "predictor", "topologySpreadConstraints", 0, "labelSelector"),
         "app=isvc.fraud-predictor", "no effect", kind="InferenceService")


def test_spread_constraint_standard_mode_uses_the_app_label():
    assert broken("overlays/prod/iris", lambda objs: _spread_selector(objs, {"app": "isvc.iris-predictor"})) == []
    findings = broken("overlays/prod/iris", lambda objs: _spread_selector(objs, {"app": "isvc.iris-transformer"}))
    only(findings, "reference.selector", ("spec", "predictor", "topologySpreadConstraints", 0, "labelSelector"),
         "app=isvc.iris-transformer", kind="InferenceService")
