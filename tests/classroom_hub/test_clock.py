"""The fake clock: time moves only when the test says, and every sleeper wakes at its own time."""

from __future__ import annotations

import asyncio

import pytest

from classroom_hub.clock import DEFAULT_START, FakeClock


async def test_sleepers_wake_in_order_each_at_its_own_time() -> None:
    clock = FakeClock()
    woke: list[tuple[str, float]] = []

    async def ticker(name: str, every: float, times: int) -> None:
        for _ in range(times):
            await clock.sleep(every)
            woke.append((name, clock.monotonic()))

    tasks = [asyncio.create_task(ticker("beat", 2.0, 3)), asyncio.create_task(ticker("watch", 5.0, 1))]
    await clock.advance(4.0)
    assert woke == [("beat", 2.0), ("beat", 4.0)]
    await clock.advance(10.0)
    assert woke == [("beat", 2.0), ("beat", 4.0), ("watch", 5.0), ("beat", 6.0)]
    assert clock.monotonic() == 14.0 and clock.time() == DEFAULT_START + 14.0  # wall time moves along
    await asyncio.gather(*tasks)
    assert clock.sleepers == 0


async def test_a_cancelled_sleeper_is_skipped_and_time_never_goes_back() -> None:
    clock = FakeClock()
    sleeper = asyncio.create_task(clock.sleep(1.0))
    await clock.advance(0)
    assert clock.sleepers == 1
    sleeper.cancel()
    await clock.advance(5.0)
    assert sleeper.cancelled() and clock.sleepers == 0
    with pytest.raises(ValueError):
        await clock.advance(-1)
