"""/tech in Chromium: a device's own fields, their values and the reason of its alarm, in words."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from classroom_hub.alarms.devices import AlarmLimits
from classroom_hub.bus.link import MqttLink
from classroom_hub.bus.topics import device_topic
from classroom_hub.fleet.keys import FLEET
from tests.conftest import add_user, login, room_settings, run_hub, wait_for


async def publish_status(settings: Any, device_id: str, status: dict[str, Any]) -> None:
    """``device_id``'s agent publishes its retained status (docs/devices.md)."""
    device = MqttLink(settings.mqtt.url, client_id=device_id, manual_ack=False)
    task = asyncio.create_task(device.run())
    try:
        await device.wait_up(5)
        device.publish(device_topic(settings.room.id, device_id, "status"), json.dumps(status), qos=1, retain=True)
        await wait_for(lambda: device.unconfirmed == 0)
        await device.close()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def fields(page: Any) -> dict[str, str]:
    pairs: list[list[str]] = await page.evaluate(
        "[...document.querySelectorAll('#device-fields dt')]"
        ".map(dt => [dt.textContent, dt.nextElementSibling.textContent])"
    )
    return dict(pairs)


async def test_a_headsets_fields_and_its_last_will_read_as_words(
    tmp_path: Path, system_mosquitto_url: str, browser: Any
) -> None:
    settings = room_settings(tmp_path, system_mosquitto_url)
    async with run_hub(settings) as hub:
        hub.app[FLEET].alarms.limits = AlarmLimits(offline_grace_s=0)  # the alarm at once, not after 30 s
        password = await add_user(hub, "anh.minh", "technician")
        await publish_status(settings, "H01", {"state": "online", "kind": "headset", "battery": 64, "app": "home",
                                               "paused": False, "storage_free_mb": 3486, "volume": 60})  # fmt: skip
        page = await browser.new_page()
        try:
            await login(page, hub, "anh.minh", password, "/tech")
            await page.click("#devices tbody tr[data-device='H01']")
            await page.wait_for_selector("#device-fields dt >> text=Bộ nhớ trống (MB)")
            shown = await fields(page)
            expected = {"Ứng dụng đang mở": "Màn hình chính", "Tạm dừng": "không", "Bộ nhớ trống (MB)": "3486",
                        "Âm lượng": "60"}  # fmt: skip
            assert {k: shown.get(k) for k in expected} == expected
            # The broker's last will (an offline status with no error) is said as what it means.
            await publish_status(settings, "H01", {"state": "offline"})
            await page.wait_for_selector("tr[data-alarm][data-device='H01'] >> text=thiết bị mất kết nối đột ngột")
            assert "last will" not in await page.inner_text("body")
        finally:
            await page.close()
