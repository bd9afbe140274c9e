"""A local cache that lets a rebuild skip models whose inputs and outputs are unchanged.

Kept in .mlgitops/build-cache.json (git-ignored, never needed for correctness). An entry is
used only when all of these still hold: the same tool code and mlgitops.yaml (fingerprint), the
same model file bytes (sha256; or the file's size, times and inode, recorded with that hash once
they had settled: overlays.SETTLED_NS), and every output file it produced still has the size and
modification time recorded right after it was written or verified. Anything else - a hand edit
of a generated file, a deleted output, a new mlgitops version - makes the model build again.
The cache also keeps the listings of generated directories that the write stage's walk of the
tree may trust (overlays.Listings). `build --check` never uses it: CI proves drift from scratch.

The same directory holds build.lock, the lock that serialises builds of one repository (see
build_lock). .mlgitops/ must be a real directory inside the repository, never a symbolic link.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import fcntl
import hashlib
import os
import stat
import sys
import time
from typing import Callable, Iterator

import orjson

from .overlays import TMP_SUFFIX, OutsideRepoError, settled_before

STATE_DIR = ".mlgitops"
CACHE_FILE = ".mlgitops/build-cache.json"
LOCK_FILE = ".mlgitops/build.lock"
LOCK_TIMEOUT = 120.0  # seconds a build waits for another one; MLGITOPS_LOCK_TIMEOUT overrides
_FORMAT = 1


def state_dir(root: str, create: bool = True) -> str | None:
    """root/.mlgitops, created if missing (create); None when absent. Raises OutsideRepoError when
    it is a symbolic link or not a directory: mlgitops writes nothing outside the repository."""
    path = os.path.join(root, STATE_DIR)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        if not create:
            return None
        try:
            os.mkdir(path)
        except FileExistsError:
            pass
        st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        raise OutsideRepoError(STATE_DIR, f"{STATE_DIR}/ is a symbolic link; mlgitops "
                                          "keeps its lock and cache only in a real directory inside the "
                                          "repository: remove the link")
    if not stat.S_ISDIR(st.st_mode):
        raise OutsideRepoError(STATE_DIR, f"{STATE_DIR} is not a directory; mlgitops keeps its lock and cache "
                                          "there: move it away", "build.not-a-directory")
    return path


class LockError(Exception):
    """Another build held the lock for longer than the timeout."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.rel = LOCK_FILE
        self.message = message


_HELD: dict[str, list] = {}  # realpath of root -> [fd, shared, depth]: re-entrant per process


def _holder(fd: int) -> str:
    try:
        text = os.pread(fd, 64, 0).decode("ascii", "replace").split()
        return f"pid {int(text[0])}" if text else "pid unknown"
    except (OSError, ValueError):
        return "pid unknown"


def lock_timeout() -> float:
    try:
        return max(0.0, float(os.environ.get("MLGITOPS_LOCK_TIMEOUT", LOCK_TIMEOUT)))
    except ValueError:
        return LOCK_TIMEOUT


