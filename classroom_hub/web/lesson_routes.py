"""Lesson pages, their APIs and the lesson WebSocket (docs/protocol.md).

``setup(app)`` adds the routes and the lessons part (a ``cleanup_ctx``) that opens the
lesson library and the roster cache, imports the sample lessons into an empty library
(and the demo school's roster into an empty cache when the room belongs to the demo
school), and runs the :class:`~classroom_hub.lessons.classroom.Classroom`.

Who may do what: ``/teacher`` and the teacher APIs need a teacher's login; ``/join``,
``/display``, the join API, the QR code and the running lesson's files are open to the
room's LAN (tablets and the big screen have no accounts). The WebSocket's role is fixed
when it opens: only a teacher's session gets ``role=teacher``.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
from collections.abc import AsyncIterator
from typing import Any

import segno
from aiohttp import WSMsgType, web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from classroom_hub.app import HEALTH, REGISTRY, SETTINGS, STORE
from classroom_hub.errors import HubError
from classroom_hub.fleet.part import FLEET
from classroom_hub.lessons import LessonLibrary, sample_packages
from classroom_hub.lessons.classroom import Classroom
from classroom_hub.lessons.errors import LessonError
from classroom_hub.lessons.headsets import LessonHeadsets
from classroom_hub.lessons.pins import PIN_FILE, PinBook
from classroom_hub.lessons.protocol import MAX_FRAME_BYTES, ROLES, ClientKey, ProtocolError, SourcedId, error
from classroom_hub.lessons.rosters import ROSTER_FILE, open_roster
from classroom_hub.lessons.sync import Link, frame_of
from classroom_hub.web.access import ANYONE, KiB, allow
from classroom_hub.web.routes import SOCKETS, STATIC, page, require

log = logging.getLogger(__name__)

LESSONS = web.AppKey("lessons", Classroom)
_HASH = re.compile(r"^[0-9a-f]{64}$")
_HTTP_STATUS = {
    "bad_code": 404, "unknown_student": 404, "bad_pin": 403, "pin_locked": 429, "too_many_tries": 429,
    "taken": 409, "ended": 410,
}  # fmt: skip
# Slides are shown in sandboxed frames; served with the same sandbox, so a slide opened on
# its own can still not read the hub's cookies or call its APIs.
_HTML_POLICY = "sandbox allow-scripts; connect-src 'none'; form-action 'none'"
_SANDBOXED = {".html": _HTML_POLICY, ".htm": _HTML_POLICY, ".svg": "sandbox"}


class JoinRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[0-9]{4}$")
    student: SourcedId
    client: ClientKey
    pin: str | None = Field(None, pattern=r"^[0-9]{4,8}$")


def setup(app: web.Application) -> None:
    app.cleanup_ctx.append(_lessons_part)
    app.router.add_get("/teacher", page("teacher"))
    app.router.add_get("/join", _open_page("join"))
    app.router.add_get("/display", _open_page("display"))
    app.router.add_get("/api/lessons", lessons_list)
    app.router.add_get("/api/lessons/{key}", lesson_detail)
    app.router.add_get("/api/classes", classes)
    app.router.add_get("/api/lesson/join", join_info)
    app.router.add_post("/api/lesson/join", join)
    app.router.add_get("/api/lesson/qr.svg", qr_code)
    app.router.add_get("/api/lesson/summary", summary)
    app.router.add_get("/lesson/{hash}/{path:.+}", asset)
    app.router.add_get("/ws/lesson", lesson_ws)


# --- the part ----------------------------------------------------------------------------


async def _lessons_part(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    loop = asyncio.get_running_loop()
    library = LessonLibrary(settings.data_dir / "lessons")
    await loop.run_in_executor(None, stock_library, library)
    roster = await loop.run_in_executor(None, open_roster, settings.data_dir / ROSTER_FILE, settings.room.school_code)
    try:
        pins = await loop.run_in_executor(None, PinBook.load, settings.data_dir / PIN_FILE)
    except LessonError as err:
        log.error("event=pins_unreadable problems=%r", str(err))
        pins = PinBook(settings.data_dir / PIN_FILE)
    classroom = Classroom(settings, app[STORE], library, roster, pins)

    def to_teachers(message: dict[str, Any]) -> None:
        classroom.links.broadcast(frame_of(message), classroom.links.teachers)

    # A vr_scene step launches its scene on the room's headsets (the fleet part starts after this one).
    headsets = LessonHeadsets(app[REGISTRY], lambda: app.get(FLEET), to_teachers, settings.http.public_url)
    classroom.headsets = headsets
    headsets.start()
    await classroom.start()
    app[LESSONS] = classroom
    app[HEALTH].parts["lessons"] = lambda: "up"
    try:
        yield
    finally:
        await headsets.close()
        await classroom.close()
        roster.close()


def stock_library(library: LessonLibrary) -> None:
    """Import the sample lessons into an empty library, so a new hub has lessons to teach."""
    if library.list():
        return
    for folder in sample_packages():
        record = library.import_package(folder)
        log.info("event=sample_lesson_imported lesson=%s hash=%s", record.id, record.hash[:12])


# --- pages -------------------------------------------------------------------------------


def _open_page(name: str) -> Any:
    @allow(ANYONE)
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / f"{name}.html")

    return handler


# --- teacher APIs ------------------------------------------------------------------------


@allow("teacher")
async def lessons_list(request: web.Request) -> web.Response:
    await require(request, "teacher")
    library = request.app[LESSONS].library
    records = await asyncio.get_running_loop().run_in_executor(None, library.list)
    latest: dict[str, Any] = {}
    for record in records:  # by id then import time: the last one wins
        latest[record.id] = record
    return web.json_response([r.model_dump(mode="json") for r in latest.values()])


@allow("teacher")
async def lesson_detail(request: web.Request) -> web.Response:
    """The whole manifest, answers and notes included: for the teacher's screen only."""
    await require(request, "teacher")
    library = request.app[LESSONS].library
    try:
        lesson = await asyncio.get_running_loop().run_in_executor(None, library.open, request.match_info["key"])
    except LessonError as err:
        raise web.HTTPNotFound(text=str(err)) from err
    return web.json_response({"record": lesson.record.model_dump(mode="json"),
                              "manifest": lesson.manifest.model_dump(mode="json")})  # fmt: skip


