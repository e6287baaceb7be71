"""When a device is in trouble: offline, a battery running out, a headset overheating, a command
that failed. Raised and cleared from the registry's events, with the device's limits, through
the room's one alarm service (classroom_hub/alarms/service.py), which keeps, tells and
acknowledges them like every other alarm.

One alarm per device and kind is active at a time. An alarm clears itself when its cause
goes away (the device is back, charging, cooled down, or a later command worked);
acknowledging says "I have seen it" and does not clear it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from classroom_hub.alarms.model import Alarm
from classroom_hub.alarms.service import AlarmService
from classroom_hub.registry import DeviceChange, DeviceRecord, DeviceRegistry

AlarmKind = Literal["offline", "low_battery", "overheating", "command_failed"]
ALARM_KINDS: tuple[AlarmKind, ...] = ("offline", "low_battery", "overheating", "command_failed")
SOURCE = "device"


@dataclass(frozen=True)
class AlarmLimits:
    """Thresholds with a gap between raise and clear, so a value hovering at the limit does not flap."""

    low_battery_pct: float = 15.0
    battery_ok_pct: float = 20.0
    overheating_c: float = 45.0  # standalone headsets throttle around here
    cooled_c: float = 42.0
    offline_grace_s: float = 30.0  # headsets nap and wander out of Wi-Fi for a few seconds


class DeviceAlarms:
    """The registry's rules; the alarms themselves are the service's (source ``device``)."""

    def __init__(self, service: AlarmService, registry: DeviceRegistry, limits: AlarmLimits | None = None) -> None:
        self.service = service
        self._registry = registry
        self.limits = limits or AlarmLimits()
        self._removers: list[Callable[[], None]] = []
        self._pending_offline: dict[str, asyncio.TimerHandle] = {}

    # --- lifecycle -------------------------------------------------------------------

    def start(self) -> None:
        """Follow the registry (the alarms active when the hub stopped are the service's already)."""
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

    # --- queries ---------------------------------------------------------------------

    def active(self) -> list[Alarm]:
        """The devices' active alarms, newest first."""
        return self.service.active(source=SOURCE)

    @property
    def raised(self) -> dict[str, int]:
        """Raised since start, per kind (for /metrics)."""
        return {kind: self.service.raised[(SOURCE, kind)] for kind in ALARM_KINDS}

    # --- changes ---------------------------------------------------------------------

    def raise_alarm(self, device_id: str, kind: AlarmKind, detail: str) -> Alarm:
        return self.service.raise_alarm(device_id, kind, detail, source=SOURCE)

    def clear(self, device_id: str, kind: AlarmKind) -> Alarm | None:
        cleared = self.service.clear(device_id, kind, source=SOURCE, severity="alarm")  # a device's are all "alarm"
        return cleared[0] if cleared else None

    def command_failed(self, device_id: str, detail: str) -> None:
        self.raise_alarm(device_id, "command_failed", detail)

    def command_ok(self, device_id: str) -> None:
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
