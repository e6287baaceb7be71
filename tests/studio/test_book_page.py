"""Teachers book the studio on /studio/book in headless Chromium: free and taken slots, booking with
subject, grade and presets, cancelling, and their own recordings' review state and comment."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp

from studio.bookings import Actor
from studio.keys import STUDIO
from tests.conftest import RunningHub, add_user, login
from tests.studio.conftest import STAFF

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
LAN = Actor("co.lan", staff=False)
MINH = Actor("thay.minh", staff=False)


def next_open_day() -> date:
    """Tomorrow, or Monday when tomorrow is a Sunday (the studio's days are Monday to Saturday)."""
    day = datetime.now(ZONE).date() + timedelta(days=1)
    return day + timedelta(days=1) if day.isoweekday() == 7 else day


def at(day: date, hhmm: str) -> float:
    hours, minutes = map(int, hhmm.split(":"))
    return datetime(day.year, day.month, day.day, hours, minutes, tzinfo=ZONE).timestamp()


async def test_a_teacher_books_cancels_and_follows_their_recordings(
    studio_hub: RunningHub, browser: Any, tmp_path: Path
) -> None:
    studio = studio_hub.app[STUDIO]
    day = next_open_day()
    password = await add_user(studio_hub, "co.lan", "teacher")
    await add_user(studio_hub, "thay.minh", "teacher")
    await studio.bookings.book(MINH, teacher="thay.minh", teacher_name="Thầy Minh", title="Hóa học 9 - axit",
                               starts_at=at(day, "09:00"), ends_at=at(day, "09:45"))  # fmt: skip
    # Cô Lan's recordings: one sent back with a comment, one published and waiting for the materials bank.
    await studio.recordings.create("20300101-080000-aaaaaa", booking_id=None, teacher="co.lan",
                                   teacher_name="Cô Lan", title="Hình học 8", language="vi")  # fmt: skip
    await studio.recordings.update("20300101-080000-aaaaaa", state="submitted", duration_s=1800.0)
    await studio.review.reject(STAFF, "20300101-080000-aaaaaa", "Âm thanh nhỏ ở phần mở đầu, xin ghi lại.")
    published = tmp_path / "published.mp4"
    await asyncio.to_thread(published.write_bytes, b"\0" * 4096)
    await studio.recordings.create("20300102-080000-bbbbbb", booking_id=None, teacher="co.lan",
                                   teacher_name="Cô Lan", title="Đại số 8", language="vi")  # fmt: skip
    await studio.recordings.update("20300102-080000-bbbbbb", state="published", duration_s=2400.0)
    await studio.outbox.enqueue("20300102-080000-bbbbbb", published, hashlib.sha256(b"\0" * 4096).hexdigest(),
                                {"title": "Đại số 8"})  # fmt: skip
    await studio.recordings.create("20300103-080000-cccccc", booking_id=None, teacher="thay.minh",
                                   teacher_name="Thầy Minh", title="Hóa học 9", language="vi")  # fmt: skip

    # The page is for teachers: nobody else gets past the login form.
    async with (
        aiohttp.ClientSession() as anonymous,
        anonymous.get(f"{studio_hub.url}/studio/book", allow_redirects=False) as response,
    ):
        assert response.status == 302 and response.headers["Location"] == "/login?next=/studio/book"

    page = await browser.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "warning" else None)  # missing strings
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)  # fmt: skip
    page.on("dialog", lambda dialog: dialog.accept())  # "cancel this booking?" - yes
    try:
        await login(page, studio_hub, "co.lan", password, "/studio/book")
        await page.wait_for_selector("text=Đặt lịch phòng thu bài giảng")  # Vietnamese by default
        taken = page.locator(f"#days [data-start='{day}T09:00']")
        await taken.wait_for()
        assert await taken.get_attribute("data-state") == "taken"
        assert "Hóa học 9 - axit · Thầy Minh" in await taken.inner_text()
        # 09:45 + the 15-minute buffer: the next slot is 10:00, free.
        await page.click(f"#days button.free[data-start='{day}T10:00']")
        assert "10:00–10:45" in await page.inner_text("#chosen")
        await page.fill("#book-title", "Phương trình bậc hai")
        await page.fill("#book-subject", "Toán")
        await page.fill("#book-grade", "9")
        await page.select_option("#presets select[data-camera='cam-1']", "2")
        await page.click("#book-form button[type=submit]")
        await page.wait_for_selector(f"#days [data-start='{day}T10:00'][data-state='mine']")
        row = page.locator("#mine tbody tr")
        assert await row.count() == 1
        assert "Toán · lớp 9" in await row.inner_text() and "Camera 1: 2" in await row.inner_text()
        (booking,) = [b for b in await studio.bookings.between(at(day, "00:00"), at(day, "23:59"))
                      if b.teacher == "co.lan"]  # fmt: skip
        assert (booking.title, booking.subject, booking.grade) == ("Phương trình bậc hai", "Toán", "9")
        assert booking.presets == {"cam-1": 2}
        assert (booking.starts_at, booking.ends_at) == (at(day, "10:00"), at(day, "10:45"))

        # Cancelling frees the slot again.
        await row.locator("button").click()
        await page.wait_for_selector(f"#days button.free[data-start='{day}T10:00']")
        assert await page.is_visible("#mine-none")
        assert (await studio.bookings.get(booking.id)).state == "cancelled"

        # Only her own recordings, with the review state and the reviewer's comment.
        recordings = page.locator("#recordings tbody tr")
        assert await recordings.count() == 2
        rejected = page.locator("#recordings tr[data-recording='20300101-080000-aaaaaa']")
        assert "Bị trả lại" in await rejected.locator("td.state").inner_text()
        assert "Âm thanh nhỏ ở phần mở đầu, xin ghi lại." in await rejected.inner_text()
        assert "ky.thuat" in await rejected.inner_text()
        sent = await page.inner_text("#recordings tr[data-recording='20300102-080000-bbbbbb'] td.state")
        assert sent == "Đã xuất bản · đang gửi về kho học liệu (0 %)"
    finally:
        await page.close()
    assert problems == []
