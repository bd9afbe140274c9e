"""`mlgitops schemas import`: upstream CRDs -> kubeconform-layout JSON schemas plus a lock file.

The produced strict schemas are checked against the datree CRDs-catalog schemas in
../shared/schemas (the files kubeconform users download) on this repository's rendered
objects and on mutations of them: both must accept and reject the same documents, except
for the differences listed in KNOWN_DIFFERENCES, which come from the CRDs (../shared/crds)
and the catalog being cut from different upstream releases (or from openapi2jsonschema
quirks) and are asserted, not skipped.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import pathlib
import shutil

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from mlgitops.cli import main
from mlgitops.kustomize.engine import render_objects
from mlgitops.validate.crdimport import LOCK_NAME, convert, import_crds
from objpath import DELETE as _DELETE
from objpath import mutated
from tooling import REPO_ROOT, require_shared

CRD_FILES = [
    "serving.kserve.io_inferenceservices.yaml",
    "argoproj.io_rollouts.yaml",
    "argoproj.io_analysistemplates.yaml",
    "argoproj.io_applications.yaml",
]
SCHEMA_OF = {  # kind -> (group, file name)
    "InferenceService": ("serving.kserve.io", "inferenceservice_v1beta1.json"),
    "Rollout": ("argoproj.io", "rollout_v1alpha1.json"),
    "AnalysisTemplate": ("argoproj.io", "analysistemplate_v1alpha1.json"),
    "Application": ("argoproj.io", "application_v1alpha1.json"),
}


@pytest.fixture(scope="module")
def imported(tmp_path_factory) -> pathlib.Path:
    crds = require_shared("crds")
    out = tmp_path_factory.mktemp("schemas")
    result = import_crds([str(crds / f) for f in CRD_FILES], str(out), repo=str(crds.parent))
    assert not result.diagnostics.has_errors, [d.format() for d in result.diagnostics]
    return out


@functools.lru_cache(maxsize=None)
def _validator(path: str) -> jsonschema.protocols.Validator:
    schema = json.loads(pathlib.Path(path).read_text())
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    return cls(schema)  # no format checker, as tests/schemas.py


def _valid(path: pathlib.Path, obj: dict) -> bool:
    return _validator(str(path)).is_valid(obj)


@functools.lru_cache(maxsize=1)
def _samples() -> dict[str, list[dict]]:
    by_kind: dict[str, list[dict]] = {k: [] for k in SCHEMA_OF}
    for overlay in sorted((REPO_ROOT / "overlays").glob("*/*")):
        for obj in render_objects(str(overlay), repo_root=str(REPO_ROOT)):
            if obj.get("kind") in by_kind:
                by_kind[obj["kind"]].append(obj)
    for doc in yaml.safe_load_all((REPO_ROOT / "argocd" / "root.yaml").read_text()):
        if doc and doc.get("kind") in by_kind:
            by_kind[doc["kind"]].append(doc)
    return by_kind


# (id, kind, path, new value or _DELETE). Paths are applied to the first rendered object of the kind.
MUTATIONS = [
    # InferenceService
    ("isvc-minReplicas-string", "InferenceService", ("spec", "predictor", "minReplicas"), "zero"),
    ("isvc-timeout-string", "InferenceService", ("spec", "predictor", "timeout"), "30s"),
    ("isvc-unknown-spec", "InferenceService", ("spec", "bogus"), 1),
    ("isvc-unknown-predictor", "InferenceService", ("spec", "predictor", "bogus"), 1),
    ("isvc-unknown-model", "InferenceService", ("spec", "predictor", "model", "bogus"), 1),
    ("isvc-unknown-modelFormat", "InferenceService", ("spec", "predictor", "model", "modelFormat", "bogus"), "x"),
    ("isvc-unknown-port", "InferenceService", ("spec", "predictor", "model", "ports", 0, "bogus"), 1),
    ("isvc-missing-modelFormat-name", "InferenceService", ("spec", "predictor", "model", "modelFormat", "name"), _DELETE),
    ("isvc-missing-predictor", "InferenceService", ("spec", "predictor"), _DELETE),
    ("isvc-missing-env-name", "InferenceService", ("spec", "predictor", "model", "env", 0, "name"), _DELETE),
    ("isvc-missing-containerPort", "InferenceService", ("spec", "predictor", "model", "ports", 0, "containerPort"), _DELETE),
    ("isvc-containerPort-string", "InferenceService", ("spec", "predictor", "model", "ports", 0, "containerPort"), "http"),
    ("isvc-bad-logger-mode", "InferenceService", ("spec", "predictor", "logger", "mode"), "sometimes"),
    ("isvc-bad-protocolVersion", "InferenceService", ("spec", "predictor", "model", "protocolVersion"), "v9"),
    ("isvc-bad-whenUnsatisfiable-type", "InferenceService", ("spec", "predictor", "topologySpreadConstraints", 0, "maxSkew"), "one"),
    ("isvc-resources-cpu-int", "InferenceService", ("spec", "predictor", "model", "resources", "limits", "cpu"), 2),
    ("isvc-resources-cpu-list", "InferenceService", ("spec", "predictor", "model", "resources", "limits", "cpu"), [1]),
    ("isvc-labels-int-value", "InferenceService", ("spec", "predictor", "labels", "x"), 5),
    ("isvc-spec-string", "InferenceService", ("spec",), "nope"),
    ("isvc-unknown-root", "InferenceService", ("bogus",), 1),
    # Rollout
    ("rollout-unknown-spec", "Rollout", ("spec", "bogus"), True),
    ("rollout-unknown-canary", "Rollout", ("spec", "strategy", "canary", "bogus"), True),
    ("rollout-unknown-step", "Rollout", ("spec", "strategy", "canary", "steps", 0, "bogus"), 1),
    ("rollout-unknown-workloadRef", "Rollout", ("spec", "workloadRef", "bogus"), "x"),
    ("rollout-setWeight-string", "Rollout", ("spec", "strategy", "canary", "steps", 0, "setWeight"), "fifty"),
    ("rollout-maxSurge-int", "Rollout", ("spec", "strategy", "canary", "maxSurge"), 1),
    ("rollout-maxSurge-bool", "Rollout", ("spec", "strategy", "canary", "maxSurge"), True),
    ("rollout-maxUnavailable-string", "Rollout", ("spec", "strategy", "canary", "maxUnavailable"), "10%"),
    ("rollout-revisionHistoryLimit-string", "Rollout", ("spec", "revisionHistoryLimit"), "3"),
    ("rollout-progressDeadlineAbort-string", "Rollout", ("spec", "progressDeadlineAbort"), "yes"),
    ("rollout-bad-scaleDown", "Rollout", ("spec", "workloadRef", "scaleDown"), "sometimes"),
    ("rollout-missing-templateName", "Rollout", ("spec", "strategy", "canary", "analysis", "templates", 0, "templateName"), _DELETE),
    ("rollout-missing-arg-name", "Rollout", ("spec", "strategy", "canary", "analysis", "args", 0, "name"), _DELETE),
    ("rollout-bad-podTemplateHashValue", "Rollout", ("spec", "strategy", "canary", "analysis", "args", 1, "valueFrom", "podTemplateHashValue"), "Oldest"),
    ("rollout-pause-duration-bool", "Rollout", ("spec", "strategy", "canary", "steps", 1, "pause", "duration"), True),
    ("rollout-pause-duration-int", "Rollout", ("spec", "strategy", "canary", "steps", 1, "pause", "duration"), 30),
    ("rollout-selector-string", "Rollout", ("spec", "selector"), "app=x"),
    ("rollout-missing-selector", "Rollout", ("spec", "selector"), _DELETE),
    ("rollout-rollbackWindow-unknown", "Rollout", ("spec", "rollbackWindow", "bogus"), 1),
    # AnalysisTemplate
    ("at-unknown-spec", "AnalysisTemplate", ("spec", "bogus"), 1),
    ("at-unknown-metric", "AnalysisTemplate", ("spec", "metrics", 0, "bogus"), 1),
    ("at-unknown-prometheus", "AnalysisTemplate", ("spec", "metrics", 0, "provider", "prometheus", "bogus"), 1),
    ("at-missing-metric-name", "AnalysisTemplate", ("spec", "metrics", 0, "name"), _DELETE),
    ("at-missing-provider", "AnalysisTemplate", ("spec", "metrics", 0, "provider"), _DELETE),
    ("at-missing-metrics", "AnalysisTemplate", ("spec", "metrics"), _DELETE),
    ("at-missing-arg-name", "AnalysisTemplate", ("spec", "args", 0, "name"), _DELETE),
    ("at-failureLimit-string-pct", "AnalysisTemplate", ("spec", "metrics", 0, "failureLimit"), "10%"),
    ("at-failureLimit-bool", "AnalysisTemplate", ("spec", "metrics", 0, "failureLimit"), True),
    ("at-interval-int", "AnalysisTemplate", ("spec", "metrics", 0, "interval"), 60),
    ("at-timeout-string", "AnalysisTemplate", ("spec", "metrics", 0, "provider", "prometheus", "timeout"), "30s"),
    ("at-metrics-object", "AnalysisTemplate", ("spec", "metrics"), {"name": "x"}),
    # Application
    ("app-unknown-spec", "Application", ("spec", "bogus"), 1),
    ("app-unknown-source", "Application", ("spec", "source", "bogus"), 1),
    ("app-unknown-automated", "Application", ("spec", "syncPolicy", "automated", "bogus"), 1),
    ("app-missing-destination", "Application", ("spec", "destination"), _DELETE),
    ("app-missing-repoURL", "Application", ("spec", "source", "repoURL"), _DELETE),
    ("app-missing-project", "Application", ("spec", "project"), _DELETE),
    ("app-prune-string", "Application", ("spec", "syncPolicy", "automated", "prune"), "true"),
    ("app-selfHeal-int", "Application", ("spec", "syncPolicy", "automated", "selfHeal"), 1),
    ("app-syncOptions-string", "Application", ("spec", "syncPolicy", "syncOptions"), "CreateNamespace=true"),
    ("app-retry-limit-string", "Application", ("spec", "syncPolicy", "retry", "limit"), "five"),
    ("app-directory-recurse-string", "Application", ("spec", "source", "directory", "recurse"), "yes"),
    ("app-missing-spec", "Application", ("spec",), _DELETE),
    # Fields that exist only in the newer upstream CRDs (see KNOWN_DIFFERENCES).
    ("isvc-spec-canary", "InferenceService", ("spec", "canary"), []),
    ("rollout-status-duration", "Rollout", ("status", "duration"), {"rolloutStartedAt": "2026-11-02T00:00:00Z"}),
    ("at-prometheus-basicAuth", "AnalysisTemplate", ("spec", "metrics", 0, "provider", "prometheus", "authentication"),
     {"basicAuth": {"username": "u", "password": "p"}}),
    ("at-datadog-requestTimeout", "AnalysisTemplate", ("spec", "metrics", 0, "provider", "datadog"),
     {"query": "avg:x", "requestTimeout": "10s"}),
    ("app-directory-disableExtensionFilter", "Application", ("spec", "source", "directory", "disableExtensionFilter"), True),
]

# Mutation id -> (strict import from ../shared/crds valid?, catalog valid?) where they disagree.
# The CRDs are KServe aaac4e294dae (2026-08-21), Argo Rollouts 9f8d111d8f8e (2026-08-17) and
# Argo CD 37ee0097cf85 (2026-08-22); the catalog's KServe and Argo Rollouts schemas are older
# (catalog commit 15e9b727, 2026-04-19 for Argo Rollouts), so fields added upstream since are
# unknown to the catalog's strict schemas. No mutation is rejected by the imported schemas and
# accepted by the catalog: the catalog has no property that the CRDs lack.
KNOWN_DIFFERENCES: dict[str, tuple[bool, bool]] = {
    "isvc-spec-canary": (True, False),  # InferenceService spec.canary (new in KServe CRD)
    "rollout-status-duration": (True, False),  # Rollout status.duration
    "at-prometheus-basicAuth": (True, False),  # AnalysisTemplate prometheus.authentication.basicAuth
    "at-datadog-requestTimeout": (True, False),  # AnalysisTemplate datadog.requestTimeout
    "app-directory-disableExtensionFilter": (True, False),  # Application source.directory.disableExtensionFilter
}


def _verdicts(imported: pathlib.Path, kind: str, obj: dict) -> tuple[bool, bool]:
    group, name = SCHEMA_OF[kind]
    catalog = require_shared("schemas") / group / name
    return _valid(imported / f"{group}-strict" / name, obj), _valid(catalog, obj)


def test_every_kind_has_rendered_samples():
    samples = _samples()
    assert all(samples[k] for k in SCHEMA_OF), {k: len(v) for k, v in samples.items()}


def test_rendered_objects_valid_under_both(imported):
    for kind, objs in _samples().items():
        for obj in objs:
            group, name = SCHEMA_OF[kind]
            assert _verdicts(imported, kind, obj) == (True, True), (kind, obj["metadata"]["name"])
            assert _valid(imported / group / name, obj)


@pytest.mark.parametrize("mid,kind,path,value", MUTATIONS, ids=[m[0] for m in MUTATIONS])
def test_mutation_same_verdict_as_catalog(imported, mid, kind, path, value):
    obj = mutated(_samples()[kind][0], path, value, create=True)
    ours, catalog = _verdicts(imported, kind, obj)
    if mid in KNOWN_DIFFERENCES:
        assert (ours, catalog) == KNOWN_DIFFERENCES[mid], "documented difference changed"
    else:
        assert ours == catalog, f"{mid}: imported strict schema says {ours}, catalog says {catalog}"


def test_mutation_count():
    assert len(MUTATIONS) >= 40
    assert set(KNOWN_DIFFERENCES) <= {m[0] for m in MUTATIONS}


def test_import_is_deterministic(imported, tmp_path):
    crds = require_shared("crds")
    files = [str(crds / f) for f in CRD_FILES]
    # the module's import (`imported`, the same call) and a second one, in this process
    out = tmp_path / "b"
    assert not import_crds(files, str(out), repo=str(crds.parent)).diagnostics.has_errors
    runs = [{p.relative_to(d).as_posix(): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}
            for d in (imported, out)]
    assert runs[0] == runs[1]
    assert set(runs[0]) == {LOCK_NAME} | {f"{g}{s}/{n}" for g, n in SCHEMA_OF.values() for s in ("", "-strict")}
    # A second import into the same directory changes nothing.
    again = import_crds(files, str(out), repo=str(crds.parent))
    assert again.written == []
    for data in runs[0].values():
        assert data.endswith(b"\n") and not data.endswith(b"\n\n")


def test_lock_matches_files(imported):
    lock = json.loads((imported / LOCK_NAME).read_text())
    entries = lock["schemas"]
    assert [e["path"] for e in entries] == sorted(e["path"] for e in entries)
    assert len(entries) == 2 * len(SCHEMA_OF)
    for e in entries:
        assert hashlib.sha256((imported / e["path"]).read_bytes()).hexdigest() == e["sha256"]
        assert e["source"].startswith("crds/") and e["source"][len("crds/"):] in CRD_FILES
        assert e["crd"].endswith("." + e["group"]) and e["version"] in e["path"]
    isvc = [e for e in entries if e["path"] == "serving.kserve.io/inferenceservice_v1beta1.json"]
    assert isvc == [{"crd": "inferenceservices.serving.kserve.io", "group": "serving.kserve.io",
                     "kind": "InferenceService", "path": "serving.kserve.io/inferenceservice_v1beta1.json",
                     "sha256": isvc[0]["sha256"], "source": "crds/serving.kserve.io_inferenceservices.yaml",
                     "strict": False, "version": "v1beta1"}]


def test_strict_rejects_unknown_field_non_strict_accepts(imported):
    for kind, (group, name) in SCHEMA_OF.items():
        obj = mutated(_samples()[kind][0], ("spec", "notAField"), 1, create=True)
        assert _valid(imported / group / name, obj), kind
        assert not _valid(imported / f"{group}-strict" / name, obj), kind
        # The root stays open in both, as openapi2jsonschema does without DENY_ROOT_ADDITIONAL_PROPERTIES.
        assert "additionalProperties" not in json.loads((imported / f"{group}-strict" / name).read_text())


def test_convert_rules():
    schema = {
        "type": "object",
        "properties": {
            "port": {"x-kubernetes-int-or-string": True, "anyOf": [{"type": "integer"}, {"type": "string"}]},
            "legacy": {"type": "string", "format": "int-or-string"},
            "maybe": {"type": "string", "nullable": True},
            "open": {"type": "object", "x-kubernetes-preserve-unknown-fields": True,
                     "properties": {"a": {"type": "string"}}},
            "map": {"type": "object", "additionalProperties": {"type": "string"}, "properties": {}},
            "nested": {"type": "object", "properties": {"b": {"type": "integer"}}},
        },
    }
    strict = convert(schema, strict=True)
    loose = convert(schema, strict=False)
    p = strict["properties"]
    assert p["port"] == {"oneOf": [{"type": "string"}, {"type": "integer"}]}
    assert p["legacy"] == {"oneOf": [{"type": "string"}, {"type": "integer"}]}
    assert p["maybe"]["type"] == ["string", "null"]
    assert "additionalProperties" not in p["open"]
    assert p["map"]["additionalProperties"] == {"type": "string"}
    assert p["nested"]["additionalProperties"] is False
    assert "additionalProperties" not in strict  # root
    assert "additionalProperties" not in loose["properties"]["nested"]
    v = jsonschema.Draft7Validator(strict)
    assert v.is_valid({"port": 80, "legacy": "80%", "maybe": None, "open": {"zz": 1}})
    assert not v.is_valid({"nested": {"c": 1}})
    assert not v.is_valid({"port": 1.5})
    assert schema["properties"]["nested"] == {"type": "object", "properties": {"b": {"type": "integer"}}}  # input untouched


def _cli(args):
    return CliRunner().invoke(main, args)


def test_cli_import_writes_schemas(tmp_path):
    crds = require_shared("crds")
    result = _cli(["schemas", "import", str(crds / "argoproj.io_rollouts.yaml"),
                   "--repo", str(tmp_path), "--output-dir", "out"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "argoproj.io" / "rollout_v1alpha1.json").is_file()
    assert (tmp_path / "out" / "argoproj.io-strict" / "rollout_v1alpha1.json").is_file()
    lock = json.loads((tmp_path / "out" / LOCK_NAME).read_text())
    assert [e["path"] for e in lock["schemas"]] == ["argoproj.io-strict/rollout_v1alpha1.json",
                                                    "argoproj.io/rollout_v1alpha1.json"]


def test_cli_error_not_a_crd(tmp_path):
    bad = tmp_path / "deploy.yaml"
    bad.write_text("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\n")
    result = _cli(["schemas", "import", str(bad), "--repo", str(tmp_path)])
    assert result.exit_code == 1
    assert f"{bad}:2:7: error: expected kind CustomResourceDefinition, found 'Deployment' [crd.not-a-crd]" \
        in result.output
    assert not (tmp_path / "schemas").exists()


def test_cli_error_yaml_syntax(tmp_path):
    bad = tmp_path / "broken.yaml"
    bad.write_text("apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nspec:\n  group: [a\n")
    result = _cli(["schemas", "import", str(bad), "--repo", str(tmp_path)])
    assert result.exit_code == 1
    line = [x for x in result.output.splitlines() if "[yaml.syntax]" in x]
    assert len(line) == 1 and line[0].startswith(f"{bad}:5:1: error: YAML syntax error:"), result.output


def test_cli_error_unreadable_and_no_schema(tmp_path):
    missing = tmp_path / "nope.yaml"
    crd = tmp_path / "crd.yaml"
    crd.write_text("apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
                   "metadata:\n  name: things.example.com\nspec:\n  group: example.com\n"
                   "  names:\n    kind: Thing\n  versions:\n  - name: v1\n    served: true\n")
    result = _cli(["schemas", "import", str(missing), str(crd), "--repo", str(tmp_path)])
    assert result.exit_code == 1
    assert f"{missing}: error: cannot read file:" in result.output and "[crd.read]" in result.output
    assert f"{crd}:10:5: error: served version 'v1' has no schema.openAPIV3Schema [crd.no-schema]" in result.output


def test_cli_usage(tmp_path):
    assert _cli(["schemas", "import"]).exit_code == 2
    assert _cli(["schemas", "import", "x.yaml", "--repo", str(tmp_path / "missing")]).exit_code == 2
    help_text = _cli(["schemas", "import", "--help"])
    assert help_text.exit_code == 0 and "--output-dir" in help_text.output and "-strict" in help_text.output


def test_real_kubeconform_uses_the_layout(imported, tmp_path):
    import subprocess

    from tooling import require_tool

    kubeconform = require_tool("kubeconform", "make tools")
    isvc = copy.deepcopy(_samples()["InferenceService"][0])
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(yaml.safe_dump(isvc))
    bad.write_text(yaml.safe_dump(mutated(isvc, ("spec", "predictor", "bogus"), 1)))
    location = f"{imported}/{{{{ .Group }}}}{{{{ .StrictSuffix }}}}/{{{{ .ResourceKind }}}}_{{{{ .ResourceAPIVersion }}}}.json"

    def run(*args):
        return subprocess.run([kubeconform, "-schema-location", location, *args], capture_output=True, text=True)

    assert run("-strict", str(good)).returncode == 0
    assert run(str(bad)).returncode == 0
    strict = run("-strict", str(bad))
    assert strict.returncode == 1 and "bogus" in strict.stdout + strict.stderr
