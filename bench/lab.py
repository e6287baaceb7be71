"""The STEM lab under load (issue 7): one Vinaponics kit sampling every sensor at 10 Hz and four
robots streaming at 20 Hz, for 60 s, through the whole hub on a real Mosquitto.

    python bench/lab.py [--seconds 60] [--estops 20]

Every kit is the host-built reference firmware on its own pseudo-terminal (the same code as on
the boards), found by the hub's firmware bridge at a stable path, put on MQTT, ingested into
the store and followed by the labs (alarms, safety rules, experiments). Measured:

- ``readings_per_s``: readings committed to the hub's store per second over the run;
- ``lost``: readings the bridge published that are not in the store, and telemetry frames the
  boards numbered that never arrived (sequence gaps) or arrived broken (both must be 0);
- ``estop``: ``--estops`` emergency stops of the four driving robots, as the lab page's button
  does it: from the command to the last robot's confirmation (its ACK is sent right after it
  cut its motors: ``ack_*``), and to the last robot's telemetry showing motors at 0
  (``telemetry_*``, up to one telemetry period later). Target: p99 <= 200 ms.

Floors, measured in the same run: ``readings_published_per_s``, what the kits offered over
the same window (the store cannot commit more than that); ``estop.floor_ack_ms``, the same
e-stop sent straight over the four serial links (firmware_bridge's KitLink to the same boards,
before the hub opens them: no bridge, MQTT, hub or lab), from the command to the last ACK.

The hub's store runs with the shipped durability (``store_synchronous`` says which).

Uses the machine's Mosquitto on 127.0.0.1:1883 when it runs, else a private one with the
shipped settings. Prints one JSON line last.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from broker import port_open, private_mosquitto
from stats import DEFINITION, summary

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aiohttp import web  # noqa: E402

from classroom_hub.app import COMMANDS, REGISTRY, STORE, build_app  # noqa: E402
from config.settings import HubSettings  # noqa: E402
from firmware_bridge.host_board import HostBoard  # noqa: E402
from firmware_bridge.link import KitLink  # noqa: E402
from firmware_bridge.part import KITS  # noqa: E402
from stem_labs.keys import LAB  # noqa: E402

ROBOTS = [f"robot-{n}" for n in range(1, 5)]
TARGETS = {"estop_p99_ms": 200.0, "lost": 0}


def start_mosquitto(workdir: Path) -> tuple[subprocess.Popen[bytes] | None, str]:
    """The machine's Mosquitto on 1883 if it runs, else a private one with the shipped settings."""
    if port_open(1883):
        return None, "mqtt://127.0.0.1:1883"
    proc, port = private_mosquitto(workdir)
    return proc, f"mqtt://127.0.0.1:{port}"


async def reported(lab: Any, holds: Callable[[dict[str, float]], bool]) -> None:
    """Until every robot's latest telemetry satisfies ``holds`` (woken by each report, no polling)."""
    changed = asyncio.Event()
    remove = lab.robots.on_change(lambda robot_id, kind, detail: changed.set() if kind == "values" else None)
    try:
        while not all(holds(lab.robots.views[r].values) for r in ROBOTS):
            changed.clear()
            await changed.wait()
    finally:
        remove()


async def estop_floor(dev: Path, estops: int) -> list[float]:
    """The e-stop of the four robots straight over their serial links, as the bridge sends it."""
    samples: list[float] = []
    async with contextlib.AsyncExitStack() as stack:
        links = [await stack.enter_async_context(KitLink(str(dev / robot))) for robot in ROBOTS]
        for _ in range(estops):
            await asyncio.gather(*(link.command("reset") for link in links))
            await asyncio.gather(*(link.command("drive", {"left": 70, "right": 65}) for link in links))
            t0 = time.perf_counter()
            await asyncio.gather(*(link.command("estop") for link in links))
            samples.append((time.perf_counter() - t0) * 1000)
            await asyncio.sleep(0.2)
    return samples


