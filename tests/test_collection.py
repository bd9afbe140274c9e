"""Collection is part of the SLO (issue #15): every raw metric a generated query reads is collected
by a monitor generated for the model or by a platform scrape declared in mlgitops.yaml, and the
query selects that scrape's job (compiler/mlgitops/slo/collection.py, checked at every build)."""

from __future__ import annotations

import copy
import pathlib
import sys

import promql_parser
import pytest
import yaml

from conftest import copy_sources
from tooling import REPO_ROOT

from mlgitops.config import load_config
from mlgitops.diagnostics import Diagnostics
from mlgitops.expand.overlay import overlay_files
from mlgitops.modelfiles import read_model_file, resolve
from mlgitops.slo.collection import QueryError, reads, selectors, uncollected
from mlgitops.spec.model import list_model_files


def _model_envs(root: pathlib.Path):
    diags = Diagnostics()
    config = load_config(str(root), diags)
    found = [me for rel in list_model_files(str(root)) for me in resolve(read_model_file(str(root), rel, diags), config)]
    assert not diags.has_errors, [d.format() for d in diags]
    return config, found


def _objects(me, config) -> list[dict]:
    files = overlay_files(me, config)
    return [o for name in ("model.yaml", "monitoring.yaml") for o in files[name]]


def _raw_reads(objects, me) -> list[tuple[str, str]]:
    """(where, metric) of every read of a raw (not recorded, not Prometheus-made) metric."""
    recorded = {r["record"] for o in objects if o["kind"] == "PrometheusRule"
                for g in o["spec"]["groups"] for r in g["rules"] if "record" in r}
    return [(read.where, s.metric) for read in reads(objects, me.model)
            for s in selectors(read.query) if s.metric not in recorded and s.metric not in ("ALERTS",)]


def test_every_metric_the_example_reads_is_collected():
    config, envs = _model_envs(REPO_ROOT)
    total = 0
    for me in envs:
        objects = _objects(me, config)
        assert uncollected(objects, me.model, config) == [], (me.name, me.env.name)
        total += len(_raw_reads(objects, me))
    # Issue #15 counted 208 raw-metric reads in the example's SLO rules, 152 of them uncollected.
    assert total >= 208, total


def test_every_metric_the_bench_corpus_reads_is_collected(tmp_path):
    sys.path.insert(0, str(REPO_ROOT / "bench"))
    try:
        from benchlib import load_build_module
    finally:
        sys.path.pop(0)
    bench = load_build_module()
    bench.create_repo(str(tmp_path), 16, bench.environment_names(3))
    config, envs = _model_envs(tmp_path)
    frameworks = set()
    for me in envs:
        assert uncollected(_objects(me, config), me.model, config) == [], (me.name, me.env.name)
        frameworks.add(me.model.framework)
    assert len(frameworks) >= 4, frameworks  # every kind of bench model was checked


def _iris(config, envs, env="prod"):
    (me,) = [me for me in envs if me.name == "iris" and me.env.name == env]
    return me, _objects(me, config)


def _by_name(objects, name):
    (found,) = [o for o in objects if o["metadata"]["name"] == name]
    return found


def test_a_monitor_that_drops_a_histogram_the_slo_reads_is_caught():
    config, envs = _model_envs(REPO_ROOT)
    me, objects = _iris(config, envs)
    mesh = _by_name(objects, "iris-mesh")
    mesh["spec"]["podMetricsEndpoints"][0]["metricRelabelings"][0]["regex"] = "istio_requests_total"
    findings = uncollected(objects, me.model, config)
    metrics = {f.metric for f in findings}
    assert metrics == {"istio_request_duration_milliseconds_bucket", "istio_request_duration_milliseconds_count"}
    assert all("'ml-prod/iris-mesh' (PodMonitor iris-mesh), which does not collect it" in f.message
               for f in findings), findings[0].message


def test_a_query_of_a_job_nobody_scrapes_is_caught():
    config, envs = _model_envs(REPO_ROOT)
    me, objects = _iris(config, envs)
    objects = [o for o in objects if o["metadata"]["name"] != "iris-mesh"]
    findings = uncollected(objects, me.model, config)
    assert findings and {f.metric for f in findings} >= {"istio_requests_total"}
    assert "which no generated monitor and no platform scrape in mlgitops.yaml has" in findings[0].message


