"""spec.container-image: a transformer or explainer runs its own image, so it needs one."""

from __future__ import annotations

from ..config import Config
from ..diagnostics import ERROR, Rule
from ..spec.model import ModelEnv
from .base import ModelCheck, Reporter

RULE = Rule("spec.container-image", ERROR, "A transformer or explainer without an image.")


def check(me: ModelEnv, report: Reporter, config: Config) -> None:
    for part, container in me.model.components.items():
        if not container.image:
            report((part,), RULE, f"{part} needs an image")


CHECK = ModelCheck((RULE,), check)
