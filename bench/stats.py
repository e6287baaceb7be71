"""The one percentile definition every bench script uses: nearest rank.

The p-th percentile of n samples (0 < p <= 100) is the smallest sample with at least p % of
the samples at or below it: the ceil(p / 100 * n)-th smallest, counting from 1. It is always a
value that was measured: it never interpolates between two samples and never extrapolates
past the largest. So with fewer than 100 samples p99 is the maximum, and p50 of an even number
of samples is the lower of the two middle ones.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

DEFINITION = "nearest-rank"


def percentile(samples: Iterable[float], p: float) -> float:
    """The nearest-rank ``p``-th percentile of ``samples`` (ValueError for none, or p outside (0, 100])."""
    ordered = sorted(samples)
    if not ordered:
        raise ValueError("no samples: a percentile of nothing is not a measurement")
    if not 0 < p <= 100:
        raise ValueError(f"percentile {p} is not in (0, 100]")
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


def summary(samples: Iterable[float], digits: int = 1) -> dict[str, float]:
    """p50, p99 and max, rounded to ``digits``: the shape every bench prints its latencies in."""
    ordered = sorted(samples)
    return {
        "p50": round(percentile(ordered, 50), digits),
        "p99": round(percentile(ordered, 99), digits),
        "max": round(ordered[-1], digits),
    }
