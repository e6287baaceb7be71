"""The teachers' booking page, ``/studio/book``, and its API (docs/studio.md, section 6).

A teacher sees the studio's slots of the coming two weeks (free, taken, too close to another
booking, past), books one with the lecture's title, subject and grade and the camera presets to
recall at pre-roll, cancels their own bookings, and follows their recordings through review
(state, the reviewer's comment) to the materials bank. Booking and cancelling are the studio's
own routes (``POST``/``DELETE /api/studio/bookings``); this module adds the page and the slots.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from aiohttp import web

from classroom_hub.web.access import allow
from classroom_hub.web.routes import STATIC, require
from classroom_hub.web.security import problem
from classroom_hub.web.session import current_user
from studio.http import TEACHERS, running_studio
from studio.slots import SlotPlan, slot_days

PAGE = STATIC / "studio_book.html"
DAYS = 14
MAX_DAYS = 31


@allow(*TEACHERS, page=True)
async def book_page(request: web.Request) -> web.StreamResponse:
    """The page, for teachers (and studio staff): others are sent to the login form."""
    user = await current_user(request)
    if user is None or not user.may(*TEACHERS):
        raise web.HTTPFound("/login?next=/studio/book" + ("&error=forbidden" if user else ""))
    return web.FileResponse(PAGE)


@allow(*TEACHERS)
async def slots(request: web.Request) -> web.Response:
    """``GET /api/studio/slots?days=14``: every slot of the coming days, the caller's bookings, the PTZ cameras."""
    user = await require(request, *TEACHERS)
    studio = running_studio(request)
    settings = studio.settings
    try:
        days = int(request.query.get("days", DAYS))
    except ValueError:
        raise problem(400, "invalid", "days must be a whole number") from None
    if not 1 <= days <= MAX_DAYS:
        raise problem(400, "invalid", f"days must be between 1 and {MAX_DAYS}")
    zone = settings.zone
    today = datetime.now(zone).date()
    start = datetime(today.year, today.month, today.day, tzinfo=zone)
    found = await studio.bookings.between(start.timestamp(), (start + timedelta(days=days)).timestamp())
    opens, closes = settings.day_minutes
    plan = SlotPlan(opens, closes, settings.slot_minutes * 60.0, settings.buffer_minutes * 60.0,
                    tuple(settings.booking_weekdays), zone)  # fmt: skip
    now = time.time()
    cameras = [{"id": c.spec.device_id, "name": c.spec.name} for c in studio.cameras.cameras.values() if c.ptz]
    grid = [
        {"date": day.isoformat(), "weekday": day.isoweekday(), "slots": [s.as_dict(zone, user.username) for s in row]}
        for day, row in slot_days(today, days, found, plan, now)
    ]
    mine = [b.as_dict(zone) for b in found if b.teacher == user.username and b.ends_at > now]
    return web.json_response(
        {"timezone": settings.timezone, "slot_minutes": settings.slot_minutes,
         "buffer_minutes": settings.buffer_minutes, "cameras": cameras, "days": grid, "mine": mine}
    )  # fmt: skip
