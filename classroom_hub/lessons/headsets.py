"""The room's headsets follow the lesson: a ``vr_scene`` step launches its scene on every
headset, leaving the step sends them home.

The launch is the fleet's group command (classroom_hub/fleet/commands.py), the same path as
the technician's "launch scene to all headsets": the command carries the scene's content id,
its SHA-256 and the hub's URL of the bundle (``/scenes/<sha256>``), so a headset without the
bundle fetches it from the hub and checks it before playing (docs/devices.md). Headsets the
registry knows to be away are not waited for; the summary names them.

Commands run one at a time in a background task that always acts on the newest wish: a
teacher who clicks through a VR step gets a launch and then a home, never a scene left
playing. The teacher's page gets a ``headsets`` message (docs/protocol.md) when a command
goes out (``sending``) and with the outcome per headset (``done``). A room without headsets
sends nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from classroom_hub.errors import report_crash, swallowed
from classroom_hub.fleet.commands import FleetCommands
from classroom_hub.fleet.scenes import SceneShelf
from classroom_hub.lessons.manifest import VrSceneStep
from classroom_hub.registry import DeviceRegistry
from device_drivers.headset.commands import scene_content

if TYPE_CHECKING:
    from classroom_hub.lessons.run import LessonRun

log = logging.getLogger(__name__)

HEADSET = "headset"
Command = Literal["launch_scene", "home"]


class Fleet(Protocol):
    """What of the fleet part the lesson needs (classroom_hub/fleet/part.py ``Fleet``)."""

    commands: FleetCommands
    scenes: SceneShelf


@dataclass(frozen=True)
class _OnStep:
    run: str
    step: VrSceneStep


class LessonHeadsets:
    def __init__(
        self,
        registry: DeviceRegistry,
        fleet: Callable[[], Fleet | None],
        announce: Callable[[dict[str, Any]], None],
        hub_url: str | None = None,
    ) -> None:
        self._registry = registry
        self._fleet = fleet  # looked up when needed: the fleet may be absent, or start after the lessons
        self._announce = announce
        self.hub_url = hub_url  # where headsets fetch bundles; the teacher's page sets it if not configured
        self.last: dict[str, Any] | None = None  # the launch the teacher sees on (re)connecting
        self._wanted: _OnStep | None = None
        self._playing: _OnStep | None = None  # what the headsets were last told to play
        self._changed = asyncio.Event()
        self._working = False
        self._task: asyncio.Task[None] | None = None

    @property
    def task(self) -> asyncio.Task[None] | None:
        return self._task

    def start(self) -> None:
        self._task = asyncio.create_task(self._follow(), name="lesson-headsets")
        self._task.add_done_callback(report_crash("lesson_task_failed", task="lesson-headsets"))

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)  # a crash was reported when it happened
            self._task = None

    @property
    def busy(self) -> bool:
        """A step change is waiting for the headsets, or their command is under way."""
        return self._changed.is_set() or self._working

    def follow(self, run: LessonRun) -> None:
        """The lesson's step (or its end) changed: the headsets should play this step's scene or nothing."""
        step = run.step
        wanted = _OnStep(run.id, step) if isinstance(step, VrSceneStep) and not run.ended else None
        if wanted != self._wanted:
            self._wanted = wanted
            self._changed.set()

    async def _follow(self) -> None:
        while True:
            await self._changed.wait()
            self._changed.clear()
            wanted, playing = self._wanted, self._playing
            if wanted == playing:
                continue
            self._working = True
            try:
                if wanted is None:
                    assert playing is not None
                    await self._command(playing, "home", {})
                else:
                    await self._command(wanted, "launch_scene", await self._launch_args(wanted.step))
            except Exception:  # a bug here must not stop the lesson; the next step tries again
                swallowed("lesson_headsets_failed")
            finally:
                self._working = False
            self._playing = wanted

    async def _launch_args(self, step: VrSceneStep) -> dict[str, Any]:
        size = None
        fleet = self._fleet()
        if fleet is not None:
            scene = await asyncio.get_running_loop().run_in_executor(None, fleet.scenes.get, step.sha256)
            if scene is not None:
                size = scene.size
            else:
                log.warning("event=lesson_scene_not_on_hub step=%s content=%s sha256=%s",
                            step.id, step.content_id, step.sha256[:12])  # fmt: skip
        content = scene_content(step.content_id, step.sha256, size, self.hub_url)
        return {"scene_id": step.scene_id, "content": content}

    async def _command(self, on: _OnStep, name: Command, args: dict[str, Any]) -> None:
        fleet = self._fleet()
        headsets = [record.id for record in self._registry.by_kind(HEADSET)]
        if fleet is None or not headsets:
            return
        base = {"t": "headsets", "step": on.step.id, "scene": on.step.scene_id, "command": name,
                "total": len(headsets)}  # fmt: skip
        sending = {**base, "state": "sending"}
        self.last = sending if name == "launch_scene" else None
        self._announce(sending)
        group = await fleet.commands.send_group(headsets, name, args)
        done = {
            **base,
            "state": "done",
            "counts": group.counts(),
            "summary": group.summary(),
            "results": [{"device_id": r.device_id, "outcome": r.outcome, "error": r.error} for r in group.results],
        }
        if name == "launch_scene":
            self.last = done
        log.info("event=lesson_headsets step=%s command=%s summary=%r", on.step.id, name, done["summary"])
        self._announce(done)
