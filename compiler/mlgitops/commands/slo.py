"""`mlgitops slo explain` and `slo test`: what the SLO alerts promise, and proof that they fire (slo/)."""

from __future__ import annotations

import dataclasses

from ..diagnostics import Diagnostics
from . import Outcome, exit_code


@dataclasses.dataclass
class ExplainOutcome:
    diagnostics: Diagnostics  # spec errors, or usage.* (unknown model or environment)
    explanations: list[dict] = dataclasses.field(default_factory=list)  # one per model environment

    @property
    def exit_code(self) -> int:
        return exit_code(self.diagnostics)


def slo_explain(model: str, *, envs: tuple[str, ...] = (), rps: float | None = None,
                error_rates: tuple[float, ...] = (), repo: str = ".") -> ExplainOutcome:
    """The SLO explanation of `model` per environment; `error_rates` in percent."""
    from ..slo.explain import explain
    from ..slo.models import load_model_envs

    diags = Diagnostics()
    config, envs_of_model = load_model_envs(repo, (model,), envs, diags)
    outcome = ExplainOutcome(diags)
    if outcome.exit_code or config is None:
        return outcome
    outcome.explanations = [explain(me, config, rps, tuple(r / 100 for r in error_rates)) for me in envs_of_model]
    return outcome


def slo_test(*, models: tuple[str, ...] = (), envs: tuple[str, ...] = (), keep: str | None = None,
             promtool: str | None = None, repo: str = ".") -> Outcome:
    """The SLO alert scenarios of every selected model environment, graded by promtool."""
    from ..slo.promtool import run_slo_tests

    result = run_slo_tests(repo, models=models, envs=envs, promtool=promtool, keep=keep)
    return Outcome("slo test", result.diagnostics, summary=result.summary(), files=result.files,
                   summary_line=result.summary_line())
