"""Lessons taught for real over the hub's WebSocket (a teacher and a few tablets), for the tests
of what leaves the room: the exports, the gradebook and the admin page."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp

from classroom_hub.lessons.keys import LESSONS
from classroom_hub.lessons.simulator import LessonClient
from tests.conftest import RunningHub

CLASS = "khtn-7a"  # the demo school's grade-7 class (40 students)
AQUAPONICS = "vong-tuan-hoan-nuoc-aquaponics"
SHORT_LESSON: dict[str, Any] = {
    "id": "ca-tho-bang-gi", "title": "Cá thở bằng gì?", "subject": "biology", "grade": 7, "language": "vi",
    "authors": ["Cô Lan"], "version": "1.0",
    "steps": [
        {"id": "mo-dau", "kind": "slide", "image": "slides/01.svg"},
        {"id": "cau-mang", "kind": "quiz", "type": "single_choice", "prompt": "Cá thở bằng gì?",
         "choices": [{"id": "a", "text": "Mang"}, {"id": "b", "text": "Phổi"}], "correct": ["a"], "points": 1},
    ],
}  # fmt: skip
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 9"><rect width="16" height="9"/></svg>'


def _write_short_lesson(folder: Path) -> Path:
    (folder / "slides").mkdir(parents=True)
    (folder / "lesson.json").write_text(json.dumps(SHORT_LESSON, ensure_ascii=False), encoding="utf-8")
    (folder / "slides" / "01.svg").write_bytes(SVG)
    return folder


async def import_short_lesson(hub: RunningHub, folder: Path) -> None:
    """A second grade-7 lesson, one quiz worth a point, in the hub's library."""
    library = hub.app[LESSONS].library
    loop = asyncio.get_running_loop()
    written = await loop.run_in_executor(None, _write_short_lesson, folder)
    await loop.run_in_executor(None, library.import_package, written)


async def teach(http: aiohttp.ClientSession, hub: RunningHub, lesson: str,
                answers: dict[str, dict[str, dict[str, Any]]]) -> str:  # fmt: skip
    """Launch ``lesson`` for the class, let each student of ``answers`` join and answer
    ({student: {step: {"choice": [...]} or {"text": ...}}}) question by question, end it; returns the run id.
    ``http`` is a teacher's logged-in session."""
    teacher = LessonClient(http, hub.url, role="teacher")
    await teacher.connect()
    await teacher.command("launch", lesson=lesson, **{"class": CLASS})
    await teacher.wait(lambda c: "code" in c.state and c.state.get("lesson", {}).get("id") == lesson)
    code, run = teacher.state["code"], teacher.run
    tablets: dict[str, LessonClient] = {}
    for student in answers:
        tablet = LessonClient(http, hub.url)
        await tablet.join(code, student)
        await tablet.connect()
        await tablet.wait(lambda c: c.run == run)
        tablets[student] = tablet
    steps = [s["id"] for s in teacher.state["lesson"]["steps"]]
    asked = list(dict.fromkeys(step for given in answers.values() for step in given))
    for step in sorted(asked, key=steps.index):
        await teacher.command("goto", step=steps.index(step))
        await teacher.wait(lambda c, s=step: (c.state.get("step") or {}).get("id") == s)  # type: ignore[misc]
        await teacher.command("question", action="start")
        for student, tablet in tablets.items():
            await tablet.wait(lambda c, s=step: (c.state.get("question") or {}).get("state") == "open"  # type: ignore[misc]
                              and c.state["question"]["step"] == s)
            if step in answers[student]:
                answer_id = await tablet.answer(step, **answers[student][step])
                await tablet.wait(lambda c, a=answer_id: a in c.answered)  # type: ignore[misc]
    await teacher.command("end")
    await teacher.wait(lambda c: c.summary is not None)
    for tablet in tablets.values():
        await tablet.close()
    await teacher.close()
    await hub.app[LESSONS].flush()  # every statement is in the store
    assert run is not None
    return run
