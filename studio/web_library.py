"""The studio's bookings, calendar feed, recordings, review and publishing routes (docs/studio.md, section 6)."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web

from classroom_hub.auth import User
from classroom_hub.keys import ACCOUNTS
from classroom_hub.web.access import ANYONE, allow
from classroom_hub.web.routes import require
from classroom_hub.web.security import problem
from classroom_hub.web.session import current_user
from studio.api import BookingRequest, EditRequest, ReviewRequest, epoch
from studio.calendar import calendar
from studio.errors import NotAllowed, NotFound
from studio.http import STAFF, TEACHERS, actor_of, body_of, running_studio
from studio.keys import LECTURES
from studio.live import Studio
from studio.publishing import Material

log = logging.getLogger(__name__)
# --- bookings and the calendar -------------------------------------------------------------


@allow(*TEACHERS)
async def list_bookings(request: web.Request) -> web.Response:
    await require(request, *TEACHERS)
    studio = running_studio(request)
    zone = studio.settings.zone
    day_text = request.query.get("date")
    try:
        day = datetime.fromisoformat(day_text).date() if day_text else datetime.now(zone).date()
    except ValueError:
        raise problem(400, "invalid", "date must look like 2026-03-02") from None
    start = datetime(day.year, day.month, day.day, tzinfo=zone)
    days = min(max(int(request.query.get("days", "1") or 1), 1), 62)
    found = await studio.bookings.between(start.timestamp(), (start + timedelta(days=days)).timestamp(),
                                          cancelled=request.query.get("cancelled") == "1")  # fmt: skip
    current = await studio.bookings.current()
    return web.json_response(
        {
            "calendar": f"/studio/calendar.ics?key={await feed_key(studio)}",
            "date": day.isoformat(),
            "timezone": studio.settings.timezone,
            "current": current.id if current else None,
            "bookings": [b.as_dict(zone) for b in found],
        }
    )


@allow(*TEACHERS)
async def book(request: web.Request) -> web.Response:
    user = await require(request, *TEACHERS)
    studio = running_studio(request)
    body: BookingRequest = await body_of(request, BookingRequest)
    actor = actor_of(user)
    teacher, teacher_name = user.username, body.teacher_name or user.display_name
    if body.teacher and body.teacher != user.username:
        if not actor.staff:
            raise NotAllowed("a teacher books only for themselves")
        accounts = await asyncio.get_running_loop().run_in_executor(None, request.config_dict[ACCOUNTS].list)
        account = next((a for a in accounts if a.username == body.teacher), None)
        if account is None:
            raise problem(400, "invalid", f"teacher: no account {body.teacher!r}")
        teacher, teacher_name = account.username, body.teacher_name or account.display_name
    zone = studio.settings.zone
    booking = await studio.bookings.book(
        actor, teacher=teacher, teacher_name=teacher_name, title=body.title, starts_at=epoch(body.starts_at, zone),
        ends_at=epoch(body.ends_at, zone), presets=body.presets, subject=body.subject, grade=body.grade,
    )  # fmt: skip
    unknown = [c for c in body.presets if c not in studio.cameras.cameras]
    if unknown:
        log.warning("event=booking_unknown_camera booking=%s cameras=%s", booking.id, ",".join(unknown))
    return web.json_response(booking.as_dict(zone), status=201)


@allow(*TEACHERS)
async def cancel_booking(request: web.Request) -> web.Response:
    user = await require(request, *TEACHERS)
    studio = running_studio(request)
    booking = await studio.bookings.cancel(actor_of(user), request.match_info["id"])
    return web.json_response(booking.as_dict(studio.settings.zone))


async def feed_key(studio: Studio) -> str:
    def get_or_make(conn: Any) -> str:
        row = conn.execute("SELECT value FROM studio_keys WHERE name = 'calendar'").fetchone()
        if row is not None:
            return str(row[0])
        key = secrets.token_urlsafe(18)
        conn.execute("INSERT INTO studio_keys (name, value) VALUES ('calendar', ?)", (key,))
        return key

    return await studio.store.run(get_or_make)


@allow(ANYONE, narrowed=True)
async def calendar_feed(request: web.Request) -> web.Response:
    """text/calendar for subscriptions: a calendar app cannot log in, so it brings the feed key."""
    studio = running_studio(request)
    key = request.query.get("key")
    if key is None or not secrets.compare_digest(key, await feed_key(studio)):
        user = await current_user(request)
        if user is None or not user.may(*TEACHERS):
            raise problem(403, "forbidden", "log in, or use the feed address with its key")
    now = time.time()
    found = await studio.bookings.for_feed(now - 30 * 86400)
    room = studio.room
    body = calendar(found, room_id=room.room_id, room_name=room.room_name, now=now)
    return web.Response(
        body=body.encode("utf-8"), content_type="text/calendar", charset="utf-8",
        headers={"Content-Disposition": f'inline; filename="{room.room_id}.ics"'},
    )  # fmt: skip


# --- recordings, review, publishing --------------------------------------------------------


async def _visible(request: web.Request, recording_id: str) -> tuple[User, Any]:
    user = await require(request, *TEACHERS)
    recording = await running_studio(request).recordings.get(recording_id)
    if not user.may(*STAFF) and recording.teacher != user.username:
        raise NotAllowed("this is another teacher's recording")
    return user, recording


@allow(*TEACHERS)
async def list_recordings(request: web.Request) -> web.Response:
    user = await require(request, *TEACHERS)
    studio = running_studio(request)
    states = [s for s in request.query.get("state", "").split(",") if s]
    found = await studio.recordings.list(*states)
    if not user.may(*STAFF):
        found = [r for r in found if r.teacher == user.username]
    sent = await studio.outbox.of_recordings([r.id for r in found if r.state == "published"])
    return web.json_response({"recordings": [_with_upload(r.as_dict(), sent.get(r.id)) for r in found]})


def _with_upload(body: dict[str, Any], material: Material | None) -> dict[str, Any]:
    """A published lecture's way to the materials bank: bytes sent, tries, last error, delivered."""
    body["upload"] = material.upload() if material is not None else None
    return body


