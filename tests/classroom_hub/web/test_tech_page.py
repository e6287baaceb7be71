"""The technician console in headless Chromium: a technician logs in, sees the room's devices live,
filters them, sends a group command and a single command, reads a device's chart and
acknowledges an alarm, then a lab kit's alarm in the same list, in Vietnamese (the default)."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

from classroom_hub.app import REGISTRY
from classroom_hub.fleet.keys import FLEET
from device_drivers.headset.fleet import FailurePlan, HeadsetFleet
from device_drivers.sensor_node.simulator import SimulatedSensorNode
from device_drivers.tablet.simulator import SimulatedTablet
from stem_labs.alarms import SensorLimits
from stem_labs.keys import LAB
from stem_labs.kits import KitRules
from tests.classroom_hub.fleet.conftest import fleet_hub
from tests.conftest import add_user, login, room_settings, wait_for, wait_js


class AcidTank(SimulatedSensorNode):
    """A Vinaponics kit whose water has turned acid: pH 5.8, under the 6.0 warning limit."""

    def readings(self) -> list[dict[str, Any]]:
        return [{"key": "ph", "value": 5.8, "unit": "pH"}]


async def test_technician_console(tmp_path: Path, system_mosquitto_url: str, browser: Any) -> None:
    url = system_mosquitto_url
    devices = [
        {"kind": "headset", "id": "H{:02d}", "count": 3},
        {"kind": "tablet", "id": "T{:02d}", "count": 2},
        {"kind": "sensor_node", "id": "vina-1", "sensors": ["ph"]},  # a lab kit, silent until the end
    ]
    settings = room_settings(tmp_path, url, devices=devices)
    room = settings.room.id
    async with fleet_hub(settings) as hub:
        registry = hub.app[REGISTRY]
        tablet = SimulatedTablet(url, room, "T01", dropout_chance=0)
        tablet_task = asyncio.create_task(tablet.run())
        # The headsets hold the demo's farm tour (stocked in the hub's scene library at start).
        (scene,) = hub.app[FLEET].scenes.list()
        cached = {scene.sha256: (hub.app[FLEET].scenes.folder / scene.sha256).read_bytes()}
        async with HeadsetFleet(url, room, count=3, plan=FailurePlan(offline=1), cached=cached) as headsets:
            (away,) = headsets.offline
            h1, h2 = headsets.online
            await wait_for(lambda: registry.counts()["headset"]["online"] == 2)
            await wait_for(lambda: all(hub.app[FLEET].copies.of(h, scene.sha256).state == "ready" for h in (h1, h2)))
            await wait_for(lambda: registry.counts()["tablet"]["online"] == 1)

            password = await add_user(hub, "kythuat", "technician")
            page = await browser.new_page()
            problems: list[str] = []
            page.on("console", lambda m: problems.append(m.text) if m.type == "warning" else None)
            page.on("response", lambda r: problems.append(f"{r.status} {r.url}")
                    if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)  # fmt: skip
            page.on("pageerror", lambda e: problems.append(str(e)))
            await login(page, hub, "kythuat", password, "/tech")

            # Every device, live, in Vietnamese; the tablet with its Wi-Fi and app version.
            await page.wait_for_selector("#devices tbody tr[data-device='T02']")
            assert await page.locator("#devices tbody tr").count() == 6
            t01 = page.locator("#devices tr[data-device='T01']")
            await wait_js(page,
                "document.querySelector(\"#devices tr[data-device='T01']\").textContent.includes('dBm')"
            )
            assert "trực tuyến" in await t01.inner_text()
            assert "1.4.2" in await t01.inner_text()
            assert await page.locator(f"#devices tr[data-device='{away}'] .state-unknown").count() == 1

            # Filter by kind and state.
            await page.select_option("#filter-kind", "tablet")
            assert await page.locator("#devices tbody tr").count() == 2
            await page.select_option("#filter-state", "online")
            assert await page.locator("#devices tbody tr").count() == 1
            await page.select_option("#filter-kind", "")
            await page.select_option("#filter-state", "")

            # A group command to all headsets, with the summary and a result per device.
            assert await page.input_value("#group-target") == "kind:headset"
            await page.select_option("#group-command", "launch_scene")
            # "Mở cảnh" without a scene of the library cannot be sent.
            send = page.locator("#group-form button.send")
            assert await send.is_disabled()
            assert await page.inner_text("#group-scene-hint") == "Chọn một cảnh có trên máy chủ trước khi gửi."
            await page.fill("#group-scene", "water-cycle")
            assert await send.is_disabled()
            assert await page.inner_text("#group-scene-hint") == "Máy chủ không có cảnh này; chọn trong danh sách."
            await page.fill("#group-scene", scene.content_id)
            await page.click("#group-form button.send")
            summary = page.locator("#group-result .summary")
            await summary.wait_for()
            assert await summary.inner_text() == f"2/3 đã mở cảnh, 1 mất kết nối: {away}"
            assert headsets.headsets[h1].scene == headsets.headsets[h2].scene == "aquaponics-farm-tour"
            assert await page.locator("#group-result tr[data-device] .outcome-ok").count() == 2

            # One device: its details, its 24-hour chart, a command of its own.
            await page.click(f"#devices tr[data-device='{h1}']")
            await page.wait_for_selector("#device-chart svg rect[data-state='online']", state="attached")
            await page.wait_for_selector("#device-chart svg polyline.battery", state="attached")
            await page.select_option("#device-command", "volume")
            assert await page.input_value("#device-args") == '{"level":50}'
            await page.fill("#device-args", '{"level": 30}')
            await page.click("#device-form button.send")
            await page.wait_for_selector("#device-result .outcome-ok")
            assert headsets.headsets[h1].volume == 30
            await page.fill("#device-args", "{level: 30")
            await page.click("#device-form button.send")
            await wait_js(page, "document.querySelector('#device-result').textContent.includes('JSON')")

            # A headset dies: the alarm appears live; the technician acknowledges it.
            await headsets.switch_off(h2)
            row = page.locator(f"#alarms tr[data-device='{h2}'][data-kind='offline']")
            await row.wait_for()
            assert await page.inner_text("#alarm-count") == "1"
            await row.locator("button.ack").click()
            await wait_js(page,
                f"document.querySelector(\"#alarms tr[data-device='{h2}']\").textContent.includes('kythuat')"
            )
            assert await page.inner_text("#alarm-count") == ""
            (alarm,) = hub.app[FLEET].alarms.active()
            assert alarm.acknowledged_by == "kythuat"
            await page.click("#alarm-history-box summary")
            await page.wait_for_selector(f"#alarm-history tr[data-alarm='{alarm.id}']")

            # The lab kit's water turns acid: its alarm joins the same list, with the kit and the
            # lab's words, and the technician acknowledges it there, for the lab too.
            lab = hub.app[LAB]
            lab.update_settings("vina-1", {"ph": SensorLimits("ph", warn_low=6.0, alarm_low=5.5, hysteresis=0.1)},
                                KitRules(lights_schedule=False), "truong.lab")  # fmt: skip
            tank_task = asyncio.create_task(AcidTank(url, room, "vina-1").run())
            lab_row = page.locator("#alarms tr[data-device='vina-1'][data-kind='ph_low'][data-source='lab']")
            await lab_row.wait_for()
            text = await lab_row.inner_text()
            assert "Bộ kit vina-1 (phòng thí nghiệm)" in text and "Chú ý: pH dưới 6" in text, text
            assert await page.inner_text("#alarm-count") == "1"  # the headset's is acknowledged already
            await lab_row.locator("button.ack").click()
            await wait_js(page,
                "document.querySelector(\"#alarms tr[data-device='vina-1']\").textContent.includes('kythuat')"
            )
            (lab_alarm,) = lab.alarms.active("vina-1")
            assert (lab_alarm.kind, lab_alarm.severity, lab_alarm.acknowledged_by) == ("ph_low", "warning", "kythuat")
            await page.wait_for_selector(f"#alarm-history tr[data-alarm='{lab_alarm.id}']")
            assert "Chú ý: pH dưới 6" in await page.inner_text(f"#alarm-history tr[data-alarm='{lab_alarm.id}']")
            tank_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await tank_task

            # English on request.
            await page.click("#lang-switch")
            await wait_js(page, "document.querySelector('#alarms thead').textContent.includes('Device')")
            await page.close()
        tablet_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await tablet_task
    assert problems == []
