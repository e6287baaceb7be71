"""Device kind ``teacher_laptop``: the teacher's laptop with the hub's agent."""

from __future__ import annotations

from pathlib import Path

from device_drivers.entities import BATTERY, CHARGING, FIRMWARE
from device_drivers.kinds import DeviceKind
from device_drivers.teacher_laptop.settings import TeacherLaptop

KIND = DeviceKind(
    name="teacher_laptop",
    settings=TeacherLaptop,
    entities=(BATTERY, CHARGING, FIRMWARE),
    simulator="device_drivers.teacher_laptop.simulator:simulate",
    translations=Path(__file__).parent / "i18n",
)
