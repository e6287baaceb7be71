"""The studio's web side: the /studio page, its JSON API, the live WebSocket and the calendar feed;
the teachers' booking page (studio/web_booking.py).

``setup(app)`` adds the routes and, when the room is a studio (``room.kind = "studio"`` or any
camera configured), a cleanup-context part that runs the ``Studio`` for the app's lifetime, and
with it the courier of published lectures to the materials bank when one is configured.
Message shapes are in ``studio/api.py``; docs/studio.md lists every route.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import WSMsgType, web
from pydantic import ValidationError

from classroom_hub import xapi
from classroom_hub.backoff import Backoff
from classroom_hub.keys import LINK, REGISTRY, REJECTIONS, SETTINGS, SOCKETS, STORE
from classroom_hub.lessons import LessonLibrary
from classroom_hub.problems import describe
from classroom_hub.pusher.materials import MaterialsBank
from classroom_hub.pusher.settings import central_of
from classroom_hub.web.access import allow
from classroom_hub.web.routes import require
from classroom_hub.wired.keys import WIRED
from config.settings import HubSettings
from device_drivers.camera import PtzError
from studio.api import (
    ChapterRequest,
    LayoutRequest,
    PtzRequest,
    RecordRequest,
    SocketCommand,
)
from studio.cameras import camera_reports
from studio.courier import LectureCourier
from studio.errors import StudioError
from studio.http import STAFF, actor_of, body_of, running_studio
from studio.keys import LECTURES, STUDIO
from studio.live import RoomIdentity, Studio, power_on_directly
from studio.settings import is_studio, load_studio_settings, rig_from, studio_dir
from studio.web_booking import book_page, slots
from studio.web_library import (
    book,
    calendar_feed,
    cancel_booking,
    edit_recording,
    get_recording,
    list_bookings,
    list_recordings,
    outbox,
    publish_recording,
    recording_media,
    review_recording,
    submit_recording,
)

__all__ = ["STUDIO", "is_studio", "setup", "studio_part"]

log = logging.getLogger(__name__)

STATUS_PERIOD_S = 1.0


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/studio/book", book_page)  # teachers: their own login check, not a declared page
    r.add_get("/api/studio/slots", slots)
    r.add_get("/studio/calendar.ics", calendar_feed)
    r.add_get("/api/studio/status", status)
    r.add_get("/api/studio/preview.jpg", preview_jpeg)
    r.add_post("/api/studio/layout", set_layout)
    r.add_post("/api/studio/ptz", ptz)
    r.add_post("/api/studio/record", record)
    r.add_post("/api/studio/stop", stop)
    r.add_post("/api/studio/chapter", chapter)
    r.add_get("/api/studio/bookings", list_bookings)
    r.add_post("/api/studio/bookings", book)
    r.add_delete("/api/studio/bookings/{id}", cancel_booking)
    r.add_get("/api/studio/recordings", list_recordings)
    r.add_get("/api/studio/recordings/{id}", get_recording)
    r.add_patch("/api/studio/recordings/{id}", edit_recording)
    r.add_post("/api/studio/recordings/{id}/submit", submit_recording)
    r.add_post("/api/studio/recordings/{id}/review", review_recording)
    r.add_post("/api/studio/recordings/{id}/publish", publish_recording)
    r.add_get("/api/studio/recordings/{id}/media", recording_media)
    r.add_get("/api/studio/outbox", outbox)
    r.add_get("/ws/studio", studio_ws)
    if is_studio(app[SETTINGS]):
        app.cleanup_ctx.append(studio_part)


async def studio_part(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    store = app[STORE]
    room = settings.room
    studio = Studio(
        load_studio_settings(settings),
        rig_from(settings),
        studio_dir(settings),
        RoomIdentity(room.school_code, room.id, room.name,
                     xapi.home_page(central_of(settings).xapi_url, settings.http.public_url), settings.language),
        add_statements=store.add_statements,
        display_power=functools.partial(_display_power, app),
    )  # fmt: skip
    await studio.start()
    # Each camera's state (answers its PTZ head, or shows a picture) in the registry and on the bus.
    studio.cameras.watch(*camera_reports(settings, app[REGISTRY], app.get(LINK), app[REJECTIONS]))
    app[STUDIO] = studio
    courier = lecture_courier(settings, studio)
    task = None
    if courier is not None:
        app[LECTURES] = courier
        task = asyncio.create_task(courier.run(), name="lecture-courier")
    yield
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await studio.close()


def lecture_courier(settings: HubSettings, studio: Studio) -> LectureCourier | None:
    """Published lectures go to the materials bank (``central.materials_url``) through the pusher's client."""
    central = central_of(settings)
    url = central.materials_url
    if not url:
        return None
    token = central.materials_token.get_secret_value() if central.materials_token else None

    def bank() -> MaterialsBank:
        return MaterialsBank(url, settings.data_dir / "materials", LessonLibrary(settings.data_dir / "lessons"),
                             token=token)  # fmt: skip

    return LectureCourier(studio.outbox, bank, backoff=Backoff(central.retry_min_s, central.retry_max_s))


async def _display_power(app: web.Application, device_id: str, options: dict[str, Any]) -> None:
    """Through the hub's own driver of the display when it runs one (a panel takes one connection)."""
    wired = app.get(WIRED)
    if wired is not None and wired.handles(device_id):
        await wired.execute(device_id, "power", {"on": True}, 10.0)
    else:
        await power_on_directly(device_id, options)


