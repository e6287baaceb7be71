"""Shared fixtures: the host-built firmware and the emulated Uno, boards on real ptys, a recording listener."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import signal
import subprocess
import tty
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from firmware_bridge import emulated_board
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


@dataclass(frozen=True)
class AvrFirmware:
    """The AVR images of `make avr` (whose output lists their sizes) and the simavr harness."""

    harness: Path
    sizes: str
    images: dict[tuple[str, tuple[tuple[str, str], ...]], Path] = field(default_factory=dict)

    async def image(self, kit: str, settings: dict[str, str]) -> Path:
        """The sketch of ``kit`` with ``settings``, built once per session."""
        key = (kit, tuple(sorted(settings.items())))
        if key not in self.images:
            build = functools.partial(emulated_board.build_image, kit, settings)
            self.images[key] = await asyncio.get_running_loop().run_in_executor(None, build)
        return self.images[key]


@pytest.fixture(scope="session")
def avr_firmware() -> AvrFirmware:
    """`make avr sim`: every sketch for every board (failing past a board's flash or RAM), the harness."""
    result = subprocess.run(["make", "-s", "-C", str(FIRMWARE_DIR), "-j2", "avr", "sim"], capture_output=True,
                            text=True, check=False)  # fmt: skip
    if result.returncode != 0:
        pytest.fail(f"AVR build failed:\n{result.stdout}\n{result.stderr}")
    return AvrFirmware(emulated_board.KIT_SIM, result.stdout)


class Board:
    """One host-built kit firmware process on its own pseudo-terminal: a plugged-in board.

    The host side opens ``path`` like /dev/ttyACM0. The test keeps the master end too, to
    inject line noise toward the host, and keeps the slave open so the pty outlives
    firmware restarts (a board reset on the same port).

    ``rx_us`` and ``tx_us`` are the board's own clock (µs) at the end of each frame it
    received and sent, in order: timing checks use them, not the test's clock.
    """

    name = "host"
    firmware_version = "1.0.0-host"
    left_out: frozenset[str] = frozenset()  # TELEMETRY keys this board has no sensor for
    loop_ms = 250.0  # how late the board may act, on its clock: a Linux process under load

    def __init__(self, binary: Path, kit: str, args: tuple[str, ...]) -> None:
        self._binary = binary
        self._kit = kit
        self._args = args
        self._master = -1
        self._slave = -1
        self.path = ""
        self.process: asyncio.subprocess.Process | None = None
        self.rx_us: list[float] = []
        self.tx_us: list[float] = []
        self._reader: asyncio.Task[None] | None = None
        self._lines = asyncio.Queue[str]()
        self._stamped = asyncio.Event()

    async def plug(self) -> str:
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.path = os.ttyname(self._slave)
        await self._start()
        return self.path

    def _command(self) -> list[str]:
        return [str(self._binary), "--kit", self._kit, "--fd", str(self._master), "--report", *self._args]

    async def _start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            *self._command(), pass_fds=(self._master,), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
        )
        self._reader = asyncio.create_task(self._read_reports(self.process))

    async def _read_reports(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        while line := (await process.stdout.readline()).decode():
            what, _, rest = line.partition(" ")
            if what in ("rx", "tx"):
                (self.rx_us if what == "rx" else self.tx_us).append(self._to_us(int(rest.split()[1])))
                self._stamped.set()
            else:
                self._lines.put_nowait(line.strip())

    def _to_us(self, stamp: int) -> float:
        return float(stamp)  # kit_host stamps CLOCK_MONOTONIC in µs

    async def tx_time_us(self, index: int, timeout: float = 5.0) -> float:
        """The board's clock when its ``index``-th frame (from 0) had left."""
        async with asyncio.timeout(timeout):
            while len(self.tx_us) <= index:
                self._stamped.clear()
                await self._stamped.wait()
        return self.tx_us[index]

    async def _stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None

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


# kit_host's options and the sketch settings or harness pins that do the same on an AVR board.
_SKETCH_SETTINGS = {"--id": "KIT_DEVICE_ID", "--telemetry-ms": "KIT_TELEMETRY_MS", "--heartbeat-ms": "KIT_HEARTBEAT_MS",
                    "--host-timeout-ms": "KIT_HOST_TIMEOUT_MS", "--drop-commands": "KIT_DROP_COMMANDS",
                    "--drop-replies": "KIT_DROP_REPLIES"}  # fmt: skip


class UnoBoard(Board):
    """The sketch built for an Arduino Uno, emulated by simavr (``kit_sim``) on the pty.

    It takes kit_host's options: the settings become the sketch's build settings
    (``--id robot-3`` is ``-DKIT_DEVICE_ID="robot-3"``), ``--estop-at MS`` drives the button's
    pin low at that board time. Its clock is the chip's cycle counter.
    """

    name = "uno"
    firmware_version = "1.1.0"
    loop_ms = 25.0  # the longest loop pass (the robot's colour reading) plus a frame in flight

    def __init__(self, avr: AvrFirmware, kit: str, args: tuple[str, ...]) -> None:
        super().__init__(avr.harness, kit, args)
        self._avr = avr
        self._image: Path | None = None
        self.settings: dict[str, str] = {"KIT_DEVICE_ID": f"{kit}-sim-1"}
        self.pins: list[str] = []
        pairs = iter(args)
        for option in pairs:
            value = next(pairs)
            if option in _SKETCH_SETTINGS:
                self.settings[_SKETCH_SETTINGS[option]] = value
            elif option == "--estop-at":
                self.pins.append(f"{emulated_board.ESTOP_PIN}=0@{value}")
            elif option != "--seed":  # the emulated board's sensors are its pins
                raise ValueError(f"UnoBoard: kit_host option {option} has no equivalent")
        if kit == "vinaponics" and emulated_board.UNO.analog_inputs < 8:
            self.left_out = frozenset({"humidity", "light"})  # A6/A7: not on a DIP Uno

    async def plug(self) -> str:
        self._image = await self._avr.image(self._kit, self.settings)
        return await super().plug()

    def _command(self) -> list[str]:
        assert self._image is not None
        return emulated_board.harness_command(self._kit, self._image, self._master, emulated_board.UNO, *self.pins)

    def _to_us(self, stamp: int) -> float:
        return stamp * 1e6 / emulated_board.UNO.hz

    async def reset(self) -> None:
        """Press the reset button: the chip restarts, the emulator and the port stay."""
        self._control("reset")

    async def report(self) -> dict[str, int]:
        """The harness's report: static RAM and the deepest stack so far (bytes), RAM never touched
        between them, the longest loop pass (cycles), how far the chip fell behind the wall clock."""
        self._control("report")
        async with asyncio.timeout(5):
            while not (line := await self._lines.get()).startswith("report "):
                pass
        return {key: int(value) for key, value in (item.split("=") for item in line.split()[1:])}

    def _control(self, line: str) -> None:
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write(line.encode() + b"\n")


@pytest.fixture(params=["host", "uno"])
async def boards(request: pytest.FixtureRequest, firmware: Firmware) -> AsyncIterator[Callable[..., Board]]:
    """Makes boards: ``boards("robot", "--host-timeout-ms", "300")``; unplugs them all at the end.

    Every test that uses it runs twice: against the host build, and against the sketch
    built for an Arduino Uno on the emulated ATmega328P.
    """
    made: list[Board] = []
    avr: AvrFirmware | None = request.getfixturevalue("avr_firmware") if request.param == "uno" else None

    def make(kit: str, *args: str) -> Board:
        board = Board(firmware.kit_host, kit, args) if avr is None else UnoBoard(avr, kit, args)
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

    @property
    def latest(self) -> Fields:
        """Every key's latest value: what a page showing the kit shows now."""
        view: Fields = {}
        for readings in self.telemetry:
            view.update(readings)
        return view

    async def next_telemetry(self, timeout: float = 5.0) -> Fields:
        """The readings the board sends from now on, once every key it has reported is in them.

        A set may be partial (an ACK or EVENT between two of its parts splits it, see
        KitLink._on_telemetry), so this merges sets until every key is new.
        """
        seen = len(self.telemetry)

        def fresh() -> Fields:
            view: Fields = {}
            for readings in self.telemetry[seen:]:
                view.update(readings)
            return view

        await self.wait_for(lambda: len(self.telemetry) > seen and fresh().keys() >= self.latest.keys(), timeout)
        return fresh()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()
