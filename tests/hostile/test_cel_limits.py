"""Hostile CEL through the real CLI: an expression or policy over the cost budget is a located
`policy.cost-exceeded` error at the expression, never a hang or gigabytes of memory (issue #12).

Runs `.venv/bin/mlgitops policy check` as a child (timeout as a hang guard), asserts the exact
diagnostic, exit 1, no traceback and the child's peak RSS under 300 MB. Speed: bench/hostile.py."""

from __future__ import annotations

import pathlib
import shutil

import pytest

from conftest import copy_sources
from test_yaml_limits import MAX_RSS_MB, run_measured  # tests/hostile is the test's rootdir-relative dir
from tooling import REPO_ROOT

from hostile_inputs import policy


@pytest.fixture
def site(tmp_path: pathlib.Path) -> pathlib.Path:
    root = copy_sources(tmp_path / "repo", with_output=True)
    shutil.copytree(REPO_ROOT / "policies", root / "policies")
    shutil.rmtree(root / "policies/tests")
    return root


def _object_line(rel: str, kind: str) -> int:
    """The first line of the document of `kind` in a generated file (where findings point)."""
    lines = (REPO_ROOT / rel).read_text().splitlines()
    at = lines.index(f"kind: {kind}")
    return max(i for i in range(at) if lines[i] == "---") + 2


HPA_LINE = _object_line("overlays/prod/iris/model.yaml", "HorizontalPodAutoscaler")
# every HPA of the example's compiled overlays (a cluster's reference-only overlay renders its
# environment's, which is checked once)
HPAS = sum(path.read_text().splitlines().count("kind: HorizontalPodAutoscaler")
           for path in (REPO_ROOT / "overlays").rglob("*.yaml"))


def assert_cost_error(site: pathlib.Path, expected: str) -> str:
    code, out, peak = run_measured(["policy", "check"], site)
    assert "Traceback" not in out, out
    assert expected in out.splitlines(), out
    assert code == 1, out
    assert peak < MAX_RSS_MB, f"peak RSS {peak:.0f} MB"
    return out


def test_megabyte_param_string_times_nested_map_join(site: pathlib.Path):
    # Estimated at the assumed input size (100) it passes: 30 x 30 x 100 characters. With the real
    # 1 MiB string it would build a 900 MiB string.
    (site / "policies/params/big.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\n  namespace: mlgitops-policy\ndata:\n"
        f"  big: {'x' * 2**20}\n")
    numbers = "[" + ", ".join(str(i) for i in range(30)) + "]"
    expression = f"{numbers}.map(i, {numbers}.map(j, params.data.big).join('')).join('').size() > 0"
    (site / "policies/big.yaml").write_text(policy("big", (
        "  validations:\n"
        f"  - expression: \"{expression}\"\n"), params=True))
    out = assert_cost_error(site, (
        "policies/big.yaml:17:17: error: HorizontalPodAutoscaler iris (prod): policy big, validations[0].expression: "
        "the estimated cost of this policy's expressions reaches 471,867,104 here, above the per-policy budget of "
        "10,000,000 (Kubernetes' RuntimeCELCostBudget); the policy was not evaluated "
        f"(object at overlays/prod/iris/model.yaml:{HPA_LINE}) [policy.cost-exceeded]"))
    assert HPAS > 1 and out.count("[policy.cost-exceeded]") == HPAS  # every HPA of the example


def test_a_hundred_validations_of_nine_thousand_iterations(site: pathlib.Path):
    numbers = "[" + ", ".join(str(i) for i in range(95)) + "]"
    validations = "".join(f"  - expression: \"{numbers}.all(i, {numbers}.all(j, i + j >= {k % 3 - 2}))\"\n"
                          for k in range(100))
    (site / "policies/loops.yaml").write_text(policy("loops", "  validations:\n" + validations))
    # each validation is 9,025 iterations (under the 10,000 of one evaluation) and an estimated
    # 100,133 (under the 1,000,000 of one expression); together they cross the per-policy budget
    out = assert_cost_error(site, (
        "policies/loops.yaml:113:17: error: HorizontalPodAutoscaler iris (prod): policy loops, "
        "validations[99].expression: the estimated cost of this policy's expressions reaches 10,013,300 here, above "
        "the per-policy budget of 10,000,000 (Kubernetes' RuntimeCELCostBudget); the policy was not evaluated "
        f"(object at overlays/prod/iris/model.yaml:{HPA_LINE}) [policy.cost-exceeded]"))
    assert out.count("[policy.cost-exceeded]") == HPAS


