"""VISCA on RS-232 through a real pty, with the camera's side played by hand where timing matters."""

from __future__ import annotations

import asyncio
import logging
import os
import tty
from collections.abc import Iterator

import pytest

from device_drivers.camera import PtzCamera, PtzLinkError, PtzRejected, PtzTimeout, Timeouts
from device_drivers.camera.simulator import SerialCameraSimulator
from tests.conftest import wait_for


class HandPlayedCamera:
    """The far end of a pty, played by the test byte by byte."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        os.set_blocking(self.master, False)
        self.port = os.ttyname(self.slave)
        self._received = bytearray()

    async def read_packet(self, timeout: float = 2.0) -> bytes:
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(timeout):
            while b"\xff" not in self._received:
                readable = loop.create_future()
                loop.add_reader(self.master, readable.set_result, None)
                try:
                    await readable
                finally:
                    loop.remove_reader(self.master)
                self._received += os.read(self.master, 256)
        end = self._received.index(b"\xff") + 1
        packet = bytes(self._received[:end])
        del self._received[:end]
        return packet

    def write(self, data: bytes) -> None:
        os.write(self.master, data)

    def close(self) -> None:
        os.close(self.master)
        os.close(self.slave)


@pytest.fixture
def hand_played() -> Iterator[HandPlayedCamera]:
    camera = HandPlayedCamera()
    yield camera
    camera.close()


async def test_a_silent_camera_raises_timeout_naming_the_command(
    hand_played: HandPlayedCamera, fast: Timeouts
) -> None:
    async with PtzCamera.over_serial(hand_played.port, timeouts=fast) as camera:
        with pytest.raises(PtzTimeout) as timed_out:
            await camera.home()
        assert await hand_played.read_packet() == bytes.fromhex("81 01 06 04 FF")
        assert (timed_out.value.command, timed_out.value.waiting_for) == ("PanTiltHome", "acknowledgement")
        with pytest.raises(PtzTimeout, match="PanTiltPositionInquiry: no answer"):
            await camera.position()


async def test_completion_that_never_follows_the_ack_times_out(hand_played: HandPlayedCamera, fast: Timeouts) -> None:
    async with PtzCamera.over_serial(hand_played.port, timeouts=fast) as camera:
        home = asyncio.create_task(camera.home())
        await hand_played.read_packet()
        hand_played.write(bytes.fromhex("90 41 FF"))
        with pytest.raises(PtzTimeout, match=r"no completion from the camera within 0\.5 s"):
            await home


async def test_late_replies_on_the_other_socket_are_not_taken_as_ours(
    hand_played: HandPlayedCamera, fast: Timeouts, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="device_drivers.camera.link")
    async with PtzCamera.over_serial(hand_played.port, timeouts=fast) as camera:
        home = asyncio.create_task(camera.home())
        await hand_played.read_packet()
        # A completion and an error for socket 2, left over from an earlier command, then our ACK on 1.
        hand_played.write(bytes.fromhex("90 52 FF 90 62 04 FF 90 41 FF"))
        await wait_for(lambda: sum("that is not ours" in r.getMessage() for r in caplog.records) == 2)
        assert not home.done()  # both read and skipped: the command still waits for its own completion
        hand_played.write(bytes.fromhex("90 51 FF"))
        await home


async def test_an_error_on_our_socket_after_the_ack_fails_the_command(
    hand_played: HandPlayedCamera, fast: Timeouts
) -> None:
    async with PtzCamera.over_serial(hand_played.port, timeouts=fast) as camera:
        recall = asyncio.create_task(camera.preset_recall(2))
        assert await hand_played.read_packet() == bytes.fromhex("81 01 04 3F 02 02 FF")
        hand_played.write(bytes.fromhex("90 42 FF 90 62 04 FF"))
        with pytest.raises(PtzRejected) as rejected:
            await recall
        assert (rejected.value.error_code, rejected.value.socket) == (0x04, 2)
        assert rejected.value.meaning == "command cancelled"


async def test_noise_on_the_line_is_skipped(hand_played: HandPlayedCamera, fast: Timeouts) -> None:
    async with PtzCamera.over_serial(hand_played.port, timeouts=fast) as camera:
        inquiry = asyncio.create_task(camera.power_state())
        await hand_played.read_packet()
        # A half-terminated run of junk, an IR_ReceiveReturn notice, then the answer.
        hand_played.write(bytes(range(0x20, 0x40)) + bytes.fromhex("FF 90 07 7D 01 04 00 FF 90 50 02 FF"))
        assert (await inquiry).name == "ON"


async def test_opening_a_missing_port_is_a_link_error() -> None:
    with pytest.raises(PtzLinkError, match="cannot open serial port /dev/does-not-exist"):
        async with PtzCamera.over_serial("/dev/does-not-exist"):
            pass


async def test_the_same_camera_object_opens_again_after_closing(fast: Timeouts) -> None:
    async with SerialCameraSimulator() as simulator:
        camera = PtzCamera.over_serial(simulator.port, timeouts=fast)
        async with camera:
            await camera.move_to(100, 100)
        async with camera:
            assert await camera.position() == (100, 100, 0)
        with pytest.raises(PtzLinkError, match="not open"):
            await camera.home()


async def test_a_camera_unplugged_mid_session_is_a_link_error(fast: Timeouts) -> None:
    simulator = SerialCameraSimulator()
    await simulator.start()
    async with PtzCamera.over_serial(simulator.port, timeouts=fast) as camera:
        await camera.home()
        await simulator.close()  # the far end of the pty disappears, as when a USB adapter is pulled
        with pytest.raises(PtzLinkError):
            await camera.home()
