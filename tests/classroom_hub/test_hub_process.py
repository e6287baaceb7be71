"""The hub as a process: starts, reports its health, stops cleanly, survives being killed."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from classroom_hub.bus.broker import free_port
from classroom_hub.bus.link import MqttLink
from classroom_hub.bus.topics import device_topic, hub_status_topic
from tests.classroom_hub.test_bus import first_message
from tests.conftest import Mosquitto, room_settings, run_hub, wait_for
from tests.hub_process import HubProcess

ROOT = Path(__file__).resolve().parents[2]


def room_file(tmp_path: Path, broker_url: str, room: str, http_port: int) -> Path:
    path = tmp_path / "room.toml"
    path.write_text(
        f"""
data_dir = "{tmp_path / "data"}"
[room]
school_code = "TEST"
id = "{room}"
name = "Phòng thử"
[mqtt]
url = "{broker_url}"
reconnect_min_s = 0.1
reconnect_max_s = 0.5
[http]
host = "127.0.0.1"
port = {http_port}
[[devices]]
kind = "sensor_node"
id = "node-1"
""",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def hub_process(tmp_path: Path, mosquitto: Mosquitto) -> Iterator[HubProcess]:
    http_port = free_port()
    config = room_file(tmp_path, mosquitto.url, f"proc{os.getpid()}", http_port)
    hub = HubProcess(config, http_port, tmp_path / "hub.log")
    yield hub
    if hub.proc is not None and hub.proc.poll() is None:
        hub.proc.kill()
        hub.proc.wait()


def stored(tmp_path: Path) -> int:
    with sqlite3.connect(tmp_path / "data" / "telemetry.db") as c:
        return int(c.execute("SELECT count(*) FROM readings").fetchone()[0])


async def publish(url: str, room: str, count: int, start: int = 0, pace: int = 100) -> None:
    device = MqttLink(url, client_id=f"node-1-{time.monotonic_ns()}", manual_ack=False)
    task = asyncio.create_task(device.run())
    await device.wait_up(5)
    for i in range(start, start + count):
        body = {"ts": 1_800_000_000.0 + i, "readings": [{"key": "ph", "value": 7.0}]}
        device.publish(device_topic(room, "node-1", "telemetry"), json.dumps(body), qos=1)
        if i % pace == 0:
            await asyncio.sleep(0.002)
    await device.close(timeout=10)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def test_sigterm_stops_cleanly_with_nothing_lost(
    tmp_path: Path, mosquitto: Mosquitto, hub_process: HubProcess
) -> None:
    hub_process.start()
    health = await hub_process.healthy()
    assert health["status"] == "ok"
    room = f"proc{os.getpid()}"
    await publish(mosquitto.url, room, 3000)
    started = time.monotonic()
    assert hub_process.stop(signal.SIGTERM) == 0
    assert time.monotonic() - started < 10
    log = hub_process.log()
    assert "event=hub_stopped" in log
    assert "Traceback" not in log
    # Every line is one structured event.
    assert all(line.startswith("ts=") for line in log.splitlines() if line.strip())
    # Whatever the broker had delivered is in the store; the rest waits in the session.
    hub_process.start()
    await hub_process.healthy()
    await wait_for(lambda: stored(tmp_path) >= 3000, timeout=20)
    assert stored(tmp_path) == 3000
    status = json.loads(await first_message(mosquitto.url, hub_status_topic(room)))
    assert status["state"] == "online"
    assert hub_process.stop(signal.SIGINT) == 0
    status = json.loads(await first_message(mosquitto.url, hub_status_topic(room)))
    assert status["state"] == "offline"  # said on the way out, retained for whoever looks


async def test_sigkill_mid_stream_loses_and_doubles_nothing(
    tmp_path: Path, mosquitto: Mosquitto, hub_process: HubProcess
) -> None:
    hub_process.start()
    await hub_process.healthy()
    room = f"proc{os.getpid()}"
    publisher = asyncio.create_task(publish(mosquitto.url, room, 20_000, pace=50))
    await wait_for(lambda: stored(tmp_path) >= 2000, timeout=20, interval=0.01)
    assert hub_process.stop(signal.SIGKILL) == -signal.SIGKILL  # power cut in the middle of the stream
    killed_at = stored(tmp_path)
    assert killed_at < 20_000
    await publisher
    hub_process.start()
    await hub_process.healthy()
    await wait_for(lambda: stored(tmp_path) >= 20_000, timeout=60, interval=0.1)
    # Acked only once committed: the broker redelivered the rest; the store's key dropped repeats.
    assert stored(tmp_path) == 20_000
    with sqlite3.connect(tmp_path / "data" / "telemetry.db") as c:
        assert c.execute("SELECT count(DISTINCT ts) FROM readings").fetchone()[0] == 20_000
    assert hub_process.stop() == 0


async def test_a_second_signal_forces_the_exit(tmp_path: Path, hub_process: HubProcess, mosquitto: Mosquitto) -> None:
    hub_process.start()
    await hub_process.healthy()
    assert mosquitto.proc is not None
    mosquitto.proc.send_signal(signal.SIGSTOP)  # a frozen broker makes the goodbye slow ...
    try:
        assert hub_process.proc is not None
        hub_process.proc.send_signal(signal.SIGINT)
        await wait_for(lambda: "event=stopping signal=SIGINT" in hub_process.log())  # the first one was heard
        # ... and the technician presses Ctrl-C again.
        assert hub_process.stop(signal.SIGINT, timeout=10) == 130
        assert "event=forced_exit" in hub_process.log()
    finally:
        mosquitto.proc.send_signal(signal.SIGCONT)


async def test_healthz_is_503_while_the_broker_is_unreachable(tmp_path: Path) -> None:
    settings = room_settings(tmp_path, f"mqtt://127.0.0.1:{free_port()}")
    async with run_hub(settings) as hub, aiohttp.ClientSession() as http, http.get(f"{hub.url}/healthz") as r:
        assert r.status == 503
        body = await r.json()
    assert body["status"] == "degraded"
    assert body["parts"]["bus"] == "down"
    assert body["parts"]["store"] == "up"


async def test_healthz_is_200_when_every_part_is_up(tmp_path: Path, system_mosquitto_url: str) -> None:
    settings = room_settings(tmp_path, system_mosquitto_url)
    async with run_hub(settings) as hub, aiohttp.ClientSession() as http, http.get(f"{hub.url}/healthz") as r:
        body = await r.json()
        assert r.status == 200, body
    assert set(body["parts"]) >= {"store", "bus", "registry"}
    assert all(state == "up" for state in body["parts"].values())
