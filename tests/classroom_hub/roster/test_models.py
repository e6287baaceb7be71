"""Roster records: names, class-list order, and keeping the citizen ID out of sight."""

from __future__ import annotations

import unicodedata

import pytest
from pydantic import ValidationError

from classroom_hub.roster.models import Class, Enrollment, Person, Roster, vietnamese_key

CCCD = "036213900004"


def person(sourced_id: str = "hs-01", **changes: object) -> Person:
    fields: dict[str, object] = {
        "sourced_id": sourced_id,
        "role": "student",
        "citizen_id": CCCD,
        "family_name": "Nguyễn",
        "middle_name": "Thị Thu",
        "given_name": "Hà",
        "school_sourced_ids": ("thcs-demo",),
    }
    fields.update(changes)
    return Person.model_validate(fields)


def test_display_name_in_vietnamese_order() -> None:
    assert person().display_name == "Nguyễn Thị Thu Hà"
    assert person(middle_name="").display_name == "Nguyễn Hà"


def test_citizen_id_never_in_repr_or_str() -> None:
    p = person()
    assert CCCD not in repr(p)
    assert CCCD not in str(p)
    assert p.citizen_id == CCCD


def test_short_id_may_not_be_a_citizen_id() -> None:
    with pytest.raises(ValidationError, match="must not be a 12-digit citizen ID"):
        person(sourced_id=CCCD)
    with pytest.raises(ValidationError, match="must not be a 12-digit citizen ID"):
        person(sourced_id="079190000001")  # somebody else's: still a CCCD on a page


def test_short_id_is_safe_in_urls_and_topics() -> None:
    with pytest.raises(ValidationError, match="sourced_id"):
        person(sourced_id="hs 01/7a")


def test_names_typed_decomposed_or_composed_are_the_same() -> None:
    decomposed = unicodedata.normalize("NFD", "Nguyễn")
    assert person(family_name=decomposed) == person(family_name="Nguyễn")
    assert person(given_name="  Hà  ").given_name == "Hà"


def test_grade_written_as_a_plain_number_becomes_the_ceds_code() -> None:
    cls = Class(sourced_id="7a", title="Lớp 7A", school_sourced_id="thcs-demo", grade="7")
    assert cls.grade == "07"
    with pytest.raises(ValidationError, match="grade 'lớp bảy' is not 1-12 or a CEDS grade code"):
        Class(sourced_id="7a", title="Lớp 7A", school_sourced_id="thcs-demo", grade="lớp bảy")


def test_vietnamese_alphabet_order_for_class_lists() -> None:
    names = ["Yến", "Đức", "Dũng", "Dung", "Ánh", "Anh", "Ân", "Ăn", "Bình", "Ơn", "Ôn", "On", "Uyên", "Ưng"]
    ordered = sorted(names, key=vietnamese_key)
    # a < ă < â ... d < đ ... o < ô < ơ ... u < ư; the tone (ngang < sắc) only breaks ties
    assert ordered == ["Anh", "Ánh", "Ăn", "Ân", "Bình", "Dung", "Dũng", "Đức", "On", "Ôn", "Ơn", "Uyên", "Ưng", "Yến"]


def test_roster_members_sort_by_given_name_then_family_name() -> None:
    roster = Roster()
    for sid, family, given, cccd in [
        ("hs-1", "Trần", "An", "036213900011"),
        ("hs-2", "Lê", "Đạt", "036213900012"),
        ("hs-3", "Bùi", "An", "036213900013"),
        ("hs-4", "Nguyễn", "Dương", "036213900014"),
    ]:
        roster.people[sid] = person(sid, family_name=family, given_name=given, middle_name="Văn", citizen_id=cccd)
    for sid in roster.people:
        roster.enrollments[f"e-{sid}"] = Enrollment(
            sourced_id=f"e-{sid}", class_sourced_id="7a", school_sourced_id="thcs-demo",
            person_sourced_id=sid, role="student",
        )  # fmt: skip
    assert [p.sourced_id for p in roster.members("7a", "student")] == ["hs-3", "hs-1", "hs-4", "hs-2"]
    assert roster.members("7a", "teacher") == []
