"""spec.container-image: a transformer or explainer runs its own image, so it needs one."""

from __future__ import annotations

from ..catalogue import rule
from ..config import Config
from ..spec.model import ModelEnv
from .base import ModelCheck, Reporter

RULE = rule("spec.container-image")


def check(me: ModelEnv, report: Reporter, config: Config) -> None:
    for part, container in me.model.components.items():
        if not container.image:
            report((part,), RULE, f"{part} needs an image")


CHECK = ModelCheck((RULE,), check)
