"""The canary AnalysisTemplate gates on the SLOs' own SLIs, on the canary pods only, proven with
the real promtool.

For every example model x environment with an AnalysisTemplate (compiled in memory):
* every SLO objective has its gate (availability: error-ratio; each latency objective:
  latency-p<percentile>), reading the same metric with the same filters as the SLO's rule;
* every metric query, with the Rollout's args substituted, passes `promtool check rules`;
* `promtool test rules` on synthetic canary and stable series, for every gate kind (Istio error
  ratio, Istio latency, KServe latency): a good canary passes, a bad one fails, stable-pod traffic
  neither leaks into nor dilutes the canary's numbers, too little or no traffic gives an empty
  result (Inconclusive), a duplicate scrape under another job changes nothing; Istio latency
  counts non-5xx requests only and matches Prometheus 3's bucket spelling. Limits and comparison
  operators are parsed from the generated conditions.
* mutations of the queries (no hash matcher, no job matcher, no traffic guard, no status filter,
  a wrong `le`, the pre-#15 queries) make those scenarios fail under promtool, so the scenarios
  can catch a broken query.
* the `<model>-mesh` PodMonitor passes the upstream CRD schema.
"""

from __future__ import annotations

import math
import re
import subprocess

import pytest
import yaml

from conftest import copy_sources
from tooling import REPO_ROOT, require_tool

from mlgitops.config import load_config
from mlgitops.diagnostics import Diagnostics
from mlgitops.domain.sources import ISTIO
from mlgitops.expand.analysis import gate_source
from mlgitops.expand.overlay import overlay_files
from mlgitops.modelfiles import read_model_file, resolve
from mlgitops.names import slo_rule
from mlgitops.spec.model import list_model_files

CANARY, STABLE = "canaryhash1", "stablehash2"
GUARD = "len(result) > 0 && !isNaN(result[0]) && "
EVAL = "10m"
STEPS = 40  # 30s samples: 20 minutes of history
ERROR_RATIO, ISTIO_LATENCY, KSERVE_LATENCY = "error-ratio", "istio latency", "kserve latency"


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


CONFIG = load_config(str(REPO_ROOT), Diagnostics())
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


def gate_kind(me, metric: dict) -> str:
    if metric["name"] == ERROR_RATIO:
        return ERROR_RATIO
    return ISTIO_LATENCY if gate_source(me.model) is ISTIO else KSERVE_LATENCY


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


def _sidecar_labels(me, pod_hash: str, job: str | None, namespace: str | None = None) -> dict:
    """The labels of the predictor pods' sidecar series (realistic Istio labels, incl. the
    service name that stable and canary pods share), plus the PodMonitor's job and pod hash.
    With a transformer the predictor's canonical service is `<model>-predictor`."""
    ns = namespace or me.env.namespace
    canonical = f"{me.name}-predictor" if "transformer" in me.model.components else me.name
    return {"job": job or f"{ns}/{me.name}-mesh", "namespace": ns, "pod": f"{me.name}-predictor-{pod_hash}-abcde",
            "rollouts_pod_template_hash": pod_hash, "reporter": "destination",
            "destination_service_namespace": ns, "destination_service_name": f"{me.name}-predictor",
            "destination_workload": f"{me.name}-predictor", "destination_workload_namespace": ns,
            "destination_canonical_service": canonical}


def mesh_series(me, pod_hash: str, per_minute: float, error_ratio: float, job: str | None = None,
                namespace: str | None = None) -> list[dict]:
    """istio_requests_total as the pods' sidecars report it."""
    labels = {"__name__": "istio_requests_total", **_sidecar_labels(me, pod_hash, job, namespace)}
    out = []
    for code, share in (("200", 1 - error_ratio), ("503", error_ratio)):
        if share > 0:
            out.append(_counter({**labels, "response_code": code}, per_minute * share))
    return out


def histogram_series(me, threshold: float, pod_hash: str, per_minute: float, slow_share: float,
                     job: str | None = None, namespace: str | None = None, code: str = "200",
                     prometheus3: bool = False) -> list[dict]:
    """The SLO source's latency histogram as the pods export it: every request in the bucket whose
    upper bound is `threshold` (within it), except a `slow_share` in the next bucket up.
    `prometheus3`: the `le` values as Prometheus 3 stores them (`500.0`, not `500`)."""
    source = gate_source(me.model)
    buckets = sorted(CONFIG.buckets(source.name))
    (at,) = [i for i, b in enumerate(buckets) if math.isclose(b, threshold)]
    assert at + 1 < len(buckets), f"{threshold}s must be a finite, not the last, bucket"
    if source is ISTIO:
        labels = {**_sidecar_labels(me, pod_hash, job, namespace), "response_code": code}
    else:
        ns = namespace or me.env.namespace
        labels = {"job": job or f"{me.name}-predictor", "namespace": ns, "model_name": me.name,
                  "pod": f"{me.name}-predictor-{pod_hash}-abcde", "rollouts_pod_template_hash": pod_hash}
    out = []
    for bound in buckets + [math.inf]:
        share = (1 - slow_share) * (bound >= buckets[at]) + slow_share * (bound >= buckets[at + 1])
        le = "+Inf" if bound == math.inf else source.le_value(bound)
        if prometheus3 and re.fullmatch(r"[0-9]+", le):
            le += ".0"
        out.append(_counter({"__name__": f"{source.histogram}_bucket", **labels, "le": le}, per_minute * share))
    out.append(_counter({"__name__": f"{source.histogram}_count", **labels}, per_minute))
    return out


