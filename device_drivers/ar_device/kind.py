"""Device kind ``ar_device``: an AR device; its agent speaks a headset's commands."""

from __future__ import annotations

from pathlib import Path

from device_drivers.ar_device.commands import CATALOGUE
from device_drivers.ar_device.settings import ArDevice
from device_drivers.entities import BATTERY, CHARGING, FIRMWARE, SCENE, STORAGE, TEMPERATURE
from device_drivers.kinds import DeviceKind

KIND = DeviceKind(
    name="ar_device",
    settings=ArDevice,
    commands=CATALOGUE,
    entities=(BATTERY, CHARGING, TEMPERATURE, SCENE, STORAGE, FIRMWARE),
    simulator="device_drivers.ar_device.simulator:simulate",
    translations=Path(__file__).parent / "i18n",
)
