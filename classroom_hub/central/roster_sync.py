"""Rosters between the central database and a hub.

:func:`roster_from_central` is what a hub pulls on its schedule: one school's classes,
people and enrollments, with the records they refer to (its parent orgs, the school years
and terms of its classes), so the result is a consistent OneRoster set on its own.
:func:`roster_to_central` is the other direction, for loading a OneRoster bundle from a
student information system into the central database.
"""

from __future__ import annotations

from typing import Any

import asyncpg
from pydantic import ValidationError

from classroom_hub.central.dsn import safe_dsn
from classroom_hub.central.errors import CentralDataError, CentralError
from classroom_hub.central.migrate import connect
from classroom_hub.problems import describe, printable
from classroom_hub.roster.models import AcademicSession, Class, Course, Enrollment, Person, Roster, School

_RECORD = ("sourced_id", "status", "date_last_modified")

# table -> (model, roster attribute, {column: model field})
_TABLES: dict[str, tuple[type[Any], str, dict[str, str]]] = {
    "schools": (School, "schools", {c: c for c in (*_RECORD, "name", "org_type", "code", "parent_sourced_id")}),
    "academic_sessions": (
        AcademicSession,
        "sessions",
        {
            c: c
            for c in (*_RECORD, "title", "session_type", "start_date", "end_date", "parent_sourced_id", "school_year")
        },
    ),
    "courses": (
        Course,
        "courses",
        {
            c: c
            for c in (
                *_RECORD, "title", "school_sourced_id", "course_code", "grade", "subjects", "school_year_sourced_id",
            )
        },
    ),
    "classes": (
        Class,
        "classes",
        {
            c: c
            for c in (
                *_RECORD, "title", "school_sourced_id", "grade", "subjects", "class_type", "class_code",
                "location", "course_sourced_id", "term_sourced_ids",
            )
        },
    ),
    "people": (
        Person,
        "people",
        {
            c: c
            for c in (
                *_RECORD, "citizen_id", "role", "family_name", "middle_name", "given_name",
                "school_sourced_ids", "enabled", "username", "email", "phone", "grade",
            )
        },
    ),
    "enrollments": (
        Enrollment,
        "enrollments",
        {
            **{c: c for c in (*_RECORD, "class_sourced_id", "school_sourced_id", "person_sourced_id", "role")},
            "is_primary": "primary",
            "begin_date": "begin_date",
            "end_date": "end_date",
        },
    ),
}  # fmt: skip


def _model(table: str, row: asyncpg.Record) -> Any:
    model, _, columns = _TABLES[table]
    try:
        return model.model_validate({field: row[column] for column, field in columns.items()})
    except ValidationError as err:  # a row the hub cannot use: name it (never its values: a citizen ID)
        problems = describe(err, root=table, limit=3)
        raise CentralDataError(f"{table} {printable(str(row['sourced_id']))!r}: {problems}") from err


async def roster_from_central(dsn: str, school_code: str) -> Roster:
    """The roster of the school whose code is ``school_code`` (raises CentralError if there is none)."""
    conn = await connect(dsn)
    try:
        return await _read_school(conn, school_code)
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as err:
        raise CentralError(f"{safe_dsn(dsn)}: cannot read the roster of {school_code!r}: {err}") from err
    except CentralDataError as err:
        raise CentralDataError(
            f"{safe_dsn(dsn)}: the roster of {school_code!r} has a row the hub cannot use, so nothing was "
            f"changed on the hub: {err}"
        ) from err
    finally:
        await conn.close()


