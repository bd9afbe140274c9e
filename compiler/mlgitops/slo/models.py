"""The models the `slo` commands look at: read, schema-checked and checked like `build` does."""

from __future__ import annotations

import os

from ..config import CONFIG_FILE, Config, load_config
from ..diagnostics import Diagnostics
from ..rules import check_files, check_model_env
from ..modelfiles import read_model_file, resolve
from ..spec.model import MODELS_DIR, ModelEnv, list_model_files


def load_model_envs(root: str, models: tuple[str, ...], envs: tuple[str, ...],
                    diags: Diagnostics) -> tuple[Config | None, list[ModelEnv]]:
    """Every (model, environment) selected by name (all when empty), in file and config order.

    Unknown model or environment names are `usage.*` errors; a model with spec errors adds
    them to `diags` and is left out."""
    config = load_config(root, diags)
    if config is None:
        return None, []
    for name in envs:
        if name not in config.environments:
            diags.error(CONFIG_FILE, 0, 0, "usage.unknown-environment",
                        f"--env {name}: no such environment (known: {', '.join(config.environments)})")
    paths = list_model_files(root)
    stems = [os.path.splitext(os.path.basename(p))[0] for p in paths]
    for name in models:
        if name not in stems:
            diags.error(f"{MODELS_DIR}/", 0, 0, "usage.unknown-model",
                        f"no model '{name}' in {MODELS_DIR}/ (known: {', '.join(stems) or 'none'})")
    if diags.has_errors:
        return config, []
    files = []
    for rel, stem in zip(paths, stems):
        if models and stem not in models:
            continue
        f = read_model_file(root, rel, diags)
        if f is not None:
            files.append(f)
    check_files(files, config, diags)
    out = []
    for f in files:
        found = Diagnostics()
        selected = [me for me in resolve(f, config) if not envs or me.env.name in envs]
        for me in selected:
            check_model_env(me, found, config)
        diags.extend(found)
        if not found.has_errors:
            out.extend(selected)
    return config, out
