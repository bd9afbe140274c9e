"""The build pipeline, top to bottom:

load config -> load model files (positions) -> validate spec -> resolve environments ->
expand to objects -> serialise files -> write overlays (atomically) or check for drift.

Nothing is written unless every stage before the write succeeded for every model.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from typing import Callable

from . import __version__
from .buildcache import BuildCache
from .config import CONFIG_FILE, Config, load_config
from .diagnostics import ERROR, Diagnostics
from .emit import dump, dump_all
from .expand.argocd import argocd_files
from .expand.base import base_files
from .expand.overlay import overlay_dir, overlay_files
from .overlays import OwnershipError, SyncResult, header, sync_tree
from .spec.checks import check_files, check_model_env
from .spec.model import MODELS_DIR, ModelFile, list_model_files, read_model_file, resolve

Progress = Callable[[int, int], None]


@dataclasses.dataclass
class BuildResult:
    diagnostics: Diagnostics
    sync: SyncResult | None = None
    models: list[str] = dataclasses.field(default_factory=list)
    overlays: list[str] = dataclasses.field(default_factory=list)
    cached: int = 0


def serialise(obj: object, sources: list[str]) -> bytes:
    body = dump_all(obj) if isinstance(obj, list) else dump(obj)
    return (header(sources) + body).encode("utf-8")


def build(root: str, *, models: tuple[str, ...] = (), envs: tuple[str, ...] = (), check: bool = False,
          use_cache: bool = True, progress: Progress | None = None) -> BuildResult:
    diags = Diagnostics()
    result = BuildResult(diags)
    config = load_config(root, diags)
    paths = list_model_files(root)
    if not paths:
        diags.error(f"{MODELS_DIR}/", 0, 0, "build.empty",
                    f"no model files in {MODELS_DIR}/: add one (see README 'Adding a model')")
    if config is None or not paths:
        return result
    for name in envs:
        if name not in config.environments:
            diags.error(CONFIG_FILE, 0, 0, "usage.unknown-environment",
                        f"--env {name}: no such environment (known: {', '.join(config.environments)})")

    fingerprint = _fingerprint(config)
    cache = BuildCache.open(root, fingerprint) if use_cache and not check else BuildCache.disabled()
    desired: dict[str, bytes] = {}
    files: list[ModelFile] = []
    total = len(paths)
    for index, rel in enumerate(paths, 1):
        if progress:
            progress(index, total)
        entry = cache.lookup(rel)
        if entry is not None:
            # Unchanged model whose outputs are untouched on disk: reuse without parsing.
            result.cached += 1
            result.models.append(entry.name)
            if _selected(entry.name, models):
                desired.update({p: b"" for p in entry.outputs})
            continue
        f = read_model_file(root, rel, diags)
        if f is not None:
            files.append(f)
            result.models.append(f.name)
    cached_names = {entry.name: rel for rel, entry in cache.hits.items()}
    check_files(files, config, diags, cached_names)
    for name in models:
        if name not in result.models:
            diags.error(MODELS_DIR, 0, 0, "usage.unknown-model", f"--model {name}: no models/{name}.yaml")
    if any(d.rule.startswith("usage.") for d in diags):
        return result

    # Every file that loaded is checked and expanded even when another file has errors, so one
    # run reports every problem; nothing is written unless there are none.
    for f in files:
        outputs: dict[str, bytes] = {}
        envs_of_model = resolve(f, config)
        errors_before = diags.count(ERROR)
        for me in envs_of_model:
            check_model_env(me, diags)
        if diags.count(ERROR) > errors_before:
            continue
        for me in envs_of_model:
            directory = overlay_dir(me)
            sources = [f.path]
            for name, obj in overlay_files(me, config).items():
                sources_for_file = sources + [CONFIG_FILE] if name == "kustomization.yaml" else sources
                outputs[f"{directory}/{name}"] = serialise(obj, sources_for_file)
        if _selected(f.name, models):
            if not envs:
                cache.remember(f, outputs)
            desired.update(outputs)
    if diags.has_errors:
        return result

    shared = {**base_files(config), **argocd_files(config)}
    for rel, obj in shared.items():
        desired[rel] = serialise(obj, [CONFIG_FILE])
    desired = {rel: content for rel, content in desired.items() if _in_env(rel, envs)}
    result.overlays = sorted({rel.rsplit("/", 1)[0] for rel in desired if rel.startswith("overlays/")})
    if not result.overlays and not models and not envs:
        diags.error(MODELS_DIR, 0, 0, "build.empty",
                    "the build produced no overlays: every model is disabled in every environment")
        return result

    in_scope = _scope(models, envs)
    placeholders = {rel for rel, content in desired.items() if content == b""}
    try:
        result.sync = sync_tree(root, desired, in_scope, check=check,
                                known_unchanged=lambda rel: rel in placeholders)
    except OwnershipError as exc:
        diags.error(exc.rel, 1, 1, "build.not-generated",
                    f"mlgitops would write {exc.rel}, but that file was not generated by mlgitops "
                    "(no generated header); move it away or delete it")
        return result
    if check and result.sync.drift:
        for rel in result.sync.missing:
            diags.error(rel, 0, 0, "build.missing", "generated file is missing; run 'mlgitops build'")
        for rel in result.sync.stale:
            diags.error(rel, 0, 0, "build.stale",
                        "generated file differs from what the sources compile to; run 'mlgitops build'")
        for rel in result.sync.extra:
            diags.error(rel, 0, 0, "build.extra",
                        "generated file has no source any more (model deleted or disabled); run 'mlgitops build'")
    if not check:
        cache.save()
    return result


def _fingerprint(config: Config) -> str:
    """Everything besides a model file that changes its output."""
    digest = hashlib.sha256()
    digest.update(__version__.encode())
    digest.update(config.text.encode())
    package = os.path.dirname(os.path.abspath(__file__))
    for dirpath, dirnames, filenames in os.walk(package):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for name in sorted(filenames):
            if name.endswith((".py", ".json")):
                with open(os.path.join(dirpath, name), "rb") as fh:
                    digest.update(name.encode() + b"\0" + fh.read())
    return digest.hexdigest()


def _selected(name: str, models: tuple[str, ...]) -> bool:
    return not models or name in models


def _in_env(rel: str, envs: tuple[str, ...]) -> bool:
    if not envs or not rel.startswith("overlays/"):
        return True
    return rel.split("/")[1] in envs


def _scope(models: tuple[str, ...], envs: tuple[str, ...]) -> Callable[[str], bool]:
    def in_scope(rel: str) -> bool:
        parts = rel.split("/")
        if parts[0] != "overlays" or len(parts) < 4:
            return True
        if envs and parts[1] not in envs:
            return False
        if models and parts[2] not in models:
            return False
        return True
    return in_scope
