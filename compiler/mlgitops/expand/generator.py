"""What a generator is: one kind (or a few kinds emitted together) of the overlay, as one unit.

A generator says which resource file of the overlay its objects go to, whether it applies to a
model, how to build its objects, which names it derives from the model name (they must fit
Kubernetes' 63 characters: the `spec.name-length` rule), which leaves of its objects are derived
from the model or written as constants (validate/provenance.py maps every leaf to the model line
that produced it, and a test fails on a leaf no row explains), the kustomize name references
its objects need (base/components/common), and optionally the model-file section it owns
(spec/resolved.py Section: schema, defaults, typed settings). expand/registry.py lists them.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Protocol, Union

from ..config import Config
from ..spec.model import ModelEnv
from ..spec.resolved import Model, Section

MODEL_FILE = "model.yaml"  # the serving objects
MONITORING_FILE = "monitoring.yaml"  # what watches them (separate CODEOWNERS for SRE)

Path = tuple[Any, ...]
ANY = "*"  # one key or list index in a row's pattern
NAME: Path = ("metadata", "name")  # the model-file path of the model name

# A derived row's target: a model-file path, or a function of (model env, object, leaf path) giving one.
Target = Union[Path, Callable[[ModelEnv, dict, Path], Path]]
Derived = tuple[str, Path, Target]  # (kind, leaf pattern, target): a value computed from the model
Constant = tuple[str, Path]  # (kind, leaf pattern): a value the generator writes whatever the model says
NameReference = dict[str, Any]  # one `nameReference` entry of a kustomize configuration


def settings_path(*path: Any) -> Target:
    """A target: the model-file line that sets settings[path] (environment overrides honoured)."""
    return lambda me, obj, leaf: me.source_path(path)


def no_names(model: Model) -> list[tuple[str, str]]:
    return []


class Generator(Protocol):
    """What expand/overlay.py, expand/base.py, validate/provenance.py and the name-length rule
    need of a generator."""

    @property
    def name(self) -> str: ...
    @property
    def kinds(self) -> tuple[str, ...]: ...
    @property
    def file(self) -> str: ...
    @property
    def derived(self) -> tuple[Derived, ...]: ...
    @property
    def constants(self) -> tuple[Constant, ...]: ...
    @property
    def name_references(self) -> tuple[NameReference, ...]: ...
    @property
    def section(self) -> Section[Any] | None: ...

    def applies(self, model: Model) -> bool: ...
    def build(self, me: ModelEnv, config: Config) -> list[dict]: ...
    def names(self, model: Model) -> list[tuple[str, str]]: ...


@dataclasses.dataclass(frozen=True)
class KindGenerator:
    """The Generator every expand/<kind>.py exports (as GENERATOR)."""

    name: str
    kinds: tuple[str, ...]
    file: str
    applies: Callable[[Model], bool]
    build: Callable[[ModelEnv, Config], list[dict]]
    names: Callable[[Model], list[tuple[str, str]]] = no_names
    derived: tuple[Derived, ...] = ()
    constants: tuple[Constant, ...] = ()
    name_references: tuple[NameReference, ...] = ()
    section: Section[Any] | None = None
