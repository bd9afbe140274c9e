"""The operational alerts (expand/operations.py, issue #15), proven with the real `promtool test rules`.

(a) every example model environment gets the alerts that apply to it, and each fires at its
exact minute in its firing scenario and stays silent in its silent one; (b) broken expressions
are caught (mutations of the generated rule: the scenarios can fail); (c) what the rules are
made of: routed severities, a `job` on every raw read, a pod regex that picks the model's
predictor pods and nothing else, the stuck-canary wait derived from the canary steps.
"""

from __future__ import annotations

import re

import pytest
import yaml

from conftest import REPO_ROOT
from tooling import require_tool

from mlgitops import names
from mlgitops.config import load_config
from mlgitops.diagnostics import Diagnostics
from mlgitops.expand.operations import alerts_rule
from mlgitops.modelfiles import read_model_file, resolve
from mlgitops.slo.promtool import grade, run_promtool
from mlgitops.slo.scenarios import build_suite, pod_name

HINT = "make tools (Debian package 'prometheus')"
DOWN = {"down_not_ready", "down_pods_gone", "down_silent_monitoring_lost"}
LOAD = {"load_crash_loop", "load_download_fails", "load_silent_normal_start"}
CANARY = {"canary_paused", "canary_aborted", "canary_silent_steps"}
CAPACITY = {"capacity_at_max", "capacity_silent_bursts"}
# Generated only where they apply: scale to zero (fraud staging) has no Down, Serverless (fraud)
# no Rollout, a fixed replica count (iris staging) no HPA.
EXPECTED = {
    ("churn", "staging"): DOWN | LOAD | CANARY | CAPACITY,
    ("churn", "prod"): DOWN | LOAD | CANARY | CAPACITY,
    ("fraud", "staging"): LOAD,
    ("fraud", "prod"): DOWN | LOAD,
    ("iris", "staging"): DOWN | LOAD | CANARY,
    ("iris", "prod"): DOWN | LOAD | CANARY | CAPACITY,
    ("sentiment", "staging"): DOWN | LOAD | CANARY | CAPACITY,
    ("sentiment", "prod"): DOWN | LOAD | CANARY | CAPACITY,
}


def _model_env(model: str, env: str):
    diags = Diagnostics()
    config = load_config(str(REPO_ROOT), diags)
    f = read_model_file(str(REPO_ROOT), f"models/{model}.yaml", diags)
    assert not diags.has_errors, [d.format() for d in diags]
    (me,) = [m for m in resolve(f, config) if m.env.name == env]
    return me, config


def _alerts(rule: dict) -> dict[str, dict]:
    return {r["alert"]: r for g in rule["spec"]["groups"] for r in g["rules"]}


def _run(tmp_path, me, config, rule: dict) -> dict:
    """Outcome per scenario name of the operational alerts of `rule`, graded by promtool."""
    promtool = require_tool("promtool", HINT)
    suite = build_suite(me, config, None, rule)
    for name, doc in suite.files.items():
        (tmp_path / name).write_text(yaml.safe_dump(doc, sort_keys=False, width=1000))
    runs = run_promtool(promtool, [(str(tmp_path), name) for name in suite.test_files])
    outcomes = grade(suite, {name: runs[(str(tmp_path), name)] for name in suite.test_files})
    return {o.scenario.name: o for o in outcomes}


def _mutate(rule: dict, suffix: str, key: str, edit) -> dict:
    for r in _alerts(rule).values():
        if r["alert"].endswith(suffix):
            r[key] = edit(r[key])
    return rule


# (a) ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("model,env", sorted(EXPECTED), ids=[f"{m}-{e}" for m, e in sorted(EXPECTED)])
def test_example_operational_alerts_fire_and_stay_silent(tmp_path, model, env):
    me, config = _model_env(model, env)
    rule = alerts_rule(me, config)
    out = _run(tmp_path, me, config, rule)
    assert set(out) == EXPECTED[(model, env)]
    failed = {name: o.detail for name, o in out.items() if o.status != "passed"}
    assert not failed, failed
    for name, o in out.items():  # a firing scenario fires exactly `for:` after its condition starts
        sc = o.scenario
        assert (sc.fires_after is None) == ("silent" in name), name
        if sc.fires_after is not None:
            assert f"{sc.fires_after}m" == _alerts(rule)[sc.alert]["for"], name


