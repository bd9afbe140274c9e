"""What `mlgitops init` asks for (repository URL, environments, their clusters) and the
mlgitops.yaml it makes of it."""

from __future__ import annotations

import dataclasses
import json
import re

from ..config import DNS1123

# The built-in policies' production rules match the environment label `prod` (policies/*.yaml).
PRODUCTION = "prod"
DEFAULT_ENVIRONMENTS = ("dev", "staging", PRODUCTION)
DEFAULT_SERVER = "https://kubernetes.default.svc"
DEFAULT_REPO_URL = "https://git.example.com/ml-platform/ml-models.git"
DEFAULT_NAMESPACE_PREFIX = "ml-"
DEFAULT_MODEL = "iris"
KSERVE_VERSION = "0.16"
KUBERNETES_VERSION = "1.36.0"


class SettingsError(ValueError):
    """A value `mlgitops init` cannot scaffold a working repository from."""


@dataclasses.dataclass(frozen=True)
class Environment:
    name: str
    namespace: str
    server: str


@dataclasses.dataclass(frozen=True)
class Settings:
    repo_url: str
    environments: tuple[Environment, ...]
    model: str = DEFAULT_MODEL

    @classmethod
    def make(cls, repo_url: str, environments: tuple[str, ...], servers: dict[str, str],
             namespace_prefix: str = DEFAULT_NAMESPACE_PREFIX, model: str = DEFAULT_MODEL) -> "Settings":
        """Settings from the options; SettingsError names what cannot work."""
        if not repo_url.strip():
            raise SettingsError("the repository URL is empty")
        if not environments:
            raise SettingsError("at least one environment is needed")
        for name in environments:
            if not re.match(DNS1123, name) or len(name) > 20:
                raise SettingsError(f"environment {name!r} is not a DNS label of at most 20 characters")
        if len(set(environments)) != len(environments):
            raise SettingsError("an environment is given twice")
        if environments[-1] != PRODUCTION:
            raise SettingsError(f"the last environment (production, in promotion order) must be named "
                                f"{PRODUCTION!r}: the built-in policies' production rules apply to it")
        unknown = sorted(set(servers) - set(environments))
        if unknown:
            raise SettingsError(f"--cluster names an unknown environment: {', '.join(unknown)}")
        envs = []
        for name in environments:
            namespace = f"{namespace_prefix}{name}"
            if not re.match(DNS1123, namespace) or len(namespace) > 63:
                raise SettingsError(f"namespace {namespace!r} (prefix + environment) is not a DNS label")
            server = servers.get(name, DEFAULT_SERVER)
            if not re.match(r"^https?://\S+$", server):
                raise SettingsError(f"the cluster of {name} must be an http(s) API server URL, not {server!r}")
            envs.append(Environment(name, namespace, server))
        if not re.match(DNS1123, model):
            raise SettingsError(f"model name {model!r} is not a DNS label")
        return cls(repo_url.strip(), tuple(envs), model)

    def config_yaml(self) -> str:
        """mlgitops.yaml: the minimal settings, commented (strings quoted as JSON, valid YAML)."""
        q = json.dumps
        lines = [
            "# Repository settings shared by every model (written by `mlgitops init`).",
            "apiVersion: mlgitops.dev/v1alpha1",
            "kind: Config",
            "kserve:",
            "  # The KServe release in the clusters: canonical field values differ between releases.",
            f"  version: {q(KSERVE_VERSION)}",
            "argocd:",
            "  namespace: argocd",
            "  project: ml-models",
            "  # This repository as Argo CD clones it.",
            f"  repoURL: {q(self.repo_url)}",
            "  targetRevision: main",
            "validation:",
            "  # The clusters' Kubernetes version: the core schemas and the policy checks follow it.",
            f"  kubernetesVersion: {q(KUBERNETES_VERSION)}",
            "  # Custom resources are validated against the CRD schemas vendored in schemas/: a kind",
            "  # without one is an error (add it with `mlgitops schemas import CRD.yaml` or `schemas pull`).",
            "  strictSchemas: true",
            "# In promotion order; the last one is production (it pages, gets NetworkPolicies by default",
            "# and the built-in policies' prod rules). Keep policies/params/namespace-environment.yaml in step.",
            "environments:",
        ]
        for env in self.environments:
            lines += [f"  {env.name}:", f"    namespace: {env.namespace}", f"    server: {q(env.server)}"]
        return "\n".join(lines) + "\n"
