"""``classroom-hub demo``: the hub plus a simulated device for every device of the room file.

Any room file will do (``demo -c stem-lab.toml`` shows that room with simulated kits), so
nothing of the demo may land where a real ``run`` of the same file keeps or sends its data:
the demo accounts (whose password is printed on the screen), simulated readings and
learning records. :func:`demo_settings` gives the demo a folder of its own,
``<data_dir>/demo``, a client id of its own on the broker, and delivers to no central
database: only SQLite destinations, as files in that folder. A serial port that the room
file gives as a relative path (``dev/robot-1``, where the demo plugs a kit's pty) is made in
that folder too, never in the directory the demo was started from.

The demo rooms are ``config/examples/demo.toml`` (the classroom), ``demo-lab.toml`` and
``demo-studio.toml`` (``classroom-hub demo --room lab``). The welcome counts the room's devices
as ``/tech`` lists them, and names each one whose simulator could not start, with the reason
(a kit's firmware needs g++ to be built for this computer).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
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
    devices = [_ports_in(folder, device) for device in settings.devices]
    update: dict[str, Any] = {"data_dir": folder, "mqtt": mqtt, "devices": devices}
    for package in declared_packages().values():
        if package.settings is not None and package.demo_settings is not None:
            name = package.settings.name
            update[name] = package.demo_settings(getattr(settings, name), folder)
    return settings.model_copy(update=update)


def _ports_in(folder: Path, device: Any) -> Any:
    """The device with a relative serial port made inside ``folder`` (absolute ports as they are)."""
    transport = device.transport
    if transport.type != "serial" or not transport.port or Path(transport.port).is_absolute():
        return device
    port = str(folder / transport.port)
    return device.model_copy(update={"transport": transport.model_copy(update={"port": port})})


async def run_demo(settings: HubSettings, *, password: str) -> None:
    settings = demo_settings(settings)

    @contextlib.asynccontextmanager
    async def simulated_room(app: web.Application, url: str) -> AsyncIterator[None]:
        await _demo_accounts(app, password)
        # Addresses the packages would rather the welcome printed (the display's pairs it at once).
        links: dict[str, str] = {}
        for package in app[PACKAGES]:
            if package.demo_links is not None and package.is_needed(settings):
                links |= await resolve(package.demo_links)(app, url)
        async with SimulatedRoom(settings, app[BROKER_URL]) as room:
            text = welcome(url, early.outcome.merged(room.outcome), password, settings, links, app[PACKAGES])
            print(text, file=sys.stderr, flush=True)
            yield

    # Devices the hub drives itself first (the display): the hub then finds them at once
    # instead of at the next poll.
    early = Simulators()
    try:
        where = Simulation(settings.room.id, None, settings.data_dir)
        for device_id, device in settings.device_list():
            kind = declared_kinds().get(device.kind)
            simulate = kind.load_simulator() if kind is not None and kind.simulate_before_hub else None
            if simulate is not None and await early.start(device_id, device, simulate, where) is None:
                early.outcome.not_simulated.append(device_id)
        await serve(settings, attach=simulated_room)
    finally:
        await early.close()


@dataclass
class Outcome:
    """What the demo simulates of the room: each device simulated, failed (with why) or left alone."""

    simulated: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    not_simulated: list[str] = field(default_factory=list)

    def merged(self, other: Outcome) -> Outcome:
        return Outcome([*self.simulated, *other.simulated], self.failed | other.failed,
                       [*self.not_simulated, *other.not_simulated])  # fmt: skip


class Simulators:
    """Simulators the demo started; they stop together."""

    def __init__(self) -> None:
        self._running: list[AbstractAsyncContextManager[None]] = []
        self.outcome = Outcome()

    async def start(self, device_id: str, device: Any, simulate: Simulate, where: Simulation) -> bool | None:
        """True: running; False: it could not start (logged, and in ``outcome.failed`` with why);
        None: nothing to simulate for this device."""
        context = simulate(device_id, device, where)
        if context is None:
            return None
        try:
            await context.__aenter__()
        except (SimulatorError, OSError) as err:
            log.warning("event=demo_device_skipped device=%s reason=%r", device_id, str(err))
            self.outcome.failed[device_id] = str(err)
            return False
        self._running.append(context)
        self.outcome.simulated.append(device_id)
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

    @property
    def outcome(self) -> Outcome:
        return self._simulators.outcome

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
            if started is None:
                self.outcome.not_simulated.append(device_id)
                log.info("event=demo_device_skipped device=%s transport=%s reason='no simulator for it'",
                         device_id, device.transport.type)  # fmt: skip
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._simulators.close()


# The console's names of the pages packages declare (the page itself is in the user's language).
PAGE_TITLES = {"teacher": "Teacher", "join": "Tablets join at", "display": '86" display', "gradebook": "Gradebook",
               "tech": "Technician console", "lab": "STEM lab", "studio": "Studio", "admin": "Admin",
               "studio/book": "Studio booking"}  # fmt: skip


def welcome(url: str, outcome: Outcome, password: str, settings: HubSettings, links: dict[str, str],
            packages: list[Any]) -> str:  # fmt: skip
    """The demo's welcome: the room, its devices counted as /tech lists them (each one the demo
    could not simulate named with why), every page of the room with the account to open it."""
    room = settings.room
    total = len(settings.device_list())
    lines = [f"  Classroom hub demo: {room.name} ({room.kind}), {total} devices as /tech lists them, "
             f"{len(outcome.simulated)} of them simulated.", ""]  # fmt: skip
    for device_id, reason in outcome.failed.items():
        lines.insert(1, f"  NOT simulated: {device_id}: {reason}")
    if outcome.not_simulated:
        lines.insert(1, f"  No simulator for: {', '.join(outcome.not_simulated)} (they stay offline)")
    accounts = {role: username for username, role, _n in DEMO_ACCOUNTS}
    rows = [("Home / health", f"{url}/", "")]
    packages = [p for p in packages if p.is_needed(settings)]  # no /studio in a classroom
    for package in packages:
        for page in package.pages:
            who = next((accounts[r] for r in page.roles if r in accounts), "")
            address = links.get(page.name, f"{url}/{page.name}")
            rows.append((PAGE_TITLES.get(page.name, page.name), address, f"sign in as {who}" if who else ""))
    pages = {page.name for package in packages for page in package.pages}
    # Other addresses a package would rather the welcome printed (the studio's booking page for teachers).
    rows += [(PAGE_TITLES.get(name, name), address, "") for name, address in links.items() if name not in pages]
    rows += [("Health (JSON)", f"{url}/healthz", ""), ("Metrics", f"{url}/metrics", "")]
    lines += [f"    {title:<20}{address}   {who}".rstrip() for title, address, who in rows]
    accounts_text = ", ".join(f"{u} ({r})" for u, r, _n in DEMO_ACCOUNTS)
    lines += ["", f"  Accounts: {accounts_text}; password: {password}",
              f"  The demo's own data (accounts, lessons, readings): {settings.data_dir}", "  Stop with Ctrl-C.", ""]
    return "\n" + "\n".join(lines)
