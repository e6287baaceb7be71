"""Simulated panels on real TCP sockets and pseudo-terminals, and drivers pointed at them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from device_drivers.display import DisplayDriver
from device_drivers.display.simulator import PanelSerialPort, PanelState, PanelTcpServer, SimulatedPanel

TIMEOUT_S = 0.4  # short, so the timeout tests stay fast


@pytest.fixture
def timeout_s() -> float:
    return TIMEOUT_S


@pytest.fixture(params=["samsung_mdc", "viewsonic"])
def protocol(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def panel(protocol: str) -> SimulatedPanel:
    return SimulatedPanel(protocol, display_id=1, state=PanelState(power=False, input="hdmi1", volume=20))


@pytest.fixture
async def tcp_server(panel: SimulatedPanel) -> AsyncIterator[PanelTcpServer]:
    async with PanelTcpServer(panel) as server:
        yield server


@pytest.fixture
async def serial_port(panel: SimulatedPanel) -> AsyncIterator[PanelSerialPort]:
    async with PanelSerialPort(panel) as port:
        yield port


DisplayFactory = Callable[..., DisplayDriver]


@pytest.fixture
async def make_display(protocol: str) -> AsyncIterator[DisplayFactory]:
    """Build started-on-demand drivers; every one is stopped at the end of the test."""
    made: list[DisplayDriver] = []

    def make(transport: dict[str, Any], **options: Any) -> DisplayDriver:
        driver = DisplayDriver.from_options(
            "display-86",
            {"protocol": protocol, "display_id": 1, "transport": transport, "timeout_s": TIMEOUT_S, **options},
        )
        made.append(driver)
        return driver

    yield make
    for driver in made:
        await driver.stop()


@pytest.fixture
async def tcp_display(make_display: DisplayFactory, tcp_server: PanelTcpServer) -> DisplayDriver:
    driver = make_display({"type": "tcp", "host": "127.0.0.1", "port": tcp_server.port})
    await driver.start()
    return driver


@pytest.fixture
async def serial_display(make_display: DisplayFactory, serial_port: PanelSerialPort) -> DisplayDriver:
    driver = make_display({"type": "serial", "port": serial_port.path})
    await driver.start()
    return driver
