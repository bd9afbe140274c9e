"""The kubeconform wrapper against the real binary: discovery, version gate, result mapping, order, flags."""

from __future__ import annotations

import json
import pathlib
import re
import stat
import subprocess

import pytest

from mlgitops.kustomize.engine import render_objects
from mlgitops.validate.kubeconform import (INSTALL_HINT, MIN_VERSION, KubeconformError, compare,
                                           find_kubeconform, kubeconform_version, run_kubeconform)
from mlgitops.validate.results import ERRORED, INVALID, SKIPPED, VALID, Document, Finding, ObjectResult
from objpath import mutated
from tooling import REPO_ROOT, require_shared, require_tool

CATALOG = "{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json"


@pytest.fixture
def binary() -> str:
    return require_tool("kubeconform", INSTALL_HINT)


@pytest.fixture
def catalog() -> list[str]:
    return [str(require_shared("schemas")) + "/" + CATALOG]


@pytest.fixture(scope="module")
def isvc() -> dict:
    objs = render_objects(str(REPO_ROOT / "overlays" / "prod" / "iris"), repo_root=str(REPO_ROOT))
    return next(o for o in objs if o["kind"] == "InferenceService")


def _script(tmp_path: pathlib.Path, text: str) -> str:
    path = tmp_path / "kubeconform"
    path.write_text("#!/bin/sh\n" + text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


# --- discovery and the version gate ---------------------------------------------------------------

def test_missing_binary_names_the_install_command(tmp_path, catalog):
    missing = str(tmp_path / "no" / "kubeconform")
    with pytest.raises(KubeconformError) as caught:
        find_kubeconform(missing)
    assert missing in str(caught.value) and INSTALL_HINT in str(caught.value)
    with pytest.raises(KubeconformError, match=re.escape(INSTALL_HINT)):
        run_kubeconform([Document({"kind": "X"}, "x.yaml")], catalog, binary=missing)


def test_environment_variable_is_used_and_checked(binary, tmp_path, monkeypatch):
    monkeypatch.setenv("MLGITOPS_KUBECONFORM", binary)
    assert find_kubeconform() == binary
    monkeypatch.setenv("MLGITOPS_KUBECONFORM", str(tmp_path / "absent"))
    with pytest.raises(KubeconformError, match=r"\$MLGITOPS_KUBECONFORM"):
        find_kubeconform()
    assert find_kubeconform(binary) == binary  # an explicit path wins over the variable


def test_real_binary_version_is_what_it_prints(binary):
    printed = subprocess.run([binary, "-v"], capture_output=True, text=True, check=True).stdout.strip()
    version = kubeconform_version(binary)
    assert printed.lstrip("v") == ".".join(map(str, version))
    assert version >= MIN_VERSION


def test_too_old_binary_is_refused_with_the_install_command(tmp_path, catalog):
    old = _script(tmp_path, 'echo "v0.5.0"\n')
    assert kubeconform_version(old) == (0, 5, 0)
    with pytest.raises(KubeconformError) as caught:
        run_kubeconform([Document({"kind": "X"}, "x.yaml")], catalog, binary=old)
    assert "0.5.0" in str(caught.value) and INSTALL_HINT in str(caught.value)


def test_unreadable_version_is_an_error(tmp_path):
    with pytest.raises(KubeconformError, match="cannot read the version"):
        kubeconform_version(_script(tmp_path, 'echo "(devel)"\n'))


def test_kubeconform_network_default_is_never_used(binary):
    doc = Document({"apiVersion": "v1", "kind": "Service"}, "s.yaml")
    for locations in ([], ["default"]):
        with pytest.raises(ValueError, match="concrete schema locations"):
            run_kubeconform([doc], locations, binary=binary)


def test_failing_start_is_an_error_not_a_traceback(binary):
    with pytest.raises(KubeconformError) as caught:
        run_kubeconform([Document({"kind": "X", "apiVersion": "v1"}, "x.yaml")],
                        ["/nowhere/{{ .NoSuchVariable }}.json"], binary=binary)
    assert "without a JSON report" in str(caught.value) and "NoSuchVariable" in str(caught.value)


# --- result mapping -----------------------------------------------------------------------------

def test_findings_map_to_tuple_paths_with_list_indexes_and_escapes(binary, catalog, isvc):
    bad_port = mutated(isvc, ("spec", "predictor", "model", "ports", 0, "containerPort"), "http")
    gpu = mutated(isvc, ("spec", "predictor", "model", "resources", "limits", "nvidia.com/gpu"), "lots")
    # two bad values under one object: kubeconform groups them as "validation failed" at nodeSelector
    tilde = mutated(isvc, ("spec", "predictor", "nodeSelector"), {"a~1b": 5, "x/y": 6, "ok": "yes"})
    results = run_kubeconform([Document(d, f"{i}.yaml") for i, d in enumerate((bad_port, gpu, tilde))],
                              catalog, binary=binary)
    assert [r.status for r in results] == [INVALID, INVALID, INVALID]
    paths = [{f.path for f in r.findings} for r in results]
    assert ("spec", "predictor", "model", "ports", 0, "containerPort") in paths[0]
    assert ("spec", "predictor", "model", "resources", "limits", "nvidia.com/gpu") in paths[1]
    assert paths[2] == {("spec", "predictor", "nodeSelector", "a~1b"), ("spec", "predictor", "nodeSelector", "x/y")}
    assert all(f.rule == "schema" and f.message for r in results for f in r.findings)


def test_order_is_preserved_and_each_result_is_its_document(binary, catalog, isvc):
    # 23 documents: more than 10 so a lexical sort of unpadded names would misplace them
    docs = []
    for i in range(23):
        obj = mutated(isvc, ("spec", "predictor", "minReplicas"), f"{i}x" if i % 3 == 1 else i)
        docs.append(Document(obj, f"doc{i}.yaml", index=i))
    results = run_kubeconform(docs, catalog, binary=binary)
    assert [r.doc for r in results] == docs
    assert all(r.doc is d for r, d in zip(results, docs))
    assert [r.status for r in results] == [INVALID if i % 3 == 1 else VALID for i in range(23)]
    for result in results:
        if result.status == INVALID:
            assert ("spec", "predictor", "minReplicas") in {f.path for f in result.findings}


def test_missing_schema_no_kind_non_object_and_empty(binary, catalog, isvc):
    no_kind = {k: v for k, v in isvc.items() if k != "kind"}
    docs = [Document(mutated(isvc, ("kind",), "InferenceServiceTypo"), "a.yaml"),
            Document({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}}, "b.yaml"),
            Document(no_kind, "c.yaml"), Document([isvc], "d.yaml"), Document(None, "e.yaml")]
    a, b, c, d, e = run_kubeconform(docs, catalog, binary=binary)
    assert (a.status, a.schema, a.reason) == (SKIPPED, None, "no schema found for InferenceServiceTypo "
                                              "serving.kserve.io/v1beta1")
    assert (b.status, b.reason) == (SKIPPED, "no schema found for Service v1")
    assert c.status == ERRORED and [f.rule for f in c.findings] == ["input.no-kind"]
    assert d.status == ERRORED and d.findings[0].rule == "kubeconform.error" and d.reason
    assert (e.status, e.reason) == (SKIPPED, "empty document")


