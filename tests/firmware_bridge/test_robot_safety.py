"""The robot kit's own safety: it stops its motors when the host's heartbeat is lost, when
the emergency stop is pressed; it runs stored programs. The heartbeat test speaks raw frames
on the pty so that the host can fall silent while still listening, and times the stop on the
board's own clock."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from firmware_bridge.errors import CommandNacked
from firmware_bridge.frames import Frame, FrameDecoder, FrameType, encode_frame
from firmware_bridge.link import KitLink
from firmware_bridge.payload import Fields, Value, decode_fields, encode_fields
from tests.firmware_bridge.conftest import UnoBoard

FAST = ("--telemetry-ms", "50", "--heartbeat-ms", "100")


class RawHost:
    """A host that only does what the test says: no heartbeats unless sent by hand."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.frames: asyncio.Queue[tuple[int, Frame]] = asyncio.Queue()
        self.index = -1  # place in the board's output of the frame expect() returned last
        self.received: list[Frame] = []  # everything the board sent, from its boot on
        self._decoder = FrameDecoder()
        self._seq = 0

    def readable(self) -> None:
        try:
            data = os.read(self.fd, 4096)
        except BlockingIOError:
            return
        for frame in self._decoder.feed(data):
            self.frames.put_nowait((len(self.received), frame))
            self.received.append(frame)

    def send(self, frame_type: FrameType, fields: dict[str, Value] | list[tuple[str, Value]]) -> int:
        self._seq += 1
        os.write(self.fd, encode_frame(Frame(frame_type, self._seq, encode_fields(fields))))
        return self._seq

    def kinds_before_session(self) -> set[int]:
        """Frame types the board sent before the IDENTIFY that opened a session."""
        kinds: set[int] = set()
        for frame in self.received:
            if frame.type == FrameType.IDENTIFY and decode_fields(frame.payload)["proto"] != 0:
                break
            kinds.add(frame.type)
        return kinds

    async def expect(self, frame_type: FrameType, timeout: float = 3.0) -> Fields:
        async with asyncio.timeout(timeout):
            while True:
                self.index, frame = await self.frames.get()
                if frame.type == frame_type:
                    return decode_fields(frame.payload)

    async def expect_telemetry(self, timeout: float = 3.0) -> Fields:
        """The next whole telemetry set: its parts merged, from a set's first part to its last
        (docs/serial-protocol.md §9: every part but the last says ``more``)."""
        readings: Fields = {}
        async with asyncio.timeout(timeout):
            while True:
                part = await self.expect(FrameType.TELEMETRY)
                if not readings and not self._starts_a_set(self.index):
                    continue  # the rest of a set that began before
                more = part.pop("more", False)
                readings.update(part)
                if more is not True:
                    return readings

    def _starts_a_set(self, index: int) -> bool:
        earlier = (f for f in reversed(self.received[:index]) if f.type == FrameType.TELEMETRY)
        previous = next(earlier, None)
        return previous is None or decode_fields(previous.payload).get("more") is not True


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
        while (await host.expect_telemetry())["motor_l"] != 60:
            pass
        # From here on the host sends nothing at all.
        event = await host.expect(FrameType.EVENT)
        assert event == {"event": "host_lost", "stopped": True}
        # On the board's clock: from the end of the last frame it heard (the drive command) to
        # the end of the frame that says the motors stopped.
        heard_us = board.rx_us[-1]
        said_us = await board.tx_time_us(host.index)
        silent_ms = (said_us - heard_us) / 1000
        assert 300 - 2 <= silent_ms <= 300 + board.loop_ms
        readings = await host.expect_telemetry()
        assert (readings["motor_l"], readings["motor_r"], readings["host"]) == (0, 0, False)
        # The host comes back: the board hears it, but does not start moving on its own.
        host.send(FrameType.HEARTBEAT, {})
        readings = await host.expect_telemetry()
        readings = await host.expect_telemetry()
        assert (readings["motor_l"], readings["host"]) == (0, True)


async def test_motors_keep_running_while_heartbeats_arrive(boards, recorder) -> None:
    path = await boards("robot", *FAST, "--host-timeout-ms", "300").plug()
    async with KitLink(path, heartbeat_interval=0.05) as link:
        link.listener = recorder
        await link.command("drive", {"left": 40, "right": -40})
        # More than three host timeouts on the board's own clock: 20 telemetry periods of 50 ms.
        start = len(recorder.telemetry)
        await recorder.wait_for(lambda: len(recorder.telemetry) >= start + 21, timeout=10)
        assert (recorder.latest["motor_l"], recorder.latest["motor_r"]) == (40, -40)
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
    board = boards("robot", *FAST)
    path = await board.plug()
    async with KitLink(path) as link:
        link.listener = recorder
        await link.command("store", {"slot": 2, "program": "F50:200;R30:200;S"})
        with pytest.raises(CommandNacked, match="bad program"):
            await link.command("store", {"slot": 1, "program": "F500:10"})
        await link.command("run", {"slot": 2})
        await recorder.wait_for(lambda: ("program_done", {"slot": 2}) in recorder.events)
        # Sets that hold the slot and the motors (an ACK or EVENT between two parts splits a set).
        seen = {(t["motor_l"], t["motor_r"]) for t in recorder.telemetry if t.get("slot") == 2 and "motor_l" in t}
        assert seen == {(50, 50), (30, -30)}
        assert (await recorder.next_telemetry())["motor_l"] == 0
    if isinstance(board, UnoBoard):  # storing and running a program fits the Uno's RAM budget
        report = await board.report()
        assert report["static"] + report["stack_max"] <= 2048 and report["stack_max"] <= 512
