"""What the flows share: one Chromium per module (pages get their own contexts), TCP relays that
can go silent (tests/flows/relay.py), and the small steps every flow takes (a teacher logged in, a lesson launched, a
paired display, a tablet seated by its code)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio

from classroom_hub.lessons.keys import DISPLAYS
from tests.conftest import RunningHub, chromium, wait_js
from tests.flows.relay import SilentRelay


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def module_browser() -> AsyncIterator[Any]:
    """Debian's Chromium, headless, once for the whole module: each page gets a fresh context."""
    async with chromium() as launched:
        yield launched


@pytest_asyncio.fixture(loop_scope="module")
async def relay_factory() -> AsyncIterator[Any]:
    relays: list[SilentRelay] = []

    async def make(hub: RunningHub) -> SilentRelay:
        relay = SilentRelay(int(hub.url.rsplit(":", 1)[1]))
        await relay.start()
        relays.append(relay)
        return relay

    yield make
    for relay in relays:
        await relay.close()


async def teacher_page(browser: Any, base_url: str, username: str, password: str, *, width: int = 1366,
                       height: int = 768) -> Any:  # fmt: skip
    """The teacher's console on a 1366x768 laptop, logged in through the form at ``base_url`` (the hub,
    or a relay to it), every dialog answered yes."""
    context = await browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True)
    page = await context.new_page()

    async def yes(dialog: Any) -> None:
        await dialog.accept()

    page.on("dialog", yes)
    await page.goto(f"{base_url}/login?next=/teacher")
    await page.fill("#username", username)
    await page.fill("#password", password)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base_url}/teacher")
    await page.wait_for_selector("#class-select option[value='khtn-7a']", state="attached")
    return page


async def launch(teacher: Any, lesson: str, klass: str = "khtn-7a") -> str:
    """Launch ``lesson`` for the class from the teacher's page; the class code it shows."""
    await teacher.select_option("#class-select", klass)
    await teacher.select_option("#lesson-select", lesson)
    await teacher.click("#launch")
    await teacher.wait_for_selector("#running", state="visible")
    return (await teacher.inner_text("#code")).strip()


async def paired_display(browser: Any, hub: RunningHub, base_url: str | None = None) -> Any:
    """The 86-inch screen, paired by a technician's link, reaching the hub at ``base_url`` (the hub's
    own address, or a relay to it)."""
    pairing = await asyncio.get_running_loop().run_in_executor(None, hub.app[DISPLAYS].new_code, "86", "kythuat")
    page = await (await browser.new_context(viewport={"width": 1920, "height": 1080})).new_page()
    await page.goto(f"{base_url or hub.url}/display?pair={pairing.code}")
    await wait_js(page, "document.getElementById('code').textContent.length === 4")
    return page


async def seat_by_code(browser: Any, base_url: str, code: str, student: str) -> Any:
    """A tablet opens /join, types the class code from the board and taps its name."""
    page = await (await browser.new_context(viewport={"width": 800, "height": 1280})).new_page()
    await page.goto(f"{base_url}/join")
    await page.fill("#code", code)
    await page.press("#code", "Enter")
    await page.click(f"#names [data-student='{student}']")
    await page.wait_for_selector("#lesson-screen", state="visible")
    return page
