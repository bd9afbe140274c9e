"""Small, strict helpers over the real `git` command line.

Every function runs `git` as a subprocess (no library), with a fixed locale and no prompts, and
raises `GitError` with a one-line message (the git command and the first line of its stderr) when
git fails. Paths handed back are relative to the top of the git work tree, with '/' separators.

The work tree is never changed by the read functions (`changed_paths`, `export_tree`, ...);
`commit_paths` stages and commits only the paths it is given.
"""

from __future__ import annotations

import os
import subprocess

# The author of the commits `mlgitops build --commit` makes: fixed, so the commit is deterministic
# apart from its timestamps. The committer is the identity git is configured with (who ran it),
# or this same identity when git has none (a fresh CI runner).
DEFAULT_AUTHOR = "mlgitops <mlgitops@localhost>"


class GitError(Exception):
    """A git command failed; the message is one line: the command and git's own complaint."""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update({"LC_ALL": "C", "LANGUAGE": "C", "GIT_TERMINAL_PROMPT": "0", "GIT_PAGER": "cat",
                "GIT_OPTIONAL_LOCKS": "0"})
    return env


def _run(args: list[str], cwd: str, input: bytes | None = None, env: dict[str, str] | None = None) -> bytes:
    return _run_together([args], cwd, input, env)[0]


def _run_together(commands: list[list[str]], cwd: str, input: bytes | None = None,
                  env: dict[str, str] | None = None) -> list[bytes]:
    """The stdout of `git ARGS` for each ARGS of `commands`, all started before any is waited for
    (two file-system walks of a large work tree overlap); the first failure, in order, raises as
    one command alone would."""
    started: list[tuple[list[str], subprocess.Popen | Exception]] = []
    for args in commands:
        try:
            started.append((args, subprocess.Popen(["git", *args], cwd=cwd, stdin=subprocess.PIPE if input is not None
                                                   else None, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                                   env=env or _env())))
        except (FileNotFoundError, NotADirectoryError) as exc:
            started.append((args, exc))
    try:
        return _outputs(started, cwd, input)
    except BaseException:  # as subprocess.run: none left running (an interrupt, a failure)
        for _, proc in started:
            if isinstance(proc, subprocess.Popen) and proc.returncode is None:
                proc.kill()
                proc.wait()
        raise


def _outputs(started: list[tuple[list[str], subprocess.Popen | Exception]], cwd: str,
             input: bytes | None) -> list[bytes]:
    outputs = []
    for args, proc in started:
        if isinstance(proc, Exception):
            if isinstance(proc, NotADirectoryError):
                raise GitError(f"git {' '.join(args)}: not a directory {cwd}") from proc
            if not os.path.isdir(cwd):
                raise GitError(f"git {' '.join(args)}: no such directory {cwd}") from proc
            raise GitError("git is not installed (no 'git' on PATH)") from proc
        stdout, stderr = proc.communicate(input)
        if proc.returncode != 0:
            lines = [line.strip() for line in stderr.decode("utf-8", "replace").splitlines() if line.strip()]
            why = next((line for line in lines if line.startswith(("fatal:", "error:"))), lines[0] if lines else "")
            shown = " ".join(args) if len(args) <= 8 else " ".join(args[:8]) + " ..."
            raise GitError(f"git {shown} failed (exit {proc.returncode}): {why or 'no message'}")
        outputs.append(stdout)
    return outputs


def git(args: list[str], cwd: str, *, input: bytes | None = None) -> str:
    """Run `git ARGS` in `cwd`; its stdout as text. Raises GitError when git exits non-zero."""
    return _run(args, cwd, input).decode("utf-8", "surrogateescape")


def _z(out: bytes) -> list[str]:
    return [p.decode("utf-8", "surrogateescape") for p in out.split(b"\0") if p]


def toplevel(path: str) -> str | None:
    """The top directory of the git work tree holding `path`; None outside one (or without git)."""
    directory = path if os.path.isdir(path) else os.path.dirname(path) or "."
    try:
        out = git(["rev-parse", "--show-toplevel"], directory).strip()
    except GitError:
        return None
    return out or None


