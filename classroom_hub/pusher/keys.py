"""The pusher's shared object (imports nothing of the hub at run time)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from classroom_hub.pusher.pusher import Pusher

PUSHER: web.AppKey[Pusher] = web.AppKey("pusher")
