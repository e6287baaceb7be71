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
from contextlib import AbstractAsyncContextManager
from typing import Any

from aiohttp import web

from classroom_hub.errors import AuthError
from classroom_hub.keys import ACCOUNTS, BROKER_URL, PACKAGES
from classroom_hub.mqtt_auth import hub_client_id
from classroom_hub.packages import declared_packages, resolve
from classroom_hub.runner import serve
from config.settings import HubSettings
from device_drivers.kinds import Simulate, Simulation, SimulatorError, declared_kinds

log = logging.getLogger(__name__)

DEMO_ACCOUNTS = (
    ("giaovien", "teacher", "Cô Lan"),
    ("kythuat", "technician", "Anh Minh"),
    ("thinghiem", "lab_lead", "Thầy Hùng"),
    ("studio", "studio_staff", "Chị Mai"),
    ("admin", "admin", "Quản trị"),
)


def demo_settings(settings: HubSettings) -> HubSettings:
    """The room as the demo runs it, apart from what a real ``run`` of it uses: each package's
    section as its declaration's ``demo_settings`` makes it (the pusher keeps only SQLite
    destinations, in the demo's folder)."""
    folder = settings.data_dir / "demo"
    mqtt = settings.mqtt.model_copy(update={"client_id": f"{hub_client_id(settings)}-demo"})
    update: dict[str, Any] = {"data_dir": folder, "mqtt": mqtt}
    for package in declared_packages().values():
        if package.settings is not None and package.demo_settings is not None:
            name = package.settings.name
            update[name] = package.demo_settings(getattr(settings, name), folder)
    return settings.model_copy(update=update)


async def run_demo(settings: HubSettings, *, password: str) -> None:
    settings = demo_settings(settings)

    @contextlib.asynccontextmanager
    async def simulated_room(app: web.Application, url: str) -> AsyncIterator[None]:
        await _demo_accounts(app, password)
        # Addresses the packages would rather the welcome printed (the display's pairs it at once).
        links: dict[str, str] = {}
        for package in app[PACKAGES]:
            if package.demo_links is not None:
                links |= await resolve(package.demo_links)(app, url)
        display = links.get("display", f"{url}/display")
        async with SimulatedRoom(settings, app[BROKER_URL]) as room:
            _print_welcome(url, room.count, password, settings, display)
            yield

    # Devices the hub drives itself first (the display): the hub then finds them at once
    # instead of at the next poll.
    early = Simulators()
    try:
        where = Simulation(settings.room.id, None, settings.data_dir)
        for device_id, device in settings.device_list():
            kind = declared_kinds().get(device.kind)
            simulate = kind.load_simulator() if kind is not None and kind.simulate_before_hub else None
            if simulate is not None:
                await early.start(device_id, device, simulate, where)
        await serve(settings, attach=simulated_room)
    finally:
        await early.close()


class Simulators:
    """Simulators the demo started; they stop together."""

    def __init__(self) -> None:
        self._running: list[AbstractAsyncContextManager[None]] = []

    async def start(self, device_id: str, device: Any, simulate: Simulate, where: Simulation) -> bool | None:
        """True: running; False: it could not start (logged); None: nothing to simulate for this device."""
        context = simulate(device_id, device, where)
        if context is None:
            return None
        try:
            await context.__aenter__()
        except (SimulatorError, OSError) as err:
            log.warning("event=demo_device_skipped device=%s reason=%r", device_id, str(err))
            return False
        self._running.append(context)
        return True

    async def close(self) -> None:
        running, self._running = self._running, []
        results = await asyncio.gather(*(c.__aexit__(None, None, None) for c in running), return_exceptions=True)
        for result in results:
            if isinstance(result, Exception):
                log.warning("event=demo_simulator_stop_failed error=%r", str(result))


async def _demo_accounts(app: web.Application, password: str) -> None:
    accounts = app[ACCOUNTS]
    loop = asyncio.get_running_loop()
    for username, role, name in DEMO_ACCOUNTS:
        with contextlib.suppress(AuthError):  # already there from an earlier run
            await loop.run_in_executor(None, accounts.add, username, password, role, name)


class SimulatedRoom:
    """A simulator for every configured device that has one, once the hub (and its broker) is up."""

    def __init__(self, settings: HubSettings, broker_url: str) -> None:
        self.settings = settings
        self.broker_url = broker_url
        self._simulators = Simulators()
        self.count = 0

    async def __aenter__(self) -> SimulatedRoom:
        where = Simulation(self.settings.room.id, self.broker_url, self.settings.data_dir)
        # A package may simulate a device in its own way (the kits' bridge: the reference
        # firmware on a pty for a kit on a serial port); otherwise the device's kind does.
        packages = [resolve(p.simulator) for p in declared_packages().values() if p.simulator is not None]
        for device_id, device in self.settings.device_list():
            kind = declared_kinds().get(device.kind)
            if kind is None or kind.simulate_before_hub:
                continue
            started = None
            for simulate in [*packages, kind.load_simulator()]:
                if simulate is not None and started is None:
                    started = await self._simulators.start(device_id, device, simulate, where)
            if started:
                self.count += 1
            elif started is None:
                log.info("event=demo_device_skipped device=%s transport=%s reason='no simulator for it'",
                         device_id, device.transport.type)  # fmt: skip
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._simulators.close()


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
