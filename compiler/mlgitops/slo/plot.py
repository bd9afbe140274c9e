"""`mlgitops slo explain --plot`: a PNG of each generated dashboard during a simulated incident.

A reviewer looks rather than reads: the panels of expand/dashboard.py, laid out by their
gridPos, each drawing what it would show over four simulated hours:

- SLOs: healthy traffic spending 0.2x the error-budget rate, then from 1:00 to 3:00 20x (capped
  at every request bad), then healthy again. Every window's error ratio is computed exactly
  for that piecewise-constant rate (the constant-rate model of slo/explain.py: the mean ratio
  over [t - window, t]), history before 0:00 healthy; budget left = 1 - ratio over the SLO
  window / budget; burn = ratio / budget; an alert tier fires (shaded) once one of its window
  pairs has been above its factor on both windows for the tier's `for:`, on a one-minute grid.
- the canary: a rollout from 0:10 following the model's steps (each setWeight takes a minute
  for the canary pods to be ready, a timed pause its duration, a manual pause 30 minutes until
  a human promotes), the analysis running from its starting step until promotion.
- replicas: the traffic surge behind the incident scales from minReplicas to maxReplicas
  (one minute for new pods to be ready) and back after the scale-down stabilization window;
  during the canary, Istio routing adds the canary's pods (ceil(weight x replicas)).

The PNG is deterministic: the Agg renderer, matplotlib's own defaults (not the user's
matplotlibrc), a fixed size and dpi, the fonts matplotlib ships, and no metadata.
"""

from __future__ import annotations

import dataclasses
import math
import os
from typing import Any

from ..config import Config
from ..domain.units import duration_seconds
from ..expand.dashboard import GRID_WIDTH, PHASE_COLOURS, Panel, panels, tier_colour
from ..spec.model import ModelEnv
from ..spec.resolved import Model

INSTALL_HINT = "pip install 'mlgitops[plot]'"
MINUTES = 240  # the simulated span
ONSET, RECOVERY = 60, 180  # minutes: the incident
BURN, HEALTHY_BURN = 20.0, 0.2  # error-budget burn rates in and out of the incident
ROLLOUT_START = 10  # minutes
STEP_READY = 1  # minutes a setWeight step takes (the canary pods become ready)
MANUAL_PAUSE = 30  # minutes until a human promotes a manual pause
POD_START = 1  # minutes a new pod takes to become ready
DEFAULT_STABILIZATION = 300  # seconds: the HPA's default scale-down stabilization window
WIDTH_PX, ROW_PX, HEADER_PX, DPI = 1600, 36, 70, 100
COLOURS = {"green": "#56a64b", "red": "#e02f44", "orange": "#ff9830", "yellow": "#f2cc0c", "blue": "#3274d9",
           "purple": "#a352cc", "text": "#888888"}
SERIES = ("#7eb26d", "#eab839", "#6ed0e0", "#ef843c", "#e24d42", "#1f78c1", "#ba43a9", "#705da0")


class PlotUnavailable(Exception):
    """matplotlib (the `plot` extra) is not installed."""


def require_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise PlotUnavailable(f"--plot needs matplotlib, which is not installed: {INSTALL_HINT}") from None


# --- the simulation -------------------------------------------------------------------------------

def _overlap(lo: float, hi: float, start: float, end: float) -> float:
    return max(0.0, min(hi, end) - max(lo, start))


def window_ratio(minute: float, window: str, budget: float) -> float:
    """The exact mean error ratio over [minute - window, minute] (seconds weighted alike)."""
    w = duration_seconds(window)
    t = minute * 60
    bad = _overlap(t - w, t, ONSET * 60, RECOVERY * 60)
    healthy, incident = HEALTHY_BURN * budget, min(1.0, BURN * budget)
    return healthy + (incident - healthy) * bad / w


