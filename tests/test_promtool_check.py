"""Every generated PrometheusRule passes the real `promtool check rules`.

Each overlay's monitoring.yaml has two: `<model>-slo` (SLO records and alerts, expand/slo.py) and
`<model>-alerts` (operational alerts, expand/operations.py). Behavioural proofs of both with
`promtool test rules` are in test_slo_scenarios.py and test_operational_alerts.py.
"""

from __future__ import annotations

import subprocess

import pytest
import yaml

from conftest import REPO_ROOT
from mlgitops.layout import parse_overlay
from tooling import require_tool

RULE_FILES = sorted(REPO_ROOT.glob("overlays/*/*/monitoring.yaml"))
# the compiled overlays (a cluster's reference-only overlay, kustomization.yaml alone, has none)
COMPILED = sorted(p.parent for p in REPO_ROOT.glob("overlays/*/*/model.yaml"))


def test_example_repo_has_slo_rules():
    """Every compiled overlay of the example has its rules (each example model has an SLO or a Rollout)."""
    assert COMPILED and [p.parent for p in RULE_FILES] == COMPILED


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.parent.relative_to(REPO_ROOT / "overlays").as_posix())
def test_generated_rules_pass_promtool_check(path, tmp_path):
    promtool = require_tool("promtool", "make tools (Debian package 'prometheus')")
    rules = {d["metadata"]["name"]: d for d in yaml.safe_load_all(path.read_text()) if d["kind"] == "PrometheusRule"}
    model = path.parent.name
    assert set(rules) == {f"{model}-slo", f"{model}-alerts"}
    for name, rule in rules.items():
        rules_file = tmp_path / f"{name}.yaml"
        rules_file.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
        result = subprocess.run([promtool, "check", "rules", str(rules_file)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
        count = sum(len(g["rules"]) for g in rule["spec"]["groups"])
        assert f"SUCCESS: {count} rules found" in result.stdout


def test_every_alert_is_routed_labelled_and_linked():
    """Every generated alert: model, env and a severity routed by the environment (staging never
    pages by default), summary, description and a runbook link; burn-rate alerts carry their tier."""
    severities = {}
    for path in RULE_FILES:
        # overlays/<env>[@<cluster>]/<model>: a cluster's alerts carry the environment's name
        env = parse_overlay(path.relative_to(REPO_ROOT).as_posix()).env
        for doc in yaml.safe_load_all(path.read_text()):
            if doc["kind"] != "PrometheusRule":
                continue
            for group in doc["spec"]["groups"]:
                for rule in group["rules"]:
                    if "alert" not in rule:
                        continue
                    labels, notes = rule["labels"], rule["annotations"]
                    assert labels["model"] == path.parent.name and labels["env"] == env, rule["alert"]
                    assert {"summary", "description"} <= set(notes), rule["alert"]
                    assert notes["runbook_url"] == f"https://runbooks.example.com/mlgitops/{rule['alert']}"
                    if rule["alert"].endswith("BudgetBurn"):
                        assert labels["tier"] in ("page", "ticket")
                    severities.setdefault(env, set()).add(labels["severity"])
    assert severities == {"staging": {"ticket"}, "prod": {"page", "ticket"}}


def test_every_multi_line_expression_reads_as_a_block():
    """A reviewer reads each multi-line query as it is, in a literal block: no line of a generated
    expression ends in a space (YAML then has to write the whole query as one double-quoted,
    escaped string). The burn-rate alerts' `or` between window pairs once did."""
    checked = 0
    for path in RULE_FILES:
        text = path.read_text()
        assert not [line for line in text.splitlines() if line.lstrip().startswith('expr: "')], path
        for doc in yaml.safe_load_all(text):
            if doc["kind"] != "PrometheusRule":
                continue
            for group in doc["spec"]["groups"]:
                for rule in group["rules"]:
                    if "\n" in rule["expr"].rstrip("\n"):
                        assert not [line for line in rule["expr"].split("\n") if line != line.rstrip()], rule
                        checked += 1
    assert checked  # the burn-rate alerts are multi-line
