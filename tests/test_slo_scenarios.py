"""`mlgitops slo test`: the SLO alerts behave as issues #7 and #15 promise, under the real promtool.

(a) every example model environment passes its generated scenarios; (b) broken rules are caught
(mutations of the generated PrometheusRule, or of the alert table), including the blindness and
budget-exhausted alerts and the severity routing; (c) a renamed, configurable alert table still
passes; (d) the CLI's exit codes, JSON report and missing-promtool error. The operational alerts
(expand/operations.py) are in test_operational_alerts.py.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re

import pytest
import yaml

from conftest import REPO_ROOT
from tooling import require_tool

from mlgitops.config import load_config
from mlgitops.diagnostics import Diagnostics
from mlgitops.expand.slo import prometheus_rule
from mlgitops.domain.burnrate import table_from_config
from mlgitops.slo.promtool import grade, run_promtool, run_slo_tests
from mlgitops.slo.scenarios import MARK, build_suite, counter
from mlgitops.modelfiles import read_model_file, resolve

HINT = "make tools (Debian package 'prometheus')"
MODELS = ("churn", "fraud", "iris", "sentiment")
# promtool proves every example model in prod. The staging suites are prod's with other names and
# the page tier routed as a ticket: test_staging_proofs_are_prods_renamed checks that (without
# promtool), so their hours of replayed series would prove nothing new; the routing itself is
# proven under promtool by test_staging_page_tier_is_routed_to_a_ticket.
MODEL_ENVS = [(m, "prod") for m in MODELS]
ISSUE_SCENARIOS = {"healthy", "page_20x", "page_100x", "page_reset", "ticket_4x", "zero_errors", "no_traffic",
                   "traffic_stops"}
# Issue #15: each SLO's blindness and budget-exhausted alerts, firing and silent.
HEALTH_SCENARIOS = {"blind_never_seen", "blind_series_lost", "blind_silent_traffic", "blind_silent_not_running",
                    "exhausted", "exhausted_silent"}


def _model_env(model: str, env: str, config=None):
    diags = Diagnostics()
    config = config or load_config(str(REPO_ROOT), diags)
    f = read_model_file(str(REPO_ROOT), f"models/{model}.yaml", diags)
    assert not diags.has_errors, [d.format() for d in diags]
    (me,) = [m for m in resolve(f, config) if m.env.name == env]
    return me, config


def _run(tmp_path, me, config, rule, slo: str, kind: str, only: set[str] | None = None) -> dict:
    """Outcome per scenario name of one SLO, running only its `kind` (fast/long/health) test file;
    with `only`, only the promtool test groups that assert those scenarios (each group replays
    hours of series: the mutation tests read two or three scenarios of a file of eight)."""
    promtool = require_tool("promtool", HINT)
    suite = build_suite(me, config, rule)
    wanted = f"{slo}.{kind}.test.yaml"
    assert wanted in suite.test_files
    if only is not None:
        groups = suite.files[wanted]["tests"]
        kept = [g for g in groups if _scenarios_of(g) & only]
        assert {name for g in kept for name in _scenarios_of(g)} >= only, (only, [g["name"] for g in groups])
        suite.files[wanted] = {**suite.files[wanted], "tests": kept}
    for name, doc in suite.files.items():
        (tmp_path / name).write_text(yaml.safe_dump(doc, sort_keys=False))
    runs = run_promtool(promtool, [(str(tmp_path), wanted)])
    outcomes = grade(suite, {wanted: runs[(str(tmp_path), wanted)]})
    return {o.scenario.name: o for o in outcomes if o.scenario.slo == slo and o.scenario.test_file == wanted
            and (only is None or o.scenario.name in only)}


def _scenarios_of(group: dict) -> set[str]:
    """The scenario names a promtool test group asserts (each expression carries MARK slo/name)."""
    return {m[1] for test in group["promql_expr_test"]
            for m in re.finditer(re.escape(MARK) + r"[^/\s]+/(\w+)", test["expr"])}


def _mutate(rule: dict, slo: str, edit, alerts_only: bool = False, alert: str = "BudgetBurn") -> dict:
    """Edit the expressions of one SLO's rules (alerts_only: of its alerts whose name ends with `alert`)."""
    for group in rule["spec"]["groups"]:
        for r in group["rules"]:
            if r["labels"].get("slo") == slo and (not alerts_only or r.get("alert", "").endswith(alert)):
                r["expr"] = edit(r)
    return rule


