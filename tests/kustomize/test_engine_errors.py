"""Render errors: every problem is a RenderError at the kustomization line of the offending entry,
with a rule id; what the engine does not implement is refused, never ignored."""

from __future__ import annotations

import os
import pathlib

import pytest

from mlgitops.kustomize.engine import render_objects
from mlgitops.kustomize.errors import RenderError
from filetree import write

CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n"


def error(root: pathlib.Path, path: str = "overlay") -> RenderError:
    with pytest.raises(RenderError) as exc:
        render_objects(str(root / path))
    return exc.value


def where(err: RenderError) -> tuple:
    d = err.diagnostic
    return d.file, d.line, d.column, d.rule


def pos(root: pathlib.Path, rel: str, needle: str) -> tuple[int, int]:
    """1-based line and column of the first occurrence of `needle` in a file."""
    for i, line in enumerate((root / rel).read_text().splitlines(), 1):
        col = line.find(needle)
        if col >= 0:
            return i, col + 1
    raise AssertionError(f"{needle!r} not in {rel}")


def at(root: pathlib.Path, rel: str, needle: str, rule: str) -> tuple:
    return (rel, *pos(root, rel, needle), rule)


# --- files and directories ---------------------------------------------------------------------------

def test_missing_resource_file(tmp_path):
    write(tmp_path, {"overlay/kustomization.yaml": "resources:\n- cm.yaml\n- missing.yaml\n", "overlay/cm.yaml": CM})
    err = error(tmp_path)
    assert where(err) == at(tmp_path, "overlay/kustomization.yaml", "missing.yaml", "render.missing-file")
    assert "'missing.yaml' does not exist" in err.diagnostic.message


def test_missing_patch_file_points_at_its_path_field(tmp_path):
    write(tmp_path, {"overlay/kustomization.yaml": """
        resources:
        - cm.yaml
        patches:
        - target:
            kind: ConfigMap
          path: nope.yaml
        """, "overlay/cm.yaml": CM})
    assert where(error(tmp_path)) == at(tmp_path, "overlay/kustomization.yaml", "nope.yaml", "render.missing-file")


def test_missing_generator_source_points_at_the_file_entry(tmp_path):
    write(tmp_path, {"overlay/kustomization.yaml": """
        configMapGenerator:
        - name: files
          files:
          - present.txt
          - key=absent.txt
        """, "overlay/present.txt": "x"})
    assert where(error(tmp_path)) == at(tmp_path, "overlay/kustomization.yaml", "key=absent.txt", "render.missing-file")


def test_cycle_between_kustomizations(tmp_path):
    write(tmp_path, {"a/kustomization.yaml": "resources:\n- ../b\n", "b/kustomization.yaml": "resources:\n- ../a\n"})
    err = error(tmp_path, "a")
    assert where(err) == at(tmp_path, "b/kustomization.yaml", "../a", "render.cycle")


@pytest.mark.parametrize("entry", [".", ".."])
def test_a_kustomization_may_not_include_itself_or_an_ancestor(tmp_path, entry):
    write(tmp_path, {"overlay/kustomization.yaml": f"resources:\n- '{entry}'\n"})
    assert where(error(tmp_path))[3] == "render.cycle"


def test_component_cycle(tmp_path):
    write(tmp_path, {
        "overlay/kustomization.yaml": "resources:\n- cm.yaml\ncomponents:\n- ../comp\n", "overlay/cm.yaml": CM,
        "comp/kustomization.yaml": "kind: Component\napiVersion: kustomize.config.k8s.io/v1alpha1\n"
                                   "components:\n- ../comp\n"})
    assert where(error(tmp_path)) == at(tmp_path, "comp/kustomization.yaml", "../comp", "render.cycle")


def test_path_escaping_the_repository(tmp_path):
    repo = tmp_path / "repo"
    write(repo, {"overlay/kustomization.yaml": "resources:\n- ../../outside\n"})
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "kustomization.yaml").write_text("resources: []\nnamePrefix: x\n")
    err = error(repo)
    assert where(err) == at(repo, "overlay/kustomization.yaml", "../../outside", "render.outside-repo")


def test_file_outside_the_kustomization_root_is_refused_like_kustomize(tmp_path):
    write(tmp_path, {"overlay/kustomization.yaml": "resources:\n- ../shared/cm.yaml\n", "shared/cm.yaml": CM})
    err = error(tmp_path)
    assert where(err) == at(tmp_path, "overlay/kustomization.yaml", "../shared/cm.yaml", "render.load-restrictor")
    assert "LoadRestrictionsRootOnly" in err.diagnostic.message


