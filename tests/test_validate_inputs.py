"""What `mlgitops validate` reads: files, directories, overlays, stdin, and hostile input.

Every bad input is a diagnostic with file, line and rule, never a hang or a traceback; one
broken document does not hide the others.
"""

from __future__ import annotations

import io
import pathlib
import time

import pytest

from mlgitops.diagnostics import Diagnostics
from mlgitops.validate.documents import (MAX_EXPANDED_NODES, collect, default_paths, expanded_size,
                                         parse_stream, split_documents)
from tooling import REPO_ROOT

DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: nginx:1.27}]
"""


def _parse(text: str, strict: bool = True):
    diags = Diagnostics()
    docs = parse_stream(text, "in.yaml", diags, strict=strict)
    return docs, [d.format() for d in diags.sorted()]


def test_split_keeps_line_offsets_and_drops_empty_documents():
    text = "# c\n---\na: 1\n--- # two\nb: 2\n...\n---\n"
    chunks = split_documents(text)
    assert [(off, chunk.split("\n")[0]) for off, chunk in chunks if chunk.strip("-.\n# ctwo")] == \
        [(1, "---"), (3, "--- # two")]
    # a block scalar line starting with --- is indented, so it never splits
    assert len(split_documents("a: |\n  ---\n  x\n")) == 1


def test_each_document_gets_its_start_line():
    docs, problems = _parse("# header\n" + DEPLOYMENT + "---\n\n" + DEPLOYMENT.replace("web", "api"))
    assert problems == []
    assert [(d.name, d.line, d.index) for d in docs] == [("web", 2, 0), ("api", 14, 1)]


def test_malformed_document_is_reported_and_the_others_still_load():
    text = DEPLOYMENT + "---\nkind: [unclosed\n---\n" + DEPLOYMENT.replace("web", "api")
    docs, problems = _parse(text)
    assert [d.name for d in docs] == ["web", "api"]
    assert len(problems) == 1
    assert problems[0].startswith("in.yaml:13:") and "[yaml.syntax]" in problems[0]
    assert "(document 2)" in problems[0]


@pytest.mark.parametrize("text, rule, message", [
    ("- apiVersion: v1\n  kind: ConfigMap\n", "input.not-object", "document 1 is a list, not a Kubernetes object"),
    ("just a string\n", "input.not-object", "document 1 is a str value"),
])
def test_documents_that_are_not_objects(text, rule, message):
    docs, problems = _parse(text)
    assert docs == []
    assert problems == [f"in.yaml:1:1: error: {message}" + problems[0].split(message, 1)[1]]
    assert problems[0].endswith(f"[{rule}]")


def test_duplicate_keys_are_errors_when_strict_and_warnings_otherwise():
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  name: b\n"
    docs, problems = _parse(text)
    assert len(docs) == 1 and docs[0].name == "b"
    assert problems == ["in.yaml:5:3: error: duplicate key 'name': the API server keeps only the last one "
                        "[yaml.duplicate-key]"]
    _, problems = _parse(text, strict=False)
    assert problems[0].split(": ")[1] == "warning"


def test_list_kind_is_its_items():
    text = ("apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: a}\n"
            "- apiVersion: v1\n  kind: Secret\n  metadata: {name: b}\n")
    docs, problems = _parse(text)
    assert problems == [] and [(d.kind, d.name) for d in docs] == [("ConfigMap", "a"), ("Secret", "b")]


def test_mlgitops_own_files_are_not_kubernetes_objects():
    docs, problems = _parse((REPO_ROOT / "models" / "iris.yaml").read_text())
    assert docs == [] and problems == []


def _alias_bomb(levels: int) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        refs = ", ".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{refs}]")
    return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb}\ndata:\n" + \
        "".join(f"  {line}\n" for line in lines)


def test_alias_bomb_is_refused_quickly():
    started = time.perf_counter()
    docs, problems = _parse(_alias_bomb(9))  # 10**9 leaves once expanded
    elapsed = time.perf_counter() - started
    assert docs == []
    assert problems == [f"in.yaml:10:47: error: document 1: YAML aliases expand to more than {MAX_EXPANDED_NODES:,} "
                        "nodes; refusing it (Kubernetes refuses excessive aliasing too) [input.alias-bomb]"]
    assert elapsed < 5, "the size check must not expand the aliases"


def test_modest_aliases_are_fine():
    docs, problems = _parse(_alias_bomb(3))  # 1,000 leaves
    assert problems == [] and len(docs) == 1
    assert expanded_size(docs[0].obj, 10**6) > 1000


def test_deep_nesting_is_an_error_not_a_crash():
    docs, problems = _parse("apiVersion: v1\nkind: ConfigMap\ndata: " + "[" * 5000 + "]" * 5000 + "\n")
    assert docs == []
    assert len(problems) == 1 and problems[0].endswith("[input.too-deep]")


def test_fifty_megabyte_file_is_refused_without_reading_it(tmp_path: pathlib.Path):
    big = tmp_path / "big.yaml"
    with open(big, "wb") as fh:
        fh.write(DEPLOYMENT.encode())
        fh.truncate(50 * 2**20)
    started = time.perf_counter()
    inputs = collect([str(big)], str(tmp_path))
    assert time.perf_counter() - started < 2
    assert inputs.documents == []
    [problem] = [d.format() for d in inputs.diagnostics]
    assert problem == ("big.yaml: error: file is 50.0 MiB, over the 32 MiB limit (no Kubernetes object is this "
                       "large; raise --max-file-size if this is intended) [input.too-large]")


def test_non_utf8_file_names_the_byte(tmp_path: pathlib.Path):
    (tmp_path / "latin.yaml").write_bytes(b"apiVersion: v1\nkind: ConfigMap\ndata: {a: caf\xe9}\n")
    inputs = collect([str(tmp_path / "latin.yaml")], str(tmp_path))
    [problem] = [d.format() for d in inputs.diagnostics]
    assert problem.startswith("latin.yaml:3:") and problem.endswith("[input.encoding]")


def test_stdin_and_missing_path(tmp_path: pathlib.Path):
    inputs = collect(["-", str(tmp_path / "nope.yaml")], str(tmp_path), stdin=io.BytesIO(DEPLOYMENT.encode()))
    assert [(d.file, d.kind) for d in inputs.documents] == [("<stdin>", "Deployment")]
    assert [d.format() for d in inputs.diagnostics] == ["nope.yaml: error: no such file or directory [input.not-found]"]


def test_directories_render_kustomizations_and_skip_components():
    inputs = collect(default_paths(str(REPO_ROOT)), str(REPO_ROOT))
    assert len(inputs.diagnostics) == 0
    overlays = sorted({d.overlay for d in inputs.documents if d.overlay})
    expected = sorted(p.parent.relative_to(REPO_ROOT).as_posix()
                      for p in (REPO_ROOT / "overlays").glob("*/*/kustomization.yaml"))
    assert overlays == expected and inputs.overlays == len(expected)
    iris = [d for d in inputs.documents if d.overlay == "overlays/prod/iris"]
    assert {d.env for d in iris} == {"prod"}
    assert {d.origin for d in iris} <= {"overlays/prod/iris/model.yaml", "overlays/prod/iris/monitoring.yaml"}
    # argocd/ holds plain files (no kustomization): read as files, with their own lines
    argo = [d for d in inputs.documents if d.overlay is None]
    assert argo and all(d.file.startswith("argocd/") and d.line >= 1 for d in argo)
    # a component given explicitly is refused with a reason; walked into, it is skipped
    component = collect([str(REPO_ROOT / "base" / "components" / "common")], str(REPO_ROOT))
    assert [d.rule for d in component.diagnostics] == ["input.component"]
    walked = collect([str(REPO_ROOT / "base")], str(REPO_ROOT))
    assert walked.documents == [] and len(walked.diagnostics) == 0
