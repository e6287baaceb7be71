"""What a student on the Wi-Fi can cost the hub's web server (issue #11, findings 6 and 13).

    python bench/web_abuse.py [--slow 200] [--posts 8] [--post-mib 64]

Runs `classroom-hub run` in its own process (embedded broker, a throw-away data folder) and
measures, from outside, as an attacker on the LAN would see it:

- posts:  --posts unauthenticated POST /login at once, each announcing and sending --post-mib
          MiB; the hub's resident memory before and after (it refuses them before reading);
- slow:   --slow connections that send one line of headers and then nothing: how many the hub
          still holds after its header deadline (http.header_timeout_s), how long until the
          last is closed, and whether a normal request is served meanwhile.

Baseline, measured in the same run: the hub's resident memory before the posts, and the time
of a normal request (GET /healthz, 20 in a row) with nobody abusing the hub, beside the same
20 requests while the slow connections are held (``healthz_ms`` vs ``healthz_quiet_ms``).

Prints one JSON line last.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from broker import free_port
from stats import DEFINITION, summary

ROOT = Path(__file__).resolve().parent.parent


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def big_post(port: int, mib: int) -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    size = mib * 1024 * 1024
    writer.write(f"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                 f"Content-Length: {size}\r\n\r\n".encode())  # fmt: skip
    chunk = b"a" * (1024 * 1024)
    try:
        for _ in range(mib):
            writer.write(chunk)
            await writer.drain()
    except ConnectionError:
        pass  # the hub answered and closed before the body was through
    try:
        status = (await asyncio.wait_for(reader.readline(), 30)).decode().strip()
    except (ConnectionError, TimeoutError):
        status = "closed"
    writer.close()
    return status


async def slow_client(port: int) -> float:
    start = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    with contextlib.suppress(ConnectionError, TimeoutError):
        await asyncio.wait_for(reader.read(), 120)
    writer.close()
    return time.monotonic() - start


def healthz_ms(port: int, n: int = 20) -> tuple[list[float], list[int]]:
    """``n`` normal requests in a row, as a tablet makes them: their times and statuses."""
    times, statuses = [], []
    for _ in range(n):
        started = time.perf_counter()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=60) as r:
            r.read()
            statuses.append(r.status)
        times.append((time.perf_counter() - started) * 1000)
    return times, statuses


async def measure(pid: int, port: int, args: argparse.Namespace) -> dict[str, Any]:
    quiet, _ = await asyncio.to_thread(healthz_ms, port)
    before = rss_mb(pid)
    statuses = await asyncio.gather(*(big_post(port, args.post_mib) for _ in range(args.posts)))
    after = rss_mb(pid)
    slow = [asyncio.create_task(slow_client(port)) for _ in range(args.slow)]
    await asyncio.sleep(1)
    under_slow, served = await asyncio.to_thread(healthz_ms, port)
    held = await asyncio.gather(*slow)
    return {
        "rss_before_mb": round(before, 1), "rss_after_posts_mb": round(after, 1),
        "post_answers": sorted(set(statuses)), "served_while_slow": sorted(set(served)),
        "healthz_ms": summary(under_slow), "healthz_quiet_ms": summary(quiet),
        "slow_connections": args.slow, "slow_held_max_s": round(max(held), 2), "percentiles": DEFINITION,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--slow", type=int, default=200)
    parser.add_argument("--posts", type=int, default=8)
    parser.add_argument("--post-mib", type=int, default=64)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        room = Path(tmp) / "room.toml"
        room.write_text(f'data_dir = "{tmp}/hub"\n[room]\nschool_code = "B"\nid = "bench"\nname = "Bench"\n'
                        f'[http]\nhost = "127.0.0.1"\nport = {port}\nmax_connections_per_client = 1000\n')  # fmt: skip
        hub = subprocess.Popen([sys.executable, "-m", "classroom_hub.cli", "run", "-c", str(room), "--log-level",
                                "error"], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
            result = asyncio.run(measure(hub.pid, port, args))
        finally:
            hub.send_signal(signal.SIGTERM)
            hub.wait(30)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