# (b) ------------------------------------------------------------------------------------------

def test_down_mutations_are_caught(tmp_path):
    me, config = _model_env("iris", "prod")
    regex = names.predictor_pod_regex("iris", "standard")
    any_pod = _mutate(alerts_rule(me, config), "Down", "expr", lambda e: e.replace(regex, ".*"))
    out = _run(tmp_path, me, config, any_pod)
    assert out["down_not_ready"].status == "failed"  # the transformer's ready pod hides the outage
    unguarded = _mutate(alerts_rule(me, config), "Down", "expr", lambda e: e.split("\nand on ()")[0] + "\n")
    out = _run(tmp_path, me, config, unguarded)
    assert out["down_silent_monitoring_lost"].status == "failed"  # kube-state-metrics down pages
    assert out["down_not_ready"].status == "passed"
    no_zero = _mutate(alerts_rule(me, config), "Down", "expr", lambda e: e.replace("\n  or on () vector(0)", ""))
    out = _run(tmp_path, me, config, no_zero)
    assert out["down_pods_gone"].status == "failed" and out["down_not_ready"].status == "passed"
    slower = _mutate(alerts_rule(me, config), "Down", "for", lambda _: "10m")
    out = _run(tmp_path, me, config, slower)
    assert out["down_not_ready"].status == "failed" and "expected" in out["down_not_ready"].detail


def test_load_failure_mutations_are_caught(tmp_path):
    me, config = _model_env("sentiment", "prod")
    raw = _mutate(alerts_rule(me, config), "ModelLoadFailing", "expr",
                  lambda e: re.sub(r"max_over_time\(([^\n]*)\[5m\]\)", r"\1", e))
    out = _run(tmp_path, me, config, raw)  # a running spell between back-offs restarts `for:`
    assert out["load_crash_loop"].status == "failed" and out["load_download_fails"].status == "failed"
    any_container = _mutate(alerts_rule(me, config), "ModelLoadFailing", "expr",
                            lambda e: e.replace('container=~"kserve-container"', 'container=~".+"'))
    out = _run(tmp_path, me, config, any_container)
    assert out["load_silent_normal_start"].status == "passed"  # the pod regex alone keeps the transformer out
    any_pod = _mutate(alerts_rule(me, config), "ModelLoadFailing", "expr",
                      lambda e: e.replace(names.predictor_pod_regex("sentiment", "standard"), "sentiment.*"))
    out = _run(tmp_path, me, config, any_pod)
    assert out["load_silent_normal_start"].status == "failed"


def test_canary_and_capacity_mutations_are_caught(tmp_path):
    me, config = _model_env("iris", "prod")
    impatient = _mutate(alerts_rule(me, config), "CanaryStuck", "for", lambda _: "5m")
    out = _run(tmp_path, me, config, impatient)
    assert out["canary_silent_steps"].status == "failed" and out["canary_paused"].status == "failed"
    any_rollout = _mutate(alerts_rule(me, config), "CanaryStuck", "expr", lambda e: e.replace(',name="iris"', ""))
    out = _run(tmp_path, me, config, any_rollout)
    assert out["canary_silent_steps"].status == "failed"  # another Rollout's pause
    strict = _mutate(alerts_rule(me, config), "AtMaxReplicas", "expr", lambda e: e.replace(">=", ">"))
    out = _run(tmp_path, me, config, strict)
    assert out["capacity_at_max"].status == "failed" and out["capacity_silent_bursts"].status == "passed"
    impatient = _mutate(alerts_rule(me, config), "AtMaxReplicas", "for", lambda _: "20m")
    out = _run(tmp_path, me, config, impatient)
    assert out["capacity_silent_bursts"].status == "failed"


