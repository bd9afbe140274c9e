"""The files of a new GitOps repository (`mlgitops init`), as a map of relative path -> content.

One job: assemble the files; writing them is commands/init.py's. What they come from:
    templates/        the example model, Makefile, pre-commit config, .gitignore, GitHub workflow
    policies/         the built-in policies with their params and tests (policies.py adapts the
                      params to the environments and the test cases bound to this repository's
                      own example models)
    reference-model.yaml  this repository's models/iris.yaml, which policy test cases compile
    pre-commit-hooks.yaml this repository's hook definitions, made `repo: local` hooks of the
                      mlgitops installed with pip (the new repository names no hook repository)
    schemas/          the vendored CRD schemas with schemas.lock and SOURCE.md, byte for byte
In a source checkout policies/ and schemas/ are symlinks to the repository's own directories; the
wheel holds copies (setuptools follows the links), so there is one copy in Git.
"""

from __future__ import annotations

import string
from importlib import resources
from importlib.resources.abc import Traversable

import yaml

from .. import __version__
from .policies import policy_files
from .settings import Settings

__all__ = ["Settings", "scaffold_files"]

# Template -> where it goes in the new repository.
_TEMPLATES = {
    "Makefile": "Makefile",
    "gitignore": ".gitignore",
    "github/workflows/mlgitops.yml": ".github/workflows/mlgitops.yml",
}


def _root() -> Traversable:
    return resources.files(__name__)


def _template(template: str, **values: str) -> bytes:
    text = _root().joinpath("templates", *template.split("/")).read_text(encoding="utf-8")
    return string.Template(text).substitute(version=__version__, **values).encode()


def _tree(top: str) -> dict[str, bytes]:
    """Every file under the bundled directory `top`, by its path relative to the package."""
    found: dict[str, bytes] = {}

    def walk(node: Traversable, prefix: str) -> None:
        for child in node.iterdir():
            path = f"{prefix}/{child.name}"
            if child.is_dir():
                walk(child, path)
            elif not child.name.startswith(".") and not child.name.endswith((".pyc", ".tmp")):
                found[path] = child.read_bytes()

    walk(_root().joinpath(top), top)
    return found


def _model_environments(settings: Settings) -> str:
    """Overrides of the example model in the first environment (fewer replicas, no canary)."""
    if len(settings.environments) < 2:
        return ""
    first = settings.environments[0].name
    return ("  # Per environment overrides: the first environment runs one replica and no canary.\n"
            "  environments:\n"
            f"    {first}:\n"
            "      autoscaling: {minReplicas: 1, maxReplicas: 1}\n"
            "      canary: {enabled: false}\n")


_PRE_COMMIT_HEADER = f"""\
# pre-commit (https://pre-commit.com): `pip install pre-commit && pre-commit install`.
# The hooks mlgitops publishes (.pre-commit-hooks.yaml), run with the mlgitops installed in this
# environment (`pip install mlgitops=={__version__}`, as CI): generated files up to date, then
# the gate on what changed.
"""
_HOOK_KEYS = ("id", "name", "entry", "language", "pass_filenames", "require_serial", "files", "stages")


def _pre_commit_config() -> bytes:
    hooks = yaml.safe_load(_root().joinpath("pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    local = [{k: hook[k] if k != "language" else "system" for k in _HOOK_KEYS if k in hook or k == "language"}
             for hook in hooks]
    config = {"repos": [{"repo": "local", "hooks": local}]}
    return (_PRE_COMMIT_HEADER + yaml.safe_dump(config, sort_keys=False, width=1000)).encode()


def scaffold_files(settings: Settings) -> dict[str, bytes]:
    """Every file of the new repository, by path relative to it (sorted)."""
    files: dict[str, bytes] = {
        "mlgitops.yaml": settings.config_yaml().encode(),
        f"models/{settings.model}.yaml": _template("model.yaml", name=settings.model,
                                                    environments=_model_environments(settings)),
    }
    for name, target in _TEMPLATES.items():
        files[target] = _template(name)
    files[".pre-commit-config.yaml"] = _pre_commit_config()
    reference = yaml.safe_load(_root().joinpath("reference-model.yaml").read_text(encoding="utf-8"))
    files.update(policy_files(_tree("policies"), reference, settings))
    files.update(_tree("schemas"))
    return dict(sorted(files.items()))


def bundled_tree(top: str) -> dict[str, bytes]:
    """The bundled `policies` or `schemas` directory as it is (for tests comparing it with the repository's)."""
    if top not in ("policies", "schemas"):
        raise ValueError(top)
    return _tree(top)
