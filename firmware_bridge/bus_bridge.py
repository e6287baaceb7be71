"""The firmware bridge on the bus: a kit on USB serial looks exactly like any MQTT device.

Each :class:`KitListener` callback becomes a message on the room's tree
(docs/serial-protocol.md §14, docs/devices.md)::

    IDENTIFY + link up/down  -> classroom/{room}/devices/{id}/status     retained, QoS 1
    TELEMETRY                -> classroom/{room}/devices/{id}/telemetry  readings with units, QoS 1
    EVENT, CONSOLE           -> classroom/{room}/devices/{id}/event      QoS 1
    .../cmd (from the hub)   -> KitSupervisor.command -> .../reply      QoS 1
    .../cmd "stats"          -> the board's counters and the hub's, {"board": {...}, "host": {...}}

Numbers and booleans of a TELEMETRY set (its parts merged by the link) become readings (true = 1, false = 0) with the
unit the kit profile fixes for the key (§11); text values (a robot's ``colour``) travel
beside the readings in a ``text`` object, since a reading is a number. A robot's
``battery`` also updates its retained status, where the registry and console read it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import ValidationError

from classroom_hub.bus.link import Message, MqttLink
from classroom_hub.bus.payloads import COMMAND, KEY_PATTERN
from classroom_hub.bus.topics import Channel, device_topic
from classroom_hub.errors import BusError
from classroom_hub.problems import describe
from classroom_hub.rejects import Rejections
from firmware_bridge.errors import CommandNacked, CommandUnanswered, FrameError, KitOffline, PayloadError
from firmware_bridge.kit import KitIdentity, LinkState
from firmware_bridge.link import STATS_COMMAND
from firmware_bridge.payload import Fields, Value
from firmware_bridge.supervisor import KitSupervisor

log = logging.getLogger(__name__)

# Units of each kit profile's TELEMETRY keys (docs/serial-protocol.md §11).
UNITS: dict[str, dict[str, str]] = {
    "vinaponics": {
        "ph": "pH", "water_temp": "°C", "do": "mg/L", "ec": "mS/cm", "tds": "ppm", "level": "%",
        "air_temp": "°C", "humidity": "%", "light": "lx",
    },
    "robot": {"motor_l": "%", "motor_r": "%", "distance": "cm", "speed_limit": "%", "battery": "%"},
}  # fmt: skip
_KEY = re.compile(KEY_PATTERN)
_ARGUMENT_HINT = "a number, true/false or text"


class BusBridge:
    """The :class:`KitListener` of every kit of the room, and the answerer of their commands."""

    def __init__(
        self,
        link: MqttLink,
        room: str,
        rejections: Rejections | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._link = link
        self._room = room
        self._rejections = rejections
        self._clock = clock
        self.kits: dict[str, KitSupervisor] = {}
        self.identities: dict[str, KitIdentity] = {}
        self.online: set[str] = set()
        self.counters: Counter[str] = Counter()
        self._battery: dict[str, float] = {}
        self._unsubscribe: list[Callable[[], None]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = False

    # -- owner's side ----------------------------------------------------------------------

    def attach(self, device_id: str, supervisor: KitSupervisor) -> None:
        """Answer ``.../cmd`` of ``device_id`` with ``supervisor``."""
        self.kits[device_id] = supervisor
        topic = device_topic(self._room, device_id, "cmd")
        self._unsubscribe.append(self._link.subscribe(topic, self._on_command))

    def stopping(self) -> None:
        """The hub is stopping: the offline statuses that follow say so."""
        self._stopping = True

    async def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- KitListener -----------------------------------------------------------------------

    def on_hello(self, kit: KitIdentity) -> None:
        self.identities[kit.device_id] = kit
        log.info("event=kit_hello device=%s kind=%s firmware=%s port=%s", kit.device_id, kit.kind, kit.firmware,
                 kit.port)  # fmt: skip

    def on_state(self, device_id: str, state: LinkState) -> None:
        kit = self.identities.get(device_id)
        status: dict[str, Any] = {"state": state.value, "ts": self._clock()}
        if kit is not None:
            status["kind"] = kit.kind
            status["firmware"] = kit.firmware[:64]
        if state == LinkState.ONLINE:
            self.online.add(device_id)
            if kit is not None:
                status |= {"port": kit.port, "protocol": kit.protocol, "commands": list(kit.commands),
                           "outputs": list(kit.outputs)}  # fmt: skip
            if device_id in self._battery:
                status["battery"] = self._battery[device_id]
        else:
            self.online.discard(device_id)
            supervisor = self.kits.get(device_id)
            reason = supervisor.offline_reason if supervisor is not None else None
            status["error"] = "hub stopped" if self._stopping else (reason or "serial link lost")
        self._publish(device_id, "status", status, retain=True)

    def on_telemetry(self, device_id: str, readings: Fields) -> None:
        self.counters["telemetry_frames"] += 1
        kit = self.identities.get(device_id)
        units = UNITS.get(kit.kind, {}) if kit is not None else {}
        now = self._clock()
        out: list[dict[str, Any]] = []
        text: dict[str, str] = {}
        for key, value in readings.items():
            if not _KEY.match(key):
                self.counters["skipped_keys"] += 1
                continue
            if isinstance(value, str):
                text[key] = value
                continue
            reading: dict[str, Any] = {"key": key, "value": float(value)}
            unit = units.get(key)
            if unit is not None:
                reading["unit"] = unit
            out.append(reading)
        if not out:
            return
        message: dict[str, Any] = {"ts": now, "readings": out}
        if text:
            message["text"] = text
        self.counters["readings"] += len(out)
        self._publish(device_id, "telemetry", message)
        battery = readings.get("battery")
        if isinstance(battery, int | float) and not isinstance(battery, bool):
            self._battery_changed(device_id, float(battery))

    def on_event(self, device_id: str, name: str, fields: Fields) -> None:
        self.counters["events"] += 1
        if not _KEY.match(name):
            self._reject(device_id, "bad_event_name", f"event name {name!r} is not {KEY_PATTERN}")
            return
        self._publish(device_id, "event", {"type": name, "ts": self._clock(), "data": dict(fields)})

    def on_console(self, device_id: str, text: str) -> None:
        self.counters["console"] += 1
        self._publish(device_id, "event", {"type": "console", "ts": self._clock(), "data": {"text": text}})

    # -- commands --------------------------------------------------------------------------

    def _on_command(self, message: Message) -> None:
        parts = message.topic.split("/")
        supervisor = self.kits.get(parts[3]) if len(parts) == 5 else None
        if supervisor is None:
            return
        try:
            command = COMMAND.validate_json(message.payload)
        except ValidationError as err:
            self._reject(parts[3], "malformed_command", describe(err, root="payload", limit=1))
            return
        remaining = command.expires_at - self._clock()
        if remaining <= 0:
            self.counters["expired_commands"] += 1
            return  # the sender gave up already: a robot must not move minutes late
        task = asyncio.create_task(
            self._answer(parts[3], supervisor, command.id, command.name, command.args, remaining),
            name=f"kit-command {parts[3]} {command.name}",
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(
        self,
        device_id: str,
        supervisor: KitSupervisor,
        command_id: str,
        name: str,
        args: Mapping[str, Any],
        remaining: float,
    ) -> None:
        self.counters["commands"] += 1
        reply: dict[str, Any] = {"id": command_id}
        try:
            async with asyncio.timeout(remaining):
                if name == STATS_COMMAND:  # both ends of the line, not just the board's ACK
                    result: Mapping[str, Any] = await supervisor.stats()
                else:
                    result = await supervisor.command(name, tlv_arguments(args))
            reply |= {"ok": True, "result": dict(result)}
        except CommandNacked as err:
            reply |= {"ok": False, "error": err.reason, "code": err.nack_code}
        except CommandUnanswered:
            reply |= {"ok": False, "error": "no answer from the kit (serial line or board down)"}
        except KitOffline:
            reply |= {"ok": False, "error": "kit offline (not connected to the hub)"}
        except TimeoutError:
            return  # the sender's deadline passed: it raised CommandTimeout already
        except FrameError as err:  # PayloadError, LinkLost while waiting
            reply |= {"ok": False, "error": str(err)[:500]}
        if not reply["ok"]:
            self.counters["command_errors"] += 1
        reply["ts"] = self._clock()
        self._publish(device_id, "reply", reply)

    # -- helpers ---------------------------------------------------------------------------

    def _battery_changed(self, device_id: str, battery: float) -> None:
        battery = max(0.0, min(100.0, battery))
        previous = self._battery.get(device_id)
        self._battery[device_id] = battery
        if previous is not None and abs(previous - battery) < 1.0:
            return
        if device_id in self.online:
            self._publish(device_id, "status", {"state": "online", "ts": self._clock(), "battery": battery},
                          retain=True)  # fmt: skip

    def _publish(self, device_id: str, channel: Channel, body: dict[str, Any], *, retain: bool = False) -> None:
        topic = device_topic(self._room, device_id, channel)
        try:
            self._link.publish(topic, json.dumps(body, ensure_ascii=False), qos=1, retain=retain)
        except BusError as err:
            self.counters["publish_errors"] += 1
            log.warning("event=kit_publish_failed topic=%s error=%r", topic, str(err))

    def _reject(self, device_id: str, reason: str, detail: str) -> None:
        if self._rejections is not None:
            self._rejections.add(f"serial {device_id}", reason, detail)


def tlv_arguments(args: Mapping[str, Any]) -> dict[str, Value]:
    """JSON command arguments as TLV values; anything but a number, bool or text is refused."""
    out: dict[str, Value] = {}
    for key, value in args.items():
        if not isinstance(value, bool | int | float | str):
            raise PayloadError(f"argument {key!r}: {type(value).__name__} cannot go to a kit, give {_ARGUMENT_HINT}")
        out[key] = value
    return out
