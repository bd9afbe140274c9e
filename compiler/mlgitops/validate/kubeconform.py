"""Run the real `kubeconform` binary over `Document`s and return its verdicts as `ObjectResult`s.

Each document is written as JSON to its own temporary file, named by its index, so every
result kubeconform prints (`-output json -verbose`, one entry per file) maps back to exactly
one document; results come back in the order of the documents. Missing schemas are asked
for as skips (`-ignore-missing-schemas`) so the caller reports them exactly as it does for
the built-in engine.

MIN_VERSION is 0.6.0 because that release moved kubeconform to the santhosh-tekuri
jsonschema library and added `validationErrors` (JSON-pointer path and message for every
error) to `-output json` (yannh/kubeconform PRs #168 and #173); older releases print one
flat message per resource, from which no finding can be placed at a field. Every other flag
used here (`-strict`, `-summary`, `-verbose`, `-ignore-missing-schemas`, `-cache`, `-n`,
`-kubernetes-version`, templated `-schema-location`) is older than that.
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import pathlib
import re
import shutil
import subprocess
import tempfile
from typing import Any

from .results import ERRORED, INVALID, SKIPPED, VALID, Document, Finding, ObjectResult

INSTALL_HINT = "go install github.com/yannh/kubeconform/cmd/kubeconform@v0.7.0"
MIN_VERSION = (0, 6, 0)
ENV_VAR = "MLGITOPS_KUBECONFORM"
TIMEOUT_SECONDS = 600

_STATUSES = {
    "statusValid": VALID,
    "statusInvalid": INVALID,
    "statusError": ERRORED,
    "statusSkipped": SKIPPED,
    "statusEmpty": SKIPPED,
    "": SKIPPED,  # kubeconform's JSON output prints an empty document's status as ""
}
_VERSION_RE = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")
_GROUP = "validation failed"  # santhosh-tekuri/jsonschema's message for a node with nested errors
_AT_RE = re.compile(r"- at '([^']*)': (.*?)(?=\s+- at '|$)", re.S)
# kubeconform's errors about the object itself -> the built-in engine's rule ids (engine.signature)
_ERROR_RULES = ((re.compile(r"missing 'kind' key|missing a Kind"), "input.no-kind"),
                (re.compile(r"missing 'apiVersion' key"), "input.no-api-version"),
                (re.compile(r"error while parsing: .*cannot unmarshal"), "input.bad-field"))


class KubeconformError(Exception):
    """kubeconform is missing, too old, crashed or printed output we cannot read."""


def _fail(problem: str) -> KubeconformError:
    return KubeconformError(f"{problem}; install kubeconform with: {INSTALL_HINT}")


def _executable(path: str | os.PathLike) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def find_kubeconform(explicit: str | None = None) -> str:
    """Path of kubeconform: `explicit`, $MLGITOPS_KUBECONFORM, PATH, <repo>/.tools/bin, ~/go/bin."""
    for source, given in (("given path", explicit), (f"${ENV_VAR}", os.environ.get(ENV_VAR))):
        if given:
            if not _executable(given):
                raise _fail(f"kubeconform not found at {given} ({source})")
            return given
    found = shutil.which("kubeconform")
    if found:
        return found
    repo_root = pathlib.Path(__file__).resolve().parents[3]
    for directory in (repo_root / ".tools" / "bin", pathlib.Path.home() / "go" / "bin"):
        candidate = directory / "kubeconform"
        if _executable(candidate):
            return str(candidate)
    raise _fail("kubeconform not found on PATH, in .tools/bin or in ~/go/bin")


def kubeconform_version(binary: str) -> tuple[int, int, int]:
    """The (major, minor, patch) that `binary -v` prints, e.g. `v0.7.0` -> (0, 7, 0)."""
    try:
        proc = subprocess.run([binary, "-v"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise _fail(f"cannot run {binary} -v: {exc}") from None
    match = _VERSION_RE.search(proc.stdout + proc.stderr)
    if proc.returncode != 0 or not match:
        printed = (proc.stdout + proc.stderr).strip().splitlines()
        raise _fail(f"cannot read the version of {binary} (it printed {printed[0] if printed else 'nothing'!r})")
    return int(match[1]), int(match[2]), int(match[3])


def _checked_binary(binary: str | None) -> str:
    path = find_kubeconform(binary)
    version = kubeconform_version(path)
    if version < MIN_VERSION:
        have, need = ".".join(map(str, version)), ".".join(map(str, MIN_VERSION))
        raise _fail(f"{path} is kubeconform {have}, older than the {need} mlgitops needs")
    return path


def _json_default(value: Any) -> Any:
    """Values YAML can hold and JSON cannot, as kubeconform's YAML-to-JSON reading would see them."""
    if isinstance(value, (datetime.date, datetime.datetime, datetime.time)):
        return value.isoformat()  # timestamps: the string they were written as
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")  # !!binary: its base64 text
    return str(value)


