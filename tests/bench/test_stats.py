"""bench/stats.py: the nearest-rank percentile every bench script prints."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_stats() -> ModuleType:
    # bench/ is a folder of scripts, not a package: load the module from its file.
    spec = importlib.util.spec_from_file_location("bench_stats", ROOT / "bench" / "stats.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


stats = load_stats()


def test_nearest_rank_picks_a_measured_sample() -> None:
    samples = [35.0, 20.0, 15.0, 50.0, 40.0]  # the textbook example, unordered
    assert [stats.percentile(samples, p) for p in (5, 30, 40, 50, 100)] == [15.0, 20.0, 20.0, 35.0, 50.0]


def test_p99_of_fewer_than_a_hundred_samples_is_the_largest_never_beyond() -> None:
    samples = [float(n) for n in range(1, 21)]
    assert stats.percentile(samples, 99) == 20.0
    assert stats.percentile(samples, 50) == 10.0  # the lower middle sample, not 10.5
    assert stats.summary(samples) == {"p50": 10.0, "p99": 20.0, "max": 20.0}


def test_p99_of_a_thousand_samples_leaves_out_the_ten_largest() -> None:
    samples = [float(n) for n in range(1000, 0, -1)]
    assert stats.percentile(samples, 99) == 990.0


def test_no_samples_or_an_impossible_percentile_is_an_error() -> None:
    with pytest.raises(ValueError, match="no samples"):
        stats.percentile([], 50)
    with pytest.raises(ValueError, match="not in"):
        stats.percentile([1.0], 0)
