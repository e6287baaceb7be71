"""Device kind ``headset``: a standalone VR headset; its agent plays the lesson's scenes."""

from __future__ import annotations

from pathlib import Path

from device_drivers.entities import BATTERY, CHARGING, FIRMWARE, SCENE, STORAGE, TEMPERATURE
from device_drivers.headset.commands import CATALOGUE
from device_drivers.headset.settings import Headset
from device_drivers.kinds import DeviceKind

KIND = DeviceKind(
    name="headset",
    settings=Headset,
    commands=CATALOGUE,
    entities=(BATTERY, CHARGING, TEMPERATURE, SCENE, STORAGE, FIRMWARE),
    simulator="device_drivers.headset.simulator:simulate",
    translations=Path(__file__).parent / "i18n",
)
