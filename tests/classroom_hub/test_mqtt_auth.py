"""Per-device MQTT credentials, enforced by a real Mosquitto with the shipped settings."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from classroom_hub.app import LINK, REGISTRY, REJECTIONS, STORE
from classroom_hub.bus.link import MqttLink
from classroom_hub.bus.topics import device_topic
from classroom_hub.errors import BusError
from classroom_hub.mqtt_auth import mosquitto_hash
from config.loader import load_settings
from config.settings import HubSettings
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
reconnect_max_s = 0.5
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
HUB = "hub-TEST-p9"  # the hub's user name and client id


def test_hash_matches_mosquitto_passwd(tmp_path: Path) -> None:
    pw_file = tmp_path / "pw"
    subprocess.run(["mosquitto_passwd", "-c", "-b", str(pw_file), "T01", "secret123"], check=True, timeout=30)
    line = pw_file.read_text().strip()
    salt = base64.b64decode(line.split("$")[3])
    assert line == "T01:" + mosquitto_hash("secret123", salt)


def run_cli(config: Path, out: Path, *extra: str, code: int = 0, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "classroom_hub.cli", "mqtt-credentials", "-c", str(config), "--out", str(out), *extra],
        capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})},
    )  # fmt: skip
    assert result.returncode == code, result.stdout + result.stderr
    return result.stdout + result.stderr


def passwords(out: Path) -> dict[str, str]:
    return dict(line.split(",")[:2] for line in (out / "credentials.csv").read_text().splitlines()[1:])


def room_file(tmp_path: Path, url: str = "mqtt://127.0.0.1:1", extra: str = "") -> Path:
    config = tmp_path / "room.toml"
    config.write_text(ROOM.format(data=tmp_path / "data", url=url) + extra, encoding="utf-8")
    return config


def test_revoked_devices_stay_out_and_rotation_renews_one_password(tmp_path: Path) -> None:
    config, out = room_file(tmp_path), tmp_path / "mqtt"
    assert "4 accounts" in run_cli(config, out)
    assert stat.S_IMODE(os.stat(out / "credentials.csv").st_mode) == 0o600
    first = passwords(out)
    assert first["node-1"] == "fixed-pass-1" and set(first) == {HUB, "T01", "T02", "node-1"}
    run_cli(config, out)  # again: the passwords already handed out stay
    assert passwords(out) == first

    said = run_cli(config, out, "--revoke", "T02")  # the lost tablet
    assert "systemctl reload mosquitto" in said
    assert set(passwords(out)) == {HUB, "T01", "node-1"}
    assert not any(line.startswith("T02:") for line in (out / "passwd").read_text().splitlines())
    assert "T02" not in (out / "acl").read_text()
    assert "T02,T02," in (out / "revoked.csv").read_text()
    run_cli(config, out)  # a plain rerun (say, after adding a device) keeps it out
    assert set(passwords(out)) == {HUB, "T01", "node-1"} and "T02" not in (out / "acl").read_text()
    assert passwords(out)["T01"] == first["T01"]

    run_cli(config, out, "--rotate", "T01")
    assert passwords(out)["T01"] != first["T01"]
    assert {k: v for k, v in passwords(out).items() if k != "T01"} == {k: v for k, v in first.items() if k in (
        HUB, "node-1")}  # fmt: skip
    run_cli(config, out, "--rotate", "T02")  # found again: back, with a password the finder never saw
    assert passwords(out)["T02"] not in (first["T02"], "")
    assert "user T02" in (out / "acl").read_text() and "T02" not in (out / "revoked.csv").read_text()

    assert "its password is the one the room file (or environment) sets" in run_cli(config, out, "--rotate", "node-1")
    assert passwords(out)["node-1"] == "fixed-pass-1"
    assert "hub's own account cannot be revoked" in run_cli(config, out, "--revoke", HUB, code=2)
    assert "'T99' is neither" in run_cli(config, out, "--revoke", "T99", code=2)


def test_user_names_that_the_broker_would_mix_up_are_refused(tmp_path: Path) -> None:
    twice = '[[devices]]\nkind = "headset"\nid = "H01"\ntransport = { type = "mqtt", username = "node-1" }\n'
    said = run_cli(room_file(tmp_path, extra=twice), tmp_path / "a", code=2)
    assert "device H01: MQTT user name 'node-1' is already used by device node-1" in said
    like_hub = f'[[devices]]\nkind = "headset"\nid = "{HUB}"\n'
    said = run_cli(room_file(tmp_path, extra=like_hub), tmp_path / "b", code=2)
    assert f"device {HUB}: MQTT user name '{HUB}' is already used by the hub" in said
    # The hub logs in as "hub" but keeps its client id: a device named like that id would take its session.
    hub_user = {"CLASSROOM_HUB_MQTT__USERNAME": "hub"}
    said = run_cli(room_file(tmp_path, extra=like_hub), tmp_path / "b", code=2, env=hub_user)
    assert f"device {HUB}: MQTT user name '{HUB}' is the hub's client id" in said
    bad = '[[devices]]\nkind = "headset"\nid = "H01"\ntransport = { type = "mqtt", username = "h:1\\ntopic #" }\n'
    assert "must be letters, digits" in run_cli(room_file(tmp_path, extra=bad), tmp_path / "c", code=2)


# --- on a real Mosquitto ---------------------------------------------------------------------


@dataclass
class SecuredRoom:
    config: Path
    out: Path
    broker: Mosquitto
    settings: HubSettings

    def password(self, user: str) -> str:
        return passwords(self.out)[user]

    def device(self, user: str, client_id: str | None = None) -> MqttLink:
        return MqttLink(self.broker.url, client_id=client_id or user, username=user, password=self.password(user),
                        manual_ack=False, reconnect_min_s=0.1, reconnect_max_s=0.5)  # fmt: skip


@pytest.fixture
def secured_room(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SecuredRoom]:
    """The room as docs/install.md sets it up: generated files, the shipped broker settings,
    the hub on the loopback listener with its own user name and password."""
    config, out = room_file(tmp_path), tmp_path / "mqtt"
    run_cli(config, out)
    broker = Mosquitto(tmp_path / "broker", password_file=out / "passwd", acl_file=out / "acl")
    broker.start()
    monkeypatch.setenv("CLASSROOM_HUB_MQTT__URL", broker.hub_url)
    monkeypatch.setenv("CLASSROOM_HUB_MQTT__USERNAME", HUB)
    monkeypatch.setenv("CLASSROOM_HUB_MQTT__PASSWORD", passwords(out)[HUB])
    try:
        yield SecuredRoom(config, out, broker, load_settings(config))
    finally:
        broker.stop()


@contextlib.asynccontextmanager
async def connected(link: MqttLink) -> AsyncIterator[MqttLink]:
    task = asyncio.create_task(link.run())
    try:
        await link.wait_up(5)
        yield link
    finally:
        with contextlib.suppress(Exception):
            await link.close(timeout=1)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_device_cannot_take_the_hubs_or_another_devices_session(secured_room: SecuredRoom) -> None:
    room = secured_room
    async with run_hub(room.settings) as hub, connected(room.device("T02")) as t02, \
            connected(room.device("node-1")) as node:  # fmt: skip
        hub_link = hub.app[LINK]
        await wait_for(lambda: hub_link.state == "up")
        # A wrong password is refused by the broker.
        intruder = MqttLink(room.broker.url, client_id="x", username="T01", password="guess", manual_ack=False)
        trying = asyncio.create_task(intruder.run())
        with pytest.raises(BusError, match="not reachable"):
            await intruder.wait_up(timeout=1)
        assert "refused" in str(intruder.stats.last_error)
        trying.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await trying

        # T01's own credentials with the hub's client id, then with T02's (as the broker and as the
        # simulators name it), again and again, while the sensor node sends 200 QoS-1 readings.
        topic = device_topic("p9", "node-1", "telemetry")
        start = time.time()
        for round_ in range(10):
            for client_id in (HUB, "T02", "tablet-T02"):
                async with connected(room.device("T01", client_id)):
                    pass
            for n in range(round_ * 20, round_ * 20 + 20):
                node.publish(topic, json.dumps({"readings": [{"key": "ph", "value": 7 + n / 1000, "ts": start + n}]}))
        store = hub.app[STORE]
        await wait_for(lambda: store.stats.readings >= 200, timeout=20)
        assert store.stats.readings == 200  # none lost
        # The hub and T02 kept their one connection (and so their sessions) all along.
        assert (hub_link.stats.connects, hub_link.state) == (1, "up")
        assert (t02.stats.connects, t02.state) == (1, "up")


async def test_a_device_reaches_only_its_own_topics(secured_room: SecuredRoom) -> None:
    room = secured_room
    async with run_hub(room.settings) as hub:
        hub_link = hub.app[LINK]
        await wait_for(lambda: hub_link.state == "up" and hub_link.unconfirmed == 0)  # its retained status is kept
        t01, t02 = room.device("T01"), room.device("T02")
        # T01 listens to every device's commands. Subscriptions go out in this order, so once the
        # hub's retained status arrives the command subscription is in force.
        heard: dict[str, list[str]] = {"T01": [], "T02": []}
        ready: set[str] = set()
        for name, link in (("T01", t01), ("T02", t02)):
            link.subscribe("classroom/p9/devices/+/cmd", lambda m, name=name: heard[name].append(m.topic))
            link.subscribe("classroom/p9/hub/status", lambda m, name=name: ready.add(name))
        async with connected(t01), connected(t02):
            await wait_for(lambda: ready == {"T01", "T02"})
            registry = hub.app[REGISTRY]
            t02.publish(device_topic("p9", "T02", "status"), json.dumps({"state": "online", "battery": 60}))
            await wait_for(lambda: registry.get("T02").battery == 60)  # type: ignore[union-attr]
            # What T01 says as T02 never arrives: its own status, sent after, does.
            t01.publish(device_topic("p9", "T02", "status"), json.dumps({"state": "online", "battery": 5}))
            t01.publish(device_topic("p9", "T01", "status"), json.dumps({"state": "online", "battery": 77}))
            await wait_for(lambda: registry.get("T01").battery == 77)  # type: ignore[union-attr]
            assert registry.get("T02").battery == 60  # type: ignore[union-attr]

            # A command for T02, then one for T01: T01 hears only its own, T02 only its own.
            hub_link.publish(device_topic("p9", "T02", "cmd"), b'{"id": "c2"}', qos=1)
            hub_link.publish(device_topic("p9", "T01", "cmd"), b'{"id": "c1"}', qos=1)
            await wait_for(lambda: heard["T01"] != [] and heard["T02"] != [])
            assert heard == {"T01": [device_topic("p9", "T01", "cmd")], "T02": [device_topic("p9", "T02", "cmd")]}
        assert hub.app[STORE].state == "up" and not hub.app[REJECTIONS].by_reason


async def test_a_revoked_device_is_disconnected_and_cannot_come_back(secured_room: SecuredRoom) -> None:
    room = secured_room
    async with run_hub(room.settings) as hub, connected(room.device("T01")) as t01, \
            connected(room.device("T02")) as t02:  # fmt: skip
        run_cli(room.config, room.out, "--revoke", "T02")
        room.broker.reload()
        # The broker drops T02 at the reload and refuses it from then on (its link keeps trying).
        await wait_for(lambda: t02.stats.last_error is not None and "refused" in t02.stats.last_error, timeout=10)
        assert t02.state != "up"
        # Nothing else moved: the hub and T01 keep their connection.
        t01.publish(device_topic("p9", "T01", "status"), json.dumps({"state": "online", "battery": 42}))
        await wait_for(lambda: hub.app[REGISTRY].get("T01").battery == 42)  # type: ignore[union-attr]
        assert hub.app[LINK].stats.connects == 1 and t01.stats.connects == 1

        # A new password for T01: whoever holds the old one is dropped at the reload and refused.
        run_cli(room.config, room.out, "--rotate", "T01")
        room.broker.reload()
        await wait_for(lambda: t01.stats.last_error is not None and "refused" in t01.stats.last_error, timeout=10)
        async with connected(room.device("T01")) as renewed:  # the device, given the new one
            renewed.publish(device_topic("p9", "T01", "status"), json.dumps({"state": "online", "battery": 41}))
            await wait_for(lambda: hub.app[REGISTRY].get("T01").battery == 41)  # type: ignore[union-attr]
        assert hub.app[LINK].stats.connects == 1
