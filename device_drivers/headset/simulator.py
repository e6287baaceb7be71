"""A VR headset's agent as the hub sees it (protocol: docs/devices.md).

It reports battery, charging, temperature, the running app and scene, the scenes it holds,
free storage and volume; it fetches scenes from the hub over HTTP (resuming a cut download
with a Range request, checking the SHA-256, reporting progress as ``scene_download`` events),
launches them, pauses and resumes, shows "eyes on me", returns home and sets the volume. Like
a real headset it refuses to launch on a nearly flat battery or when it is too hot.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from typing import Any

import aiohttp

from classroom_hub.bus.link import Message
from classroom_hub.bus.payloads import Command
from classroom_hub.bus.topics import device_topic
from device_drivers.headset.commands import SCENE_EVENT
from device_drivers.mqtt_device.simulator import CommandRejected, SimulatedMqttDevice, agent_simulator

LAUNCH_MIN_BATTERY = 10.0  # below this a standalone headset will not start a VR scene
TOO_HOT_C = 45.0  # the headset throttles and refuses new scenes above this
FETCH_TIMEOUT_S = 60.0  # without a byte arriving
FETCH_TRIES = 5  # a cut download resumes where it stopped, this many times
PROGRESS_EVERY_S = 1.0  # a progress event at most this often (and one per tenth of the scene)
SCENE_LOAD_S = (0.005, 0.03)  # how long loading a cached scene takes, at random between the two


class _Partial:
    """A download so far: its length and running SHA-256 (and its bytes, unless a bench says not)."""

    def __init__(self, keep: bool) -> None:
        self.keep = keep
        self.restart()

    def restart(self) -> None:
        self.length = 0
        self.hash = hashlib.sha256()
        self.data = bytearray()

    def add(self, chunk: bytes) -> None:
        self.length += len(chunk)
        self.hash.update(chunk)
        if self.keep:
            self.data.extend(chunk)


class SimulatedHeadset(SimulatedMqttDevice):
    kind = "headset"
    firmware = "vr-agent 2.1.0"
    status_every_s = 10.0
    dropout_chance = 0.02  # headsets go to sleep and wander out of range

    def __init__(
        self,
        *args: Any,
        battery: float | None = None,
        temperature: float | None = None,
        cached: dict[str, bytes] | None = None,
        dropout_chance: float | None = None,
        scene_load_s: tuple[float, float] = SCENE_LOAD_S,
        keep_bundles: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.scene: str | None = None
        self.paused = False
        self.eyes_on_me = False
        self.message: str | None = None
        self.volume = 60
        self.storage_free_mb = self.random.uniform(2000, 20000)
        self.temperature = temperature if temperature is not None else self.random.uniform(30, 36)
        self.hold_temperature = temperature is not None  # a test or bench fixes it
        self.hold_battery = battery is not None  # nobody plugs this one in: it stays flat
        if battery is not None:
            self.battery = battery
        if dropout_chance is not None:
            self.dropout_chance = dropout_chance
        self.cache: dict[str, bytes] = dict(cached or {})  # sha256 -> bundle
        self.fetches: list[str] = []  # sha256 of every bundle fetched from the hub
        self.partial: dict[str, _Partial] = {}  # downloads cut short, resumed from here
        self.keep_bundles = keep_bundles  # False: only the hash is kept (benches fetching 40 x 200 MB)
        self.ranges: list[str] = []  # the Range header of every resumed request
        self._downloads: dict[str, asyncio.Task[None]] = {}
        self.last_failure: dict[str, str] = {}  # sha256 -> why its last download failed
        self.hung = False  # the VR app froze: the headset stays connected but answers nothing
        self.scene_load_s = scene_load_s  # (0, 0): no pretend loading time, for benches that time the hub

    def _on_command(self, message: Message) -> None:
        if not self.hung:
            super()._on_command(message)

    def step(self, dt: float) -> None:
        if not self.hold_battery:
            super().step(dt * (3 if self.scene and not self.paused else 1))  # VR drains fast
        if not self.hold_temperature:
            target = 41.0 if self.scene and not self.paused else 33.0
            self.temperature += (target - self.temperature) * min(1.0, dt / 120)

    def status_fields(self) -> dict[str, Any]:
        return {
            "app": "vr-player" if self.scene else "home",
            "scene": self.scene,
            "paused": self.paused,
            "eyes_on_me": self.eyes_on_me,
            "temperature": round(self.temperature, 1),
            "storage_free_mb": round(self.storage_free_mb),
            "volume": self.volume,
            "scenes": sorted(self.cache),
        }

    async def handle(self, command: Command) -> dict[str, Any]:
        args = command.args
        if command.name == "launch_scene":
            return await self._launch(args)
        if command.name == "fetch_scene":
            return self._start_fetch(args)
        if command.name in ("pause", "resume"):
            if self.scene is None:
                raise CommandRejected("no scene is running")
            self.paused = command.name == "pause"
            return {"scene": self.scene, "paused": self.paused}
        if command.name == "eyes_on_me":
            self.eyes_on_me = bool(args.get("on", True))
            message = args.get("message")
            self.message = str(message)[:200] if self.eyes_on_me and message else None
            return {"eyes_on_me": self.eyes_on_me}
        if command.name == "home":
            self.scene, self.paused, self.eyes_on_me = None, False, False
            return {"app": "home"}
        if command.name == "volume":
            level = args.get("level")
            if not isinstance(level, int) or isinstance(level, bool) or not 0 <= level <= 100:
                raise CommandRejected("volume level must be an integer 0-100")
            self.volume = level
            return {"volume": level}
        if command.name == "status":
            return self.status()
        return await super().handle(command)

    async def _launch(self, args: dict[str, Any]) -> dict[str, Any]:
        scene_id = args.get("scene_id")
        if not isinstance(scene_id, str) or not scene_id:
            raise CommandRejected("launch_scene needs a scene_id")
        if self.battery < LAUNCH_MIN_BATTERY and not self.charging:
            raise CommandRejected(f"battery too low ({self.battery:.0f} %)")
        if self.temperature >= TOO_HOT_C:
            raise CommandRejected(f"too hot ({self.temperature:.1f} °C), let it cool down")
        result: dict[str, Any] = {"scene": scene_id}
        content = args.get("content")
        if isinstance(content, dict):
            sha256 = str(content.get("sha256", ""))
            if sha256 not in self.cache:
                started = time.perf_counter()
                self._check_fetch(sha256, content)
                await self._download(sha256, str(content["url"]), int(content.get("size") or 0))
                if sha256 not in self.cache:
                    raise CommandRejected(self.last_failure.get(sha256, "scene download failed"))
                result |= {"fetched": True, "fetch_ms": round((time.perf_counter() - started) * 1000, 1)}
        if self.scene_load_s[1] > 0:
            await asyncio.sleep(self.random.uniform(*self.scene_load_s))  # loading the scene
        self.scene, self.paused, self.eyes_on_me = scene_id, False, False
        return result

    # --- fetching scenes (docs/devices.md, "Scenes on a headset") ------------------------------

    def _check_fetch(self, sha256: str, content: dict[str, Any]) -> None:
        size = int(content.get("size") or 0)
        if size and size / 1e6 > self.storage_free_mb:
            raise CommandRejected(f"not enough storage for the scene ({size / 1e6:.0f} MB)")
        if not str(content.get("url", "")).startswith(("http://", "https://")):
            raise CommandRejected("scene is missing and the command has no URL to fetch it")

    def _start_fetch(self, args: dict[str, Any]) -> dict[str, Any]:
        content = args.get("content")
        if not isinstance(content, dict) or not isinstance(content.get("sha256"), str):
            raise CommandRejected("fetch_scene needs a content object with a sha256")
        sha256 = content["sha256"]
        if sha256 in self.cache:
            return {"sha256": sha256, "state": "ready"}
        self._check_fetch(sha256, content)
        if sha256 not in self._downloads:
            task = asyncio.get_running_loop().create_task(
                self._download(sha256, content["url"], int(content.get("size") or 0)), name=f"fetch-{self.device_id}"
            )
            self._downloads[sha256] = task
        return {"sha256": sha256, "state": "downloading"}

    async def _download(self, sha256: str, url: str, size: int) -> None:
        """Fetch a bundle, resuming after a cut; keep it only if its hash is the one announced.
        The outcome is a ``scene_download`` event (and the ``scenes`` list of the next status)."""
        running = self._downloads.get(sha256)
        if running is not None and running is not asyncio.current_task():
            await asyncio.shield(running)
            return
        try:
            await self._fetch(sha256, url, size)
        finally:
            self._downloads.pop(sha256, None)

    async def _fetch(self, sha256: str, url: str, size: int) -> None:
        part = self.partial.setdefault(sha256, _Partial(keep=self.keep_bundles))
        total: int | None = size or None
        self._progress(sha256, "downloading", part.length, total)
        timeout = aiohttp.ClientTimeout(sock_read=FETCH_TIMEOUT_S, sock_connect=FETCH_TIMEOUT_S)
        error: tuple[str, str] = ("network", "")
        async with aiohttp.ClientSession(timeout=timeout) as session:
            for attempt in range(FETCH_TRIES):
                headers = {"Range": f"bytes={part.length}-"} if part.length else {}
                if part.length:
                    self.ranges.append(headers["Range"])
                try:
                    async with session.get(url, headers=headers) as response:
                        if response.status == 200:
                            part.restart()  # the server ignored the range: start again
                        elif response.status != 206:
                            error = ("http_error", f"scene not available from the hub: HTTP {response.status}")
                            break
                        if response.content_length is not None:
                            total = part.length + response.content_length
                        shown = time.monotonic()
                        async for chunk in response.content.iter_chunked(1 << 16):
                            part.add(chunk)
                            if time.monotonic() - shown >= PROGRESS_EVERY_S:
                                shown = time.monotonic()
                                self._progress(sha256, "downloading", part.length, total)
                    error = ("", "")
                    break
                except (aiohttp.ClientError, TimeoutError) as err:
                    error = ("network", f"scene download failed: {err or type(err).__name__}")
                    self._progress(sha256, "downloading", part.length, total)
                    await asyncio.sleep(min(5.0, 0.2 * 2**attempt))
        if error[0]:
            self._failed(sha256, *error, part.length, total)
            return
        del self.partial[sha256]
        if part.hash.hexdigest() != sha256:  # the bytes are wrong: never resumed from
            self._failed(sha256, "hash_mismatch", "scene download does not match its sha256; not kept", 0, total)
            return
        self.cache[sha256] = bytes(part.data)
        self.fetches.append(sha256)
        self.storage_free_mb -= part.length / 1e6
        self._progress(sha256, "ready", part.length, part.length)
        self._announce()

    def _failed(self, sha256: str, reason: str, detail: str, done: int, total: int | None) -> None:
        self.last_failure[sha256] = detail
        self._progress(sha256, "failed", done, total, reason=reason, detail=detail[:300])

    def _progress(self, sha256: str, state: str, done: int, total: int | None, **why: str) -> None:
        data: dict[str, Any] = {"sha256": sha256, "state": state, "bytes": done, **why}
        if total is not None:
            data["total"] = total
        event = {"type": SCENE_EVENT, "ts": time.time(), "data": data}
        self.link.publish(device_topic(self.room, self.device_id, "event"), json.dumps(event), qos=1)


simulate = agent_simulator(SimulatedHeadset)
