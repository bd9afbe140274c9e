"""`mlgitops schemas pull`: fetch custom resources' JSON schemas into schemas/ and pin them in the lock.

One job: for each `group/version/Kind` (given, or found by rendering every overlays/<env>/<model>/
and keeping the custom kinds that have no schema yet), expand the source template (kubeconform's
template variables, locations.py; default: the datreeio CRDs-catalog layout on GitHub), fetch it
(http(s) URL, `file://` URL or local path) and write it byte for byte to
`<out>/<group>/<kind>_<version>.json`, recording its source and sha256 in `<out>/schemas.lock`
(merged with the entries of `schemas import`). A source that does not end in "json" is a base
directory or URL to which the catalog layout is appended. Nothing is written when any fetch fails.
Core kinds (those kubernetes-validate has a schema for) are never pulled in discovery mode.
"""

from __future__ import annotations

import dataclasses
import os

from ..diagnostics import Diagnostics
from . import k8sschemas
from .locations import check_kubernetes_version, expand, is_http, local_path
from .lock import LOCK_NAME, LockEntry, merge_lock, sha256, write_atomic
from .registry import SchemaError, fetch_url, parse_schema, read_file

CATALOG_LAYOUT = "{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json"
DEFAULT_TEMPLATE = "https://raw.githubusercontent.com/datreeio/CRDs-catalog/main/" + CATALOG_LAYOUT
COMMAND_LINE = "<command line>"


@dataclasses.dataclass
class PullResult:
    diagnostics: Diagnostics
    written: list[str]  # output paths whose content changed
    schemas: list[LockEntry]  # lock entries of this run
    resources: list[tuple[str, str]]  # (apiVersion, kind) pulled, in order


def parse_resource(text: str) -> tuple[str, str]:
    """`serving.kserve.io/v1beta1/InferenceService` -> ("serving.kserve.io/v1beta1", "InferenceService")."""
    parts = text.split("/")
    if len(parts) != 3 or not all(parts):
        raise ValueError(f"resource {text!r} is not group/version/Kind "
                         "(e.g. serving.kserve.io/v1beta1/InferenceService)")
    return f"{parts[0]}/{parts[1]}", parts[2]


def schema_rel_path(api_version: str, kind: str) -> str:
    """`<group>/<kind>_<version>.json`, the catalog layout, relative to the schemas directory."""
    group, _, version = api_version.partition("/")
    return f"{group}/{kind.lower()}_{version}.json"


def _is_core(api_version: str, kind: str, kubernetes_version: str) -> bool:
    return "/" not in api_version or \
        os.path.exists(k8sschemas.source_path(kubernetes_version, False, api_version, kind))


def _has_schema(output_dir: str, api_version: str, kind: str) -> bool:
    group, _, version = api_version.partition("/")
    return any(os.path.exists(os.path.join(output_dir, f"{group}{s}", f"{kind.lower()}_{version}.json"))
               for s in ("", "-strict"))


def discover(repo: str, output_dir: str, kubernetes_version: str,
             diags: Diagnostics) -> list[tuple[tuple[str, str], str]]:
    """[((apiVersion, kind), file where first seen)] of custom kinds without a schema, sorted:
    the objects `mlgitops validate` checks by default (overlays/ rendered, argocd/)."""
    from .documents import collect, default_paths

    inputs = collect(default_paths(repo), repo)
    diags.extend(inputs.diagnostics)
    found: dict[tuple[str, str], str] = {}
    for doc in inputs.documents:
        if doc.api_version and doc.kind:
            found.setdefault((doc.api_version, doc.kind), doc.overlay or doc.file)
    return [(gvk, where) for gvk, where in sorted(found.items())
            if not _is_core(*gvk, kubernetes_version) and not _has_schema(output_dir, *gvk)]


def full_source(template: str) -> str:
    """`template`, with the catalog layout appended when it does not end in "json"."""
    return template if template.endswith("json") else template.rstrip("/") + "/" + CATALOG_LAYOUT


def _label(path: str, repo: str) -> str:
    ap, ar = os.path.abspath(path), os.path.abspath(repo)
    if os.path.commonpath([ap, ar]) == ar:
        return os.path.relpath(ap, ar).replace(os.sep, "/")
    return ap


def pull_schemas(resources: list[str], output_dir: str, repo: str = ".", template: str = DEFAULT_TEMPLATE,
                 kubernetes_version: str = "1.33.0") -> PullResult:
    """Fetch and write the schemas; usage mistakes are diagnostics with rules starting "usage."."""
    diags = Diagnostics()
    source = full_source(template)
    try:
        check_kubernetes_version(kubernetes_version)
        expand(source, "apps/v1", "Deployment", kubernetes_version, False)
        k8sschemas.check_version(kubernetes_version)
    except ValueError as exc:
        diags.error(COMMAND_LINE, 0, 0, "usage.template", str(exc))
        return PullResult(diags, [], [], [])
    wanted: list[tuple[tuple[str, str], str | None]] = []
    for text in resources:
        try:
            wanted.append((parse_resource(text), None))
        except ValueError as exc:
            diags.error(COMMAND_LINE, 0, 0, "usage.resource", str(exc))
    if diags.has_errors:
        return PullResult(diags, [], [], [])
    if not resources:
        wanted = list(discover(repo, output_dir, kubernetes_version, diags))
        if diags.has_errors:
            return PullResult(diags, [], [], [])
    wanted = list(dict(wanted).items())  # each resource once, first occurrence kept
    fetched: dict[str, bytes] = {}
    entries: list[LockEntry] = []
    for (api_version, kind), overlay in wanted:
        concrete = expand(source, api_version, kind, kubernetes_version, False)
        if is_http(concrete):
            where = label = concrete
        else:
            path = local_path(concrete)
            where, label = path, _label(path, repo)
        try:
            data = fetch_url(concrete) if is_http(concrete) else read_file(where, label)
            if data is not None:
                parse_schema(data, label)
        except SchemaError as exc:  # every message names the kind and the URL or file that failed
            message = str(exc)
            detail = message[len(label) + 2:] if message.startswith(label + ": ") else message
            diags.error(overlay or label, 0, 0, exc.rule, f"{kind} {api_version} from {label}: {detail}")
            continue
        if data is None:
            diags.error(overlay or label, 0, 0, "schema.not-found",
                        f"no schema for {kind} {api_version} at {label}")
            continue
        rel = schema_rel_path(api_version, kind)
        fetched[rel] = data
        group, _, version = api_version.partition("/")
        entries.append({"path": rel, "source": label, "group": group, "kind": kind, "version": version,
                        "strict": False, "sha256": sha256(data)})
    pulled = [gvk for gvk, _ in wanted]
    if diags.has_errors:
        return PullResult(diags, [], [], pulled)
    written = [os.path.join(output_dir, rel) for rel in sorted(fetched)
               if write_atomic(os.path.join(output_dir, rel), fetched[rel])]
    if entries and merge_lock(output_dir, entries):
        written.append(os.path.join(output_dir, LOCK_NAME))
    return PullResult(diags, written, sorted(entries, key=lambda e: e["path"]), pulled)
