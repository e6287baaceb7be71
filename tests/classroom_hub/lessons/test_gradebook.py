"""The gradebook follows the stored statements: each once, the labs' left alone, a damaged one
skipped, and all of it made again when gradebook.db is lost (while the statements are kept)."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest

from classroom_hub import xapi
from classroom_hub.lessons.gradebook import Gradebook, seconds_of
from classroom_hub.lessons.report import class_results, lesson_results
from classroom_hub.lessons.web_results import open_gradebook
from classroom_hub.store import TelemetryStore

RUN = str(uuid.uuid4())
SETTING = xapi.Setting(home="http://hub.local", school_code="THCS-DEMO", room_id="lop-7a", room_name="Lớp 7A",
                       class_id="khtn-7a", class_title="KHTN 7A", lesson_id="bai-1", lesson_title="Bài một",
                       language="vi", registration=RUN, instructor="co-lan")  # fmt: skip
CHOICES = [{"id": "a", "description": {"vi": "Mang"}}, {"id": "b", "description": {"vi": "Phổi"}}]
QUESTION = xapi.activity(SETTING.step_iri("cau-1"), "quiz", "Cá thở bằng gì?", "vi", interactionType="choice",
                         choices=CHOICES, correctResponsesPattern=["a"])  # fmt: skip
T0 = 1_780_000_000.0


def _lesson_statements() -> list[dict[str, Any]]:
    lesson = SETTING.lesson_activity()
    step = {xapi.EXT_STEP_INDEX: 1}
    return [
        SETTING.statement(("lesson",), "co-lan", "launched", lesson, T0, in_lesson=False),
        SETTING.statement(("hs-1", "1"), "hs-1", "joined", lesson, T0 + 5, in_lesson=False),
        SETTING.statement(("hs-2", "1"), "hs-2", "joined", lesson, T0 + 6, in_lesson=False),
        SETTING.statement(("hs-1", "cau-1"), "hs-1", "experienced", QUESTION, T0 + 60, extensions=step),
        SETTING.statement(("hs-1", "cau-1"), "hs-1", "answered", QUESTION, T0 + 75, extensions=step,
                          result={"response": "a", "success": True, "score": xapi.score(2, 2), "duration": "PT12.5S"}),
        SETTING.statement(("hs-2", "cau-1"), "hs-2", "answered", QUESTION, T0 + 80, extensions=step,
                          result={"response": "b", "success": False, "score": xapi.score(0, 2),
                                  "duration": "PT1M2S"}),
        SETTING.statement(("lesson",), "co-lan", "completed", lesson, T0 + 900, in_lesson=False,
                          result={"completion": True}),
    ]  # fmt: skip


def _lab_statement() -> dict[str, Any]:
    experiment = xapi.activity("http://hub.local/xapi/labs/runs/r1", "experiment", "Đo pH", "vi")
    statement = SETTING.statement(("lab",), "co-lan", "completed", experiment, T0 + 100, in_lesson=False)
    statement["context"]["registration"] = str(uuid.uuid4())
    return statement


async def _results(gradebook: Gradebook) -> dict[str, Any]:
    record = await gradebook.record(RUN)
    assert record is not None
    return lesson_results(record, [("hs-1", "Ngô Anh Bình"), ("hs-2", "Phạm Ngọc Châu"), ("hs-3", "Đỗ Ngọc Chi")])


async def test_the_gradebook_folds_each_stored_statement_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = TelemetryStore(tmp_path / "telemetry.db")
    await store.open()
    try:
        statements = _lesson_statements()
        await store.add_statements(statements[:4])
        await store.add_statements([_lab_statement()])
        damaged = {**statements[1], "id": "damaged", "actor": {"account": {"name": "hs-9"}}, "timestamp": "hôm qua"}
        await store.add_statements([damaged])
        gradebook = Gradebook(tmp_path / "gradebook.db")
        assert await gradebook.catch_up(store) == 6
        assert "event=gradebook_statement_skipped" in caplog.text
        await store.add_statements(statements[4:] + statements[:2])  # two resent: stored once
        assert await gradebook.catch_up(store) == 3
        assert await gradebook.catch_up(store) == 0

        results = await _results(gradebook)
        assert (results["class"], results["lesson"]) == ({"id": "khtn-7a", "title": "KHTN 7A"},
                                                         {"id": "bai-1", "title": "Bài một"})  # fmt: skip
        assert (results["started_at"], results["ended_at"], results["teacher"]) == (T0, T0 + 900, "co-lan")
        (question,) = results["questions"]
        assert (question["prompt"], question["correct"], question["answered"], question["percent"]) == (
            "Cá thở bằng gì?", "Mang", 2, 50)
        binh, chau, chi = results["students"]
        assert binh["answers"]["cau-1"]["text"] == "Mang" and binh["answers"]["cau-1"]["seconds"] == 12.5
        assert (binh["points"], binh["max"], binh["score10"]) == (2, 2, 10.0)
        assert (chau["score10"], chau["answers"]["cau-1"]["seconds"]) == (0.0, 62.0)
        assert (chi["present"], chi["score10"]) == (False, None)
        assert len(results["students"]) == 3  # the damaged statement's student is nowhere
        assert [r.run for r in await gradebook.runs()] == [RUN]  # the lab's run is not a lesson
        book = class_results("khtn-7a", "KHTN 7A", [await gradebook.record(RUN)], [("hs-1", "Ngô Anh Bình")])  # type: ignore[list-item]
        assert [(s["id"], s["average10"], s["absent"]) for s in book["students"]] == [
            ("hs-1", 10.0, 0), ("hs-2", 0.0, 0)]
        await gradebook.close()

        # gradebook.db damaged: set aside, made again from the statements still stored.
        for name in ("gradebook.db-wal", "gradebook.db-shm"):
            (tmp_path / name).unlink(missing_ok=True)
        (tmp_path / "gradebook.db").write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)
        again = await open_gradebook(tmp_path / "gradebook.db")
        assert await again.catch_up(store) == 9
        assert await _results(again) == results
        await again.close()
        assert "event=gradebook_unreadable" in caplog.text
        aside = await asyncio.to_thread(lambda: list(tmp_path.glob("gradebook.db.unreadable-*")))
        assert len(aside) == 1
    finally:
        await store.close()


def test_durations_as_xapi_writes_them() -> None:
    assert [seconds_of(d) for d in ("PT12.5S", "PT1M2S", "PT2H", "PT0S", "PT", "12 s", None)] == [
        12.5, 62.0, 7200.0, 0.0, None, None, None]