def firing(table: Any, budget: float, times: list[int]) -> dict[str, list[bool]]:
    """Per alert tier, whether it fires at each minute: a pair above its factor on both windows
    for the tier's `for:` (the condition checked every minute)."""
    out = {}
    for tier in table:
        wait = duration_seconds(tier.wait) / 60
        held: float | None = None
        states = []
        for t in times:
            now = any(window_ratio(t, p.long, budget) > p.burn_rate * budget
                      and window_ratio(t, p.short, budget) > p.burn_rate * budget for p in tier.pairs)
            held = (held if held is not None else t) if now else None
            states.append(held is not None and t - held >= wait)
        out[tier.severity] = states
    return out


@dataclasses.dataclass(frozen=True)
class Step:
    """One step of the generated Rollout (expand/rollout.py): setWeight or pause, with its span."""

    phase: str  # Progressing (setWeight) or Paused
    weight: int
    start: float
    end: float


def rollout_steps(model: Model) -> list[Step]:
    """The Rollout's steps on the simulated clock (no steps: one update straight to 100%)."""
    t, out = float(ROLLOUT_START), []
    steps = model.canary.steps if model.canary_on else ()
    for step in steps:
        out.append(Step("Progressing", step.weight, t, t + STEP_READY))
        t += STEP_READY
        if step.pause:
            length = MANUAL_PAUSE if step.pause == "manual" else duration_seconds(step.pause) / 60
            out.append(Step("Paused", step.weight, t, t + length))
            t += length
    if not out:
        out.append(Step("Progressing", 100, t, t + STEP_READY))
    return out


def canary_weight(steps: list[Step], minute: float) -> float | None:
    """The canary's weight in percent at `minute`; None before the rollout and after promotion."""
    for step in steps:
        if step.start <= minute < step.end:
            return float(step.weight)
    return None


def replicas(model: Model, steps: list[Step], minute: float) -> tuple[float, float]:
    """(desired, available) at `minute`: the surge scales to maxReplicas, the canary adds pods."""
    auto = model.autoscaling

    def desired(t: float) -> float:
        scales = model.uses_hpa or not model.standard
        stabilization = (auto.scale_down.stabilization_window_seconds or DEFAULT_STABILIZATION) / 60
        base = auto.max_replicas if scales and ONSET + 1 <= t < RECOVERY + stabilization else auto.min_replicas
        weight = canary_weight(steps, t) if model.standard and model.canary.istio else None
        return base + (math.ceil(base * weight / 100) if weight else 0)

    now = desired(minute)
    return now, min(now, desired(minute - POD_START))


# --- drawing --------------------------------------------------------------------------------------

def _hours(ax: Any, every: int) -> None:
    ax.set_xlim(0, MINUTES)
    ax.set_xticks(range(0, MINUTES + 1, every))
    ax.set_xticklabels([f"{m // 60}:{m % 60:02d}" for m in range(0, MINUTES + 1, every)], fontsize=7)
    ax.tick_params(axis="y", labelsize=7)
    ax.grid(True, color="#dddddd", linewidth=0.5)


def _percent(ax: Any, decimals: int = 1) -> None:
    from matplotlib.ticker import PercentFormatter

    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=decimals))


def _lines(ax: Any, panel: Panel, label_x: float = MINUTES) -> None:
    for value, colour, label in panel.lines:
        ax.axhline(value, color=COLOURS[colour], linestyle="--", linewidth=1)
        ax.text(label_x, value, f" {label} {value:g}", color=COLOURS[colour], fontsize=6, va="bottom", ha="right")


def _sli(ax: Any, panel: Panel, times: list[int]) -> None:
    assert panel.objective is not None
    budget = 1 - panel.objective
    for colour, window in zip(SERIES, panel.series):
        ax.plot(times, [1 - window_ratio(t, window, budget) for t in times], color=colour,
                label=f"good ratio ({window})")
    ax.axhline(panel.objective, color=COLOURS["red"], linewidth=1.2, label="objective")
    _percent(ax, 2)
    ax.legend(fontsize=6, loc="lower left")


