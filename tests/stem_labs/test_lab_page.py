"""The lab lead's page in headless Chromium, against the hub with the firmware node and a robot:
live sensor tiles in Vietnamese, an alarm appearing and acknowledged, a run started from the page
and drawn, the EMERGENCY STOP; the experiment card on /teacher and the data share on /join."""

from __future__ import annotations

import pytest

from tests.conftest import add_user, login, wait_for, wait_js

pytestmark = pytest.mark.mosquitto


def watch_errors(page, strings: str = "") -> list[str]:
    """Script errors, missing strings starting with ``strings`` (common.js warns) and failed requests.

    On /teacher and /join only our own strings (lab.*) are checked: other parts of those
    pages are other people's work in progress."""
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.on("console", lambda msg: errors.append(msg.text)
            if msg.type == "warning" and msg.text.startswith(f"missing string {strings}") else None)  # fmt: skip
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)  # fmt: skip
    return errors


async def canvas_has_ink(page, selector: str) -> bool:
    return await page.eval_on_selector(selector, """c => {
        const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
        let dark = 0;
        for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && d[i] < 100 && d[i + 2] > 150) dark++;
        return dark > 50;  /* the blue of the first series */
    }""")


async def test_lab_page_live_alarm_run_and_emergency_stop(lab_room, browser) -> None:
    async with await lab_room(robots=1) as room:
        await room.online("vina-1", "robot-1")
        password = await add_user(room.hub, "truong.lab", "lab_lead")
        page = await browser.new_page()
        errors = watch_errors(page)
        await login(page, room.hub, "truong.lab", password, "/lab")
        await page.wait_for_selector("#kit-vina-1 .tile[data-sensor=ph] .value")
        assert "Phòng STEM" in await page.inner_text("header h1")
        assert await page.inner_text("#estop") == "DỪNG KHẨN CẤP TẤT CẢ ROBOT"

        # Live: a new pH on the tank reaches the tile.
        room.node.pin("ph", 6.62)
        await wait_js(page,
            "document.querySelector('#kit-vina-1 .tile[data-sensor=ph] .value').textContent.startsWith('6.62')")
        assert "chưa hiệu chuẩn" in await page.inner_text("#kit-vina-1 .tile[data-sensor=ph]")

        # An alarm appears live and is acknowledged from the page.
        limits = {"ph": {"warn_low": 6.0, "warn_high": 7.0, "alarm_low": 5.5, "alarm_high": 8.5, "hysteresis": 0.1}}
        response = await page.request.put(f"{room.hub.url}/api/lab/kits/vina-1/settings",
                                          data={"limits": limits, "rules": {"lights_schedule": False}})  # fmt: skip
        assert response.ok
        room.node.pin("ph", 5.2)
        row = page.locator("#alarms tbody tr", has_text="pH dưới 5.5")
        await row.wait_for()
        assert await row.locator("td").nth(1).inner_text() == "Báo động"
        await row.locator("button.ack").click()
        await page.wait_for_selector("#alarms tbody tr.acknowledged")
        assert "truong.lab" in await page.inner_text("#alarms tbody tr.acknowledged")

        # A run from the page: it records, it is listed, it is drawn.
        await page.fill("#run-name", "Đo pH")
        await page.fill("#run-rate", "5")
        await page.click("#run-form button[type=submit]")
        await page.wait_for_selector("#runs tbody tr >> text=Đo pH")
        await wait_for(lambda: any(len(r.samples) >= 5 for r in room.lab.experiments.runs.values()), timeout=5)
        await wait_js(page, "() => RUNS.loaded.size && [...RUNS.loaded.values()][0].samples.length >= 5")
        await page.wait_for_timeout(300)
        assert await canvas_has_ink(page, "#run-chart")

        # EMERGENCY STOP from the page: confirmed by the robot.
        await page.click("#estop")
        await page.wait_for_selector("#estop-result.ok")
        assert "Đã dừng cả 1 robot" in await page.inner_text("#estop-result")
        await wait_for(lambda: room.lab.robots.views["robot-1"].values.get("estop") == 1, timeout=2)
        await page.wait_for_selector("#robots tbody tr[data-robot=robot-1] >> text=đang dừng khẩn")
        assert errors == []
        await page.close()


async def test_teacher_experiment_card_and_tablet_data_share(lab_room, browser) -> None:
    async with await lab_room(robots=1) as room:
        await room.online("vina-1", "robot-1")
        password = await add_user(room.hub, "co.lan", "teacher")
        page = await browser.new_page()
        errors = watch_errors(page, "lab.")
        await login(page, room.hub, "co.lan", password, "/teacher")
        card = page.locator("#experiment")
        await card.locator(".xp-estop").wait_for()
        await wait_js(page, "document.querySelectorAll('#experiment .xp-boxes input').length > 0")
        await card.locator("input[maxlength='80']").fill("Nhiệt độ nước")
        await card.locator(".xp-go").click()
        await wait_js(page, "document.querySelector('#xp-status').textContent.includes('đang ghi')")
        run = next(iter(room.lab.experiments.runs.values()))
        await card.locator("button", has_text="Chia sẻ cho học sinh").click()
        await wait_for(lambda: run.shared, timeout=3)

        tablet = await browser.new_page()
        tablet_errors = watch_errors(tablet, "lab.")
        await tablet.goto(f"{room.hub.url}/join")
        share = tablet.locator("#data-share")
        await share.wait_for(state="visible")
        assert await share.locator("h2").inner_text() == "Nhiệt độ nước"
        await wait_js(tablet, "document.querySelector('#data-share [data-sensor=ph]')")
        room.node.pin("ph", 6.44)
        await wait_js(tablet,
            "document.querySelector('#data-share [data-sensor=ph]').textContent.includes('6.44')")

        await card.locator(".xp-estop").click()
        await wait_js(page, "document.querySelector('#xp-estop-note').textContent.includes('Đã dừng')")
        assert errors == [] and tablet_errors == []
        await tablet.close()
        await page.close()
