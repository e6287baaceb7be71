"""The studio's calendar as teachers book it: fixed slots over the coming days, free or taken.

A day's slots start when the studio opens (``booking_hours``) and follow each other
``slot_minutes`` long and ``buffer_minutes`` apart, so two booked slots keep exactly the buffer
the booking rules demand (studio/bookings.py). A slot is

- ``taken`` when a booking overlaps it (the booking is named),
- ``blocked`` when a booking is closer to it than the buffer (staff booked an odd time),
- ``past`` when it has begun (it could no longer be booked),
- ``free`` otherwise: booking it as it is will be accepted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from studio.bookings import PAST_GRACE_S, Booking

SlotState = Literal["free", "taken", "blocked", "past"]


@dataclass(frozen=True)
class Slot:
    starts_at: float
    ends_at: float
    state: SlotState
    booking: Booking | None = None

    def as_dict(self, zone: ZoneInfo, teacher: str) -> dict[str, Any]:
        booking = self.booking
        return {
            "starts_at": datetime.fromtimestamp(self.starts_at, zone).isoformat(),
            "ends_at": datetime.fromtimestamp(self.ends_at, zone).isoformat(),
            "state": self.state,
            "booking": None if booking is None else {
                "id": booking.id, "title": booking.title, "teacher_name": booking.teacher_name,
                "mine": booking.teacher == teacher,
            },
        }  # fmt: skip


@dataclass(frozen=True)
class SlotPlan:
    opens_min: int  # minutes after midnight
    closes_min: int
    slot_s: float
    buffer_s: float
    weekdays: tuple[int, ...]  # ISO: 1 = Monday
    zone: ZoneInfo


def day_slots(day: date, bookings: Iterable[Booking], plan: SlotPlan, now: float) -> list[Slot]:
    """The slots of ``day`` (none on a day the studio is closed)."""
    if day.isoweekday() not in plan.weekdays:
        return []
    booked = [b for b in bookings if b.state == "booked"]
    midnight = datetime(day.year, day.month, day.day, tzinfo=plan.zone)
    start = midnight + timedelta(minutes=plan.opens_min)
    closes = midnight + timedelta(minutes=plan.closes_min)
    step = timedelta(seconds=plan.slot_s + plan.buffer_s)
    slots = []
    while start + timedelta(seconds=plan.slot_s) <= closes:
        begin = start.timestamp()
        end = begin + plan.slot_s
        overlapping = next((b for b in booked if b.starts_at < end and b.ends_at > begin), None)
        near = next((b for b in booked if b.starts_at < end + plan.buffer_s and b.ends_at > begin - plan.buffer_s),
                    None)  # fmt: skip
        if overlapping is not None:
            slots.append(Slot(begin, end, "taken", overlapping))
        elif near is not None:
            slots.append(Slot(begin, end, "blocked", near))
        elif begin < now - PAST_GRACE_S:
            slots.append(Slot(begin, end, "past"))
        else:
            slots.append(Slot(begin, end, "free"))
        start += step
    return slots


def slot_days(
    first: date, days: int, bookings: list[Booking], plan: SlotPlan, now: float
) -> list[tuple[date, list[Slot]]]:
    """``days`` days from ``first``, each with its slots (an empty list: the studio is closed that day)."""
    return [(day, day_slots(day, bookings, plan, now)) for day in (first + timedelta(days=n) for n in range(days))]
