"""`mlgitops completion SHELL`: the shell completion script, click's own.

click completes any command when the environment variable _MLGITOPS_COMPLETE names the shell's
protocol (`_MLGITOPS_COMPLETE=bash_source mlgitops` prints the bash script, whose function then
calls `mlgitops` with `_MLGITOPS_COMPLETE=bash_complete`, COMP_WORDS and COMP_CWORD set). This
command prints that script so users need not know the variable.
"""

from __future__ import annotations

import click

from . import UsageError

PROG_NAME = "mlgitops"
COMPLETE_VAR = "_MLGITOPS_COMPLETE"  # click's name for it: _{PROG_NAME}_COMPLETE, upper case
SHELLS = ("bash", "zsh", "fish")


def completion_script(cli: click.Command, shell: str) -> str:
    """The completion script of `cli` (the `mlgitops` command) for `shell`, ending with a newline."""
    from click.shell_completion import get_completion_class

    completer = get_completion_class(shell) if shell in SHELLS else None
    if completer is None:
        raise UsageError(f"no completion for shell {shell!r} (known: {', '.join(SHELLS)})")
    source = completer(cli, {}, PROG_NAME, COMPLETE_VAR).source()
    return source if source.endswith("\n") else source + "\n"