# --- live controls -------------------------------------------------------------------------


async def _status_body(studio: Studio) -> dict[str, Any]:
    free = await asyncio.get_running_loop().run_in_executor(None, studio.disk_free_mb)
    return {**studio.status(), "disk_free_mb": free, "time": time.time()}


@allow(*STAFF)
async def status(request: web.Request) -> web.Response:
    await require(request, *STAFF)
    return web.json_response(await _status_body(running_studio(request)))


@allow(*STAFF)
async def preview_jpeg(request: web.Request) -> web.Response:
    await require(request, *STAFF)
    studio = running_studio(request)
    jpeg = await asyncio.get_running_loop().run_in_executor(None, studio.preview.snapshot)
    return web.Response(body=jpeg, content_type="image/jpeg", headers={"Cache-Control": "no-store"})


@allow(*STAFF)
async def set_layout(request: web.Request) -> web.Response:
    await require(request, *STAFF)
    body: LayoutRequest = await body_of(request, LayoutRequest)
    running_studio(request).set_layout(body.layout)
    return web.json_response({"layout": str(body.layout)})


@allow(*STAFF)
async def ptz(request: web.Request) -> web.Response:
    await require(request, *STAFF)
    body: PtzRequest = await body_of(request, PtzRequest)
    return web.json_response(await running_studio(request).ptz(body))


@allow(*STAFF)
async def record(request: web.Request) -> web.Response:
    user = await require(request, *STAFF)
    body: RecordRequest = await body_of(request, RecordRequest)
    recording = await running_studio(request).start_recording(actor_of(user), body.booking_id)
    return web.json_response(recording.as_dict(), status=201)


@allow(*STAFF)
async def stop(request: web.Request) -> web.Response:
    await require(request, *STAFF)
    return web.json_response((await running_studio(request).stop_recording()).as_dict())


@allow(*STAFF)
async def chapter(request: web.Request) -> web.Response:
    await require(request, *STAFF)
    body: ChapterRequest = await body_of(request, ChapterRequest)
    at = await running_studio(request).add_chapter(body.title)
    return web.json_response({"at_s": at, "title": body.title})


@allow(*STAFF)
async def studio_ws(request: web.Request) -> web.WebSocketResponse:
    """Live studio: status once a second and on every event, preview JPEGs as binary messages;
    the page sends PTZ and layout commands. A camera this page is driving stops if the page goes."""
    await require(request, *STAFF)
    studio = running_studio(request)
    ws = web.WebSocketResponse(heartbeat=20)
    await ws.prepare(request)
    request.config_dict[SOCKETS].add(ws)
    send_lock = asyncio.Lock()
    events: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=100)  # a stalled page must not grow memory
    driving: set[str] = set()

    async def send(data: str | bytes) -> None:
        async with send_lock:
            if isinstance(data, bytes):
                await ws.send_bytes(data)
            else:
                await ws.send_str(data)

    async def statuses() -> None:
        while not ws.closed:
            await send(json.dumps({"type": "status", **await _status_body(studio)}, ensure_ascii=False))
            with contextlib.suppress(TimeoutError):
                event = await asyncio.wait_for(events.get(), STATUS_PERIOD_S)
                await send(json.dumps({"type": "event", "event": event}, ensure_ascii=False))
                while not events.empty():
                    await send(json.dumps({"type": "event", "event": events.get_nowait()}, ensure_ascii=False))

    async def pictures() -> None:
        seq = 0
        while not ws.closed:
            seq, jpeg = await studio.preview.next(seq)
            if jpeg:
                await send(jpeg)

    def on_event(event: dict[str, Any]) -> None:
        if not events.full():
            events.put_nowait(event)

    remove = studio.on_event(on_event)
    studio.preview.viewers += 1
    tasks = [asyncio.create_task(_quiet(statuses())), asyncio.create_task(_quiet(pictures()))]
    try:
        async for msg in ws:
            if msg.type == WSMsgType.ERROR:
                break
            if msg.type != WSMsgType.TEXT:
                continue
            await _ws_command(studio, msg.data, driving, send)
    finally:
        studio.preview.viewers -= 1
        remove()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        request.config_dict[SOCKETS].discard(ws)
        for camera in driving:  # a released joystick that never said so: do not leave the head moving
            with contextlib.suppress(PtzError, StudioError):
                await studio.ptz(PtzRequest(camera=camera, action="stop"))
    return ws


async def _quiet(coro: Awaitable[Any]) -> None:
    with contextlib.suppress(ConnectionError, RuntimeError, asyncio.CancelledError):
        await coro


async def _ws_command(studio: Studio, text: str, driving: set[str], send: Callable[[str], Awaitable[None]]) -> None:
    try:
        command = SocketCommand.model_validate_json(text)
    except ValidationError as err:
        await send(json.dumps({"type": "error", "message": describe(err)}))
        return
    if command.type == "layout" and command.layout is not None:
        studio.set_layout(command.layout)
    elif command.type == "ptz" and command.ptz is not None:
        request = command.ptz
        moving = request.action == "drive" and request.direction is not None and request.direction != "stop"
        (driving.add if moving else driving.discard)(request.camera)
        try:
            await studio.ptz(request)
            await send(json.dumps({"type": "ptz_result", "camera": request.camera, "ok": True}))
        except (PtzError, StudioError) as err:
            await send(json.dumps({"type": "ptz_result", "camera": request.camera, "ok": False, "error": str(err)}))
