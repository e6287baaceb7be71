"""``classroom-hub demo``: the hub plus a simulated device for every device of the room file.

Any room file will do (``demo -c stem-lab.toml`` shows that room with simulated kits), so
nothing of the demo may land where a real ``run`` of the same file keeps or sends its data:
the demo accounts (whose password is printed on the screen), simulated readings and
learning records. :func:`demo_settings` gives the demo a folder of its own,
``<data_dir>/demo``, a client id of its own on the broker, and delivers to no central
database: only SQLite destinations, as files in that folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from classroom_hub.errors import AuthError
from classroom_hub.keys import ACCOUNTS, BROKER_URL
from classroom_hub.mqtt_auth import hub_client_id
from classroom_hub.runner import serve
from classroom_hub.web.display_routes import pairing_link
from config.settings import Display, HubSettings, SensorNode, TcpTransport

log = logging.getLogger(__name__)

DEMO_ACCOUNTS = (
    ("giaovien", "teacher", "Cô Lan"),
    ("kythuat", "technician", "Anh Minh"),
    ("thinghiem", "lab_lead", "Thầy Hùng"),
    ("studio", "studio_staff", "Chị Mai"),
    ("admin", "admin", "Quản trị"),
)


def demo_settings(settings: HubSettings) -> HubSettings:
    """The room as the demo runs it, apart from what a real ``run`` of it uses."""
    folder = settings.data_dir / "demo"
    central = settings.central
    skipped = [d.name for d in central.destination_list() if d.kind != "sqlite"]
    if skipped:
        log.warning("event=demo_destinations_skipped names=%s reason='simulated records stay in %s'",
                    ",".join(skipped), folder)  # fmt: skip
    own_files = [d.model_copy(update={"path": folder / f"{d.name}.db"}) for d in central.destinations
                 if d.kind == "sqlite"]  # fmt: skip
    central = central.model_copy(update={"destinations": own_files, "postgres_dsn": None, "xapi_url": None})
    mqtt = settings.mqtt.model_copy(update={"client_id": f"{hub_client_id(settings)}-demo"})
    return settings.model_copy(update={"data_dir": folder, "central": central, "mqtt": mqtt})


async def run_demo(settings: HubSettings, *, password: str) -> None:
    settings = demo_settings(settings)

    @contextlib.asynccontextmanager
    async def simulated_room(app: web.Application, url: str) -> AsyncIterator[None]:
        await _demo_accounts(app, password)
        # The display page shows the class code only once paired: the demo's link pairs it at once.
        display = await pairing_link(app, url, "demo", "demo", ttl_s=12 * 3600, uses=20)
        async with SimulatedRoom(settings, app[BROKER_URL]) as room:
            _print_welcome(url, room.count, password, settings, display)
            yield

    # The displays first: the hub then finds its panel at once instead of at the next poll.
    async with contextlib.AsyncExitStack() as stack:
        for device_id, device in settings.device_list():
            if isinstance(device, Display) and isinstance(device.transport, TcpTransport):
                await stack.enter_async_context(_simulated_display(device_id, device))
        await serve(settings, attach=simulated_room)


@contextlib.asynccontextmanager
async def _simulated_display(device_id: str, device: Display) -> AsyncIterator[None]:
    from device_drivers.display.simulator import PanelTcpServer, SimulatedPanel

    transport = device.transport
    assert isinstance(transport, TcpTransport)
    server = PanelTcpServer(SimulatedPanel(device.protocol, device.display_id))
    try:
        await server.start(transport.host, transport.port)
    except OSError as err:
        log.warning("event=demo_display_skipped device=%s error=%r", device_id, str(err))
        yield
        return
    log.info("event=demo_display device=%s protocol=%s tcp=%s:%d", device_id, device.protocol, transport.host,
             transport.port)  # fmt: skip
    try:
        yield
    finally:
        await server.close()


async def _demo_accounts(app: web.Application, password: str) -> None:
    accounts = app[ACCOUNTS]
    loop = asyncio.get_running_loop()
    for username, role, name in DEMO_ACCOUNTS:
        with contextlib.suppress(AuthError):  # already there from an earlier run
            await loop.run_in_executor(None, accounts.add, username, password, role, name)


class SimulatedRoom:
    """Starts a simulator per configured device; each is a task owned here."""

    def __init__(self, settings: HubSettings, broker_url: str) -> None:
        self.settings = settings
        self.broker_url = broker_url
        self._tasks: list[asyncio.Task[None]] = []
        self._boards = contextlib.AsyncExitStack()  # serial kits: host-built firmware on a pty
        self.count = 0

    async def __aenter__(self) -> SimulatedRoom:
        from device_drivers.simulators import mqtt_simulator

        for device_id, device in self.settings.device_list():
            if device.transport.type == "serial" and device.transport.port and await self._board(device_id, device):
                continue
            if device.transport.type != "mqtt":
                log.info("event=demo_device_skipped device=%s transport=%s reason='no simulator wired yet'",
                         device_id, device.transport.type)  # fmt: skip
                continue
            options: dict[str, Any] = {}
            if isinstance(device, SensorNode) and device.sensors:
                options["sensors"] = device.sensors
            if device.transport.username:
                options["username"] = device.transport.username
                pw = device.transport.password
                options["password"] = pw.get_secret_value() if pw else None
            sim = mqtt_simulator(device.kind, self.broker_url, self.settings.room.id, device_id, **options)
            if sim is None:
                continue
            self._tasks.append(asyncio.create_task(sim.run(), name=f"sim-{device_id}"))
            self.count += 1
        return self

    async def _board(self, device_id: str, device: Any) -> bool:
        from pathlib import Path

        from firmware_bridge.errors import FrameError
        from firmware_bridge.host_board import BOARD_KINDS, HostBoard

        if device.kind not in BOARD_KINDS:
            return False
        try:
            board = HostBoard(BOARD_KINDS[device.kind], device_id, Path(device.transport.port), "--telemetry-ms", "500")
            await self._boards.enter_async_context(board)
        except (FrameError, OSError) as err:
            log.warning("event=demo_device_skipped device=%s reason=%r", device_id, str(err))
            return False
        self.count += 1
        return True

    async def __aexit__(self, *exc: object) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._boards.aclose()


def _print_welcome(url: str, devices: int, password: str, settings: HubSettings, display: str) -> None:
    accounts = ", ".join(f"{u} ({r})" for u, r, _n in DEMO_ACCOUNTS)
    print(
        f"""
  Classroom hub demo is running with {devices} simulated devices.

    Home / health       {url}/
    Teacher             {url}/teacher
    Tablets join at     {url}/join
    86" display         {display}
    Technician console  {url}/tech
    Health (JSON)       {url}/healthz
    Metrics             {url}/metrics

  Accounts: {accounts}; password: {password}
  The demo's own data (accounts, lessons, readings): {settings.data_dir}
  Stop with Ctrl-C.
""",
        file=sys.stderr,
        flush=True,
    )
