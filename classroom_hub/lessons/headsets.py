"""The room's headsets follow the lesson: a ``vr_scene`` step launches its scene on every
headset, leaving the step sends them home.

The launch is the fleet's scene launcher (classroom_hub/fleet/scenes/launcher.py), the same
path as the technician's "launch scene to all headsets": headsets holding the step's scene
launch it; the others are told to fetch it from the hub (each with its own keyed address) and
launch it once their copy is ready, while the step lasts (docs/scenes.md). A scene the hub does
not hold is said once to the teacher, not sent to 40 headsets to refuse. Headsets the registry
knows to be away are not waited for; the rows name them.

Commands run one at a time in a background task that always acts on the newest wish: a
teacher who clicks through a VR step gets a launch and then a home, never a scene left
playing. The teacher's page gets a ``headsets`` message (docs/protocol.md) when a command
goes out (``sending``) and with the outcome per headset (``done``), then again as downloads
progress (at most twice a second). A room without headsets sends nothing.

A ``model`` step opens its 3D model on the room's AR devices that are online (``open_model``
with the run's keyed address of the model file on the hub's public address, which the device
downloads and checks before it answers); leaving the step sends ``close_model``. The teacher
gets the same ``headsets`` message with ``command: open_model`` and a row per AR device
(``showing``, ``model_failed`` with a reason, or ``offline``). An AR device that comes online
while the step lasts opens the model then, and the teacher's rows are sent again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from classroom_hub.errors import report_crash, swallowed
from classroom_hub.fleet.commands import DeviceResult, FleetCommands
from classroom_hub.fleet.scenes.launcher import SceneLauncher, group_view
from classroom_hub.fleet.scenes.shelf import SceneShelf
from classroom_hub.lessons.manifest import ModelStep, VrSceneStep
from classroom_hub.lessons.views import asset_url
from classroom_hub.registry import DeviceChange, DeviceRegistry
from device_drivers.ar_device.commands import OPEN_MODEL_TIMEOUT_S, OpenModel

if TYPE_CHECKING:
    from classroom_hub.lessons.run import LessonRun

log = logging.getLogger(__name__)

HEADSET = "headset"
AR_DEVICE = "ar_device"
Command = Literal["launch_scene", "home"]
ModelCommand = Literal["open_model", "close_model"]


class Fleet(Protocol):
    """What of the fleet part the lesson needs (classroom_hub/fleet/part.py ``Fleet``)."""

    commands: FleetCommands
    scenes: SceneShelf
    launcher: SceneLauncher


@dataclass(frozen=True)
class _OnStep:
    run: str
    step: VrSceneStep | ModelStep
    files: str = ""  # the run's keyed address of its files (views.files_url)


_Shown = tuple[_OnStep, dict[str, Any], dict[str, DeviceResult]]


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
        self._launched: tuple[_OnStep, dict[str, Any]] | None = None  # the launch whose rows the teacher follows
        self._unfollow: Callable[[], None] | None = None
        self._refresh: asyncio.TimerHandle | None = None
        self._shown: _Shown | None = None  # the model step open on the AR devices, and each one's outcome
        self._late: set[asyncio.Task[None]] = set()  # an AR device that came online opening the model
        self._unwatch = registry.on_change(self._on_device)

    REFRESH_S = 0.5  # download progress reaches the teacher at most this often

    @property
    def task(self) -> asyncio.Task[None] | None:
        return self._task

    def start(self) -> None:
        self._task = asyncio.create_task(self._follow(), name="lesson-headsets")
        self._task.add_done_callback(report_crash("lesson_task_failed", task="lesson-headsets"))

    async def close(self) -> None:
        self._unwatch()
        for task in self._late:
            task.cancel()
        await asyncio.gather(*self._late, return_exceptions=True)
        if self._unfollow is not None:
            self._unfollow()
        if self._refresh is not None:
            self._refresh.cancel()
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
        wanted: _OnStep | None = None
        if isinstance(step, VrSceneStep | ModelStep) and not run.ended:
            wanted = _OnStep(run.id, step, run.files)
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
                if playing is not None and (wanted is None or type(wanted.step) is not type(playing.step)):
                    await self._leave(playing)  # a VR step after a VR step launches its scene straight away
                if isinstance(wanted, _OnStep) and isinstance(wanted.step, ModelStep):
                    await self._model(wanted, "open_model")
                elif wanted is not None:
                    await self._command(wanted, "launch_scene", {})
            except Exception:  # a bug here must not stop the lesson; the next step tries again
                swallowed("lesson_headsets_failed")
            finally:
                self._working = False
            self._playing = wanted

    async def _leave(self, on: _OnStep) -> None:
        if isinstance(on.step, ModelStep):
            await self._model(on, "close_model")
        else:
            await self._command(on, "home", {})

    async def _model(self, on: _OnStep, name: ModelCommand) -> None:
        """Open (or close) the step's model on the room's AR devices; the teacher sees a row per device."""
        fleet = self._fleet()
        devices = sorted(record.id for record in self._registry.by_kind(AR_DEVICE))
        self._shown = None
        if self._late:  # a late device opening the model gets its close after that, not before
            await asyncio.gather(*self._late, return_exceptions=True)
        if fleet is None or not devices:
            return
        assert isinstance(on.step, ModelStep)
        self._launched = None
        base = {"t": "headsets", "step": on.step.id, "model": on.step.file, "command": name, "total": len(devices)}
        sending = {**base, "state": "sending"}
        self.last = sending if name == "open_model" else None
        self._announce(sending)
        if name == "close_model":
            group = await fleet.commands.send_group(devices, name, {})
            results = list(group.results)
        elif (args := self._open_args(on)) is None:  # nothing to tell them yet: the teacher's page gives the address
            results = [DeviceResult(d, "failed", error="no_address") for d in devices]
        else:
            # A device that cannot show the model says why on the teacher's rows: no technician alarm.
            group = await fleet.commands.send_group(devices, name, args, timeout=OPEN_MODEL_TIMEOUT_S, alarm=False)
            results = list(group.results)
        done = _model_done(base, results)
        log.info("event=lesson_ar_devices step=%s command=%s summary=%r", on.step.id, name, done["summary"])
        if name == "open_model":
            self.last = done
            self._shown = (on, base, {r.device_id: r for r in results})
        self._announce(done)
        for r in results if name == "open_model" else []:  # came online while the others were opening it
            record = self._registry.get(r.device_id)
            if r.outcome == "offline" and record is not None and record.state == "online":
                self._open_later(r.device_id)

    def _open_args(self, on: _OnStep) -> dict[str, Any] | None:
        """``open_model``'s arguments: the run's keyed address of the model on the hub's public address."""
        if self.hub_url is None:
            return None
        assert isinstance(on.step, ModelStep)
        url = self.hub_url.rstrip("/") + asset_url(on.files, on.step.file)
        return OpenModel(url=url, title=on.step.alt).model_dump()

    def _on_device(self, change: DeviceChange) -> None:
        """An AR device came (back) online on a model step: it opens the model too."""
        shown = self._shown
        if shown is None or change.new_state != "online" or self._working or self._changed.is_set():
            return
        record = self._registry.get(change.device_id)
        result = shown[2].get(change.device_id)
        if record is None or record.kind != AR_DEVICE or (result is not None and result.outcome == "ok"):
            return
        self._open_later(change.device_id)

    def _open_later(self, device_id: str) -> None:
        assert self._shown is not None
        task = asyncio.get_running_loop().create_task(self._open_late(self._shown, device_id))
        self._late.add(task)
        task.add_done_callback(self._late.discard)
        task.add_done_callback(report_crash("lesson_task_failed", task="lesson-ar-late"))

    async def _open_late(self, shown: _Shown, device_id: str) -> None:
        fleet, args = self._fleet(), self._open_args(shown[0])
        if fleet is None or args is None:
            return
        result = await fleet.commands.send(device_id, "open_model", args, timeout=OPEN_MODEL_TIMEOUT_S)
        if self._shown is not shown:
            return  # the class has moved on: leaving the step closed the model on every AR device
        shown[2][device_id] = result
        done = _model_done(shown[1], [shown[2][d] for d in sorted(shown[2])])
        log.info("event=lesson_ar_device_late step=%s device=%s outcome=%s",
                 shown[0].step.id, device_id, result.outcome)  # fmt: skip
        self.last = done
        self._announce(done)

    async def _command(self, on: _OnStep, name: Command, args: dict[str, Any]) -> None:
        fleet = self._fleet()
        headsets = [record.id for record in self._registry.by_kind(HEADSET)]
        if fleet is None or not headsets:
            return
        assert isinstance(on.step, VrSceneStep)
        if self._unfollow is None:
            self._unfollow = fleet.launcher.on_change(self._progress)
        base = {"t": "headsets", "step": on.step.id, "scene": on.step.scene_id, "command": name,
                "total": len(headsets)}  # fmt: skip
        if name == "home":
            self._launched = None
            fleet.launcher.stop()
            self.last = None
            self._announce({**base, "state": "sending"})
            group = await fleet.commands.send_group(headsets, name, args)
            log.info("event=lesson_headsets step=%s command=home summary=%r", on.step.id, group.summary())
            self._announce({**base, "state": "done", "counts": group.counts(), "summary": group.summary(),
                            "results": [{"device_id": r.device_id, "outcome": r.outcome, "error": r.error}
                                        for r in group.results]})  # fmt: skip
            return
        step = on.step
        assert isinstance(step, VrSceneStep)
        scene = await asyncio.get_running_loop().run_in_executor(None, fleet.scenes.get, step.sha256)
        if scene is None:
            # A state for the teacher, not a launch for 40 headsets to refuse one by one.
            log.warning("event=lesson_scene_not_on_hub step=%s content=%s sha256=%s",
                        step.id, step.content_id, step.sha256[:12])  # fmt: skip
            self._launched = None
            self.last = {**base, "state": "not_on_hub", "content_id": step.content_id, "results": [], "rows": []}
            self._announce(self.last)
            return
        sending = {**base, "state": "sending"}
        self.last = sending
        self._announce(sending)
        self._launched = (on, base)
        rows = await fleet.launcher.launch(scene, self.hub_url, headsets, step.scene_id)
        done = self._done(base, rows)
        log.info("event=lesson_headsets step=%s command=%s summary=%r", step.id, name, done["summary"])
        self._announce(done)

    def _done(self, base: dict[str, Any], rows: list[dict[str, Any]]) -> dict[str, Any]:
        group = group_view(rows)
        results = [{k: r[k] for k in ("device_id", "outcome", "error")} for r in group["results"]]
        done = {**base, "state": "done", "counts": group["counts"], "summary": group["summary"],
                "results": results, "rows": rows}  # fmt: skip
        self.last = done
        return done

    def _progress(self) -> None:
        """A headset's copy or launch changed: the teacher sees it within ``REFRESH_S``."""
        if self._launched is None or self._refresh is not None:
            return
        self._refresh = asyncio.get_running_loop().call_later(self.REFRESH_S, self._send_progress)

    def _send_progress(self) -> None:
        self._refresh = None
        fleet = self._fleet()
        if self._launched is None or fleet is None or self._working:
            return
        wanted = fleet.launcher.wanted
        step = self._launched[0].step
        if wanted is None or not isinstance(step, VrSceneStep) or wanted.scene.sha256 != step.sha256:
            return  # the teacher's picker launched another scene since: its rows are not this step's
        self._announce(self._done(self._launched[1], fleet.launcher.rows()))


