"""schemas/schemas.lock: what `schemas import` and `schemas pull` wrote, and the check `validate` makes.

One job: read, merge and write the lock, and check a schema file against it. The lock is JSON:
`{"generatedBy": "mlgitops schemas", "schemas": [entry, ...]}`, entries sorted by `path` (relative
to the schemas directory, "/"-separated), each with at least `path`, `source` (CRD file or URL)
and `sha256` (of the file's bytes). Writes are atomic (temporary file in the same directory,
then rename) and skipped when the content is unchanged.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from typing import Any, Required, TypedDict

from .. import contain

LOCK_NAME = "schemas.lock"
GENERATED_BY = "mlgitops schemas"


class LockEntry(TypedDict, total=False):
    """One schema as `schemas import` (with `crd`) or `schemas pull` records it; a lock read from
    disk may hold other keys, so entries read back are plain mappings."""

    path: Required[str]  # relative to the schemas directory, "/"-separated
    source: Required[str]  # the CRD file or URL
    sha256: Required[str]  # of the file's bytes
    crd: str  # the CustomResourceDefinition's name
    group: str
    kind: str
    version: str | None  # None: a CRD version with no name
    strict: bool


class LockError(Exception):
    """The lock file exists but cannot be read or is not a schemas lock."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_atomic(path: str, data: bytes) -> bool:
    """Write `data` to `path` unless it already holds exactly that; True when written."""
    try:
        if contain.read_bytes(None, path, "schema", max_bytes=len(data)) == data:  # never blocks on a FIFO
            return False
    except (OSError, contain.ContainmentError):
        pass
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return True


def read_lock(schemas_dir: str) -> dict[str, Mapping[str, Any]] | None:
    """Entries of `<schemas_dir>/schemas.lock` by path; None when there is no lock file."""
    path = os.path.join(schemas_dir, LOCK_NAME)
    try:
        # contained in the directory holding schemas/ (the repository): a regular file, at most 32 MiB
        data = json.loads(contain.read_text(os.path.dirname(os.path.abspath(schemas_dir)), path, "schema"))
    except FileNotFoundError:
        return None
    except contain.ContainmentError as exc:
        raise LockError(f"{path}: cannot read the schemas lock ({exc.rule}): {exc.message}") from None
    except (OSError, ValueError) as exc:
        raise LockError(f"{path}: cannot read the schemas lock: {exc}") from None
    entries = data.get("schemas") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise LockError(f"{path}: not a schemas lock (expected an object with a 'schemas' list)")
    out: dict[str, Mapping[str, Any]] = {}
    for entry in entries:
        if isinstance(entry, dict) and isinstance(entry.get("path"), str):
            out[entry["path"]] = entry
    return out


def merge_lock(schemas_dir: str, entries: Sequence[LockEntry]) -> bool:
    """Add or replace `entries` (by path) in the lock, keeping the others; True when written.

    An unreadable existing lock is replaced, as `schemas import` always did.
    """
    try:
        merged = read_lock(schemas_dir) or {}
    except LockError:
        merged = {}
    for entry in entries:
        merged[entry["path"]] = entry
    lock = {"generatedBy": GENERATED_BY, "schemas": [merged[k] for k in sorted(merged)]}
    text = json.dumps(lock, indent=2, sort_keys=True) + "\n"
    return write_atomic(os.path.join(schemas_dir, LOCK_NAME), text.encode("utf-8"))


def check(entry: Mapping[str, Any] | None, data: bytes, display: str) -> str | None:
    """Why `data` (the schema file shown as `display`) does not match its lock `entry`, or None."""
    if entry is None:
        return None
    actual = sha256(data)
    if entry.get("sha256") == actual:
        return None
    if "crd" in entry:
        how = f"re-run 'mlgitops schemas import {entry.get('source') or 'CRD.yaml'}'"
    else:
        resource = "/".join(str(entry.get(k, "")) for k in ("group", "version", "kind"))
        how = f"re-run 'mlgitops schemas pull {resource}'"
    return (f"{display}: sha256 {actual} does not match {entry.get('sha256')} recorded in {LOCK_NAME}; "
            f"the schema changed after it was imported or pulled: {how}, or restore the file")
