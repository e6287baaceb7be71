"""A teacher's client that misses revisions sends ``resume``, as docs/protocol.md section 4 says a
client does, and gets what it missed; written with the document's client (test_protocol_client.py)."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import websockets

from tests.classroom_hub.lessons.test_protocol_client import DocClient, socket_url, teacher_session
from tests.conftest import add_user, room_settings, run_hub


async def test_a_teacher_client_resumes_from_its_revision(tmp_path: Path, system_mosquitto_url: str) -> None:
    room = {"school_code": "THCS-DEMO", "id": "lop-7a-resume", "name": "Lớp 7A"}
    async with run_hub(room_settings(tmp_path, system_mosquitto_url, room=room)) as hub:
        password = await add_user(hub, "co-lan", "teacher")
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            cookie = {"Cookie": f"hub_session={await teacher_session(http, hub.url, 'co-lan', password)}"}
            teacher = DocClient(await websockets.connect(socket_url(hub.url, "teacher"), additional_headers=cookie),
                                "teacher")  # fmt: skip
            await teacher.send({"t": "launch", "lesson": "vong-tuan-hoan-nuoc-aquaponics", "class": "khtn-7a"})
            await teacher.wait(lambda c: c.run is not None and "code" in c.state)
            known = teacher.rev
            await teacher.send({"t": "goto", "step": 2})
            await teacher.send({"t": "lock", "on": True})
            await teacher.wait(lambda c: c.state.get("locked") is True)

            # As if the last two revisions were missed: resume from the revision it had.
            await teacher.send({"t": "resume", "rev": known})
            await teacher.wait(lambda c: (c.last("delta") or {}).get("since") == known)
            answer = teacher.last("delta")
            assert answer is not None and answer["rev"] == teacher.rev == known + 2
            assert answer["set"]["step"]["index"] == 2 and answer["set"]["locked"] is True
            assert not any(m["t"] == "error" for m in teacher.received)

            # A revision the hub never had (another run's): a snapshot, as on connecting.
            welcomes = sum(m["t"] == "welcome" for m in teacher.received)
            await teacher.send({"t": "resume", "rev": teacher.rev + 50})
            await teacher.wait(lambda c: sum(m["t"] == "welcome" for m in c.received) > welcomes)
            welcome = teacher.last("welcome")
            assert welcome is not None and welcome["mode"] == "snapshot" and welcome["state"] == teacher.state
            await teacher.close()
