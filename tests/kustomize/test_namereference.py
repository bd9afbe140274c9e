"""Unit tests of name-reference fixing (kustomize's nameReferenceTransformer and filters/nameref)."""

from __future__ import annotations

import pytest

from mlgitops.kustomize.fieldspecs import FieldSpec, NameBackReference, default_config, parse_config
from mlgitops.kustomize.namereference import fix_name_references
from mlgitops.kustomize.transformers import TransformError, Tracked, add_name_affix, set_namespace, store_previous_id

REFS = default_config().name_reference


def res(obj: dict) -> Tracked:
    return Tracked(obj=obj, source="t.yaml")


def cm(name: str, namespace: str | None = None) -> Tracked:
    meta = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    return res({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta})


def pod(*, configmap: str = "settings", namespace: str | None = None) -> Tracked:
    meta = {"name": "p"}
    if namespace:
        meta["namespace"] = namespace
    return res({"apiVersion": "v1", "kind": "Pod", "metadata": meta,
                "spec": {"containers": [{"name": "c", "envFrom": [{"configMapRef": {"name": configmap}}]}],
                         "volumes": [{"name": "v", "configMap": {"name": configmap}}]}})


def prefix(resources, value):
    add_name_affix(resources, value, default_config().name_prefix, suffix=False)


def test_reference_follows_a_prefixed_configmap():
    c, p = cm("settings"), pod()
    prefix([c, p], "x-")
    fix_name_references([c, p], REFS)
    assert p.obj["spec"]["volumes"][0]["configMap"]["name"] == "x-settings"
    assert p.obj["spec"]["containers"][0]["envFrom"][0]["configMapRef"]["name"] == "x-settings"


def test_reference_to_an_object_that_was_never_renamed_is_left_alone():
    c, p = cm("settings"), pod()
    fix_name_references([c, p], REFS)
    assert p.obj["spec"]["volumes"][0]["configMap"]["name"] == "settings"


def test_reference_to_an_object_outside_the_build_is_left_alone():
    c, p = cm("settings"), pod(configmap="external")
    prefix([c, p], "x-")
    fix_name_references([c, p], REFS)
    assert p.obj["spec"]["volumes"][0]["configMap"]["name"] == "external"


def test_reference_needs_the_same_namespace():
    c, p = cm("settings", "a"), pod(namespace="b")
    store_previous_id(c)
    c.obj["metadata"]["name"] = "renamed"
    fix_name_references([c, p], REFS)
    assert p.obj["spec"]["volumes"][0]["configMap"]["name"] == "settings"


def test_hpa_follows_a_renamed_deployment_and_custom_rollout_reference():
    config = default_config().merge(parse_config({"nameReference": [
        {"kind": "Rollout", "group": "argoproj.io",
         "fieldSpecs": [{"path": "spec/scaleTargetRef/name", "kind": "HorizontalPodAutoscaler"}]}]}))
    rollout = res({"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": {"name": "m"}})
    hpa = res({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "m"},
               "spec": {"scaleTargetRef": {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": "m"}}})
    prefix([rollout, hpa], "p-")
    fix_name_references([rollout, hpa], config.name_reference)
    assert hpa.obj["spec"]["scaleTargetRef"]["name"] == "p-m"
    # without the configuration the HPA would keep the old name
    hpa.obj["spec"]["scaleTargetRef"]["name"] = "m"
    fix_name_references([rollout, hpa], REFS)
    assert hpa.obj["spec"]["scaleTargetRef"]["name"] == "m"


def test_role_binding_subjects_get_name_and_namespace():
    sa = res({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "runner"}})
    rb = res({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "rb"},
              "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "edit"},
              "subjects": [{"kind": "ServiceAccount", "name": "runner"}]})
    set_namespace([sa, rb], "apps", default_config().namespace)
    prefix([sa, rb], "p-")
    fix_name_references([sa, rb], REFS)
    assert rb.obj["subjects"] == [{"kind": "ServiceAccount", "name": "p-runner", "namespace": "apps"}]


def test_role_ref_distinguishes_role_from_cluster_role():
    role = res({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "same"}})
    crole = res({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "same"}})
    rb = res({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "rb"},
              "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "same"}})
    add_name_affix([role], "r-", default_config().name_prefix, suffix=False)
    add_name_affix([crole], "c-", default_config().name_prefix, suffix=False)
    fix_name_references([role, crole, rb], REFS)
    assert rb.obj["roleRef"]["name"] == "c-same"


def test_affixes_pick_the_referral_built_in_the_same_kustomization():
    left = [cm("settings"), pod()]
    right = [cm("settings"), pod()]
    prefix(left, "left-")
    prefix(right, "right-")
    everything = left + right
    fix_name_references(everything, REFS)
    assert left[1].obj["spec"]["volumes"][0]["configMap"]["name"] == "left-settings"
    assert right[1].obj["spec"]["volumes"][0]["configMap"]["name"] == "right-settings"


def test_two_equally_good_referrals_are_an_error():
    a, b, p = cm("settings"), cm("other"), pod()
    for r, new in ((a, "one"), (b, "two")):
        store_previous_id(r)
        r.obj["metadata"]["name"] = new
    b.prev[0] = ("ConfigMap", "settings", "default")  # both were once "settings"
    with pytest.raises(TransformError, match="multiple possible referrals"):
        fix_name_references([a, b, p], REFS)


def test_list_of_names_is_fixed_item_by_item():
    c = cm("settings")
    role = res({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "r"},
                "rules": [{"resourceNames": ["settings", "other"]}]})
    prefix([c], "x-")
    fix_name_references([c, role], REFS)
    assert role.obj["rules"][0]["resourceNames"] == ["x-settings", "other"]


def test_mapping_without_a_name_is_a_configuration_error():
    sa = res({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "runner"}})
    rb = res({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "b"},
              "subjects": [{"kind": "ServiceAccount"}]})
    prefix([sa], "p-")
    with pytest.raises(TransformError, match="no 'name' field"):
        fix_name_references([sa, rb], REFS)


def test_custom_reference_list_path():
    refs = (NameBackReference("", "v1", "Service", (FieldSpec(kind="VirtualService",
                                                              path="spec/http/route/destination/host"),)),)
    svc = res({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "stable"}})
    vs = res({"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": {"name": "vs"},
              "spec": {"http": [{"route": [{"destination": {"host": "stable"}}, {"destination": {"host": "x"}}]}]}})
    prefix([svc, vs], "a-")
    fix_name_references([svc, vs], refs)
    hosts = [r["destination"]["host"] for r in vs.obj["spec"]["http"][0]["route"]]
    assert hosts == ["a-stable", "x"]


def test_the_built_in_configuration_reads_as_pyyaml_reads_it():
    """default_config reads its YAML with fastyaml, which resolves no timestamps: the same data."""
    import yaml

    from mlgitops import fastyaml
    from mlgitops.kustomize.fieldspecs import _DEFAULT_FIELD_SPECS

    data = fastyaml.load(_DEFAULT_FIELD_SPECS, 200)[0]
    assert repr(data) == repr(yaml.load(_DEFAULT_FIELD_SPECS, Loader=yaml.CSafeLoader))
    assert default_config() == parse_config(data)
