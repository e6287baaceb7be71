"""Lesson faults: the hub (a real ``classroom-hub run`` process) killed with SIGKILL while a class answers.

A room with the demo school's roster and a lesson of twelve questions, a teacher logged in on
her socket and 40 tablets (real WebSocket clients, lessons/simulator.py) that follow
docs/protocol.md: each keeps its answer until ``answered`` comes back, reconnects with its seat
token, and sends the same answer (same ``id``) again.

:func:`answers_under_kills` is the scenario bench/faults.py runs too: an importable
``async def (workdir, **opts) -> dict`` with ``lost``, ``duplicated`` and ``recovery_s`` (also as
``scenario`` and in ``SCENARIOS``, as tests/faults/test_devices_unplugged.py names its own).
Options: ``broker_url`` (a private Mosquitto is started without it), ``kills`` (10),
``tablets`` (40).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import signal
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

from classroom_hub.auth import Accounts
from classroom_hub.bus.broker import free_port
from classroom_hub.clock import SYSTEM
from classroom_hub.lessons.library import LessonLibrary
from classroom_hub.lessons.simulator import LessonClient, Predicate
from tests.faults.devices import broker
from tests.hub_process import HubProcess

TIMEOUT_S = 30.0  # for each observable change; generous for a loaded 2-core CI machine
LESSON = "on-tap-song-dien"
CLASS = "khtn-7a"
TEACHER, PASSWORD = "co-lan", "mat-khau-123"
QUESTIONS = 12
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 9"><rect width="16" height="9"/></svg>'


def question_step(n: int) -> str:
    return f"cau-{n}"


def write_lesson(folder: Path, questions: int = QUESTIONS) -> Path:
    """A grade 7 lesson: a slide, then ``questions`` single-choice questions (right answer: ``a``)."""
    steps: list[dict[str, Any]] = [{"id": "mo-dau", "kind": "slide", "image": "slides/01.svg"}]
    for n in range(1, questions + 1):
        steps.append({
            "id": question_step(n), "kind": "quiz", "type": "single_choice", "prompt": f"Câu hỏi {n}: sóng nào?",
            "choices": [{"id": c, "text": f"Đáp án {c}"} for c in "abcd"], "correct": ["a"], "time_limit_s": 600,
        })  # fmt: skip
    manifest = {"id": LESSON, "title": "Ôn tập: sóng điện từ", "subject": "physics", "grade": 7, "language": "vi",
                "authors": ["Cô Lan"], "version": "1.0", "steps": steps}  # fmt: skip
    folder.mkdir(parents=True)
    (folder / "lesson.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    (folder / "slides").mkdir()
    (folder / "slides" / "01.svg").write_bytes(SVG)
    return folder


def room_file(workdir: Path, broker_url: str, http_port: int) -> Path:
    path = workdir / "room.toml"
    path.write_text(
        f"""
