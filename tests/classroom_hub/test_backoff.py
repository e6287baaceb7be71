"""The one backoff: doubling waits up to a ceiling, back to the start after a success, jittered or exact."""

from __future__ import annotations

from classroom_hub.backoff import Backoff


def test_exact_waits_double_up_to_the_ceiling_and_start_again_after_a_success() -> None:
    backoff = Backoff(0.5, 10.0, jitter="none")
    assert [backoff.next() for _ in range(7)] == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    backoff.reset()
    assert backoff.next() == 0.5


def test_equal_jitter_keeps_half_of_each_wait_and_spreads_the_rest() -> None:
    backoff = Backoff(1.0, 8.0)
    for step in [1.0, 2.0, 4.0, 8.0, 8.0]:
        assert step / 2 <= backoff.next() <= step
    # 200 clients that failed at once: their first retries are spread, not in step.
    first = [Backoff(1.0, 8.0).next() for _ in range(200)]
    assert all(0.5 <= w <= 1.0 for w in first) and len(set(first)) > 150


def test_a_long_outage_does_not_overflow() -> None:
    backoff = Backoff(0.1, 300.0, jitter="none")
    for _ in range(10_000):
        wait = backoff.next()
    assert wait == 300.0
