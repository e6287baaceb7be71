"""The admin package's shared objects (imports nothing of the hub at run time)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from classroom_hub.admin.backups import Backups
    from classroom_hub.admin.devices import DeviceLabels

DEVICE_LABELS: web.AppKey[DeviceLabels] = web.AppKey("device_labels")
BACKUPS: web.AppKey[Backups] = web.AppKey("backups")