def test_counter_values_are_continuous():
    assert counter([(3, 10.0)]) == "0+10x3"
    assert counter([(3, 10.0), (2, 1.0), (1, 5.0)]) == "0+10x3 31+1x1 37"
    assert counter([(2, None), (2, 4.0)]) == "_x2 0+4x2"


# (a) ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("model,env", MODEL_ENVS, ids=[f"{m}-{e}" for m, e in MODEL_ENVS])
def test_example_scenarios_pass(model, env):
    require_tool("promtool", HINT)
    result = run_slo_tests(str(REPO_ROOT), models=(model,), envs=(env,))
    assert not result.diagnostics.has_errors, "\n".join(d.format() for d in result.diagnostics)
    assert result.model_envs == 1 and result.count("failed") == 0
    by_slo: dict[str, set] = {}
    for _me, o in result.outcomes:
        if o.status == "passed":
            by_slo.setdefault(o.scenario.slo, set()).add(o.scenario.name)
        else:  # the only skips in the examples: 100x cannot exist for a 95% latency objective
            assert o.status == "skipped" and o.scenario.name == "page_100x" and "500%" in o.detail, o
    operations = by_slo.pop("operations")  # test_operational_alerts.py checks them
    assert operations and all(name.startswith(("down", "load", "canary", "capacity")) for name in operations)
    for slo, names in by_slo.items():
        expected = ISSUE_SCENARIOS | HEALTH_SCENARIOS | ({"slow"} if slo.startswith("latency") else set())
        if slo == "latency-p95":
            expected = expected - {"page_100x"}
        assert names == expected, (slo, names)


def _proof(me, config) -> str:
    """What promtool computes for a model environment's SLO scenarios: every test file, and every
    rule's name, expression and `for` (not its annotations), with the environment's name and the
    alerts' severity left out."""
    suite = build_suite(me, config, prometheus_rule(me, config))
    files = {name: [(r.get("record") or r.get("alert"), r["expr"], r.get("for"))
                    for g in doc["groups"] for r in g["rules"]] if "groups" in doc else doc
             for name, doc in suite.files.items()}
    text = json.dumps(files, sort_keys=True).replace(me.env.name, "ENV")
    return re.sub(r'severity(=\\"|: )(page|ticket)', r"severity\1SEVERITY", text)


@pytest.mark.parametrize("model", [m for m in MODELS if (m, "staging") not in MODEL_ENVS])
def test_staging_proofs_are_prods_renamed(model):
    """The staging scenarios promtool does not run (MODEL_ENVS) are prod's, renamed: if a model's
    staging environment changes its SLO rules or scenarios, add (model, "staging") to MODEL_ENVS."""
    staging, prod = _proof(*_model_env(model, "staging")), _proof(*_model_env(model, "prod"))
    assert "ENV" in prod and "SEVERITY" in prod and "staging" not in staging
    assert staging == prod


def test_the_proof_comparison_sees_a_changed_objective():
    (me, config), (prod, _) = _model_env("fraud", "staging"), _model_env("fraud", "prod")
    settings = copy.deepcopy(me.settings)
    settings["slo"]["availability"] = 99.5
    changed = dataclasses.replace(me, settings=settings)
    assert _proof(me, config) == _proof(prod, config) != _proof(changed, config)


# (b) ------------------------------------------------------------------------------------------

def test_page_without_short_window_keeps_firing_after_recovery(tmp_path):
    me, config = _model_env("iris", "prod")
    rule = _mutate(prometheus_rule(me, config), "availability",
                   lambda r: re.sub(r"\n  and\n  [^\n]*\n\)", "\n)", r["expr"]) if r["labels"]["tier"] == "page"
                   else r["expr"], alerts_only=True)
    out = _run(tmp_path, me, config, rule, "availability", "fast", only={"page_reset", "page_20x", "page_100x"})
    assert out["page_reset"].status == "failed", out["page_reset"]
    assert "ALERTS" in out["page_reset"].detail
    assert out["page_20x"].status == "passed" and out["page_100x"].status == "passed"


