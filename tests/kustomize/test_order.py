"""Unit tests of kustomize's legacy output order and `kustomize build -o DIR` file names."""

from __future__ import annotations

from mlgitops.kustomize.order import legacy_sort, output_file_name
from mlgitops.kustomize.resource import Resource


def r(api: str, kind: str, name: str, namespace: str | None = None) -> Resource:
    meta = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    return Resource({"apiVersion": api, "kind": kind, "metadata": meta}, "x.yaml")


def names(resources) -> list[str]:
    return [f"{x.kind}/{x.namespace + '/' if x.namespace else ''}{x.name}" for x in resources]


def test_kinds_listed_first_and_last_then_the_rest_by_group_version_kind():
    objs = [r("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", "v"),
            r("example.com/v1", "Zebra", "z"), r("apps/v1", "Deployment", "d"), r("v1", "Pod", "p"),
            r("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration", "m"),
            r("v1", "Service", "s"), r("v1", "Namespace", "n"), r("v1", "ConfigMap", "c"),
            r("apiextensions.k8s.io/v1", "CustomResourceDefinition", "crd"), r("batch/v1", "Job", "j")]
    assert names(legacy_sort(objs)) == [
        "Namespace/n", "CustomResourceDefinition/crd", "ConfigMap/c", "Service/s", "Deployment/d",
        # unlisted kinds: ~G (core) sorts after every group, so batch < example.com < ~G_v1_Pod
        "Job/j", "Zebra/z", "Pod/p",
        "MutatingWebhookConfiguration/m", "ValidatingWebhookConfiguration/v"]


def test_same_type_sorts_by_namespace_then_name_with_no_namespace_last():
    objs = [r("v1", "Service", "b"), r("v1", "Service", "a", "z"), r("v1", "Service", "a"),
            r("v1", "Service", "a", "default")]
    # "~X" (no namespace) sorts after every namespace name
    assert names(legacy_sort(objs)) == ["Service/default/a", "Service/z/a", "Service/a", "Service/b"]


def test_same_kind_different_groups_sort_by_group():
    objs = [r("extensions/v1beta1", "Deployment", "d"), r("apps/v1", "Deployment", "d")]
    assert [x.api_version for x in legacy_sort(objs)] == ["apps/v1", "extensions/v1beta1"]


def test_namespace_kinds_with_a_missing_group_compare_reversed():
    objs = [r("v1", "Namespace", "core"), r("example.com/v1", "Namespace", "custom")]
    assert names(legacy_sort(objs)) == ["Namespace/core", "Namespace/custom"]
    assert names(legacy_sort(list(reversed(objs)))) == ["Namespace/core", "Namespace/custom"]


def test_custom_order_lists():
    objs = [r("v1", "ConfigMap", "c"), r("v1", "Secret", "s"), r("autoscaling/v2", "HorizontalPodAutoscaler", "h"),
            r("v1", "Service", "svc")]
    out = legacy_sort(objs, ["HorizontalPodAutoscaler", "Secret"], ["ConfigMap"])
    assert names(out) == ["HorizontalPodAutoscaler/h", "Secret/s", "Service/svc", "ConfigMap/c"]


def test_sort_is_stable_input_independent():
    objs = [r("v1", "ConfigMap", n) for n in "cab"]
    assert names(legacy_sort(objs)) == names(legacy_sort(list(reversed(objs)))) == \
        ["ConfigMap/a", "ConfigMap/b", "ConfigMap/c"]


def test_output_file_names_like_kustomize_build_o():
    assert output_file_name(r("apps/v1", "Deployment", "Web")) == "apps_v1_deployment_web.yaml"
    assert output_file_name(r("v1", "ConfigMap", "c")) == "v1_configmap_c.yaml"
    assert output_file_name(r("v1", "ConfigMap", "c", "Prod"), "Prod") == "prod_v1_configmap_c.yaml"
