"""Time as a part the hub is given, so tests can make it pass instead of waiting for it.

Parts that measure or wait for time (the lesson heartbeat, the login and join throttles,
sessions, device timeouts) take a :class:`Clock`; the hub runs with :data:`SYSTEM`. A test
gives them a :class:`FakeClock` and moves it on with ``await clock.advance(seconds)``: every
sleeper whose time has come wakes, in order, and runs until it waits again, before the clock
moves further. Nothing here imports the hub.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from typing import Protocol

DEFAULT_START = 1_767_225_600.0  # 2026-01-01 00:00 UTC: a fake clock's wall time starts here


class Clock(Protocol):
    def time(self) -> float:
        """Wall-clock seconds since the epoch (timestamps, expiry dates)."""
        ...

    def monotonic(self) -> float:
        """Seconds that only go forward (intervals, timeouts)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's time."""
        ...


class SystemClock:
    """The real clock."""

    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


SYSTEM: Clock = SystemClock()


class FakeClock:
    """A clock that moves only when a test says so; wall time and monotonic time move together."""

    # How many turns of the event loop a woken sleeper gets to reach its next wait: enough for
    # a task that wakes, sends a message to another task and waits for its answer.
    SETTLE_TURNS = 20

    def __init__(self, start: float = DEFAULT_START) -> None:
        self._offset = start
        self._now = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def time(self) -> float:
        return self._offset + self._now

    def monotonic(self) -> float:
        return self._now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        wake = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._now + seconds, next(self._order), wake))
        await wake  # cancelling the sleeper cancels the future: advance() skips it

    @property
    def sleepers(self) -> int:
        """How many are waiting for this clock now."""
        return sum(1 for _at, _n, wake in self._sleepers if not wake.done())

    async def advance(self, seconds: float) -> None:
        """Move time on by ``seconds``, waking each sleeper at its own time, earliest first."""
        if seconds < 0:
            raise ValueError("time does not go back")
        target = self._now + seconds
        await self._settle()
        while self._sleepers and self._sleepers[0][0] <= target:
            at, _n, wake = heapq.heappop(self._sleepers)
            if wake.done():
                continue
            self._now = max(self._now, at)
            wake.set_result(None)
            await self._settle()
        self._now = target
        await self._settle()

    async def _settle(self) -> None:
        for _ in range(self.SETTLE_TURNS):
            await asyncio.sleep(0)