def _resolve(segments: list[str], obj: Any) -> tuple:
    """Path segments -> ("spec", "containers", 0, "name"), following `obj`: ints only where it has a
    list, and a key holding "/" (`nvidia.com/gpu`) taken whole when the object has that key."""
    out: list = []
    node, i = obj, 0
    while i < len(segments):
        if isinstance(node, list) and segments[i].isdigit() and int(segments[i]) < len(node):
            out.append(int(segments[i]))
            node, i = node[int(segments[i])], i + 1
            continue
        keys = {str(k): k for k in node} if isinstance(node, dict) else {}
        j = next((j for j in range(len(segments), i, -1) if "/".join(segments[i:j]) in keys), i + 1)
        text = "/".join(segments[i:j])
        key = keys.get(text, text)
        out.append(key)
        node, i = (node.get(key) if isinstance(node, dict) else None), j
    return tuple(out)


def _unescaped_path(path: str, obj: Any) -> tuple:
    """`validationErrors[].path`: kubeconform joins the segments with "/" without escaping them."""
    return _resolve(path.split("/")[1:] if path.startswith("/") else [], obj)


def _pointer_path(pointer: str, obj: Any) -> tuple:
    """A real JSON pointer (`~1` for "/", `~0` for "~"), as kubeconform's message text prints them."""
    segments = [s.replace("~1", "/").replace("~0", "~") for s in pointer.split("/")[1:]]
    return _resolve(segments, obj) if pointer.startswith("/") else ()


def _findings(entry: dict, obj: Any) -> list[Finding]:
    """One finding per `validationErrors` entry; a "validation failed" group (kubeconform lists only
    the top level of the error tree) is replaced by the leaves its message text lists under it."""
    leaves = [(_pointer_path(m[1], obj), m[2].strip()) for m in _AT_RE.finditer(entry.get("msg") or "")]
    out: list[Finding] = []
    for error in entry.get("validationErrors") or []:
        path, message = _unescaped_path(str(error.get("path", "")), obj), str(error.get("msg", ""))
        inner = [Finding(p, m) for p, m in leaves
                 if message == _GROUP and p[:len(path)] == path and len(p) > len(path) and m != _GROUP]
        out.extend(inner or [Finding(path, message)])
    return out


def _result(doc: Document, entry: dict) -> ObjectResult:
    status = entry.get("status", "")
    if status not in _STATUSES:
        raise _fail(f"kubeconform printed an unknown status {status!r}")
    mapped, msg = _STATUSES[status], entry.get("msg") or ""
    if mapped == INVALID:
        return ObjectResult(doc, INVALID, _findings(entry, doc.obj) or [Finding((), msg)])
    if mapped == ERRORED:
        rule = next((r for pattern, r in _ERROR_RULES if pattern.search(msg)), "kubeconform.error")
        return ObjectResult(doc, ERRORED, [Finding((), msg, rule=rule)], reason=msg)
    if mapped == SKIPPED:
        reason = "empty document" if doc.obj is None else f"no schema found for {doc.kind} {doc.api_version}"
        return ObjectResult(doc, SKIPPED, reason=reason)
    return ObjectResult(doc, VALID)


