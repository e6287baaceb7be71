"""The demo's display: a simulated panel on the TCP address the room file gives it."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Any

from device_drivers.display.settings import Display
from device_drivers.display.simulator import PanelTcpServer, SimulatedPanel
from device_drivers.kinds import Simulation, SimulatorError
from device_drivers.settings import TcpTransport

log = logging.getLogger(__name__)


def simulate(device_id: str, device: Any, where: Simulation) -> AbstractAsyncContextManager[None] | None:
    if not isinstance(device, Display) or not isinstance(device.transport, TcpTransport):
        return None  # a panel on RS-232 needs its cable: nothing to simulate here
    return _panel(device_id, device, device.transport)


@contextlib.asynccontextmanager
async def _panel(device_id: str, device: Display, transport: TcpTransport) -> AsyncIterator[None]:
    server = PanelTcpServer(SimulatedPanel(device.protocol, device.display_id))
    try:
        await server.start(transport.host, transport.port)
    except OSError as err:
        raise SimulatorError(f"cannot listen on {transport.host}:{transport.port}: {err}") from err
    log.info("event=demo_display device=%s protocol=%s tcp=%s:%d", device_id, device.protocol, transport.host,
             transport.port)  # fmt: skip
    try:
        yield
    finally:
        await server.close()
