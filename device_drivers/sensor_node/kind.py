"""Device kind ``sensor_node``: a node of sensors (the Vinaponics tank), on MQTT or USB serial."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from device_drivers.entities import FIRMWARE, Entity, reading_entity
from device_drivers.kinds import DeviceKind
from device_drivers.sensor_node.settings import SensorNode

# Reading key -> (device class, unit, name). Units are the ones Home Assistant accepts for the
# class (homeassistant/components/sensor/const.py DEVICE_CLASS_UNITS): pH has none.
READINGS: dict[str, tuple[str | None, str | None, dict[str, str]]] = {
    "ph": ("ph", None, {"en": "pH", "vi": "pH"}),
    "water_temp": ("temperature", "°C", {"en": "Water temperature", "vi": "Nhiệt độ nước"}),
    "air_temp": ("temperature", "°C", {"en": "Air temperature", "vi": "Nhiệt độ không khí"}),
    "humidity": ("humidity", "%", {"en": "Humidity", "vi": "Độ ẩm"}),
    "light": ("illuminance", "lx", {"en": "Light", "vi": "Ánh sáng"}),
    "ec": ("conductivity", "µS/cm", {"en": "Conductivity", "vi": "Độ dẫn điện"}),
    "do": (None, "mg/L", {"en": "Dissolved oxygen", "vi": "Oxy hoà tan"}),
    "level": (None, "%", {"en": "Water level", "vi": "Mực nước"}),
}


def sensor_entity(key: str) -> Entity:
    device_class, unit, name = READINGS.get(key, (None, None, {"en": key}))
    return reading_entity(key, device_class, unit, name)


def sensor_entities(device: Any) -> tuple[Entity, ...]:
    return tuple(sensor_entity(key) for key in getattr(device, "sensors", []))


KIND = DeviceKind(
    name="sensor_node",
    settings=SensorNode,
    entities=(FIRMWARE,),
    device_entities=sensor_entities,
    simulator="device_drivers.sensor_node.simulator:simulate",
    serial_kit="vinaponics",
    translations=Path(__file__).parent / "i18n",
)