def gate_threshold(me, metric: dict) -> float:
    """The latency (seconds) a latency gate counts requests within."""
    (gate,) = [g for g in me.model.latency_gates() if g.name == metric["name"]]
    return gate.seconds


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
    """Scenario name -> promtool test, for one generated metric and its substituted query.

    Every gate measures a share of bad canary requests (5xx, or slower than the threshold) and
    fails above its limit: `good` is a quarter of the limit, `bad` four times it."""
    minimum = me.settings["canary"]["analysis"]["minRequests"]
    _, limit = condition(metric["successCondition"])
    rate = max(600.0, 10 * minimum)  # requests per minute: well above the traffic guard
    low = 0.75 * minimum / 2  # per minute: 75% of minRequests in the 2m window
    good, bad = limit / 4, min(1.0, 4 * limit)
    assert bad > limit, "a limit of 100% bad requests cannot be failed"
    terrible, healthy = 0.5 if limit < 0.5 else 1.0, 0.0
    kind = gate_kind(me, metric)
    if kind == ERROR_RATIO:
        def series(h, per_minute, share, **kw):
            return mesh_series(me, h, per_minute, share, **kw)
    else:
        threshold = gate_threshold(me, metric)

        def series(h, per_minute, share, **kw):
            return histogram_series(me, threshold, h, per_minute, share, **kw)
    value_check = {"expr": f"abs(({query}) - {good!r}) < bool 1e-9", "eval_time": EVAL,
                   "exp_samples": [{"labels": "{}", "value": 1}]}
    other_job, other_namespace = "kubernetes-pods", "ml-other"
    cases = [
        ("good canary passes", series(CANARY, rate, good), _verdict(query, metric, "pass") + [value_check]),
        ("bad canary fails", series(CANARY, rate, bad), _verdict(query, metric, "fail")),
        ("stable pods do not leak into a good canary",
         series(CANARY, rate, good) + series(STABLE, 10 * rate, terrible), _verdict(query, metric, "pass") + [value_check]),
        ("healthy stable traffic does not dilute a bad canary",
         series(CANARY, rate, bad) + series(STABLE, 10 * rate, healthy), _verdict(query, metric, "fail")),
        ("too little canary traffic is inconclusive",
         series(CANARY, low, bad) + series(STABLE, 10 * rate, healthy), _verdict(query, metric, "inconclusive")),
        ("idle canary pods are inconclusive",
         series(CANARY, 0, bad) + series(STABLE, 10 * rate, bad), _verdict(query, metric, "inconclusive")),
        ("no series at all is inconclusive", [], _verdict(query, metric, "inconclusive")),
        ("a duplicate scrape under another job does not count twice",
         series(CANARY, low, bad) + series(CANARY, low, bad, job=other_job), _verdict(query, metric, "inconclusive")),
        ("a duplicate scrape leaves a good canary passing",
         series(CANARY, rate, good) + series(CANARY, rate, good, job=other_job),
         _verdict(query, metric, "pass") + [value_check]),
        # The same model in another namespace (staging and prod in one cluster) can run the same
        # pod template, so the same hash.
        ("the same model in another namespace is not counted",
         series(CANARY, rate, good) + series(CANARY, 10 * rate, terrible, namespace=other_namespace),
         _verdict(query, metric, "pass") + [value_check]),
    ]
    if kind == ISTIO_LATENCY:
        cases += [
            # The latency SLI counts non-5xx requests only: failing fast must not look fast.
            ("fast errors do not hide slow successes",
             series(CANARY, rate, bad) + series(CANARY, 10 * rate, healthy, code="503"),
             _verdict(query, metric, "fail")),
            ("Prometheus 3 bucket spelling: a good canary passes",
             series(CANARY, rate, good, prometheus3=True), _verdict(query, metric, "pass") + [value_check]),
            ("Prometheus 3 bucket spelling: a bad canary fails",
             series(CANARY, rate, bad, prometheus3=True), _verdict(query, metric, "fail")),
        ]
    return {name: _case(name, s, asserts) for name, s, asserts in cases}


