"""Read what `mlgitops validate` checks: rendered overlays, YAML/JSON files, directories, stdin.

One job: turn command-line paths into `Document`s (one per object, with the file and line it
starts at) plus diagnostics for input that is not a stream of Kubernetes objects. A directory
holding a kustomization is rendered (the render stage, render.render_overlay; a `Component` is
skipped: it is rendered as part of the overlays that use it); any other directory is walked for `.yaml`,
`.yml` and `.json` files, rendering the kustomizations found on the way, as kubeconform walks
directories. mlgitops' own files (`apiVersion: mlgitops.dev/...`) are not Kubernetes objects
and are left out.

Hostile input is refused with a clear error instead of hanging: files larger than
`max_file_bytes`, YAML whose aliases expand to more than `MAX_EXPANDED_NODES` nodes (the
"billion laughs"; Kubernetes' own YAML decoder refuses "excessive aliasing" too), nesting
deeper than Python can walk, bytes that are not UTF-8. Each document is parsed on its own, so
one broken document does not hide the others.
"""

from __future__ import annotations

import dataclasses
import os
import re
import sys
from typing import Any, Callable, Iterable, NamedTuple

import yaml

from .. import contain, layout
from ..diagnostics import Diagnostics
from ..yamlsource import _Loader
from .. import fastyaml, yamlguard
from ..pool import map_forked
from .render import render_overlay
from .results import Document

MAX_FILE_BYTES = 32 * 1024 * 1024
MAX_EXPANDED_NODES = yamlguard.MAX_ALIAS_NODES
MAX_DEPTH = yamlguard.MAX_DEPTH  # the deepest real Kubernetes objects (CRDs with nested schemas) stay far below
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
YAML_SUFFIXES = (".yaml", ".yml", ".json")
_SKIP_DIRS = {".git", ".venv", ".tools", ".mlgitops", "node_modules", "__pycache__"}
_OWN_API_PREFIX = "mlgitops.dev/"
_MARKER = re.compile(r"^(?:---|\.\.\.)(?:[ \t].*)?$", re.M)
# The same markers after a newline: a literal first character lets the regex engine skip ahead
# (8x faster than `^` with re.M over 67 MB of rendered YAML).
_MARKER_AFTER_NEWLINE = re.compile(r"\n(?:---|\.\.\.)(?:[ \t][^\n]*)?(?=\n|\Z)")
STDIN = "-"


@dataclasses.dataclass
class Inputs:
    documents: list[Document]
    diagnostics: Diagnostics
    files: int = 0  # plain files read (stdin counts as one)
    overlays: int = 0  # kustomizations rendered
    results: list = dataclasses.field(default_factory=list)  # on_documents' results, in input order


