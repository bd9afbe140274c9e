"""One overlay directory: overlays/<env>/<model>/: kustomization.yaml, model.yaml, monitoring.yaml.

The kustomization labels every object of the overlay: model name, environment, team, the model's
own labels, and a waiver label per policy the model waives in the environment (expand/waivers.py).
"""

from __future__ import annotations

from typing import Iterator

from .. import layout
from ..config import Config
from ..spec.model import ModelEnv
from .base import COMPONENTS_DIR, components_for
from .generator import MODEL_FILE, MONITORING_FILE, Generator
from .registry import GENERATORS
from .waivers import waiver_labels


def overlay_dir(me: ModelEnv) -> str:
    return layout.overlay_dir(me.env.name, me.name, me.cluster.name if me.cluster is not None else "")


def alias_kustomization(me: ModelEnv) -> dict:
    """The overlay of a cluster whose overrides do not change this model: the environment's own
    overlay, by reference (overlays/<env>@<cluster>/<model> -> ../../<env>/<model>)."""
    return {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [f"../../{me.env.name}/{me.name}"],
    }


def generated(me: ModelEnv, config: Config) -> list[tuple[Generator, dict]]:
    """(generator, object) of every object of the overlay, in registry order."""
    return list(iter_generated(me, config))


def iter_generated(me: ModelEnv, config: Config, files: tuple[str, ...] | None = None
                   ) -> Iterator[tuple[Generator, dict]]:
    """generated(), one generator at a time (of the overlay's resource `files` only, when given):
    a caller that needs the first objects of a file runs only the generators before them."""
    model = me.model
    for g in GENERATORS:
        if (files is None or g.file in files) and g.applies(model):
            for obj in g.build(me, config):
                yield g, obj


def overlay_files(me: ModelEnv, config: Config, generators: dict[str, list[Generator]] | None = None
                  ) -> dict[str, object]:
    """{file name: list of objects}: the serving objects, the monitoring objects, the kustomization;
    with `generators`, the generator of each object of each resource file goes there, in order.

    Two resource files per overlay rather than one per object: writing and reading files
    dominates a 1,000-model build on small machines (bench/README.md), and a pull request diff
    reads the same either way. Monitoring is separate so SRE owners can be set with CODEOWNERS.
    """
    model = me.model
    resources: dict[str, list[dict]] = {MODEL_FILE: [], MONITORING_FILE: []}
    for generator, obj in generated(me, config):
        resources[generator.file].append(obj)
        if generators is not None:
            generators.setdefault(generator.file, []).append(generator)
    labels = {"app.kubernetes.io/name": model.name, "mlgitops.dev/environment": model.environment,
              "mlgitops.dev/team": model.team}
    labels.update(model.labels)
    # The model's policy waivers in this environment, so the clusters' admission policies skip
    # what the model waives (expand/waivers.py; policies/README.md, Waivers).
    labels.update(waiver_labels(me.settings.get("policyExceptions"), me.env.name))
    files: dict[str, object] = dict(resources)
    files["kustomization.yaml"] = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": model.namespace,
        "labels": [{"pairs": dict(sorted(labels.items()))}],
        "resources": list(resources),
        "components": [f"../../../{COMPONENTS_DIR}/{c}" for c in components_for(model.mode, config)],
    }
    return files
