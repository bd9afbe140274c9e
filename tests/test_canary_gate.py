"""spec.canary-gate-looser: an explicit canary gate that lets through a canary the SLO would not
is a warning at the explicit setting, naming the setting and the objective; stricter or
incomparable settings, and the example models, are quiet."""

from __future__ import annotations

import pathlib
import shutil
import tempfile
import textwrap

import pytest

from mlgitops.config import load_config
from mlgitops.diagnostics import Diagnostics
from mlgitops.modelfiles import read_model_file, resolve
from mlgitops.rules import check_files, check_model_env
from mlgitops.rules.canary_gate import RULE
from mlgitops.spec.model import list_model_files
from tooling import REPO_ROOT


def _findings(root: pathlib.Path, files: list[str]) -> list[str]:
    diags = Diagnostics()
    config = load_config(str(root), diags)
    models = [read_model_file(str(root), rel, diags) for rel in files]
    check_files([m for m in models if m], config, diags)
    for m in models:
        for me in resolve(m, config):
            check_model_env(me, diags, config)
    assert not [d for d in diags if d.severity == "error"], [d.format() for d in diags]
    return [d.format() for d in diags if d.rule == RULE.id]


def findings(tmp_path: pathlib.Path, spec: str) -> list[str]:
    """The rule's findings on one model `m` whose spec is the framework, storage and `spec`."""
    root = pathlib.Path(tempfile.mkdtemp(dir=tmp_path))
    (root / "models").mkdir()
    shutil.copy(REPO_ROOT / "mlgitops.yaml", root / "mlgitops.yaml")
    body = textwrap.indent(textwrap.dedent(spec).strip("\n"), "  ")
    (root / "models" / "m.yaml").write_text(
        "apiVersion: mlgitops.dev/v1alpha1\nkind: Model\nmetadata:\n  name: m\n  team: ml\nspec:\n"
        f"  framework: sklearn\n  storageUri: s3://bucket/m/\n{body}\n", encoding="utf-8")
    return _findings(root, ["models/m.yaml"])


CHURN_BEFORE = """
    canary:
      analysis:
        latencyP95: 250ms
    slo:
      source: kserve
      latency:
        - percentile: 99
          threshold: 250ms
"""


def test_the_old_churn_setting_warns_at_the_setting_naming_both(tmp_path):
    """churn's former `latencyP95: 250ms` beside its p99 250ms objective: p95 <= 250ms lets through
    a canary whose p99 is above 250ms; the p99 gate still holds, so the setting adds nothing."""
    assert findings(tmp_path, CHURN_BEFORE) == [
        "models/m.yaml:11:19: warning: spec.canary.analysis.latencyP95: 250ms is looser than the SLO objective "
        "p99 within 250ms: it lets 5% of the canary's requests be slower than 250ms, the objective 1% (the "
        "objective's own gate, latency-p99, still holds: remove latencyP95 or make it stricter) "
        "[spec.canary-gate-looser]"]


@pytest.mark.parametrize("analysis, latency, looser", [
    ("latencyP95: 500ms", "{percentile: 95, threshold: 250ms}", True),  # higher threshold, same percentile
    ("latencyP95: 250ms", "{percentile: 95, threshold: 250ms}", False),  # the same gate
    ("latencyP95: 100ms", "{percentile: 95, threshold: 250ms}", False),  # stricter
    ("latencyP95: 100ms", "{percentile: 99, threshold: 250ms}", False),  # incomparable: a bar of its own
    ("latencyP95: 1s", "{percentile: 90, threshold: 500ms}", False),  # incomparable
    ("latencyP95: 1s", "{percentile: 99.9, threshold: 500ms}", True),
    ("{latencyP95: 250ms, latencyGates: false}", "{percentile: 99, threshold: 250ms}", True),
])
def test_looser_means_a_threshold_at_least_and_a_percentile_at_most_the_objective(tmp_path, analysis, latency,
                                                                                  looser):
    spec = f"""
        canary:
          analysis: {analysis if analysis.startswith("{") else "{" + analysis + "}"}
        slo:
          latency: [{latency}]
        """
    assert bool(findings(tmp_path, spec)) == looser


def test_replacing_the_p95_gate_and_switching_gates_off_say_so(tmp_path):
    (replaced,) = findings(tmp_path, """
        canary: {analysis: {latencyP95: 500ms}}
        slo: {latency: [{percentile: 95, threshold: 250ms}]}
        """)
    assert "500ms is looser than the SLO objective p95 within 250ms" in replaced
    assert "and replaces that objective's gate" in replaced
    (unguarded,) = findings(tmp_path, """
        canary: {analysis: {latencyP95: 250ms, latencyGates: false}}
        slo: {latency: [{percentile: 99, threshold: 250ms}]}
        """)
    assert "canary.analysis.latencyGates is false, so no gate holds the canary to the objective" in unguarded


def test_one_finding_per_loosened_objective(tmp_path):
    found = findings(tmp_path, """
        canary: {analysis: {latencyP95: 1s}}
        slo: {latency: [{percentile: 95, threshold: 500ms}, {percentile: 99, threshold: 1s}]}
        """)
    assert [f.split("objective ")[1].split(":")[0] for f in found] == ["p95 within 500ms", "p99 within 1s"]


def test_an_environment_override_is_blamed_at_its_own_line(tmp_path):
    (found,) = findings(tmp_path, """
        slo: {latency: [{percentile: 99, threshold: 250ms}]}
        environments:
          prod:
            canary: {analysis: {latencyP95: 250ms}}
        """)
    assert found.startswith("models/m.yaml:12:39: warning: spec.environments.prod.canary.analysis.latencyP95: ")


def test_no_warning_where_the_canary_is_not_analysed(tmp_path):
    for canary in ("{enabled: false, analysis: {latencyP95: 250ms}}", "{analysis: {enabled: false, latencyP95: 250ms}}"):
        assert findings(tmp_path, f"""
            canary: {canary}
            slo: {{latency: [{{percentile: 99, threshold: 250ms}}]}}
            """) == []


def test_a_success_rate_below_the_derived_one_warns(tmp_path):
    """slo.availability 99.9 derives a 1.44% error-ratio limit (14.4x the budget): 95% tolerates
    5% errors (a warning), 99% tolerates 1% (stricter, quiet)."""
    assert findings(tmp_path, """
        canary: {analysis: {successRate: 95}}
        slo: {availability: 99.9}
        """) == ["models/m.yaml:9:36: warning: spec.canary.analysis.successRate: 95 lets 5% of the canary's requests "
                 "fail, more than the 1.44% derived from slo.availability 99.9 (the fast-burn threshold); remove "
                 "successRate or make it stricter [spec.canary-gate-looser]"]
    assert findings(tmp_path, """
        canary: {analysis: {successRate: 99}}
        slo: {availability: 99.9}
        """) == []


def test_the_example_models_are_quiet():
    assert _findings(REPO_ROOT, list_model_files(str(REPO_ROOT))) == []
