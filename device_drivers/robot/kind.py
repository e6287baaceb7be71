"""Device kind ``robot``: a robotics kit, usually on USB serial (the firmware bridge)."""

from __future__ import annotations

from pathlib import Path

from device_drivers.entities import BATTERY, FIRMWARE
from device_drivers.kinds import DeviceKind
from device_drivers.robot.settings import Robot

KIND = DeviceKind(
    name="robot",
    settings=Robot,
    entities=(BATTERY, FIRMWARE),
    serial_kit="robot",
    translations=Path(__file__).parent / "i18n",
)