@allow("teacher")
async def classes(request: web.Request) -> web.Response:
    await require(request, "teacher")
    return web.json_response(await request.app[LESSONS].classes())


@allow("teacher")
async def summary(request: web.Request) -> web.Response:
    await require(request, "teacher")
    run = request.app[LESSONS].run
    if run is None or run.summary is None:
        raise web.HTTPNotFound(text="no lesson has ended yet")
    return web.json_response(run.summary)


# --- joining -----------------------------------------------------------------------------


def _refused(err: ProtocolError) -> web.Response:
    return web.json_response({"error": err.code, "message": err.message}, status=_HTTP_STATUS.get(err.code, 400))


@allow(ANYONE)
async def join_info(request: web.Request) -> web.Response:
    try:
        return web.json_response(request.app[LESSONS].join_info(request.query.get("code", ""), request.remote or ""))
    except ProtocolError as err:
        return _refused(err)


@allow(ANYONE, body=4 * KiB)
async def join(request: web.Request) -> web.Response:
    try:
        body = JoinRequest.model_validate_json(await request.read())
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        return web.json_response({"error": "invalid", "message": f"{where}: {first['msg']}"}, status=400)
    try:
        seat = request.app[LESSONS].join(body.code, body.student, body.pin, body.client, request.remote or "")
    except ProtocolError as err:
        return _refused(err)
    return web.json_response(seat)


def hub_url(request: web.Request) -> str:
    public = request.app[SETTINGS].http.public_url
    return public.rstrip("/") if public else f"{request.scheme}://{request.host}"


@allow(ANYONE)
async def qr_code(request: web.Request) -> web.Response:
    """The join address as a QR code (SVG): the hub's address and the running lesson's code."""
    run = request.app[LESSONS].run
    target = hub_url(request) + "/join" + (f"?code={run.code}" if run is not None and not run.ended else "")
    out = io.BytesIO()
    segno.make(target, error="m").save(out, kind="svg", scale=10, border=3, light="#fff", omitsize=True)
    return web.Response(body=out.getvalue(), content_type="image/svg+xml",
                        headers={"Cache-Control": "no-store", "X-Join-Url": target})  # fmt: skip


# --- lesson files ------------------------------------------------------------------------


@allow(ANYONE, narrowed=True)
async def asset(request: web.Request) -> web.StreamResponse:
    """A file of a stored lesson; the running lesson's for anyone, others for teachers."""
    key, name = request.match_info["hash"], request.match_info["path"]
    if not _HASH.match(key):
        raise web.HTTPNotFound()
    classroom = request.app[LESSONS]
    run = classroom.run
    try:
        if run is not None and run.lesson.record.hash == key:
            path = run.lesson.asset_path(name)
        else:
            await require(request, "teacher")
            lesson = await asyncio.get_running_loop().run_in_executor(None, classroom.library.open, key)
            path = lesson.asset_path(name)
    except LessonError as err:
        raise web.HTTPNotFound(text="not a file of this lesson") from err
    # Content-addressed (the hash is in the URL): a tablet never has to fetch it twice.
    headers = {"Cache-Control": "public, max-age=31536000, immutable", "X-Content-Type-Options": "nosniff"}
    policy = _SANDBOXED.get(path.suffix.lower())
    if policy:
        headers["Content-Security-Policy"] = policy
    return web.FileResponse(path, headers=headers)


# --- the WebSocket -----------------------------------------------------------------------


@allow(ANYONE, narrowed=True)
async def lesson_ws(request: web.Request) -> web.WebSocketResponse:
    role = request.query.get("role", "student")
    if role not in ROLES:
        raise web.HTTPBadRequest(text=f"role must be one of {', '.join(ROLES)}")
    user = await require(request, "teacher") if role == "teacher" else None
    # No compression: each frame goes out in one synchronous write (see lessons/sync.py),
    # and deflating the same small message 40 times costs more than it saves on a LAN.
    ws = web.WebSocketResponse(compress=False, max_msg_size=4 * MAX_FRAME_BYTES)
    await ws.prepare(request)
    classroom = request.app[LESSONS]
    if user is not None and classroom.headsets is not None and not request.app[SETTINGS].http.public_url:
        classroom.headsets.hub_url = hub_url(request)  # the address the teacher reached: headsets are on that LAN
    link = Link(role, ws, request.transport, request.remote or "?", user=user.username if user else None)
    request.app[SOCKETS].add(ws)
    classroom.attach(link)
    try:
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                await classroom.receive(link, message.data)
            elif message.type == WSMsgType.BINARY:
                link.send(error("bad_frame", "send each message as one JSON text frame"))
            elif message.type == WSMsgType.ERROR:
                break
    except (HubError, ConnectionError) as err:
        log.info("event=lesson_socket_error role=%s peer=%s error=%s", role, link.peer, err)
    finally:
        classroom.detach(link)
        request.app[SOCKETS].discard(ws)
    return ws
