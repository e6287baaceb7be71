"""The OneRoster 1.1 CSV tables: columns in specification order and how each maps to a model field.

Source: 1EdTech OneRoster v1.1 "CSV Tables" (Final Release 1.1.1, section 3),
https://www.imsglobal.org/oneroster-v11-final-csv-tables, cross-checked with the HMH
OneRoster 1.1 template pages (downloads.hmlt.hmco.com .../OneRoster_v1-1/). Only the six
data files the hub needs are read; the others are listed in the manifest as ``absent``.

Cells are decoded here, one way and back, so export followed by import gives the same records.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

from pydantic import BaseModel

from classroom_hub.roster.models import AcademicSession, Class, Course, Enrollment, Person, School

CellKind = Literal["text", "list", "one_of_list", "bool", "date", "datetime", "int"]


class CellError(ValueError):
    """A cell that cannot be decoded; the message is the reason shown in the report."""


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    field: str | None = None  # None: a column of the standard the hub does not keep
    kind: CellKind = "text"


@dataclass(frozen=True, slots=True)
class Table:
    file: str
    manifest_key: str
    model: type[BaseModel]
    roster_attr: str
    columns: tuple[Column, ...]
    # model-level error type -> the column to blame for it
    error_columns: Mapping[str, str]

    def column_of(self, field: str) -> str:
        for column in self.columns:
            if column.field == field:
                return column.name
        if field == "citizen_id":
            return "identifier"
        return field


_RECORD = (
    Column("sourcedId", "sourced_id"),
    Column("status", "status"),
    Column("dateLastModified", "date_last_modified", "datetime"),
)

ORGS = Table(
    "orgs.csv", "file.orgs", School, "schools",
    (*_RECORD, Column("name", "name"), Column("type", "org_type"), Column("identifier", "code"),
     Column("parentSourcedId", "parent_sourced_id")),
    {},
)  # fmt: skip

ACADEMIC_SESSIONS = Table(
    "academicSessions.csv", "file.academicSessions", AcademicSession, "sessions",
    (*_RECORD, Column("title", "title"), Column("type", "session_type"),
     Column("startDate", "start_date", "date"), Column("endDate", "end_date", "date"),
     Column("parentSourcedId", "parent_sourced_id"), Column("schoolYear", "school_year", "int")),
    {"session_dates": "endDate"},
)  # fmt: skip

COURSES = Table(
    "courses.csv", "file.courses", Course, "courses",
    (*_RECORD, Column("schoolYearSourcedId", "school_year_sourced_id"), Column("title", "title"),
     Column("courseCode", "course_code"), Column("grades", "grade", "one_of_list"),
     Column("orgSourcedId", "school_sourced_id"), Column("subjects", "subjects", "list"),
     Column("subjectCodes")),
    {},
)  # fmt: skip

CLASSES = Table(
    "classes.csv", "file.classes", Class, "classes",
    (*_RECORD, Column("title", "title"), Column("grades", "grade", "one_of_list"),
     Column("courseSourcedId", "course_sourced_id"), Column("classCode", "class_code"),
     Column("classType", "class_type"), Column("location", "location"),
     Column("schoolSourcedId", "school_sourced_id"), Column("termSourcedIds", "term_sourced_ids", "list"),
     Column("subjects", "subjects", "list"), Column("subjectCodes"), Column("periods")),
    {},
)  # fmt: skip

# The citizen ID travels in `identifier` ("identifier for the user with a human readable
# meaning"); a `{cccd:...}` entry in userIds is accepted too (see oneroster.py).
USERS = Table(
    "users.csv", "file.users", Person, "people",
    (*_RECORD, Column("enabledUser", "enabled", "bool"),
     Column("orgSourcedIds", "school_sourced_ids", "list"), Column("role", "role"),
     Column("username", "username"), Column("userIds"), Column("givenName", "given_name"),
     Column("familyName", "family_name"), Column("middleName", "middle_name"),
     Column("identifier", "citizen_id"), Column("email", "email"), Column("sms"),
     Column("phone", "phone"), Column("agentSourcedIds"), Column("grades", "grade", "one_of_list"),
     Column("password")),
    {"sourced_id": "sourcedId"},
)  # fmt: skip

ENROLLMENTS = Table(
    "enrollments.csv", "file.enrollments", Enrollment, "enrollments",
    (*_RECORD, Column("classSourcedId", "class_sourced_id"), Column("schoolSourcedId", "school_sourced_id"),
     Column("userSourcedId", "person_sourced_id"), Column("role", "role"),
     Column("primary", "primary", "bool"), Column("beginDate", "begin_date", "date"),
     Column("endDate", "end_date", "date")),
    {},
)  # fmt: skip

# Import order: a file only refers to the ones before it.
TABLES: tuple[Table, ...] = (ORGS, ACADEMIC_SESSIONS, COURSES, CLASSES, USERS, ENROLLMENTS)

# Every file of OneRoster 1.1, for the manifest.
MANIFEST_FILES = (
    "academicSessions", "categories", "classes", "classResources", "courses", "courseResources",
    "demographics", "enrollments", "lineItems", "orgs", "resources", "results", "users",
)  # fmt: skip


# --- cells ------------------------------------------------------------------------------------


def _split(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _decode_bool(text: str) -> bool:
    lowered = text.lower()
    if lowered not in ("true", "false"):
        raise CellError(f"must be true or false, not {text!r}")
    return lowered == "true"


def _decode_one(text: str) -> str:
    items = _split(text)
    if not items:
        raise CellError(f"{text!r} holds no grade, only commas")
    if len(items) > 1:
        raise CellError(f"one grade only (a class or student belongs to one khối), got {len(items)}")
    return items[0]


def _decode_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CellError(f"{text!r} is not a date like 2025-09-05") from None


def _decode_datetime(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise CellError(f"{text!r} is not an ISO 8601 time like 2025-08-15T08:00:00.000Z") from None
    # Files without an offset are taken as UTC, as the specification writes them.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _decode_int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise CellError(f"{text!r} is not a whole number") from None


_DECODERS: dict[CellKind, Callable[[str], object]] = {
    "text": lambda text: text,
    "list": _split,
    "one_of_list": _decode_one,
    "bool": _decode_bool,
    "date": _decode_date,
    "datetime": _decode_datetime,
    "int": _decode_int,
}


def decode_cell(kind: CellKind, text: str) -> object:
    return _DECODERS[kind](text)


def encode_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return ",".join(value)
    if isinstance(value, datetime):
        precision = "milliseconds" if value.microsecond % 1000 == 0 else "microseconds"
        text = value.astimezone(UTC).isoformat(timespec=precision)
        return text.replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def encode_record(table: Table, record: BaseModel) -> list[str]:
    return [encode_cell(getattr(record, c.field)) if c.field else "" for c in table.columns]
