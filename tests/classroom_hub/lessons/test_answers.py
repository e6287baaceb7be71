"""Marking answers the way a Vietnamese classroom writes them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from classroom_hub.lessons import QuizStep, is_correct, parse_manifest, points_for
from classroom_hub.lessons.answers import strip_diacritics


def quiz(step: dict[str, Any]) -> QuizStep:
    lesson = parse_manifest(
        json.dumps(
            {
                "id": "x",
                "title": "x",
                "subject": "physics",
                "grade": 10,
                "language": "vi",
                "authors": ["x"],
                "version": "1",
                "steps": [{"id": "q", "kind": "quiz", **step}],
            }
        ).encode(),
        "x/lesson.json",
    )
    step_ = lesson.steps[0]
    assert isinstance(step_, QuizStep)
    return step_


CHOICES = [{"id": c, "text": c.upper()} for c in "abcd"]


def test_single_choice() -> None:
    q = quiz({"type": "single_choice", "prompt": "?", "choices": CHOICES, "correct": ["c"], "points": 3})
    assert points_for(q, "c") == 3
    assert points_for(q, "a") == 0
    assert not is_correct(q, ["c", "a"])


def test_multiple_choice_is_all_or_nothing() -> None:
    q = quiz({"type": "multiple_choice", "prompt": "?", "choices": CHOICES, "correct": ["a", "b"], "points": 2})
    assert points_for(q, ["b", "a"]) == 2
    assert points_for(q, ["a"]) == 0
    assert points_for(q, ["a", "b", "c"]) == 0
    assert points_for(q, ["a", "a", "b"]) == 0


def test_short_answer_ignores_case_and_spaces_by_default() -> None:
    q = quiz({"type": "short_answer", "prompt": "?", "accepted": ["Nitrat"]})
    assert is_correct(q, "  nitrat ")
    assert is_correct(q, "NITRAT")
    assert not is_correct(q, "nitrát")
    assert not is_correct(q, "")


def test_short_answer_can_ignore_vietnamese_diacritics() -> None:
    q = quiz({"type": "short_answer", "prompt": "?", "accepted": ["Đồng hóa"], "ignore_diacritics": True})
    assert is_correct(q, "dong hoa")
    assert is_correct(q, "đồng   hoá")
    assert strip_diacritics("Vòng tuần hoàn nước") == "Vong tuan hoan nuoc"


def test_short_answer_case_sensitive_when_asked() -> None:
    q = quiz({"type": "short_answer", "prompt": "?", "accepted": ["NaCl"], "ignore_case": False})
    assert is_correct(q, "NaCl")
    assert not is_correct(q, "nacl")


@pytest.mark.parametrize(
    ("answer", "right"),
    [
        ("20", True),
        ("20,0", True),
        ("20.0", True),
        ("20 m/s", True),
        ("20m/s", True),
        ("+20", True),
        ("20 km/h", False),
        ("21", False),
        ("hai mươi", False),
        ("-20", False),
    ],
)
def test_numeric_answer_with_comma_decimals_and_units(answer: str, right: bool) -> None:
    q = quiz({"type": "short_answer", "prompt": "?", "numeric": {"value": 20, "units": ["m/s"]}})
    assert is_correct(q, answer) is right


def test_numeric_tolerance() -> None:
    q = quiz({"type": "short_answer", "prompt": "?", "numeric": {"value": 9.81, "tolerance": 0.02}})
    assert is_correct(q, "9,8")
    assert not is_correct(q, "9,7")
