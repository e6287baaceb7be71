"""The iCalendar feed, read back by a strict RFC 5545 reader written from the RFC, not from our writer."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from studio.bookings import Booking
from studio.calendar import calendar, fold

NOW = 1_900_000_000.0
LONG_TITLE = (
    "Ôn tập chương 3: Phương trình, bất phương trình; hệ phương trình \\ bậc nhất hai ẩn - luyện thi vào lớp 10"
)


def _booking(**values: object) -> Booking:
    base: dict[str, object] = dict(
        id="b1", teacher="co.lan", teacher_name="Cô Lan, tổ Toán", title=LONG_TITLE, starts_at=NOW + 3600,
        ends_at=NOW + 7200, created_at=NOW, updated_at=NOW,
    )  # fmt: skip
    base.update(values)
    return Booking(**base)  # type: ignore[arg-type]


def _read(feed: bytes) -> list[dict[str, str]]:
    """Parse per RFC 5545: CRLF lines of <= 75 octets (3.1), unfold, name[;params]:value, nested BEGIN/END."""
    text = feed.decode("utf-8")
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    physical = text.split("\r\n")[:-1]
    assert all(len(line.encode("utf-8")) <= 75 for line in physical)
    logical: list[str] = []
    for line in physical:
        if line.startswith((" ", "\t")):
            logical[-1] += line[1:]
        else:
            logical.append(line)
    stack: list[str] = []
    events: list[dict[str, str]] = []
    for line in logical:
        match = re.match(r"^([A-Za-z0-9-]+)((?:;[A-Za-z0-9-]+=(?:\"[^\"]*\"|[^\";:,]*))*):(.*)$", line)
        assert match, f"not a content line: {line!r}"
        name, value = match[1].upper(), match[3]
        if name == "BEGIN":
            stack.append(value)
            if value == "VEVENT":
                events.append({})
        elif name == "END":
            assert stack.pop() == value
        elif stack[-1] == "VEVENT":
            events[-1][name] = value
    assert not stack
    return events


def _unescape(value: str) -> str:
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m[1] in "nN" else m[1], value)


def test_the_feed_parses_with_every_required_property_and_the_text_intact() -> None:
    feed = calendar([_booking(), _booking(id="b2", title="Vật lý\n10", state="cancelled", sequence=1)],
                    room_id="studio-1", room_name="Phòng thu", now=NOW).encode()  # fmt: skip
    assert feed.startswith(b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:")
    first, second = _read(feed)
    assert first["UID"] == "b1@studio-1"
    assert first["DTSTAMP"] == datetime.fromtimestamp(NOW, UTC).strftime("%Y%m%dT%H%M%SZ")
    assert datetime.strptime(first["DTSTART"], "%Y%m%dT%H%M%S%z").timestamp() == NOW + 3600
    assert datetime.strptime(first["DTEND"], "%Y%m%dT%H%M%S%z").timestamp() == NOW + 7200
    assert _unescape(first["SUMMARY"]) == LONG_TITLE
    assert _unescape(first["DESCRIPTION"]) == "Cô Lan, tổ Toán (co.lan)"
    assert (first["STATUS"], first["SEQUENCE"]) == ("CONFIRMED", "0")
    assert (second["STATUS"], second["SEQUENCE"]) == ("CANCELLED", "1")
    assert _unescape(second["SUMMARY"]) == "Vật lý\n10"


def test_folding_never_splits_a_utf8_character() -> None:
    line = "SUMMARY:" + "ệ" * 60  # 3 octets each
    folded = fold(line)
    for part in folded.split("\r\n"):
        assert len(part.encode("utf-8")) <= 75
        part.encode("utf-8").decode("utf-8")  # each physical line is valid UTF-8 on its own
    assert folded.replace("\r\n ", "") == line
