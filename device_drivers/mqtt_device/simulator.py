"""A simulated MQTT device: its own client id, credentials and last will, like the real agent.

Subclasses say what the device reports (``status_fields``, ``readings``) and how it
answers commands (``handle``); the wire is the room's real topic tree.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Any

from pydantic import ValidationError

from classroom_hub.bus.link import Message, MqttLink, Will
from classroom_hub.bus.payloads import COMMAND, Command
from classroom_hub.bus.topics import device_topic
from classroom_hub.errors import contained
from device_drivers.kinds import Simulate, Simulation

log = logging.getLogger(__name__)


class CommandRejected(Exception):
    """The simulated device refuses a command; the text goes back in the reply."""


class SimulatedMqttDevice:
    kind = "device"
    firmware = "1.0.0"
    status_every_s = 15.0
    telemetry_every_s = 0.0  # 0: no telemetry
    # Chance per status period that the device drops off the network for a while.
    dropout_chance = 0.0

    def __init__(
        self,
        broker_url: str,
        room: str,
        device_id: str,
        *,
        username: str | None = None,
        password: str | None = None,
        seed: int | None = None,
    ) -> None:
        self.room = room
        self.device_id = device_id
        self.random = random.Random(seed if seed is not None else hash(device_id))
        self.battery = self.random.uniform(55, 100)
        self.charging = False
        self.commands_seen: list[Command] = []
        self._status_topic = device_topic(room, device_id, "status")
        self.link = MqttLink(
            broker_url,
            # A room's secured broker makes the user name the client id anyway (docs/devices.md).
            client_id=username or f"{self.kind}-{device_id}",
            username=username,
            password=password,
            will=Will(self._status_topic, json.dumps({"state": "offline"}).encode()),
            on_connect=self._announce,
            clean_session=True,
            manual_ack=False,
            reconnect_min_s=0.5,
            reconnect_max_s=5.0,
            keepalive_s=15,
        )
        self.link.subscribe(device_topic(room, device_id, "cmd"), self._on_command)

    # --- what a kind overrides -------------------------------------------------------

    @classmethod
    def options_from(cls, device: Any) -> dict[str, Any]:
        """What of the device's table in the room file this simulator takes (its sensors...)."""
        return {}

    def status_fields(self) -> dict[str, Any]:
        return {}

    def readings(self) -> list[dict[str, Any]]:
        return []

    async def handle(self, command: Command) -> dict[str, Any]:
        if command.name == "ping":
            return {"pong": True}
        raise CommandRejected(f"unknown command {command.name!r}")

    def step(self, dt: float) -> None:
        """Advance the simulated physics by ``dt`` seconds (battery drain by default)."""
        if self.charging:
            self.battery = min(100.0, self.battery + dt * 0.02)
            if self.battery >= 99.5:
                self.charging = False
        else:
            self.battery = max(0.0, self.battery - dt * 0.004 * self.random.uniform(0.5, 1.5))
            if self.battery < 8:
                self.charging = True  # the teacher plugs it in

    # --- running ---------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        return {
            "state": "online",
            "ts": time.time(),
            "kind": self.kind,
            "firmware": self.firmware,
            "battery": round(self.battery, 1),
            "charging": self.charging,
            **self.status_fields(),
        }

    def _announce(self) -> None:
        self.link.publish(self._status_topic, json.dumps(self.status()), qos=1, retain=True)

    async def run(self) -> None:
        """Live until cancelled; now and then drop off the network like a real device."""
        while True:
            link_task = asyncio.create_task(self.link.run(), name=f"sim-{self.device_id}")
            try:
                away_for = await self._live()
            except asyncio.CancelledError:
                with contained("simulator_close_failed", device=self.device_id):
                    await self.link.close(timeout=0.5)
                raise
            finally:
                link_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await link_task
            await asyncio.sleep(away_for)

    async def _live(self) -> float:
        """Publish status and telemetry; returns how long to stay away after a drop-out."""
        last = time.monotonic()
        next_status = 0.0
        next_telemetry = 0.0
        while True:
            now = time.monotonic()
            self.step(now - last)
            last = now
            if self.link.is_up:
                if now >= next_status:
                    self._announce()
                    next_status = now + self.status_every_s
                    if self.dropout_chance and self.random.random() < self.dropout_chance:
                        self.link.abort()
                        return self.random.uniform(10, 40)
                if self.telemetry_every_s and now >= next_telemetry:
                    readings = self.readings()
                    if readings:
                        payload = {"ts": time.time(), "readings": readings}
                        topic = device_topic(self.room, self.device_id, "telemetry")
                        self.link.publish(topic, json.dumps(payload), qos=1)
                    next_telemetry = now + self.telemetry_every_s
            await asyncio.sleep(min(0.5, self.telemetry_every_s or 0.5))

    def _on_command(self, message: Message) -> None:
        asyncio.get_running_loop().create_task(self._answer(message.payload))

    async def _answer(self, payload: bytes) -> None:
        try:
            command = COMMAND.validate_json(payload)
        except ValidationError as err:
            log.warning("event=sim_bad_command device=%s error=%r", self.device_id, str(err))
            return
        if command.expires_at < time.time():
            return  # too late to act: the hub has given up already
        self.commands_seen.append(command)
        reply: dict[str, Any] = {"id": command.id, "ts": time.time()}
        try:
            reply |= {"ok": True, "result": await self.handle(command)}
        except CommandRejected as err:
            reply |= {"ok": False, "error": str(err)}
        self.link.publish(device_topic(self.room, self.device_id, "reply"), json.dumps(reply), qos=1)
        self._announce()


def agent_simulator(cls: type[SimulatedMqttDevice]) -> Simulate:
    """The demo's simulator of a kind whose devices run an MQTT agent: one ``cls`` per device
    on an MQTT transport, with the device's own user name and password when it has them."""

    def simulate(device_id: str, device: Any, where: Simulation) -> AbstractAsyncContextManager[None] | None:
        if device.transport.type != "mqtt" or where.broker_url is None:
            return None
        options = cls.options_from(device)
        if device.transport.username:
            options["username"] = device.transport.username
            password = device.transport.password
            options["password"] = password.get_secret_value() if password else None
        return running(cls(where.broker_url, where.room, device_id, **options))

    return simulate


@contextlib.asynccontextmanager
async def running(device: SimulatedMqttDevice) -> AsyncIterator[None]:
    """The simulated device lives (its own task) for as long as the context lasts."""
    task = asyncio.create_task(device.run(), name=f"sim-{device.device_id}")
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
