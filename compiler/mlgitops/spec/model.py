"""Model files: load with positions, check against the schema, resolve per environment.

A `ModelEnv` is one model in one environment: defaults, then `spec`, then
`spec.environments.<env>` merged on top (maps merge, lists and scalars replace). It keeps the
source document so every later finding can point at the line that produced a value.

A model file that failed the schema is still loaded (`load_model_file`), pruned to the parts that
passed (spec/invalid.py), so the semantic rules report what they find there in the same run; it
is never expanded (`read_model_file`, for every other reader, refuses it).
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import os
from typing import Any

from .. import contain
from ..config import Cluster, Config, Environment
from ..diagnostics import ERROR, Diagnostics, Rule
from ..domain.frameworks import default_protocol
from ..schemacheck import SchemaChecker
from ..yamlsource import SourceDocument, load_yaml
from .invalid import Invalid, InvalidValue, Pruner, refusing
from .resolved import Model, Section, Sections

MODELS_DIR = "models"

DEFAULTS: dict = {
    "mode": "standard",
    "autoscaling": {
        "minReplicas": 1,
        "maxReplicas": 3,
        "cpuUtilization": 80,
        # Explicit behaviour: the API defaults are documented inconsistently (targets.md s.4).
        "scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
                    "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15},
                                 {"type": "Pods", "value": 4, "periodSeconds": 15}]},
        "scaleDown": {"stabilizationWindowSeconds": 300, "selectPolicy": "Max",
                      "policies": [{"type": "Percent", "value": 50, "periodSeconds": 60}]},
    },
    "canary": {
        "enabled": True,
        "trafficRouting": "none",
        "steps": [{"weight": 25, "pause": "2m"}, {"weight": 50, "pause": "2m"}, {"weight": 75, "pause": "2m"}],
        "analysis": {"enabled": True, "interval": "1m", "initialDelay": "1m", "failureLimit": 1,
                     "inconclusiveLimit": 2, "startingStep": 1, "minRequests": 30},
        "progressDeadlineSeconds": 600,
        "abortScaleDownDelaySeconds": 30,
    },
    "scheduling": {"zoneSpread": True},
    "podDisruptionBudget": {"maxUnavailable": 1},
}
DEFAULT_RESOURCES = {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}}


def defaults(sections: Sections, env: Environment | None = None) -> dict:
    """DEFAULTS and the defaults of the generator-owned `sections` (spec/resolved.py Section),
    with those that depend on the environment `env` (Section.environment_defaults) when given."""
    def of(section: Section[Any]) -> dict:
        by_env = section.environment_defaults
        return {**section.defaults, **(by_env(env) if by_env is not None and env is not None else {})}

    return {**DEFAULTS, **{section.key: of(section) for section in sections}}


def deep_merge(base: Any, override: Any) -> Any:
    """Maps merge key by key; lists and scalars in `override` replace. A map merged over an
    `Invalid` one (spec/invalid.py) stays invalid: what the rest of it would be is unknown."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = deep_merge(base[key], value) if key in base else copy.deepcopy(value)
        return merged
    if isinstance(override, dict) and isinstance(base, Invalid):
        return base
    return copy.deepcopy(override)


@dataclasses.dataclass
class ModelFile:
    path: str  # display path, e.g. models/iris.yaml
    doc: SourceDocument
    text: bytes
    partial: bool = False  # failed the schema: doc.data is pruned to what passed (spec/invalid.py)

    @property
    def name(self) -> str:
        return self.doc.data["metadata"]["name"]

    @property
    def label(self) -> str:
        """The model's name; the file's for a partial file whose metadata.name failed the schema."""
        name = refusing(lambda: self.name)
        return self.stem if isinstance(name, Invalid) else name

    @property
    def stem(self) -> str:
        return os.path.splitext(os.path.basename(self.path))[0]


