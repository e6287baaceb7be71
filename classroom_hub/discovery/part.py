"""Home Assistant MQTT discovery: the room's devices show up in Home Assistant, Node-RED or
openHAB without configuration on their side.

One *device-based* discovery message per device (docs/home-assistant.md), retained, on
``homeassistant/device/<object_id>/config``: the device, the hub as origin, availability
from the device's own retained ``status`` and the hub's (both must say online), and one
component per thing the device reports. Components are described as data (as Home
Assistant's own integrations do), by each device kind in its own folder
(``device_drivers/<kind>/kind.py``, device_drivers/entities.py): what to read, from which
topic, with which device class, unit and ``state_class: measurement``. Everything is published again when Home Assistant
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
from pathlib import Path
from typing import Any

from aiohttp import web

from classroom_hub import __version__
from classroom_hub.bus.link import Message, MqttLink
from classroom_hub.bus.topics import device_topic, hub_status_topic
from classroom_hub.discovery.keys import DISCOVERY
from classroom_hub.keys import HEALTH, LINK, SETTINGS
from config.settings import HubSettings
from device_drivers.entities import FIRMWARE
from device_drivers.kinds import declared_kinds

log = logging.getLogger(__name__)

PREFIX = "homeassistant"
HA_STATUS_TOPIC = f"{PREFIX}/status"
ORIGIN = "classroom-hub"
_UNSAFE = re.compile(r"[^a-zA-Z0-9_-]")
_STATE = "{{ value_json.state }}"

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
    kind = declared_kinds().get(device.kind)
    entities = kind.entities_of(device) if kind is not None else (FIRMWARE,)
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


PUBLISHED_FILE = "ha-discovery-topics.json"


def setup(app: web.Application) -> None:
    app.cleanup_ctx.append(discovery_part)


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
