"""The hub on a real broker: commands, retained status, last will, bad input, reconnects."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from classroom_hub.app import COMMANDS, INGEST, LINK, REGISTRY, REJECTIONS, STORE
from classroom_hub.bus.broker import EmbeddedBroker
from classroom_hub.bus.link import MqttLink
from classroom_hub.bus.topics import device_topic, hub_status_topic
from classroom_hub.errors import CommandFailed, CommandTimeout
from device_drivers.headset.simulator import SimulatedHeadset
from tests.conftest import Mosquitto, after_any_redelivery, publish_while_hub_away, room_settings, run_hub, wait_for

T0 = 1_800_000_000.0  # readings' times, far from now


@contextlib.asynccontextmanager
async def running(sim: Any) -> AsyncIterator[Any]:
    task = asyncio.create_task(sim.run())
    await sim.link.wait_up(5)
    try:
        yield sim
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@pytest.fixture(params=["machine-mosquitto", "embedded"])
async def broker_url(request: pytest.FixtureRequest, machine_mosquitto_url: str) -> AsyncIterator[str]:
    if request.param == "machine-mosquitto":
        yield machine_mosquitto_url
    else:
        broker = EmbeddedBroker()
        await broker.start()
        yield broker.url
        await broker.stop()


async def test_command_reply_timeout_and_failure(tmp_path: Path, broker_url: str) -> None:
    settings = room_settings(tmp_path, broker_url)
    async with run_hub(settings) as hub:
        commands = hub.app[COMMANDS]
        async with running(SimulatedHeadset(broker_url, settings.room.id, "H01")) as headset:
            reply = await commands.send("H01", "launch_scene", {"scene_id": "water-cycle"}, timeout=5)
            assert reply.ok and reply.result == {"scene": "water-cycle"}
            assert headset.scene == "water-cycle"
            with pytest.raises(CommandFailed, match="volume level must be an integer 0-100"):
                await commands.send("H01", "volume", {"level": 140}, timeout=5)
        # H02 is configured but nobody is there.
        started = time.monotonic()
        with pytest.raises(CommandTimeout, match=r"H02: no reply to launch_scene within 0\.5 s"):
            await commands.send("H02", "launch_scene", {"scene_id": "x"}, timeout=0.5)
        assert time.monotonic() - started < 2
        assert commands.in_flight == 0


async def test_retained_status_and_last_will(tmp_path: Path, broker_url: str) -> None:
    settings = room_settings(tmp_path, broker_url)
    room = settings.room.id
    async with run_hub(settings) as hub:
        registry = hub.app[REGISTRY]
        headset = SimulatedHeadset(broker_url, room, "H02")
        async with running(headset):
            await wait_for(lambda: registry.get("H02").state == "online")  # type: ignore[union-attr]
            record = registry.get("H02")
            assert record is not None and record.battery is not None and record.firmware == "vr-agent 2.1.0"
            # A late subscriber (a technician's tool) still sees the status: it is retained.
            retained = await first_message(broker_url, device_topic(room, "H02", "status"))
            assert json.loads(retained)["state"] == "online"
            hub_status = await first_message(broker_url, hub_status_topic(room))
            assert json.loads(hub_status)["state"] == "online"
            # The headset's battery dies: no goodbye, the broker publishes its last will.
            headset.link.abort()
            await wait_for(lambda: registry.get("H02").state == "offline", timeout=10)  # type: ignore[union-attr]


async def test_bad_input_is_counted_and_the_hub_stays_up(tmp_path: Path, system_mosquitto_url: str) -> None:
    url = system_mosquitto_url
    settings = room_settings(tmp_path, url)
    room = settings.room.id
    async with run_hub(settings) as hub:
        rejections, store = hub.app[REJECTIONS], hub.app[STORE]
        device = MqttLink(url, client_id=f"node-1-{room}", clean_session=True, manual_ack=False)
        task = asyncio.create_task(device.run())
        await device.wait_up(5)
        telemetry = device_topic(room, "node-1", "telemetry")
        device.publish(telemetry, b"\xff\xfe not json")
        device.publish(telemetry, json.dumps({"readings": []}))
        device.publish(telemetry, json.dumps({"readings": [{"key": "ph", "value": "acid"}]}))
        device.publish(telemetry, json.dumps({"ts": 12, "readings": [{"key": "ph", "value": 7}]}))
        device.publish(device_topic(room, "node-1", "status"), json.dumps({"state": "online", "battery": 140}))
        device.publish(
            device_topic(room, "intruder", "telemetry"), json.dumps({"readings": [{"key": "ph", "value": 7}]})
        )
        device.publish(device_topic(room, "node-1", "reply"), json.dumps({"id": "nope", "ok": True}))
        good = {"ts": 1_800_000_000.0, "readings": [{"key": "ph", "value": 6.9, "unit": "pH"}]}
        device.publish(telemetry, json.dumps(good))
        await wait_for(lambda: store.stats.readings == 1)
        await wait_for(lambda: rejections.total >= 7)
        assert rejections.by_reason["malformed_telemetry"] == 4
        assert rejections.by_reason["malformed_status"] == 1
        assert rejections.by_reason["unknown_device"] == 1
        assert rejections.by_reason["unexpected_reply"] == 1
        details = " | ".join(r.detail for r in rejections.recent)
        assert "readings: List should have at least 1 item" in details
        assert "battery: Input should be less than or equal to 100" in details
        assert "is not a Unix time between 2020 and 2100" in details
        assert "intruder" in hub.app[REGISTRY].unknown
        assert hub.app[LINK].is_up
        await device.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def publish_readings(link: MqttLink, room: str, device_id: str, start: int, count: int) -> None:
    topic = device_topic(room, device_id, "telemetry")
    for i in range(start, start + count):
        payload = {"ts": 1_800_000_000.0 + i, "readings": [{"key": "ph", "value": 7.0 + (i % 10) / 10}]}
        link.publish(topic, json.dumps(payload), qos=1)
        if i % 50 == 0:
            await asyncio.sleep(0)  # let the link write what is queued


async def test_a_message_published_while_the_link_connects_waits_for_its_connect(
    system_mosquitto_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """paho makes its socket before it queues CONNECT (in the executor thread that connects): a
    part publishing in between must not get its message out first, or the broker drops the
    connection (protocol error) and the hub connects a second time."""
    room = f"t{time.monotonic_ns()}"
    topic = hub_status_topic(room)
    link = MqttLink(system_mosquitto_url, client_id=f"hub-{room}")
    loop = asyncio.get_running_loop()

    async def publish() -> None:
        link.publish(topic, b'{"state": "online"}', qos=1, retain=True)

    def in_the_window(client: paho.Client, _userdata: Any, _sock: Any) -> None:
        client.on_socket_open = None  # the first connect only
        asyncio.run_coroutine_threadsafe(publish(), loop).result(5)  # the loop publishes now, in the window

    link._client.on_socket_open = in_the_window
    task = asyncio.create_task(link.run())
    try:
        await link.wait_up(5)
        assert "event=mqtt_connect_failed" not in caplog.text  # the first connect was the one
        assert link.stats.connects == 1
        assert await first_message(system_mosquitto_url, topic) == b'{"state": "online"}'
        await wait_for(lambda: link.unconfirmed == 0)  # and the broker confirmed it
    finally:
        await link.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_broker_restart_loses_no_qos1_telemetry(tmp_path: Path, mosquitto: Mosquitto) -> None:
    settings = room_settings(tmp_path, mosquitto.url)
    room = settings.room.id
    async with run_hub(settings) as hub:
        store, link = hub.app[STORE], hub.app[LINK]
        device = MqttLink(mosquitto.url, client_id="node-1", manual_ack=False, reconnect_min_s=0.1, reconnect_max_s=0.3)
        task = asyncio.create_task(device.run())
        await device.wait_up(5)
        await publish_readings(device, room, "node-1", 0, 1000)
        mosquitto.stop()  # the broker goes away in the middle of the stream ...
        await publish_readings(device, room, "node-1", 1000, 1000)  # ... the device keeps measuring
        await wait_for(lambda: not link.is_up and device.state != "up")  # both have seen it go
        mosquitto.start()
        await wait_for(lambda: store.stats.readings == 2000, timeout=20)
        await wait_for(lambda: link.is_up)
        assert link.stats.connects >= 2
        assert hub.app[INGEST].accepted >= 2000
        await device.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert (await_counts(tmp_path))["readings"] == 2000


async def test_messages_sent_while_the_hub_is_away_are_delivered(tmp_path: Path, mosquitto: Mosquitto) -> None:
    settings = room_settings(tmp_path, mosquitto.url)
    # More than Mosquitto's default queue (1000).
    readings = ({"ts": T0 + i, "readings": [{"key": "ph", "value": 7.0 + i % 10 / 10}]} for i in range(1500))
    await publish_while_hub_away(settings, "node-1", readings)
    async with run_hub(settings) as hub:
        await wait_for(lambda: hub.app[STORE].stats.readings == 1500, timeout=20)
    # Every one of them was acknowledged before that hub stopped: the next one gets none again
    # (the queued messages come right after the CONNACK, before anything sent later).
    async with run_hub(settings) as hub:
        await after_any_redelivery(hub, settings, "node-1")
        assert hub.app[STORE].stats.duplicates_ignored == 0, "the broker redelivered what the hub had stored"
        assert hub.app[STORE].stats.readings == 1  # the marker only


def await_counts(tmp_path: Path) -> dict[str, int]:
    import sqlite3

    with sqlite3.connect(tmp_path / "hub" / "telemetry.db") as c:
        return {"readings": c.execute("SELECT count(*) FROM readings").fetchone()[0]}


async def first_message(url: str, topic: str, timeout: float = 5.0) -> bytes:
    """Subscribe with a fresh plain paho client (as a third-party tool would) and return the first message."""
    loop = asyncio.get_running_loop()
    got: asyncio.Future[bytes] = loop.create_future()
    host, port = url.removeprefix("mqtt://").split(":")
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"probe-{time.monotonic_ns()}")

    def on_message(_c: Any, _u: Any, msg: paho.MQTTMessage) -> None:
        loop.call_soon_threadsafe(lambda: got.done() or got.set_result(bytes(msg.payload)))

    client.on_message = on_message
    client.on_connect = lambda c, *_: c.subscribe(topic, 1)
    await loop.run_in_executor(None, client.connect, host, int(port))
    client.loop_start()
    try:
        return await asyncio.wait_for(got, timeout)
    finally:
        client.disconnect()
        client.loop_stop()
