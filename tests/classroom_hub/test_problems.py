"""The one pydantic problem formatter: what a technician, a page or a log reads about a refused value."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from classroom_hub.problems import describe, where


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str
    choices: list[str] = Field(min_length=2)


class Lesson(BaseModel):
    grade: int
    steps: list[Step]


def _refusal(value: object) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        Lesson.model_validate(value)
    return caught.value


def test_every_problem_names_its_field_with_list_items_in_brackets() -> None:
    err = _refusal({"grade": "bảy", "steps": [{"title": "Mở đầu", "choices": ["a", "b"]}, {"choices": ["a"], "x": 1}]})
    assert describe(err) == (
        "grade: Input should be a valid integer, unable to parse string as an integer; "
        "steps[1].title: Field required; "
        "steps[1].choices: List should have at least 2 items after validation, not 1; "
        "steps[1].x: Extra inputs are not permitted"
    )


def test_the_first_problem_only_counts_the_others() -> None:
    err = _refusal({"grade": "bảy", "steps": [{}]})
    assert describe(err, root="payload", limit=1) == (
        "grade: Input should be a valid integer, unable to parse string as an integer (+2 more)"
    )
    assert describe(_refusal({"grade": 7, "steps": "x"}), limit=1) == "steps: Input should be a valid list"


def test_a_refused_value_as_a_whole_is_named_by_its_root() -> None:
    assert describe(_refusal([1, 2]), root="body") == "body: Input should be a valid dictionary or instance of Lesson"
    assert where((), "payload") == "payload"
    assert where(("steps", "[2]", "choices")) == "steps[2].choices"
