"""`mlgitops slo explain` and `slo test`: what the SLO alerts promise, and proof that they fire (slo/)."""

from __future__ import annotations

import dataclasses
import os
from typing import TYPE_CHECKING

from ..config import Config
from ..diagnostics import Diagnostics
from ..spec.model import ModelEnv
from . import Outcome, UsageError, exit_code

if TYPE_CHECKING:
    from ..progress import Progress


@dataclasses.dataclass
class ExplainOutcome:
    diagnostics: Diagnostics  # spec errors, or usage.* (unknown model or environment)
    explanations: list[dict] = dataclasses.field(default_factory=list)  # one per model environment
    files: list[str] = dataclasses.field(default_factory=list)  # the PNG previews written (--plot)

    @property
    def exit_code(self) -> int:
        return exit_code(self.diagnostics)


def slo_explain(model: str, *, envs: tuple[str, ...] = (), rps: float | None = None,
                error_rates: tuple[float, ...] = (), plot: str | None = None, repo: str = ".") -> ExplainOutcome:
    """The SLO explanation of `model` per environment; `error_rates` in percent. With `plot`, a
    PNG preview of each environment's dashboard is written there (raises slo.plot.PlotUnavailable
    without matplotlib, UsageError when the directory cannot be written)."""
    from ..slo.explain import explain
    from ..slo.models import load_model_envs

    if plot is not None:
        from ..slo.plot import require_matplotlib

        require_matplotlib()  # before any work: the one-line hint, not a traceback at the end
        _writable(plot)
    diags = Diagnostics()
    config, envs_of_model = load_model_envs(repo, (model,), envs, diags)
    outcome = ExplainOutcome(diags)
    if outcome.exit_code or config is None:
        return outcome
    outcome.explanations = [explain(me, config, rps, tuple(r / 100 for r in error_rates)) for me in envs_of_model]
    if plot is not None:
        outcome.files = _plot(envs_of_model, config, plot)
    return outcome


def _writable(directory: str) -> None:
    """Create `directory` (and its parents) or say why it cannot be (a usage error, exit 2)."""
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--plot {directory}: cannot create the directory: {exc.strerror or exc}") from None


def _plot(envs_of_model: list[ModelEnv], config: Config, directory: str) -> list[str]:
    """A preview per model environment that has a dashboard (expand/dashboard.py `applies`)."""
    from ..expand.dashboard import applies
    from ..slo.plot import write

    try:
        return [write(me, config, directory) for me in envs_of_model if applies(me.model)]
    except OSError as exc:
        raise UsageError(f"--plot {directory}: cannot write the preview: {exc.strerror or exc}") from None


def slo_test(*, models: tuple[str, ...] = (), envs: tuple[str, ...] = (), slos: tuple[str, ...] = (),
             keep: str | None = None, promtool: str | None = None, repo: str = ".",
             progress: Progress | None = None) -> Outcome:
    """The SLO alert scenarios of every selected model environment (of the `slos` ids only, when
    given), graded by promtool; `progress(done, total)` counts the promtool runs."""
    from ..slo.promtool import run_slo_tests

    result = run_slo_tests(repo, models=models, envs=envs, slos=slos, promtool=promtool, keep=keep,
                           progress=progress)
    return Outcome("slo test", result.diagnostics, summary=result.summary(), files=result.files,
                   summary_line=result.summary_line())
