"""Long commands reach a busy board whole: 60 frames of the protocol's maximum size (249-byte
payload, 256 bytes before COBS), written back to back, while the robot reads its colour sensor
and both kits send telemetry every 50 ms. On the emulated Uno this is the case the old firmware
failed (4-6 of 60 upload chunks lost to its 64-byte receive buffer); the board's own counters,
read with the ``stats`` command, show nothing lost, and its stack stayed in its budget."""

from __future__ import annotations

import asyncio
import zlib

from firmware_bridge.frames import MAX_PAYLOAD, Frame, FrameType, frame_bytes
from firmware_bridge.link import KitLink
from firmware_bridge.payload import Value, encode_fields
from tests.firmware_bridge.conftest import UnoBoard

FRAMES = 60
FAST = ("--telemetry-ms", "50", "--heartbeat-ms", "100")
STACK_BUDGET = 512  # bytes the RAM budget leaves the stack (firmware_bridge/firmware/README.md)
PROGRAM = "F100:1000;B100:1000;" * 7 + "L40:300;S"  # 16 steps, 149 bytes: two chunks
PROGRAM_CRC = int.from_bytes(zlib.crc32(PROGRAM.encode()).to_bytes(4, "little"), "little", signed=True)


def padded(name: str, args: dict[str, Value]) -> dict[str, Value]:
    """``args`` plus a ``pad`` text the board ignores, filling the payload to the protocol's maximum."""
    used = len(encode_fields([("cmd", name), *args.items(), ("pad", "")]))
    return {**args, "pad": "p" * (MAX_PAYLOAD - used)}


async def send_long_frames(link: KitLink, name: str, args: dict[str, Value]) -> list[dict[str, Value]]:
    payload = encode_fields([("cmd", name), *args.items()])
    assert len(payload) == MAX_PAYLOAD
    assert len(frame_bytes(Frame(FrameType.COMMAND, 1, payload))) == 256
    # All written at once: KitLink queues them and the pty takes them as fast as it drains.
    return list(await asyncio.gather(*(link.command(name, args) for _ in range(FRAMES))))


async def test_sixty_maximum_size_commands_back_to_back_lose_nothing(boards) -> None:
    robot = boards("robot", *FAST)
    node = boards("vinaponics", *FAST)
    # One attempt, a long wait: the 60th frame reaches the board 1.5 s after it was queued, and
    # a retransmission must not hide a lost one.
    options = {"command_timeout": 10.0, "command_attempts": 1}
    async with KitLink(await robot.plug(), **options) as robot_link, KitLink(await node.plug(), **options) as node_link:
        await robot_link.command("upload_begin", {"slot": 1, "size": len(PROGRAM), "crc": PROGRAM_CRC})
        chunk = PROGRAM[:128]
        robot_answers, node_answers = await asyncio.gather(
            send_long_frames(robot_link, "upload_chunk", padded("upload_chunk", {"offset": 0, "data": chunk})),
            send_long_frames(node_link, "identify", padded("identify", {})),
        )
        assert robot_answers == [{"have": 128}] * FRAMES
        assert node_answers == [{}] * FRAMES
        # The upload ends well: its CRC-32 checks and the text parses into slot 1.
        rest = {"offset": 128, "data": PROGRAM[128:]}
        assert await robot_link.command("upload_chunk", rest) == {"have": len(PROGRAM)}
        assert await robot_link.command("upload_end") == {"slot": 1, "steps": 16}
        for board, link, commands in ((robot, robot_link, FRAMES + 3), (node, node_link, FRAMES)):
            stats = await link.command("stats")
            lost = {key: stats[key] for key in ("bad_cobs", "bad_crc", "oversize", "rx_lost")}
            assert lost == dict.fromkeys(lost, 0), f"{board.name}: {stats}"
            assert (stats["commands"], stats["duplicates"]) == (commands + 1, 0)
            assert link.counters["retransmits"] == 0
            if isinstance(board, UnoBoard):
                report = await board.report()
                assert report["static"] <= 2048 - STACK_BUDGET and report["stack_max"] <= STACK_BUDGET
