"""Containment: every file mlgitops reads from a repository is read through this module.

A pull request is untrusted input. It can hold symbolic links that leave the repository, FIFOs,
links to device files and huge files. Every reader of repository input (model files,
mlgitops.yaml, policies and policy tests, kustomizations and the files they name, the files
`mlgitops validate` walks, JSON schemas) goes through `read_bytes` / `read_text` / `list_dir`:

* The path is resolved (`os.path.realpath`): when its real path leaves the repository root (or,
  for schemas, the schema cache directory) it is refused. A symbolic link inside the repository
  to another file inside it keeps working.
* The file is opened with `O_NONBLOCK | O_NOCTTY` (opening a FIFO never blocks) and `fstat`ed:
  anything but a regular file (a device, a FIFO, a socket) is refused.
* Its size is checked on `fstat` before reading, and at most limit + 1 bytes are ever read, so a
  file that grows, or stats as empty but never ends, is bounded too.
* `read_text` decodes UTF-8 and reports a byte that is not UTF-8, and a NUL byte, at its line and
  column (a leading byte order mark is dropped).

Problems raise `ContainmentError` (rule, message, line, column); callers turn it into a
`Diagnostic` with `diagnostic(file)`, so it prints as `path:line:col: error: message [rule]`
and every other input is still checked. Rules:

* `input.outside-repo`: a path, or a symbolic link, that leads outside the repository. The
  message never says where it points, nor shows the target's content.
* `input.not-regular-file`: a device file, FIFO or socket (or a link to one).
* `input.too-large`: a file over the size limit of its kind.
* `input.encoding`: bytes that are not UTF-8, or a NUL byte.

Size limits, per kind of input (configurable in mlgitops.yaml under `limits:`, in MiB):

=================  =======  ==========================  ==============================================
kind               default  mlgitops.yaml key           what
=================  =======  ==========================  ==============================================
model              1 MiB    limits.modelFileMiB         a model file (models/*.yaml)
config             1 MiB    (fixed)                     mlgitops.yaml itself (read before its limits)
policy             4 MiB    limits.policyFileMiB        a policy or parameter file (policies/)
policy-test        4 MiB    limits.policyTestFileMiB    a policy test file (policies/tests/)
resource           32 MiB   limits.resourceFileMiB      a kustomization, a file it names, a file
                                                        `mlgitops validate` reads (`validate
                                                        --max-file-size` overrides it)
schema             32 MiB   (fixed)                     a JSON schema read from a local location
=================  =======  ==========================  ==============================================

The configured limits are process-wide: `config.load_config` applies them (and resets them to the
defaults when mlgitops.yaml has no `limits:`).
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Sequence
from typing import Any, Literal, TypeAlias, overload

from .diagnostics import ERROR, Diagnostic

MIB = 2**20

# what reads are confined to: a directory, a list of them, or None (anywhere)
Roots: TypeAlias = "str | Sequence[str] | None"

RULE_OUTSIDE = "input.outside-repo"
RULE_NOT_REGULAR = "input.not-regular-file"
RULE_TOO_LARGE = "input.too-large"
RULE_ENCODING = "input.encoding"

# kind -> (default bytes, mlgitops.yaml key under `limits:` or None, description)
KINDS: dict[str, tuple[int, str | None, str]] = {
    "model": (1 * MIB, "modelFileMiB", "a model file"),
    "config": (1 * MIB, None, "mlgitops.yaml"),
    "policy": (4 * MIB, "policyFileMiB", "a policy file"),
    "policy-test": (4 * MIB, "policyTestFileMiB", "a policy test file"),
    "resource": (32 * MIB, "resourceFileMiB", "a Kubernetes resource or kustomization file"),
    "schema": (32 * MIB, None, "a JSON schema"),
}
MAX_CONFIGURABLE_MIB = 1024

_configured: dict[str, int] = {}


class ContainmentError(Exception):
    """A repository input that is refused: `rule` (one of the RULE_* ids), `message`, and the
    1-based line and column inside the file (0 when the problem is the whole file)."""

    def __init__(self, rule: str, message: str, line: int = 0, column: int = 0) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message
        self.line = line
        self.column = column

    def diagnostic(self, file: str) -> Diagnostic:
        return Diagnostic(file, self.line, self.column, self.rule, ERROR, self.message)


# --- limits ------------------------------------------------------------------------------------------

def configure(limits: dict[str, Any] | None) -> None:
    """Apply mlgitops.yaml `limits:` (keys as in KINDS, values in MiB); None or {}: the defaults."""
    _configured.clear()
    for kind, (_, key, _) in KINDS.items():
        if key and limits and isinstance(limits.get(key), int):
            _configured[kind] = limits[key] * MIB


def limit(kind: str) -> int:
    """The size limit of `kind`, in bytes."""
    return _configured.get(kind, KINDS[kind][0])


def _limit_hint(kind: str, max_bytes: int) -> str:
    key = KINDS.get(kind, (0, None, ""))[1]
    where = f"limits.{key} in mlgitops.yaml" if key else "a fixed limit"
    return f"the {_mib(max_bytes)} limit for {KINDS.get(kind, (0, None, 'this kind of file'))[2]} ({where})"


def _over(kind: str, cap: int, hint: str | None) -> str:
    return f"the {_mib(cap)} limit ({hint})" if hint else _limit_hint(kind, cap)


def _mib(size: int) -> str:
    value = size / MIB
    return f"{value:.0f} MiB" if value == int(value) else f"{value:.1f} MiB"


# --- paths -------------------------------------------------------------------------------------------

def _under(path: str, root: str) -> bool:
    """Whether `path` is `root` or below it (both already absolute and normalised or resolved)."""
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def inside(root: str, path: str) -> bool:
    """Whether the real path of `path` (all symbolic links resolved) is `root` or below it."""
    return _under(os.path.realpath(path), os.path.realpath(root))


def trusted_root(repo_root: str, path: str) -> str:
    """What reads under `path` are confined to: the repository when `path` as written (links not
    followed) is inside it, else `path` itself: a location outside the repository can only have
    been named on the command line, which is trusted as a whole (e.g. `--policies ../platform/policies`,
    `mlgitops validate /tmp/rendered.yaml`)."""
    lexical = os.path.normpath(os.path.abspath(path))
    root = os.path.normpath(os.path.abspath(repo_root))
    if _under(lexical, root):
        return repo_root
    return path


def resolve(root: Roots, path: str, *, realpath: Callable[[str], str] = os.path.realpath) -> str:
    """The real path of `path` (relative paths are relative to the first root); ContainmentError
    when it is under none of `root` (a directory or a list of them; None: anywhere). `realpath`:
    os.path.realpath or a memo of it (see RealPaths)."""
    roots = [] if root is None else [root] if isinstance(root, str) else list(root)
    full = path if os.path.isabs(path) or not roots else os.path.join(roots[0], path)
    real = realpath(full)
    if os.path.islink(real):  # realpath gives up on a loop and returns a link still
        raise ContainmentError(RULE_NOT_REGULAR, "is a symbolic link that loops back on itself; refusing to read it")
    if roots and not any(_under(real, realpath(r)) for r in roots):
        lexical = os.path.normpath(os.path.abspath(full))
        through_link = any(_under(lexical, os.path.abspath(r)) for r in roots)
        how = "leads outside the repository through a symbolic link" if through_link else \
            "is outside the repository"
        raise ContainmentError(RULE_OUTSIDE, f"{how}; refusing to read it")
    return real


class RealPaths(dict):
    """`os.path.realpath` remembered by path, for one pass over a tree that nothing changes
    meanwhile (one render): the same answers as asking again, with fewer system calls. Call it
    like os.path.realpath; start a new one for each pass, so a later pass sees the tree as it is
    then.

    An absolute, normalised path below a directory D that this pass resolved (D is a real path
    it returned) is resolved from D: D/c1/.../cn is its own real path when every lstat of D/c1,
    D/c1/c2, ... succeeds and none is a symbolic link. That is what os.path.realpath finds too:
    a real path it returned holds no symbolic link unless it gave up on a link loop or on a
    component that does not exist or is no directory, and then the lstat of anything below it
    fails (ELOOP, ENOENT, ENOTDIR, ...). Any failure, link or other path: os.path.realpath."""

    def __init__(self) -> None:
        super().__init__()
        self.results: set[str] = set()

    def __call__(self, path: str) -> str:
        real = self.get(path)
        if real is None:
            real = self[path] = self._resolve(path)
            self.results.add(real)
        return real

    def _resolve(self, path: str) -> str:
        if not path.startswith(os.sep) or path.startswith(os.sep * 2) or os.path.normpath(path) != path:
            return os.path.realpath(path)
        end = len(path)
        while True:  # the longest directory above `path` that this pass resolved to itself
            end = path.rfind(os.sep, 0, end)
            if end <= 0:
                return os.path.realpath(path)
            if path[:end] in self.results:
                break
        while end >= 0:
            end = path.find(os.sep, end + 1)
            try:
                mode = os.lstat(path[:end] if end >= 0 else path).st_mode
            except (OSError, ValueError):
                return os.path.realpath(path)
            if stat.S_ISLNK(mode):
                return os.path.realpath(path)
        return path


def _kind_of_mode(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a directory"
    return "not a regular file"


# --- reading -----------------------------------------------------------------------------------------

def read_bytes(root: Roots, path: str, kind: str, *, max_bytes: int | None = None,
               hint: str | None = None, realpath: Callable[[str], str] = os.path.realpath) -> bytes:
    """The bytes of the regular file `path` whose real path is under `root` (see resolve), at most
    the size limit of `kind` (or `max_bytes`; `hint` replaces the limit's description in the
    input.too-large message). Raises ContainmentError, or OSError when the file cannot be opened
    (FileNotFoundError when it does not exist)."""
    real = resolve(root, path, realpath=realpath)
    cap = limit(kind) if max_bytes is None else max_bytes
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | \
        getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(real, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # became a symbolic link since it was resolved
            raise ContainmentError(RULE_OUTSIDE, "changed into a symbolic link while being read; "
                                                 "refusing to read it") from None
        if exc.errno in (errno.ENXIO, errno.EOPNOTSUPP):  # a socket, a FIFO without a reader on some systems
            raise ContainmentError(RULE_NOT_REGULAR, "is not a regular file (a socket or a special file); "
                                                     "refusing to read it") from None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ContainmentError(RULE_NOT_REGULAR,
                                   f"is {_kind_of_mode(st.st_mode)}, not a regular file; refusing to read it")
        if st.st_size > cap:
            raise ContainmentError(RULE_TOO_LARGE, f"file is {st.st_size / MIB:.1f} MiB, over {_over(kind, cap, hint)}")
        chunks: list[bytes] = []
        total = 0
        while total <= cap:
            chunk = os.read(fd, min(cap + 1 - total, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > cap:
            raise ContainmentError(RULE_TOO_LARGE, f"file is larger than {_over(kind, cap, hint)}")
        return b"".join(chunks)
    finally:
        os.close(fd)


def decode(raw: bytes, *, nul: bool = True) -> str:
    """`raw` as UTF-8 text (a leading byte order mark dropped); ContainmentError(input.encoding) at
    the line and column of the first byte that is not UTF-8 (or, with `nul`, of a NUL byte)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, column = _position(raw, exc.start)
        raise ContainmentError(RULE_ENCODING, f"file is not UTF-8: {exc.reason} at byte {exc.start}",
                               line, column) from None
    if nul:
        at = raw.find(b"\x00")
        if at >= 0:
            line, column = _position(raw, at)
            raise ContainmentError(RULE_ENCODING, f"file contains a NUL byte (at byte {at}): not a text file",
                                   line, column)
    return text[1:] if text.startswith("\ufeff") else text


