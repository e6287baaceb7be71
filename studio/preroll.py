"""Pre-roll: shortly before a booking starts, the studio wakes up for it.

``preroll_minutes`` before the start of the next booking the studio powers the displays on
(display driver command ``power``), powers the PTZ heads on and recalls the presets chosen for the
booking. It runs once per booking (``bookings.preroll_at``), also late if the hub was down at that
moment and the booking is not over yet. The task sleeps until the next pre-roll is due and wakes
early when bookings change.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from classroom_hub.errors import swallowed
from studio.bookings import Booking, Bookings

log = logging.getLogger(__name__)

MAX_SLEEP_S = 60.0  # re-read the wall clock at least this often (NTP may step it)


class Preroll:
    def __init__(self, bookings: Bookings, wake_up: Callable[[Booking], Awaitable[dict[str, Any]]]) -> None:
        self.bookings = bookings
        self.wake_up = wake_up
        self._changed = asyncio.Event()
        self._remove = bookings.on_change(self._changed.set)

    def close(self) -> None:
        self._remove()

    async def run(self) -> None:
        while True:
            self._changed.clear()
            booking = await self.bookings.next_preroll()
            if booking is not None:
                delay = booking.starts_at - self.bookings.rules.preroll_s - self.bookings.clock()
                if delay <= 0:
                    await self._run_one(booking)
                    continue
            else:
                delay = MAX_SLEEP_S
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(delay, MAX_SLEEP_S))

    async def _run_one(self, booking: Booking) -> None:
        log.info("event=preroll_start booking=%s title=%r", booking.id, booking.title)
        try:
            report = await self.wake_up(booking)
        except Exception as err:  # one broken device must not stop the schedule
            swallowed("preroll_failed", booking=booking.id)
            report = {"error": str(err)}
        await self.bookings.mark_preroll(booking.id, report)
        log.info("event=preroll_done booking=%s report=%s", booking.id, report)
