"""The engine's per-process memos (kustomize/memo.py): shared components are decoded once, but
an edited file is read again, and no render changes what later renders get."""

from __future__ import annotations

import copy
import os
import pathlib

from mlgitops.kustomize import loader
from mlgitops.kustomize.engine import render_yaml

COMPONENT = """\
apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
labels:
- pairs: {team: a}
configurations:
- config.yaml
patches:
- path: patch.yaml
  target: {kind: ConfigMap}
"""

CONFIG = """\
nameReference:
- kind: Secret
  version: v1
  fieldSpecs:
  - {kind: ConfigMap, path: data/secret}
"""

PATCH = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: any, labels: {patched: "one"}}
data: {extra: [1, 2]}
"""


def overlay(root: pathlib.Path, name: str) -> pathlib.Path:
    directory = root / "overlays" / name
    directory.mkdir(parents=True)
    (directory / "kustomization.yaml").write_text(
        f"resources: [cm.yaml, secret.yaml]\nnamePrefix: {name}-\ncomponents: [../../base]\n")
    (directory / "cm.yaml").write_text(
        f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}}}\ndata: {{secret: s}}\n")
    (directory / "secret.yaml").write_text("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n")
    return directory


def repo(tmp_path: pathlib.Path) -> pathlib.Path:
    root = tmp_path / "repo"
    (root / "base").mkdir(parents=True)
    (root / "mlgitops.yaml").write_text("x: 1\n")
    (root / "base" / "kustomization.yaml").write_text(COMPONENT)
    (root / "base" / "config.yaml").write_text(CONFIG)
    (root / "base" / "patch.yaml").write_text(PATCH)
    return root


def touch_same_size(path: pathlib.Path, old: str, new: str) -> None:
    """Edit a file keeping its size and modification time: only its text tells the change."""
    stat = path.stat()
    text = path.read_text()
    assert len(old) == len(new) and old in text
    path.write_text(text.replace(old, new))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_shared_files_edited_between_renders_are_read_again(tmp_path):
    root = repo(tmp_path)
    one, two = overlay(root, "one"), overlay(root, "two")
    first = render_yaml(str(one), repo_root=str(root))
    assert "team: a" in first and "patched: one" in first and "name: one-s\n" in first
    render_yaml(str(two), repo_root=str(root))  # the component's files are memoised from now on
    base = root / "base"
    touch_same_size(base / "kustomization.yaml", "team: a", "team: b")
    touch_same_size(base / "patch.yaml", '"one"', '"two"')
    touch_same_size(base / "config.yaml", "data/secret", "data/secreT")
    again = render_yaml(str(one), repo_root=str(root))
    assert "team: b" in again and "patched: two" in again and "team: a" not in again
    assert "secret: s\n" in again  # data/secret is no name reference any more: not renamed
    assert "secret: one-s" in first


def test_a_render_does_not_change_what_the_memos_hold(tmp_path):
    root = repo(tmp_path)
    one, two = overlay(root, "one"), overlay(root, "two")
    render_yaml(str(one), repo_root=str(root))
    render_yaml(str(one), repo_root=str(root))  # second sight: parsed documents memoised too
    kust = next(v for k, (v, _) in loader._KUSTOMIZATIONS._items.items() if k[0].endswith(os.sep + "base"))
    kust_data = copy.deepcopy(kust.data)
    parsed = copy.deepcopy({t: d for t, (d, _) in loader._PARSED._items.items()})
    expected_two = render_yaml(str(two), repo_root=str(root))
    for _ in range(3):
        assert render_yaml(str(one), repo_root=str(root)).count("team: a") == 2
        assert render_yaml(str(two), repo_root=str(root)) == expected_two
    assert kust.data == kust_data
    assert {t: d for t, (d, _) in loader._PARSED._items.items() if t in parsed} == parsed