@allow(*TEACHERS)
async def get_recording(request: web.Request) -> web.Response:
    _, recording = await _visible(request, request.match_info["id"])
    studio = running_studio(request)
    body = _with_upload(recording.as_dict(), (await studio.outbox.of_recordings([recording.id])).get(recording.id))
    body["log"] = await studio.review.log(recording.id)
    return web.json_response(body)


@allow(*TEACHERS)
async def edit_recording(request: web.Request) -> web.Response:
    user = await require(request, *TEACHERS)
    body: EditRequest = await body_of(request, EditRequest)
    changes = body.model_dump(exclude_unset=True)
    recording = await running_studio(request).review.edit(actor_of(user), request.match_info["id"], changes)
    return web.json_response(recording.as_dict())


@allow(*TEACHERS)
async def submit_recording(request: web.Request) -> web.Response:
    user = await require(request, *TEACHERS)
    recording = await running_studio(request).review.submit(actor_of(user), request.match_info["id"])
    return web.json_response(recording.as_dict())


@allow(*STAFF)
async def review_recording(request: web.Request) -> web.Response:
    user = await require(request, *STAFF)
    body: ReviewRequest = await body_of(request, ReviewRequest)
    review = running_studio(request).review
    recording_id = request.match_info["id"]
    if body.decision == "approve":
        recording = await review.approve(actor_of(user), recording_id, body.comment)
    else:
        recording = await review.reject(actor_of(user), recording_id, body.comment or "")
    return web.json_response(recording.as_dict())


@allow(*STAFF)
async def publish_recording(request: web.Request) -> web.Response:
    user = await require(request, *STAFF)
    recording = await running_studio(request).review.publish(actor_of(user), request.match_info["id"])
    return web.json_response(recording.as_dict())


@allow(*TEACHERS)
async def recording_media(request: web.Request) -> web.StreamResponse:
    """The video for the reviewer's player (Range requests work: seeking is instant)."""
    _, recording = await _visible(request, request.match_info["id"])
    which = request.query.get("v", "edit")
    path = recording.edit_path if which == "edit" and recording.edit_path else recording.file_path
    if not path:
        raise NotFound("this recording has no file yet")
    return web.FileResponse(Path(path), headers={"Content-Type": "video/mp4"})


@allow("studio_staff", "technician")
async def outbox(request: web.Request) -> web.Response:
    await require(request, "studio_staff", "technician")
    studio = running_studio(request)
    pending = await studio.outbox.pending(limit=100)
    courier = request.config_dict.get(LECTURES)
    return web.json_response(
        {
            "depth": await studio.outbox.depth(),
            "courier": courier.status() if courier is not None else None,
            "pending": [
                {k: v for k, v in vars(m).items() if k != "metadata"} | {"title": m.metadata.get("title")}
                for m in pending
            ],
        }
    )
