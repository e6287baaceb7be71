"""The teacher's classroom in headless Chromium: the grid of tablets (one hides its page, one answers,
one goes silent) and sending to chosen tablets; the countdown, the results kept off the display until
revealed, the picker and groups on the display and the tablets, at 1366x768; the grade mismatch
warning and the lab card folded for an ordinary lesson."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from classroom_hub.keys import SETTINGS
from classroom_hub.lessons.keys import DISPLAYS, LESSONS
from tests.classroom_hub.lessons.test_tools import publish_status
from tests.conftest import add_user, login, room_settings, run_hub, wait_js

AQUAPONICS = "vong-tuan-hoan-nuoc-aquaponics"  # grade 7, with an experiment step: a lab lesson
PHYSICS = "chuyen-dong-thang-10"  # grade 10, slides and questions
QUIZ = 9  # the aquaponics lesson's first question: the right choice is b

BATTERY_42 = ("Navigator.prototype.getBattery = function () {"
              " return Promise.resolve({ level: 0.42, charging: false, addEventListener() {} }); };")  # fmt: skip
NO_BATTERY_API = "Object.defineProperty(Navigator.prototype, 'getBattery', { value: undefined });"
HIDE_PAGE = """() => {
  Object.defineProperty(document, "visibilityState", { value: "hidden", configurable: true });
  document.dispatchEvent(new Event("visibilitychange"));
}"""


def room(tmp_path: Path, broker_url: str, **lessons: Any) -> Any:
    place = {"school_code": "THCS-DEMO", "id": f"lop-7a-tools-{os.getpid()}-{len(list(tmp_path.iterdir()))}",
             "name": "Lớp 7A"}  # fmt: skip
    return room_settings(tmp_path, broker_url, room=place, **({"lessons": lessons} if lessons else {}))


async def teacher_page(browser: Any, hub: Any, width: int = 1366, height: int = 768) -> Any:
    password = await add_user(hub, "co-lan", "teacher")
    page = await (await browser.new_context(viewport={"width": width, "height": height})).new_page()
    await login(page, hub, "co-lan", password, "/teacher")
    await page.wait_for_selector("#class-select option[value='khtn-7a']", state="attached")
    return page


async def launch(teacher: Any, lesson: str) -> str:
    await teacher.select_option("#class-select", "khtn-7a")
    await teacher.select_option("#lesson-select", lesson)
    await teacher.click("#launch")
    await teacher.wait_for_selector("#running", state="visible")
    return (await teacher.inner_text("#code")).strip()


class Relay:
    """The tablet's lesson socket through a relay in the browser that can go silent: the tablet's
    messages stop reaching the hub, as when its page freezes or its Wi-Fi fades, while the socket
    stays open (Playwright's offline mode leaves open WebSockets working)."""

    def __init__(self) -> None:
        self.silent = False

    async def attach(self, page: Any) -> None:
        def route(ws: Any) -> None:
            server = ws.connect_to_server()
            ws.on_message(lambda message: None if self.silent else server.send(message))

        await page.route_web_socket("**/ws/lesson*", route)


async def tablet(browser: Any, hub: Any, code: str, student: str, *, query: str = "", script: str = "",
                 relay: Relay | None = None) -> Any:  # fmt: skip
    context = await browser.new_context(viewport={"width": 800, "height": 1280})
    if script:
        await context.add_init_script(script)
    page = await context.new_page()
    if relay is not None:
        await relay.attach(page)
    await page.goto(f"{hub.url}/join?code={code}{query}")
    await page.click(f"#names [data-student='{student}']")
    await page.wait_for_selector("#lesson-screen", state="visible")
    return page


def tile(student: str, selector: str = "") -> str:
    return f"#student-grid .tablet-tile[data-student='{student}'] {selector}".strip()


async def test_the_grid_shows_every_tablet_and_what_was_sent_arriving(
    tmp_path: Path, system_mosquitto_url: str, browser: Any
) -> None:
    # Beats every 0.5 s, a silent tablet cut after 3 s: the grid sees beats go missing quickly.
    async with run_hub(room(tmp_path, system_mosquitto_url, beat_s=0.5, dead_after_s=3.0)) as hub:
        await publish_status(hub.app[SETTINGS], "T02", {"state": "online", "kind": "tablet", "battery": 64})
        teacher = await teacher_page(browser, hub, 1400, 1000)
        code = await launch(teacher, AQUAPONICS)
        ana = await tablet(browser, hub, code, "hs-7a-01", script=BATTERY_42)
        # No Battery API (a page over plain http): the tablet's agent, named in the address, tells the battery.
        binh = await tablet(browser, hub, code, "hs-7a-02", query="&device=T02", script=NO_BATTERY_API)
        relay = Relay()
        await tablet(browser, hub, code, "hs-7a-03", script=NO_BATTERY_API, relay=relay)
        await teacher.click(f"#steps li[data-index='{QUIZ}'] button")
        await teacher.click("#q-start")
        for student in ("hs-7a-01", "hs-7a-02", "hs-7a-03"):
            await wait_js(teacher, f"document.querySelector(\"{tile(student, '.where')}\")?.textContent === 'bước 10'")

        await ana.evaluate(HIDE_PAGE)  # another app in front, or the screen off
        await binh.click("#question button[data-choice='b']")
        await binh.wait_for_selector("#question .answered")
        relay.silent = True  # Châu's tablet goes silent

        await wait_js(teacher, f"document.querySelector(\"{tile('hs-7a-01')}\").dataset.visible === 'no'")
        assert await teacher.inner_text(tile("hs-7a-01", ".badge.away")) == "Rời màn hình bài học"
        assert await teacher.get_attribute(tile("hs-7a-01", ".battery"), "data-battery") == "42"
        assert await teacher.get_attribute(tile("hs-7a-01", ".battery"), "title") == "Pin do trình duyệt báo"
        await wait_js(teacher, f"document.querySelector(\"{tile('hs-7a-02')}\").dataset.answered === 'yes'")
        assert await teacher.inner_text(tile("hs-7a-02", ".badge.ok")) == "đã trả lời"
        assert await teacher.get_attribute(tile("hs-7a-02", ".battery"), "data-battery") == "64"
        assert await teacher.get_attribute(tile("hs-7a-02", ".battery"), "title") == "Pin do ứng dụng quản lý máy báo"
        assert await teacher.inner_text(tile("hs-7a-01", ".badge.todo")) == "chưa trả lời"
        # The silent one: beats missed (a red dot), then cut and shown as lost.
        await wait_js(teacher, f"Number(document.querySelector(\"{tile('hs-7a-03')}\").dataset.missed) >= 2")
        assert "lỡ" in await teacher.inner_text(tile("hs-7a-03", ".link"))
        await wait_js(teacher, f"document.querySelector(\"{tile('hs-7a-03')}\").dataset.state === 'offline'")
        assert await teacher.inner_text(tile("hs-7a-03", ".link")) == "mất kết nối"
        assert await teacher.get_attribute(tile("hs-7a-02"), "data-state") == "online"

        # Send a slide of the lesson to Ana and Bình only; the grid shows it arrive on each.
        await teacher.check(tile("hs-7a-01", "input[type=checkbox]"))
        await teacher.check(tile("hs-7a-02", "input[type=checkbox]"))
        await teacher.select_option("#send-kind", "file")
        await teacher.select_option("#send-file", "slides/03-duong-di-cua-nuoc.svg")
        await teacher.check("#send-to-chosen")
        assert await teacher.inner_text("#send-to-chosen-label") == "Các em đã chọn (2)"
        await teacher.click("#send")
        for page in (ana, binh):
            await page.wait_for_selector("#sent img.slide-image", state="visible")
            await wait_js(page, "document.querySelector('#sent img.slide-image').naturalWidth > 0")
        assert await ana.inner_text("#sent-title") == "03-duong-di-cua-nuoc.svg"
        for student in ("hs-7a-01", "hs-7a-02"):
            await wait_js(teacher, f"document.querySelector(\"{tile(student)}\").dataset.sent === 'shown'")
        assert await teacher.inner_text("#send-status") == "Đã gửi “03-duong-di-cua-nuoc.svg”: 2/2 máy đã hiện"
        assert await teacher.get_attribute(tile("hs-7a-03"), "data-sent") == ""  # not sent to her
        await binh.click("#sent-close")
        await binh.reload()  # closed stays closed
        await binh.wait_for_selector("#question .answered")
        assert await binh.locator("#sent").is_hidden()

        # A link off the allowed list is refused, saying what is allowed.
        await teacher.select_option("#send-kind", "link")
        await teacher.fill("#send-url", "https://evil.example/")
        await teacher.click("#send")
        await wait_js(teacher, "document.getElementById('toast').textContent.includes('Không gửi được liên kết này')")


async def test_countdown_results_picker_and_groups_on_the_display_and_tablets(
    tmp_path: Path, system_mosquitto_url: str, browser: Any
) -> None:
    async with run_hub(room(tmp_path, system_mosquitto_url)) as hub:
        teacher = await teacher_page(browser, hub)  # a 1366x768 laptop
        code = await launch(teacher, AQUAPONICS)
        display = await (await browser.new_context(viewport={"width": 1920, "height": 1080})).new_page()
        pairing = await asyncio.get_running_loop().run_in_executor(None, hub.app[DISPLAYS].new_code, "86", "kythuat")
        await display.goto(f"{hub.url}/display?pair={pairing.code}")
        await wait_js(display, f"document.getElementById('code').textContent === '{code}'")
        students = ["hs-7a-01", "hs-7a-02", "hs-7a-03"]
        tablets = {s: await tablet(browser, hub, code, s) for s in students}
        names = {"hs-7a-01": "Ngô Anh Bình", "hs-7a-02": "Phạm Ngọc Châu", "hs-7a-03": "Đỗ Ngọc Chi"}

        # The question: the display says how many answered, never what, until the reveal.
        await teacher.click(f"#steps li[data-index='{QUIZ}'] button")
        await teacher.click("#q-start")
        for page, choice in zip(tablets.values(), "bab", strict=True):
            await page.click(f"#question button[data-choice='{choice}']")
        await wait_js(teacher, "document.getElementById('answered-line').textContent.startsWith('3/')")
        await wait_js(display, "document.getElementById('answered').textContent.startsWith('3/')")
        assert await display.locator("#results-hidden").is_visible()
        assert await display.locator("#chart text").count() == 0
        # On the teacher's 1366x768 screen the whole chart is in view, no scrolling.
        box = await teacher.locator("#chart svg").bounding_box()
        assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= 768, box
        assert await teacher.evaluate("window.scrollY") == 0
        await teacher.click("#q-reveal")
        await display.wait_for_selector("#chart rect.bar-right[data-choice='b']")
        assert await display.text_content("#chart text.bar-count[data-choice='b']") == "2"

        # A countdown for this activity, on the display and the tablets; a reload keeps it.
        await teacher.fill("#timer-minutes", "2")
        await teacher.click("#timer-start")
        running = "(id) => { const n = document.getElementById(id); return !n.hidden && /^[12]:[0-5][0-9]$/.test(n.textContent) && n.dataset.state === 'running'; }"  # noqa: E501
        await wait_js(display, running, arg="timer")
        await wait_js(tablets["hs-7a-01"], running, arg="timer")
        await tablets["hs-7a-01"].reload()
        await wait_js(tablets["hs-7a-01"], running, arg="timer")
        await display.reload()
        await wait_js(display, running, arg="timer")
        await teacher.click("#timer-pause")
        await wait_js(display, "document.getElementById('timer').dataset.state === 'paused'")

        # The picker: a present student, on the display and on that student's tablet; nobody twice.
        picked = []
        for _ in students:
            before = await teacher.inner_text("#picked")
            await teacher.click("#pick")
            await wait_js(teacher, "(b) => document.getElementById('picked').textContent !== b", arg=before)
            name = await teacher.inner_text("#picked")
            await wait_js(display, "(n) => document.getElementById('picked-name').textContent === n", arg=name)
            picked.append(name)
        assert sorted(picked) == sorted(names.values())
        last = next(s for s, n in names.items() if n == picked[-1])
        await tablets[last].wait_for_selector("#called", state="visible")
        for student in students:
            if student != last:
                assert await tablets[student].locator("#called").is_hidden()
        await teacher.click("#pick-clear")
        await display.wait_for_selector("#picked", state="hidden")

        # Pairs of the three present students: one group of three (nobody alone), then the teacher
        # moves Chi to a group of her own; the display and every tablet follow.
        await teacher.select_option("#group-size", "2")
        await teacher.click("#groups-make")
        await wait_js(display, "document.querySelectorAll('#group-cards .group-card li').length === 3")
        for page in tablets.values():
            await page.wait_for_selector("#my-group .group-card.mine", state="visible")
        await teacher.select_option("#group-list select[data-student='hs-7a-03']", "1")  # "Nhóm mới"
        await wait_js(display, "document.querySelectorAll('#group-cards .group-card').length === 2")
        assert await display.inner_text("#group-cards .group-card[data-group='2']") == "Nhóm 2\nĐỗ Ngọc Chi"
        mine = "(n) => document.querySelector('#my-group .group-card.mine h3')?.textContent === n"
        await wait_js(tablets["hs-7a-03"], mine, arg="Nhóm 2")
        assert await tablets["hs-7a-01"].inner_text("#my-group .group-card.mine h3") == "Nhóm 1"


async def test_a_lesson_for_another_grade_asks_first_and_an_ordinary_lesson_folds_the_lab_card(
    tmp_path: Path, system_mosquitto_url: str, browser: Any
) -> None:
    async with run_hub(room(tmp_path, system_mosquitto_url)) as hub:
        teacher = await teacher_page(browser, hub, 1366, 900)
        dialogs: list[str] = []
        answers = [False, True, True]  # cancel, then confirm the mismatch; then "end the lesson?"

        async def answer(dialog: Any) -> None:
            dialogs.append(dialog.message)
            await (dialog.accept() if answers and answers.pop(0) else dialog.dismiss())

        teacher.on("dialog", answer)
        await teacher.select_option("#class-select", "khtn-7a")
        await teacher.select_option("#lesson-select", PHYSICS)
        await teacher.click("#launch")
        await wait_js(teacher, "(n) => n > 0", arg=len(dialogs))
        assert dialogs == ["Bài này dành cho lớp 10, còn Khoa học tự nhiên - Lớp 7A là lớp 7. Vẫn bắt đầu bài này?"]
        assert await teacher.locator("#setup").is_visible() and hub.app[LESSONS].run is None  # cancelled: nothing ran
        await teacher.click("#launch")
        await teacher.wait_for_selector("#running", state="visible")
        assert len(dialogs) == 2 and hub.app[LESSONS].run is not None

        # An ordinary lesson in a room without robots: the lab card is folded, its emergency stop one click away.
        card = teacher.locator("#experiment")
        await card.locator("summary").wait_for()
        assert await card.get_attribute("open") is None
        assert await card.locator(".xp-estop").is_hidden()
        await card.locator("summary").click()
        await card.locator(".xp-estop").wait_for(state="visible")

        await teacher.click("#end")
        await teacher.wait_for_selector("#summary", state="visible")
        await teacher.click("#new-lesson")
        await card.locator("summary").click()  # folded again by hand
        await card.locator(".xp-estop").wait_for(state="hidden")
        await teacher.select_option("#lesson-select", AQUAPONICS)  # grade 7, like the class: nothing to ask
        await teacher.click("#launch")
        await teacher.wait_for_selector("#running", state="visible")
        # A lab lesson (it has an experiment step): the card opens by itself.
        await card.locator(".xp-estop").wait_for(state="visible")
        assert len(dialogs) == 3  # the mismatch twice, the end once
