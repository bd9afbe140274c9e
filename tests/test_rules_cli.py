"""`mlgitops rules`: the catalogue's listing on the command line (text table and --format json).

The command itself lives in cli.py and prints catalogue.listing(fmt); these tests run it the way a
user does (CliRunner, and the installed console script)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from mlgitops import catalogue



def test_rules_lists_every_rule_with_severity_and_description(cli):
    result = cli("rules")
    assert result.exit_code == 0, result.output
    assert result.stdout == catalogue.listing("text")
    assert "spec.canary-replicas" in result.stdout and "policy.<name>" in result.stdout


def test_rules_json_is_the_catalogue(cli):
    result = cli("rules", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {d["id"] for d in data} == set(catalogue.RULES)
    assert next(d for d in data if d["id"] == "spec.canary-analysis")["severity"] == "warning"


def test_rules_from_the_console_script():
    script = os.path.join(os.path.dirname(sys.executable), "mlgitops")
    done = subprocess.run([script, "rules"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == catalogue.listing("text")