data_dir = "{workdir / "data"}"
[room]
school_code = "THCS-DEMO"
id = "lop-7a-{secrets.token_hex(3)}"
name = "Lớp 7A"
[mqtt]
url = "{broker_url}"
reconnect_min_s = 0.1
reconnect_max_s = 0.5
[http]
host = "127.0.0.1"
port = {http_port}
""",
        encoding="utf-8",
    )
    return path


async def wait_all(clients: list[LessonClient], predicate: Predicate, timeout: float = TIMEOUT_S) -> None:
    await asyncio.gather(*(c.wait(predicate, timeout) for c in clients))


class LessonRoom:
    """The hub process, its teacher and its tablets, across kills and restarts."""

    def __init__(self, workdir: Path, broker_url: str, tablets: int) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = room_file(workdir, broker_url, self.port)
        self.hub = HubProcess(config, self.port, workdir / "hub.log")
        self.tablet_count = tablets
        self.teacher_http: aiohttp.ClientSession | None = None
        self.tablets_http: aiohttp.ClientSession | None = None
        self.teacher: LessonClient | None = None
        self.tablets: list[LessonClient] = []
        self.students = [f"hs-7a-{i:02d}" for i in range(1, tablets + 1)]

    @property
    def data(self) -> Path:
        return self.workdir / "data"

    def prepare(self) -> None:
        """The lesson in the library and the teacher's account, before the hub first starts."""
        LessonLibrary(self.data / "lessons").import_package(write_lesson(self.workdir / "package"))
        accounts = Accounts(self.data / "accounts.db", SYSTEM)
        try:
            accounts.add(TEACHER, PASSWORD, "teacher", "Cô Lan")
        finally:
            accounts.close()

    async def open(self) -> None:
        self.teacher_http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.tablets_http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        self.hub.start()
        await self.hub.healthy(TIMEOUT_S)
        login = await self.teacher_http.post(f"{self.url}/login", data={"username": TEACHER, "password": PASSWORD},
                                             allow_redirects=False)  # fmt: skip
        assert login.status == 302, await login.text()
        self.teacher = LessonClient(self.teacher_http, self.url, role="teacher")
        await self.teacher.connect()
        await self.teacher.wait(lambda c: bool(c.welcomes), TIMEOUT_S)

    async def close(self) -> None:
        for client in [*self.tablets, *([self.teacher] if self.teacher else [])]:
            await client.drop()
        if self.hub.proc is not None and self.hub.proc.poll() is None:
            self.hub.stop(signal.SIGTERM)
        for session in (self.teacher_http, self.tablets_http):
            if session is not None:
                await session.close()

    async def launch(self) -> str:
        assert self.teacher is not None and self.tablets_http is not None
        await self.teacher.command("launch", lesson=LESSON, confirm=True, **{"class": CLASS})
        await self.teacher.wait(lambda c: "code" in c.state and c.run is not None, TIMEOUT_S)
        code = str(self.teacher.state["code"])
        self.tablets = [LessonClient(self.tablets_http, self.url) for _ in self.students]
        await asyncio.gather(*(t.join(code, s) for t, s in zip(self.tablets, self.students, strict=True)))
        await asyncio.gather(*(t.connect() for t in self.tablets))
        await wait_all(self.tablets, lambda c: c.run is not None)
        return code

    async def open_question(self, n: int) -> None:
        assert self.teacher is not None
        await self.teacher.command("goto", step=n)  # step n is question n (step 0 is the slide)
        await self.teacher.wait(lambda c: c.state["step"]["index"] == n, TIMEOUT_S)
        await self.teacher.command("question", action="start")
        await wait_all(self.tablets, lambda c: (c.state.get("question") or {}).get("step") == question_step(n)
                       and c.state["question"]["state"] == "open")  # fmt: skip

    def kill(self) -> None:
        assert self.hub.proc is not None
        self.hub.proc.send_signal(signal.SIGKILL)
        self.hub.proc.wait(TIMEOUT_S)

    async def restart(self) -> None:
        """Start the hub again; the teacher and every tablet reconnect as the protocol says."""
        await asyncio.gather(*(c.drop() for c in [*self.tablets, *([self.teacher] if self.teacher else [])]))
        self.hub.start()
        await self.hub.healthy(TIMEOUT_S)
        assert self.teacher is not None
        before = len(self.teacher.welcomes)
        await self.teacher.connect()
        await self.teacher.wait(lambda c: len(c.welcomes) > before, TIMEOUT_S)
        counts = [len(t.welcomes) for t in self.tablets]
        await asyncio.gather(*(t.connect() for t in self.tablets))
        await asyncio.gather(*(t.wait(lambda c, n=n: len(c.welcomes) > n, TIMEOUT_S)  # type: ignore[misc]
                               for t, n in zip(self.tablets, counts, strict=True)))  # fmt: skip


def stored_answers(data: Path, run_id: str) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """The ``answered`` statements of the run in the store, by (student, step)."""
    out: dict[tuple[str, str], list[dict[str, Any]]] = {}
    with contextlib.closing(sqlite3.connect(data / "telemetry.db")) as db:
        for (body,) in db.execute("SELECT body FROM statements"):
            statement = json.loads(body)
            if not statement["verb"]["id"].endswith("/answered"):
                continue
            if statement["context"].get("registration") != run_id:
                continue
            step = statement["object"]["id"].rsplit("/", 1)[-1]
            out.setdefault((statement["actor"]["account"]["name"], step), []).append(statement)
    return out