def test_latency_le_off_a_bucket_boundary_is_caught(tmp_path):
    me, config = _model_env("iris", "prod")
    rule = _mutate(prometheus_rule(me, config), "latency-p95",
                   lambda r: r["expr"].replace('le=~"500(\\\\.0)?"', 'le=~"300(\\\\.0)?"'))
    assert '300' in rule["spec"]["groups"][2]["rules"][0]["expr"] or any(
        "300" in r["expr"] for g in rule["spec"]["groups"] for r in g["rules"])
    out = _run(tmp_path, me, config, rule, "latency-p95", "fast", only={"zero_errors", "page_reset"})
    assert out["zero_errors"].status == "failed" and out["page_reset"].status == "failed"


def test_no_traffic_guard_replaced_by_vector_1_is_caught(tmp_path):
    me, config = _model_env("iris", "prod")
    for slo in ("availability", "latency-p99"):
        rule = _mutate(prometheus_rule(me, config), slo,
                       lambda r: r["expr"].replace(" > 0)", " or vector(1))"))
        out = _run(tmp_path, me, config, rule, slo, "fast", only={"no_traffic", "traffic_stops"})
        assert out["no_traffic"].status == "failed", (slo, out["no_traffic"])
        assert out["traffic_stops"].status == "failed", (slo, out["traffic_stops"])
    # on the latency SLI the wrong guard turns "no traffic" into 100% slow requests (and an alert)
    assert "} 1E+00" in out["no_traffic"].detail and "2 more failed assertions" in out["no_traffic"].detail


def test_page_factor_too_high_misses_the_100x_deadline(tmp_path):
    base, _ = _model_env("iris", "prod")
    diags = Diagnostics()
    config = load_config(str(REPO_ROOT), diags)
    slow_table = table_from_config({
        "page": {"for": "2m", "windows": [{"long": "1h", "short": "5m", "burnRate": 60},
                                          {"long": "6h", "short": "30m", "burnRate": 6}]},
        "ticket": {"for": "15m", "windows": [{"long": "1d", "short": "2h", "burnRate": 3},
                                             {"long": "3d", "short": "6h", "burnRate": 1}]}})
    config = dataclasses.replace(config, burn_rate_alerts=slow_table)
    me, _ = _model_env("iris", "prod", config)
    out = _run(tmp_path, me, config, prometheus_rule(me, config), "availability", "fast",
               only={"page_100x", "zero_errors"})
    assert out["page_100x"].status == "failed", out["page_100x"]
    assert out["zero_errors"].status == "passed"  # only the timing scenarios notice


def test_staging_page_tier_is_routed_to_a_ticket(tmp_path):
    """In staging the page tier fires as `severity: ticket`, `tier: page`; a rule that still says
    `severity: page` fails the firing assertion (the scenarios assert the routed severity)."""
    me, config = _model_env("iris", "staging")
    rule = prometheus_rule(me, config)
    burns = [r for g in rule["spec"]["groups"] for r in g["rules"] if r.get("alert", "").endswith("BudgetBurn")]
    assert {(r["labels"]["tier"], r["labels"]["severity"]) for r in burns} == {("page", "ticket"), ("ticket", "ticket")}
    out = _run(tmp_path, me, config, rule, "availability", "fast", only={"page_20x", "page_100x"})
    assert out["page_20x"].status == "passed" and out["page_100x"].status == "passed"
    for r in burns:
        if r["labels"]["tier"] == "page":
            r["labels"]["severity"] = "page"
    out = _run(tmp_path, me, config, rule, "availability", "fast", only={"page_20x"})
    assert out["page_20x"].status == "failed" and 'severity="page"' in out["page_20x"].detail


def test_blindness_without_the_pods_guard_or_with_the_wrong_job_is_caught(tmp_path):
    me, config = _model_env("iris", "prod")
    unguarded = _mutate(prometheus_rule(me, config), "availability",
                        lambda r: r["expr"].split("\nand on ()")[0] + "\n", alerts_only=True, alert="SloBlind")
    out = _run(tmp_path, me, config, unguarded, "availability", "health", only={"blind_silent_not_running", "blind_never_seen"})
    assert out["blind_silent_not_running"].status == "failed", out["blind_silent_not_running"]
    assert out["blind_never_seen"].status == "passed"
    wrong_job = _mutate(prometheus_rule(me, config), "availability",
                        lambda r: r["expr"].replace('job="ml-prod/iris-mesh"', 'job="istio-mesh"'),
                        alerts_only=True, alert="SloBlind")
    out = _run(tmp_path, me, config, wrong_job, "availability", "health", only={"blind_silent_traffic"})
    assert out["blind_silent_traffic"].status == "failed", out["blind_silent_traffic"]
    slow = _mutate(prometheus_rule(me, config), "availability",
                   lambda r: r["expr"].replace("[30m]", "[1h]"), alerts_only=True, alert="SloBlind")
    out = _run(tmp_path, me, config, slow, "availability", "health", only={"blind_series_lost", "blind_never_seen"})
    assert out["blind_series_lost"].status == "failed" and out["blind_never_seen"].status == "passed"


