"""Statistics of a run over a selected range: count, min, max, mean and a least-squares line.

The line is value = slope * t + intercept with t in seconds from the run's start (its
trigger), with r² - what a lab logger's "linear fit" tool shows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class SeriesStats:
    key: str
    n: int
    min: float | None = None
    max: float | None = None
    mean: float | None = None
    slope: float | None = None  # per second
    intercept: float | None = None
    r2: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def series_stats(key: str, points: Sequence[tuple[float, float]]) -> SeriesStats:
    """``points`` are (t seconds, value); a fit needs two different times."""
    n = len(points)
    if n == 0:
        return SeriesStats(key, 0)
    values = [v for _, v in points]
    mean = math.fsum(values) / n
    stats = SeriesStats(key, n, min(values), max(values), mean)
    mean_t = math.fsum(t for t, _ in points) / n
    sxx = math.fsum((t - mean_t) ** 2 for t, _ in points)
    if n < 2 or sxx == 0:
        return stats
    sxy = math.fsum((t - mean_t) * (v - mean) for t, v in points)
    syy = math.fsum((v - mean) ** 2 for v in values)
    slope = sxy / sxx
    r2 = 1.0 if syy == 0 else (sxy * sxy) / (sxx * syy)
    return SeriesStats(key, n, stats.min, stats.max, mean, slope, mean - slope * mean_t, r2)