def resolve(ref: str, cwd: str) -> str:
    """The full commit sha `ref` names; GitError naming the ref when there is no such commit."""
    if not ref or ref.startswith("-"):
        raise GitError(f"unknown git revision {ref!r}")
    try:
        return git(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"], cwd).strip()
    except GitError as exc:
        if toplevel(cwd) is None:
            raise GitError(f"cannot resolve {ref!r}: {cwd} is not inside a git work tree") from exc
        raise GitError(f"unknown git revision {ref!r} (no such branch, tag or commit in {toplevel(cwd)})") from exc


def merge_base(ref: str, cwd: str, other: str = "HEAD") -> str:
    """The best common ancestor of `ref` and `other` (a commit sha)."""
    a, b = resolve(ref, cwd), resolve(other, cwd)
    try:
        return git(["merge-base", a, b], cwd).strip()
    except GitError as exc:
        raise GitError(f"{ref!r} and {other!r} have no common ancestor") from exc


def _exists(ref: str, cwd: str) -> bool:
    try:
        git(["rev-parse", "--verify", "--quiet", ref], cwd)
        return True
    except GitError:
        return False


def default_branch(cwd: str) -> str:
    """The default branch, as a ref git resolves: the branch origin/HEAD points at (e.g.
    'origin/main'), else a local 'main' or 'master' that exists, else 'HEAD'."""
    try:
        target = git(["symbolic-ref", "--quiet", "refs/remotes/origin/HEAD"], cwd).strip()
    except GitError:
        target = ""
    if target.startswith("refs/remotes/"):
        return target[len("refs/remotes/"):]
    for name in ("main", "master"):
        if _exists(f"refs/heads/{name}", cwd):
            return name
    for name in ("origin/main", "origin/master"):
        if _exists(f"refs/remotes/{name}", cwd):
            return name
    return "HEAD"


def changed_paths(ref: str, cwd: str, *, sha: str | None = None, top: str | None = None) -> list[str]:
    """Paths (relative to the work tree top) that differ between commit `ref` and the working tree:
    committed since, staged, unstaged and untracked files that are not ignored; sorted. `sha` and
    `top`, when the caller has them: resolve(ref, cwd) and toplevel(cwd)."""
    sha = sha or resolve(ref, cwd)
    top = top or toplevel(cwd) or cwd
    diff, untracked = _run_together([["diff", "--name-only", "--no-renames", "-z", sha, "--"],
                                     ["ls-files", "--others", "--exclude-standard", "-z"]], top)
    return sorted(set(_z(diff)) | set(_z(untracked)))


def export_tree(ref: str, cwd: str, dest: str) -> None:
    """Write the whole tree of commit `ref` (from the work tree top) into directory `dest`
    (`git archive | tar -x`); the working tree, index and HEAD are untouched."""
    sha = resolve(ref, cwd)
    top = toplevel(cwd) or cwd
    os.makedirs(dest, exist_ok=True)
    archive = _run(["archive", "--format=tar", sha], top)
    done = subprocess.run(["tar", "-x", "-f", "-", "-C", dest], input=archive, capture_output=True)
    if done.returncode != 0:
        why = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(f"tar -x into {dest} failed: {why[0] if why else 'no message'}")


def staged_paths(cwd: str) -> list[str]:
    """Paths whose staged content (index) differs from HEAD (every indexed path before the first commit)."""
    top = toplevel(cwd) or cwd
    if _exists("HEAD", top):
        return sorted(_z(_run(["diff", "--cached", "--name-only", "--no-renames", "-z"], top)))
    return sorted(_z(_run(["ls-files", "--cached", "-z"], top)))


def _identity_env(top: str) -> dict[str, str]:
    """Our environment, plus the mlgitops identity as committer when git has none configured."""
    env = _env()
    for kind in ("name", "email"):
        variable = f"GIT_COMMITTER_{kind.upper()}"
        if env.get(variable):
            continue
        try:
            configured = git(["config", f"user.{kind}"], top).strip()
        except GitError:
            configured = ""
        if not configured:
            name, email = DEFAULT_AUTHOR[:-1].split(" <")
            env[variable] = name if kind == "name" else email
    return env


def commit_paths(paths: list[str], message: str, cwd: str, *, author: str = DEFAULT_AUTHOR) -> str | None:
    """Stage exactly `paths` (relative to `cwd`; additions, modifications and deletions) and commit
    only them with `message` and `author`. The new commit's sha, or None when none of them changed
    (no commit is made then)."""
    top = toplevel(cwd)
    if top is None:
        raise GitError(f"cannot commit: {cwd} is not inside a git work tree")
    prefix = git(["rev-parse", "--show-prefix"], cwd).strip()
    rels = sorted({prefix + p.replace(os.sep, "/").lstrip("/") for p in paths})
    if not rels:
        return None
    tracked = set(_z(_run(["ls-files", "--cached", "-z"], top)))
    present = [p for p in rels if p in tracked or os.path.lexists(os.path.join(top, p))]
    if not present:
        return None
    spec = b"\0".join(p.encode("utf-8", "surrogateescape") for p in present) + b"\0"
    _run(["--literal-pathspecs", "add", "--all", "--pathspec-from-file=-", "--pathspec-file-nul"], top, spec)
    staged = set(staged_paths(top))
    if not staged.intersection(present):
        return None
    env = _identity_env(top)
    body = message if message.endswith("\n") else message + "\n"
    # Commit the index: exactly the staged paths (callers refuse to run with staged changes of their own).
    _run(["commit", "--quiet", "--no-edit", "--cleanup=verbatim", f"--author={author}", "-F", "-"],
         top, body.encode("utf-8"), env=env)
    return git(["rev-parse", "HEAD"], top).strip()
