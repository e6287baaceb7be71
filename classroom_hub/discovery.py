"""Home Assistant MQTT discovery: the room's devices show up in Home Assistant, Node-RED or
openHAB without configuration on their side.

One *device-based* discovery message per device (docs/home-assistant.md), retained, on
``homeassistant/device/<object_id>/config``: the device, the hub as origin, availability
from the device's own retained ``status`` and the hub's (both must say online), and one
component per thing the device reports. Components are described as data (as Home
Assistant's own integrations do): what to read, from which topic, with which device class,
unit and ``state_class: measurement``. Everything is published again when Home Assistant
announces itself on ``homeassistant/status`` with ``online``, as its documentation asks.

Schema: https://www.home-assistant.io/integrations/mqtt/#device-discovery-payload
(``DEVICE_DISCOVERY_SCHEMA`` in homeassistant/components/mqtt/schemas.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import re
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from aiohttp import web

from classroom_hub import __version__
from classroom_hub.bus.link import Message, MqttLink
from classroom_hub.bus.topics import device_topic, hub_status_topic
from classroom_hub.keys import HEALTH, LINK, SETTINGS
from config.settings import HubSettings

log = logging.getLogger(__name__)

PREFIX = "homeassistant"
HA_STATUS_TOPIC = f"{PREFIX}/status"
ORIGIN = "classroom-hub"
_UNSAFE = re.compile(r"[^a-zA-Z0-9_-]")
_STATE = "{{ value_json.state }}"

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


def _status_value(field: str) -> str:
    # The last will ({"state": "offline"}) has no fields: render nothing, which Home Assistant ignores.
    return f"{{{{ value_json.{field} | default('') }}}}"


def _status_flag(field: str) -> str:
    return f"{{{{ 'ON' if value_json.{field} | default(false) else 'OFF' }}}}"


def _reading(key: str) -> str:
    # A telemetry message carries a list of readings; take this key's latest, if any.
    return (f"{{{{ (value_json.readings | selectattr('key', 'eq', '{key}') | map(attribute='value')"
            f" | list | last) | default('') }}}}")  # fmt: skip


BATTERY = Entity("battery", "sensor", _status_value("battery"), device_class="battery", unit="%", measurement=True)
CHARGING = Entity("charging", "binary_sensor", _status_flag("charging"), device_class="battery_charging")
FIRMWARE = Entity("firmware", "sensor", _status_value("firmware"), {"en": "Agent version", "vi": "Phiên bản phần mềm"},
                  diagnostic=True)  # fmt: skip
SIGNAL = Entity("rssi", "sensor", _status_value("rssi"), device_class="signal_strength", unit="dBm",
                measurement=True, diagnostic=True)  # fmt: skip
TEMPERATURE = Entity("temperature", "sensor", _status_value("temperature"), device_class="temperature", unit="°C",
                     measurement=True)  # fmt: skip
SCENE = Entity("scene", "sensor", _status_value("scene"), {"en": "Scene", "vi": "Cảnh đang chạy"})
STORAGE = Entity("storage_free", "sensor", _status_value("storage_free_mb"),
                 {"en": "Free storage", "vi": "Bộ nhớ trống"},
                 device_class="data_size", unit="MB", measurement=True, diagnostic=True)  # fmt: skip
APP_VERSION = Entity("app_version", "sensor", _status_value("app_version"),
                     {"en": "App version", "vi": "Phiên bản ứng dụng"}, diagnostic=True)  # fmt: skip
POWER = Entity("power", "binary_sensor", _status_flag("power"), device_class="power")
INPUT = Entity("input", "sensor", _status_value("input"), {"en": "Input", "vi": "Nguồn vào"})
VOLUME = Entity("volume", "sensor", _status_value("volume"), {"en": "Volume", "vi": "Âm lượng"}, measurement=True)
MUTE = Entity("mute", "binary_sensor", _status_flag("mute"), {"en": "Muted", "vi": "Tắt tiếng"})

ENTITIES_BY_KIND: dict[str, tuple[Entity, ...]] = {
    "tablet": (BATTERY, CHARGING, SIGNAL, APP_VERSION, FIRMWARE),
    "headset": (BATTERY, CHARGING, TEMPERATURE, SCENE, STORAGE, FIRMWARE),
    "ar_device": (BATTERY, CHARGING, TEMPERATURE, SCENE, STORAGE, FIRMWARE),
    "teacher_laptop": (BATTERY, CHARGING, FIRMWARE),
    "sensor_node": (FIRMWARE,),
    "actuator": (FIRMWARE,),
    "robot": (BATTERY, FIRMWARE),
    "display": (POWER, INPUT, VOLUME, MUTE),
}

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


def reading_entity(key: str) -> Entity:
    device_class, unit, name = READINGS.get(key, (None, None, {"en": key}))
    return Entity(f"reading_{key}", "sensor", _reading(key), name, device_class, unit, True, channel="telemetry")


# --- payloads ----------------------------------------------------------------------------


def hub_identifier(settings: HubSettings) -> str:
    # ':' cannot appear in a room or device id, so this prefix tells our devices from anyone else's.
    return f"{ORIGIN}:{settings.room.school_code}:{settings.room.id}"


def object_id(settings: HubSettings, device_id: str | None = None) -> str:
    parts = [ORIGIN, settings.room.school_code, settings.room.id] + ([device_id] if device_id else [])
    return _UNSAFE.sub("_", "_".join(parts))


def discovery_topic(node: str) -> str:
    return f"{PREFIX}/device/{node}/config"


def _origin() -> dict[str, Any]:
    return {"name": ORIGIN, "sw_version": __version__}


def hub_payload(settings: HubSettings) -> dict[str, Any]:
    node = object_id(settings)
    name = {"vi": f"Bộ điều khiển phòng {settings.room.id}", "en": f"Classroom hub {settings.room.id}"}
    return {
        "device": {
            "identifiers": [hub_identifier(settings)],
            "name": name[settings.language],
            "manufacturer": "classroom-hub",
            "model": f"hub ({settings.room.kind})",
            "sw_version": __version__,
            "suggested_area": settings.room.name,
        },
        "origin": _origin(),
        "components": {
            "connectivity": {
                "platform": "binary_sensor",
                "unique_id": f"{node}_connectivity",
                "device_class": "connectivity",
                "state_topic": hub_status_topic(settings.room.id),
                "value_template": _STATE,
                "payload_on": "online",
                "payload_off": "offline",
            }
        },
    }


def device_payload(settings: HubSettings, device_id: str, device: Any) -> dict[str, Any]:
    """The device-based discovery payload of one configured device."""
    room = settings.room.id
    node = object_id(settings, device_id)
    status = device_topic(room, device_id, "status")
    telemetry = device_topic(room, device_id, "telemetry")
    entities = list(ENTITIES_BY_KIND.get(device.kind, (FIRMWARE,)))
    entities += [reading_entity(key) for key in getattr(device, "sensors", [])]
    components = {
        e.key: e.component(f"{node}_{e.key}", telemetry if e.channel == "telemetry" else None, settings.language)
        for e in entities
    }
    info: dict[str, Any] = {
        "identifiers": [f"{hub_identifier(settings)}:{device_id}"],
        "name": device.name or device_id,
        "manufacturer": "classroom-hub",
        "model": getattr(device, "model", None) or device.kind,
        "suggested_area": settings.room.name,
        "via_device": hub_identifier(settings),
    }
    return {
        "device": info,
        "origin": _origin(),
        # Both must say online: the device's retained status (its last will says offline), and
        # the hub's (a display the hub polls is unknown when the hub is gone).
        "availability": [
            {"topic": status, "value_template": _STATE},
            {"topic": hub_status_topic(room), "value_template": _STATE},
        ],
        "availability_mode": "all",
        "state_topic": status,
        "qos": 1,
        "components": components,
    }


def payloads(settings: HubSettings) -> dict[str, dict[str, Any]]:
    """Discovery topic -> payload, for the hub and every configured device."""
    out = {discovery_topic(object_id(settings)): hub_payload(settings)}
    for device_id, device in settings.device_list():
        out[discovery_topic(object_id(settings, device_id))] = device_payload(settings, device_id, device)
    return out


# --- publishing --------------------------------------------------------------------------


class Discovery:
    """Publishes the room's discovery, again whenever Home Assistant comes online, and removes
    what this hub published before for devices no longer in the room file.

    What was published is remembered in a small file in the data folder rather than learnt
    by subscribing to ``homeassistant/device/+/config``: on a shared broker that would
    deliver every other publisher's retained discovery to the hub at each start."""

    def __init__(self, settings: HubSettings, link: MqttLink, resend_jitter_s: float = 1.0) -> None:
        self._settings = settings
        self._link = link
        self._jitter = resend_jitter_s
        self._payloads = {topic: json.dumps(p, ensure_ascii=False) for topic, p in payloads(settings).items()}
        self._resend: asyncio.TimerHandle | None = None
        self._unsubscribe: list[Callable[[], None]] = []
        self.published = 0
        self.removed = 0

    @property
    def topics(self) -> list[str]:
        return sorted(self._payloads)

    def start(self, published_before: Iterable[str] = ()) -> None:
        """Publish everything; clear what an earlier run published that the room no longer has."""
        for topic in sorted(set(published_before) - set(self._payloads)):
            if topic.startswith(f"{PREFIX}/device/{object_id(self._settings)}"):
                # A ghost: the device was removed from the room file. An empty retained
                # payload removes it from Home Assistant and from the broker.
                self._link.publish(topic, b"", qos=1, retain=True)
                self.removed += 1
                log.info("event=ha_discovery_removed topic=%s", topic)
        self._unsubscribe = [self._link.subscribe(HA_STATUS_TOPIC, self._on_ha_status)]
        self.publish_all()

    def close(self) -> None:
        if self._resend is not None:
            self._resend.cancel()
        for unsubscribe in self._unsubscribe:
            unsubscribe()

    def publish_all(self) -> None:
        self._resend = None
        for topic, payload in self._payloads.items():
            self._link.publish(topic, payload, qos=1, retain=True)
        self.published += 1
        log.info("event=ha_discovery_published devices=%d", len(self._payloads))

    def _on_ha_status(self, message: Message) -> None:
        if message.payload.strip() != b"online" or self._resend is not None:
            return
        # Home Assistant asks publishers to spread their answers to its birth message.
        delay = random.uniform(0, self._jitter) if self._jitter > 0 else 0
        self._resend = asyncio.get_running_loop().call_later(delay, self.publish_all)



def read_topics(path: Path) -> list[str]:
    try:
        topics = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [t for t in topics if isinstance(t, str)] if isinstance(topics, list) else []


def write_topics(path: Path, topics: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(topics, indent=0), encoding="utf-8")
    os.replace(tmp, path)


DISCOVERY = web.AppKey("discovery", Discovery)
PUBLISHED_FILE = "ha-discovery-topics.json"


async def discovery_part(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    discovery = Discovery(settings, app[LINK])
    app[DISCOVERY] = discovery
    record = settings.data_dir / PUBLISHED_FILE
    discovery.start(await asyncio.to_thread(read_topics, record))
    await asyncio.to_thread(write_topics, record, discovery.topics)
    app[HEALTH].parts["discovery"] = lambda: "up"
    yield
    discovery.close()
