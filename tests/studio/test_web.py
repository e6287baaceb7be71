"""The studio's HTTP API on a running hub: roles, bookings, the calendar feed, record, review, publish."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp

from studio.keys import STUDIO
from tests.conftest import RunningHub, add_user, wait_for
from tests.studio.test_calendar import _read, _unescape

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


async def _session(hub: RunningHub, username: str, role: str) -> aiohttp.ClientSession:
    password = await add_user(hub, username, role)
    session = aiohttp.ClientSession(hub.url, cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with session.post("/login", data={"username": username, "password": password, "next": "/"},
                            allow_redirects=False) as res:  # fmt: skip
        assert res.status == 302
    return session


def _local(ts: float) -> str:
    """A wall-clock time in the studio's zone without offset, as a booking form sends it."""
    return datetime.fromtimestamp(ts, ZONE).replace(tzinfo=None).isoformat(timespec="seconds")


async def _json(res: aiohttp.ClientResponse, status: int) -> Any:
    body = await res.json()
    assert res.status == status, body
    return body


async def test_bookings_calendar_recording_and_review_over_http(studio_hub: RunningHub) -> None:
    staff = await _session(studio_hub, "ky.thuat", "studio_staff")
    lan = await _session(studio_hub, "co.lan", "teacher")
    minh = await _session(studio_hub, "thay.minh", "teacher")
    try:
        now = time.time()
        slot = {"title": "Sinh học 9, bài 12", "starts_at": _local(now + 60), "ends_at": _local(now + 3600)}
        booking = await _json(await lan.post("/api/studio/bookings", json=slot), 201)
        assert booking["teacher"] == "co.lan" and booking["starts_at"].endswith("+07:00")
        await _json(await minh.post("/api/studio/bookings", json={**slot, "teacher": "co.lan"}), 403)
        conflict = await _json(await minh.post("/api/studio/bookings", json=slot), 409)
        assert conflict["other_id"] == booking["id"]
        await _json(await minh.post("/api/studio/bookings", json={**slot, "ends_at": "soon"}), 400)

        today = await _json(await minh.get("/api/studio/bookings"), 200)
        assert [b["id"] for b in today["bookings"]] == [booking["id"]] and today["current"] == booking["id"]
        async with aiohttp.ClientSession(studio_hub.url) as anonymous:
            async with anonymous.get("/studio/calendar.ics") as res:
                assert res.status == 403
            async with anonymous.get(today["calendar"]) as res:
                assert res.status == 200 and res.content_type == "text/calendar"
                [event] = _read(await res.read())
                assert _unescape(event["SUMMARY"]) == "Sinh học 9, bài 12"

        # Live controls are the studio staff's.
        await _json(await lan.get("/api/studio/status"), 403)
        await _json(await lan.post("/api/studio/record", json={}), 403)
        await _json(await staff.post("/api/studio/layout", json={"layout": "pip"}), 200)
        await _json(await staff.post("/api/studio/layout", json={"layout": "mosaic"}), 400)
        moved = await _json(await staff.post("/api/studio/ptz", json={"camera": "cam-1", "action": "home"}), 200)
        assert moved["ok"]
        await _json(await staff.post("/api/studio/ptz", json={"camera": "cam-1", "action": "drive"}), 400)
        async with staff.get("/api/studio/preview.jpg") as res:
            assert res.content_type == "image/jpeg" and (await res.read())[:2] == b"\xff\xd8"

        recording = await _json(await staff.post("/api/studio/record", json={}), 201)
        assert recording["booking_id"] == booking["id"] and recording["state"] == "recording"
        await _json(await staff.post("/api/studio/record", json={}), 409)
        status = await _json(await staff.get("/api/studio/status"), 200)
        assert status["recording"]["id"] == recording["id"] and status["layout"] == "pip"
        assert status["disk_free_mb"] > 0 and -90 <= status["audio_db"] < 0
        await _json(await staff.post("/api/studio/chapter", json={"title": "Mở đầu"}), 200)
        draft = await _json(await staff.post("/api/studio/stop"), 200)
        assert draft["state"] == "draft" and draft["duration_s"] > 0

        rid = recording["id"]
        mine = await _json(await lan.get("/api/studio/recordings"), 200)
        assert [r["id"] for r in mine["recordings"]] == [rid]
        assert (await _json(await minh.get("/api/studio/recordings"), 200))["recordings"] == []
        await _json(await minh.get(f"/api/studio/recordings/{rid}"), 403)
        edit = {"subject": "Sinh học", "grade": "9", "trim_in_s": 0.0}
        await _json(await lan.patch(f"/api/studio/recordings/{rid}", json=edit), 200)
        await _json(await lan.post(f"/api/studio/recordings/{rid}/submit"), 200)
        await _json(await lan.post(f"/api/studio/recordings/{rid}/review", json={"decision": "approve"}), 403)
        approved = await _json(
            await staff.post(f"/api/studio/recordings/{rid}/review", json={"decision": "approve"}), 200
        )
        assert approved["state"] == "approved"
        published = await _json(await staff.post(f"/api/studio/recordings/{rid}/publish"), 200)
        assert published["state"] == "published" and len(published["sha256"]) == 64
        async with lan.get(f"/api/studio/recordings/{rid}/media") as res:
            assert res.status == 200 and res.content_type == "video/mp4"
        outbox = await _json(await staff.get("/api/studio/outbox"), 200)
        assert outbox["depth"] == 1 and outbox["pending"][0]["recording_id"] == rid

        cancelled = await _json(await lan.delete(f"/api/studio/bookings/{booking['id']}"), 200)
        assert cancelled["state"] == "cancelled"
        async with lan.get("/studio", allow_redirects=False) as res:
            assert res.status == 302 and "forbidden" in res.headers["Location"]
    finally:
        for session in (staff, lan, minh):
            await session.close()