def _workers(count: int) -> int:
    """kubeconform's `-n`: its workers compile a schema each on a cold cache, so for a few hundred
    documents (the time goes into compiling the large CRD schemas) one worker is fastest; measured
    on 107 and 5,200 rendered objects: 0.35 s vs 0.78 s (-n 4) and 3.4 s vs 3.0 s (-n 2)."""
    return 1 if count < 1000 else min(2, os.cpu_count() or 1)


def _command(binary: str, locations: list[str], directory: str, count: int, *, strict: bool,
             kubernetes_version: str, cache_dir: str | None) -> list[str]:
    cmd = [binary, "-output", "json", "-summary", "-verbose", "-ignore-missing-schemas",
           "-kubernetes-version", kubernetes_version, "-n", str(_workers(count))]
    if strict:
        cmd.append("-strict")
    for location in locations:
        cmd += ["-schema-location", location]
    if cache_dir:
        os.makedirs(cache_dir, exist_ok=True)
        cmd += ["-cache", cache_dir]
    return cmd + [directory]


def run_kubeconform(docs: list[Document], locations: list[str], *, strict: bool = True,
                    kubernetes_version: str = "1.33.0", binary: str | None = None,
                    cache_dir: str | None = None) -> list[ObjectResult]:
    """kubeconform's verdict on each document, in the order of `docs`.

    `locations` are passed as `-schema-location`s in order; they must be concrete (the
    caller resolves mlgitops' `default`, never kubeconform's own network default).
    """
    if not locations or "default" in locations:
        raise ValueError("run_kubeconform needs concrete schema locations (SchemaRegistry.kubeconform_locations)")
    path = _checked_binary(binary)
    if not docs:
        return []
    width = len(str(len(docs)))
    with tempfile.TemporaryDirectory(prefix="mlgitops-kubeconform-") as directory:
        for index, doc in enumerate(docs):
            with open(os.path.join(directory, f"{index:0{width}d}.json"), "w", encoding="utf-8") as handle:
                json.dump(doc.obj, handle, default=_json_default)
        cmd = _command(path, locations, directory, len(docs), strict=strict,
                       kubernetes_version=kubernetes_version, cache_dir=cache_dir)
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False)
        except subprocess.TimeoutExpired:
            raise _fail(f"kubeconform did not finish within {TIMEOUT_SECONDS}s") from None
        except OSError as exc:
            raise _fail(f"cannot run {path}: {exc}") from None
    return _parse(proc, docs)


def _parse(proc: subprocess.CompletedProcess, docs: list[Document]) -> list[ObjectResult]:
    try:
        report = json.loads(proc.stdout)
        entries = report["resources"]
    except (ValueError, KeyError, TypeError):
        said = (proc.stderr.strip() or proc.stdout.strip() or "no output").splitlines()[0]
        raise _fail(f"kubeconform exited with status {proc.returncode} without a JSON report: {said}") from None
    by_index: dict[int, dict] = {}
    for entry in entries:
        stem = pathlib.PurePath(str(entry.get("filename", ""))).stem
        if not stem.isdigit() or int(stem) >= len(docs) or int(stem) in by_index:
            raise _fail(f"kubeconform reported an unexpected file {entry.get('filename')!r}")
        by_index[int(stem)] = entry
    missing = [i for i in range(len(docs)) if i not in by_index]
    if missing:
        raise _fail(f"kubeconform reported nothing for {len(missing)} document(s), first {docs[missing[0]].file}")
    return [_result(doc, by_index[i]) for i, doc in enumerate(docs)]


def compare(builtin: list[ObjectResult], other: list[ObjectResult]) -> list[tuple[Document, Finding]]:
    """One `engine.disagree` finding per document whose valid/invalid/skipped verdicts differ."""
    out: list[tuple[Document, Finding]] = []
    for mine, theirs in zip(builtin, other, strict=True):
        if mine.status == theirs.status:
            continue
        message = (f"built-in engine says {mine.status} ({_first_message(mine)}), "
                   f"kubeconform says {theirs.status} ({_first_message(theirs)})")
        out.append((mine.doc, Finding((), message, rule="engine.disagree")))
    return out


def _first_message(result: ObjectResult) -> str:
    if result.findings:
        first = result.findings[0]
        where = first.dotted_path()
        return f"{where}: {first.message}" if where else first.message
    return result.reason or "no findings"
