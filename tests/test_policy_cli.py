"""`mlgitops policy check` and `mlgitops policy test` end to end, on the example repository with
small policy directories written into tmp: findings, formats, summaries and exit codes.
"""

from __future__ import annotations

import json
import re
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from mlgitops.kustomize.engine import render_yaml
from test_policy_engine import LIMITS, MAX_REPLICAS, NAMED, copy_example, example, line_of, policy_doc, write  # noqa: F401

PASSING = policy_doc("named-something", "- expression: object.metadata.name != ''\n  message: needs a name\n")
WARN_ONLY = NAMED.replace("name: named", "name: named-warn") + textwrap.dedent("""\
    ---
    apiVersion: admissionregistration.k8s.io/v1
    kind: ValidatingAdmissionPolicyBinding
    metadata:
      name: named-warn
    spec:
      policyName: named-warn
      validationActions: [Warn]
      matchResources:
        objectSelector:
          matchLabels: {app.kubernetes.io/managed-by: mlgitops}
    """)
SUMMARY = re.compile(r"^(\d+) objects, (\d+) policies, (\d+) evaluations: (\d+) errors, (\d+) warnings, "
                     r"(\d+) waived \(\d+\.\d\ds\)$")


@pytest.fixture
def policies(tmp_path: Path) -> Path:
    return write(tmp_path / "policies", {"named.yaml": NAMED, "max-replicas.yaml": MAX_REPLICAS,
                                         "params/limits.yaml": LIMITS, "passing.yaml": PASSING})


@pytest.fixture
def check(cli, example):
    def run(policies: Path, *args: str):
        return cli("policy", "check", "--repo", str(example), "--policies", str(policies), *args)
    return run


def test_check_text_report_and_summary(check, example, policies):
    result = check(policies)
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    model = example / "models" / "fraud.yaml"
    name_line = line_of(model, "spec:")  # no field-paths annotation: the object, which the model's spec produced
    assert any(line.startswith(f"models/fraud.yaml:{name_line}:") and line.endswith(
        "error: InferenceService fraud (prod): fraud is not allowed [policy.named]") for line in lines), lines
    assert any(f"models/fraud.yaml:{line_of(model, 'maxReplicas:')}:" in line and "[policy.max-replicas]" in line
               for line in lines)
    summary = SUMMARY.match(lines[-1])
    assert summary, lines[-1]
    objects, count, evaluations, errors, warnings, waived = map(int, summary.groups())
    from mlgitops.validate.documents import collect, default_paths

    docs = collect(default_paths(str(example)), str(example)).documents
    services = sum(d.kind == "InferenceService" for d in docs)
    assert (objects, count, evaluations, warnings, waived) == (len(docs), 3, 3 * services, 0, 0)
    assert errors == sum(1 for line in lines if ": error: " in line) and errors >= 3


def test_check_passes_and_quiet(check, example, tmp_path):
    policies = write(tmp_path / "p", {"passing.yaml": PASSING})
    result = check(policies)
    assert result.exit_code == 0 and SUMMARY.match(result.stderr.strip())
    quiet = check(policies, "-q")
    assert quiet.exit_code == 0 and quiet.stderr == ""


def test_warn_binding_reports_a_warning_and_exits_0(check, example, tmp_path):
    policies = write(tmp_path / "p", {"warn.yaml": WARN_ONLY})
    result = check(policies, str(example / "overlays" / "prod"))
    assert result.exit_code == 0
    assert "warning: InferenceService fraud (prod): fraud is not allowed [policy.named-warn]" in result.stderr


def test_check_json_and_sarif_and_github(check, example, policies):
    result = check(policies, "--format", "json", str(example / "overlays" / "prod"))
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["policies"] == 3 and report["waived"] == 0 and report["errors"] == 2
    assert {d["rule"] for d in report["diagnostics"]} == {"policy.named", "policy.max-replicas"}
    sarif = json.loads(check(policies, "--format", "sarif", str(example / "overlays" / "prod")).stdout)
    results = sarif["runs"][0]["results"]
    assert sorted(r["ruleId"] for r in results) == ["policy.max-replicas", "policy.named"]
    github = check(policies, "--format", "github", str(example / "overlays" / "prod")).stdout
    assert f"::error file=models/fraud.yaml,line={line_of(example / 'models' / 'fraud.yaml', 'spec:')},col=1" in github


