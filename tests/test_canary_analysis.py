"""The canary AnalysisTemplate measures the canary pods only, proven with the real promtool.

For every example model x environment with an AnalysisTemplate (compiled in memory):
* every metric query, with the Rollout's args substituted, passes `promtool check rules`;
* `promtool test rules` on synthetic canary and stable series: a good canary passes, a bad one
  fails, stable-pod traffic neither leaks into nor dilutes the canary's numbers, too little or no
  traffic gives an empty result (Inconclusive), a duplicate scrape under another job changes
  nothing. Limits and comparison operators are parsed from the generated conditions.
* mutations of the queries (service-wide selection, no hash matcher, no job matcher, no traffic
  guard) make those scenarios fail under promtool, so the scenarios can catch a broken query.
* the `<model>-mesh` PodMonitor passes the upstream CRD schema.
"""

from __future__ import annotations

import re
import subprocess

import pytest
import yaml

from conftest import copy_sources
from tooling import REPO_ROOT, require_tool

from mlgitops.config import load_config
from mlgitops.diagnostics import Diagnostics
from mlgitops.expand.overlay import overlay_files
from mlgitops.domain.sources import KSERVE
from mlgitops.modelfiles import read_model_file, resolve
from mlgitops.spec.model import list_model_files

CANARY, STABLE = "canaryhash1", "stablehash2"
GUARD = "len(result) > 0 && !isNaN(result[0]) && "
EVAL = "10m"
STEPS = 40  # 30s samples: 20 minutes of history


def _compile(root) -> list[tuple]:
    diags = Diagnostics()
    config = load_config(str(root), diags)
    out = []
    for rel in list_model_files(str(root)):
        for me in resolve(read_model_file(str(root), rel, diags), config):
            files = overlay_files(me, config)
            out.append((me, files["model.yaml"], files["monitoring.yaml"]))
    assert not [d for d in diags if d.severity == "error"], diags
    return out


COMPILED = _compile(REPO_ROOT)


def _templates(compiled=COMPILED) -> list[tuple]:
    """(id, model env, AnalysisTemplate, Rollout analysis args) for every template."""
    out = []
    for me, serving, _ in compiled:
        kinds = {o["kind"]: o for o in serving}
        if "AnalysisTemplate" in kinds:
            args = kinds["Rollout"]["spec"]["strategy"]["canary"]["analysis"]["args"]
            out.append((f"{me.name}-{me.env.name}", me, kinds["AnalysisTemplate"], args))
    return out


TEMPLATES = _templates()
METRICS = [(f"{tid}-{m['name']}", me, m, args) for tid, me, t, args in TEMPLATES for m in t["spec"]["metrics"]]


def substitute(query: str, rollout_args: list[dict]) -> str:
    """The query as Argo Rollouts runs it: values from the Rollout, the canary's hash for Latest."""
    values = {}
    for arg in rollout_args:
        if "value" in arg:
            values[arg["name"]] = arg["value"]
        else:
            assert arg["valueFrom"] == {"podTemplateHashValue": "Latest"}, arg
            values[arg["name"]] = CANARY
    out = re.sub(r"\{\{args\.([a-z0-9-]+)\}\}", lambda m: values[m.group(1)], query)
    assert "{{" not in out, out
    return out


def condition(text: str) -> tuple[str, float]:
    """(operator, limit) of a generated condition; both must carry the no-data guard."""
    assert text.startswith(GUARD), text
    m = re.fullmatch(r"result\[0\] (<=|>=|<|>) ([0-9.e+-]+)", text[len(GUARD):])
    assert m, text
    return m.group(1), float(m.group(2))


def promtool(tmp_path, query_tests: list[dict]) -> subprocess.CompletedProcess:
    binary = require_tool("promtool", "make tools (Debian package 'prometheus')")
    (tmp_path / "empty.yaml").write_text("groups: []\n")
    tests = {"rule_files": ["empty.yaml"], "evaluation_interval": "1m", "tests": query_tests}
    (tmp_path / "tests.yaml").write_text(yaml.safe_dump(tests, sort_keys=False))
    return subprocess.run([binary, "test", "rules", "tests.yaml"], cwd=tmp_path, capture_output=True, text=True)


# --- synthetic series ------------------------------------------------------------------------------

def _counter(labels: dict, per_minute: float) -> dict:
    """A counter growing by per_minute, sampled every 30s."""
    name = labels["__name__"]
    body = ",".join(f'{k}="{v}"' for k, v in labels.items() if k != "__name__")
    return {"series": f"{name}{{{body}}}", "values": f"0+{per_minute / 2:g}x{STEPS}"}


