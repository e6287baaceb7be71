"""The fleet's shared object (imports nothing of the hub at run time)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from classroom_hub.fleet.part import Fleet

FLEET: web.AppKey[Fleet] = web.AppKey("fleet")
