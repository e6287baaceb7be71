"""What a device reports, as Home Assistant should show it: entities described as data.

Each device kind lists its entities in its declaration (``device_drivers/<kind>/kind.py``);
the discovery package (classroom_hub/discovery/) turns them into Home Assistant's
device-based discovery messages. The templates read the device's own ``status`` (retained)
or ``telemetry`` messages (docs/protocol.md), so nothing here depends on the hub.
Schema: https://www.home-assistant.io/integrations/mqtt/#device-discovery-payload
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Platform = Literal["sensor", "binary_sensor"]
Channel = Literal["status", "telemetry"]


@dataclass(frozen=True)
class Entity:
    """One thing a device reports, as Home Assistant should show it."""

    key: str
    platform: Platform
    template: str
    name: dict[str, str] | None = None  # by language; None: Home Assistant names it from the device class
    device_class: str | None = None
    unit: str | None = None
    measurement: bool = False
    diagnostic: bool = False
    channel: Channel = "status"

    def component(self, unique_id: str, state_topic: str | None, language: str) -> dict[str, Any]:
        config: dict[str, Any] = {"platform": self.platform, "unique_id": unique_id, "value_template": self.template}
        if self.name is not None:
            config["name"] = self.name.get(language, self.name["en"])
        if self.device_class is not None:
            config["device_class"] = self.device_class
        if self.unit is not None:
            config["unit_of_measurement"] = self.unit
        if self.measurement:
            config["state_class"] = "measurement"
        if self.diagnostic:
            config["entity_category"] = "diagnostic"
        if self.platform == "binary_sensor":
            config |= {"payload_on": "ON", "payload_off": "OFF"}
        if state_topic is not None:
            config["state_topic"] = state_topic
        return config


def status_value(field: str) -> str:
    # The last will ({"state": "offline"}) has no fields: render nothing, which Home Assistant ignores.
    return f"{{{{ value_json.{field} | default('') }}}}"


def status_flag(field: str) -> str:
    return f"{{{{ 'ON' if value_json.{field} | default(false) else 'OFF' }}}}"


def reading(key: str) -> str:
    # A telemetry message carries a list of readings; take this key's latest, if any.
    return (f"{{{{ (value_json.readings | selectattr('key', 'eq', '{key}') | map(attribute='value')"
            f" | list | last) | default('') }}}}")  # fmt: skip


def reading_entity(key: str, device_class: str | None, unit: str | None, name: dict[str, str]) -> Entity:
    """One reading of a device's telemetry (``key``), e.g. a sensor node's pH."""
    return Entity(f"reading_{key}", "sensor", reading(key), name, device_class, unit, True, channel="telemetry")


# What a device agent's status carries (docs/devices.md): kinds pick the ones they report.
BATTERY = Entity("battery", "sensor", status_value("battery"), device_class="battery", unit="%", measurement=True)
CHARGING = Entity("charging", "binary_sensor", status_flag("charging"), device_class="battery_charging")
FIRMWARE = Entity("firmware", "sensor", status_value("firmware"), {"en": "Agent version", "vi": "Phiên bản phần mềm"},
                  diagnostic=True)  # fmt: skip
SIGNAL = Entity("rssi", "sensor", status_value("rssi"), device_class="signal_strength", unit="dBm",
                measurement=True, diagnostic=True)  # fmt: skip
TEMPERATURE = Entity("temperature", "sensor", status_value("temperature"), device_class="temperature", unit="°C",
                     measurement=True)  # fmt: skip
SCENE = Entity("scene", "sensor", status_value("scene"), {"en": "Scene", "vi": "Cảnh đang chạy"})
STORAGE = Entity("storage_free", "sensor", status_value("storage_free_mb"),
                 {"en": "Free storage", "vi": "Bộ nhớ trống"},
                 device_class="data_size", unit="MB", measurement=True, diagnostic=True)  # fmt: skip
APP_VERSION = Entity("app_version", "sensor", status_value("app_version"),
                     {"en": "App version", "vi": "Phiên bản ứng dụng"}, diagnostic=True)  # fmt: skip
