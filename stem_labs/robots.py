"""The robotics kits of the room: listed with battery and firmware, programmed, started,
stopped, and stopped all at once (emergency stop); their live values, console and missions.

Robots are commanded like any device (COMMANDS over MQTT); a robot on USB serial is put on
the bus by the firmware bridge. A mission is a program run: it ends with ``program_done``
(success), or with a stop or an emergency stop (no success), or when the teacher says so;
each ending becomes an xAPI statement.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from classroom_hub.bus.commands import Commands
from classroom_hub.errors import CommandFailed, CommandTimeout, swallowed
from classroom_hub.events import Listeners
from classroom_hub.registry import DeviceRegistry
from stem_labs.errors import LabError, UnknownKit
from stem_labs.statements import LabPlace, mission_statement
from stem_labs.upload import Progress, UploadResult, upload_program

log = logging.getLogger(__name__)

ESTOP_TIMEOUT_S = 2.0
COMMAND_TIMEOUT_S = 3.0
CONSOLE_LINES = 100


@dataclass
class Mission:
    id: str
    robot_id: str
    slot: int
    name: str
    started_by: str
    started_at: float
    ended_at: float | None = None
    success: bool | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "robot_id": self.robot_id, "slot": self.slot, "name": self.name,
                "started_by": self.started_by, "started_at": self.started_at, "ended_at": self.ended_at,
                "success": self.success}  # fmt: skip


@dataclass(frozen=True)
class StopResult:
    robot_id: str
    ok: bool
    detail: str
    ms: float

    def as_dict(self) -> dict[str, Any]:
        return {"robot_id": self.robot_id, "ok": self.ok, "detail": self.detail, "ms": round(self.ms, 1)}


@dataclass
class RobotView:
    values: dict[str, float] = field(default_factory=dict)
    text: dict[str, str] = field(default_factory=dict)
    updated_at: float | None = None
    console: deque[tuple[float, str]] = field(default_factory=lambda: deque(maxlen=CONSOLE_LINES))


class MissionBook(Protocol):
    def save_mission(self, row: tuple[Any, ...]) -> None: ...


RobotListener = Callable[[str, str, Any], None]  # (robot id, "values" | "console" | "mission", detail)


class Robots:
    def __init__(
        self,
        registry: DeviceRegistry,
        commands: Commands,
        place: LabPlace,
        *,
        book: MissionBook | None = None,
        record: Callable[[dict[str, Any]], Awaitable[object]] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._registry = registry
        self._commands = commands
        self._place = place
        self._book = book
        self._record = record
        self._clock = clock
        self.views: dict[str, RobotView] = {r.id: RobotView() for r in registry.by_kind("robot")}
        self.missions: dict[str, Mission] = {}  # running, by robot
        self._listeners: Listeners[[str, str, Any]] = Listeners("robot_listener_failed")
        self._tasks: set[asyncio.Task[None]] = set()
        self.last_estop: list[StopResult] = []

    def ids(self) -> list[str]:
        return sorted(self.views)

    def listing(self) -> list[dict[str, Any]]:
        out = []
        for robot_id in self.ids():
            record = self._registry.get(robot_id)
            view = self.views[robot_id]
            mission = self.missions.get(robot_id)
            out.append({
                "id": robot_id, "name": record.name if record else None, "state": record.state if record else "unknown",
                "battery": record.battery if record else None, "firmware": record.firmware if record else None,
                "group": record.group if record else None, "values": view.values, "text": view.text,
                "updated_at": view.updated_at, "mission": mission.as_dict() if mission else None,
                "console": [[ts, line] for ts, line in list(view.console)[-20:]],
            })  # fmt: skip
        return out

    def on_change(self, listener: RobotListener) -> Callable[[], None]:
        return self._listeners.add(listener)

    # --- from the bus ------------------------------------------------------------------------

    def on_telemetry(self, robot_id: str, ts: float, values: Mapping[str, float], text: Mapping[str, str]) -> None:
        view = self.views.get(robot_id)
        if view is None:
            return
        view.values.update(values)
        view.text.update(text)
        view.updated_at = ts
        self._emit(robot_id, "values", {"values": dict(values), "text": dict(text), "ts": ts})

    def on_event(self, robot_id: str, kind: str, data: Mapping[str, Any], ts: float) -> None:
        view = self.views.get(robot_id)
        if view is None:
            return
        if kind == "console":
            line = str(data.get("text", ""))
        else:
            line = f"[{kind}] " + " ".join(f"{k}={v}" for k, v in data.items())
        view.console.append((ts, line))
        self._emit(robot_id, "console", [ts, line])
        mission = self.missions.get(robot_id)
        if mission is not None and kind == "program_done" and data.get("slot") == mission.slot:
            self.end_mission(robot_id, success=True)
        elif mission is not None and kind in ("estop", "host_lost"):
            self.end_mission(robot_id, success=False)

    # --- commands ----------------------------------------------------------------------------

    def _known(self, robot_id: str) -> None:
        if robot_id not in self.views:
            raise UnknownKit(f"no robot {robot_id!r} in this room")

    async def command(self, robot_id: str, name: str, args: dict[str, Any] | None = None,
                      timeout: float = COMMAND_TIMEOUT_S) -> dict[str, Any]:  # fmt: skip
        self._known(robot_id)
        reply = await self._commands.send(robot_id, name, args or {}, timeout=timeout)
        return dict(reply.result or {})

    async def estop_all(self, by: str) -> list[StopResult]:
        """Emergency stop of every robot at once; a result per robot (confirmed by its ACK or not)."""
        started = time.perf_counter()
        log.warning("event=estop_all by=%s robots=%d", by, len(self.views))

        async def one(robot_id: str) -> StopResult:
            try:
                await self._commands.send(robot_id, "estop", {}, timeout=ESTOP_TIMEOUT_S)
            except CommandFailed as err:
                return StopResult(robot_id, False, err.error, (time.perf_counter() - started) * 1000)
            except CommandTimeout:
                return StopResult(robot_id, False, "no reply", (time.perf_counter() - started) * 1000)
            return StopResult(robot_id, True, "stopped", (time.perf_counter() - started) * 1000)

        results = list(await asyncio.gather(*(one(r) for r in self.ids())))
        self.last_estop = results
        for result in results:
            if not result.ok:
                log.error("event=estop_unconfirmed robot=%s detail=%r", result.robot_id, result.detail)
        return results

    async def upload(self, robot_id: str, slot: int, program: str, progress: Progress | None = None) -> UploadResult:
        self._known(robot_id)

        async def send(name: str, args: dict[str, Any]) -> dict[str, Any]:
            return await self.command(robot_id, name, args)

        return await upload_program(send, slot, program, progress=progress)

    async def start_mission(self, robot_id: str, slot: int, name: str, by: str) -> Mission:
        await self.command(robot_id, "run", {"slot": slot})
        previous = self.missions.get(robot_id)
        if previous is not None:
            self.end_mission(robot_id, success=False)
        mission = Mission(uuid.uuid4().hex, robot_id, slot, name or f"slot {slot}", by, self._clock())
        self.missions[robot_id] = mission
        self._save(mission)
        self._emit(robot_id, "mission", mission.as_dict())
        return mission

    async def stop(self, robot_id: str) -> None:
        await self.command(robot_id, "stop")
        if robot_id in self.missions:
            self.end_mission(robot_id, success=False)

    def end_mission(self, robot_id: str, *, success: bool) -> Mission:
        mission = self.missions.pop(robot_id, None)
        if mission is None:
            raise LabError(f"robot {robot_id!r} has no mission running")
        mission.ended_at, mission.success = self._clock(), success
        self._save(mission)
        self._emit(robot_id, "mission", mission.as_dict())
        if self._record is not None:
            statement = mission_statement(
                self._place, mission_id=mission.id, robot_id=robot_id, slot=mission.slot, name=mission.name,
                actor=mission.started_by, started_at=mission.started_at, ended_at=mission.ended_at, success=success,
            )  # fmt: skip
            task = asyncio.get_running_loop().create_task(self._store(statement))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return mission

    async def close(self) -> None:
        for task in list(self._tasks):
            await asyncio.wait({task}, timeout=2)

    async def _store(self, statement: dict[str, Any]) -> None:
        assert self._record is not None
        try:
            await self._record(statement)
        except Exception:
            swallowed("mission_statement_not_stored", id=statement["id"])

    def _save(self, mission: Mission) -> None:
        if self._book is not None:
            statement = None if mission.ended_at is None else mission_statement_id(mission.id)
            self._book.save_mission((mission.id, mission.robot_id, mission.slot, mission.name, mission.started_by,
                                     mission.started_at, mission.ended_at,
                                     None if mission.success is None else int(mission.success), statement))  # fmt: skip

    def _emit(self, robot_id: str, kind: str, detail: Any) -> None:
        self._listeners.emit(robot_id, kind, detail)


def mission_statement_id(mission_id: str) -> str:
    from classroom_hub.xapi import statement_id

    return statement_id("robot-mission", mission_id, "completed")

