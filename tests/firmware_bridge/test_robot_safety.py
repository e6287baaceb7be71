"""The robot kit's own safety: it stops its motors when the host's heartbeat is lost, when
the emergency stop is pressed; it runs stored programs. The heartbeat test speaks raw frames
on the pty so that the host can fall silent while still listening."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from firmware_bridge.errors import CommandNacked
from firmware_bridge.frames import Frame, FrameDecoder, FrameType, encode_frame
from firmware_bridge.link import KitLink
from firmware_bridge.payload import Fields, Value, decode_fields, encode_fields

FAST = ("--telemetry-ms", "50", "--heartbeat-ms", "100")


class RawHost:
    """A host that only does what the test says: no heartbeats unless sent by hand."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.frames: asyncio.Queue[Frame] = asyncio.Queue()
        self._decoder = FrameDecoder()
        self._seq = 0

    def readable(self) -> None:
        try:
            data = os.read(self.fd, 4096)
        except BlockingIOError:
            return
        for frame in self._decoder.feed(data):
            self.frames.put_nowait(frame)

    def send(self, frame_type: FrameType, fields: dict[str, Value] | list[tuple[str, Value]]) -> int:
        self._seq += 1
        os.write(self.fd, encode_frame(Frame(frame_type, self._seq, encode_fields(fields))))
        return self._seq

    async def expect(self, frame_type: FrameType, timeout: float = 3.0) -> Fields:
        async with asyncio.timeout(timeout):
            while True:
                frame = await self.frames.get()
                if frame.type == frame_type:
                    return decode_fields(frame.payload)


@asynccontextmanager
async def raw_host(fd: int) -> AsyncIterator[RawHost]:
    os.set_blocking(fd, False)
    host = RawHost(fd)
    loop = asyncio.get_running_loop()
    loop.add_reader(fd, host.readable)
    try:
        yield host
    finally:
        loop.remove_reader(fd)


async def test_motors_stop_by_themselves_when_the_host_falls_silent(boards) -> None:
    board = boards("robot", *FAST, "--host-timeout-ms", "300")
    await board.plug()
    async with raw_host(board.open_raw()) as host:
        host.send(FrameType.HELLO, {"pmin": 1, "pmax": 1})
        while (await host.expect(FrameType.IDENTIFY))["proto"] != 1:
            pass
        host.send(FrameType.COMMAND, [("cmd", "drive"), ("left", 60), ("right", 60)])
        assert (await host.expect(FrameType.ACK)) == {}
        while (await host.expect(FrameType.TELEMETRY))["motor_l"] != 60:
            pass
        silent_since = time.monotonic()  # from here on the host sends nothing at all
        event = await host.expect(FrameType.EVENT)
        stopped_after = time.monotonic() - silent_since
        assert event == {"event": "host_lost", "stopped": True}
        assert 0.2 < stopped_after < 0.6  # 300 ms timeout, measured from the last command
        readings = await host.expect(FrameType.TELEMETRY)
        assert (readings["motor_l"], readings["motor_r"], readings["host"]) == (0, 0, False)
        # The host comes back: the board hears it, but does not start moving on its own.
        host.send(FrameType.HEARTBEAT, {})
        readings = await host.expect(FrameType.TELEMETRY)
        readings = await host.expect(FrameType.TELEMETRY)
        assert (readings["motor_l"], readings["host"]) == (0, True)


async def test_motors_keep_running_while_heartbeats_arrive(boards, recorder) -> None:
    path = await boards("robot", *FAST, "--host-timeout-ms", "300").plug()
    async with KitLink(path, heartbeat_interval=0.05) as link:
        link.listener = recorder
        await link.command("drive", {"left": 40, "right": -40})
        # More than three host timeouts on the board's own clock: 20 telemetry periods of 50 ms.
        start = len(recorder.telemetry)
        await recorder.wait_for(lambda: len(recorder.telemetry) >= start + 21, timeout=10)
        assert (recorder.telemetry[-1]["motor_l"], recorder.telemetry[-1]["motor_r"]) == (40, -40)
        assert not any(name == "host_lost" for name, _ in recorder.events)


async def test_emergency_stop_button_stops_and_latches(boards, recorder) -> None:
    path = await boards("robot", *FAST, "--estop-at", "400").plug()
    async with KitLink(path) as link:
        link.listener = recorder
        await link.command("drive", {"left": 70, "right": 70})
        await recorder.wait_for(lambda: ("estop", {"source": "button"}) in recorder.events)
        readings = await recorder.next_telemetry()
        assert (readings["motor_l"], readings["motor_r"], readings["estop"]) == (0, 0, True)
        with pytest.raises(CommandNacked, match="emergency stop engaged") as refused:
            await link.command("drive", {"left": 10, "right": 10})
        assert refused.value.nack_code == 3
        with pytest.raises(CommandNacked, match="button still pressed"):
            await link.command("reset")


async def test_stored_program_runs_step_by_step_and_reports_done(boards, recorder) -> None:
    path = await boards("robot", *FAST).plug()
    async with KitLink(path) as link:
        link.listener = recorder
        await link.command("store", {"slot": 2, "program": "F50:200;R30:200;S"})
        with pytest.raises(CommandNacked, match="bad program"):
            await link.command("store", {"slot": 1, "program": "F500:10"})
        await link.command("run", {"slot": 2})
        await recorder.wait_for(lambda: ("program_done", {"slot": 2}) in recorder.events)
        seen = {(t["motor_l"], t["motor_r"]) for t in recorder.telemetry if t["slot"] == 2}
        assert seen == {(50, 50), (30, -30)}
        assert (await recorder.next_telemetry())["motor_l"] == 0
