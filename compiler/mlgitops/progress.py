"""The progress callback long commands take (the terminal line itself is cli._Progress)."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """How far a long command is: `done` of `total` steps, and what it is doing. The build tells
    it the models loaded and then compiled (`what`: pipeline.LOADED, pipeline.COMPILED), check its
    stages (the build stage with its models), diff the overlays rendered, slo test the promtool runs."""

    def __call__(self, done: int, total: int, what: str = "") -> None: ...