def tell_waiting(message: str) -> None:
    """How a command waiting for the build lock says so: one line on stderr."""
    print(f"mlgitops: {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def build_lock(root: str, *, shared: bool = False, timeout: float | None = None,
               waiting: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold .mlgitops/build.lock (flock): exclusive for a build that writes, shared for one that
    only reads (build --check), so a reader never sees a tree half-way through a build. A build
    that finds the lock taken calls `waiting(message)` once and waits up to `timeout` seconds
    (default lock_timeout()), then raises LockError. The lock goes with the process, even on
    SIGKILL. Re-entrant within a process. A read-only checkout cannot hold a lock: a shared
    request then goes on without one (nobody can write there either)."""
    key = os.path.realpath(root)
    held = _HELD.get(key)
    if held is not None and (held[1] is False or shared):
        held[2] += 1
        try:
            yield
        finally:
            held[2] -= 1
        return
    try:
        state_dir(root)
        fd = os.open(os.path.join(root, LOCK_FILE),
                     os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), 0o644)
    except OutsideRepoError:
        raise
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise OutsideRepoError(LOCK_FILE, f"{LOCK_FILE} is a symbolic link; remove it") from exc
        if shared and exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            yield
            return
        raise
    try:
        mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            limit = lock_timeout() if timeout is None else timeout
            who = _holder(fd)
            if waiting is not None:
                waiting(f"waiting for another mlgitops build ({who}) to finish...")
            deadline = time.monotonic() + limit
            while True:
                try:
                    fcntl.flock(fd, mode | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise LockError(f"another mlgitops build ({_holder(fd)}) still holds {LOCK_FILE} after "
                                        f"{limit:g}s; nothing was {'checked' if shared else 'written'}: try "
                                        "again when it has finished (MLGITOPS_LOCK_TIMEOUT sets the wait)") from None
                    time.sleep(0.05)
        try:
            os.pwrite(fd, f"{os.getpid():<12d}\n".encode(), 0)
        except OSError:
            pass
        _HELD[key] = [fd, shared, 1]
        try:
            yield
        finally:
            del _HELD[key]
    finally:
        os.close(fd)  # releases the lock


@dataclasses.dataclass
class Entry:
    name: str
    outputs: list[str]


# A model file's size, times and inode vouch for its bytes (so a rebuild need not read and hash
# it) once they were recorded with its bytes' hash and had settled then (overlays.SETTLED_NS):
# any later write gives the file a later ctime (which no one can set back). A younger file is
# read and hashed again: a write within the same clock tick may leave the times as they were
# (git's "racily clean" entries).
def _identity(st: os.stat_result) -> list[int]:
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]


def _settled(st: os.stat_result) -> bool:
    return max(st.st_mtime_ns, st.st_ctime_ns) < settled_before()


class BuildCache:
    def __init__(self, root: str | None, fingerprint: str, entries: dict) -> None:
        self.root = root
        self.fingerprint = fingerprint
        # model path -> {"sha", "name", "outputs": {rel: [size, mtime_ns]}, "stat": _identity() (when settled)}
        self.entries = entries
        self.fresh: dict[str, dict] = {}
        self.hits: dict[str, Entry] = {}
        self.pending: dict[str, tuple[str, str, list[str]]] = {}
        # Directory listings the walk of the generated tree may trust (overlays.Listings): those
        # recorded by the last build, and those this build records (saved in their place).
        self.listings: dict[str, list] = {}
        self.listed: dict[str, list] = {}

    @classmethod
    def disabled(cls) -> "BuildCache":
        return cls(None, "", {})

    @classmethod
    def open(cls, root: str, fingerprint: str) -> "BuildCache":
        try:
            # never through a link, never a FIFO or device: anything but a regular file is no cache
            with open(os.open(os.path.join(root, CACHE_FILE), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK), "rb") as fh:
                if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                    raise ValueError(CACHE_FILE)
                data = orjson.loads(fh.read())  # (a third of json.load's time on 12,000 outputs)
            if data.get("format") != _FORMAT or data.get("fingerprint") != fingerprint:
                data = {}
        except (OSError, ValueError):
            data = {}
        cache = cls(root, fingerprint, data.get("models", {}) if isinstance(data, dict) else {})
        listings = data.get("listings") if isinstance(data, dict) else None
        cache.listings = listings if isinstance(listings, dict) else {}
        return cache

    def walk_listings(self) -> tuple[dict, dict] | None:
        """(the listings recorded before, where to record them now) for overlays.sync_tree; None
        when the cache is disabled."""
        return None if self.root is None else (self.listings, self.listed)

    def lookup(self, rel: str) -> Entry | None:
        if self.root is None:
            return None
        entry = self.entries.get(rel)
        if not entry:
            return None
        top = self.root + os.sep  # (os.path.join per output file was a tenth of a one-model rebuild)
        try:
            vouched = entry.get("stat")
            st = os.lstat(top + rel)
            if not stat.S_ISREG(st.st_mode):  # a link is never followed here: the load reads it (contain)
                return None
            if vouched is None or _identity(st) != vouched:
                with open(os.open(top + rel, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK), "rb") as fh:
                    st = os.fstat(fh.fileno())  # before the read: a write after it changes the times
                    if not stat.S_ISREG(st.st_mode) or hashlib.sha256(fh.read()).hexdigest() != entry["sha"]:
                        return None
                vouched = _identity(st) if _settled(st) else None
            for out, (size, mtime) in entry["outputs"].items():
                st = os.lstat(top + out)
                if st.st_size != size or st.st_mtime_ns != mtime:
                    return None
        except (OSError, KeyError, TypeError, ValueError):
            return None
        fresh = {key: value for key, value in entry.items() if key != "stat"}
        if vouched is not None:
            fresh["stat"] = vouched
        self.fresh[rel] = fresh
        self.hits[rel] = Entry(entry["name"], list(entry["outputs"]))
        return self.hits[rel]

    def remember(self, model_file, outputs: dict[str, bytes]) -> None:
        """Record a built model; stats are taken in save(), after the files are on disk."""
        if self.root is None:
            return
        self.pending[model_file.path] = (hashlib.sha256(model_file.text).hexdigest(), model_file.name,
                                         sorted(outputs))

    def save(self) -> None:
        if self.root is None:
            return
        models = dict(self.fresh)
        for rel, (sha, name, outputs) in self.pending.items():
            stats = {}
            try:
                for out in outputs:
                    st = os.stat(os.path.join(self.root, out))
                    stats[out] = [st.st_size, st.st_mtime_ns]
            except OSError:
                continue  # not all written (narrowed build): do not vouch for it
            models[rel] = {"sha": sha, "name": name, "outputs": stats}
        path = os.path.join(self.root, CACHE_FILE)
        try:
            state_dir(self.root)
            tmp = path + TMP_SUFFIX
            text = orjson.dumps({"format": _FORMAT, "fingerprint": self.fingerprint, "models": models,
                                 "listings": self.listed}, option=orjson.OPT_SORT_KEYS)
            with contextlib.suppress(FileNotFoundError):
                os.remove(tmp)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
            with open(fd, "wb") as fh:
                fh.write(text)
            os.replace(tmp, path)
        except (OSError, OutsideRepoError):
            pass  # a read-only checkout still builds; it just is not faster next time
