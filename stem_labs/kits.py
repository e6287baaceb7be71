"""A Vinaponics kit as the lab sees it: its sensor node, where its outputs are, its latest
readings (calibrated and flagged), its output states, its calibrations and its rules.

A kit is a ``sensor_node`` of the room file. Its pump, aerator, lights and feeder are driven
by the node itself when the node says it has them (the reference firmware's node lists
``pump,aerator,lights`` in its status), else by the ``actuator`` named ``<node id>-out`` or
sharing the node's group.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from stem_labs.calibration import Calibration
from stem_labs.errors import LabError
from stem_labs.sensors import OUTPUT_STATES, SENSORS, VINAPONICS_SENSORS, to_canonical

Flag = Literal["calibration_overdue", "uncalibrated", "out_of_range"]
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$")


def seconds_of_day(text: str) -> int:
    """``06:30`` or ``06:30:15`` -> seconds after midnight."""
    match = _CLOCK.match(text)
    if match is None:
        raise LabError(f"time {text!r}: write it as HH:MM (24 h), e.g. 06:00")
    return int(match.group(1)) * 3600 + int(match.group(2)) * 60 + int(match.group(3) or 0)


@dataclass(frozen=True)
class KitRules:
    """What the hub enforces on a kit with nobody logged in; editable per kit."""

    low_level_pct: float = 20.0  # pump off below this ...
    level_ok_pct: float = 25.0  # ... and allowed again from here
    do_low_mg_l: float = 5.0  # aerator forced on below this ...
    do_ok_mg_l: float = 5.5  # ... and released from here
    lights_schedule: bool = True
    lights_on: str = "06:00"
    lights_off: str = "18:00"
    feeds_per_day: int = 3
    command_timeout_s: float = 3.0

    def __post_init__(self) -> None:
        seconds_of_day(self.lights_on)
        seconds_of_day(self.lights_off)
        if self.level_ok_pct < self.low_level_pct or self.do_ok_mg_l < self.do_low_mg_l:
            raise LabError("the 'ok' level must be at or above the 'low' level (that gap is the hysteresis)")
        if not 0 <= self.feeds_per_day <= 20:
            raise LabError("feeds_per_day must be 0..20")
        if not 0.2 <= self.command_timeout_s <= 30:
            raise LabError("command_timeout_s must be 0.2..30")

    def lights_due(self, second_of_day: float) -> bool:
        """Should the grow lights be on at this time of day (a schedule may cross midnight)?"""
        on, off = seconds_of_day(self.lights_on), seconds_of_day(self.lights_off)
        if on == off:
            return False
        if on < off:
            return on <= second_of_day < off
        return second_of_day >= on or second_of_day < off

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class KitReading:
    value: float  # calibrated, in the sensor's unit
    raw: float
    ts: float
    unit: str
    flag: Flag | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"value": self.value, "raw": self.raw, "ts": self.ts, "unit": self.unit, "flag": self.flag}


@dataclass
class VinaponicsKit:
    id: str
    name: str | None
    sensors: tuple[str, ...]
    actuator_id: str | None = None
    readings: dict[str, KitReading] = field(default_factory=dict)
    outputs: dict[str, bool] = field(default_factory=dict)
    calibrations: dict[str, Calibration] = field(default_factory=dict)
    rules: KitRules = field(default_factory=KitRules)
    fed_today: int = 0

    @classmethod
    def from_settings(
        cls, device_id: str, name: str | None, sensors: list[str], actuator_id: str | None
    ) -> VinaponicsKit:
        known = tuple(s for s in sensors if s in SENSORS) or tuple(s.key for s in VINAPONICS_SENSORS)
        return cls(device_id, name, known, actuator_id)

    def apply(self, readings: Mapping[str, tuple[float, str | None]], ts: float) -> dict[str, float]:
        """One report: (value, unit) by key -> the calibrated values of the sensors it carried."""
        changed: dict[str, float] = {}
        for key, (value, unit) in readings.items():
            if key in OUTPUT_STATES:
                self.outputs[key] = value >= 0.5
                continue
            sensor = SENSORS.get(key)
            if sensor is None:
                continue
            raw = to_canonical(key, value, unit)
            calibration = self.calibrations.get(key)
            calibrated = calibration.apply(raw) if calibration is not None else raw
            flag: Flag | None = None
            if not sensor.in_range(raw):
                flag = "out_of_range"
            elif sensor.calibration is not None:
                if calibration is None:
                    flag = "uncalibrated"
                elif calibration.overdue(ts):
                    flag = "calibration_overdue"
            self.readings[key] = KitReading(sensor.rounded(calibrated) if flag != "out_of_range" else raw, raw, ts,
                                            sensor.unit, flag)  # fmt: skip
            if flag != "out_of_range":
                changed[key] = calibrated
        return changed

    def values(self) -> dict[str, float]:
        return {key: r.value for key, r in self.readings.items() if r.flag != "out_of_range"}

    def value(self, key: str) -> float | None:
        reading = self.readings.get(key)
        return reading.value if reading is not None and reading.flag != "out_of_range" else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "name": self.name, "sensors": list(self.sensors), "actuator_id": self.actuator_id,
            "readings": {k: r.as_dict() for k, r in self.readings.items()}, "outputs": self.outputs,
            "calibrations": {k: c.as_dict() for k, c in self.calibrations.items()}, "rules": self.rules.as_dict(),
            "fed_today": self.fed_today,
        }  # fmt: skip
