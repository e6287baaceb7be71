"""Lesson fan-out: how long a teacher's step takes to reach every tablet, against a bare floor.

    python bench/sync_fanout.py [--clients 40] [--steps 50] [--procs 2] [--interval-s auto]

The hub runs as ``python -m classroom_hub.cli run -c <room file>`` in its own process, with
a class of ``--clients`` students in its roster. The tablets are simulated in ``--procs``
separate processes, each speaking the real protocol over real sockets: join over HTTP,
hello, apply and acknowledge every delta, answer every heartbeat. The teacher (this
process) sends ``--steps`` step changes; each tablet notes when the step arrived.
Latency is teacher send -> tablet receipt, both read with ``time.perf_counter_ns()``,
which is CLOCK_MONOTONIC on Linux and so shared by all processes.

The floor is the same client harness against a bare ``websockets`` broadcast server
(compression off) that sends a delta of the same size to everyone, in the same run: what
Python clients on this machine can receive at best. The hub's figure should be close.

Prints a human summary, then one JSON line last:
``{clients, p50_ms, p99_ms, max_ms, floor_p50_ms, floor_p99_ms, floor_max_ms, hub_rss_mb, ...}``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing as mp
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from stats import DEFINITION, percentile

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
LESSON = "chuyen-dong-thang-10"  # a sample lesson (13 steps) imported by the hub on first start
CLASS = "bench-class"
CONNECT_AT_ONCE = 50


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# --- the room -------------------------------------------------------------------------------


def prepare_room(folder: Path, clients: int, port: int) -> tuple[Path, str]:
    """A room file, a roster with one class of ``clients`` students, a teacher account."""
    from classroom_hub.auth import Accounts
    from classroom_hub.lessons.rosters import ROSTER_FILE
    from classroom_hub.roster import Class, Enrollment, Person, Roster, RosterCache, School

    data = folder / "hub"
    data.mkdir(parents=True)
    school = School(sourced_id="bench-school", name="Trường đo đạc", code="BENCH")
    people = {
        f"hs-{i:04d}": Person(
            sourced_id=f"hs-{i:04d}", role="student", citizen_id=f"0362{13:02d}{i:06d}",
            family_name="Nguyễn", middle_name="Văn", given_name=f"Số {i}", school_sourced_ids=("bench-school",),
        )
        for i in range(1, clients + 1)
    }  # fmt: skip
    roster = Roster(
        schools={school.sourced_id: school},
        classes={CLASS: Class(sourced_id=CLASS, title="Lớp đo đạc", school_sourced_id="bench-school")},
        people=people,
        enrollments={
            f"e-{sid}": Enrollment(
                sourced_id=f"e-{sid}",
                class_sourced_id=CLASS,
                school_sourced_id="bench-school",
                person_sourced_id=sid,
                role="student",
            )
            for sid in people
        },
    )
    with RosterCache(data / ROSTER_FILE) as cache:
        cache.replace(roster)
    password = secrets.token_urlsafe(12)
    accounts = Accounts(data / "accounts.db")
    accounts.add("bench", password, "teacher", "Bench")
    accounts.close()
    room = folder / "room.toml"
    room.write_text(
        f"""data_dir = "{data}"
