"""base/: Kustomize components shared by every overlay, generated from mlgitops.yaml.

What is the same for every model lives here, so changing it (for example the KServe version)
changes every rendered model through one file:
- common: the managed-by label and name-reference rules so kustomize understands Argo
  Rollouts and Istio references (namePrefix/nameSuffix keep HPA, analysis and Service refs);
- kserve-standard: KServe deployment mode, autoscaler class and zero predictor replicas,
  and the Rollout defaults that go with them (single replica writer, docs/design.md);
- kserve-serverless: the Knative deployment mode;
- monitoring: the labels the Prometheus CR selects rules and monitors by.
"""

from __future__ import annotations

from ..config import Config
from .registry import name_references

COMPONENTS_DIR = "base/components"
COMPONENT_HEADER = {"apiVersion": "kustomize.config.k8s.io/v1alpha1", "kind": "Component"}

# The order of the name references before the generators declared them (expand/registry.py):
# kept so base/ stays as it was; a kind not listed follows in registry order.
_REFERENCE_ORDER = ("AnalysisTemplate", "Rollout", "Deployment", "Service", "VirtualService", "ServiceAccount")


def name_reference_config() -> dict:
    """kustomizeconfig.yaml of the common component: kustomize's built-in name references know
    Deployments and Services, not the kinds the generators reference (each declares its own)."""
    rank = {kind: i for i, kind in enumerate(_REFERENCE_ORDER)}
    return {"nameReference": sorted(name_references(), key=lambda ref: rank.get(ref["kind"], len(rank)))}


def standard_modes(config: Config) -> tuple[str, str]:
    """(KServe autoscaler class, Rollout workloadRef.scaleDown) for Standard mode.

    KServe >= 0.16: `none` pins the template-holder Deployment at minReplicas (0) and KServe
    reverts any other value, so the Rollout never touches it (`never`). 0.14-0.15: `external`
    stops KServe's own HPA and leaves replicas alone after creation; the Rollout scales the
    Deployment down once it is healthy (`onsuccess`).
    """
    if config.kserve_version >= (0, 16):
        return "none", "never"
    return "external", "onsuccess"


def base_files(config: Config) -> dict[str, object]:
    autoscaler_class, scale_down = standard_modes(config)
    files: dict[str, object] = {}
    files[f"{COMPONENTS_DIR}/common/kustomization.yaml"] = {
        **COMPONENT_HEADER,
        "labels": [{"pairs": {"app.kubernetes.io/managed-by": "mlgitops", "app.kubernetes.io/part-of": "mlgitops"}}],
        "configurations": ["kustomizeconfig.yaml"],
    }
    files[f"{COMPONENTS_DIR}/common/kustomizeconfig.yaml"] = name_reference_config()
    files[f"{COMPONENTS_DIR}/kserve-standard/kustomization.yaml"] = {
        **COMPONENT_HEADER,
        "patches": [
            {"path": "inferenceservice.yaml", "target": {"group": "serving.kserve.io", "kind": "InferenceService"}},
            {"path": "rollout.yaml", "target": {"group": "argoproj.io", "kind": "Rollout"}},
        ],
    }
    files[f"{COMPONENTS_DIR}/kserve-standard/inferenceservice.yaml"] = {
        "apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
        "metadata": {"name": "any", "annotations": {
            "serving.kserve.io/autoscalerClass": autoscaler_class,
            "serving.kserve.io/deploymentMode": config.deployment_mode_standard,
        }},
        "spec": {"predictor": {"minReplicas": 0}},
    }
    files[f"{COMPONENTS_DIR}/kserve-standard/rollout.yaml"] = {
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
        "metadata": {"name": "any"},
        "spec": {
            "revisionHistoryLimit": 3,
            "rollbackWindow": {"revisions": 2},
            "progressDeadlineAbort": True,
            "workloadRef": {"scaleDown": scale_down},
        },
    }
    files[f"{COMPONENTS_DIR}/kserve-serverless/kustomization.yaml"] = {
        **COMPONENT_HEADER,
        "patches": [{"path": "inferenceservice.yaml",
                     "target": {"group": "serving.kserve.io", "kind": "InferenceService"}}],
    }
    files[f"{COMPONENTS_DIR}/kserve-serverless/inferenceservice.yaml"] = {
        "apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
        "metadata": {"name": "any", "annotations": {
            "serving.kserve.io/deploymentMode": config.deployment_mode_serverless}},
    }
    if config.rule_labels:
        patches = []
        for kind in ("PodMonitor", "PrometheusRule", "ServiceMonitor"):
            name = f"{kind.lower()}.yaml"
            patches.append({"path": name, "target": {"group": "monitoring.coreos.com", "kind": kind}})
            files[f"{COMPONENTS_DIR}/monitoring/{name}"] = {
                "apiVersion": "monitoring.coreos.com/v1", "kind": kind,
                "metadata": {"name": "any", "labels": dict(sorted(config.rule_labels.items()))},
            }
        files[f"{COMPONENTS_DIR}/monitoring/kustomization.yaml"] = {**COMPONENT_HEADER, "patches": patches}
    return files


def components_for(mode: str, config: Config) -> list[str]:
    names = ["common", "kserve-standard" if mode == "standard" else "kserve-serverless"]
    if config.rule_labels:
        names.append("monitoring")
    return names
