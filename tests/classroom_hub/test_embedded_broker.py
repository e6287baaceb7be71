"""The embedded broker (no passwords, no ACL) is out of reach of the room's network."""

from __future__ import annotations

import asyncio
import contextlib
import socket

import pytest

from classroom_hub.bus.broker import EmbeddedBroker
from classroom_hub.bus.link import MqttLink
from classroom_hub.errors import BusError


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
