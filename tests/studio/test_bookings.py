"""Bookings: no overlaps, a buffer between bookings, cancellation, who may book for whom."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from studio.bookings import Actor, BookingRules, Bookings
from studio.errors import BookingConflict, BookingError, NotAllowed
from studio.store import StudioStore

T0 = 1_900_000_000.0  # a fixed "now" (2030-03-17)
HOUR = 3600.0
STAFF = Actor("ky.thuat", staff=True)
LAN = Actor("co.lan", staff=False)
MINH = Actor("thay.minh", staff=False)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def bookings(tmp_path: Path) -> AsyncIterator[Bookings]:
    store = StudioStore(tmp_path / "studio.db")
    await store.open()
    try:
        yield Bookings(store, BookingRules(buffer_s=15 * 60, max_s=4 * HOUR, preroll_s=5 * 60), clock=Clock())
    finally:
        await store.close()


async def _book(bookings: Bookings, who: Actor, start: float, end: float, title: str = "Bài giảng") -> str:
    booking = await bookings.book(who, teacher=who.username, teacher_name=who.username, title=title,
                                  starts_at=start, ends_at=end)  # fmt: skip
    return booking.id


async def test_overlapping_and_too_close_slots_are_refused_with_the_other_booking_named(bookings: Bookings) -> None:
    first = await _book(bookings, LAN, T0 + 2 * HOUR, T0 + 3 * HOUR, "Hàm số bậc nhất")
    with pytest.raises(BookingConflict, match="overlaps") as overlap:
        await _book(bookings, MINH, T0 + 2.5 * HOUR, T0 + 3.5 * HOUR)
    assert overlap.value.other_id == first
    # Ten minutes after the end is inside the 15-minute buffer; so is ten minutes before the start.
    with pytest.raises(BookingConflict, match="15-minute buffer"):
        await _book(bookings, MINH, T0 + 3 * HOUR + 600, T0 + 4 * HOUR)
    with pytest.raises(BookingConflict, match="buffer"):
        await _book(bookings, MINH, T0 + HOUR, T0 + 2 * HOUR - 600)
    # Exactly the buffer apart is fine, on both sides.
    await _book(bookings, MINH, T0 + 3 * HOUR + 900, T0 + 4 * HOUR)
    await _book(bookings, MINH, T0 + HOUR, T0 + 2 * HOUR - 900)
    assert len(await bookings.between(T0, T0 + 5 * HOUR)) == 3


async def test_cancelling_frees_the_slot_and_only_the_owner_or_staff_may_cancel(bookings: Bookings) -> None:
    first = await _book(bookings, LAN, T0 + HOUR, T0 + 2 * HOUR)
    with pytest.raises(NotAllowed):
        await bookings.cancel(MINH, first)
    cancelled = await bookings.cancel(LAN, first)
    assert cancelled.state == "cancelled" and cancelled.sequence == 1 and cancelled.cancelled_by == "co.lan"
    with pytest.raises(BookingError, match="already cancelled"):
        await bookings.cancel(STAFF, first)
    await _book(bookings, MINH, T0 + HOUR, T0 + 2 * HOUR)
    assert [b.teacher for b in await bookings.between(T0, T0 + 3 * HOUR, cancelled=True)] == ["co.lan", "thay.minh"]
    assert [b.teacher for b in await bookings.between(T0, T0 + 3 * HOUR)] == ["thay.minh"]


async def test_bad_requests_are_refused_with_the_reason(bookings: Bookings) -> None:
    with pytest.raises(BookingError, match="past"):
        await _book(bookings, LAN, T0 - HOUR, T0 - 0.5 * HOUR)
    with pytest.raises(BookingError, match="after"):
        await _book(bookings, LAN, T0 + HOUR, T0 + HOUR)
    with pytest.raises(BookingError, match="at most 4 hours"):
        await _book(bookings, LAN, T0 + HOUR, T0 + 6 * HOUR)
    with pytest.raises(BookingError, match="at least 10 minutes"):
        await _book(bookings, LAN, T0 + HOUR, T0 + HOUR + 300)
    with pytest.raises(NotAllowed):
        await bookings.book(LAN, teacher="thay.minh", teacher_name="x", title="t", starts_at=T0 + HOUR,
                            ends_at=T0 + 2 * HOUR)  # fmt: skip
    staff_booked = await bookings.book(STAFF, teacher="thay.minh", teacher_name="Thầy Minh", title="Hóa học",
                                       starts_at=T0 + HOUR, ends_at=T0 + 2 * HOUR)  # fmt: skip
    assert staff_booked.teacher == "thay.minh" and staff_booked.created_by == "ky.thuat"


async def test_two_teachers_clicking_at_once_cannot_both_get_the_slot(bookings: Bookings) -> None:
    results = await asyncio.gather(
        *(_book(bookings, who, T0 + HOUR, T0 + 2 * HOUR) for who in (LAN, MINH, STAFF)), return_exceptions=True
    )
    assert sum(isinstance(r, str) for r in results) == 1
    assert sum(isinstance(r, BookingConflict) for r in results) == 2


async def test_the_current_booking_includes_its_pre_roll(bookings: Bookings) -> None:
    booking = await _book(bookings, LAN, T0 + 10 * 60, T0 + HOUR)
    assert await bookings.current() is None  # 10 minutes to go, pre-roll is 5
    assert isinstance(bookings.clock, Clock)
    bookings.clock.now = T0 + 6 * 60
    current = await bookings.current()
    assert current is not None and current.id == booking
    bookings.clock.now = T0 + HOUR
    assert await bookings.current() is None
