"""Every shell example of README.md and docs/*.md that shows its output is run, and the output
compared, so the documentation cannot go stale.

The convention (docs/development.md, "Executed examples"):

- A ```console block holds commands, each on a line starting with `$ `, and after each the output
  it prints (stdout and stderr together, as on a terminal). Blocks of any other language (```sh,
  ```yaml) are not run.
- In the expected output a line `...` stands for any number of lines, and `...` inside a line for
  any text. Timings (`0.42s`, `1.5 ms`) and the path of the temporary copy are normalised.
- A block that needs a tool or ../shared says so in its info string: ```console requires=promtool
  (several: requires=promtool,shared); without it the example is skipped, and fails under CI=true.
- A fenced block with `file=PATH` in its info string (```yaml file=models/my-model.yaml) is
  written to PATH before the next console block runs: the file a reader copies is the one tested.

Each console block runs in its own fresh copy of the repository (its tracked and untracked,
not ignored files, committed as a new git repository, with ../shared beside it when it exists),
with the real `mlgitops` of .venv on PATH and the copy as working directory; commands of one block
share that copy, so a block that edits files is self-contained.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import re
import shutil
import subprocess

import pytest

from gitrepo import GIT_ENV
from tooling import REPO_ROOT, SHARED_ROOT, copy_repo_files, require_shared, require_tool

DOC_FILES = ["README.md", *sorted(p.relative_to(REPO_ROOT).as_posix() for p in (REPO_ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,})(?P<info>[^`]*)$")
TIMING = re.compile(r"\b\d+\.\d+\s?(?:ms|s)\b")  # a measured time: 0.42s, 1.5 ms
PER_COMMAND_TIMEOUT = 120


@dataclasses.dataclass
class Block:
    doc: str
    line: int  # 1-based line of the opening fence
    commands: list[tuple[str, str]]  # (command, expected output)
    files: dict[str, str]  # path -> content, written before the commands
    requires: list[str]

    @property
    def id(self) -> str:
        return f"{self.doc}:{self.line}"


def _fenced_blocks(text: str):
    """(line, info string, body) of every fenced block, its indentation removed."""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, start = m["indent"], m["fence"], i
        body = []
        i += 1
        while i < len(lines) and lines[i].strip() != fence:
            body.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i].lstrip())
            i += 1
        yield start + 1, m["info"].strip(), body
        i += 1


def _info(info: str) -> tuple[str, dict[str, str]]:
    words = info.split()
    lang = words[0] if words else ""
    attrs = dict(w.split("=", 1) for w in words[1:] if "=" in w)
    return lang, attrs


def _parse_console(body: list[str]) -> list[tuple[str, str]]:
    commands: list[tuple[str, list[str]]] = []
    for line in body:
        if line.startswith("$ "):
            commands.append((line[2:], []))
        elif commands:
            commands[-1][1].append(line)
        else:
            raise ValueError(f"output before the first `$ ` command: {line!r}")
    return [(cmd, "\n".join(out)) for cmd, out in commands]


def collect(doc: str) -> list[Block]:
    text = (REPO_ROOT / doc).read_text(encoding="utf-8")
    blocks: list[Block] = []
    pending: dict[str, str] = {}
    for line, info, body in _fenced_blocks(text):
        lang, attrs = _info(info)
        if "file" in attrs:
            pending[attrs["file"]] = "\n".join(body) + "\n"
        if lang != "console":
            continue
        requires = [r for r in attrs.get("requires", "").split(",") if r]
        blocks.append(Block(doc, line, _parse_console(body), pending, requires))
        pending = {}
    return blocks


BLOCKS = [block for doc in DOC_FILES for block in collect(doc)]


def _normalise(text: str, copy: pathlib.Path) -> str:
    text = text.replace(str(copy), "<repo>")
    text = TIMING.sub("<time>", text)
    return "\n".join(line.rstrip() for line in text.strip("\n").splitlines())


def _pattern(expected: str) -> re.Pattern[str]:
    """`expected` as a regular expression: a `...` line is any lines, `...` in a line any text."""
    parts = []
    for line in expected.split("\n"):
        if line == "...":
            parts.append("(?:[^\n]*\n)*?")
        else:
            parts.append(".*?".join(re.escape(piece) for piece in line.split("...")) + "\n")
    return re.compile("".join(parts), re.DOTALL)


def matches(expected: str, actual: str) -> bool:
    return _pattern(expected).fullmatch(actual + "\n") is not None


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """The repository's files (tracked and untracked, not ignored), committed as a new git repository."""
    root = copy_repo_files(tmp_path_factory.mktemp("pristine") / "repo")
    env = {**os.environ, **GIT_ENV}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "docs example"]):
        subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)
    return root


