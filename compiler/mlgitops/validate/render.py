"""The render stage: a kustomization directory -> its objects, as `Document`s that remember where
each came from (the overlay, the file and line that set it, the patches applied).

`mlgitops validate`, `policy check` and `check` read overlays through here (documents.collect
calls it for every kustomization it finds); the built-in engine is kustomize/.
"""

from __future__ import annotations

from .. import layout
from ..diagnostics import Diagnostics
from .results import Document


def render_overlay(directory: str, shown: str, repo_root: str, diags: Diagnostics,
                   max_file_bytes: int | None = None) -> list[Document]:
    """The objects the built-in engine renders from the kustomization in `directory` (`shown`: its
    repo-relative name); [] after reporting a render error into `diags`."""
    from ..kustomize.engine import render
    from ..kustomize.errors import RenderError

    try:
        resources = render(directory, repo_root=repo_root, max_file_bytes=max_file_bytes)
    except RenderError as exc:
        diags.add(exc.diagnostic)
        return []
    overlay = layout.parse_overlay(shown)
    env = overlay.env if overlay is not None else None
    return [Document(obj=r.obj, file=shown, line=0, index=index, overlay=shown, env=env,
                     origin=r.source or None, origin_line=r.line, patches=list(r.patches))
            for index, r in enumerate(resources)]
