"""Cross-site requests: a state change or a WebSocket only from the hub's own pages.

Through the real HTTP server with an HTTP client sending the headers a browser sends, and once
with Chromium itself: a page on another port of the same host (another origin, the same site,
so the hub's SameSite=Lax cookie goes along) tries the attack of issue #11.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from yarl import URL

from tests.conftest import RunningHub, add_user, login, room_settings, run_hub

EVIL = "http://evil.example"


@contextlib.asynccontextmanager
async def teacher_client(hub: RunningHub, username: str = "lan") -> AsyncIterator[aiohttp.ClientSession]:
    password = await add_user(hub, username, "teacher")
    async with aiohttp.ClientSession(hub.url, cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
        form = {"username": username, "password": password}
        async with client.post("/login", data=form, headers={"Origin": hub.url}, allow_redirects=False) as r:
            assert r.status == 302 and r.headers["Location"] == "/"
        yield client


async def _status(client: aiohttp.ClientSession, path: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    async with client.post(path, allow_redirects=False, **kwargs) as response:
        body = await response.json() if response.content_type == "application/json" else {}
        return response.status, body


async def test_state_changes_only_from_the_hubs_own_origin(tmp_path: Path, system_mosquitto_url: str) -> None:
    settings = room_settings(tmp_path, system_mosquitto_url, http={"host": "127.0.0.1", "port": 0,
                             "public_url": "http://hub-p201.local:8080"})  # fmt: skip
    async with run_hub(settings) as hub, teacher_client(hub) as client:
        port = hub.url.rsplit(":", 1)[1]
        refused = [
            {"Origin": EVIL},
            {"Origin": f"http://127.0.0.1:{int(port) + 1}"},  # another port of the same host: another origin
            {"Origin": f"https://127.0.0.1:{port}"},  # another scheme
            {"Origin": "null"},  # sandboxed frames, data: pages
            {"Sec-Fetch-Site": "cross-site"},
            {"Sec-Fetch-Site": "same-site"},  # e.g. another port: same site, not same origin
            {"Origin": hub.url, "Sec-Fetch-Site": "cross-site"},
            {"Referer": f"{EVIL}/page.html"},  # an old browser sends neither Origin nor Sec-Fetch-Site
        ]
        for headers in refused:
            status, body = await _status(client, "/api/lab/estop", headers=headers)
            assert (status, body.get("error")) == (403, "cross_origin"), headers
        accepted = [
            {"Origin": hub.url},
            {"Origin": hub.url.replace("127.0.0.1", "127.0.0.1.")},  # the same host, fully qualified
            {"Origin": "http://hub-p201.local:8080"},  # the configured public address
            {"Sec-Fetch-Site": "same-origin"},
            {"Referer": f"{hub.url}/lab"},
            {},  # not a browser: an agent, the CLI
        ]
        for headers in accepted:
            status, body = await _status(client, "/api/lab/estop", headers=headers)
            assert status == 200 and "all_stopped" in body, headers


async def test_json_apis_refuse_the_bodies_a_foreign_form_can_send(tmp_path: Path, system_mosquitto_url: str) -> None:
    async with run_hub(room_settings(tmp_path, system_mosquitto_url)) as hub, teacher_client(hub) as client:
        own = {"Origin": hub.url}
        for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
            status, body = await _status(client, "/api/lab/estop", data=b'{"a": 1}',
                                         headers={**own, "Content-Type": content_type})  # fmt: skip
            assert (status, body["error"]) == (415, "unsupported_media_type"), content_type
        status, body = await _status(client, "/api/lab/estop", data=b'{"a": 1}', headers={**own, "Content-Type": ""})
        assert status == 415
        status, body = await _status(client, "/api/lab/estop", json={}, headers=own)
        assert status == 200 and body["all_stopped"] is True


async def test_login_and_websockets_check_the_origin(tmp_path: Path, system_mosquitto_url: str) -> None:
    async with run_hub(room_settings(tmp_path, system_mosquitto_url)) as hub:
        password = await add_user(hub, "lan", "teacher")
        form = {"username": "lan", "password": password}
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
            async with client.post(f"{hub.url}/login", data=form, headers={"Origin": EVIL}) as r:
                assert r.status == 403  # a foreign page cannot log a browser into its account
            assert not client.cookie_jar.filter_cookies(URL(hub.url))
            async with client.post(f"{hub.url}/login", data=form, headers={"Origin": hub.url},
                                   allow_redirects=False) as r:  # fmt: skip
                assert r.status == 302 and client.cookie_jar.filter_cookies(URL(hub.url))
            for path in ("/ws/lesson?role=teacher", "/ws/lesson", "/ws/devices"):
                with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                    await client.ws_connect(f"{hub.url}{path}", headers={"Origin": EVIL})
                assert refused.value.status == 403, path
                ws = await client.ws_connect(f"{hub.url}{path}", headers={"Origin": hub.url})
                assert not ws.closed
                await ws.close()
            ws = await client.ws_connect(f"{hub.url}/ws/lesson")  # a tablet agent sends no Origin
            await ws.close()


ATTACK = """<!doctype html><html><body>
<iframe name="sink"></iframe>
<form id="f" method="post" action="{hub}/api/lab/estop" enctype="text/plain" target="sink">
<input name='{{"x": "' value='"}}'></form>
<pre id="ws">pending</pre>
<script>
document.getElementById("f").submit();
const ws = new WebSocket("{ws}/ws/lesson?role=teacher");
ws.onopen = () => {{ document.getElementById("ws").textContent = "opened"; }};
ws.onclose = () => {{ if (document.getElementById("ws").textContent === "pending")
  document.getElementById("ws").textContent = "refused"; }};
</script></body></html>"""


async def test_a_page_on_another_port_cannot_act_for_a_logged_in_browser(
    tmp_path: Path, system_mosquitto_url: str, browser: Any, caplog: pytest.LogCaptureFixture
) -> None:
    async with run_hub(room_settings(tmp_path, system_mosquitto_url)) as hub:
        password = await add_user(hub, "lan", "teacher")
        evil = web.Application()
        attack = ATTACK.format(hub=hub.url, ws=hub.url.replace("http", "ws", 1))

        async def attack_page(request: web.Request) -> web.Response:
            return web.Response(text=attack, content_type="text/html")

        evil.router.add_get("/", attack_page)
        runner = web.AppRunner(evil)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        try:
            context = await browser.new_context()
            page = await context.new_page()
            await login(page, hub, "lan", password, "/teacher")
            async with page.expect_response(lambda r: "/api/lab/estop" in r.url) as posted:
                await page.goto(f"http://127.0.0.1:{site.port}/")
            response = await posted.value
            assert response.status == 403  # (shown in the frame as Chromium's error page: no framing either)
            await page.locator("#ws").filter(has_text="refused").wait_for()
            # The same browser, from the hub's own page, may do both (the session is real).
            await page.goto(f"{hub.url}/teacher")
            stopped = await page.evaluate("fetch('/api/lab/estop', {method: 'POST'}).then(r => r.status)")
            assert stopped == 200
            opened = await page.evaluate(
                "new Promise(ok => { const ws = new WebSocket(`ws://${location.host}/ws/lesson?role=teacher`);"
                " ws.onopen = () => { ws.close(); ok('opened'); }; ws.onclose = () => ok('refused'); })"
            )
            assert opened == "opened"
            await context.close()
            stops = [r for r in caplog.records if "event=estop_all" in r.getMessage()]
            assert len(stops) == 1  # the hub's own page's, not the attacker's
        finally:
            await runner.cleanup()

