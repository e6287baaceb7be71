"""KitLink against the host-built firmware over a real pseudo-terminal."""

from __future__ import annotations

import asyncio
import os
import time

import pytest

from classroom_hub.errors import CommandFailed
from firmware_bridge.cobs import cobs_encode
from firmware_bridge.errors import CommandNacked, CommandUnanswered, LinkLost, PortUnavailable
from firmware_bridge.frames import Frame, FrameType, frame_bytes
from firmware_bridge.link import KitLink
from firmware_bridge.payload import encode_fields

FAST = ("--telemetry-ms", "100", "--heartbeat-ms", "100")
NODE_KEYS = {"ph", "water_temp", "do", "ec", "tds", "level", "air_temp", "humidity", "light"}


async def test_hello_identifies_the_board_and_negotiates_version(boards, recorder) -> None:
    board = boards("vinaponics", "--id", "vina-lab2", *FAST)
    path = await board.plug()
    async with KitLink(path) as link:
        kit = link.identity
        assert kit is not None
        assert (kit.device_id, kit.kind, kit.protocol, kit.port) == ("vina-lab2", "vinaponics", 1, path)
        assert set(kit.commands) == {"set", "feed", "identify", "stats"}
        assert set(kit.outputs) == {"pump", "aerator", "lights"}
        assert kit.heartbeat_ms == 100


async def test_telemetry_carries_every_sensor_with_plausible_values(boards, recorder) -> None:
    board = boards("vinaponics", *FAST)
    path = await board.plug()
    async with KitLink(path) as link:
        link.listener = recorder
        readings = await recorder.next_telemetry()
        assert readings.keys() >= NODE_KEYS - board.left_out
        assert not readings.keys() & board.left_out  # no sensor: left out, never sent as NaN
        assert 5.5 < readings["ph"] < 8.5
        assert 15 < readings["water_temp"] < 30
        assert 0 < readings["level"] <= 100
        assert readings["pump"] is False
        assert readings["host"] is True


async def test_command_is_acked_and_its_effect_shows_in_telemetry(boards, recorder) -> None:
    path = await boards("vinaponics", *FAST).plug()
    async with KitLink(path) as link:
        link.listener = recorder
        assert await link.command("set", {"pump": True, "aerator": True}) == {}
        await recorder.wait_for(lambda: recorder.latest.get("pump") is True)
        assert recorder.latest["aerator"] is True


async def test_refused_command_raises_nack_with_the_boards_reason(boards) -> None:
    path = await boards("vinaponics", *FAST).plug()
    async with KitLink(path) as link:
        with pytest.raises(CommandNacked, match="unknown output") as caught:
            await link.command("set", {"sprinkler": True})
        assert caught.value.nack_code == 2
        assert isinstance(caught.value, CommandFailed)  # the hub's own command error
        with pytest.raises(CommandNacked) as unknown:
            await link.command("launch")
        assert unknown.value.nack_code == 1


async def test_dropped_command_is_retransmitted_and_succeeds(boards) -> None:
    path = await boards("vinaponics", *FAST, "--drop-commands", "1").plug()
    async with KitLink(path, command_timeout=0.1) as link:
        started = time.monotonic()
        assert await link.command("feed", {"portions": 1}) == {"fed": 1}
        assert link.counters["retransmits"] >= 1
        assert time.monotonic() - started >= 0.1


async def test_lost_ack_is_answered_again_without_feeding_twice(boards, recorder) -> None:
    path = await boards("vinaponics", *FAST, "--drop-replies", "1").plug()
    async with KitLink(path, command_timeout=0.1) as link:
        link.listener = recorder
        assert await link.command("feed", {"portions": 2}) == {"fed": 2}
        assert link.counters["retransmits"] >= 1
        readings = await recorder.next_telemetry()
        assert readings["fed"] == 2  # the retransmission was not run a second time
        assert [name for name, _ in recorder.events].count("fed") == 1


async def test_command_gives_up_after_every_attempt(boards) -> None:
    path = await boards("vinaponics", *FAST, "--drop-commands", "10").plug()
    async with KitLink(path, command_timeout=0.05, command_attempts=3) as link:
        with pytest.raises(CommandUnanswered, match="after 3 attempts"):
            await link.command("identify")
        assert link.counters["retransmits"] == 2
        assert link.is_up  # heartbeats still flow: the link itself is fine


async def test_noise_both_ways_is_dropped_counted_and_survived(boards, recorder) -> None:
    board = boards("robot", *FAST)
    path = await board.plug()
    async with KitLink(path) as link:
        link.listener = recorder
        await recorder.next_telemetry()
        raw = bytearray(frame_bytes(Frame(FrameType.TELEMETRY, 9, encode_fields({"motor_l": 99}))))
        raw[-3] ^= 0x10  # one bit of the reading flipped on the wire
        corrupt = b"\x00" + cobs_encode(raw) + b"\x00"
        side_door = os.open(path, os.O_WRONLY | os.O_NOCTTY)  # a second writer on the host side
        try:
            for burst in range(20):
                board.noise_to_host(os.urandom(97) + corrupt + b"\x00" * (burst % 2))
                os.write(side_door, os.urandom(61) + b"\x00")  # toward the firmware
                await asyncio.sleep(0.01)
        finally:
            os.close(side_door)
        count = len(recorder.telemetry)
        await recorder.wait_for(lambda: len(recorder.telemetry) >= count + 3)
        assert await link.command("drive", {"left": 10, "right": 10}) == {}
        assert link.decoder.dropped["bad_crc"] >= 1
        assert sum(link.decoder.dropped.values()) >= 20
        assert all(t.get("motor_l", 0) in (0, 10) for t in recorder.telemetry)  # no corrupt reading got through
        assert link.is_up


async def test_unplugged_board_ends_the_link_at_once(boards) -> None:
    board = boards("robot", *FAST)
    path = await board.plug()
    async with KitLink(path) as link:
        started = time.monotonic()
        await board.unplug()
        reason = await asyncio.wait_for(link.wait_lost(), 2)
        assert "port closed" in str(reason)
        assert time.monotonic() - started < 0.5
        with pytest.raises(LinkLost):
            await link.command("stop")


async def test_hung_board_is_detected_by_missing_heartbeats(boards) -> None:
    board = boards("robot", *FAST)
    path = await board.plug()
    async with KitLink(path, heartbeat_interval=0.05) as link:
        board.freeze()
        started = time.monotonic()
        reason = await asyncio.wait_for(link.wait_lost(), 3)
        elapsed = time.monotonic() - started
        assert "silent" in str(reason)
        assert 0.25 <= elapsed < 1.0  # three 100 ms heartbeats missed, plus one check interval
        board.thaw()


async def test_port_that_does_not_exist_is_unavailable() -> None:
    with pytest.raises(PortUnavailable, match="/dev/ttyKIT-missing"):
        async with KitLink("/dev/ttyKIT-missing"):
            pass