def test_base_directory_without_a_kustomization(tmp_path):
    write(tmp_path, {"overlay/kustomization.yaml": "resources:\n- ../empty\n", "empty/readme.txt": "x"})
    assert where(error(tmp_path)) == at(tmp_path, "overlay/kustomization.yaml", "../empty",
                                        "render.missing-kustomization")


def test_two_kustomization_files_in_one_directory(tmp_path):
    write(tmp_path, {"overlay/kustomization.yaml": "resources:\n- ../base\n",
                     "base/kustomization.yaml": "namePrefix: a\n", "base/kustomization.yml": "namePrefix: b\n"})
    err = error(tmp_path)
    assert where(err)[3] == "render.missing-kustomization"
    assert "several kustomization files" in err.diagnostic.message


# --- YAML -----------------------------------------------------------------------------------------------------

def test_invalid_yaml_in_a_resource_points_at_the_entry_and_names_the_place(tmp_path):
    write(tmp_path, {"overlay/kustomization.yaml": "resources:\n- bad.yaml\n",
                     "overlay/bad.yaml": "apiVersion: v1\nkind: [ConfigMap\n"})
    err = error(tmp_path)
    assert where(err) == at(tmp_path, "overlay/kustomization.yaml", "bad.yaml", "yaml.syntax")
    assert "overlay/bad.yaml:" in err.diagnostic.message


def test_duplicate_key_in_a_resource(tmp_path):
    write(tmp_path, {"overlay/kustomization.yaml": "resources:\n- dup.yaml\n",
                     "overlay/dup.yaml": CM + "data:\n  a: x\n  a: y\n"})
    err = error(tmp_path)
    assert where(err) == at(tmp_path, "overlay/kustomization.yaml", "dup.yaml", "yaml.syntax")
    assert "overlay/dup.yaml:7:" in err.diagnostic.message


def test_invalid_yaml_in_the_kustomization(tmp_path):
    write(tmp_path, {"overlay/kustomization.yaml": "resources:\n- a.yaml\nnamePrefix: [x\n"})
    err = error(tmp_path)
    assert err.diagnostic.file == "overlay/kustomization.yaml"
    assert err.diagnostic.rule == "yaml.syntax"


def test_resource_without_kind_or_name(tmp_path):
    write(tmp_path, {"overlay/kustomization.yaml": "resources:\n- a.yaml\n- b.yaml\n",
                     "overlay/a.yaml": CM, "overlay/b.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n"})
    err = error(tmp_path)
    assert where(err) == at(tmp_path, "overlay/kustomization.yaml", "b.yaml", "render.invalid-resource")
    assert "missing metadata.name" in err.diagnostic.message


# --- the kustomization's own fields -----------------------------------------------------------------------------

def test_unknown_field(tmp_path):
    write(tmp_path, {"overlay/kustomization.yaml": "resources:\n- a.yaml\nnamePrefx: x-\n", "overlay/a.yaml": CM})
    assert where(error(tmp_path)) == at(tmp_path, "overlay/kustomization.yaml", "namePrefx",
                                        "render.invalid-kustomization")


@pytest.mark.parametrize("text, needle, offset", [
    ("namePrefix: [a]\n", "namePrefix", 0),
    ("commonLabels:\n  a: 1\n", "a: 1", 3),
    ("commonLabels:\n  a: y\n", "a: y", 3),  # goyaml.v2 (kustomize's reader here) takes y for a bool
    ("replicas:\n- name: x\n  count: two\n", "two", 0),
    ("images:\n- name: a\n  newTag: 1.10\n", "1.10", 0),
    ("patches:\n- path: p.yaml\n  target:\n    knd: X\n", "knd", 0),
])
def test_wrong_types_and_fields(tmp_path, text, needle, offset):
    write(tmp_path, {"overlay/kustomization.yaml": "resources:\n- a.yaml\n" + text, "overlay/a.yaml": CM})
    file, line, col, rule = at(tmp_path, "overlay/kustomization.yaml", needle, "render.invalid-kustomization")
    assert where(error(tmp_path)) == (file, line, col + offset, rule)


