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
