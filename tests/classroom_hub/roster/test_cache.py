"""The hub's roster cache: what pages can ask for, offline, from the SQLite file."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from classroom_hub.roster import (
    Enrollment,
    Roster,
    RosterCache,
    RosterError,
    export_oneroster,
    import_oneroster,
)


@pytest.fixture
def demo(sample_dir: Path) -> Roster:
    return import_oneroster(sample_dir).roster


@pytest.fixture
def cache(tmp_path: Path, demo: Roster) -> Iterator[RosterCache]:
    with RosterCache(tmp_path / "hub" / "roster.sqlite3") as opened:
        opened.upsert(demo)
        yield opened


def test_classes_with_their_number_of_students(cache: RosterCache) -> None:
    entries = cache.classes()
    assert [(c.sourced_id, c.title, c.grade, c.subject, c.students) for c in entries] == [
        ("khtn-7a", "Khoa học tự nhiên - Lớp 7A", "07", "Khoa học tự nhiên", 40),
        ("khtn-7b", "Khoa học tự nhiên - Lớp 7B", "07", "Khoa học tự nhiên", 35),
    ]
    assert entries[0].school_name == "Trường THCS Hoa Sen (trường mô phỏng)"
    assert cache.classes("thcs-demo") == entries
    assert cache.classes("another-school") == []


def test_students_of_a_class_in_class_list_order(cache: RosterCache, demo: Roster) -> None:
    students = cache.students("khtn-7b")
    assert len(students) == 35
    # the demo numbers students in class-list order (by given name, Vietnamese alphabet)
    assert [s.sourced_id for s in students] == [f"hs-7b-{n:02d}" for n in range(1, 36)]
    assert students[0].display_name == demo.people["hs-7b-01"].display_name
    assert set(students[0].model_dump()) == {"sourced_id", "display_name"}
    assert [t.sourced_id for t in cache.members("khtn-7a", "teacher")] == ["gv-01", "gv-03"]
    assert cache.students("no-such-class") == []


def test_pages_get_a_person_card_without_the_citizen_id(cache: RosterCache, demo: Roster) -> None:
    card = cache.person("gv-01")
    assert card is not None
    assert (card.display_name, card.role, card.school_sourced_ids) == ("Trần Thị Minh Huệ", "teacher", ("thcs-demo",))
    citizen_id = demo.people["gv-01"].citizen_id
    assert citizen_id not in card.model_dump_json()
    assert "citizen_id" not in card.model_dump()
    assert cache.citizen_id("gv-01") == citizen_id
    assert cache.person("nobody") is None and cache.citizen_id("nobody") is None


def test_cache_survives_a_restart_and_exports_the_same_roster(tmp_path: Path, demo: Roster) -> None:
    path = tmp_path / "roster.sqlite3"
    with RosterCache(path) as cache:
        assert cache.upsert(demo) == {
            "schools": 2, "sessions": 3, "courses": 1, "classes": 2, "people": 78, "enrollments": 79,
        }  # fmt: skip
    with RosterCache(path) as reopened:
        assert reopened.schema_version == 1
        assert reopened.roster() == demo
        export_oneroster(reopened.roster(), tmp_path / "out")
    assert import_oneroster(tmp_path / "out").roster == demo


def test_upsert_updates_and_deletes(cache: RosterCache, demo: Roster) -> None:
    renamed = demo.people["hs-7a-01"].model_copy(update={"given_name": "Bảo"})
    left = demo.people["hs-7a-02"].model_copy(update={"status": "tobedeleted"})
    cache.upsert(Roster(people={"hs-7a-01": renamed, "hs-7a-02": left}))
    assert cache.person("hs-7a-01").display_name.endswith(" Bảo")  # type: ignore[union-attr]
    assert cache.person("hs-7a-02") is None
    assert len(cache.students("khtn-7a")) == 39  # the enrollment went with the person
    assert cache.counts()["people"] == 77


def test_short_id_reissued_for_the_same_citizen(cache: RosterCache, demo: Roster) -> None:
    old = demo.people["hs-7a-05"]
    moved = old.model_copy(update={"sourced_id": "hs-7a-05b"})
    cache.upsert(Roster(people={"hs-7a-05b": moved}))
    assert cache.person("hs-7a-05") is None
    assert cache.citizen_id("hs-7a-05b") == old.citizen_id


def test_replace_drops_what_the_new_bulk_roster_lacks(cache: RosterCache, demo: Roster) -> None:
    smaller = demo.model_copy(deep=True)
    del smaller.classes["khtn-7b"]
    for key in [k for k, e in smaller.enrollments.items() if e.class_sourced_id == "khtn-7b"]:
        del smaller.enrollments[key]
    cache.replace(smaller)
    assert [c.sourced_id for c in cache.classes()] == ["khtn-7a"]
    assert cache.students("khtn-7b") == []


def test_a_failed_upsert_changes_nothing(cache: RosterCache, demo: Roster) -> None:
    before = cache.counts()
    # two people with one citizen ID in one roster: the UNIQUE column refuses the second
    twin = demo.people["hs-7a-01"].model_copy(update={"sourced_id": "hs-twin"})
    broken = Roster(
        people={"hs-7a-01": demo.people["hs-7a-01"], "hs-twin": twin},
        enrollments={"e-new": Enrollment(sourced_id="e-new", class_sourced_id="khtn-7a",
                                         school_sourced_id="thcs-demo", person_sourced_id="hs-twin",
                                         role="student")},
    )  # fmt: skip
    with pytest.raises(RosterError, match="roster cache write failed"):
        cache.upsert(broken)
    assert cache.counts() == before


async def test_usable_from_executor_threads(cache: RosterCache) -> None:
    loop = asyncio.get_running_loop()
    results = await asyncio.gather(*(loop.run_in_executor(None, cache.students, "khtn-7a") for _ in range(8)))
    assert all(len(r) == 40 for r in results)


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "roster.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 99")
    db.close()
    with pytest.raises(RosterError, match="schema version 99 is newer"):
        RosterCache(path)


def test_not_a_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "roster.sqlite3"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(RosterError, match="not a usable roster cache"):
        RosterCache(path)
