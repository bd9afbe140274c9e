"""The package's shape: no import cycles between its parts, and the type checker is clean.

A "part" is a subpackage (compiler/mlgitops/<name>/) or a top-level module. Every import
between two parts, at module level or inside a function, is an edge; a cycle of edges is a
design error (the layers are domain < config < spec < expand < rules < pipeline/CLI, see
docs/design.md), found here rather than by a reader.
"""

from __future__ import annotations

import ast
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

from tooling import REPO_ROOT

PACKAGE = REPO_ROOT / "compiler" / "mlgitops"


def _part(module: str) -> str:
    """`mlgitops.spec.model` -> `spec`; `mlgitops.cli` -> `cli`."""
    return module.split(".")[1] if module.count(".") else module


def _module_name(path: pathlib.Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: pathlib.Path) -> set[str]:
    """The mlgitops modules `path` imports (absolute names)."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("mlgitops"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("mlgitops"):
                continue
            # `from . import x` / `from .pkg import mod` name modules too.
            for alias in node.names:
                candidate = f"{target}.{alias.name}"
                as_path = PACKAGE.parent / candidate.replace(".", "/")
                found.add(candidate if as_path.with_suffix(".py").exists() or as_path.is_dir() else target)
    return found


def part_graph() -> dict[str, set[str]]:
    """{part: parts it imports}, self-imports left out."""
    graph: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        source = _part(_module_name(path))
        edges = graph.setdefault(source, set())
        for target in _imports(path):
            if target != "mlgitops" and _part(target) != source:
                edges.add(_part(target))
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one part (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10000))
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles_between_parts():
    graph = part_graph()
    assert len(graph) > 20, sorted(graph)  # the scan found the package
    found = cycles(graph)
    detail = {" <-> ".join(c): {p: sorted(graph[p] & set(c)) for p in c} for c in found}
    assert not found, f"import cycles between parts of the package: {detail}"


def test_cycle_finder_finds_a_cycle():
    """The check above could fail: the same finder reports a planted cycle and ignores a chain."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_domain_depends_on_nothing_else():
    """domain/ holds facts about KServe, Prometheus and units: the bottom layer."""
    assert part_graph()["domain"] == set()


def test_mypy_is_clean():
    """`mypy` (configured in pyproject.toml) reports no error in the package."""
    mypy = shutil.which("mypy", path=os.path.dirname(sys.executable)) or shutil.which("mypy")
    if mypy is None:
        if os.environ.get("CI") == "true":
            pytest.fail("mypy is not installed (it is in the test extra: make venv)")
        pytest.skip("mypy not installed (pip install -e '.[test]')")
    done = subprocess.run([mypy, "--no-incremental"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert "Success: no issues found" in done.stdout
