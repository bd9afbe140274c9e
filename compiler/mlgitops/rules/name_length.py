"""spec.name-length: every name derived from the model name (host labels, pod labels, Services)
fits Kubernetes' 63 characters in this environment's namespace."""

from __future__ import annotations

from .. import names
from ..config import Config
from ..diagnostics import ERROR, Rule
from ..expand.registry import derived_names
from ..spec.model import ModelEnv
from .base import ModelCheck, Reporter

RULE = Rule("spec.name-length", ERROR,
            "A name derived from the model name (a host label, a pod label) is longer than 63 characters.")


def check(me: ModelEnv, report: Reporter, config: Config) -> None:
    for what, name in derived_names(me):
        if len(name) > names.MAX_LABEL:
            report.at(("metadata", "name"), RULE,
                      f"metadata.name: derived {what} '{name}' is {len(name)} characters "
                      f"(namespace {me.env.namespace}); the limit is {names.MAX_LABEL}")


CHECK = ModelCheck((RULE,), check)
