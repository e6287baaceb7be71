"""Shared fixtures: simulated cameras on a real pty and on real UDP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from classroom_hub.clock import FakeClock
from device_drivers.camera import PtzCamera, Timeouts
from device_drivers.camera.simulated_head import SimulatedHead
from device_drivers.camera.simulator import IpCameraSimulator, SerialCameraSimulator

# Short enough to keep the suite fast, long enough for a loaded 2-core machine.
FAST = Timeouts(ack=0.3, completion=0.5)


@pytest.fixture
def fast() -> Timeouts:
    return FAST


@pytest.fixture
def clock() -> FakeClock:
    """The simulated head's time: its motors move only as far as the test advances it."""
    return FakeClock()


@pytest.fixture(params=["serial", "udp"])
async def rig(request: pytest.FixtureRequest, clock: FakeClock) -> AsyncIterator[tuple[PtzCamera, SimulatedHead]]:
    """A client connected to a simulated camera, once over a pty and once over VISCA over IP."""
    head = SimulatedHead(clock=clock.monotonic)
    if request.param == "serial":
        async with SerialCameraSimulator(head) as serial, PtzCamera.over_serial(serial.port, timeouts=FAST) as camera:
            yield camera, serial.head
    else:
        async with IpCameraSimulator(head) as ip, PtzCamera.over_ip(*ip.address, timeouts=FAST) as camera:
            yield camera, ip.head


@pytest.fixture
async def ip_sim() -> AsyncIterator[IpCameraSimulator]:
    async with IpCameraSimulator() as simulator:
        yield simulator
