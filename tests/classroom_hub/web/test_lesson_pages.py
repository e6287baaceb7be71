"""The lesson pages in headless Chromium: a teacher and three tablets run a quiz; the display shows it."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest

from classroom_hub.lessons.keys import DISPLAYS
from tests.conftest import add_user, login, room_settings, run_hub, wait_js

LESSON = "vong-tuan-hoan-nuoc-aquaponics"
QUIZ_INDEX = 9  # "cau-1-vi-khuan": the right choice is b


def demo_room(tmp_path: Path, broker_url: str) -> Any:
    room = {"school_code": "THCS-DEMO", "id": f"lop-7a-web-{os.getpid()}", "name": "Lớp 7A"}
    return room_settings(tmp_path, broker_url, room=room)


def decode_qr(png: bytes) -> str:
    import cv2

    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
    text, _points, _raw = cv2.QRCodeDetector().detectAndDecode(image)
    return str(text)


async def test_teacher_tablets_and_display_run_a_quiz(tmp_path: Path, system_mosquitto_url: str, browser: Any) -> None:
    async with run_hub(demo_room(tmp_path, system_mosquitto_url)) as hub:
        password = await add_user(hub, "co-lan", "teacher")
        teacher = await (await browser.new_context(viewport={"width": 1400, "height": 1000})).new_page()
        teacher.on("dialog", lambda dialog: dialog.accept())
        await login(teacher, hub, "co-lan", password, "/teacher")
        await teacher.wait_for_selector("#class-select option[value='khtn-7a']", state="attached")
        await teacher.select_option("#class-select", "khtn-7a")
        await teacher.select_option("#lesson-select", LESSON)
        await teacher.click("#launch")
        await teacher.wait_for_selector("#running", state="visible")
        code = (await teacher.inner_text("#code")).strip()
        assert len(code) == 4 and code.isdigit()
        assert await teacher.inner_text("#run-lesson") == "Vòng tuần hoàn nước trong bể aquaponics"

        display_context = await browser.new_context(viewport={"width": 1920, "height": 1080}, device_scale_factor=2)
        display = await display_context.new_page()
        # The display page shows the class code once paired: a technician's pairing link pairs it.
        pairing = await asyncio.get_running_loop().run_in_executor(None, hub.app[DISPLAYS].new_code, "86", "kythuat")
        await display.goto(f"{hub.url}/display?pair={pairing.code}")
        await wait_js(display, f"document.getElementById('code').textContent === '{code}'")
        await wait_js(display, "document.getElementById('qr-small').naturalWidth > 0")
        # The QR code on the big screen takes a tablet straight to this lesson's join page.
        assert decode_qr(await display.locator("#qr-small").screenshot()) == f"{hub.url}/join?code={code}"

        tablets = []
        for number in (1, 2, 3):
            tablet = await (await browser.new_context(viewport={"width": 800, "height": 1280})).new_page()
            await tablet.goto(f"{hub.url}/join?code={code}")
            await tablet.click(f"#names [data-student='hs-7a-0{number}']")
            await tablet.wait_for_selector("#lesson-screen", state="visible")
            tablets.append(tablet)
        assert await tablets[0].inner_text("#who") == "Ngô Anh Bình"
        await wait_js(teacher, "document.getElementById('joined-count').textContent.startsWith('3/40')")
        await wait_js(display, "document.querySelectorAll('#names .roll-name').length === 3")
        assert await tablets[0].get_attribute("#step img.slide-image", "src") is not None

        # The teacher jumps to the first question and opens it; the tablets answer.
        await teacher.click(f"#steps li[data-index='{QUIZ_INDEX}'] button")
        for tablet in tablets:
            await tablet.wait_for_selector("#question .waiting")
        await teacher.click("#q-start")
        for tablet, choice in zip(tablets, "bab", strict=True):
            await tablet.click(f"#question button[data-choice='{choice}']")
            await tablet.wait_for_selector("#question .answered")
        await wait_js(teacher, "document.getElementById('answered-line').textContent.startsWith('3/')")
        assert "2 đúng, 1 sai" in await teacher.inner_text("#answered-line")
        # The display shows how many answered, not what, until the teacher reveals the answer.
        await wait_js(display, "document.getElementById('answered').textContent.startsWith('3/')")
        assert await display.locator("#results-hidden").is_visible()
        assert await display.locator("#chart text.bar-count").count() == 0

        # A reload keeps the student's place and answer (seat and state are in localStorage).
        await tablets[1].reload()
        await tablets[1].wait_for_selector("#question .answered")
        assert "Nhờ máy bơm" in await tablets[1].inner_text("#question .answered")

        await teacher.click("#q-reveal")
        await tablets[0].wait_for_selector("#question .answered.right")
        await tablets[1].wait_for_selector("#question .answered.wrong")
        await display.wait_for_selector("#chart rect.bar-right[data-choice='b']")
        assert await display.text_content("#chart text.bar-count[data-choice='b']") == "2"
        assert await display.text_content("#chart text.bar-count[data-choice='a']") == "1"
        assert not await display.locator("#results-hidden").is_visible()
        assert "thành nitrit rồi thành nitrat" in await display.inner_text("#explanation")

        # "Eyes on me" covers every tablet.
        await teacher.click("#lock")
        for tablet in tablets:
            await tablet.wait_for_selector("#lock", state="visible")
        await teacher.click("#lock")
        await tablets[0].wait_for_selector("#lock", state="hidden")

        await teacher.click("#end")
        await teacher.wait_for_selector("#summary", state="visible")
        assert "3/40" in await teacher.inner_text("#sum-attendance")
        assert "2 (67 %)" in await teacher.inner_text("#sum-questions")
        assert "Phạm Ngọc Châu" in await teacher.inner_text("#sum-help")  # the one who got it wrong
        await tablets[0].wait_for_selector("#ended-screen", state="visible")
        assert "1/" in await tablets[0].inner_text("#final-score")
        await wait_js(display, "document.getElementById('waiting').hidden === false")


async def test_join_page_is_open_teacher_page_needs_a_teacher(tmp_path: Path, system_mosquitto_url: str) -> None:
    async with run_hub(demo_room(tmp_path, system_mosquitto_url)) as hub, aiohttp.ClientSession() as http:
        for path in ("/join", "/display"):
            async with http.get(f"{hub.url}{path}", allow_redirects=False) as response:
                assert response.status == 200
        async with http.get(f"{hub.url}/teacher", allow_redirects=False) as response:
            assert response.status == 302 and response.headers["Location"].startswith("/login?next=/teacher")
        async with http.get(f"{hub.url}/api/classes") as response:
            assert response.status == 401


@pytest.mark.parametrize("page_name", ["teacher", "join", "display"])
def test_pages_hold_no_hard_coded_text(page_name: str) -> None:
    """Every visible string comes from the catalogs: the HTML has only markup and data-i18n keys."""
    import re

    static = Path(__file__).resolve().parents[3] / "classroom_hub/web/static"
    html = (static / f"{page_name}.html").read_text(encoding="utf-8")
    body = html[html.index(">", html.index("<body")) + 1 :]
    text = re.sub(r"<[^>]+>", " ", body)
    words = [w for w in text.split() if re.search(r"[A-Za-zÀ-ỹ]", w)]
    assert words == [], words
    from classroom_hub.web.catalogue import catalogue

    vi, en = catalogue("vi"), catalogue("en")  # the core's, each package's and each kind's, merged
    scripts = [static / f"{page_name}.js", static / "lesson.js", *sorted(static.glob(f"{page_name}_*.js"))]
    script = "".join(path.read_text(encoding="utf-8") for path in scripts)
    used = set(re.findall(r'data-i18n="([^"]+)"', html)) | set(re.findall(r'\bt\("([a-z_.]+[a-z_])"', script))
    used |= set(re.findall(r'I18N\.t\("([a-z_.]+[a-z_])"', script))
    assert used and not (used - set(vi)) and not (used - set(en)), sorted(used - set(vi))
