"""Device names and groups the admin gives on the admin page: an overlay on the room file.

The room file names the devices (``name``, ``group`` of each ``[[devices]]`` table), and one
table often stands for forty tablets (``id = "T{:02d}"``, ``count = 40``) that share them. A
school still wants "Bàn 3 - Nam" for T07 and the headsets of row 2 in one group, without editing
the technician's file: this overlay, ``<data_dir>/device-labels.json``, holds the names and
groups given here, and only those. The hub applies it over the room file at start and at once on
a change (the device registry, so /tech, the teacher's pages, the lab and group commands all
show and use it). Clearing a field gives the room file's back. The file is written whole and
renamed into place (a power cut leaves the old one or the new one), and it is in the backups.

To make a name part of the room file (docs/admin.md): copy it into the device's ``[[devices]]``
table (give a device of a template a table of its own), check the file with ``classroom-hub
check-config``, restart, then clear the name here.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from classroom_hub.admin.keys import DEVICE_LABELS
from classroom_hub.errors import HubError
from classroom_hub.keys import HEALTH, REGISTRY, SETTINGS
from classroom_hub.problems import describe
from classroom_hub.registry import DeviceRegistry
from classroom_hub.web.access import SMALL_FORM, allow
from classroom_hub.web.routes import require
from classroom_hub.web.security import problem

log = logging.getLogger(__name__)

LABELS_FILE = "device-labels.json"  # under the hub's data_dir
ADMIN = ("admin",)


class LabelsError(HubError):
    code = "device_labels_unreadable"
    http_status = 500


class Label(BaseModel):
    """A device's name and group as the admin gives them; None: as the room file says."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = Field(None, max_length=64)
    group: str | None = Field(None, max_length=64)

    @field_validator("name", "group", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = " ".join(value.split())
            return value or None
        return value


@dataclass(frozen=True, slots=True)
class Original:
    name: str | None
    group: str | None


class DeviceLabels:
    """The overlay: loaded, applied to the registry, changed one device at a time."""

    def __init__(self, path: Path, registry: DeviceRegistry, originals: dict[str, Original]) -> None:
        self.path = path
        self.registry = registry
        self.originals = originals  # the room file's, by device id
        self.labels: dict[str, Label] = {}
        self.problem: str | None = None  # why the file could not be read or written (/healthz, the page)
        self._lock = asyncio.Lock()

    def load(self) -> list[str]:
        """Read the file (none: no overlay) and apply it; returns the ids it names that the room
        file no longer has (kept in the file, in case the device comes back)."""
        if self.path.exists():
            try:
                raw = json.loads(self.path.read_text(encoding="utf-8"))
                self.labels = {str(k): Label.model_validate(v) for k, v in raw.items()}
            except (OSError, ValueError, AttributeError, ValidationError) as err:
                detail = describe(err) if isinstance(err, ValidationError) else str(err)
                raise LabelsError(f"{self.path}: {detail}") from err
        for device_id in self.labels:
            if device_id in self.originals:
                self._apply(device_id)
        return sorted(set(self.labels) - set(self.originals))

    def shown(self, device_id: str) -> tuple[str | None, str | None]:
        original = self.originals[device_id]
        label = self.labels.get(device_id, Label())
        return (label.name or original.name, label.group or original.group)

    async def set(self, device_id: str, label: Label) -> None:
        """Give ``device_id`` this label (both fields None: the room file's again), durably first."""
        async with self._lock:
            labels = dict(self.labels)
            if label.name is None and label.group is None:
                labels.pop(device_id, None)
            else:
                labels[device_id] = label
            try:
                await asyncio.get_running_loop().run_in_executor(None, self._write, labels)
            except OSError as err:
                self.problem = f"{self.path}: {err}"
                raise
            self.labels = labels
            self.problem = None
            self._apply(device_id)

    def _apply(self, device_id: str) -> None:
        name, group = self.shown(device_id)
        self.registry.relabel(device_id, name, group)

    def _write(self, labels: dict[str, Label]) -> None:
        data = {k: v.model_dump(exclude_none=True) for k, v in sorted(labels.items())}
        temporary = self.path.with_suffix(".json.new")
        with temporary.open("w", encoding="utf-8") as file:
            json.dump(data, file, ensure_ascii=False, indent=2)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, self.path)
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


async def labels_part(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    originals = {device_id: Original(d.name, d.group) for device_id, d in settings.device_list()}
    labels = DeviceLabels(settings.data_dir / LABELS_FILE, app[REGISTRY], originals)
    try:
        gone = await asyncio.get_running_loop().run_in_executor(None, labels.load)
        if gone:
            log.warning("event=device_labels_unused devices=%s reason='not in the room file'", ",".join(gone))
    except LabelsError as err:
        # The room file's names stay; the admin sees the file's problem and a new save repairs it.
        log.error("event=device_labels_unreadable error=%r action='room file names shown'", err.detail)
        labels.problem = err.detail
    app[DEVICE_LABELS] = labels
    app[HEALTH].parts["device_labels"] = lambda: "down" if labels.problem else "up"
    yield


def add_routes(app: web.Application) -> None:
    app.cleanup_ctx.append(labels_part)
    app.router.add_get("/api/admin/devices", devices)
    app.router.add_post("/api/admin/devices/{device_id}", label_device)


@allow(*ADMIN)
async def devices(request: web.Request) -> web.Response:
    """Every device of the room: its name and group as shown, and the room file's."""
    await require(request, *ADMIN)
    labels = request.config_dict[DEVICE_LABELS]
    out = []
    for record in request.config_dict[REGISTRY].all():
        original = labels.originals.get(record.id, Original(None, None))
        label = labels.labels.get(record.id)
        out.append({"id": record.id, "kind": record.kind, "name": record.name, "group": record.group,
                    "room_file": {"name": original.name, "group": original.group},
                    "label": label.model_dump() if label else None})  # fmt: skip
    return web.json_response({"devices": out, "file": str(labels.path), "problem": labels.problem})


@allow(*ADMIN, body=SMALL_FORM)
async def label_device(request: web.Request) -> web.Response:
    admin = await require(request, *ADMIN)
    device_id = request.match_info["device_id"]
    labels = request.config_dict[DEVICE_LABELS]
    if device_id not in labels.originals:
        raise problem(404, "unknown_device", f"no device {device_id!r} in the room file")
    try:
        label = Label.model_validate(await request.json())
    except ValidationError as err:
        raise problem(400, "invalid", describe(err)) from None
    try:
        await labels.set(device_id, label)
    except OSError as err:
        log.error("event=device_labels_not_saved path=%s error=%r", labels.path, str(err))
        raise problem(503, "not_saved", f"{labels.path}: {err}") from None
    name, group = labels.shown(device_id)
    log.info("event=device_relabelled device=%s name=%r group=%r by=%s", device_id, name, group, admin.username)
    return web.json_response({"id": device_id, "name": name, "group": group})