async def run(seconds: float, estops: int, workdir: Path, broker_url: str) -> dict[str, Any]:
    dev = workdir / "dev"
    devices: list[dict[str, Any]] = [{"kind": "sensor_node", "id": "vina-1", "heartbeat_timeout_s": 30,
                                      "transport": {"type": "serial", "port": str(dev / "vina-1")}}]  # fmt: skip
    devices += [{"kind": "robot", "id": r, "transport": {"type": "serial", "port": str(dev / r)}} for r in ROBOTS]
    settings = HubSettings(
        room={"school_code": "BENCH", "id": f"lab-{os.getpid()}", "name": "Bench lab", "kind": "stem_lab"},
        mqtt={"url": broker_url}, http={"host": "127.0.0.1", "port": 0}, data_dir=workdir / "hub",
        devices=devices,
    )  # fmt: skip
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(HostBoard("vinaponics", "vina-1", dev / "vina-1", "--telemetry-ms", "100"))
        for robot in ROBOTS:
            await stack.enter_async_context(HostBoard("robot", robot, dev / robot, "--telemetry-ms", "50",
                                                      "--seed", robot[-1]))  # fmt: skip
        floor_ms = await estop_floor(dev, estops)  # the links close again before the hub opens the ports
        app = build_app(settings)
        runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await runner.setup()
        stack.push_async_callback(runner.cleanup)
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        registry, store, bridge, lab = app[REGISTRY], app[STORE], app[KITS], app[LAB]
        deadline = time.monotonic() + 20
        while not all((r := registry.get(d)) is not None and r.state == "online" for d in ["vina-1", *ROBOTS]):
            if time.monotonic() > deadline:
                raise SystemExit("kits did not come online")
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)  # let the first reports and start-up settle

        # --- streaming -----------------------------------------------------------------------
        await store.flush()
        links = {d: bridge.kits[d].link for d in bridge.kits}
        before_missed = {d: (lk.counters["missed_frames"] if lk else 0) for d, lk in links.items()}
        # The bridge stamps each report with time.time() when it publishes it; the window is those stamps.
        published_before, window_start = bridge.counters["readings"], time.time()
        stored_before = store.stats.readings
        started = time.monotonic()
        per_second: list[int] = []
        last = store.stats.readings
        while time.monotonic() - started < seconds:
            await asyncio.sleep(1.0)
            per_second.append(store.stats.readings - last)
            last = store.stats.readings
        published, window_end = bridge.counters["readings"] - published_before, time.time()
        elapsed = time.monotonic() - started
        stored = store.stats.readings - stored_before
        await asyncio.sleep(1.0)  # what is on the wire reaches the store
        await store.flush()
        missed = sum((lk.counters["missed_frames"] if lk else 0) - before_missed[d] for d, lk in links.items())
        dropped = sum(sum(lk.decoder.dropped.values()) for lk in links.values() if lk)
        frames = bridge.counters["telemetry_frames"]

        # --- emergency stops ---------------------------------------------------------------
        commands = app[COMMANDS]
        ack_ms: list[float] = []
        telemetry_ms: list[float] = []
        confirmed = 0
        for _ in range(estops):
            await asyncio.gather(*(commands.send(r, "reset", timeout=3) for r in ROBOTS))
            await asyncio.gather(*(commands.send(r, "drive", {"left": 70, "right": 65}, timeout=3) for r in ROBOTS))
            await reported(lab, lambda v: v.get("motor_l") == 70)
            t0 = time.perf_counter()
            motors_off = asyncio.create_task(reported(lab, lambda v: v.get("motor_l") == 0 and v.get("estop") == 1))
            results = await lab.robots.estop_all("bench")
            ack_ms.append((time.perf_counter() - t0) * 1000)
            confirmed += sum(r.ok for r in results)
            await motors_off
            telemetry_ms.append((time.perf_counter() - t0) * 1000)
            await asyncio.sleep(0.2)

    with contextlib.closing(sqlite3.connect(workdir / "hub" / "telemetry.db")) as db:
        window = (window_start, window_end)
        by_device = dict(db.execute("SELECT device_id, count(*) FROM readings WHERE ts >= ? AND ts < ? "
                                    "GROUP BY device_id", window).fetchall())  # fmt: skip
    in_window = sum(by_device.values())
    return {
        "seconds": round(elapsed, 1),
        "kits": {"vinaponics_hz": 10, "robots": len(ROBOTS), "robot_hz": 20},
        "telemetry_frames": frames,
        "readings_published": published,
        "readings_stored": in_window,
        "readings_per_s": round(stored / elapsed, 1),
        "readings_published_per_s": round(published / elapsed, 1),
        "readings_per_s_min_max": [min(per_second), max(per_second)],
        "stored_by_device": by_device,
        "lost": {"readings": published - in_window, "frames_missed": missed, "frames_dropped": dropped},
        "estop": {
            "runs": estops,
            "robots_confirmed": confirmed,
            "of": estops * len(ROBOTS),
            "ack_ms": summary(ack_ms),
            "telemetry_ms": summary(telemetry_ms),
            "floor_ack_ms": summary(floor_ms),
        },
        "store_synchronous": settings.store.synchronous,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--estops", type=int, default=20)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="bench-lab-") as tmp:
        workdir = Path(tmp)
        broker, url = start_mosquitto(workdir)
        try:
            result = asyncio.run(run(args.seconds, args.estops, workdir, url))
        finally:
            if broker is not None:
                broker.terminate()
                broker.wait(10)
    lost = result["lost"]
    print(f"{result['readings_per_s']} readings/s stored (kits offered {result['readings_published_per_s']}/s) "
          f"for {result['seconds']} s "
          f"({result['telemetry_frames']} telemetry frames); lost: {lost['readings']} readings, "
          f"{lost['frames_missed']} frames missed, {lost['frames_dropped']} dropped")  # fmt: skip
    estop = result["estop"]
    print(
        f"e-stop of {len(ROBOTS)} robots x {estop['runs']}: last ACK p50 {estop['ack_ms']['p50']} ms, "
        f"p99 {estop['ack_ms']['p99']} ms (floor, straight over the serial links: p50 "
        f"{estop['floor_ack_ms']['p50']} ms, p99 {estop['floor_ack_ms']['p99']} ms); motors at 0 in telemetry "
        f"p99 {estop['telemetry_ms']['p99']} ms; store synchronous={result['store_synchronous']}"
    )
    print(json.dumps({"bench": "lab", "python": platform.python_version(), "cpu": platform.machine(),
                      "cores": os.cpu_count(), **result, "targets": TARGETS, "percentiles": DEFINITION},
                     ensure_ascii=False))  # fmt: skip


if __name__ == "__main__":
    main()
