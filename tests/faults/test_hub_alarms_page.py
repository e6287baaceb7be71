"""The hub's own fault on the technician console, in Vietnamese: the room's broker stops, the
alarm appears live naming the broker and the true error; it starts again, the alarm goes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import Mosquitto, add_user, login, room_settings, run_hub, wait_js

ROW = "#alarms tr[data-device='broker'][data-kind='broker_lost']"


async def test_the_broker_lost_shows_on_tech_with_its_reason_and_clears_when_it_is_back(
    tmp_path: Path, browser: Any
) -> None:
    mosquitto = Mosquitto(tmp_path / "mosquitto")
    mosquitto.start()
    try:
        settings = room_settings(tmp_path, mosquitto.url, store={"watch_interval_s": 0.2})
        async with run_hub(settings) as hub:
            password = await add_user(hub, "kythuat", "technician")
            page = await browser.new_page()
            problems: list[str] = []
            page.on("console", lambda m: problems.append(m.text) if m.type == "warning" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            await login(page, hub, "kythuat", password, "/tech")
            await page.wait_for_selector("#alarms-none:not([hidden])")
            mosquitto.stop()
            await page.wait_for_selector(ROW, timeout=20_000)
            text = await page.inner_text(ROW)
            assert "Máy chủ MQTT" in text and "Mất kết nối với máy chủ MQTT" in text, text
            assert f"no MQTT connection to {mosquitto.url}" in text, text  # the true reason, as the hub knows it
            mosquitto.start()
            await wait_js(page, f"!document.querySelector(\"{ROW}\")", timeout=20_000)
            assert problems == [], problems
            await page.close()
    finally:
        mosquitto.stop()
