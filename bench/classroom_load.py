"""A class of tablets loads a whole lesson through one classroom access point, against the link's floor.

    python bench/classroom_load.py [--tablets 40] [--mbit-s 30] [--rtt-ms 20] [--lesson xem-mo-hinh-phan-tu-nuoc]

The hub runs in its own process (``classroom_hub.cli run``), with a class of ``--tablets``
students. Between the tablets and the hub sits ``bench/access_point.py``: one token bucket of
``--mbit-s`` shared by every byte of every tablet, both ways, plus ``--rtt-ms`` of round trip.

What a tablet does is learnt from a real browser first: headless Chromium opens
``/join?code=…`` (straight to the hub) and every request it makes until the class list shows
is recorded, with its size on the wire: that sum is the join page's first load (target: under
300 KB). Then the ``--tablets`` tablets, HTTP and WebSocket clients (aiohttp, one connection
pool of 6 per tablet like a browser), each replay those requests through the access point, take
a seat (``POST /api/lesson/join``), open the lesson socket (hello, acks, heartbeats: docs/protocol.md)
and fetch every file of each step they are shown, as ``static/lesson.js`` draws it (the slide's
picture, a PDF step's page pictures, a model step's glTF and, once, the 3D viewer's script).
The teacher (straight to the hub) goes to the next step as soon as every tablet has loaded the
current one. Ready: a tablet has loaded every step.

The floor is the time the access point's link needs for all the bytes that crossed it (both
ways): total bytes / bandwidth. Target: all tablets ready within 1.25x the floor.

Prints a human summary, then one JSON line last.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from access_point import AccessPoint
from stats import DEFINITION, summary
from sync_fanout import CLASS, free_port, prepare_room, start_hub

CONNECTIONS_PER_TABLET = 6  # what a browser opens to one host
VIEWER = "/static/vendor/model-viewer.min.js"


def step_files(step: dict[str, Any]) -> list[str]:
    """The files a screen loads to show ``step`` (static/lesson.js, Lesson.renderStep)."""
    kind = step.get("kind")
    files: list[str] = []
    if kind == "slide":
        files += [step[k] for k in ("image",) if step.get("image")] or [step[k] for k in ("html",) if step.get("html")]
    elif kind == "video":
        files += [step[k] for k in ("video", "captions") if step.get(k)]
    elif kind in ("quiz", "poll"):
        files += [step["image"]] if step.get("image") else []
    elif kind == "pdf":
        files += list(step["pages"])
    elif kind == "model":
        files += [VIEWER, step["model"]] + ([step["poster"]] if step.get("poster") else [])
    return files


async def record_first_load(base: str, code: str) -> list[tuple[str, int]]:
    """The requests headless Chromium makes for the join page until the class list shows: (path, bytes)."""
    from playwright.async_api import async_playwright

    executable = shutil.which("chromium") or "/usr/bin/chromium"
    seen: list[tuple[str, Any]] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=executable, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = await (await browser.new_context(viewport={"width": 800, "height": 1280})).new_page()
            page.on("requestfinished", lambda request: seen.append((request.url, request)))
            await page.goto(f"{base}/join?code={code}")
            await page.wait_for_selector("#names [data-student]")
            await page.wait_for_load_state("networkidle")
            recorded = []
            for url, request in seen:
                sizes = await request.sizes()
                wire = sizes["responseBodySize"] + sizes["responseHeadersSize"] + sizes["requestHeadersSize"]
                parts = urlsplit(url)
                recorded.append((parts.path + (f"?{parts.query}" if parts.query else ""), wire))
        finally:
            await browser.close()
    return recorded


class Tablet:
    def __init__(
        self, number: int, base: str, first_load: list[str], code: str, steps: int, progress: asyncio.Event
    ) -> None:
        self.number = number
        self.student = f"hs-{number:04d}"
        self.base = base
        self.first_load = first_load
        self.code = code
        self.loaded: set[int] = set()
        self.fetched: set[str] = set()
        self.steps = steps
        self.ready_s: float | None = None
        self.progress = progress  # set on every step loaded: the teacher's cue
        self.errors: list[str] = []

    async def get(self, session: aiohttp.ClientSession, path: str) -> None:
        async with session.get(self.base + path) as response:
            await response.read()
            if response.status != 200:
                self.errors.append(f"{path}: {response.status}")

    async def run(self, started: float, stop: asyncio.Event) -> None:
        # Each tablet its own address (127.0.1.<n>), as on a classroom's Wi-Fi: the hub caps connections per address.
        connector = aiohttp.TCPConnector(
            limit_per_host=CONNECTIONS_PER_TABLET, local_addr=(f"127.0.1.{self.number}", 0)
        )
        async with aiohttp.ClientSession(connector=connector) as session:
            page, *rest = self.first_load
            await self.get(session, page)
            await asyncio.gather(*(self.get(session, path) for path in rest))
            body = {"code": self.code, "student": self.student, "client": secrets.token_urlsafe(12)}
            async with session.post(f"{self.base}/api/lesson/join", json=body) as response:
                token = (await response.json())["token"]
            ws_url = self.base.replace("http", "ws", 1) + "/ws/lesson?role=student"
            async with session.ws_connect(ws_url, compress=0, max_msg_size=0) as ws:
                await ws.send_str(json.dumps({"t": "hello", "token": token}))
                reader = asyncio.create_task(self._read(ws, session, started))
                await stop.wait()
                reader.cancel()
                await asyncio.gather(reader, return_exceptions=True)

    async def _read(self, ws: aiohttp.ClientWebSocketResponse, session: aiohttp.ClientSession, started: float) -> None:
        async for frame in ws:
            message = json.loads(frame.data)
            kind = message["t"]
            if kind in ("welcome", "delta"):
                await ws.send_str(json.dumps({"t": "ack", "rev": message["rev"]}))
                step = (message.get("state") or message.get("set") or {}).get("step")
                if step:
                    await self._show(step, session, started)
            elif kind == "beat":
                await ws.send_str(json.dumps({"t": "ack", "rev": message["rev"], "beat": message["n"]}))

    async def _show(self, step: dict[str, Any], session: aiohttp.ClientSession, started: float) -> None:
        wanted = [path for path in step_files(step) if path not in self.fetched]
        self.fetched.update(wanted)
        await asyncio.gather(*(self.get(session, path) for path in wanted))
        self.loaded.add(step["index"])
        if len(self.loaded) == self.steps and self.ready_s is None:
            self.ready_s = time.monotonic() - started
        self.progress.set()


async def teach(base: str, cookies: dict[str, str], tablets: list[Tablet], steps: int, progress: asyncio.Event) -> None:
    """Go through the steps, each as soon as every tablet has loaded the one before."""
    jar = aiohttp.CookieJar(unsafe=True)
    jar.update_cookies(cookies)
    async with (
        aiohttp.ClientSession(cookie_jar=jar) as session,
        session.ws_connect(base.replace("http", "ws", 1) + "/ws/lesson?role=teacher") as ws,
    ):
        beats = asyncio.create_task(_answer_beats(ws))
        for index in range(steps):
            if index > 0:
                await ws.send_str(json.dumps({"t": "goto", "step": index}))
            while not all(index in t.loaded for t in tablets):
                progress.clear()  # no await since the check: no tablet's news is missed
                await progress.wait()
        beats.cancel()


async def _answer_beats(ws: aiohttp.ClientWebSocketResponse) -> None:
    async for frame in ws:
        message = json.loads(frame.data)
        if message["t"] in ("welcome", "delta"):
            await ws.send_str(json.dumps({"t": "ack", "rev": message["rev"]}))
        elif message["t"] == "beat":
            await ws.send_str(json.dumps({"t": "ack", "rev": message["rev"], "beat": message["n"]}))


async def launch(base: str, password: str, lesson: str) -> tuple[str, int, dict[str, str]]:
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as session:
        await session.post(f"{base}/login", data={"username": "bench", "password": password}, allow_redirects=False)
        cookies = {c.key: c.value for c in jar}
        async with session.ws_connect(f"{base}/ws/lesson?role=teacher") as teacher:
            await teacher.send_str(json.dumps({"t": "launch", "lesson": lesson, "class": CLASS}))
            while True:
                message = json.loads((await teacher.receive(timeout=60)).data)
                if message["t"] == "error":
                    raise SystemExit(f"launch refused: {message}")
                if message["t"] == "welcome" and message["run"]:
                    return message["state"]["code"], len(message["state"]["lesson"]["steps"]), cookies


async def measure(port: int, password: str, args: argparse.Namespace) -> dict[str, Any]:
    base = f"http://127.0.0.1:{port}"
    code, steps, cookies = await launch(base, password, args.lesson)
    recorded = await record_first_load(base, code)
    first_load_bytes = sum(size for _path, size in recorded)
    async with AccessPoint(("127.0.0.1", port), mbit_s=args.mbit_s, rtt_ms=args.rtt_ms) as ap:
        ap_base = f"http://127.0.0.1:{ap.port}"
        progress = asyncio.Event()
        first_load = [path for path, _size in recorded]
        tablets = [Tablet(n, ap_base, first_load, code, steps, progress) for n in range(1, args.tablets + 1)]
        stop = asyncio.Event()
        started = time.monotonic()
        running = [asyncio.create_task(t.run(started, stop)) for t in tablets]
        teacher = asyncio.create_task(teach(base, cookies, tablets, steps, progress))
        # Until the teacher is through every step, or a tablet fails (a tablet ends only when told).
        await asyncio.wait([teacher, *running], return_when=asyncio.FIRST_COMPLETED)
        if teacher.done() and teacher.exception() is None:
            elapsed = max(t.ready_s or float("inf") for t in tablets)
        else:
            failed = [task for task in (teacher, *running) if task.done() and task.exception()]
            raise SystemExit(f"the class did not load: {failed[0].exception()!r}")
        stop.set()
        await asyncio.gather(*running, return_exceptions=True)
        total = ap.bytes_down + ap.bytes_up
        floor = ap.link_floor_s(total)
        errors = [e for t in tablets for e in t.errors]
    ready = summary([t.ready_s or float("inf") for t in tablets], 2)
    return {
        "tablets": args.tablets,
        "lesson": args.lesson,
        "steps": steps,
        "link_mbit_s": args.mbit_s,
        "rtt_ms": args.rtt_ms,
        "all_ready_s": round(elapsed, 2),
        "floor_s": round(floor, 2),
        "ratio": round(elapsed / floor, 3),
        "target_ratio": 1.25,
        "ready_p50_s": ready["p50"],
        "ready_p99_s": ready["p99"],
        "bytes_per_tablet": round(total / args.tablets),
        "bytes_down": ap.bytes_down,
        "bytes_up": ap.bytes_up,
        "join_first_load_bytes": first_load_bytes,
        "join_first_load_requests": len(recorded),
        "join_target_bytes": 300_000,
        "http_errors": len(errors),
        "tablets_are": "aiohttp HTTP+WebSocket clients replaying headless Chromium's first load of /join",
        "percentiles": DEFINITION,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tablets", type=int, default=40)
    parser.add_argument("--mbit-s", type=float, default=30.0)
    parser.add_argument("--rtt-ms", type=float, default=20.0)
    parser.add_argument("--lesson", default="xem-mo-hinh-phan-tu-nuoc")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="classroom-load-") as tmp:
        port = free_port()
        room, password = prepare_room(Path(tmp), args.tablets + 1, port)  # one more seat: Chromium's
        hub = start_hub(room, port)
        try:
            result = asyncio.run(measure(port, password, args))
        finally:
            hub.terminate()
            hub.wait(30)
    print(
        f"{result['tablets']} tablets through {args.mbit_s:g} Mbit/s, {args.rtt_ms:g} ms: all ready in "
        f"{result['all_ready_s']} s; link floor {result['floor_s']} s (x{result['ratio']}, target x1.25); "
        f"{result['bytes_per_tablet']} bytes per tablet; join page first load {result['join_first_load_bytes']} "
        f"bytes in {result['join_first_load_requests']} requests (target < 300 KB)"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