def test_a_raw_read_without_a_job_and_an_unrecorded_rule_name_are_caught():
    config, envs = _model_envs(REPO_ROOT)
    me, objects = _iris(config, envs)
    rule = copy.deepcopy(_by_name(objects, "iris-slo"))
    rule["spec"]["groups"] = [{"name": "x", "rules": [
        {"record": "a", "expr": 'sum(rate(istio_requests_total{reporter="destination"}[5m]))'},
        {"record": "b", "expr": 'mlgitops:nothing:ratio{model="iris"}'},
        {"record": "c", "expr": 'sum(rate({__name__=~"istio_.*",job="ml-prod/iris-mesh"}[5m]))'},
        {"record": "d", "expr": "sum(rate(istio_requests_total{job="},
    ]}]
    findings = uncollected([o for o in objects if o["metadata"]["name"] != "iris-slo"] + [rule], me.model, config)
    messages = [f.message for f in findings]
    assert any("rule a: reads istio_requests_total without `job=" in m for m in messages), messages
    assert any("rule b: reads mlgitops:nothing:ratio, a recording rule's name that no generated rule" in m
               for m in messages), messages
    assert any("rule c: selects series by a regular expression on their name" in m for m in messages), messages
    assert any("rule d: not a valid PromQL query" in m for m in messages), messages


def test_the_selector_cache_gives_what_a_plain_parse_gives():
    """Factoring the model's name and namespace out of the string literals before parsing (so
    models share one parse) changes nothing: every query of the example, compared with a plain
    parse of the same query by Prometheus' grammar."""
    config, envs = _model_envs(REPO_ROOT)
    compared = 0
    for me in envs:
        for read in reads(_objects(me, config), me.model):
            plain = []

            def visit(node, *_):
                if isinstance(node, promql_parser.VectorSelector):
                    ms = tuple((m.name, str(m.op), m.value) for m in node.matchers.matchers)
                    plain.append((node.name or dict((n, v) for n, _, v in ms).get("__name__"),
                                  tuple(sorted((n, v) for n, _, v in ms if n != "__name__"))))
                return True

            promql_parser.walk(promql_parser.parse(read.query), visit)
            cached = selectors(read.query, (me.name, me.env.namespace, f"{me.name}-predictor"))
            assert [(s.metric, tuple(sorted((n, v) for n, _, v in s.matchers))) for s in cached] == plain
            compared += 1
    assert compared > 100


def test_the_dashboard_queries_remembered_at_generation_are_those_of_its_text():
    """The collection check reads a generated dashboard's queries from what the generator
    remembered (expand/dashboard.py targets), not by parsing its JSON back: for every dashboard
    of the example, the same as a parse of the text; a text it did not generate (an equal copy)
    is parsed."""
    import json

    from mlgitops.expand import dashboard

    config, envs = _model_envs(REPO_ROOT)
    compared = 0
    for me in envs:
        for obj in overlay_files(me, config)["monitoring.yaml"]:
            if obj["kind"] != "ConfigMap":
                continue
            (text,) = obj["data"].values()
            parsed = dashboard.panel_targets(json.loads(text))
            assert id(text) in dashboard._TARGETS  # generated here: remembered
            assert dashboard.targets(text) == parsed and len(parsed) >= 5
            copy_of_text = "".join(list(text))
            assert copy_of_text is not text and id(copy_of_text) not in dashboard._TARGETS
            assert dashboard.targets(copy_of_text) == parsed
            compared += 1
    assert compared >= 5, compared


def test_a_tricky_name_survives_the_cache():
    """A model named like part of a label value ("de" in "destination") or of the namespace."""
    query = 'sum(rate(x{job="de/de-mesh",reporter="destination",ns="de"}[5m]))'
    (found,) = selectors(query, ("de", "de", "de-predictor"))
    assert dict((n, v) for n, _, v in found.matchers) == {"job": "de/de-mesh", "reporter": "destination", "ns": "de"}
    with pytest.raises(QueryError):
        selectors("sum(", ("de",))


# --- through the CLI: a build fails on an uncollected metric, at the model's line ----------------

CUSTOM = """\
  slo:
    source: custom
    availability: 99.5
    custom:
      errorQuery: sum(rate(my_errors_total{job="my-gateway",service="scorer"}[$window]))
      totalQuery: sum(rate(my_requests_total{job="my-gateway",service="scorer"}[$window]))
"""


def _custom_repo(root: pathlib.Path) -> pathlib.Path:
    repo = copy_sources(root)
    for other in ("churn", "fraud", "sentiment"):
        (repo / "models" / f"{other}.yaml").unlink()
    text = (repo / "models" / "iris.yaml").read_text()
    # No canary (its gates read the mesh, not the custom queries) and the custom SLO.
    start = text.index("  canary:\n")
    end = text.index("  environments:\n")
    text = text[:start] + "  canary: {enabled: false}\n" + CUSTOM + text[end:]
    (repo / "models" / "iris.yaml").write_text(text)
    return repo


def test_a_custom_query_of_an_undeclared_scrape_fails_the_build_at_the_slo(cli, tmp_path):
    repo = _custom_repo(tmp_path / "repo")
    result = cli("build", "--repo", str(repo))
    assert result.exit_code == 1, result.output
    lines = [l for l in result.output.splitlines() if "[slo.uncollected-metric]" in l]
    assert lines, result.output
    slo_line = (repo / "models" / "iris.yaml").read_text().splitlines().index("  slo:") + 1
    assert all(l.startswith(f"models/iris.yaml:{slo_line}:") for l in lines), lines
    assert any("reads my_errors_total from job 'my-gateway'" in l for l in lines), lines
    assert not (repo / "overlays").exists(), "a failed build writes nothing"


