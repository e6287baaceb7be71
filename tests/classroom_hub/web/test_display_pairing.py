"""The classroom display pairs with the hub before it shows the class code (issue 11, finding 12).

In headless Chromium: an unpaired display explains how to pair it and never receives the code;
the technician makes a pairing code on /tech, the display takes it and shows the code and the
QR code; the technician revokes it and it is back to the pairing screen, for good.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import aiohttp

from classroom_hub.lessons.simulator import LessonClient
from tests.conftest import add_user, login, room_settings, run_hub, wait_js


async def test_only_a_paired_display_shows_the_class_code(
    tmp_path: Path, system_mosquitto_url: str, browser: Any
) -> None:
    room = {"school_code": "THCS-DEMO", "id": f"lop-7a-pair-{os.getpid()}", "name": "Lớp 7A"}
    async with run_hub(room_settings(tmp_path, system_mosquitto_url, room=room)) as hub:
        password = await add_user(hub, "co-lan", "teacher")
        tech_password = await add_user(hub, "kythuat", "technician")
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            await http.post(f"{hub.url}/login", data={"username": "co-lan", "password": password})
            teacher = LessonClient(http, hub.url, role="teacher")
            await teacher.connect()
            await teacher.command("launch", lesson="vong-tuan-hoan-nuoc-aquaponics", **{"class": "khtn-7a"})
            await teacher.wait(lambda c: "code" in c.state)
            code = teacher.state["code"]

            display = await (await browser.new_context(viewport={"width": 1920, "height": 1080})).new_page()
            received: list[str] = []
            display.on("websocket", lambda ws: ws.on("framereceived", lambda frame: received.append(str(frame))))
            await display.goto(f"{hub.url}/display")
            await display.wait_for_selector("#pair-screen", state="visible")
            assert await display.inner_text("#pair-screen h1") == "Ghép nối màn hình này với máy chủ lớp học"
            steps = await display.inner_text("#pair-screen ol")
            assert "/tech" in steps and "Tạo mã ghép nối" in steps
            assert await display.is_hidden("#join-box") and await display.is_hidden("#waiting")
            # Asked directly, the hub gives an unpaired screen neither the code nor the QR code.
            qr = await display.evaluate("fetch('/api/lesson/qr.svg').then(r => r.status)")
            assert qr == 401
            await display.fill("#pair-code", "00000000")
            await display.click("#pair-form button")
            await wait_js(display, "document.getElementById('pair-error').textContent !== ''")
            assert "không đúng" in await display.inner_text("#pair-error")

            tech = await (await browser.new_context()).new_page()
            tech.on("dialog", lambda dialog: dialog.accept())
            await login(tech, hub, "kythuat", tech_password, "/tech")
            await tech.fill("#pairing-name", "Màn hình 86 inch")
            await tech.click("#pairing-form button")
            await tech.wait_for_selector("#pairing-result", state="visible")
            pairing = (await tech.inner_text("#pairing-code")).rsplit(" ", 1)[1]
            assert len(pairing) == 8 and pairing.isdigit()
            assert await tech.inner_text("#pairing-link") == f"{hub.url}/display?pair={pairing}"

            assert all(code not in frame for frame in received)  # nothing of the lesson reached it
            await display.fill("#pair-code", pairing)
            await display.click("#pair-form button")
            await wait_js(display, f"document.getElementById('code').textContent === '{code}'")
            await wait_js(display, "document.getElementById('qr-small').naturalWidth > 0")
            assert await display.is_hidden("#pair-screen")

            # The code works once: a second screen cannot use it.
            other = await (await browser.new_context()).new_page()
            await other.goto(f"{hub.url}/display?pair={pairing}")
            await wait_js(other, "document.getElementById('pair-error').textContent !== ''")
            assert await other.is_visible("#pair-screen") and await other.inner_text("#code") == ""

            # The technician sees the display and revokes it: its screen goes back to pairing at once.
            await tech.reload()
            row = tech.locator("#displays tr", has_text="Màn hình 86 inch")
            await row.wait_for()
            await row.locator("button.revoke").click()
            await display.wait_for_selector("#pair-screen", state="visible")
            assert await display.inner_text("#code") == "" and await display.inner_text("#big-code") == ""
            await row.wait_for(state="detached")
            await display.reload()
            await display.wait_for_selector("#pair-screen", state="visible")
            assert await display.evaluate("fetch('/api/display').then(r => r.status)") == 401
            await teacher.close()
