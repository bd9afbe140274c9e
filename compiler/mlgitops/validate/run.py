"""`mlgitops validate`, top to bottom: read inputs -> find schemas -> validate -> check references -> report.

One job: run the stages and turn every result into a `Diagnostic` that points at the line that
produced the value (the model file, a hand-written patch, or the file the object was read from).
Zero is never green: no objects at all, or every object skipped, is an error; a missing schema
is an error under `strict_schemas` (the default when `CI=true`) and a warning otherwise, naming
the command that would fetch or import it.
"""

from __future__ import annotations

import collections
import dataclasses
import os
from typing import Any, Sequence

from .. import contain
from ..diagnostics import ERROR, WARNING, Diagnostic, Diagnostics
from .documents import MAX_FILE_BYTES, Inputs, collect, default_paths, display_path
from .engine import signatures
from .results import ERRORED, INVALID, SKIPPED, VALID, Document, Finding, ObjectResult

ENGINES = ("builtin", "kubeconform", "both")
DEFAULT_KUBERNETES_VERSION = "1.33.0"


@dataclasses.dataclass
class Settings:
    locations: list[str]
    kubernetes_version: str
    strict: bool
    strict_schemas: bool
    engine: str = "builtin"
    kubeconform: str | None = None  # explicit path of the kubeconform binary
    max_file_bytes: int = MAX_FILE_BYTES
    # the locations came from mlgitops.yaml (untrusted: see check_config_locations), not the command line
    locations_from_config: bool = False


@dataclasses.dataclass
class Report:
    diagnostics: Diagnostics
    counts: dict
    skipped_reasons: dict  # reason -> number of objects
    inputs: Inputs | None
    files: list[str]  # the files the validated objects came from, sorted

    def summary_line(self) -> str:
        c = self.counts
        parts = []
        if self.inputs is not None:
            if self.inputs.overlays:
                parts.append(f"{self.inputs.overlays} overlay{'s' if self.inputs.overlays != 1 else ''}")
            if self.inputs.files:
                parts.append(f"{self.inputs.files} file{'s' if self.inputs.files != 1 else ''}")
        where = f" in {' and '.join(parts)}" if parts else ""
        line = (f"{c['resources']} resources found{where} - Valid: {c['valid']}, Invalid: {c['invalid']}, "
                f"Errors: {c['errors']}, Skipped: {c['skipped']}")
        if self.skipped_reasons:
            line += " (" + "; ".join(f"{n} {reason}" for reason, n in sorted(self.skipped_reasons.items())) + ")"
        return line


def settings_from(config: Any, *, locations: tuple = (), kubernetes_version: str | None = None,
                  strict: bool = True, strict_schemas: bool | None = None, engine: str = "builtin",
                  kubeconform: str | None = None, max_file_bytes: int = MAX_FILE_BYTES) -> Settings:
    """Command-line values first, then mlgitops.yaml `validation:`, then the defaults."""
    configured = getattr(config, "validation", None) or {}
    if strict_schemas is None:
        strict_schemas = configured.get("strictSchemas")
    if strict_schemas is None:
        strict_schemas = os.environ.get("CI", "").strip().lower() == "true"
    if max_file_bytes == MAX_FILE_BYTES:  # --max-file-size not changed: mlgitops.yaml limits.resourceFileMiB
        max_file_bytes = contain.limit("resource")
    return Settings(
        locations=list(locations) or list(configured.get("schemaLocations") or ["default"]),
        locations_from_config=not locations and bool(configured.get("schemaLocations")),
        kubernetes_version=kubernetes_version or configured.get("kubernetesVersion") or DEFAULT_KUBERNETES_VERSION,
        strict=strict, strict_schemas=strict_schemas, engine=engine, kubeconform=kubeconform,
        max_file_bytes=max_file_bytes)


