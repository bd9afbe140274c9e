"""Find the JSON schema of an (apiVersion, kind) along the schema locations, as kubeconform does.

One job: `SchemaRegistry.lookup()` tries each location in order (locations.py has the template
rules) and returns the first schema found, or why none was. `default` expands to
1. `<repo>/schemas/{{ .Group }}-strict/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json` (strict only),
2. `<repo>/schemas/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json`,
3. the Kubernetes core schemas of kubernetes-validate for the configured version (k8sschemas.py).

Sources, like kubeconform: a missing local file or an HTTP 404 means "not here, try the next
location"; any other failure is a hard error that stops the search (Lookup.error and .rule).
Unlike kubeconform, which moves on silently, a schema that is not valid JSON (or not a JSON
object) is an error too ("schema.invalid-json"): a broken schema is never skipped. Relative local
locations are relative to `repo_root`. HTTP responses (200 only, and only when they parse as
JSON) are cached in `<cache>/http/<sha256 of the URL>`, the file layout of kubeconform's `-cache`,
so a cached URL is never fetched again and kubeconform given `-cache <http_cache_dir>` reads the
same bytes.

Lock policy: a schema read from `<repo>/schemas/` is checked against `schemas/schemas.lock`; a
sha256 mismatch (or an unreadable lock) is a "schema.checksum" error. A file the lock pins that
is missing ends the search with no schema (the caller's "schema.missing"): going on to the next
location would let a deleted `-strict` schema quietly loosen the check. A file there that the lock does not list
(hand-written, or no lock at all) is used, and `Lookup.warning` says it is not pinned, so the
caller can report it without failing the run.

`kubeconform_locations()` gives real kubeconform the same view: `default` becomes the two
schemas/ templates (absolute) plus a directory of materialised core schemas under
`<cache>/kubernetes/`; run kubeconform with `-strict` iff `strict`. kubeconform does not check
the lock, so callers must act on `lookup()` errors themselves.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from typing import Any, Iterable

from .. import contain
from . import k8sschemas
from .locations import DEFAULT, check_kubernetes_version, expand, fixed_directory, full_template, is_http, \
    local_path, parse_locations
from .lock import LOCK_NAME, LockError, check, read_lock, sha256, write_atomic

__all__ = ["Lookup", "SchemaError", "SchemaRegistry", "fetch_url", "parse_locations", "parse_schema", "read_file"]

HTTP_TIMEOUT = 30.0
_REPO_TEMPLATE = "{{ .Group }}%s/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json"
_CORE_TEMPLATE = "{{ .ResourceKind }}{{ .KindSuffix }}.json"


@dataclasses.dataclass
class Lookup:
    schema: dict | None  # parsed JSON schema, None when not found or failed
    source: str | None  # file path (repo-relative when inside repo) or URL it came from
    tried: list[str]  # every concrete path/URL tried, in order
    error: str | None  # hard failure (checksum mismatch, invalid JSON, HTTP 500...): message
    rule: str | None = None  # "schema.checksum" | "schema.invalid-json" | "schema.fetch"
    warning: str | None = None  # schema used but not pinned in schemas/schemas.lock
    pinned_missing: str | None = None  # the file schemas.lock pins that ended the search, missing


class _PinnedMissing(Exception):
    """A schema file schemas.lock pins is not there."""


class SchemaError(Exception):
    """A hard failure reading a schema; `rule` is the Lookup rule id."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule


def read_file(path: str, where: str, roots: list[str] | None = None) -> bytes | None:
    """The bytes of a local schema file, read through contain (its real path under one of `roots`
    when given, a regular file, at most 32 MiB); None when it does not exist."""
    try:
        return contain.read_bytes(roots, path, "schema")
    except (FileNotFoundError, NotADirectoryError):
        return None
    except contain.ContainmentError as exc:
        raise SchemaError(exc.rule, f"{where}: schema {exc.message}") from None
    except OSError as exc:
        raise SchemaError("schema.fetch", f"{where}: cannot read schema: {exc.strerror or exc}") from None