def _position(raw: bytes, offset: int) -> tuple[int, int]:
    """1-based (line, column in characters) of byte `offset`."""
    start = raw.rfind(b"\n", 0, offset) + 1
    line = raw.count(b"\n", 0, offset) + 1
    prefix = raw[start:offset].decode("utf-8", errors="replace")
    if line == 1 and prefix.startswith("\ufeff"):
        prefix = prefix[1:]
    return line, len(prefix) + 1


def read_text(root: Roots, path: str, kind: str, *, max_bytes: int | None = None,
              hint: str | None = None) -> str:
    """read_bytes, decoded by `decode`."""
    return decode(read_bytes(root, path, kind, max_bytes=max_bytes, hint=hint))


@overload
def read_reported(root: Roots, path: str, kind: str, diags: Any, shown: str, *,
                  text: Literal[True] = True, unreadable: str = "input.unreadable", max_bytes: int | None = None,
                  hint: str | None = None) -> str | None: ...


@overload
def read_reported(root: Roots, path: str, kind: str, diags: Any, shown: str, *,
                  text: Literal[False], unreadable: str = "input.unreadable", max_bytes: int | None = None,
                  hint: str | None = None) -> bytes | None: ...


def read_reported(root: Roots, path: str, kind: str, diags: Any, shown: str, *,
                  text: bool = True, unreadable: str = "input.unreadable", max_bytes: int | None = None,
                  hint: str | None = None) -> str | bytes | None:
    """read_text (or, text=False, read_bytes) with every problem reported to `diags` as a finding on
    `shown` (a ContainmentError at its rule and position, an OSError as `unreadable`); None then."""
    try:
        raw = read_bytes(root, path, kind, max_bytes=max_bytes, hint=hint)
    except ContainmentError as exc:
        diags.add(exc.diagnostic(shown))
        return None
    except OSError as exc:
        diags.add(Diagnostic(shown, 0, 0, unreadable, ERROR, f"cannot read: {exc.strerror or exc}"))
        return None
    return decode_reported(raw, diags, shown) if text else raw


def decode_reported(raw: bytes, diags: Any, shown: str) -> str | None:
    """decode, its problem reported to `diags` as a finding on `shown`; None then."""
    try:
        return decode(raw)
    except ContainmentError as exc:
        diags.add(exc.diagnostic(shown))
        return None


def list_dir(root: str, directory: str, suffixes: tuple[str, ...] = (".yaml", ".yml")) -> list[str]:
    """Names of the entries of `directory` ending in `suffixes` (hidden ones left out), sorted;
    [] when it does not exist. ContainmentError when `directory` (or a parent) is a symbolic link
    leading outside `root`. Entries are not checked: read them with read_bytes/read_text."""
    full = os.path.abspath(os.path.join(root, directory))  # (resolve would join a relative root again)
    if not os.path.lexists(full):
        return []
    real = resolve(root, full)
    if not os.path.isdir(real):
        return []
    return sorted(n for n in os.listdir(real) if n.endswith(suffixes) and not n.startswith("."))
