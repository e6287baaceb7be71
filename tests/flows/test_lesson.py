"""A whole lesson, as a class lives it, in headless Chromium: the teacher's 1366x768 laptop, three
tablets that join by typing the code off the 86-inch display, the paired display, and 40 simulated
headsets on the real Mosquitto (one switched off, one with a flat battery). Launch, join, steps in
sync, the opening poll shown live on purpose, a raised hand, the VR tour on the headsets, a quiz
whose vote stays off the display until the reveal, eyes on the teacher, the end and its summary;
then what leaves the room: the lesson's printable results, its CSV and the class's gradebook."""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from classroom_hub.app import REGISTRY
from classroom_hub.fleet.scenes.shelf import build_package, sample_folders
from device_drivers.headset.fleet import FailurePlan, HeadsetFleet
from tests.conftest import RunningHub, add_user, room_settings, run_hub, wait_for, wait_js
from tests.flows.conftest import launch, paired_display, seat_by_code, teacher_page

pytestmark = pytest.mark.asyncio(loop_scope="module")

AQUAPONICS = "vong-tuan-hoan-nuoc-aquaponics"  # grade 7, like class khtn-7a (40 students)
POLL, VR, QUIZ = 1, 6, 9  # its opening poll, the farm tour in VR, the first question (right: b)
FARM_SCENE = "a94cc7bd148837d73460f2d87f508daccfcd80008594e9d9f93c13dd6a253c23"  # the VR step's sha256


def farm_tour() -> bytes:
    """The sample scene the VR step names, as the hub stocks it (docs/scenes.md)."""
    with tempfile.TemporaryDirectory() as work:
        return build_package(sample_folders()[0], Path(work) / "farm.zip").read_bytes()
STUDENTS = {"hs-7a-01": "Ngô Anh Bình", "hs-7a-02": "Phạm Ngọc Châu", "hs-7a-03": "Đỗ Ngọc Chi"}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def classroom(
    tmp_path_factory: pytest.TempPathFactory, system_mosquitto_url: str
) -> AsyncIterator[tuple[RunningHub, HeadsetFleet]]:
    place = {"school_code": "THCS-DEMO", "id": f"lop-7a-flow-{os.getpid()}", "name": "Lớp 7A"}
    devices = [{"kind": "headset", "id": "H{:02d}", "count": 40, "heartbeat_timeout_s": 120}]
    settings = room_settings(tmp_path_factory.mktemp("lesson-flow"), system_mosquitto_url, room=place, devices=devices)
    fleet = HeadsetFleet(settings.mqtt.url or "", place["id"], count=40, plan=FailurePlan(offline=1, low_battery=1),
                         cached={FARM_SCENE: farm_tour()}, dropout_chance=0.0,
                         scene_load_s=(0.0, 0.2))  # fmt: skip
    async with run_hub(settings) as hub, fleet:
        await wait_for(lambda: hub.app[REGISTRY].counts()["headset"]["online"] == 39, timeout=30)
        yield hub, fleet


def csv_rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


async def title_everywhere(pages: list[Any], title: str) -> None:
    for page in pages:
        await wait_js(page, "(t) => document.getElementById('step-title').textContent === t", arg=title)


