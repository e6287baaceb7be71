"""Home Assistant MQTT discovery, checked against Home Assistant's documented schema and on Mosquitto.

The rules below are Home Assistant's own, transcribed with their source:
- topic: TOPIC_MATCHER in homeassistant/components/mqtt/discovery.py;
- payload: DEVICE_DISCOVERY_SCHEMA, MQTT_ENTITY_DEVICE_INFO_SCHEMA, MQTT_ORIGIN_INFO_SCHEMA,
  SHARED_OPTIONS and check_unique_id in homeassistant/components/mqtt/schemas.py, and
  https://www.home-assistant.io/integrations/mqtt/#device-discovery-payload;
- sensors: DEVICE_CLASS_UNITS and DEVICE_CLASS_STATE_CLASSES in
  homeassistant/components/sensor/const.py (the classes used here);
- abbreviations: https://www.home-assistant.io/integrations/mqtt/#supported-abbreviations-in-mqtt-discovery-messages
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from classroom_hub.discovery.keys import DISCOVERY
from classroom_hub.discovery.part import HA_STATUS_TOPIC, payloads
from classroom_hub.discovery.part import object_id as payload_id
from config.loader import load_settings
from config.settings import HubSettings
from device_drivers.headset.simulator import SimulatedHeadset
from device_drivers.sensor_node.simulator import SimulatedSensorNode
from device_drivers.tablet.simulator import SimulatedTablet
from tests.conftest import room_settings, run_hub, wait_for

EXAMPLES = Path(__file__).resolve().parents[2] / "config" / "examples"

TOPIC_MATCHER = re.compile(r"(?P<component>\w+)/(?:(?P<node_id>[a-zA-Z0-9_-]+)/)?(?P<object_id>[a-zA-Z0-9_-]+)/config")
SUPPORTED_COMPONENTS = {
    "alarm_control_panel", "binary_sensor", "button", "camera", "climate", "cover", "device_automation",
    "device_tracker", "event", "fan", "humidifier", "image", "lawn_mower", "light", "lock", "notify", "number",
    "scene", "select", "sensor", "siren", "switch", "tag", "text", "update", "vacuum", "valve", "water_heater",
}  # fmt: skip
ENTITY_PLATFORMS = SUPPORTED_COMPONENTS - {"device_automation", "tag"}
SHARED_OPTIONS = {
    "availability", "availability_mode", "availability_template", "availability_topic", "command_topic",
    "encoding", "message_expiry_interval", "payload_available", "payload_not_available", "state_topic", "qos",
}  # fmt: skip
DEVICE_KEYS = {
    "identifiers", "connections", "manufacturer", "model", "model_id", "name", "hw_version", "serial_number",
    "sw_version", "via_device", "suggested_area", "configuration_url",
}  # fmt: skip
ORIGIN_KEYS = {"name", "sw_version", "support_url"}
AVAILABILITY_MODES = {"all", "any", "latest"}
# Component options our payloads use, with the abbreviation Home Assistant also accepts for each.
COMPONENT_KEYS = {
    "platform": "p", "unique_id": "uniq_id", "name": "name", "device_class": "dev_cla",
    "unit_of_measurement": "unit_of_meas", "state_class": "stat_cla", "value_template": "val_tpl",
    "state_topic": "stat_t", "entity_category": "ent_cat", "payload_on": "pl_on", "payload_off": "pl_off",
}  # fmt: skip
SENSOR_CLASS_UNITS: dict[str, set[str | None]] = {
    "battery": {"%"},
    "temperature": {"°C", "°F", "K"},
    "humidity": {"%"},
    "illuminance": {"lx"},
    "ph": {None},
    "conductivity": {"S/cm", "µS/cm", "mS/cm"},
    "signal_strength": {"dB", "dBm"},
    "data_size": {"bit", "kbit", "Mbit", "Gbit", "B", "kB", "MB", "GB", "TB", "KiB", "MiB", "GiB"},
    "power": {"W", "kW", "MW", "GW", "TW", "BTU/h"},
}
SENSOR_CLASS_STATE_CLASSES: dict[str, set[str]] = {
    "battery": {"measurement"}, "temperature": {"measurement"}, "humidity": {"measurement"},
    "illuminance": {"measurement"}, "ph": {"measurement"}, "conductivity": {"measurement"},
    "signal_strength": {"measurement"}, "data_size": {"measurement", "total", "total_increasing"},
    "power": {"measurement"},
}  # fmt: skip
BINARY_SENSOR_CLASSES = {"battery_charging", "connectivity", "power", "problem", "running"}


def problems(topic: str, payload: dict[str, Any]) -> list[str]:
    """Everything Home Assistant would refuse or warn about in one device discovery message."""
    found: list[str] = []
    prefix, _, rest = topic.partition("/")
    match = TOPIC_MATCHER.fullmatch(rest)
    if prefix != "homeassistant" or match is None or match["component"] != "device":
        return [f"topic {topic!r} is not homeassistant/device/[<node_id>/]<object_id>/config"]
    for key in payload:
        if key not in {"device", "origin", "components", *SHARED_OPTIONS}:
            found.append(f"root option {key!r} is not shared by device discovery")
    device = payload.get("device")
    if not isinstance(device, dict) or not (device.get("identifiers") or device.get("connections")):
        found.append("device must have identifiers or connections")
    else:
        found += [f"device option {k!r} unknown" for k in device if k not in DEVICE_KEYS]
        found += [f"device {k} must be a string" for k, v in device.items() if k not in ("identifiers", "connections")
                  and not isinstance(v, str)]
    origin = payload.get("origin")
    if not isinstance(origin, dict) or not isinstance(origin.get("name"), str):
        found.append("origin with a name is required")
    else:
        found += [f"origin option {k!r} unknown" for k in origin if k not in ORIGIN_KEYS]
    if payload.get("availability_mode", "latest") not in AVAILABILITY_MODES:
        found.append("availability_mode must be all, any or latest")
    for entry in payload.get("availability", []):
        if not isinstance(entry, dict) or not _valid_topic(entry.get("topic")):
            found.append(f"availability entry {entry!r} needs a topic")
    if payload.get("qos", 0) not in (0, 1, 2):
        found.append("qos must be 0, 1 or 2")
    components = payload.get("components")
    if not isinstance(components, dict) or not components:
        return [*found, "components mapping is required"]
    for cid, config in components.items():
        found += [f"{cid}: {p}" for p in _component_problems(config, payload)]
    return found


def _valid_topic(topic: object) -> bool:
    return isinstance(topic, str) and bool(topic) and "#" not in topic and "+" not in topic and len(topic) < 65536


def _component_problems(config: dict[str, Any], device_payload: dict[str, Any]) -> list[str]:
    found = [f"option {k!r} not known to us or Home Assistant" for k in config if k not in COMPONENT_KEYS]
    platform = config.get("platform")
    if platform not in SUPPORTED_COMPONENTS:
        return [*found, f"platform {platform!r} not supported"]
    if platform in ENTITY_PLATFORMS and len(config) > 1 and not isinstance(config.get("unique_id"), str):
        found.append("an entity component needs a unique_id")
    if not _valid_topic(config.get("state_topic", device_payload.get("state_topic"))):
        found.append("no state_topic (own or shared)")
    device_class, unit = config.get("device_class"), config.get("unit_of_measurement")
    if platform == "sensor" and device_class is not None:
        if device_class not in SENSOR_CLASS_UNITS:
            found.append(f"sensor device_class {device_class!r} not checked here")
        elif unit not in SENSOR_CLASS_UNITS[device_class]:
            found.append(f"unit {unit!r} is not valid for device class {device_class!r}")
        state_class = config.get("state_class")
        if state_class is not None and state_class not in SENSOR_CLASS_STATE_CLASSES.get(device_class, set()):
            found.append(f"state_class {state_class!r} is not valid for device class {device_class!r}")
    if platform == "binary_sensor" and device_class is not None and device_class not in BINARY_SENSOR_CLASSES:
        found.append(f"binary_sensor device_class {device_class!r} unknown")
    if config.get("entity_category") not in (None, "config", "diagnostic"):
        found.append("entity_category must be config or diagnostic")
    if config.get("state_class") not in (None, "measurement", "total", "total_increasing"):
        found.append("unknown state_class")
    return found


def rich_room(tmp_path: Path) -> HubSettings:
    """The smart classroom plus a sensor node and a LAN display: every kind discovery describes."""
    base = load_settings(EXAMPLES / "smart-classroom.toml")
    devices = [d.model_dump(mode="json", exclude_none=True) for d in base.devices if d.kind != "display"]
    devices += [
        {"kind": "display", "id": "display-86", "transport": {"type": "tcp", "host": "127.0.0.1", "port": 1}},
        {"kind": "sensor_node", "id": "tank-1", "sensors": ["ph", "water_temp", "air_temp", "humidity", "light",
                                                             "ec", "do", "level", "co2"]},
    ]  # fmt: skip
    return room_settings(tmp_path, None, devices=devices)


def test_every_payload_fits_home_assistants_schema(tmp_path: Path) -> None:
    settings = rich_room(tmp_path)
    published = payloads(settings)
    assert len(published) == 1 + len(settings.device_list())  # the hub and every device
    for topic, payload in published.items():
        assert problems(topic, payload) == [], topic
    unique_ids = Counter(c["unique_id"] for p in published.values() for c in p["components"].values())
    assert max(unique_ids.values()) == 1
    assert len({tuple(p["device"]["identifiers"]) for p in published.values()}) == len(published)


def test_the_schema_check_itself_catches_mistakes() -> None:
    good = {"device": {"identifiers": ["x"], "name": "X", "via_device": "h"}, "origin": {"name": "o"},
            "state_topic": "a/b", "components": {"b": {"platform": "sensor", "unique_id": "u", "value_template": "v",
                                                        "device_class": "ph"}}}  # fmt: skip
    assert problems("homeassistant/device/x/config", good) == []
    assert problems("homeassistant/device/x.y/config", good) != []
    assert problems("homeassistant/device/x/config", {**good, "origin": {}}) == ["origin with a name is required"]
    bad_unit = json.loads(json.dumps(good))
    bad_unit["components"]["b"]["unit_of_measurement"] = "pH"
    assert problems("homeassistant/device/x/config", bad_unit) == ["b: unit 'pH' is not valid for device class 'ph'"]
    no_id = json.loads(json.dumps(good))
    del no_id["components"]["b"]["unique_id"]
    assert problems("homeassistant/device/x/config", no_id) == ["b: an entity component needs a unique_id"]


def test_headset_payload_in_detail(tmp_path: Path) -> None:
    settings = rich_room(tmp_path)
    room, school = settings.room.id, settings.room.school_code
    payload = payloads(settings)[f"homeassistant/device/classroom-hub_{school}_{room}_H07/config"]
    assert payload["availability"] == [
        {"topic": f"classroom/{room}/devices/H07/status", "value_template": "{{ value_json.state }}"},
        {"topic": f"classroom/{room}/hub/status", "value_template": "{{ value_json.state }}"},
    ]
    assert payload["availability_mode"] == "all"
    assert payload["device"]["via_device"] == f"classroom-hub:{school}:{room}"
    battery = payload["components"]["battery"]
    assert battery == {
        "platform": "sensor", "unique_id": f"classroom-hub_{school}_{room}_H07_battery",
        "value_template": "{{ value_json.battery | default('') }}", "device_class": "battery",
        "unit_of_measurement": "%", "state_class": "measurement",
    }  # fmt: skip
    assert "name" not in battery  # Home Assistant names it "Battery" in the user's language


def test_templates_read_fields_the_agents_really_publish(tmp_path: Path) -> None:
    """Each status template names a field present in the simulated agent's real status payload,
    and each reading template a key the sensor node really sends."""
    settings = rich_room(tmp_path)
    samples = {
        "headset": SimulatedHeadset("mqtt://127.0.0.1:1", "r", "H01").status(),
        "tablet": SimulatedTablet("mqtt://127.0.0.1:1", "r", "T01").status(),
    }
    node = SimulatedSensorNode("mqtt://127.0.0.1:1", "r", "tank-1")
    reading_keys = {r["key"] for r in node.readings()}
    kinds = {f"{payload_id(settings, d)}": device.kind for d, device in settings.device_list()}
    checked = Counter()
    for topic, payload in payloads(settings).items():
        kind = kinds.get(topic.split("/")[2], "hub")
        for config in payload["components"].values():
            checked[kind] += 1
            template = config["value_template"]
            if "readings" in template:
                key = re.search(r"'eq', '([a-z0-9_]+)'", template)
                assert key is not None and (key[1] in reading_keys or key[1] == "co2"), template
            elif kind in samples and "value_json.state" not in template:
                field = re.search(r"value_json\.([a-z_]+)", template)
                assert field is not None and field[1] in samples[kind], (topic, template)
    assert checked["headset"] >= 40 * 6 and checked["tablet"] >= 40 * 5 and checked["sensor_node"] == 10


class Collector:
    """A third-party MQTT client (plain paho, as Home Assistant's own) that records what it receives."""

    def __init__(self, url: str, topics: list[str]) -> None:
        self.loop = asyncio.get_running_loop()
        self.messages: list[tuple[str, bytes, bool]] = []
        host, port = url.removeprefix("mqtt://").split(":")
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"ha-{time.monotonic_ns()}")
        self.client.on_message = lambda _c, _u, m: self.loop.call_soon_threadsafe(
            self.messages.append, (m.topic, bytes(m.payload), bool(m.retain))
        )
        # Exact topics, not homeassistant/#: a shared broker holds other rooms' retained discovery,
        # more than its per-client queue (1,000 by default) would pass on.
        self.client.on_connect = lambda c, *_: c.subscribe([(t, 1) for t in topics])
        self.host, self.port = host, int(port)

    async def __aenter__(self) -> Collector:
        await self.loop.run_in_executor(None, self.client.connect, self.host, self.port)
        self.client.loop_start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)

    def count(self, topic: str) -> int:
        return sum(1 for t, p, _r in self.messages if t == topic and p)


