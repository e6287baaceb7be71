"""/studio in a room that is not a studio: one plain sentence, no black preview reconnecting for ever."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import add_user, login, room_settings, run_hub, wait_js


async def test_the_studio_page_says_this_room_is_not_a_studio(tmp_path: Path, browser: Any) -> None:
    async with run_hub(room_settings(tmp_path, None)) as hub:  # a classroom: no camera declared
        password = await add_user(hub, "chi.mai", "studio_staff")
        page = await browser.new_page()
        sockets: list[str] = []
        page.on("websocket", lambda ws: sockets.append(ws.url))
        try:
            await login(page, hub, "chi.mai", password, "/studio")
            await page.wait_for_selector("#no-studio >> text=Phòng này không phải phòng thu")
            await wait_js(page, "document.title === 'Phòng thu bài giảng'")  # the tab title, translated
            assert await page.locator("#preview").count() == 0
            assert sockets == []  # never tried the studio's live socket
        finally:
            await page.close()
