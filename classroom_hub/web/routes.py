"""HTTP routes: health, login, the device API and its live WebSocket, the static pages."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
import json
import logging
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from aiohttp import WSMsgType, web

from classroom_hub import __version__
from classroom_hub.auth import Locked, User
from classroom_hub.errors import AuthError, swallowed
from classroom_hub.keys import (
    ACCOUNTS,
    CATALOGUES,
    HEALTH,
    LINK,
    REGISTRY,
    REJECTIONS,
    SETTINGS,
    SOCKETS,
    STORE,
)
from classroom_hub.metrics import metrics
from classroom_hub.registry import DeviceChange, DeviceRecord
from classroom_hub.web import catalogue as i18n
from classroom_hub.web.access import ANYONE, SIGNED_IN, SMALL_FORM, Access, allow
from classroom_hub.web.security import problem
from classroom_hub.web.session import SESSION_COOKIE, current_user

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def setup_routes(app: web.Application) -> None:
    sockets: set[web.WebSocketResponse] = set()
    app[SOCKETS] = sockets
    app[CATALOGUES] = {lang: json.dumps(i18n.catalogue(lang), ensure_ascii=False).encode() for lang in i18n.LANGUAGES}
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/", index)
    app.router.add_get("/login", login_page)
    app.router.add_post("/login", login_submit)
    app.router.add_post("/logout", logout)
    app.router.add_get("/api/me", me)
    app.router.add_get("/api/devices", devices)
    app.router.add_get("/api/rejections", rejections)
    app.router.add_get("/ws/devices", devices_ws)
    app.router.add_get("/i18n/{lang}.json", catalog)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/room-ca.crt", room_ca)
    app.router.add_get("/favicon.ico", favicon)
    app.router.add_get("/favicon.svg", favicon)
    app.router.add_static("/static/", STATIC, append_version=True)
    app.on_shutdown.append(_close_sockets)


async def _close_sockets(app: web.Application) -> None:
    open_sockets: set[web.WebSocketResponse] = app[SOCKETS]
    for ws in list(open_sockets):
        await ws.close(code=1001, message=b"hub shutting down")


# --- sessions --------------------------------------------------------------------------


async def require(request: web.Request, *roles: str) -> User:
    """The signed-in user if their role allows; 401/403 JSON otherwise (for APIs)."""
    user = await current_user(request)
    if user is None:
        raise problem(401, "login_required", "log in first")
    if roles and not user.may(*roles):
        raise problem(403, "forbidden", f"a {user.role} may not use this")
    return user


def page(name: str, roles: tuple[str, ...]) -> Handler:
    """``/<name>``, the page ``static/<name>.html``, for the roles a package declares it to
    (classroom_hub/packages.py ``Page``; an admin opens every page). Anyone else is sent to the
    login form; ``ANYONE``: open to the room's LAN (tablets and the big screen have no accounts)."""
    access = Access(frozenset(roles or (SIGNED_IN,)), page=True)

    async def handler(request: web.Request) -> web.StreamResponse:
        if not access.open:
            user = await current_user(request)
            if user is None or (roles and not user.may(*roles)):
                raise web.HTTPFound(f"/login?next=/{name}" + ("&error=forbidden" if user else ""))
        return web.FileResponse(STATIC / f"{name}.html")

    handler.__dict__["hub_access"] = access
    return handler


def safe_next(target: str) -> str:
    """Where to go after logging in: a path on the hub, or ``/``. Whatever a browser would
    read as another host (``//host``, ``/\\host``, ``/<tab>/host``, ``/%2F/host``...) is refused."""
    decoded = unquote(target)
    for candidate in (target, decoded):
        if not candidate.startswith("/") or candidate.startswith(("//", "/\\")):
            return "/"
        if "\\" in candidate or _CONTROL.search(candidate):
            return "/"
    return target


_CONTROL = re.compile(r"[\x00-\x20\x7f]")  # browsers drop tabs and newlines from addresses; no spaces either


# --- handlers --------------------------------------------------------------------------