@contextlib.asynccontextmanager
async def lesson_room(workdir: Path, broker_url: str | None, tablets: int) -> AsyncIterator[LessonRoom]:
    async with broker(workdir, broker_url) as url:
        room = LessonRoom(workdir, url, tablets)
        await asyncio.get_running_loop().run_in_executor(None, room.prepare)
        try:
            await room.open()
            yield room
        finally:
            await room.close()


async def answers_under_kills(workdir: Path, **opts: Any) -> dict[str, Any]:
    """Each round a question opens, every tablet answers at once, and the hub is SIGKILLed as soon as
    a few ``answered`` have come back (a different number each round). After the restart the
    tablets resend what was not acknowledged; every answer acknowledged before or after must be
    in the store exactly once, with the choice the tablet sent."""
    kills = int(opts.get("kills", 10))
    assert kills <= QUESTIONS, f"at most {QUESTIONS} kills: one question each"
    async with lesson_room(workdir, opts.get("broker_url"), int(opts.get("tablets", 40))) as room:
        await room.launch()
        run_id = room.tablets[0].run
        assert run_id is not None
        sent: dict[tuple[str, str], tuple[str, str]] = {}  # (student, step) -> (answer id, choice)
        acknowledged_before_kill = 0
        recoveries: list[float] = []
        for round_ in range(kills):
            n = round_ + 1
            step = question_step(n)
            await room.open_question(n)
            ids = {}
            for i, student in enumerate(room.students):
                choice = "abcd"[(i + round_) % 4]
                ids[student] = (secrets.token_urlsafe(12), choice)
                sent[(student, step)] = ids[student]
            await asyncio.gather(*(t.answer(step, choice=[ids[s][1]], answer_id=ids[s][0])
                                   for t, s in zip(room.tablets, room.students, strict=True)))  # fmt: skip
            enough = 1 + (round_ * 7) % (len(room.tablets) - 1)  # kill after 1, 8, 15, ... acks

            def acked(tablets: list[LessonClient] = room.tablets, want: dict[str, tuple[str, str]] = ids) -> int:
                return sum(1 for t, s in zip(tablets, room.students, strict=True) if want[s][0] in t.answered)

            deadline = time.monotonic() + TIMEOUT_S
            while acked() < enough:
                assert time.monotonic() < deadline, f"round {n}: only {acked()} answers acknowledged"
                await asyncio.sleep(0.001)
            room.kill()
            killed_at = time.monotonic()
            acknowledged_before_kill += acked()
            await room.restart()
            # Every tablet that holds an unacknowledged answer sends it again, same id (docs/protocol.md).
            await asyncio.gather(*(t.answer(step, choice=[ids[s][1]], answer_id=ids[s][0])
                                   for t, s in zip(room.tablets, room.students, strict=True)
                                   if ids[s][0] not in t.answered))  # fmt: skip
            deadline = time.monotonic() + TIMEOUT_S
            while acked() < len(room.tablets):
                assert time.monotonic() < deadline, f"round {n}: {acked()} answers acknowledged after the restart"
                await asyncio.sleep(0.005)
            recoveries.append(time.monotonic() - killed_at)
        await room.close()  # SIGTERM: the store is closed and readable
        stored = stored_answers(room.data, run_id)
    lost = wrong = 0
    for (student, step), (_answer_id, choice) in sent.items():
        found = stored.get((student, step), [])
        if not found:
            lost += 1
        elif found[0]["result"]["response"] != choice:
            wrong += 1
    duplicated = sum(len(found) - 1 for found in stored.values())
    extra = sum(1 for key in stored if key not in sent)
    return {
        "kills": kills,
        "answers": len(sent),
        "acknowledged_before_kill": acknowledged_before_kill,
        "lost": lost + wrong,
        "duplicated": duplicated + extra,
        "recovery_s": round(max(recoveries), 3),
        "recoveries_s": [round(s, 3) for s in recoveries],
    }


SCENARIOS = {"answers_under_kills": answers_under_kills}


async def scenario(workdir: Path, **opts: Any) -> dict[str, Any]:
    """The lesson scenario for bench/faults.py: :func:`answers_under_kills` with ``opts``."""
    return await answers_under_kills(workdir, **opts)
