"""Small statistics helpers of the benchmark suite (tested in tests/benchmarks_support)."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(values: Sequence[float], pct: float) -> float:
    """The `pct`-th percentile (0–100) with linear interpolation between closest ranks,
    the same definition as numpy's default ("linear")."""
    if not values:
        raise ValueError("percentile of an empty sequence")
    if not 0 <= pct <= 100:
        raise ValueError("pct must be within 0..100")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100
    low = math.floor(rank)
    high = math.ceil(rank)
    if low == high:
        return float(ordered[low])
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def figure_line(name: str, samples_ms: Sequence[float], **extra) -> str:
    """One printed line per figure: `name p50=…ms p95=…ms key=value … n=N`."""
    parts = [
        name,
        f"p50={percentile(samples_ms, 50):.1f}ms",
        f"p95={percentile(samples_ms, 95):.1f}ms",
    ]
    parts += [f"{k}={v}" for k, v in extra.items()]
    parts.append(f"n={len(samples_ms)}")
    return " ".join(parts)


def verdict(p95_ms: float, target_ms: float | None) -> str:
    """ "ok" when within target, "MISS" when not, "-" when the figure has no target."""
    if target_ms is None:
        return "-"
    return "ok" if p95_ms <= target_ms else "MISS"
