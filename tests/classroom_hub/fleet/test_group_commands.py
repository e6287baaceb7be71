"""Group commands to a class of 40 headsets on the real Mosquitto, through the hub's HTTP API."""

from __future__ import annotations

import asyncio
from pathlib import Path

from classroom_hub.app import REGISTRY, REJECTIONS
from classroom_hub.fleet.keys import FLEET
from device_drivers.headset.fleet import FailurePlan, HeadsetFleet
from tests.classroom_hub.fleet.conftest import BUNDLE, fleet_hub, headset_room, logged_in
from tests.conftest import room_settings, wait_for


async def test_forty_headsets_launch_with_offline_flat_hot_and_missing_scene(
    tmp_path: Path, system_mosquitto_url: str
) -> None:
    url = system_mosquitto_url
    settings = room_settings(tmp_path, url, devices=headset_room(40))
    async with fleet_hub(settings) as hub:
        fleet, registry = hub.app[FLEET], hub.app[REGISTRY]
        scene = await asyncio.to_thread(fleet.scenes.add, "water-cycle", BUNDLE, "Vòng tuần hoàn nước")
        plan = FailurePlan(offline=2, low_battery=1, overheating=1, missing_scene=3)
        async with HeadsetFleet(url, settings.room.id, plan=plan, cached={scene.sha256: BUNDLE}) as headsets:
            roles = headsets.roles
            await wait_for(lambda: registry.counts()["headset"]["online"] == 38)
            async with logged_in(hub) as client:
                body = {"target": {"kind": "headset"}, "name": "launch_scene", "args": {"content_id": "water-cycle"}}
                async with client.post("/api/fleet/command", json=body) as response:
                    assert response.status == 200, await response.text()
                    group = await response.json()

                refused = sorted(roles.low_battery + roles.overheating)
                by_id = {r["device_id"]: r for r in group["results"]}
                assert by_id[roles.low_battery[0]]["error"] == "battery too low (4 %)"
                assert by_id[roles.overheating[0]]["error"] == "too hot (47.5 °C), let it cool down"
                assert {d for d, r in by_id.items() if r["outcome"] == "failed"} == set(refused)
                assert {d for d, r in by_id.items() if r["outcome"] == "offline"} == set(roles.offline)
                # Those holding the scene launched at once; the three without it were told to fetch it
                # and launch when their copy is ready (some may already be playing by now).
                assert group["counts"]["ok"] + group["counts"]["fetching"] == 36
                assert group["counts"]["ok"] >= 33
                assert {d for d, r in by_id.items() if r["outcome"] == "fetching"} <= set(roles.missing_scene)
                await wait_for(lambda: sum(h.scene == "water-cycle" for h in headsets.headsets.values()) == 36)
                for device_id in roles.missing_scene:
                    assert headsets.headsets[device_id].fetches == [scene.sha256]  # checked against its sha256
                async with client.get("/api/scenes") as response:
                    launch = (await response.json())["launch"]
                states = {r["device_id"]: r["state"] for r in launch["headsets"]}
                assert sorted(d for d, s in states.items() if s == "playing") == sorted(
                    d for d, h in headsets.headsets.items() if h.scene == "water-cycle"
                )
                assert {d for d, s in states.items() if s == "launch_failed"} == set(refused)
                assert {d for d, s in states.items() if s == "offline"} == set(roles.offline)

                # Everybody home: the flat and the hot headsets can do that, the switched-off ones cannot.
                body = {"target": {"kind": "headset"}, "name": "home"}
                async with client.post("/api/fleet/command", json=body) as response:
                    group = await response.json()
                assert group["summary"] == f"38/40 back home, 2 offline: {', '.join(roles.offline)}"

            alarms = {(a.device_id, a.kind) for a in fleet.alarms.active()}
            assert (roles.low_battery[0], "low_battery") in alarms
            assert (roles.overheating[0], "overheating") in alarms
            # The refusals were command failures; going home worked, which clears them.
            assert not any(kind == "command_failed" for _d, kind in alarms)


