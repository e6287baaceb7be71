"""The one alarm service: devices' and labs' alarms kept in one table, listed, acknowledged and
heard alike; a write that fails shows in the service's health and heals with the next one."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from classroom_hub.alarms import Alarm, AlarmService
from classroom_hub.clock import FakeClock
from classroom_hub.errors import SWALLOWED
from classroom_hub.store import TelemetryStore


async def open_service(path: Path, clock: FakeClock) -> tuple[TelemetryStore, AlarmService]:
    store = TelemetryStore(path)
    await store.open()
    service = AlarmService(store.db, clock=clock)
    await service.open()
    return store, service


async def test_devices_and_labs_share_one_table_and_one_list_across_a_restart(tmp_path: Path) -> None:
    clock = FakeClock()
    store, service = await open_service(tmp_path / "telemetry.db", clock)
    heard: list[tuple[str, str, str]] = []
    service.on_change(lambda a: heard.append((a.source, a.kind, a.state)))

    offline = service.raise_alarm("H01", "offline", "last will")
    await clock.advance(10)
    ph = service.raise_alarm("vina-1", "ph_low", "ph below 6 (5.8)", severity="warning", source="lab", sensor="ph",
                             value=5.8, limit=6.0)  # fmt: skip
    await clock.advance(10)
    acid = service.raise_alarm("vina-1", "ph_low", "ph below 5.5 (5.3)", source="lab", sensor="ph", value=5.3,
                               limit=5.5)  # fmt: skip
    assert service.raise_alarm("H01", "offline", "last will") is offline  # one active per device and kind
    assert [a.id for a in service.active()] == [acid.id, offline.id, ph.id]  # the most severe, then the newest
    assert [a.id for a in service.active(source="lab")] == [acid.id, ph.id]

    assert service.acknowledge(ph.id, "kythuat") is ph  # a technician acknowledges a lab alarm
    assert service.acknowledge(offline.id, "truong.lab", source="lab") is None  # a lab's page: its own only
    await clock.advance(10)
    assert service.clear("vina-1", "ph_low", source="lab", severity="alarm") == [acid]
    assert heard == [("device", "offline", "raised"), ("lab", "ph_low", "raised"), ("lab", "ph_low", "raised"),
                     ("lab", "ph_low", "acknowledged"), ("lab", "ph_low", "cleared")]  # fmt: skip
    await service.close()
    await store.close()

    # The hub restarts: the active alarms come back as they were, the history keeps every one.
    store, service = await open_service(tmp_path / "telemetry.db", clock)
    back = {a.id: a for a in service.active()}
    assert set(back) == {offline.id, ph.id}
    assert (back[ph.id].acknowledged_by, back[ph.id].sensor, back[ph.id].limit, back[ph.id].severity) == (
        "kythuat", "ph", 6.0, "warning")
    history = await service.history()
    assert [a.id for a in history] == [acid.id, ph.id, offline.id]
    assert history[0].cleared_at == clock.time() and not history[0].active
    assert [a.id for a in await service.history(device_id="H01")] == [offline.id]
    assert [a.id for a in await service.history(source="lab", limit=1)] == [acid.id]
    await service.close()
    await store.close()


async def test_alarms_kept_elsewhere_before_are_adopted_once(tmp_path: Path) -> None:
    clock = FakeClock()
    store, service = await open_service(tmp_path / "telemetry.db", clock)
    old = [
        Alarm("old-1", "vina-1", "do_low", "do below 5 (4.1)", clock.time() - 60, "alarm", "lab", "do", 4.1, 5.0),
        Alarm("old-2", "vina-1", "ph_high", "ph above 7 (7.2)", clock.time() - 900, "warning", "lab", "ph", 7.2, 7.0,
              cleared_at=clock.time() - 300),
    ]  # fmt: skip
    assert await service.adopt(old) == 2
    assert await service.adopt(old) == 0  # offered again (a restart halfway through the move): kept once
    assert [a.id for a in service.active()] == ["old-1"]
    assert service.is_active("vina-1", "do_low", source="lab")
    assert [a.id for a in await service.history()] == ["old-1", "old-2"]
    await service.close()
    await store.close()


async def test_a_listener_that_fails_does_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    service = AlarmService()
    heard: list[str] = []

    def broken(alarm: Alarm) -> None:
        raise RuntimeError("page gone")

    service.on_change(broken)
    service.on_change(lambda a: heard.append(a.kind))
    failed_before = SWALLOWED["alarm_listener_failed"]
    service.raise_alarm("H02", "low_battery", "battery 12 %")
    assert heard == ["low_battery"]
    assert "event=alarm_listener_failed" in caplog.text and "page gone" in caplog.text  # with its traceback
    assert SWALLOWED["alarm_listener_failed"] == failed_before + 1  # and counted (/metrics)


async def test_a_failed_write_shows_in_health_and_heals_with_the_next(tmp_path: Path) -> None:
    clock = FakeClock()
    path = tmp_path / "telemetry.db"
    store, service = await open_service(path, clock)
    with sqlite3.connect(path) as c:
        c.execute("CREATE TRIGGER full BEFORE INSERT ON alarms BEGIN SELECT RAISE(ABORT, 'disk full'); END")
    alarm = service.raise_alarm("H01", "overheating", "46.0 °C")
    await store.db.barrier()
    assert not service.healthy and store.db.write_errors == 1
    assert service.active() == [alarm]  # the alarm is still shown and told; only its record failed
    with sqlite3.connect(path) as c:
        c.execute("DROP TRIGGER full")
    service.acknowledge(alarm.id, "kythuat")  # the next change writes the alarm whole
    await store.db.barrier()
    assert service.healthy
    (kept,) = await service.history()
    assert (kept.id, kept.detail, kept.acknowledged_by) == (alarm.id, "46.0 °C", "kythuat")
    await service.close()
    await store.close()
