"""The hub's own faults as alarms: raised once with the part's true reason, refreshed while they
last, cleared when the part heals, one severity at a time; a broken check hides no other."""

from __future__ import annotations

from pathlib import Path

from classroom_hub.alarms import AlarmService
from classroom_hub.alarms.hub import SOURCE, Fault, HubWatch, disk_check
from classroom_hub.clock import FakeClock
from classroom_hub.errors import SWALLOWED


def test_a_fault_is_one_alarm_while_it_lasts_and_clears_when_the_part_heals() -> None:
    service = AlarmService(clock=FakeClock())
    heard: list[tuple[str, str, str]] = []
    service.on_change(lambda a: heard.append((a.device_id, a.kind, a.state)))
    watch = HubWatch(service)
    now: list[Fault] = [Fault("store", "store_failing", "telemetry.db cannot be written: database or disk is full")]
    watch.add("store", lambda: now)
    watch.check()
    watch.check()
    (alarm,) = service.active(source=SOURCE)
    assert (alarm.device_id, alarm.kind, alarm.detail) == (
        "store", "store_failing", "telemetry.db cannot be written: database or disk is full")  # fmt: skip
    now[:] = [Fault("store", "store_failing", "telemetry.db cannot be written: database is locked")]
    watch.check()
    assert service.active(source=SOURCE)[0].detail.endswith("database is locked")
    assert next(a for a in watch.active() if a["kind"] == "store_failing")["part"] == "store"
    now.clear()
    watch.check()
    assert service.active(source=SOURCE) == []
    assert [k for _d, k, state in heard if state == "raised"] == ["store_failing", "store_failing"]  # + refresh
    assert heard[-1] == ("store", "store_failing", "cleared")
    assert service.raised[(SOURCE, "store_failing")] == 1


def test_a_warning_that_becomes_an_alarm_leaves_one_active_alarm() -> None:
    service = AlarmService(clock=FakeClock())
    watch = HubWatch(service)
    now = [Fault("disk", "disk_low", "300 MB free", "warning")]
    watch.add("disk", lambda: now)
    watch.check()
    now[:] = [Fault("disk", "disk_low", "12 MB free", "alarm")]
    watch.check()
    assert [(a.severity, a.detail) for a in service.active(source=SOURCE)] == [("alarm", "12 MB free")]


def test_a_broken_check_is_counted_and_the_others_still_alarm() -> None:
    service = AlarmService(clock=FakeClock())
    watch = HubWatch(service)
    before = SWALLOWED["hub_check_failed"]

    def broken() -> list[Fault]:
        raise ZeroDivisionError

    watch.add("a", broken)
    watch.add("b", lambda: [Fault("broker", "broker_lost", "no MQTT connection")])
    watch.check()
    assert [a.kind for a in service.active(source=SOURCE)] == ["broker_lost"]
    assert SWALLOWED["hub_check_failed"] == before + 1


def test_the_disk_check_alarms_below_the_minimum_and_warns_below_twice_it(tmp_path: Path) -> None:
    import shutil

    free_mb = shutil.disk_usage(tmp_path).free / 1e6
    assert disk_check(tmp_path, 1)() == []  # this machine has more than 2 MB free
    (fault,) = disk_check(tmp_path, int(free_mb) + 1000)()
    assert (fault.kind, fault.severity) == ("disk_low", "alarm") and "MB free" in fault.detail
    (fault,) = disk_check(tmp_path, int(free_mb * 0.75))()
    assert fault.severity == "warning"
