"""Shared by the hostile build tests: a synthetic repository (bench/build.py's generator), the
generated tree as {directory: {file: bytes}}, and running the real CLI in a subprocess."""

from __future__ import annotations

import importlib.util
import os
import pathlib
import re
import shutil
import subprocess
import sys

from tooling import REPO_ROOT

MLGITOPS = str(pathlib.Path(sys.executable).parent / "mlgitops")
LEFTOVER = re.compile(r"\.mlgitops-(?:tmp|new|old)$")


def bench_build():
    spec = importlib.util.spec_from_file_location("mlgitops_bench_build_hostile", REPO_ROOT / "bench" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def synthetic_repo(root: pathlib.Path, n: int, envs=("staging", "prod")) -> list[str]:
    return bench_build().create_repo(str(root), n, list(envs))


def run(root: pathlib.Path, *args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("MLGITOPS_")}
    full_env.update(env or {})
    return subprocess.run([MLGITOPS, "build", "--repo", str(root), *args], capture_output=True, text=True,
                          env=full_env, timeout=timeout)


def unit_of(rel: str) -> str:
    parts = rel.split("/")
    return "/".join(parts[:3]) if parts[0] == "overlays" and len(parts) >= 4 else parts[0]


def units(root: pathlib.Path) -> dict[str, dict[str, bytes]]:
    """Generated directories (overlays/<env>/<model>, base, argocd) -> {file: bytes}, leftovers not
    included; a directory that holds no file is listed with {}."""
    out: dict[str, dict[str, bytes]] = {}
    for top in ("argocd", "base", "overlays"):
        for dirpath, dirnames, filenames in os.walk(root / top):
            dirnames[:] = [d for d in dirnames if not LEFTOVER.search(d)]
            rel_dir = pathlib.Path(dirpath).relative_to(root).as_posix()
            if rel_dir.count("/") == 2 and rel_dir.startswith("overlays/"):
                out.setdefault(rel_dir, {})
            for name in filenames:
                if LEFTOVER.search(name):
                    continue
                rel = f"{rel_dir}/{name}"
                out.setdefault(unit_of(rel), {})[rel] = (pathlib.Path(dirpath) / name).read_bytes()
    return out


def leftovers(root: pathlib.Path) -> list[str]:
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            if LEFTOVER.search(name):
                found.append(os.path.relpath(os.path.join(dirpath, name), root))
    return sorted(found)


def copy_repo(src: pathlib.Path, dest: pathlib.Path) -> pathlib.Path:
    shutil.copytree(src, dest, symlinks=True)
    return dest
