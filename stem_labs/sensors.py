"""What a kit measures and drives, described as data (one frozen description per sensor).

The keys are the TELEMETRY keys of the kit profiles (docs/serial-protocol.md §11) and of
MQTT sensor nodes (docs/devices.md §6); units are the hub's canonical ones, and a reading
that arrives in another known unit (an MQTT node reporting EC in µS/cm) is converted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

CalibrationKind = Literal["ph", "ec", "do"]


@dataclass(frozen=True, slots=True)
class SensorDescription:
    key: str
    unit: str
    low: float  # the sensor's measuring range: a value outside it is a fault, not water
    high: float
    precision: int  # decimals worth showing
    calibration: CalibrationKind | None = None
    calibration_days: int = 30  # how long a calibration stays good

    def in_range(self, value: float) -> bool:
        return self.low <= value <= self.high

    def rounded(self, value: float) -> float:
        return round(value, self.precision)


@dataclass(frozen=True, slots=True)
class ActuatorDescription:
    """An output of the kit and how the kit is told: ``set {pump: true}`` or ``feed {portions: 1}``."""

    key: str
    command: str
    argument: str


VINAPONICS_SENSORS: tuple[SensorDescription, ...] = (
    SensorDescription("ph", "pH", 0.0, 14.0, 2, calibration="ph", calibration_days=30),
    SensorDescription("water_temp", "°C", -10.0, 60.0, 1),
    SensorDescription("do", "mg/L", 0.0, 20.0, 2, calibration="do", calibration_days=30),
    SensorDescription("ec", "mS/cm", 0.0, 20.0, 3, calibration="ec", calibration_days=30),
    SensorDescription("tds", "ppm", 0.0, 10_000.0, 0),
    SensorDescription("level", "%", 0.0, 100.0, 1),
    SensorDescription("air_temp", "°C", -20.0, 60.0, 1),
    SensorDescription("humidity", "%", 0.0, 100.0, 0),
    SensorDescription("light", "lx", 0.0, 200_000.0, 0),
)

VINAPONICS_ACTUATORS: tuple[ActuatorDescription, ...] = (
    ActuatorDescription("pump", "set", "pump"),
    ActuatorDescription("aerator", "set", "aerator"),
    ActuatorDescription("lights", "set", "lights"),
    ActuatorDescription("feeder", "feed", "portions"),
)

ROBOT_SENSORS: tuple[SensorDescription, ...] = (
    SensorDescription("distance", "cm", 0.0, 500.0, 1),
    SensorDescription("line", "", 0.0, 7.0, 0),
    SensorDescription("motor_l", "%", -100.0, 100.0, 0),
    SensorDescription("motor_r", "%", -100.0, 100.0, 0),
    SensorDescription("battery", "%", 0.0, 100.0, 0),
)

SENSORS: Mapping[str, SensorDescription] = {s.key: s for s in VINAPONICS_SENSORS + ROBOT_SENSORS}
ACTUATORS: Mapping[str, ActuatorDescription] = {a.key: a for a in VINAPONICS_ACTUATORS}
OUTPUT_STATES = ("pump", "aerator", "lights")  # reported in telemetry as 1/0

# (from unit, to unit) -> factor; units that are the same quantity spelled differently.
_FACTORS: dict[tuple[str, str], float] = {
    ("µS/cm", "mS/cm"): 0.001,
    ("uS/cm", "mS/cm"): 0.001,
    ("lux", "lx"): 1.0,
    ("C", "°C"): 1.0,
    ("ppm", "mg/L"): 1.0,
}


def to_canonical(key: str, value: float, unit: str | None) -> float:
    """``value`` in the unit the description of ``key`` uses (unknown combinations unchanged)."""
    sensor = SENSORS.get(key)
    if sensor is None or unit is None or unit == sensor.unit:
        return value
    return value * _FACTORS.get((unit, sensor.unit), 1.0)


def unit_of(key: str) -> str:
    sensor = SENSORS.get(key)
    return sensor.unit if sensor is not None else ""
