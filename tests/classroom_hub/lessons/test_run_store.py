"""``lessons.db`` as the tablets and the technician see it: no ``answered`` while the answer cannot be
written (and ``/healthz`` says why, ``/metrics`` counts it), the answer acknowledged once the disk
takes it again, without a restart; an ended lesson's rows gone when the next one is launched."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import sqlite3
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from classroom_hub.lessons.run_store import RUNS_FILE, SCHEMA
from classroom_hub.storage.sqlite import open_connection
from tests.classroom_hub.lessons.test_sync_protocol import FAST_BEATS, STEP, open_room, students
from tests.conftest import RunningHub, add_user


async def health(url: str) -> tuple[int, dict[str, object]]:
    async with aiohttp.ClientSession() as http, http.get(f"{url}/healthz") as response:
        return response.status, await response.json()


async def metric(url: str, name: str) -> float:
    async with aiohttp.ClientSession() as http, http.get(f"{url}/metrics") as response:
        for line in (await response.text()).splitlines():
            if line.startswith(f"classroom_hub_{name} "):
                return float(line.split()[1])
    raise AssertionError(f"no {name} in /metrics")


async def lesson_alarms(hub: RunningHub) -> list[dict[str, Any]]:
    """The active alarms of the lessons on the technician's API (what /tech lists)."""
    username = f"kt-{secrets.token_hex(3)}"
    password = await add_user(hub, username, "technician")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        login = await http.post(f"{hub.url}/login", allow_redirects=False,
                                data={"username": username, "password": password})  # fmt: skip
        assert login.status == 302
        async with http.get(f"{hub.url}/api/alarms") as response:
            body = await response.json()
    return [a for a in body["active"] if a["source"] == "lessons"]


async def health_until(url: str, status: int, timeout: float = 30.0) -> dict[str, object]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        got, body = await health(url)
        if got == status:
            return body
        assert asyncio.get_running_loop().time() < deadline, f"/healthz stayed {got}: {body}"
        await asyncio.sleep(0.1)


@pytest.mark.timeout(120)  # the hub waits 5 s for the write lock before it calls the write failed
async def test_no_answered_while_the_answer_cannot_be_stored_and_it_heals(
    tmp_path: Path, system_mosquitto_url: str
) -> None:
    async with open_room(tmp_path, system_mosquitto_url, FAST_BEATS) as room:
        await room.launch()
        (ana,) = [await room.seat(s) for s in students(1)]
        await room.step_to(STEP["q1"])
        await room.teacher.command("question", action="start")
        await ana.wait(lambda c: c.state["question"]["state"] == "open")
        path = tmp_path / "hub" / RUNS_FILE
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # another writer holds the file (a stuck tool, a copy in progress)
        try:
            answer = await ana.answer("cau-1-vi-khuan", choice=["b"])
            seen = await health_until(room.hub.url, 503)
            assert seen["parts"]["lessons"] == "down"  # type: ignore[index]
            assert "the running lesson cannot be saved" in seen["reasons"]["lessons"]  # type: ignore[index]
            assert "locked" in seen["reasons"]["lessons"]  # type: ignore[index]
            assert answer not in ana.answered  # not stored, so not acknowledged
            assert await metric(room.hub.url, "lesson_saving_failing") == 1
            assert await metric(room.hub.url, "answers_unacknowledged") == 1
            (alarm,) = await lesson_alarms(room.hub)  # on /tech, with the true reason
            assert (alarm["device_id"], alarm["kind"]) == ("lessons.db", "lesson_not_saved")
            assert "locked" in alarm["detail"]
        finally:
            with contextlib.suppress(sqlite3.Error):
                blocker.execute("ROLLBACK")
            blocker.close()
        await ana.wait(lambda c: answer in c.answered, timeout=30)
        assert ana.answered[answer]["duplicate"] is False
        await health_until(room.hub.url, 200)
        assert await metric(room.hub.url, "lesson_saving_failing") == 0
        assert await metric(room.hub.url, "answers_unacknowledged") == 0
        assert await metric(room.hub.url, "lesson_write_errors_total") >= 1
        assert await lesson_alarms(room.hub) == []


async def test_an_ended_lesson_is_removed_from_the_file_when_the_next_is_launched(
    tmp_path: Path, system_mosquitto_url: str
) -> None:
    async with open_room(tmp_path, system_mosquitto_url, FAST_BEATS) as room:
        first = await room.launch()
        await room.seat("hs-7a-01")
        await room.teacher.command("end")
        await room.teacher.wait(lambda c: c.summary is not None)
        old_run = room.teacher.run
        await room.teacher.command("launch", lesson="vong-tuan-hoan-nuoc-aquaponics", **{"class": "khtn-7a"})
        await room.teacher.wait(lambda c: c.run != old_run and c.state.get("code") not in (None, first))
        await room.teacher.command("resume", rev=room.teacher.rev)  # answered once on disk
        await room.teacher.wait(lambda c: any('"since"' in f for f in c.frames[-3:]))
        with contextlib.closing(sqlite3.connect(tmp_path / "hub" / RUNS_FILE)) as db:
            runs = [row[0] for row in db.execute("SELECT id FROM runs")]
            seats = db.execute("SELECT count(*) FROM seats WHERE run = ?", (old_run,)).fetchone()[0]
        assert runs == [room.teacher.run] and seats == 0


async def test_a_saved_lesson_the_hub_cannot_read_does_not_stop_it(
    tmp_path: Path, system_mosquitto_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "hub"
    with contextlib.closing(open_connection(data / RUNS_FILE, SCHEMA)) as db:
        db.execute("INSERT INTO runs (id, started_at, record) VALUES ('r-1', 1, ?)",
                   ('{"lesson": "vong-tuan-hoan-nuoc-aquaponics", "students": "not a list"}',))  # fmt: skip
        db.execute("INSERT INTO runs (id, started_at, record) VALUES ('r-0', 0, '{}')")
    async with open_room(tmp_path, system_mosquitto_url, FAST_BEATS) as room:
        assert room.classroom.run is None
        assert "event=lesson_not_resumed" in caplog.text and "r-1" not in room.teacher.frames[0]
        await room.launch()  # the room teaches on
        assert (await health(room.hub.url))[0] == 200
