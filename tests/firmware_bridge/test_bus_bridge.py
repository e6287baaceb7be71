"""A serial kit through the whole hub: host-built firmware on a pty, the bridge part, the real
Mosquitto, the registry, the store and COMMANDS - the kit looks like any MQTT device."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from classroom_hub.app import BROKER_URL, COMMANDS, REGISTRY, SETTINGS, STORE
from classroom_hub.bus.topics import device_topic
from classroom_hub.errors import CommandFailed
from classroom_hub.registry import DeviceRecord
from firmware_bridge.keys import KITS
from tests.classroom_hub.test_bus import first_message
from tests.conftest import RunningHub, eventually, room_settings, run_hub, wait_for
from tests.firmware_bridge.conftest import Board

pytestmark = pytest.mark.mosquitto
FAST = ("--telemetry-ms", "100", "--heartbeat-ms", "100")


class Cable:
    """A stable device path (like /dev/serial/by-id/...) that follows the board's current pty."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def plug(self, board: Board) -> None:
        tmp = self.path.with_suffix(".new")
        os.symlink(board.path, tmp)
        os.replace(tmp, self.path)


@pytest.fixture
async def kit_hub(
    tmp_path: Path, system_mosquitto_url: str, boards: Callable[..., Board]
) -> AsyncIterator[tuple[RunningHub, Board, Cable]]:
    board = boards("vinaponics", "--id", "vina-1", *FAST)
    await board.plug()
    cable = Cable(tmp_path / "ttyVINA")
    cable.plug(board)
    devices = [{"kind": "sensor_node", "id": "vina-1", "heartbeat_timeout_s": 30,
                "transport": {"type": "serial", "port": str(cable.path)}}]  # fmt: skip
    async with run_hub(room_settings(tmp_path, system_mosquitto_url, devices=devices)) as hub:
        yield hub, board, cable


def kit_record(hub: RunningHub) -> DeviceRecord:
    record = hub.app[REGISTRY].get("vina-1")
    assert record is not None
    return record


async def stored(hub: RunningHub, key: str) -> list[tuple[Any, ...]]:
    """Rows of the store's readings table for ``key``: (seq, device, key, ts, value, unit, samples)."""
    store = hub.app[STORE]
    await store.flush()
    return [row for row in await store.read_after("readings", 0, 100_000) if row[2] == key]


async def test_hello_puts_the_kit_online_with_its_firmware_and_readings_are_stored(kit_hub) -> None:
    hub, board, _ = kit_hub
    record = kit_record(hub)
    await wait_for(lambda: record.state == "online" and record.firmware is not None, timeout=8)
    assert record.firmware == board.firmware_version
    assert record.extra["port"].endswith("ttyVINA") and "feed" in record.extra["commands"]
    assert record.extra["outputs"] == ["pump", "aerator", "lights"]

    # What any MQTT client sees: the retained status, like a device with its own agent.
    topic = device_topic(hub.app[SETTINGS].room.id, "vina-1", "status")
    status = json.loads(await first_message(hub.app[BROKER_URL], topic))
    assert (status["state"], status["kind"], status["firmware"]) == ("online", "vinaponics", board.firmware_version)

    async def three_ph_readings() -> bool:
        return len(await stored(hub, "ph")) >= 3

    await eventually(three_ph_readings)
    _, device, key, _ts, value, unit, _ = (await stored(hub, "ph"))[-1]
    assert (device, key, unit) == ("vina-1", "ph", "pH") and 5.0 < value < 9.0
    assert (await stored(hub, "water_temp"))[-1][5] == "°C"
    assert (await stored(hub, "ec"))[-1][5] == "mS/cm"
    assert (await stored(hub, "pump"))[-1][4] == 0.0  # outputs are readings too: off = 0


async def test_command_over_mqtt_is_acked_by_the_firmware_and_replied(kit_hub) -> None:
    hub, _, _ = kit_hub
    record = kit_record(hub)
    await wait_for(lambda: record.state == "online", timeout=8)
    commands = hub.app[COMMANDS]

    reply = await commands.send("vina-1", "feed", {"portions": 2}, timeout=3)
    assert reply.ok and reply.result == {"fed": 2}
    reply = await commands.send("vina-1", "set", {"pump": True}, timeout=3)
    assert reply.ok

    async def pump_reported_on() -> bool:
        return any(row[4] == 1.0 for row in await stored(hub, "pump"))

    await eventually(pump_reported_on)

    # `stats`: the board's counters and the hub's end of the line, side by side.
    reply = await commands.send("vina-1", "stats", timeout=3)
    assert reply.ok and set(reply.result) == {"board", "host"}
    assert reply.result["board"]["commands"] == 3 and reply.result["board"]["bad_crc"] == 0
    assert reply.result["host"]["rx_frames"] > 0
    # A loaded machine may make the host resend a command (its ACK came after 250 ms): the board
    # answers those from its cache (`duplicates`) and runs each command once (`commands` above).
    assert reply.result["board"]["duplicates"] <= reply.result["host"]["retransmits"]

    # A refusal comes back as the firmware worded it, not as a timeout.
    with pytest.raises(CommandFailed, match=r"portions must be 1\.\.5"):
        await commands.send("vina-1", "feed", {"portions": 9}, timeout=3)
    with pytest.raises(CommandFailed, match="unknown_command"):
        await commands.send("vina-1", "drive", {"left": 10, "right": 10}, timeout=3)
    with pytest.raises(CommandFailed, match="argument 'pump'"):
        await commands.send("vina-1", "set", {"pump": {"on": True}}, timeout=3)
    assert hub.app[KITS].counters["command_errors"] == 3


async def test_unplug_and_replug_go_offline_and_online_and_outputs_come_back(kit_hub, boards) -> None:
    hub, board, cable = kit_hub
    record = kit_record(hub)
    await wait_for(lambda: record.state == "online", timeout=8)
    await hub.app[COMMANDS].send("vina-1", "set", {"lights": True}, timeout=3)

    await board.unplug()
    await wait_for(lambda: record.state == "offline", timeout=5)
    with pytest.raises(CommandFailed, match="kit offline"):
        await hub.app[COMMANDS].send("vina-1", "identify", timeout=2)

    again = boards("vinaponics", "--id", "vina-1", *FAST)  # a fresh board: its lights are off
    await again.plug()
    cable.plug(again)
    await wait_for(lambda: record.state == "online", timeout=8)
    seen_before = len(await stored(hub, "lights"))

    async def lights_restored() -> bool:
        rows = await stored(hub, "lights")
        return len(rows) > seen_before and rows[-1][4] == 1.0

    await eventually(lights_restored)
