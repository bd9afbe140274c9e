"""spec.storage-endpoint, spec.storage-service-account, spec.storage-secret: a model's
`storage.endpoint` (expand/storage.py) names an endpoint of mlgitops.yaml, pulls an `s3://`
storageUri from it, and the predictor's ServiceAccount can carry the endpoint's credentials."""

from __future__ import annotations

import difflib

from ..config import Config
from ..diagnostics import ERROR, INFO, Rule, echo
from ..expand import storage
from ..spec.model import ModelEnv
from .base import ModelCheck, Reporter

ENDPOINT = Rule("spec.storage-endpoint", ERROR,
                "storage.endpoint names no endpoint of mlgitops.yaml `storage.endpoints` (with a suggestion), or "
                "the model's storageUri is not s3://.")
SERVICE_ACCOUNT = Rule("spec.storage-service-account", ERROR,
                       "A model with storage.endpoint names a ServiceAccount mlgitops does not create, or annotates "
                       "it with what the endpoint sets (KServe's s3-* annotations, another IRSA role).",
                       "The storage initializer reads the endpoint's credentials from the predictor's "
                       "ServiceAccount: mlgitops must generate it (serviceAccount.create: true, or no serviceAccount "
                       "for `<model>-storage`).")
SECRET = Rule("spec.storage-secret", INFO,
              "A storage endpoint with an existing Secret (credentials.secretName): what that Secret must carry "
              "for KServe, which mlgitops cannot add to a Secret it does not own.")

KEY = ("storage", "endpoint")  # settings path of the endpoint name
S3_PREFIX = "serving.kserve.io/s3-"


def check(me: ModelEnv, report: Reporter, config: Config) -> None:
    m = me.model
    name = storage.endpoint_name(m)
    if name is None:
        return
    known = list(config.storage_endpoints)
    endpoint = config.storage_endpoints.get(name)
    if endpoint is None:
        hint = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
        suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
        report(KEY, ENDPOINT, f"unknown storage endpoint {echo(name)}{suggestion}; {config.path} storage.endpoints "
                              f"defines: {', '.join(known) or 'none'}")
    uri = m.storage_uri
    if uri is None:
        report(KEY, ENDPOINT, "a storage endpoint serves an s3:// storageUri, and the model has none")
    elif not uri.startswith("s3://"):
        report(("storageUri",), ENDPOINT, f"{echo(uri)} is not an s3:// URI, but storage.endpoint "
                                          f"{echo(name)} is an S3 endpoint: use s3://<bucket>/<path> or drop storage")
    sa = m.service_account
    if sa is not None and not sa.create:
        report(("serviceAccount", "create"), SERVICE_ACCOUNT,
               f"ServiceAccount {echo(sa.name)} is not created by mlgitops, so it cannot carry the credentials of "
               f"storage endpoint {echo(name)}: set create: true, or drop serviceAccount to get "
               f"'{storage.storage_name(m)}'")
    elif sa is not None:
        added, _ = storage.service_account_additions(m, config) if endpoint is not None else ({}, [])
        for key, value in sorted(sa.annotations.items()):
            if key.startswith(S3_PREFIX) or (key in added and added[key] != value):
                report(("serviceAccount", "annotations", key), SERVICE_ACCOUNT,
                       f"annotation {echo(key)} is set by storage endpoint {echo(name)} ({config.path}), which "
                       "owns KServe's s3-* settings and the IRSA role: remove it here")
    if endpoint is not None and "secretName" in endpoint.credentials:
        secret = endpoint.credentials["secretName"]
        wanted = ", ".join(f"{key}: {echo(value)}" for key, value in storage.s3_annotations(endpoint).items())
        report(KEY, SECRET,
               f"storage endpoint {echo(name)} uses the existing Secret {echo(secret)} (mlgitops does not own it): "
               f"for KServe's storage initializer it must hold the keys {storage.ACCESS_KEY_ID} and "
               f"{storage.SECRET_ACCESS_KEY} and the annotations {wanted}")


CHECK = ModelCheck((ENDPOINT, SERVICE_ACCOUNT, SECRET), check)
