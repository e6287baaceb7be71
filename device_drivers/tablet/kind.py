"""Device kind ``tablet``: a student tablet; its agent reports battery, Wi-Fi and the lesson app."""

from __future__ import annotations

from pathlib import Path

from device_drivers.entities import APP_VERSION, BATTERY, CHARGING, FIRMWARE, SIGNAL
from device_drivers.kinds import DeviceKind
from device_drivers.tablet.settings import Tablet

KIND = DeviceKind(
    name="tablet",
    settings=Tablet,
    entities=(BATTERY, CHARGING, SIGNAL, APP_VERSION, FIRMWARE),
    simulator="device_drivers.tablet.simulator:simulate",
    translations=Path(__file__).parent / "i18n",
)
