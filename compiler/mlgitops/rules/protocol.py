"""spec.protocol: the framework's KServe runtime serves the protocol (unless `runtime` overrides it)."""

from __future__ import annotations

from ..config import Config
from ..diagnostics import ERROR, Rule
from ..spec.model import ModelEnv
from .base import ModelCheck, Reporter

RULE = Rule("spec.protocol", ERROR,
            "The framework's runtime does not serve the chosen protocol.",
            "Set `runtime` to a runtime that serves it, or use the framework's protocol.")


def check(me: ModelEnv, report: Reporter, config: Config) -> None:
    m = me.model
    fw = m.runtime_info
    if fw and m.protocol not in fw.protocols and m.runtime is None:
        report(("protocol",), RULE,
               f"{m.framework} on {fw.runtime} serves protocol {' or '.join(fw.protocols)}, not {m.protocol}")


CHECK = ModelCheck((RULE,), check)
