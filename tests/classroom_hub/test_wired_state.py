"""The display's state as the hub keeps it, against panels that behave like real ones (profiles):
one that refuses the all-status request, one that refuses commands in standby, one that misses a
request now and then. The registry, the retained status and the replies on the bus agree."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from classroom_hub.app import REGISTRY, REJECTIONS
from classroom_hub.bus.link import Message, MqttLink
from classroom_hub.bus.payloads import Command
from classroom_hub.bus.topics import device_topic
from classroom_hub.errors import CommandFailed
from classroom_hub.keys import SETTINGS
from classroom_hub.registry import DeviceChange, DeviceRecord
from classroom_hub.wired.keys import WIRED
from device_drivers.display.simulator import PanelState, PanelTcpServer, SimulatedPanel
from tests.classroom_hub.fleet.conftest import fleet_hub
from tests.classroom_hub.test_bus import first_message
from tests.conftest import RunningHub, room_settings, wait_for


def display(port: int, poll_interval_s: float, protocol: str, timeout_s: float = 0.4) -> list[dict[str, Any]]:
    return [{"kind": "display", "id": "display-86", "protocol": protocol, "timeout_s": timeout_s,
             "poll_interval_s": poll_interval_s, "heartbeat_timeout_s": 300,
             "transport": {"type": "tcp", "host": "127.0.0.1", "port": port}}]  # fmt: skip


def record(hub: RunningHub) -> DeviceRecord:
    found = hub.app[REGISTRY].get("display-86")
    assert found is not None
    return found


@contextlib.asynccontextmanager
async def panel_hub(
    tmp_path: Path, url: str, panel: SimulatedPanel, poll_interval_s: float = 60.0, timeout_s: float = 0.4
) -> AsyncIterator[RunningHub]:
    async with PanelTcpServer(panel) as server:
        devices = display(server.port, poll_interval_s, panel.protocol, timeout_s)
        settings = room_settings(tmp_path, url, devices=devices)
        async with fleet_hub(settings) as hub:
            await wait_for(lambda: record(hub).state == "online")
            yield hub


@contextlib.asynccontextmanager
async def outsider(url: str) -> AsyncIterator[tuple[MqttLink, asyncio.Queue[Message]]]:
    """Node-RED or Home Assistant: another MQTT client, with the replies it receives."""
    client = MqttLink(url, client_id="node-red-test", manual_ack=False, clean_session=True)
    replies: asyncio.Queue[Message] = asyncio.Queue()
    client.subscribe("classroom/+/devices/+/reply", replies.put_nowait)
    task = asyncio.create_task(client.run())
    try:
        await client.wait_up(5)
        yield client, replies
    finally:
        await client.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_panel_refusing_the_all_status_shows_what_it_reports_and_commands_count_at_once(
    tmp_path: Path, system_mosquitto_url: str
) -> None:
    panel = SimulatedPanel("samsung_mdc", 1, PanelState(power=False, input="hdmi2", volume=25), "no_all_status")
    async with panel_hub(tmp_path, system_mosquitto_url, panel) as hub:
        room = hub.app[SETTINGS].room.id
        reported = {"power": False, "input": "hdmi2", "volume": 25, "mute": False}
        assert record(hub).extra == reported and record(hub).last_error is None
        status = json.loads(await first_message(system_mosquitto_url, device_topic(room, "display-86", "status")))
        assert status == {**reported, "state": "online", "kind": "display", "ts": status["ts"]}

        # The poll is a minute away: what the command did is the display's state as soon as it is done.
        result = await hub.app[WIRED].devices["display-86"].execute("power", {"on": True}, 3.0)
        assert result == {"power": True} and record(hub).extra["power"] is True

        # Node-RED commands the display over MQTT: the hub answers, and does not count its own answer
        # as a stray reply. A real stray (for a command nobody sent) is counted.
        async with outsider(system_mosquitto_url) as (client, replies):
            command = Command(name="volume", args={"level": 40}, expires_at=time.time() + 5)
            client.publish(device_topic(room, "display-86", "cmd"), command.model_dump_json(), qos=1)
            reply = json.loads((await asyncio.wait_for(replies.get(), 5)).payload)
            assert (reply["id"], reply["ok"], reply["result"]) == (command.id, True, {"volume": 40})
            assert panel.state.volume == 40 and record(hub).extra["volume"] == 40
            stray = {"id": "0" * 32, "ok": True, "ts": 1.0}
            client.publish(device_topic(room, "T01", "reply"), json.dumps(stray), qos=1)
            rejections = hub.app[REJECTIONS].by_reason
            await wait_for(lambda: rejections["unexpected_reply"] == 1)  # the stray, after the hub's own
        assert [frame[1] for frame in panel.received].count(0x00) == 1  # asked once, then field by field


async def test_a_refused_command_leaves_the_display_online_with_the_refusal_until_the_next_success(
    tmp_path: Path, system_mosquitto_url: str
) -> None:
    panel = SimulatedPanel("viewsonic", 1, PanelState(power=False), "standby_power_only")
    async with panel_hub(tmp_path, system_mosquitto_url, panel) as hub:
        room = hub.app[SETTINGS].room.id
        assert record(hub).extra == {"power": False, "input": None, "volume": None, "mute": None}
        wired = hub.app[WIRED].devices["display-86"]
        with pytest.raises(CommandFailed, match="refused volume 30"):
            await wired.execute("volume", {"level": 30}, 3.0)
        assert record(hub).state == "online"  # it answered: a refusal is an answer
        assert (record(hub).last_error or "").startswith("refused (volume): ")
        status = json.loads(await first_message(system_mosquitto_url, device_topic(room, "display-86", "status")))
        assert (status["state"], status["error"]) == ("online", record(hub).last_error)

        await wired.execute("power", {"on": True}, 3.0)
        assert record(hub).last_error is None and record(hub).extra["power"] is True
        await wait_for(lambda: record(hub).extra["volume"] == 20)  # the poll after the command sees the rest


async def test_a_panel_that_misses_a_request_now_and_then_stays_online(
    tmp_path: Path, system_mosquitto_url: str
) -> None:
    panel = SimulatedPanel("samsung_mdc", 1, PanelState(power=True), "forgetful")  # misses one request in three
    changes: list[DeviceChange] = []
    # Only the panel's own misses may count: a reply a loaded machine delays past a short
    # timeout is a second miss in a row, which is an outage (the hub asks twice, no more).
    async with panel_hub(tmp_path, system_mosquitto_url, panel, poll_interval_s=0.05, timeout_s=1.5) as hub:
        remove = hub.app[REGISTRY].on_change(changes.append)
        try:
            await wait_for(lambda: len(panel.received) >= 15, timeout=30)  # five requests went unanswered
        finally:
            remove()
        assert [c.new_state for c in changes if c.device_id == "display-86"] == []
        assert record(hub).state == "online"
        assert hub.app[WIRED].devices["display-86"].failures["DriverTimeout"] >= 4
