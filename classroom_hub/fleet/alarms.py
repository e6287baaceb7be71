"""What the technician must know about: a device offline, a battery running out, a headset
overheating, a command that failed. Raised and cleared from the registry's events, acknowledged
by a person, kept in the store's ``alarms`` table so the history survives a restart.

One alarm per device and kind is active at a time. An alarm clears itself when its cause
goes away (the device is back, charging, cooled down, or a later command worked);
acknowledging says "I have seen it" and does not clear it.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal, Protocol

from classroom_hub.registry import DeviceChange, DeviceRecord, DeviceRegistry

log = logging.getLogger(__name__)

AlarmKind = Literal["offline", "low_battery", "overheating", "command_failed"]
ALARM_KINDS: tuple[AlarmKind, ...] = ("offline", "low_battery", "overheating", "command_failed")


@dataclass
class Alarm:
    id: str
    device_id: str
    kind: AlarmKind
    detail: str
    raised_at: float
    cleared_at: float | None = None
    acknowledged_at: float | None = None
    acknowledged_by: str | None = None

    @property
    def active(self) -> bool:
        return self.cleared_at is None

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "active": self.active}


@dataclass(frozen=True)
class AlarmLimits:
    """Thresholds with a gap between raise and clear, so a value hovering at the limit does not flap."""

    low_battery_pct: float = 15.0
    battery_ok_pct: float = 20.0
    overheating_c: float = 45.0  # standalone headsets throttle around here
    cooled_c: float = 42.0
    offline_grace_s: float = 30.0  # headsets nap and wander out of Wi-Fi for a few seconds


class AlarmJournal(Protocol):
    """Where alarms are kept (classroom_hub/fleet/logbook.py)."""

    def save(self, alarm: Alarm) -> None: ...


AlarmListener = Callable[[Alarm], None]


class Alarms:
    def __init__(
        self, registry: DeviceRegistry, journal: AlarmJournal | None = None, limits: AlarmLimits | None = None
    ) -> None:
        self._registry = registry
        self._journal = journal
        self.limits = limits or AlarmLimits()
        self._active: dict[tuple[str, str], Alarm] = {}
        self._listeners: list[AlarmListener] = []
        self._removers: list[Callable[[], None]] = []
        self._pending_offline: dict[str, asyncio.TimerHandle] = {}
        self.raised: dict[str, int] = dict.fromkeys(ALARM_KINDS, 0)  # for /metrics

    # --- lifecycle -------------------------------------------------------------------

    def start(self, still_active: Iterable[Alarm] = ()) -> None:
        """Take back the alarms that were active when the hub stopped, then follow the registry."""
        for alarm in still_active:
            self._active[(alarm.device_id, alarm.kind)] = alarm
        self._removers = [self._registry.on_change(self._on_change), self._registry.on_update(self._on_update)]
        for record in self._registry.all():  # states known before we started listening
            if record.state == "offline":
                self._offline(record.id, "offline when the hub started")
            self._on_update(record)

    def close(self) -> None:
        for remove in self._removers:
            remove()
        self._removers = []
        for handle in self._pending_offline.values():
            handle.cancel()
        self._pending_offline.clear()

    def on_change(self, listener: AlarmListener) -> Callable[[], None]:
        """``listener`` runs when an alarm is raised, cleared or acknowledged; returns its remover."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    # --- queries ---------------------------------------------------------------------

    def active(self) -> list[Alarm]:
        return sorted(self._active.values(), key=lambda a: a.raised_at, reverse=True)

    def find(self, alarm_id: str) -> Alarm | None:
        return next((a for a in self._active.values() if a.id == alarm_id), None)

    # --- changes ---------------------------------------------------------------------

    def raise_alarm(self, device_id: str, kind: AlarmKind, detail: str) -> Alarm:
        """Raise (or, if already active, refresh the detail of) the device's alarm of this kind."""
        current = self._active.get((device_id, kind))
        if current is not None:
            if current.detail != detail:
                current.detail = detail
                self._changed(current)
            return current
        alarm = Alarm(uuid.uuid4().hex, device_id, kind, detail[:300], time.time())
        self._active[(device_id, kind)] = alarm
        self.raised[kind] += 1
        log.warning("event=alarm_raised device=%s kind=%s detail=%r", device_id, kind, alarm.detail)
        self._changed(alarm)
        return alarm

    def clear(self, device_id: str, kind: AlarmKind) -> Alarm | None:
        alarm = self._active.pop((device_id, kind), None)
        if alarm is not None:
            alarm.cleared_at = time.time()
            log.info("event=alarm_cleared device=%s kind=%s after_s=%.0f",
                     device_id, kind, alarm.cleared_at - alarm.raised_at)  # fmt: skip
            self._changed(alarm)
        return alarm

    def acknowledge(self, alarm_id: str, username: str) -> Alarm | None:
        alarm = self.find(alarm_id)
        if alarm is None or alarm.acknowledged_at is not None:
            return alarm
        alarm.acknowledged_at, alarm.acknowledged_by = time.time(), username
        log.info("event=alarm_acknowledged device=%s kind=%s user=%s", alarm.device_id, alarm.kind, username)
        self._changed(alarm)
        return alarm

    def command_failed(self, device_id: str, detail: str) -> None:
        self.raise_alarm(device_id, "command_failed", detail)

    def command_ok(self, device_id: str) -> None:
        if (device_id, "command_failed") in self._active:
            self.clear(device_id, "command_failed")

    # --- rules -----------------------------------------------------------------------

    def _on_change(self, change: DeviceChange) -> None:
        if change.new_state == "offline":
            self._offline(change.device_id, change.reason)
        elif change.new_state == "online":
            handle = self._pending_offline.pop(change.device_id, None)
            if handle is not None:
                handle.cancel()
            self.clear(change.device_id, "offline")

    def _offline(self, device_id: str, reason: str) -> None:
        grace = self.limits.offline_grace_s
        if grace <= 0:
            self._still_offline(device_id, reason)
            return
        if device_id not in self._pending_offline:
            loop = asyncio.get_running_loop()
            self._pending_offline[device_id] = loop.call_later(grace, self._still_offline, device_id, reason)

    def _still_offline(self, device_id: str, reason: str) -> None:
        self._pending_offline.pop(device_id, None)
        record = self._registry.get(device_id)
        if record is not None and record.state == "offline":
            self.raise_alarm(device_id, "offline", reason)

    def _on_update(self, record: DeviceRecord) -> None:
        limits = self.limits
        if record.battery is not None:
            if record.battery < limits.low_battery_pct and not record.charging:
                self.raise_alarm(record.id, "low_battery", f"battery {record.battery:.0f} %")
            elif record.battery >= limits.battery_ok_pct or record.charging:
                self.clear(record.id, "low_battery")
        if record.temperature is not None:
            if record.temperature >= limits.overheating_c:
                self.raise_alarm(record.id, "overheating", f"{record.temperature:.1f} °C")
            elif record.temperature <= limits.cooled_c:
                self.clear(record.id, "overheating")

    def _changed(self, alarm: Alarm) -> None:
        if self._journal is not None:
            self._journal.save(alarm)
        for listener in list(self._listeners):
            try:
                listener(alarm)
            except Exception:
                log.exception("event=alarm_listener_failed alarm=%s", alarm.id)
