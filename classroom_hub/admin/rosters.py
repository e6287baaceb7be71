"""Classes and rosters on the admin page: what the hub's roster holds, and a OneRoster bundle
(a .zip of CSV files) uploaded into it, with every refused row shown (file, row, column, reason).

The upload (the file field ``bundle`` of a multipart form, as a browser sends a file) is streamed
to a file under ``<data_dir>/admin/uploads`` as it arrives, never held in memory, and refused
past ``UPLOAD_LIMIT`` (declared on the route: 413 before a byte is read when the size is
announced, as soon as it is passed otherwise). It is then imported by the function
``classroom-hub roster import`` uses (classroom_hub/roster/bundle_import.py), into the roster
the lessons read: the classes appear on /teacher at once. The file is removed after.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from pathlib import Path

from aiohttp import BodyPartReader, web

from classroom_hub.admin.roster_problems import as_json, explain_bundle
from classroom_hub.keys import SETTINGS
from classroom_hub.lessons.keys import LESSONS
from classroom_hub.roster import RosterCache
from classroom_hub.roster.bundle_import import import_bundle
from classroom_hub.roster.errors import RosterError
from classroom_hub.web.access import MiB, allow
from classroom_hub.web.routes import require
from classroom_hub.web.security import problem

log = logging.getLogger(__name__)

ADMIN = ("admin",)
# A province's bundle for one school is a few hundred KB zipped; 32 MiB leaves room for a whole
# district's without letting an upload fill the hub's disk.
UPLOAD_LIMIT = 32 * MiB
_CHUNK = 256 * 1024
FIELD = "bundle"  # the form's file field


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/admin/classes", classes)
    app.router.add_post("/api/admin/roster", upload_roster)


@allow(*ADMIN)
async def classes(request: web.Request) -> web.Response:
    """The roster's classes with their number of students, and how many records of each kind."""
    await require(request, *ADMIN)
    roster: RosterCache = request.config_dict[LESSONS].roster
    loop = asyncio.get_running_loop()
    entries = await loop.run_in_executor(None, roster.classes)
    counts = await loop.run_in_executor(None, roster.counts)
    return web.json_response({
        "classes": [{"id": c.sourced_id, "title": c.title, "grade": c.grade, "subject": c.subject,
                     "school": c.school_name, "students": c.students} for c in entries],
        "counts": counts,
    })  # fmt: skip


@allow(*ADMIN, body=UPLOAD_LIMIT, form=True)
async def upload_roster(request: web.Request) -> web.Response:
    """The bundle as the file field ``bundle`` of a multipart form (what a browser's file upload sends)."""
    admin = await require(request, *ADMIN)
    if request.content_type != "multipart/form-data":
        raise problem(415, "unsupported_media_type", f"send the .zip as the file field {FIELD!r} of a multipart form")
    folder = request.config_dict[SETTINGS].data_dir / "admin" / "uploads"
    target = folder / f"roster-{secrets.token_hex(8)}.zip"
    loop = asyncio.get_running_loop()
    try:
        size = await _receive(request, target)
        roster: RosterCache = request.config_dict[LESSONS].roster
        try:
            done = await loop.run_in_executor(None, import_bundle, roster, target)
        except RosterError as err:  # not a zip, another OneRoster version...: nothing was written
            detail = err.detail.replace(str(target), "the uploaded file")
            code, values = explain_bundle(detail)
            raise problem(400, err.code, detail, extra={"reason": code, "values": values}) from None
    finally:
        await loop.run_in_executor(None, lambda: target.unlink(missing_ok=True))
    report = done.report
    log.info("event=roster_uploaded by=%s bytes=%d replaced=%s problems=%d %s", admin.username, size,
             done.replaced, len(report.problems), " ".join(f"{k}={v}" for k, v in done.counts.items()))  # fmt: skip
    return web.json_response({
        "replaced": done.replaced,
        "imported": report.imported,
        "written": done.counts,
        "problems": [as_json(p) for p in report.problems],
    })  # fmt: skip


async def _receive(request: web.Request, target: Path) -> int:
    """Write the form's file to ``target`` chunk by chunk as it arrives; 413 past the limit."""
    loop = asyncio.get_running_loop()
    part = await _file_field(request)
    await loop.run_in_executor(None, lambda: target.parent.mkdir(parents=True, exist_ok=True))
    size = 0
    out = await loop.run_in_executor(None, target.open, "wb")
    try:
        while chunk := await part.read_chunk(_CHUNK):
            size += len(chunk)
            if size > UPLOAD_LIMIT:
                raise problem(413, "body_too_large", f"this route takes at most {UPLOAD_LIMIT} bytes")
            await loop.run_in_executor(None, out.write, chunk)
    finally:
        await loop.run_in_executor(None, out.close)
    if size == 0:
        raise problem(400, "empty_upload", "the uploaded file is empty")
    return size


async def _file_field(request: web.Request) -> BodyPartReader:
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if isinstance(part, BodyPartReader) and part.name == FIELD:
                return part
            await part.release()
    except ValueError as err:  # a malformed multipart body
        raise problem(400, "malformed_request", f"not a readable multipart form: {err}") from None
    raise problem(400, "no_file", f"the form has no file field {FIELD!r}")
