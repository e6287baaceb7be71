"""Shared fixtures: the host-built firmware, simulated boards on real ptys, a recording listener."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import tty
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from firmware_bridge.kit import KitIdentity, LinkState
from firmware_bridge.payload import Fields

FIRMWARE_DIR = Path(__file__).resolve().parents[2] / "firmware_bridge" / "firmware"
VECTORS = FIRMWARE_DIR / "test_vectors.json"


@dataclass(frozen=True)
class Firmware:
    kit_host: Path
    kit_host_asan: Path
    test_vectors: Path


@pytest.fixture(scope="session")
def firmware() -> Firmware:
    """Builds the reference firmware once per session with the project's Makefile."""
    result = subprocess.run(
        ["make", "-C", str(FIRMWARE_DIR), "-j2", "host", "test", "fuzz"],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"firmware build failed:\n{result.stdout}\n{result.stderr}")
    build = FIRMWARE_DIR / "build"
    return Firmware(build / "kit_host", build / "kit_host_asan", build / "test_vectors")


class Board:
    """One host-built kit firmware process on its own pseudo-terminal: a plugged-in board.

    The host side opens ``path`` like /dev/ttyACM0. The test keeps the master end too, to
    inject line noise toward the host, and keeps the slave open so the pty outlives
    firmware restarts (a board reset on the same port).
    """

    def __init__(self, binary: Path, kit: str, args: tuple[str, ...]) -> None:
        self._binary = binary
        self._kit = kit
        self._args = args
        self._master = -1
        self._slave = -1
        self.path = ""
        self.process: asyncio.subprocess.Process | None = None

    async def plug(self) -> str:
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.path = os.ttyname(self._slave)
        await self._start()
        return self.path

    async def _start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            str(self._binary), "--kit", self._kit, "--fd", str(self._master), *self._args,
            pass_fds=(self._master,),
        )

    async def _stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()

    async def reset(self) -> None:
        """Power-cycle the board: a new firmware process on the same port."""
        await self._stop()
        await self._start()

    async def unplug(self) -> None:
        """Pull the cable: the process dies and the pty disappears."""
        await self._stop()
        for fd in (self._master, self._slave):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = -1

    def freeze(self) -> None:
        """The firmware hangs (SIGSTOP): the port stays, frames stop."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def noise_to_host(self, data: bytes) -> None:
        os.write(self._master, data)

    def open_raw(self) -> int:
        """The slave end for a test that speaks raw frames instead of using KitLink."""
        return self._slave




@pytest.fixture
async def boards(firmware: Firmware) -> AsyncIterator[Callable[..., Board]]:
    """Makes boards: ``boards("robot", "--host-timeout-ms", "300")``; unplugs them all at the end."""
    made: list[Board] = []

    def make(kit: str, *args: str) -> Board:
        board = Board(firmware.kit_host, kit, args)
        made.append(board)
        return board

    yield make
    for board in made:
        if board.process is not None and board.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                board.thaw()
        await board.unplug()


class Recorder:
    """A KitListener that keeps everything and lets a test await a condition without polling."""

    def __init__(self) -> None:
        self.hellos: list[KitIdentity] = []
        self.states: list[tuple[str, LinkState]] = []
        self.telemetry: list[Fields] = []
        self.events: list[tuple[str, Fields]] = []
        self.console: list[str] = []
        self._changed = asyncio.Event()

    def on_hello(self, kit: KitIdentity) -> None:
        self.hellos.append(kit)
        self._changed.set()

    def on_state(self, device_id: str, state: LinkState) -> None:
        self.states.append((device_id, state))
        self._changed.set()

    def on_telemetry(self, device_id: str, readings: Fields) -> None:
        self.telemetry.append(readings)
        self._changed.set()

    def on_event(self, device_id: str, name: str, fields: Fields) -> None:
        self.events.append((name, fields))
        self._changed.set()

    def on_console(self, device_id: str, text: str) -> None:
        self.console.append(text)
        self._changed.set()

    async def wait_for(self, condition: Callable[[], object], timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while not condition():
                self._changed.clear()
                await self._changed.wait()

    async def next_telemetry(self, timeout: float = 5.0) -> Fields:
        seen = len(self.telemetry)
        await self.wait_for(lambda: len(self.telemetry) > seen, timeout)
        return self.telemetry[-1]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()
