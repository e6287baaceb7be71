"""xAPI 1.0.3 statements: stable ids, durations, timestamps, the shape of what we store."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from classroom_hub import xapi


def setting() -> xapi.Setting:
    return xapi.Setting(
        home="https://csdl.example.vn", school_code="THCS-DEMO", room_id="lop-7a", room_name="Lớp 7A",
        class_id="khtn-7a", class_title="KHTN 7A", lesson_id="vong-tuan-hoan", lesson_title="Vòng tuần hoàn",
        language="vi", registration="5b0c9e4a-1f6d-5e2b-9a7c-3d8e1f2a4b6c", instructor="co-lan",
    )  # fmt: skip


def test_the_namespace_is_derived_as_documented_and_ids_are_version_5() -> None:
    assert uuid.uuid5(uuid.NAMESPACE_URL, "https://w3id.org/classroom-hub/xapi/statements") == xapi.NAMESPACE
    first = xapi.statement_id("run", "answered", "hs-7a-01", "cau-1")
    assert first == xapi.statement_id("run", "answered", "hs-7a-01", "cau-1")
    assert uuid.UUID(first).version == 5
    # The parts are separated, so shifting text between them gives another id.
    assert xapi.statement_id("ab", "c") != xapi.statement_id("a", "bc")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "PT0S"), (5, "PT5S"), (4.2, "PT4.2S"), (75.5, "PT1M15.5S"), (3600, "PT1H"), (3725.257, "PT1H2M5.26S"),
     (0.004, "PT0S"), (59.999, "PT1M")],
)  # fmt: skip
def test_durations_are_iso_8601_to_the_hundredth(seconds: float, text: str) -> None:
    assert xapi.iso_duration(seconds) == text


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf")])
def test_a_duration_must_be_a_real_non_negative_number(bad: float) -> None:
    with pytest.raises(ValueError, match="duration"):
        xapi.iso_duration(bad)


def test_timestamps_are_utc_with_milliseconds() -> None:
    assert xapi.iso_timestamp(0.25) == "1970-01-01T00:00:00.250Z"
    assert xapi.iso_timestamp(datetime(2026, 3, 2, 8, 15, 30, 123456, tzinfo=UTC)) == "2026-03-02T08:15:30.123Z"


def test_home_page_prefers_the_central_system() -> None:
    assert xapi.home_page("https://lrs.sgd.example.vn/xapi/", "http://10.0.0.2:8080") == "https://lrs.sgd.example.vn"
    assert xapi.home_page(None, "http://10.0.0.2:8080/") == "http://10.0.0.2:8080"
    assert xapi.home_page(None, None) == xapi.DEFAULT_HOME_PAGE


def test_a_statement_has_the_required_properties_and_the_room_in_its_context() -> None:
    where = setting()
    step = xapi.activity(where.step_iri("cau 1"), "quiz", "Câu 1", "vi", interactionType="choice",
                         correctResponsesPattern=["b"], choices=None)  # fmt: skip
    result = {"response": "b", "success": True, "score": xapi.score(1, 1), "duration": "PT4.2S"}
    statement = where.statement(("hs-7a-01", "cau-1"), "hs-7a-01", "answered", step, 0.0, result=result)
    assert statement["id"] == xapi.statement_id(where.registration, "answered", "hs-7a-01", "cau-1")
    assert statement["actor"] == {"objectType": "Agent", "account": {"homePage": "https://csdl.example.vn",
                                                                     "name": "hs-7a-01"}}  # fmt: skip
    assert statement["verb"]["id"] == "http://adlnet.gov/expapi/verbs/answered"
    assert statement["object"]["id"] == "https://csdl.example.vn/xapi/lessons/vong-tuan-hoan/steps/cau%201"
    assert "choices" not in statement["object"]["definition"]  # None fields are left out
    context = statement["context"]
    assert context["registration"] == where.registration
    assert context["instructor"]["account"]["name"] == "co-lan"
    assert context["contextActivities"]["parent"][0]["id"].endswith("/xapi/lessons/vong-tuan-hoan")
    grouping = [a["id"] for a in context["contextActivities"]["grouping"]]
    assert grouping == ["https://csdl.example.vn/xapi/classes/khtn-7a",
                        "https://csdl.example.vn/xapi/schools/THCS-DEMO/rooms/lop-7a"]  # fmt: skip
    assert context["extensions"][xapi.EXT_ROOM] == "lop-7a"
    assert statement["timestamp"] == "1970-01-01T00:00:00.000Z" and statement["version"] == "1.0.3"
    assert statement["result"]["score"] == {"raw": 1, "min": 0, "max": 1, "scaled": 1.0}
    assert "parent" not in where.context(in_lesson=False)["contextActivities"]


def test_scores_scale_into_zero_to_one() -> None:
    assert xapi.score(3, 4)["scaled"] == 0.75
    assert "scaled" not in xapi.score(0, 0)  # nothing to scale against
    assert xapi.choice_response(["a", "c"]) == "a[,]c"
