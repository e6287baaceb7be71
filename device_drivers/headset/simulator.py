"""A VR headset's agent: reports battery, temperature, running scene; launches scenes on command."""

from __future__ import annotations

import asyncio
from typing import Any

from classroom_hub.bus.payloads import Command
from device_drivers.mqtt_device.simulator import CommandRejected, SimulatedMqttDevice


class SimulatedHeadset(SimulatedMqttDevice):
    kind = "headset"
    firmware = "vr-agent 2.1.0"
    status_every_s = 10.0
    dropout_chance = 0.02  # headsets go to sleep and wander out of range

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.scene: str | None = None
        self.paused = False
        self.eyes_on_me = False
        self.volume = 60
        self.storage_free_mb = self.random.uniform(2000, 20000)
        self.temperature = self.random.uniform(30, 36)

    def step(self, dt: float) -> None:
        super().step(dt * (3 if self.scene and not self.paused else 1))  # VR drains fast
        target = 41.0 if self.scene and not self.paused else 33.0
        self.temperature += (target - self.temperature) * min(1.0, dt / 120)

    def status_fields(self) -> dict[str, Any]:
        return {
            "app": "vr-player" if self.scene else "home",
            "scene": self.scene,
            "paused": self.paused,
            "temperature": round(self.temperature, 1),
            "storage_free_mb": round(self.storage_free_mb),
            "volume": self.volume,
        }

    async def handle(self, command: Command) -> dict[str, Any]:
        args = command.args
        if command.name == "launch_scene":
            if self.battery < 5:
                raise CommandRejected("battery too low")
            await asyncio.sleep(self.random.uniform(0.005, 0.03))  # loading the scene
            self.scene, self.paused, self.eyes_on_me = str(args.get("scene_id")), False, False
            return {"scene": self.scene}
        if command.name in ("pause", "resume"):
            self.paused = command.name == "pause"
            return {"paused": self.paused}
        if command.name == "eyes_on_me":
            self.eyes_on_me = bool(args.get("on", True))
            return {"eyes_on_me": self.eyes_on_me}
        if command.name == "home":
            self.scene = None
            return {}
        if command.name == "volume":
            level = args.get("level")
            if not isinstance(level, int) or not 0 <= level <= 100:
                raise CommandRejected("volume level must be an integer 0-100")
            self.volume = level
            return {"volume": level}
        return await super().handle(command)
