"""Headsets fetch scenes from the hub for real: the hub on the real Mosquitto, simulated headsets
downloading over HTTP (through a modelled access point where a download is cut), the teacher's
picker in headless Chromium."""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import Any

import aiohttp

from classroom_hub.app import REGISTRY, REJECTIONS
from classroom_hub.bus.topics import device_topic
from classroom_hub.fleet.keys import FLEET
from classroom_hub.fleet.scenes.shelf import Scene
from device_drivers.headset.fleet import HeadsetFleet
from device_drivers.headset.simulator import SimulatedHeadset
from device_drivers.mqtt_device.simulator import running
from tests.classroom_hub.fleet.conftest import fleet_hub, headset_room, logged_in
from tests.conftest import add_user, login, room_settings, wait_for, wait_js


def _load_access_point() -> Any:
    # bench/ is a folder of scripts, not a package: load the proxy from its file.
    path = Path(__file__).resolve().parents[3] / "bench" / "access_point.py"
    spec = importlib.util.spec_from_file_location("bench_access_point", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


AccessPoint = _load_access_point().AccessPoint
BIG = os.urandom(3 << 20)  # 3 MB: big enough to be cut part-way


def sample(hub: Any) -> Scene:
    (scene,) = [s for s in hub.app[FLEET].scenes.list() if s.content_id == "vinaponics.vr.aquaponics-farm-tour"]
    return scene


def states(hub: Any) -> dict[str, str]:
    return {r["device_id"]: r["state"] for r in hub.app[FLEET].launcher.rows()}


def command_alarms(hub: Any) -> set[str]:
    return {a.device_id for a in hub.app[FLEET].alarms.active() if a.kind == "command_failed"}


async def test_forty_headsets_without_the_scene_fetch_it_from_the_hub_and_then_play_it(
    tmp_path: Path, system_mosquitto_url: str
) -> None:
    url = system_mosquitto_url
    settings = room_settings(tmp_path, url, devices=headset_room(40))
    async with fleet_hub(settings) as hub:
        scene = sample(hub)  # the demo's farm tour, stocked when the hub starts
        async with HeadsetFleet(url, settings.room.id, count=40, dropout_chance=0.0) as headsets:
            await wait_for(lambda: hub.app[REGISTRY].counts()["headset"]["online"] == 40)
            async with logged_in(hub, "teacher", "co-lan") as client:
                async with client.post("/api/scenes/launch", json={"sha256": scene.sha256}) as response:
                    assert response.status == 200, await response.text()
                    first = await response.json()
                # None held it: every headset was told to fetch it; none was asked to launch what it lacks.
                assert first["scene"]["sha256"] == scene.sha256
                assert {r["state"] for r in first["headsets"]} <= {"waiting", "downloading", "launching", "playing"}
                await wait_for(lambda: set(states(hub).values()) == {"playing"}, timeout=30)
                async with client.get("/api/scenes") as response:
                    rows = (await response.json())["launch"]["headsets"]
            assert len(rows) == 40 and all(r["copy"] == "ready" and r["percent"] == 100 for r in rows)
            for device_id, headset in headsets.headsets.items():
                assert headset.fetches == [scene.sha256], device_id
                assert headset.scene == "aquaponics-farm-tour"
                launches = [c for c in headset.commands_seen if c.name == "launch_scene"]
                assert len(launches) == 1 and launches[0].args["content"]["sha256"] == scene.sha256
            # Each headset's status now lists the scene: the hub knows who holds it after a restart too.
            await wait_for(lambda: all(scene.sha256 in (r.extra.get("scenes") or [])
                                       for r in hub.app[REGISTRY].by_kind("headset")))  # fmt: skip
        assert command_alarms(hub) == set()  # a missing scene is a state, not 40 alarms


async def test_a_scene_is_served_only_to_its_headset_key_or_to_staff_and_resumes_by_range(
    tmp_path: Path, system_mosquitto_url: str
) -> None:
    settings = room_settings(tmp_path, system_mosquitto_url, devices=headset_room(2))
    async with fleet_hub(settings) as hub:
        fleet = hub.app[FLEET]
        scene = await asyncio.to_thread(fleet.scenes.add, "big-scene", BIG, "Cảnh lớn")
        keyed = fleet.scene_keys.url(hub.url, "H01", scene.sha256)
        others = fleet.scene_keys.url(hub.url, "H02", scene.sha256)
        async with aiohttp.ClientSession() as anonymous:
            async with anonymous.get(f"{hub.url}/scenes/{scene.sha256}") as response:
                assert response.status == 403  # knowing the hash is not enough
                assert (await response.json())["error"] == "scene_key_required"
            wrong = keyed.replace("device=H01", "device=H02")  # H01's key under H02's name
            async with anonymous.get(wrong) as response:
                assert response.status == 403 and (await response.json())["error"] == "bad_scene_key"
            async with anonymous.get(others) as response:
                assert response.status == 200 and await response.read() == BIG
            async with anonymous.get(keyed, headers={"Range": "bytes=1000000-"}) as response:
                assert response.status == 206
                assert await response.read() == BIG[1000000:]
        async with logged_in(hub, "student", "hoc-sinh") as student, student.get(f"/scenes/{scene.sha256}") as response:
            assert response.status == 403
        async with logged_in(hub, "teacher", "co-lan") as teacher, teacher.get(f"/scenes/{scene.sha256}") as response:
            assert response.status == 200 and hashlib.sha256(await response.read()).hexdigest() == scene.sha256


async def test_a_cut_download_resumes_where_it_stopped(tmp_path: Path, system_mosquitto_url: str) -> None:
    url = system_mosquitto_url
    settings = room_settings(tmp_path, url, devices=headset_room(1))
    async with fleet_hub(settings) as hub:
        fleet = hub.app[FLEET]
        scene = await asyncio.to_thread(fleet.scenes.add, "big-scene", BIG, "Cảnh lớn")
        port = int(hub.url.rsplit(":", 1)[1])
        # The headset's Wi-Fi drops once, after a third of the scene.
        async with (
            AccessPoint(("127.0.0.1", port), mbit_s=None, rtt_ms=0, cut_after=1 << 20) as ap,
            HeadsetFleet(url, settings.room.id, count=1, dropout_chance=0.0) as headsets,
        ):
            await wait_for(lambda: hub.app[REGISTRY].counts()["headset"]["online"] == 1)
            await fleet.launcher.launch(scene, f"http://127.0.0.1:{ap.port}", ["H01"])
            await wait_for(lambda: states(hub) == {"H01": "playing"}, timeout=20)
            headset = headsets.headsets["H01"]
            assert ap.cuts == 1
            (resumed,) = headset.ranges
            start = int(resumed.removeprefix("bytes=").rstrip("-"))
            assert 0 < start < len(BIG)  # asked only for the rest
            assert headset.fetches == [scene.sha256] and headset.cache[scene.sha256] == BIG
            assert ap.bytes_down < len(BIG) + start  # the first part did not travel twice


async def test_a_download_that_does_not_match_its_hash_is_refused_and_shown_not_alarmed(
    tmp_path: Path, system_mosquitto_url: str
) -> None:
    url = system_mosquitto_url
    settings = room_settings(tmp_path, url, devices=headset_room(3))
    async with fleet_hub(settings) as hub:
        fleet = hub.app[FLEET]
        scene = await asyncio.to_thread(fleet.scenes.add, "big-scene", BIG, "Cảnh lớn")
        # The stored copy rots on the hub's disk: same size, other bytes.
        (fleet.scenes.folder / scene.sha256).write_bytes(bytes(len(BIG)))
        async with HeadsetFleet(url, settings.room.id, count=3, dropout_chance=0.0) as headsets:
            await wait_for(lambda: hub.app[REGISTRY].counts()["headset"]["online"] == 3)
            headsets.headsets["H03"].storage_free_mb = 1.0  # not room for 3 MB
            await fleet.launcher.launch(scene, hub.url)
            await wait_for(lambda: states(hub) == {"H01": "fetch_failed", "H02": "fetch_failed", "H03": "fetch_failed"})
            rows = {r["device_id"]: r for r in fleet.launcher.rows()}
            assert (rows["H01"]["reason"], rows["H01"]["detail"]) == (
                "hash_mismatch", "scene download does not match its sha256; not kept",
            )  # fmt: skip
            refusal = ("failed", "not enough storage for the scene (3 MB)")
            assert (rows["H03"]["reason"], rows["H03"]["detail"]) == refusal
            assert all(scene.sha256 not in h.cache for h in headsets.headsets.values())
            assert all(not any(c.name == "launch_scene" for c in h.commands_seen) for h in headsets.headsets.values())
        assert command_alarms(hub) == set()


async def test_a_launch_reaches_only_ready_headsets_and_the_rest_follow_when_ready(
    tmp_path: Path, system_mosquitto_url: str
) -> None:
    url = system_mosquitto_url
    settings = room_settings(tmp_path, url, devices=headset_room(4))
    async with fleet_hub(settings) as hub:
        fleet = hub.app[FLEET]
        scene = await asyncio.to_thread(fleet.scenes.add, "big-scene", BIG, "Cảnh lớn")
        port = int(hub.url.rsplit(":", 1)[1])
        # A slow access point (8 Mbit/s): the two without the scene take a few seconds to fetch it.
        async with AccessPoint(("127.0.0.1", port), mbit_s=8, rtt_ms=20) as ap:
            cached = {scene.sha256: BIG}
            async with HeadsetFleet(url, settings.room.id, count=4, dropout_chance=0.0, cached=cached) as headsets:
                for device_id in ("H03", "H04"):
                    headsets.headsets[device_id].cache.clear()
                    headsets.headsets[device_id]._announce()  # its status now lists no scene
                await wait_for(lambda: hub.app[REGISTRY].counts()["headset"]["online"] == 4)
                await wait_for(lambda: fleet.copies.of("H03", scene.sha256).state == "missing"
                               and fleet.copies.of("H01", scene.sha256).state == "ready")  # fmt: skip
                rows = await fleet.launcher.launch(scene, f"http://127.0.0.1:{ap.port}")
                now = {r["device_id"]: r["state"] for r in rows}
                assert now["H01"] == now["H02"] == "playing"
                assert now["H03"] in ("waiting", "downloading") and now["H04"] in ("waiting", "downloading")
                assert headsets.headsets["H03"].scene is None  # not launched while it lacks the scene
                await wait_for(lambda: fleet.copies.of("H03", scene.sha256).state == "downloading")
                assert 0 <= (fleet.copies.of("H03", scene.sha256).percent or 0) < 100
                await wait_for(lambda: set(states(hub).values()) == {"playing"}, timeout=30)
                assert all(h.scene == "big-scene" for h in headsets.headsets.values())


async def test_a_malformed_progress_event_is_refused_and_changes_nothing(
    tmp_path: Path, system_mosquitto_url: str
) -> None:
    url = system_mosquitto_url
    settings = room_settings(tmp_path, url, devices=headset_room(1))
    async with fleet_hub(settings) as hub, HeadsetFleet(url, settings.room.id, count=1, dropout_chance=0.0) as headsets:
        await wait_for(lambda: hub.app[REGISTRY].counts()["headset"]["online"] == 1)
        bad = {"type": "scene_download", "data": {"sha256": "not-a-hash", "state": "ready"}}
        headsets.headsets["H01"].link.publish(device_topic(settings.room.id, "H01", "event"), json.dumps(bad), qos=1)
        rejections = hub.app[REJECTIONS]
        await wait_for(lambda: rejections.by_reason["malformed_event"] == 1)
        detail = [r.detail for r in rejections.recent if r.reason == "malformed_event"]
        assert detail == ["scene_download: sha256: String should match pattern '^[0-9a-f]{64}$'"]
        assert hub.app[FLEET].copies.of("H01", "not-a-hash").state == "missing"


async def test_the_teacher_picks_a_scene_and_sees_each_headset_in_vietnamese(
    tmp_path: Path, system_mosquitto_url: str, browser: Any
) -> None:
    url = system_mosquitto_url
    settings = room_settings(tmp_path, url, devices=headset_room(3))
    async with fleet_hub(settings) as hub:
        scene = sample(hub)
        async with HeadsetFleet(url, settings.room.id, count=3, dropout_chance=0.0) as headsets:
            await wait_for(lambda: hub.app[REGISTRY].counts()["headset"]["online"] == 3)
            await headsets.switch_off("H03")
            await wait_for(lambda: hub.app[REGISTRY].counts()["headset"].get("online") == 2)
            password = await add_user(hub, "co-lan", "teacher")
            page = await browser.new_page()
            try:
                await login(page, hub, "co-lan", password, "/teacher")
                await wait_js(page, "document.querySelectorAll('#scene-pick option').length > 0")
                label = await page.inner_text("#scene-pick option")
                assert label == "Tham quan trang trại aquaponics (kính VR)"
                assert await page.eval_on_selector("#scene-pick", "s => s.value") == scene.sha256
                assert await page.inner_text("#scene-held") == (
                    "0/3 kính đã có sẵn cảnh này; các kính còn lại sẽ tải từ máy chủ rồi tự mở."
                )
                await page.click("#scene-launch")
                await wait_js(page, "[...document.querySelectorAll('#scene-rows tbody tr')]"
                                    ".filter(tr => tr.dataset.state === 'playing').length === 2")  # fmt: skip
                assert await page.inner_text("#scene-summary") == "2/3 kính đang chiếu · 1 mất kết nối"
                assert await page.inner_text("#scene-rows tr[data-device='H01'] td:last-child") == "đang chiếu"
                assert await page.inner_text("#scene-rows tr[data-device='H03'] td:last-child") == "mất kết nối"
                assert await page.inner_text("#scene-now") == "Đang mở: Tham quan trang trại aquaponics"
                await page.click("#scene-stop")
                await wait_for(lambda: all(h.scene is None for h in headsets.headsets.values()))
                await wait_js(page, "document.querySelectorAll('#scene-rows tbody tr').length === 0")
            finally:
                await page.close()


async def test_a_headset_away_at_the_launch_fetches_and_plays_when_it_comes_back(
    tmp_path: Path, system_mosquitto_url: str
) -> None:
    url = system_mosquitto_url
    settings = room_settings(tmp_path, url, devices=headset_room(2))
    async with fleet_hub(settings) as hub, HeadsetFleet(url, settings.room.id, count=1, dropout_chance=0.0):
        fleet = hub.app[FLEET]
        scene = sample(hub)
        await wait_for(lambda: hub.app[REGISTRY].counts()["headset"]["online"] == 1)
        await fleet.launcher.launch(scene, hub.url)
        await wait_for(lambda: states(hub) == {"H01": "playing", "H02": "offline"})
        late = SimulatedHeadset(url, settings.room.id, "H02", dropout_chance=0.0)
        async with running(late):
            await wait_for(lambda: states(hub) == {"H01": "playing", "H02": "playing"})
        assert late.fetches == [scene.sha256] and late.scene == "aquaponics-farm-tour"


async def test_a_technician_has_headsets_fetch_a_scene_before_class(tmp_path: Path, system_mosquitto_url: str) -> None:
    url = system_mosquitto_url
    settings = room_settings(tmp_path, url, devices=headset_room(3))
    async with fleet_hub(settings) as hub, HeadsetFleet(url, settings.room.id, count=3, dropout_chance=0.0) as headsets:
        fleet = hub.app[FLEET]
        scene = sample(hub)
        await wait_for(lambda: hub.app[REGISTRY].counts()["headset"]["online"] == 3)
        headsets.headsets["H03"].storage_free_mb = 0.001  # 1 kB free
        async with logged_in(hub) as client:
            body = {"target": {"kind": "headset"}, "name": "fetch_scene", "args": {}}
            async with client.post("/api/fleet/command", json=body) as response:
                assert response.status == 400 and (await response.json())["error"] == "scene_required"
            body["args"] = {"content_id": scene.content_id}
            async with client.post("/api/fleet/command", json=body) as response:
                group = await response.json()
        assert group["summary"] == "2/3 fetching, 1 failed: H03"
        await wait_for(lambda: all(fleet.copies.of(d, scene.sha256).state == "ready" for d in ("H01", "H02")))
        assert all(h.scene is None for h in headsets.headsets.values())  # fetched, not launched
        assert command_alarms(hub) == set()  # H03's refusal is its result, not an alarm
