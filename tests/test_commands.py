"""commands: the exit code is decided in one place, and the command functions run without click."""

from __future__ import annotations

import pytest

from conftest import REPO_ROOT
from mlgitops.commands import UsageError, exit_code, require_repo
from mlgitops.commands.build import build
from mlgitops.diagnostics import Diagnostics


def test_exit_code_usage_beats_findings_beats_differences():
    diags = Diagnostics()
    assert exit_code(diags) == 0 and exit_code(diags, differs=True) == 1
    diags.warning("models/iris.yaml", 1, 1, "spec.canary-weights", "approximate")
    assert exit_code(diags) == 0
    diags.error("models/iris.yaml", 1, 1, "spec.type", "bad")
    assert exit_code(diags) == 1
    diags.error("mlgitops.yaml", 0, 0, "usage.unknown-environment", "--env nope")
    assert exit_code(diags) == 2


def test_require_repo_and_option_checks_raise_usage_errors(tmp_path):
    with pytest.raises(UsageError, match="--repo .*: not a directory"):
        require_repo(str(tmp_path / "missing"))
    with pytest.raises(UsageError, match="-m/--message needs --commit"):
        build(str(tmp_path), message="x")


def test_build_check_as_a_library_function():
    outcome = build(str(REPO_ROOT), check=True)
    assert outcome.exit_code == 0, list(outcome.diagnostics)
    assert outcome.summary is not None and outcome.summary["check"] is True
    assert outcome.notes and outcome.notes[0].startswith("checked ")


def test_a_relative_repo_path_is_the_same_repository(cli, tmp_path, monkeypatch):
    """`--repo platform` from the directory above: every stage reads the same files as with the
    absolute path (a relative root used to be joined twice: 'no model files in models/')."""
    from conftest import copy_sources

    repo = copy_sources(tmp_path / "platform")
    monkeypatch.chdir(tmp_path)
    built = cli("build", "--repo", "platform", "--format", "json")
    assert built.exit_code == 0, built.output
    assert sorted(p.name for p in (repo / "overlays").iterdir()) == ["prod", "prod@prod-eu", "staging"]
    for command in (("check",), ("validate",), ("build", "--check")):
        relative = cli(*command, "--repo", "platform", "--format", "json")
        absolute = cli(*command, "--repo", str(repo), "--format", "json")
        assert relative.exit_code == absolute.exit_code == 0, (command, relative.output)
        assert _untimed(relative.stdout) == _untimed(absolute.stdout), command


def _untimed(report: str) -> str:
    import json
    import re

    return re.sub(r'"(seconds|duration|elapsed)[a-z_]*": [0-9.e-]+', "", json.dumps(json.loads(report), sort_keys=True))
