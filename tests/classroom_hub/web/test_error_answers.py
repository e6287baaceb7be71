"""Every error answer of the hub's APIs has one body: ``{"error": code, "detail": text}``.

A hub error escaping a handler is answered by the one error middleware with the class's code
and HTTP status; the handlers that refuse a request themselves answer the same way.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from classroom_hub.app import REJECTIONS, SETTINGS
from classroom_hub.errors import CommandFailed, HubError
from classroom_hub.rejects import Rejections
from classroom_hub.web.access import ANYONE, allow
from classroom_hub.web.security import setup_security
from config.settings import HubSettings
from device_drivers.base import LinkError
from stem_labs.errors import SafetyRefusal
from studio.errors import BookingConflict
from tests.conftest import room_settings, run_hub


class ShelfEmpty(HubError):
    code = "shelf_empty"
    http_status = 409


RAISED: dict[str, Exception] = {
    "/own": ShelfEmpty("no scene bundle on the shelf"),
    "/lab": SafetyRefusal("pump on while the tank is low"),
    "/studio": BookingConflict("overlaps Địa lý 6 (08:00-08:45)", other_id="b-17"),
    "/device": CommandFailed("H01", "launch_scene", "battery too low (4 %)"),
    "/driver": LinkError("display D1: connection refused"),
}


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[str]:
    app = web.Application()
    setup_security(app)
    app[SETTINGS] = HubSettings(room={"school_code": "TEST", "id": "r1", "name": "Phòng"}, data_dir=tmp_path)
    app[REJECTIONS] = Rejections()
    for path, err in RAISED.items():

        @allow(ANYONE)
        async def handler(request: web.Request, err: Exception = err) -> web.Response:
            raise err

        app.router.add_get(path, handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    tcp = web.TCPSite(runner, "127.0.0.1", 0)
    await tcp.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


async def test_a_hub_error_escaping_a_handler_is_one_json_body_with_its_status(
    site: str, caplog: pytest.LogCaptureFixture
) -> None:
    answers = {}
    async with aiohttp.ClientSession(site) as http:
        for path in RAISED:
            async with http.get(path) as r:
                assert r.content_type == "application/json"
                answers[path] = (r.status, await r.json())
    assert answers == {
        "/own": (409, {"error": "shelf_empty", "detail": "no scene bundle on the shelf"}),
        "/lab": (409, {"error": "safety_rule", "detail": "pump on while the tank is low"}),
        "/studio": (409, {"error": "conflict", "detail": "overlaps Địa lý 6 (08:00-08:45)", "other_id": "b-17"}),
        "/device": (502, {"error": "device_refused", "detail": "battery too low (4 %)"}),
        "/driver": (503, {"error": "device_unreachable", "detail": "display D1: connection refused"}),
    }
    # A failure on the hub's side (5xx) leaves a log line with its traceback; a refusal (4xx) does not.
    failed = [r for r in caplog.records if "event=request_failed" in r.getMessage()]
    assert sorted(r.getMessage().split(" path=")[1].split()[0] for r in failed) == ["/device", "/driver"]
    assert all(r.exc_info is not None and r.levelno == logging.WARNING for r in failed)


async def test_the_hubs_own_refusals_have_the_same_shape(tmp_path: Path, system_mosquitto_url: str) -> None:
    async with run_hub(room_settings(tmp_path, system_mosquitto_url)) as hub, aiohttp.ClientSession(hub.url) as http:
        refusals = [
            await http.post("/api/lesson/join", json={"code": "12", "student": "hs-1", "client": "x" * 16}),
            await http.post("/api/lesson/join", json={"code": "1234", "student": "hs-1", "client": "x" * 22}),
            await http.get("/api/display"),
            await http.post("/api/display/pair", json={"code": "abc"}),
            await http.get("/api/devices"),
            await http.get("/api/lesson/summary"),
        ]
        answers = [(r.status, await r.json()) for r in refusals]
    assert [(status, body["error"]) for status, body in answers] == [
        (400, "invalid"), (404, "bad_code"), (401, "not_paired"), (400, "invalid"), (401, "login_required"),
        (401, "login_required"),
    ]  # fmt: skip
    assert all(set(body) == {"error", "detail"} and body["detail"] for _status, body in answers), answers
    assert answers[0][1]["detail"].startswith("code: String should match pattern")
