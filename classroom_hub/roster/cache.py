"""The hub's own copy of the roster, in one SQLite file, so classes and students are there offline.

Each record is kept whole as JSON (``record``) next to the columns the queries need; the
schema version is ``PRAGMA user_version`` and newer versions are applied on open.

Pages get :class:`Member` and :class:`PersonCard`, which carry the short ``sourced_id`` and
names but never the citizen ID; :meth:`RosterCache.citizen_id` is the one way to read it,
for the link to the central database.

Synchronous (stdlib sqlite3, opened by classroom_hub/storage/sqlite.py). The hub calls it from
worker threads through an executor, so the connection is shared across threads and every call
holds a lock.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

from pydantic import BaseModel, ConfigDict

from classroom_hub.roster.errors import RosterError
from classroom_hub.roster.models import (
    AcademicSession,
    Class,
    Course,
    Enrollment,
    Person,
    Role,
    Roster,
    School,
    class_list_key,
)
from classroom_hub.storage.sqlite import MigrationError, Schema, open_connection, transaction, version_of

# One script per schema version; index 0 takes an empty file to version 1.
SCHEMA = Schema("roster", (
    """
    CREATE TABLE schools (sourced_id TEXT PRIMARY KEY, name TEXT NOT NULL, code TEXT, record TEXT NOT NULL);
    CREATE TABLE sessions (sourced_id TEXT PRIMARY KEY, record TEXT NOT NULL);
    CREATE TABLE courses (sourced_id TEXT PRIMARY KEY, record TEXT NOT NULL);
    CREATE TABLE classes (
        sourced_id TEXT PRIMARY KEY, school_sourced_id TEXT NOT NULL, title TEXT NOT NULL,
        record TEXT NOT NULL);
    CREATE TABLE people (
        sourced_id TEXT PRIMARY KEY, role TEXT NOT NULL, citizen_id TEXT NOT NULL UNIQUE,
        family_name TEXT NOT NULL, middle_name TEXT NOT NULL, given_name TEXT NOT NULL,
        record TEXT NOT NULL);
    CREATE TABLE enrollments (
        sourced_id TEXT PRIMARY KEY, class_sourced_id TEXT NOT NULL, person_sourced_id TEXT NOT NULL,
        role TEXT NOT NULL, record TEXT NOT NULL);
    CREATE INDEX enrollments_by_class ON enrollments (class_sourced_id, role);
    CREATE INDEX enrollments_by_person ON enrollments (person_sourced_id);
    """,
))  # fmt: skip


class _View(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ClassEntry(_View):
    sourced_id: str
    title: str
    grade: str | None
    subject: str | None
    school_sourced_id: str
    school_name: str | None
    students: int


class Member(_View):
    """A student or teacher as a class list shows them."""

    sourced_id: str
    display_name: str


class PersonCard(_View):
    """A person without the citizen ID: what pages and lessons may use."""

    sourced_id: str
    role: Role
    display_name: str
    family_name: str
    middle_name: str
    given_name: str
    school_sourced_ids: tuple[str, ...]
    grade: str | None
    enabled: bool


def _card(person: Person) -> PersonCard:
    return PersonCard(
        sourced_id=person.sourced_id,
        role=person.role,
        display_name=person.display_name,
        family_name=person.family_name,
        middle_name=person.middle_name,
        given_name=person.given_name,
        school_sourced_ids=person.school_sourced_ids,
        grade=person.grade,
        enabled=person.enabled,
    )


class RosterCache:
    """The roster cache in the SQLite file at ``path`` (created if missing)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self._db = open_connection(self.path, SCHEMA)
        except MigrationError as err:
            raise RosterError(str(err)) from err
        except OSError as err:
            raise RosterError(f"{self.path}: cannot open the roster cache ({err})") from err
        except sqlite3.Error as err:
            raise RosterError(f"{self.path}: not a usable roster cache ({err})") from err

    @property
    def schema_version(self) -> int:
        with self._reading() as db:
            return version_of(db)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> RosterCache:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                yield self._db
            except sqlite3.Error as err:
                raise RosterError(f"{self.path}: roster cache read failed ({err})") from err

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                with transaction(self._db):
                    yield self._db
            except sqlite3.Error as err:
                raise RosterError(f"{self.path}: roster cache write failed ({err})") from err

    # --- writing ----------------------------------------------------------------------------

    def upsert(self, roster: Roster) -> dict[str, int]:
        """Add or update every record; records marked ``tobedeleted`` are removed.

        Returns the number of records written per kind. One transaction: all or nothing.
        """
        with self._writing() as db:
            return self._upsert(db, roster)

    def replace(self, roster: Roster) -> dict[str, int]:
        """Make the cache exactly ``roster`` (for a bulk import): everything else is removed."""
        with self._writing() as db:
            for table in ("enrollments", "people", "classes", "courses", "sessions", "schools"):
                db.execute(f"DELETE FROM {table}")
            return self._upsert(db, roster)

    def _upsert(self, db: sqlite3.Connection, roster: Roster) -> dict[str, int]:
        counts: dict[str, int] = {}

        def put(table: str, records: dict[str, Any], columns: dict[str, Any]) -> None:
            written = 0
            for record in records.values():
                if record.status == "tobedeleted":
                    db.execute(f"DELETE FROM {table} WHERE sourced_id = ?", (record.sourced_id,))
                    owner = {"people": "person_sourced_id", "classes": "class_sourced_id"}.get(table)
                    if owner is not None:  # their enrollments go with them
                        db.execute(f"DELETE FROM enrollments WHERE {owner} = ?", (record.sourced_id,))
                    continue
                values = {name: get(record) for name, get in columns.items()}
                values["sourced_id"] = record.sourced_id
                values["record"] = record.model_dump_json()
                names = ", ".join(values)
                updates = ", ".join(f"{name} = excluded.{name}" for name in values if name != "sourced_id")
                db.execute(
                    f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(values))}) "
                    f"ON CONFLICT (sourced_id) DO UPDATE SET {updates}",
                    tuple(values.values()),
                )
                written += 1
            counts[table] = written

        put("schools", roster.schools, {"name": lambda r: r.name, "code": lambda r: r.code})
        put("sessions", roster.sessions, {})
        put("courses", roster.courses, {})
        put(
            "classes",
            roster.classes,
            {"school_sourced_id": lambda r: r.school_sourced_id, "title": lambda r: r.title},
        )
        # A citizen ID that moves to another sourcedId (re-issued short id) frees its old row first.
        for person in roster.people.values():
            if person.status == "tobedeleted":
                continue
            db.execute(
                "DELETE FROM people WHERE citizen_id = ? AND sourced_id != ?",
                (person.citizen_id, person.sourced_id),
            )
        put(
            "people",
            roster.people,
            {
                "role": lambda r: r.role,
                "citizen_id": lambda r: r.citizen_id,
                "family_name": lambda r: r.family_name,
                "middle_name": lambda r: r.middle_name,
                "given_name": lambda r: r.given_name,
            },
        )
        put(
            "enrollments",
            roster.enrollments,
            {
                "class_sourced_id": lambda r: r.class_sourced_id,
                "person_sourced_id": lambda r: r.person_sourced_id,
                "role": lambda r: r.role,
            },
        )
        return counts

    # --- reading ----------------------------------------------------------------------------

    def classes(self, school_sourced_id: str | None = None) -> list[ClassEntry]:
        """The classes, by title, with their number of students."""
        with self._reading() as db:
            rows = db.execute(
                """
                SELECT c.record, s.name,
                       (SELECT count(*) FROM enrollments e
                         WHERE e.class_sourced_id = c.sourced_id AND e.role = 'student')
                  FROM classes c LEFT JOIN schools s ON s.sourced_id = c.school_sourced_id
                 WHERE ?1 IS NULL OR c.school_sourced_id = ?1
                 ORDER BY c.title, c.sourced_id
                """,
                (school_sourced_id,),
            ).fetchall()
        entries = []
        for record, school_name, students in rows:
            cls = Class.model_validate_json(record)
            entries.append(
                ClassEntry(
                    sourced_id=cls.sourced_id,
                    title=cls.title,
                    grade=cls.grade,
                    subject=cls.subject,
                    school_sourced_id=cls.school_sourced_id,
                    school_name=school_name,
                    students=students,
                )
            )
        return entries

    def members(self, class_sourced_id: str, role: Role = "student") -> list[Member]:
        """The students (or teachers) of a class in class-list order: by given name, Vietnamese alphabet."""
        with self._reading() as db:
            rows = db.execute(
                """
                SELECT p.sourced_id, p.family_name, p.middle_name, p.given_name
                  FROM enrollments e JOIN people p ON p.sourced_id = e.person_sourced_id
                 WHERE e.class_sourced_id = ? AND e.role = ?
                """,
                (class_sourced_id, role),
            ).fetchall()
        rows.sort(key=lambda row: (class_list_key(row[1], row[2], row[3]), row[0]))
        return [
            Member(sourced_id=row[0], display_name=" ".join(part for part in row[1:] if part)) for row in rows
        ]

    def students(self, class_sourced_id: str) -> list[Member]:
        return self.members(class_sourced_id, "student")

    def person(self, sourced_id: str) -> PersonCard | None:
        with self._reading() as db:
            row = db.execute("SELECT record FROM people WHERE sourced_id = ?", (sourced_id,)).fetchone()
        return None if row is None else _card(Person.model_validate_json(row[0]))

    def citizen_id(self, sourced_id: str) -> str | None:
        """The citizen ID of a person: for the central database only, never for pages or logs."""
        with self._reading() as db:
            row = db.execute("SELECT citizen_id FROM people WHERE sourced_id = ?", (sourced_id,)).fetchone()
        return None if row is None else str(row[0])

    def roster(self) -> Roster:
        """Everything in the cache, e.g. to export it as a OneRoster bundle."""
        kinds: dict[str, type[BaseModel]] = {
            "schools": School,
            "sessions": AcademicSession,
            "courses": Course,
            "classes": Class,
            "people": Person,
            "enrollments": Enrollment,
        }
        loaded: dict[str, dict[str, Any]] = {}
        with self._reading() as db:
            for table, model in kinds.items():
                rows = db.execute(f"SELECT sourced_id, record FROM {table}").fetchall()
                loaded[table] = {sid: model.model_validate_json(record) for sid, record in rows}
        return Roster(**loaded)

    def counts(self) -> dict[str, int]:
        with self._reading() as db:
            return {
                table: int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
                for table in ("schools", "sessions", "courses", "classes", "people", "enrollments")
            }


