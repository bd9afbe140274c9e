"""Unit tests of the built-in transformers and the field-spec walker (kustomize v5 semantics)."""

from __future__ import annotations

import pytest

from mlgitops.kustomize.fieldspecs import (ConfigError, FieldSpec, TransformerConfig, config_from_crds,
                                           default_config, fs_merge_all, fs_merge_one, is_cluster_scoped,
                                           parse_config, split_path)
from mlgitops.kustomize.transformers import (TransformError, Tracked, add_map_entries, add_name_affix,
                                             apply_fieldspec, cur_id, org_id, prev_ids, set_images, set_namespace,
                                             set_replicas)


def res(obj: dict) -> Tracked:
    return Tracked(obj=obj, source="test.yaml")


def deployment(name: str = "web", **meta) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, **meta},
            "spec": {"selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "c", "image": "nginx:1.0"}]}}}}


def obj(kind: str, name: str, api: str = "v1", **rest) -> dict:
    return {"apiVersion": api, "kind": kind, "metadata": {"name": name}, **rest}


# --- field specs ---------------------------------------------------------------------------------------

def test_split_path_keeps_escaped_slashes_and_ignores_a_leading_one():
    assert split_path("metadata/annotations/a.io\\/b") == ["metadata", "annotations", "a.io/b"]
    assert split_path("/spec/x") == ["spec", "x"]


def test_walker_visits_every_list_item_and_creates_only_with_create():
    o = {"kind": "X", "spec": {"items": [{"a": {"v": 1}}, {"a": {"v": 2}}, {"b": 1}]}}
    seen = []
    apply_fieldspec(o, FieldSpec(path="spec/items/a/v"), lambda c, k: seen.append(c[k]), None)
    assert seen == [1, 2]
    apply_fieldspec(o, FieldSpec(path="spec/new/leaf", create=True), lambda c, k: c.__setitem__(k, "set"), "scalar")
    assert o["spec"]["new"] == {"leaf": "set"}


def test_walker_never_creates_a_bracketed_list_but_turns_its_null_into_an_empty_list():
    o = {"kind": "Pod", "spec": {"containers": None}}
    apply_fieldspec(o, FieldSpec(path="spec/containers[]/image", create=True), lambda c, k: None, "scalar")
    assert o["spec"]["containers"] == []
    o2 = {"kind": "Pod", "spec": {}}
    apply_fieldspec(o2, FieldSpec(path="spec/containers[]/image", create=True), lambda c, k: None, "scalar")
    assert o2 == {"kind": "Pod", "spec": {}}


def test_walker_checks_group_version_kind_against_the_current_object():
    o = deployment()
    hits = []
    apply_fieldspec(o, FieldSpec(group="batch", kind="Deployment", path="metadata/name"), lambda c, k: hits.append(1),
                    None)
    apply_fieldspec(o, FieldSpec(group="apps", kind="Deployment", path="metadata/name"), lambda c, k: hits.append(2),
                    None)
    assert hits == [2]


def test_walker_refuses_to_walk_through_a_scalar():
    with pytest.raises(TransformError, match="expected sequence or mapping node"):
        apply_fieldspec({"kind": "X", "spec": "text"}, FieldSpec(path="spec/a"), lambda c, k: None, None)


def test_fieldspec_merge_dedupes_by_selection_and_refuses_conflicting_create():
    specs = [FieldSpec(kind="Deployment", path="spec/x", create=True)]
    assert fs_merge_one(specs, FieldSpec(path="spec/x", create=True)) == specs  # wildcard selects the existing
    assert len(fs_merge_one(specs, FieldSpec(kind="Job", path="spec/x"))) == 2
    with pytest.raises(ConfigError, match="conflicting fieldspecs"):
        fs_merge_all(specs, [FieldSpec(kind="Deployment", path="spec/x", create=False)])


def test_default_config_matches_kustomize_built_ins():
    config = default_config()
    assert config.name_prefix == (FieldSpec(path="metadata/name"),)
    kinds = [ref.kind for ref in config.name_reference]
    # sorted like kustomize: kinds of the legacy order first, then group_version_kind
    assert kinds[:5] == ["StorageClass", "ServiceAccount", "Role", "ClusterRole", "ConfigMap"]
    assert {"ConfigMap", "Secret", "Service", "PersistentVolumeClaim", "Deployment", "IngressClass"} <= set(kinds)
    assert FieldSpec(kind="Deployment", path="spec/template/metadata/labels", create=True) in config.common_labels


def test_parse_config_is_strict_and_locates_problems():
    with pytest.raises(ConfigError) as exc:
        parse_config({"nameReference": [{"kind": "X", "fieldSpecs": [{"path": "a", "creat": True}]}]})
    assert exc.value.path == ("nameReference", 0, "fieldSpecs", 0, "creat")
    with pytest.raises(ConfigError, match="unknown field 'nameprefix'"):
        parse_config({"nameprefix": []})


def test_merged_configuration_keeps_one_entry_per_target_kind():
    extra = parse_config({"nameReference": [{"kind": "ConfigMap", "version": "v1",
                                             "fieldSpecs": [{"path": "spec/cm", "kind": "Widget"}]}]})
    merged = TransformerConfig().merge(default_config()).merge(extra)
    configmaps = [r for r in merged.name_reference if r.kind == "ConfigMap"]
    assert len(configmaps) == 1 and FieldSpec(kind="Widget", path="spec/cm") in configmaps[0].referrers


def test_crds_openapi_definitions_teach_name_references():
    config = config_from_crds({
        "a.b.Widget": {"Schema": {"properties": {
            "apiVersion": {}, "kind": {}, "metadata": {}, "spec": {"$ref": "a.b.Spec"}}}},
        "a.b.Spec": {"Schema": {"properties": {"cm": {
            "x-kubernetes-object-ref-api-version": "v1", "x-kubernetes-object-ref-kind": "ConfigMap"}}}},
    })
    (ref,) = config.name_reference
    assert (ref.version, ref.kind) == ("v1", "ConfigMap")
    assert ref.referrers == (FieldSpec(kind="Widget", path="spec/cm/name"),)


def test_cluster_scope_is_kustomizes_table():
    assert is_cluster_scoped("v1", "Namespace")
    assert is_cluster_scoped("rbac.authorization.k8s.io/v1", "ClusterRoleBinding")
    assert not is_cluster_scoped("rbac.authorization.k8s.io/v1alpha1", "ClusterRole")  # unknown version
    assert not is_cluster_scoped("example.com/v1", "Cluster")


# --- namespace ---------------------------------------------------------------------------------------------

def test_namespace_sets_namespaced_objects_only_and_remembers_old_ids():
    d, role = res(deployment()), res(obj("ClusterRole", "r", "rbac.authorization.k8s.io/v1"))
    set_namespace([d, role], "prod", default_config().namespace)
    assert d.obj["metadata"]["namespace"] == "prod"
    assert "namespace" not in role.obj["metadata"]
    assert prev_ids(d) == [("apps", "v1", "Deployment", "web", "default")]
    assert org_id(role)[4] == "_non_namespaceable_"


def test_namespace_renames_v1_namespace_objects_and_sets_default_subjects():
    ns = res(obj("Namespace", "anything"))
    crb = res(obj("ClusterRoleBinding", "b", "rbac.authorization.k8s.io/v1",
                  subjects=[{"kind": "ServiceAccount", "name": "default"},
                            {"kind": "ServiceAccount", "name": "other"},
                            {"kind": "User", "name": "default", "namespace": "x"}]))
    set_namespace([ns, crb], "team", default_config().namespace)
    assert ns.obj["metadata"] == {"name": "team"}
    assert crb.obj["subjects"] == [{"kind": "ServiceAccount", "name": "default", "namespace": "team"},
                                   {"kind": "ServiceAccount", "name": "other"},
                                   {"kind": "User", "name": "default", "namespace": "team"}]


def test_namespace_id_conflict_is_an_error():
    a = res(obj("ConfigMap", "c"))
    b = res({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "prod"}})
    with pytest.raises(TransformError, match="id conflict"):
        set_namespace([a, b], "prod", default_config().namespace)


