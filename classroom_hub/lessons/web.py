"""Lesson pages, their APIs and the lesson WebSocket (docs/protocol.md).

``setup(app)`` adds the lessons part (:mod:`classroom_hub.lessons.part`) and the routes.

Who may do what: ``/teacher`` and the teacher APIs need a teacher's login; ``/join``,
``/display`` and the join API are open to the room's LAN (tablets and the big screen have
no accounts). The class code (the display's socket, the QR code) goes only to a paired
display or a teacher (web_displays.py); the running lesson's files only to those
given their key in the lesson's state (web_files.py). The WebSocket's role is fixed
when it opens: only a teacher's session gets ``role=teacher``.
"""

from __future__ import annotations

import asyncio
import io
import logging
from typing import Any

import segno
from aiohttp import WSMsgType, web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from classroom_hub.errors import HubError
from classroom_hub.keys import SETTINGS, SOCKETS
from classroom_hub.lessons import web_displays, web_files, web_results
from classroom_hub.lessons.errors import LessonError
from classroom_hub.lessons.keys import DISPLAYS, LESSONS
from classroom_hub.lessons.part import lessons_part
from classroom_hub.lessons.paths import MANIFEST_NAME
from classroom_hub.lessons.protocol import MAX_FRAME_BYTES, ROLES, ClientKey, ProtocolError, SourcedId, error
from classroom_hub.lessons.sync import Link
from classroom_hub.lessons.web_displays import require_screen
from classroom_hub.problems import describe
from classroom_hub.web.access import ANYONE, KiB, allow
from classroom_hub.web.address import hub_url
from classroom_hub.web.routes import require
from classroom_hub.web.security import problem

__all__ = ["LESSONS", "setup"]

log = logging.getLogger(__name__)

_HTTP_STATUS = {
    "bad_code": 404, "unknown_student": 404, "bad_pin": 403, "pin_locked": 429, "too_many_tries": 429,
    "taken": 409, "ended": 410,
}  # fmt: skip


class JoinRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[0-9]{4}$")
    student: SourcedId
    client: ClientKey
    pin: str | None = Field(None, pattern=r"^[0-9]{4,8}$")


def setup(app: web.Application) -> None:
    app.cleanup_ctx.append(lessons_part)
    app.router.add_get("/api/lessons", lessons_list)
    app.router.add_get("/api/lessons/{key}", lesson_detail)
    app.router.add_get("/api/classes", classes)
    app.router.add_get("/api/lesson/join", join_info)
    app.router.add_post("/api/lesson/join", join)
    app.router.add_get("/api/lesson/qr.svg", qr_code)
    app.router.add_get("/api/lesson/summary", summary)
    app.router.add_get("/lesson/{ref}/{path:.+}", web_files.asset)
    app.router.add_get("/ws/lesson", lesson_ws)
    web_displays.setup(app)
    web_results.setup(app)  # exports and the gradebook (docs/results.md)


# --- teacher APIs ------------------------------------------------------------------------


@allow("teacher")
async def lessons_list(request: web.Request) -> web.Response:
    await require(request, "teacher")
    library = request.config_dict[LESSONS].library
    records = await asyncio.get_running_loop().run_in_executor(None, library.list)
    latest: dict[str, Any] = {}
    for record in records:  # by id then import time: the last one wins
        latest[record.id] = record
    return web.json_response([r.model_dump(mode="json") for r in latest.values()])


@allow("teacher")
async def lesson_detail(request: web.Request) -> web.Response:
    """The whole manifest, answers and notes included, and the package's files (the teacher may
    send one to the tablets): for the teacher's screen only."""
    await require(request, "teacher")
    library = request.config_dict[LESSONS].library
    try:
        lesson = await asyncio.get_running_loop().run_in_executor(None, library.open, request.match_info["key"])
    except LessonError as err:
        raise problem(404, "unknown_lesson", str(err)) from err
    files = sorted(name for name in lesson.files if name != MANIFEST_NAME)
    return web.json_response({"record": lesson.record.model_dump(mode="json"),
                              "manifest": lesson.manifest.model_dump(mode="json"), "files": files})  # fmt: skip


