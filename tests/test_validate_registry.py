"""Schema locations and the registry, checked against the real kubeconform binary.

Template expansion is proved by placing a marker schema at the path mlgitops expands and
watching kubeconform find exactly that file; the Kubernetes core schemas materialised from
kubernetes-validate are checked with jsonschema-rs and with kubeconform on the same objects;
HTTP locations are served by a real local http.server.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.server
import json
import pathlib
import subprocess
import threading

import jsonschema_rs
import pytest
import yaml

from mlgitops.kustomize.engine import render_objects
from mlgitops.validate import k8sschemas
from mlgitops.validate.crdimport import import_crds
from mlgitops.validate.locations import DEFAULT_SUFFIX, expand, full_template, parse_locations
from mlgitops.validate.registry import SchemaError, SchemaRegistry
from objpath import DELETE, mutated
from tooling import REPO_ROOT, require_shared, require_tool

KUBECONFORM_HINT = "make tools (go install github.com/yannh/kubeconform/cmd/kubeconform@v0.7.0)"
GVKS = [
    ("v1", "Service"),
    ("apps/v1", "Deployment"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("rbac.authorization.k8s.io/v1", "ClusterRole"),
    ("serving.kserve.io/v1beta1", "InferenceService"),
    ("Example.COM/V1Beta1", "MixedCase"),
]
TEMPLATES = [
    "{{ .NormalizedKubernetesVersion }}/{{ .Group }}{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}"
    "_{{ .ResourceAPIVersion }}.json",
    "{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}{{.StrictSuffix}}.json",
    "{{  .ResourceKind}}/{{ .KindSuffix  }}-{{.NormalizedKubernetesVersion }}.json",
    "plain-dir",  # no template: kubeconform's default path is appended
]


def kubeconform() -> str:
    return require_tool("kubeconform", KUBECONFORM_HINT)


def run_kubeconform(locations: list[str], docs: list[dict], tmp: pathlib.Path, *, strict: bool,
                    version: str | None = None, cache: str | None = None) -> list[dict]:
    """kubeconform's JSON result per document, in input order."""
    stream = tmp / "input.yaml"
    stream.write_text(yaml.safe_dump_all(docs, sort_keys=True))
    cmd = [kubeconform(), "-output", "json", "-summary", "-verbose", "-n", "1"]
    cmd += ["-strict"] if strict else []
    cmd += ["-kubernetes-version", version] if version else []
    cmd += ["-cache", cache] if cache else []
    for location in locations:
        cmd += ["-schema-location", location]
    proc = subprocess.run(cmd + [str(stream)], capture_output=True, text=True, timeout=120)
    resources = json.loads(proc.stdout)["resources"]
    assert len(resources) == len(docs), proc.stdout
    return resources


def obj(api_version: str, kind: str, **extra) -> dict:
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": kind.lower()}, **extra}


# --- template expansion ---------------------------------------------------------------------------

def test_expand_variables():
    data = {"api": "autoscaling/v2", "kind": "HorizontalPodAutoscaler"}
    assert expand("{{ .Group }}|{{ .ResourceKind }}|{{ .ResourceAPIVersion }}|{{ .KindSuffix }}|"
                  "{{ .NormalizedKubernetesVersion }}|{{ .StrictSuffix }}.json",
                  data["api"], data["kind"], "1.33.0", True) == \
        "autoscaling|horizontalpodautoscaler|v2|-autoscaling-v2|v1.33.0|-strict.json"
    assert expand("{{.Group}}{{.StrictSuffix}}_{{.KindSuffix}}_{{.NormalizedKubernetesVersion}}",
                  "v1", "Service", "master", False) == "v1_-v1_master"
    assert expand("{{ .KindSuffix }}", "rbac.authorization.k8s.io/v1", "Role", "master", False) == "-rbac-v1"
    assert full_template("/x/schemas") == "/x/schemas" + DEFAULT_SUFFIX
    assert full_template("/x/{{ .Group }}.json") == "/x/{{ .Group }}.json"
    assert full_template("/x/schemasjson") == "/x/schemasjson"  # kubeconform only checks the suffix "json"