def fetch_url(url: str) -> bytes | None:
    """The body of a 200 response; None on 404; SchemaError on any other outcome."""
    # Imported here: urllib.request brings http.client, ssl and email (15-20 ms), and only an
    # http(s) schema location needs it.
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, headers={"User-Agent": "mlgitops"})
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:
            return response.read()
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise SchemaError("schema.fetch", f"{url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise SchemaError("schema.fetch", f"{url}: cannot fetch schema: {reason}") from None


def parse_schema(data: bytes, where: str) -> dict:
    """The JSON object in `data`; SchemaError("schema.invalid-json") otherwise."""
    try:
        schema = json.loads(data)
    except (UnicodeDecodeError, ValueError) as exc:
        raise SchemaError("schema.invalid-json", f"{where}: schema is not valid JSON: {exc}") from None
    if not isinstance(schema, dict):
        raise SchemaError("schema.invalid-json", f"{where}: schema is not a JSON object")
    return schema


class SchemaRegistry:
    def __init__(self, locations: list[str], *, repo_root: str, kubernetes_version: str = "1.33.0",
                 strict: bool = True, cache_dir: str | None = None, from_config: bool = False) -> None:
        self.locations = parse_locations(list(locations))
        # locations from mlgitops.yaml (a file a pull request controls) may only read inside the
        # repository or the schema cache; command-line ones only under their fixed directory
        self.from_config = from_config
        check_kubernetes_version(kubernetes_version)
        if DEFAULT in self.locations:
            k8sschemas.check_version(kubernetes_version)
        self.repo_root = os.path.abspath(repo_root)
        self.kubernetes_version = kubernetes_version
        self.strict = strict
        self.cache_dir = os.path.abspath(cache_dir or os.path.join(self.repo_root, ".mlgitops", "cache"))
        self.schemas_dir = os.path.join(self.repo_root, "schemas")
        self._memo: dict[tuple[str, str], Lookup] = {}
        self._core: dict[tuple[str, str], dict | None] = {}
        self._lock: dict[str, Mapping[str, Any]] | None = None
        self._lock_error: str | None = None
        self._lock_read = False

    @property
    def missing_hint(self) -> str:
        return "run 'mlgitops schemas pull' or 'mlgitops schemas import CRD.yaml'"

    @property
    def http_cache_dir(self) -> str:
        """Where HTTP schemas are cached; pass it to kubeconform as `-cache`."""
        return os.path.join(self.cache_dir, "http")

    # --- locations ---------------------------------------------------------------------------------

    def _local(self, location: str) -> str:
        if location.startswith("file:") or os.path.isabs(location):
            return location
        return os.path.join(self.repo_root, location)

    def _repo_templates(self) -> list[str]:
        suffixes = ["-strict", ""] if self.strict else [""]
        return [os.path.join(self.schemas_dir, _REPO_TEMPLATE % s) for s in suffixes]

    def _sources(self) -> list[tuple[str, str, list[str]]]:
        """[(kind of source: local | http | core, full template, roots a local read must stay under)]
        in lookup order."""
        out: list[tuple[str, str, list[str]]] = []
        for location in self.locations:
            if location == DEFAULT:
                out += [("local", t, [self.repo_root]) for t in self._repo_templates()]
                out.append(("core", "", []))
            elif is_http(location):
                out.append(("http", full_template(location), []))
            else:
                template = full_template(self._local(location))
                if self.from_config:
                    roots = [self.repo_root, self.cache_dir]
                else:
                    roots = [fixed_directory(template) or self.repo_root]
                out.append(("local", template, roots))
        return out

    def _display(self, path: str) -> str:
        ap = os.path.abspath(path)
        if os.path.commonpath([ap, self.repo_root]) == self.repo_root:
            return os.path.relpath(ap, self.repo_root).replace(os.sep, "/")
        return ap

    # --- lookup ------------------------------------------------------------------------------------

    def lookup(self, api_version: str, kind: str) -> Lookup:
        key = (api_version, kind)
        if key not in self._memo:
            self._memo[key] = self._lookup(api_version, kind)
        return self._memo[key]

    def _lookup(self, api_version: str, kind: str) -> Lookup:
        tried: list[str] = []
        for source, template, roots in self._sources():
            try:
                if source == "core":
                    where = self._display(k8sschemas.source_path(self.kubernetes_version, self.strict,
                                                                 api_version, kind))
                    tried.append(where)
                    schema = self._core_schema(api_version, kind)
                    if schema is not None:
                        return Lookup(schema, where, tried, None)
                    continue
                concrete = expand(template, api_version, kind, self.kubernetes_version, self.strict)
                if source == "http":
                    tried.append(concrete)
                    data = self._fetch(concrete)
                    where = concrete
                    warning = None
                else:
                    path = local_path(concrete)
                    where = self._display(path)
                    tried.append(where)
                    data = read_file(path, where, roots)
                    warning = self._check_lock(path, where, data)
                if data is None:
                    continue
                return Lookup(parse_schema(data, where), where, tried, None, warning=warning)
            except SchemaError as exc:
                return Lookup(None, tried[-1] if tried else None, tried, str(exc), exc.rule)
            except _PinnedMissing:
                # no schema: the search never goes on to a looser one the lock does not promise
                return Lookup(None, None, tried, None, pinned_missing=tried[-1])
        return Lookup(None, None, tried, None)

    def _core_schema(self, api_version: str, kind: str) -> dict | None:
        key = (api_version, kind)
        if key not in self._core:
            try:
                self._core[key] = k8sschemas.standalone(self.kubernetes_version, self.strict, api_version, kind)
            except (OSError, ValueError) as exc:
                raise SchemaError("schema.invalid-json",
                                  f"kubernetes-validate schema for {kind} {api_version}: {exc}") from None
        return self._core[key]

    def _check_lock(self, path: str, where: str, data: bytes | None) -> str | None:
        """Raise on a checksum mismatch (SchemaError), or _PinnedMissing when a file the lock pins
        is missing (`data` None); the 'not pinned' warning, or None."""
        ap = os.path.abspath(path)
        if os.path.commonpath([ap, self.schemas_dir]) != self.schemas_dir:
            return None
        if data is None and not os.path.lexists(os.path.join(self.schemas_dir, LOCK_NAME)):
            return None  # nothing pinned: not here, as for kubeconform
        if not self._lock_read:
            self._lock_read = True
            try:
                self._lock = read_lock(self.schemas_dir)
            except LockError as exc:
                self._lock_error = str(exc)
        if self._lock_error:
            if data is None:
                return None
            raise SchemaError("schema.checksum", f"{self._lock_error}; cannot check {where} "
                                              "(re-run 'mlgitops schemas import' or 'mlgitops schemas pull')")
        rel = os.path.relpath(ap, self.schemas_dir).replace(os.sep, "/")
        entry = (self._lock or {}).get(rel)
        if data is None:
            if entry is not None:
                raise _PinnedMissing(where)
            return None
        if entry is None:
            return (f"{where} is not listed in {self._display(os.path.join(self.schemas_dir, LOCK_NAME))}: "
                    f"its checksum is not pinned ({self.missing_hint} records it)")
        problem = check(entry, data, where)
        if problem:
            raise SchemaError("schema.checksum", problem)
        return None

    def _fetch(self, url: str) -> bytes | None:
        cached = os.path.join(self.http_cache_dir, sha256(url.encode("utf-8")))
        try:
            return contain.read_bytes([self.cache_dir], cached, "schema")
        except (OSError, contain.ContainmentError):
            pass
        data = fetch_url(url)
        if data is not None:
            parse_schema(data, url)  # never cache a body that is not a schema
            write_atomic(cached, data)
        return data

    # --- kubeconform -------------------------------------------------------------------------------

    def kubeconform_locations(self, gvks: Iterable[tuple[str, str]]) -> list[str]:
        """-schema-location values that make kubeconform see what lookup() sees for `gvks`.

        Writes the standalone core schemas of `gvks` under `<cache>/kubernetes/`. kubeconform reads
        local schema files itself, following links: every file it could read for `gvks` is first
        held to the same containment as lookup() (SchemaError input.outside-repo otherwise).
        """
        gvks = sorted(set(gvks))
        for source, template, roots in self._sources():
            if source != "local":
                continue
            for api_version, kind in gvks:
                path = local_path(expand(template, api_version, kind, self.kubernetes_version, self.strict))
                if os.path.lexists(path):
                    try:
                        contain.resolve(roots, path)
                    except contain.ContainmentError as exc:
                        raise SchemaError(exc.rule, f"{self._display(path)}: schema {exc.message}; kubeconform "
                                                    "would read it, so it is not run") from None
        for api_version, kind in gvks:  # where lookup() stops, kubeconform would go on: not run either
            missing = self.lookup(api_version, kind).pinned_missing
            if missing is not None:
                raise SchemaError("schema.missing", f"{missing}: pinned in "
                                  f"{self._display(os.path.join(self.schemas_dir, LOCK_NAME))} but missing; "
                                  "kubeconform would go on to the next schema location, so it is not run: "
                                  "restore it, or re-run 'mlgitops schemas import' or 'mlgitops schemas pull'")
        out: list[str] = []
        for location in self.locations:
            if location == DEFAULT:
                out += self._repo_templates()
                core_dir = k8sschemas.standalone_dir(os.path.join(self.cache_dir, "kubernetes"),
                                                     self.kubernetes_version, self.strict)
                for api_version, kind in sorted(set(gvks)):
                    try:
                        schema = self._core_schema(api_version, kind)
                    except SchemaError:
                        continue
                    if schema is not None:
                        write_atomic(os.path.join(core_dir, k8sschemas.file_name(api_version, kind)),
                                     k8sschemas.dumps(schema).encode("utf-8"))
                out.append(os.path.join(core_dir, _CORE_TEMPLATE))
            elif is_http(location):
                os.makedirs(self.http_cache_dir, exist_ok=True)
                out.append(location)
            else:
                out.append(self._local(location))
        return out
