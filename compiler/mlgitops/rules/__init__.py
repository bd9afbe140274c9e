"""The checks a JSON Schema cannot express, one unit per rule: cross-field rules, cross-file rules
(name = file name, one file per model, known environments), histogram bucket boundaries,
derived-name lengths.

Each module holds one rule (or a small family one check reports): its catalogue entries
(catalogue.py, where every rule id is described) and its check function over the typed model.
FILE_RULES and MODEL_RULES below are the one registry; their order is the order findings are
reported in. Adding a rule is one module, one line here, its catalogue entry and its test
(tests/test_rules_registry.py fails until the test is there).

Layering: rules may import spec, domain, config, names and expand; nothing below imports rules.
"""

from __future__ import annotations

from ..config import Config
from ..diagnostics import Diagnostics
from ..spec.model import ModelEnv, ModelFile
from . import (canary_analysis, canary_gate, canary_replicas, canary_steps, container_image, custom_image,
               duplicate_model, env, latency_bucket, mode, name_length, name_mismatch, network_egress,
               policy_exceptions, protocol, replicas, resources, slo_source, slo_target, slo_window, storage_uri,
               unknown_environment)
from . import credential_value, storage_endpoint
from . import route_host, route_kind, route_mode
from .base import FileCheck, FileContext, ModelCheck, Reporter

__all__ = ["FILE_RULES", "MODEL_RULES", "FileCheck", "FileContext", "ModelCheck", "Reporter", "check_files",
           "check_model_env"]

# Run for each model file in turn (the file named after its model first).
FILE_RULES: tuple[FileCheck, ...] = (
    name_mismatch.CHECK,
    duplicate_model.CHECK,
    unknown_environment.CHECK,
    policy_exceptions.CHECK,
    credential_value.CHECK,
)

# Run for each model in each environment it is enabled in.
MODEL_RULES: tuple[ModelCheck, ...] = (
    protocol.CHECK,
    custom_image.CHECK,
    storage_uri.CHECK,
    storage_endpoint.CHECK,
    container_image.CHECK,
    replicas.CHECK,
    resources.CHECK,
    env.CHECK,
    mode.CHECK,
    canary_steps.CHECK,
    canary_replicas.CHECK,
    slo_source.CHECK,
    slo_window.CHECK,
    slo_target.BUDGET,
    latency_bucket.OBJECTIVES,
    slo_target.PERCENTILES,
    latency_bucket.ANALYSIS,
    canary_analysis.CHECK,
    canary_gate.CHECK,
    network_egress.CHECK,
    route_mode.CHECK,
    route_host.CHECK,
    route_kind.CHECK,
    name_length.CHECK,
)


def check_files(files: list[ModelFile], config: Config, diags: Diagnostics,
                cached: dict[str, str] | None = None) -> None:
    """Rules across files and against the config: names, duplicates, environments.

    `cached` maps model names to the files of models the build cache vouched for (not re-read).
    """
    ctx = FileContext(config, diags, dict(cached or {}))
    credential_value.check_config(config, diags)  # mlgitops.yaml: config.credential-value
    # The file named after the model owns the name; a duplicate is blamed on the other file.
    for f in sorted(files, key=lambda f: (f.label != f.stem, f.path)):
        for unit in FILE_RULES:
            try:
                unit.check(f, ctx)
            except TypeError:
                if not f.partial:
                    raise


def check_model_env(me: ModelEnv, diags: Diagnostics, config: Config) -> None:
    """Every model rule on one model in one environment.

    Of a partial file (one that failed the schema, spec/invalid.py), a rule that reads a value the
    schema refused meets `Invalid`, which refuses every use with a TypeError (InvalidValue, or the
    TypeError of a built-in given something that is not a string or number): that rule is skipped
    for this model in this environment, what it reported before stands, and the other rules run.
    The same in check_files."""
    report = Reporter(me, diags)
    for unit in MODEL_RULES:
        try:
            unit.check(me, report, config)
        except TypeError:
            if not me.file.partial:
                raise
