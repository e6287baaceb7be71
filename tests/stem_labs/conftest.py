"""A STEM lab on real parts: the host-built kit firmware on ptys (a Vinaponics node whose
sensors a test can pin, robots), the hub with its firmware bridge and labs, real Mosquitto."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from classroom_hub.app import REGISTRY
from stem_labs.keys import LAB
from stem_labs.lab import Lab
from tests.conftest import RunningHub, add_user, room_settings, run_hub, wait_for
from tests.firmware_bridge.conftest import Board, Firmware, firmware  # noqa: F401  (the session fixture)

FAST = ("--heartbeat-ms", "100")


class SimBoard(Board):
    """A board whose simulated sensors the test sets: ``pin("ph", 5.8)``, ``pin("ph", None)``."""

    async def _start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            str(self._binary), "--kit", self._kit, "--fd", str(self._master), "--sim-stdin", *self._args,
            pass_fds=(self._master,), stdin=asyncio.subprocess.PIPE,
        )  # fmt: skip

    def pin(self, key: str, value: float | None) -> None:
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write(f"{key} {'-' if value is None else value}\n".encode())

    async def _stop(self) -> None:
        if self.process is not None and self.process.stdin is not None:
            self.process.stdin.close()
        await super()._stop()


@dataclass
class LabRoom:
    hub: RunningHub
    node: SimBoard
    robots: list[SimBoard]
    tmp: Path
    session: aiohttp.ClientSession | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def lab(self) -> Lab:
        return self.hub.app[LAB]

    async def login(self, role: str = "lab_lead", username: str | None = None) -> aiohttp.ClientSession:
        """An HTTP session logged in through the real form."""
        username = username or role.replace("_", "")
        password = await add_user(self.hub, username, role)
        session = aiohttp.ClientSession(self.hub.url, cookie_jar=aiohttp.CookieJar(unsafe=True))
        async with session.post("/login", data={"username": username, "password": password, "next": "/"},
                                allow_redirects=False) as response:  # fmt: skip
            assert response.status == 302, await response.text()
        self.session = session
        return session

    async def online(self, *device_ids: str, timeout: float = 8.0) -> None:
        registry = self.hub.app[REGISTRY]

        def all_online() -> bool:
            return all((r := registry.get(d)) is not None and r.state == "online" and r.firmware for d in device_ids)

        await wait_for(all_online, timeout=timeout)

    async def kit_value(self, key: str, check: Callable[[float], bool], timeout: float = 5.0) -> None:
        kit = self.lab.kits["vina-1"]

        def holds() -> bool:
            value = kit.value(key)
            return value is not None and check(value)

        await wait_for(holds, timeout=timeout)

    async def next_report(self, timeout: float = 3.0) -> None:
        """Until the node has reported once more (its next telemetry frame has been applied)."""
        kit = self.lab.kits["vina-1"]
        seen = max((r.ts for r in kit.readings.values()), default=0.0)
        await wait_for(lambda: max((r.ts for r in kit.readings.values()), default=0.0) > seen, timeout=timeout)


def serial(port: Path) -> dict[str, Any]:
    return {"type": "serial", "port": str(port)}


@pytest.fixture
def lab_room(
    tmp_path: Path, system_mosquitto_url: str, firmware: Firmware  # noqa: F811
) -> Callable[..., Awaitable[contextlib.AbstractAsyncContextManager[LabRoom]]]:
    """``async with await lab_room(robots=4, node_args=(...)) as room:`` - boards plugged, hub running."""

    async def make(*, robots: int = 0, node_args: tuple[str, ...] = ("--telemetry-ms", "100"),
                   robot_args: tuple[str, ...] = ("--telemetry-ms", "100")) -> Any:  # fmt: skip
        @contextlib.asynccontextmanager
        async def room() -> AsyncIterator[LabRoom]:
            boards: list[SimBoard] = []
            session: aiohttp.ClientSession | None = None
            try:
                node = SimBoard(firmware.kit_host, "vinaponics", ("--id", "vina-1", *FAST, *node_args))
                boards.append(node)
                devices: list[dict[str, Any]] = [{"kind": "sensor_node", "id": "vina-1", "name": "Bể cá 1",
                                                  "transport": serial(await _plug(node, tmp_path / "ttyVINA"))}]
                fleet = []
                for n in range(1, robots + 1):
                    robot = SimBoard(firmware.kit_host, "robot", ("--id", f"robot-{n}", "--seed", str(n), *FAST,
                                                                  *robot_args))  # fmt: skip
                    boards.append(robot)
                    fleet.append(robot)
                    devices.append({"kind": "robot", "id": f"robot-{n}", "group": "robotics",
                                    "transport": serial(await _plug(robot, tmp_path / f"ttyROBOT{n}"))})  # fmt: skip
                settings = room_settings(tmp_path, system_mosquitto_url, devices=devices)
                async with run_hub(settings) as hub:
                    lab_room = LabRoom(hub, node, fleet, tmp_path)
                    try:
                        yield lab_room
                    finally:
                        session = lab_room.session
                        if session is not None:
                            await session.close()
            finally:
                for board in boards:
                    if board.process is not None and board.process.returncode is None:
                        with contextlib.suppress(ProcessLookupError):
                            board.thaw()
                    await board.unplug()

        return room()

    return make


async def _plug(board: SimBoard, link: Path) -> Path:
    os.symlink(await board.plug(), link)
    return link