def test_wrong_kind_and_api_version(tmp_path):
    write(tmp_path, {"overlay/kustomization.yaml": "kind: Kustomisation\nresources: []\n"})
    assert where(error(tmp_path)) == at(tmp_path, "overlay/kustomization.yaml", "Kustomisation",
                                        "render.invalid-kustomization")
    write(tmp_path, {"overlay/kustomization.yaml": "kind: Component\napiVersion: kustomize.config.k8s.io/v1beta1\n"
                                                   "resources: []\n"})
    assert where(error(tmp_path)) == at(tmp_path, "overlay/kustomization.yaml", "kustomize.config.k8s.io/v1beta1",
                                        "render.invalid-kustomization")


def test_empty_kustomization(tmp_path):
    write(tmp_path, {"overlay/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\n"})
    err = error(tmp_path)
    assert where(err)[3] == "render.invalid-kustomization" and "empty" in err.diagnostic.message


def test_invalid_sort_order(tmp_path):
    write(tmp_path, {"overlay/kustomization.yaml": "resources:\n- a.yaml\nsortOptions:\n  order: random\n",
                     "overlay/a.yaml": CM})
    assert where(error(tmp_path)) == at(tmp_path, "overlay/kustomization.yaml", "random",
                                        "render.invalid-kustomization")


@pytest.mark.parametrize("field, value", [
    ("helmCharts", "\n- name: x\n  repo: https://charts.example.com\n"),
    ("helmGlobals", "\n  chartHome: charts\n"),
    ("helmChartInflationGenerator", "\n- chartName: x\n"),
    ("replacements", "\n- source:\n    kind: ConfigMap\n"),
    ("vars", "\n- name: X\n  objref:\n    kind: Service\n    name: s\n    apiVersion: v1\n"),
    ("generators", "\n- gen.yaml\n"),
    ("transformers", "\n- t.yaml\n"),
    ("validators", "\n- v.yaml\n"),
    ("buildMetadata", " [originAnnotations]\n"),
])
def test_fields_the_engine_does_not_implement_are_refused(tmp_path, field, value):
    write(tmp_path, {"overlay/kustomization.yaml": f"resources:\n- a.yaml\n{field}:{value}", "overlay/a.yaml": CM})
    err = error(tmp_path)
    assert where(err) == (*at(tmp_path, "overlay/kustomization.yaml", field, "render.not-supported")[:3],
                          "render.not-supported")
    assert f"not supported: {field}" in err.diagnostic.message
    assert "--engine kustomize" in err.diagnostic.message


def test_openapi_is_supported_and_its_schema_file_must_exist(tmp_path):
    # `openapi` used to be refused; it is implemented now (tests/kustomize/test_openapi.py)
    write(tmp_path, {"overlay/kustomization.yaml": "resources:\n- a.yaml\nopenapi:\n  path: schema.json\n",
                     "overlay/a.yaml": CM})
    err = error(tmp_path)
    assert where(err) == at(tmp_path, "overlay/kustomization.yaml", "schema.json", "render.missing-file")
    (tmp_path / "overlay/schema.json").write_text('{"definitions": {}}')
    assert render_objects(str(tmp_path / "overlay"))[0]["metadata"]["name"] == "c"


@pytest.mark.parametrize("entry", ["https://github.com/org/repo/deploy.yaml",
                                   "github.com/org/repo//deploy?ref=v1.0.0",
                                   "git@github.com:org/repo.git"])
def test_remote_resources_are_refused(tmp_path, entry):
    write(tmp_path, {"overlay/kustomization.yaml": f"resources:\n- {entry}\n"})
    assert where(error(tmp_path)) == at(tmp_path, "overlay/kustomization.yaml", entry, "render.not-supported")


def test_empty_unsupported_field_has_no_effect(tmp_path):
    write(tmp_path, {"overlay/kustomization.yaml": "resources:\n- a.yaml\nhelmCharts: []\n", "overlay/a.yaml": CM})
    assert render_objects(str(tmp_path / "overlay"))[0]["metadata"]["name"] == "c"


# --- build errors --------------------------------------------------------------------------------------------

def test_same_id_twice(tmp_path):
    write(tmp_path, {"overlay/kustomization.yaml": "resources:\n- a.yaml\n- b.yaml\n",
                     "overlay/a.yaml": CM, "overlay/b.yaml": CM})
    err = error(tmp_path)
    assert where(err) == at(tmp_path, "overlay/kustomization.yaml", "b.yaml", "render.id-conflict")
    assert "already registered id" in err.diagnostic.message


