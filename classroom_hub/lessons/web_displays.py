"""Pairing the room's display pages with the hub (docs/protocol.md, section 1).

Only a paired display or a signed-in teacher gets the class code: over the lesson socket,
in the QR code and in the lesson's state. Anyone else on the LAN who opens ``/display``
gets a page explaining how to pair it. A technician (or a teacher) makes a pairing code;
the display sends it once and keeps the credential it gets back as a cookie.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from classroom_hub.lessons.displays import CODE_TTL_S, NAME_MAX, PairedDisplay
from classroom_hub.lessons.errors import LessonError
from classroom_hub.lessons.keys import DISPLAYS, LESSONS
from classroom_hub.lessons.protocol import ProtocolError
from classroom_hub.problems import describe
from classroom_hub.web.access import ANYONE, KiB, allow
from classroom_hub.web.address import hub_url
from classroom_hub.web.routes import require
from classroom_hub.web.security import problem
from classroom_hub.web.session import current_user

log = logging.getLogger(__name__)

DISPLAY_COOKIE = "hub_display"
_TEN_YEARS_S = 10 * 365 * 24 * 3600
MANAGERS = ("technician", "teacher")
_STATUS = {"bad_code": 403, "expired": 410, "too_many_tries": 429}


class PairRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[0-9]{8}$")


class NewCodeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field("", max_length=NAME_MAX)


@dataclass(frozen=True, slots=True)
class Screen:
    """Who is looking at a display page that may show the class code."""

    display: PairedDisplay | None = None
    teacher: str | None = None


def setup(app: web.Application) -> None:
    app.router.add_get("/api/display", display_status)
    app.router.add_post("/api/display/pair", pair)
    app.router.add_get("/api/displays", displays_list)
    app.router.add_post("/api/displays/pairing", new_code)
    app.router.add_post("/api/displays/{display_id}/revoke", revoke)


async def screen_of(request: web.Request) -> Screen | None:
    """A paired display (by its cookie) or a signed-in teacher; None for anyone else."""
    credential = request.cookies.get(DISPLAY_COOKIE)
    if credential:
        display = await _call(request, request.config_dict[DISPLAYS].check, credential)
        if display is not None:
            return Screen(display=display)
    user = await current_user(request)
    if user is not None and user.may("teacher"):
        return Screen(teacher=user.username)
    return None


async def require_screen(request: web.Request) -> Screen:
    screen = await screen_of(request)
    if screen is None:
        log.info("event=class_code_refused path=%s peer=%s reason=not_paired", request.path, request.remote)
        raise problem(401, "not_paired", "pair this display first")
    return screen


async def pairing_link(app: web.Application, base_url: str, name: str, made_by: str, *, ttl_s: float,
                       uses: int) -> str:  # fmt: skip
    """A link that pairs the browser opening it (the demo prints one so its display works at once)."""
    loop = asyncio.get_running_loop()
    code = await loop.run_in_executor(None, lambda: app[DISPLAYS].new_code(name, made_by, ttl_s=ttl_s, uses=uses))
    return f"{base_url.rstrip('/')}/display?pair={code.code}"


async def demo_links(app: web.Application, base_url: str) -> dict[str, str]:
    """The demo's display pairs at once: the welcome prints a pairing link for it."""
    return {"display": await pairing_link(app, base_url, "demo", "demo", ttl_s=12 * 3600, uses=20)}


# --- the display page ----------------------------------------------------------------------


@allow(ANYONE, narrowed=True)
async def display_status(request: web.Request) -> web.Response:
    screen = await require_screen(request)
    if screen.display is not None:
        return web.json_response({"display": {"id": screen.display.id, "name": screen.display.name}})
    return web.json_response({"teacher": screen.teacher})


@allow(ANYONE, body=4 * KiB)
async def pair(request: web.Request) -> web.Response:
    try:
        body = PairRequest.model_validate_json(await request.read())
    except ValidationError as err:
        raise problem(400, "invalid", describe(err)) from None
    peer = request.remote or "?"
    try:
        display, credential = await _call(request, request.config_dict[DISPLAYS].pair, body.code, peer)
    except ProtocolError as err:
        log.info("event=display_pairing_refused reason=%s peer=%s", err.code, peer)
        raise problem(_STATUS.get(err.code, 400), err.code, err.message) from None
    log.info("event=display_paired display=%s name=%r peer=%s code_by=%s", display.id, display.name, peer,
             display.paired_by)  # fmt: skip
    response = web.json_response({"display": {"id": display.id, "name": display.name}})
    response.set_cookie(DISPLAY_COOKIE, credential, max_age=_TEN_YEARS_S, path="/", httponly=True, samesite="Strict",
                        secure=request.secure)  # fmt: skip
    return response


# --- the technician's ---------------------------------------------------------------------


@allow(*MANAGERS)
async def displays_list(request: web.Request) -> web.Response:
    await require(request, *MANAGERS)
    displays = await _call(request, request.config_dict[DISPLAYS].paired)
    return web.json_response({"displays": [d.as_dict() for d in displays]})


@allow(*MANAGERS, body=4 * KiB)
async def new_code(request: web.Request) -> web.Response:
    user = await require(request, *MANAGERS)
    try:
        body = NewCodeRequest.model_validate_json(await request.read() or b"{}")
    except ValidationError as err:
        raise problem(400, "invalid", describe(err)) from None
    code = await _call(request, request.config_dict[DISPLAYS].new_code, body.name, user.username)
    log.info("event=display_pairing_code user=%s name=%r ttl_s=%d", user.username, code.name, CODE_TTL_S)
    return web.json_response({"code": code.code, "name": code.name, "expires_at": code.expires_at,
                              "link": f"{hub_url(request)}/display?pair={code.code}"})  # fmt: skip


@allow(*MANAGERS)
async def revoke(request: web.Request) -> web.Response:
    user = await require(request, *MANAGERS)
    display_id = request.match_info["display_id"]
    display = await _call(request, request.config_dict[DISPLAYS].revoke, display_id, user.username)
    if display is None:
        raise problem(404, "unknown_display", f"no paired display {display_id!r}")
    cut = request.config_dict[LESSONS].unpair(display.id)
    log.info("event=display_revoked display=%s name=%r user=%s screens_closed=%d", display.id, display.name,
             user.username, cut)  # fmt: skip
    return web.json_response({"display": display.as_dict()})


async def _call(request: web.Request, fn: Any, *args: Any) -> Any:
    """Run a call on the displays file in an executor; its failure is a 503 naming the file."""
    try:
        return await asyncio.get_running_loop().run_in_executor(None, fn, *args)
    except ProtocolError:
        raise
    except LessonError as err:
        log.error("event=displays_unavailable error=%r", str(err))
        raise problem(503, "unavailable", str(err)) from err