[room]
school_code = "BENCH"
id = "bench-room"
name = "Phòng đo đạc"
[http]
host = "127.0.0.1"
port = {port}
# In a school each tablet has its own address; here every simulated tablet is 127.0.0.1, so the
# per-address connection cap (64 by default, a defence against one greedy client) must admit them.
max_connections_per_client = {max(64, clients + 16)}
[mqtt]
embedded_port = {free_port()}
""",
        encoding="utf-8",
    )
    return room, password


def start_hub(room: Path, port: int) -> subprocess.Popen[bytes]:
    hub = subprocess.Popen(
        [sys.executable, "-m", "classroom_hub.cli", "run", "-c", str(room), "--log-level", "warning"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if hub.poll() is not None:
            raise SystemExit(f"the hub stopped: {hub.stderr.read().decode() if hub.stderr else ''}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return hub
        time.sleep(0.1)
    hub.kill()
    raise SystemExit("the hub did not start within 60 s")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


# --- the floor: a bare broadcast server -----------------------------------------------------


def serve_floor(port: int, payload_bytes: int) -> None:
    import logging

    from websockets.asyncio.server import broadcast, serve
    from websockets.exceptions import ConnectionClosed

    async def main() -> None:
        clients: set[Any] = set()
        rev = 0
        pad = "x" * max(0, payload_bytes - 60)

        async def handler(ws: Any) -> None:
            nonlocal rev
            clients.add(ws)
            try:
                async for raw in ws:
                    message = json.loads(raw)
                    if message.get("t") == "hello":
                        await ws.send(json.dumps({"t": "welcome", "rev": rev}))
                    elif message.get("t") == "goto":
                        rev += 1
                        broadcast(
                            clients,
                            json.dumps(
                                {"t": "delta", "rev": rev, "set": {"step": {"index": message["step"], "pad": pad}}}
                            ),
                        )
            except ConnectionClosed:
                pass  # the tablets leave without a closing handshake at the end
            finally:
                clients.discard(ws)

        async with serve(handler, "127.0.0.1", port, compression=None, ping_interval=None, max_size=2**20):
            await asyncio.Future()

    logging.getLogger("websockets").setLevel(logging.CRITICAL)  # the readiness probe is not a WebSocket
    asyncio.run(main())


# --- the tablets (in their own processes) ---------------------------------------------------


def tablets_process(ws_url: str, tokens: list[str | None], ready: Any, stop: Any, out: Any) -> None:
    asyncio.run(_tablets(ws_url, tokens, ready, stop, out))


async def _tablets(ws_url: str, tokens: list[str | None], ready: Any, stop: Any, out: Any) -> None:
    received: list[tuple[int, int]] = []  # (revision, perf_counter_ns at receipt)
    welcomed = 0
    all_in = asyncio.Event()
    gate = asyncio.Semaphore(CONNECT_AT_ONCE)

    async def tablet(session: aiohttp.ClientSession, token: str | None) -> None:
        nonlocal welcomed
        async with gate:
            ws = await session.ws_connect(ws_url, compress=0, max_msg_size=0)
            await ws.send_str(json.dumps({"t": "hello", "token": token or "floor-tablet-token"}))
        async for frame in ws:
            at = time.perf_counter_ns()
            message = json.loads(frame.data)
            kind = message["t"]
            if kind == "delta":
                received.append((message["rev"], at))
                await ws.send_str(f'{{"t":"ack","rev":{message["rev"]}}}')
            elif kind == "beat":
                await ws.send_str(f'{{"t":"ack","rev":{message["rev"]},"beat":{message["n"]}}}')
            elif kind == "welcome":
                await ws.send_str(f'{{"t":"ack","rev":{message["rev"]}}}')
                welcomed += 1
                if welcomed == len(tokens):
                    all_in.set()

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        tasks = [asyncio.create_task(tablet(session, token)) for token in tokens]
        await all_in.wait()
        ready.put(len(tokens))
        await asyncio.get_running_loop().run_in_executor(None, stop.wait)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    out.put(received)


# --- one measured run -----------------------------------------------------------------------


async def teacher_steps(session: aiohttp.ClientSession, ws_url: str, steps: int, interval_s: float,
                        floor: bool) -> tuple[dict[int, int], list[int]]:  # fmt: skip
    """Send the steps; returns send time by the revision each step became, and the delta sizes."""
    sent: dict[int, int] = {}
    sizes: list[int] = []
    async with session.ws_connect(ws_url, compress=0, max_msg_size=0) as ws:
        if floor:
            await ws.send_str(json.dumps({"t": "hello", "token": "floor-teacher-token"}))
        waiting: asyncio.Queue[int] = asyncio.Queue()

        async def read() -> None:
            async for frame in ws:
                message = json.loads(frame.data)
                if message["t"] == "delta" and "step" in message["set"]:
                    sizes.append(len(frame.data.encode()))
                    waiting.put_nowait(message["rev"])
                elif message["t"] == "beat":
                    await ws.send_str(f'{{"t":"ack","rev":{message["rev"]},"beat":{message["n"]}}}')

        reader = asyncio.create_task(read())
        for k in range(1, steps + 1):
            started = time.perf_counter_ns()
            await ws.send_str(json.dumps({"t": "goto", "step": k % 13}))
            rev = await asyncio.wait_for(waiting.get(), 30)
            sent[rev] = started
            await asyncio.sleep(interval_s)
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
    return sent, sizes


def measure(ws_url: str, tokens: list[str | None], procs: int, steps: int, interval_s: float,
            teacher_url: str, cookies: dict[str, str] | None) -> tuple[list[float], list[int]]:  # fmt: skip
    ctx = mp.get_context("spawn")
    ready, out, stop = ctx.Queue(), ctx.Queue(), ctx.Event()
    shares = [tokens[i::procs] for i in range(procs)]
    workers = [ctx.Process(target=tablets_process, args=(ws_url, share, ready, stop, out)) for share in shares if share]
    for worker in workers:
        worker.start()
    for _ in workers:
        ready.get(timeout=300)
    time.sleep(1.0)  # let the class list settle on the teacher's side

    async def teach() -> tuple[dict[int, int], list[int]]:
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as session:
            if cookies:
                jar.update_cookies(cookies)
            return await teacher_steps(session, teacher_url, steps, interval_s, floor=cookies is None)

    sent, sizes = asyncio.run(teach())
    time.sleep(min(2.0, interval_s * 2))
    stop.set()
    latencies: list[float] = []
    for _ in workers:
        for rev, at in out.get(timeout=120):
            if rev in sent:
                latencies.append((at - sent[rev]) / 1e6)
    for worker in workers:
        worker.join(30)
    return latencies, sizes


# --- main -----------------------------------------------------------------------------------


async def join_all(base: str, password: str, clients: int) -> tuple[list[str | None], dict[str, str]]:
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as session:
        await session.post(f"{base}/login", data={"username": "bench", "password": password}, allow_redirects=False)
        cookies = {c.key: c.value for c in jar}
        async with session.ws_connect(f"{base}/ws/lesson?role=teacher") as teacher:
            await teacher.send_str(json.dumps({"t": "launch", "lesson": LESSON, "class": CLASS}))
            code = None
            while code is None:
                message = json.loads((await teacher.receive(timeout=30)).data)
                if message["t"] == "error":
                    raise SystemExit(f"launch refused: {message}")
                if message["t"] == "welcome" and message["run"]:
                    code = message["state"]["code"]
        gate = asyncio.Semaphore(CONNECT_AT_ONCE)

        async def join(i: int) -> str:
            async with gate:
                body = {"code": code, "student": f"hs-{i:04d}", "client": secrets.token_urlsafe(12)}
                async with session.post(f"{base}/api/lesson/join", json=body) as response:
                    return str((await response.json())["token"])

        tokens: list[str | None] = list(await asyncio.gather(*(join(i) for i in range(1, clients + 1))))
    return tokens, cookies


def run(args: argparse.Namespace) -> dict[str, Any]:
    interval = args.interval_s if args.interval_s > 0 else 0.1 + 0.9 * args.clients / 1000
    with tempfile.TemporaryDirectory(prefix="fanout-") as tmp:
        port = free_port()
        room, password = prepare_room(Path(tmp), args.clients, port)
        hub = start_hub(room, port)
        try:
            base = f"http://127.0.0.1:{port}"
            tokens, cookies = asyncio.run(join_all(base, password, args.clients))
            latencies, sizes = measure(f"{base.replace('http', 'ws')}/ws/lesson?role=student", tokens, args.procs,
                                       args.steps, interval, f"{base.replace('http', 'ws')}/ws/lesson?role=teacher",
                                       cookies)  # fmt: skip
            hub_rss = rss_mb(hub.pid)
        finally:
            hub.terminate()
            hub.wait(30)
    payload = round(sum(sizes) / len(sizes)) if sizes else 500
    floor_port = free_port()
    floor = subprocess.Popen([sys.executable, __file__, "--serve-floor", str(floor_port), str(payload)], cwd=ROOT)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", floor_port), timeout=0.2):
                break
            time.sleep(0.05)
        url = f"ws://127.0.0.1:{floor_port}/"
        floor_latencies, _ = measure(url, [None] * args.clients, args.procs, args.steps, interval, url, None)
    finally:
        floor.terminate()
        floor.wait(30)
    expected = args.clients * args.steps
    return {
        "clients": args.clients,
        "steps": args.steps,
        "procs": args.procs,
        "interval_s": round(interval, 3),
        "delta_bytes": payload,
        "received": len(latencies),
        "expected": expected,
        "p50_ms": round(percentile(latencies, 50), 2),
        "p99_ms": round(percentile(latencies, 99), 2),
        "max_ms": round(max(latencies), 2),
        "floor_p50_ms": round(percentile(floor_latencies, 50), 2),
        "floor_p99_ms": round(percentile(floor_latencies, 99), 2),
        "floor_max_ms": round(max(floor_latencies), 2),
        "floor_received": len(floor_latencies),
        "hub_rss_mb": hub_rss,
        "percentiles": DEFINITION,
    }


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--serve-floor":
        serve_floor(int(sys.argv[2]), int(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=40)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--procs", type=int, default=2, help="processes simulating the tablets")
    parser.add_argument("--interval-s", type=float, default=0.0, help="pause between steps (0: by class size)")
    args = parser.parse_args()
    result = run(args)
    ratio = result["p99_ms"] / result["floor_p99_ms"] if result["floor_p99_ms"] else float("inf")
    print(f"{args.clients} tablets, {args.steps} steps: hub p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms, "
          f"max {result['max_ms']} ms; floor p50 {result['floor_p50_ms']} ms, p99 {result['floor_p99_ms']} ms "
          f"(hub/floor p99 {ratio:.2f}); hub RSS {result['hub_rss_mb']} MB; "
          f"received {result['received']}/{result['expected']}")  # fmt: skip
    print(json.dumps(result))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