@pytest.mark.parametrize("strict", [True, False])
@pytest.mark.parametrize("version", ["1.33.0", "master"])
@pytest.mark.parametrize("template", TEMPLATES)
def test_kubeconform_reads_the_path_we_expand(tmp_path, template, version, strict):
    root = tmp_path / "loc"
    location = f"{root}/{template}"
    docs = []
    for i, (api_version, kind) in enumerate(GVKS):
        path = pathlib.Path(expand(full_template(location), api_version, kind, version, strict))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"type": "object", "required": [f"marker{i}"]}))
        docs.append(obj(api_version, kind))
    docs.append(obj("apps/v1", "NoSuchKind"))
    results = run_kubeconform([location], docs, tmp_path, strict=strict,
                              version=None if version == "master" else version)
    for i, result in enumerate(results[:-1]):
        assert result["status"] == "statusInvalid" and f"marker{i}" in result["msg"], (GVKS[i], result)
    assert results[-1]["status"] == "statusError" and "could not find schema" in results[-1]["msg"]
    registry = SchemaRegistry([location], repo_root=str(tmp_path), kubernetes_version=version, strict=strict)
    for i, (api_version, kind) in enumerate(GVKS):
        found = registry.lookup(api_version, kind)
        assert found.schema == {"type": "object", "required": [f"marker{i}"]} and found.error is None
    missing = registry.lookup("apps/v1", "NoSuchKind")
    assert missing.schema is None and missing.error is None and len(missing.tried) == 1


def test_relative_location_is_relative_to_repo(tmp_path):
    (tmp_path / "s" / "apps").mkdir(parents=True)
    (tmp_path / "s" / "apps" / "deployment_v1.json").write_text('{"type": "object"}')
    registry = SchemaRegistry(["s/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json"],
                              repo_root=str(tmp_path))
    assert registry.lookup("apps/v1", "Deployment").source == "s/apps/deployment_v1.json"
    assert registry.kubeconform_locations([]) == [
        f"{tmp_path}/s/{{{{ .Group }}}}/{{{{ .ResourceKind }}}}_{{{{ .ResourceAPIVersion }}}}.json"]
    url = (tmp_path / "s").as_uri() + "/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json"
    assert SchemaRegistry([url], repo_root="/").lookup("apps/v1", "Deployment").schema == {"type": "object"}


@pytest.mark.parametrize("value,message", [
    ("{{ .Nope }}/x.json", "unknown template variable '{{ .Nope }}'"),
    ("{{ .Group | printf }}/x.json", "unsupported template action"),
    ("{{ .Group /x.json", "unclosed template action"),
    ("", "empty schema location"),
    ("httpdocs/schemas", "starts with 'http' but is not an http(s) URL"),
])
def test_parse_locations_errors(value, message):
    with pytest.raises(ValueError, match=message.replace("|", r"\|").replace(".", r"\.")
                       .replace("{", r"\{").replace("}", r"\}").replace("(", r"\(").replace(")", r"\)")):
        parse_locations([value])


def test_parse_locations_defaults_and_dedup():
    assert parse_locations([]) == ["default"]
    assert parse_locations(["x", "default", "x"]) == ["x", "default"]


def test_bad_template_is_refused_by_kubeconform_too(tmp_path):
    results = subprocess.run([kubeconform(), "-schema-location", f"{tmp_path}/{{{{ .Nope }}}}.json", "-"],
                             input="apiVersion: v1\nkind: Service\n", capture_output=True, text=True)
    assert results.returncode != 0 and "Nope" in results.stderr + results.stdout
    with pytest.raises(ValueError):
        SchemaRegistry([f"{tmp_path}/{{{{ .Nope }}}}.json"], repo_root=str(tmp_path))


# --- Kubernetes versions --------------------------------------------------------------------------

def test_unknown_kubernetes_version_lists_available(tmp_path):
    with pytest.raises(ValueError) as info:
        SchemaRegistry(["default"], repo_root=str(tmp_path), kubernetes_version="1.99.0")
    message = str(info.value)
    assert "'1.99.0'" in message and "kubernetes-validate" in message
    assert "1.33.0" in message and "1.25.0" in message
    with pytest.raises(ValueError, match="master"):  # kubernetes-validate has no 'master'
        SchemaRegistry(["default"], repo_root=str(tmp_path), kubernetes_version="master")
    with pytest.raises(ValueError, match="full version x.y.z"):
        SchemaRegistry(["default"], repo_root=str(tmp_path), kubernetes_version="1.33")
    # Without `default`, any version kubeconform accepts is fine.
    assert SchemaRegistry(["/x"], repo_root=str(tmp_path), kubernetes_version="master").locations == ["/x"]