@pytest.mark.timeout(240)
async def test_a_whole_lesson_then_its_results(
    classroom: tuple[RunningHub, HeadsetFleet], module_browser: Any, tmp_path: Path
) -> None:
    hub, fleet = classroom
    password = await add_user(hub, "co-lan", "teacher")
    teacher = await teacher_page(module_browser, hub.url, "co-lan", password)  # 1366x768
    code = await launch(teacher, AQUAPONICS)
    display = await paired_display(module_browser, hub)
    assert await display.inner_text("#code") == code

    # --- join by the code on the board --------------------------------------------------------
    tablets = {s: await seat_by_code(module_browser, hub.url, code, s) for s in STUDENTS}
    binh, chau, chi = tablets.values()
    assert await binh.inner_text("#who") == "Ngô Anh Bình"
    await wait_js(teacher, "document.getElementById('joined-count').textContent.startsWith('3/40')")
    await wait_js(display, "document.querySelectorAll('#names .roll-name').length === 3")

    # --- steps in sync --------------------------------------------------------------------------
    await teacher.click("#next")
    await title_everywhere(list(tablets.values()), "Khởi động")
    await wait_js(display, "document.getElementById('step-no').textContent === '2/14'")
    assert await binh.inner_text("#step-no") == "Bước 2/14"

    # --- the opening poll, shown live on the display on purpose -----------------------------
    await teacher.click("#q-start")
    await teacher.check("#q-live")
    for page, choice in zip(tablets.values(), ("tan-mat", "chua", "chua"), strict=True):
        await page.click(f"#question button[data-choice='{choice}']")
        await page.wait_for_selector("#question .answered")
    await wait_js(display, "document.querySelector(\"#chart text.bar-count[data-choice='chua']\")?.textContent === '2'")
    assert not await display.locator("#results-hidden").is_visible()
    await teacher.uncheck("#q-live")  # back to the default for the quiz
    await teacher.click("#q-close")

    # --- a raised hand, seen and lowered by the teacher -------------------------------------
    await chau.click("#hand")
    await teacher.wait_for_selector("#hands", state="visible")
    assert await teacher.inner_text("#hand-names") == "Phạm Ngọc Châu"
    await teacher.click("#hand-names .hand-name")
    await wait_js(chau, "document.getElementById('hand').getAttribute('aria-pressed') === 'false'")
    await teacher.wait_for_selector("#hands", state="hidden")

    # --- the VR tour: 40 headsets, one off, one flat -----------------------------------------
    (away,), (flat,) = fleet.roles.offline, fleet.roles.low_battery
    await teacher.click(f"#steps li[data-index='{VR}'] button")
    await wait_js(teacher, "document.getElementById('headsets-summary').dataset.state === 'done'", timeout=60_000)
    assert await teacher.inner_text("#headsets-summary") == (
        f"38/40 đã mở cảnh, 1 mất kết nối: {away}; 1 không mở được: {flat}"
    )
    assert f"{flat}: battery too low (4 %)" in await teacher.inner_text("#headsets-problems")
    playing = sorted(d for d, h in fleet.headsets.items() if h.scene == "aquaponics-farm-tour")
    assert playing == sorted(set(fleet.online) - {flat})
    await title_everywhere([binh, chi], "Tham quan trang trại aquaponics (kính thực tế ảo)")

    # --- the quiz: answers, the vote kept off the display until the reveal -------------------
    await teacher.click(f"#steps li[data-index='{QUIZ}'] button")
    await wait_js(teacher, "document.getElementById('toast').textContent.includes('kính đã về màn hình chính')")
    await wait_for(lambda: all(h.scene is None for h in fleet.headsets.values()))
    await teacher.click("#q-start")
    for page, choice in zip(tablets.values(), "bab", strict=True):
        await page.click(f"#question button[data-choice='{choice}']")
        await page.wait_for_selector("#question .answered")
    await wait_js(teacher, "document.getElementById('answered-line').textContent.startsWith('3/')")
    assert "2 đúng, 1 sai" in await teacher.inner_text("#answered-line")
    await wait_js(display, "document.getElementById('answered').textContent.startsWith('3/')")
    assert await display.locator("#results-hidden").is_visible()
    assert await display.locator("#chart text.bar-count").count() == 0
    assert await display.locator("#chart rect.bar-right").count() == 0
    # The teacher's chart is whole on the 1366x768 screen, without scrolling.
    box = await teacher.locator("#chart svg").bounding_box()
    assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= 768, box
    assert await teacher.evaluate("window.scrollY") == 0
    await teacher.click("#q-reveal")
    await display.wait_for_selector("#chart rect.bar-right[data-choice='b']")
    assert await display.text_content("#chart text.bar-count[data-choice='b']") == "2"
    assert not await display.locator("#results-hidden").is_visible()
    await binh.wait_for_selector("#question .answered.right")
    await chau.wait_for_selector("#question .answered.wrong")

    # --- eyes on the teacher --------------------------------------------------------------------
    await teacher.click("#lock")
    for page in tablets.values():
        await page.wait_for_selector("#lock", state="visible")
    await teacher.click("#lock")
    for page in tablets.values():
        await page.wait_for_selector("#lock", state="hidden")

    # --- the end and its summary ------------------------------------------------------------------
    await teacher.click("#end")  # "end the lesson?" answered yes
    await teacher.wait_for_selector("#summary", state="visible")
    assert await teacher.inner_text("#sum-attendance") == "Có mặt 3/40"
    assert "Phạm Ngọc Châu" in await teacher.inner_text("#sum-help")
    for page in tablets.values():
        await page.wait_for_selector("#ended-screen", state="visible")
    assert "1/" in await binh.inner_text("#final-score")
    await wait_js(display, "document.getElementById('waiting').hidden === false")

    # --- what leaves the room: the printable results, their CSV, the gradebook -------------
    await teacher.click("#sum-results")
    await teacher.wait_for_selector("#students tbody tr[data-student='hs-7a-01']")
    assert await teacher.inner_text("#run-class") == "Khoa học tự nhiên - Lớp 7A"
    assert await teacher.inner_text("#run-attendance") == "3/40 có mặt"
    async with teacher.expect_download() as downloading:
        await teacher.click("#run-csv")
    download = await downloading.value
    assert download.suggested_filename.endswith(".csv")
    saved = tmp_path / download.suggested_filename
    await download.save_as(saved)
    rows = csv_rows(saved.read_bytes())
    asked = {r["Câu hỏi"] for r in rows}
    assert len(rows) == 40 * len(asked) and len(asked) == 2  # every student x the poll and the quiz
    binh_quiz = next(r for r in rows if r["Mã học sinh"] == "hs-7a-01" and r["Loại"] != "Bình chọn")
    assert (binh_quiz["Họ và tên"], binh_quiz["Điểm danh"], binh_quiz["Đúng/Sai"]) == ("Ngô Anh Bình", "Có mặt", "Đúng")
    assert {r["Điểm danh"] for r in rows if r["Mã học sinh"] == "hs-7a-40"} == {"Vắng"}
    # The printable page: on paper, the menus go and the table stays.
    await teacher.emulate_media(media="print")
    assert await teacher.locator("header").is_hidden() and await teacher.locator("#summary .toolbar").is_hidden()
    assert await teacher.locator("#students").is_visible()
    await teacher.emulate_media(media="screen")

    await teacher.goto(f"{hub.url}/gradebook")
    await teacher.wait_for_selector("#book-table tbody tr[data-student='hs-7a-01']")
    assert await teacher.input_value("#class-pick") == "khtn-7a"
    marks = await teacher.evaluate(
        "[...document.querySelectorAll('#book-table tbody tr')]"
        ".map(tr => [tr.dataset.student, tr.cells[1].textContent])"
    )
    by_student = dict(marks)
    assert (by_student["hs-7a-01"], by_student["hs-7a-02"], by_student["hs-7a-40"]) == ("10", "0", "Vắng")
    async with teacher.expect_download() as downloading:
        await teacher.click("#book-csv")
    book = await downloading.value
    await book.save_as(tmp_path / "book.csv")
    header = next(csv.reader(io.StringIO((tmp_path / "book.csv").read_bytes().decode("utf-8-sig"))))
    assert header[:2] == ["Mã học sinh", "Họ và tên"] and header[2].startswith("Vòng tuần hoàn nước")