@dataclasses.dataclass
class ModelEnv:
    """One model resolved for one environment."""

    file: ModelFile
    env: Environment
    settings: dict
    sections: Sections = ()  # the generator-owned sections the settings were resolved with
    cluster: Cluster | None = None  # a cluster of the environment whose overrides these settings carry

    @property
    def name(self) -> str:
        return self.file.name

    @property
    def metadata(self) -> dict:
        return self.file.doc.data["metadata"]

    @functools.cached_property
    def model(self) -> Model:
        """The typed model (spec/resolved.py): what generators and rules read."""
        return Model.of(self.settings, self.metadata, self.env.name, self.env.namespace, self.sections)

    def source_path(self, path: tuple) -> tuple:
        """The document path that produced settings[path]: the env override if it sets it."""
        doc = self.file.doc
        override = ("spec", "environments", self.env.name)
        for cut in range(len(path), -1, -1):
            prefix = tuple(path[:cut])
            if doc.has(override + prefix) and cut > 0:
                return override + prefix
            if doc.has(("spec",) + prefix):
                return ("spec",) + prefix
        return ("spec",)

    def position(self, path: tuple) -> tuple[int, int]:
        return self.file.doc.position(self.source_path(path))

    def blame(self, *paths: tuple) -> tuple:
        """Of several settings that conflict, the one an environment override set (else the first)."""
        for path in paths:
            if self.from_override(path):
                return path
        return paths[0]

    def from_override(self, path: tuple) -> bool:
        return self.source_path(path)[:2] == ("spec", "environments")


# The rules of the model file's JSON Schema (the schema checker reports them; catalogue.py lists them).
SCHEMA = Rule("spec.schema", ERROR, "A model value has the wrong type or is out of range (the JSON Schema), or a "
              "waiver's expiry is not a date.")
UNKNOWN_FIELD = Rule("spec.unknown-field", ERROR, "A model has a field mlgitops does not know (with a suggestion).")
SCHEMA_RULES = (SCHEMA, UNKNOWN_FIELD)


_CHECKERS: dict[tuple[str, ...], SchemaChecker] = {}
_PRUNERS: dict[tuple[str, ...], Pruner] = {}


def model_checker(sections: Sections) -> SchemaChecker:
    """The schema checker of model files with these generator-owned sections (built once)."""
    key = tuple(section.key for section in sections)
    if key not in _CHECKERS:
        from .schema import model_schema  # only a build that reads a model file needs it

        _CHECKERS[key] = SchemaChecker(model_schema(sections), SCHEMA.id, UNKNOWN_FIELD.id)
    return _CHECKERS[key]


def model_pruner(sections: Sections) -> Pruner:
    """What prunes model files with these sections that failed the schema (built once)."""
    key = tuple(section.key for section in sections)
    if key not in _PRUNERS:
        _PRUNERS[key] = Pruner(model_checker(sections).schema)
    return _PRUNERS[key]


def list_model_files(root: str) -> list[str]:
    """`models/<name>.yaml` of every model file, sorted. A `models/` that is a symbolic link
    leading outside the repository is not listed: it comes back as itself (`models`), so that
    read_model_file reports it (input.outside-repo) wherever models are read."""
    try:
        names = contain.list_dir(root, MODELS_DIR)
    except contain.ContainmentError:
        return [MODELS_DIR]
    return [f"{MODELS_DIR}/{n}" for n in names]


def read_model_file(root: str, rel: str, diags: Diagnostics, sections: Sections) -> ModelFile | None:
    """The model file `rel` when it has no problem (load_model_file; None otherwise)."""
    f = load_model_file(root, rel, diags, sections)
    return None if f is None or f.partial else f


