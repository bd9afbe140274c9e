"""spec.canary-replicas (warning): without traffic routing a canary weight is a share of
replicas, so the smallest step needs enough of them to be accurate."""

from __future__ import annotations

import math

from ..config import Config
from ..diagnostics import WARNING, Rule
from ..spec.model import ModelEnv
from .base import ModelCheck, Reporter

RULE = Rule("spec.canary-replicas", WARNING,
            "Too few replicas for a replica-based canary step to be accurate.",
            "Without traffic routing a step's weight is a share of replicas: 25% needs at least 4. Raise minReplicas "
            "or use trafficRouting: istio.")


def check(me: ModelEnv, report: Reporter, config: Config) -> None:
    m = me.model
    weights = [step.weight for step in m.canary.steps]
    if not (m.canary_on and m.canary.traffic_routing == "none" and weights):
        return
    auto = m.autoscaling
    needed = math.ceil(100 / min(weights))
    if auto.min_replicas < needed and auto.min_replicas != auto.max_replicas or auto.max_replicas < needed:
        report(("autoscaling", "minReplicas"), RULE,
               f"a replica-based canary step of {min(weights)}% needs at least {needed} replicas to be accurate; "
               f"with minReplicas {auto.min_replicas} the first step sends more traffic "
               "(raise minReplicas or use trafficRouting: istio)")


CHECK = ModelCheck((RULE,), check)
