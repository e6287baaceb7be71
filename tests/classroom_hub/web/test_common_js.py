"""static/common.js, which every page loads, in headless Chromium against a running hub: api()
and the errors it throws, its 401 redirect to the login page, and live(), the WebSocket that
comes back after the hub drops it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp

from classroom_hub.web.routes import SOCKETS
from tests.conftest import add_user, login, room_settings, run_hub, wait_for, wait_js
from tests.flows.relay import SilentRelay

# Calls api() in the page and returns what it gave or threw, as plain data.
CALL = """async ([path, options]) => {
  try { return { answer: await api(path, options) }; }
  catch (err) {
    return { name: err.name, status: err.status, code: err.code, detail: err.detail, message: err.message };
  }
}"""


async def test_api_answers_and_errors(tmp_path: Path, system_mosquitto_url: str, browser: Any) -> None:
    async with run_hub(room_settings(tmp_path, system_mosquitto_url)) as hub, aiohttp.ClientSession() as http:
        page = await browser.new_page()
        await page.goto(f"{hub.url}/join")

        # A 2xx JSON answer comes back as it is.
        got = await page.evaluate(CALL, ["/i18n/vi.json", {}])
        assert got["answer"]["login.title"].startswith("Đăng nhập")

        # The hub's error body {"error", "detail"}: code and detail on the error; its message, what
        # pages show, is the catalogue's words for the code, in the page's language.
        await wait_js(page, "I18N.strings['error.login_required'] !== undefined")
        async with http.get(f"{hub.url}/api/devices") as response:
            assert response.status == 401
            said = await response.json()
        got = await page.evaluate(CALL, ["/api/devices", {"login": False}])
        assert got == {"name": "ApiError", "status": 401, "code": "login_required", "detail": said["detail"],
                       "message": "Hãy đăng nhập trước."}  # fmt: skip
        assert page.url == f"{hub.url}/join"  # login: false stays on the page

        # A route that still says "message" instead of "detail": the same error.
        async with http.get(f"{hub.url}/api/lesson/join?code=1234") as response:
            status, said = response.status, await response.json()
        got = await page.evaluate(CALL, ["/api/lesson/join?code=1234", {"login": False}])
        assert status >= 400 and got["status"] == status and got["code"] == said["error"]
        assert got["detail"] == (said.get("detail") or said.get("message")) and got["detail"]

        # A body goes as JSON (any other type would be refused with 415): the hub reads it and
        # says which field is missing.
        got = await page.evaluate(CALL, ["/api/lesson/join", {"body": {"code": "1234"}, "login": False}])
        assert (got["status"], got["code"]) == (400, "invalid") and "student" in got["detail"]
        # A refused value: the words for the code, then the hub's detail naming the field.
        assert got["message"] == f"Dữ liệu chưa đúng; hãy kiểm tra các ô đã nhập. ({got['detail']})"

        # An answer that is not the hub's JSON (aiohttp's own 404 for an unknown path): the
        # status, and the text as the detail.
        async with http.get(f"{hub.url}/api/no-such-thing") as response:
            assert response.status == 404
            plain = response.content_type == "text/plain"
            said = await response.text() if plain else (await response.json())["detail"]
        got = await page.evaluate(CALL, ["/api/no-such-thing", {}])
        assert (got["name"], got["status"], got["detail"]) == ("ApiError", 404, said.strip())
        assert got["code"] is None if plain else got["code"]

        # el(): attributes and children, or a leaf's text and class.
        html = await page.evaluate("""() => [
          el("p", { class: "a", text: "x", hidden: true, title: null }).outerHTML,
          el("ul", {}, el("li", "1", "one"), [el("li", "2")], null).outerHTML]""")
        assert html == ['<p class="a" hidden="">x</p>', '<ul><li class="one">1</li><li>2</li></ul>']


async def test_api_sends_a_signed_out_user_to_the_login_page_and_back(
    tmp_path: Path, system_mosquitto_url: str, browser: Any
) -> None:
    async with run_hub(room_settings(tmp_path, system_mosquitto_url)) as hub:
        page = await browser.new_page()
        await page.goto(f"{hub.url}/join?code=1234")
        await page.evaluate("() => { api('/api/devices').catch(() => {}); }")
        await page.wait_for_url(f"{hub.url}/login?next=/join")
        assert await page.input_value("#next") == "/join"


async def test_live_comes_back_after_the_hub_drops_it(tmp_path: Path, system_mosquitto_url: str, browser: Any) -> None:
    async with run_hub(room_settings(tmp_path, system_mosquitto_url)) as hub:
        password = await add_user(hub, "kythuat", "technician")
        page = await browser.new_page()
        await login(page, hub, "kythuat", password, "/")
        sockets = hub.app[SOCKETS]
        await page.evaluate("""() => {
          window.seen = [];
          window.conn = live("/ws/devices", {
            onOpen: () => seen.push("open"), onClose: () => seen.push("close"), onMessage: m => seen.push(m.type),
          });
        }""")
        await wait_js(page, "seen.join() === 'open,snapshot'")
        assert await page.evaluate("conn.state") == "open"
        assert await page.evaluate("conn.send({ hello: 1 })") is True
        (first,) = sockets

        # The hub drops the connection: the page sees it go, and comes back with a new snapshot.
        await first.close(code=1011, message=b"dropped by the test")
        await wait_js(page, "seen.join() === 'open,snapshot,close,open,snapshot'")
        assert await page.evaluate("conn.state") == "open"
        (second,) = sockets
        assert second is not first

        # Closed by the page for good: the hub sees it leave, the page says so.
        await page.evaluate("conn.close()")
        await wait_for(lambda: not sockets)
        assert await page.evaluate("[conn.state, conn.send({ hello: 2 })]") == ["stopped", False]


async def test_live_gives_a_silent_link_up_at_once(tmp_path: Path, system_mosquitto_url: str, browser: Any) -> None:
    """conn.reconnect() on a link that went silent (a relay that forwards nothing and closes
    nothing): the page hears "close" at once, not after the browser's minute-long wait for the
    hub's half of the closing handshake; an attempt that hangs in the silence is given up in turn,
    and the next connection goes through once the link is back."""
    async with run_hub(room_settings(tmp_path, system_mosquitto_url)) as hub:
        relay = SilentRelay(int(hub.url.rsplit(":", 1)[1]))
        await relay.start()
        try:
            password = await add_user(hub, "kythuat", "technician")
            page = await browser.new_page()
            await page.goto(f"{relay.url}/login?next=/")
            await page.fill("#username", "kythuat")
            await page.fill("#password", password)
            await page.click("button[type=submit]")
            await page.wait_for_url(f"{relay.url}/")
            await page.evaluate("""() => {
              window.seen = [];
              window.conn = live("/ws/devices", {
                onOpen: () => seen.push("open"), onClose: () => seen.push("close"), onMessage: m => seen.push(m.type),
                openTimeout: 1000, maxDelay: 1000,
              });
            }""")
            await wait_js(page, "seen.join() === 'open,snapshot'")

            relay.go_silent()
            before = relay.connections
            await page.evaluate("conn.reconnect()")
            assert await page.evaluate("[seen.join(), conn.state]") == ["open,snapshot,close", "closed"]
            assert await page.evaluate("conn.send({ hello: 1 })") is False
            # The next attempts hang in the silence (their handshake goes nowhere): each is given
            # up after openTimeout and another one starts afresh, as after any drop.
            await wait_js(page, "seen.filter(s => s === 'close').length >= 3")
            assert await page.evaluate("seen.slice(2).every(s => s === 'close')")  # nothing opened meanwhile
            assert relay.connections - before >= 2  # fresh attempts, each a new connection
            relay.resume()
            await wait_js(page, "seen.join().endsWith('close,open,snapshot')")
            assert await page.evaluate("conn.state") == "open"
        finally:
            await relay.close()
