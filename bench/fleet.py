"""The full simulated smart classroom against a hub in its own process, on a real Mosquitto.

    python bench/fleet.py [--launches 50] [--idle-s 30] [--private-broker] [--scene-load-ms LOW HIGH]

The room is config/examples/smart-classroom.toml (86" display, 40 tablets, 40 VR headsets,
4 AR devices, the teacher's laptop) with its display on a simulated Samsung MDC panel over
TCP. The hub runs as `classroom-hub run` in its own process; every simulated device runs
in a second process, speaking MQTT to the broker like the real agents (docs/devices.md).

Measured:
- a scene launch on all 40 headsets, ``--launches`` times, through the technician's HTTP
  API: ``p50_ms``/``p99_ms`` from sending the command to the 40th acknowledgement, as the
  technician's browser sees it (HTTP included); the hub's own figure is in ``hub_p*_ms``;
- the floor, ``floor_p*_ms``: the same launch_scene command sent by a bare paho client to
  the same 40 simulated headsets on the same broker, all at once, to the 40th reply,
  ``--launches`` times, before the hub starts (a bare MQTT request/reply round trip);
- ``hub_rss_mb``: the hub's resident memory at the end (VmRSS) and its peak (VmHWM);
- ``hub_cpu_idle_pct``: the hub's CPU over ``--idle-s`` seconds with the room connected
  and nothing asked of it (utime + stime from /proc/<pid>/stat).

The simulated headsets load a scene instantly here (``--scene-load-ms 0 0``, the default):
in the demo and the tests each pretends to load for 5-30 ms, which would be most of what
is measured and is not the hub's time.

Uses the machine's Mosquitto on 127.0.0.1:1883 when it runs, else a private one with the
shipped settings (config/mosquitto/classroom-hub.conf). Prints one JSON line last.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing as mp
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from broker import free_port, port_open, private_mosquitto
from stats import DEFINITION, percentile

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
EXAMPLE = ROOT / "config" / "examples" / "smart-classroom.toml"
SCENE = b"glTF bundle: the water cycle (bench) " * 50_000  # ~1.8 MB
TARGETS = {"p99_ms": 100.0, "hub_rss_mb": 150.0, "hub_cpu_idle_pct": 5.0}


def start_mosquitto(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    proc, port = private_mosquitto(workdir)
    return proc, f"mqtt://127.0.0.1:{port}"


def room_file(workdir: Path, broker_url: str, room: str, http_port: int, display_port: int) -> Path:
    """The shipped smart classroom, pointed at this bench's broker, folder, port and display."""
    text = EXAMPLE.read_text(encoding="utf-8")
    swaps = [
        (r'(?m)^data_dir = .*$', f'data_dir = "{workdir / "hub"}"'),
        (r'(?m)^id = "p201".*$', f'id = "{room}"'),
        (r'(?m)^url = "mqtt://.*$', f'url = "{broker_url}"'),
        (r'(?m)^username = .*$\n', ""),
        (r'(?m)^host = "0.0.0.0"$', 'host = "127.0.0.1"'),
        (r'(?m)^port = 8080$', f"port = {http_port}"),
        (r'(?m)^public_url = .*$', f'public_url = "http://127.0.0.1:{http_port}"'),
        (r'(?m)^transport = \{ type = "serial".*$',
         f'transport = {{ type = "tcp", host = "127.0.0.1", port = {display_port} }}'),
    ]  # fmt: skip
    for pattern, replacement in swaps:
        text, n = re.subn(pattern, replacement, text, count=1)
        if n != 1:
            raise SystemExit(f"{EXAMPLE}: expected a line matching {pattern!r}")
    path = workdir / "room.toml"
    path.write_text(text, encoding="utf-8")
    from config.loader import load_settings

    load_settings(path)  # fail here, not in the hub process
    return path


# --- the simulated room (its own process) ----------------------------------------------------


def simulated_room(
    broker_url: str, room: str, sha256: str, scene_load_s: tuple[float, float], ready: Any, stop: Any
) -> None:
    asyncio.run(_simulated_room(broker_url, room, sha256, scene_load_s, ready, stop))


async def _simulated_room(
    broker_url: str, room: str, sha256: str, scene_load_s: tuple[float, float], ready: Any, stop: Any
) -> None:
    from device_drivers.ar_device.simulator import SimulatedArDevice
    from device_drivers.display.simulator import PanelState, PanelTcpServer, SimulatedPanel
    from device_drivers.headset.fleet import HeadsetFleet
    from device_drivers.tablet.simulator import SimulatedTablet
    from device_drivers.teacher_laptop.simulator import SimulatedTeacherLaptop

    loop = asyncio.get_running_loop()
    others: list[Any] = [SimulatedTablet(broker_url, room, f"T{n:02d}", dropout_chance=0) for n in range(1, 41)]
    others += [SimulatedArDevice(broker_url, room, f"AR{n:02d}") for n in range(1, 5)]
    for ar in others[-4:]:
        ar.dropout_chance = 0
    others.append(SimulatedTeacherLaptop(broker_url, room, "laptop-gv"))
    async with PanelTcpServer(SimulatedPanel("samsung_mdc", 1, PanelState(power=True))) as panel:
        tasks = [asyncio.create_task(d.run()) for d in others]
        async with HeadsetFleet(
            broker_url, room, count=40, cached={sha256: SCENE}, scene_load_s=scene_load_s
        ) as headsets:
            await asyncio.gather(*(d.link.wait_up(20) for d in others))
            ready.put(panel.port)
            await loop.run_in_executor(None, stop.wait)
            del headsets
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


