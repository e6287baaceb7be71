"""Water-quality alarms: FAO defaults, hysteresis, delay, change within a window, acknowledge;
raised and cleared from the firmware node's readings through the bridge and MQTT."""

from __future__ import annotations

from dataclasses import replace

import pytest

from classroom_hub.alarms import Alarm, AlarmService
from stem_labs.alarms import DEFAULT_LIMITS, LabAlarms, SensorLimits
from tests.conftest import wait_for


class Clock:
    """The wall time the alarm service stamps alarms with, moved by hand (these tests are not async)."""

    def __init__(self) -> None:
        self.now = 1_780_000_000.0

    def time(self) -> float:
        return self.now


def kinds(alarms: LabAlarms) -> set[tuple[str, str]]:
    return {(a.kind, a.severity) for a in alarms.active()}


def test_fao_defaults() -> None:
    ph = DEFAULT_LIMITS["ph"]
    assert (ph.warn_low, ph.warn_high, ph.alarm_low, ph.alarm_high, ph.change) == (6.0, 7.0, 5.5, 8.5, 0.3)
    assert ph.change_window_s == 12 * 3600
    assert (DEFAULT_LIMITS["water_temp"].alarm_low, DEFAULT_LIMITS["water_temp"].alarm_high) == (18.0, 30.0)
    assert DEFAULT_LIMITS["do"].alarm_low == 5.0 and DEFAULT_LIMITS["level"].alarm_low == 20.0


def test_delay_hysteresis_escalation_and_acknowledge() -> None:
    clock = Clock()
    alarms = LabAlarms(AlarmService(clock=clock))
    seen: list[Alarm] = []
    alarms.on_change(seen.append)
    kit = "vina-1"
    alarms.set_limits(kit, {"ph": replace(DEFAULT_LIMITS["ph"], change=None)})  # the swing is tested below

    def reading(value: float, after_s: float = 10.0) -> None:
        clock.now += after_s
        alarms.observe(kit, "ph", value, clock.now)

    reading(6.5)
    reading(5.9)  # below 6.0, but the 60 s delay has not passed
    assert kinds(alarms) == set()
    reading(6.4)  # back before the delay: nothing, and the delay starts over
    reading(5.9)
    reading(5.9, 59)
    assert kinds(alarms) == set()
    reading(5.9, 2)
    assert kinds(alarms) == {("ph_low", "warning")}
    reading(5.3)
    reading(5.3, 61)
    assert ("ph_low", "alarm") in kinds(alarms)

    warning = next(a for a in alarms.active() if a.severity == "warning")
    assert alarms.acknowledge(warning.id, "co.lan") is warning
    assert warning.acknowledged_by == "co.lan" and warning.active  # seen, not gone

    reading(6.05)  # above 6.0 but inside the 0.1 hysteresis: the warning stays
    assert ("ph_low", "warning") in kinds(alarms) and ("ph_low", "alarm") not in kinds(alarms)
    reading(6.15)
    assert ("ph_low", "warning") not in kinds(alarms)
    assert warning.cleared_at == clock.now
    assert [a.kind for a in seen].count("ph_low") >= 4  # raised, acknowledged, cleared (+ the alarm level)


def test_change_within_the_window_clears_once_the_swing_leaves_it() -> None:
    clock = Clock()
    alarms = LabAlarms(AlarmService(clock=clock))
    limits = SensorLimits("ph", change=0.3, change_window_s=3600, hysteresis=0.05)
    alarms.set_limits("k", {"ph": limits})
    for value in (6.8, 6.7, 6.6, 6.45):
        clock.now += 600
        alarms.observe("k", "ph", value, clock.now)
    assert kinds(alarms) == {("ph_change", "alarm")}
    for _ in range(8):  # steady at 6.45 for 80 minutes: the old values leave the hour
        clock.now += 600
        alarms.observe("k", "ph", 6.45, clock.now)
    assert kinds(alarms) == set()


def test_editing_limits_clears_alarms_whose_limit_is_gone() -> None:
    clock = Clock()
    alarms = LabAlarms(AlarmService(clock=clock))
    alarms.set_limits("k", {"water_temp": SensorLimits("water_temp", alarm_high=30.0)})
    alarms.observe("k", "water_temp", 31.0, clock.now)
    assert kinds(alarms) == {("water_temp_high", "alarm")}
    alarms.set_limits("k", {"water_temp": SensorLimits("water_temp", alarm_high=32.0)})
    assert kinds(alarms) == {("water_temp_high", "alarm")}  # the limit still exists: judged at the next reading
    alarms.observe("k", "water_temp", 31.0, clock.now)
    assert kinds(alarms) == set()  # 31 is fine under the new limit
    alarms.observe("k", "water_temp", 33.0, clock.now)
    alarms.set_limits("k", {})  # no limit on water temperature any more: nothing to be alarmed about
    assert kinds(alarms) == set()


@pytest.mark.mosquitto
async def test_ph_alarm_raised_and_cleared_with_hysteresis_from_the_firmware(lab_room) -> None:
    async with await lab_room() as room:
        await room.online("vina-1")
        session = await room.login("lab_lead")
        limits = {"ph": {"warn_low": 6.0, "warn_high": 7.0, "alarm_low": 5.5, "alarm_high": 8.5, "hysteresis": 0.1,
                         "delay_s": 0.3}}  # fmt: skip
        rules = {"lights_schedule": False}
        async with session.put("/api/lab/kits/vina-1/settings", json={"limits": limits, "rules": rules}) as response:
            assert response.status == 200, await response.text()
        alarms = room.lab.alarms

        room.node.pin("ph", 5.8)
        await wait_for(lambda: alarms.is_active("vina-1", "ph_low"), timeout=3)
        alarm = alarms.active("vina-1")[0]
        assert (alarm.kind, alarm.severity, alarm.sensor, alarm.limit) == ("ph_low", "warning", "ph", 6.0)
        assert alarm.value == pytest.approx(5.8, abs=1e-5)

        async with session.get("/api/lab/alarms") as response:
            assert [a["kind"] for a in (await response.json())["active"]] == ["ph_low"]
        async with session.post(f"/api/lab/alarms/{alarm.id}/acknowledge") as response:
            assert (await response.json())["acknowledged_by"] == "lablead"

        room.node.pin("ph", 6.05)  # back over 6.0, not over 6.1: still a warning
        await room.kit_value("ph", lambda v: v > 6.0)
        await room.next_report()  # a second report at 6.05
        assert alarms.is_active("vina-1", "ph_low")
        room.node.pin("ph", 6.5)
        await wait_for(lambda: not alarms.is_active("vina-1", "ph_low"), timeout=3)

        async with session.get("/api/lab/alarms?history=1") as response:
            history = (await response.json())["history"]
        assert history[0]["kind"] == "ph_low" and history[0]["cleared_at"] and history[0]["acknowledged_by"]
