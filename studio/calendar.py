"""The studio's bookings as an iCalendar feed (RFC 5545), for any calendar app to subscribe to.

What the feed follows (RFC 5545 section numbers):

- 3.1: content lines end with CRLF and are folded at 75 octets (a CRLF and one space), never
  inside a UTF-8 character; 3.3.11: TEXT values escape backslash, semicolon, comma and newline;
- 3.4/3.6: one VCALENDAR with VERSION:2.0 and PRODID, one VEVENT per booking;
- 3.8.4.7 UID (stable: the booking id @ room), 3.8.7.2 DTSTAMP, 3.3.5 date-times in UTC form
  (``19980119T070000Z``), 3.8.7.4 SEQUENCE (raised on cancellation), 3.8.1.11 STATUS
  CONFIRMED / CANCELLED: a subscriber removes a cancelled booking instead of keeping it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from studio.bookings import Booking

PRODID = "-//classroom-hub//studio bookings//VI"
MAX_OCTETS = 75


def escape_text(value: str) -> str:
    return (
        value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\r\n", "\\n").replace("\n", "\\n")
    )


def utc_stamp(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y%m%dT%H%M%SZ")


def fold(line: str) -> str:
    """One content line, folded so that no physical line exceeds 75 octets."""
    out: list[str] = []
    current = ""
    size = 0
    limit = MAX_OCTETS
    for char in line:
        n = len(char.encode("utf-8"))
        if size + n > limit:
            out.append(current)
            current, size, limit = " ", 1, MAX_OCTETS  # the leading space counts
        current += char
        size += n
    out.append(current)
    return "\r\n".join(out)


def calendar(bookings: Iterable[Booking], *, room_id: str, room_name: str, now: float) -> str:
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape_text(room_name)}",
    ]
    for booking in bookings:
        lines += [
            "BEGIN:VEVENT",
            f"UID:{booking.id}@{room_id}",
            f"DTSTAMP:{utc_stamp(now)}",
            f"DTSTART:{utc_stamp(booking.starts_at)}",
            f"DTEND:{utc_stamp(booking.ends_at)}",
            f"SUMMARY:{escape_text(booking.title)}",
            f"DESCRIPTION:{escape_text(f'{booking.teacher_name} ({booking.teacher})')}",
            f"LOCATION:{escape_text(room_name)}",
            f"ORGANIZER;CN={_param(booking.teacher_name)}:urn:classroom-hub:user:{booking.teacher}",
            f"STATUS:{'CANCELLED' if booking.state == 'cancelled' else 'CONFIRMED'}",
            f"SEQUENCE:{booking.sequence}",
            f"CREATED:{utc_stamp(booking.created_at)}",
            f"LAST-MODIFIED:{utc_stamp(booking.updated_at)}",
            "TRANSP:OPAQUE",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)


def _param(value: str) -> str:
    """A parameter value (3.2): quoted when it holds ':' ';' ','; DQUOTE itself is not allowed."""
    clean = value.replace('"', "'").replace("\r", " ").replace("\n", " ")
    return f'"{clean}"' if any(c in clean for c in ":;,") else clean