def mesh_series(me, pod_hash: str, per_minute: float, error_ratio: float, job: str | None = None) -> list[dict]:
    """istio_requests_total as the pods' sidecars report it (realistic Istio labels, incl. the
    service name that stable and canary pods share), plus the PodMonitor's job and pod hash."""
    labels = {"__name__": "istio_requests_total", "job": job or f"{me.env.namespace}/{me.name}-mesh",
              "namespace": me.env.namespace, "pod": f"{me.name}-predictor-{pod_hash}-abcde",
              "rollouts_pod_template_hash": pod_hash, "reporter": "destination",
              "destination_service_namespace": me.env.namespace,
              "destination_service_name": f"{me.name}-predictor",
              "destination_workload": f"{me.name}-predictor", "destination_canonical_service": me.name}
    out = []
    for code, share in (("200", 1 - error_ratio), ("503", error_ratio)):
        if share > 0:
            out.append(_counter({**labels, "response_code": code}, per_minute * share))
    return out


def predict_series(me, pod_hash: str, per_minute: float, upper: float, job: str | None = None) -> list[dict]:
    """request_predict_seconds with every request in the bucket whose upper bound is `upper`."""
    labels = {"job": job or f"{me.name}-predictor", "namespace": me.env.namespace, "model_name": me.name,
              "pod": f"{me.name}-predictor-{pod_hash}-abcde", "rollouts_pod_template_hash": pod_hash}
    out = []
    for bound in list(KSERVE.buckets) + [float("inf")]:
        le = "+Inf" if bound == float("inf") else KSERVE.le_value(bound)
        out.append(_counter({"__name__": "request_predict_seconds_bucket", **labels, "le": le},
                            per_minute if bound >= upper else 0))
    out.append(_counter({"__name__": "request_predict_seconds_count", **labels}, per_minute))
    return out


# --- scenarios ---------------------------------------------------------------------------------------

def _verdict(query: str, metric: dict, outcome: str) -> list[dict]:
    """PromQL assertions that Argo Rollouts would judge the measurement `outcome`."""
    ok_op, ok_limit = condition(metric["successCondition"])
    bad_op, bad_limit = condition(metric["failureCondition"])
    if outcome == "inconclusive":
        return [{"expr": query, "eval_time": EVAL, "exp_samples": []}]
    passed = outcome == "pass"
    return [{"expr": f"({query}) {ok_op} bool {ok_limit!r}", "eval_time": EVAL,
             "exp_samples": [{"labels": "{}", "value": 1 if passed else 0}]},
            {"expr": f"({query}) {bad_op} bool {bad_limit!r}", "eval_time": EVAL,
             "exp_samples": [{"labels": "{}", "value": 0 if passed else 1}]}]


def _case(name: str, series: list[dict], asserts: list[dict]) -> dict:
    if not series:  # promtool needs some input; an unrelated series stands for "nothing here"
        series = [{"series": 'up{job="other"}', "values": f"1x{STEPS}"}]
    return {"name": name, "interval": "30s", "input_series": series, "promql_expr_test": asserts}


