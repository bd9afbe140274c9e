"""spec.replicas: minReplicas <= maxReplicas, and scale to zero only in serverless mode."""

from __future__ import annotations

from ..config import Config
from ..diagnostics import ERROR, Rule
from ..spec.model import ModelEnv
from .base import ModelCheck, Reporter

RULE = Rule("spec.replicas", ERROR, "minReplicas above maxReplicas, or scale to zero outside serverless mode.")


def check(me: ModelEnv, report: Reporter, config: Config) -> None:
    m = me.model
    auto = m.autoscaling
    if auto.min_replicas > auto.max_replicas:
        report(me.blame(("autoscaling", "minReplicas"), ("autoscaling", "maxReplicas")), RULE,
               f"minReplicas {auto.min_replicas} is greater than maxReplicas {auto.max_replicas}")
    if m.standard and auto.min_replicas < 1:
        report(("autoscaling", "minReplicas"), RULE,
               "minReplicas 0 (scale to zero) needs mode: serverless; Standard mode keeps at least 1 replica")


CHECK = ModelCheck((RULE,), check)