def test_other_kubernetes_version_reads_other_schemas(tmp_path):
    old = SchemaRegistry(["default"], repo_root=str(tmp_path), kubernetes_version="1.25.0")
    new = SchemaRegistry(["default"], repo_root=str(tmp_path), kubernetes_version="1.33.0")
    assert "v1.25.0-local-strict" in old.lookup("apps/v1", "Deployment").source
    # autoscaling/v2beta2 was removed in Kubernetes 1.26.
    assert old.lookup("autoscaling/v2beta2", "HorizontalPodAutoscaler").schema is not None
    assert new.lookup("autoscaling/v2beta2", "HorizontalPodAutoscaler").schema is None


# --- core schemas -----------------------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def rendered() -> dict[str, dict]:
    out: dict[str, dict] = {}
    for overlay in sorted((REPO_ROOT / "overlays").glob("*/*")):
        for o in render_objects(str(overlay), repo_root=str(REPO_ROOT)):
            out.setdefault(o["kind"], o)
    return out


def deployment() -> dict:
    return obj("apps/v1", "Deployment", spec={
        "replicas": 2, "selector": {"matchLabels": {"app": "x"}},
        "strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1}},
        "template": {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{
            "name": "c", "image": "nginx:1.27", "ports": [{"containerPort": 80}],
            "resources": {"limits": {"cpu": "500m", "memory": "1Gi"}, "requests": {"cpu": 0.25}},
            "livenessProbe": {"httpGet": {"path": "/", "port": "http"}}}]}}})


def crd() -> dict:
    return yaml.safe_load((require_shared("crds") / "argoproj.io_rollouts.yaml").read_text())


def core_cases() -> list[tuple[str, dict, bool]]:
    """(id, object, valid under the strict schemas)."""
    r = rendered()
    dep, crd_obj = deployment(), crd()
    version0 = ("spec", "versions", 0)
    return [
        ("deployment", dep, True),
        ("deployment-unknown-field", mutated(dep, ("spec", "template", "spec", "containers", 0, "bogus"), 1), False),
        ("deployment-replicas-string", mutated(dep, ("spec", "replicas"), "two"), False),
        ("deployment-missing-selector", mutated(dep, ("spec", "selector"), DELETE), False),
        ("deployment-container-no-name", mutated(dep, ("spec", "template", "spec", "containers", 0, "name"), DELETE),
         False),
        ("deployment-maxSurge-bool", mutated(dep, ("spec", "strategy", "rollingUpdate", "maxSurge"), True), False),
        ("deployment-cpu-list", mutated(dep, ("spec", "template", "spec", "containers", 0, "resources", "limits",
                                           "cpu"), [1]), False),
        ("hpa", r["HorizontalPodAutoscaler"], True),
        ("hpa-missing-maxReplicas", mutated(r["HorizontalPodAutoscaler"], ("spec", "maxReplicas"), DELETE), False),
        ("hpa-unknown-metric-field", mutated(r["HorizontalPodAutoscaler"], ("spec", "metrics"),
                                          [{"type": "Resource", "resource": {"name": "cpu", "bogus": 1}}]), False),
        ("service", r["Service"], True),
        ("service-port-string", mutated(r["Service"], ("spec", "ports", 0, "port"), "eighty"), False),
        ("serviceaccount", r["ServiceAccount"], True),
        ("serviceaccount-automount-string", mutated(r["ServiceAccount"], ("automountServiceAccountToken",), "yes"),
         False),
        ("pdb", r["PodDisruptionBudget"], True),
        ("pdb-unknown-spec", mutated(r["PodDisruptionBudget"], ("spec", "bogus"), 1), False),
        ("crd", crd_obj, True),
        ("crd-nested-props-bad-type", mutated(crd_obj, version0 + ("schema", "openAPIV3Schema", "properties", "spec",
                                                                 "properties", "replicas", "type"), 5), False),
        ("crd-nested-props-unknown", mutated(crd_obj, version0 + ("schema", "openAPIV3Schema", "properties", "spec",
                                                                "properties", "replicas", "bogus"), 1), False),
        ("crd-missing-names", mutated(crd_obj, ("spec", "names"), DELETE), False),
    ]