def test_namespace_field_spec_on_a_mapping_is_an_error():
    svc = res({"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService", "metadata": {"name": "a"},
               "spec": {"service": {"namespace": {"oops": 1}}}})
    with pytest.raises(TransformError, match="scalar"):
        set_namespace([svc], "prod", default_config().namespace)


# --- prefix / suffix ---------------------------------------------------------------------------------------

def test_prefix_and_suffix_rename_and_record_affixes():
    d = res(deployment())
    add_name_affix([d], "p-", default_config().name_prefix, suffix=False)
    add_name_affix([d], "-s", default_config().name_suffix, suffix=True)
    assert d.name == "p-web-s"
    assert (d.prefixes, d.suffixes) == (["p-"], ["-s"])
    assert [i[3] for i in prev_ids(d)] == ["web", "p-web"]
    assert d.previous == [("web", ""), ("p-web", "")]


def test_prefix_skips_namespaces_crds_and_api_services():
    objs = [res(obj("Namespace", "n")), res(obj("CustomResourceDefinition", "c", "apiextensions.k8s.io/v1")),
            res(obj("APIService", "a", "apiregistration.k8s.io/v1"))]
    add_name_affix(objs, "p-", default_config().name_prefix, suffix=False)
    assert [o.name for o in objs] == ["n", "c", "a"]
    assert all(not o.prev for o in objs)


