"""spec.canary-steps: canary weights increase step by step."""

from __future__ import annotations

from ..config import Config
from ..diagnostics import ERROR, Rule
from ..spec.model import ModelEnv
from .base import ModelCheck, Reporter

RULE = Rule("spec.canary-steps", ERROR, "Canary weights that do not increase.")


def check(me: ModelEnv, report: Reporter, config: Config) -> None:
    weights = [step.weight for step in me.model.canary.steps]
    for i in range(1, len(weights)):
        if weights[i] <= weights[i - 1]:
            report(("canary", "steps", i, "weight"), RULE,
                   f"weight {weights[i]} does not increase (previous step: {weights[i - 1]})")


CHECK = ModelCheck((RULE,), check)
