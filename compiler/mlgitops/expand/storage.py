"""Where the storage initializer pulls the model from: an S3-compatible endpoint of mlgitops.yaml.

`spec.storage.endpoint` (overridable per environment; a cluster's `overrides.storageEndpoint`
replaces it, spec/model.py cluster_variants) names one of `storage.endpoints`. What KServe's
storage initializer reads (KServe pkg/credentials/service_account_credentials.go, s3/):

- the predictor's ServiceAccount (`spec.predictor.serviceAccountName`): each Secret in its
  `secrets` that has the data key `awsSecretAccessKey` is an S3 credential: AWS_ACCESS_KEY_ID /
  AWS_SECRET_ACCESS_KEY come from its keys `awsAccessKeyID` / `awsSecretAccessKey` (KServe's
  defaults; inferenceservice-config `credentials.s3` can rename them), and the endpoint settings
  from that Secret's annotations `serving.kserve.io/s3-endpoint`, `s3-usehttps`, `s3-region`,
  `s3-verifyssl` (else its data keys S3_ENDPOINT, S3_USE_HTTPS, AWS_DEFAULT_REGION,
  S3_VERIFY_SSL, else the cluster-wide inferenceservice-config);
- the ServiceAccount's own s3-* annotations, but only when it carries the IRSA annotation
  `eks.amazonaws.com/role-arn`.

So, by the endpoint's `credentials`:
- `externalSecret`: an ExternalSecret (External Secrets Operator, this module) makes the Secret
  from the store, with the s3-* annotations in its template; the ServiceAccount lists it;
- `secretName`: the ServiceAccount lists that existing Secret, which mlgitops does not own: it
  must carry the annotations itself (the `spec.storage-secret` note says which);
- `irsaRoleArn`: the ServiceAccount carries the role and the s3-* annotations, no keys at all.
An anonymous (public) bucket is not offered: KServe turns `s3-useanoncredential` into the
storage initializer's environment only from a credential Secret or an IRSA ServiceAccount, so
it would need a Secret with an empty key in Git.

The ServiceAccount is the model's `spec.serviceAccount` when it has one (it must be `create:
true`, rule spec.storage-service-account), else `<model>-storage`; expand/serviceaccount.py emits
it and expand/inferenceservice.py points the predictor at `service_account_name`.
"""

from __future__ import annotations

from typing import Any, Mapping, NamedTuple

from ..config import Config, StorageEndpoint
from ..spec.model import ModelEnv
from ..spec.resolved import Model, Section
from ..spec.schema import DNS1123_LABEL, mapping, string
from .generator import ANY, MODEL_FILE, KindGenerator, settings_path

KIND = "ExternalSecret"
API_VERSION = "external-secrets.io/v1"
SUFFIX = "-storage"  # of the names this module derives: the ServiceAccount, the ExternalSecret and its Secret
IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"  # KServe's AwsIrsaAnnotationKey
ACCESS_KEY_ID = "awsAccessKeyID"  # KServe's default Secret keys (s3.AWSAccessKeyIdName, AWSSecretAccessKeyName)
SECRET_ACCESS_KEY = "awsSecretAccessKey"
_S3 = "serving.kserve.io/s3-"
ENDPOINT_ANNOTATION, HTTPS_ANNOTATION = _S3 + "endpoint", _S3 + "usehttps"
REGION_ANNOTATION, VERIFY_SSL_ANNOTATION = _S3 + "region", _S3 + "verifyssl"
DEFAULT_STORE_KIND = "ClusterSecretStore"
DEFAULT_ACCESS_KEY_PROPERTY, DEFAULT_SECRET_KEY_PROPERTY = "accessKeyId", "secretAccessKey"
DEFAULT_REFRESH = "1h"


class StorageSettings(NamedTuple):
    endpoint: str | None  # a name of mlgitops.yaml `storage.endpoints`, as written

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> StorageSettings:
        return cls(data.get("endpoint"))


SECTION: Section[StorageSettings] = Section(
    key="storage",
    schema=mapping(
        "The S3-compatible storage endpoint (mlgitops.yaml `storage.endpoints`) the storage initializer pulls "
        "the `s3://` storageUri from: mlgitops generates the predictor's ServiceAccount with the endpoint's "
        "credentials (a Secret reference, an ExternalSecret, or an IRSA role), never keys.", {
            "endpoint": string("A name of mlgitops.yaml `storage.endpoints`.", pattern=DNS1123_LABEL, maxLength=40),
        }, required=["endpoint"]),
    defaults={},
    typed=StorageSettings.of,
)


def endpoint_name(model: Model) -> str | None:
    """The endpoint name the model's settings give (whether mlgitops.yaml has it or not)."""
    settings = model.section_settings.get(SECTION.key)
    return None if settings is None else settings.endpoint


def endpoint_of(model: Model, config: Config) -> StorageEndpoint | None:
    """The storage endpoint the model uses in its environment (None when it names none, or names
    one mlgitops.yaml does not have: the `spec.storage-endpoint` rule reports that)."""
    name = endpoint_name(model)
    if name is None:
        return None
    found: StorageEndpoint | None = config.storage_endpoints.get(name)
    return found