class _StrictLoader(_Loader):
    """The timestamp-free safe loader, remembering duplicate mapping keys (kubeconform -strict rejects them)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[tuple[Any, int, int]] = []

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set = set()
        for key_node, _ in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if key is not None and key_node.tag != "tag:yaml.org,2002:merge":
                if key in seen:
                    self.duplicates.append((key, key_node.start_mark.line, key_node.start_mark.column))
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _construct_map(loader: _StrictLoader, node: Any) -> Any:
    return loader.construct_yaml_map(node)  # a generator, which the loader completes


_StrictLoader.add_constructor("tag:yaml.org,2002:map", _construct_map)


def split_documents(text: str) -> list[tuple[int, str]]:
    """(0-based line offset, text) of each document in a YAML stream, split at `---`/`...` lines.

    A line starting with `---` at column 0 always ends the previous document (block scalars are
    indented), so splitting is safe and lets each document be parsed and reported on its own.
    """
    bounds = [0] + [m.start() + 1 for m in _MARKER_AFTER_NEWLINE.finditer(text)] + [len(text)]
    chunks, line = [], 0
    for start, end in zip(bounds, bounds[1:]):
        chunks.append((line, text[start:end]))
        line += text.count("\n", start, end)
    return [(off, chunk) for off, chunk in chunks if chunk.strip()]


def expanded_size(value: Any, limit: int) -> int:
    """Nodes `value` has once aliases are expanded (shared objects counted each time), capped at `limit`+1.
    (yamlguard refuses texts over the budget before they are built; this measures built data.)"""
    memo: dict[int, int] = {}

    def size(v: Any) -> int:
        if isinstance(v, dict):
            items: Iterable = list(v.keys()) + list(v.values())
        elif isinstance(v, list):
            items = v
        else:
            return 1
        key = id(v)
        if key in memo:
            return memo[key]
        memo[key] = limit + 1  # a cycle (only possible with aliases) counts as too big
        total = 1
        for item in items:
            total += size(item)
            if total > limit:
                break
        memo[key] = min(total, limit + 1)
        return memo[key]

    return size(value)


def depth_exceeds(value: Any, limit: int) -> bool:
    """Whether `value` nests deeper than `limit` (iterative: deep input must not exhaust the stack)."""
    stack = [(value, 0)]
    seen: set[int] = set()
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth >= limit:
                return True
            if id(item) in seen:
                continue
            seen.add(id(item))
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False


def _first_content_line(chunk: str) -> int:
    """0-based line inside `chunk` of its first line that is not blank, a comment or a marker."""
    start, number = 0, 0
    while True:
        end = chunk.find("\n", start)
        raw = chunk[start:] if end < 0 else chunk[start:end]
        stripped = raw.strip()
        if stripped and not stripped.startswith("#") and not _MARKER.match(raw) and not stripped.startswith("%"):
            return number
        if end < 0:
            return 0
        start, number = end + 1, number + 1


# Below this size a document is built whole: finding what to leave out would cost more.
PRUNE_MIN_CHARS = 4096


def _load(chunk: str, keep_fields: Callable[[dict], Any] | None = None) -> tuple[Any, list, bool]:
    """(data, duplicate keys, aliases used?) of one document: libyaml events, else PyYAML's loader
    (which builds every field: `keep_fields` only spares work, see fastyaml.load). Alias bombs and
    cycles are refused before anything is built (yamlguard.Refused)."""
    aliases = yamlguard.may_alias(chunk)
    if aliases:
        yamlguard.check(chunk, max_nodes=MAX_EXPANDED_NODES, max_depth=MAX_DEPTH)
    try:
        if keep_fields is None or len(chunk) < PRUNE_MIN_CHARS:
            return fastyaml.load(chunk, MAX_DEPTH)
        loaded = fastyaml.load_pruned(chunk, keep_fields, MAX_DEPTH)
        if loaded is not None:
            return loaded
        return fastyaml.load(chunk, MAX_DEPTH, keep_fields)
    except fastyaml.Unusual:
        pass
    if not aliases:  # the slow path recurses per level: bound the depth first
        yamlguard.check(chunk, max_nodes=MAX_EXPANDED_NODES, max_depth=MAX_DEPTH)
    loader = _StrictLoader(chunk)
    try:
        data = loader.get_single_data()
    finally:
        loader.dispose()
    if depth_exceeds(data, MAX_DEPTH):
        raise RecursionError("nesting too deep")
    return data, loader.duplicates, "*" in chunk


def parse_stream(text: str, file: str, diags: Diagnostics, *, strict: bool = True,
                 keep_fields: Callable[[dict], Any] | None = None) -> list[Document]:
    """Every object in a YAML (or JSON) stream, each with the line it starts at; with `keep_fields`,
    objects may lack the root fields it leaves out (fastyaml.load)."""
    docs: list[Document] = []
    index = 0
    for offset, chunk in split_documents(text):
        try:
            try:
                data, duplicates, aliases = _load(chunk, keep_fields)
            except yaml.YAMLError as exc:
                if fastyaml.is_depth_error(exc):
                    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
                    raise fastyaml.TooDeep(mark.line + 1 if mark else 1, mark.column + 1 if mark else 1) from None
                raise
        except yamlguard.Refused as exc:
            diags.error(file, offset + exc.line, exc.column, exc.rule, f"document {index + 1}: {exc.message}")
            index += 1
            continue
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = offset + (mark.line + 1 if mark else 1)
            col = mark.column + 1 if mark else 1
            problem = exc.problem or exc.context or "invalid YAML"
            diags.error(file, line, col, "yaml.syntax", f"{problem} (document {index + 1})")
            index += 1
            continue
        except yaml.YAMLError as exc:
            diags.error(file, offset + 1, 1, "yaml.syntax", f"{exc} (document {index + 1})")
            index += 1
            continue
        except RecursionError as exc:
            at = (offset + exc.line, exc.column) if isinstance(exc, fastyaml.TooDeep) else (offset + 1, 1)
            diags.error(file, *at, "input.too-deep",
                        f"document {index + 1} nests deeper than {MAX_DEPTH} levels: not a Kubernetes object")
            index += 1
            continue
        line = offset + _first_content_line(chunk) + 1
        if data is None:  # an empty document (only comments): kubeconform skips it too
            continue
        if aliases and depth_exceeds(data, MAX_DEPTH):
            diags.error(file, line, 1, "input.too-deep",
                        f"document {index + 1} nests deeper than {MAX_DEPTH} levels: not a Kubernetes object")
            index += 1
            continue
        for key, key_line, key_col in duplicates:
            add = diags.error if strict else diags.warning
            add(file, offset + key_line + 1, key_col + 1, "yaml.duplicate-key",
                f"duplicate key {key!r}: the API server keeps only the last one")
        found = _objects(data, file, line, index, diags)
        if len(found) == 1 and found[0].obj is data:  # not the items of a List
            found[0].text, found[0].text_line = chunk, offset + 1
        docs.extend(found)
        index += 1
    return docs


def _objects(data: Any, file: str, line: int, index: int, diags: Diagnostics) -> list[Document]:
    """The Documents one parsed YAML document stands for (a `List` is its items, as in kubeconform)."""
    if not isinstance(data, dict):
        what = "a list" if isinstance(data, list) else f"a {type(data).__name__} value"
        diags.error(file, line, 1, "input.not-object",
                    f"document {index + 1} is {what}, not a Kubernetes object (a mapping with apiVersion and kind)")
        return []
    api_version, kind = data.get("apiVersion"), data.get("kind")
    if isinstance(api_version, str) and api_version.startswith(_OWN_API_PREFIX):
        return []
    if isinstance(kind, str) and kind.endswith("List") and api_version == "v1" and isinstance(data.get("items"), list):
        out = []
        for item in data["items"]:
            out.extend(_objects(item, file, line, index, diags))
        return out
    origin = None if file == "<stdin>" else file
    return [Document(obj=data, file=file, line=line, index=index, origin=origin, origin_line=line)]


_TOO_LARGE_HINT = "no Kubernetes object is this large; raise --max-file-size if this is intended"


def _read_text(path: str, shown: str, diags: Diagnostics, max_bytes: int, root: str | None = None) -> str | None:
    """The text of `path`, read through contain (its real path under `root`, a regular file, at
    most `max_bytes`, UTF-8 without NUL bytes); None after reporting why not."""
    return contain.read_reported(root, path, "resource", diags, shown, max_bytes=max_bytes, hint=_TOO_LARGE_HINT)


def kustomization_file(directory: str) -> str | None:
    for name in KUSTOMIZATION_FILES:
        candidate = os.path.join(directory, name)
        # not only regular files: a FIFO or a dangling link is found, and rendering reports it
        if os.path.lexists(candidate) and not os.path.isdir(candidate):
            return candidate
    return None


def _is_component(kust_file: str, root: str | None = None) -> bool:
    """Whether the kustomization file is a Component (read through contain: a file that cannot be
    read is not one, and rendering it reports why)."""
    try:
        head = contain.read_text(root, kust_file, "resource")[:4096]
    except (OSError, contain.ContainmentError):
        return False
    return re.search(r"^kind:\s*Component\s*$", head, re.M) is not None


def display_path(path: str, repo_root: str) -> str:
    """`path` relative to the repository when inside it (as findings and SARIF name files), else as given."""
    absolute = os.path.abspath(path)
    root = os.path.abspath(repo_root)
    if absolute == root:
        return "."
    if absolute.startswith(root + os.sep):
        return os.path.relpath(absolute, root).replace(os.sep, "/")
    return path


class _Collector:
    def __init__(self, repo_root: str, strict: bool, max_file_bytes: int,
                 on_documents: Callable[[list[Document]], Any] | None = None,
                 keep_fields: Callable[[dict], Any] | None = None, done: dict | None = None) -> None:
        self.repo_root = repo_root
        self.done = done or {}
        # directories rendered already as overlays (overlay_job: found no Component there)
        self.rendered = {(job.path, job.root) for job in self.done if job.kind == "overlay"}
        self.on_documents = on_documents
        self.keep_fields = keep_fields
        self.strict = strict
        self.max_file_bytes = max_file_bytes
        self.inputs = Inputs([], Diagnostics())
        # documents in argument order: lists of Documents, or ("file" | "overlay", path, root) still to be read
        self.slots: list[list[Document] | tuple[str, str, str]] = []
        self.root = repo_root  # what the path being collected is confined to (contain.trusted_root)
        self.walked: set[str] = set()  # real paths of the directories read

    @property
    def diags(self) -> Diagnostics:
        return self.inputs.diagnostics

    def path(self, path: str, explicit: bool) -> None:
        shown = display_path(path, self.repo_root)
        if explicit:
            self.root = contain.trusted_root(self.repo_root, path)
        if os.path.isdir(path):
            try:
                real = contain.resolve(self.root, path)
            except contain.ContainmentError as exc:
                self.diags.add(exc.diagnostic(shown))
                return
            if not explicit and real in self.walked:  # a symbolic link back to a directory seen already
                return
            self.walked.add(real)
            kust = kustomization_file(path)
            if kust is None:
                self.walk(path)
            elif (path, self.root) not in self.rendered and _is_component(kust, self.root):
                if explicit:
                    self.diags.error(display_path(kust, self.repo_root), 1, 1, "input.component",
                                     f"{shown} is a kustomize Component: validate an overlay that uses it")
            else:
                self.overlay(path)
        elif os.path.exists(path) or (os.path.lexists(path) and not explicit):
            self.file(path)  # a FIFO, device or link leading outside is refused when read
        else:
            self.diags.error(shown, 0, 0, "input.not-found", "no such file or directory")

    def walk(self, directory: str) -> None:
        for entry in sorted(os.scandir(directory), key=lambda e: e.name):
            if entry.name in _SKIP_DIRS or entry.name.startswith("."):
                continue
            if entry.is_dir():
                self.path(entry.path, explicit=False)
            elif entry.name.endswith(YAML_SUFFIXES) and entry.name not in KUSTOMIZATION_FILES:
                self.file(entry.path)

    def file(self, path: str) -> None:
        self.inputs.files += 1
        self.slots.append(("file", path, self.root))

    def finish(self) -> Inputs:
        """Read the files and render the overlays (in worker processes when there are many) and
        put every document in argument order."""
        pending = [slot for slot in self.slots if isinstance(slot, tuple)]
        jobs = [_Job(kind, path, display_path(path, self.repo_root), self.strict, self.max_file_bytes, self.repo_root,
                     root) for kind, path, root in pending]
        todo = [job for job in jobs if job not in self.done]
        results = iter(_load_all(todo, self.on_documents, self.keep_fields))
        loaded = {slot: self.done[job] if job in self.done else next(results) for slot, job in zip(pending, jobs)}
        for slot in self.slots:
            if isinstance(slot, tuple):
                docs, problems = loaded[slot]
                self.diags.extend(problems)
            else:
                docs = self.on_documents(slot) if self.on_documents else slot
            if self.on_documents:
                self.inputs.results.append(docs)
            else:
                self.inputs.documents.extend(docs)
        return self.inputs

    def stdin(self, raw: bytes) -> None:
        self.inputs.files += 1
        if len(raw) > self.max_file_bytes:
            self.diags.error("<stdin>", 0, 0, "input.too-large",
                             f"standard input is {len(raw) / 2**20:.1f} MiB, over the "
                             f"{self.max_file_bytes / 2**20:.0f} MiB limit")
            return
        text = contain.decode_reported(raw, self.diags, "<stdin>")
        if text is not None:
            self.slots.append(parse_stream(text, "<stdin>", self.diags, strict=self.strict,
                                           keep_fields=self.keep_fields))

    def overlay(self, directory: str) -> None:
        self.inputs.overlays += 1
        self.slots.append(("overlay", directory, self.root))


# Below this many files one process is faster than starting workers and pickling the results.
PARALLEL_MIN_FILES = 64


def overlay_job(directory: str, repo_root: str, strict: bool, max_bytes: int, root: str) -> _Job | None:
    """The job that renders the overlay `directory` as collect would (`root`: what its reads are
    confined to, contain.trusted_root of the path collect was given); None when collect would not
    render it (no kustomization, or a Component's)."""
    kust = kustomization_file(directory)
    if kust is None or _is_component(kust, root):
        return None
    return _Job("overlay", directory, display_path(directory, repo_root), strict, max_bytes, repo_root, root)


class _Job(NamedTuple):
    kind: str  # "file" or "overlay"
    path: str
    shown: str
    strict: bool
    max_bytes: int
    repo_root: str
    root: str  # what reading `path` is confined to (contain.trusted_root)

    def load(self, on_documents: Callable[[list[Document]], Any] | None) -> tuple[Any, list]:
        """(on_documents' result for the documents, or the documents; the problems found)."""
        return _load_job(self, on_documents, None)


def _load_job(job: _Job, on_documents: Callable[[list[Document]], Any] | None,
              keep_fields: Callable[[dict], Any] | None) -> tuple[Any, list]:
    diags = Diagnostics()
    if job.kind == "overlay":
        docs = render_overlay(job.path, job.shown, job.repo_root, diags, job.max_bytes)
    else:
        text = _read_text(job.path, job.shown, diags, job.max_bytes, job.root)
        docs = [] if text is None else parse_stream(text, job.shown, diags, strict=job.strict, keep_fields=keep_fields)
    if on_documents:
        return on_documents(docs), list(diags)
    for doc in docs:
        doc.text = None  # not worth pickling: the parent reads the file if it needs positions
    return docs, list(diags)


def _load_all(jobs: list[_Job], on_documents: Callable[[list[Document]], Any] | None,
              keep_fields: Callable[[dict], Any] | None) -> list[tuple[Any, list]]:
    """Read the files and render the overlays in order, passing each one's documents through
    `on_documents` when given; with many of them and several CPUs, in forked worker processes
    (parsing is pure Python work: 0.28 ms per rendered object on one core; rendering ~5 ms per
    overlay), which inherit `on_documents` and send back only its result (unpickling whole
    documents costs more than parsing them)."""
    return map_forked(lambda job: _load_job(job, on_documents, keep_fields), jobs, PARALLEL_MIN_FILES)


def default_paths(repo_root: str) -> list[str]:
    """What `mlgitops validate` checks without arguments: the generated overlays and Argo CD objects."""
    return [os.path.join(repo_root, d) for d in (layout.OVERLAYS, layout.ARGOCD)
            if os.path.isdir(os.path.join(repo_root, d))]


def collect(paths: list[str], repo_root: str, *, strict: bool = True, max_file_bytes: int = MAX_FILE_BYTES,
            stdin: Any = None, on_documents: Callable[[list[Document]], Any] | None = None,
            keep_fields: Callable[[dict], Any] | None = None, done: dict | None = None) -> Inputs:
    """Documents from every path (`-` reads `stdin`, default sys.stdin.buffer), in argument order.

    With `on_documents`, each file's (or overlay's) documents go through it instead, in a worker
    process when files are parsed in parallel, and `Inputs.results` holds its results in order.
    With `keep_fields` (root object -> the root keys the caller reads, or None for all), parsed
    objects lack the other root fields (rendered overlays are always whole). `done`: the results of
    jobs run already (overlay_job -> what _Job.load returned), not run again."""
    collector = _Collector(repo_root, strict, max_file_bytes, on_documents, keep_fields, done)
    for path in paths:
        if path == STDIN:
            stream = stdin if stdin is not None else sys.stdin.buffer
            collector.stdin(stream.read(max_file_bytes + 1))
        else:
            collector.path(path, explicit=True)
    return collector.finish()