def check_config_locations(settings: Settings, repo_root: str, config: Any, diags: Diagnostics) -> bool:
    """Whether the schema locations are allowed. Locations from mlgitops.yaml (which a pull request
    can change) must be local and inside the repository or the schema cache (.mlgitops/cache): an
    http(s) URL there is refused (input.remote-schema) and so is a local path outside
    (input.outside-repo), at the line of mlgitops.yaml. Locations given with --schema-location on
    the command line (chosen by whoever runs mlgitops, e.g. the CI workflow) are trusted."""
    if not settings.locations_from_config:
        return True
    from ..config import CONFIG_FILE
    from .locations import DEFAULT, fixed_directory, full_template, is_http

    doc = getattr(config, "doc", None)
    allowed = [os.path.abspath(repo_root), os.path.abspath(os.path.join(repo_root, ".mlgitops", "cache"))]
    ok = True
    for i, location in enumerate(settings.locations):
        if not isinstance(location, str) or location == DEFAULT:
            continue
        line, col = doc.position(("validation", "schemaLocations", i)) if doc is not None else (0, 0)
        if is_http(location):
            ok = False
            diags.error(CONFIG_FILE, line, col, "input.remote-schema",
                        f"validation.schemaLocations[{i}] is a URL: mlgitops.yaml may only name schema locations "
                        "inside the repository; pass a URL on the command line instead "
                        "(mlgitops validate --schema-location URL, as kubeconform -schema-location)")
            continue
        fixed = fixed_directory(full_template(location)) or "."
        path = os.path.normpath(os.path.join(repo_root, fixed))
        if not any(path == root or path.startswith(root.rstrip(os.sep) + os.sep) for root in allowed):
            ok = False
            diags.error(CONFIG_FILE, line, col, contain.RULE_OUTSIDE,
                        f"validation.schemaLocations[{i}] is outside the repository: mlgitops.yaml may only name "
                        "schema locations inside the repository or its schema cache; pass other locations on "
                        "the command line (mlgitops validate --schema-location PATH)")
    return ok


class _Mapper:
    """Findings about objects -> diagnostics at the source line that produced the value."""

    def __init__(self, repo_root: str) -> None:
        from .sourcemap import SourceMap

        self.sourcemap = SourceMap(repo_root)

    def diagnostic(self, doc: Document, finding: Finding) -> Diagnostic:
        if doc.overlay is None and not finding.path:
            file, line, col = doc.file, doc.line, 1
        else:
            file, line, col = self.sourcemap.locate(doc, finding.path)
        where = finding.dotted_path()
        message = f"{doc.label()}: {where + ': ' if where else ''}{finding.message}"
        return Diagnostic(file, line, col, finding.rule, finding.severity, message)

    def where(self, doc: Document) -> tuple[str, int, int, str]:
        """File, line and column of the document as a whole, and its label."""
        file, line, col = (doc.file, doc.line, 1) if doc.overlay is None else self.sourcemap.locate(doc, ())
        return file, line, col, doc.label()


def _run_engine(settings: Settings, registry: Any, docs: list[Document]
                ) -> tuple[list[ObjectResult], list[tuple[Document, Finding]]]:
    """Every document through the external engine (kubeconform: one run over all of them), or both
    engines and their disagreements."""
    from .engine import validate_documents
    from .kubeconform import compare, run_kubeconform

    gvks = signatures(docs)
    external = run_kubeconform(docs, registry.kubeconform_locations(gvks), strict=settings.strict,
                               kubernetes_version=settings.kubernetes_version, binary=settings.kubeconform,
                               cache_dir=registry.http_cache_dir)
    if settings.engine == "kubeconform":
        return external, []
    builtin = validate_documents(docs, registry, strict=settings.strict)
    return builtin, compare(builtin, external)


@dataclasses.dataclass
class Partial:
    """What validating one overlay's (or file's) documents produced: small, so the forked workers
    that render and validate send only this back (see Validator.partial)."""

    diagnostics: list
    counts: collections.Counter
    skipped: collections.Counter  # reason -> objects
    # (kind, apiVersion) without a schema -> [its first object, objects]
    missing: dict
    unpinned: dict  # schema source -> warning
    files: set


