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

from tests.classroom_hub.test_hub_process import free_port
from tests.conftest import wait_for

ROOT = Path(__file__).resolve().parents[2]


def start_demo(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("wb") as log:
        return subprocess.Popen([sys.executable, "-m", "classroom_hub.cli", "demo"], stderr=log, cwd=ROOT, env=env)


@pytest.mark.timeout(180)  # a fresh clone builds the robot's host firmware first
async def test_demo_brings_a_whole_classroom_online(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "CLASSROOM_HUB_HTTP__PORT": str(port), "CLASSROOM_HUB_DATA_DIR": str(tmp_path / "demo")}
    proc = start_demo(env, tmp_path / "demo.log")
    try:
        url = f"http://127.0.0.1:{port}"
        online: dict[str, int] = {}
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
        assert f"Technician console  {url}/tech" in welcome
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
