"""A camera that ACKs a command and never completes it (simulator profile ``acks_never_completes``),
over a real pty and real UDP: one timeout whose message says how long was waited, the command sent
once, the link free for the next exchange, and a third stuck command refused with "buffer full"."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest

from device_drivers.camera import PtzCamera, PtzRejected, PtzTimeout
from device_drivers.camera.simulated_head import SimulatedHead, head_with_profile
from device_drivers.camera.simulator import IpCameraSimulator, SerialCameraSimulator
from device_drivers.camera.visca import PanTiltHome
from tests.device_drivers.camera.conftest import FAST


@pytest.fixture(params=["serial", "udp"])
async def stuck(request: pytest.FixtureRequest) -> AsyncIterator[tuple[PtzCamera, SimulatedHead]]:
    """A client and the stuck head."""
    head = head_with_profile("acks_never_completes")
    async with contextlib.AsyncExitStack() as stack:
        if request.param == "serial":
            serial = await stack.enter_async_context(SerialCameraSimulator(head))
            camera = await stack.enter_async_context(PtzCamera.over_serial(serial.port, timeouts=FAST))
            yield camera, head
        else:
            ip = await stack.enter_async_context(IpCameraSimulator(head))
            camera = await stack.enter_async_context(PtzCamera.over_ip(*ip.address, timeouts=FAST))
            yield camera, head


async def test_a_command_acked_and_never_completed_times_out_once_and_frees_the_link(
    stuck: tuple[PtzCamera, SimulatedHead],
) -> None:
    camera, head = stuck
    with pytest.raises(PtzTimeout, match=r"^PanTiltHome: no completion from the camera within 0\.5 s$") as err:
        await camera.home()
    assert (err.value.waiting_for, err.value.seconds) == ("completion", FAST.completion)
    assert head.executed == [PanTiltHome()]  # sent once: no second wait for a second completion
    assert (await camera.power_state()).name == "ON"  # the link is free and the head still answers
    with pytest.raises(PtzTimeout):
        await camera.home()
    with pytest.raises(PtzRejected, match="command buffer full"):
        await camera.home()  # both sockets hold a command that never ends


async def test_over_ip_the_stuck_command_is_not_sent_again_after_its_ack() -> None:
    async with IpCameraSimulator(head_with_profile("acks_never_completes")) as ip:
        async with PtzCamera.over_ip(*ip.address, timeouts=FAST) as camera:
            with pytest.raises(PtzTimeout, match="no completion"):
                await camera.home()
        commands = [(m.payload_type.name, m.sequence) for m in ip.received if m.payload_type.name == "VISCA_COMMAND"]
        assert commands == [("VISCA_COMMAND", 1)]