@allow(ANYONE)
async def healthz(request: web.Request) -> web.Response:
    health = request.config_dict[HEALTH]
    ok, parts = health.report()
    body: dict[str, Any] = {
        "status": "ok" if ok else "degraded",
        "version": __version__,
        "room": request.config_dict[SETTINGS].room.id,
        "parts": parts,
    }
    if health.reasons:
        body["reasons"] = dict(health.reasons)  # why a part that cannot run is down
    alarms = health.alarms() if health.alarms is not None else []
    body["alarms"] = alarms  # the hub's own faults, with their true reasons
    if ok and alarms:
        body["status"] = "warning"  # still 200: the hub does its job (a destination away, a disk filling up)
    figures: dict[str, Any] = {}
    for name, figure in health.figures.items():
        try:
            value = figure()
            figures[name] = await value if inspect.isawaitable(value) else value
        except Exception:  # a figure that cannot be read now (its file locked) must not hide the rest
            swallowed("health_figure_failed", figure=name)
            figures[name] = None
    body["figures"] = figures
    return web.json_response(body, status=200 if ok else 503)


@allow(ANYONE)
async def index(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(STATIC / "index.html")


@allow(ANYONE)
async def login_page(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(STATIC / "login.html")


@allow(ANYONE, body=SMALL_FORM, form=True)
async def login_submit(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    username = str(form.get("username", "")).strip().lower()[:64]
    password = str(form.get("password", ""))[:1024]
    target = safe_next(str(form.get("next", "/")))
    settings = request.config_dict[SETTINGS]
    accounts = request.config_dict[ACCOUNTS]
    loop = asyncio.get_running_loop()
    address = request.remote or "?"
    try:
        user, token = await loop.run_in_executor(
            None, accounts.login, username, password, settings.http.session_hours, address
        )
    except Locked as err:
        log.warning("event=login_locked user=%s peer=%s retry_after=%d", username, address, err.retry_after)
        raise web.HTTPFound(f"/login?error=locked&retry={err.retry_after}&next={quote(target, safe='/')}",
                            headers={"Retry-After": str(err.retry_after)}) from None  # fmt: skip
    except AuthError as err:
        log.info("event=login_failed user=%s peer=%s reason=%s", username, address, err)
        raise web.HTTPFound(f"/login?error={err}&next={quote(target, safe='/')}") from None
    log.info("event=login user=%s role=%s peer=%s", user.username, user.role, address)
    response = web.HTTPFound(target)
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="Lax", secure=request.secure or None,
                        max_age=int(settings.http.session_hours * 3600))  # fmt: skip
    raise response


@allow(ANYONE, body=SMALL_FORM, form=True)
async def logout(request: web.Request) -> web.StreamResponse:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await asyncio.get_running_loop().run_in_executor(None, request.config_dict[ACCOUNTS].logout, token)
    response = web.HTTPFound("/login")
    response.del_cookie(SESSION_COOKIE, secure=request.secure or None, httponly=True, samesite="Lax")
    raise response


@allow(ANYONE)
async def room_ca(request: web.Request) -> web.StreamResponse:
    """The room CA's certificate, for tablets and the display to install (docs/install.md)."""
    ca = request.config_dict[SETTINGS].http.tls_ca
    if ca is None or not ca.is_file():
        raise web.HTTPNotFound(text="this hub has no room certificate authority (classroom-hub tls init)")
    return web.FileResponse(ca, headers={"Content-Type": "application/x-x509-ca-cert"})


@allow(ANYONE)
async def favicon(request: web.Request) -> web.StreamResponse:
    """The hub's icon: each page links the SVG; browsers and tools that ask /favicon.ico get the same
    picture as a 32 x 32 icon. Cached for a day (it never depends on the user)."""
    name = "favicon.svg" if request.path.endswith(".svg") else "favicon.ico"
    kind = "image/svg+xml" if name.endswith(".svg") else "image/vnd.microsoft.icon"
    return web.FileResponse(STATIC / name, headers={"Content-Type": kind, "Cache-Control": "public, max-age=86400"})


@allow(SIGNED_IN)
async def me(request: web.Request) -> web.Response:
    user = await require(request)
    return web.json_response({"username": user.username, "role": user.role, "display_name": user.display_name})


@allow(ANYONE)
async def catalog(request: web.Request) -> web.StreamResponse:
    body = request.config_dict[CATALOGUES].get(request.match_info["lang"])
    if body is None:
        raise web.HTTPNotFound()
    return web.Response(body=body, content_type="application/json")


def _device_json(record: DeviceRecord) -> dict[str, Any]:
    return record.as_dict()


@allow("technician", "teacher", "lab_lead", "studio_staff")
async def devices(request: web.Request) -> web.Response:
    await require(request, "technician", "teacher", "lab_lead", "studio_staff")
    app = request.config_dict
    registry = app[REGISTRY]
    store = app[STORE]
    return web.json_response(
        {
            "room": app[SETTINGS].room.model_dump(),
            "devices": [_device_json(d) for d in registry.all()],
            "counts": registry.counts(),
            "unknown": [dataclasses.asdict(u) for u in registry.unknown.values()],
            "bus": {"state": app[LINK].state, "received": app[LINK].stats.received},
            "store": {"state": store.state, "readings": store.stats.readings, "commits": store.stats.commits},
        }
    )


@allow("technician")
async def rejections(request: web.Request) -> web.Response:
    await require(request, "technician")
    rej = request.config_dict[REJECTIONS]
    return web.json_response(
        {"by_reason": dict(rej.by_reason), "recent": [dataclasses.asdict(r) for r in reversed(rej.recent)]}
    )


@allow("technician", "teacher", "lab_lead", "studio_staff")
async def devices_ws(request: web.Request) -> web.WebSocketResponse:
    """Live device list: a snapshot, then each change as it happens (no polling)."""
    await require(request, "technician", "teacher", "lab_lead", "studio_staff")
    registry = request.config_dict[REGISTRY]

    def subscribe(push: Push) -> Callable[[], None]:
        def send(record: DeviceRecord) -> None:
            push({"type": "device", "device": _device_json(record)})

        def on_change(change: DeviceChange) -> None:
            record = registry.get(change.device_id)
            if record is not None:
                send(record)

        removers = [registry.on_change(on_change), registry.on_update(send)]

        def unsubscribe() -> None:
            for remove in removers:
                remove()

        return unsubscribe

    def snapshot() -> dict[str, Any]:
        return {"type": "snapshot", "devices": [_device_json(d) for d in registry.all()]}

    return await live_socket(request, snapshot, subscribe)


Push = Callable[[dict[str, Any]], None]


async def live_socket(
    request: web.Request,
    first: Callable[[], dict[str, Any]],
    subscribe: Callable[[Push], Callable[[], None]],
    *,
    limit: int = 1000,
) -> web.WebSocketResponse:
    """A page's live feed over a WebSocket: ``first()`` (a snapshot, made once the feed is
    subscribed, so no change falls between the two), then every message ``subscribe`` hands
    to the push it gets, until the page goes away. ``subscribe`` returns its unsubscribe.
    Beyond ``limit`` messages a stalled browser has not taken, the rest are dropped: it must
    not grow the hub's memory. What the page sends is ignored.

    A quiet feed beats (``{"type": "beat", "every_s": n}``, first right after the snapshot): a
    page that hears nothing for three beats knows its link is dead though nothing closed it
    (a Wi-Fi that fades), says so and opens a new one (``live()`` in static/common.js)."""
    ws = web.WebSocketResponse(heartbeat=20)
    await ws.prepare(request)
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=limit)

    def push(message: dict[str, Any]) -> None:
        if not outbox.full():
            outbox.put_nowait(message)

    sockets = request.config_dict[SOCKETS]
    sockets.add(ws)
    remove = subscribe(push)
    sender: asyncio.Task[None] | None = None
    try:
        await ws.send_json(first())
        beat_s = request.config_dict[SETTINGS].http.live_beat_s
        sender = asyncio.create_task(_drain(ws, outbox, beat_s))
        async for msg in ws:
            if msg.type == WSMsgType.ERROR:
                break
    finally:
        remove()
        if sender is not None:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await sender
        sockets.discard(ws)
    return ws


async def _drain(ws: web.WebSocketResponse, outbox: asyncio.Queue[dict[str, Any]], beat_s: float) -> None:
    beat = {"type": "beat", "every_s": beat_s}
    await ws.send_json(beat)
    while not ws.closed:
        try:
            message = await asyncio.wait_for(outbox.get(), beat_s)
        except TimeoutError:
            message = beat
        await ws.send_json(message)
