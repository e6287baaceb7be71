"""A hub pulls its school's roster from the central database; the province loads rosters into it."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

import classroom_hub.roster
from classroom_hub.central import CentralError, migrate, roster_from_central, roster_to_central
from classroom_hub.roster import (
    Class,
    Enrollment,
    Person,
    Roster,
    School,
    export_oneroster,
    import_oneroster,
)

SAMPLE = Path(classroom_hub.roster.__file__).parent / "samples" / "demo-school"


@pytest.fixture
async def central(fresh_dsn: str) -> str:
    await migrate(fresh_dsn)
    return fresh_dsn


@pytest.fixture
def demo() -> Roster:
    return import_oneroster(SAMPLE).roster


def other_school() -> Roster:
    """A second school whose teacher also teaches at the demo school."""
    roster = Roster()
    roster.schools["thpt-b"] = School(sourced_id="thpt-b", name="Trường THPT B", code="THPT-B")
    roster.classes["10a1"] = Class(sourced_id="10a1", title="Lớp 10A1", school_sourced_id="thpt-b", grade="10")
    roster.people["hs-b-01"] = Person(
        sourced_id="hs-b-01", role="student", citizen_id="001310900001", family_name="Vũ",
        given_name="Lan", school_sourced_ids=("thpt-b",),
    )  # fmt: skip
    roster.people["gv-b-01"] = Person(
        sourced_id="gv-b-01", role="teacher", citizen_id="001080900002", family_name="Đào",
        middle_name="Văn", given_name="Hưng", school_sourced_ids=("thpt-b", "thcs-demo"),
    )  # fmt: skip
    for sid, cls, person, role in (("eb-1", "10a1", "hs-b-01", "student"), ("eb-2", "10a1", "gv-b-01", "teacher")):
        roster.enrollments[sid] = Enrollment(
            sourced_id=sid, class_sourced_id=cls, school_sourced_id="thpt-b", person_sourced_id=person, role=role
        )
    return roster


async def test_round_trip_through_the_central_database(central: str, demo: Roster, tmp_path: Path) -> None:
    assert await roster_to_central(central, demo) == {
        "schools": 2, "academic_sessions": 3, "courses": 1, "classes": 2, "people": 78, "enrollments": 79,
    }  # fmt: skip
    pulled = await roster_from_central(central, "THCS-DEMO")
    assert pulled == demo
    # and what the hub pulled is a bundle another system can import without a problem
    export_oneroster(pulled, tmp_path / "pulled.zip")
    assert import_oneroster(tmp_path / "pulled.zip").ok


async def test_a_hub_gets_only_its_own_school(central: str, demo: Roster) -> None:
    await roster_to_central(central, demo)
    await roster_to_central(central, other_school())
    demo_pull = await roster_from_central(central, "THCS-DEMO")
    assert "hs-b-01" not in demo_pull.people and "thpt-b" not in demo_pull.schools
    # the teacher of both schools is there without a reference to the school not sent along
    assert demo_pull.people.get("gv-b-01") is not None
    assert demo_pull.people["gv-b-01"].school_sourced_ids == ("thcs-demo",)
    other_pull = await roster_from_central(central, "THPT-B")
    assert set(other_pull.people) == {"hs-b-01", "gv-b-01"}
    assert other_pull.people["gv-b-01"].school_sourced_ids == ("thpt-b",)
    assert set(other_pull.classes) == {"10a1"}


async def test_writing_again_updates_and_tobedeleted_removes(central: str, demo: Roster) -> None:
    await roster_to_central(central, demo)
    renamed = demo.classes["khtn-7a"].model_copy(update={"title": "KHTN 7A (chiều)"})
    left = demo.people["hs-7a-02"].model_copy(update={"status": "tobedeleted"})
    await roster_to_central(central, Roster(classes={"khtn-7a": renamed}, people={"hs-7a-02": left}))
    pulled = await roster_from_central(central, "THCS-DEMO")
    assert pulled.classes["khtn-7a"].title == "KHTN 7A (chiều)"
    assert "hs-7a-02" not in pulled.people
    assert "e-7a-02" not in pulled.enrollments  # its enrollment went with it
    assert len(pulled.people) == 77


async def test_a_citizen_id_taken_by_someone_else_rejects_the_whole_roster(central: str, demo: Roster) -> None:
    await roster_to_central(central, demo)
    impostor = demo.people["hs-7a-01"].model_copy(update={"sourced_id": "hs-new"})
    new_class = demo.classes["khtn-7a"].model_copy(update={"sourced_id": "khtn-7c"})
    with pytest.raises(CentralError, match="people_citizen_id_key") as caught:
        await roster_to_central(central, Roster(people={"hs-new": impostor}, classes={"khtn-7c": new_class}))
    assert impostor.citizen_id not in str(caught.value)
    conn = await asyncpg.connect(central)
    try:
        assert await conn.fetchval("SELECT count(*) FROM classes WHERE sourced_id = 'khtn-7c'") == 0
    finally:
        await conn.close()


async def test_unknown_school_code(central: str) -> None:
    with pytest.raises(CentralError, match="no school with code 'THCS-KHONG-CO'"):
        await roster_from_central(central, "THCS-KHONG-CO")
