"""The repository layout mlgitops writes and reads: where generated files go, and the one parser
of `overlays/<env>/<model>` paths.

    mlgitops.yaml, models/<model>.yaml      the sources
    base/                                   shared kustomize components
    overlays/<env>/<model>/<file>           one generated directory per model and environment
    overlays/<env>@<cluster>/<model>/<file> a cluster's own overlay, only where its `overrides`
                                            (mlgitops.yaml) change the model's output
    argocd/                                 the Argo CD objects

Paths here are repository-relative with '/' separators (as git and the generated headers show
them); `overlay_dirs` lists the overlay directories that exist on disk.
"""

from __future__ import annotations

import os
import re
from typing import Callable, Collection, NamedTuple

OVERLAYS = "overlays"
BASE = "base"
ARGOCD = "argocd"
GENERATED_ROOTS = (ARGOCD, BASE, OVERLAYS)  # the top-level directories mlgitops writes (sorted)


CLUSTER_SEPARATOR = "@"  # overlays/<env>@<cluster>/: neither names may hold it (DNS labels)


class OverlayPath(NamedTuple):
    """`overlays/<env>[@<cluster>]/<model>[/<file>]` taken apart; `file` is "" for the directory
    itself, `cluster` "" for the environment's own overlays."""
    env: str
    model: str
    file: str
    cluster: str = ""

    @property
    def directory(self) -> str:
        return overlay_dir(self.env, self.model, self.cluster)


def env_dir(env: str, cluster: str = "") -> str:
    """`<env>` or `<env>@<cluster>`: the directory under overlays/ of an environment's (or one of
    its clusters') overlays."""
    return f"{env}{CLUSTER_SEPARATOR}{cluster}" if cluster else env


def overlay_dir(env: str, model: str, cluster: str = "") -> str:
    """`overlays/<env>/<model>` (or `overlays/<env>@<cluster>/<model>`): the directory `mlgitops
    build` writes a model's overlay to."""
    return f"{OVERLAYS}/{env_dir(env, cluster)}/{model}"


def parse_overlay(path: str) -> OverlayPath | None:
    """`overlays/<env>[@<cluster>]/<model>` or a path below it taken apart; None for any other path."""
    parts = path.split("/", 3)
    if len(parts) < 3 or parts[0] != OVERLAYS or not parts[1] or not parts[2]:
        return None
    env, _, cluster = parts[1].partition(CLUSTER_SEPARATOR)
    return OverlayPath(env, parts[2], parts[3] if len(parts) == 4 else "", cluster)


def overlay_of_file(path: str) -> OverlayPath | None:
    """The overlay directory holding the file `path` (overlays/<env>/<model>/<file>), else None
    (a path outside overlays/, or directly under overlays/ or overlays/<env>/)."""
    found = parse_overlay(path)
    return found if found is not None and found.file else None


def env_of(path: str) -> str | None:
    """The environment of a path under `overlays/<env>/`, even a file written directly into
    overlays/<env>/; None outside overlays/."""
    parts = path.split("/", 2)
    return parts[1].partition(CLUSTER_SEPARATOR)[0] if len(parts) >= 2 and parts[0] == OVERLAYS else None


def selection(models: tuple[str, ...] = (), envs: tuple[str, ...] = ()) -> Callable[[str], bool]:
    """Whether a generated path belongs to a build of only `models` in only `envs` (empty: all).
    Only files inside an overlay directory are selected by model and environment."""
    def selected(rel: str) -> bool:
        # overlay_of_file inlined: a narrowed build asks this of every generated file on disk
        parts = rel.split("/", 3)
        if len(parts) < 4 or parts[0] != OVERLAYS or not parts[1] or not parts[2] or not parts[3]:
            return True
        return (not envs or parts[1].partition(CLUSTER_SEPARATOR)[0] in envs) and (not models or parts[2] in models)
    return selected


def mentions(models: list[str]) -> re.Pattern[str]:
    """A pattern finding `overlays/<env>/<model>` of any of `models` in a text."""
    return re.compile(OVERLAYS + r"/[^/\s'\"]+/(" + "|".join(re.escape(m) for m in models) + r")(?![\w.-])")


def overlay_dirs(root: str, enter: Callable[[str], bool] = lambda path: True,
                 models: Collection[str] | None = None) -> list[OverlayPath]:
    """The overlay directories under `root` (overlays/<env>/<model>, hidden names left out), sorted
    by environment, then model. `enter(path)` is asked before a directory (overlays/ itself, an
    environment, a model) is listed or taken: False leaves it out. `models` (names of model files,
    so never holding a '/'): only their directories, each looked up instead of listing every
    model's (a check of a few changed models among thousands)."""
    top = os.path.join(root, OVERLAYS)
    found: list[OverlayPath] = []
    if not os.path.isdir(top) or not enter(top):
        return found
    for env in sorted(os.listdir(top)):
        env_path = os.path.join(top, env)
        if env.startswith(".") or not os.path.isdir(env_path) or not enter(env_path):
            continue
        names = os.listdir(env_path) if models is None else [m for m in set(models) if "/" not in m]
        for model in sorted(names):
            directory = os.path.join(env_path, model)
            if model.startswith(".") or not os.path.isdir(directory) or not enter(directory):
                continue
            name, _, cluster = env.partition(CLUSTER_SEPARATOR)
            found.append(OverlayPath(name, model, "", cluster))
    return found
