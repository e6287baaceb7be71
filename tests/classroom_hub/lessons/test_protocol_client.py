"""A lesson client written from docs/protocol.md alone: it imports nothing of the hub.

``DocClient`` below was written from the document's sections 1-4 (the teacher's session, pairing a
display, joining, who speaks first, the rules for a client), section 6 (answer ids) and section 9
(results hidden on the display), the way the author of a native tablet app or a display box would.
The test starts a real hub, then a teacher logs in through the form and pairs a display, the
teacher launches, a tablet joins and answers, and all three follow a relaunch. If the document
leaves out something a client needs, this test is where it shows.
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


async def pair_display(base: str, pairing_code: str) -> str:
    """Section 1, "Pairing a display": the code made by a teacher or technician, then the cookie.
    A jar of its own: a display is no teacher, and must not send the teacher's session."""
    body = {"code": pairing_code}
    async with (
        aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http,
        http.post(f"{base}/api/display/pair", json=body) as response,
    ):
        assert response.status == 200, await response.text()
        cookie = response.cookies.get("hub_display")
        assert cookie is not None, "pairing sets hub_display"
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
            # A wrong password: a redirect to the form with an error, and no cookie.
            wrong = {"username": "co-lan", "password": "not-" + password, "next": "/teacher"}
            async with http.post(f"{base}/login", data=wrong, allow_redirects=False) as response:
                assert response.status == 302 and response.headers["Location"].startswith("/login?error=")
                assert response.cookies.get("hub_session") is None
            session = await teacher_session(http, base, "co-lan", password)
            cookie = {"Cookie": f"hub_session={session}"}
            ws = await websockets.connect(socket_url(base, "teacher"), additional_headers=cookie)
            teacher = DocClient(ws, "teacher")
            # The teacher says nothing and is welcomed (section 3): no lesson yet.
            await teacher.wait(lambda c: c.last("welcome") is not None)
            assert teacher.received[0]["t"] == "welcome" and teacher.received[0]["run"] is None
            assert teacher.received[0]["role"] == "teacher" and teacher.received[0]["rev"] == 0
            await teacher.send({"t": "hello", "token": "Xk3v9QvL2m8pTq0rS1uW4yZ6", "run": None, "rev": None})
            await teacher.wait(lambda c: c.last("error") is not None)
            assert teacher.last("error") == {"t": "error", "code": "forbidden", "ref": "hello",
                                             "message": "a teacher may not send 'hello'"}  # fmt: skip
            teacher.received.clear()

            # A display, paired with a code the teacher makes (section 1), is welcomed without a hello too.
            async with http.post(f"{base}/api/displays/pairing", json={"name": "Màn hình 86 inch"}) as response:
                assert response.status == 200
                pairing_code = (await response.json())["code"]
            screen = {"Cookie": f"hub_display={await pair_display(base, pairing_code)}"}
            display = DocClient(await websockets.connect(socket_url(base, "display"), additional_headers=screen),
                                "display")  # fmt: skip
            await display.wait(lambda c: c.last("welcome") is not None)
            assert display.received[0]["t"] == "welcome" and display.received[0]["role"] == "display"
            assert display.received[0]["run"] is None and display.received[0]["state"] == {}
            await display.send({"t": "hello", "token": "Xk3v9QvL2m8pTq0rS1uW4yZ6", "run": None, "rev": None})
            await display.wait(lambda c: c.last("error") is not None)
            assert display.last("error")["code"] == "forbidden"  # type: ignore[index]
            display.received.clear()

            await teacher.send({"t": "launch", "lesson": "vong-tuan-hoan-nuoc-aquaponics", "class": "khtn-7a"})
            await teacher.wait(lambda c: c.run is not None and "code" in c.state)
            first_run, code = teacher.run, teacher.state["code"]
            # The display follows the launch: the new run's first delta, then its welcome (rule 6).
            await display.wait(lambda c: c.run == first_run)
            kinds = [m["t"] for m in display.received]
            assert kinds.index("delta") < kinds.index("welcome")
            assert display.state == teacher.state and display.state["code"] == code

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
            # An answer id outside ^[A-Za-z0-9_-]{8,64}$ is refused and counts for nothing.
            for bad in ("short", "x" * 65, "has.dots.in"):
                await student.send({"t": "answer", "id": bad, "step": step["id"], "choice": ["a"]})
            await student.wait(lambda c: sum(m["t"] == "error" for m in c.received) == 3)
            assert {(m["code"], m["ref"]) for m in student.received if m["t"] == "error"} == {("invalid", "answer")}
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
            # The display learns how many answered, not what, until the reveal (section 9).
            await display.wait(lambda c: ((c.last("results") or {}).get("results") or {}).get("answered") == 1)
            shown = display.last("results")["results"]  # type: ignore[index]
            assert shown["hidden"] is True and not {"counts", "correct", "wrong"} & set(shown)
            assert teacher.last("results")["results"]["counts"][answer["choice"][0]] == 1  # type: ignore[index]
            await teacher.send({"t": "question", "action": "reveal"})
            await display.wait(lambda c: ((c.last("results") or {}).get("results") or {}).get("revealed") is True)
            assert display.last("results")["results"]["counts"][answer["choice"][0]] == 1  # type: ignore[index]

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
            await display.wait(lambda c: c.run == teacher.run)
            assert display.ignored and display.ignored[-1]["rev"] == 1
            assert display.state == teacher.state
            await student.wait(lambda c: c.last("bye") is not None)
            assert student.last("bye") == {"t": "bye", "reason": "relaunched"}

            again = await tablet(base, (await seat(http, base, teacher.state["code"], "hs-7a-01"))["token"])
            assert again.run == teacher.run and again.state == teacher.state
            for client in (teacher, display, student, again):
                await client.close()