def test_budget_exhausted_threshold_is_caught(tmp_path):
    me, config = _model_env("sentiment", "prod")
    early = _mutate(prometheus_rule(me, config), "availability", lambda r: r["expr"].replace("<= 0", "<= 0.6"),
                    alerts_only=True, alert="BudgetExhausted")
    out = _run(tmp_path, me, config, early, "availability", "health")
    assert out["exhausted_silent"].status == "failed" and out["exhausted"].status == "failed"
    never = _mutate(prometheus_rule(me, config), "availability", lambda r: r["expr"].replace("<= 0", "<= -100"),
                    alerts_only=True, alert="BudgetExhausted")
    out = _run(tmp_path, me, config, never, "availability", "health")
    assert out["exhausted"].status == "failed" and out["exhausted_silent"].status == "passed"


# (c) ------------------------------------------------------------------------------------------

def test_configurable_table_with_other_severities_passes(tmp_path):
    diags = Diagnostics()
    config = load_config(str(REPO_ROOT), diags)
    table = table_from_config({
        "critical": {"for": "2m", "windows": [{"long": "1h", "short": "5m", "burnRate": 14.4},
                                              {"long": "6h", "short": "30m", "burnRate": 6}]},
        "warning": {"for": "15m", "windows": [{"long": "1d", "short": "2h", "burnRate": 3}]}})
    config = dataclasses.replace(config, burn_rate_alerts=table)
    me, _ = _model_env("sentiment", "prod", config)
    rule = prometheus_rule(me, config)
    suite = build_suite(me, config, rule)
    text = json.dumps(suite.files)
    assert 'severity=\\"critical\\"' in text and 'severity=\\"warning\\"' in text and 'severity=\\"page\\"' not in text
    for kind in ("fast", "long"):
        out = _run(tmp_path, me, config, rule, "availability", kind)
        assert out and all(o.status == "passed" for o in out.values()), out


# (d) ------------------------------------------------------------------------------------------

def test_cli_passes_with_json_report(cli, tmp_path):
    """The CLI's JSON report, and --slo: the operational alerts of churn in staging only (its
    latency SLO's proofs are prod's renamed, proven by test_example_scenarios_pass and
    test_staging_proofs_are_prods_renamed); --keep writes only the files of what ran."""
    require_tool("promtool", HINT)
    result = cli("slo", "test", "--repo", str(REPO_ROOT), "--model", "churn", "--env", "staging",
                 "--slo", "operations", "--format", "json", "--keep", str(tmp_path))
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["errors"] == 0 and report["failed"] == 0 and report["diagnostics"] == []
    assert (report["slos"], report["model_envs"], report["passed"]) == (0, 1, len(report["scenarios"]))
    assert report["passed"] > 0
    first = report["scenarios"][0]
    assert set(first) >= {"model", "env", "slo", "scenario", "status", "summary"}
    assert {(s["model"], s["env"], s["slo"]) for s in report["scenarios"]} == {("churn", "staging", "operations")}
    kept = sorted(p.name for p in (tmp_path / "churn-staging").iterdir())
    assert kept == ["operations.canary.test.yaml", "operations.capacity.test.yaml", "operations.down.test.yaml",
                    "operations.load.test.yaml", "operations.rules.yaml"]
    down = next(s for s in report["scenarios"] if s["scenario"] == "down_not_ready")
    assert (down["alert"], down["fires_after_minutes"]) == ("ChurnDown", 5)


