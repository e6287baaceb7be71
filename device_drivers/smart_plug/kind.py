"""Device kind ``smart_plug``: a mains outlet with an MQTT agent that switches it and measures the load."""

from __future__ import annotations

from pathlib import Path

from device_drivers.entities import FIRMWARE, SIGNAL, Entity, status_flag, status_value
from device_drivers.kinds import DeviceKind
from device_drivers.smart_plug.commands import CATALOGUE
from device_drivers.smart_plug.settings import SmartPlug

OUTLET = Entity("outlet", "binary_sensor", status_flag("power"), {"en": "Outlet", "vi": "Ổ cắm"}, "power")
LOAD = Entity("load", "sensor", status_value("watts"), {"en": "Load", "vi": "Công suất"}, "power", "W", True)

KIND = DeviceKind(
    name="smart_plug",
    settings=SmartPlug,
    commands=CATALOGUE,
    entities=(OUTLET, LOAD, SIGNAL, FIRMWARE),
    simulator="device_drivers.smart_plug.simulator:simulate",
    translations=Path(__file__).parent / "i18n",
)