async def test_a_headset_that_does_not_answer_is_reported_as_no_reply(
    tmp_path: Path, system_mosquitto_url: str
) -> None:
    url = system_mosquitto_url
    settings = room_settings(tmp_path, url, devices=headset_room(3))
    async with fleet_hub(settings) as hub:
        fleet, registry = hub.app[FLEET], hub.app[REGISTRY]
        async with HeadsetFleet(url, settings.room.id, count=3) as headsets:
            await wait_for(lambda: registry.counts()["headset"]["online"] == 3)
            headsets.headsets["H02"].hung = True  # connected, so online, but its app answers nothing
            group = await fleet.commands.send_group(["H01", "H02", "H03"], "pause", timeout=0.5)
        assert group.counts()["no_reply"] == 1
        assert group.summary() == "0/3 paused, 1 no reply: H02; 2 failed: H01, H03"
        failed = {r.device_id: r.error for r in group.results if r.outcome == "failed"}
        assert failed == {"H01": "no scene is running", "H03": "no scene is running"}
        assert {a.device_id for a in fleet.alarms.active() if a.kind == "command_failed"} == {"H01", "H02", "H03"}


async def test_bad_requests_are_refused_named_and_counted(tmp_path: Path, system_mosquitto_url: str) -> None:
    settings = room_settings(tmp_path, system_mosquitto_url, devices=headset_room(2))
    async with fleet_hub(settings) as hub, logged_in(hub) as client:
        rejections = hub.app[REJECTIONS]
        async with client.post("/api/devices/H99/command", json={"name": "home"}) as response:
            assert response.status == 404
            assert (await response.json()) == {"error": "unknown_device", "detail": "H99"}
        async with client.post("/api/devices/H01/command", data=b"{not json") as response:
            assert response.status == 400
            assert (await response.json())["error"] == "malformed_request"
        async with client.post("/api/devices/H01/command", json={"name": "Launch Scene!"}) as response:
            assert response.status == 400
            assert "name: String should match pattern" in (await response.json())["detail"]
        async with client.post("/api/fleet/command", json={"target": {}, "name": "home"}) as response:
            assert "name a kind, a group or a list of device ids" in (await response.json())["detail"]
        async with client.post("/api/fleet/command", json={"target": {"kind": "robot"}, "name": "home"}) as response:
            assert response.status == 400 and (await response.json())["error"] == "no_devices"
        body = {"target": {"ids": ["H01", "H77"]}, "name": "home"}
        async with client.post("/api/fleet/command", json=body) as response:
            group = await response.json()
        assert group["summary"] == "0/2 back home, 1 offline: H01; 1 not in the room file: H77"
        body = {"target": {"kind": "headset"}, "name": "launch_scene", "args": {"content_id": "no-such-scene"}}
        async with client.post("/api/fleet/command", json=body) as response:
            assert response.status == 404 and (await response.json())["error"] == "unknown_scene"
        assert rejections.by_reason["malformed_request"] == 3
        assert rejections.by_reason["unknown_device"] == 1
        assert rejections.by_reason["no_devices"] == 1
        assert rejections.by_reason["unknown_scene"] == 1


async def test_who_may_command(tmp_path: Path, system_mosquitto_url: str) -> None:
    settings = room_settings(tmp_path, system_mosquitto_url, devices=headset_room(1))
    async with fleet_hub(settings) as hub:
        body = {"target": {"kind": "headset"}, "name": "eyes_on_me", "args": {"message": "Nhìn lên bảng"}}
        async with logged_in(hub, "teacher", "colan") as teacher, teacher.post("/api/fleet/command", json=body) as r:
            assert r.status == 200
        async with logged_in(hub, "student", "hocsinh") as student, student.post("/api/fleet/command", json=body) as r:
            assert r.status == 403
        async with logged_in(hub, "teacher", "cothu") as teacher, teacher.get("/api/alarms") as r:
            assert r.status == 403  # alarms are the technician's
