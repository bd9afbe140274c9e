"""The multi-window multi-burn-rate alert table (Google SRE workbook, chapter 5, table 5-8).

An alert tier (one severity) fires when the SLI error ratio is above `burnRate x budget`
over both the long and the short window of any of its window pairs. The defaults are the
workbook's for a 30-day SLO; `monitoring.burnRateAlerts` in mlgitops.yaml replaces them:

    monitoring:
      burnRateAlerts:
        page:   {for: 2m,  windows: [{long: 1h, short: 5m, burnRate: 14.4}, {long: 6h, short: 30m, burnRate: 6}]}
        ticket: {for: 15m, windows: [{long: 1d, short: 2h, burnRate: 3}, {long: 3d, short: 6h, burnRate: 1}]}
"""

from __future__ import annotations

import dataclasses
import functools
import functools

from .units import DURATION, duration_seconds

@dataclasses.dataclass(frozen=True)
class WindowPair:
    long: str
    short: str
    burn_rate: float

    def time_to_fire(self, burn: float) -> float | None:
        """Seconds until the long window's ratio reaches the threshold at a constant `burn`
        (budget multiples) from a clean history; None when it never does."""
        if burn <= self.burn_rate:
            return None
        return self.burn_rate / burn * duration_seconds(self.long)


@dataclasses.dataclass(frozen=True)
class AlertTier:
    severity: str
    wait: str  # the alert's `for:`
    pairs: tuple[WindowPair, ...]


DEFAULT_TABLE: tuple[AlertTier, ...] = (
    AlertTier("page", "2m", (WindowPair("1h", "5m", 14.4), WindowPair("6h", "30m", 6))),
    AlertTier("ticket", "15m", (WindowPair("1d", "2h", 3), WindowPair("3d", "6h", 1))),
)


def table_from_config(raw: dict | None) -> tuple[AlertTier, ...]:
    """The table from `monitoring.burnRateAlerts` (already schema-checked), else the defaults."""
    if not raw:
        return DEFAULT_TABLE
    return tuple(
        AlertTier(severity, tier.get("for", "0s"),
                  tuple(WindowPair(w["long"], w["short"], w["burnRate"]) for w in tier["windows"]))
        for severity, tier in raw.items())


@functools.lru_cache(maxsize=64)  # one table per config: every model asks again
@functools.lru_cache(maxsize=64)  # a repository has one table (mlgitops.yaml), read for every overlay
def windows(table: tuple[AlertTier, ...]) -> tuple[str, ...]:
    """Every window the alerts read, shortest first (one recording rule each)."""
    found = {w for tier in table for pair in tier.pairs for w in (pair.long, pair.short)}
    return tuple(sorted(found, key=duration_seconds))


def longest_window(table: tuple[AlertTier, ...]) -> str:
    return windows(table)[-1]


def fastest_burn(table: tuple[AlertTier, ...]) -> float:
    """The highest burn-rate factor: the threshold of the most urgent alert."""
    return max(pair.burn_rate for tier in table for pair in tier.pairs)


def schema() -> dict:
    """JSON Schema of `monitoring.burnRateAlerts` (part of mlgitops.yaml's schema)."""
    duration = {"type": "string", "pattern": DURATION, "maxLength": 32}
    return {
        "type": "object", "minProperties": 1,
        "description": "Multi-window burn-rate alerts per severity (default: the SRE workbook's page "
                       "1h/5m 14.4x + 6h/30m 6x for 2m, ticket 1d/2h 3x + 3d/6h 1x for 15m).",
        "propertyNames": {"pattern": r"^[a-z][a-z0-9-]*$"},
        "additionalProperties": {
            "type": "object", "additionalProperties": False, "required": ["windows"],
            "description": "One alert per SLO with this `severity` label.",
            "properties": {
                "for": {**duration, "description": "How long the condition must hold before the alert fires."},
                "windows": {
                    "type": "array", "minItems": 1,
                    "description": "Window pairs, joined with `or`; each fires when both windows burn faster "
                                   "than `burnRate`.",
                    "items": {
                        "type": "object", "additionalProperties": False,
                        "required": ["long", "short", "burnRate"],
                        "properties": {
                            "long": {**duration, "description": "Long window, e.g. `1h`."},
                            "short": {**duration, "description": "Short (confirmation) window, about 1/12 of long."},
                            "burnRate": {"type": "number", "exclusiveMinimum": 0,
                                         "description": "Multiple of the error budget rate, e.g. 14.4."},
                        },
                    },
                },
            },
        },
    }
