"""Launch a scene on the room's headsets: only those that hold it; the others fetch it first.

``launch(scene, ...)`` looks up each headset's copy (copies.py): a headset that holds the scene
gets ``launch_scene``; one that does not gets ``fetch_scene`` (with its own keyed address,
keys.py) and is launched as soon as it reports the scene ``ready``, for as long as the scene is
still wanted. A headset away is listed as such. Nothing here raises an alarm for a missing
scene: ``rows()`` is every headset's state, which the teacher's page shows in Vietnamese.
A headset that refuses to launch (flat, too hot) is a device problem and alarms as before.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from classroom_hub.events import Listeners
from classroom_hub.fleet.commands import DeviceResult, FleetCommands
from classroom_hub.fleet.scenes.copies import HEADSET_KINDS, Copy, HeadsetCopies
from classroom_hub.fleet.scenes.keys import SceneKeys
from classroom_hub.fleet.scenes.shelf import Scene
from classroom_hub.registry import DeviceChange, DeviceRegistry

log = logging.getLogger(__name__)

# Which kinds of device play a scene of each platform (a VR scene is not sent to AR glasses).
PLATFORM_KINDS: dict[str, tuple[str, ...]] = {
    "android-vr": ("headset",),
    "android-ar": ("ar_device",),
    "webxr": HEADSET_KINDS,
}
FETCH_TIMEOUT_S = 10.0  # the headset answers at once; the download itself is reported by events


@dataclass(frozen=True)
class Wanted:
    scene: Scene
    scene_id: str
    base_url: str | None
    device_ids: tuple[str, ...]


class SceneLauncher:
    def __init__(
        self, commands: FleetCommands, registry: DeviceRegistry, copies: HeadsetCopies, keys: SceneKeys
    ) -> None:
        self._commands = commands
        self._registry = registry
        self._copies = copies
        self._keys = keys
        self.wanted: Wanted | None = None
        self._launches: dict[str, DeviceResult | None] = {}  # None: under way
        self._fetches: dict[str, DeviceResult] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._changes: Listeners[[]] = Listeners("scene_launch_listener_failed")
        self._removers = [copies.on_change(self._on_copy), registry.on_change(self._on_state)]

    def on_change(self, listener: Callable[[], None]) -> Callable[[], None]:
        """``listener()`` whenever a headset's row may have changed."""
        return self._changes.add(listener)

    async def close(self) -> None:
        for remove in self._removers:
            remove()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def headsets(self, platform: str | None = None) -> list[str]:
        """The room's devices that play scenes of ``platform`` (all of them for None)."""
        kinds = PLATFORM_KINDS.get(platform or "", HEADSET_KINDS)
        return sorted(r.id for kind in kinds for r in self._registry.by_kind(kind))

    async def launch(
        self, scene: Scene, base_url: str | None, device_ids: Sequence[str] | None = None, scene_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Launch on those that hold ``scene``, fetch on the others; every headset's row after the commands."""
        ids = tuple(dict.fromkeys(device_ids)) if device_ids is not None else tuple(self.headsets(scene.platform))
        self.wanted = Wanted(scene, scene_id or scene.scene, base_url, ids)
        self._launches, self._fetches = {}, {}
        ready = [d for d in ids if self._copies.of(d, scene.sha256).state == "ready"]
        others = [d for d in ids if d not in ready and self._online(d)]
        log.info("event=scene_launch content=%s sha256=%s headsets=%d ready=%d fetching=%d",
                 scene.content_id, scene.sha256[:12], len(ids), len(ready), len(others))  # fmt: skip
        await asyncio.gather(*(self._launch_one(d) for d in ready), *(self._fetch_one(d) for d in others))
        return self.rows()

    async def prefetch(self, scene: Scene, base_url: str | None, device_ids: Sequence[str]) -> list[DeviceResult]:
        """Have these headsets fetch ``scene`` now, to play it later (a technician before class);
        a refusal is a result, not an alarm. Nothing is launched."""

        async def one(device_id: str) -> DeviceResult:
            if self._copies.of(device_id, scene.sha256).state == "ready":
                return DeviceResult(device_id, "ok", result={"sha256": scene.sha256, "state": "ready"})
            args = {"content": self._content(scene, device_id, base_url)}
            return await self._commands.send(device_id, "fetch_scene", args, timeout=FETCH_TIMEOUT_S, alarm=False)

        return list(await asyncio.gather(*(one(d) for d in dict.fromkeys(device_ids))))

    def stop(self) -> None:
        """The scene is no longer wanted: headsets finishing a download are not launched."""
        self.wanted = None
        self._changes.emit()

    def rows(self) -> list[dict[str, Any]]:
        """Every wanted headset's state: ``playing``, ``launching``, ``launch_failed``, ``downloading``,
        ``fetch_failed``, ``waiting`` (told to fetch, nothing heard yet) or ``offline``."""
        wanted = self.wanted
        if wanted is None:
            return []
        return [self._row(d, wanted.scene.sha256) for d in wanted.device_ids]

    def _row(self, device_id: str, sha256: str) -> dict[str, Any]:
        copy = self._copies.of(device_id, sha256)
        row: dict[str, Any] = {"device_id": device_id, "copy": copy.state, "percent": copy.percent,
                               "reason": copy.reason, "detail": copy.detail}  # fmt: skip
        launch = self._launches.get(device_id, False)
        fetch = self._fetches.get(device_id)
        if launch is None:
            row["state"] = "launching"
        elif isinstance(launch, DeviceResult):
            row["state"] = "playing" if launch.outcome == "ok" else "launch_failed"
            if launch.outcome != "ok":
                row |= {"reason": launch.outcome, "detail": launch.error}
        elif not self._online(device_id):
            row["state"] = "offline"  # also one that went away mid-download: it resumes when back
        elif copy.state == "downloading":
            row["state"] = "downloading"
        elif copy.state == "failed":
            row["state"] = "fetch_failed"
        elif fetch is not None and fetch.outcome != "ok":
            row |= {"state": "fetch_failed", "reason": fetch.outcome, "detail": fetch.error}
        else:
            row["state"] = "waiting"
        return row

    def _online(self, device_id: str) -> bool:
        record = self._registry.get(device_id)
        return record is not None and record.state == "online"

    def _content(self, scene: Scene, device_id: str, base_url: str | None) -> dict[str, Any]:
        content = scene.launch_args(None)
        if base_url:
            content["url"] = self._keys.url(base_url, device_id, scene.sha256)
        return content

    async def _launch_one(self, device_id: str) -> None:
        wanted = self.wanted
        if wanted is None or self._launches.get(device_id, False) is not False:
            return
        self._launches[device_id] = None
        self._changes.emit()
        args = {"scene_id": wanted.scene_id, "content": self._content(wanted.scene, device_id, wanted.base_url)}
        result = await self._commands.send(device_id, "launch_scene", args)
        if self.wanted is wanted:
            self._launches[device_id] = result
            self._changes.emit()

    async def _fetch_one(self, device_id: str) -> None:
        wanted = self.wanted
        if wanted is None:
            return
        if self._copies.of(device_id, wanted.scene.sha256).state == "downloading":
            return
        args = {"content": self._content(wanted.scene, device_id, wanted.base_url)}
        result = await self._commands.send(device_id, "fetch_scene", args, timeout=FETCH_TIMEOUT_S, alarm=False)
        if self.wanted is not wanted:
            return
        self._fetches[device_id] = result
        if result.outcome == "ok" and (result.result or {}).get("state") == "ready":
            self._copies.mark(device_id, wanted.scene.sha256, "ready")  # it had it after all
        self._changes.emit()

    def _on_state(self, change: DeviceChange) -> None:
        """A wanted headset came back (or came late): it launches, or fetches first."""
        wanted = self.wanted
        if wanted is None or change.new_state != "online" or change.device_id not in wanted.device_ids:
            return
        device_id = change.device_id
        if self._launches.get(device_id, False) is not False and (
            (result := self._launches[device_id]) is None or result.outcome == "ok"
        ):
            return  # launched already, or under way
        self._launches.pop(device_id, None)
        if self._copies.of(device_id, wanted.scene.sha256).state == "ready":
            job = self._launch_one(device_id)
        else:
            self._fetches.pop(device_id, None)
            job = self._fetch_one(device_id)
        task = asyncio.get_running_loop().create_task(job)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        self._changes.emit()

    def _on_copy(self, copy: Copy) -> None:
        wanted = self.wanted
        if wanted is None or copy.sha256 != wanted.scene.sha256 or copy.device_id not in wanted.device_ids:
            return
        if copy.state == "ready" and copy.device_id not in self._launches:
            task = asyncio.get_running_loop().create_task(self._launch_one(copy.device_id))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        self._changes.emit()


# How the technician's group command shows a launch: the fleet's result per device.
_OUTCOME = {"playing": "ok", "launching": "fetching", "launch_failed": "failed", "downloading": "fetching",
            "waiting": "fetching", "fetch_failed": "failed", "offline": "offline"}  # fmt: skip


def group_view(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """A launch as ``/api/fleet/command`` answers: "12/40 launched; 28 fetching the scene first: ..."."""
    results = []
    for row in rows:
        outcome = _OUTCOME[row["state"]]
        if row["state"] == "launch_failed":
            outcome = row["reason"] if row["reason"] in ("no_reply", "offline") else "failed"
        error = row["detail"] or row["reason"]
        results.append({"device_id": row["device_id"], "outcome": outcome, "latency_ms": None, "result": row,
                        "error": error if outcome != "ok" else None})  # fmt: skip
    counts = dict.fromkeys(("ok", "fetching", "failed", "no_reply", "offline", "unknown_device"), 0)
    for r in results:
        counts[r["outcome"]] = counts.get(r["outcome"], 0) + 1
    parts = [f"{n} {word}: {', '.join(r['device_id'] for r in results if r['outcome'] == outcome)}"
             for outcome, word in (("fetching", "fetching the scene first"), ("offline", "offline"),
                                   ("no_reply", "no reply"), ("failed", "failed"))
             if (n := counts.get(outcome, 0))]  # fmt: skip
    summary = f"{counts.get('ok', 0)}/{len(results)} launched" + (f", {'; '.join(parts)}" if parts else "")
    return {"command": "launch_scene", "summary": summary, "counts": counts, "total": len(results), "results": results}