def test_a_declared_platform_scrape_makes_the_custom_query_collected(cli, tmp_path):
    repo = _custom_repo(tmp_path / "repo")
    config = (repo / "mlgitops.yaml").read_text().replace(
        "  runbookURL:", "  scrapes:\n    - job: my-gateway\n      metrics: [my_errors_total, my_requests_total]\n"
                         "  runbookURL:")
    (repo / "mlgitops.yaml").write_text(config)
    result = cli("build", "--repo", str(repo))
    assert result.exit_code == 0, result.output


def test_a_platform_mesh_scrape_replaces_the_model_mesh_monitor_for_the_slo(tmp_path):
    repo = copy_sources(tmp_path / "repo")
    text = (repo / "mlgitops.yaml").read_text().replace(
        "  runbookURL:", "  meshScrape: {job: istio-system/envoy-stats-monitor}\n  runbookURL:")
    (repo / "mlgitops.yaml").write_text(text)
    config, envs = _model_envs(repo)
    me, objects = _iris(config, envs, "staging")  # no canary in staging: nothing else reads the mesh
    assert not [o for o in objects if o["metadata"]["name"] == "iris-mesh"]
    rule = _by_name(objects, "iris-slo")
    exprs = [r["expr"] for g in rule["spec"]["groups"] for r in g["rules"] if "istio_" in r["expr"]]
    assert exprs and all('job="istio-system/envoy-stats-monitor"' in e for e in exprs)
    assert uncollected(objects, me.model, config) == []
    # prod's canary still reads its own monitor (only it keeps the pod-template hash).
    me, objects = _iris(config, envs, "prod")
    assert _by_name(objects, "iris-mesh")
    assert uncollected(objects, me.model, config) == []
    (policy,) = [o for o in objects if o["kind"] == "NetworkPolicy"]  # on by default in prod
    ports = [p["port"] for rule in policy["spec"]["ingress"] for p in rule.get("ports", [])]
    assert 15090 in ports, "the platform scrape reaches the sidecars"


# --- `slo explain` shows the queries, their collection, the gates and the routed severities -------

def _explain(cli, root, *args) -> list[dict]:
    import json

    result = cli("slo", "explain", "iris", "--repo", str(root), "--format", "json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["models"]


def test_explain_shows_each_sli_query_where_its_metrics_are_collected_and_the_gates(cli):
    config, envs = _model_envs(REPO_ROOT)
    for report in _explain(cli, REPO_ROOT):
        me, objects = _iris(config, envs, report["environment"])
        rule = _by_name(objects, "iris-slo")
        recorded = {r["labels"]["slo"]: r["expr"] for g in rule["spec"]["groups"] for r in g["rules"]
                    if r.get("record") == "mlgitops:slo_errors:ratio_rate5m"}
        assert {o["slo"] for o in report["objectives"]} == set(recorded)
        for o in report["objectives"]:
            assert o["query"].replace("$window", "5m") + "\n" == recorded[o["slo"]]  # the rule's own query
            assert o["collection"] and all(c["collected_by"] == "PodMonitor iris-mesh" for c in o["collection"])
            assert {c["job"] for c in o["collection"]} == {f"{me.env.namespace}/iris-mesh"}
        templates = [o for o in objects if o["kind"] == "AnalysisTemplate"]
        expected = [m["name"] for t in templates for m in t["spec"]["metrics"]]
        assert [g["name"] for g in report["canary_gates"]] == expected
        assert bool(expected) == (report["environment"] == "prod")  # staging has no canary


def test_explain_shows_that_staging_sends_pages_as_tickets(cli):
    reports = {r["environment"]: r for r in _explain(cli, REPO_ROOT)}
    sent = {env: {(a["severity"], a["sent_as"]) for o in r["objectives"] for a in o["alerts"]}
            for env, r in reports.items()}
    assert sent["prod"] == {("page", "page"), ("ticket", "ticket")}
    assert sent["staging"] == {("page", "ticket"), ("ticket", "ticket")}


def test_explain_names_the_platform_scrape_when_one_is_declared(cli, tmp_path):
    repo = copy_sources(tmp_path / "repo")
    text = (repo / "mlgitops.yaml").read_text().replace(
        "  runbookURL:", "  meshScrape: {job: istio-system/envoy-stats-monitor}\n  runbookURL:")
    (repo / "mlgitops.yaml").write_text(text)
    for report in _explain(cli, repo):
        for o in report["objectives"]:
            assert {c["collected_by"] for c in o["collection"]} == {"mlgitops.yaml monitoring.meshScrape"}