def test_same_id_from_two_bases(tmp_path):
    write(tmp_path, {"overlay/kustomization.yaml": "resources:\n- ../one\n- ../two\n",
                     "one/kustomization.yaml": "resources:\n- cm.yaml\n", "one/cm.yaml": CM,
                     "two/kustomization.yaml": "resources:\n- cm.yaml\n", "two/cm.yaml": CM})
    assert where(error(tmp_path)) == at(tmp_path, "overlay/kustomization.yaml", "../two", "render.id-conflict")


def test_component_listed_as_a_resource_and_kustomization_as_a_component(tmp_path):
    write(tmp_path, {"overlay/kustomization.yaml": "resources:\n- ../comp\n",
                     "comp/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n"
                                                "namePrefix: x-\n"})
    assert where(error(tmp_path)) == at(tmp_path, "overlay/kustomization.yaml", "../comp",
                                        "render.invalid-kustomization")
    write(tmp_path, {"overlay/kustomization.yaml": "resources:\n- cm.yaml\ncomponents:\n- ../base\n",
                     "overlay/cm.yaml": CM, "base/kustomization.yaml": "namePrefix: x-\n"})
    assert where(error(tmp_path)) == at(tmp_path, "overlay/kustomization.yaml", "../base",
                                        "render.invalid-kustomization")


def test_patch_without_a_matching_object(tmp_path):
    write(tmp_path, {"overlay/kustomization.yaml": """
        resources:
        - a.yaml
        patches:
        - patch: |
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: other
        """, "overlay/a.yaml": CM})
    err = error(tmp_path)
    assert where(err) == at(tmp_path, "overlay/kustomization.yaml", "patch:", "render.patch")
    assert "no resource matches" in err.diagnostic.message


def test_json_patch_without_a_target(tmp_path):
    write(tmp_path, {"overlay/kustomization.yaml": """
        resources:
        - a.yaml
        patches:
        - patch: '[{"op": "add", "path": "/data", "value": {}}]'
        """, "overlay/a.yaml": CM})
    assert where(error(tmp_path)) == at(tmp_path, "overlay/kustomization.yaml", "patch:", "render.patch")


def test_replicas_without_a_matching_object(tmp_path):
    write(tmp_path, {"overlay/kustomization.yaml": "resources:\n- a.yaml\nreplicas:\n- name: web\n  count: 2\n",
                     "overlay/a.yaml": CM})
    assert where(error(tmp_path)) == at(tmp_path, "overlay/kustomization.yaml", "name: web", "render.transform")


def test_generator_merge_without_an_existing_object(tmp_path):
    write(tmp_path, {"overlay/kustomization.yaml": """
        configMapGenerator:
        - name: absent
          behavior: merge
          literals: [a=b]
        """})
    assert where(error(tmp_path)) == at(tmp_path, "overlay/kustomization.yaml", "name: absent", "render.generator")


def test_configuration_file_errors_point_into_that_file(tmp_path):
    write(tmp_path, {"overlay/kustomization.yaml": "resources:\n- a.yaml\nconfigurations:\n- config.yaml\n",
                     "overlay/a.yaml": CM,
                     "overlay/config.yaml": "nameReference:\n- kind: ConfigMap\n  fieldSpecs:\n  - path: x\n"
                                            "    kinds: Y\n"})
    assert where(error(tmp_path)) == at(tmp_path, "overlay/config.yaml", "kinds", "render.invalid-configuration")


def test_path_must_be_a_directory(tmp_path):
    write(tmp_path, {"overlay/kustomization.yaml": "resources:\n- a.yaml\n", "overlay/a.yaml": CM})
    err = error(tmp_path, "overlay/kustomization.yaml")
    assert err.diagnostic.rule == "render.invalid-kustomization"


def test_explicit_repo_root_confines_the_build(tmp_path):
    write(tmp_path, {"overlay/kustomization.yaml": "resources:\n- ../base\n",
                     "base/kustomization.yaml": "resources:\n- cm.yaml\n", "base/cm.yaml": CM})
    with pytest.raises(RenderError) as exc:
        render_objects(str(tmp_path / "overlay"), repo_root=str(tmp_path / "overlay"))
    assert exc.value.diagnostic.rule == "render.outside-repo"
    assert os.path.basename(exc.value.diagnostic.file) == "kustomization.yaml"