def scenarios(me, metric: dict, query: str) -> dict[str, dict]:
    """Scenario name -> promtool test, for one generated metric and its substituted query."""
    minimum = me.settings["canary"]["analysis"]["minRequests"]
    _, limit = condition(metric["successCondition"])
    rate = max(600.0, 10 * minimum)  # requests per minute: well above the traffic guard
    low = 0.75 * minimum / 2  # per minute: 75% of minRequests in the 2m window
    if metric["name"] == "error-ratio":
        good, bad = limit / 4, min(1.0, 4 * limit)
        assert bad > limit, "a limit of 100% errors cannot be failed"

        def series(h, per_minute, ratio, job=None):
            return mesh_series(me, h, per_minute, ratio, job)
        terrible, healthy = 0.5 if limit < 0.5 else 1.0, 0.0
        value_check = {"expr": f"abs(({query}) - {good!r}) < bool 1e-9", "eval_time": EVAL,
                       "exp_samples": [{"labels": "{}", "value": 1}]}
        other_job = "kubernetes-pods"
    else:
        buckets = sorted(KSERVE.buckets)
        assert limit in buckets and limit != buckets[-1], f"{limit}s must be a finite, not the last, bucket"
        good, bad = limit, buckets[buckets.index(limit) + 1]

        def series(h, per_minute, upper, job=None):
            return predict_series(me, h, per_minute, upper, job)
        terrible, healthy = buckets[-1], buckets[0]
        value_check = None
        other_job = "kubernetes-pods"
    cases = {
        "good canary passes": _case("good canary passes", series(CANARY, rate, good), _verdict(query, metric, "pass")),
        "bad canary fails": _case("bad canary fails", series(CANARY, rate, bad), _verdict(query, metric, "fail")),
        "stable pods do not leak into a good canary": _case(
            "stable pods do not leak into a good canary",
            series(CANARY, rate, good) + series(STABLE, 10 * rate, terrible),
            _verdict(query, metric, "pass") + ([value_check] if value_check else [])),
        "healthy stable traffic does not dilute a bad canary": _case(
            "healthy stable traffic does not dilute a bad canary",
            series(CANARY, rate, bad) + series(STABLE, 10 * rate, healthy), _verdict(query, metric, "fail")),
        "too little canary traffic is inconclusive": _case(
            "too little canary traffic is inconclusive",
            series(CANARY, low, bad) + series(STABLE, 10 * rate, healthy), _verdict(query, metric, "inconclusive")),
        "idle canary pods are inconclusive": _case(
            "idle canary pods are inconclusive",
            series(CANARY, 0, bad) + series(STABLE, 10 * rate, bad), _verdict(query, metric, "inconclusive")),
        "no series at all is inconclusive": _case("no series at all is inconclusive", [],
                                                  _verdict(query, metric, "inconclusive")),
        "a duplicate scrape under another job does not count twice": _case(
            "a duplicate scrape under another job does not count twice",
            series(CANARY, low, bad) + series(CANARY, low, bad, job=other_job),
            _verdict(query, metric, "inconclusive")),
        "a duplicate scrape leaves a good canary passing": _case(
            "a duplicate scrape leaves a good canary passing",
            series(CANARY, rate, good) + series(CANARY, rate, good, job=other_job),
            _verdict(query, metric, "pass") + ([value_check] if value_check else [])),
    }
    return cases


# --- tests -------------------------------------------------------------------------------------------

def test_examples_cover_both_metrics_and_both_routings():
    names = {m["name"] for _, _, m, _ in METRICS}
    assert names == {"error-ratio", "p95-latency"}
    routings = {me.settings["canary"]["trafficRouting"] for _, me, _, _ in TEMPLATES}
    assert routings == {"none", "istio"}


@pytest.mark.parametrize("tid,me,template,args", TEMPLATES, ids=[t[0] for t in TEMPLATES])
def test_every_analysis_query_passes_promtool_check(tid, me, template, args, tmp_path):
    binary = require_tool("promtool", "make tools (Debian package 'prometheus')")
    declared = {a["name"] for a in template["spec"]["args"]}
    assert declared == {a["name"] for a in args}, "the Rollout passes exactly the template's args"
    rules = [{"record": "canary:" + m["name"].replace("-", "_"),
              "expr": substitute(m["provider"]["prometheus"]["query"], args)}
             for m in template["spec"]["metrics"]]
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": [{"name": tid, "rules": rules}]}))
    result = subprocess.run([binary, "check", "rules", "rules.yaml"], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules)} rules found" in result.stdout