@pytest.mark.parametrize("expression", [
    "object.spec.items.map(i, params.data.big).join('').size() > 0",
    "object.spec.items.map(i, [params.data.big, params.data.big]).size() > 0",
    "object.spec.items.map(i, object.spec.items.map(j, params.data.big)).size() > 0",
])
def test_sixty_kilobyte_param_string_mapped_over_thousands_of_elements(site: pathlib.Path, expression: str):
    """Every input is below the 64 Ki size at which the estimate is redone with real sizes, so the
    memory budget of an evaluation (cel.MEMORY_HEADROOM, RLIMIT_DATA) is what stops it: evaluated
    unbounded, 4,000 iterations x 60,000 characters build 240 MB to 2 GB."""
    (site / "policies/params/wide.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: wide\n  namespace: mlgitops-policy\ndata:\n"
        f"  big: {'x' * 60_000}\n")
    hpa = site / "overlays/prod/iris/model.yaml"
    text = hpa.read_text()
    assert "kind: HorizontalPodAutoscaler\n" in text
    # the HPA's spec gets a list of 4,000 small numbers
    text = text.replace("spec:\n  scaleTargetRef:", "spec:\n  items: [" + ", ".join("1" for _ in range(4000))
                        + "]\n  scaleTargetRef:", 1)
    hpa.write_text(text)
    (site / "policies/wide.yaml").write_text(policy("wide", (
        "  validations:\n"
        f"  - expression: \"{expression}\"\n"), params=True))
    code, out, peak = run_measured(["policy", "check"], site)
    assert "Traceback" not in out, out
    assert code == 1, out
    assert peak < MAX_RSS_MB, f"peak RSS {peak:.0f} MB"
    found = [line for line in out.splitlines() if "[policy.cost-exceeded]" in line]
    assert found == [
        "policies/wide.yaml:17:17: error: HorizontalPodAutoscaler iris (prod): policy wide, validations[0].expression: "
        "evaluating this expression needed more than the 32 MiB memory budget of an evaluation; it was stopped "
        f"(object at overlays/prod/iris/model.yaml:{HPA_LINE}) [policy.cost-exceeded]"], out


def test_a_policy_test_case_is_held_to_the_same_memory_budget(site: pathlib.Path):
    """`policy test` evaluates the cases a pull request writes: an inline object with a 60,000-character
    string and a 4,000-element list, and a policy joining one over the other."""
    (site / "policies/wide.yaml").write_text(policy("wide", (
        "  validations:\n"
        "  - expression: \"object.spec.items.map(i, object.spec.big).join('').size() > 0\"\n")))
    (site / "policies/tests").mkdir()
    items = ", ".join("1" for _ in range(4000))
    (site / "policies/tests/wide.yaml").write_text(
        "policy: wide\ncases:\n- name: huge\n  expect: pass\n  object:\n"
        "    apiVersion: autoscaling/v2\n    kind: HorizontalPodAutoscaler\n"
        "    metadata: {name: h, namespace: ml-prod}\n"
        f"    spec: {{big: {'x' * 60_000}, items: [{items}]}}\n")
    code, out, peak = run_measured(["policy", "test", "-k", "wide"], site)
    assert "Traceback" not in out, out
    assert code == 1, out
    assert peak < MAX_RSS_MB, f"peak RSS {peak:.0f} MB"
    assert ("policies/tests/wide.yaml:3:9: error: wide: case 'huge': expected pass, got error: "
            "validations[0].expression (policies/wide.yaml:14): evaluating this expression needed more than the "
            "32 MiB memory budget of an evaluation; it was stopped [policy.test-failed]") in out.splitlines(), out
