"""Finding one's way on the command line (issue #17): `mlgitops completion bash|zsh|fish` prints
click's completion script, which real bash runs to complete commands; and `schema` / `schemas`,
one letter apart, each say what the other is, and a subcommand of one typed under the other is a
usage error naming the right command."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner

from tooling import _missing, require_tool

from mlgitops.cli import main


def cli(*args: str):
    return CliRunner().invoke(main, list(args))


def mlgitops_dir() -> str:
    """The directory of the installed `mlgitops` script (the completion script runs it by name)."""
    found = shutil.which("mlgitops", path=os.path.dirname(sys.executable))
    if found is None:
        _missing("the mlgitops script is not installed beside this python: make venv")
    return os.path.dirname(found)  # type: ignore[arg-type]


def bash_complete(*words: str) -> list[str]:
    """What real bash offers after `words` (the last one being completed), through the sourced
    `mlgitops completion bash` script and click's COMP_WORDS/COMP_CWORD protocol."""
    bash = require_tool("bash", "install bash")
    script = (
        'source <(mlgitops completion bash) || exit 9\n'
        f'COMP_WORDS=({" ".join(repr(w) for w in words)}); COMP_CWORD={len(words) - 1}; COMPREPLY=()\n'
        '_mlgitops_completion mlgitops "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"\n'
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    env = {**os.environ, "PATH": mlgitops_dir() + os.pathsep + os.environ["PATH"]}
    env.pop("_MLGITOPS_COMPLETE", None)
    done = subprocess.run([bash, "--norc", "--noprofile", "-c", script], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return [line for line in done.stdout.splitlines() if line]


@pytest.mark.parametrize("shell, marker", [("bash", "complete -o nosort -F _mlgitops_completion mlgitops"),
                                           ("zsh", "#compdef mlgitops"),
                                           ("fish", "complete --no-files --command mlgitops")])
def test_completion_prints_the_script(shell, marker):
    result = cli("completion", shell)
    assert result.exit_code == 0, result.output
    assert marker in result.stdout
    assert f"_MLGITOPS_COMPLETE={shell}_complete" in result.stdout  # the protocol click answers
    assert result.stdout.endswith("\n")


def test_completion_is_the_script_click_serves():
    """The command prints what `_MLGITOPS_COMPLETE=bash_source mlgitops` prints."""
    env = {**os.environ, "_MLGITOPS_COMPLETE": "bash_source"}
    direct = subprocess.run([os.path.join(mlgitops_dir(), "mlgitops")], env=env, capture_output=True, text=True,
                            timeout=120)
    assert direct.returncode == 0, direct.stderr
    assert cli("completion", "bash").stdout.strip() == direct.stdout.strip()


def test_bash_completes_commands_subcommands_and_choices():
    assert bash_complete("mlgitops", "sch") == ["schema", "schemas"]
    assert bash_complete("mlgitops", "schemas", "") == ["import", "pull"]
    assert bash_complete("mlgitops", "schema", "") == ["docs", "export"]
    assert "completion" in bash_complete("mlgitops", "")
    assert bash_complete("mlgitops", "check", "--format", "") == ["text", "json", "github", "sarif", "junit"]


def test_completion_usage():
    unknown = cli("completion", "tcsh")
    assert unknown.exit_code == 2 and "'tcsh' is not one of 'bash', 'zsh', 'fish'" in unknown.output
    assert cli("completion").exit_code == 2
    helped = cli("completion", "--help")
    assert helped.exit_code == 0
    assert 'eval "$(mlgitops completion bash)"' in helped.output and "~/.bashrc" in helped.output
    assert "~/.config/fish/completions/mlgitops.fish" in helped.output
    assert "completion" in cli("--help").output


def test_schema_and_schemas_each_name_the_other():
    listing = cli("--help").output
    schema_line = next(line for line in listing.splitlines() if line.strip().startswith("schema "))
    schemas_line = next(line for line in listing.splitlines() if line.strip().startswith("schemas "))
    assert "Model spec" in schema_line and "..." not in schema_line
    assert "Custom resources" in schemas_line and "..." not in schemas_line
    assert "Not 'mlgitops schemas'" in cli("schema", "--help").output
    assert "Not 'mlgitops schema'" in cli("schemas", "--help").output


@pytest.mark.parametrize("typed, meant", [(["schema", "pull"], "mlgitops schemas pull"),
                                          (["schema", "import", "x.yaml"], "mlgitops schemas import"),
                                          (["schemas", "export"], "mlgitops schema export"),
                                          (["schemas", "docs"], "mlgitops schema docs")])
def test_a_subcommand_of_the_other_group_is_a_usage_error_naming_it(typed, meant):
    result = cli(*typed)
    assert result.exit_code == 2, result.output
    assert f"No such command '{typed[1]}' in 'mlgitops {typed[0]}'. Did you mean '{meant}'?" in result.output
    assert "Traceback" not in result.output


def test_an_unknown_subcommand_stays_clicks_error():
    result = cli("schema", "nope")
    assert result.exit_code == 2 and "No such command 'nope'." in result.output and "Did you mean" not in result.output