# --- the floor: a bare MQTT request/reply to the same headsets --------------------------------


def bare_launches(broker_url: str, room: str, launch_args: dict[str, Any], launches: int) -> dict[str, Any]:
    """A bare paho client sends launch_scene to the 40 headsets at once and waits for the 40 replies."""
    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion

    from classroom_hub.bus.payloads import Command
    from classroom_hub.bus.topics import device_topic, room_filter

    url = urlparse(broker_url)
    headsets = [f"H{n:02d}" for n in range(1, 41)]
    waiting: set[str] = set()
    failed: list[str] = []
    done = threading.Event()
    last_reply = [0.0]
    subscribed = threading.Event()

    def on_message(_c: Any, _u: Any, message: Any) -> None:
        reply = json.loads(message.payload)
        if reply.get("id") in waiting:
            waiting.discard(reply["id"])
            if not reply.get("ok"):
                failed.append(str(reply.get("error")))
            if not waiting:
                last_reply[0] = time.perf_counter()  # timed here, not when the main thread wakes
                done.set()

    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-floor-{os.getpid()}", clean_session=True)
    client.on_message = on_message
    client.on_subscribe = lambda *_: subscribed.set()
    client.connect(url.hostname or "127.0.0.1", url.port or 1883)
    client.loop_start()
    samples: list[float] = []
    try:
        client.subscribe(room_filter(room, "reply"), qos=1)
        if not subscribed.wait(10):
            raise SystemExit("floor: the broker did not confirm the subscription")
        for _ in range(launches):
            commands = {
                h: Command(name="launch_scene", args=launch_args, expires_at=time.time() + 30) for h in headsets
            }
            payloads = {h: c.model_dump_json() for h, c in commands.items()}  # encoded beforehand, like paho's part
            waiting.update(c.id for c in commands.values())
            done.clear()
            started = time.perf_counter()
            for headset, payload in payloads.items():
                client.publish(device_topic(room, headset, "cmd"), payload, qos=1)
            if not done.wait(30):
                raise SystemExit(f"floor: {len(waiting)} headsets did not answer within 30 s")
            samples.append((last_reply[0] - started) * 1000)
            time.sleep(0.2)  # the same pause as between the hub's launches
    finally:
        client.disconnect()
        client.loop_stop()
    return {"samples": samples, "failed": failed}


# --- the hub (its own process) ---------------------------------------------------------------


def start_hub(room: Path, http_port: int) -> subprocess.Popen[bytes]:
    hub = subprocess.Popen(
        [sys.executable, "-m", "classroom_hub.cli", "run", "-c", str(room), "--log-level", "warning"], cwd=ROOT
    )
    deadline = time.monotonic() + 60
    health = f"http://127.0.0.1:{http_port}/healthz"
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), urllib.request.urlopen(health, timeout=1) as r:
            if r.status == 200:
                return hub
        if hub.poll() is not None:
            raise SystemExit("the hub exited at start")
        time.sleep(0.1)
    hub.kill()
    raise SystemExit("the hub did not become healthy")


def cpu_ticks(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of proc(5))


def memory_mb(pid: int) -> tuple[float, float]:
    values = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) / 1024
    return values["VmRSS"], values["VmHWM"]


