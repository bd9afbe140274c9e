"""Every rule unit in the registry (mlgitops.rules FILE_RULES, MODEL_RULES) is triggered by a test.

CASES holds, for each (unit, rule id) pair the registry declares, the smallest model files that
break that rule. The unit alone must report the rule (with the catalogue's severity unless the
case says otherwise) and nothing outside its declared rules; the public check_files /
check_model_env must report it too. A new unit, or a new rule id of a unit, fails
`test_every_registered_rule_has_a_case` until its case is written here. The exact messages and
positions are pinned by tests/test_spec_errors.py and tests/hostile/test_error_quality.py.
"""

from __future__ import annotations

import dataclasses
import pathlib
import shutil
import textwrap

import pytest

from mlgitops import catalogue
from mlgitops.config import load_config
from mlgitops.diagnostics import Diagnostics
from mlgitops.rules import FILE_RULES, MODEL_RULES, Reporter, check_files, check_model_env
from mlgitops.rules.base import FileContext
from mlgitops.modelfiles import read_model_file, resolve
from conftest import merge_config
from tooling import REPO_ROOT


def model(spec: str = "", *, name: str = "m", framework: str = "sklearn", storage: bool = True) -> str:
    """A model file: framework, a storageUri (unless not `storage`), then `spec` (YAML, indented
    under spec:)."""
    head = f"  framework: {framework}\n" + (f"  storageUri: s3://bucket/{name}/\n" if storage else "")
    body = textwrap.indent(textwrap.dedent(spec).strip("\n"), "  ") + "\n" if spec.strip() else ""
    return f"apiVersion: mlgitops.dev/v1alpha1\nkind: Model\nmetadata:\n  name: {name}\n  team: ml\nspec:\n{head}{body}"


@dataclasses.dataclass(frozen=True)
class Case:
    files: dict[str, str]  # models/<file name> -> text
    severity: str | None = None  # None: the catalogue's default
    config: str = ""  # YAML merged into the example mlgitops.yaml (e.g. a `storage:` section)


def one(text: str, severity: str | None = None) -> Case:
    return Case({"m.yaml": text}, severity)


# A storage endpoint with an existing Secret, for the storage rules.
STORAGE = """
storage:
  endpoints:
    minio:
      endpoint: minio.minio.svc:9000
      credentials: {secretName: minio-credentials}
"""

CASES: dict[tuple[str, str], Case] = {
    ("name_mismatch.check", "spec.name-mismatch"): Case({"other.yaml": model()}),
    ("duplicate_model.check", "spec.duplicate-model"): Case({"m.yaml": model(), "n.yaml": model()}),
    ("unknown_environment.check", "spec.unknown-environment"): one(model("environments:\n  prd: {}")),
    ("policy_exceptions.check", "spec.schema"): one(model("""
        policyExceptions:
        - {policy: pdb-required, reason: later, expires: "2026-02-30"}""")),
    ("policy_exceptions.check", "spec.unknown-environment"): one(model("""
        policyExceptions:
        - {policy: pdb-required, reason: later, expires: "2026-02-01", environments: [qa]}""")),
    ("protocol.check", "spec.protocol"): one(model("protocol: v2", framework="tensorflow")),
    ("custom_image.check", "spec.custom-image"): one(model("container: {port: 8080}", framework="custom",
                                                           storage=False)),
    ("storage_uri.check", "spec.storage-uri"): one(model("storageUri: hf://just-a-model", storage=False)),
    ("container_image.check", "spec.container-image"): one(model("transformer:\n  port: 8080")),
    ("replicas.check", "spec.replicas"): one(model("autoscaling: {minReplicas: 5, maxReplicas: 2}")),
    ("resources.check", "spec.resources"): one(model("resources:\n  requests: {cpu: '2'}\n  limits: {cpu: '1'}")),
    ("env.check", "spec.env"): one(model("env:\n- {name: A}")),
    ("env.check", "spec.literal-credential"): one(model("env:\n- {name: API_TOKEN, value: abc}")),
    ("mode.check", "spec.mode"): one(model("serverless: {window: 60s}")),
    ("canary_steps.check", "spec.canary-steps"): one(model("canary:\n  steps: [{weight: 50}, {weight: 40}]")),
    ("canary_replicas.check", "spec.canary-replicas"): one(model("canary:\n  steps: [{weight: 10}]")),
    ("slo_source.check", "spec.slo-source"): one(model("slo: {availability: 99.9, source: kserve}")),
    ("slo_window.check", "spec.slo-window"): one(model("slo: {availability: 99.9, window: 1d}")),
    ("slo_target.check_budget", "spec.slo-target"): one(model("slo: {availability: 90}"), catalogue.WARNING),
    ("slo_target.check_percentiles", "spec.slo-target"): one(model("""
        slo:
          latency: [{percentile: 95, threshold: 500ms}, {percentile: 95, threshold: 1s}]""")),
    ("latency_bucket.check_objectives", "spec.latency-bucket"): one(model("""
        slo:
          latency: [{percentile: 99, threshold: 333ms}]""")),
    ("latency_bucket.check_analysis", "spec.latency-bucket"): one(model("""
        canary:
          analysis: {latencyP95: 333ms}""")),
    ("canary_analysis.check", "spec.canary-analysis"): one(model()),
    ("canary_gate.check", "spec.canary-gate-looser"): one(model("""
        canary:
          analysis: {latencyP95: 500ms}
        slo:
          latency: [{percentile: 99, threshold: 500ms}]""")),
    ("network_egress.check", "spec.network-egress"): one(model("""
        networkPolicy: {enabled: true, egress: {enabled: true}}""")),
    ("credential_value.check", "spec.credential-value"): one(model("env: [{name: S3_USER, value: minioadmin}]")),
    # an endpoint mlgitops.yaml does not define (the example defines minio, minio-eu, s3-staging)
    ("storage_endpoint.check", "spec.storage-endpoint"): one(model("storage: {endpoint: no-such-endpoint}")),
    ("storage_endpoint.check", "spec.storage-service-account"): Case(
        {"m.yaml": model("storage: {endpoint: minio}\nserviceAccount: {name: existing}")}, config=STORAGE),
    ("storage_endpoint.check", "spec.storage-secret"): Case(
        {"m.yaml": model("storage: {endpoint: minio}")}, config=STORAGE),
    ("name_length.check", "spec.name-length"): Case({"m" * 50 + ".yaml": model(name="m" * 50)}),
    ("route_mode.check", "spec.route-mode"): one(model("mode: serverless\nroute: {host: m.example.com}")),
    ("route_host.check", "spec.route-host"): one(model("route: {path: /v1}")),
    # a rate limit an HTTPRoute has no field for (reported whether or not mlgitops.yaml has a gateway)
    ("route_kind.check", "spec.route-kind"): one(model(
        "route: {host: m.example.com, kind: HTTPRoute, rateLimit: {requestsPerSecond: 10}}")),
}


