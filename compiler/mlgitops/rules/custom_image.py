"""spec.custom-image: `framework: custom` serves `container.image`, so it needs one."""

from __future__ import annotations

from ..config import Config
from ..diagnostics import ERROR, Rule
from ..spec.model import ModelEnv
from .base import ModelCheck, Reporter

RULE = Rule("spec.custom-image", ERROR, "framework: custom without container.image.")


def check(me: ModelEnv, report: Reporter, config: Config) -> None:
    m = me.model
    if m.custom and not (m.container and m.container.image):
        report(("container",) if m.container is not None else ("framework",), RULE,
               "framework 'custom' needs container.image")


CHECK = ModelCheck((RULE,), check)
