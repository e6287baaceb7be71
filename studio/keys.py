"""The studio's shared objects (imports nothing of the hub at run time)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from studio.courier import LectureCourier
    from studio.live import Studio

STUDIO: web.AppKey[Studio] = web.AppKey("studio")
LECTURES: web.AppKey[LectureCourier] = web.AppKey("lecture_courier")  # only when a materials bank is configured
