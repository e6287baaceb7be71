"""The `stats` command (both ends' counters of a damaged line) and the session rule: nothing but
IDENTIFY and NACKs before a session, from the board or accepted by the host."""

from __future__ import annotations

import asyncio
import os
import re
import tty
from pathlib import Path

from firmware_bridge.cobs import cobs_encode
from firmware_bridge.frames import Frame, FrameDecoder, FrameType, encode_frame, frame_bytes
from firmware_bridge.link import KitLink
from firmware_bridge.payload import decode_fields, encode_fields
from tests.firmware_bridge.test_robot_safety import raw_host

FAST = ("--telemetry-ms", "100", "--heartbeat-ms", "100")
PROTOCOL = Path(__file__).resolve().parents[2] / "docs" / "serial-protocol.md"


def documented_stats() -> set[str]:
    """The keys of the `stats` table in docs/serial-protocol.md §8."""
    section = PROTOCOL.read_text().split("### The `stats` command", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([a-z_]+)` \|", section, re.MULTILINE))


def bad_crc_frame() -> bytes:
    raw = bytearray(frame_bytes(Frame(FrameType.HEARTBEAT, 50, encode_fields({"up": 1}))))
    raw[-3] ^= 0x10  # one payload bit flipped on the wire
    return b"\x00" + cobs_encode(raw) + b"\x00"


async def test_stats_counts_what_each_end_received(boards) -> None:
    board = boards("robot", *FAST)
    path = await board.plug()
    async with KitLink(path) as link:
        side_door = os.open(path, os.O_WRONLY | os.O_NOCTTY)  # a second writer toward the board
        try:
            os.write(side_door, bad_crc_frame() + bytes.fromhex("0501020300") + bad_crc_frame())
        finally:
            os.close(side_door)
        board.noise_to_host(bad_crc_frame())
        stats = await link.stats()  # sent after the noise, so the board has counted it
        assert set(stats["board"]) == documented_stats()
        assert (stats["board"]["bad_crc"], stats["board"]["bad_cobs"], stats["board"]["rx_lost"]) == (2, 1, 0)
        assert stats["board"]["commands"] == 1 and stats["board"]["tx_frames"] >= 3
        assert stats["host"]["bad_crc"] == 1
        assert stats["host"]["rx_frames"] >= stats["board"]["tx_frames"] - 1  # all but the one in flight
        again = await link.stats()
        assert again["board"]["commands"] == 2  # read afresh, not a cached answer


async def test_an_event_before_the_session_is_not_sent_and_its_state_comes_with_telemetry(boards) -> None:
    board = boards("robot", *FAST, "--estop-at", "0")  # the button is pressed while no host listens
    await board.plug()
    async with raw_host(board.open_raw()) as host:
        await asyncio.sleep(0.3)  # the board has read its sensors and latched the stop by now
        host.send(FrameType.HELLO, {"pmin": 1, "pmax": 1})
        while (await host.expect(FrameType.IDENTIFY))["proto"] != 1:
            pass
        readings = await host.expect_telemetry()
        assert readings["estop"] is True
        host.send(FrameType.COMMAND, [("cmd", "stats")])
        stats = await host.expect(FrameType.ACK)
        assert stats["events_dropped"] >= 1  # the "estop" event that had nobody to go to
    # Nothing before the session's IDENTIFY was an EVENT: read the whole stream from boot.
    assert host.kinds_before_session() <= {FrameType.IDENTIFY}


async def test_the_host_ignores_and_counts_what_comes_before_the_session() -> None:
    master, slave = os.openpty()
    tty.setraw(slave)
    loop = asyncio.get_running_loop()
    decoder = FrameDecoder()

    def event(seq: int, name: str) -> bytes:
        return encode_frame(Frame(FrameType.EVENT, seq, encode_fields({"event": name})))

    def board_answers() -> None:  # a board that breaks the rule: an EVENT before its IDENTIFY
        for frame in decoder.feed(os.read(master, 4096)):
            if frame.type == FrameType.HELLO:
                identify = {"id": "odd-1", "kind": "robot", "fw": "0.1", "pmin": 1, "pmax": 1, "proto": 1,
                            "hb": 500, "hbto": 1500}  # fmt: skip
                answer = encode_frame(Frame(FrameType.IDENTIFY, 2, encode_fields(identify)))
                os.write(master, event(1, "early") + answer)

    loop.add_reader(master, board_answers)
    try:
        async with KitLink(os.ttyname(slave)) as link:
            assert link.identity is not None and link.identity.device_id == "odd-1"
            assert link.counters["before_session"] == 1
    finally:
        loop.remove_reader(master)
        os.close(master)
        os.close(slave)


def test_documented_stats_are_what_the_vectors_carry() -> None:
    vectors = (Path(__file__).resolve().parents[2] / "firmware_bridge" / "firmware" / "test_vectors.json").read_text()
    wire = re.search(r'"name": "ACK of a stats command[^}]*"wire": "([0-9a-f]+)"', vectors)
    assert wire is not None
    (frame,) = FrameDecoder().feed(bytes.fromhex(wire.group(1)))
    assert set(decode_fields(frame.payload)) == documented_stats()
