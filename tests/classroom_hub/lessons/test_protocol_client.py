"""A lesson client written from docs/protocol.md alone: it imports nothing of the hub.

``DocClient`` below was written from the document's sections 1-4 (the teacher's session, joining,
who speaks first, the rules for a client) and section 6 (answer ids), the way the author of a
native tablet app would. The test starts a real hub, then a teacher logs in through the form,
launches, a tablet joins and answers, and both follow a relaunch. If the document leaves out
something a client needs, this test is where it shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import websockets
from websockets.asyncio.client import ClientConnection

from tests.conftest import add_user, room_settings, run_hub

ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")  # section 2 (client id) and section 3 (answer id)


class DocClient:
    """One lesson socket, keeping `run`, `rev` and the state by the rules of section 4."""

    def __init__(self, ws: ClientConnection, role: str) -> None:
        self.ws = ws
        self.role = role
        self.run: str | None = None
        self.rev = 0
        self.state: dict[str, Any] = {}
        self.received: list[dict[str, Any]] = []
        self.ignored: list[dict[str, Any]] = []  # deltas at or below our revision (rule 3)
        self._changed = asyncio.Condition()
        self._reader = asyncio.create_task(self._read())

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(message))

    async def wait(self, check: Callable[[DocClient], bool], timeout: float = 10) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: check(self)), timeout)

    def last(self, t: str) -> dict[str, Any] | None:
        return next((m for m in reversed(self.received) if m["t"] == t), None)

    async def close(self) -> None:
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
        await self.ws.close()

    async def _read(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for text in self.ws:
                message = json.loads(text)
                self.received.append(message)
                await self._apply(message)
                async with self._changed:
                    self._changed.notify_all()

    async def _apply(self, message: dict[str, Any]) -> None:
        kind = message["t"]
        if kind == "welcome":  # rule 2
            if message["mode"] == "snapshot" or message["run"] != self.run:
                self.state = dict(message["state"])
            else:
                self.state.update(message["state"])
            self.run, self.rev = message["run"], message["rev"]
            await self.send({"t": "ack", "rev": self.rev})
        elif kind == "delta":  # rule 3
            since = message.get("since")
            if since is None and message["rev"] <= self.rev:
                self.ignored.append(message)
            elif since is None and message["rev"] > self.rev + 1:
                if self.role == "student":
                    await self.send({"t": "resume", "rev": self.rev})
            else:
                self.state.update(message["set"])
                self.rev = message["rev"]
                await self.send({"t": "ack", "rev": self.rev})
        elif kind == "beat":  # rule 4
            await self.send({"t": "ack", "rev": self.rev, "beat": message["n"]})
            if self.role == "student" and self.run is not None and message["rev"] > self.rev:
                await self.send({"t": "resume", "rev": self.rev})


def socket_url(base: str, role: str) -> str:
    return base.replace("http://", "ws://", 1) + f"/ws/lesson?role={role}"


async def teacher_session(http: aiohttp.ClientSession, base: str, username: str, password: str) -> str:
    """Section 1, "A teacher client's session": the login form, then the cookie."""
    form = {"username": username, "password": password, "next": "/teacher"}
    async with http.post(f"{base}/login", data=form, allow_redirects=False) as response:
        assert response.status == 302
        cookie = response.cookies.get("hub_session")
        assert cookie is not None, "a right password sets hub_session"
        return cookie.value


async def seat(http: aiohttp.ClientSession, base: str, code: str, student: str) -> dict[str, Any]:
    """Section 2: the class list for a code, then a seat."""
    async with http.get(f"{base}/api/lesson/join", params={"code": code}) as response:
        listing = await response.json()
    assert student in {s["id"] for s in listing["students"]}
    client = secrets.token_urlsafe(12)
    assert ID.match(client)
    body = {"code": code, "student": student, "client": client, "pin": None}
    async with http.post(f"{base}/api/lesson/join", json=body) as response:
        assert response.status == 200
        answer: dict[str, Any] = await response.json()
    return answer


async def tablet(base: str, token: str) -> DocClient:
    """A tablet speaks first (section 3): hello with its token and what it has (nothing yet)."""
    client = DocClient(await websockets.connect(socket_url(base, "student")), "student")
    await client.send({"t": "hello", "token": token, "run": None, "rev": None})
    await client.wait(lambda c: c.run is not None)
    return client


async def test_a_client_written_from_the_document_joins_answers_and_follows_a_launch(
    tmp_path: Path, system_mosquitto_url: str
) -> None:
    room = {"school_code": "THCS-DEMO", "id": "lop-7a-doc-client", "name": "Lớp 7A"}
    async with run_hub(room_settings(tmp_path, system_mosquitto_url, room=room)) as hub:
        password = await add_user(hub, "co-lan", "teacher")
        base = hub.url
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            # No session: the teacher's socket is refused.
            try:
                await websockets.connect(socket_url(base, "teacher"))
                raise AssertionError("a teacher socket without a session was accepted")
            except websockets.InvalidStatus as refused:
                assert refused.response.status_code == 401
            session = await teacher_session(http, base, "co-lan", password)
            cookie = {"Cookie": f"hub_session={session}"}
            ws = await websockets.connect(socket_url(base, "teacher"), additional_headers=cookie)
            teacher = DocClient(ws, "teacher")
            # The teacher says nothing and is welcomed (section 3): no lesson yet.
            await teacher.wait(lambda c: c.last("welcome") is not None)
            assert teacher.received[0]["t"] == "welcome" and teacher.received[0]["run"] is None

            await teacher.send({"t": "launch", "lesson": "vong-tuan-hoan-nuoc-aquaponics", "class": "khtn-7a"})
            await teacher.wait(lambda c: c.run is not None and "code" in c.state)
            first_run, code = teacher.run, teacher.state["code"]

            joined = await seat(http, base, code, "hs-7a-01")
            student = await tablet(base, joined["token"])
            welcome = student.last("welcome")
            assert welcome is not None and welcome["mode"] == "snapshot" and welcome["student"]["id"] == "hs-7a-01"
            assert student.state == teacher.state

            # The first quiz: the teacher goes there and opens it; the tablet answers.
            quiz = next(i for i, s in enumerate(teacher.state["lesson"]["steps"]) if s["kind"] == "quiz")
            await teacher.send({"t": "goto", "step": quiz})
            await teacher.send({"t": "question", "action": "start"})
            await student.wait(lambda c: (c.state.get("question") or {}).get("state") == "open")
            step = student.state["step"]
            answer = {"t": "answer", "id": secrets.token_urlsafe(9), "step": step["id"],
                      "choice": [step["choices"][0]["id"]]}  # fmt: skip
            assert ID.match(answer["id"])
            await student.send(answer)
            await student.wait(lambda c: c.last("answered") is not None)
            first = {"t": "answered", "id": answer["id"], "step": step["id"], "duplicate": False}
            assert student.last("answered") == first
            await student.send(answer)  # sent again after a drop: the same id is counted once
            await student.wait(lambda c: sum(m["t"] == "answered" for m in c.received) == 2)
            assert student.last("answered")["duplicate"] is True  # type: ignore[index]
            await teacher.wait(lambda c: ((c.last("results") or {}).get("results") or {}).get("answered") == 1)

            # A relaunch: the teacher gets the new run's first delta, then its welcome (rule 6);
            # the tablet is told to join again.
            await teacher.send({"t": "end"})
            await teacher.wait(lambda c: c.last("summary") is not None)
            before = len(teacher.received)
            await teacher.send({"t": "launch", "lesson": "vong-tuan-hoan-nuoc-aquaponics", "class": "khtn-7a"})
            await teacher.wait(lambda c: c.run != first_run)
            after = [m["t"] for m in teacher.received[before:]]
            assert after.index("delta") < after.index("welcome")
            assert teacher.ignored and teacher.ignored[-1]["rev"] == 1  # at or below our revision: ignored
            assert teacher.rev == 1 and teacher.state["ended"] is None and teacher.state["code"] != code
            assert not any(m["t"] == "error" for m in teacher.received)
            await student.wait(lambda c: c.last("bye") is not None)
            assert student.last("bye") == {"t": "bye", "reason": "relaunched"}

            again = await tablet(base, (await seat(http, base, teacher.state["code"], "hs-7a-01"))["token"])
            assert again.run == teacher.run and again.state == teacher.state
            for client in (teacher, student, again):
                await client.close()
