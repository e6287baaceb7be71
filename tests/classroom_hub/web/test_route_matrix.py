"""Every route of the whole hub (every package set up) x every role: the answer its declaration promises.

The routes come from the application's own router, so a route added without ``@allow(...)``
fails here, and a handler whose own checks disagree with its declaration fails too.
"""

from __future__ import annotations

import re
from pathlib import Path

import aiohttp
from aiohttp import web

from classroom_hub.app import build_app
from classroom_hub.web.access import Access, access_of
from tests.conftest import add_user, room_settings, run_hub

ROLES = ("student", "teacher", "technician", "lab_lead", "studio_staff", "admin")
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
PARAMS = {"device_id": "T01", "lang": "vi", "hash": "0" * 64, "sha256": "0" * 64, "path": "x.png"}
# What an allowed visitor may get besides 2xx and 4xx, because this test's room has no studio
# and no materials bank: the studio's routes answer 503 {"error": "no_studio"} (studio/http.py)
# and the materials sync 502. Nothing else may be 5xx.
NOT_HERE = {"/api/studio/": 503, "/ws/studio": 503, "/studio/calendar.ics": 503, "/api/push/materials": 502}


def concrete(path: str) -> str:
    if path.startswith("/static"):
        return "/static/hub.css"
    return re.sub(r"\{(\w+)(:[^}]*)?\}", lambda m: PARAMS.get(m.group(1), "x"), path)


def declared_routes(app: web.Application) -> list[tuple[str, str, Access | None]]:
    out = []
    for route in app.router.routes():
        if route.method == "HEAD":
            continue  # aiohttp's twin of each GET, the same handler
        info = route.resource.get_info() if route.resource is not None else {}
        path = str(info.get("formatter") or info.get("path") or info.get("prefix"))
        out.append((route.method, path, access_of(route)))
    return out


def test_every_route_declares_who_may_use_it(tmp_path: Path) -> None:
    app = build_app(room_settings(tmp_path, None))
    routes = declared_routes(app)
    undeclared = [f"{method} {path}" for method, path, access in routes if access is None]
    assert undeclared == [], f"routes without @allow(...) (classroom_hub/web/access.py): {undeclared}"
    assert len(routes) > 80  # every package's routes are there: lessons, tech, studio, labs, pusher


async def _answer(client: aiohttp.ClientSession, url: str, method: str, path: str, access: Access) -> tuple[int, str]:
    """The status and a short description of what came back."""
    origin = {"Origin": url}
    target = url + concrete(path)
    if path.startswith("/ws/"):
        try:
            ws = await client.ws_connect(target, headers=origin)
        except aiohttp.WSServerHandshakeError as err:
            return err.status, "refused"
        await ws.close()
        return 101, "websocket"
    body: dict[str, object] = {"data": {}} if access.form else {"json": {}}
    kwargs = body if method in STATE_CHANGING else {}
    async with client.request(method, target, headers=origin, allow_redirects=False, **kwargs) as response:  # type: ignore[arg-type]
        text = (await response.read()).decode("utf-8", errors="replace")  # a backup is a zip
        return response.status, response.headers.get("Location", "") or text[:200]


async def test_each_role_gets_what_each_route_declares(tmp_path: Path, system_mosquitto_url: str) -> None:
    async with run_hub(room_settings(tmp_path, system_mosquitto_url)) as hub:
        sessions: dict[str, aiohttp.ClientSession] = {"anonymous": aiohttp.ClientSession()}
        try:
            for role in ROLES:
                password = await add_user(hub, f"u-{role.replace('_', '')}", role)
                session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
                sessions[role] = session
                form = {"username": f"u-{role.replace('_', '')}", "password": password}
                async with session.post(f"{hub.url}/login", data=form, headers={"Origin": hub.url},
                                        allow_redirects=False) as r:  # fmt: skip
                    assert r.status == 302 and "error" not in r.headers["Location"]
            wrong: list[str] = []
            tried = 0
            # Last: /logout ends the session the other routes are tried with.
            routes = sorted(declared_routes(hub.app), key=lambda r: r[1] == "/logout")
            for method, path, access in routes:
                assert access is not None
                for role, session in sessions.items():
                    status, said = await _answer(session, hub.url, method, path, access)
                    tried += 1
                    allowed = access.admits(None if role == "anonymous" else role)
                    to_login = status == 302 and (said.startswith("/login?next=") or "error=forbidden" in said)
                    if allowed:
                        absent = any(path.startswith(p) and status == s for p, s in NOT_HERE.items())
                        ok = (status < 500 or absent) and not to_login
                        ok = ok and (status not in (401, 403) or access.narrowed)
                    else:
                        ok = status in (401, 403) or (access.page and to_login)
                    if not ok:
                        wrong.append(f"{role:>12} {method} {path}: {status} {said!r} (declared {sorted(access.roles)})")
            assert wrong == [], "\n".join(wrong)
            assert tried >= 80 * 7
        finally:
            for session in sessions.values():
                await session.close()


async def test_a_route_without_declaration_is_refused(tmp_path: Path) -> None:
    app = build_app(room_settings(tmp_path, None))

    async def forgotten(request: web.Request) -> web.Response:
        return web.Response(text="should not be reached")

    app.router.add_get("/forgotten", forgotten)
    app.cleanup_ctx.clear()  # the route table is what matters here, not the hub's parts
    app.on_startup.clear()
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        async with aiohttp.ClientSession() as client, client.get(f"http://127.0.0.1:{site.port}/forgotten") as r:
            assert r.status == 403
            assert (await r.json())["error"] == "undeclared_route"
    finally:
        await runner.cleanup()
