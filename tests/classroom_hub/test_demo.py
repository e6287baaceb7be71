"""`classroom-hub demo`: the hub and a simulated classroom, as a newcomer runs it."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from classroom_hub.auth import Accounts
from tests.classroom_hub.test_hub_process import free_port
from tests.conftest import wait_for

ROOT = Path(__file__).resolve().parents[2]


def start_demo(env: dict[str, str], log_path: Path, *args: str) -> subprocess.Popen[bytes]:
    with log_path.open("wb") as log:
        command = [sys.executable, "-m", "classroom_hub.cli", "demo", *args]
        return subprocess.Popen(command, stderr=log, cwd=ROOT, env=env)


@pytest.mark.timeout(180)  # a fresh clone builds the robot's host firmware first
async def test_demo_brings_a_whole_classroom_online(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "CLASSROOM_HUB_HTTP__PORT": str(port), "CLASSROOM_HUB_DATA_DIR": str(tmp_path / "demo")}
    proc = start_demo(env, tmp_path / "demo.log")
    try:
        url = f"http://127.0.0.1:{port}"
        online: dict[str, int] = {}
        devices: list[dict[str, object]] = []
        never_seen: list[str] = ["(no answer yet)"]
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                assert proc.poll() is None, (tmp_path / "demo.log").read_text()
                try:
                    async with http.post(f"{url}/login", data={"username": "kythuat", "password": "demo-2026"}) as r:
                        if r.status == 200:
                            async with http.get(f"{url}/api/devices") as d:
                                body = await d.json()
                            if "counts" not in body:  # the demo accounts are made just after start-up
                                await asyncio.sleep(0.5)
                                continue
                            online = {k: v["online"] for k, v in body["counts"].items()}
                            # The simulation lets a few tablets and headsets wander off now and then, as real
                            # ones do; every device must still have reported at least once.
                            never_seen = [dev["id"] for dev in body["devices"] if dev["last_seen"] is None]
                            devices = body["devices"]
                            if not never_seen and online.get("tablet", 0) >= 35 and online.get("headset", 0) >= 35:
                                break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.5)
            async with http.get(f"{url}/healthz") as r:
                assert r.status == 200, await r.text()
        assert never_seen == [], f"never reported: {never_seen}"
        assert sum(online.values()) >= 80, online
        assert online.get("tablet", 0) >= 35, online
        assert online.get("headset", 0) >= 35, online
        assert online.get("teacher_laptop") == 1, online
        assert online.get("sensor_node") == 1, online
        # The welcome comes once every simulator runs; the first demo on a fresh clone builds
        # the robot's host firmware (g++) before that.
        log = tmp_path / "demo.log"
        await wait_for(lambda: "Stop with Ctrl-C." in log.read_text(), timeout=120, interval=0.5)
        welcome = log.read_text()
        assert f"Technician console  {url}/tech   sign in as kythuat" in welcome
        # The welcome counts the room's devices as /tech lists them: every one simulated.
        assert f"{len(devices)} devices as /tech lists them, {len(devices)} of them simulated." in welcome
        assert len(devices) == 88 and "NOT simulated" not in welcome
        assert "password: demo-2026" in welcome
        # The display's address pairs the browser opening it, so /display shows the class code at once.
        display_url = re.search(r'86" display +(\S+)', welcome)
        assert display_url is not None and display_url[1].startswith(f"{url}/display?pair="), welcome
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as screen:
            code = display_url[1].rsplit("=", 1)[1]
            async with screen.post(f"{url}/api/display/pair", json={"code": code}) as paired:
                assert paired.status == 200, await paired.text()
            async with screen.get(f"{url}/api/display") as status:
                assert status.status == 200
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0
    assert "event=hub_stopped" in (tmp_path / "demo.log").read_text()


REAL_ROOM = """
data_dir = "{data}"
[room]
school_code = "THCS-LAN"
id = "p201"
name = "Phòng 201"
[http]
host = "127.0.0.1"
port = {port}
[[central.destinations]]
name = "so-gd"
kind = "postgres"
dsn = "postgresql://hub:secret@central.example.vn:5432/edu"
[[devices]]
kind = "tablet"
id = "T01"
"""


def cli(*args: str, stdin: str = "") -> str:
    done = subprocess.run([sys.executable, "-m", "classroom_hub.cli", *args], input=stdin, capture_output=True,
                          text=True, cwd=ROOT, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


async def test_the_demo_of_a_real_room_file_leaves_its_accounts_alone(tmp_path: Path) -> None:
    real = tmp_path / "classroom-hub"
    config = tmp_path / "room.toml"
    config.write_text(REAL_ROOM.format(data=real, port=free_port()), encoding="utf-8")
    cli("user", "add", "lan", "--role", "teacher", "--password-stdin", "-c", str(config), stdin="mat-khau-lan\n")

    proc = start_demo(dict(os.environ), tmp_path / "demo.log", "-c", str(config))
    try:
        await wait_for(lambda: "Stop with Ctrl-C." in (tmp_path / "demo.log").read_text(), timeout=45, interval=0.2)
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0
    said = (tmp_path / "demo.log").read_text()
    assert f"The demo's own data (accounts, lessons, readings): {real / 'demo'}" in said
    assert "event=demo_destinations_skipped names=so-gd" in said  # simulated records go to no central database

    # The room's real accounts are the technician's: no admin/demo-2026 among them.
    assert usernames(real / "accounts.db") == ["lan"]
    assert usernames(real / "demo" / "accounts.db") == ["admin", "giaovien", "kythuat", "studio", "thinghiem"]
    assert sorted(p.name for p in real.iterdir() if not p.name.startswith("accounts.db")) == ["demo"]


def usernames(database: Path) -> list[str]:
    accounts = Accounts(database)
    try:
        return sorted(user.username for user in accounts.list())
    finally:
        accounts.close()
