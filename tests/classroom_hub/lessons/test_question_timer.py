"""A question with a time limit closes itself; answers after the bell are refused."""

from __future__ import annotations

import json
import os
from pathlib import Path

import aiohttp
import pytest

from classroom_hub.lessons import LessonLibrary
from classroom_hub.lessons import run as run_module
from classroom_hub.lessons.simulator import LessonClient
from tests.conftest import add_user, room_settings, run_hub

QUICK = {
    "id": "cau-hoi-nhanh", "title": "Câu hỏi nhanh", "subject": "science", "grade": 7, "language": "vi",
    "authors": ["Cô Lan"], "version": "1.0",
    "steps": [
        {"id": "mo-dau", "kind": "slide", "image": "slides/01.svg"},
        {"id": "nhanh", "kind": "quiz", "type": "single_choice", "prompt": "Nước sôi ở bao nhiêu độ C?",
         "choices": [{"id": "a", "text": "90"}, {"id": "b", "text": "100"}], "correct": ["b"], "time_limit_s": 5},
    ],
}  # fmt: skip


async def test_the_bell_closes_a_timed_question(
    tmp_path: Path, system_mosquitto_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "cau-hoi-nhanh"
    (package / "slides").mkdir(parents=True)
    (package / "lesson.json").write_text(json.dumps(QUICK, ensure_ascii=False), encoding="utf-8")
    (package / "slides" / "01.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 9"/>')
    LessonLibrary(tmp_path / "hub" / "lessons").import_package(package)
    monkeypatch.setattr(run_module, "ANSWER_GRACE_S", -4.7)  # the 5 s limit ends after 0.3 s
    room = {"school_code": "THCS-DEMO", "id": f"lop-7a-timer-{os.getpid()}", "name": "Lớp 7A"}
    async with run_hub(room_settings(tmp_path, system_mosquitto_url, room=room)) as hub:
        password = await add_user(hub, "co-lan", "teacher")
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            await http.post(f"{hub.url}/login", data={"username": "co-lan", "password": password})
            teacher = LessonClient(http, hub.url, role="teacher")
            await teacher.connect()
            await teacher.command("launch", lesson="cau-hoi-nhanh", **{"class": "khtn-7a"})
            await teacher.wait(lambda c: "code" in c.state)
            tablet = LessonClient(http, hub.url)
            await tablet.join(teacher.state["code"], "hs-7a-01")
            await tablet.connect()
            await teacher.command("goto", step=1)
            await teacher.command("question", action="start")
            await tablet.wait(lambda c: (c.state.get("question") or {}).get("state") == "open")
            question = tablet.state["question"]
            assert question["deadline"] is not None and not question["revealed"]
            await tablet.wait(lambda c: c.state["question"]["state"] == "closed", timeout=3)
            await tablet.answer("nhanh", choice=["b"])
            await tablet.wait(lambda c: bool(c.errors))
            assert tablet.errors[0]["code"] == "closed"
            await teacher.wait(lambda c: c.results is not None and c.results["state"] == "closed")
            assert teacher.results is not None and teacher.results["answered"] == 0
            await tablet.close()
            await teacher.close()