async def test_live_socket_status_preview_layout_and_a_joystick_released_by_a_lost_page(
    studio_hub: RunningHub,
) -> None:
    staff = await _session(studio_hub, "ky.thuat", "studio_staff")
    studio = studio_hub.app[STUDIO]
    head = studio.cameras.cameras["cam-1"].head
    assert head is not None
    try:
        async with staff.ws_connect("/ws/studio") as ws:
            status = await ws.receive_json(timeout=5)
            assert status["type"] == "status" and status["layout"] == "cam1" and status["recording"] is None
            picture = await ws.receive(timeout=5)
            while picture.type == aiohttp.WSMsgType.TEXT:
                picture = await ws.receive(timeout=5)
            assert picture.type == aiohttp.WSMsgType.BINARY and picture.data[:2] == b"\xff\xd8"  # a JPEG
            await ws.send_json({"type": "layout", "layout": "side_by_side"})
            await ws.send_json({"type": "ptz", "ptz": {"camera": "cam-1", "action": "drive", "direction": "left",
                                                       "speed": 10}})  # fmt: skip
            seen: list[dict[str, Any]] = []
            while not any(m.get("type") == "ptz_result" for m in seen) or not any(
                m.get("event", {}).get("type") == "layout" for m in seen
            ):
                message = await ws.receive(timeout=5)
                if message.type == aiohttp.WSMsgType.TEXT:
                    seen.append(message.json())
            assert {"type": "ptz_result", "camera": "cam-1", "ok": True} in seen
            assert {"type": "event", "event": {"type": "layout", "layout": "side_by_side"}} in seen
            await wait_for(lambda: head.position()[0] < -20, timeout=5)
        # The page went away with the joystick held: the hub stops the head, which then stays
        # where it is (three readings 0.3 s apart alike; a loaded machine may take a while).
        readings = [head.position()]

        def still() -> bool:
            readings.append(head.position())
            return len(readings) >= 3 and readings[-1] == readings[-2] == readings[-3]

        await wait_for(still, timeout=15, interval=0.3)
    finally:
        await staff.close()
