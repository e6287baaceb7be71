"""The lab's place among the hub's shared objects (imports nothing of the hub at run time)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from stem_labs.lab import Lab

LAB: web.AppKey[Lab] = web.AppKey("lab")
