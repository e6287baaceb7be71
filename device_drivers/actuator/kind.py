"""Device kind ``actuator``: a node of outputs (the Vinaponics kit's pump, fan, grow light)."""

from __future__ import annotations

from pathlib import Path

from device_drivers.actuator.settings import Actuator
from device_drivers.kinds import DeviceKind

KIND = DeviceKind(
    name="actuator",
    settings=Actuator,
    simulator="device_drivers.actuator.simulator:simulate",
    serial_kit="vinaponics",
    translations=Path(__file__).parent / "i18n",
)
