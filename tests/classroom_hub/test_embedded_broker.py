"""The embedded broker (no passwords, no ACL) is out of reach of the room's network."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from pathlib import Path

import pytest

from classroom_hub.bus.broker import EmbeddedBroker, mosquitto_binary
from classroom_hub.bus.link import MqttLink
from classroom_hub.errors import BusError
from classroom_hub.keys import BROKER_URL, LINK, STORE
from tests.conftest import publish_as, room_settings, run_hub, wait_for


def lan_address() -> str | None:
    """This machine's address on its network (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))
        except OSError:
            return None
        address: str = s.getsockname()[0]
    return None if address.startswith("127.") else address


def test_it_refuses_to_listen_beyond_loopback() -> None:
    for host in ("0.0.0.0", "::", "192.0.2.2", "hub.local"):
        with pytest.raises(BusError, match="loopback address only"):
            EmbeddedBroker(host)
    assert EmbeddedBroker("127.0.0.1").url.startswith("mqtt://127.0.0.1:")


async def test_a_client_on_the_network_cannot_reach_it(embedded_broker: EmbeddedBroker) -> None:
    lan = lan_address()
    if lan is None:
        pytest.skip("this machine has no address besides loopback")
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection(lan, embedded_broker.port)
    # The hub and the demo's simulators, on the same box, connect as before.
    link = MqttLink(embedded_broker.url, client_id="sim-H01", manual_ack=False)
    task = asyncio.create_task(link.run())
    try:
        await link.wait_up(5)
    finally:
        await link.close(timeout=1)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_twenty_hub_starts_on_the_embedded_broker_log_no_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The demo's way (no broker in the room file): each start connects the hub and a device at
    once, with nothing at WARNING or above in the log (amqtt logged tracebacks and lost clients)."""
    if mosquitto_binary() is None:
        pytest.skip("LOUD: mosquitto is not installed, so the hub would start amqtt: apt-get install mosquitto")
    caplog.set_level(logging.WARNING)
    for start in range(20):
        settings = room_settings(tmp_path / str(start), None)
        async with run_hub(settings) as hub:
            assert hub.app[LINK].is_up, f"start {start}: the hub is not connected to its broker"
            await publish_as(settings.model_copy(update={"mqtt": settings.mqtt.model_copy(
                update={"url": hub.app[BROKER_URL]})}), "node-1", [{"readings": [{"key": "ph", "value": 7}]}])
            await wait_for(lambda hub=hub: hub.app[STORE].stats.readings == 1)  # type: ignore[misc]
    problems = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert problems == [], problems


def test_without_mosquitto_it_is_amqtt_and_with_it_mosquitto() -> None:
    assert EmbeddedBroker(engine="amqtt").engine == "amqtt"
    if mosquitto_binary() is not None:
        assert EmbeddedBroker().engine == "mosquitto"