async def test_published_retained_resent_on_birth_and_ghosts_removed(tmp_path: Path, system_mosquitto_url: str) -> None:
    url = system_mosquitto_url
    settings = room_settings(tmp_path, url)
    expected = payloads(settings)
    async with Collector(url, list(expected)) as ha:
        async with run_hub(settings) as hub:
            await wait_for(lambda: all(ha.count(t) == 1 for t in expected))
            for topic, payload in expected.items():
                (body,) = [p for t, p, _r in ha.messages if t == topic]
                assert json.loads(body) == payload
            hub.app[DISCOVERY]._jitter = 0.05  # Home Assistant's 'spread the answers' delay, kept short
            ha.publish(HA_STATUS_TOPIC, b"offline")
            ha.publish(HA_STATUS_TOPIC, b"online")  # Home Assistant (re)started
            await wait_for(lambda: all(ha.count(t) == 2 for t in expected))

        # The technician takes H02 out of the room file; at the next start its entry is removed.
        fewer = settings.model_copy(update={"devices": [d for d in settings.devices if d.kind != "headset"]
                                            + [settings.devices[1].model_copy(update={"count": 1, "id": "H01"})]})
        (h02,) = [t for t in expected if t.endswith("_H02/config")]
        async with run_hub(fewer) as hub:
            await wait_for(lambda: any(t == h02 and not p for t, p, _r in ha.messages))
            assert hub.app[DISCOVERY].removed == 1
            assert h02 not in hub.app[DISCOVERY].topics

    # A late subscriber (Home Assistant starting after the hub) still gets them: they are retained.
    async with Collector(url, list(expected)) as late:
        await wait_for(lambda: all(late.count(t) == 1 for t in expected if t != h02))
        assert late.count(h02) == 0
        assert all(retained for t, _p, retained in late.messages if t in expected)
        for topic in expected:  # tidy the shared broker
            late.publish(topic, b"", retain=True)
