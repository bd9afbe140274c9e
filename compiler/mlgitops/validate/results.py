"""The values every validation stage passes along: documents in, per-object results out.

`Document` is one YAML document to validate, with where it came from; `Finding` is one
problem inside it at a JSON path; `ObjectResult` is the verdict on one document. Both the
built-in engine and the kubeconform wrapper produce `ObjectResult`s, so the report, the
source mapping and the `--engine both` comparison treat them alike.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ..diagnostics import ERROR

# Statuses, as kubeconform names them (without its "status" prefix).
VALID, INVALID, ERRORED, SKIPPED = "valid", "invalid", "error", "skipped"


@dataclasses.dataclass
class Document:
    obj: Any  # the parsed document (a dict for a Kubernetes object)
    file: str  # display path of the file the document was read from ("<stdin>" for stdin)
    line: int = 1  # 1-based line where the document starts in `file`
    index: int = 0  # position of the document in `file` (0-based)
    overlay: str | None = None  # repo-relative kustomization directory it was rendered from
    env: str | None = None  # environment, when the overlay is overlays/<env>/...
    origin: str | None = None  # repo-relative file the object was read from before rendering
    origin_line: int = 1  # line of the object's document in `origin`
    patches: list = dataclasses.field(default_factory=list)  # kustomize.resource.PatchRecord, in order applied
    # The document's own YAML text, which starts at line `text_line` of `file`: kept while the file is
    # being checked (findings are located in it without reading the file again), dropped before
    # documents are sent between processes.
    text: str | None = dataclasses.field(default=None, repr=False, compare=False)
    text_line: int = 1

    @property
    def api_version(self) -> str:
        value = self.obj.get("apiVersion") if isinstance(self.obj, dict) else None
        return value if isinstance(value, str) else ""

    @property
    def kind(self) -> str:
        value = self.obj.get("kind") if isinstance(self.obj, dict) else None
        return value if isinstance(value, str) else ""

    @property
    def name(self) -> str:
        meta = self.obj.get("metadata") if isinstance(self.obj, dict) else None
        name = meta.get("name") if isinstance(meta, dict) else None
        return name if isinstance(name, str) else ""

    @property
    def namespace(self) -> str:
        meta = self.obj.get("metadata") if isinstance(self.obj, dict) else None
        namespace = meta.get("namespace") if isinstance(meta, dict) else None
        return namespace if isinstance(namespace, str) else ""

    def label(self) -> str:
        """`Kind name (env)` as findings name an object, e.g. `InferenceService iris (prod)`."""
        text = f"{self.kind or '<no kind>'} {self.name or '<no name>'}"
        where = self.env or self.namespace
        return f"{text} ({where})" if where else text


@dataclasses.dataclass(frozen=True)
class Finding:
    path: tuple  # JSON path inside the object: ("spec", "predictor", "maxReplicas"), list indexes as ints
    message: str  # what is wrong, without the path, e.g. "-1 is less than the minimum of 0"
    rule: str = "schema"
    severity: str = ERROR

    def dotted_path(self) -> str:
        """`spec.containers[0].image`, as kubectl explain and kubeconform users read paths."""
        out = ""
        for part in self.path:
            out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
        return out


@dataclasses.dataclass
class ObjectResult:
    doc: Document
    status: str  # VALID | INVALID | ERRORED | SKIPPED
    findings: list[Finding] = dataclasses.field(default_factory=list)
    schema: str | None = None  # where the schema came from (file path or URL)
    reason: str = ""  # why it was skipped or errored
