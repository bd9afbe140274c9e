"""Units the model file and the generated objects speak: durations, latencies, quantities."""

from __future__ import annotations

import re
from decimal import Decimal

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
DURATION = r"^([0-9]+(ms|s|m|h|d|w|y))+$"
LATENCY = r"^[0-9]+(\.[0-9]+)?(ms|s)$"  # a latency as the model file writes it: `250ms`, `1s`, `2.5s`


def duration_seconds(text: str) -> float:
    """A Prometheus duration (`5m`, `1h30m`, `30d`) in seconds."""
    if not re.fullmatch(DURATION, text):
        raise ValueError(f"not a Prometheus duration: {text!r}")
    return sum(int(n) * _UNITS[u] for n, u in re.findall(r"([0-9]+)(ms|s|m|h|d|w|y)", text))


def say_duration(total_seconds: float) -> str:
    """Seconds as a short human duration: 43.2 min, 1.8 h, 3 d."""
    if total_seconds < 120:
        return f"{total_seconds:.0f} s"
    if total_seconds < 5400:
        return f"{total_seconds / 60:.1f} min".replace(".0 min", " min")
    if total_seconds < 172800:
        return f"{total_seconds / 3600:.1f} h".replace(".0 h", " h")
    return f"{total_seconds / 86400:.1f} d".replace(".0 d", " d")


def seconds(latency: str) -> float:
    """A latency objective (`250ms`, `1s`) in seconds."""
    return float(latency[:-2]) / 1000 if latency.endswith("ms") else float(latency[:-1])


def say_seconds(value: float) -> str:
    """Seconds as a latency the model file would write: `250ms`, `1s`."""
    return f"{value * 1000:g}ms" if value < 1 else f"{value:g}s"


_SUFFIX: dict[str, int | Decimal] = {"": 1, "m": Decimal("0.001"), "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18,
           "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}


def quantity(value: object) -> Decimal | None:
    """A Kubernetes quantity as a number, or None when it is not one (the schema reports that)."""
    match = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)([a-zA-Z]*)", str(value))
    if not match or match.group(2) not in _SUFFIX:
        return None
    return Decimal(match.group(1)) * Decimal(_SUFFIX[match.group(2)])
