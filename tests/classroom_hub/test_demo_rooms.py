"""`classroom-hub demo --room lab|studio`: the STEM lab and the studio, as a newcomer opens them."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from tests.classroom_hub.test_demo import start_demo
from tests.classroom_hub.test_hub_process import free_port
from tests.conftest import wait_for, wait_js

PASSWORD = "demo-2026"
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")  # the demo studio's booking hours are the province's


@dataclass
class Demo:
    url: str
    folder: Path  # the room's data_dir; the demo keeps its data in folder/demo
    log: Path
    proc: subprocess.Popen[bytes]

    def said(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@pytest.fixture
def demo_room(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Any]:
    started: list[Demo] = []

    def start(room: str, **env: str) -> Demo:
        port = free_port()
        environment = {**os.environ, "CLASSROOM_HUB_HTTP__PORT": str(port),
                       "CLASSROOM_HUB_DATA_DIR": str(tmp_path / room), **env}  # fmt: skip
        log = tmp_path / f"{room}.log"
        demo = Demo(f"http://127.0.0.1:{port}", tmp_path / room, log, start_demo(environment, log, "--room", room))
        started.append(demo)
        return demo

    yield start
    for demo in started:
        demo.proc.send_signal(signal.SIGINT)
        assert demo.proc.wait(30) == 0, demo.said()[-3000:]
        assert "event=hub_stopped" in demo.said()


async def welcomed(demo: Demo) -> str:
    # The first demo on a fresh clone builds the kits' host firmware (g++) before the welcome.
    def ready() -> bool:
        assert demo.proc.poll() is None, demo.said()[-3000:]
        return "Stop with Ctrl-C." in demo.said()

    await wait_for(ready, timeout=150, interval=0.3)
    return demo.said()


async def sign_in(page: Any, demo: Demo, username: str, path: str) -> None:
    await page.goto(f"{demo.url}/login?next={path}")
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{demo.url}{path}*")


@pytest.mark.timeout(240)
async def test_the_lab_demo_shows_the_vinaponics_kit_and_four_robots_on_the_lab_page(
    demo_room: Any, browser: Any
) -> None:
    demo = demo_room("lab")
    said = await welcomed(demo)
    # Every device of the room is counted as /tech lists it, each one simulated (g++ builds the kits).
    assert re.search(r"26 devices as /tech lists them, 26 of them simulated", said), said[-2000:]
    assert "NOT simulated" not in said
    assert f"STEM lab            {demo.url}/lab   sign in as thinghiem" in said
    assert "/studio" not in said  # not a studio: no page that would only answer 503
    # ... the same count /tech shows.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.post(f"{demo.url}/login", data={"username": "kythuat", "password": PASSWORD}) as r:
            assert r.status == 200
        async with http.get(f"{demo.url}/api/devices") as r:
            assert len((await r.json())["devices"]) == 26
    page = await browser.new_page()
    try:
        await sign_in(page, demo, "thinghiem", "/lab")
        # The kit's live readings and the four robots, each online, from the firmware on its pty.
        await page.wait_for_selector("#kit-vinaponics-1 .tile[data-sensor=ph] .value")
        for n in range(1, 5):
            await page.wait_for_selector(f"#robots tbody tr[data-robot=robot-{n}] >> text=trực tuyến")
        # The colour each robot's sensor sees (the firmware says "green"), in the reader's words.
        colours = ["không thấy màu", "đỏ", "xanh lá", "xanh dương", "vàng", "trắng", "đen"]
        await wait_js(page, """(words) => [...document.querySelectorAll('#robots tbody tr')].every(
            tr => words.includes(tr.cells[6].textContent))""", arg=colours)
    finally:
        await page.close()
    # The kits' ports are made in the demo's own folder, not where the demo was started.
    assert f"port={demo.folder / 'demo' / 'dev' / 'robot-1'} " in said


@pytest.mark.timeout(240)
async def test_the_studio_demo_previews_the_cameras_and_records_with_ffmpeg(demo_room: Any, browser: Any) -> None:
    # A smaller picture than the demo's, for a shared test machine; the pipeline is the same.
    demo = demo_room("studio", CLASSROOM_HUB_STUDIO__PROGRAM_SIZE="640x360", CLASSROOM_HUB_STUDIO__MIN_FREE_MB="0")
    said = await welcomed(demo)
    assert re.search(r"6 devices as /tech lists them, 6 of them simulated", said), said[-2000:]
    assert f"Studio              {demo.url}/studio   sign in as studio" in said
    assert f"Studio booking      {demo.url}/studio/book" in said  # the teachers' page, from the studio's links
    page = await browser.new_page()
    try:
        await sign_in(page, demo, "studio", "/studio")
        # The preview is the program's frames (a blob per frame), never a black reconnecting box.
        await wait_js(page, "document.getElementById('preview').src.startsWith('blob:')", timeout=30_000)
        first = await page.evaluate("document.getElementById('preview').src")
        await wait_js(page, "(first) => document.getElementById('preview').src !== first", arg=first)
        # A recording belongs to a booking: the staff books the studio from now, on the same page.
        start = (datetime.now(ZONE) + timedelta(minutes=2)).replace(second=0, microsecond=0, tzinfo=None)
        await page.fill("#book-title", "Khoa học tự nhiên 7 - Vòng tuần hoàn nước")
        await page.fill("#book-teacher", "giaovien")
        await page.fill("#book-start", start.strftime("%Y-%m-%dT%H:%M"))
        await page.fill("#book-end", (start + timedelta(minutes=45)).strftime("%Y-%m-%dT%H:%M"))
        await page.click("#book-form button[type=submit]")
        await page.wait_for_selector("#bookings tr.current")
        await page.click("#record")
        await page.wait_for_selector("#stop:not([disabled])")
        await wait_js(page, "document.getElementById('elapsed').textContent >= '00:00:02'", timeout=30_000)
        await page.click("#stop")
        await page.wait_for_selector("#record:not([disabled])")
        row = page.locator("#recordings tbody tr").first
        await row.locator("text=Bản nháp").wait_for(timeout=60_000)
    finally:
        await page.close()


@pytest.mark.timeout(120)
async def test_a_kit_the_demo_cannot_simulate_is_named_with_why(demo_room: Any) -> None:
    # A computer without a C++ compiler cannot build the kits' firmware: the lab still runs, and
    # the welcome says which devices are not simulated and why, instead of a smaller count.
    demo = demo_room("lab", CXX="no-such-compiler")
    said = await welcomed(demo)
    assert "26 devices as /tech lists them, 21 of them simulated." in said, said[-2000:]
    for device in ("vinaponics-1", "robot-1", "robot-2", "robot-3", "robot-4"):
        assert f"NOT simulated: {device}: cannot build the host firmware: make and g++ are needed" in said


@pytest.mark.timeout(180)
async def test_the_classroom_demo_teacher_page_offers_the_sample_lessons_and_no_robots(
    demo_room: Any, browser: Any
) -> None:
    demo = demo_room("classroom")
    said = await welcomed(demo)
    assert "88 devices as /tech lists them, 88 of them simulated." in said
    assert "/studio" not in said
    page = await browser.new_page()
    try:
        await sign_in(page, demo, "giaovien", "/teacher")
        await page.wait_for_selector("#lesson-select option >> text=Vòng tuần hoàn nước trong bể aquaponics",
                                     state="attached")  # fmt: skip
        await page.wait_for_selector("#class-select option >> text=Khoa học tự nhiên - Lớp 7A", state="attached")
        # The robots are in the lab: an ordinary lesson here has the lab card folded, not a red panel.
        await wait_js(page, "room !== null")  # the hub has said what the room has (its kind, its robots)
        assert await page.evaluate("[room.robots, document.body.dataset.lab]") == [0, "folded"]
        await page.locator("#experiment summary").wait_for()
        assert await page.locator("#experiment").get_attribute("open") is None
    finally:
        await page.close()
