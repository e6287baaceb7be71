"""The lesson protocol against a real hub: 40 tablets, a teacher and a display on real sockets."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from classroom_hub.app import STORE
from classroom_hub.clock import SYSTEM, Clock, FakeClock
from classroom_hub.lessons.keys import LESSONS
from classroom_hub.lessons.protocol import SERVER_MESSAGE
from classroom_hub.lessons.simulator import LessonClient
from classroom_hub.xapi import statement_id
from tests.classroom_hub.lessons.conftest import pair_display
from tests.conftest import RunningHub, add_user, room_settings, run_hub, wait_for

DEMO_USERS = Path(__file__).resolve().parents[3] / "classroom_hub/roster/samples/demo-school/users.csv"
LESSON = "vong-tuan-hoan-nuoc-aquaponics"
CLASS = "khtn-7a"
STEP = {"poll": 1, "slide": 2, "q1": 9, "q2": 10, "q4": 12}  # indexes in the sample lesson

_rooms = 0


# Beats five times as often as in a classroom, so link quality shows and a silent tablet is cut within a second.
FAST_BEATS = {"beat_s": 0.2, "dead_after_s": 1.0, "screens_every_s": 0.05}


def demo_room(tmp_path: Path, broker_url: str, lessons: dict[str, float] | None = None) -> Any:
    global _rooms
    _rooms += 1
    room = {"school_code": "THCS-DEMO", "id": f"lop-7a-{os.getpid()}-{_rooms}", "name": "Lớp 7A"}
    return room_settings(tmp_path, broker_url, room=room, **({"lessons": lessons} if lessons else {}))


class Room:
    """A running hub with the demo roster and sample lessons, a teacher logged in and connected."""

    def __init__(self, hub: RunningHub, teacher_http: aiohttp.ClientSession, tablets_http: aiohttp.ClientSession):
        self.hub = hub
        self.teacher_http = teacher_http
        self.tablets_http = tablets_http
        self.teacher = LessonClient(teacher_http, hub.url, role="teacher")
        self.clients: list[LessonClient] = [self.teacher]

    @property
    def classroom(self) -> Any:
        return self.hub.app[LESSONS]

    async def launch(self) -> str:
        await self.teacher.command("launch", lesson=LESSON, **{"class": CLASS})
        await self.teacher.wait(lambda c: "code" in c.state and c.run is not None)
        return str(self.teacher.state["code"])

    def tablet(self) -> LessonClient:
        client = LessonClient(self.tablets_http, self.hub.url)
        self.clients.append(client)
        return client

    async def seat(self, student: str) -> LessonClient:
        client = self.tablet()
        await client.join(self.teacher.state["code"], student)
        await client.connect()
        await client.wait(lambda c: c.run is not None)
        return client

    async def step_to(self, index: int) -> None:
        await self.teacher.command("goto", step=index)
        await self.teacher.wait(lambda c: c.state["step"]["index"] == index)

    async def statements(self) -> list[dict[str, Any]]:
        await self.classroom.flush()
        rows = await self.hub.app[STORE].read_after("statements", 0, 100_000)
        return [json.loads(row[3]) for row in rows]


@contextlib.asynccontextmanager
async def open_room(
    tmp_path: Path, broker_url: str, lessons: dict[str, float] | None = None, clock: Clock = SYSTEM
) -> AsyncIterator[Room]:
    async with run_hub(demo_room(tmp_path, broker_url, lessons), clock) as hub:
        password = await add_user(hub, "co-lan", "teacher")
        connector = aiohttp.TCPConnector(limit=0)
        jar = aiohttp.CookieJar(unsafe=True)  # the hub is on an IP address
        async with (
            aiohttp.ClientSession(cookie_jar=jar) as teacher_http,
            aiohttp.ClientSession(connector=connector) as tablets,
        ):
            login = await teacher_http.post(f"{hub.url}/login", data={"username": "co-lan", "password": password},
                                            allow_redirects=False)  # fmt: skip
            assert login.status == 302
            room = Room(hub, teacher_http, tablets)
            await room.teacher.connect()
            await room.teacher.wait(lambda c: bool(c.welcomes))
            try:
                yield room
            finally:
                await asyncio.gather(*(c.close() for c in room.clients))


def students(n: int) -> list[str]:
    return [f"hs-7a-{i:02d}" for i in range(1, n + 1)]


def citizen_ids() -> list[str]:
    with DEMO_USERS.open(encoding="utf-8") as f:
        return [row["identifier"] for row in csv.DictReader(f)]


def check_wire(client: LessonClient) -> None:
    """Every frame a client got is a message of the documented protocol."""
    for frame in client.frames:
        if frame.startswith('{"t"'):
            SERVER_MESSAGE.validate_json(frame)


async def test_forty_tablets_follow_the_teacher_and_late_joiners_get_a_snapshot(
    tmp_path: Path, system_mosquitto_url: str
) -> None:
    async with open_room(tmp_path, system_mosquitto_url, FAST_BEATS) as room:
        await room.launch()
        tablets = await asyncio.gather(*(room.seat(s) for s in students(39)))
        await room.teacher.wait(lambda c: sum(s["state"] == "online" for s in c.students) == 39)
        for index in (1, 2, 3):
            await room.teacher.command("next")
            for tablet in tablets:
                await tablet.wait(lambda c, i=index: c.state["step"]["index"] == i)  # type: ignore[misc]
        # Every tablet applied every revision in order, so it holds exactly the teacher's state.
        assert all(t.state == room.teacher.state and t.rev == room.teacher.rev for t in tablets)
        # Acks reach the teacher: every student is seen at the current step, none behind.
        await room.teacher.wait(lambda c: all(s["at_step"] == 3 and s["behind"] == 0
                                              for s in c.students if s["state"] == "online"))  # fmt: skip
        await room.teacher.wait(lambda c: all(s["quality"] == "good" for s in c.students if s["state"] == "online"))

        late = await room.seat("hs-7a-40")
        welcome = late.welcomes[-1]
        assert welcome["mode"] == "snapshot"
        assert late.state == room.teacher.state
        assert welcome["student"] == {"id": "hs-7a-40", "name": "Lê Quỳnh Vân"}
        await room.teacher.wait(lambda c: sum(s["state"] == "online" for s in c.students) == 40)
        for client in room.clients:
            check_wire(client)


async def test_a_tablet_back_from_a_wifi_drop_gets_only_what_it_missed(
    tmp_path: Path, system_mosquitto_url: str
) -> None:
    async with open_room(tmp_path, system_mosquitto_url, FAST_BEATS) as room:
        await room.launch()
        tablet = await room.seat("hs-7a-05")
        await tablet.drop()
        await room.teacher.wait(lambda c: any(s["id"] == "hs-7a-05" and s["state"] == "offline" for s in c.students))
        await room.step_to(STEP["slide"])
        await room.teacher.command("lock", on=True)
        await room.teacher.wait(lambda c: c.state["locked"] is True)
        missed_from = tablet.rev

        await tablet.connect()  # resumes with its run and revision
        await tablet.wait(lambda c: c.rev == room.teacher.rev)
        welcome = tablet.welcomes[-1]
        assert welcome["mode"] == "delta"
        assert set(welcome["state"]) == {"step", "question", "reveal", "locked"}  # not the lesson, class, code
        assert tablet.state == room.teacher.state and tablet.rev > missed_from
        await room.teacher.wait(lambda c: any(s["id"] == "hs-7a-05" and s["state"] == "online" and s["joins"] == 2
                                              for s in c.students))  # fmt: skip

        # A tablet that reloads (no revision kept) or comes from another lesson gets a snapshot.
        reloaded = LessonClient(room.tablets_http, room.hub.url)
        room.clients.append(reloaded)
        reloaded.client_id, reloaded.token = tablet.client_id, tablet.token
        await reloaded.connect(resume=False)
        await reloaded.wait(lambda c: c.run is not None)
        assert reloaded.welcomes[-1]["mode"] == "snapshot" and reloaded.state == room.teacher.state
        # ... and the old connection of that seat is told it was replaced.
        await tablet.wait(lambda c: any('"reason":"replaced"' in f for f in c.frames))


async def test_answers_are_idempotent_and_marked_only_when_revealed(
    tmp_path: Path, system_mosquitto_url: str
) -> None:
    async with open_room(tmp_path, system_mosquitto_url, FAST_BEATS) as room:
        await room.launch()
        ana, ben, chi = [await room.seat(s) for s in students(3)]
        await room.step_to(STEP["q1"])
        early = await ana.answer("cau-1-vi-khuan", choice=["b"])
        await ana.wait(lambda c: any(e["code"] == "closed" for e in c.errors))  # not started yet
        await room.teacher.command("question", action="start")
        await ana.wait(lambda c: c.state["question"]["state"] == "open")

        first = await ana.answer("cau-1-vi-khuan", choice=["b"])
        await ana.wait(lambda c: first in c.answered)
        assert ana.answered[first]["duplicate"] is False
        # The tablet did not see the ack (Wi-Fi dropped) and resends the same answer after reconnecting.
        await ana.drop()
        await ana.connect()
        await ana.answer("cau-1-vi-khuan", choice=["b"], answer_id=first)
        await ana.wait(lambda c: c.answered[first]["duplicate"] is True)
        other = await ana.answer("cau-1-vi-khuan", choice=["a"])  # a second, different answer
        await ana.wait(lambda c: any(e["code"] == "already_answered" for e in c.errors))
        assert other not in ana.answered and early not in ana.answered
        await ben.answer("cau-1-vi-khuan", choice=["a"])
        await chi.answer("cau-1-vi-khuan", choice=["z"])  # not a choice
        await chi.wait(lambda c: any(e["code"] == "invalid" and "z" in e["message"] for e in c.errors))

        await room.teacher.wait(lambda c: c.results is not None and c.results["answered"] == 2)
        assert room.teacher.results is not None
        assert room.teacher.results["counts"] == {"a": 1, "b": 1, "c": 0, "d": 0}
        assert (room.teacher.results["correct"], room.teacher.results["wrong"]) == (1, 1)
        # Before the reveal a tablet knows its answer but not whether it is right, nor the right choice.
        assert ana.me["answers"]["cau-1-vi-khuan"] == {"value": ["b"]}
        assert ana.state["reveal"] is None and '"correct":["b"]' not in "".join(ana.frames)

        await room.teacher.command("question", action="reveal")
        await ana.wait(lambda c: c.state["reveal"] is not None and "correct" in c.me["answers"]["cau-1-vi-khuan"])
        assert ana.state["reveal"]["correct"] == ["b"]
        assert ana.me["answers"]["cau-1-vi-khuan"] == {"value": ["b"], "correct": True, "points": 1}
        await ben.wait(lambda c: c.me["answers"]["cau-1-vi-khuan"].get("correct") is False)
        assert (ana.me["score"], ana.me["max"], ben.me["score"]) == (1, 1, 0)

        answered = [s for s in await room.statements() if s["verb"]["id"].endswith("/answered")]
        assert len(answered) == 2  # the resend was not counted again
        mine = next(s for s in answered if s["actor"]["account"]["name"] == "hs-7a-01")
        assert mine["result"]["success"] is True and mine["result"]["response"] == "b"
        assert mine["result"]["score"] == {"raw": 1, "min": 0, "max": 1, "scaled": 1.0}
        assert mine["result"]["duration"].startswith("PT")


async def test_lock_and_hands(tmp_path: Path, system_mosquitto_url: str) -> None:
    async with open_room(tmp_path, system_mosquitto_url, FAST_BEATS) as room:
        await room.launch()
        tablets = await asyncio.gather(*(room.seat(s) for s in students(40)))
        await room.step_to(STEP["poll"])
        await room.teacher.command("question", action="start")
        await room.teacher.command("lock", on=True)
        await asyncio.gather(*(t.wait(lambda c: c.state["locked"] is True) for t in tablets))
        await tablets[0].answer("khao-sat-dau-gio", choice=["chua"])
        await tablets[0].wait(lambda c: any(e["code"] == "locked" for e in c.errors))
        await room.teacher.command("lock", on=False)
        await asyncio.gather(*(t.wait(lambda c: c.state["locked"] is False) for t in tablets))
        poll_id = await tablets[0].answer("khao-sat-dau-gio", choice=["chua"])
        await tablets[0].wait(lambda c: poll_id in c.answered)

        for tablet in tablets[:3]:
            await tablet.command("hand", up=True)
        await room.teacher.wait(lambda c: sum(s["hand"] for s in c.students) == 3)
        await room.teacher.command("lower", student="hs-7a-02")
        await tablets[1].wait(lambda c: c.me["hand"] is False)
        await room.teacher.wait(lambda c: sum(s["hand"] for s in c.students) == 2)
        await room.teacher.command("lower")
        await room.teacher.wait(lambda c: sum(s["hand"] for s in c.students) == 0)
        hands = [s for s in await room.statements() if s["verb"]["id"].endswith("/reacted")]
        assert len(hands) == 3
        assert hands[0]["result"]["extensions"]["https://w3id.org/xapi/virtual-classroom/extensions/emoji"] == "U+270B"


async def test_a_student_can_never_run_a_teacher_command(
    tmp_path: Path, system_mosquitto_url: str
) -> None:
    async with open_room(tmp_path, system_mosquitto_url, FAST_BEATS) as room:
        await room.launch()
        tablet = await room.seat("hs-7a-01")
        screen = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        await pair_display(room.hub, screen)
        display = LessonClient(screen, room.hub.url, role="display")
        room.clients.append(display)
        await display.connect()
        await display.wait(lambda c: c.run is not None)
        rev = room.teacher.rev
        for command in ({"t": "next"}, {"t": "goto", "step": 5}, {"t": "lock", "on": True}, {"t": "end"},
                        {"t": "launch", "lesson": LESSON, "class": CLASS}, {"t": "lower"}):  # fmt: skip
            await tablet.send(command)
            await display.send(command)
        await tablet.wait(lambda c: sum(e["code"] == "forbidden" for e in c.errors) == 6)
        await display.wait(lambda c: sum(e["code"] == "forbidden" for e in c.errors) == 6)
        assert {e["ref"] for e in tablet.errors} == {"next", "goto", "lock", "end", "launch", "lower"}
        # Nothing moved, and both connections are still up and working.
        await tablet.command("hand", up=True)
        await tablet.wait(lambda c: c.me["hand"] is True)
        assert room.teacher.rev == rev and room.classroom.run.index == 0
        # Without a teacher's session the teacher role is not even opened.
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await room.tablets_http.ws_connect(f"{room.hub.url}/ws/lesson?role=teacher")
        assert refused.value.status == 401
        # Nor the display role without pairing: it would hand out the class code.
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await room.tablets_http.ws_connect(f"{room.hub.url}/ws/lesson?role=display")
        assert refused.value.status == 401
        await display.close()
        await screen.close()


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("not json", "bad_json"),
        ("[1, 2]", "invalid"),
        ('{"rev": 3}', "invalid"),
        ('{"t": "dance"}', "unknown_type"),
        ('{"t": "ack"}', "invalid"),
        ('{"t": "ack", "rev": -1}', "invalid"),
        ('{"t": "ack", "rev": "7"}', "invalid"),
        ('{"t": "hand", "up": true, "extra": 1}', "invalid"),
        ('{"t": "answer", "id": "short", "step": "cau-1", "choice": ["a"]}', "invalid"),
        ('{"t": "answer", "id": "abcdefgh12", "step": "cau-1", "choice": ["a"], "text": "a"}', "invalid"),
        ('{"t": "hello", "token": "' + "x" * 30 + '"}', "bad_token"),
        ("x" * 70_000, "too_large"),
    ],
)
async def test_malformed_messages_get_an_error_and_the_connection_stays(
    tmp_path: Path, system_mosquitto_url: str, frame: str, code: str
) -> None:
    async with open_room(tmp_path, system_mosquitto_url) as room:
        await room.launch()
        tablet = await room.seat("hs-7a-01")
        await tablet.send(frame)
        await tablet.wait(lambda c: bool(c.errors))
        assert tablet.errors[0]["code"] == code, tablet.errors
        assert tablet.ws is not None
        await tablet.ws.send_bytes(b"\x00\x01")
        await tablet.wait(lambda c: len(c.errors) == 2)
        assert tablet.errors[1]["code"] == "bad_frame"
        await tablet.command("hand", up=True)  # still connected, still seated
        await tablet.wait(lambda c: c.me["hand"] is True)


async def test_a_silent_tablet_is_cut_once_silent_past_dead_after_s_and_a_live_one_never(
    tmp_path: Path, system_mosquitto_url: str
) -> None:
    clock = FakeClock()  # the room's default timing: a beat every 2 s, cut after 6 s of silence
    async with open_room(tmp_path, system_mosquitto_url, clock=clock) as room:
        await room.launch()
        alive, frozen = await room.seat("hs-7a-01"), await room.seat("hs-7a-02")
        await room.teacher.wait(lambda c: sum(s["state"] == "online" for s in c.students) == 2)
        classroom = room.classroom
        links = {link.seat.sourced_id: link for link in classroom.links.tablets if link.seat is not None}
        others = [links["hs-7a-01"], *classroom.links.teachers]
        frozen.auto_ack = False  # the tablet's page froze: the socket is open but nothing answers

        async def beat() -> None:
            """One heartbeat of the hub's clock; the connections that answer have been heard."""
            await clock.advance(classroom.beat_s)
            await wait_for(lambda: all(link.last_heard == clock.monotonic() for link in others))

        while clock.monotonic() + classroom.beat_s <= classroom.dead_after_s:
            await beat()
            assert not links["hs-7a-02"].dropped  # silent for 6 s at most: still in the lesson
        await beat()  # the first beat after 6 s of silence cuts it
        assert links["hs-7a-02"].dropped
        await room.teacher.wait(lambda c: any(s["id"] == "hs-7a-02" and s["state"] == "offline" for s in c.students))
        for _ in range(4):  # longer than dead_after_s again: a tablet that answers stays
            await beat()
        assert not links["hs-7a-01"].dropped and alive.ws is not None and not alive.ws.closed
        assert any(s["id"] == "hs-7a-01" and s["state"] == "online" for s in room.teacher.students)
        assert sum(f.startswith('{"t":"beat"') for f in alive.frames) == 8


