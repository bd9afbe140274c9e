"""`mlgitops validate`: the rendered objects against their schemas, and their references (validate/)."""

from __future__ import annotations

import os
import time

from ..diagnostics import Diagnostics
from . import Outcome, require_repo


def validate(paths: tuple[str, ...], *, repo: str = ".", locations: tuple[str, ...] = (),
             kubernetes_version: str | None = None, strict: bool = True, strict_schemas: bool | None = None,
             engine: str = "builtin", kubeconform: str | None = None, max_file_bytes: int = 32 * 2**20) -> Outcome:
    """Validate `paths` (default: overlays/ rendered and argocd/); settings from the options, then
    mlgitops.yaml."""
    from ..config import CONFIG_FILE, load_config
    from ..validate.run import settings_from, validate as run_validate

    require_repo(repo)
    started = time.perf_counter()
    config = None
    diags = Diagnostics()
    if os.path.isfile(os.path.join(repo, CONFIG_FILE)):
        config = load_config(repo, diags)
        if config is None:
            return Outcome("validate", diags, summary={"resources": 0})
    settings = settings_from(config, locations=locations, kubernetes_version=kubernetes_version, strict=strict,
                             strict_schemas=strict_schemas, engine=engine, kubeconform=kubeconform,
                             max_file_bytes=max_file_bytes)
    result = run_validate(list(paths), repo, settings, config=config)
    diags.extend(result.diagnostics)
    elapsed = time.perf_counter() - started
    # "errors" is the number of error findings in every json report; objects in error are "errored"
    counts = {("errored" if key == "errors" else key): value for key, value in result.counts.items()}
    summary = {**counts, "skippedReasons": result.skipped_reasons, "engine": engine, "seconds": round(elapsed, 3)}
    return Outcome("validate", diags, summary=summary, files=result.files,
                   summary_line=f"{result.summary_line()} ({elapsed:.2f}s)")
