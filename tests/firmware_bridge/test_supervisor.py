"""KitSupervisor: finds the board, follows it across unplug/replug and resets, restores outputs."""

from __future__ import annotations

import asyncio

import pytest

from firmware_bridge.errors import KitOffline
from firmware_bridge.kit import LinkState
from firmware_bridge.supervisor import KitSupervisor

FAST = ("--telemetry-ms", "100", "--heartbeat-ms", "100")
LINK = {"hello_timeout": 0.6, "hello_retry": 0.2, "command_timeout": 0.1}


class Ports:
    """What a USB scan would return right now: the paths of the boards plugged in."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.scans = 0

    def __call__(self) -> list[str]:
        self.scans += 1
        return list(self.paths)


async def test_replug_on_another_port_reconnects_and_restores_outputs(boards, recorder) -> None:
    ports = Ports()
    first = boards("vinaponics", "--id", "vina-1", *FAST)
    ports.paths = [await first.plug()]
    async with KitSupervisor(recorder, ports, rescan=0.05, **LINK) as supervisor:
        kit = await asyncio.wait_for(supervisor.wait_online(), 5)
        assert kit.device_id == "vina-1" and supervisor.state is LinkState.ONLINE
        await supervisor.command("set", {"pump": True, "lights": True})
        await recorder.wait_for(lambda: recorder.latest.get("pump") is True)

        # The same board comes back on another USB socket: a new pty (allocated now, while the
        # first still exists, so the kernel cannot hand out the same number), fresh firmware.
        second = boards("vinaponics", "--id", "vina-1", *FAST)
        another_port = await second.plug()
        assert another_port != first.path

        await first.unplug()
        ports.paths = []
        await asyncio.wait_for(supervisor.wait_offline(), 2)
        assert recorder.states[-1] == ("vina-1", LinkState.OFFLINE)
        with pytest.raises(KitOffline):
            await supervisor.command("identify")

        ports.paths = [another_port]
        kit = await asyncio.wait_for(supervisor.wait_online(), 5)
        assert kit.port == second.path
        assert [state for _, state in recorder.states] == [LinkState.ONLINE, LinkState.OFFLINE, LinkState.ONLINE]
        assert len(recorder.hellos) == 2
        readings = await recorder.next_telemetry()
        assert readings["pump"] is True and readings["lights"] is True  # restored, not re-asked
        assert supervisor.connections == 2


async def test_board_reset_on_the_same_port_is_noticed_and_restored(boards, recorder) -> None:
    board = boards("robot", "--id", "robot-3", *FAST)
    ports = Ports()
    ports.paths = [await board.plug()]
    async with KitSupervisor(recorder, ports, rescan=0.05, **LINK) as supervisor:
        await asyncio.wait_for(supervisor.wait_online(), 5)
        await supervisor.command("set", {"led": True, "speed_limit": 40})
        await board.reset()  # the board reboots; the port never goes away
        await recorder.wait_for(lambda: len(recorder.states) >= 3, timeout=5)
        assert [state for _, state in recorder.states] == [LinkState.ONLINE, LinkState.OFFLINE, LinkState.ONLINE]
        assert supervisor.identity is not None and supervisor.identity.port == board.path
        readings = await recorder.next_telemetry()
        assert readings["led"] is True and readings["speed_limit"] == 40


async def test_only_the_pinned_board_is_taken_and_silent_ports_are_skipped(boards, recorder) -> None:
    other = boards("robot", "--id", "robot-a", *FAST)
    wanted = boards("robot", "--id", "robot-b", *FAST)
    silent = boards("robot", *FAST)
    ports = Ports()
    ports.paths = [await other.plug(), await silent.plug(), await wanted.plug()]
    silent.freeze()  # a serial device that never answers HELLO
    async with KitSupervisor(recorder, ports, device_id="robot-b", rescan=0.05, **LINK) as supervisor:
        kit = await asyncio.wait_for(supervisor.wait_online(), 5)
        assert (kit.device_id, kit.port) == ("robot-b", wanted.path)
        assert [hello.device_id for hello in recorder.hellos] == ["robot-b"]
        await recorder.next_telemetry()


async def test_closing_the_supervisor_closes_the_port(boards, recorder) -> None:
    board = boards("vinaponics", *FAST)
    ports = Ports()
    ports.paths = [await board.plug()]
    async with KitSupervisor(recorder, ports, rescan=0.05, **LINK) as supervisor:
        await asyncio.wait_for(supervisor.wait_online(), 5)
        link = supervisor.link
    assert link is not None and not link.is_up
    assert supervisor.state is LinkState.OFFLINE
    assert recorder.states[-1][1] is LinkState.OFFLINE
