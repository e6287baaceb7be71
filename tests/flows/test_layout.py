"""The teacher's results chart on a 1366x768 laptop, for the longest questions a lesson may have:
a poll of eight choices and a question of twelve (the manifest's limit), with a hand raised so the
header holds a name. The whole chart must be on the screen under the controls, without
scrolling, and its text still readable; the display shows the same chart on 1920x1080. Before
that, the setup screen flags a lesson for another grade than the class's."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from classroom_hub.lessons.keys import LESSONS
from tests.conftest import RunningHub, add_user, room_settings, run_hub, wait_js
from tests.flows.conftest import launch, paired_display, seat_by_code, teacher_page

pytestmark = pytest.mark.asyncio(loop_scope="module")

VEGETABLES = ["Rau muống", "Xà lách", "Cải ngọt", "Húng quế", "Rau cải xanh mỡ màng",
              "Cà chua bi", "Dưa leo", "Rau dền đỏ trồng trong luống đất"]  # fmt: skip
PROVINCES = ["Hà Nội", "Hải Phòng", "Quảng Ninh", "Nghệ An", "Thừa Thiên Huế", "Đà Nẵng", "Khánh Hòa",
             "Lâm Đồng", "Thành phố Hồ Chí Minh", "Cần Thơ", "An Giang", "Cà Mau"]  # fmt: skip
LESSON: dict[str, Any] = {
    "id": "nhieu-lua-chon",
    "title": "Bình chọn nhiều lựa chọn",
    "subject": "biology",
    "grade": 7,
    "language": "vi",
    "authors": ["Cô Lan"],
    "version": "1.0",
    "steps": [
        {"id": "binh-chon-rau", "kind": "poll", "prompt": "Lớp mình nên trồng rau gì trong bể?",
         "choices": [{"id": f"r{i}", "text": t} for i, t in enumerate(VEGETABLES)]},
        {"id": "cau-tinh", "kind": "quiz", "type": "single_choice",
         "prompt": "Tỉnh nào có mô hình aquaponics đầu tiên của chương trình?",
         "choices": [{"id": f"t{i}", "text": t} for i, t in enumerate(PROVINCES)], "correct": ["t7"]},
    ],
}  # fmt: skip


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def hub(tmp_path_factory: pytest.TempPathFactory, system_mosquitto_url: str) -> AsyncIterator[RunningHub]:
    folder = tmp_path_factory.mktemp("layout")
    place = {"school_code": "THCS-DEMO", "id": f"lop-7a-layout-{os.getpid()}", "name": "Lớp 7A"}
    async with run_hub(room_settings(folder / "hub", system_mosquitto_url, room=place)) as running:
        package = folder / "lesson"
        package.mkdir()
        (package / "lesson.json").write_text(json.dumps(LESSON, ensure_ascii=False), encoding="utf-8")
        await asyncio.to_thread(running.app[LESSONS].library.import_package, package)
        yield running


CHART_FACTS = """() => {
  const svg = document.querySelector('#chart svg');
  const box = svg.getBoundingClientRect();
  const sizes = [...svg.querySelectorAll('text')].map(t => t.getBoundingClientRect().height);
  return { top: box.top, bottom: box.bottom, rows: svg.querySelectorAll('rect').length,
           smallest: Math.min(...sizes), scrollY: window.scrollY };
}"""


@pytest.mark.timeout(180)
async def test_the_longest_questions_fit_the_laptop_screen(hub: RunningHub, module_browser: Any) -> None:
    password = await add_user(hub, "co-lan", "teacher")
    teacher = await teacher_page(module_browser, hub.url, "co-lan", password)  # 1366x768
    # A grade-10 lesson for a grade-7 class is flagged under the choice, before anything is clicked.
    await teacher.select_option("#class-select", "khtn-7a")
    await teacher.select_option("#lesson-select", "chuyen-dong-thang-10")
    await teacher.wait_for_selector("#grade-warning", state="visible")
    assert await teacher.inner_text("#grade-warning") == (
        "Lưu ý: bài này dành cho lớp 10, còn Khoa học tự nhiên - Lớp 7A là lớp 7."
    )
    await teacher.select_option("#lesson-select", LESSON["id"])  # grade 7: nothing to say
    await teacher.wait_for_selector("#grade-warning", state="hidden")
    code = await launch(teacher, LESSON["id"])
    display = await paired_display(module_browser, hub)
    tablet = await seat_by_code(module_browser, hub.url, code, "hs-7a-01")
    await tablet.click("#hand")
    await teacher.wait_for_selector("#hands", state="visible")

    for index, choices in ((0, VEGETABLES), (1, PROVINCES)):
        await teacher.click(f"#steps li[data-index='{index}'] button")
        await teacher.click("#q-start")
        await tablet.click(f"#question button[data-choice='{'r' if index == 0 else 't'}1']")
        await wait_js(teacher, "(n) => document.querySelectorAll('#chart svg rect').length === n", arg=len(choices))
        await wait_js(teacher, "document.getElementById('answered-line').textContent.startsWith('1/')")
        facts = await teacher.evaluate(CHART_FACTS)
        assert facts["top"] >= 0 and facts["bottom"] <= 768, facts  # the whole chart, above the fold
        assert facts["scrollY"] == 0
        assert facts["smallest"] >= 14, facts  # text a teacher reads from a step away
        if index == 0:  # a long choice keeps its start on the chart, the whole text as its tooltip
            last = "[...document.querySelectorAll('#chart text.bar-label')].at(-1)"
            assert await teacher.evaluate(f"{last}.firstChild.textContent") == "Rau dền đỏ trồng trong…"
            assert await teacher.evaluate(f"{last}.querySelector('title').textContent") == VEGETABLES[-1]
        await teacher.click("#q-reveal")
        await display.wait_for_selector(f"#chart rect[data-choice='{'r' if index == 0 else 't'}1']")
        shown = await display.evaluate(CHART_FACTS)
        assert shown["top"] >= 0 and shown["bottom"] <= 1080, shown
