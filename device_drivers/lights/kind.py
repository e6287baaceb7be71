"""Device kind ``lights``: the room's lights, on an MQTT agent."""

from __future__ import annotations

from pathlib import Path

from device_drivers.kinds import DeviceKind
from device_drivers.lights.settings import Lights

KIND = DeviceKind(name="lights", settings=Lights, translations=Path(__file__).parent / "i18n")
