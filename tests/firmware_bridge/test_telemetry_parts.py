"""TELEMETRY in parts (docs/serial-protocol.md §9): the board never puts more than one small
frame between a command and its ACK, and the host still hands on one set of readings per
period, in the order the board said things."""

from __future__ import annotations

import asyncio
import os
import tty
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from firmware_bridge.frames import Frame, FrameDecoder, FrameType, encode_frame
from firmware_bridge.kit import KitIdentity, LinkState
from firmware_bridge.link import MAX_TELEMETRY_PARTS, KitLink
from firmware_bridge.payload import Fields, Value, decode_fields, encode_fields
from tests.firmware_bridge.test_robot_safety import raw_host

FAST = ("--telemetry-ms", "50", "--heartbeat-ms", "100")
ROBOT_KEYS = {"motor_l", "motor_r", "distance", "line", "colour", "estop", "slot", "step", "led", "speed_limit", "host"}
PART_WIRE_MAX = 56  # 40 bytes of readings + `more` (7) + header and CRC (7) + COBS (1) + delimiter (1)


async def test_every_telemetry_frame_is_small_and_its_parts_make_the_whole_set(boards) -> None:
    board = boards("robot", *FAST)
    await board.plug()
    async with raw_host(board.open_raw()) as host:
        host.send(FrameType.HELLO, {"pmin": 1, "pmax": 1})
        while (await host.expect(FrameType.IDENTIFY))["proto"] != 1:
            pass
        sets = [await host.expect_telemetry() for _ in range(3)]
        start = next(i for i, f in enumerate(host.received) if f.type == FrameType.IDENTIFY and
                     decode_fields(f.payload)["proto"] == 1)  # fmt: skip
        parts = [f for f in host.received[start:] if f.type == FrameType.TELEMETRY]
    # Nothing but the readings: no part carries `more` on to the set, and every key is there.
    for readings in sets:
        assert readings.keys() >= ROBOT_KEYS and "more" not in readings
        assert readings["motor_l"] == 0 and readings["host"] is True
    # The robot's readings (143 bytes on the line as one frame) go in four frames of at most 56.
    sizes = [len(encode_frame(f)) for f in parts]
    assert max(sizes) <= PART_WIRE_MAX, sizes
    flags = [decode_fields(f.payload).get("more") for f in parts]
    assert flags[:4] == [True, True, True, None]


class Listener:
    """Everything the link passes on, in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []
        self.changed = asyncio.Event()

    def on_hello(self, kit: KitIdentity) -> None: ...
    def on_state(self, device_id: str, state: LinkState) -> None: ...
    def on_console(self, device_id: str, text: str) -> None: ...

    def on_telemetry(self, device_id: str, readings: Fields) -> None:
        self.calls.append(("telemetry", readings))
        self.changed.set()

    def on_event(self, device_id: str, name: str, fields: Fields) -> None:
        self.calls.append(("event", name))
        self.changed.set()


@asynccontextmanager
async def hand_made_board() -> AsyncIterator[tuple[KitLink, Listener, Callable[..., None]]]:
    """A board written by hand on a pty: it answers HELLO, then sends what the test says."""
    master, slave = os.openpty()
    tty.setraw(slave)
    loop = asyncio.get_running_loop()
    decoder = FrameDecoder()
    seq = 10

    def send(*frames: tuple[FrameType, dict[str, Value]]) -> None:
        nonlocal seq
        out = b""
        for kind, fields in frames:
            seq += 1
            out += encode_frame(Frame(kind, seq, encode_fields(fields)))
        os.write(master, out)

    def answer() -> None:
        for frame in decoder.feed(os.read(master, 4096)):
            if frame.type == FrameType.HELLO:
                send((FrameType.IDENTIFY, {"id": "robot-9", "kind": "robot", "fw": "1", "pmin": 1, "pmax": 1,
                                           "proto": 1, "hb": 500, "hbto": 1500}))  # fmt: skip

    loop.add_reader(master, answer)
    listener = Listener()
    try:
        async with KitLink(os.ttyname(slave)) as link:
            link.listener = listener
            yield link, listener, send
    finally:
        loop.remove_reader(master)
        os.close(master)
        os.close(slave)


async def wait_calls(listener: Listener, count: int) -> None:
    async with asyncio.timeout(5):
        while len(listener.calls) < count:
            listener.changed.clear()
            await listener.changed.wait()


async def test_the_parts_become_one_set_and_an_event_between_them_keeps_its_place() -> None:
    async with hand_made_board() as (_link, listener, send):
        send((FrameType.TELEMETRY, {"motor_l": 50, "motor_r": 50, "more": True}),
             (FrameType.TELEMETRY, {"estop": False, "host": True}))  # fmt: skip
        await wait_calls(listener, 1)
        assert listener.calls == [("telemetry", {"motor_l": 50, "motor_r": 50, "estop": False, "host": True})]
        # The button is pressed while a set goes out: the part sent before says "moving", the
        # event comes next, the parts after it say "stopped". The host keeps that order.
        send((FrameType.TELEMETRY, {"motor_l": 50, "motor_r": 50, "more": True}),
             (FrameType.EVENT, {"event": "estop", "source": "button"}),
             (FrameType.TELEMETRY, {"estop": True, "host": True}))  # fmt: skip
        await wait_calls(listener, 4)
        assert listener.calls[1:] == [("telemetry", {"motor_l": 50, "motor_r": 50}), ("event", "estop"),
                                      ("telemetry", {"estop": True, "host": True})]  # fmt: skip


async def test_a_board_that_never_ends_its_set_still_reports() -> None:
    async with hand_made_board() as (_link, listener, send):
        send(*[(FrameType.TELEMETRY, {f"probe_{n}": n, "more": True}) for n in range(MAX_TELEMETRY_PARTS + 1)])
        await wait_calls(listener, 1)
        assert listener.calls == [("telemetry", {f"probe_{n}": n for n in range(MAX_TELEMETRY_PARTS)})]
