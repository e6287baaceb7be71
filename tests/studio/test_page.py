"""The /studio page in headless Chromium: book, switch layout, record, stop, review and publish."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.conftest import RunningHub, add_user, login, wait_js

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


async def test_staff_books_switches_layout_records_and_stops(studio_hub: RunningHub, browser: Any) -> None:
    password = await add_user(studio_hub, "ky.thuat", "studio_staff")
    await add_user(studio_hub, "co.lan", "teacher")
    page = await browser.new_page()
    try:
        await login(page, studio_hub, "ky.thuat", password, "/studio")
        await page.wait_for_selector("text=Phòng thu bài giảng")  # Vietnamese by default
        await wait_js(page, "document.getElementById('preview').src.startsWith('blob:')", timeout=10_000)

        # A booking starting in two minutes is the studio's booking of this moment (pre-roll is 5).
        start = (datetime.now(ZONE) + timedelta(minutes=2)).replace(second=0, microsecond=0, tzinfo=None)
        await page.fill("#book-title", "Lịch sử 8 - Cách mạng tháng Tám")
        await page.fill("#book-teacher", "co.lan")
        await page.fill("#book-start", start.strftime("%Y-%m-%dT%H:%M"))
        await page.fill("#book-end", (start + timedelta(minutes=45)).strftime("%Y-%m-%dT%H:%M"))
        await page.click("#book-form button[type=submit]")
        await page.wait_for_selector("#bookings tr.current >> text=Lịch sử 8 - Cách mạng tháng Tám")

        await page.click("[data-layout=side_by_side]")
        await page.wait_for_selector("[data-layout=side_by_side].active")

        await page.click("#record")
        await page.wait_for_selector("#stop:not([disabled])")
        await wait_js(page, "document.getElementById('elapsed').textContent >= '00:00:02'", timeout=15_000)
        assert await page.is_visible("#rec-badge")
        await page.click("[data-layout=pip]")
        await page.wait_for_selector("[data-layout=pip].active")
        await page.click("#stop")
        await page.wait_for_selector("#record:not([disabled])")
        row = page.locator("#recordings tbody tr").first
        await row.locator("text=Bản nháp").wait_for()
        assert "Lịch sử 8" in await row.inner_text()
        # The review queue: fill in the metadata, submit, approve and publish from the same table.
        await row.locator("button", has_text="Sửa").click()
        await page.fill("#edit-subject", "Lịch sử")
        await page.fill("#edit-grade", "8")
        await page.fill("#edit-in", "0.5")
        await page.click("#edit-submit")
        await row.locator("text=Chờ duyệt").wait_for()
        await row.locator("button", has_text="Duyệt").click()
        await row.locator("text=Đã duyệt").wait_for()
        await row.locator("button", has_text="Xuất bản").click()
        await row.locator("text=Đã xuất bản").wait_for()
        audio = await page.text_content("#audio-db")
        assert audio is not None and audio.endswith("dB") and "∞" not in audio  # the tone is heard
    finally:
        await page.close()