def _budget(ax: Any, panel: Panel, times: list[int]) -> None:
    assert panel.objective is not None
    budget = 1 - panel.objective
    left = [1 - window_ratio(t, panel.series[0], budget) / budget for t in times]
    last = left[-1]
    colour = COLOURS["green"] if last >= 0.25 else COLOURS["orange"] if last >= 0 else COLOURS["red"]
    ax.fill_between(times, left, min(left) - 0.01, color=colour, alpha=0.25, linewidth=0)
    ax.plot(times, left, color=colour, linewidth=1)
    ax.text(0.5, 0.55, f"{last * 100:.1f}%", transform=ax.transAxes, ha="center", va="center", fontsize=28,
            color=colour, fontweight="bold")
    ax.set_yticks([])
    ax.set_ylim(min(left) - 0.01, max(left) + 0.02)


def _burn(ax: Any, panel: Panel, times: list[int], config: Config) -> None:
    assert panel.objective is not None
    budget = 1 - panel.objective
    for i, window in enumerate(panel.series):
        ax.plot(times, [window_ratio(t, window, budget) / budget for t in times], color=SERIES[i % len(SERIES)],
                label=window, linewidth=1.2)
    _lines(ax, panel, label_x=MINUTES - 2)
    for i, (severity, states) in enumerate(firing(config.burn_rate_alerts, budget, times).items()):
        colour = tier_colour(i)
        start = None
        for t, on in zip(times + [times[-1] + 1], states + [False]):
            if on and start is None:
                start = t
            elif not on and start is not None:
                ax.axvspan(start, t, color=COLOURS[colour], alpha=0.12, linewidth=0)
                ax.text(start, ax.get_ylim()[1] * (0.5 - 0.08 * i), f" {severity} fires", fontsize=7,
                        color=COLOURS[colour], va="center", fontweight="bold")
                start = None
    ax.legend(fontsize=6, loc="upper left", ncol=2)


def _traffic(ax: Any, model: Model, times: list[int]) -> None:
    steps = rollout_steps(model)
    new = [0.0 if t < steps[0].start else (canary_weight(steps, t) or 100.0) / 100 for t in times]
    old = [1 - n for n in new]
    ax.stackplot(times, old, new, colors=(SERIES[0], SERIES[1]), alpha=0.7,
                 labels=("stable template (old)", "canary template (new)"))
    ax.set_ylim(0, 1)
    _percent(ax, 0)
    ax.legend(fontsize=6, loc="lower right")


def _timeline(ax: Any, rows: list[tuple[str, list[tuple[float, float]], str]]) -> None:
    """A state timeline: one row per series, its spans in its colour."""
    for i, (label, spans, colour) in enumerate(rows):
        ax.broken_barh([(a, b - a) for a, b in spans], (i + 0.1, 0.8), color=COLOURS[colour])
    ax.set_yticks([i + 0.5 for i in range(len(rows))])
    ax.set_yticklabels([r[0] for r in rows], fontsize=6)
    ax.set_ylim(0, max(1, len(rows)))
    ax.invert_yaxis()


def _phases(model: Model) -> list[tuple[str, list[tuple[float, float]], str]]:
    steps = rollout_steps(model)
    begin, end = steps[0].start, steps[-1].end
    spans: dict[str, list[tuple[float, float]]] = {"Completed": [(0, begin), (end, MINUTES)], "Progressing": [],
                                                    "Paused": []}
    for step in steps:
        spans[step.phase].append((step.start, step.end))
    return [(phase, spans[phase], PHASE_COLOURS[phase]) for phase in spans]


def _analysis(model: Model, panel: Panel) -> list[tuple[str, list[tuple[float, float]], str]]:
    steps = rollout_steps(model)
    first = min(model.canary.analysis.starting_step, len(steps) - 1)
    begin, end = steps[first].start, steps[-1].end
    rows = []
    for metric in panel.series:
        rows.append((f"{metric}: Running", [(begin, end)], PHASE_COLOURS["Running"]))
        rows.append((f"{metric}: Successful", [(end, MINUTES)], PHASE_COLOURS["Successful"]))
    return rows