def storage_name(model: Model) -> str:
    """`<model>-storage`: the ServiceAccount (without spec.serviceAccount), ExternalSecret and Secret."""
    return f"{model.name}{SUFFIX}"


def service_account_name(model: Model) -> str | None:
    """The predictor's ServiceAccount: the model's own, else `<model>-storage` with an endpoint."""
    if model.service_account is not None:
        return model.service_account.name
    return storage_name(model) if endpoint_name(model) is not None else None


def credential_secret(model: Model, endpoint: StorageEndpoint) -> str | None:
    """The Secret the ServiceAccount lists for the storage initializer (None for IRSA)."""
    creds = endpoint.credentials
    if "secretName" in creds:
        return str(creds["secretName"])
    if "externalSecret" in creds:
        return storage_name(model)
    return None


def s3_annotations(endpoint: StorageEndpoint) -> dict[str, str]:
    """KServe's s3-* annotations for the endpoint (values as KServe reads them: "1"/"0")."""
    out = {ENDPOINT_ANNOTATION: endpoint.endpoint, HTTPS_ANNOTATION: "1" if endpoint.https else "0"}
    if endpoint.region is not None:
        out[REGION_ANNOTATION] = endpoint.region
    out[VERIFY_SSL_ANNOTATION] = "1" if endpoint.verify_ssl else "0"
    return out


def service_account_additions(model: Model, config: Config) -> tuple[dict[str, str], list[dict]]:
    """(annotations, secrets) the endpoint adds to the predictor's ServiceAccount."""
    endpoint = endpoint_of(model, config)
    if endpoint is None:
        return {}, []
    if "irsaRoleArn" in endpoint.credentials:
        return {IRSA_ANNOTATION: endpoint.credentials["irsaRoleArn"], **s3_annotations(endpoint)}, []
    secret = credential_secret(model, endpoint)
    return {}, ([{"name": secret}] if secret is not None else [])


def external_secret(model: Model, endpoint: StorageEndpoint) -> dict:
    spec = endpoint.credentials["externalSecret"]
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": storage_name(model)},
        "spec": {
            "refreshInterval": spec.get("refreshInterval", DEFAULT_REFRESH),
            "secretStoreRef": {"name": spec["storeName"], "kind": spec.get("storeKind", DEFAULT_STORE_KIND)},
            # No target.name: the Secret is named after the ExternalSecret, so a namePrefix/nameSuffix
            # renames both and the ServiceAccount's reference with them (name_references below).
            "target": {
                "creationPolicy": "Owner",
                "template": {"type": "Opaque", "metadata": {"annotations": s3_annotations(endpoint)}},
            },
            "data": [
                {"secretKey": ACCESS_KEY_ID,
                 "remoteRef": {"key": spec["remoteKey"],
                               "property": spec.get("accessKeyIdProperty", DEFAULT_ACCESS_KEY_PROPERTY)}},
                {"secretKey": SECRET_ACCESS_KEY,
                 "remoteRef": {"key": spec["remoteKey"],
                               "property": spec.get("secretAccessKeyProperty", DEFAULT_SECRET_KEY_PROPERTY)}},
            ],
        },
    }


def _build(me: ModelEnv, config: Config) -> list[dict]:
    endpoint = endpoint_of(me.model, config)
    if endpoint is None or "externalSecret" not in endpoint.credentials:
        return []
    return [external_secret(me.model, endpoint)]


def _names(model: Model) -> list[tuple[str, str]]:
    return [("storage ServiceAccount, ExternalSecret and Secret", storage_name(model))]


ENDPOINT = settings_path(SECTION.key, "endpoint")  # the model line that chose the endpoint


GENERATOR = KindGenerator(
    name="storage",
    kinds=(KIND,),
    file=MODEL_FILE,
    applies=lambda model: endpoint_name(model) is not None,
    build=_build,
    names=_names,
    # Everything but the keys' names comes from the endpoint of mlgitops.yaml the model chose.
    derived=(
        (KIND, ("spec", "refreshInterval"), ENDPOINT),
        (KIND, ("spec", "secretStoreRef", ANY), ENDPOINT),
        (KIND, ("spec", "target", "template", "metadata", "annotations", ANY), ENDPOINT),
        (KIND, ("spec", "data", ANY, "remoteRef", ANY), ENDPOINT),
    ),
    constants=(
        (KIND, ("spec", "target", "creationPolicy")),
        (KIND, ("spec", "target", "template", "type")),
        (KIND, ("spec", "data", ANY, "secretKey")),
    ),
    # The ServiceAccount lists the Secret the ExternalSecret makes (named after it).
    name_references=({"kind": KIND, "group": "external-secrets.io", "fieldSpecs": [
        {"path": "secrets/name", "kind": "ServiceAccount"},
    ]},),
    section=SECTION,
)