def load_model_file(root: str, rel: str, diags: Diagnostics, sections: Sections) -> ModelFile | None:
    """The model file `rel` (repo-relative), read through contain (inside the repository, a
    regular file, at most limits.modelFileMiB, UTF-8) and checked against the schema with the
    generator-owned `sections` (modelfiles.py passes the registry's); its problems become
    diagnostics. A mapping that failed the schema comes back partial, pruned to what passed
    (spec/invalid.py); None when there is no such mapping (unreadable, not YAML, duplicate keys)."""
    raw = contain.read_reported(root, rel, "model", diags, rel, text=False)
    text = None if raw is None else contain.decode_reported(raw, diags, rel)
    if raw is None or text is None:
        return None
    doc, problems = load_yaml(text, rel)
    diags.extend(problems)
    if doc is None:
        return None
    if not isinstance(doc.data, dict):
        got = "the file is empty" if doc.data is None else f"got {'a list' if isinstance(doc.data, list) else 'a scalar'}"
        diags.error(rel, 1, 1, SCHEMA.id,
                    f"expected a Model (a mapping with apiVersion, kind, metadata and spec); {got}")
        return None
    found = model_checker(sections).check(doc)
    diags.extend(found)
    if problems:
        return None
    if found:
        pruned = dataclasses.replace(doc, data=model_pruner(sections).prune(doc.data))
        return ModelFile(rel, pruned, raw, partial=True)
    return ModelFile(rel, doc, raw)


def resolve(file: ModelFile, config: Config, sections: Sections, only: str | None = None) -> list[ModelEnv]:
    """The model in every environment it is enabled in (or in the one named `only`), in config
    order (with the defaults of the generator-owned `sections`). Of a partial file, the
    environments whose settings can be resolved from what passed the schema: none when `spec` or
    `spec.environments` failed it, not one whose own override (or its `enabled`) did; a value
    that failed stays `Invalid`, never replaced by its default."""
    try:
        spec = {k: v for k, v in file.doc.data["spec"].items() if k != "environments"}
        overrides = file.doc.data["spec"].get("environments", {})
    except InvalidValue:
        return []
    result = []
    for env in config.environments.values():
        if only is not None and env.name != only:
            continue
        try:
            override = dict(overrides.get(env.name, {}))
            if not override.pop("enabled", True):
                continue
        except InvalidValue:
            continue
        user = deep_merge(spec, override)
        settings = deep_merge(defaults(sections, env), user)
        settings["resources"] = refusing(_resources, user.get("resources", {}))
        settings["slo"] = refusing(_slo, settings.get("slo", {}), config)
        settings.setdefault("protocol", refusing(default_protocol, settings["framework"]))
        result.append(ModelEnv(file, env, settings, sections))
    return result


def cluster_variants(me: ModelEnv) -> list[ModelEnv]:
    """The model in each cluster of its environment whose `overrides` (mlgitops.yaml) apply to it:
    `autoscaling` bounds replace the model's, `storageEndpoint` replaces the endpoint of a model that
    pulls from one. Whether the output really differs is for the caller to see."""
    found = []
    for cluster in me.env.overriding_clusters:
        settings = copy.deepcopy(me.settings)
        changed = False
        if "autoscaling" in cluster.overrides and isinstance(settings.get("autoscaling"), dict):
            settings["autoscaling"] = deep_merge(settings["autoscaling"], cluster.overrides["autoscaling"])
            changed = True
        endpoint = cluster.overrides.get("storageEndpoint")
        storage = settings.get("storage")
        if endpoint is not None and isinstance(storage, dict) and isinstance(storage.get("endpoint"), str) \
                and storage["endpoint"]:
            settings["storage"] = {**settings["storage"], "endpoint": endpoint}
            changed = True
        if changed:
            found.append(dataclasses.replace(me, settings=settings, cluster=cluster))
    return found


def _slo(slo: dict, config: Config) -> dict:
    """slo with the window and source defaults."""
    slo = dict(slo)
    slo.setdefault("window", "30d")
    slo.setdefault("source", config.slo_source)
    return slo


def _resources(user: dict) -> dict:
    """Requests default to limits and limits to requests, as Kubernetes does; both absent: defaults."""
    resources = copy.deepcopy(user)
    requests, limits = user.get("requests"), user.get("limits")
    if requests is None and limits is None:
        resources.update(copy.deepcopy(DEFAULT_RESOURCES))
    elif requests is None:
        resources["requests"] = copy.deepcopy(limits)
    elif limits is None:
        resources["limits"] = copy.deepcopy(requests)
    return resources
