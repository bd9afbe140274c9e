"""`mlgitops init [DIR]`: scaffold a new GitOps repository (the files: scaffold/).

Refuses (exit 1, nothing written) when DIR already holds mlgitops.yaml or any file it would
write. With `force`, it writes only the files that are missing and keeps every existing file as
it is (listed as kept): it never overwrites or deletes a file. Each file is written atomically
(a temporary file renamed into place).
"""

from __future__ import annotations

import dataclasses
import os

from ..scaffold import Settings, scaffold_files
from ..scaffold.settings import SettingsError
from ..validate.lock import write_atomic
from . import EXIT_FINDINGS, EXIT_OK, UsageError

BUNDLED = ("policies", "schemas")  # listed as one line each


@dataclasses.dataclass
class InitResult:
    """What init wrote into `directory` (paths relative to it), or the files in its way."""
    directory: str
    written: list[str] = dataclasses.field(default_factory=list)
    kept: list[str] = dataclasses.field(default_factory=list)
    existing: list[str] = dataclasses.field(default_factory=list)  # refused: these are in the way

    @property
    def exit_code(self) -> int:
        return EXIT_FINDINGS if self.existing else EXIT_OK

    def text(self) -> str:
        """What was written (policies/ and schemas/ as one line each) and the commands to run next."""
        lines: list[str] = []
        for verb, paths in (("wrote", self.written), ("kept (exists)", self.kept)):
            grouped: dict[str, int] = {}
            for path in paths:
                top = path.split("/", 1)[0]
                key = f"{top}/" if top in BUNDLED else path
                grouped[key] = grouped.get(key, 0) + 1
            lines += [f"{verb} {os.path.join(self.directory, key)}" + (f" ({n} files)" if key.endswith("/") else "")
                      for key, n in grouped.items()]
        lines += ["", "Next:", f"  cd {self.directory} && mlgitops build && mlgitops check"]
        return "\n".join(lines) + "\n"

    def as_dict(self) -> dict[str, object]:
        return {"directory": self.directory, "written": self.written, "kept": self.kept, "existing": self.existing}


def settings(repo_url: str, environments: tuple[str, ...], servers: dict[str, str], namespace_prefix: str,
             model: str) -> Settings:
    """The scaffold's settings from the options; a value that cannot work is a usage error."""
    try:
        return Settings.make(repo_url, environments, servers, namespace_prefix, model)
    except SettingsError as exc:
        raise UsageError(str(exc)) from None


def init(directory: str, config: Settings, *, force: bool = False) -> InitResult:
    """Write the new repository's files into `directory` (created when missing)."""
    if os.path.exists(directory) and not os.path.isdir(directory):
        raise UsageError(f"{directory}: not a directory")
    files = scaffold_files(config)
    existing = [path for path in files if os.path.lexists(os.path.join(directory, path))]
    if existing and not force:
        return InitResult(directory, existing=existing)
    result = InitResult(directory)
    for path, data in files.items():
        if path in existing:
            result.kept.append(path)
        else:
            try:
                write_atomic(os.path.join(directory, path), data)
            except OSError as exc:  # e.g. a read-only directory: the files written so far stay, listed
                done = f" (written so far: {len(result.written)} file(s))" if result.written else ""
                raise UsageError(f"cannot write {os.path.join(directory, path)}: {exc.strerror or exc}{done}") from None
            result.written.append(path)
    return result
