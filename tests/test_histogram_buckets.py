"""Histogram buckets are declared per metric source (issue #15): `monitoring.histogramBuckets` in
mlgitops.yaml says which buckets the clusters' exporters really have (default: the exporters' own),
latency thresholds are checked against them, and the promtool proofs synthesise those buckets."""

from __future__ import annotations

import json

import yaml

from conftest import copy_sources
from tooling import require_tool

from mlgitops.config import load_config
from mlgitops.diagnostics import Diagnostics
from mlgitops.modelfiles import read_model_file, resolve
from mlgitops.slo.promtool import grade, run_promtool
from mlgitops.slo.scenarios import build_suite

HINT = "apt-get install prometheus (promtool)"
# An Istio mesh whose sidecars were given their own buckets (sidecar.istio.io/statsHistogramBuckets):
# 300 ms is a boundary, 500 ms is not.
CUSTOM = "  histogramBuckets:\n    istio: [50ms, 100ms, 300ms, 1s, 5s, 30s]\n"


def _repo(tmp_path, declare: bool, p95: str):
    repo = copy_sources(tmp_path / "repo")
    for other in ("churn", "fraud", "sentiment"):
        (repo / "models" / f"{other}.yaml").unlink()
    text = (repo / "mlgitops.yaml").read_text()
    if declare:
        text = text.replace("  runbookURL:", CUSTOM + "  runbookURL:")
    (repo / "mlgitops.yaml").write_text(text)
    model = (repo / "models" / "iris.yaml").read_text().replace("threshold: 500ms", f"threshold: {p95}")
    (repo / "models" / "iris.yaml").write_text(model)
    return repo


def test_a_threshold_off_the_declared_buckets_is_refused_naming_them(cli, tmp_path):
    repo = _repo(tmp_path, declare=True, p95="500ms")
    result = cli("build", "--repo", str(repo))
    assert result.exit_code == 1, result.output
    (line,) = [l for l in result.output.splitlines() if "[spec.latency-bucket]" in l]
    assert "istio latency histogram (monitoring.histogramBuckets)" in line, line
    assert "nearest boundaries: 300ms and 1s" in line, line


def test_a_declared_boundary_is_accepted_and_read_with_its_le(cli, tmp_path):
    repo = _repo(tmp_path, declare=True, p95="300ms")
    assert cli("build", "--repo", str(repo)).exit_code == 0
    rules = list(yaml.safe_load_all((repo / "overlays/prod/iris/monitoring.yaml").read_text()))
    (rule,) = [r for r in rules if r["kind"] == "PrometheusRule" and r["metadata"]["name"] == "iris-slo"]
    exprs = [r["expr"] for g in rule["spec"]["groups"] for r in g["rules"] if r.get("labels", {}).get("slo") == "latency-p95"
             and "record" in r and "_bucket" in r["expr"]]
    assert exprs and all('le=~"300(\\\\.0)?"' in e for e in exprs), exprs[0]
    # Undeclared, the same threshold is refused against Envoy's default buckets.
    other = _repo(tmp_path / "default", declare=False, p95="300ms")
    assert cli("build", "--repo", str(other)).exit_code == 1


def test_the_promtool_proofs_use_the_declared_buckets(cli, tmp_path):
    require_tool("promtool", HINT)
    repo = _repo(tmp_path, declare=True, p95="300ms")
    # the SLO whose threshold is the declared boundary only (--slo): the others read the same
    # buckets through the same code, and the example's proofs (test_slo_scenarios.py) cover them
    result = cli("slo", "test", "--repo", str(repo), "--model", "iris", "--env", "prod", "--slo", "latency-p95",
                 "--format", "json", "--keep", str(tmp_path / "kept"))
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["failed"] == 0 and report["passed"] > 0
    assert {s["slo"] for s in report["scenarios"]} == {"latency-p95"}
    tests = (tmp_path / "kept" / "iris-prod" / "latency-p95.fast.test.yaml").read_text()
    assert 'le="300"' in tests and 'le="500"' not in tests  # the declared bucket, not Envoy's default


def test_rules_for_default_buckets_page_falsely_on_a_mesh_with_other_buckets(tmp_path):
    """Why the declaration matters: rules generated for Envoy's default buckets (500 ms is a
    boundary there) fed the series of a mesh without a 500 ms bucket read every request as slow,
    and the healthy scenario pages (promtool)."""
    promtool = require_tool("promtool", HINT)
    default_repo = _repo(tmp_path / "a", declare=False, p95="500ms")
    custom_repo = _repo(tmp_path / "b", declare=True, p95="500ms")
    diags = Diagnostics()
    default_config = load_config(str(default_repo), diags)
    custom_config = load_config(str(custom_repo), diags)
    (me,) = [m for m in resolve(read_model_file(str(default_repo), "models/iris.yaml", diags), default_config)
             if m.env.name == "prod"]
    from mlgitops.expand.slo import prometheus_rule

    rule = prometheus_rule(me, default_config)
    outcomes = {}
    for name, config in (("default", default_config), ("custom", custom_config)):
        suite = build_suite(me, config, rule)  # series synthesised with that config's buckets
        out = tmp_path / name
        out.mkdir()
        for file, doc in suite.files.items():
            (out / file).write_text(yaml.safe_dump(doc, sort_keys=False))
        wanted = "latency-p95.long.test.yaml"
        runs = run_promtool(promtool, [(str(out), wanted)])
        outcomes[name] = {o.scenario.name: o.status != "failed" for o in grade(suite, {wanted: runs[(str(out), wanted)]})
                          if o.scenario.slo == "latency-p95"}
    assert outcomes["default"] and all(outcomes["default"].values()), outcomes["default"]
    assert outcomes["custom"].get("healthy") is False, outcomes["custom"]