@allow("teacher")
async def classes(request: web.Request) -> web.Response:
    await require(request, "teacher")
    return web.json_response(await request.config_dict[LESSONS].classes())


@allow("teacher")
async def summary(request: web.Request) -> web.Response:
    await require(request, "teacher")
    run = request.config_dict[LESSONS].run
    if run is None or run.summary is None:
        raise problem(404, "no_summary", "no lesson has ended yet")
    return web.json_response(run.summary)


# --- joining -----------------------------------------------------------------------------


def _refused(err: ProtocolError) -> web.HTTPException:
    return problem(_HTTP_STATUS.get(err.code, 400), err.code, err.message)


@allow(ANYONE)
async def join_info(request: web.Request) -> web.Response:
    try:
        lessons = request.config_dict[LESSONS]
        return web.json_response(lessons.join_info(request.query.get("code", ""), request.remote or ""))
    except ProtocolError as err:
        raise _refused(err) from None


@allow(ANYONE, body=4 * KiB)
async def join(request: web.Request) -> web.Response:
    try:
        body = JoinRequest.model_validate_json(await request.read())
    except ValidationError as err:
        raise problem(400, "invalid", describe(err)) from None
    try:
        seat = request.config_dict[LESSONS].join(body.code, body.student, body.pin, body.client, request.remote or "")
    except ProtocolError as err:
        raise _refused(err) from None
    await request.config_dict[LESSONS].saved()  # the token is good after a restart: hand it out once stored
    return web.json_response(seat)


@allow(ANYONE, narrowed=True)
async def qr_code(request: web.Request) -> web.Response:
    """The join address as a QR code (SVG): the hub's address and the running lesson's code.

    For a paired display or a teacher only: it carries the class code."""
    await require_screen(request)
    run = request.config_dict[LESSONS].run
    target = hub_url(request) + "/join" + (f"?code={run.code}" if run is not None and not run.ended else "")
    out = io.BytesIO()
    segno.make(target, error="m").save(out, kind="svg", scale=10, border=3, light="#fff", omitsize=True)
    return web.Response(body=out.getvalue(), content_type="image/svg+xml",
                        headers={"Cache-Control": "no-store", "X-Join-Url": target})  # fmt: skip


# --- the WebSocket -----------------------------------------------------------------------


@allow(ANYONE, narrowed=True)
async def lesson_ws(request: web.Request) -> web.WebSocketResponse:
    role = request.query.get("role", "student")
    if role not in ROLES:
        raise problem(400, "invalid", f"role must be one of {', '.join(ROLES)}")
    user = await require(request, "teacher") if role == "teacher" else None
    # A display gets the class code: a paired display or a teacher's screen only.
    screen = await require_screen(request) if role == "display" else None
    shown = screen.display if screen is not None else None
    # No compression: each frame goes out in one synchronous write (see lessons/sync.py),
    # and deflating the same small message 40 times costs more than it saves on a LAN.
    ws = web.WebSocketResponse(compress=False, max_msg_size=4 * MAX_FRAME_BYTES)
    await ws.prepare(request)
    classroom = request.config_dict[LESSONS]
    if user is not None and classroom.headsets is not None and not request.config_dict[SETTINGS].http.public_url:
        classroom.headsets.hub_url = hub_url(request)  # the hub's own address (never the request's Host)
    if shown is not None:
        await asyncio.get_running_loop().run_in_executor(None, request.config_dict[DISPLAYS].seen, shown.id)
    link = Link(role, ws, request.transport, request.remote or "?", user=user.username if user else None,
                display=shown.id if shown else None)
    request.config_dict[SOCKETS].add(ws)
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
        request.config_dict[SOCKETS].discard(ws)
    return ws
