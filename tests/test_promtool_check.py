"""Every generated PrometheusRule passes the real `promtool check rules`.

(Behavioural proofs of the burn-rate alerts with `promtool test rules` belong to the SLO work.)
"""

from __future__ import annotations

import subprocess

import pytest
import yaml

from conftest import REPO_ROOT
from tooling import require_tool

RULE_FILES = sorted(REPO_ROOT.glob("overlays/*/*/monitoring.yaml"))


def test_example_repo_has_slo_rules():
    assert len(RULE_FILES) == 8


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.parent.relative_to(REPO_ROOT / "overlays").as_posix())
def test_generated_rules_pass_promtool_check(path, tmp_path):
    promtool = require_tool("promtool", "make tools (Debian package 'prometheus')")
    (rule,) = [d for d in yaml.safe_load_all(path.read_text()) if d["kind"] == "PrometheusRule"]
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    result = subprocess.run([promtool, "check", "rules", str(rules_file)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    count = sum(len(g["rules"]) for g in rule["spec"]["groups"])
    assert f"SUCCESS: {count} rules found" in result.stdout
