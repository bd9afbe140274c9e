"""Render errors carry the kustomization file and line, like every other mlgitops finding."""

from __future__ import annotations

from ..diagnostics import Diagnostic, ERROR


class RenderError(Exception):
    def __init__(self, file: str, line: int, column: int, rule: str, message: str) -> None:
        super().__init__(f"{file}:{line}:{column}: {message} [{rule}]")
        self.diagnostic = Diagnostic(file, line, column, rule, ERROR, message)


def not_supported(file: str, line: int, column: int, field: str, why: str = "") -> RenderError:
    return RenderError(file, line, column, "render.not-supported",
                       f"not supported: {field}" + (f" ({why})" if why else "") +
                       "; use --engine kustomize to render with the real kustomize")
