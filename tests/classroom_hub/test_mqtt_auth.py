"""Per-device MQTT credentials, enforced by a real Mosquitto."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from classroom_hub.app import REGISTRY, REJECTIONS, STORE
from classroom_hub.bus.link import MqttLink
from classroom_hub.bus.topics import device_topic
from classroom_hub.errors import BusError
from classroom_hub.mqtt_auth import mosquitto_hash
from config.loader import load_settings
from tests.conftest import Mosquitto, run_hub, wait_for

ROOM = """
data_dir = "{data}"
[room]
school_code = "TEST"
id = "p9"
name = "Phòng 9"
[mqtt]
url = "{url}"
reconnect_min_s = 0.1
[http]
host = "127.0.0.1"
port = 0
[[devices]]
kind = "tablet"
id = "T{{:02d}}"
count = 2
[[devices]]
kind = "sensor_node"
id = "node-1"
transport = {{ type = "mqtt", username = "node-1", password = "fixed-pass-1" }}
"""


def test_hash_matches_mosquitto_passwd(tmp_path: Path) -> None:
    pw_file = tmp_path / "pw"
    subprocess.run(["mosquitto_passwd", "-c", "-b", str(pw_file), "T01", "secret123"], check=True, timeout=30)
    line = pw_file.read_text().strip()
    salt = __import__("base64").b64decode(line.split("$")[3])
    assert line == "T01:" + mosquitto_hash("secret123", salt)


def run_cli(config: Path, out: Path) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "classroom_hub.cli", "mqtt-credentials", "-c", str(config), "--out", str(out)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout


async def test_devices_reach_only_their_own_topics(tmp_path: Path) -> None:
    config = tmp_path / "room.toml"
    config.write_text(ROOM.format(data=tmp_path / "data", url="mqtt://127.0.0.1:1"), encoding="utf-8")
    out = tmp_path / "mqtt"
    assert "4 accounts" in run_cli(config, out)
    assert stat.S_IMODE(os.stat(out / "credentials.csv").st_mode) == 0o600
    rows = dict(line.split(",")[:2] for line in (out / "credentials.csv").read_text().splitlines()[1:])
    assert rows["node-1"] == "fixed-pass-1"
    first = dict(rows)
    run_cli(config, out)  # again: the passwords already handed out stay
    assert dict(line.split(",")[:2] for line in (out / "credentials.csv").read_text().splitlines()[1:]) == first

    broker = Mosquitto(tmp_path / "broker")
    broker.conf.write_text(
        broker.conf.read_text().replace("allow_anonymous true", "allow_anonymous false")
        + f"password_file {out / 'passwd'}\nacl_file {out / 'acl'}\n"
    )
    broker.start()
    try:
        os.environ["CLASSROOM_HUB_MQTT__URL"] = broker.url
        os.environ["CLASSROOM_HUB_MQTT__USERNAME"] = "hub-TEST-p9"
        os.environ["CLASSROOM_HUB_MQTT__PASSWORD"] = rows["hub-TEST-p9"]
        settings = load_settings(config)
    finally:
        for key in ("URL", "USERNAME", "PASSWORD"):
            os.environ.pop(f"CLASSROOM_HUB_MQTT__{key}")
    try:
        async with run_hub(settings) as hub:
            # A wrong password is refused by the broker.
            intruder = MqttLink(broker.url, client_id="x", username="T01", password="guess", manual_ack=False)
            trying = asyncio.create_task(intruder.run())
            with pytest.raises(BusError, match="not reachable"):
                await intruder.wait_up(timeout=1)
            assert "refused" in str(intruder.stats.last_error)
            trying.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await trying
            # T01 with its own password: its status counts; what it says as T02 never arrives.
            tablet = MqttLink(broker.url, client_id="T01", username="T01", password=rows["T01"], manual_ack=False)
            task = asyncio.create_task(tablet.run())
            await tablet.wait_up(5)
            tablet.publish(device_topic("p9", "T02", "status"), json.dumps({"state": "online", "battery": 5}))
            tablet.publish(device_topic("p9", "T01", "status"), json.dumps({"state": "online", "battery": 77}))
            registry = hub.app[REGISTRY]
            await wait_for(lambda: registry.get("T01").state == "online")  # type: ignore[union-attr]
            await asyncio.sleep(0.3)
            assert registry.get("T02").state == "unknown"  # type: ignore[union-attr]
            assert hub.app[STORE].state == "up" and not hub.app[REJECTIONS].by_reason
            await tablet.close()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    finally:
        broker.stop()
