"""Water-quality alarms of a Vinaponics kit, with the fleet alarms' shape (raised, cleared,
acknowledged; one active alarm per kit, kind and severity) plus the sensor, value and limit.

Defaults follow FAO Fisheries and Aquaculture Technical Paper 589, *Small-scale aquaponic food
production* (Somerville et al., 2014), ch. 3 (water quality): pH 6-7 is the compromise of
fish, plants and nitrifying bacteria, fish tolerate about 6.0-8.5 and suffer from swings of
more than 0.3 a day; warm-water fish such as tilapia want 18-30 °C; dissolved oxygen at 5
mg/L or more; and the pump must never run the tank dry.

Every limit has a hysteresis (a value hovering at the limit does not flap) and a delay (a
limit must be crossed that long before the alarm is raised: a splash or a probe being
moved is not an alarm). Acknowledging says "I have seen it"; it does not clear the alarm.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal, Protocol

log = logging.getLogger(__name__)

Severity = Literal["warning", "alarm"]
Side = Literal["low", "high", "change"]
SEVERITY_ORDER = {"warning": 1, "alarm": 2}


@dataclass(frozen=True)
class SensorLimits:
    key: str
    warn_low: float | None = None
    warn_high: float | None = None
    alarm_low: float | None = None
    alarm_high: float | None = None
    change: float | None = None  # alarm when the value moves this much (max - min) ...
    change_window_s: float = 12 * 3600.0  # ... within this window
    hysteresis: float = 0.0
    delay_s: float = 0.0

    def bounds(self) -> list[tuple[Side, Severity, float]]:
        out: list[tuple[Side, Severity, float]] = []
        for side, severity, value in (
            ("low", "warning", self.warn_low), ("high", "warning", self.warn_high),
            ("low", "alarm", self.alarm_low), ("high", "alarm", self.alarm_high),
            ("change", "alarm", self.change),
        ):  # fmt: skip
            if value is not None:
                out.append((side, severity, value))  # type: ignore[arg-type]
        return out

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


DEFAULT_LIMITS: Mapping[str, SensorLimits] = {
    "ph": SensorLimits("ph", warn_low=6.0, warn_high=7.0, alarm_low=5.5, alarm_high=8.5, change=0.3,
                       change_window_s=12 * 3600.0, hysteresis=0.1, delay_s=60.0),
    "water_temp": SensorLimits("water_temp", alarm_low=18.0, alarm_high=30.0, hysteresis=0.5, delay_s=60.0),
    "do": SensorLimits("do", alarm_low=5.0, hysteresis=0.3, delay_s=30.0),
    "level": SensorLimits("level", alarm_low=20.0, hysteresis=5.0, delay_s=2.0),
}


@dataclass
class LabAlarm:
    id: str
    device_id: str  # the kit's id (its sensor node)
    kind: str  # "ph_low", "do_low", "ph_change", "actuator", "sensor_fault", ...
    severity: Severity
    detail: str
    raised_at: float
    sensor: str | None = None
    value: float | None = None
    limit: float | None = None
    cleared_at: float | None = None
    acknowledged_at: float | None = None
    acknowledged_by: str | None = None

    @property
    def active(self) -> bool:
        return self.cleared_at is None

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "active": self.active}


class AlarmJournal(Protocol):
    def save_alarm(self, alarm: LabAlarm) -> None: ...


AlarmListener = Callable[[LabAlarm], None]
_Key = tuple[str, str, str]  # kit, kind, severity


@dataclass
class _Swing:
    """Min and max per time bucket: 12 h of 10 Hz readings in 48 buckets, not 432,000 values."""

    window_s: float
    buckets: deque[list[float]] = field(default_factory=deque)  # [start, min, max]

    def add(self, ts: float, value: float) -> float:
        width = max(self.window_s / 48.0, 0.01)
        if self.buckets and ts < self.buckets[-1][0] + width:
            last = self.buckets[-1]
            last[1], last[2] = min(last[1], value), max(last[2], value)
        else:
            self.buckets.append([ts, value, value])
        while self.buckets and self.buckets[0][0] < ts - self.window_s:
            self.buckets.popleft()
        return max(b[2] for b in self.buckets) - min(b[1] for b in self.buckets)


class LabAlarms:
    def __init__(self, journal: AlarmJournal | None = None, clock: Callable[[], float] = time.time) -> None:
        self._journal = journal
        self._clock = clock
        self._limits: dict[str, dict[str, SensorLimits]] = {}
        self._active: dict[_Key, LabAlarm] = {}
        self._pending: dict[_Key, float] = {}
        self._swings: dict[tuple[str, str], _Swing] = {}
        self._cuts: dict[tuple[str, str], tuple[float, ...]] = {}
        self._listeners: list[AlarmListener] = []
        self.raised = 0

    # --- limits --------------------------------------------------------------------------

    def limits(self, kit_id: str) -> dict[str, SensorLimits]:
        return dict(self._limits.get(kit_id, DEFAULT_LIMITS))

    def cuts(self, kit_id: str, key: str) -> tuple[float, ...]:
        """The values where a reading of ``key`` changes what the alarms make of it (each
        limit and the end of its hysteresis band), sorted: readings between two neighbouring
        cuts are judged alike."""
        try:
            return self._cuts[(kit_id, key)]
        except KeyError:
            pass
        limits = self._limits.get(kit_id, DEFAULT_LIMITS).get(key)
        points: set[float] = set()
        for side, _severity, limit in limits.bounds() if limits is not None else ():
            if side == "low":
                points.update((limit, limit + limits.hysteresis))  # type: ignore[union-attr]
            elif side == "high":
                points.update((limit, limit - limits.hysteresis))  # type: ignore[union-attr]
        cuts = self._cuts[(kit_id, key)] = tuple(sorted(points))
        return cuts

    def set_limits(self, kit_id: str, limits: Mapping[str, SensorLimits]) -> None:
        """New limits for a kit; alarms whose limit went away are cleared now."""
        self._limits[kit_id] = dict(limits)
        self._cuts = {k: v for k, v in self._cuts.items() if k[0] != kit_id}
        for (kit, kind, severity), alarm in list(self._active.items()):
            if kit != kit_id or alarm.sensor is None:
                continue
            current = self._limits[kit_id].get(alarm.sensor)
            side = kind.rsplit("_", 1)[-1]
            if current is None or not any(s == side and v == severity for s, v, _ in current.bounds()):
                self.clear(kit_id, kind, alarm.severity)
        for key in [k for k in self._swings if k[0] == kit_id]:
            del self._swings[key]

    # --- readings ------------------------------------------------------------------------

    def observe(self, kit_id: str, key: str, value: float, ts: float | None = None) -> None:
        limits = self._limits.get(kit_id, DEFAULT_LIMITS).get(key)
        if limits is None:
            return
        ts = ts if ts is not None else self._clock()
        for side, severity, limit in limits.bounds():
            kind = f"{key}_{side}"
            if side == "change":
                swing = self._swings.setdefault((kit_id, key), _Swing(limits.change_window_s)).add(ts, value)
                breached, recovered, shown = swing >= limit, swing < limit - limits.hysteresis, swing
            elif side == "low":
                breached, recovered, shown = value < limit, value >= limit + limits.hysteresis, value
            else:
                breached, recovered, shown = value > limit, value <= limit - limits.hysteresis, value
            self._judge(kit_id, kind, severity, key, shown, limit, ts, breached, recovered, limits.delay_s)

    def _judge(
        self, kit_id: str, kind: str, severity: Severity, key: str, value: float, limit: float, ts: float,
        breached: bool, recovered: bool, delay_s: float,
    ) -> None:  # fmt: skip
        index = (kit_id, kind, severity)
        alarm = self._active.get(index)
        if alarm is not None:
            alarm.value = value
            if recovered:
                self.clear(kit_id, kind, severity)
            return
        if not breached:
            self._pending.pop(index, None)
            return
        since = self._pending.setdefault(index, ts)
        if ts - since >= delay_s:
            self._pending.pop(index, None)
            side = kind.rsplit("_", 1)[-1]
            word = {"low": "below", "high": "above", "change": "moved by"}[side]
            shown = f"{value:.3g}" if side != "change" else f"{value:.2f} in the window"
            self.raise_alarm(kit_id, kind, severity, f"{key} {word} {limit:g} ({shown})",
                             sensor=key, value=value, limit=limit)  # fmt: skip

    # --- raise, clear, acknowledge ---------------------------------------------------------

    def raise_alarm(
        self,
        kit_id: str,
        kind: str,
        severity: Severity,
        detail: str,
        *,
        sensor: str | None = None,
        value: float | None = None,
        limit: float | None = None,
    ) -> LabAlarm:
        index = (kit_id, kind, severity)
        current = self._active.get(index)
        if current is not None:
            if current.detail != detail[:300]:
                current.detail = detail[:300]
                self._changed(current)
            return current
        alarm = LabAlarm(uuid.uuid4().hex, kit_id, kind, severity, detail[:300], self._clock(), sensor, value, limit)
        self._active[index] = alarm
        self.raised += 1
        log.warning("event=lab_alarm_raised kit=%s kind=%s severity=%s detail=%r", kit_id, kind, severity,
                    alarm.detail)  # fmt: skip
        self._changed(alarm)
        return alarm

    def clear(self, kit_id: str, kind: str, severity: Severity | None = None) -> list[LabAlarm]:
        cleared = []
        for sev in (severity,) if severity else ("warning", "alarm"):
            alarm = self._active.pop((kit_id, kind, sev), None)
            if alarm is None:
                continue
            alarm.cleared_at = self._clock()
            log.info("event=lab_alarm_cleared kit=%s kind=%s severity=%s after_s=%.0f", kit_id, kind, sev,
                     alarm.cleared_at - alarm.raised_at)  # fmt: skip
            self._changed(alarm)
            cleared.append(alarm)
        return cleared

    def acknowledge(self, alarm_id: str, username: str) -> LabAlarm | None:
        alarm = self.find(alarm_id)
        if alarm is None or alarm.acknowledged_at is not None:
            return alarm
        alarm.acknowledged_at, alarm.acknowledged_by = self._clock(), username
        self._changed(alarm)
        return alarm

    # --- queries and listeners ---------------------------------------------------------------

    def active(self, kit_id: str | None = None) -> list[LabAlarm]:
        found = [a for a in self._active.values() if kit_id is None or a.device_id == kit_id]
        return sorted(found, key=lambda a: (-SEVERITY_ORDER[a.severity], -a.raised_at))

    def find(self, alarm_id: str) -> LabAlarm | None:
        return next((a for a in self._active.values() if a.id == alarm_id), None)

    def is_active(self, kit_id: str, kind: str) -> bool:
        return any((kit_id, kind, s) in self._active for s in ("warning", "alarm"))

    def restore(self, alarms: Iterable[LabAlarm]) -> None:
        """Take back the alarms that were active when the hub stopped."""
        for alarm in alarms:
            self._active[(alarm.device_id, alarm.kind, alarm.severity)] = alarm

    def on_change(self, listener: AlarmListener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _changed(self, alarm: LabAlarm) -> None:
        if self._journal is not None:
            self._journal.save_alarm(replace(alarm))
        for listener in list(self._listeners):
            try:
                listener(alarm)
            except Exception:
                log.exception("event=lab_alarm_listener_failed alarm=%s", alarm.id)
