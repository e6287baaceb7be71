"""A VR headset's agent as the hub sees it (protocol: docs/devices.md).

It reports battery, charging, temperature, the running app and scene, free storage and
volume; it launches scenes (fetching a missing bundle from the hub first and checking its
SHA-256), pauses and resumes, shows "eyes on me", returns home and sets the volume. Like a
real headset it refuses to launch on a nearly flat battery or when it is too hot.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from typing import Any

import aiohttp

from classroom_hub.bus.link import Message
from classroom_hub.bus.payloads import Command
from device_drivers.mqtt_device.simulator import CommandRejected, SimulatedMqttDevice, agent_simulator

LAUNCH_MIN_BATTERY = 10.0  # below this a standalone headset will not start a VR scene
TOO_HOT_C = 45.0  # the headset throttles and refuses new scenes above this
FETCH_TIMEOUT_S = 60.0
SCENE_LOAD_S = (0.005, 0.03)  # how long loading a cached scene takes, at random between the two


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
        }

    async def handle(self, command: Command) -> dict[str, Any]:
        args = command.args
        if command.name == "launch_scene":
            return await self._launch(args)
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
                await self._fetch(sha256, str(content.get("url", "")), int(content.get("size") or 0))
                result |= {"fetched": True, "fetch_ms": round((time.perf_counter() - started) * 1000, 1)}
        if self.scene_load_s[1] > 0:
            await asyncio.sleep(self.random.uniform(*self.scene_load_s))  # loading the scene
        self.scene, self.paused, self.eyes_on_me = scene_id, False, False
        return result

    async def _fetch(self, sha256: str, url: str, size: int) -> None:
        """Ask the hub for a missing bundle; keep it only if its hash is the one announced."""
        if size and size / 1e6 > self.storage_free_mb:
            raise CommandRejected(f"not enough storage for the scene ({size / 1e6:.0f} MB)")
        if not url.startswith(("http://", "https://")):
            raise CommandRejected("scene is missing and the command has no URL to fetch it")
        try:
            timeout = aiohttp.ClientTimeout(total=FETCH_TIMEOUT_S)
            async with aiohttp.ClientSession(timeout=timeout) as session, session.get(url) as response:
                if response.status != 200:
                    raise CommandRejected(f"scene not available from the hub: HTTP {response.status}")
                data = await response.read()
        except (aiohttp.ClientError, TimeoutError) as err:
            raise CommandRejected(f"scene download failed: {err}") from err
        if hashlib.sha256(data).hexdigest() != sha256:
            raise CommandRejected("scene download does not match its sha256; not kept")
        self.cache[sha256] = data
        self.fetches.append(sha256)
        self.storage_free_mb -= len(data) / 1e6


simulate = agent_simulator(SimulatedHeadset)
