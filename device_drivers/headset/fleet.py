"""A class set of simulated headsets (40 by default) with the failures a real class has.

    async with HeadsetFleet(broker_url, room, count=40, plan=FailurePlan(offline=2, low_battery=1)) as fleet:
        ...  # fleet.online, fleet.offline, fleet.headsets["H07"]

The plan picks, with a seed, which headsets are switched off (never connect), nearly flat
(refuse to launch), too hot (refuse to launch) and missing the scene (fetch it from the
hub first). Everything else is a healthy headset.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from device_drivers.headset.simulator import SimulatedHeadset


@dataclass(frozen=True)
class FailurePlan:
    offline: int = 0
    low_battery: int = 0
    overheating: int = 0
    missing_scene: int = 0  # of those online; the rest already hold ``cached`` bundles
    seed: int = 7


@dataclass
class FleetRoles:
    offline: list[str] = field(default_factory=list)
    low_battery: list[str] = field(default_factory=list)
    overheating: list[str] = field(default_factory=list)
    missing_scene: list[str] = field(default_factory=list)


class HeadsetFleet:
    def __init__(
        self,
        broker_url: str,
        room: str,
        *,
        count: int = 40,
        id_format: str = "H{:02d}",
        plan: FailurePlan | None = None,
        cached: dict[str, bytes] | None = None,
        dropout_chance: float = 0.0,
        **options: Any,
    ) -> None:
        plan = plan or FailurePlan()
        ids = [id_format.format(n) for n in range(1, count + 1)]
        picker = random.Random(plan.seed)
        shuffled = picker.sample(ids, len(ids))
        roles = FleetRoles()
        cursor = 0
        for name in ("offline", "low_battery", "overheating", "missing_scene"):
            n = getattr(plan, name)
            getattr(roles, name).extend(sorted(shuffled[cursor : cursor + n]))
            cursor += n
        self.roles = roles
        self.headsets: dict[str, SimulatedHeadset] = {}
        for device_id in ids:
            if device_id in roles.offline:
                continue
            self.headsets[device_id] = SimulatedHeadset(
                broker_url,
                room,
                device_id,
                battery=4.0 if device_id in roles.low_battery else picker.uniform(40, 100),
                temperature=47.5 if device_id in roles.overheating else None,
                cached=None if device_id in roles.missing_scene else cached,
                dropout_chance=dropout_chance,
                seed=picker.randrange(1 << 30),
                **options,
            )
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def online(self) -> list[str]:
        return sorted(self.headsets)

    @property
    def offline(self) -> list[str]:
        return self.roles.offline

    async def start(self, wait_s: float = 10.0) -> None:
        self._tasks = [asyncio.create_task(h.run(), name=f"sim-{i}") for i, h in self.headsets.items()]
        await asyncio.gather(*(h.link.wait_up(wait_s) for h in self.headsets.values()))

    async def switch_off(self, device_id: str) -> None:
        """The battery dies: no goodbye, the broker publishes the headset's last will."""
        headset = self.headsets.pop(device_id)
        headset.link.abort()
        index = next(i for i, t in enumerate(self._tasks) if t.get_name() == f"sim-{device_id}")
        task = self._tasks.pop(index)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        self.roles.offline.append(device_id)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()