def _toy_schemas(root: pathlib.Path) -> str:
    """Permissive and -strict variants of a schema for kind Toy, under v1.30.0 only."""
    base = {"type": "object", "properties": {"kind": {"type": "string"}, "apiVersion": {"type": "string"},
                                             "size": {"type": "integer"}}}
    directory = root / "v1.30.0"
    directory.mkdir(parents=True)
    (directory / "toy_v1.json").write_text(json.dumps(base))
    (directory / "toy_v1-strict.json").write_text(json.dumps(dict(base, additionalProperties=False)))
    return str(root) + "/{{ .NormalizedKubernetesVersion }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}" \
                       "{{ .StrictSuffix }}.json"


def test_strict_and_kubernetes_version_reach_kubeconform(binary, tmp_path):
    location = [_toy_schemas(tmp_path / "schemas")]
    doc = Document({"apiVersion": "toys.example.com/v1", "kind": "Toy", "size": 1, "colour": "red"}, "t.yaml")
    strict = run_kubeconform([doc], location, binary=binary, kubernetes_version="1.30.0")[0]
    assert strict.status == INVALID and strict.findings[0].path == ()
    assert "colour" in strict.findings[0].message
    lax = run_kubeconform([doc], location, binary=binary, kubernetes_version="1.30.0", strict=False)[0]
    assert lax.status == VALID
    other = run_kubeconform([doc], location, binary=binary, kubernetes_version="1.33.0")[0]
    assert other.status == SKIPPED


def test_cache_directory_is_created(binary, tmp_path, catalog, isvc):
    cache = tmp_path / "deep" / "cache"
    result = run_kubeconform([Document(isvc, "i.yaml")], catalog, binary=binary, cache_dir=str(cache))[0]
    assert result.status == VALID and cache.is_dir()


def test_yaml_timestamps_are_written_as_their_text(binary, tmp_path):
    import datetime

    location = [_toy_schemas(tmp_path / "schemas")]
    doc = Document({"apiVersion": "toys.example.com/v1", "kind": "Toy", "size": datetime.date(2024, 1, 2)}, "t.yaml")
    result = run_kubeconform([doc], location, binary=binary, kubernetes_version="1.30.0")[0]
    assert result.status == INVALID and result.findings[0].path == ("size",)
    assert "string" in result.findings[0].message  # it reached kubeconform as the string 2024-01-02
    assert doc.obj["size"] == datetime.date(2024, 1, 2)


# --- compare ------------------------------------------------------------------------------------

def test_compare_reports_only_differing_verdicts_with_both_messages():
    docs = [Document({"kind": "A"}, "a.yaml"), Document({"kind": "B"}, "b.yaml"), Document({"kind": "C"}, "c.yaml")]
    builtin = [ObjectResult(docs[0], VALID),
               ObjectResult(docs[1], INVALID, [Finding(("spec", "x", 0), "1 is not of type 'string'")]),
               ObjectResult(docs[2], SKIPPED, reason="no schema found for C ")]
    other = [ObjectResult(docs[0], VALID),
             ObjectResult(docs[1], VALID),
             ObjectResult(docs[2], INVALID, [Finding((), "missing property 'spec'")])]
    found = compare(builtin, other)
    assert [doc for doc, _ in found] == [docs[1], docs[2]]
    first, second = (finding for _, finding in found)
    assert first.rule == second.rule == "engine.disagree"
    assert "built-in engine says invalid" in first.message and "kubeconform says valid" in first.message
    assert "spec.x[0]: 1 is not of type 'string'" in first.message
    assert "no schema found for C" in second.message and "missing property 'spec'" in second.message
    assert compare(builtin, builtin) == []