def _fresh_copy(pristine: pathlib.Path, tmp_path: pathlib.Path) -> pathlib.Path:
    copy = tmp_path / "repo"
    shutil.copytree(pristine, copy, symlinks=True)
    if SHARED_ROOT.exists():
        (tmp_path / "shared").symlink_to(SHARED_ROOT)  # ../shared, as beside the real clone
    return copy


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "MLGITOPS_TODAY")}
    env.update(GIT_ENV)
    env["PATH"] = os.pathsep.join([str(REPO_ROOT / ".venv" / "bin"), str(REPO_ROOT / ".tools" / "bin"),
                                   env.get("PATH", "")])
    env["PYTHONUNBUFFERED"] = "1"  # stdout and stderr interleave as on a terminal
    env.pop("FORCE_COLOR", None)
    env["NO_COLOR"] = "1"
    return env


def _require(requirement: str) -> None:
    if requirement == "shared":
        require_shared("schemas")
    else:
        require_tool(requirement, "run `make tools`")


def test_examples_are_found():
    """The convention is in use: the README's quick examples and the docs' examples are collected."""
    docs = {block.doc for block in BLOCKS}
    assert "README.md" in docs and len(docs) >= 3, docs
    assert all(block.commands for block in BLOCKS), [b.id for b in BLOCKS if not b.commands]


@pytest.mark.parametrize("block", BLOCKS, ids=[b.id for b in BLOCKS])
def test_doc_example(block: Block, pristine: pathlib.Path, tmp_path: pathlib.Path):
    for requirement in block.requires:
        _require(requirement)
    copy = _fresh_copy(pristine, tmp_path)
    for rel, content in block.files.items():
        (copy / rel).parent.mkdir(parents=True, exist_ok=True)
        (copy / rel).write_text(content, encoding="utf-8")
    env = _environment()
    for command, expected in block.commands:
        proc = subprocess.run(["bash", "-o", "pipefail", "-c", command], cwd=copy, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=PER_COMMAND_TIMEOUT)
        actual = _normalise(proc.stdout, copy)
        want = _normalise(expected, copy)
        assert matches(want, actual), (
            f"{block.id}: `$ {command}` (exit {proc.returncode}) printed:\n{actual}\n\n"
            f"the documentation shows:\n{want}")


def test_matching_rules():
    """The comparison is strict where the documentation is literal."""
    assert matches("a\n...\nd", "a\nb\nc\nd") and matches("a\n...\nd", "a\nd")
    assert matches("check: 0 error(s), ... warning(s)", "check: 0 error(s), 13 warning(s)")
    assert not matches("a\nd", "a\nb\nd")
    assert not matches("check: 0 error(s)", "check: 1 error(s)")
    assert _normalise("in 53.8s\n(0.21s)\n", pathlib.Path("/x")) == "in <time>\n(<time>)"


README_MAX_BYTES = 15 * 1024
LINKED_DOCS = [*DOC_FILES, "policies/README.md", "bench/README.md"]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_readme_is_short():
    """The README is the way in (what, quick start, adding a model, commands); the reference is in docs/."""
    size = (REPO_ROOT / "README.md").stat().st_size
    assert size <= README_MAX_BYTES, f"README.md is {size} bytes: move reference material to docs/"


def _anchors(text: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation but `-` and `_` dropped, spaces to `-`."""
    out = set()
    for line in text.splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            out.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return out


@pytest.mark.parametrize("doc", LINKED_DOCS)
def test_relative_links_resolve(doc: str):
    """Every relative link of the documentation names an existing file, and its #anchor a heading there."""
    text = (REPO_ROOT / doc).read_text(encoding="utf-8")
    broken = []
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target):
            continue  # https:, mailto:
        path, _, anchor = target.partition("#")
        resolved = (REPO_ROOT / doc).parent / path if path else REPO_ROOT / doc
        if not resolved.exists():
            broken.append(target)
        elif anchor and resolved.is_file() and anchor not in _anchors(resolved.read_text(encoding="utf-8")):
            broken.append(target)
    assert broken == [], f"{doc}: broken links {broken}"