def _reason(result: DeviceResult) -> str | None:
    """The device's own words for a refusal; a code the page translates otherwise."""
    if result.outcome == "ok":
        return None
    return result.error or result.outcome


def _model_done(base: dict[str, Any], results: list[DeviceResult]) -> dict[str, Any]:
    """The teacher's ``headsets`` message with the outcome of ``open_model``/``close_model``."""
    counts: dict[str, int] = dict.fromkeys(("ok", "failed", "no_reply", "offline", "unknown_device"), 0)
    for r in results:
        counts[r.outcome] = counts.get(r.outcome, 0) + 1
    did = "showing the model" if base["command"] == "open_model" else "closed"
    summary = f"{counts['ok']}/{len(results)} {did}" + "".join(
        f", {n} {outcome}: {', '.join(r.device_id for r in results if r.outcome == outcome)}"
        for outcome, n in counts.items() if n and outcome != "ok"
    )  # fmt: skip
    outcomes = [{"device_id": r.device_id, "outcome": r.outcome, "error": _reason(r)} for r in results]
    rows = [_model_row(r) for r in results]
    return {**base, "state": "done", "counts": counts, "summary": summary, "rows": rows, "results": outcomes}


def _model_row(result: DeviceResult) -> dict[str, Any]:
    """An AR device's row on the teacher's page: ``showing``, ``model_failed`` (with why) or ``offline``."""
    row: dict[str, Any] = {"device_id": result.device_id, "copy": "missing", "percent": None,
                           "reason": None, "detail": None}  # fmt: skip
    if result.outcome == "ok":
        return row | {"state": "showing"}
    if result.outcome == "offline":
        return row | {"state": "offline"}
    if result.error == "no_address":
        return row | {"state": "model_failed", "reason": "no_address"}
    reason = result.outcome if result.outcome in ("no_reply", "unknown_device") else "refused"
    return row | {"state": "model_failed", "reason": reason, "detail": result.error}
