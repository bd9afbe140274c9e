"""`mlgitops slo explain` and the configurable burn-rate alert table (issue #7).

Expected times come from the SRE workbook arithmetic quoted in ../shared/research/slo.md
section 0 (a pair (L, f) fires after f / B x L at a constant burn B), not from the code.
"""

from __future__ import annotations

import json
import pathlib
import subprocess

import pytest
import yaml

from conftest import copy_sources
from tooling import require_tool

CUSTOM_TABLE = """\
  burnRateAlerts:
    critical:
      for: 1m
      windows:
        - {long: 2h, short: 10m, burnRate: 10}
    warning:
      for: 30m
      windows:
        - {long: 2d, short: 4h, burnRate: 2}
"""


def explain(cli, root: pathlib.Path, *args: str) -> dict:
    result = cli("slo", "explain", "--repo", str(root), "--format", "json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def objective(report: dict, env: str, slo: str) -> dict:
    (model,) = [m for m in report["models"] if m["environment"] == env]
    (found,) = [o for o in model["objectives"] if o["slo"] == slo]
    return found


def fire_times(entry: dict) -> dict[float, dict]:
    return {round(t["burn_rate"], 6): t["seconds"] for t in entry["time_to_fire"]}


def test_budget_and_workbook_times_for_iris_availability(cli, repo):
    report = explain(cli, repo, "iris", "--env", "prod", "--rps", "50")
    a = objective(report, "prod", "availability")
    # 99.9% over 30 days: 0.1% of 43,200 minutes, of 50 req/s x 2,592,000 s.
    assert a["budget_minutes"] == pytest.approx(43.2)
    assert a["requests_per_window"] == 50 * 30 * 86400
    assert a["budget_requests"] == 50 * 30 * 86400 // 1000
    times = fire_times(a)
    # Workbook: a 100x burn trips the 1h/14.4 pair after 8.64 min, a 20x burn after 43.2 min (+ for: 2m).
    assert times[100]["page"] == pytest.approx(8.64 * 60 + 120, abs=1)
    assert times[20]["page"] == pytest.approx(43.2 * 60 + 120, abs=1)
    assert times[20]["page"] <= 60 * 60
    # 4x never pages (both page factors are above 4) but tickets after 3/4 of a day (+ for: 15m).
    assert times[4]["page"] is None
    assert times[4]["ticket"] == pytest.approx(0.75 * 86400 + 900, abs=1)
    # At exactly the budget rate nothing fires: the 3d/1x pair needs more than 1x.
    assert times[1] == {"page": None, "ticket": None}
    pairs = {(x["severity"], x["long"], x["short"]): x for x in a["alerts"]}
    assert set(pairs) == {("page", "1h", "5m"), ("page", "6h", "30m"), ("ticket", "1d", "2h"), ("ticket", "3d", "6h")}
    # Table 5-8: budget consumed when the pair fires: 2%, 5%, 10%, 10%.
    assert [round(pairs[k]["budget_spent_when_firing"], 4) for k in sorted(pairs)] == [0.02, 0.05, 0.1, 0.1]
    assert pairs[("page", "1h", "5m")]["error_ratio_threshold"] == pytest.approx(0.0144)


def test_latency_objectives_and_explicit_error_rates(cli, repo):
    report = explain(cli, repo, "iris", "--env", "staging", "--error-rate", "100", "--error-rate", "2")
    p99 = objective(report, "staging", "latency-p99")
    assert p99["bad_events"] == "slower than 1s"
    assert p99["budget_minutes"] == pytest.approx(432)
    by_share = {t["error_ratio"]: t for t in p99["time_to_fire"]}
    assert set(by_share) == {1.0, 0.02}
    assert by_share[1.0]["burn_rate"] == pytest.approx(100)
    # 2% slow requests against a 1% budget is a 2x burn: below every page factor, above the 3d/1x ticket.
    assert by_share[0.02]["seconds"]["page"] is None
    assert by_share[0.02]["seconds"]["ticket"] == pytest.approx(1 / 2 * 3 * 86400 + 900, abs=1)
    # Without --rps the traffic is the autoscaling target times minReplicas (staging: 100 x 1).
    model = report["models"][0]
    assert model["requests_per_second"] == 100
    assert "requestsPerSecond" in model["traffic_basis"]


def test_text_output_names_every_alert_and_the_never_cases(cli, repo):
    result = cli("slo", "explain", "iris", "--repo", str(repo), "--env", "prod")
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "iris in prod (namespace ml-prod): SLO window 30d, metrics from istio" in text
    assert "page    1h/5m at 14.4x (error ratio > 1.44%, for 2m)" in text
    assert "ticket  3d/6h at 1x" in text
    lines = [line.split() for line in text.splitlines() if line.strip().startswith("0.4%")]
    assert lines and lines[0][:3] == ["0.4%", "4x", "never"]


def test_custom_alert_table_drives_rules_and_explain(cli, repo):
    config = repo / "mlgitops.yaml"
    config.write_text(config.read_text().replace("  runbookURL:", CUSTOM_TABLE + "  runbookURL:"))
    result = cli("build", "--repo", str(repo))
    assert result.exit_code == 0, result.output
    docs = list(yaml.safe_load_all((repo / "overlays/prod/iris/monitoring.yaml").read_text()))
    (rule,) = [d for d in docs if d["kind"] == "PrometheusRule"]
    groups = {g["name"]: g for g in rule["spec"]["groups"]}
    records = [r["record"] for r in groups["iris-availability-sli"]["rules"]]
    assert records == [f"mlgitops:slo_errors:ratio_rate{w}" for w in ("10m", "2h", "4h", "2d")]
    alerts = groups["iris-availability-alerts"]["rules"]
    assert [(a["labels"]["severity"], a["for"]) for a in alerts] == [("critical", "1m"), ("warning", "30m")]
    assert "(10 * 0.001)" in alerts[0]["expr"] and "ratio_rate2h" in alerts[0]["expr"]
    report = explain(cli, repo, "iris", "--env", "prod")
    times = fire_times(objective(report, "prod", "availability"))
    assert times[100]["critical"] == pytest.approx(10 / 100 * 7200 + 60, abs=1)
    assert times[4] == {"critical": None, "warning": pytest.approx(2 / 4 * 2 * 86400 + 1800, abs=1)}


def test_custom_alert_table_rules_pass_promtool(cli, repo, tmp_path):
    promtool = require_tool("promtool", "make tools (Debian package 'prometheus')")
    config = repo / "mlgitops.yaml"
    config.write_text(config.read_text().replace("  runbookURL:", CUSTOM_TABLE + "  runbookURL:"))
    assert cli("build", "--repo", str(repo)).exit_code == 0
    docs = yaml.safe_load_all((repo / "overlays/prod/iris/monitoring.yaml").read_text())
    (rule,) = [d for d in docs if d["kind"] == "PrometheusRule"]
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    proc = subprocess.run([promtool, "check", "rules", str(tmp_path / "rules.yaml")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_alert_table_with_short_window_not_shorter_is_a_config_error(cli, repo):
    config = repo / "mlgitops.yaml"
    table = CUSTOM_TABLE.replace("{long: 2h, short: 10m", "{long: 2h, short: 2h")
    config.write_text(config.read_text().replace("  runbookURL:", table + "  runbookURL:"))
    line = config.read_text().splitlines().index("        - {long: 2h, short: 2h, burnRate: 10}") + 1
    code, report = cli.build_json(repo)
    assert code == 1
    (diag,) = report["diagnostics"]
    assert (diag["file"], diag["line"], diag["rule"]) == ("mlgitops.yaml", line, "config.burn-rate-alerts")
    assert "short window 2h must be shorter than the long window 2h" in diag["message"]
    assert not (repo / "overlays").exists()


def test_alert_table_bad_duration_is_a_schema_error(cli, repo):
    config = repo / "mlgitops.yaml"
    config.write_text(config.read_text().replace("  runbookURL:", CUSTOM_TABLE.replace("2d", "two days")
                                                 + "  runbookURL:"))
    code, report = cli.build_json(repo)
    assert code == 1
    assert [d["rule"] for d in report["diagnostics"]] == ["config.schema"]
    assert "burnRateAlerts.warning.windows[0].long" in report["diagnostics"][0]["message"]


@pytest.mark.parametrize("args, code, text", [
    (("nope",), 2, "no model 'nope' in models/"),
    (("iris", "--env", "qa"), 2, "--env qa: no such environment"),
    (("iris", "--rps", "0"), 2, "--rps"),
])
def test_usage_errors(cli, repo, args, code, text):
    result = cli("slo", "explain", "--repo", str(repo), *args)
    assert result.exit_code == code
    assert text in result.output
    assert "Traceback" not in result.output


def test_model_with_spec_errors_exits_1_with_the_finding(cli, repo):
    path = repo / "models/iris.yaml"
    path.write_text(path.read_text().replace("threshold: 500ms", "threshold: 300ms"))
    result = cli("slo", "explain", "iris", "--repo", str(repo))
    assert result.exit_code == 1
    assert "models/iris.yaml:" in result.output and "[spec.latency-bucket]" in result.output


def test_copy_sources_is_a_clean_example(tmp_path):
    # Guard for the tests above: the example config has no custom table and a runbookURL line to anchor on.
    root = copy_sources(tmp_path / "r")
    text = (root / "mlgitops.yaml").read_text()
    assert "burnRateAlerts" not in text and "\n  runbookURL:" in text