class Validator:
    """The stages after reading: schemas, references, diagnostics at source lines. `partial` runs on
    one overlay's (or file's) documents at a time, in the process that rendered them (forked workers
    inherit this object, its registry and compiled schemas); `report` puts the partials together."""

    def __init__(self, settings: Settings, registry: Any, repo_root: str) -> None:
        from .engine import Engine

        self.settings = settings
        self.registry = registry
        self.engine = Engine(registry)
        self.mapper = _Mapper(repo_root)

    def partial(self, docs: list[Document], results: list[ObjectResult] | None = None,
                disagreements: Sequence[tuple[Document, Finding]] = ()) -> Partial:
        """Schemas (the built-in engine, unless `results` come from another) and references of
        `docs`, which hold whole overlays or files (references resolve inside one)."""
        from .references import check_references

        if results is None:
            results = [self.engine.validate(doc) for doc in docs]
        mapper = self.mapper
        part = Partial([], collections.Counter(), collections.Counter(), {}, {}, set())
        for result in results:
            part.files.add(result.doc.file)
            part.counts["resources"] += 1
            part.counts[_STATUS[result.status]] += 1
            for finding in result.findings:
                part.diagnostics.append(mapper.diagnostic(result.doc, finding))
            if result.status == SKIPPED:
                if result.schema is None:
                    doc = result.doc
                    key = (doc.kind, doc.api_version)
                    if key not in part.missing:  # located in `report`, once for the whole input
                        part.missing[key] = [doc, 0]
                    part.missing[key][1] += 1
                    part.skipped["without a schema"] += 1
                else:
                    part.skipped[result.reason or "skipped"] += 1
        for doc, finding in disagreements:
            part.diagnostics.append(mapper.diagnostic(doc, finding))
        for doc, finding in check_references(docs):
            part.diagnostics.append(mapper.diagnostic(doc, finding))
        for api_version, kind in signatures(docs):
            lookup = self.registry.lookup(api_version, kind)
            if lookup.warning and lookup.source:
                part.unpinned[lookup.source] = lookup.warning
        return part

    def report(self, partials: list[Partial], inputs: Inputs, paths: list[str], repo_root: str,
               diags: Diagnostics) -> Report:
        """One report from the partials, in input order, with the findings about the whole input: a
        missing schema (once per kind, at its first object), unpinned schemas, nothing validated."""
        settings = self.settings
        counts: collections.Counter = collections.Counter(dict(resources=0, valid=0, invalid=0, errors=0, skipped=0))
        skipped: collections.Counter = collections.Counter()
        missing: dict = {}
        unpinned: dict = {}
        files: set = set()
        for part in partials:
            diags.extend(part.diagnostics)
            counts.update(part.counts)
            skipped.update(part.skipped)
            for key, (first, n) in part.missing.items():
                missing.setdefault(key, [first, 0])[1] += n
            unpinned.update(part.unpinned)
            files |= part.files
        severity = ERROR if settings.strict_schemas else WARNING
        for (kind, api_version), (first, n) in sorted(missing.items()):
            file, line, col, label = self.mapper.where(first)
            group = api_version.rpartition("/")[0]
            others = f" (and {n - 1} more object{'s' if n > 2 else ''})" if n > 1 else ""
            diags.add(Diagnostic(file, line, col, "schema.missing", severity, f"{label}: "
                f"no schema for {kind} {api_version} in {', '.join(settings.locations)}{others}; "
                + (f"run 'mlgitops schemas pull {api_version}/{kind}' or 'mlgitops schemas import CRD.yaml'"
                   if group else "is the kind spelled right and the Kubernetes version new enough?")
                + ("" if settings.strict_schemas else " (an error with --strict-schemas)")))
        for source, warning in sorted(unpinned.items()):
            diags.warning(source, 0, 0, "schema.unpinned", warning)

        where = display_path(paths[0], repo_root) if paths and paths[0] != "-" else "<stdin>" if paths else "."
        if not counts["resources"] and not diags.has_errors:
            shown = ", ".join(display_path(p, repo_root) for p in paths) if paths else "overlays/ and argocd/"
            diags.error(where, 0, 0, "validate.empty",
                        f"no Kubernetes objects found in {shown}: nothing was validated")
        elif counts["resources"] and counts["skipped"] == counts["resources"]:
            diags.error(where, 0, 0, "validate.all-skipped",
                        f"all {counts['resources']} objects were skipped, none was validated")
        return Report(diags, dict(counts), dict(skipped), inputs, sorted(files))