def test_prefix_custom_field_spec_with_create():
    w = res(obj("Widget", "w", "example.com/v1", spec={}))
    add_name_affix([w], "p-", (FieldSpec(kind="Widget", path="spec/alias", create=True),), suffix=False)
    assert w.obj["spec"] == {"alias": "p-"}
    assert w.name == "w"


# --- labels and annotations --------------------------------------------------------------------------------

def test_common_labels_reach_selectors_and_templates():
    d, svc = res(deployment()), res(obj("Service", "s", spec={"selector": {"app": "s"}}))
    add_map_entries([d, svc], {"team": "a"}, default_config().common_labels)
    assert d.obj["metadata"]["labels"] == {"team": "a"}
    assert d.obj["spec"]["selector"]["matchLabels"] == {"app": "web", "team": "a"}
    assert d.obj["spec"]["template"]["metadata"]["labels"] == {"app": "web", "team": "a"}
    assert svc.obj["spec"]["selector"] == {"app": "s", "team": "a"}


def test_labels_skip_null_targets_and_refuse_scalars():
    pdb = res({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "p"},
               "spec": {"selector": {"matchLabels": None}}})
    add_map_entries([pdb], {"a": "b"}, default_config().common_labels)
    assert pdb.obj["spec"]["selector"]["matchLabels"] is None
    bad = res({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "labels": "x"}})
    with pytest.raises(TransformError):
        add_map_entries([bad], {"a": "b"}, default_config().common_labels)


def test_annotations_are_created_where_the_specs_say():
    cj = res({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c"},
              "spec": {"jobTemplate": {"spec": {"template": {"spec": {}}}}}})
    add_map_entries([cj], {"n": "v"}, default_config().common_annotations)
    assert cj.obj["metadata"]["annotations"] == {"n": "v"}
    assert cj.obj["spec"]["jobTemplate"]["metadata"]["annotations"] == {"n": "v"}
    assert cj.obj["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["annotations"] == {"n": "v"}


# --- images ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("image, entry, expected", [
    ("nginx", {"name": "nginx", "newTag": "1.2"}, "nginx:1.2"),
    ("nginx:1.0", {"name": "nginx", "newName": "mirror/nginx"}, "mirror/nginx:1.0"),
    ("nginx:1.0@sha256:aa", {"name": "nginx", "digest": "sha256:bb"}, "nginx@sha256:bb"),
    ("nginx@sha256:aa", {"name": "nginx", "newTag": "2", "digest": "sha256:cc"}, "nginx:2@sha256:cc"),
    ("host:5000/team/app:v1", {"name": "host:5000/team/app", "newTag": "v2"}, "host:5000/team/app:v2"),
    ("nginxx:1", {"name": "nginx", "newTag": "2"}, "nginxx:1"),
])
def test_image_updates(image, entry, expected):
    d = res(deployment())
    d.obj["spec"]["template"]["spec"]["containers"][0]["image"] = image
    set_images([d], entry, default_config().images)
    assert d.obj["spec"]["template"]["spec"]["containers"][0]["image"] == expected


def test_tag_suffix_applies_twice_like_kustomize_and_legacy_walk_reaches_custom_kinds():
    d = res(deployment())
    custom = res(obj("Thing", "t", "example.com/v1", spec={"deep": {"initContainers": [{"image": "nginx"}]}}))
    set_images([d, custom], {"name": "nginx", "tagSuffix": "-x"}, default_config().images)
    assert d.obj["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.0-x-x"
    assert custom.obj["spec"]["deep"]["initContainers"][0]["image"] == "nginx:-x"


def test_images_skip_custom_resource_definitions():
    crd = res(obj("CustomResourceDefinition", "c", "apiextensions.k8s.io/v1",
                  spec={"containers": [{"image": "nginx"}]}))
    set_images([crd], {"name": "nginx", "newTag": "2"}, default_config().images)
    assert crd.obj["spec"]["containers"][0]["image"] == "nginx"


# --- replicas ----------------------------------------------------------------------------------------------

def test_replicas_follow_previous_names_and_create_the_field():
    d = res(deployment())
    del d.obj["spec"]["selector"]
    add_name_affix([d], "p-", default_config().name_prefix, suffix=False)
    set_replicas([d], "web", 4, default_config().replicas)
    assert d.obj["spec"]["replicas"] == 4


def test_replicas_without_a_matching_object_is_an_error():
    with pytest.raises(TransformError, match="no resource named 'nope'"):
        set_replicas([res(deployment())], "nope", 1, default_config().replicas)


def test_cur_id_uses_the_effective_namespace():
    a = res(obj("ConfigMap", "c"))
    b = res({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "default"}})
    assert cur_id(a) == cur_id(b)
