"""spec.mode: canary steps belong to Standard mode (Argo Rollouts), serverless settings to
serverless mode (Knative)."""

from __future__ import annotations

from ..config import Config
from ..diagnostics import ERROR, Rule
from ..spec.model import ModelEnv
from .base import ModelCheck, Path, Reporter

RULE = Rule("spec.mode", ERROR, "Canary steps in serverless mode, or serverless settings in standard mode.")


def _user_set(me: ModelEnv, path: Path) -> bool:
    """The model file sets `path` (under spec), in the shared spec or this environment's override."""
    doc = me.file.doc
    return doc.has(("spec",) + path) or doc.has(("spec", "environments", me.env.name) + path)


def check(me: ModelEnv, report: Reporter, config: Config) -> None:
    m = me.model
    if not m.standard and "canary" in me.file.doc.data["spec"] and _user_set(me, ("canary", "steps")):
        report(("canary", "steps"), RULE,
               "canary steps need mode: standard (Argo Rollouts); serverless uses serverless.canaryTrafficPercent")
    if m.standard and m.serverless is not None and any(v is not None for v in m.serverless):
        report(("serverless",), RULE, "serverless settings need mode: serverless")


CHECK = ModelCheck((RULE,), check)
