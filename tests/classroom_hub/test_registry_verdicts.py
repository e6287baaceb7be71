"""Whose word sets a device's state: its own statuses on the bus (an agent, a kit's bridge, a last
will), or, for a device the hub drives itself (a display, a camera), only the hub's verdict."""

from __future__ import annotations

from classroom_hub.bus.payloads import DeviceStatus
from classroom_hub.registry import DeviceChange, DeviceRecord, DeviceRegistry


def registry_with(*records: DeviceRecord) -> tuple[DeviceRegistry, list[DeviceChange]]:
    registry = DeviceRegistry()
    for record in records:
        registry.add(record)
    changes: list[DeviceChange] = []
    registry.on_change(changes.append)
    return registry, changes


def test_an_offline_status_says_why_and_only_a_bare_one_is_a_last_will() -> None:
    registry, changes = registry_with(DeviceRecord("vina-1", "sensor_node"), DeviceRecord("H01", "headset"))
    registry.apply_status("vina-1", DeviceStatus(state="online"))
    registry.apply_status("vina-1", DeviceStatus(state="offline", error="serial link lost: port closed"))
    registry.apply_status("H01", DeviceStatus(state="online"))
    registry.apply_status("H01", DeviceStatus(state="offline"))
    assert [(c.device_id, c.new_state, c.reason) for c in changes if c.new_state == "offline"] == [
        ("vina-1", "offline", "serial link lost: port closed"),
        ("H01", "offline", "last will"),
    ]


def test_the_error_of_an_outage_goes_when_the_device_is_back_and_not_before() -> None:
    registry, _ = registry_with(DeviceRecord("vina-1", "sensor_node"))
    record = registry.get("vina-1")
    assert record is not None
    registry.apply_status("vina-1", DeviceStatus(state="offline", error="serial link lost: port closed"))
    registry.apply_status("vina-1", DeviceStatus(state="online"))
    assert record.last_error is None  # recovered
    registry.note_error("vina-1", "set pump: NACK busy")
    registry.apply_status("vina-1", DeviceStatus(state="online", battery=80.0))
    assert record.last_error == "set pump: NACK busy"  # still online: the command's error stands


def test_a_driven_device_takes_only_the_hubs_verdict() -> None:
    registry, changes = registry_with(DeviceRecord("display-86", "display", transport="tcp", timeout_s=5))
    registry.drive("display-86")
    record = registry.get("display-86")
    assert record is not None and record.driven

    # Its own retained status coming back late, or anyone else's claim: ignored.
    registry.apply_status("display-86", DeviceStatus(state="online", power=True))
    registry.seen("display-86")
    assert (record.state, record.extra) == ("unknown", {})

    registry.apply_status("display-86", DeviceStatus(state="offline", error="no answer (status poll): ..."),
                          from_hub=True)  # fmt: skip
    registry.apply_status("display-86", DeviceStatus(state="online", error=None), from_hub=True)
    assert (record.state, record.last_error) == ("online", None)
    assert registry.expire(now=(record.last_seen or 0) + 60) == []  # the hub asks it; silence is not its news
    assert [(c.new_state, c.reason) for c in changes] == [("offline", "no answer (status poll): ..."),
                                                          ("online", "status")]  # fmt: skip