def test_check_reads_stdin(check, example, policies):
    stream = render_yaml(str(example / "overlays" / "prod" / "fraud"), repo_root=str(example))
    from click.testing import CliRunner

    from mlgitops.cli import main

    result = CliRunner().invoke(main, ["policy", "check", "--repo", str(example), "--policies", str(policies), "-"],
                                input=stream)
    assert result.exit_code == 1
    name_line = next(i for i, line in enumerate(stream.split("\n"), 1)
                     if line == "kind: InferenceService")
    assert re.search(r"^<stdin>:(\d+):1: error: InferenceService fraud \(ml-prod\): fraud is not allowed",
                     result.stderr, re.M)
    first = int(re.search(r"^<stdin>:(\d+):1: error: InferenceService", result.stderr, re.M).group(1))
    assert first <= name_line


def test_usage_and_empty_inputs(check, example, tmp_path, policies, monkeypatch):
    missing = check(tmp_path / "nope")
    assert missing.exit_code == 2 and "no such policy directory" in missing.stderr
    empty_dir = tmp_path / "empty"
    empty_dir.mkdir()
    no_objects = check(policies, str(empty_dir))
    assert no_objects.exit_code == 1 and "[policy.no-objects]" in no_objects.stderr
    no_policies = check(empty_dir)
    assert no_policies.exit_code == 1 and "[policy.no-policies]" in no_policies.stderr
    monkeypatch.setenv("MLGITOPS_TODAY", "someday")
    bad_day = check(policies)
    assert bad_day.exit_code == 2 and "MLGITOPS_TODAY" in bad_day.stderr and "Traceback" not in bad_day.stderr


def test_help_has_examples(cli):
    for command in ("check", "test"):
        result = cli("policy", command, "--help")
        assert result.exit_code == 0 and "Examples:" in result.output and "Exit codes" in result.output


# --- policy test ---------------------------------------------------------------------------------

CASES = textwrap.dedent("""\
    policy: named
    cases:
    - name: iris is fine
      expect: pass
      file: ../../overlays/prod/iris
      select: {kind: InferenceService}
    - name: fraud is rejected
      expect: fail
      message: not allowed
      file: ../../overlays/prod/fraud
      select: {kind: InferenceService, name: fraud}
    - name: other kinds are skipped
      expect: skip
      object: {apiVersion: v1, kind: Service, metadata: {name: fraud}}
    - name: an inline model compiled for prod
      expect: fail
      env: prod
      select: {kind: InferenceService}
      model:
        apiVersion: mlgitops.dev/v1alpha1
        kind: Model
        metadata: {name: fraud, team: risk}
        spec: {framework: sklearn, storageUri: "gs://bucket/fraud"}
    """)


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    """A repository copy (test files name overlays relative to themselves) with one tested policy."""
    root = copy_example(tmp_path / "repo")
    write(root / "policies", {"named.yaml": NAMED, "tests/named.yaml": CASES})
    return root


def run_tests(cli, root: Path, *args: str):
    return cli("policy", "test", "--repo", str(root), *args)


def test_policy_test_all_pass(cli, suite):
    result = run_tests(cli, suite)
    assert result.exit_code == 0, result.stderr
    assert re.fullmatch(r"4 passed in \d+\.\d\ds\n", result.stderr)


def test_policy_test_failing_case(cli, suite):
    tests = suite / "policies" / "tests" / "named.yaml"
    tests.write_text(tests.read_text().replace("message: not allowed", "message: forbidden"))
    result = run_tests(cli, suite)
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    where = f"policies/tests/named.yaml:{line_of(tests, 'name: fraud is rejected')}:"
    assert lines[0].startswith(where) and "[policy.test-failed]" in lines[0] and "'forbidden'" in lines[0]
    assert re.fullmatch(r"3 passed, 1 failed in \d+\.\d\ds", lines[-1])


def test_policy_test_untested_and_unknown_policy(cli, suite):
    write(suite / "policies", {"passing.yaml": PASSING,
                               "tests/ghost.yaml": "policy: ghost\ncases: []\n"})
    result = run_tests(cli, suite)
    assert result.exit_code == 1
    assert "policies/passing.yaml:" in result.stderr and "[policy.untested]" in result.stderr
    assert "expect: pass and no expect: fail" in result.stderr
    assert f"policies/tests/ghost.yaml:1:9: error: no policy named 'ghost'" in result.stderr
    assert result.stderr.splitlines()[-1].startswith("4 passed, 2 errors in ")


def test_policy_test_keyword_and_junit(cli, suite):
    result = run_tests(cli, suite, "-k", "SKIPPED")
    assert result.exit_code == 0 and result.stderr.startswith("1 passed, 3 deselected in ")
    tests = suite / "policies" / "tests" / "named.yaml"
    tests.write_text(tests.read_text().replace("expect: skip", "expect: pass"))
    junit = run_tests(cli, suite, "--format", "junit")
    assert junit.exit_code == 1
    failures = ET.fromstring(junit.stdout).findall(".//failure")
    assert len(failures) == 1 and "other kinds are skipped" in failures[0].get("message", "") + (failures[0].text or "")
