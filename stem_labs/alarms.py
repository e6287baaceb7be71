"""When a Vinaponics kit's water is in trouble: its limits, and the rules that decide when an
alarm is raised and when it clears. The alarms themselves are the room's one alarm service's
(classroom_hub/alarms, source ``lab``): one active alarm per kit, kind and severity, with the
sensor, value and limit; kept, acknowledged and listed with the devices' alarms on /tech.

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

from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from classroom_hub.alarms import Alarm, AlarmListener, AlarmService, Severity

Side = Literal["low", "high", "change"]
SOURCE = "lab"


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
    """The kits' alarm rules; ``service`` keeps the alarms (its clock stamps them)."""

    def __init__(self, service: AlarmService, clock: Callable[[], float] | None = None) -> None:
        self.service = service
        self._clock = clock or service.clock.time
        self._active = service.index(SOURCE)  # looked up for every judged reading
        self._limits: dict[str, dict[str, SensorLimits]] = {}
        self._pending: dict[tuple[str, str, str], float] = {}  # kit, kind, severity -> breached since
        self._swings: dict[tuple[str, str], _Swing] = {}
        self._cuts: dict[tuple[str, str], tuple[float, ...]] = {}

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
        for alarm in self.active(kit_id):
            if alarm.sensor is None:
                continue
            current = self._limits[kit_id].get(alarm.sensor)
            side = alarm.kind.rsplit("_", 1)[-1]
            if current is None or not any(s == side and v == alarm.severity for s, v, _ in current.bounds()):
                self.clear(kit_id, alarm.kind, alarm.severity)
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
            alarm.value = value  # what the page shows; kept with the alarm's next change
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

    # --- raise, clear, acknowledge: the service's, for the lab's alarms ------------------------

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
    ) -> Alarm:
        return self.service.raise_alarm(kit_id, kind, detail, severity=severity, source=SOURCE, sensor=sensor,
                                        value=value, limit=limit)  # fmt: skip

    def clear(self, kit_id: str, kind: str, severity: Severity | None = None) -> list[Alarm]:
        return self.service.clear(kit_id, kind, source=SOURCE, severity=severity)

    def acknowledge(self, alarm_id: str, username: str) -> Alarm | None:
        return self.service.acknowledge(alarm_id, username, source=SOURCE)

    # --- queries and listeners ---------------------------------------------------------------

    def active(self, kit_id: str | None = None) -> list[Alarm]:
        """The most severe first, then the newest."""
        return self.service.active(source=SOURCE, device_id=kit_id)

    def find(self, alarm_id: str) -> Alarm | None:
        return self.service.find(alarm_id, source=SOURCE)

    def is_active(self, kit_id: str, kind: str) -> bool:
        return self.service.is_active(kit_id, kind, source=SOURCE)

    async def history(self, limit: int = 200) -> list[Alarm]:
        """The lab's alarms, active and cleared, newest first."""
        return await self.service.history(limit, source=SOURCE)

    def on_change(self, listener: AlarmListener) -> Callable[[], None]:
        """``listener`` hears the lab's alarms only."""

        def lab_only(alarm: Alarm) -> None:
            if alarm.source == SOURCE:
                listener(alarm)

        return self.service.on_change(lab_only)
