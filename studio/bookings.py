"""Bookings of the studio: teachers reserve slots, with a buffer between them, and may cancel.

Rules (``BookingRules`` from the studio settings):

- a booking ends after it starts, lasts at most ``max_booking_hours`` and at least 10 minutes,
  and does not start in the past;
- two bookings that are not cancelled keep ``buffer_minutes`` between them (the studio is reset,
  cameras re-aimed, the next teacher miked): [start - buffer, end + buffer) may not overlap;
- the check and the insert run in one IMMEDIATE transaction, so two teachers clicking at the same
  moment cannot both get the slot;
- a cancelled booking keeps its row (the calendar feed tells subscribers it is cancelled).
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from classroom_hub.events import Listeners
from studio.errors import BookingConflict, BookingError, NotAllowed, NotFound
from studio.store import StudioStore

MIN_BOOKING_S = 10 * 60
PAST_GRACE_S = 60.0


@dataclass(frozen=True)
class BookingRules:
    buffer_s: float = 15 * 60
    max_s: float = 4 * 3600
    preroll_s: float = 5 * 60


@dataclass(frozen=True)
class Booking:
    id: str
    teacher: str
    teacher_name: str
    title: str
    starts_at: float
    ends_at: float
    presets: dict[str, int] = field(default_factory=dict)
    state: str = "booked"
    created_by: str = ""
    created_at: float = 0.0
    updated_at: float = 0.0
    sequence: int = 0
    cancelled_by: str | None = None
    preroll_at: float | None = None
    preroll_report: dict[str, Any] | None = None
    subject: str | None = None
    grade: str | None = None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Booking:
        data = dict(row)
        data["presets"] = json.loads(data["presets"])
        data["preroll_report"] = json.loads(data["preroll_report"]) if data["preroll_report"] else None
        return cls(**data)

    def as_dict(self, zone: ZoneInfo) -> dict[str, Any]:
        return {
            "id": self.id,
            "teacher": self.teacher,
            "teacher_name": self.teacher_name,
            "title": self.title,
            "starts_at": datetime.fromtimestamp(self.starts_at, zone).isoformat(),
            "ends_at": datetime.fromtimestamp(self.ends_at, zone).isoformat(),
            "presets": self.presets,
            "state": self.state,
            "preroll_at": self.preroll_at,
            "preroll_report": self.preroll_report,
            "subject": self.subject,
            "grade": self.grade,
        }


@dataclass(frozen=True)
class Actor:
    """Who asks: staff may act for any teacher; a teacher only for themselves."""

    username: str
    staff: bool


class Bookings:
    def __init__(self, store: StudioStore, rules: BookingRules, *, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.rules = rules
        self.clock = clock
        self._listeners: Listeners[[]] = Listeners("bookings_listener_failed")

    def on_change(self, listener: Callable[[], None]) -> Callable[[], None]:
        return self._listeners.add(listener)

    def _changed(self) -> None:
        self._listeners.emit()

    async def book(
        self,
        actor: Actor,
        *,
        teacher: str,
        teacher_name: str,
        title: str,
        starts_at: float,
        ends_at: float,
        presets: dict[str, int] | None = None,
        subject: str | None = None,
        grade: str | None = None,
    ) -> Booking:
        if not actor.staff and teacher != actor.username:
            raise NotAllowed("a teacher books only for themselves")
        title = title.strip()
        if not title:
            raise BookingError("title: give the lecture a title")
        length = ends_at - starts_at
        if length <= 0:
            raise BookingError("ends_at must be after starts_at")
        if length < MIN_BOOKING_S:
            raise BookingError(f"a booking lasts at least {MIN_BOOKING_S // 60} minutes")
        if length > self.rules.max_s:
            raise BookingError(f"a booking lasts at most {self.rules.max_s / 3600:g} hours")
        now = self.clock()
        if starts_at < now - PAST_GRACE_S:
            raise BookingError("starts_at is in the past")
        for camera, number in (presets or {}).items():
            if not 0 <= number <= 0x7F:
                raise BookingError(f"presets.{camera}: preset number must be 0..127")
        booking = Booking(
            id=uuid.uuid4().hex[:12], teacher=teacher, teacher_name=teacher_name or teacher, title=title,
            starts_at=starts_at, ends_at=ends_at, presets=dict(presets or {}), created_by=actor.username,
            created_at=now, updated_at=now, subject=(subject or "").strip() or None,
            grade=(grade or "").strip() or None,
        )  # fmt: skip
        buffer = self.rules.buffer_s

        def insert(conn: sqlite3.Connection) -> None:
            row = conn.execute(
                "SELECT * FROM bookings WHERE state = 'booked' AND starts_at < ? AND ends_at > ? "
                "ORDER BY starts_at LIMIT 1",
                (ends_at + buffer, starts_at - buffer),
            ).fetchone()
            if row is not None:
                other = Booking.from_row(row)
                overlaps = other.starts_at < ends_at and other.ends_at > starts_at
                why = "overlaps" if overlaps else f"is closer than the {buffer / 60:g}-minute buffer to"
                raise BookingConflict(f"this slot {why} booking {other.id!r} ({other.title}, {other.teacher_name})",
                                      other.id)  # fmt: skip
            conn.execute(
                "INSERT INTO bookings (id, teacher, teacher_name, title, starts_at, ends_at, presets, state, "
                "created_by, created_at, updated_at, subject, grade) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, 'booked', ?, ?, ?, ?, ?)",
                (booking.id, teacher, booking.teacher_name, title, starts_at, ends_at, json.dumps(booking.presets),
                 actor.username, now, now, booking.subject, booking.grade),
            )  # fmt: skip

        await self.store.write(insert)
        self._changed()
        return booking

    async def cancel(self, actor: Actor, booking_id: str) -> Booking:
        now = self.clock()

        def update(conn: sqlite3.Connection) -> Booking:
            booking = _get(conn, booking_id)
            if not actor.staff and booking.teacher != actor.username:
                raise NotAllowed("only the teacher who booked, or studio staff, may cancel")
            if booking.state == "cancelled":
                raise BookingError(f"booking {booking_id!r} is already cancelled")
            if booking.ends_at <= now:
                raise BookingError(f"booking {booking_id!r} is over")
            conn.execute(
                "UPDATE bookings SET state = 'cancelled', cancelled_by = ?, updated_at = ?, sequence = sequence + 1 "
                "WHERE id = ?",
                (actor.username, now, booking_id),
            )
            return _get(conn, booking_id)

        booking = await self.store.write(update)
        self._changed()
        return booking

    async def get(self, booking_id: str) -> Booking:
        return await self.store.run(lambda conn: _get(conn, booking_id))

    async def between(self, start: float, end: float, *, cancelled: bool = False) -> list[Booking]:
        states = ("booked", "cancelled") if cancelled else ("booked",)

        def query(conn: sqlite3.Connection) -> list[Booking]:
            rows = conn.execute(
                "SELECT * FROM bookings WHERE starts_at < ? AND ends_at > ? "
                f"AND state IN ({','.join('?' * len(states))}) ORDER BY starts_at",
                (end, start, *states),
            ).fetchall()
            return [Booking.from_row(r) for r in rows]

        return await self.store.run(query)

    async def current(self, now: float | None = None) -> Booking | None:
        """The booking whose time (from its pre-roll on) includes ``now``."""
        at = self.clock() if now is None else now
        found = await self.between(at, at + self.rules.preroll_s + 1e-6)
        return next((b for b in found if b.starts_at - self.rules.preroll_s <= at < b.ends_at), None)

    async def next_preroll(self) -> Booking | None:
        """The soonest booking whose pre-roll has not run yet and is not over."""
        now = self.clock()

        def query(conn: sqlite3.Connection) -> Booking | None:
            row = conn.execute(
                "SELECT * FROM bookings WHERE state = 'booked' AND preroll_at IS NULL AND ends_at > ? "
                "ORDER BY starts_at LIMIT 1",
                (now,),
            ).fetchone()
            return Booking.from_row(row) if row else None

        return await self.store.run(query)

    async def mark_preroll(self, booking_id: str, report: dict[str, Any]) -> None:
        now = self.clock()
        await self.store.run(
            lambda conn: conn.execute(
                "UPDATE bookings SET preroll_at = ?, preroll_report = ? WHERE id = ?",
                (now, json.dumps(report, ensure_ascii=False), booking_id),
            )
        )
        self._changed()

    async def for_feed(self, since: float) -> list[Booking]:
        def query(conn: sqlite3.Connection) -> list[Booking]:
            rows = conn.execute("SELECT * FROM bookings WHERE ends_at > ? ORDER BY starts_at", (since,)).fetchall()
            return [Booking.from_row(r) for r in rows]

        return await self.store.run(query)


def _get(conn: sqlite3.Connection, booking_id: str) -> Booking:
    row = conn.execute("SELECT * FROM bookings WHERE id = ?", (booking_id,)).fetchone()
    if row is None:
        raise NotFound(f"no booking {booking_id!r}")
    return Booking.from_row(row)
