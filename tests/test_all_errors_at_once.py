"""One run reports every problem of a model file: its schema errors and the semantic findings of
every part that passed the schema (issue #17, part 6), with no second, derived finding for a
mistake the schema already reported, and no traceback.

The model texts are inline; positions were counted by hand (line 1 is the first line, columns are
1-based). The builds go through the real command line: a subprocess for the file with every kind
of problem, click's runner for the smaller cases. The last test mutates every value of the
example repository's models (and of one model using the parts they do not) into a wrong type and
checks, through the same functions `build` runs, that no rule crashes and none reports anything
the valid model does not.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys
import textwrap
from typing import Any

import pytest
import yaml

from mlgitops.config import load_config
from mlgitops.diagnostics import Diagnostics
from mlgitops.modelfiles import load_model_file, resolve
from mlgitops.pipeline import check_model
from mlgitops.rules import check_files, check_model_env
from mlgitops.spec.model import cluster_variants
from tooling import REPO_ROOT

SCHEMA_RULES = {"spec.schema", "spec.unknown-field"}


def make_repo(root: pathlib.Path, files: dict[str, str]) -> pathlib.Path:
    (root / "models").mkdir(parents=True)
    shutil.copy(REPO_ROOT / "mlgitops.yaml", root / "mlgitops.yaml")
    for name, text in files.items():
        (root / "models" / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "compiler"), "NO_COLOR": "1"}
    env.pop("MLGITOPS_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "mlgitops", *args], capture_output=True, text=True, env=env,
                          timeout=300)


# Every kind of problem in one file: two schema errors at the top and in an environment override,
# one inside canary.analysis next to a semantic error in canary.steps, and the semantic errors of
# the issue (name, min > max, weights, unknown environment, latency bucket) plus two more.
EVERYTHING = """\
    apiVersion: mlgitops.dev/v1alpha1
    kind: Model
    metadata:
      name: everything
      team: ml
    spec:
      framework: sklearn
      storageUri: s3://bucket/all
      timeoutSeconds: soon
      resources:
        requests: {cpu: "2"}
        limits: {cpu: "1"}
      env:
        - name: DB_PASSWORD
          value: hunter2
      autoscaling:
        minReplicas: 5
        maxReplicas: 4
      canary:
        steps:
          - weight: 50
            pause: 1m
          - weight: 30
            pause: 1m
        analysis:
          interval: soon
      slo:
        availability: 99.9
        latency:
          - percentile: 95
            threshold: 300ms
      environments:
        qa:
          autoscaling: {minReplicas: 1}
        staging:
          autoscaling:
            minReplicas: two
    """

# (line, column, rule, a distinctive part of the message): every finding, in output order. staging's
# minReplicas failed the schema, so the replica rule runs in prod only (on spec's 5 > 4).
EVERYTHING_FOUND = [
    (4, 9, "spec.name-mismatch", "metadata.name: 'everything' does not match the file name 'all'"),
    (9, 19, "spec.schema", "spec.timeoutSeconds: expected an integer, got a string 'soon'"),
    (11, 21, "spec.resources", "spec.resources.requests.cpu: request 2 is greater than the limit 1"),
    (15, 14, "spec.literal-credential", "spec.env[0].value: env 'DB_PASSWORD' looks like a credential"),
    (17, 18, "spec.replicas", "spec.autoscaling.minReplicas: minReplicas 5 is greater than maxReplicas 4"),
    (23, 17, "spec.canary-steps", "spec.canary.steps[1].weight: weight 30 does not increase (previous step: 50)"),
    (26, 17, "spec.schema", "spec.canary.analysis.interval: 'soon' is not a duration like 30s, 5m or 1h"),
    (31, 20, "spec.latency-bucket", "spec.slo.latency[0].threshold: 300ms is not a bucket boundary of the istio"),
    (33, 5, "spec.unknown-environment", "spec.environments.qa: unknown environment 'qa'"),
    (37, 22, "spec.schema", "spec.environments.staging.autoscaling.minReplicas: expected an integer, got a "
                            "string 'two'"),
]


def assert_found(diagnostics: list[dict], expected: list[tuple[int, int, str, str]], file: str) -> None:
    """`diagnostics` are exactly `expected` (all errors), in that order."""
    shown = "\n".join(f"  {d['file']}:{d['line']}:{d['column']} [{d['rule']}] {d['message']}" for d in diagnostics)
    assert [(d["file"], d["line"], d["column"], d["rule"], d["severity"]) for d in diagnostics] == \
        [(file, line, col, rule, "error") for line, col, rule, _ in expected], shown
    for d, (_, _, _, message) in zip(diagnostics, expected):
        assert message in d["message"], shown


def test_schema_and_semantic_errors_of_one_file_in_one_build(tmp_path):
    root = make_repo(tmp_path / "repo", {"all.yaml": EVERYTHING})
    text = run_cli("build", "--repo", str(root))
    assert (text.returncode, text.stdout) == (1, ""), text.stderr
    assert "Traceback" not in text.stderr
    lines = text.stderr.splitlines()
    assert lines[-1] == f"{len(EVERYTHING_FOUND)} error(s), 0 warning(s); nothing was written"
    assert len(lines) == len(EVERYTHING_FOUND) + 1, text.stderr
    for line, (row, col, rule, message) in zip(lines, EVERYTHING_FOUND):
        assert line.startswith(f"models/all.yaml:{row}:{col}: error: {message}"), line
        assert line.endswith(f" [{rule}]"), line

    as_json = run_cli("build", "--repo", str(root), "--format", "json")
    assert as_json.returncode == 1 and "Traceback" not in as_json.stderr, as_json.stderr
    report = json.loads(as_json.stdout)
    assert (report["errors"], report["warnings"]) == (len(EVERYTHING_FOUND), 0)
    assert_found(report["diagnostics"], EVERYTHING_FOUND, "models/all.yaml")
    # The same words in both formats.
    assert [f"{d['file']}:{d['line']}:{d['column']}: error: {d['message']} [{d['rule']}]"
            for d in report["diagnostics"]] == lines[:-1]
    assert not (root / "overlays").exists()


def test_check_reports_the_same_problems(tmp_path):
    root = make_repo(tmp_path / "repo", {"all.yaml": EVERYTHING})
    done = run_cli("check", "--repo", str(root), "--format", "json")
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    found = [d for d in json.loads(done.stdout)["diagnostics"] if d["file"] == "models/all.yaml"]
    assert_found(found, EVERYTHING_FOUND, "models/all.yaml")


MODEL_HEAD = """\
    apiVersion: mlgitops.dev/v1alpha1
    kind: Model
    metadata:
      name: {name}
      team: ml
    spec:
    """

# (id, model name, the lines of spec, expected findings): each expectation holds only the schema
# finding(s), or what a rule finds in a part that did not fail.
CASES = [
    pytest.param(
        "only-schema", """\
          framework: sklearn
          storageUri: ftp://bucket/only
          autoscaling:
            maxReplicas: "five"
          colour: blue
          canary:
            enabled: false
        """,
        # no spec.storage-uri ("needs storageUri"): storageUri failed, it is not missing
        [(8, 15, "spec.schema", "spec.storageUri: 'ftp://bucket/only' is not a URI"),
         (10, 18, "spec.schema", "spec.autoscaling.maxReplicas: expected an integer, got a string 'five'"),
         (11, 3, "spec.unknown-field", "spec.colour: unknown field 'colour'")],
        id="only-schema-errors-as-before"),
    pytest.param(
        "min-two", """\
          framework: sklearn
          storageUri: s3://bucket/min-two
          autoscaling:
            minReplicas: "two"
          slo:
            availability: 99.9
        """,
        # the default minReplicas 1 would warn that a 25% canary step needs 4 replicas
        [(10, 18, "spec.schema", "spec.autoscaling.minReplicas: expected an integer, got a string 'two'")],
        id="refused-minReplicas-is-not-replaced-by-its-default"),
    pytest.param(
        "max-three", """\
          framework: sklearn
          storageUri: s3://bucket/max-three
          autoscaling:
            minReplicas: 5
            maxReplicas: three
          slo:
            availability: 99.9
        """,
        # the default maxReplicas 3 would make "minReplicas 5 is greater than maxReplicas 3"
        [(11, 18, "spec.schema", "spec.autoscaling.maxReplicas: expected an integer, got a string 'three'")],
        id="refused-maxReplicas-is-not-replaced-by-its-default"),
    pytest.param(
        "typo", """\
          framework: sklearn
          storageUri: s3://bucket/typo
          autoscaling:
            minReplica: 4
          slo:
            availability: 99.9
        """,
        # minReplica stands for minReplicas (the suggestion): not the default 1 (a replica warning)
        [(10, 5, "spec.unknown-field", "spec.autoscaling.minReplica: unknown field 'minReplica' (did you mean "
                                       "'minReplicas'?)")],
        id="misspelt-field-stands-for-the-field-it-resembles"),
    pytest.param(
        "no-framework", """\
          framework: sklern
          slo:
            availability: 99.9
          autoscaling:
            minReplicas: 4
            maxReplicas: 8
        """,
        # spec.storage-uri and spec.protocol read the framework: not run
        [(7, 14, "spec.schema", "spec.framework: 'sklern' is not one of sklearn")],
        id="rules-reading-a-refused-framework-do-not-run"),
    pytest.param(
        "override", """\
          framework: sklearn
          storageUri: s3://bucket/override
          autoscaling:
            minReplicas: 3
            maxReplicas: many
          canary:
            enabled: false
          environments:
            staging:
              autoscaling: {maxReplicas: 2}
        """,
        # prod reads the refused maxReplicas (skipped); staging's own is valid: min 3 > max 2 there
        [(11, 18, "spec.schema", "spec.autoscaling.maxReplicas: expected an integer, got a string 'many'"),
         (16, 34, "spec.replicas", "spec.environments.staging.autoscaling.maxReplicas: minReplicas 3 is greater "
                                   "than maxReplicas 2")],
        id="a-valid-override-is-checked-where-spec-failed"),
    pytest.param(
        "wrong-name", """\
          framework: sklearn
          storageUri: s3://bucket/wrong-name
          canary:
            enabled: notatall
        """,
        [(4, 9, "spec.name-mismatch", "metadata.name: 'wrong-name' does not match the file name 'renamed'"),
         (10, 14, "spec.schema", "spec.canary.enabled: expected true or false, got a string 'notatall'")],
        id="file-rules-run-on-a-partial-file"),
]


@pytest.mark.parametrize("name,spec,expected", CASES)
def test_no_derived_findings(tmp_path, cli, name, spec, expected):
    file = "renamed.yaml" if name == "wrong-name" else f"{name}.yaml"
    text = textwrap.dedent(MODEL_HEAD).format(name=name) + textwrap.indent(textwrap.dedent(spec), "  ")
    root = make_repo(tmp_path / "repo", {file: text})
    result = cli("build", "--repo", str(root), "--format", "json")
    assert result.exit_code == 1, result.output
    assert_found(json.loads(result.stdout)["diagnostics"], expected, f"models/{file}")


# A model with the parts the example models do not use (custom container, probes, secret
# references, service account, explainer, tolerations, scaling policies, an istio canary).
RICH = """\
    apiVersion: mlgitops.dev/v1alpha1
    kind: Model
    metadata:
      name: rich
      team: ml
      labels: {tier: gold}
    spec:
      framework: custom
      container:
        image: registry.example.com/rich:1.0
        args: ["--port", "8080"]
        port: 8080
        env:
          - name: TOKEN
            secretKeyRef: {name: rich-secrets, key: token}
          - name: MODE
            value: fast
        readinessProbe: {path: /ready, port: 8080, periodSeconds: 5}
        livenessProbe: {path: /live}
      serviceAccount:
        name: rich-sa
        create: true
        annotations: {eks.amazonaws.com/role-arn: "arn:aws:iam::1:role/x"}
      explainer:
        image: registry.example.com/explain:1.0
      scheduling:
        nodeSelector: {gpu: "yes"}
        tolerations: [{key: gpu, operator: Exists, effect: NoSchedule}]
      resources:
        requests: {cpu: 500m, memory: 1Gi}
        gpu: 1
      autoscaling:
        minReplicas: 4
        maxReplicas: 8
        scaleUp: {stabilizationWindowSeconds: 0, policies: [{type: Pods, value: 2, periodSeconds: 30}]}
      canary:
        trafficRouting: istio
        steps: [{weight: 10, pause: 1m}, {weight: 50, pause: manual}]
        analysis: {latencyP95: 500ms, successRate: 99}
      slo:
        availability: 99.5
        latency: [{percentile: 99, threshold: 1s}]
      podDisruptionBudget: {maxUnavailable: 2}
      environments:
        staging:
          autoscaling: {minReplicas: 1, maxReplicas: 2}
          canary: {enabled: false}
    """


def _paths(data: Any, path: tuple = ()) -> list[tuple]:
    """Every path of `data` but the document itself."""
    found = [path] if path else []
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, path + (key,))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            found += _paths(value, path + (i,))
    return found


def _findings(root: pathlib.Path, rel: str, config) -> set[tuple[str, str, str]]:
    """(rule, severity, message) of everything `build` reports about the model file `rel` before
    expanding it: the schema, the file rules, the model rules in every environment and cluster."""
    diags = Diagnostics()
    f = load_model_file(str(root), rel, diags)
    assert f is not None, [d.format() for d in diags]
    check_files([f], config, diags)
    if f.partial:
        check_model(f, config, diags)
    else:
        for me in resolve(f, config):
            for variant in [me, *cluster_variants(me)]:
                check_model_env(variant, diags, config)
    return {(d.rule, d.severity, d.message) for d in diags if d.file == rel}


@pytest.mark.parametrize("model", sorted(p.name for p in (REPO_ROOT / "models").glob("*.yaml")) + ["rich"])
def test_a_value_of_the_wrong_type_only_ever_hides_findings(tmp_path, model):
    text = textwrap.dedent(RICH) if model == "rich" else (REPO_ROOT / "models" / model).read_text()
    rel = f"models/{model if model.endswith('.yaml') else model + '.yaml'}"
    root = make_repo(tmp_path / "repo", {})
    config = load_config(str(root), Diagnostics())
    valid = yaml.safe_load(text)
    valid["metadata"]["name"] = pathlib.Path(rel).stem
    (root / rel).write_text(yaml.safe_dump(valid, sort_keys=False))
    baseline = _findings(root, rel, config)
    assert not any(rule in SCHEMA_RULES for rule, _, _ in baseline)
    refused = 0
    for path in _paths(valid):
        mutated = yaml.safe_load(yaml.safe_dump(valid))
        parent = mutated
        for part in path[:-1]:
            parent = parent[part]
        parent[path[-1]] = "x" if isinstance(parent[path[-1]], (dict, list)) else [1]
        (root / rel).write_text(yaml.safe_dump(mutated, sort_keys=False))
        found = _findings(root, rel, config)
        if not any(rule in SCHEMA_RULES for rule, _, _ in found):
            continue  # the schema took the new value (a list of strings, say): new findings may be real
        refused += 1
        derived = {f for f in found if f[0] not in SCHEMA_RULES} - baseline
        assert not derived, f"{'.'.join(map(str, path))} of the wrong type also gave: {sorted(derived)}"
    assert refused >= 20  # the mutations did reach the rules
