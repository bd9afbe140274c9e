"""spec.network-egress: a NetworkPolicy that restricts egress (`networkPolicy.egress.enabled`)
leaves the pods a way to what they must reach, and names destinations a NetworkPolicy can say.

- KServe's storage initializer downloads the model before the server starts: without a peer that
  allows it (the storage endpoint's `egressTo` in mlgitops.yaml, or a peer of
  `networkPolicy.egress.to`) the pod never starts, and nothing says why but a download timeout;
- a payload logger outside the cluster (its URL is not `<svc>.<namespace>.svc...`) is reached
  only through a peer of `egress.to`: without one, every logged request fails in the agent;
- a NetworkPolicy peer is an IP block or selectors, never both: a destination of `egress.to`
  with `cidr` and `namespace`/`podLabels` cannot be written.
"""

from __future__ import annotations

from ..config import Config
from ..diagnostics import ERROR, Rule, echo
from ..expand.networkpolicy import SECTION, fetches_over_network, logger_namespace
from ..expand.storage import endpoint_of
from ..spec.model import ModelEnv
from .base import ModelCheck, Reporter

RULE = Rule("spec.network-egress", ERROR,
            "A NetworkPolicy restricting egress leaves the storage initializer or the payload logger no "
            "destination, or a destination of networkPolicy.egress.to combines cidr with namespace/podLabels.")

EGRESS = ("networkPolicy", "egress", "enabled")


def check(me: ModelEnv, report: Reporter, config: Config) -> None:
    model = me.model
    settings = model.section(SECTION)
    if not (settings.enabled and settings.egress.enabled):
        return
    for i, peer in enumerate(settings.egress.to):
        if peer.cidr is not None and (peer.namespace is not None or peer.pod_labels):
            report(("networkPolicy", "egress", "to", i, "cidr"), RULE,
                   "a destination is an IP block or namespace/pod selectors, not both (a NetworkPolicy peer "
                   "cannot combine ipBlock with selectors): write two destinations")
    listed = bool(settings.egress.to)
    endpoint = endpoint_of(model, config)
    if fetches_over_network(model) and not listed and (endpoint is None or not endpoint.egress_to):
        where = (f"storage endpoint {echo(endpoint.name)} of mlgitops.yaml lists no egressTo" if endpoint is not None
                 else "the model names no storage endpoint (storage.endpoint) with egressTo in mlgitops.yaml")
        path = me.blame(EGRESS, ("storage", "endpoint") if endpoint is not None else ("storageUri",))
        report(path, RULE,
               f"egress is restricted but the storage initializer must download {echo(model.storage_uri)} and "
               f"no destination allows it: {where}, and networkPolicy.egress.to is empty (add the store's "
               "address range, e.g. `{cidr: 10.20.0.0/16, port: 443}`, or the endpoint's egressTo)")
    if model.logger is not None and logger_namespace(model) is None and not listed:
        report(me.blame(EGRESS, ("logger", "url")), RULE,
               f"egress is restricted but the payload logger {echo(model.logger.url)} is not a cluster Service "
               "(<svc>.<namespace>.svc...) and networkPolicy.egress.to is empty: add its address range")


CHECK = ModelCheck((RULE,), check)