async def _read_school(conn: asyncpg.Connection, school_code: str) -> Roster:
    roster = Roster()
    async with conn.transaction(isolation="repeatable_read", readonly=True):  # one consistent snapshot
        school = await conn.fetchrow("SELECT sourced_id FROM schools WHERE code = $1", school_code)
        if school is None:
            raise CentralError(f"no school with code {school_code!r} in the central database")
        school_id: str = school["sourced_id"]
        orgs = await conn.fetch(
            """
            WITH RECURSIVE chain AS (
                SELECT * FROM schools WHERE sourced_id = $1
                UNION SELECT s.* FROM schools s JOIN chain c ON s.sourced_id = c.parent_sourced_id)
            SELECT * FROM chain
            """,
            school_id,
        )
        classes = await conn.fetch("SELECT * FROM classes WHERE school_sourced_id = $1", school_id)
        courses = await conn.fetch(
            "SELECT * FROM courses WHERE school_sourced_id = $1 OR sourced_id = ANY($2::text[])",
            school_id,
            [c["course_sourced_id"] for c in classes if c["course_sourced_id"]],
        )
        session_ids = {t for c in classes for t in c["term_sourced_ids"]}
        session_ids |= {c["school_year_sourced_id"] for c in courses if c["school_year_sourced_id"]}
        sessions = await conn.fetch(
            """
            WITH RECURSIVE chain AS (
                SELECT * FROM academic_sessions WHERE sourced_id = ANY($1::text[])
                UNION SELECT a.* FROM academic_sessions a JOIN chain c ON a.sourced_id = c.parent_sourced_id)
            SELECT * FROM chain
            """,
            sorted(session_ids),
        )
        class_ids = [c["sourced_id"] for c in classes]
        enrollments = await conn.fetch("SELECT * FROM enrollments WHERE class_sourced_id = ANY($1::text[])", class_ids)
        people = await conn.fetch(
            "SELECT * FROM people WHERE school_sourced_ids @> ARRAY[$1::text] OR sourced_id = ANY($2::text[])",
            school_id,
            sorted({e["person_sourced_id"] for e in enrollments}),
        )
    for table, rows in (
        ("schools", orgs), ("academic_sessions", sessions), ("courses", courses),
        ("classes", classes), ("enrollments", enrollments),
    ):  # fmt: skip
        target: dict[str, Any] = getattr(roster, _TABLES[table][1])
        for row in rows:
            target[row["sourced_id"]] = _model(table, row)
    for row in people:
        person: Person = _model("people", row)
        # Keep only the orgs sent along, so the roster refers to nothing outside itself.
        orgs_here = tuple(o for o in person.school_sourced_ids if o in roster.schools) or (school_id,)
        roster.people[person.sourced_id] = person.model_copy(update={"school_sourced_ids": orgs_here})
    return roster


async def roster_to_central(dsn: str, roster: Roster) -> dict[str, int]:
    """Write ``roster`` into the central database in one transaction; ``tobedeleted`` records are deleted.

    Returns the number of records written per table.
    """
    conn = await connect(dsn)
    try:
        async with conn.transaction():
            return await _write(conn, roster)
    except asyncpg.UniqueViolationError as err:
        # err.detail would quote the duplicated value, which may be a citizen ID: name the key only.
        raise CentralError(
            f"{safe_dsn(dsn)}: roster rejected: a value of {err.constraint_name} is already taken "
            "(for people_citizen_id_key: that citizen ID belongs to another sourcedId)"
        ) from err
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as err:
        raise CentralError(f"{safe_dsn(dsn)}: cannot write the roster: {err}") from err
    finally:
        await conn.close()


async def _write(conn: asyncpg.Connection, roster: Roster) -> dict[str, int]:
    counts: dict[str, int] = {}
    for table, (_, attr, columns) in _TABLES.items():
        records: dict[str, Any] = getattr(roster, attr)
        keep = [r for r in records.values() if r.status != "tobedeleted"]
        gone = [r.sourced_id for r in records.values() if r.status == "tobedeleted"]
        names = list(columns)
        updates = ", ".join(f"{n} = excluded.{n}" for n in names if n != "sourced_id")
        await conn.executemany(
            f"INSERT INTO {table} ({', '.join(names)}) "
            f"VALUES ({', '.join(f'${i}' for i in range(1, len(names) + 1))}) "
            f"ON CONFLICT (sourced_id) DO UPDATE SET {updates}, updated_at = now()",
            [tuple(_column_value(getattr(r, columns[n])) for n in names) for r in keep],
        )
        if gone:
            await conn.execute(f"DELETE FROM {table} WHERE sourced_id = ANY($1::text[])", gone)
        counts[table] = len(keep)
    return counts


def _column_value(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value
