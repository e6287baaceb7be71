"""A tablet, then the teacher's laptop, loses the hub and comes back, in headless Chromium. Each
reaches the hub through a relay that goes silent (the Wi-Fi fades: nothing arrives, nothing is
closed). The tablet, and the display on the same link, must say "Mất kết nối" within a few beats
and the teacher's grid show the tablet lost; once the link is back both show where the class went
meanwhile, without anyone touching them, and an answer tapped during the silence arrives, counted
once. The teacher's console says it is offline in words and refuses to pretend a command went."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from classroom_hub.keys import REGISTRY
from tests.conftest import RunningHub, add_user, room_settings, run_hub, wait_js
from tests.flows.conftest import launch, paired_display, seat_by_code, teacher_page

pytestmark = pytest.mark.asyncio(loop_scope="module")

AQUAPONICS = "vong-tuan-hoan-nuoc-aquaponics"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def hub(tmp_path_factory: pytest.TempPathFactory, system_mosquitto_url: str) -> AsyncIterator[RunningHub]:
    # Beats every 0.5 s: a tablet hears the silence after 3 x 0.5 + 1 s; the hub cuts it after 3 s.
    place = {"school_code": "THCS-DEMO", "id": f"lop-7a-offline-{os.getpid()}", "name": "Lớp 7A"}
    # The technician's live feeds beat every 0.5 s too: three silent beats and the page says so.
    settings = room_settings(tmp_path_factory.mktemp("offline"), system_mosquitto_url, room=place,
                             http={"host": "127.0.0.1", "port": 0, "live_beat_s": 0.5},
                             lessons={"beat_s": 0.5, "dead_after_s": 3.0})  # fmt: skip
    async with run_hub(settings) as running:
        yield running


def tile(student: str) -> str:
    return f"#student-grid .tablet-tile[data-student='{student}']"


@pytest.mark.timeout(180)  # a module's hub and browser start within it; waits are for events
async def test_a_tablet_that_loses_the_hub_says_so_and_catches_up(
    hub: RunningHub, module_browser: Any, relay_factory: Any
) -> None:
    password = await add_user(hub, "co-lan", "teacher")
    laptop = await relay_factory(hub)  # the teacher's laptop is on the Wi-Fi too
    teacher = await teacher_page(module_browser, laptop.url, "co-lan", password)
    assert await teacher.locator("#conn").is_hidden()
    code = await launch(teacher, AQUAPONICS)
    relay = await relay_factory(hub)
    far = await seat_by_code(module_browser, relay.url, code, "hs-7a-01")  # at the back of the room
    near = await seat_by_code(module_browser, hub.url, code, "hs-7a-02")
    display = await paired_display(module_browser, hub, relay.url)  # its box is on the same Wi-Fi
    assert await display.locator("#conn").is_hidden()
    assert await far.inner_text("#step-title") == "Giới thiệu bài học"
    assert await far.locator("#conn").is_hidden()
    await wait_js(teacher, f"document.querySelector(\"{tile('hs-7a-01')}\")?.dataset.state === 'online'")

    relay.go_silent()
    await wait_js(far, "!document.getElementById('conn').hidden", timeout=10_000)
    assert await far.inner_text("#conn") == "Mất kết nối, đang kết nối lại…"
    assert await far.get_attribute("#link", "data-state") == "offline"
    await wait_js(teacher, f"document.querySelector(\"{tile('hs-7a-01')}\").dataset.state === 'offline'")
    assert await teacher.inner_text(f"{tile('hs-7a-01')} .link") == "mất kết nối"
    await wait_js(display, "!document.getElementById('conn').hidden")
    assert await display.inner_text("#conn") == "Mất kết nối với máy chủ lớp học, đang kết nối lại…"

    # Meanwhile the class moves on and the teacher takes every tablet's eyes.
    await teacher.click("#steps li[data-index='3'] button")
    await teacher.click("#lock")
    await near.wait_for_selector("#lock", state="visible")
    assert await near.inner_text("#step-title") == "Đường đi của nước"
    assert await far.inner_text("#step-title") == "Giới thiệu bài học"  # it has heard nothing

    relay.resume()
    await wait_js(far, "document.getElementById('conn').hidden", timeout=15_000)
    await wait_js(far, "document.getElementById('step-title').textContent === 'Đường đi của nước'")
    await far.wait_for_selector("#lock", state="visible")
    await wait_js(display, "document.getElementById('conn').hidden")
    await wait_js(display, "document.getElementById('step-no').textContent === '4/14'")
    assert await far.get_attribute("#link", "data-state") == "online"
    await wait_js(teacher, f"document.querySelector(\"{tile('hs-7a-01')}\").dataset.state === 'online'")
    await teacher.click("#lock")
    await far.wait_for_selector("#lock", state="hidden")

    # The teacher's own link fades: the console says so in words, a command cannot go, and once
    # back the console takes up the lesson where it is.
    laptop.go_silent()
    await wait_js(teacher, "!document.getElementById('conn').hidden", timeout=10_000)
    assert await teacher.inner_text("#conn") == "Mất kết nối với máy chủ lớp học, đang kết nối lại…"
    await teacher.click("#next")
    await wait_js(teacher, "document.getElementById('toast').textContent.startsWith('Mất kết nối')")
    assert await near.inner_text("#step-title") == "Đường đi của nước"  # nothing was sent
    laptop.resume()
    await wait_js(teacher, "document.getElementById('conn').hidden", timeout=15_000)
    await teacher.click("#next")
    for page in (near, far):
        await wait_js(page, "document.getElementById('step-title').textContent.startsWith('Vi khuẩn')")

    # An answer tapped while the link is silent: the tablet says it is sending, and once back it
    # arrives, counted once, as the student's own.
    await teacher.click("#steps li[data-index='9'] button")
    await teacher.click("#q-start")
    for page in (near, far):
        await page.wait_for_selector("#question button[data-choice='b']")
    relay.go_silent()
    await far.click("#question button[data-choice='b']")
    await wait_js(far, "document.querySelector('#question .answered')?.textContent.startsWith('Đang gửi:')")
    await wait_js(far, "!document.getElementById('conn').hidden", timeout=10_000)
    await near.click("#question button[data-choice='a']")
    await wait_js(teacher, "document.getElementById('answered-line').textContent.startsWith('1/')")
    relay.resume()
    await wait_js(far, "document.querySelector('#question .answered')?.textContent.startsWith('Em đã trả lời:')")
    await wait_js(teacher, "document.getElementById('answered-line').textContent.startsWith('2/2')")
    assert "1 đúng, 1 sai" in await teacher.inner_text("#answered-line")


@pytest.mark.timeout(120)
async def test_the_technician_page_says_when_its_link_goes_silent_and_catches_up(
    hub: RunningHub, module_browser: Any, relay_factory: Any
) -> None:
    """/tech's device list behind a Wi-Fi that fades: it must not keep saying "live" over a dead
    link (nothing closes it), and once the link is back it shows what changed meanwhile."""
    password = await add_user(hub, "ky-thuat", "technician")
    relay = await relay_factory(hub)
    context = await module_browser.new_context()
    page = await context.new_page()
    try:
        await page.goto(f"{relay.url}/login?next=/tech")
        await page.fill("#username", "ky-thuat")
        await page.fill("#password", password)
        await page.click("button[type=submit]")
        await page.wait_for_url(f"{relay.url}/tech")
        await wait_js(page, "document.getElementById('live').textContent === 'Cập nhật trực tiếp'")
        await wait_js(page, "!!document.querySelector(\"#devices tr[data-device='node-1']\")")

        relay.go_silent()
        await wait_js(page, "document.getElementById('live').textContent === 'Đang kết nối lại…'", timeout=10_000)
        hub.app[REGISTRY].relabel("node-1", "Trạm cảm biến bể cá", "Phòng thí nghiệm")  # renamed meanwhile
        relay.resume()
        await wait_js(page, "document.getElementById('live').textContent === 'Cập nhật trực tiếp'", timeout=20_000)
        await wait_js(page, "document.querySelector(\"#devices tr[data-device='node-1']\")"
                            ".textContent.includes('Trạm cảm biến bể cá')")
    finally:
        await context.close()
