"""40 headsets fetch one scene from the hub through one classroom access point.

    python bench/scenes_fetch.py [--headsets 40] [--scene-mb 200] [--mbit 30] [--rtt-ms 20]
                                 [--broker mqtt://127.0.0.1:1883]

The issue's case (#14): a 200 MB scene to 40 headsets through the room's access point, 30 Mbit/s
shared, 20 ms round trip; the target is within 1.25x of the floor. That floor is ~36 minutes;
smaller values give a quick run (``--scene-mb 5``: under a minute), and the parameters are in
the JSON line.

The hub runs in this process (its full application: MQTT link, registry, fleet, scene library
and its HTTP server) on the machine's Mosquitto; 40 simulated headsets (device_drivers/headset)
run the real protocol: a launch tells each without the scene to fetch it, each downloads it over
HTTP from ``/scenes/<sha256>?device=..&key=..`` through ``bench/access_point.py`` (one token
bucket for every byte of every connection, half the round trip added each way), hashes it as it
arrives, reports progress on MQTT and plays the scene when its copy is ready.

Measured:
- ``seconds``: from the launch to the 40th headset playing;
- ``floor_s``: total bytes / bandwidth (40 x scene / (mbit / 8)), and ``ratio`` = seconds / floor_s
  against ``target_ratio`` 1.25;
- the baseline in the same run: one client alone downloads (part of) the scene through the same
  access point before the headsets start: ``link_mbit`` is what the modelled link really carries
  here, and ``ratio_to_link`` the ratio against the floor at that rate;
- ``finish_s``: when each headset's copy was ready (nearest-rank p50, p99, max; bench/stats.py);
- ``resumed``: Range requests (downloads resumed after a cut; 0 unless the link drops).

Prints one JSON line last.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from access_point import AccessPoint
from stats import summary

from classroom_hub.app import REGISTRY, build_app
from classroom_hub.fleet.keys import FLEET
from config.settings import HubSettings
from device_drivers.headset.fleet import HeadsetFleet

BASELINE_MAX_BYTES = 20 << 20  # the baseline download: the scene, or its first 20 MB


def write_scene(path: Path, size: int) -> str:
    """A scene of ``size`` random bytes (incompressible, like a real one), written in 1 MB pieces."""
    digest = hashlib.sha256()
    with path.open("wb") as f:
        left = size
        while left:
            chunk = os.urandom(min(left, 1 << 20))
            digest.update(chunk)
            f.write(chunk)
            left -= len(chunk)
    return digest.hexdigest()


async def baseline(url: str, limit: int) -> tuple[int, float]:
    """One client alone through the access point: (bytes, seconds)."""
    got = 0
    async with aiohttp.ClientSession() as session:
        started = time.perf_counter()
        async with session.get(url, headers={"Range": f"bytes=0-{limit - 1}"}) as response:
            response.raise_for_status()
            async for chunk in response.content.iter_chunked(1 << 16):
                got += len(chunk)
        return got, time.perf_counter() - started


async def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    room = f"bench-scenes-{os.getpid()}"
    settings = HubSettings(
        room={"school_code": "BENCH", "id": room, "name": "Bench"},
        mqtt={"url": args.broker, "reconnect_min_s": 0.1, "reconnect_max_s": 0.5},
        http={"host": "127.0.0.1", "port": 0},
        data_dir=str(workdir / "hub"),
        devices=[{"kind": "headset", "id": "H{:02d}", "count": args.headsets, "heartbeat_timeout_s": 600}],
    )
    size = int(args.scene_mb * 1e6)
    package = workdir / "scene.bin"
    sha256 = write_scene(package, size)
    app = build_app(settings)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        fleet = app[FLEET]
        scene = await asyncio.to_thread(fleet.scenes.add, "bench-scene", package.read_bytes(), "Bench")
        assert scene.sha256 == sha256
        async with AccessPoint(("127.0.0.1", port), mbit_s=args.mbit, rtt_ms=args.rtt_ms) as ap:
            base_url = f"http://127.0.0.1:{ap.port}"
            measured_bytes, measured_s = await baseline(
                fleet.scene_keys.url(base_url, "H01", sha256), min(size, BASELINE_MAX_BYTES)
            )
            ap.bytes_down = ap.bytes_up = 0
            ready_at: dict[str, float] = {}
            done = asyncio.Event()
            ids: set[str] = set()

            def on_copy(copy: Any) -> None:
                if copy.sha256 == sha256 and copy.state == "ready" and copy.device_id not in ready_at:
                    ready_at[copy.device_id] = time.perf_counter()

            def on_launch() -> None:
                rows = fleet.launcher.rows()
                if rows and all(r["state"] == "playing" for r in rows):
                    done.set()
                elif any(r["state"] in ("fetch_failed", "launch_failed", "offline") for r in rows):
                    bad = [r for r in rows if r["state"] in ("fetch_failed", "launch_failed", "offline")]
                    print(f"not every headset made it: {bad[:3]}", file=sys.stderr)
                    done.set()

            fleet.copies.on_change(on_copy)
            fleet.launcher.on_change(on_launch)
            headsets = HeadsetFleet(args.broker, room, count=args.headsets, dropout_chance=0.0,
                                    keep_bundles=False, scene_load_s=(0.0, 0.0))  # fmt: skip
            ids = set(headsets.headsets)
            async with headsets:
                registry = app[REGISTRY]
                all_online = asyncio.Event()

                def count(_change: Any = None) -> None:
                    if registry.counts().get("headset", {}).get("online", 0) >= len(ids):
                        all_online.set()

                remove = registry.on_change(count)
                count()
                await asyncio.wait_for(all_online.wait(), timeout=60)
                remove()
                started = time.perf_counter()
                await fleet.launcher.launch(scene, base_url)
                await asyncio.wait_for(done.wait(), timeout=max(600.0, 4 * len(ids) * size * 8 / (args.mbit * 1e6)))
                seconds = time.perf_counter() - started
                playing = sum(r["state"] == "playing" for r in fleet.launcher.rows())
                resumed = sum(len(h.ranges) for h in headsets.headsets.values())
    finally:
        await runner.cleanup()
    floor_s = len(ids) * size * 8 / (args.mbit * 1e6)
    link_mbit = measured_bytes * 8 / measured_s / 1e6
    link_floor_s = len(ids) * size * 8 / (link_mbit * 1e6)
    finish = [t - started for t in ready_at.values()]
    return {
        "bench": "scenes_fetch",
        "headsets": len(ids),
        "scene_mb": args.scene_mb,
        "mbit": args.mbit,
        "rtt_ms": args.rtt_ms,
        "playing": playing,
        "seconds": round(seconds, 1),
        "floor_s": round(floor_s, 1),
        "ratio": round(seconds / floor_s, 3),
        "target_ratio": 1.25,
        "within_target": seconds / floor_s <= 1.25,
        "link_mbit": round(link_mbit, 2),
        "ratio_to_link": round(seconds / link_floor_s, 3),
        "finish_s": summary(finish) if finish else None,
        "resumed": resumed,
        "bytes_through_ap": ap.bytes_down + ap.bytes_up,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--headsets", type=int, default=40)
    parser.add_argument("--scene-mb", type=float, default=200.0)
    parser.add_argument("--mbit", type=float, default=30.0)
    parser.add_argument("--rtt-ms", type=float, default=20.0)
    parser.add_argument("--broker", default="mqtt://127.0.0.1:1883")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-scenes-") as tmp:
        result = asyncio.run(run(args, Path(tmp)))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
