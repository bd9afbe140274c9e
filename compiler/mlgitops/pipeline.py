"""The build pipeline, its stages top to bottom (each a function below, called by `build`):

    load    config and model files (with positions; unchanged models from the build cache)
    check   the spec of every model file, and the cross-file rules (a file that failed the
            schema: every rule on the parts that passed, so one run reports all its problems)
    expand  every model in every environment to objects, serialised to files (a directory that
            does not exist yet is staged, hidden, where its model compiled: prestage.py)
    write   the generated tree atomically, or (build --check) compare it for drift

Nothing is written unless every stage before the write succeeded for every model (what expand
staged is removed when the write stage did not swap it in). A build holds
.mlgitops/build.lock throughout (exclusive; `build --check` shared), so builds of one repository
run one after another and a check never sees a build half done. After the build come the
gate's stages (gate.py: render -> validate -> policy) and `build --commit` (commit.py).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from typing import Any, Callable, cast

import orjson

from . import __version__, layout
from .buildcache import BuildCache, LockError, build_lock, tell_waiting
from .config import CONFIG_FILE, Config, load_config
from .diagnostics import Diagnostic, Diagnostics
from .emit import dump, dump_all
from .expand.argocd import argocd_files
from .expand.base import base_files
from .expand.generator import MODEL_FILE, MONITORING_FILE, Generator
from .expand.overlay import alias_kustomization, overlay_dir, overlay_files
from .overlays import OutsideRepoError, OwnershipError, SyncResult, WriteError, header, read_generated_inside, sync_tree
from .pool import map_forked
from .prestage import Prestaged, stage_new_units
from .progress import Progress
from .modelfiles import load_model_file, resolve
from .spec.model import MODELS_DIR, ModelEnv, ModelFile, cluster_variants, list_model_files


# One model's findings, its files ({} on errors) and the files of each overlay directory ([] then).
Compiled = tuple[list[Diagnostic], dict[str, bytes], "list[OverlayFiles]"]
# Called where a model was compiled without errors, with its overlay directories' files (objects and
# bytes); what it returns lands in BuildResult.after, in model order (`mlgitops check` renders the
# overlays there, reading the compiled documents instead of parsing the files: gate.py).
AfterCompile = Callable[["ModelFile", "list[OverlayFiles]"], Any]


@dataclasses.dataclass
class BuildResult:
    diagnostics: Diagnostics
    sync: SyncResult | None = None
    models: list[str] = dataclasses.field(default_factory=list)
    overlays: list[str] = dataclasses.field(default_factory=list)
    cached: int = 0
    after: list = dataclasses.field(default_factory=list)  # what build(after_compile=...) returned per model


@dataclasses.dataclass
class Sources:
    """What the load stage read: the config, the model files to check and expand, those that
    failed the schema (partial: checked, never expanded), and the files of models not re-read
    (build cache hits as b"" placeholders for their outputs)."""
    config: Config
    files: list[ModelFile]
    cache: BuildCache
    desired: dict[str, bytes]
    not_read: dict[str, str]  # model name -> file: cache hits and, with changed_only, unchanged models
    partial: list[ModelFile] = dataclasses.field(default_factory=list)


def serialise(obj: object, sources: list[str]) -> bytes:
    body = dump_all(obj) if isinstance(obj, list) else dump(obj)
    return (header(sources) + body).encode("utf-8")


def build(root: str, *, models: tuple[str, ...] = (), envs: tuple[str, ...] = (), check: bool = False,
          use_cache: bool = True, progress: Progress | None = None, changed_only: bool = False,
          after_compile: AfterCompile | None = None) -> BuildResult:
    """Compile the models (all, or `models`) and write or (check) compare the generated tree.

    `changed_only` (for `check --changed-since`): `models` are the names of model files that
    changed, some perhaps deleted. Only their files are read and checked; every other model
    counts by its file name alone (trusted: the base revision passed the same checks), and a
    named model without a file must have no generated output left (else 'build.extra').

    `after_compile` runs in the process that compiled each model (see AfterCompile)."""
    diags = Diagnostics()
    result = BuildResult(diags)
    try:
        with build_lock(root, shared=check, waiting=tell_waiting):
            _build_locked(root, result, models=models, envs=envs, check=check, use_cache=use_cache,
                          progress=progress, changed_only=changed_only, after_compile=after_compile)
    except LockError as exc:
        diags.error(exc.rel, 0, 0, "build.locked", exc.message)
    except OutsideRepoError as exc:
        diags.error(exc.rel, 0, 0, exc.rule, exc.message)
    return result


def _build_locked(root: str, result: BuildResult, *, models: tuple[str, ...], envs: tuple[str, ...], check: bool,
                  use_cache: bool, progress: Progress | None, changed_only: bool,
                  after_compile: AfterCompile | None = None) -> None:
    """The stages in order; each stops the build when it found what the next cannot go on with."""
    sources = load(root, result, models=models, envs=envs, use_cache=use_cache and not check,
                   progress=progress, changed_only=changed_only)
    if sources is None or not check_spec(sources, result, models=models, changed_only=changed_only):
        return
    prestaged = None if check else Prestaged(root)
    try:
        desired = expand(sources, result, models=models, envs=envs, after_compile=after_compile,
                         compare_in=root if check else None, prestaged=prestaged, progress=progress)
        if desired is None:
            return
        if write(root, desired, result, models=models, envs=envs, check=check,
                 listings=None if check else sources.cache.walk_listings(), prestaged=prestaged) and not check:
            sources.cache.save()
    finally:
        if prestaged is not None:
            prestaged.discard()


def load(root: str, result: BuildResult, *, models: tuple[str, ...], envs: tuple[str, ...], use_cache: bool,
         progress: Progress | None, changed_only: bool) -> Sources | None:
    """The load stage: mlgitops.yaml and every model file (a cache hit is not parsed); None when
    there is nothing to build."""
    diags = result.diagnostics
    config = load_config(root, diags)
    paths = list_model_files(root)
    if not paths:
        diags.error(f"{MODELS_DIR}/", 0, 0, "build.empty",
                    f"no model files in {MODELS_DIR}/: add one (see README 'Adding a model')")
    if config is None or not paths:
        return None
    for name in envs:
        if name not in config.environments:
            diags.error(CONFIG_FILE, 0, 0, "usage.unknown-environment",
                        f"--env {name}: no such environment (known: {', '.join(config.environments)})")

    cache = BuildCache.open(root, _fingerprint(config)) if use_cache else BuildCache.disabled()
    sources = Sources(config, [], cache, {}, {})
    trusted: dict[str, str] = {}  # changed_only: model name -> file of the models not re-read
    total = len(paths)
    for index, rel in enumerate(paths, 1):
        if progress:
            progress(index, total, LOADED)
        if changed_only and models:
            stem = os.path.splitext(os.path.basename(rel))[0]
            if stem not in models:
                result.models.append(stem)
                trusted[stem] = rel
                continue
        entry = cache.lookup(rel)
        if entry is not None:
            # Unchanged model whose outputs are untouched on disk: reuse without parsing.
            result.cached += 1
            result.models.append(entry.name)
            if _selected(entry.name, models):
                sources.desired.update({p: b"" for p in entry.outputs})
            continue
        f = load_model_file(root, rel, diags)
        if f is not None:
            (sources.partial if f.partial else sources.files).append(f)
            result.models.append(f.label)
    sources.not_read = {**trusted, **{entry.name: rel for rel, entry in cache.hits.items()}}
    return sources


def check_spec(sources: Sources, result: BuildResult, *, models: tuple[str, ...], changed_only: bool) -> bool:
    """The check stage, across files (names, environments; each model's own checks run in expand,
    but those of a partial file, which is never expanded, run here); False on a usage problem
    (the build stops there)."""
    diags = result.diagnostics
    if sources.files or sources.partial:  # none when every model is a cache hit: rules not even imported
        from .rules import check_files

        check_files(sources.files + sources.partial, sources.config, diags, sources.not_read)
        for f in sources.partial:
            check_model(f, sources.config, diags)
    for name in models:
        if name not in result.models and not changed_only:
            diags.error(MODELS_DIR, 0, 0, "usage.unknown-model", f"--model {name}: no models/{name}.yaml")
    return not any(d.rule.startswith("usage.") for d in diags)


def check_model(f: ModelFile, config: Config, diags: Diagnostics) -> tuple[list[ModelEnv], list[ModelEnv]]:
    """The model rules of one file in every environment and cluster variant; (the environments,
    the cluster variants). For a file that failed the schema (never expanded: the check stage
    calls this for it) they are resolved from the parts that passed (spec/invalid.py), and a rule
    that reads a refused value is skipped there (rules.check_model_env)."""
    from .rules import check_model_env

    envs_of_model = resolve(f, config)
    variants = [v for me in envs_of_model for v in cluster_variants(me)]
    for me in envs_of_model + variants:
        check_model_env(me, diags, config)
    return envs_of_model, variants


def expand(sources: Sources, result: BuildResult, *, models: tuple[str, ...],
           envs: tuple[str, ...], after_compile: AfterCompile | None = None,
           compare_in: str | None = None, prestaged: Prestaged | None = None,
           progress: Progress | None = None) -> dict[str, bytes] | None:
    """The expand stage: every model checked and expanded in every environment, plus the shared
    base/ and argocd/ files; the generated tree as {path: bytes}, None when anything has an error.
    Every file that loaded is checked and expanded even when another has errors, so one run
    reports every problem. With `prestaged`, each overlay directory that does not exist yet is
    staged where its model compiled (its files PRESTAGED in the result; see prestage.py)."""
    diags = result.diagnostics
    desired = sources.desired
    stage = None
    if prestaged is not None:
        stage = (prestaged.root, lambda model, rel: _selected(model, models) and _in_env(rel, envs))
    compiled = compile_models(sources.files, sources.config, after_compile, compare_in, stage,
                              progress=(lambda done, total: progress(done, total, COMPILED)) if progress else None)
    result.after = [after for _found, _outputs, after, _staged in compiled]
    for f, (found, outputs, _after, staged) in zip(sources.files, compiled):
        if staged is not None and prestaged is not None:
            prestaged.add(*staged)
        diags.extend(found)
        if outputs and _selected(f.name, models):
            if not envs:
                sources.cache.remember(f, outputs)
            desired.update(outputs)
    if diags.has_errors:
        return None

    shared = {**base_files(sources.config), **argocd_files(sources.config)}
    for rel, obj in shared.items():
        desired[rel] = serialise(obj, [CONFIG_FILE])
    desired = {rel: content for rel, content in desired.items() if _in_env(rel, envs)}
    overlays = layout.OVERLAYS + "/"
    result.overlays = sorted({rel.rsplit("/", 1)[0] for rel in desired if rel.startswith(overlays)})
    if not result.overlays and not models and not envs:
        diags.error(MODELS_DIR, 0, 0, "build.empty",
                    "the build produced no overlays: every model is disabled in every environment")
        return None
    return desired


def write(root: str, desired: dict[str, bytes], result: BuildResult, *, models: tuple[str, ...],
          envs: tuple[str, ...], check: bool, listings: tuple[dict, dict] | None = None,
          prestaged: Prestaged | None = None) -> bool:
    """The write stage: make the generated tree equal `desired` (only the part in scope of
    `models` and `envs`), or with `check` report every missing, stale and extra file. False when
    nothing could be written. `listings`: the build cache's directory listings; `prestaged`: the
    directories expand staged (sync_tree)."""
    diags = result.diagnostics
    placeholders = {rel for rel, content in desired.items() if content == b""}
    try:
        result.sync = sync_tree(root, desired, layout.selection(models, envs), check=check,
                                known_unchanged=lambda rel: rel in placeholders, listings=listings,
                                prestaged=prestaged)
    except OwnershipError as exc:
        diags.error(exc.rel, 1, 1, "build.not-generated",
                    f"mlgitops would write {exc.rel}, but that file was not generated by mlgitops "
                    "(no generated header); move it away or delete it")
        return False
    except OutsideRepoError as exc:
        diags.error(exc.rel, 0, 0, exc.rule, exc.message)
        return False
    except WriteError as exc:
        diags.error(exc.rel, 0, 0, "build.write-failed", exc.message)
        return False
    if check:
        for rel in result.sync.leftovers:
            diags.error(rel, 0, 0, "build.leftover",
                        "left behind by an interrupted 'mlgitops build' (git-ignored; never commit it); "
                        "run 'mlgitops build', which cleans up what it left")
    else:  # cleaned up already: the first few by name, the rest counted (a killed build from scratch leaves thousands)
        named = result.sync.leftovers[:LEFTOVERS_NAMED]
        for rel in named:
            diags.warning(rel, 0, 0, "build.leftover", "left behind by an interrupted 'mlgitops build': cleaned up")
        rest = result.sync.leftovers[len(named):]
        if rest:
            where = os.path.commonpath([os.path.dirname(rel) for rel in rest]).replace(os.sep, "/") or "."
            diags.warning(where, 0, 0, "build.leftover",
                          f"{len(rest)} more entries left behind by an interrupted 'mlgitops build' in this "
                          "directory and below: cleaned up")
    if check and result.sync.drift:
        for rel in result.sync.missing:
            diags.error(rel, 0, 0, "build.missing", "generated file is missing; run 'mlgitops build'")
        for rel in result.sync.stale:
            diags.error(rel, 0, 0, "build.stale",
                        "generated file differs from what the sources compile to; run 'mlgitops build'")
        for rel in result.sync.extra:
            diags.error(rel, 0, 0, "build.extra",
                        "generated file has no source any more (model deleted or disabled); run 'mlgitops build'")
    return True


def compile_model(f: ModelFile, config: Config) -> Compiled:
    """Check one model in every environment and serialise its overlays (Compiled)."""
    diags = Diagnostics()
    envs_of_model, variants = check_model(f, config, diags)
    if diags.has_errors:
        return list(diags), {}, []
    outputs: dict[str, bytes] = {}
    written: list[OverlayFiles] = []
    env_overlays: dict[str, OverlayFiles] = {}
    for me in envs_of_model:
        env_overlays[me.env.name] = _overlay(f, me, config, diags)
        outputs.update(env_overlays[me.env.name].outputs)
        written.append(env_overlays[me.env.name])
    compiled = {(me.env.name, me.cluster.name): me for me in variants if me.cluster is not None}
    for me in envs_of_model:
        for cluster in me.env.overriding_clusters:
            # A cluster's own overlay where its overrides change the model's output; elsewhere one
            # that only refers to the environment's (so the cluster's ApplicationSet generator
            # finds every model in overlays/<env>@<cluster>/).
            variant = compiled.get((me.env.name, cluster.name))
            files = _overlay(f, variant, config, diags, like=env_overlays[me.env.name]) if variant is not None else None
            own = files.outputs if files is not None else {}
            shared = overlay_dir(me)
            if not own or all(outputs.get(f"{shared}/{rel.rsplit('/', 1)[1]}") == data for rel, data in own.items()):
                alias = dataclasses.replace(me, cluster=cluster)
                own = {f"{overlay_dir(alias)}/kustomization.yaml":
                       serialise(alias_kustomization(me), [f.path, CONFIG_FILE])}
            elif files is not None:
                written.append(files)
            outputs.update(own)
    if diags.has_errors:
        return list(diags), {}, []
    return list(diags), outputs, written


@dataclasses.dataclass
class OverlayFiles:
    """One overlay directory: its files' objects and serialised bytes, by file name, the model
    environment they were compiled from and the generator of each object of a resource file."""

    directory: str
    objects: dict[str, object]
    texts: dict[str, bytes]
    me: ModelEnv
    generators: dict[str, list[Generator]]

    @property
    def outputs(self) -> dict[str, bytes]:
        return {f"{self.directory}/{name}": text for name, text in self.texts.items()}


def _overlay(f: ModelFile, me: ModelEnv, config: Config, diags: Diagnostics, *,
             like: OverlayFiles | None = None) -> OverlayFiles:
    """The files of one overlay directory. A cluster's variant passes its environment's overlay
    as `like`: a file whose objects are the same is not serialised again (a replica override
    changes model.yaml, never the monitoring), and the collection check is skipped (its
    overrides change no query, and the environment's overlay was checked)."""
    generators: dict[str, list[Generator]] = {}
    files = overlay_files(me, config, generators)
    if like is None:
        _check_collection(me, files, config, diags)
    texts = {}
    for name, obj in files.items():
        if like is not None and like.objects.get(name) == obj:
            texts[name] = like.texts[name]
            continue
        sources = [f.path, CONFIG_FILE] if name == "kustomization.yaml" else [f.path]
        texts[name] = serialise(obj, sources)
        _check_object_sizes(f, me.env.name, obj, diags)
    return OverlayFiles(overlay_dir(me), files, texts, me, generators)


def _check_collection(me: ModelEnv, files: dict[str, object], config: Config, diags: Diagnostics) -> None:
    """Every metric the overlay's queries read is collected (slo/collection.py), reported at the
    model setting behind the query."""
    from .slo.collection import uncollected

    objects = [o for name in (MODEL_FILE, MONITORING_FILE) for o in cast(list, files.get(name, []))]
    findings = uncollected(objects, me.model, config)
    if not findings:  # the usual case: the catalogue (every rule module gathered) is not needed
        return
    from .catalogue import RULES
    from .rules import Reporter

    report = Reporter(me, diags)
    for finding in findings:
        report(finding.read.path, RULES["slo.uncollected-metric"], f"{me.env.name}: {finding.message}")


# Argo CD's client-side apply stores each object as JSON in the kubectl.kubernetes.io/
# last-applied-configuration annotation, and all annotations of an object share a 256 KiB limit.
MAX_OBJECT_BYTES = 256 * 1024


def object_size(obj: object) -> int:
    """Bytes of obj as the compact JSON that ends up in the last-applied-configuration annotation
    (orjson: the standard library's encoder took an eighth of a 1,000-model build; it falls back
    to it only for what orjson refuses, such as integers beyond 64 bits)."""
    try:
        return len(orjson.dumps(obj))
    except (TypeError, orjson.JSONEncodeError):
        return len(json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


def _check_object_sizes(f: ModelFile, env: str, obj: object, diags: Diagnostics) -> None:
    for item in obj if isinstance(obj, list) else [obj]:
        size = object_size(item)
        if size > MAX_OBJECT_BYTES:
            meta = item.get("metadata", {}) if isinstance(item, dict) else {}
            what = f"{item.get('kind', '?')} {meta.get('name', '?')}" if isinstance(item, dict) else "an object"
            diags.error(f.path, 0, 0, "build.object-too-large",
                        f"{env}: {what} is {size} bytes as JSON, over Argo CD's {MAX_OBJECT_BYTES} byte "
                        "(256 KiB) limit for the last-applied-configuration annotation; make it smaller "
                        "(e.g. move large inline data out of the model)")


# A build names this many of the leftovers it cleaned up, and counts the rest in one warning.
LEFTOVERS_NAMED = 10
# Below this many models a worker pool costs more than it saves.
PARALLEL_MIN_MODELS = 64
# What `progress(done, total, what)` is told the build is doing: models loaded, then compiled.
LOADED, COMPILED = "models loaded", "models compiled"


# Where compile_models stages new overlay directories: the repository, and whether a model's file
# is wanted in this build (model name, repo-relative file).
Stage = tuple[str, Callable[[str, str], bool]]


def compile_models(files: list[ModelFile], config: Config, after_compile: AfterCompile | None = None,
                   compare_in: str | None = None, stage: Stage | None = None,
                   progress: Callable[[int, int], None] | None = None
                   ) -> list[tuple[list[Diagnostic], dict[str, bytes], Any, Any]]:
    """compile_model over all files, on every core when there are many (results in file order): its
    findings and files, what `after_compile` returned for it (None where it did not run; the
    overlays' objects stay in the worker), and what it staged. With `compare_in`
    (build --check: the repository), a file that holds its bytes there already comes back as a b""
    placeholder (the write stage then knows it unchanged): compared where it was compiled, on
    every core, instead of sent back whole and read again in this process. With `stage`, the
    files of an overlay directory that does not exist yet are written into its staged copy there
    (prestage.stage_new_units) and come back PRESTAGED; what was staged is the fourth item
    (the copies and the parent directories made, for Prestaged.add; None: nothing)."""
    real_dirs: dict[str, bool] = {}  # (each worker's own copy)

    def one(f: ModelFile) -> tuple[list[Diagnostic], dict[str, bytes], Any, Any]:
        found, outputs, written = compile_model(f, config)
        after = after_compile(f, written) if after_compile is not None and outputs else None
        staged = None
        if compare_in is not None:
            outputs = {rel: b"" if data and read_generated_inside(compare_in, rel, real_dirs) == data else data
                       for rel, data in outputs.items()}
        elif stage is not None and outputs:
            root, wanted = stage
            outputs, units, created = stage_new_units(root, outputs, lambda rel: wanted(f.name, rel), real_dirs)
            # as plain tuples: the results then travel back as marshal data (pool._encode)
            staged = ([dataclasses.astuple(u) for u in units], created) if units or created else None
        return found, outputs, after, staged

    return map_forked(one, files, PARALLEL_MIN_MODELS, progress)


def _fingerprint(config: Config) -> str:
    """Everything besides a model file that changes its output: the version, mlgitops.yaml, and
    each source file of this package by its size, times and inode (any write gives a file a new
    ctime, which no one can set back; reading and hashing the ~160 files took 5 ms a build)."""
    digest = hashlib.sha256()
    digest.update(__version__.encode())
    digest.update(config.text.encode())
    package = os.path.dirname(os.path.abspath(__file__))
    for dirpath, dirnames, filenames in os.walk(package):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for name in sorted(filenames):
            if name.endswith((".py", ".json")):
                st = os.stat(os.path.join(dirpath, name))
                digest.update(f"{name}\0{st.st_size} {st.st_mtime_ns} {st.st_ctime_ns} {st.st_ino} {st.st_dev}\0".encode())
    return digest.hexdigest()


def _selected(name: str, models: tuple[str, ...]) -> bool:
    return not models or name in models


def _in_env(rel: str, envs: tuple[str, ...]) -> bool:
    return not envs or layout.env_of(rel) in (None, *envs)
