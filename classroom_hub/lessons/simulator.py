"""Simulated lesson clients speaking the real protocol: a tablet, a teacher's page, a display.

Used by the tests and by anyone checking a hub without 40 real tablets. A client keeps
the state the way the real page does (snapshot, then deltas by revision), acknowledges
what it applied and the heartbeats, and remembers every frame it received so a test can
check what reached a tablet byte for byte.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections.abc import Callable
from typing import Any

import aiohttp

Predicate = Callable[["LessonClient"], bool]


class LessonClient:
    def __init__(self, session: aiohttp.ClientSession, base_url: str, role: str = "student") -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.role = role
        self.client_id = secrets.token_urlsafe(12)
        self.token: str | None = None
        self.run: str | None = None
        self.rev = 0
        self.state: dict[str, Any] = {}
        self.me: dict[str, Any] = {}
        self.students: list[dict[str, Any]] = []
        self.results: dict[str, Any] | None = None
        self.summary: dict[str, Any] | None = None
        self.errors: list[dict[str, Any]] = []
        self.answered: dict[str, dict[str, Any]] = {}
        self.frames: list[str] = []  # every text frame received, as received
        self.welcomes: list[dict[str, Any]] = []
        self.headsets: list[dict[str, Any]] = []  # a teacher's: the room's headsets on vr_scene steps
        self.auto_ack = True
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self._changed = asyncio.Condition()
        self._reader: asyncio.Task[None] | None = None

    # --- joining ------------------------------------------------------------------------

    async def join(self, code: str, student: str, pin: str | None = None) -> dict[str, Any]:
        """POST /api/lesson/join; returns the JSON answer (raises on an HTTP error)."""
        body = {"code": code, "student": student, "client": self.client_id, "pin": pin}
        async with self.session.post(f"{self.base_url}/api/lesson/join", json=body) as response:
            text = await response.text()
            self.frames.append(text)
            answer: dict[str, Any] = json.loads(text)
            if response.status != 200:
                raise LookupError(f"join refused ({response.status}): {answer}")
        self.token = answer["token"]
        return answer

    async def connect(self, *, resume: bool = True) -> None:
        """Open the WebSocket; a tablet says hello with its token and, to resume, its revision."""
        url = f"{self.base_url}/ws/lesson?role={self.role}"
        self.ws = await self.session.ws_connect(url, autoping=True)
        self._reader = asyncio.create_task(self._read(self.ws), name=f"lesson-client-{self.role}")
        if self.role == "student":
            hello: dict[str, Any] = {"t": "hello", "token": self.token}
            if resume and self.run is not None:
                hello.update(run=self.run, rev=self.rev)
            await self.send(hello)

    async def drop(self) -> None:
        """Lose the connection as a tablet leaving Wi-Fi does: no closing handshake."""
        if self.ws is not None:
            transport = self.ws._response.connection.transport if self.ws._response.connection else None
            if transport is not None:
                transport.abort()
        await self._stop_reader()

    async def close(self) -> None:
        if self.ws is not None and not self.ws.closed:
            await self.ws.close()
        await self._stop_reader()

    async def _stop_reader(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        if self.ws is not None:
            await self.ws.close()
            self.ws = None

    # --- sending ------------------------------------------------------------------------

    async def send(self, message: dict[str, Any] | str) -> None:
        assert self.ws is not None, "connect first"
        await self.ws.send_str(message if isinstance(message, str) else json.dumps(message))

    async def answer(self, step: str, *, choice: list[str] | None = None, text: str | None = None,
                     answer_id: str | None = None) -> str:  # fmt: skip
        answer_id = answer_id or secrets.token_urlsafe(12)
        message: dict[str, Any] = {"t": "answer", "id": answer_id, "step": step}
        message.update({"choice": choice} if choice is not None else {"text": text})
        await self.send(message)
        return answer_id

    async def command(self, t: str, **fields: Any) -> None:
        await self.send({"t": t, **fields})

    # --- waiting ------------------------------------------------------------------------

    async def wait(self, predicate: Predicate, timeout: float = 10.0) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: predicate(self)), timeout)

    # --- receiving ----------------------------------------------------------------------

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for frame in ws:
            if frame.type != aiohttp.WSMsgType.TEXT:
                break
            self.frames.append(frame.data)
            await self._apply(json.loads(frame.data))

    async def _apply(self, message: dict[str, Any]) -> None:
        kind = message["t"]
        ack: int | None = None
        if kind == "welcome":
            self.welcomes.append(message)
            if message["mode"] == "snapshot" or message["run"] != self.run:
                self.state = dict(message["state"])
            else:
                self.state.update(message["state"])
            self.run, self.rev = message["run"], message["rev"]
            self.me = message.get("me") or self.me
            ack = self.rev
        elif kind == "delta":
            if message.get("since") is None and message["rev"] <= self.rev:
                pass  # old news, or (teacher, display) a lesson just launched: its welcome comes next
            elif message.get("since") is None and message["rev"] != self.rev + 1 and self.role == "student":
                await self.send({"t": "resume", "rev": self.rev})  # a gap: ask for what was missed
            else:
                self.state.update(message["set"])
                self.rev = message["rev"]
                ack = self.rev
        elif kind == "beat":
            if self.auto_ack:
                await self.send({"t": "ack", "rev": self.rev, "beat": message["n"]})
        elif kind == "me":
            self.me = message["me"]
        elif kind == "answered":
            self.answered[message["id"]] = message
        elif kind == "error":
            self.errors.append(message)
        elif kind == "class":
            if message.get("partial"):
                changed = {row["id"]: row for row in message["students"]}
                self.students = [changed.pop(row["id"], row) for row in self.students] + list(changed.values())
            else:
                self.students = message["students"]
        elif kind == "results":
            self.results = message["results"]
        elif kind == "summary":
            self.summary = message["summary"]
        elif kind == "headsets":
            self.headsets.append(message)
        if ack is not None and self.auto_ack:
            await self.send({"t": "ack", "rev": ack})
        async with self._changed:
            self._changed.notify_all()
