"""Waiver labels: how a model's policy waivers (`spec.policyExceptions`) reach the cluster.

Every object of a model's overlay in an environment a waiver covers carries the label
`waivers.mlgitops.dev/<policy>: "<expires YYYY-MM-DD>"` (the overlay kustomization's `labels`).
Each policy's binding excludes objects carrying its label (`matchResources.objectSelector`,
`DoesNotExist`), so the API server admits what the model waives. The label is written whatever
today's date is (the build's output does not depend on the day): `mlgitops policy check` still
evaluates a labelled object, reports a valid waiver as `policy.waived`, fails an expired one
(`policy.waiver-expired`), and refuses a label no waiver of the model backs (`policy.waiver-label`).
"""

from __future__ import annotations

from typing import Any

WAIVER_LABEL_PREFIX = "waivers.mlgitops.dev/"
_LABEL_NAME_MAX = 63  # the name part of a label key


def waiver_label(policy: str) -> str:
    """The label key that waives `policy` for an object."""
    return WAIVER_LABEL_PREFIX + policy


def waived_policy(label: str) -> str | None:
    """The policy a label key waives, or None for any other label."""
    return label[len(WAIVER_LABEL_PREFIX):] if label.startswith(WAIVER_LABEL_PREFIX) else None


def covers(entry: dict, env: str | None) -> bool:
    """Whether a policyExceptions entry applies in `env` (no `environments`: every environment)."""
    envs = entry.get("environments") or []
    return not envs or env in envs


def waiver_labels(exceptions: Any, env: str) -> dict[str, str]:
    """{label key: expiry date} for the waivers in `exceptions` (a model's spec.policyExceptions, as
    the schema checked it) that cover `env`. Entries a label cannot carry (no policy name, a policy
    name over 63 characters, an expiry that is not YYYY-MM-DD) are left out: validate and policy
    check report them."""
    out: dict[str, str] = {}
    for entry in exceptions if isinstance(exceptions, list) else []:
        if not isinstance(entry, dict) or not covers(entry, env):
            continue
        policy, expires = entry.get("policy"), entry.get("expires")
        if not isinstance(policy, str) or not policy or len(policy) > _LABEL_NAME_MAX:
            continue
        if not isinstance(expires, str) or len(expires) != 10 or not expires.replace("-", "").isdigit():
            continue
        key = waiver_label(policy)
        # Two waivers of one policy: the later expiry (both are reported by policy check if invalid).
        out[key] = max(out.get(key, ""), expires)
    return out