# --- tests -------------------------------------------------------------------------------------------

def test_examples_cover_every_gate_kind_and_both_routings():
    kinds = {gate_kind(me, m) for _, me, m, _ in METRICS}
    assert kinds == {ERROR_RATIO, ISTIO_LATENCY, KSERVE_LATENCY}
    assert {m["name"] for _, _, m, _ in METRICS} == {"error-ratio", "latency-p95", "latency-p99"}
    routings = {me.settings["canary"]["trafficRouting"] for _, me, _, _ in TEMPLATES}
    assert routings == {"none", "istio"}


@pytest.mark.parametrize("tid,me,template,args", TEMPLATES, ids=[t[0] for t in TEMPLATES])
def test_every_slo_objective_has_its_gate(tid, me, template, args):
    """availability -> error-ratio (Istio), each latency objective -> latency-p<percentile>,
    limited to the share of slow requests the objective allows (iris' p99 among them)."""
    slo = me.model.slo
    wanted = (["error-ratio"] if slo.availability is not None and slo.source == "istio" else []) + \
        [o.slo_id for o in sorted(slo.latency, key=lambda o: o.percentile)]
    metrics = template["spec"]["metrics"]
    assert [m["name"] for m in metrics] == wanted
    for objective in slo.latency:
        (metric,) = [m for m in metrics if m["name"] == objective.slo_id]
        assert condition(metric["failureCondition"]) == (">", round(1 - objective.percentile / 100, 10))
        assert condition(metric["successCondition"]) == ("<=", round(1 - objective.percentile / 100, 10))


_SELECTOR = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}")


def selectors(expr: str) -> list[tuple[str, frozenset[str]]]:
    """(metric name, its label matchers) of every selector in a query."""
    return [(name, frozenset(re.split(r",(?=[a-z_]+[=!]~?)", body))) for name, body in _SELECTOR.findall(expr)]


@pytest.mark.parametrize("mid,me,metric,args", METRICS, ids=[m[0] for m in METRICS])
def test_every_gate_reads_the_sli_of_its_slo(mid, me, metric, args):
    """The gate's selectors are the SLO rule's (same metric, job, status filter and `le` spelling)
    plus the canary hash; only the Istio destination identity is left out, which on a predictor
    behind a transformer names `<model>-predictor` (the gates read the canary predictor pods)."""
    (_, _, watching) = next(c for c in COMPILED if c[0] is me)
    (rule,) = [o for o in watching if o["kind"] == "PrometheusRule" and o["metadata"]["name"] == slo_rule(me.name)]
    slo_id = "availability" if metric["name"] == "error-ratio" else metric["name"]
    (sli,) = {r["expr"] for g in rule["spec"]["groups"] for r in g["rules"]
              if r.get("labels", {}).get("slo") == slo_id and r.get("record") == "mlgitops:slo_errors:ratio_rate5m"}
    left_out = {"destination_workload_namespace", "destination_canonical_service"}
    gate = selectors(substitute(metric["provider"]["prometheus"]["query"], args))
    slo = selectors(sli)
    assert len(gate) == len(slo) == 2
    for (gate_name, gate_matchers), (slo_name, slo_matchers) in zip(gate, slo):
        assert gate_name == slo_name
        assert gate_matchers - slo_matchers == {f'rollouts_pod_template_hash="{CANARY}"'}
        assert {m.split("=")[0] for m in slo_matchers - gate_matchers} <= left_out


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
    kind = gate_kind(me, metric)
    out = [("hash matcher removed", query.replace(hash_matcher, ""), "stable pods do not leak into a good canary"),
           ("traffic guard removed", re.sub(r" >= [0-9]+\)", ")", query), "too little canary traffic is inconclusive"),
           ("job matcher removed", re.sub(r'job="[^"]*",', "", query),
            "a duplicate scrape under another job does not count twice")]
    if kind == ERROR_RATIO:
        # The query before issue #7: the whole predictor Service, stable and canary pods alike.
        sel = (f'reporter="destination",destination_service_namespace="{me.env.namespace}",'
               f'destination_service_name="{me.name}-predictor"')
        old = (f'(sum(rate(istio_requests_total{{{sel},response_code=~"5.."}}[2m])) or vector(0))\n'
               f'/\nsum(rate(istio_requests_total{{{sel}}}[2m]))\n')
        out.append(("service-wide query", old, "stable pods do not leak into a good canary"))
        return out
    source = gate_source(me.model)
    threshold = gate_threshold(me, metric)
    buckets = sorted(CONFIG.buckets(source.name))
    above = next(b for b in buckets if b > threshold and not math.isclose(b, threshold))
    out.append(("le of the next bucket", query.replace(source.le(threshold), source.le(above)), "bad canary fails"))
    if kind == ISTIO_LATENCY:
        out += [
            ("status filter removed", query.replace(',response_code!~"5.."', ""), "fast errors do not hide slow successes"),
            ("le in Prometheus 2 spelling only", query.replace(source.le(threshold), f'le="{source.le_value(threshold)}"'),
             "Prometheus 3 bucket spelling: a good canary passes"),
            # The gate before issue #15 read the model server's histogram, not the SLI the SLO reads.
            ("reads the model server's histogram", re.sub(r"istio_request_duration_milliseconds", "request_predict_seconds",
                                             query), "good canary passes"),
        ]
    else:
        out.append(("namespace matcher removed", query.replace(f',namespace="{me.env.namespace}"', ""),
                    "the same model in another namespace is not counted"))
    return out


