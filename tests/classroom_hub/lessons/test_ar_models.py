"""A ``model`` step opens its 3D model on the room's AR devices: simulated AR devices on the
real Mosquitto that really download the model from the hub, a teacher on the lesson WebSocket
and the teacher's page in headless Chromium."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from pydantic import ValidationError

from classroom_hub.app import REGISTRY
from classroom_hub.bus.payloads import Command
from classroom_hub.fleet.keys import FLEET
from classroom_hub.lessons.keys import LESSONS
from classroom_hub.lessons.protocol import SERVER_MESSAGE
from device_drivers.ar_device.commands import OpenModel
from device_drivers.ar_device.simulator import SimulatedArDevice
from device_drivers.mqtt_device.simulator import CommandRejected, running
from tests.classroom_hub.lessons.conftest import headsets_done
from tests.classroom_hub.lessons.conftest import teaching as lesson_running
from tests.conftest import login, wait_for, wait_js

from .made_files import make_glb

GLB = make_glb()
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 9"><rect width="16" height="9"/></svg>'
LESSON: dict[str, Any] = {
    "id": "trai-tim-3d",
    "title": "Trái tim người",
    "subject": "biology",
    "grade": 7,
    "language": "vi",
    "authors": ["Cô Lan"],
    "version": "1.0",
    "steps": [
        {"id": "mo-dau", "kind": "slide", "image": "slides/01.svg"},
        {"id": "mo-hinh", "kind": "model", "file": "mo hinh/trai-tim.glb", "alt": "Trái tim người"},
        {"id": "ket-thuc", "kind": "slide", "image": "slides/01.svg"},
    ],
}  # fmt: skip
MODEL_STEP = 1


def write_lesson(folder: Path) -> Path:
    (folder / "slides").mkdir(parents=True)
    (folder / "mo hinh").mkdir()
    (folder / "slides" / "01.svg").write_bytes(SVG)
    (folder / "mo hinh" / "trai-tim.glb").write_bytes(GLB)
    (folder / "lesson.json").write_text(json.dumps(LESSON, ensure_ascii=False), encoding="utf-8")
    return folder


def teaching(tmp_path: Path, broker_url: str) -> Any:
    """A hub with three AR devices in its room file and the model lesson running, a teacher connected."""
    devices = [{"kind": "ar_device", "id": "AR{:02d}", "count": 3, "heartbeat_timeout_s": 60}]
    return lesson_running(tmp_path, broker_url, devices, write_lesson(tmp_path / "lesson"), LESSON["id"])


done = headsets_done


async def test_a_model_step_opens_the_model_on_every_ar_device_and_leaving_it_closes_it(
    tmp_path: Path, system_mosquitto_url: str, browser: Any
) -> None:
    url = system_mosquitto_url
    async with teaching(tmp_path, url) as (hub, teacher, settings, password):
        ar = {
            "AR01": SimulatedArDevice(url, settings.room.id, "AR01", dropout_chance=0.0),
            "AR02": SimulatedArDevice(url, settings.room.id, "AR02", dropout_chance=0.0, max_model_bytes=100),
        }  # AR02 cannot hold a model this big; AR03 is switched off
        async with running(ar["AR01"]), running(ar["AR02"]):
            await wait_for(lambda: hub.app[REGISTRY].counts()["ar_device"]["online"] == 2)

            await teacher.command("goto", step=MODEL_STEP)
            await teacher.wait(lambda c: done(c, "open_model"))
            sending, opened = [m for m in teacher.headsets if m["command"] == "open_model"]
            assert (sending["state"], sending["total"], sending["model"]) == ("sending", 3, "mo hinh/trai-tim.glb")
            assert opened["summary"] == "1/3 showing the model, 1 failed: AR02, 1 offline: AR03"
            assert {r["device_id"]: r["state"] for r in opened["rows"]} == {
                "AR01": "showing", "AR02": "model_failed", "AR03": "offline"
            }  # fmt: skip
            assert ar["AR02"].showing_model is None
            # A model a device cannot hold is the teacher's row, not a fault for the technician.
            assert not [a for a in hub.app[FLEET].alarms.active() if a.kind == "command_failed"]
            # It really downloaded the lesson's model from the hub's keyed address and shows it.
            run = hub.app[LESSONS].run
            for device in [ar["AR01"]]:
                (fetched,) = device.models
                assert fetched.endswith(f"{run.files}/mo%20hinh/trai-tim.glb") and fetched.startswith("http://")
                assert device.showing_model == {"url": fetched, "title": "Trái tim người", "bytes": len(GLB)}
                assert device.status()["showing_model"]["url"] == fetched

            # The teacher's page, opened now, shows every AR device's row in Vietnamese.
            page = await browser.new_page()
            try:
                await login(page, hub, "co-lan", password, "/teacher")
                await wait_js(page, "document.getElementById('headsets-summary').dataset.state === 'done'")
                assert await page.inner_text("#headsets-title") == "Thiết bị AR: mô hình 3D"
                assert await page.inner_text("#headsets-summary") == (
                    "1/3 thiết bị AR đang hiện mô hình, 1 mất kết nối: AR03; 1 không mở được: AR02"
                )
                row = "#headsets-rows tr[data-device='{}'] td:last-child"
                assert await page.inner_text(row.format("AR01")) == "đang hiện mô hình"
                failed = "không mở được mô hình: thiết bị không tải hoặc không đọc được mô hình"
                assert await page.inner_text(row.format("AR02")) == failed
                assert await page.inner_text("#headsets-problems") == (
                    "AR02: thiết bị không tải hoặc không đọc được mô hình"
                    " (model too big for this device (over 100 bytes))"
                )
                assert await page.inner_text(row.format("AR03")) == "mất kết nối"
            finally:
                await page.close()  # its model viewer renders in software: not left running on 2 cores

            # AR03 is switched on while the step lasts: it opens the model too, and its row says so.
            ar["AR03"] = SimulatedArDevice(url, settings.room.id, "AR03", dropout_chance=0.0)
            async with running(ar["AR03"]):
                await teacher.wait(lambda c: c.headsets[-1].get("summary") == "2/3 showing the model, 1 failed: AR02")
                assert teacher.headsets[-1]["rows"][2] == {"device_id": "AR03", "state": "showing", "copy": "missing",
                                                           "percent": None, "reason": None, "detail": None}  # fmt: skip
                assert ar["AR03"].models == ar["AR01"].models and ar["AR03"].showing_model is not None

                # Leaving the step closes the model on every AR device.
                await teacher.command("goto", step=MODEL_STEP + 1)
                await teacher.wait(lambda c: done(c, "close_model"))
                assert teacher.headsets[-1]["summary"] == "3/3 closed"
                assert all(d.showing_model is None and not d.status()["showing_model"] for d in ar.values())

                # Ending the lesson on a model step closes it too.
                await teacher.command("goto", step=MODEL_STEP)
                await teacher.wait(lambda c: done(c, "open_model", 3))
                assert teacher.headsets[-1]["summary"] == "2/3 showing the model, 1 failed: AR02"
                await teacher.command("end")
                await teacher.wait(lambda c: done(c, "close_model", 2))
                assert all(d.showing_model is None for d in ar.values())
    for frame in teacher.frames:
        if frame.startswith('{"t"'):
            SERVER_MESSAGE.validate_json(frame)


async def test_an_ar_device_refuses_a_model_it_cannot_fetch_or_read_and_says_why() -> None:
    """The simulator checks what it downloads: a glTF (.glb magic, .gltf JSON with asset.version) or a reason."""
    files = {
        "/ok.glb": GLB,
        "/ok.gltf": json.dumps({"asset": {"version": "2.0"}}).encode(),
        "/page.gltf": b"<html>not a model</html>",
        "/no-asset.gltf": json.dumps({"scenes": []}).encode(),
    }

    async def serve(request: web.Request) -> web.Response:
        body = files.get(request.path)
        return web.Response(body=body) if body is not None else web.Response(status=404)

    app = web.Application()
    app.router.add_get("/{name}", serve)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    device = SimulatedArDevice("mqtt://127.0.0.1:1", "lop", "AR01")  # never connected: handle() is called directly
    try:

        async def open_model(path: str) -> dict[str, Any]:
            args = {"url": f"http://127.0.0.1:{port}{path}", "title": "Trái tim"}
            return await device.handle(Command(name="open_model", args=args, expires_at=time.time() + 60))

        device._announce = lambda: None  # type: ignore[method-assign]  # no broker here
        assert (await open_model("/ok.gltf"))["showing_model"]["title"] == "Trái tim"
        assert (await open_model("/ok.glb"))["bytes"] == len(GLB)
        for path, why in (("/page.gltf", "neither the 'glTF' magic"), ("/no-asset.gltf", "no asset.version"),
                          ("/missing.glb", "HTTP 404")):  # fmt: skip
            with pytest.raises(CommandRejected, match=why):
                await open_model(path)
        assert device.showing_model is not None and device.showing_model["url"].endswith("/ok.glb")  # kept
        with pytest.raises(CommandRejected, match="url"):
            relative = {"url": "/lesson/x/a.glb"}
            await device.handle(Command(name="open_model", args=relative, expires_at=time.time() + 60))
    finally:
        await runner.cleanup()


def test_open_model_needs_an_absolute_http_address() -> None:
    assert OpenModel(url="http://10.0.0.2:8080/lesson/abc.key/a.glb").title == ""
    for bad in ("/lesson/abc/a.glb", "ftp://hub/a.glb", "http://user:pw@hub/a.glb", "http:///a.glb"):
        with pytest.raises(ValidationError):
            OpenModel(url=bad)