def test_core_schemas_are_self_contained_and_deterministic(tmp_path):
    registry = SchemaRegistry(["default"], repo_root=str(tmp_path))
    for api_version, kind in [("apps/v1", "Deployment"), ("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
                              ("v1", "Service")]:
        found = registry.lookup(api_version, kind)
        text = k8sschemas.dumps(found.schema)
        refs = set()

        def walk(node):
            if isinstance(node, dict):
                assert "$id" not in node
                if isinstance(node.get("$ref"), str):
                    refs.add(node["$ref"])
                for v in node.values():
                    walk(v)
            elif isinstance(node, list):
                for v in node:
                    walk(v)
        walk(found.schema)
        assert refs and all(r.startswith("#/$defs/") for r in refs), refs
        assert {r[len("#/$defs/"):] for r in refs} == set(found.schema["$defs"])  # closure, nothing more
        again = SchemaRegistry(["default"], repo_root=str(tmp_path)).lookup(api_version, kind)
        assert k8sschemas.dumps(again.schema) == text
    jsp = "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps"
    crd_defs = registry.lookup("apiextensions.k8s.io/v1", "CustomResourceDefinition").schema["$defs"]
    assert f"#/$defs/{jsp}" in json.dumps(crd_defs[jsp])  # recursive definition kept once


def test_core_schemas_same_verdicts_in_jsonschema_rs_and_kubeconform(tmp_path):
    cases = core_cases()
    registry = SchemaRegistry(["default"], repo_root=str(tmp_path / "repo"), cache_dir=str(tmp_path / "cache"))
    gvks = [(o["apiVersion"], o["kind"]) for _, o, _ in cases]
    ours = []
    for cid, o, _ in cases:
        found = registry.lookup(o["apiVersion"], o["kind"])
        assert found.schema is not None and found.error is None, cid
        assert found.source.endswith(k8sschemas.file_name(o["apiVersion"], o["kind"]))
        ours.append(jsonschema_rs.validator_for(found.schema).is_valid(o))
    locations = registry.kubeconform_locations(gvks)
    theirs = [r["status"] == "statusValid"
              for r in run_kubeconform(locations, [o for _, o, _ in cases], tmp_path, strict=True)]
    expected = [valid for _, _, valid in cases]
    ids = [cid for cid, _, _ in cases]
    assert dict(zip(ids, ours)) == dict(zip(ids, expected))
    assert dict(zip(ids, theirs)) == dict(zip(ids, expected))
    written = sorted(p.name for p in (tmp_path / "cache" / "kubernetes" / "v1.33.0-standalone-strict").iterdir())
    assert written == sorted({k8sschemas.file_name(*g) for g in gvks})


def test_non_strict_core_schemas_allow_unknown_fields(tmp_path):
    o = mutated(deployment(), ("spec", "bogus"), 1)
    loose = SchemaRegistry(["default"], repo_root=str(tmp_path), strict=False)
    strict = SchemaRegistry(["default"], repo_root=str(tmp_path), strict=True)
    assert "v1.33.0-local/" in loose.lookup("apps/v1", "Deployment").source
    assert jsonschema_rs.validator_for(loose.lookup("apps/v1", "Deployment").schema).is_valid(o)
    assert not jsonschema_rs.validator_for(strict.lookup("apps/v1", "Deployment").schema).is_valid(o)
    result = run_kubeconform(loose.kubeconform_locations([("apps/v1", "Deployment")]), [o], tmp_path, strict=False)
    assert result[0]["status"] == "statusValid"


def test_unknown_core_kind_not_found(tmp_path):
    found = SchemaRegistry(["default"], repo_root=str(tmp_path)).lookup("apps/v1", "Deploymnt")
    assert found.schema is None and found.error is None
    assert found.tried == ["schemas/apps-strict/deploymnt_v1.json", "schemas/apps/deploymnt_v1.json",
                           k8sschemas.source_path("1.33.0", True, "apps/v1", "Deploymnt")]


# --- the repo's schemas and the lock --------------------------------------------------------------

@pytest.fixture
def imported_repo(tmp_path) -> pathlib.Path:
    crds = require_shared("crds")
    result = import_crds([str(crds / "argoproj.io_rollouts.yaml")], str(tmp_path / "schemas"), repo=str(crds.parent))
    assert not result.diagnostics.has_errors
    return tmp_path


def test_repo_schemas_come_first_strict_then_plain(imported_repo):
    strict = SchemaRegistry(["default"], repo_root=str(imported_repo))
    found = strict.lookup("argoproj.io/v1alpha1", "Rollout")
    assert found.source == "schemas/argoproj.io-strict/rollout_v1alpha1.json" and found.warning is None
    loose = SchemaRegistry(["default"], repo_root=str(imported_repo), strict=False)
    assert loose.lookup("argoproj.io/v1alpha1", "Rollout").source == "schemas/argoproj.io/rollout_v1alpha1.json"
    assert loose.lookup("argoproj.io/v1alpha1", "Rollout").tried == ["schemas/argoproj.io/rollout_v1alpha1.json"]


def test_checksum_mismatch_is_an_error(imported_repo):
    path = imported_repo / "schemas" / "argoproj.io-strict" / "rollout_v1alpha1.json"
    expected = hashlib.sha256(path.read_bytes()).hexdigest()
    path.write_text(path.read_text().replace('"type": "integer"', '"type": "string"', 1))
    actual = hashlib.sha256(path.read_bytes()).hexdigest()
    found = SchemaRegistry(["default"], repo_root=str(imported_repo)).lookup("argoproj.io/v1alpha1", "Rollout")
    assert found.schema is None and found.rule == "schema.checksum"
    assert "schemas/argoproj.io-strict/rollout_v1alpha1.json" in found.error
    assert expected in found.error and actual in found.error
    assert "mlgitops schemas import crds/argoproj.io_rollouts.yaml" in found.error
    # The search stops there: the non-strict file is not used instead.
    assert found.tried == ["schemas/argoproj.io-strict/rollout_v1alpha1.json"]


def test_a_pinned_schema_that_is_missing_is_no_schema_not_a_looser_one(imported_repo):
    strict = imported_repo / "schemas" / "argoproj.io-strict" / "rollout_v1alpha1.json"
    strict.unlink()
    found = SchemaRegistry(["default"], repo_root=str(imported_repo)).lookup("argoproj.io/v1alpha1", "Rollout")
    assert found.schema is None and found.error is None  # validate reports schema.missing
    assert found.tried == ["schemas/argoproj.io-strict/rollout_v1alpha1.json"]  # not the plain schema
    assert found.pinned_missing == "schemas/argoproj.io-strict/rollout_v1alpha1.json"
    # kubeconform would go on to the plain schema: it is not run
    with pytest.raises(SchemaError) as refused:
        SchemaRegistry(["default"], repo_root=str(imported_repo)).kubeconform_locations([("argoproj.io/v1alpha1", "Rollout")])
    assert refused.value.rule == "schema.missing"
    assert str(refused.value).startswith("schemas/argoproj.io-strict/rollout_v1alpha1.json: pinned in schemas/schemas.lock")
    # A kind the lock pins nothing for is still looked for further on (the core schemas here).
    core = SchemaRegistry(["default"], repo_root=str(imported_repo)).lookup("apps/v1", "Deployment")
    assert core.schema is not None and core.error is None
    # Without a lock nothing is pinned: a missing file means "not here", as for kubeconform.
    (imported_repo / "schemas" / "schemas.lock").unlink()
    found = SchemaRegistry(["default"], repo_root=str(imported_repo)).lookup("argoproj.io/v1alpha1", "Rollout")
    assert found.error is None and found.source == "schemas/argoproj.io/rollout_v1alpha1.json"


def test_unlisted_schema_used_with_warning(imported_repo):
    extra = imported_repo / "schemas" / "example.com" / "widget_v1.json"
    extra.parent.mkdir()
    extra.write_text('{"type": "object", "required": ["spec"]}')
    found = SchemaRegistry(["default"], repo_root=str(imported_repo)).lookup("example.com/v1", "Widget")
    assert found.schema == {"type": "object", "required": ["spec"]} and found.error is None
    assert "not listed in schemas/schemas.lock" in found.warning


def test_broken_lock_and_invalid_json(imported_repo):
    lock = imported_repo / "schemas" / "schemas.lock"
    lock.write_text("{not json")
    found = SchemaRegistry(["default"], repo_root=str(imported_repo)).lookup("argoproj.io/v1alpha1", "Rollout")
    assert found.rule == "schema.checksum" and "schemas.lock" in found.error
    lock.unlink()
    bad = imported_repo / "schemas" / "argoproj.io-strict" / "rollout_v1alpha1.json"
    bad.write_text("{")
    found = SchemaRegistry(["default"], repo_root=str(imported_repo)).lookup("argoproj.io/v1alpha1", "Rollout")
    assert found.rule == "schema.invalid-json" and found.schema is None
    assert found.error.startswith("schemas/argoproj.io-strict/rollout_v1alpha1.json: schema is not valid JSON")


# --- HTTP -----------------------------------------------------------------------------------------

class _Handler(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        self.server.requests.append(self.path)
        if self.path.startswith("/fail/"):
            self.send_error(500, "boom")
        elif self.path.startswith("/garbage/"):
            body = b"<html>not json</html>"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            super().do_GET()

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve(directory: pathlib.Path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             functools.partial(_Handler, directory=str(directory)))
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


CATALOG = "/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json"


def test_http_location_and_cache(tmp_path):
    shared = require_shared("schemas")
    cache = tmp_path / "cache"
    with serve(shared) as (server, base):
        registry = SchemaRegistry([base + CATALOG], repo_root=str(tmp_path), cache_dir=str(cache))
        found = registry.lookup("serving.kserve.io/v1beta1", "InferenceService")
        url = f"{base}/serving.kserve.io/inferenceservice_v1beta1.json"
        assert found.source == url and found.tried == [url] and found.error is None
        assert found.schema == json.loads((shared / "serving.kserve.io" / "inferenceservice_v1beta1.json").read_text())
        assert server.requests == ["/serving.kserve.io/inferenceservice_v1beta1.json"]
        cached = cache / "http" / hashlib.sha256(url.encode()).hexdigest()
        assert cached.read_bytes() == (shared / "serving.kserve.io" / "inferenceservice_v1beta1.json").read_bytes()
    # Server gone: a new registry still finds the cached schema, and an uncached URL now fails.
    again = SchemaRegistry([base + CATALOG], repo_root=str(tmp_path), cache_dir=str(cache))
    assert again.lookup("serving.kserve.io/v1beta1", "InferenceService").schema == found.schema
    down = again.lookup("argoproj.io/v1alpha1", "Rollout")
    assert down.rule == "schema.fetch" and down.schema is None and "cannot fetch schema" in down.error
    # kubeconform reads the same cache (-cache) with the server down.
    isvc = rendered()["InferenceService"]
    result = run_kubeconform(again.kubeconform_locations([]), [isvc], tmp_path, strict=True,
                             cache=again.http_cache_dir)
    assert result[0]["status"] == "statusValid", result


def test_http_404_falls_through_other_failures_stop(tmp_path):
    shared = require_shared("schemas")
    local = tmp_path / "local" / "example.com"
    local.mkdir(parents=True)
    (local / "widget_v1.json").write_text('{"type": "object"}')
    fallback = str(tmp_path / "local") + CATALOG
    cache = str(tmp_path / "cache")
    with serve(shared) as (server, base):
        found = SchemaRegistry([base + CATALOG, fallback], repo_root=str(tmp_path), cache_dir=cache) \
            .lookup("example.com/v1", "Widget")
        assert found.schema == {"type": "object"} and found.source == "local/example.com/widget_v1.json"
        assert found.tried == [f"{base}/example.com/widget_v1.json", "local/example.com/widget_v1.json"]
        failed = SchemaRegistry([base + "/fail" + CATALOG, fallback], repo_root=str(tmp_path), cache_dir=cache) \
            .lookup("example.com/v1", "Widget")
        assert failed.schema is None and failed.rule == "schema.fetch" and "HTTP 500" in failed.error
        assert failed.tried == [f"{base}/fail/example.com/widget_v1.json"]
        garbage = SchemaRegistry([base + "/garbage" + CATALOG], repo_root=str(tmp_path), cache_dir=cache) \
            .lookup("example.com/v1", "Widget")
        assert garbage.rule == "schema.invalid-json"
        assert not (pathlib.Path(cache) / "http" / hashlib.sha256(
            f"{base}/garbage/example.com/widget_v1.json".encode()).hexdigest()).exists()
        # kubeconform too moves past the 404 to the local directory.
        result = run_kubeconform([base + CATALOG, fallback], [obj("example.com/v1", "Widget")], tmp_path,
                                 strict=True)
        assert result[0]["status"] == "statusValid"


def test_lookup_is_memoised(tmp_path):
    shared = require_shared("schemas")
    with serve(shared) as (server, base):
        registry = SchemaRegistry([base + CATALOG], repo_root=str(tmp_path), cache_dir=str(tmp_path / "c"))
        first = registry.lookup("example.com/v1", "Widget")
        assert registry.lookup("example.com/v1", "Widget") is first
        assert server.requests == ["/example.com/widget_v1.json"]
