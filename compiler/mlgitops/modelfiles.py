"""Model files as every command reads them: spec's own fields plus the sections generators own.

spec/ knows the core of the model file (schema, loading with positions, resolution, the typed
model); a generator may own a section of it (expand/, `Section`: its schema, defaults and typed
settings). This module, above both, puts them together: the one place that says which
sections a model file has (expand/registry.py SECTIONS), so `build`, `check`, the `slo`
commands, the source map, `schema export` and the generated reference all read the same file
format. spec never imports expand; nothing is registered behind anyone's back.
"""

from __future__ import annotations

from .config import Config
from .diagnostics import Diagnostics
from .expand.registry import SECTIONS
from .spec import model as _model
from .spec import schema as _schema
from .spec.model import ModelEnv, ModelFile


def model_schema() -> dict:
    """The JSON Schema of models/*.yaml."""
    return _schema.model_schema(SECTIONS)


def schema_json() -> str:
    """The published schema text (compiler/mlgitops/spec/model.schema.json)."""
    return _schema.schema_json(SECTIONS)


def read_model_file(root: str, rel: str, diags: Diagnostics) -> ModelFile | None:
    """The model file `rel`, read safely and checked against the full schema (spec.model); None
    when it has any problem."""
    return _model.read_model_file(root, rel, diags, SECTIONS)


def load_model_file(root: str, rel: str, diags: Diagnostics) -> ModelFile | None:
    """The model file `rel` as read_model_file reads it, but one that failed the schema comes back
    partial, pruned to the parts that passed (spec.model.load_model_file), for the rules."""
    return _model.load_model_file(root, rel, diags, SECTIONS)


def resolve(file: ModelFile, config: Config, only: str | None = None) -> list[ModelEnv]:
    """The model in every environment it is enabled in, or in `only` (spec.model.resolve, with
    every section)."""
    return _model.resolve(file, config, SECTIONS, only)
