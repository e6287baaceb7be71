"""A kit the room file names but that is not plugged in when the hub starts: offline with the
reason (not "unknown" for ever, so its alarm comes after the grace period), then online the
moment it is plugged in, the reason gone."""

from __future__ import annotations

import json
from pathlib import Path

from classroom_hub.app import REGISTRY, SETTINGS
from classroom_hub.bus.topics import device_topic
from firmware_bridge.host_board import HostBoard
from tests.classroom_hub.fleet.conftest import fleet_hub
from tests.classroom_hub.test_bus import first_message
from tests.conftest import room_settings, wait_for


async def test_a_kit_absent_at_start_is_offline_with_the_reason_until_it_is_plugged_in(
    tmp_path: Path, system_mosquitto_url: str
) -> None:
    cable = tmp_path / "dev" / "vina-1"
    devices = [{"kind": "sensor_node", "id": "vina-1", "sensors": ["ph"],
                "transport": {"type": "serial", "port": str(cable)}}]  # fmt: skip
    async with fleet_hub(room_settings(tmp_path, system_mosquitto_url, devices=devices)) as hub:
        record = hub.app[REGISTRY].get("vina-1")
        assert record is not None
        await wait_for(lambda: record.state == "offline")
        assert record.last_error == f"kit not found ({cable})"
        topic = device_topic(hub.app[SETTINGS].room.id, "vina-1", "status")
        status = json.loads(await first_message(system_mosquitto_url, topic))
        assert (status["state"], status["error"]) == ("offline", f"kit not found ({cable})")

        async with HostBoard("vinaponics", "vina-1", cable, "--telemetry-ms", "500"):
            await wait_for(lambda: record.state == "online" and record.last_error is None)
