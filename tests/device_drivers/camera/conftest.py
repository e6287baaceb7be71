"""Shared fixtures: simulated cameras on a real pty and on real UDP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from device_drivers.camera import PtzCamera, Timeouts
from device_drivers.camera.simulated_head import SimulatedHead
from device_drivers.camera.simulator import IpCameraSimulator, SerialCameraSimulator

# Short enough to keep the suite fast, long enough for a loaded 2-core machine.
FAST = Timeouts(ack=0.3, completion=0.5)


@pytest.fixture
def fast() -> Timeouts:
    return FAST


@pytest.fixture(params=["serial", "udp"])
async def rig(request: pytest.FixtureRequest) -> AsyncIterator[tuple[PtzCamera, SimulatedHead]]:
    """A client connected to a simulated camera, once over a pty and once over VISCA over IP."""
    if request.param == "serial":
        async with SerialCameraSimulator() as serial, PtzCamera.over_serial(serial.port, timeouts=FAST) as camera:
            yield camera, serial.head
    else:
        async with IpCameraSimulator() as ip, PtzCamera.over_ip(*ip.address, timeouts=FAST) as camera:
            yield camera, ip.head


@pytest.fixture
async def ip_sim() -> AsyncIterator[IpCameraSimulator]:
    async with IpCameraSimulator() as simulator:
        yield simulator