def _first(kind: str) -> tuple:
    return next(m for m in METRICS if gate_kind(m[1], m[2]) == kind)


MUTANTS = [(f"{mid}-{what.replace(' ', '-')}", me, metric, args, what)
           for mid, me, metric, args in [_first(kind) for kind in (ERROR_RATIO, ISTIO_LATENCY, KSERVE_LATENCY)]
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
    """The example declares no platform mesh scrape, so every model whose canary gates or Istio
    SLO read the sidecars gets its own mesh monitor, and no other model does."""
    from mlgitops.domain.sources import MESH_KEPT

    gated = {(me.name, me.env.name) for _, me, m, _ in METRICS if gate_kind(me, m) != KSERVE_LATENCY}
    istio_slo = {(me.name, me.env.name) for me, _, watching in COMPILED
                 if me.model.slo.source == "istio" and any(o["kind"] == "PrometheusRule" for o in watching)}
    assert gated and istio_slo - gated, "the example has both kinds of reader"
    assert {(me.name, me.env.name) for me, _ in _mesh_monitors()} == gated | istio_slo
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


def _edited(tmp_path, model: str, old: str, new: str) -> dict[str, dict]:
    """The AnalysisTemplates (by environment) of `model` after one edit of its file."""
    root = copy_sources(tmp_path / "repo")
    path = root / "models" / f"{model}.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    return {me.env.name: t for _, me, t, _ in _templates(_compile(root)) if me.name == model}


def _gates(template: dict) -> dict[str, tuple[str, str]]:
    """metric name -> (its failure condition's limit, the `le` matcher of its query)."""
    out = {}
    for metric in template["spec"]["metrics"]:
        le = re.search(r'le=~?"[^"]*"', metric["provider"]["prometheus"]["query"])
        out[metric["name"]] = (metric["failureCondition"][len(GUARD):], le.group(0) if le else "")
    return out


def test_latency_gates_can_be_switched_off_per_environment(tmp_path):
    """`latencyGates: false` in prod: only the error ratio gates there; staging (canary off in
    iris) is unaffected, and the shared setting stays on."""
    templates = _edited(tmp_path, "sentiment", "  environments:\n",
                        "  environments:\n    prod:\n      canary: {analysis: {latencyGates: false}}\n")
    assert list(_gates(templates["prod"])) == ["error-ratio"]
    assert list(_gates(templates["staging"])) == ["error-ratio", "latency-p95"]


def test_latency_p95_is_a_p95_gate_on_the_slo_source_histogram(tmp_path):
    """An explicit latencyP95 replaces the gate of the p95 objective (here stricter), reads the
    same Istio histogram (milliseconds, non-5xx), and the p99 objective keeps its gate."""
    templates = _edited(tmp_path, "iris", "      - weight: 75\n        pause: 5m\n",
                        "      - weight: 75\n        pause: 5m\n    analysis:\n      latencyP95: 250ms\n")
    gates = _gates(templates["prod"])
    assert gates == {"error-ratio": ("result[0] > 0.0144", ""),
                     "latency-p95": ("result[0] > 0.05", 'le=~"250(\\\\.0)?"'),
                     "latency-p99": ("result[0] > 0.01", 'le=~"1000(\\\\.0)?"')}
    query = templates["prod"]["spec"]["metrics"][1]["provider"]["prometheus"]["query"]
    assert "istio_request_duration_milliseconds_bucket{" in query and 'response_code!~"5.."' in query


def test_latency_p95_alone_gates_when_latency_gates_are_off(tmp_path):
    templates = _edited(tmp_path, "churn", "      - weight: 100\n",
                        "      - weight: 100\n    analysis: {latencyP95: 100ms, latencyGates: false}\n")
    assert _gates(templates["prod"]) == {"latency-p95": ("result[0] > 0.05", 'le="0.1"')}
