"""The build keeps the parsed documents of the top kustomization's own files instead of copying
them (no other kustomization of the build can read those files): what it renders is what copies
give, render after render, and a file read twice still gives two independent objects."""

from __future__ import annotations

import pathlib

import pytest
from filetree import write

from mlgitops.kustomize import loader
from mlgitops.kustomize.engine import RenderError, render_objects, render_yaml
from mlgitops.kustomize.memo import copy_data

CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  labels: {a: b}\ndata: {k: v}\n"
LIST = ("apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: x}}\n"
        "- {apiVersion: v1, kind: Secret, metadata: {name: y}}\n")


def tree(root: pathlib.Path, files: dict[str, str]) -> pathlib.Path:
    return write(root, files, dedent=False)


@pytest.fixture
def copied(monkeypatch):
    """Render as if every reader copied the documents it reads."""
    real = loader.Loader.documents

    def documents(self, kust, entry_path, path):
        docs, pieces, _ = real(self, kust, entry_path, path)
        return [loader.Document(d.line, copy_data(d.data), dict(d.nulls), d.items, d.empty_nulls, d.finite)
                for d in docs], pieces, False
    return lambda: monkeypatch.setattr(loader.Loader, "documents", documents)


def test_renders_as_copies_do_again_and_again(tmp_path, copied):
    root = tree(tmp_path, {
        "top/kustomization.yaml": "resources:\n- cm.yaml\n- list.yaml\n- sub\ncomponents:\n- comp\n"
                                  "namePrefix: p-\nlabels:\n- pairs: {t: u}\n  includeSelectors: true\n",
        "top/cm.yaml": CM, "top/list.yaml": LIST,
        "top/sub/kustomization.yaml": "resources:\n- cm.yaml\nnameSuffix: -s\n", "top/sub/cm.yaml": CM,
        "top/comp/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n"
                                       "patches:\n- patch: |\n    kind: ConfigMap\n    metadata: {name: c}\n"
                                       "    data: {k: w}\n  target: {kind: ConfigMap, name: c}\n"})
    top = str(root / "top")
    rendered = [render_yaml(top) for _ in range(3)]  # first sight, second sight (memoised), memo hit
    assert rendered[0] == rendered[1] == rendered[2]
    copied()
    assert render_yaml(top) == rendered[0]
    assert [o["metadata"]["name"] for o in render_objects(top)] == ["p-c", "p-c-s", "p-x", "p-y"]


def test_a_file_listed_twice_is_two_objects_and_an_id_conflict(tmp_path):
    root = tree(tmp_path, {"top/kustomization.yaml": "resources:\n- cm.yaml\n- ./cm.yaml\n", "top/cm.yaml": CM})
    with pytest.raises(RenderError, match="may not add resource with an already registered id: v1 ConfigMap c"):
        render_objects(str(root / "top"))


def test_no_other_kustomization_reads_a_file_of_the_top_directory(tmp_path):
    """What lets the top's first reader keep the documents: a base or component below the top
    may not load the top's files (kustomize's LoadRestrictionsRootOnly), and none can be above it."""
    root = tree(tmp_path, {"top/kustomization.yaml": "resources:\n- cm.yaml\n- sub\n", "top/cm.yaml": CM,
                           "top/sub/kustomization.yaml": "resources:\n- ../cm.yaml\nnamePrefix: s-\n"})
    with pytest.raises(RenderError, match="LoadRestrictionsRootOnly"):
        render_objects(str(root / "top"))
