"""requirements.lock and pyproject.toml agree, and the environment running the tests is the locked one.

The lock pins the exact version of every runtime and test dependency (the closure of
pyproject.toml's requirements, with extras) plus pip and setuptools, which install it. `make venv`
installs with it, so a fresh clone gets the versions CI tested, not whatever is newest that day
(PyYAML 6.0.4's libyaml once turned a depth error into a syntax error on fresh machines only).
"""

from __future__ import annotations

import importlib.metadata as metadata
import re
import sys
import tomllib

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tooling import REPO_ROOT

LOCK = REPO_ROOT / "requirements.lock"
INSTALLERS = {"pip", "setuptools"}


def _lock() -> dict[str, str]:
    pins = {}
    for number, line in enumerate(LOCK.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        match = re.fullmatch(r"([A-Za-z0-9._-]+)==([A-Za-z0-9.+!-]+)", line)
        assert match, f"requirements.lock:{number}: not an exact pin: {line!r}"
        name = canonicalize_name(match.group(1))
        assert name not in pins, f"requirements.lock:{number}: {name} pinned twice"
        pins[name] = match.group(2)
    return pins


def _pyproject() -> dict:
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _direct() -> list[Requirement]:
    project = _pyproject()["project"]
    return [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["test"]]


def _applies(req: Requirement, extras: set[str]) -> bool:
    if req.marker is None:
        return True
    env = default_environment()
    return any(req.marker.evaluate({**env, "extra": extra}) for extra in (extras or {""}))


def _closure() -> set[str]:
    """Every distribution the direct requirements pull in, from the installed metadata."""
    seen: set[str] = set()
    todo = [(req, set(req.extras)) for req in _direct()]
    while todo:
        req, extras = todo.pop()
        name = canonicalize_name(req.name)
        key = name + "[" + ",".join(sorted(extras)) + "]"
        if key in seen:
            continue
        seen.add(key)
        for raw in metadata.requires(req.name) or []:
            child = Requirement(raw)
            if _applies(child, extras):
                todo.append((child, set(child.extras)))
    return {key.split("[")[0] for key in seen}


def test_every_direct_requirement_is_pinned_within_its_range():
    pins = _lock()
    for req in _direct():
        name = canonicalize_name(req.name)
        assert name in pins, f"{req} (pyproject.toml) is not pinned in requirements.lock"
        assert req.specifier.contains(pins[name], prereleases=True), \
            f"requirements.lock pins {name}=={pins[name]}, outside pyproject.toml's {req}"


def test_the_lock_is_exactly_the_dependency_closure():
    pins = _lock()
    closure = _closure()
    assert sorted(closure - pins.keys()) == [], "dependencies missing from requirements.lock (run 'make lock')"
    assert sorted(pins.keys() - closure - INSTALLERS) == [], "requirements.lock pins packages nothing requires"


def test_build_backend_is_pinned_within_the_build_system_range():
    pins = _lock()
    for raw in _pyproject()["build-system"]["requires"]:
        req = Requirement(raw)
        name = canonicalize_name(req.name)
        assert name in pins and req.specifier.contains(pins[name]), f"build requirement {req} not pinned in range"


def test_the_running_environment_is_the_locked_one():
    """`make venv` installed exactly the lock (skipped outside a venv made by it, e.g. a pip install)."""
    import pytest

    if sys.prefix == sys.base_prefix:
        pytest.skip("not running in a virtualenv: the lock is only enforced by 'make venv'")
    pins = _lock()
    wrong = {}
    for name, version in pins.items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            wrong[name] = (version, None)
            continue
        if installed != version:
            wrong[name] = (version, installed)
    assert wrong == {}, "installed versions differ from requirements.lock (locked, installed); run 'make venv'"
