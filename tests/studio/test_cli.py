"""``classroom-hub studio ...`` on a room file: today's bookings, the outbox, crash repair."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from classroom_hub.cli import main
from studio.bookings import Actor, BookingRules, Bookings
from studio.store import StudioStore

ROOM = """
data_dir = "{data}"
[room]
school_code = "SO-GDDT"
id = "studio-1"
name = "Phòng thu"
kind = "studio"
"""


async def _book(folder: Path) -> None:
    store = StudioStore(folder / "studio.db")
    await store.open()
    now = time.time()
    await Bookings(store, BookingRules()).book(
        Actor("ky.thuat", staff=True), teacher="co.lan", teacher_name="Cô Lan", title="Địa lý 6",
        starts_at=now + 600, ends_at=now + 2400,
    )  # fmt: skip
    await store.close()


def test_today_lists_the_bookings_and_recover_finds_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    room = tmp_path / "studio.toml"
    room.write_text(ROOM.format(data=tmp_path / "hub"))
    asyncio.run(_book(tmp_path / "hub" / "studio"))

    assert main(["studio", "today", "-c", str(room), "--days", "2"]) == 0
    listed = capsys.readouterr().out
    assert "Cô Lan" in listed and "Địa lý 6" in listed
    assert main(["studio", "outbox", "-c", str(room)]) == 0
    assert "0 waiting" in capsys.readouterr().out
    assert main(["studio", "recover", "-c", str(room)]) == 0
    assert "0 recording(s) recovered" in capsys.readouterr().out
