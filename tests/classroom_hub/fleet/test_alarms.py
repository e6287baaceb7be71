"""Alarms: raised by what devices report, acknowledged by a technician, kept across restarts."""

from __future__ import annotations

import asyncio
from pathlib import Path

from classroom_hub.alarms import AlarmLimits, AlarmService, DeviceAlarms
from classroom_hub.app import REGISTRY, STORE
from classroom_hub.bus.payloads import DeviceStatus
from classroom_hub.fleet.keys import FLEET
from classroom_hub.registry import DeviceRecord, DeviceRegistry
from device_drivers.headset.fleet import HeadsetFleet
from device_drivers.headset.simulator import SimulatedHeadset
from tests.classroom_hub.fleet.conftest import fleet_hub, headset_room, logged_in
from tests.conftest import room_settings, wait_for


def registry_with(*device_ids: str) -> DeviceRegistry:
    registry = DeviceRegistry()
    for device_id in device_ids:
        registry.add(DeviceRecord(device_id, "headset"))
    return registry


def status(**fields: object) -> DeviceStatus:
    return DeviceStatus.model_validate({"state": "online", **fields})


async def test_battery_and_heat_alarms_rise_and_clear_with_a_margin() -> None:
    registry = registry_with("H01")
    alarms = DeviceAlarms(AlarmService(), registry, limits=AlarmLimits(offline_grace_s=0))
    alarms.start()
    kinds = lambda: {a.kind for a in alarms.active()}  # noqa: E731

    registry.apply_status("H01", status(battery=14.0, charging=False, temperature=44.9))
    assert kinds() == {"low_battery"}
    assert alarms.active()[0].detail == "battery 14 %"
    registry.apply_status("H01", status(battery=18.0, temperature=45.0))  # not back above 20 %: still low
    assert kinds() == {"low_battery", "overheating"}
    registry.apply_status("H01", status(battery=18.0, charging=True, temperature=43.0))  # plugged in; still warm
    assert kinds() == {"overheating"}
    registry.apply_status("H01", status(temperature=42.0))
    assert kinds() == set()
    assert alarms.raised == {"offline": 0, "low_battery": 1, "overheating": 1, "command_failed": 0}
    alarms.close()


async def test_a_short_nap_is_not_an_offline_alarm_but_a_long_absence_is() -> None:
    registry = registry_with("H01", "H02")
    # A grace far longer than the nap, so a loaded machine pausing the test cannot outlast it.
    alarms = DeviceAlarms(AlarmService(), registry, limits=AlarmLimits(offline_grace_s=1.0))
    alarms.start()
    for device_id in ("H01", "H02"):
        registry.apply_status(device_id, status())
        registry.apply_status(device_id, DeviceStatus(state="offline"))
    await asyncio.sleep(0.05)
    registry.apply_status("H01", status())  # back within the grace period
    # H01's grace would have ended before H02's: once H02 is alarmed, H01 would be too.
    await wait_for(lambda: bool(alarms.active()))
    assert [(a.device_id, a.kind) for a in alarms.active()] == [("H02", "offline")]
    alarms.close()


async def test_offline_alarm_acknowledged_cleared_and_kept_across_a_restart(
    tmp_path: Path, system_mosquitto_url: str
) -> None:
    url = system_mosquitto_url
    settings = room_settings(tmp_path, url, devices=headset_room(3))
    async with fleet_hub(settings) as hub:
        fleet, registry = hub.app[FLEET], hub.app[REGISTRY]
        async with HeadsetFleet(url, settings.room.id, count=3) as headsets, logged_in(hub) as client:
            await wait_for(lambda: registry.counts()["headset"]["online"] == 3)
            await headsets.switch_off("H02")  # its battery dies: the broker publishes its last will
            await wait_for(lambda: any(a.kind == "offline" for a in fleet.alarms.active()))
            async with client.get("/api/alarms") as response:
                (alarm,) = (await response.json())["active"]
            assert alarm["device_id"] == "H02" and alarm["kind"] == "offline" and alarm["detail"] == "last will"
            async with client.post(f"/api/alarms/{alarm['id']}/acknowledge") as response:
                acknowledged = await response.json()
            assert acknowledged["acknowledged_by"] == "kythuat" and acknowledged["active"] is True
            async with client.post("/api/alarms/no-such-alarm/acknowledge") as response:
                assert response.status == 404

    # The hub restarts: the alarm is still there, still acknowledged.
    async with fleet_hub(settings) as hub:
        fleet, registry = hub.app[FLEET], hub.app[REGISTRY]
        (still,) = fleet.alarms.active()
        assert (still.id, still.acknowledged_by) == (alarm["id"], "kythuat")
        back = SimulatedHeadset(url, settings.room.id, "H02")
        task = asyncio.create_task(back.run())
        try:
            await wait_for(lambda: not fleet.alarms.active())  # H02 is back: the alarm clears itself
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        async with logged_in(hub, username="anhminh") as client, client.get("/api/alarms?device=H02") as response:
            history = (await response.json())["history"]
        assert [(a["kind"], a["active"], a["acknowledged_by"]) for a in history] == [("offline", False, "kythuat")]


async def test_device_history_for_the_chart(tmp_path: Path, system_mosquitto_url: str) -> None:
    url = system_mosquitto_url
    settings = room_settings(tmp_path, url, devices=headset_room(2))
    async with fleet_hub(settings) as hub:
        registry = hub.app[REGISTRY]
        async with HeadsetFleet(url, settings.room.id, count=2) as headsets, logged_in(hub) as client:
            await wait_for(lambda: registry.counts()["headset"]["online"] == 2)
            await headsets.switch_off("H01")
            await wait_for(lambda: registry.get("H01").state == "offline")  # type: ignore[union-attr]
            await wait_for(lambda: hub.app[FLEET].battery.samples >= 2)
            # The state change is queued to the store's writer when the registry sees it; the
            # chart reads what is committed.
            await hub.app[STORE].flush()
            async with client.get("/api/devices/H01/history?hours=24") as response:
                history = await response.json()
            async with client.get("/api/devices/H01/history?hours=nine") as response:
                assert response.status == 400
            async with client.get("/api/devices/X9/history") as response:
                assert response.status == 404
    assert [s for _ts, s in history["states"]] == ["online", "offline"]
    assert history["state_before"] is None
    (sample,) = history["battery"]
    assert 0 <= sample[1] <= 100 and sample[2] is False
    assert history["until"] - history["since"] == 24 * 3600
