import os
import pathlib

import pytest

import tooling

NO_SUCH_TOOL = "mlgitops-no-such-tool-7f3a9c"


def _make_exe(path: pathlib.Path) -> pathlib.Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)
    return path


def test_roots():
    assert (tooling.REPO_ROOT / "pyproject.toml").is_file()
    assert tooling.SHARED_ROOT == tooling.REPO_ROOT.parent / "shared"


def test_find_tool_finds_git_on_path():
    path = tooling.find_tool("git")
    assert path is not None
    assert os.access(path, os.X_OK)


def test_find_tool_returns_none_when_missing():
    assert tooling.find_tool(NO_SUCH_TOOL) is None


def test_find_tool_search_order(tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    home = tmp_path / "home"
    monkeypatch.setattr(tooling, "REPO_ROOT", repo)
    monkeypatch.setenv("HOME", str(home))
    bindir = tmp_path / "pathbin"
    monkeypatch.setenv("PATH", str(bindir))
    name = "fake-tool"

    on_path = _make_exe(bindir / name)
    assert tooling.find_tool(name) == str(on_path)
    in_go = _make_exe(home / "go" / "bin" / name)
    assert tooling.find_tool(name) == str(in_go)
    in_tools = _make_exe(repo / ".tools" / "bin" / name)
    assert tooling.find_tool(name) == str(in_tools)
    in_venv = _make_exe(repo / ".venv" / "bin" / name)
    assert tooling.find_tool(name) == str(in_venv)


def test_find_tool_ignores_non_executable(tmp_path, monkeypatch):
    monkeypatch.setattr(tooling, "REPO_ROOT", tmp_path)
    monkeypatch.setenv("PATH", "")
    plain = tmp_path / ".tools" / "bin" / "not-exe"
    plain.parent.mkdir(parents=True)
    plain.write_text("data")
    assert tooling.find_tool("not-exe") is None


def test_require_tool_returns_path():
    assert tooling.require_tool("git", "apt-get install git") == tooling.find_tool("git")


@pytest.mark.parametrize("ci", [None, "", "false", "1"])
def test_require_tool_skips_outside_ci(monkeypatch, ci):
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.skip.Exception) as excinfo:
        tooling.require_tool(NO_SUCH_TOOL, "make tools")
    assert str(excinfo.value) == f"{NO_SUCH_TOOL} not installed: make tools"


@pytest.mark.parametrize("ci", ["true", "TRUE", "True"])
def test_require_tool_fails_in_ci(monkeypatch, ci):
    monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.fail.Exception) as excinfo:
        tooling.require_tool(NO_SUCH_TOOL, "make tools")
    assert f"{NO_SUCH_TOOL} not installed: make tools" in str(excinfo.value)


def test_require_shared_missing_skips_with_one_line(tmp_path, monkeypatch):
    monkeypatch.setattr(tooling, "SHARED_ROOT", tmp_path / "shared")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception) as excinfo:
        tooling.require_shared("schemas")
    reason = str(excinfo.value)
    assert "\n" not in reason
    assert "schemas" in reason


def test_require_shared_missing_fails_in_ci(tmp_path, monkeypatch):
    monkeypatch.setattr(tooling, "SHARED_ROOT", tmp_path / "shared")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception):
        tooling.require_shared("schemas")


def test_require_shared_present(tmp_path, monkeypatch):
    (tmp_path / "schemas").mkdir()
    monkeypatch.setattr(tooling, "SHARED_ROOT", tmp_path)
    monkeypatch.setenv("CI", "true")
    assert tooling.require_shared("schemas") == tmp_path / "schemas"


def test_require_shared_real_schemas():
    # The real ../shared beside the repo: skips locally when absent, fails in CI.
    path = tooling.require_shared("schemas")
    assert path.is_dir()
    assert path == tooling.SHARED_ROOT / "schemas"
