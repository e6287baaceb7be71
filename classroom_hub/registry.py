"""Every device of the room: what it is, whether it is there, and how it is doing.

Driven by the bus: a retained ``status`` (and the device's last will) sets the state,
any message counts as a sign of life, and a device silent past its timeout goes
offline. Changes are events that other parts (console, alarms, store) subscribe to.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from classroom_hub.bus.payloads import DeviceStatus
from classroom_hub.clock import SYSTEM, Clock
from classroom_hub.events import Listeners

log = logging.getLogger(__name__)

DeviceState = Literal["unknown", "online", "offline"]
# Devices not in the room file: a student's script can invent ids by the thousand, so the
# hub remembers only the most recent ones and logs them one line per quiet period at most.
UNKNOWN_KEEP = 256
UNKNOWN_LOG_EVERY_S = 60.0


@dataclass
class DeviceRecord:
    id: str
    kind: str
    name: str | None = None
    group: str | None = None
    transport: str = "mqtt"
    timeout_s: float = 90.0
    state: DeviceState = "unknown"
    state_since: float = field(default_factory=time.time)
    last_seen: float | None = None
    battery: float | None = None
    charging: bool | None = None
    firmware: str | None = None
    rssi: int | None = None
    temperature: float | None = None
    last_error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # The hub itself talks to this device (a display on RS-232/TCP, a PTZ camera): its state is
    # the hub's verdict (``apply_status(..., from_hub=True)``), never a status read off the bus.
    driven: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class DeviceChange:
    device_id: str
    old_state: DeviceState
    new_state: DeviceState
    reason: str
    ts: float


@dataclass
class UnknownDevice:
    device_id: str
    first_seen: float
    last_seen: float
    messages: int = 1
    last_topic: str = ""


Listener = Callable[[DeviceChange], None]


class DeviceRegistry:
    def __init__(
        self, unknown_keep: int = UNKNOWN_KEEP, unknown_log_every_s: float = UNKNOWN_LOG_EVERY_S, clock: Clock = SYSTEM
    ) -> None:
        self.clock = clock
        self._devices: dict[str, DeviceRecord] = {}
        # The most recently heard last; the one heard longest ago goes first when full.
        self.unknown: OrderedDict[str, UnknownDevice] = OrderedDict()
        self.unknown_forgotten = 0  # unknown ids pushed out of the table
        self._unknown_keep = unknown_keep
        self._unknown_log_every_s = unknown_log_every_s
        self._unknown_quiet_until = 0.0  # no line per new unknown device before this time
        self._unknown_unlogged = 0  # new unknown devices since the last line, not logged one by one
        self._changes: Listeners[[DeviceChange]] = Listeners("device_listener_failed")
        self._updates: Listeners[[DeviceRecord]] = Listeners("device_update_listener_failed")

    # --- configuration ---------------------------------------------------------------

    def add(self, record: DeviceRecord) -> None:
        self._devices[record.id] = record

    def get(self, device_id: str) -> DeviceRecord | None:
        return self._devices.get(device_id)

    def __contains__(self, device_id: object) -> bool:
        return device_id in self._devices

    def __len__(self) -> int:
        return len(self._devices)

    def all(self) -> Iterable[DeviceRecord]:
        return self._devices.values()

    def relabel(self, device_id: str, name: str | None, group: str | None) -> None:
        """Show the device with this name and in this group (the admin's overlay on the room
        file, classroom_hub/admin/devices.py): pages and group commands follow at once."""
        record = self._devices[device_id]
        if (record.name, record.group) != (name, group):
            record.name, record.group = name, group
            self._updates.emit(record)

    def by_kind(self, kind: str) -> list[DeviceRecord]:
        return [d for d in self._devices.values() if d.kind == kind]

    def counts(self) -> dict[str, dict[str, int]]:
        """{kind: {state: n}} for health pages and metrics."""
        out: dict[str, dict[str, int]] = {}
        for d in self._devices.values():
            per = out.setdefault(d.kind, {"online": 0, "offline": 0, "unknown": 0})
            per[d.state] += 1
        return out

    # --- events ----------------------------------------------------------------------

    def on_change(self, listener: Listener) -> Callable[[], None]:
        """``listener`` runs on every state change; returns the function that removes it."""
        return self._changes.add(listener)

    def on_update(self, listener: Callable[[DeviceRecord], None]) -> Callable[[], None]:
        """``listener`` runs whenever a device's status fields change (battery, firmware, ...)."""
        return self._updates.add(listener)

    def seen(self, device_id: str, now: float | None = None) -> None:
        """Any message from the device: it is alive. Hot path: keep it cheap."""
        record = self._devices[device_id]
        record.last_seen = now or self.clock.time()
        if record.state != "online" and not record.driven:  # a driven device's state is the hub's verdict
            self._set_state(record, "online", "message received")

    def drive(self, device_id: str) -> None:
        """The hub talks to this device itself: from now on only its own statuses count."""
        self._devices[device_id].driven = True

    def apply_status(self, device_id: str, status: DeviceStatus, *, from_hub: bool = False) -> None:
        """A device's status: from the bus (its agent, its last will), or the hub's own verdict.

        For a device the hub drives, a status from the bus is ignored: it is the hub's own
        retained status coming back (late, possibly older than the hub's latest verdict) or
        someone else's claim about a device only the hub talks to.
        """
        record = self._devices[device_id]
        if record.driven and not from_hub:
            return
        record.last_seen = self.clock.time()
        for name in ("battery", "charging", "firmware", "rssi", "temperature"):
            value = getattr(status, name)
            if value is not None:
                setattr(record, name, value)
        recovered = status.state == "online" and record.state != "online"
        if from_hub or status.error is not None:
            record.last_error = status.error  # the hub's verdict is the whole truth: None clears
        elif recovered:
            record.last_error = None  # what went wrong before the device came back is history
        if status.model_extra:
            record.extra.update(status.model_extra)
        # An offline status without an error is a device's last will; with one, it says why.
        reason = (status.error or "last will") if status.state == "offline" else "status"
        self._set_state(record, status.state, reason)
        self._updates.emit(record)

    def note_error(self, device_id: str, error: str) -> None:
        record = self._devices.get(device_id)
        if record is not None:
            record.last_error = error
            self._updates.emit(record)

    def note_unknown(self, device_id: str, topic: str, now: float | None = None) -> bool:
        """A device not in the room file published; returns True when it is new to the table."""
        now = self.clock.time() if now is None else now
        known = self.unknown.get(device_id)
        if known is not None:
            known.last_seen, known.last_topic = now, topic
            known.messages += 1
            self.unknown.move_to_end(device_id)
            return False
        self.unknown[device_id] = UnknownDevice(device_id, now, now, 1, topic)
        if len(self.unknown) > self._unknown_keep:
            self.unknown.popitem(last=False)
            self.unknown_forgotten += 1
        self.summarise_unknown(now)
        if now >= self._unknown_quiet_until:
            log.warning("event=unknown_device device=%s topic=%s action=ignored", device_id, topic)
            self._unknown_quiet_until = now + self._unknown_log_every_s
        else:
            self._unknown_unlogged += 1
        return True

    def summarise_unknown(self, now: float | None = None) -> None:
        """Once the quiet period is over: one line for the new unknown devices not logged one by one."""
        now = self.clock.time() if now is None else now
        if self._unknown_unlogged and now >= self._unknown_quiet_until:
            log.warning(
                "event=unknown_devices new=%d within_s=%g remembered=%d forgotten=%d action=ignored",
                self._unknown_unlogged, self._unknown_log_every_s, len(self.unknown), self.unknown_forgotten,
            )  # fmt: skip
            self._unknown_unlogged = 0
            self._unknown_quiet_until = now + self._unknown_log_every_s

    def expire(self, now: float | None = None) -> list[DeviceRecord]:
        """Mark devices silent past their timeout offline; returns them."""
        now = now or self.clock.time()
        expired = []
        for record in self._devices.values():
            if record.driven:
                continue  # the hub asks it and says when it stops answering
            if record.state == "online" and record.last_seen is not None and now - record.last_seen > record.timeout_s:
                self._set_state(record, "offline", f"silent for {now - record.last_seen:.0f} s")
                expired.append(record)
        return expired

    async def watch_timeouts(self, interval_s: float = 1.0) -> None:
        """Run as a task: silence has no message of its own, so a timer stands in for one."""
        while True:
            await self.clock.sleep(interval_s)
            self.expire()
            self.summarise_unknown()  # a flood that stopped still gets its summary line

    def _set_state(self, record: DeviceRecord, state: DeviceState, reason: str) -> None:
        old = record.state
        if old == state:
            return
        record.state = state
        record.state_since = self.clock.time()
        change = DeviceChange(record.id, old, state, reason, record.state_since)
        log.info("event=device_state device=%s kind=%s from=%s to=%s reason=%r",
                 record.id, record.kind, old, state, reason)  # fmt: skip
        self._changes.emit(change)
