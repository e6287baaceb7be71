"""The lab's place among the hub's shared objects."""

from __future__ import annotations

from aiohttp import web

from stem_labs.lab import Lab

LAB = web.AppKey("lab", Lab)