def test_promtool_check_rejects_a_broken_query(tmp_path):
    """The check above can fail: an unbalanced parenthesis in a generated query is caught."""
    binary = require_tool("promtool", "make tools (Debian package 'prometheus')")
    _, me, metric, args = METRICS[0]
    broken = substitute(metric["provider"]["prometheus"]["query"], args).replace(")", "", 1)
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": [{"name": "g", "rules": [
        {"record": "canary:broken", "expr": broken}]}]}))
    result = subprocess.run([binary, "check", "rules", "rules.yaml"], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode != 0


@pytest.mark.parametrize("mid,me,metric,args", METRICS, ids=[m[0] for m in METRICS])
def test_canary_scenarios_under_promtool(mid, me, metric, args, tmp_path):
    query = substitute(metric["provider"]["prometheus"]["query"], args)
    cases = scenarios(me, metric, query)
    result = promtool(tmp_path, list(cases.values()))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def _mutants(me, metric: dict, query: str) -> list[tuple[str, str, str]]:
    """(what, mutated query, the scenario that must catch it)."""
    hash_matcher = f',rollouts_pod_template_hash="{CANARY}"'
    out = [("hash matcher removed", query.replace(hash_matcher, ""), "stable pods do not leak into a good canary"),
           ("traffic guard removed", re.sub(r" >= [0-9]+\)", ")", query), "too little canary traffic is inconclusive"),
           ("job matcher removed", re.sub(r'job="[^"]*",', "", query),
            "a duplicate scrape under another job does not count twice")]
    if metric["name"] == "error-ratio":
        # The query before issue #7: the whole predictor Service, stable and canary pods alike.
        sel = (f'reporter="destination",destination_service_namespace="{me.env.namespace}",'
               f'destination_service_name="{me.name}-predictor"')
        old = (f'(sum(rate(istio_requests_total{{{sel},response_code=~"5.."}}[2m])) or vector(0))\n'
               f'/\nsum(rate(istio_requests_total{{{sel}}}[2m]))\n')
        out.append(("service-wide query", old, "stable pods do not leak into a good canary"))
    return out


MUTANTS = [(f"{mid}-{what.replace(' ', '-')}", me, metric, args, what)
           for mid, me, metric, args in [next(m for m in METRICS if m[2]["name"] == kind)
                                         for kind in ("error-ratio", "p95-latency")]
           for what, _, _ in _mutants(me, metric, "")]


@pytest.mark.parametrize("xid,me,metric,args,what", MUTANTS, ids=[m[0] for m in MUTANTS])
def test_a_broken_query_is_caught(xid, me, metric, args, what, tmp_path):
    query = substitute(metric["provider"]["prometheus"]["query"], args)
    ((_, mutated, catcher),) = [m for m in _mutants(me, metric, query) if m[0] == what]
    assert mutated != query, f"mutation '{what}' did not change the query"
    case = scenarios(me, metric, mutated)[catcher]
    result = promtool(tmp_path, [case])
    assert result.returncode != 0, f"'{catcher}' did not catch: {what}\n{result.stdout}"
    assert "FAILED" in result.stdout + result.stderr, result.stdout + result.stderr
    # ...and the same scenario passes with the generated query.
    assert promtool(tmp_path, [scenarios(me, metric, query)[catcher]]).returncode == 0


def _mesh_monitors(compiled=COMPILED) -> list[tuple]:
    return [(me, o) for me, _, watching in compiled for o in watching
            if o["kind"] == "PodMonitor" and o["metadata"]["name"] == f"{me.name}-mesh"]


def test_mesh_pod_monitor_only_where_a_query_reads_the_sidecars():
    """The example declares no platform mesh scrape, so every model whose canary error ratio or
    Istio SLO reads the sidecars gets its own mesh monitor, and no other model does."""
    from mlgitops.domain.sources import MESH_KEPT

    with_ratio = {(me.name, me.env.name) for _, me, m, _ in METRICS if m["name"] == "error-ratio"}
    istio_slo = {(me.name, me.env.name) for me, _, watching in COMPILED
                 if me.model.slo.source == "istio" and any(o["kind"] == "PrometheusRule" for o in watching)}
    assert with_ratio and istio_slo - with_ratio, "the example has both kinds of reader"
    assert {(me.name, me.env.name) for me, _ in _mesh_monitors()} == with_ratio | istio_slo
    for me, monitor in _mesh_monitors():
        assert monitor["spec"]["podTargetLabels"] == ["rollouts-pod-template-hash"]
        (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
        assert endpoint["metricRelabelings"] == [{"sourceLabels": ["__name__"], "regex": "|".join(MESH_KEPT),
                                                  "action": "keep"}]


def test_mesh_pod_monitor_passes_the_crd_schema():
    from schemas import errors_for

    monitors = _mesh_monitors()
    assert monitors
    for _, monitor in monitors:
        assert errors_for(monitor) == [], monitor
    broken = yaml.safe_load(yaml.safe_dump(monitors[0][1]))
    broken["spec"]["podMetricsEndpoints"][0]["metricRelabelings"][0]["action"] = "retain"
    assert errors_for(broken), "the schema check must be able to fail"


def test_min_requests_is_tunable_per_model_and_environment(tmp_path):
    root = copy_sources(tmp_path / "repo")
    path = root / "models" / "sentiment.yaml"
    text = path.read_text()
    assert "\n  canary:\n" in text
    text = text.replace("\n  canary:\n", "\n  canary:\n    analysis:\n      minRequests: 200\n      interval: 2m\n", 1)
    path.write_text(text)
    templates = {me.env.name: t for _, me, t, _ in _templates(_compile(root)) if me.name == "sentiment"}
    for env, template in templates.items():
        for metric in template["spec"]["metrics"]:
            assert ") >= 200)" in metric["provider"]["prometheus"]["query"], env
            assert metric["interval"] == "2m"