# (c) ------------------------------------------------------------------------------------------

def test_severities_are_routed_per_environment():
    for env, down, others in (("staging", "ticket", "ticket"), ("prod", "page", "ticket")):
        me, config = _model_env("iris", env)
        for name, rule in _alerts(alerts_rule(me, config)).items():
            assert rule["labels"] == {"severity": down if name == "IrisDown" else others, "model": "iris", "env": env}
            assert rule["annotations"]["runbook_url"] == f"https://runbooks.example.com/mlgitops/{name}"


def test_every_raw_read_selects_a_job():
    for model, env in EXPECTED:
        me, config = _model_env(model, env)
        for rule in _alerts(alerts_rule(me, config)).values():
            reads = re.findall(r"([a-z_]+)\{([^}]*)\}", rule["expr"])
            assert reads, rule["alert"]
            for metric, matchers in reads:
                job = re.search(r'job="([^"]+)"', matchers)
                assert job and job.group(1) in ("kube-state-metrics", "argo-rollouts-metrics"), (metric, matchers)


def test_pod_regex_picks_the_predictor_pods_only():
    standard = re.compile(names.predictor_pod_regex("iris", "standard"))
    assert standard.fullmatch(pod_name("iris", "standard"))  # the Rollout's ReplicaSet
    assert standard.fullmatch(pod_name("iris", "standard", deployment=True))  # KServe's Deployment
    for other in ("iris-transformer-5d8f7c9b4-x7k2p", "iris-v2-5d8f7c9b4-x7k2p", "iris-v2-predictor-5d8f7c9b4-x7k2p",
                  "iris-predictor-00001-deployment-5d8f7c9b4-x7k2p", "irisx-5d8f7c9b4-x7k2p", "iris-5d8f7c9b4"):
        assert not standard.fullmatch(other), other
    serverless = re.compile(names.predictor_pod_regex("fraud", "serverless"))
    assert serverless.fullmatch(pod_name("fraud", "serverless"))
    for other in ("fraud-5d8f7c9b4-x7k2p", "fraud-transformer-00001-deployment-5d8f7c9b4-x7k2p",
                  "fraud-v2-predictor-00001-deployment-5d8f7c9b4-x7k2p"):
        assert not serverless.fullmatch(other), other


def test_stuck_canary_waits_for_the_longest_step_plus_a_margin():
    waits = {}
    for model, env in (("iris", "prod"), ("iris", "staging"), ("sentiment", "prod"), ("churn", "prod")):
        me, config = _model_env(model, env)
        rule = next(r for r in _alerts(alerts_rule(me, config)).values() if r["alert"].endswith("CanaryStuck"))
        waits[(model, env)] = (rule["for"], "reminder to promote or abort" in rule["annotations"]["description"])
    # iris: pauses 2m/5m/5m and a 4-minute analysis verdict; staging has no canary steps;
    # sentiment: 10m pauses and a manual one; churn: a manual pause and the analysis.
    assert waits == {("iris", "prod"): ("20m", False), ("iris", "staging"): ("15m", False),
                     ("sentiment", "prod"): ("25m", True), ("churn", "prod"): ("19m", True)}


def test_storage_containers_follow_the_storage_uri():
    me, config = _model_env("fraud", "prod")  # oci:// -> modelcar
    expr = next(r for r in _alerts(alerts_rule(me, config)).values() if r["alert"].endswith("LoadFailing"))["expr"]
    assert 'container=~"kserve-container|modelcar"' in expr and 'container=~"modelcar-init"' in expr
    me, config = _model_env("iris", "prod")  # gs:// -> storage-initializer
    expr = next(r for r in _alerts(alerts_rule(me, config)).values() if r["alert"].endswith("LoadFailing"))["expr"]
    assert 'container=~"storage-initializer"' in expr and "modelcar" not in expr
