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
    (rule,) = [d for d in docs if d["kind"] == "PrometheusRule" and d["metadata"]["name"] == "iris-slo"]
    groups = {g["name"]: g for g in rule["spec"]["groups"]}
    records = [r["record"] for r in groups["iris-availability-sli"]["rules"]]
    assert records == [f"mlgitops:slo_errors:ratio_rate{w}" for w in ("10m", "2h", "4h", "2d")]
    alerts = [a for a in groups["iris-availability-alerts"]["rules"] if a["alert"].endswith("BudgetBurn")]
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
    (rule,) = [d for d in docs if d["kind"] == "PrometheusRule" and d["metadata"]["name"] == "iris-slo"]
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


# --- `--plot`: PNG previews of the generated dashboards (slo/plot.py) ---------------------------------

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, payload) of every chunk of a PNG file."""
    import struct

    assert data[:8] == PNG_SIGNATURE
    out, at = [], 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at:at + 4])
        out.append((data[at + 4:at + 8], data[at + 8:at + 8 + length]))
        at += 12 + length
    return out


def plotted(cli, root: pathlib.Path, directory: pathlib.Path, *args: str) -> list[str]:
    result = cli("slo", "explain", "iris", "--repo", str(root), "--format", "json", "--plot", str(directory), *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["files"]


def test_plot_writes_a_decodable_png_per_environment(cli, repo, tmp_path):
    import struct

    from matplotlib.image import imread

    from mlgitops.slo import plot

    files = plotted(cli, repo, tmp_path / "previews")
    assert files == [str(tmp_path / "previews/iris-staging.png"), str(tmp_path / "previews/iris-prod.png")]
    for path in files:
        data = pathlib.Path(path).read_bytes()
        chunks = png_chunks(data)
        assert chunks[0][0] == b"IHDR" and chunks[-1][0] == b"IEND"
        width, height = struct.unpack(">II", chunks[0][1][:8])
        # iris: three SLO rows and the canary/replicas row, 8 grid rows each, under the header.
        assert (width, height) == (plot.WIDTH_PX, plot.HEADER_PX + 4 * 8 * plot.ROW_PX)
        assert imread(path).shape[:2] == (height, width)  # Pillow decodes every pixel


def test_plot_has_one_axes_per_dashboard_panel_where_grafana_puts_it(repo):
    from mlgitops.diagnostics import Diagnostics
    from mlgitops.expand.dashboard import dashboard
    from mlgitops.slo import plot
    from mlgitops.slo.models import load_model_envs

    config, envs = load_model_envs(str(repo), ("iris", "churn"), (), Diagnostics())
    assert len(envs) == 4
    for me in envs:
        panels = dashboard(me, config)["panels"]
        fig = plot.figure(me, config)
        assert [ax.get_title(loc="left") for ax in fig.axes] == [p["title"] for p in panels]
        for ax, panel in zip(fig.axes, panels):  # left edges in grid order: x decides the column
            left = ax.get_position().x0 * plot.WIDTH_PX
            assert panel["gridPos"]["x"] * plot.WIDTH_PX / 24 <= left < (panel["gridPos"]["x"] + panel["gridPos"]["w"]) \
                * plot.WIDTH_PX / 24


def test_plot_bytes_are_identical_across_runs_and_carry_no_metadata(cli, repo, tmp_path):
    first = plotted(cli, repo, tmp_path / "a", "--env", "prod")
    second = plotted(cli, repo, tmp_path / "b", "--env", "prod")
    assert [pathlib.Path(p).read_bytes() for p in first] == [pathlib.Path(p).read_bytes() for p in second]
    kinds = {kind for kind, _ in png_chunks(pathlib.Path(first[0]).read_bytes())}
    assert not kinds & {b"tEXt", b"iTXt", b"zTXt", b"tIME"}, kinds


def test_the_simulation_is_the_workbook_arithmetic():
    """At 0.2x then 20x, the 1h ratio reaches 14.4x after (14.4 - 0.2) / (20 - 0.2) x 60 min =
    43.03 min; with the 5m window long above 14.4x and `for: 2m`, the page fires in the minute
    45.03 min after the onset (minute 106 of the simulation, the onset at 60)."""
    from mlgitops.domain.burnrate import DEFAULT_TABLE
    from mlgitops.slo import plot

    budget = 0.001
    assert plot.window_ratio(90, "1h", budget) == pytest.approx(budget * (0.2 + 19.8 * 30 / 60))
    assert plot.window_ratio(90, "30d", budget) == pytest.approx(budget * (0.2 + 19.8 * 30 / (30 * 24 * 60)))
    times = list(range(plot.MINUTES + 1))
    fires = plot.firing(DEFAULT_TABLE, budget, times)
    assert fires["page"].index(True) == 106
    assert True not in fires["ticket"]  # the 1d/2h 3x pair needs 3.5 h at 20x; the burn lasts 2 h


def test_plot_into_a_directory_that_cannot_be_made_is_a_usage_error(cli, repo, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    for target, text in ((blocker / "previews", "cannot create the directory"), (blocker, "is a file")):
        result = cli("slo", "explain", "iris", "--repo", str(repo), "--plot", str(target))
        assert result.exit_code == 2, result.output
        assert text in result.output
        assert "Traceback" not in result.output


def test_plot_without_matplotlib_is_a_one_line_error(cli, repo, tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib raises ImportError
    result = cli("slo", "explain", "iris", "--repo", str(repo), "--plot", str(tmp_path / "p"))
    assert result.exit_code == 2
    assert result.stderr == "Error: --plot needs matplotlib, which is not installed: pip install 'mlgitops[plot]'\n"
    assert result.stdout == "" and not (tmp_path / "p").exists()
