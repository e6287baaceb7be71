"""The serial kits' shared object (imports nothing of the hub at run time)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from firmware_bridge.bus_bridge import BusBridge

KITS: web.AppKey[BusBridge] = web.AppKey("kits")
