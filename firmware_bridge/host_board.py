"""A kit "plugged in" without hardware: the host-built reference firmware behind a pseudo-terminal,
reachable at a stable path (a symlink), as a USB board is at /dev/serial/by-id/... .

Used by ``classroom-hub demo`` for the serial kits of the demo room, and by benches. The
firmware is built on first use with ``make -C firmware_bridge/firmware host`` (needs g++).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import subprocess
import tty
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from device_drivers.kinds import Simulation, SimulatorError, declared_kinds
from firmware_bridge.errors import FrameError

log = logging.getLogger(__name__)

FIRMWARE_DIR = Path(__file__).resolve().parent / "firmware"
KIT_HOST = FIRMWARE_DIR / "build" / "kit_host"


def build_firmware() -> Path:
    """Build (or find up to date) the host firmware; raises FrameError when it cannot be built."""
    if shutil.which("make") is None or shutil.which(os.environ.get("CXX", "g++")) is None:
        raise FrameError("cannot build the host firmware: make and g++ are needed (apt-get install make g++)")
    result = subprocess.run(["make", "-s", "-C", str(FIRMWARE_DIR), "host"], capture_output=True, text=True,
                            check=False)  # fmt: skip
    if result.returncode != 0 or not KIT_HOST.exists():
        raise FrameError(f"building the host firmware failed: {(result.stderr or result.stdout)[-500:]}")
    return KIT_HOST


class HostBoard:
    """``async with HostBoard("robot", "robot-1", Path("var/demo/dev/robot-1")):`` - a board on a pty."""

    def __init__(self, kit: str, device_id: str, link: Path, *args: str) -> None:
        self.kit = kit
        self.device_id = device_id
        self.link = link
        self.args = args
        self.process: asyncio.subprocess.Process | None = None
        self._fds: tuple[int, int] | None = None

    async def __aenter__(self) -> Self:
        binary = await asyncio.get_running_loop().run_in_executor(None, build_firmware)
        master, slave = os.openpty()
        self._fds = (master, slave)
        tty.setraw(slave)
        self.process = await asyncio.create_subprocess_exec(
            str(binary), "--kit", self.kit, "--id", self.device_id, "--fd", str(master), *self.args,
            pass_fds=(master,), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        self.link.parent.mkdir(parents=True, exist_ok=True)
        staging = self.link.with_name(self.link.name + ".new")
        with contextlib.suppress(FileNotFoundError):
            staging.unlink()
        os.symlink(os.ttyname(slave), staging)
        os.replace(staging, self.link)
        log.info("event=host_board_plugged device=%s kit=%s port=%s", self.device_id, self.kit, self.link)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
        with contextlib.suppress(FileNotFoundError):
            self.link.unlink()
        for fd in self._fds or ():
            with contextlib.suppress(OSError):
                os.close(fd)
        self._fds = None


def simulate(device_id: str, device: Any, where: Simulation) -> AbstractAsyncContextManager[None] | None:
    """The demo's kit on a serial port: the reference firmware, host-built, behind a pty at the
    port the room file names (``transport = {type = "serial", port = "var/demo/dev/robot-1"}``)."""
    transport = device.transport
    kind = declared_kinds().get(device.kind)
    if kind is None or kind.serial_kit is None or transport.type != "serial" or not transport.port:
        return None
    return _plugged(HostBoard(kind.serial_kit, device_id, Path(transport.port), "--telemetry-ms", "500"))


@contextlib.asynccontextmanager
async def _plugged(board: HostBoard) -> AsyncIterator[None]:
    try:
        await board.__aenter__()
    except FrameError as err:
        raise SimulatorError(str(err)) from err
    try:
        yield
    finally:
        await board.__aexit__(None, None, None)