def test_cli_failure_points_at_the_model_file(cli, repo):
    require_tool("promtool", HINT)
    config = (repo / "mlgitops.yaml").read_text()
    (repo / "mlgitops.yaml").write_text(config.replace("  sloSource: istio\n", """  sloSource: istio
  burnRateAlerts:
    page: {for: 2m, windows: [{long: 1h, short: 5m, burnRate: 60}, {long: 6h, short: 30m, burnRate: 8}]}
    ticket: {for: 15m, windows: [{long: 1d, short: 2h, burnRate: 3}, {long: 3d, short: 6h, burnRate: 1}]}
"""))
    result = cli("slo", "test", "--repo", str(repo), "--model", "churn", "--env", "prod", "--slo", "latency-p99")
    assert result.exit_code == 1, result.output
    lines = [line for line in result.stderr.splitlines() if "[slo.scenario-failed]" in line]
    text = (repo / "models/churn.yaml").read_text().splitlines()
    threshold_line = next(i for i, line in enumerate(text, 1) if "threshold: 250ms" in line)
    assert lines and all(line.startswith(f"models/churn.yaml:{threshold_line}:") for line in lines), result.stderr
    assert any("scenario page_100x" in line and "promtool" in line for line in lines)
    assert "Traceback" not in result.output
    assert "failed" in result.stderr.splitlines()[-1]


def test_cli_custom_source_is_skipped_not_passed(cli, repo):
    require_tool("promtool", HINT)
    (repo / "models/shop.yaml").write_text("""apiVersion: mlgitops.dev/v1alpha1
kind: Model
metadata: {name: shop, team: web}
spec:
  framework: sklearn
  storageUri: gs://bucket/shop
  slo:
    availability: 99.9
    source: custom
    custom:
      errorQuery: sum(rate(http_requests_total{job="shop",code=~"5.."}[$window]))
      totalQuery: sum(rate(http_requests_total{job="shop"}[$window]))
""")
    result = cli("slo", "test", "--repo", str(repo), "--model", "shop", "--env", "staging", "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    # the SLO is skipped; the model's operational alerts (no SLI needed) are still proven
    assert report["skipped"] == 1 and report["passed"] > 0
    assert {s["slo"] for s in report["scenarios"] if s["status"] == "passed"} == {"operations"}
    assert report["scenarios"][0]["status"] == "skipped" and "custom source" in report["scenarios"][0]["reason"]
    assert "slo.scenario-skipped" in {d["rule"] for d in report["diagnostics"]}


def test_cli_missing_promtool_exits_2_with_install_hint(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    result = cli("slo", "test", "--repo", str(REPO_ROOT))
    assert result.exit_code == 2
    assert "apt-get install prometheus" in result.stderr and "[usage.promtool-missing]" in result.stderr
    result = cli("slo", "test", "--repo", str(REPO_ROOT), "--promtool", str(tmp_path / "promtool"))
    assert result.exit_code == 2 and "is not an executable" in result.stderr


def test_cli_unknown_model_is_a_usage_error(cli):
    require_tool("promtool", HINT)
    result = cli("slo", "test", "--repo", str(REPO_ROOT), "--model", "nope")
    assert result.exit_code == 2 and "no model 'nope' in models/ (known: churn, fraud, iris, sentiment)" in result.stderr


def test_cli_unknown_slo_is_a_usage_error_before_promtool_runs(cli, tmp_path):
    """An id no selected model environment has: exit 2, naming the ids there are, and nothing run
    (the promtool given here fails every run it is asked for)."""
    failing = tmp_path / "promtool"
    failing.write_text("#!/bin/sh\nexit 1\n")
    failing.chmod(0o755)
    result = cli("slo", "test", "--repo", str(REPO_ROOT), "--model", "churn", "--slo", "latency-p95",
                 "--promtool", str(failing))
    assert result.exit_code == 2, result.output
    assert ("--slo latency-p95: no selected model environment has this SLO "
            "(known: latency-p99, operations) [usage.unknown-slo]") in result.stderr
    assert "Traceback" not in result.output
    # no model at all: nothing is known
    empty = tmp_path / "empty"
    (empty / "models").mkdir(parents=True)
    (empty / "mlgitops.yaml").write_text((REPO_ROOT / "mlgitops.yaml").read_text())
    result = cli("slo", "test", "--repo", str(empty), "--slo", "availability", "--promtool", str(failing))
    assert result.exit_code == 2, result.output
    assert "--slo availability: no selected model environment has this SLO (known: none)" in result.stderr
