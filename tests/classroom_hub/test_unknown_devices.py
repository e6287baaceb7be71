"""Devices not in the room file: a flood of invented ids keeps the table, the log and /api/devices small."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from pathlib import Path

import pytest

from classroom_hub.app import REGISTRY, REJECTIONS
from classroom_hub.bus.link import MqttLink
from classroom_hub.bus.topics import device_topic
from classroom_hub.registry import UNKNOWN_KEEP, DeviceRegistry
from tests.classroom_hub.fleet.conftest import logged_in
from tests.conftest import room_settings, run_hub, wait_for

READING = json.dumps({"readings": [{"key": "ph", "value": 7}]})


def unknown_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("event=unknown_device")]


def test_the_table_keeps_the_most_recent_ids_and_the_log_one_line_a_minute(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="classroom_hub.registry")
    registry = DeviceRegistry()
    t0 = 1_800_000_000.0
    for n in range(100_000):  # 100 s of a student's script inventing 1,000 ids a second
        now = t0 + n / 1000
        registry.note_unknown(f"fake-{n}", f"classroom/p1/devices/fake-{n}/telemetry", now)
        if n % 100 == 0:  # a real but unregistered headset keeps talking all along
            registry.note_unknown("H41", "classroom/p1/devices/H41/status", now)
    registry.summarise_unknown(t0 + 200)  # the flood is over: its last summary
    assert len(registry.unknown) == UNKNOWN_KEEP
    assert registry.unknown_forgotten == 100_000 + 1 - UNKNOWN_KEEP
    assert "H41" in registry.unknown and registry.unknown["H41"].messages == 1000
    assert "fake-99999" in registry.unknown and "fake-99000" not in registry.unknown

    lines = unknown_lines(caplog)
    assert len(lines) == 3, lines  # the first id, then one summary a minute
    assert lines[0] == "event=unknown_device device=fake-0 topic=classroom/p1/devices/fake-0/telemetry action=ignored"
    counted = [int(m.group(1)) for line in lines[1:] if (m := re.search(r" new=(\d+) ", line))]
    assert 1 + sum(counted) == 100_001  # every new id is counted in some line
    assert lines[-1].endswith(f"remembered={UNKNOWN_KEEP} forgotten={100_001 - UNKNOWN_KEEP} action=ignored")


async def test_a_flood_of_invented_ids_through_the_hub(
    tmp_path: Path, system_mosquitto_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    settings = room_settings(tmp_path, system_mosquitto_url)
    room = settings.room.id
    async with run_hub(settings) as hub:
        registry, rejections = hub.app[REGISTRY], hub.app[REJECTIONS]
        script = MqttLink(system_mosquitto_url, client_id=f"script-{room}", clean_session=True, manual_ack=False)
        task = asyncio.create_task(script.run())
        try:
            await script.wait_up(5)
            for n in range(5000):
                script.publish(device_topic(room, f"fake-{n}", "telemetry"), READING)
                if n % 250 == 0:
                    await asyncio.sleep(0)  # let the link write what is queued
            script.publish(device_topic(room, "x" * 60_000, "telemetry"), READING)  # MQTT allows it
            # The room's own sensor node, last: once the hub has it, it has read everything before.
            script.publish(device_topic(room, "node-1", "status"), json.dumps({"state": "online"}))
            await wait_for(lambda: registry.get("node-1").state == "online", timeout=30)  # type: ignore[union-attr]
        finally:
            with contextlib.suppress(Exception):
                await script.close(timeout=1)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

        assert len(registry.unknown) == UNKNOWN_KEEP and registry.unknown_forgotten == 5000 - UNKNOWN_KEEP
        assert list(registry.unknown)[-1] == "fake-4999"
        assert rejections.by_reason["unknown_device"] == 5000
        # The 60,000-character id is not a device id: a bad topic, kept short in the rejection list.
        assert rejections.by_reason["bad_topic"] == 1
        bad = next(r for r in rejections.recent if r.reason == "bad_topic")
        assert len(bad.source) <= 201 and "device id is not" in bad.detail
        assert len(unknown_lines(caplog)) == 1  # not one line per id

        async with logged_in(hub) as technician, technician.get("/api/devices") as response:
            body = await response.read()
        listed = json.loads(body)["unknown"]
        assert len(listed) == UNKNOWN_KEEP and len(body) < 64_000, len(body)