def _units():
    return [(u, r.id) for u in FILE_RULES for r in u.rules] + [(u, r.id) for u in MODEL_RULES for r in u.rules]


def test_every_registered_rule_has_a_case():
    declared = {(u.name, rule_id) for u, rule_id in _units()}
    assert declared == set(CASES), {"without a case": sorted(declared - set(CASES)),
                                    "case of no unit": sorted(set(CASES) - declared)}


def test_registry_rules_are_catalogued_spec_rules():
    for unit, rule_id in _units():
        assert catalogue.RULES[rule_id].family == "spec", (unit.name, rule_id)
    assert len({u.name for u in MODEL_RULES}) == len(MODEL_RULES)
    assert len({u.name for u in FILE_RULES}) == len(FILE_RULES)


def _load(tmp_path: pathlib.Path, case: Case):
    root = tmp_path / "repo"
    (root / "models").mkdir(parents=True)
    shutil.copy(REPO_ROOT / "mlgitops.yaml", root / "mlgitops.yaml")
    if case.config:
        config = root / "mlgitops.yaml"
        config.write_text(merge_config(config.read_text(), case.config), encoding="utf-8")
    for name, text in case.files.items():
        (root / "models" / name).write_text(text, encoding="utf-8")
    diags = Diagnostics()
    config = load_config(str(root), diags)
    files = [read_model_file(str(root), f"models/{name}", diags) for name in sorted(case.files)]
    assert config is not None and not list(diags), [d.format() for d in diags]
    return config, [f for f in files if f is not None]


@pytest.mark.parametrize("unit,rule_id", _units(), ids=lambda v: getattr(v, "name", v))
def test_each_unit_reports_its_rule(tmp_path: pathlib.Path, unit, rule_id: str):
    case = CASES[(unit.name, rule_id)]
    config, files = _load(tmp_path, case)
    alone = Diagnostics()
    if unit in FILE_RULES:
        ctx = FileContext(config, alone, {})
        for f in sorted(files, key=lambda f: (f.name != f.stem, f.path)):
            unit.check(f, ctx)
    else:
        for f in files:
            for me in resolve(f, config):
                unit.check(me, Reporter(me, alone), config)
    found = [d for d in alone if d.rule == rule_id]
    assert found, f"{unit.name} did not report {rule_id}"
    assert {d.severity for d in found} == {case.severity or catalogue.RULES[rule_id].severity}
    assert {d.rule for d in alone} <= {r.id for r in unit.rules}

    everything = Diagnostics()
    check_files(files, config, everything)
    for f in files:
        for me in resolve(f, config):
            check_model_env(me, everything, config)
    assert set(found) <= set(everything)
