"""The build pipeline, top to bottom:

load config -> load model files (positions) -> validate spec -> resolve environments ->
expand to objects -> serialise files -> write overlays (atomically) or check for drift.

Nothing is written unless every stage before the write succeeded for every model. A build holds
.mlgitops/build.lock throughout (exclusive; `build --check` shared), so builds of one repository
run one after another and a check never sees a build half done.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import multiprocessing
import os
import sys
from typing import Callable

from . import __version__
from .buildcache import BuildCache, LockError, build_lock
from .config import CONFIG_FILE, Config, load_config
from .diagnostics import Diagnostic, Diagnostics
from .emit import dump, dump_all
from .expand.argocd import argocd_files
from .expand.base import base_files
from .expand.overlay import overlay_dir, overlay_files
from .overlays import OutsideRepoError, OwnershipError, SyncResult, WriteError, header, sync_tree
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
          use_cache: bool = True, progress: Progress | None = None, changed_only: bool = False) -> BuildResult:
    """Compile the models (all, or `models`) and write or (check) compare the generated tree.

    `changed_only` (for `check --changed-since`): `models` are the names of model files that
    changed, some perhaps deleted. Only their files are read and checked; every other model
    counts by its file name alone (trusted: the base revision passed the same checks), and a
    named model without a file must have no generated output left (else 'build.extra')."""
    diags = Diagnostics()
    result = BuildResult(diags)
    try:
        with build_lock(root, shared=check, waiting=tell_waiting):
            _build_locked(root, result, models=models, envs=envs, check=check, use_cache=use_cache,
                          progress=progress, changed_only=changed_only)
    except LockError as exc:
        diags.error(exc.rel, 0, 0, "build.locked", exc.message)
    except OutsideRepoError as exc:
        diags.error(exc.rel, 0, 0, exc.rule, exc.message)
    return result


def tell_waiting(message: str) -> None:
    print(f"mlgitops: {message}", file=sys.stderr, flush=True)


def _build_locked(root: str, result: BuildResult, *, models: tuple[str, ...], envs: tuple[str, ...], check: bool,
                  use_cache: bool, progress: Progress | None, changed_only: bool) -> BuildResult:
    diags = result.diagnostics
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
    trusted: dict[str, str] = {}  # changed_only: model name -> file of the models not re-read
    total = len(paths)
    for index, rel in enumerate(paths, 1):
        if progress:
            progress(index, total)
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
                desired.update({p: b"" for p in entry.outputs})
            continue
        f = read_model_file(root, rel, diags)
        if f is not None:
            files.append(f)
            result.models.append(f.name)
    cached_names = {**trusted, **{entry.name: rel for rel, entry in cache.hits.items()}}
    check_files(files, config, diags, cached_names)
    for name in models:
        if name not in result.models and not changed_only:
            diags.error(MODELS_DIR, 0, 0, "usage.unknown-model", f"--model {name}: no models/{name}.yaml")
    if any(d.rule.startswith("usage.") for d in diags):
        return result

    # Every file that loaded is checked and expanded even when another file has errors, so one
    # run reports every problem; nothing is written unless there are none.
    for f, (found, outputs) in zip(files, compile_models(files, config)):
        diags.extend(found)
        if outputs and _selected(f.name, models):
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
    except OutsideRepoError as exc:
        diags.error(exc.rel, 0, 0, exc.rule, exc.message)
        return result
    except WriteError as exc:
        diags.error(exc.rel, 0, 0, "build.write-failed", exc.message)
        return result
    for rel in result.sync.leftovers:
        if check:
            diags.error(rel, 0, 0, "build.leftover",
                        "left behind by an interrupted 'mlgitops build' (git-ignored; never commit it); "
                        "run 'mlgitops build', which cleans up what it left")
        else:
            diags.warning(rel, 0, 0, "build.leftover", "left behind by an interrupted 'mlgitops build': cleaned up")
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


def compile_model(f: ModelFile, config: Config) -> tuple[list[Diagnostic], dict[str, bytes]]:
    """Check one model in every environment and serialise its overlays ({} when it has errors)."""
    diags = Diagnostics()
    envs_of_model = resolve(f, config)
    for me in envs_of_model:
        check_model_env(me, diags, config)
    if diags.has_errors:
        return list(diags), {}
    outputs: dict[str, bytes] = {}
    for me in envs_of_model:
        directory = overlay_dir(me)
        for name, obj in overlay_files(me, config).items():
            sources = [f.path, CONFIG_FILE] if name == "kustomization.yaml" else [f.path]
            outputs[f"{directory}/{name}"] = serialise(obj, sources)
            _check_object_sizes(f, me.env.name, obj, diags)
    if diags.has_errors:
        return list(diags), {}
    return list(diags), outputs


# Argo CD's client-side apply stores each object as JSON in the kubectl.kubernetes.io/
# last-applied-configuration annotation, and all annotations of an object share a 256 KiB limit.
MAX_OBJECT_BYTES = 256 * 1024


def object_size(obj: object) -> int:
    """Bytes of obj as the compact JSON that ends up in the last-applied-configuration annotation."""
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


# Below this many models a worker pool costs more than it saves.
PARALLEL_MIN_MODELS = 64
_POOL_INPUT: tuple = ()


def _compile_nth(index: int) -> tuple[list[Diagnostic], dict[str, bytes]]:
    files, config = _POOL_INPUT
    return compile_model(files[index], config)


def compile_models(files: list[ModelFile], config: Config) -> list[tuple[list[Diagnostic], dict[str, bytes]]]:
    """compile_model over all files, on every core when there are many (results in file order)."""
    workers = min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1, 8)
    if len(files) < PARALLEL_MIN_MODELS or workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return [compile_model(f, config) for f in files]
    global _POOL_INPUT
    _POOL_INPUT = (files, config)  # inherited by the forked workers: nothing to pickle on the way in
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            return pool.map(_compile_nth, range(len(files)), chunksize=max(1, len(files) // (workers * 8)))
    finally:
        _POOL_INPUT = ()


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


# --- build --commit -----------------------------------------------------------------------------

SUBJECT_MAX = 72  # a longer first line is summarised; the body always lists every model


@dataclasses.dataclass
class CommitResult:
    sha: str | None  # None: nothing changed, no commit
    message: str
    paths: list[str]  # repo-relative generated paths in the commit (written and removed)
    changes: dict[str, list[str]]  # model -> environments whose overlay changed


def commit_preflight(root: str, diags: Diagnostics) -> bool:
    """Whether `build --commit` may run in `root`: inside a git work tree with nothing staged."""
    from . import git

    if git.toplevel(root) is None:
        diags.error(".", 0, 0, "usage.not-git",
                    f"--commit: {root} is not inside a git work tree (run 'git init' or drop --commit)")
        return False
    try:
        staged = git.staged_paths(root)
    except git.GitError as exc:
        diags.error(".", 0, 0, "build.git", str(exc))
        return False
    if staged:
        shown = ", ".join(staged[:5]) + (f" and {len(staged) - 5} more" if len(staged) > 5 else "")
        diags.error(staged[0], 0, 0, "build.index-dirty",
                    f"--commit: the git index already holds staged changes ({shown}); commit or unstage them "
                    "first ('git restore --staged PATH'), so the mlgitops commit holds only generated files")
        return False
    return True


def changed_generated(root: str, sync: SyncResult, models: tuple[str, ...] = (),
                      envs: tuple[str, ...] = ()) -> list[str]:
    """Generated paths (repo-relative) whose working-tree state differs from HEAD: this build's
    written and removed files plus those an earlier plain `build` left uncommitted. A file counts as
    generated when it carries the generated header now or (deleted) carried it in HEAD."""
    from . import git
    from .overlays import GENERATED_MARK, OWNED_ROOTS, is_generated

    prefix = git.git(["rev-parse", "--show-prefix"], root).strip()
    try:
        git.resolve("HEAD", root)
        changed = git.changed_paths("HEAD", root)
        head = True
    except git.GitError:  # no commit yet: everything not ignored is new
        changed = sorted(set(git.git(["ls-files", "--cached", "--others", "--exclude-standard"],
                                     git.toplevel(root) or root).splitlines()))
        head = False
    in_scope = _scope(models, envs)
    found = set(sync.written) | set(sync.removed)
    for path in changed:
        if not path.startswith(prefix):
            continue
        rel = path[len(prefix):]
        if rel.split("/", 1)[0] not in OWNED_ROOTS or not in_scope(rel) or rel in found:
            continue
        if os.path.lexists(os.path.join(root, rel)):
            if is_generated(os.path.join(root, rel)):
                found.add(rel)
        elif head:
            try:
                old = git.git(["cat-file", "blob", f"HEAD:{path}"], root)
            except git.GitError:
                continue
            if old.startswith(GENERATED_MARK):
                found.add(rel)
    return sorted(found)


def commit_message(root: str, paths: list[str], subject: str | None = None) -> tuple[str, dict[str, list[str]]]:
    """The deterministic commit message for these changed generated paths, and model -> envs."""
    changes: dict[str, set[str]] = {}
    shared: list[str] = []
    for rel in paths:
        parts = rel.split("/")
        if parts[0] == "overlays" and len(parts) >= 4:
            changes.setdefault(parts[2], set()).add(parts[1])
        else:
            shared.append(rel)
    ordered = {name: sorted(changes[name]) for name in sorted(changes)}
    if subject is None:
        listed = ", ".join(f"{name} ({', '.join(envs)})" for name, envs in ordered.items())
        if shared and not ordered:
            listed = "shared output (" + ", ".join(sorted({p.split("/")[0] for p in shared})) + ")"
        subject = f"mlgitops build: {listed}"
        if len(subject) > SUBJECT_MAX:
            environments = sorted({e for envs in ordered.values() for e in envs})
            subject = (f"mlgitops build: {len(ordered)} models in {len(environments)} environments "
                       f"({', '.join(environments)})")
            if len(subject) > SUBJECT_MAX:
                subject = f"mlgitops build: {len(ordered)} models in {len(environments)} environments"
    # A multi-line -m: its first non-blank line is the subject, the rest (blank lines around it
    # and trailing spaces dropped) the user's body, kept ahead of the generated listing.
    given = [line.rstrip() for line in subject.strip().splitlines()]
    lines = [given[0] if given else "mlgitops build", ""]
    body = "\n".join(given[1:]).strip("\n")
    if body:
        lines += [*body.split("\n"), ""]
    lines.append("Generated by 'mlgitops build --commit'; do not edit these files by hand.")
    if ordered:
        lines += ["", "Models and environments changed:"]
        for name, envs_of in ordered.items():
            gone = [e for e in envs_of if not os.path.isdir(os.path.join(root, "overlays", e, name))]
            note = f" (removed from {', '.join(gone)})" if gone else ""
            lines.append(f"  {name}: {', '.join(envs_of)}{note}")
    if shared:
        lines += ["", "Shared output changed:"] + [f"  {rel}" for rel in shared]
    removed = sum(1 for rel in paths if not os.path.lexists(os.path.join(root, rel)))
    lines += ["", f"Files: {len(paths) - removed} written, {removed} removed."]
    return "\n".join(lines) + "\n", ordered


def commit_build(root: str, sync: SyncResult, *, subject: str | None = None, models: tuple[str, ...] = (),
                 envs: tuple[str, ...] = ()) -> CommitResult:
    """Stage exactly the changed generated paths and commit them; sha None when nothing changed.
    Raises git.GitError when git fails."""
    from . import git

    try:
        with build_lock(root, waiting=tell_waiting):  # no other build rewrites what is being committed
            paths = changed_generated(root, sync, models, envs)
            message, changes = commit_message(root, paths, subject)
            if not paths:
                return CommitResult(None, message, [], {})
            sha = git.commit_paths(paths, message, root)
    except (LockError, OutsideRepoError) as exc:
        raise git.GitError(exc.message) from exc
    return CommitResult(sha, message, paths if sha else [], changes if sha else {})
