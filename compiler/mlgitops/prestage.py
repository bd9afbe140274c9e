"""Stage a new generated directory where its files were compiled.

The write stage (overlays.sync_tree) stages every directory that changes as a hidden sibling
(overlays/prod/.iris.mlgitops-new/) and swaps it in once everything is staged and flushed. For a
directory that does not exist yet (a new model or environment, a build from scratch) there is
nothing to compare and nothing to link: its staged copy holds exactly the files compiled for it.
So the process that compiled a model writes those copies itself (stage_new_units), on every
core, while the other models compile, instead of sending the files' bytes to the build's
process to be written there one core after the compile (a full build: 12,000 files, 250 MB).

What the write stage receives for such a file is PRESTAGED instead of its bytes, and the staged
copy's paths (NewUnit). It checks each again when it has walked the tree (the directory must
still be absent, and hold the files wanted), swaps it in like one it staged itself, and
`Prestaged.discard` removes every staged copy that was not swapped in, and the parent
directories made for them, whatever ended the build. A copy is staged only below real
directories of the repository (a link or a file on the way: the write stage refuses the tree),
and never over anything: a directory already there, or a leftover of an interrupted build at the
staged copy's name, is left to the write stage. A build killed meanwhile leaves staged copies
like any other: leftovers that the next build removes (its workers hold the build lock until
they end, so none writes while another build runs).

Test hook: overlays' MLGITOPS_FAULT point `prestage` is each file written here (by overlays._stage,
as the write stage writes a staged file).
"""

from __future__ import annotations

import os
import stat
from typing import Callable

from . import layout
from .overlays import NEW_SUFFIX, PRESTAGED, NewUnit, Prestaged, _sibling, _stage, _Step, _unit

__all__ = ["PRESTAGED", "NewUnit", "Prestaged", "stage_new_units"]


def stage_new_units(root: str, outputs: dict[str, bytes], wanted: Callable[[str], bool],
                    real_dirs: dict[str, bool]) -> tuple[dict[str, bytes], list[NewUnit], list[str]]:
    """Write the files of every directory of `outputs` (the `wanted` ones) that does not exist
    into its staged copy, as the write stage would; (outputs with PRESTAGED for those files, the
    copies staged, the parent directories created). A directory that cannot be staged here (it
    exists, a link or a file is on the way, a leftover holds the name, a write fails) keeps its
    files' bytes for the write stage. `real_dirs` remembers the directories found real or made
    (repo-relative: True)."""
    by_unit: dict[str, list[str]] = {}
    overlays = layout.OVERLAYS + "/"
    for rel in outputs:
        if rel.startswith(overlays) and wanted(rel):
            unit = _unit(rel)
            if unit is not None:
                by_unit.setdefault(unit, []).append(rel)
    staged_units: list[NewUnit] = []
    created: list[str] = []
    if not by_unit:
        return outputs, staged_units, created
    outputs = dict(outputs)
    for unit, rels in sorted(by_unit.items()):
        parent = unit.rpartition("/")[0]
        if not _real_or_made(root, parent, real_dirs, created):
            continue
        path = os.path.join(root, unit)
        try:
            os.lstat(path)
            continue  # there already: the write stage compares and stages it
        except FileNotFoundError:
            pass
        except OSError:
            continue
        staged = _sibling(path, NEW_SUFFIX)
        try:
            os.mkdir(staged)  # never over anything (a link there is not followed: EEXIST)
        except OSError:
            continue
        fresh = [os.path.dirname(staged)]
        files = sorted(rels)
        try:  # what the write stage does for a directory every file of which changed
            _stage(root, _Step(unit, files, [], False, staged), outputs, set(files), fresh, "prestage")
        except OSError:
            import shutil

            shutil.rmtree(staged, ignore_errors=True)
            continue
        staged_rel = f"{parent}/{os.path.basename(staged)}" if parent else os.path.basename(staged)
        staged_units.append(NewUnit(unit, staged, staged_rel, files, fresh))
        for rel in rels:
            outputs[rel] = PRESTAGED
    return outputs, staged_units, created


def _real_or_made(root: str, rel_dir: str, real_dirs: dict[str, bool], created: list[str]) -> bool:
    """Whether every directory from `root` down to `rel_dir` is a real directory, making the
    missing ones (each made is added to `created`)."""
    if not rel_dir or real_dirs.get(rel_dir):
        return True
    if real_dirs.get(rel_dir) is False:
        return False
    parent = rel_dir.rpartition("/")[0]
    ok = _real_or_made(root, parent, real_dirs, created)
    if ok:
        path = os.path.join(root, rel_dir)
        try:
            ok = stat.S_ISDIR(os.lstat(path).st_mode)
        except FileNotFoundError:
            try:
                os.mkdir(path)
                created.append(path)
                ok = True
            except FileExistsError:  # another worker made it meanwhile (or anything else did)
                try:
                    ok = stat.S_ISDIR(os.lstat(path).st_mode)
                except OSError:
                    ok = False
            except OSError:
                ok = False
        except OSError:
            ok = False
    real_dirs[rel_dir] = ok
    return ok
