"""spec.canary-steps: canary weights increase step by step."""

from __future__ import annotations

from ..catalogue import rule
from ..config import Config
from ..spec.model import ModelEnv
from .base import ModelCheck, Reporter

RULE = rule("spec.canary-steps")


def check(me: ModelEnv, report: Reporter, config: Config) -> None:
    weights = [step.weight for step in me.model.canary.steps]
    for i in range(1, len(weights)):
        if weights[i] <= weights[i - 1]:
            report(("canary", "steps", i, "weight"), RULE,
                   f"weight {weights[i]} does not increase (previous step: {weights[i - 1]})")


CHECK = ModelCheck((RULE,), check)
