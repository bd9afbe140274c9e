"""The one-line description of a policy's rule `policy.<name>` (SARIF rule metadata): its
validations' messages.

Kept apart from catalogue.py, which gathers every rule module of the build: loading policies
(`policy check`, the gate beside a forked build) needs only this, and the catalogue only for a
policy without messages."""

from __future__ import annotations

from typing import Any, Iterable


def policy_description(name: str, messages: Iterable[str]) -> str:
    """A policy's own description of its rule `policy.<name>`: its validations' messages (each once,
    in order), or the family's description when it has none."""
    said = list(dict.fromkeys(m.strip().rstrip(".") for m in messages if m and m.strip()))
    if said:
        return f"Policy {name}: {'; '.join(said)}."
    from ..catalogue import describe

    return describe(f"policy.{name}")


def policy_descriptions(policies: Iterable[Any]) -> dict[str, str]:
    """{`policy.<name>`: description} of loaded policies (objects with `name` and `validations`,
    each with a `message`, as policy/load.py's Policy)."""
    return {f"policy.{p.name}": policy_description(p.name, (v.message for v in p.validations)) for p in policies}
