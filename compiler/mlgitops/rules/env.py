"""Environment variables of every container: exactly one of value and secretKeyRef (spec.env),
and credentials as Secret references only (spec.literal-credential). One pass over the
variables reports both, at most one finding per variable."""

from __future__ import annotations

import re

from ..config import Config
from ..diagnostics import ERROR, Rule, echo
from ..spec.model import ModelEnv
from ..spec.resolved import COMPONENTS, EnvVar
from .base import ModelCheck, Path, Reporter

ENV = Rule("spec.env", ERROR, "An environment variable with both, or neither, of value and secretKeyRef.")
LITERAL_CREDENTIAL = Rule("spec.literal-credential", ERROR,
                          "An environment variable named like a credential has a literal value.",
                          "Credentials are Secret references only (secretKeyRef): a literal value ends up in Git and "
                          "in Argo CD.")
CREDENTIAL_NAME = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|CREDENTIAL|PRIVATE_?KEY)", re.I)


def _variables(me: ModelEnv) -> list[tuple[Path, tuple[EnvVar, ...]]]:
    """(settings path, variables) of the predictor, its container, then each component."""
    m = me.model
    out: list[tuple[Path, tuple[EnvVar, ...]]] = [
        (("env",), m.env), (("container", "env"), m.container.env if m.container else ())]
    return out + [((part, "env"), m.components[part].env if part in m.components else ()) for part in COMPONENTS]


def check(me: ModelEnv, report: Reporter, config: Config) -> None:
    for base, variables in _variables(me):
        for i, var in enumerate(variables):
            if (var.value is not None) == (var.secret is not None):
                report(base + (i,), ENV, f"env {echo(var.name)} needs exactly one of value or secretKeyRef")
            elif var.value is not None and CREDENTIAL_NAME.search(var.name):
                report(base + (i, "value"), LITERAL_CREDENTIAL,
                       f"env {echo(var.name)} looks like a credential: use secretKeyRef, never a literal value")


CHECK = ModelCheck((ENV, LITERAL_CREDENTIAL), check)
