"""A vr_scene step drives the room's headsets: simulated headsets on the real Mosquitto, a
teacher on the lesson WebSocket and the teacher's page in headless Chromium."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import os
from pathlib import Path
from typing import Any

import aiohttp

from classroom_hub.app import REGISTRY
from classroom_hub.fleet.keys import FLEET
from classroom_hub.lessons.keys import LESSONS
from classroom_hub.lessons.protocol import SERVER_MESSAGE
from classroom_hub.lessons.simulator import LessonClient
from device_drivers.headset.fleet import FailurePlan, HeadsetFleet
from tests.classroom_hub.lessons.conftest import headsets_done
from tests.classroom_hub.lessons.conftest import teaching as lesson_running
from tests.conftest import add_user, login, room_settings, run_hub, wait_for, wait_js

BUNDLE = b"glTF-scene: a tour of an aquaponics farm, tanks, pumps and grow beds. " * 3000
SHA256 = hashlib.sha256(BUNDLE).hexdigest()
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 9"><rect width="16" height="9"/></svg>'
LESSON: dict[str, Any] = {
    "id": "trang-trai-vr",
    "title": "Tham quan trang trại",
    "subject": "biology",
    "grade": 7,
    "language": "vi",
    "authors": ["Cô Lan"],
    "version": "1.0",
    "steps": [
        {"id": "mo-dau", "kind": "slide", "image": "slides/01.svg"},
        {"id": "tham-quan-vr", "kind": "vr_scene", "title": "Trang trại (kính VR)", "scene_id": "farm-tour",
         "content_id": "vinaponics.vr.farm-tour", "sha256": SHA256, "duration_s": 300},
        {"id": "ket-thuc", "kind": "slide", "image": "slides/01.svg"},
    ],
}  # fmt: skip
VR_STEP = 1
_rooms = itertools.count(1)


def write_lesson(folder: Path) -> Path:
    (folder / "slides").mkdir(parents=True)
    (folder / "slides" / "01.svg").write_bytes(SVG)
    (folder / "lesson.json").write_text(json.dumps(LESSON, ensure_ascii=False), encoding="utf-8")
    return folder


def teaching(tmp_path: Path, broker_url: str, devices: list[dict[str, Any]]) -> Any:
    """A hub of the demo school with the VR lesson in its library and a teacher connected by WebSocket."""
    return lesson_running(tmp_path, broker_url, devices, write_lesson(tmp_path / "lesson"), LESSON["id"])


done = headsets_done


async def test_a_vr_step_launches_the_scene_on_the_headsets_and_leaving_it_sends_them_home(
    tmp_path: Path, system_mosquitto_url: str, browser: Any
) -> None:
    url = system_mosquitto_url
    headset_rows = [{"kind": "headset", "id": "H{:02d}", "count": 4, "heartbeat_timeout_s": 60}]
    async with teaching(tmp_path, url, headset_rows) as (hub, teacher, settings, password):
        await asyncio.to_thread(hub.app[FLEET].scenes.add, "vinaponics.vr.farm-tour", BUNDLE, "Trang trại")
        plan = FailurePlan(offline=1, low_battery=1, missing_scene=1)
        async with HeadsetFleet(url, settings.room.id, count=4, plan=plan, cached={SHA256: BUNDLE}) as fleet:
            roles = fleet.roles
            (away,), (flat,), (fetcher,) = roles.offline, roles.low_battery, roles.missing_scene
            await wait_for(lambda: hub.app[REGISTRY].counts()["headset"]["online"] == 3)

            await teacher.command("goto", step=VR_STEP)
            final = f"2/4 launched, 1 offline: {away}; 1 failed: {flat}"
            # At once, those holding the scene; the one without it when its copy is ready (a later message).
            await teacher.wait(lambda c: c.headsets and c.headsets[-1].get("summary") == final)
            sending, launched = teacher.headsets[0], teacher.headsets[-1]
            assert (sending["state"], sending["total"], sending["step"]) == ("sending", 4, "tham-quan-vr")
            assert {r["device_id"]: r["state"] for r in launched["rows"]} == {
                away: "offline", flat: "launch_failed", fetcher: "playing",
                **{d: "playing" for d in fleet.online if d not in (flat, fetcher)},
            }  # fmt: skip
            by_id = {r["device_id"]: r for r in launched["results"]}
            assert by_id[flat]["error"] == "battery too low (4 %)"
            playing = sorted(d for d, h in fleet.headsets.items() if h.scene == "farm-tour")
            assert playing == sorted(set(fleet.online) - {flat})
            # The headset without the bundle fetched it from the hub, checked against the lesson's sha256.
            assert fleet.headsets[fetcher].fetches == [SHA256]

            # The teacher's page, opened now, shows the outcome in Vietnamese (sent in its welcome).
            page = await browser.new_page()
            try:
                await login(page, hub, "co-lan", password, "/teacher")
                summary = page.locator("#headsets-summary")
                await wait_js(page, "document.getElementById('headsets-summary').dataset.state === 'done'")
                assert await summary.inner_text() == (
                    f"2/4 đã mở cảnh, 1 mất kết nối: {away}; 1 không mở được: {flat}"
                )
                assert f"{flat}: battery too low (4 %)" in await page.inner_text("#headsets-problems")
                # Every headset's row in Vietnamese, the one that fetched the scene first included.
                row = "#headsets-rows tr[data-device='{}'] td:last-child"
                assert await page.inner_text(row.format(fetcher)) == "đang chiếu"
                assert await page.inner_text(row.format(flat)) == "không mở được: kính từ chối"
                assert await page.inner_text(row.format(away)) == "mất kết nối"

                # Leaving the step sends every headset home; the page says so and hides the VR box.
                await page.click("#next")
                await teacher.wait(lambda c: done(c, "home"))
                assert teacher.headsets[-1]["summary"] == f"3/4 back home, 1 offline: {away}"
                assert all(h.scene is None for h in fleet.headsets.values())
                await wait_js(page,
                    "document.getElementById('toast').textContent.includes('kính đã về màn hình chính')"
                )
                assert await page.locator("#headsets").is_hidden()
            finally:
                await page.close()

            # Ending the lesson on a VR step sends the headsets home too.
            await teacher.command("goto", step=VR_STEP)
            await teacher.wait(
                lambda c: sum(m["state"] == "sending" and m["command"] == "launch_scene" for m in c.headsets) == 2
                and c.headsets[-1]["state"] == "done"
            )
            await teacher.command("end")
            await teacher.wait(lambda c: done(c, "home", 2))
            assert all(h.scene is None for h in fleet.headsets.values())
    for frame in teacher.frames:
        if frame.startswith('{"t"'):
            SERVER_MESSAGE.validate_json(frame)


async def test_a_room_without_headsets_sends_nothing(tmp_path: Path, system_mosquitto_url: str) -> None:
    tablets = [{"kind": "tablet", "id": "T{:02d}", "count": 2}]
    async with teaching(tmp_path, system_mosquitto_url, tablets) as (hub, teacher, _settings, _password):
        headsets = hub.app[LESSONS].headsets
        assert headsets is not None
        for step in (VR_STEP, VR_STEP + 1):
            await teacher.command("goto", step=step)
            await teacher.wait(lambda c, i=step: c.state["step"]["index"] == i)  # type: ignore[misc]
            await wait_for(lambda: not headsets.busy)
        assert teacher.headsets == []
        assert sum(hub.app[FLEET].commands.results.values()) == 0


async def test_a_vr_step_whose_scene_the_hub_lacks_is_one_message_not_forty_refusals(
    tmp_path: Path, system_mosquitto_url: str
) -> None:
    url = system_mosquitto_url
    headset_rows = [{"kind": "headset", "id": "H{:02d}", "count": 40, "heartbeat_timeout_s": 60}]
    async with teaching(tmp_path, url, headset_rows) as (hub, teacher, settings, _password):
        # The lesson's scene was never imported into this hub's library.
        async with HeadsetFleet(url, settings.room.id, count=40, dropout_chance=0.0) as fleet:
            await wait_for(lambda: hub.app[REGISTRY].counts()["headset"]["online"] == 40)
            await teacher.command("goto", step=VR_STEP)
            await teacher.wait(lambda c: any(m["state"] == "not_on_hub" for m in c.headsets))
            (message,) = teacher.headsets
            assert (message["content_id"], message["total"]) == ("vinaponics.vr.farm-tour", 40)
            await wait_for(lambda: not hub.app[LESSONS].headsets.busy)
            assert all(not h.commands_seen for h in fleet.headsets.values())
        assert not [a for a in hub.app[FLEET].alarms.active() if a.kind == "command_failed"]
    for frame in teacher.frames:
        if frame.startswith('{"t"'):
            SERVER_MESSAGE.validate_json(frame)


async def test_the_sample_lessons_vr_step_plays_on_forty_headsets_that_fetch_its_scene(
    tmp_path: Path, system_mosquitto_url: str
) -> None:
    """As in the demo: the sample lesson and the sample scene a new hub stocks, 40 headsets
    holding nothing, which download the scene from the hub and then play it."""
    url = system_mosquitto_url
    headset_rows = [{"kind": "headset", "id": "H{:02d}", "count": 40, "heartbeat_timeout_s": 60}]
    room = {"school_code": "THCS-DEMO", "id": f"lop-mau-{os.getpid()}-{next(_rooms)}", "name": "Lớp 7A"}
    settings = room_settings(tmp_path, url, room=room, devices=headset_rows)
    async with run_hub(settings) as hub, HeadsetFleet(url, settings.room.id, count=40, dropout_chance=0.0) as fleet:
        await wait_for(lambda: hub.app[REGISTRY].counts()["headset"]["online"] == 40)
        password = await add_user(hub, "co-lan", "teacher")
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            form = {"username": "co-lan", "password": password}
            async with http.post(f"{hub.url}/login", data=form, allow_redirects=False) as response:
                assert response.status == 302
            teacher = LessonClient(http, hub.url, role="teacher")
            await teacher.connect()
            try:
                await teacher.command("launch", lesson="vong-tuan-hoan-nuoc-aquaponics", **{"class": "khtn-7a"})
                await teacher.wait(lambda c: c.state.get("step", {}).get("index") == 0)
                await teacher.command("goto", step=6)  # Tham quan trang trại aquaponics (kính thực tế ảo)
                await teacher.wait(lambda c: bool(c.headsets) and c.headsets[-1].get("summary") == "40/40 launched",
                                   timeout=60)  # fmt: skip
            finally:
                await teacher.close()
        assert all(h.scene == "aquaponics-farm-tour" and len(h.fetches) == 1 for h in fleet.headsets.values())
        assert not [a for a in hub.app[FLEET].alarms.active() if a.kind == "command_failed"]
