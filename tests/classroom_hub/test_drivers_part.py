"""The 86" display through the hub: its simulator on real TCP and a real pseudo-terminal, commanded
from the console API and over MQTT like any device, polled into the registry, and surviving a
corrupt reply, a panel that is away at start and a USB-serial adapter that is pulled out."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from classroom_hub.app import COMMANDS, REGISTRY, REJECTIONS
from classroom_hub.bus.broker import free_port
from classroom_hub.bus.topics import device_topic
from classroom_hub.errors import CommandFailed
from classroom_hub.fleet.keys import FLEET
from classroom_hub.registry import DeviceRecord
from classroom_hub.wired.keys import WIRED
from classroom_hub.wired.part import driver_options
from device_drivers.display.simulator import Fault, PanelSerialPort, PanelState, PanelTcpServer, SimulatedPanel
from device_drivers.kinds import driver_for
from tests.classroom_hub.fleet.conftest import fleet_hub, logged_in
from tests.classroom_hub.test_bus import first_message
from tests.conftest import room_settings, wait_for


def display(transport: dict[str, Any], protocol: str = "samsung_mdc") -> list[dict[str, Any]]:
    return [{"kind": "display", "id": "display-86", "protocol": protocol, "transport": transport,
             "timeout_s": 0.4, "poll_interval_s": 0.2}]  # fmt: skip


def record(hub: Any) -> DeviceRecord:
    found: DeviceRecord | None = hub.app[REGISTRY].get("display-86")
    assert found is not None
    return found


@pytest.mark.parametrize("protocol", ["samsung_mdc", "viewsonic"])
async def test_display_over_tcp_commanded_like_any_device(
    tmp_path: Path, system_mosquitto_url: str, protocol: str
) -> None:
    panel = SimulatedPanel(protocol, display_id=1, state=PanelState(power=False, input="hdmi1", volume=20))
    async with PanelTcpServer(panel) as server:
        transport = {"type": "tcp", "host": "127.0.0.1", "port": server.port}
        settings = room_settings(tmp_path, system_mosquitto_url, devices=display(transport, protocol))
        async with fleet_hub(settings) as hub, logged_in(hub) as client:
            await wait_for(lambda: record(hub).state == "online")
            assert record(hub).extra == {"power": False, "input": "hdmi1", "volume": 20, "mute": False}

            # From the console: straight to the driver.
            power_on = {"name": "power", "args": {"on": True}}
            async with client.post("/api/devices/display-86/command", json=power_on) as r:
                result = await r.json()
            assert result["outcome"] == "ok" and result["result"] == {"power": True}
            assert panel.state.power is True
            await wait_for(lambda: record(hub).extra.get("power") is True)  # polled again at once

            # Over MQTT, exactly as a headset is commanded: the hub answers for the display.
            reply = await hub.app[COMMANDS].send("display-86", "input", {"source": "hdmi2"}, timeout=3)
            assert reply.ok and reply.result == {"input": "hdmi2"} and panel.state.input == "hdmi2"
            with pytest.raises(CommandFailed, match="level: Input should be less than or equal to 100"):
                await hub.app[COMMANDS].send("display-86", "volume", {"level": 140}, timeout=3)

            # Its status is on the bus, retained, for Home Assistant and Node-RED.
            await wait_for(lambda: record(hub).extra.get("input") == "hdmi2")
            status = json.loads(await first_message(system_mosquitto_url, device_topic(settings.room.id,
                                                                                       "display-86", "status")))
            assert status["state"] == "online" and status["input"] == "hdmi2" and status["kind"] == "display"

            # A reply with a wrong checksum (or length byte): refused, counted, and the next one works.
            panel.inject(Fault.CORRUPT)
            async with client.post("/api/devices/display-86/command", json={"name": "mute", "args": {"on": True}}) as r:
                corrupt = await r.json()
            assert corrupt["outcome"] == "failed"
            assert ("checksum" if protocol == "samsung_mdc" else "LFD") in corrupt["error"]
            assert hub.app[REJECTIONS].by_reason["bad_device_reply"] == 1
            assert any(a.kind == "command_failed" for a in hub.app[FLEET].alarms.active())
            async with client.post("/api/devices/display-86/command", json={"name": "mute", "args": {"on": True}}) as r:
                assert (await r.json())["outcome"] == "ok"
            assert panel.state.mute is True
            assert not hub.app[FLEET].alarms.active()  # the failure alarm cleared itself

            # A command the display does not have is the caller's mistake, not an alarm.
            async with client.post("/api/devices/display-86/command", json={"name": "reboot"}) as r:
                unknown = await r.json()
            assert unknown["outcome"] == "failed" and "unknown command 'reboot'" in unknown["error"]
            assert not hub.app[FLEET].alarms.active()


async def test_a_display_away_at_start_comes_online_when_it_appears(
    tmp_path: Path, system_mosquitto_url: str
) -> None:
    port = free_port()
    settings = room_settings(tmp_path, system_mosquitto_url,
                             devices=display({"type": "tcp", "host": "127.0.0.1", "port": port}))  # fmt: skip
    async with fleet_hub(settings) as hub:
        await wait_for(lambda: record(hub).state == "offline")
        assert "cannot open" in (record(hub).last_error or "")
        assert hub.app[WIRED].devices["display-86"].failures["LinkError"] >= 1
        server = PanelTcpServer(SimulatedPanel("samsung_mdc"))
        server.port = port
        async with server:
            await wait_for(lambda: record(hub).state == "online", timeout=5)


async def test_rs232_adapter_pulled_out_and_plugged_back(tmp_path: Path, system_mosquitto_url: str) -> None:
    link = tmp_path / "ttyUSB-display"  # as /dev/serial/by-id/...: the name survives re-plugging
    first = PanelSerialPort(SimulatedPanel("viewsonic", state=PanelState(power=True)))
    async with first:
        os.symlink(first.path, link)
        settings = room_settings(tmp_path, system_mosquitto_url, devices=display({"type": "serial", "port": str(link)},
                                                                                 "viewsonic"))  # fmt: skip
        async with fleet_hub(settings) as hub:
            alarms = hub.app[FLEET].alarms
            await wait_for(lambda: record(hub).state == "online")
            assert record(hub).extra["power"] is True

            first.close()  # pulled out
            await wait_for(lambda: record(hub).state == "offline", timeout=5)
            assert "serial://" in (record(hub).last_error or "")
            await wait_for(lambda: [a.kind for a in alarms.active()] == ["offline"])

            async with PanelSerialPort(SimulatedPanel("viewsonic", state=PanelState(volume=55))) as second:
                os.unlink(link)
                os.symlink(second.path, link)  # plugged back: a new tty behind the same name
                await wait_for(lambda: record(hub).state == "online", timeout=5)
                assert record(hub).extra["volume"] == 55
                assert not alarms.active()


def test_the_room_file_table_becomes_the_drivers_options(tmp_path: Path) -> None:
    serial = {"type": "serial", "port": "/dev/serial/by-id/usb-FTDI-if00-port0"}
    settings = room_settings(tmp_path, None, devices=display(serial, "viewsonic"))
    ((_id, device),) = settings.device_list()
    options = driver_options(device)
    # RS-232 panels run at 9600 8N1 unless the room file says otherwise (not the 115200 of lab kits).
    assert options["transport"]["baudrate"] == 9600
    assert options["protocol"] == "viewsonic" and options["timeout_s"] == 0.4
    driver = driver_for("display").from_options("display-86", options)
    assert driver.health().connected is False
    with pytest.raises(ValueError, match=r"poll_interval_s \(120\) must be shorter than heartbeat_timeout_s"):
        room_settings(tmp_path, None, devices=[{**display(serial)[0], "poll_interval_s": 120}])
