"""spec.storage-uri: every framework but custom loads its model from `storageUri`; an `hf://`
URI names exactly `<owner>/<model>`."""

from __future__ import annotations

from ..catalogue import rule
from ..config import Config
from ..diagnostics import echo
from ..spec.model import ModelEnv
from .base import ModelCheck, Reporter

RULE = rule("spec.storage-uri")


def check(me: ModelEnv, report: Reporter, config: Config) -> None:
    m = me.model
    if not m.custom and m.storage_uri is None:
        report(("framework",), RULE, f"framework '{m.framework}' needs storageUri")
    uri = m.storage_uri or ""
    if uri.startswith("hf://") and len(uri[5:].split(":")[0].strip("/").split("/")) != 2:
        report(("storageUri",), RULE, f"{echo(uri)} must name exactly hf://<owner>/<model>[:revision]")


CHECK = ModelCheck((RULE,), check)