async def drive(http_port: int, password: str, launches: int, idle_s: float, hub_pid: int) -> dict[str, Any]:
    import aiohttp

    base = f"http://127.0.0.1:{http_port}"
    async with aiohttp.ClientSession(base, cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
        form = {"username": "bench", "password": password, "next": "/tech"}
        async with client.post("/login", data=form, allow_redirects=False) as r:
            if r.status != 302 or "error" in r.headers.get("Location", ""):
                raise SystemExit("bench login failed")
        waited = time.monotonic()
        while True:
            async with client.get("/api/devices") as r:
                counts = (await r.json())["counts"]
            online = sum(c["online"] for c in counts.values())
            if online >= 86 or time.monotonic() - waited > 60:
                break
            await asyncio.sleep(0.25)
        print(f"room connected: {online}/86 devices online after {time.monotonic() - waited:.1f} s", file=sys.stderr)

        wall: list[float] = []
        hub_side: list[float] = []
        failures: list[str] = []
        body = {"target": {"kind": "headset"}, "name": "launch_scene", "args": {"content_id": "water-cycle"}}
        for i in range(launches):
            started = time.perf_counter()
            async with client.post("/api/fleet/command", json=body) as r:
                group = await r.json()
                if r.status != 200:
                    raise SystemExit(f"launch {i + 1} refused: HTTP {r.status} {group}")
            wall.append((time.perf_counter() - started) * 1000)
            hub_side.append(group["duration_ms"])
            if group["counts"]["ok"] != 40:
                failures.append(f"launch {i + 1}: {group['summary']}")
            await asyncio.sleep(0.2)  # a teacher does not launch 5 scenes a second

        await asyncio.sleep(2)  # let the last statuses and battery samples settle
        before, t0 = cpu_ticks(hub_pid), time.monotonic()
        await asyncio.sleep(idle_s)
        cpu_s = (cpu_ticks(hub_pid) - before) / os.sysconf("SC_CLK_TCK")
        idle_pct = 100 * cpu_s / (time.monotonic() - t0)
        async with client.get("/api/devices") as r:
            online_after = sum(c["online"] for c in (await r.json())["counts"].values())
    return {
        "wall": wall, "hub": hub_side, "failures": failures, "online": online,
        "online_after": online_after, "idle_pct": idle_pct,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--launches", type=int, default=50)
    parser.add_argument("--idle-s", type=float, default=30.0)
    parser.add_argument("--private-broker", action="store_true", help="always start a private Mosquitto")
    parser.add_argument(
        "--scene-load-ms",
        type=float,
        nargs=2,
        default=[0.0, 0.0],
        metavar=("LOW", "HIGH"),
        help="how long each simulated headset pretends to load a scene (the demo's: 5 30)",
    )
    args = parser.parse_args()
    scene_load_s = (args.scene_load_ms[0] / 1000, args.scene_load_ms[1] / 1000)

    from classroom_hub.auth import Accounts
    from classroom_hub.fleet.scenes.shelf import SceneShelf

    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as tmp:
        workdir = Path(tmp)
        broker: subprocess.Popen[bytes] | None = None
        if port_open(1883) and not args.private_broker:
            broker_url = "mqtt://127.0.0.1:1883"
        else:
            broker, broker_url = start_mosquitto(workdir)
        room = f"bench-{os.getpid()}"
        scene = SceneShelf(workdir / "hub" / "scenes").add("water-cycle", SCENE, "Vòng tuần hoàn nước")
        ready: Any = mp.Queue()
        stop: Any = mp.Event()
        devices = mp.Process(target=simulated_room, args=(broker_url, room, scene.sha256, scene_load_s, ready, stop))
        devices.start()
        hub: subprocess.Popen[bytes] | None = None
        try:
            display_port = ready.get(timeout=60)
            http_port = free_port()
            # The arguments the hub gives a launch by content id (classroom_hub/fleet/web.py).
            launch_args = {"content_id": "water-cycle", "scene_id": "water-cycle",
                           "content": scene.launch_args(f"http://127.0.0.1:{http_port}")}  # fmt: skip
            floor = bare_launches(broker_url, room, launch_args, args.launches)
            print(f"floor (bare paho request/reply to the 40 headsets): p50 {percentile(floor['samples'], 50):.1f} ms, "
                  f"p99 {percentile(floor['samples'], 99):.1f} ms", file=sys.stderr)  # fmt: skip
            path = room_file(workdir, broker_url, room, http_port, display_port)
            password = "bench-password-1"
            accounts = Accounts(workdir / "hub" / "accounts.db")
            accounts.add("bench", password, "technician", "Bench")
            accounts.close()
            hub = start_hub(path, http_port)
            run = asyncio.run(drive(http_port, password, args.launches, args.idle_s, hub.pid))
            rss, peak = memory_mb(hub.pid)
        finally:
            if hub is not None:
                hub.send_signal(signal.SIGTERM)
                hub.wait(30)
            stop.set()
            devices.join(30)
            if broker is not None:
                broker.terminate()
                broker.wait(10)
    result = {
        "p50_ms": round(percentile(run["wall"], 50), 1),
        "p99_ms": round(percentile(run["wall"], 99), 1),
        "hub_rss_mb": round(rss, 1),
        "hub_cpu_idle_pct": round(run["idle_pct"], 2),
        "hub_p50_ms": round(percentile(run["hub"], 50), 1),
        "hub_p99_ms": round(percentile(run["hub"], 99), 1),
        "floor_p50_ms": round(percentile(floor["samples"], 50), 1),
        "floor_p99_ms": round(percentile(floor["samples"], 99), 1),
        "floor_failed_replies": len(floor["failed"]),
        "headset_scene_load_ms": args.scene_load_ms,
        "hub_peak_rss_mb": round(peak, 1),
        "launches": args.launches,
        "headsets": 40,
        "devices_online": run["online"],
        "devices_online_after": run["online_after"],
        "failed_launches": run["failures"],
        "idle_s": args.idle_s,
        "broker": broker_url,
        "targets": TARGETS,
        "percentiles": DEFINITION,
        "meets_targets": round(percentile(run["wall"], 99), 1) <= TARGETS["p99_ms"]
        and rss <= TARGETS["hub_rss_mb"]
        and run["idle_pct"] <= TARGETS["hub_cpu_idle_pct"],
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
