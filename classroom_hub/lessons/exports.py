"""A lesson's results and a class's gradebook as CSV files a teacher opens in Excel.

* **UTF-8 with a byte order mark.** Excel reads a CSV without one in the computer's ANSI code
  page (Windows-1258 on a Vietnamese Windows), so "Nguyễn Thị Ánh" would arrive as
  "Nguyá»…n Thá»‹ Ã\x81nh"; the three bytes ``EF BB BF`` in front tell it the file is UTF-8.
  LibreOffice, Google Sheets and Python's ``csv`` (``encoding="utf-8-sig"``) read it too.
* **No cell runs as a formula**: every cell goes through classroom_hub/spreadsheet.py (a student
  can type ``=HYPERLINK(...)`` as a short answer, and a roster name can be anything).
* **Separator.** Commas by default; ``semicolon=True`` writes what Excel expects with Vietnamese
  regional settings, where the list separator is ``;`` and the decimal mark a comma (``7,5``).
* **Headers** in the teacher's language (the pages' catalogues); times in the hub's local time.

One row per student per question (``lesson_csv``): every student of the class list, every
question shown, so a filter in Excel answers "who got question 3 wrong" at once. The gradebook
(``gradebook_csv``) is a table: one row per student, one column per lesson, then the average.
"""

from __future__ import annotations

import io
import re
import time
import unicodedata
from collections.abc import Callable
from typing import Any

from classroom_hub import spreadsheet

Translate = Callable[[str], str]
BOM = "\ufeff"


def _writer(buffer: io.StringIO, semicolon: bool) -> spreadsheet.SpreadsheetWriter:
    buffer.write(BOM)
    return spreadsheet.writer(buffer, delimiter=";" if semicolon else ",", lineterminator="\r\n")


def _number(value: float | None, semicolon: bool) -> str:
    if value is None:
        return ""
    text = f"{value:g}" if float(value).is_integer() else f"{value:.2f}".rstrip("0")
    return text.replace(".", ",") if semicolon else text


def local_time(ts: float | None, *, seconds: bool = False) -> str:
    if ts is None:
        return ""
    return time.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M", time.localtime(ts))


def lesson_csv(results: dict[str, Any], t: Translate, *, semicolon: bool = False) -> bytes:
    """Per student per question: answer, right or wrong, points, time taken, when."""
    buffer = io.StringIO()
    out = _writer(buffer, semicolon)
    out.writerow(t(f"results.csv.{c}") for c in (
        "class", "lesson", "date", "student_id", "student", "present", "question_number", "question", "kind",
        "answer", "choice_ids", "correct", "points", "max_points", "seconds", "answered_at"))  # fmt: skip
    when = local_time(results["started_at"])

    def n(value: float | None) -> str:
        return _number(value, semicolon)

    for student in results["students"]:
        present = t("results.present") if student["present"] else t("results.absent")
        for question in results["questions"]:
            answer = student["answers"].get(question["step"])
            verdict = ""
            if answer is not None and answer["correct"] is not None:
                verdict = t("results.right") if answer["correct"] else t("results.wrong")
            choice = answer is not None and bool(question["choices"])
            out.writerow([
                results["class"]["title"], results["lesson"]["title"], when, student["id"], student["name"], present,
                question["number"], question["prompt"], t(f"results.kind.{question['kind']}"),
                answer["text"] if answer else "", answer["response"] if answer and choice else "", verdict,
                n(answer["points"]) if answer else "", n(question["points"]) if question["kind"] == "quiz" else "",
                n(answer["seconds"]) if answer else "", local_time(answer["at"], seconds=True) if answer else "",
            ])  # fmt: skip
    return buffer.getvalue().encode("utf-8")


def gradebook_csv(book: dict[str, Any], t: Translate, *, semicolon: bool = False) -> bytes:
    """Students x lessons, marks out of 10 (empty: absent), each student's average, then the class's."""
    buffer = io.StringIO()
    out = _writer(buffer, semicolon)
    runs = book["runs"]
    headings = [f"{r['lesson']['title']} ({local_time(r['started_at'])})" for r in runs]
    out.writerow([t("results.csv.student_id"), t("results.csv.student"), *headings,
                  t("results.csv.average"), t("results.csv.absences")])  # fmt: skip
    for student in book["students"]:
        out.writerow([student["id"], student["name"], *(_number(student["marks"][r["run"]], semicolon) for r in runs),
                      _number(student["average10"], semicolon), student["absent"]])  # fmt: skip
    out.writerow(["", t("results.csv.class_average"), *(_number(r["average10"], semicolon) for r in runs),
                  _number(book["average10"], semicolon), ""])  # fmt: skip
    return buffer.getvalue().encode("utf-8")


def file_name(*parts: str) -> str:
    """An ASCII file name (``Vong-tuan-hoan-nuoc-2026-03-02``) for Content-Disposition."""
    text = "-".join(p for p in parts if p).replace("đ", "d").replace("Đ", "D")
    text = unicodedata.normalize("NFKD", "-".join(text.split()))
    ascii_only = "".join(c for c in text if c.isascii() and (c.isalnum() or c in "-_."))
    return re.sub(r"-{2,}", "-", ascii_only).strip("-.")[:80] or "ket-qua"
