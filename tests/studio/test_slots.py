"""The teachers' slots: free, taken, too close to another booking, past, and closed days."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from studio.bookings import Booking
from studio.slots import SlotPlan, day_slots, slot_days

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
PLAN = SlotPlan(7 * 60, 12 * 60, 45 * 60.0, 15 * 60.0, (1, 2, 3, 4, 5, 6), ZONE)
MONDAY = date(2030, 3, 4)


def at(hhmm: str, day: date = MONDAY) -> float:
    hours, minutes = map(int, hhmm.split(":"))
    return datetime(day.year, day.month, day.day, hours, minutes, tzinfo=ZONE).timestamp()


def booking(start: str, end: str, state: str = "booked") -> Booking:
    return Booking(id=start, teacher="thay.minh", teacher_name="Thầy Minh", title="Hóa học", starts_at=at(start),
                   ends_at=at(end), state=state)  # fmt: skip


def test_slots_keep_the_buffer_and_name_what_blocks_them() -> None:
    staff_odd_time = booking("09:50", "10:20")  # booked by staff between two slots
    cancelled = booking("07:00", "07:45", state="cancelled")
    slots = day_slots(MONDAY, [staff_odd_time, cancelled], PLAN, now=at("07:30"))
    starts = [datetime.fromtimestamp(s.starts_at, ZONE).strftime("%H:%M") for s in slots]
    assert starts == ["07:00", "08:00", "09:00", "10:00", "11:00"]  # 45 minutes, 15 apart, until 12:00
    assert [s.state for s in slots] == ["past", "free", "blocked", "taken", "free"]
    assert slots[2].booking is staff_odd_time and slots[3].booking is staff_odd_time
    assert all(s.ends_at - s.starts_at == 45 * 60 for s in slots)


def test_the_studio_is_closed_on_sunday() -> None:
    days = slot_days(date(2030, 3, 9), 3, [], PLAN, now=0.0)  # Saturday, Sunday, Monday
    assert [(d.isoweekday(), len(s)) for d, s in days] == [(6, 5), (7, 0), (1, 5)]