async def test_the_lesson_ends_with_a_summary_and_stable_statements_that_name_no_citizen(
    tmp_path: Path, system_mosquitto_url: str
) -> None:
    async with open_room(tmp_path, system_mosquitto_url, FAST_BEATS) as room:
        await room.launch()
        tablets = await asyncio.gather(*(room.seat(s) for s in students(4)))
        await room.step_to(STEP["q1"])
        await room.teacher.command("question", action="start")
        for tablet, choice in zip(tablets[:3], "bba", strict=True):
            await tablet.answer("cau-1-vi-khuan", choice=[choice])
        await room.teacher.wait(lambda c: c.results is not None and c.results["answered"] == 3)
        await room.teacher.command("question", action="reveal")
        await room.step_to(STEP["q4"])
        await room.teacher.command("question", action="start")
        await tablets[0].answer("cau-4-nitrat", text="  Nitrát ")  # case, accents and spaces do not matter
        await tablets[1].answer("cau-4-nitrat", text="amoniac")
        await room.teacher.wait(lambda c: c.results is not None and c.results["answered"] == 2)
        assert room.teacher.results is not None and room.teacher.results["correct"] == 1
        await tablets[3].command("hand", up=True)
        await room.teacher.wait(lambda c: any(s["hand"] for s in c.students))
        await room.teacher.command("end")
        await room.teacher.wait(lambda c: c.summary is not None)
        summary = room.teacher.summary
        assert summary is not None
        assert summary["attendance"]["present"] == 4 and summary["attendance"]["total"] == 40
        assert len(summary["attendance"]["absent"]) == 36
        q1, q4 = summary["questions"]
        assert (q1["step"], q1["answered"], q1["correct"], q1["percent"]) == ("cau-1-vi-khuan", 3, 2, 67)
        assert (q4["answered"], q4["correct"]) == (2, 1)
        helped = {h["id"]: h["reasons"] for h in summary["needs_help"]}
        # hs-7a-02 got one of two right (not below half); hs-7a-04 answered nothing and still has a hand up.
        assert helped == {"hs-7a-03": ["low_score"], "hs-7a-04": ["few_answers", "hand_raised"]}
        first = next(s for s in summary["students"] if s["id"] == "hs-7a-01")
        assert (first["points"], first["max"], first["correct"]) == (3, 3, 2)
        await tablets[0].wait(lambda c: c.state["ended"] is not None and c.me["score"] == 3)

        statements = await room.statements()
        run = room.teacher.run
        assert run is not None
        verbs = {s["verb"]["id"].rsplit("/", 1)[-1] for s in statements}
        assert verbs == {"launched", "join", "leave", "experienced", "answered", "completed", "reacted"}
        assert len({s["id"] for s in statements}) == len(statements)
        # Ids come from the event, not from chance: the same event always has the same id.
        by_id = {s["id"]: s for s in statements}
        assert statement_id(run, "answered", "hs-7a-01", "cau-4-nitrat") in by_id
        assert statement_id(run, "joined", "hs-7a-02", "1") in by_id
        assert statement_id(run, "experienced", "hs-7a-03", "cau-1-vi-khuan") in by_id
        assert statement_id(run, "launched", "lesson") in by_id
        completed = by_id[statement_id(run, "completed", "hs-7a-01")]
        assert completed["result"]["score"]["raw"] == 3 and completed["context"]["registration"] == run
        assert completed["actor"] == {"objectType": "Agent",
                                      "account": {"homePage": "http://classroom-hub.local", "name": "hs-7a-01"}}
        context = completed["context"]["extensions"]
        assert context["https://w3id.org/classroom-hub/xapi/extensions/school-code"] == "THCS-DEMO"
        assert context["https://w3id.org/classroom-hub/xapi/extensions/class-id"] == CLASS

        received = "".join(frame for tablet in tablets for frame in tablet.frames)
        assert "Ngô Anh Bình" in received  # the class list reached the tablets...
        ids = citizen_ids()
        assert len(ids) > 40 and not any(cid in received for cid in ids)  # ...but no citizen ID ever did
        stored = json.dumps(statements)
        assert not any(cid in stored for cid in ids)
        for client in room.clients:
            check_wire(client)
