"""Bad model specs: every finding at its exact file, line, column and rule, all in one run.

Each case builds a throw-away repository (the real mlgitops.yaml plus the model files written
inline below) and runs `mlgitops build --format json`. For every case we check:

* the exact set of diagnostics: file, line, column, rule, severity, and a distinctive part
  of the message (nothing missing, nothing extra);
* exit code 1 and no traceback on stderr;
* nothing was written: the repository is byte-for-byte what the test created (no overlays/,
  base/, argocd/ or .mlgitops/ cache; the build lock .mlgitops/build.lock is the one file it leaves).

Positions were counted by hand from the texts below: line 1 is the first line of the file,
columns are 1-based. Every model text starts with the same five lines

    1 apiVersion: mlgitops.dev/v1alpha1
    2 kind: Model
    3 metadata:
    4   name: <name>          <- the name value is at column 9
    5   team: ml
    6 spec:

unless the case says otherwise.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import textwrap

import pytest
from click.testing import CliRunner

from mlgitops.cli import main

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
CONFIG = REPO_ROOT / "mlgitops.yaml"


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class E:
    """One expected diagnostic. `msg` is a substring of the message, or a compiled regex."""

    line: int
    col: int
    rule: str
    msg: str | re.Pattern
    file: str | None = None  # None: the case's only model file
    severity: str = "error"


def model(text: str) -> str:
    return textwrap.dedent(text)


def make_repo(root: pathlib.Path, files: dict[str, str | bytes]) -> pathlib.Path:
    """mlgitops.yaml from the real repository plus models/<name> for every entry of `files`."""
    (root / "models").mkdir(parents=True)
    shutil.copy(CONFIG, root / "mlgitops.yaml")
    for name, text in files.items():
        path = root / "models" / name
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
    return root


# The build lock (an empty-ish file holding the builder's pid) is taken before anything is read,
# so a failing build leaves it; it is not output and not cache.
LOCK_ENTRIES = {"./.mlgitops/", ".mlgitops/build.lock"}


def snapshot(root: pathlib.Path) -> dict[str, bytes | None]:
    """Every file (bytes) and directory (None) under root, by relative path (but the build lock)."""
    out: dict[str, bytes | None] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = pathlib.Path(dirpath).relative_to(root).as_posix()
        for d in dirnames:
            out[f"{rel_dir}/{d}/"] = None
        for f in filenames:
            out[f"{rel_dir}/{f}"] = (pathlib.Path(dirpath) / f).read_bytes()
    return {path: value for path, value in out.items() if path not in LOCK_ENTRIES}


def run_build(root: pathlib.Path, *extra: str):
    return CliRunner().invoke(main, ["build", "--repo", str(root), "--format", "json", *extra])


def build_failing(root: pathlib.Path) -> list[dict]:
    """Run the build on a repo with bad input: exit 1, JSON diagnostics, no traceback, no writes."""
    before = snapshot(root)
    result = run_build(root)
    assert not (result.exception and not isinstance(result.exception, SystemExit)), \
        f"internal error: {result.exception!r}\nstderr: {result.stderr}"
    assert "Traceback" not in result.stderr, result.stderr
    assert result.exit_code == 1, f"exit {result.exit_code}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    report = json.loads(result.stdout)
    diags = report["diagnostics"]
    assert report["errors"] == sum(d["severity"] == "error" for d in diags) >= 1
    assert report["warnings"] == sum(d["severity"] == "warning" for d in diags)
    assert snapshot(root) == before, "a failing build wrote or changed files"
    assert not (root / "overlays").exists()
    return diags


def sort_key(d: dict) -> tuple:
    return (d["file"], d["line"], d["column"])


def assert_diagnostics(actual: list[dict], expected: list[E], default_file: str | None) -> None:
    """The actual diagnostics are exactly the expected ones (any order within one position)."""
    want = []
    for e in expected:
        want.append(dataclasses.replace(e, file=e.file or default_file))
    got_keys = sorted((d["file"], d["line"], d["column"], d["rule"], d["severity"]) for d in actual)
    want_keys = sorted((e.file, e.line, e.col, e.rule, e.severity) for e in want)
    shown = "\n".join(f"  {d['file']}:{d['line']}:{d['column']} {d['severity']} [{d['rule']}] {d['message']}"
                      for d in actual)
    assert got_keys == want_keys, f"diagnostics differ; got:\n{shown}"
    for e in want:
        candidates = [d for d in actual if (d["file"], d["line"], d["column"], d["rule"], d["severity"])
                      == (e.file, e.line, e.col, e.rule, e.severity)]
        if isinstance(e.msg, re.Pattern):
            ok = any(e.msg.search(d["message"]) for d in candidates)
        else:
            ok = any(e.msg in d["message"] for d in candidates)
        assert ok, f"no message matching {e.msg!r} at {e.file}:{e.line}:{e.col}; got:\n{shown}"
    # The CLI lists findings sorted by file, then line, then column.
    assert [sort_key(d) for d in actual] == sorted(sort_key(d) for d in actual)


# --------------------------------------------------------------------------------------------
# Single-file cases: (id, file name, model text, expected diagnostics[, marks])
# --------------------------------------------------------------------------------------------

NAME_64 = "x" * 64
# 45 characters: <name>-predictor-ml-staging is 66 > 63, <name>-predictor-ml-prod is exactly 63.
NAME_45 = "customer-lifetime-value-gradient-boosted-tree"
assert len(NAME_45) == 45 and len(f"{NAME_45}-predictor-ml-prod") == 63

# A schema error does not hide the semantic findings of the parts of a file that passed the schema
# (tests/test_all_errors_at_once.py). These minimal models keep the default canary (steps 25/50/75
# by replica count, analysis on) with no SLO and one replica, so next to their schema error they get
# these two warnings, at `spec:` (6:1): unless what they read failed the schema.
NO_ANALYSIS = E(6, 1, "spec.canary-analysis", "spec.canary: canary has no automated analysis", severity="warning")
FEW_REPLICAS = E(6, 1, "spec.canary-replicas", "a replica-based canary step of 25% needs at least 4 replicas",
                 severity="warning")

CASES = [
    # ---- YAML syntax -------------------------------------------------------------------------
    pytest.param(
        "bad-indent.yaml",
        model("""\
            apiVersion: mlgitops.dev/v1alpha1
            kind: Model
            metadata:
              name: bad-indent
               team: ml
            spec:
              framework: sklearn
              storageUri: s3://bucket/bad-indent
            """),
        # line 5 is "   team: ml": three spaces, "team" in columns 4-7, the ':' in column 8.
        [E(5, 8, "yaml.syntax", "mapping values are not allowed")],
        id="yaml-syntax-bad-indentation",
    ),
    pytest.param(
        "tabbed.yaml",
        model("""\
            apiVersion: mlgitops.dev/v1alpha1
            kind: Model
            metadata:
              name: tabbed
              team: ml
            spec:
              framework: sklearn
              storageUri: s3://bucket/tabbed
              slo:
            \tavailability: 99.9
            """),
        # line 10 starts with a tab in column 1.
        [E(10, 1, "yaml.syntax", "cannot start any token")],
        id="yaml-syntax-tab-indentation",
    ),
    pytest.param(
        "twodocs.yaml",
        model("""\
            apiVersion: mlgitops.dev/v1alpha1
            kind: Model
            metadata:
              name: twodocs
              team: ml
            spec:
              framework: sklearn
              storageUri: s3://bucket/twodocs
            ---
            apiVersion: mlgitops.dev/v1alpha1
            """),
        [E(9, 1, "yaml.syntax", "expected one YAML document; this file holds several")],
        id="yaml-syntax-two-documents",
    ),
    pytest.param(
        "quote.yaml",
        model("""\
            apiVersion: mlgitops.dev/v1alpha1
            kind: Model
            metadata:
              name: quote
              team: "ml
            spec:
              framework: sklearn
              storageUri: s3://bucket/quote
            """),
        # The quote opened at 5:9 is never closed. libyaml notices at the end of the stream (9:1,
        # past the last line) and says where the scalar started in its "context", which the
        # compiler drops: the diagnostic should point at (or at least name) 5:9.
        [E(5, 9, "yaml.syntax", "end of stream")],
        id="yaml-syntax-unterminated-quote-points-at-opening-quote",
    ),
    pytest.param(
        "dupkey.yaml",
        model("""\
            apiVersion: mlgitops.dev/v1alpha1
            kind: Model
            metadata:
              name: dupkey
              team: ml
              team: data
            spec:
              framework: sklearn
              storageUri: s3://bucket/dupkey
              framework: xgboost
            """),
        [E(6, 3, "yaml.duplicate-key", "duplicate key 'team' (first defined at line 5)"),
         E(10, 3, "yaml.duplicate-key", "duplicate key 'framework' (first defined at line 8)")],
        id="duplicate-keys-second-occurrence",
    ),
    pytest.param(
        "dupflow.yaml",
        model("""\
            apiVersion: mlgitops.dev/v1alpha1
            kind: Model
            metadata:
              name: dupflow
              team: ml
            spec:
              framework: sklearn
              storageUri: s3://bucket/dupflow
              environments:
                prod:
                  autoscaling: {minReplicas: 2, maxReplicas: 4, minReplicas: 3}
            """),
        # line 11: 6 spaces + "autoscaling: " -> '{' at 20; "minReplicas: 2, " 21-36,
        # "maxReplicas: 4, " 37-52, the second minReplicas at 53.
        [E(11, 53, "yaml.duplicate-key", "duplicate key 'minReplicas' (first defined at line 11)")],
        id="duplicate-key-in-flow-mapping-of-override",
    ),
    # ---- Schema: types, unknown and missing fields, constants -----------------------------------
    pytest.param(
        "wrongtype.yaml",
        model("""\
            apiVersion: mlgitops.dev/v1alpha1
            kind: Model
            metadata:
              name: wrongtype
              team: ml
            spec:
              framework: sklearn
              storageUri: s3://bucket/wrongtype
              autoscaling:
                maxReplicas: "five"
            """),
        # line 10: 4 spaces + "maxReplicas: " (13) -> value at 18. The replica warning reads the
        # refused maxReplicas: not reported.
        [E(10, 18, "spec.schema", "spec.autoscaling.maxReplicas: expected an integer, got a string 'five'"),
         NO_ANALYSIS],
        id="wrong-type-string-for-integer",
    ),
    pytest.param(
        "typo.yaml",
        model("""\
            apiVersion: mlgitops.dev/v1alpha1
            kind: Model
            metadata:
              name: typo
              team: ml
            spec:
              framework: sklearn
              storageUri: s3://bucket/typo
              autoscaling:
                minReplica: 2
            """),
        # minReplica stands for minReplicas (the suggestion): not replaced by the default 1, so no
        # replica warning.
        [E(10, 5, "spec.unknown-field",
           "spec.autoscaling.minReplica: unknown field 'minReplica' (did you mean 'minReplicas'?)"),
         NO_ANALYSIS],
        id="unknown-field-did-you-mean",
    ),
    pytest.param(
        "colour.yaml",
        model("""\
            apiVersion: mlgitops.dev/v1alpha1
            kind: Model
            metadata:
              name: colour
              team: ml
            spec:
              framework: sklearn
              storageUri: s3://bucket/colour
              colour: blue
            """),
        [E(9, 3, "spec.unknown-field",
           "spec.colour: unknown field 'colour' (expected one of: autoscaling, canary, container,"),
         NO_ANALYSIS, FEW_REPLICAS],
        id="unknown-field-without-close-match-lists-fields",
    ),
    pytest.param(
        "envtypo.yaml",
        model("""\
            apiVersion: mlgitops.dev/v1alpha1
            kind: Model
            metadata:
              name: envtypo
              team: ml
            spec:
              framework: sklearn
              storageUri: s3://bucket/envtypo
              environments:
                prod:
                  autoscalling:
                    maxReplicas: 4
            """),
        # The warnings come from staging; prod's autoscaling is the misspelt one (its rule is skipped).
        [E(11, 7, "spec.unknown-field",
           "spec.environments.prod.autoscalling: unknown field 'autoscalling' (did you mean 'autoscaling'?)"),
         NO_ANALYSIS, FEW_REPLICAS],
        id="unknown-field-in-environment-override",
    ),
    pytest.param(
        "nometa.yaml",
        model("""\
            apiVersion: mlgitops.dev/v1alpha1
            kind: Model
            metdata:
              name: nometa
              team: ml
            spec:
              framework: sklearn
              storageUri: s3://bucket/nometa
            """),
        [E(1, 1, "spec.schema", "(document): missing required field 'metadata'"),
         E(3, 1, "spec.unknown-field", "metdata: unknown field 'metdata' (did you mean 'metadata'?)")],
        id="misspelt-top-level-key-unknown-and-missing",
    ),
    pytest.param(
        "noframework.yaml",
        model("""\
            apiVersion: mlgitops.dev/v1alpha1
            kind: Model
            metadata:
              name: noframework
              team: ml
            spec: {storageUri: s3://bucket/noframework}
            """),
        # A finding about a mapping points at its key, `spec:` at 6:1.
        [E(6, 1, "spec.schema", "spec: missing required field 'framework'"), NO_ANALYSIS, FEW_REPLICAS],
        id="missing-required-framework-flow-mapping",
    ),
    pytest.param(
        "noframework.yaml",
        model("""\
            apiVersion: mlgitops.dev/v1alpha1
            kind: Model
            metadata:
              name: noframework
              team: ml
            spec:
              storageUri: s3://bucket/noframework
            """),
        # A block mapping has no opening token: the finding belongs to the `spec:` key (6:1).
        [E(6, 1, "spec.schema", "spec: missing required field 'framework'"), NO_ANALYSIS, FEW_REPLICAS],
        id="missing-required-framework-block-mapping-points-at-parent-key",
    ),
    pytest.param(
        "apiversion.yaml",
        model("""\
            apiVersion: mlgitops.dev/v1
            kind: Model
            metadata:
              name: apiversion
              team: ml
            spec:
              framework: sklearn
              storageUri: s3://bucket/apiversion
            """),
        [E(1, 13, "spec.schema", "apiVersion: must be 'mlgitops.dev/v1alpha1', not 'mlgitops.dev/v1'")],
        id="wrong-apiVersion",
    ),
    pytest.param(
        "kind.yaml",
        model("""\
            apiVersion: mlgitops.dev/v1alpha1
            kind: Config
            metadata:
              name: kind
              team: ml
            spec:
              framework: sklearn
              storageUri: s3://bucket/kind
            """),
        [E(2, 7, "spec.schema", "kind: must be 'Model', not 'Config'")],
        id="wrong-kind",
    ),
    pytest.param(
        "enumtypo.yaml",
        model("""\
            apiVersion: mlgitops.dev/v1alpha1
            kind: Model
            metadata:
              name: enumtypo
              team: ml
            spec:
              framework: sklern
              storageUri: s3://bucket/enumtypo
            """),
        [E(7, 14, "spec.schema", "spec.framework: 'sklern' is not one of sklearn, xgboost"),
         NO_ANALYSIS, FEW_REPLICAS],
        id="framework-enum-typo",
    ),
    pytest.param(
        "nullenv.yaml",
        model("""\
            apiVersion: mlgitops.dev/v1alpha1
            kind: Model
            metadata:
              name: nullenv
              team: ml
            spec:
              framework: sklearn
              storageUri: s3://bucket/nullenv
              environments:
                prod:
            """),
        # The empty value after "    prod:" (9 characters) is at column 10.
        # prod is not resolved (its override failed); the warnings come from staging.
        [E(10, 10, "spec.schema", re.compile(r"spec\.environments\.prod: expected a mapping, got null$")),
         NO_ANALYSIS, FEW_REPLICAS],
        id="null-environment-override-message",
    ),
    # ---- Identity: names, environments --------------------------------------------------------
    pytest.param(
        "churn-v2.yaml",
        model("""\
            apiVersion: mlgitops.dev/v1alpha1
            kind: Model
            metadata:
              name: churn
              team: ml
            spec:
              framework: sklearn
              storageUri: s3://bucket/churn
              canary:
                enabled: false
            """),
        [E(4, 9, "spec.name-mismatch",
           "metadata.name: 'churn' does not match the file name 'churn-v2' (rename the file to churn.yaml")],
        id="name-does-not-match-file-name",
    ),
    pytest.param(
        "envs.yaml",
        model("""\
            apiVersion: mlgitops.dev/v1alpha1
            kind: Model
            metadata:
              name: envs
              team: ml
            spec:
              framework: sklearn
              storageUri: s3://bucket/envs
              canary:
                enabled: false
              environments:
                prd:
                  enabled: false
                dev: {}
            """),
        [E(12, 5, "spec.unknown-environment",
           "spec.environments.prd: unknown environment 'prd' (did you mean 'prod'?); "
           "mlgitops.yaml defines: staging, prod"),
         E(14, 5, "spec.unknown-environment",
           "spec.environments.dev: unknown environment 'dev'; mlgitops.yaml defines: staging, prod")],
        id="unknown-environments-with-and-without-suggestion",
    ),
    pytest.param(
        f"{NAME_64}.yaml",
        model(f"""\
            apiVersion: mlgitops.dev/v1alpha1
            kind: Model
            metadata:
              name: {NAME_64}
              team: ml
            spec:
              framework: sklearn
              storageUri: s3://bucket/long
              canary:
                enabled: false
            """),
        [E(4, 9, "spec.schema", f"metadata.name: '{NAME_64}' is 64 characters; at most 63 allowed")],
        id="name-longer-than-63",
    ),
    pytest.param(
        f"{NAME_45}.yaml",
        model(f"""\
            apiVersion: mlgitops.dev/v1alpha1
            kind: Model
            metadata:
              name: {NAME_45}
              team: ml
            spec:
              framework: sklearn
              storageUri: s3://bucket/long
              canary:
                enabled: false
            """),
        # Only staging breaks the limit: prod's host label is exactly 63 characters.
        [E(4, 9, "spec.name-length",
           f"metadata.name: derived KServe predictor host label '{NAME_45}-predictor-ml-staging' is 66 "
           "characters (namespace ml-staging); the limit is 63")],
        id="derived-name-too-long-only-with-namespace",
    ),
    # ---- Replicas -----------------------------------------------------------------------------
    pytest.param(
        "replicas-override.yaml",
        model("""\
            apiVersion: mlgitops.dev/v1alpha1
            kind: Model
            metadata:
              name: replicas-override
              team: ml
            spec:
              framework: sklearn
              storageUri: s3://bucket/replicas
              autoscaling:
                minReplicas: 2
                maxReplicas: 4
              canary:
                enabled: false
              environments:
                prod:
                  autoscaling:
                    minReplicas: 6
            """),
        # line 17: 8 spaces + "minReplicas: " -> value at 22.
        [E(17, 22, "spec.replicas",
           "spec.environments.prod.autoscaling.minReplicas: minReplicas 6 is greater than maxReplicas 4")],
        id="min-greater-than-max-from-override",
    ),
    pytest.param(
        "replicas-base.yaml",
        model("""\
            apiVersion: mlgitops.dev/v1alpha1
            kind: Model
            metadata:
              name: replicas-base
              team: ml
            spec:
              framework: sklearn
              storageUri: s3://bucket/replicas
              autoscaling:
                minReplicas: 5
                maxReplicas: 4
              canary:
                enabled: false
            """),
        # Both environments inherit it; reported once, at the base spec.
        [E(10, 18, "spec.replicas", "spec.autoscaling.minReplicas: minReplicas 5 is greater than maxReplicas 4")],
        id="min-greater-than-max-from-base-reported-once",
    ),
    pytest.param(
        "replicas-maxoverride.yaml",
        model("""\
            apiVersion: mlgitops.dev/v1alpha1
            kind: Model
            metadata:
              name: replicas-maxoverride
              team: ml
            spec:
              framework: sklearn
              storageUri: s3://bucket/replicas
              autoscaling:
                minReplicas: 3
              canary:
                enabled: false
              environments:
                staging:
                  autoscaling:
                    maxReplicas: 2
            """),
        # minReplicas 3 is fine on its own (prod: max defaults to 3); staging's maxReplicas 2 at
        # 16:22 breaks it.
        [E(16, 22, "spec.replicas", "spec.environments.staging.autoscaling.maxReplicas")],
        id="min-greater-than-max-only-through-override-max",
    ),
    pytest.param(
        "zero.yaml",
        model("""\
            apiVersion: mlgitops.dev/v1alpha1
            kind: Model
            metadata:
              name: zero
              team: ml
            spec:
              framework: sklearn
              storageUri: s3://bucket/zero
              autoscaling:
                minReplicas: 0
              canary:
                enabled: false
            """),
        [E(10, 18, "spec.replicas",
           "spec.autoscaling.minReplicas: minReplicas 0 (scale to zero) needs mode: serverless")],
        id="min-replicas-zero-in-standard-mode",
    ),
    # ---- Canary -------------------------------------------------------------------------------
    pytest.param(
        "weight.yaml",
        model("""\
            apiVersion: mlgitops.dev/v1alpha1
            kind: Model
            metadata:
              name: weight
              team: ml
            spec:
              framework: sklearn
              storageUri: s3://bucket/weight
              autoscaling:
                minReplicas: 4
                maxReplicas: 4
              canary:
                steps:
                  - weight: 25
                  - weight: 50
                  - weight: 120
              slo:
                availability: 99.9
            """),
        # line 16: 6 spaces + "- " -> "weight" at 9, value at 17.
        [E(16, 17, "spec.schema", "spec.canary.steps[2].weight: 120 is greater than 100")],
        id="canary-weight-above-100",
    ),
    pytest.param(
        "steps.yaml",
        model("""\
            apiVersion: mlgitops.dev/v1alpha1
            kind: Model
            metadata:
              name: steps
              team: ml
            spec:
              framework: sklearn
              storageUri: s3://bucket/steps
              autoscaling:
                minReplicas: 4
                maxReplicas: 4
              canary:
                steps:
                  - weight: 25
                    pause: 1m
                  - weight: 50
                    pause: 1m
                  - weight: 50
              slo:
                availability: 99.9
            """),
        [E(18, 17, "spec.canary-steps",
           "spec.canary.steps[2].weight: weight 50 does not increase (previous step: 50)")],
        id="canary-weights-not-increasing",
    ),
    pytest.param(
        "steps-override.yaml",
        model("""\
            apiVersion: mlgitops.dev/v1alpha1
            kind: Model
            metadata:
              name: steps-override
              team: ml
            spec:
              framework: sklearn
              storageUri: s3://bucket/steps
              autoscaling:
                minReplicas: 4
                maxReplicas: 4
              slo:
                availability: 99.9
              environments:
                prod:
                  canary:
                    steps:
                      - weight: 60
                      - weight: 40
            """),
        # line 19: 10 spaces + "- " -> "weight" at 13, value at 21.
        [E(19, 21, "spec.canary-steps",
           "spec.environments.prod.canary.steps[1].weight: weight 40 does not increase (previous step: 60)")],
        id="canary-weights-not-increasing-in-override",
    ),
    pytest.param(
        "serverless-steps.yaml",
        model("""\
            apiVersion: mlgitops.dev/v1alpha1
            kind: Model
            metadata:
              name: serverless-steps
              team: ml
            spec:
              framework: sklearn
              storageUri: s3://bucket/serverless
              mode: serverless
              canary:
                steps: [{weight: 50}]
            """),
        [E(11, 5, "spec.mode", "spec.canary.steps: canary steps need mode: standard")],
        id="canary-steps-in-serverless-mode",
    ),
    # ---- SLOs ---------------------------------------------------------------------------------
    pytest.param(
        "latency-int.yaml",
        model("""\
            apiVersion: mlgitops.dev/v1alpha1
            kind: Model
            metadata:
              name: latency-int
              team: ml
            spec:
              framework: sklearn
              storageUri: s3://bucket/latency
              canary:
                enabled: false
              slo:
                latency:
                  - percentile: 95
                    threshold: 500
            """),
        # line 14: 8 spaces + "threshold: " (11) -> value at 20.
        [E(14, 20, "spec.schema", "spec.slo.latency[0].threshold: expected a string, got an integer 500")],
        id="latency-threshold-bare-number",
    ),
    pytest.param(
        "latency-str.yaml",
        model("""\
            apiVersion: mlgitops.dev/v1alpha1
            kind: Model
            metadata:
              name: latency-str
              team: ml
            spec:
              framework: sklearn
              storageUri: s3://bucket/latency
              canary:
                enabled: false
              slo:
                latency:
                  - percentile: 95
                    threshold: "500"
            """),
        [E(14, 20, "spec.schema", "spec.slo.latency[0].threshold: '500' is not a duration like 500ms or 1s")],
        id="latency-threshold-without-unit",
    ),
    pytest.param(
        "bucket.yaml",
        model("""\
            apiVersion: mlgitops.dev/v1alpha1
            kind: Model
            metadata:
              name: bucket
              team: ml
            spec:
              framework: sklearn
              storageUri: s3://bucket/bucket
              canary:
                enabled: false
              slo:
                latency:
                  - percentile: 99
                    threshold: 300ms
            """),
        # mlgitops.yaml sets monitoring.sloSource: istio.
        [E(14, 20, "spec.latency-bucket",
           "spec.slo.latency[0].threshold: 300ms is not a bucket boundary of the istio latency histogram, "
           "so the SLI would never match a bucket; nearest boundaries: 250ms and 500ms")],
        id="latency-threshold-not-an-istio-bucket",
    ),
    pytest.param(
        "bucket-kserve.yaml",
        model("""\
            apiVersion: mlgitops.dev/v1alpha1
            kind: Model
            metadata:
              name: bucket-kserve
              team: ml
            spec:
              framework: sklearn
              storageUri: s3://bucket/bucket
              canary:
                enabled: false
              slo:
                source: kserve
                latency:
                  - percentile: 99
                    threshold: 1s
              environments:
                prod:
                  slo:
                    latency:
                      - percentile: 99
                        threshold: 2s
            """),
        # line 21: 12 spaces + "threshold: " -> value at 24. staging keeps 1s, a boundary.
        [E(21, 24, "spec.latency-bucket",
           "spec.environments.prod.slo.latency[0].threshold: 2s is not a bucket boundary of the kserve "
           "latency histogram, so the SLI would never match a bucket; nearest boundaries: 1s and 2.5s")],
        id="latency-threshold-not-a-kserve-bucket-in-override",
    ),
    pytest.param(
        "availability.yaml",
        model("""\
            apiVersion: mlgitops.dev/v1alpha1
            kind: Model
            metadata:
              name: availability
              team: ml
            spec:
              framework: sklearn
              storageUri: s3://bucket/availability
              canary:
                enabled: false
              slo:
                availability: 100
              environments:
                staging:
                  slo:
                    availability: 0
            """),
        [E(12, 19, "spec.schema", "spec.slo.availability: 100 is not below 100 (the limit is exclusive): an objective "
           "of 100% leaves no error budget: every failed request would breach it and no burn-rate alert could "
           "mean anything (use e.g. 99.9)"),
         E(16, 23, "spec.schema", "spec.environments.staging.slo.availability: 0 is not above 0 (the limit is exclusive)")],
        id="slo-availability-100-and-0",
    ),
    pytest.param(
        "slo-source.yaml",
        model("""\
            apiVersion: mlgitops.dev/v1alpha1
            kind: Model
            metadata:
              name: slo-source
              team: ml
            spec:
              framework: sklearn
              storageUri: s3://bucket/slo
              canary:
                enabled: false
              slo:
                availability: 99.9
                source: kserve
            """),
        [E(12, 19, "spec.slo-source",
           "spec.slo.availability: source 'kserve' has no request counter with a status code, so it cannot "
           "measure availability")],
        id="availability-with-kserve-source",
    ),
    # ---- Containers, credentials, resources, runtime -------------------------------------------
    pytest.param(
        "creds.yaml",
        model("""\
            apiVersion: mlgitops.dev/v1alpha1
            kind: Model
            metadata:
              name: creds
              team: ml
            spec:
              framework: sklearn
              storageUri: s3://bucket/creds
              canary:
                enabled: false
              env:
                - name: LOG_LEVEL
                  value: debug
                - name: AWS_SECRET_ACCESS_KEY
                  value: x
              container:
                env: [{name: HF_TOKEN, value: hf_abc}]
            """),
        # line 15: 6 spaces + "value: " -> 14. line 17: '[' at 10, '{' 11, "name: HF_TOKEN, " 12-27,
        # "value: " 28-34, hf_abc at 35.
        [E(15, 14, "spec.literal-credential",
           "spec.env[1].value: env 'AWS_SECRET_ACCESS_KEY' looks like a credential: use secretKeyRef"),
         E(17, 35, "spec.literal-credential",
           "spec.container.env[0].value: env 'HF_TOKEN' looks like a credential: use secretKeyRef")],
        id="literal-credentials",
    ),
    pytest.param(
        "resources.yaml",
        model("""\
            apiVersion: mlgitops.dev/v1alpha1
            kind: Model
            metadata:
              name: resources
              team: ml
            spec:
              framework: sklearn
              storageUri: s3://bucket/resources
              canary:
                enabled: false
              resources:
                requests: {cpu: "2", memory: 2Gi}
                limits: {cpu: 1500m, memory: 2048Mi}
              environments:
                prod:
                  resources:
                    requests:
                      memory: 3Gi
            """),
        # line 12: "requests: " 5-14, '{' 15, "cpu: " 16-20, '"2"' at 21. line 18: 10 spaces + "memory: " -> 19.
        [E(12, 21, "spec.resources", "spec.resources.requests.cpu: request 2 is greater than the limit 1500m"),
         E(18, 19, "spec.resources",
           "spec.environments.prod.resources.requests.memory: request 3Gi is greater than the limit 2048Mi")],
        id="requests-greater-than-limits-base-and-override",
    ),
    pytest.param(
        "negative-cpu.yaml",
        model("""\
            apiVersion: mlgitops.dev/v1alpha1
            kind: Model
            metadata:
              name: negative-cpu
              team: ml
            spec:
              framework: sklearn
              storageUri: s3://bucket/negative
              canary:
                enabled: false
              resources:
                requests: {cpu: -1}
                limits: {cpu: 1}
            """),
        [E(12, 21, "spec.schema", "spec.resources.requests.cpu: -1")],
        id="negative-cpu-number-crashes",
    ),
    pytest.param(
        "onnxv1.yaml",
        model("""\
            apiVersion: mlgitops.dev/v1alpha1
            kind: Model
            metadata:
              name: onnxv1
              team: ml
            spec:
              framework: onnx
              protocol: v1
              storageUri: s3://bucket/onnx
              canary:
                enabled: false
            """),
        [E(8, 13, "spec.protocol", "spec.protocol: onnx on kserve-tritonserver serves protocol v2, not v1")],
        id="onnx-with-protocol-v1",
    ),
    pytest.param(
        "custom.yaml",
        model("""\
            apiVersion: mlgitops.dev/v1alpha1
            kind: Model
            metadata:
              name: custom
              team: ml
            spec:
              framework: custom
              canary:
                enabled: false
            """),
        # No container at all: the finding lands on the cause, `framework: custom`.
        [E(7, 14, "spec.custom-image", "spec.framework: framework 'custom' needs container.image")],
        id="custom-framework-without-container",
    ),
    pytest.param(
        "custom-noimage.yaml",
        model("""\
            apiVersion: mlgitops.dev/v1alpha1
            kind: Model
            metadata:
              name: custom-noimage
              team: ml
            spec:
              framework: custom
              container:
                port: 9000
              canary:
                enabled: false
            """),
        [E(8, 3, "spec.custom-image", "spec.container: framework 'custom' needs container.image")],
        id="custom-framework-container-without-image-points-at-container-key",
    ),
    pytest.param(
        "ftp.yaml",
        model("""\
            apiVersion: mlgitops.dev/v1alpha1
            kind: Model
            metadata:
              name: ftp
              team: ml
            spec:
              framework: sklearn
              storageUri: ftp://bucket/ftp
              canary:
                enabled: false
            """),
        [E(8, 15, "spec.schema",
           "spec.storageUri: 'ftp://bucket/ftp' is not a URI starting with s3://, gs://, pvc://, hf://, oci:// "
           "or https://")],
        id="storage-uri-bad-scheme",
    ),
    # ---- Not a model at all -------------------------------------------------------------------
    pytest.param(
        "empty.yaml", "",
        [E(1, 1, "spec.schema",
           "expected a Model (a mapping with apiVersion, kind, metadata and spec); the file is empty")],
        id="empty-file",
    ),
    pytest.param(
        "comment.yaml", "# TODO: write this model\n",
        [E(1, 1, "spec.schema", "; the file is empty")],
        id="comment-only-file",
    ),
    pytest.param(
        "list.yaml",
        model("""\
            - apiVersion: mlgitops.dev/v1alpha1
              kind: Model
              metadata:
                name: list
                team: ml
            """),
        [E(1, 1, "spec.schema", re.compile(
            r"^expected a Model \(a mapping with apiVersion, kind, metadata and spec\); got a list$"))],
        id="yaml-list-instead-of-mapping",
    ),
    pytest.param(
        "latin1.yaml",
        b"apiVersion: mlgitops.dev/v1alpha1\nkind: Mod\xe9l\n",
        # Byte 43 is the 10th byte of line 2 ("kind: Mod\xe9l").
        [E(2, 10, "input.encoding", "file is not UTF-8: invalid continuation byte at byte 43")],
        id="file-not-utf8",
    ),
    # ---- SLO objectives the alerts cannot serve (issue #7) ------------------------------------
    pytest.param(
        "short-window.yaml",
        model("""\
            apiVersion: mlgitops.dev/v1alpha1
            kind: Model
            metadata:
              name: short-window
              team: ml
            spec:
              framework: sklearn
              storageUri: s3://bucket/short
              canary:
                enabled: false
              slo:
                availability: 99.5
                window: 2d
            """),
        [E(13, 13, "spec.slo-window",
           "spec.slo.window: SLO window 2d is shorter than the longest alert window 3d (mlgitops.yaml "
           "monitoring.burnRateAlerts), so the budget could never be spent as the alerts assume; use a window "
           "of at least 3d (the default is 30d)")],
        id="slo-window-shorter-than-the-longest-alert-window",
    ),
    pytest.param(
        "p100.yaml",
        model("""\
            apiVersion: mlgitops.dev/v1alpha1
            kind: Model
            metadata:
              name: p100
              team: ml
            spec:
              framework: sklearn
              storageUri: s3://bucket/p100
              canary:
                enabled: false
              slo:
                latency:
                  - percentile: 100
                    threshold: 500ms
            """),
        [E(13, 21, "spec.schema",
           "spec.slo.latency[0].percentile: 100 is not below 100 (the limit is exclusive): an objective of 100% "
           "leaves no error budget: every request slower than the threshold would breach it and no burn-rate "
           "alert could mean anything (use e.g. 99.9)")],
        id="slo-latency-percentile-100",
    ),
    pytest.param(
        "custom-latency.yaml",
        model("""\
            apiVersion: mlgitops.dev/v1alpha1
            kind: Model
            metadata:
              name: custom-latency
              team: ml
            spec:
              framework: sklearn
              storageUri: s3://bucket/custom
              canary:
                enabled: false
              slo:
                source: custom
                custom:
                  errorQuery: sum(rate(http_requests_total{code=~"5.."}[$window]))
                  totalQuery: sum(rate(http_requests_total[$window]))
                latency:
                  - percentile: 99
                    threshold: 1s
            """),
        [E(16, 5, "spec.slo-source",
           "spec.slo.latency: source 'custom' has no latency histogram, so it cannot measure latency objectives "
           "(use source: istio or kserve, or express latency as a custom availability SLI)")],
        id="slo-latency-on-a-custom-source",
    ),
]


@pytest.mark.parametrize("filename, text, expected", CASES)
def test_bad_model_file(tmp_path, filename, text, expected):
    root = make_repo(tmp_path / "repo", {filename: text})
    diags = build_failing(root)
    assert_diagnostics(diags, expected, f"models/{filename}")


# --------------------------------------------------------------------------------------------
# Several files, repository-level findings
# --------------------------------------------------------------------------------------------

IRIS = model("""\
    apiVersion: mlgitops.dev/v1alpha1
    kind: Model
    metadata:
      name: iris
      team: ml
    spec:
      framework: sklearn
      storageUri: gs://bucket/iris
      canary:
        enabled: false
    """)


def test_empty_models_directory(tmp_path):
    root = make_repo(tmp_path / "repo", {})
    diags = build_failing(root)
    assert diags == [{"file": "models/", "line": 0, "column": 0, "rule": "build.empty", "severity": "error",
                      "message": "no model files in models/: add one (see README 'Adding a model')"}]


def test_two_files_declare_the_same_model(tmp_path):
    # iris.yaml is right; z-iris.yaml declares iris too, so it gets both findings.
    root = make_repo(tmp_path / "repo", {"iris.yaml": IRIS, "z-iris.yaml": IRIS})
    diags = build_failing(root)
    assert_diagnostics(diags, [
        E(4, 9, "spec.duplicate-model", "metadata.name: model 'iris' is already declared in models/iris.yaml",
          file="models/z-iris.yaml"),
        E(4, 9, "spec.name-mismatch", "metadata.name: 'iris' does not match the file name 'z-iris'",
          file="models/z-iris.yaml"),
    ], None)


def test_duplicate_model_is_blamed_on_the_misnamed_file(tmp_path):
    root = make_repo(tmp_path / "repo", {"a.yaml": IRIS, "iris.yaml": IRIS})
    diags = build_failing(root)
    assert_diagnostics(diags, [
        E(4, 9, "spec.name-mismatch", "metadata.name: 'iris' does not match the file name 'a'",
          file="models/a.yaml"),
        E(4, 9, "spec.duplicate-model", "metadata.name: model 'iris' is already declared in models/iris.yaml",
          file="models/a.yaml"),
    ], None)


BROKEN_FILES = {
    # YAML syntax error (line 5: "   team: ml", ':' at column 8).
    "a-syntax.yaml": model("""\
        apiVersion: mlgitops.dev/v1alpha1
        kind: Model
        metadata:
          name: a-syntax
           team: ml
        spec:
          framework: sklearn
        """),
    # Three schema findings in one file, and the semantic one of the parts that passed (its canary
    # has nothing to measure).
    "b-schema.yaml": model("""\
        apiVersion: mlgitops.dev/v1alpha1
        kind: Model
        metadata:
          name: b-schema
          team: ml
        spec:
          framework: sklearn
          storageUri: ftp://bucket/b
          autoscaling:
            maxReplicas: "five"
            minReplica: 2
        """),
    # Cross-file findings: wrong name and an unknown environment.
    "c-names.yaml": model("""\
        apiVersion: mlgitops.dev/v1alpha1
        kind: Model
        metadata:
          name: see-names
          team: ml
        spec:
          framework: sklearn
          storageUri: s3://bucket/c
          canary:
            enabled: false
          environments:
            prd: {}
        """),
    "d-empty.yaml": "",
    "e-list.yaml": "- a\n- b\n",
    # A valid model among the broken ones: no findings, and nothing is written for it either.
    "iris.yaml": IRIS,
}


def test_every_problem_of_every_file_in_one_run(tmp_path):
    root = make_repo(tmp_path / "repo", BROKEN_FILES)
    diags = build_failing(root)
    expected = [
        E(5, 8, "yaml.syntax", "mapping values are not allowed", file="models/a-syntax.yaml"),
        dataclasses.replace(NO_ANALYSIS, file="models/b-schema.yaml"),
        E(8, 15, "spec.schema", "spec.storageUri: 'ftp://bucket/b' is not a URI", file="models/b-schema.yaml"),
        E(10, 18, "spec.schema", "spec.autoscaling.maxReplicas: expected an integer, got a string 'five'",
          file="models/b-schema.yaml"),
        E(11, 5, "spec.unknown-field", "(did you mean 'minReplicas'?)", file="models/b-schema.yaml"),
        E(4, 9, "spec.name-mismatch", "'see-names' does not match the file name 'c-names'",
          file="models/c-names.yaml"),
        E(12, 5, "spec.unknown-environment", "unknown environment 'prd' (did you mean 'prod'?)",
          file="models/c-names.yaml"),
        E(1, 1, "spec.schema", "the file is empty", file="models/d-empty.yaml"),
        E(1, 1, "spec.schema", "expected a Model", file="models/e-list.yaml"),
    ]
    assert_diagnostics(diags, expected, None)
    # Listed in order: by file, then line, then column.
    assert [(d["file"], d["line"]) for d in diags] == [
        ("models/a-syntax.yaml", 5),
        ("models/b-schema.yaml", 6), ("models/b-schema.yaml", 8), ("models/b-schema.yaml", 10),
        ("models/b-schema.yaml", 11),
        ("models/c-names.yaml", 4), ("models/c-names.yaml", 12),
        ("models/d-empty.yaml", 1),
        ("models/e-list.yaml", 1),
    ]


SEMANTIC_FILES = {
    "f-replicas.yaml": model("""\
        apiVersion: mlgitops.dev/v1alpha1
        kind: Model
        metadata:
          name: f-replicas
          team: ml
        spec:
          framework: sklearn
          storageUri: s3://bucket/f
          autoscaling:
            minReplicas: 5
            maxReplicas: 4
          canary:
            enabled: false
        """),
    "g-many.yaml": model("""\
        apiVersion: mlgitops.dev/v1alpha1
        kind: Model
        metadata:
          name: g-many
          team: ml
        spec:
          framework: onnx
          protocol: v1
          storageUri: s3://bucket/g
          canary:
            enabled: false
          env:
            - name: DB_PASSWORD
              value: hunter2
          resources:
            requests: {cpu: "2"}
            limits: {cpu: "1"}
          slo:
            availability: 99.9
            source: kserve
        """),
}

SEMANTIC_EXPECTED = [
    E(10, 18, "spec.replicas", "minReplicas 5 is greater than maxReplicas 4", file="models/f-replicas.yaml"),
    E(8, 13, "spec.protocol", "serves protocol v2, not v1", file="models/g-many.yaml"),
    E(14, 14, "spec.literal-credential", "env 'DB_PASSWORD' looks like a credential", file="models/g-many.yaml"),
    E(16, 21, "spec.resources", "request 2 is greater than the limit 1", file="models/g-many.yaml"),
    E(19, 19, "spec.slo-source", "source 'kserve' has no request counter", file="models/g-many.yaml"),
]


def test_every_semantic_problem_of_every_file_in_one_run(tmp_path):
    root = make_repo(tmp_path / "repo", SEMANTIC_FILES)
    assert_diagnostics(build_failing(root), SEMANTIC_EXPECTED, None)


def test_semantic_problems_are_reported_next_to_a_schema_error(tmp_path):
    root = make_repo(tmp_path / "repo", {**SEMANTIC_FILES, "b-schema.yaml": BROKEN_FILES["b-schema.yaml"]})
    expected = SEMANTIC_EXPECTED + [
        dataclasses.replace(NO_ANALYSIS, file="models/b-schema.yaml"),
        E(8, 15, "spec.schema", "is not a URI", file="models/b-schema.yaml"),
        E(10, 18, "spec.schema", "expected an integer", file="models/b-schema.yaml"),
        E(11, 5, "spec.unknown-field", "minReplica", file="models/b-schema.yaml"),
    ]
    assert_diagnostics(build_failing(root), expected, None)


def test_merge_key_override_is_not_a_duplicate(tmp_path):
    text = model("""\
        apiVersion: mlgitops.dev/v1alpha1
        kind: Model
        metadata:
          name: merged
          team: ml
        spec:
          framework: sklearn
          storageUri: s3://bucket/merged
          canary:
            enabled: false
          resources:
            requests: &small {cpu: 500m, memory: 1Gi}
            limits:
              <<: *small
              cpu: "1"
        """)
    root = make_repo(tmp_path / "repo", {"merged.yaml": text})
    result = run_build(root)
    assert result.exit_code == 0, result.stdout
    assert json.loads(result.stdout)["diagnostics"] == []


# --------------------------------------------------------------------------------------------
# Warnings do not block the build
# --------------------------------------------------------------------------------------------


def test_warning_only_model_builds(tmp_path):
    text = model("""\
        apiVersion: mlgitops.dev/v1alpha1
        kind: Model
        metadata:
          name: warn
          team: ml
        spec:
          framework: sklearn
          storageUri: gs://bucket/warn
          autoscaling:
            minReplicas: 2
            maxReplicas: 6
          canary:
            steps:
              - weight: 20
                pause: 1m
              - weight: 60
                pause: 1m
          slo:
            availability: 99.9
        """)
    root = make_repo(tmp_path / "repo", {"warn.yaml": text})
    result = run_build(root)
    assert "Traceback" not in result.stderr
    assert result.exit_code == 0, result.stdout
    report = json.loads(result.stdout)
    assert (report["errors"], report["warnings"]) == (0, 1)
    # A 20% step by replica count needs 5 replicas; minReplicas 2 (10:18) is too few. Same in both
    # environments, so reported once.
    assert_diagnostics(report["diagnostics"], [
        E(10, 18, "spec.canary-replicas",
          "spec.autoscaling.minReplicas: a replica-based canary step of 20% needs at least 5 replicas",
          severity="warning"),
    ], "models/warn.yaml")
    for env in ("staging", "prod"):
        assert (root / "overlays" / env / "warn" / "kustomization.yaml").is_file()
        assert f"overlays/{env}/warn/kustomization.yaml" in report["written"]


# --------------------------------------------------------------------------------------------
# The real command line: text output on stderr, no traceback, exit 1
# --------------------------------------------------------------------------------------------


def _launchers() -> list:
    out = [pytest.param([sys.executable, "-m", "mlgitops"], id="python-m-mlgitops")]
    script = REPO_ROOT / ".venv" / "bin" / "mlgitops"
    out.append(pytest.param([str(script)], id="venv-bin-mlgitops",
                            marks=pytest.mark.skipif(not script.is_file(), reason="no .venv/bin/mlgitops")))
    return out


@pytest.mark.parametrize("launcher", _launchers())
def test_subprocess_text_output(tmp_path, launcher):
    root = make_repo(tmp_path / "repo", BROKEN_FILES)
    before = snapshot(root)
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "compiler"), "NO_COLOR": "1"}
    env.pop("MLGITOPS_DEBUG", None)
    proc = subprocess.run([*launcher, "build", "--repo", str(root)], capture_output=True, text=True,
                          env=env, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert lines == [
        "models/a-syntax.yaml:5:8: error: YAML syntax error: mapping values are not allowed in this context "
        "[yaml.syntax]",
        "models/b-schema.yaml:6:1: warning: spec.canary: canary has no automated analysis: set slo.availability or "
        "slo.latency, or canary.analysis.successRate / latencyP95, or canary.analysis.enabled: false "
        "[spec.canary-analysis]",
        "models/b-schema.yaml:8:15: error: spec.storageUri: 'ftp://bucket/b' is not a URI starting with s3://, "
        "gs://, pvc://, hf://, oci:// or https:// [spec.schema]",
        "models/b-schema.yaml:10:18: error: spec.autoscaling.maxReplicas: expected an integer, got a string "
        "'five' [spec.schema]",
        "models/b-schema.yaml:11:5: error: spec.autoscaling.minReplica: unknown field 'minReplica' "
        "(did you mean 'minReplicas'?) [spec.unknown-field]",
        "models/c-names.yaml:4:9: error: metadata.name: 'see-names' does not match the file name 'c-names' "
        "(rename the file to see-names.yaml or the model to c-names) [spec.name-mismatch]",
        "models/c-names.yaml:12:5: error: spec.environments.prd: unknown environment 'prd' "
        "(did you mean 'prod'?); mlgitops.yaml defines: staging, prod [spec.unknown-environment]",
        "models/d-empty.yaml:1:1: error: expected a Model (a mapping with apiVersion, kind, metadata and spec); "
        "the file is empty [spec.schema]",
        "models/e-list.yaml:1:1: error: expected a Model (a mapping with apiVersion, kind, metadata and spec); "
        "got a list [spec.schema]",
        "8 error(s), 1 warning(s); nothing was written",
    ]
    assert snapshot(root) == before
