"""Devices the hub drives itself over RS-232 or TCP (the 86" display), as members of the fleet.

For every configured device whose transport is ``serial`` or ``tcp`` and whose kind has a
driver (``driver_for(kind)``; the hub never imports a driver by name), this part builds the
driver from the device's table in the room file, starts it and asks its status every
``poll_interval_s``. Its state has one owner, its ``DeviceReport`` (report.py), which tells the
registry and the retained status on the bus together: an answer (a refusal included) puts the
device online with what it said (power, input, volume...; a command's result at once), a lost
link or silence (twice in a row) puts it offline with the reason, once per outage; a reply that
breaks the protocol (wrong checksum) is counted as rejected input.

Commands reach the device two ways, with the same result:
- directly, from the console and group commands (``FleetCommands.direct``);
- over MQTT, exactly like a device with its own agent: the hub answers ``.../cmd`` on the
  device's topic with ``.../reply``, and keeps its ``.../status`` (retained) up to date, so
  ``COMMANDS.send("display-86", "power", {"on": True})``, Node-RED or Home Assistant
  command a display as they command a headset.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from classroom_hub.bus.link import Message, MqttLink
from classroom_hub.bus.payloads import COMMAND
from classroom_hub.bus.topics import device_topic
from classroom_hub.errors import CommandFailed, CommandTimeout
from classroom_hub.fleet.commands import InvalidRequest
from classroom_hub.fleet.keys import FLEET
from classroom_hub.health import running
from classroom_hub.keys import COMMANDS, HEALTH, LINK, REGISTRY, REJECTIONS, SETTINGS
from classroom_hub.metrics import Config, Exposition
from classroom_hub.problems import describe
from classroom_hub.registry import DeviceRegistry
from classroom_hub.rejects import Rejections
from classroom_hub.wired.keys import WIRED
from classroom_hub.wired.report import DeviceReport
from device_drivers.base import (
    CommandRefused,
    Driver,
    DriverError,
    DriverTimeout,
    InvalidCommand,
    LinkError,
    ProtocolError,
)
from device_drivers.kinds import declared_kinds, driver_for

log = logging.getLogger(__name__)

WIRED_TRANSPORTS = ("serial", "tcp")
DEFAULT_POLL_S = 10.0


class WiredDevice:
    """One driver, its status poll, and its state (``DeviceReport``) in the registry and on the bus."""

    def __init__(
        self,
        device_id: str,
        driver: Driver,
        *,
        poll_interval_s: float,
        registry: DeviceRegistry,
        rejections: Rejections,
        link: MqttLink | None,
        room: str,
    ) -> None:
        self.device_id = device_id
        self.driver = driver
        self.poll_interval_s = poll_interval_s
        self._rejections = rejections
        self.report = DeviceReport(device_id, driver.kind, registry=registry, link=link, room=room,
                                   rejections=rejections)  # fmt: skip
        self.failures: Counter[str] = Counter()  # by error class, for /metrics
        self.polls = 0
        self._poll_soon = asyncio.Event()

    async def run(self) -> None:
        """Start the driver, then poll until cancelled. Never raises for the device's sake."""
        await self.driver.start()
        while True:
            await self.poll()
            # Until the next poll is due, or a command changed something the console shows.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_interval_s):
                    await self._poll_soon.wait()
            self._poll_soon.clear()

    async def poll(self) -> None:
        if "status" not in self.driver.commands:
            return
        self.polls += 1
        for attempt in (1, 2):
            try:
                status = await self.driver.execute("status", {})
            except DriverTimeout as err:
                # A panel misses a request now and then: ask once more (on a fresh connection)
                # before calling it an outage.
                if attempt == 1 and self.report.state != "offline":
                    self.failures[type(err).__name__] += 1
                    continue
                self._failed(err, "status poll")
                return
            except DriverError as err:
                self._failed(err, "status poll")
                return
            self.report.answered(status, replace=True)
            return

    async def execute(self, name: str, args: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Run one command; hub errors out (CommandFailed, CommandTimeout, InvalidRequest)."""
        try:
            async with asyncio.timeout(timeout):
                result = await self.driver.execute(name, args)
        except InvalidCommand as err:
            raise InvalidRequest(f"{self.device_id}: {err}") from err
        except TimeoutError as err:
            self._failed(DriverTimeout(f"no answer within {timeout:g} s"), name)
            raise CommandTimeout(f"{self.device_id}: no reply to {name} within {timeout:g} s") from err
        except DriverTimeout as err:
            self._failed(err, name)
            raise CommandTimeout(f"{self.device_id}: {err}") from err
        except DriverError as err:
            self._failed(err, name)
            raise CommandFailed(self.device_id, name, str(err)) from err
        # What the command set is now the device's state (power on -> power: true), at once;
        # the poll that follows confirms it with everything else the panel reports.
        self.report.answered(result, replace=name == "status")
        if name != "status":
            self._poll_soon.set()
        return result

    def _failed(self, err: DriverError, what: str) -> None:
        self.failures[type(err).__name__] += 1
        if isinstance(err, LinkError):
            self.report.unreachable(f"no connection ({what}): {err}")
        elif isinstance(err, DriverTimeout):
            self.report.unreachable(f"no answer ({what}): {err}")
        elif isinstance(err, CommandRefused):
            self.report.answered(error=f"refused ({what}): {err}")  # a NAK is an answer: it is there
        elif isinstance(err, ProtocolError):
            # The device is there but its bytes are wrong (checksum, framing): bad input.
            self._rejections.add(f"{self.device_id} ({what})", "bad_device_reply", str(err))
            self.report.trouble(f"bad reply ({what}): {err}")
        else:
            self.report.trouble(f"{what}: {err}")

    def went_away(self) -> None:
        """The hub stops: nobody polls the device any more, so say so on its retained status."""
        self.report.stopped()


class WiredDevices:
    """Every wired device of the room; the fleet's ``DirectRoute``."""

    def __init__(self, rejections: Rejections, link: MqttLink | None, room: str) -> None:
        self.devices: dict[str, WiredDevice] = {}
        self._rejections = rejections
        self._link = link
        self._room = room
        self._tasks: set[asyncio.Task[None]] = set()
        self.runs: list[asyncio.Task[None]] = []  # one per device: polls it, reconnects, reports
        self._unsubscribe: list[Any] = []

    def handles(self, device_id: str) -> bool:
        return device_id in self.devices

    async def execute(self, device_id: str, name: str, args: dict[str, Any], timeout: float) -> dict[str, Any]:
        return await self.devices[device_id].execute(name, args, timeout)

    def add(self, device: WiredDevice) -> None:
        self.devices[device.device_id] = device
        task = asyncio.create_task(device.run(), name=f"wired-{device.device_id}")
        self._tasks.add(task)
        self.runs.append(task)
        task.add_done_callback(self._ended)
        if self._link is not None:
            topic = device_topic(self._room, device.device_id, "cmd")
            self._unsubscribe.append(self._link.subscribe(topic, self._on_command))

    async def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for device in self.devices.values():
            device.went_away()
            try:
                await device.driver.stop()
            except DriverError as err:
                log.warning("event=driver_stop_failed device=%s error=%r", device.device_id, str(err))

    def _ended(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("event=wired_device_task_failed task=%s error=%r", task.get_name(), str(task.exception()))

    # --- commands over MQTT ------------------------------------------------------------

    def _on_command(self, message: Message) -> None:
        parts = message.topic.split("/")
        device = self.devices.get(parts[3]) if len(parts) == 5 else None
        if device is None:
            return
        try:
            command = COMMAND.validate_json(message.payload)
        except ValidationError as err:
            self._rejections.add(message.topic, "malformed_command", describe(err, root="payload", limit=1))
            return
        remaining = command.expires_at - time.time()
        if remaining <= 0:
            return  # the sender has given up already: acting now would surprise the room
        task = asyncio.create_task(self._answer(device, command.id, command.name, command.args, remaining))
        self._tasks.add(task)
        task.add_done_callback(self._ended)

    async def _answer(
        self, device: WiredDevice, command_id: str, name: str, args: dict[str, Any], timeout: float
    ) -> None:
        reply: dict[str, Any] = {"id": command_id, "ts": time.time()}
        try:
            reply |= {"ok": True, "result": await device.execute(name, args, timeout)}
        except (CommandFailed, CommandTimeout, InvalidRequest) as err:
            reply |= {"ok": False, "error": (err.error if isinstance(err, CommandFailed) else str(err))[:500]}
        if self._link is not None:
            self._link.publish(device_topic(self._room, device.device_id, "reply"), json.dumps(reply), qos=1)


def driver_options(device: Any) -> dict[str, Any]:
    """The device's table from the room file, as the driver's ``from_options`` reads it."""
    options: dict[str, Any] = device.model_dump(mode="json", exclude={"count", "id", "name", "group"})
    return options


def setup(app: web.Application) -> None:
    app.cleanup_ctx.append(drivers_part)


async def drivers_part(app: web.Application) -> AsyncIterator[None]:
    settings, registry = app[SETTINGS], app[REGISTRY]
    link = app.get(LINK)
    wired = WiredDevices(app[REJECTIONS], link, settings.room.id)
    for device_id, device in settings.device_list():
        if device.transport.type not in WIRED_TRANSPORTS:
            continue
        declared = declared_kinds().get(device.kind)
        if declared is not None and declared.driver is None:
            # Wired, but driven by the part made for it (a kit by the firmware bridge, a camera by
            # the studio), which reports it: nothing for this part to say.
            log.debug("event=wired_device_elsewhere device=%s kind=%s", device_id, device.kind)
            continue
        try:
            driver_class = driver_for(device.kind)
        except DriverError as err:
            log.info("event=wired_device_skipped device=%s kind=%s reason=%r", device_id, device.kind, str(err))
            continue
        try:
            driver = driver_class.from_options(device_id, driver_options(device))
        except DriverError as err:
            log.error("event=wired_device_misconfigured device=%s error=%r", device_id, str(err))
            registry.note_error(device_id, str(err))
            continue
        poll_s = float(getattr(device, "poll_interval_s", DEFAULT_POLL_S))
        wired.add(WiredDevice(device_id, driver, poll_interval_s=poll_s, registry=registry,
                              rejections=app[REJECTIONS], link=link, room=settings.room.id))  # fmt: skip
        log.info("event=wired_device_started device=%s kind=%s transport=%s", device_id, device.kind,
                 device.transport.type)  # fmt: skip
        if COMMANDS in app:
            app[COMMANDS].answered_by_hub.add(device_id)
    app[WIRED] = wired
    if FLEET in app:
        app[FLEET].commands.direct = wired
    app[HEALTH].parts["drivers"] = lambda: running(*wired.runs)  # an unreachable panel is its own news
    yield
    with contextlib.suppress(KeyError):
        if app[FLEET].commands.direct is wired:
            app[FLEET].commands.direct = None
    await wired.close()


async def metrics(app: Config, out: Exposition) -> None:
    """The wired devices' figures for ``/metrics`` (named in the package's declaration)."""
    if WIRED in app:
        wired = list(app[WIRED].devices.values())
        healths = [(w.device_id, w.driver.health()) for w in wired]
        out.add("driver_connected", "gauge", "1 when the wired device's link is open.",
                [({"device": d}, h.connected) for d, h in healths])
        out.add("driver_commands_total", "counter", "Requests to wired devices by result.",
                [({"device": d, "result": "ok"}, h.commands_ok) for d, h in healths]
                + [({"device": d, "result": "failed"}, h.commands_failed) for d, h in healths])
        failures = [({"device": w.device_id, "error": e}, n) for w in wired for e, n in sorted(w.failures.items())]
        out.add("driver_failures_total", "counter", "Failed requests to wired devices by error.", failures)
        out.add("driver_reconnects_total", "counter", "Reconnections to wired devices.",
                [({"device": d}, h.reconnects) for d, h in healths])
        out.add("driver_outages_total", "counter", "Times a wired device stopped answering (each outage once).",
                [({"device": w.device_id}, w.report.outages) for w in wired])