_STATUS = {VALID: "valid", INVALID: "invalid", ERRORED: "errors", SKIPPED: "skipped"}


def validator(settings: Settings, repo_root: str, config: Any, diags: Diagnostics) -> Validator | None:
    """The Validator for these settings, or None with the reason in `diags` (schema locations
    mlgitops.yaml may not name, or locations that are not valid)."""
    from .registry import SchemaRegistry

    if not check_config_locations(settings, repo_root, config, diags):
        return None
    try:
        registry = SchemaRegistry(settings.locations, repo_root=repo_root,
                                  kubernetes_version=settings.kubernetes_version, strict=settings.strict,
                                  cache_dir=os.path.join(repo_root, ".mlgitops", "cache"),
                                  from_config=settings.locations_from_config)
    except ValueError as exc:
        diags.error("<command line>", 0, 0, "usage.schema-location", str(exc))
        return None
    return Validator(settings, registry, repo_root)


def validate(paths: list[str], repo_root: str, settings: Settings, *, config: Any = None,
             stdin: Any = None, inputs: Inputs | None = None) -> Report:
    """Run every stage; never raises for bad input (usage problems come back as `usage.*` findings).

    With the built-in engine and no `inputs` read already, each overlay is validated in the
    (forked) process that rendered it, and only its findings come back."""
    from .kubeconform import KubeconformError
    from .registry import SchemaError

    diags = Diagnostics()
    checker = validator(settings, repo_root, config, diags)
    if checker is None:
        return Report(diags, dict(EMPTY_COUNTS), {}, None, [])
    try:
        if inputs is None and settings.engine == "builtin":
            inputs = collect(paths or default_paths(repo_root), repo_root, strict=settings.strict,
                             max_file_bytes=settings.max_file_bytes, stdin=stdin, on_documents=checker.partial)
            partials = inputs.results
        else:
            if inputs is None:
                inputs = collect(paths or default_paths(repo_root), repo_root, strict=settings.strict,
                                 max_file_bytes=settings.max_file_bytes, stdin=stdin)
            partials = validate_read(checker, inputs)
    except KubeconformError as exc:
        diags.error("<command line>", 0, 0, "usage.kubeconform", str(exc))
        return Report(diags, dict(EMPTY_COUNTS), {}, inputs, [])
    except SchemaError as exc:  # a schema file kubeconform would read leads outside the repository
        path, _, message = str(exc).partition(": ")
        diags.error(path, 0, 0, exc.rule, message)
        return Report(diags, dict(EMPTY_COUNTS), {}, inputs, [])
    diags.extend(inputs.diagnostics)
    return checker.report(partials, inputs, paths, repo_root, diags)


EMPTY_COUNTS = dict(resources=0, valid=0, invalid=0, errors=0, skipped=0)


def validate_read(checker: Validator, inputs: Inputs) -> list[Partial]:
    """The partials of documents read already (inputs.documents), one per overlay or file."""
    docs = inputs.documents
    results, disagreements = (None, []) if checker.settings.engine == "builtin" else \
        _run_engine(checker.settings, checker.registry, docs)
    by_doc = {} if results is None else {id(r.doc): r for r in results}
    partials = []
    for group in _groups(docs):
        group_results = None if results is None else [by_doc[id(doc)] for doc in group]
        ids = {id(doc) for doc in group}
        partials.append(checker.partial(group, group_results, [(d, f) for d, f in disagreements if id(d) in ids]))
    return partials


def _groups(docs: list[Document]) -> list[list[Document]]:
    """The documents by overlay (or file), in order of their first document."""
    groups: dict[tuple, list[Document]] = {}
    for doc in docs:
        key = ("overlay", doc.overlay) if doc.overlay is not None else ("file", doc.file)
        groups.setdefault(key, []).append(doc)
    return list(groups.values())