def _replicas(ax: Any, model: Model, panel: Panel, times: list[int]) -> None:
    steps = rollout_steps(model) if model.standard else []
    counts = [replicas(model, steps, t) for t in times]
    if model.standard:
        ax.step(times, [c[0] for c in counts], where="post", color=SERIES[0], label="desired")
        ax.step(times, [c[1] for c in counts], where="post", color=SERIES[1], label="available", linestyle=":")
    else:
        ax.step(times, [c[1] for c in counts], where="post", color=SERIES[0], label="ready pods")
    top = max(max(c[0] for c in counts), model.autoscaling.max_replicas)
    ax.set_ylim(0, top * 1.25 + 0.5)
    if model.uses_hpa:  # the dashboard reads the HPA's live bounds; the preview draws the model's
        for value, colour, label in ((model.autoscaling.min_replicas, "blue", "minReplicas"),
                                     (model.autoscaling.max_replicas, "red", "maxReplicas")):
            ax.axhline(value, color=colour, linestyle="--", linewidth=0.8, label=label)
    ax.legend(fontsize=6, loc="upper left")


def _draw(ax: Any, panel: Panel, me: ModelEnv, config: Config, times: list[int]) -> None:
    model = me.model
    if panel.kind == "sli":
        _sli(ax, panel, times)
    elif panel.kind == "budget":
        _budget(ax, panel, times)
    elif panel.kind == "burn":
        _burn(ax, panel, times, config)
    elif panel.kind == "traffic":
        _traffic(ax, model, times)
    elif panel.kind == "phase":
        _timeline(ax, _phases(model))
    elif panel.kind == "analysis":
        _timeline(ax, _analysis(model, panel))
    elif panel.kind == "replicas":
        _replicas(ax, model, panel, times)
    _hours(ax, 30 if panel.grid[2] >= 8 else 60)
    ax.set_title(panel.title, fontsize=9, loc="left")


def scenario(model: Model) -> str:
    """The simulated story, as the figure's subtitle says it."""
    said = (f"Simulated: healthy traffic at {HEALTHY_BURN:g}x the error-budget rate; {BURN:g}x from "
            f"{ONSET // 60}:{ONSET % 60:02d} to {RECOVERY // 60}:{RECOVERY % 60:02d} (a traffic surge: replicas scale "
            "up)")
    if model.standard:
        said += (f"; a canary rollout of the model's steps from 0:{ROLLOUT_START:02d} (manual pauses promoted after "
                 f"{MANUAL_PAUSE} min)")
    return said + "."


def figure(me: ModelEnv, config: Config) -> Any:
    """The preview of the dashboard of `me` as a matplotlib Figure, one axes per panel."""
    from matplotlib.figure import Figure

    laid = panels(me, config)
    rows = max(p.grid[1] + p.grid[3] for p in laid)
    height = HEADER_PX + rows * ROW_PX
    fig = Figure(figsize=(WIDTH_PX / DPI, height / DPI), dpi=DPI)
    fig.text(0.01, 1 - 22 / height, f"{me.name} ({me.env.name}): Grafana dashboard preview", fontsize=14,
             fontweight="bold", va="center")
    fig.text(0.01, 1 - 48 / height, scenario(me.model), fontsize=8, va="center", color="#444444")
    times = list(range(0, MINUTES + 1))
    col = WIDTH_PX / GRID_WIDTH
    for panel in laid:
        x, y, w, h = panel.grid
        left, right = (x * col + 62) / WIDTH_PX, ((x + w) * col - 10) / WIDTH_PX
        top, bottom = 1 - (HEADER_PX + y * ROW_PX + 24) / height, 1 - (HEADER_PX + (y + h) * ROW_PX - 24) / height
        if panel.kind in ("phase", "analysis"):
            left = (x * col + 150) / WIDTH_PX  # room for the row labels
        ax = fig.add_axes((left, bottom, right - left, top - bottom))
        _draw(ax, panel, me, config, times)
    return fig


def write(me: ModelEnv, config: Config, directory: str) -> str:
    """`directory/<model>-<env>.png`; returns its path."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    path = os.path.join(directory, f"{me.name}-{me.env.name}.png")
    with matplotlib.rc_context():
        matplotlib.rcdefaults()  # matplotlib's own style, whatever the user's matplotlibrc says
        fig = figure(me, config)
        FigureCanvasAgg(fig)
        fig.savefig(path, format="png", dpi=DPI, metadata={"Software": None})
    return path
