"""The loader: resource YAML read like kustomize (yaml.v3), repository root, kustomization files."""

from __future__ import annotations

import math
import pathlib

import pytest
from filetree import write

from mlgitops.emit import dump
from mlgitops.kustomize.engine import render_objects, render_yaml
from mlgitops.kustomize.loader import YamlError, find_repo_root, parse_documents, raw_text, resolve_v3_plain


@pytest.mark.parametrize("text, value", [
    ("0o17", 15), ("017", 15), ("0x1F", 31), ("1_000", 1000), ("+12", 12), ("-0b11", -3), ("08", 8.0),
    ("1e3", 1000.0), ("5.", 5.0), (".5", 0.5), ("1:30", "1:30"), ("1.2.3", "1.2.3"), ("-", "-"),
    ("18446744073709551615", 18446744073709551615), ("18446744073709551616", 1.8446744073709552e19),
    ("1e400", "1e400"), ("2026-11-02", "2026-11-02T00:00:00Z"), ("2026-02-30", "2026-02-30"),
    ("2001-12-14 21:59:43.10", "2001-12-14T21:59:43.1Z"), ("2001-12-14t21:59:43.10-05:00",
                                                           "2001-12-14T21:59:43.1-05:00"),
    ("2001-12-14T21:59:43+00:00", "2001-12-14T21:59:43Z"),
])
def test_plain_scalars_resolve_like_yaml_v3(text, value):
    got = resolve_v3_plain(text)
    assert got == value and isinstance(got, type(value))


def test_special_floats_and_raw_text_memo():
    assert math.isinf(resolve_v3_plain(".inf")) and math.isnan(resolve_v3_plain(".NaN"))
    assert raw_text(resolve_v3_plain("1.10")) == "1.10"
    assert raw_text(resolve_v3_plain("8080")) is None  # written the way Python prints it


def test_yaml_1_1_words_stay_strings():
    (_, data), = parse_documents("a: yes\nb: on\nc: y\nd: No\ne: true\nf: ~\ng:\nh: !!str 5\n")
    assert data == {"a": "yes", "b": "on", "c": "y", "d": "No", "e": True, "f": None, "g": None, "h": "5"}


def test_documents_with_lines_and_merge_keys():
    docs = parse_documents("---\na: 1\n---\n# c\nbase: &b {x: 1, y: 2}\nm:\n  <<: *b\n  y: 3\n")
    assert docs == [(2, {"a": 1}), (5, {"base": {"x": 1, "y": 2}, "m": {"x": 1, "y": 3}})]


def test_duplicate_and_non_string_keys_are_errors():
    with pytest.raises(YamlError, match="already defined"):
        parse_documents("a: 1\na: 2\n")
    with pytest.raises(YamlError, match="string keys"):
        parse_documents("data:\n  1: x\n")


def test_unknown_tags_keep_their_value():
    (_, data), = parse_documents("a: !custom text\nb: !other [1, 2]\n")
    assert data == {"a": "text", "b": [1, 2]}


def test_repo_root_is_the_nearest_marker(tmp_path):
    (tmp_path / "repo" / "a" / "b").mkdir(parents=True)
    (tmp_path / "repo" / "mlgitops.yaml").write_text("x: 1\n")
    assert find_repo_root(str(tmp_path / "repo" / "a" / "b")) == str((tmp_path / "repo").resolve())
    (tmp_path / "repo" / "a" / ".git").mkdir()
    assert find_repo_root(str(tmp_path / "repo" / "a" / "b")) == str((tmp_path / "repo" / "a").resolve())


def _tree(root: pathlib.Path, files: dict[str, str]) -> pathlib.Path:
    return write(root, files, dedent=False)


def test_values_reach_the_output_as_kustomize_prints_them(tmp_path):
    root = _tree(tmp_path, {"k/kustomization.yaml": "resources:\n- cm.yaml\n",
                            "k/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n"
                                         "  annotations:\n    n: 1.10\n    d: 2026-11-02\n    e: \n"
                                         "data:\n  d: 2026-11-02\n  y: yes\n  f: 1.0\n"})
    (obj,) = render_objects(str(root / "k"))
    assert obj["metadata"]["annotations"] == {"n": "1.10", "d": "2026-11-02", "e": ""}
    assert obj["data"] == {"d": "2026-11-02T00:00:00Z", "y": "yes", "f": 1.0}
    assert '"n": "1.10"' in dump(obj, sort_keys=True)


def test_empty_annotations_disappear_and_labels_stay(tmp_path):
    root = _tree(tmp_path, {"k/kustomization.yaml": "resources:\n- cm.yaml\n",
                            "k/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n"
                                         "  annotations: {}\n  labels: {}\n"})
    assert render_yaml(str(root / "k")) == "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels: {}\n  name: c\n"


def test_kustomization_keys_match_case_insensitively_like_go_json(tmp_path):
    root = _tree(tmp_path, {"k/kustomization.yaml": "Resources:\n- cm.yaml\nNAMEPREFIX: p-\n",
                            "k/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n"})
    assert [o["metadata"]["name"] for o in render_objects(str(root / "k"))] == ["p-c"]


def test_each_file_is_parsed_once_per_render(tmp_path, monkeypatch):
    import mlgitops.kustomize.loader as loader

    root = _tree(tmp_path, {
        "base/kustomization.yaml": "resources:\n- cm.yaml\n",
        "base/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n",
        "a/kustomization.yaml": "namePrefix: a-\nresources:\n- ../base\n",
        "b/kustomization.yaml": "namePrefix: b-\nresources:\n- ../base\n",
        "top/kustomization.yaml": "resources:\n- ../a\n- ../b\n"})
    calls = []
    real = loader.parse_documents_ex
    monkeypatch.setattr(loader, "parse_documents_ex", lambda text: calls.append(text) or real(text))
    names = [o["metadata"]["name"] for o in render_objects(str(root / "top"))]
    assert names == ["a-c", "b-c"]
    assert len(calls) == 1
    render_objects(str(root / "top"))
    assert len(calls) == 2  # nothing is cached across renders


def test_rendered_objects_are_plain_data(tmp_path):
    import json

    import yaml

    root = _tree(tmp_path, {"k/kustomization.yaml": "resources:\n- cm.json\n",
                            "k/cm.json": '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c",'
                                         ' "annotations": {"d": "x"}}, "data": {"n": "1", "t": "2026-01-01"}}'})
    objs = render_objects(str(root / "k"))

    def types(value):
        if isinstance(value, dict):
            return {t for k, v in value.items() for t in {type(k)} | types(v)}
        if isinstance(value, list):
            return {t for v in value for t in types(v)}
        return {type(value)}

    assert types(objs) <= {str, int, float, bool, type(None)}
    assert yaml.safe_load(yaml.safe_dump(objs)) == json.loads(json.dumps(objs)) == objs
