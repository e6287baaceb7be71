"""The admin page's API (``/admin``, for the ``admin`` role): accounts (users.py), classes and
rosters (rosters.py), device names (devices.py) and backups (here; what is in one: backups.py).

``setup(app)`` adds the device-names overlay as a part of the hub, and the routes.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import AsyncIterator

from aiohttp import web

from classroom_hub.admin import devices, rosters, users
from classroom_hub.admin.backups import BackupError, Backups
from classroom_hub.admin.keys import BACKUPS
from classroom_hub.keys import SETTINGS
from classroom_hub.lessons.exports import file_name
from classroom_hub.web.access import allow
from classroom_hub.web.routes import require
from classroom_hub.web.security import problem

log = logging.getLogger(__name__)

ADMIN = ("admin",)
_CHUNK = 256 * 1024


def setup(app: web.Application) -> None:
    app.cleanup_ctx.append(backups_part)
    users.add_routes(app)
    rosters.add_routes(app)
    devices.add_routes(app)
    app.router.add_get("/api/admin/backup", download_backup)


async def backups_part(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    app[BACKUPS] = Backups(settings.data_dir, settings.room.id)
    yield


@allow(*ADMIN)
async def download_backup(request: web.Request) -> web.StreamResponse:
    """A zip of every database of the hub, consistent while the hub runs (backups.py)."""
    admin = await require(request, *ADMIN)
    backups: Backups = request.config_dict[BACKUPS]
    if backups.lock.locked():
        raise problem(409, "backup_running", "a backup is being made: try again when it is done")
    loop = asyncio.get_running_loop()
    async with backups.lock:
        target = backups.work / f"backup-{secrets.token_hex(8)}.zip"
        started = time.monotonic()
        try:
            manifest = await loop.run_in_executor(None, backups.make, target)
        except BackupError as err:
            backups.last_error = err.detail
            log.error("event=backup_failed by=%s error=%r", admin.username, err.detail)
            raise
        try:
            size = target.stat().st_size
            log.info("event=backup_made by=%s files=%d bytes=%d seconds=%.1f", admin.username,
                     len(manifest["files"]), size, time.monotonic() - started)  # fmt: skip
            name = file_name("classroom-hub", backups.room, time.strftime("%Y%m%d-%H%M"))
            response = web.StreamResponse(headers={
                "Content-Type": "application/zip", "Content-Length": str(size), "Cache-Control": "no-store",
                "Content-Disposition": f'attachment; filename="{name}.zip"'})  # fmt: skip
            await response.prepare(request)
            source = await loop.run_in_executor(None, target.open, "rb")
            try:
                while chunk := await loop.run_in_executor(None, source.read, _CHUNK):
                    await response.write(chunk)
            finally:
                await loop.run_in_executor(None, source.close)
            await response.write_eof()
            return response
        finally:
            await loop.run_in_executor(None, lambda: target.unlink(missing_ok=True))
