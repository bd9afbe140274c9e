"""spec.storage-uri: every framework but custom loads its model from `storageUri`; an `hf://`
URI names exactly `<owner>/<model>`."""

from __future__ import annotations

from ..config import Config
from ..diagnostics import ERROR, Rule, echo
from ..spec.model import ModelEnv
from .base import ModelCheck, Reporter

RULE = Rule("spec.storage-uri", ERROR,
            "A framework other than custom without storageUri, or an hf:// URI that does not name "
            "hf://<owner>/<model>.")


def check(me: ModelEnv, report: Reporter, config: Config) -> None:
    m = me.model
    if not m.custom and m.storage_uri is None:
        report(("framework",), RULE, f"framework '{m.framework}' needs storageUri")
    uri = m.storage_uri or ""
    if uri.startswith("hf://") and len(uri[5:].split(":")[0].strip("/").split("/")) != 2:
        report(("storageUri",), RULE, f"{echo(uri)} must name exactly hf://<owner>/<model>[:revision]")


CHECK = ModelCheck((RULE,), check)
