"""Which headset holds which scene: missing, downloading n %, ready, or failed with a reason.

Two sources, both on the bus (docs/devices.md, "Scenes on a headset"): the ``scenes`` field of
a headset's retained status (every bundle complete in its cache: what it holds after a restart
of either side), and its ``scene_download`` events while it fetches one. A bad event is
refused like any bad payload (the rejection list), never trusted. The hub itself marks a copy
``failed`` when the headset refused to fetch (``fetch_scene`` answered with an error).

A missing scene is a state on the teacher's and technician's pages, not an alarm.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal

from pydantic import ValidationError

from classroom_hub.bus.link import Message, MqttLink
from classroom_hub.bus.payloads import EVENT
from classroom_hub.bus.topics import parse_device_topic, room_filter
from classroom_hub.events import Listeners
from classroom_hub.problems import describe
from classroom_hub.registry import DeviceRecord, DeviceRegistry
from classroom_hub.rejects import Rejections
from device_drivers.headset.commands import SCENE_EVENT, HeldScenes, SceneDownload

log = logging.getLogger(__name__)

CopyState = Literal["missing", "downloading", "ready", "failed"]
HEADSET_KINDS = ("headset", "ar_device")


@dataclass(frozen=True, slots=True)
class Copy:
    device_id: str
    sha256: str
    state: CopyState = "missing"
    bytes: int = 0
    total: int | None = None
    reason: str | None = None  # a code the pages translate (device_drivers/headset/commands.py FailReason)
    detail: str | None = None  # the headset's own words, for the technician
    at: float = 0.0

    @property
    def percent(self) -> int | None:
        if self.state == "ready":
            return 100
        if not self.total:
            return None
        return min(100, self.bytes * 100 // self.total)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"percent": self.percent}


class HeadsetCopies:
    def __init__(self, registry: DeviceRegistry, rejections: Rejections | None = None) -> None:
        self._registry = registry
        self._rejections = rejections
        self._copies: dict[tuple[str, str], Copy] = {}
        self._changes: Listeners[[Copy]] = Listeners("scene_copy_listener_failed")
        self._removers: list[Callable[[], None]] = [registry.on_update(self._on_update)]
        for record in registry.by_kind("headset"):
            self._on_update(record)

    def listen(self, link: MqttLink, room: str) -> None:
        """Follow the headsets' ``scene_download`` events on the room's bus."""
        self._removers.append(link.subscribe(room_filter(room, "event"), self._on_event))

    def close(self) -> None:
        for remove in self._removers:
            remove()
        self._removers = []

    def on_change(self, listener: Callable[[Copy], None]) -> Callable[[], None]:
        return self._changes.add(listener)

    def of(self, device_id: str, sha256: str) -> Copy:
        return self._copies.get((device_id, sha256)) or Copy(device_id, sha256)

    def mark(self, device_id: str, sha256: str, state: CopyState, reason: str | None = None,
             detail: str | None = None) -> None:  # fmt: skip
        old = self.of(device_id, sha256)
        self._set(Copy(device_id, sha256, state, old.bytes, old.total, reason, detail, time.time()))

    def _set(self, copy: Copy) -> None:
        old = self._copies.get((copy.device_id, copy.sha256))
        if old is not None and (old.state, old.bytes, old.reason) == (copy.state, copy.bytes, copy.reason):
            return
        self._copies[(copy.device_id, copy.sha256)] = copy
        self._changes.emit(copy)

    def _on_update(self, record: DeviceRecord) -> None:
        if record.kind not in HEADSET_KINDS:
            return
        held = HeldScenes.of(record.extra.get("scenes"))
        if held is None:
            return
        now = time.time()
        for sha256 in held:
            if self.of(record.id, sha256).state != "ready":
                self._set(Copy(record.id, sha256, "ready", at=now))
        for (device_id, sha256), copy in list(self._copies.items()):
            if device_id == record.id and copy.state == "ready" and sha256 not in held:
                self._set(Copy(device_id, sha256, "missing", at=now))  # deleted to make room

    def _on_event(self, message: Message) -> None:
        where = parse_device_topic(message.topic)
        if where is None or where.device_id not in self._registry:
            return  # the ingest reports these
        try:
            event = EVENT.validate_json(message.payload)
        except ValidationError:
            return  # the ingest reports these
        if event.type != SCENE_EVENT:
            return
        try:
            progress = SceneDownload.model_validate(event.data)
        except ValidationError as err:
            if self._rejections is not None:
                self._rejections.add(message.topic, "malformed_event", f"{SCENE_EVENT}: {describe(err, limit=1)}")
            return
        self._set(Copy(where.device_id, progress.sha256, progress.state, progress.bytes, progress.total,
                       progress.reason, progress.detail, time.time()))  # fmt: skip
        if progress.state == "failed":
            log.warning("event=scene_download_failed device=%s sha256=%s reason=%s detail=%r",
                        where.device_id, progress.sha256[:12], progress.reason, progress.detail)  # fmt: skip
