"""Who is in the school: schools, school years and terms, classes, people and their enrollments.

The shapes follow the OneRoster 1.1 data model (orgs, academicSessions, courses, classes,
users, enrollments), so an export from a student information system maps one to one.

Two identifiers per person, on purpose:

* ``sourced_id`` - the short id of the roster (``hs-7a-01``). It is what the hub uses
  everywhere: pages, lesson state, MQTT topics, logs, xAPI actors. It must not be the
  citizen ID.
* ``citizen_id`` - the 12-digit personal ID (CCCD), unique per person. It is kept for the
  central database only; no page or lesson needs it, it never appears in ``repr`` and logs
  show it masked (:func:`classroom_hub.roster.citizen_id.mask_citizen_id`).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from classroom_hub.roster.citizen_id import CitizenId

# Same rule as the hub's device and room ids (config.settings.ID_PATTERN): ids travel in
# URLs and MQTT topics.
SOURCED_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
SourcedId = Annotated[str, Field(pattern=SOURCED_ID_PATTERN)]

Status = Literal["active", "tobedeleted"]
OrgType = Literal["department", "school", "district", "local", "state", "national"]
SessionType = Literal["calendarYear", "gradingPeriod", "schoolYear", "semester", "term"]
ClassType = Literal["homeroom", "scheduled"]
Role = Literal["administrator", "student", "teacher"]

# CEDS "Entry Grade Level" vocabulary used by OneRoster 1.1 for grades.
GRADES = ("IT", "PR", "PK", "TK", "KG", *(f"{n:02d}" for n in range(1, 14)), "PS", "UG", "Other")


def _grade(value: str) -> str:
    text = value.strip()
    if text.isdigit() and 1 <= int(text) <= 13:
        return f"{int(text):02d}"  # Vietnamese files write "7" for lớp 7; OneRoster wants "07"
    if text not in GRADES:
        raise PydanticCustomError(
            "grade", "grade '{value}' is not 1-12 or a CEDS grade code (KG, PK, ...)", {"value": text}
        )
    return text


Grade = Annotated[str, AfterValidator(_grade)]


def _name(value: str) -> str:
    # NFC: the same name typed on a phone (decomposed) and in Excel (composed) must compare equal.
    return " ".join(unicodedata.normalize("NFC", value).split())


Name = Annotated[str, AfterValidator(_name)]


class Record(BaseModel):
    """Fields every OneRoster record carries."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sourced_id: SourcedId
    status: Status | None = None
    date_last_modified: datetime | None = None


class School(Record):
    """An org: normally the school; its district or department when a file lists them."""

    name: Name = Field(min_length=1)
    org_type: OrgType = "school"
    code: str | None = Field(None, description="the school code (OneRoster 'identifier')")
    parent_sourced_id: SourcedId | None = None


class AcademicSession(Record):
    """A school year (năm học), semester (học kỳ) or other term."""

    title: Name = Field(min_length=1)
    session_type: SessionType
    start_date: date
    end_date: date
    parent_sourced_id: SourcedId | None = None
    school_year: int = Field(ge=1900, le=2999, description="the year it ends: 2026 for 2025-2026")

    @model_validator(mode="after")
    def _dates_in_order(self) -> AcademicSession:
        if self.end_date < self.start_date:
            raise PydanticCustomError("session_dates", "endDate is before startDate")
        return self


class Course(Record):
    """What is taught (Khoa học tự nhiên 7); classes are its sections."""

    title: Name = Field(min_length=1)
    school_sourced_id: SourcedId
    course_code: str | None = None
    grade: Grade | None = None
    subjects: tuple[str, ...] = ()
    school_year_sourced_id: SourcedId | None = None


class Class(Record):
    """A group of students taught together: a homeroom (lớp 7A) or a subject section."""

    title: Name = Field(min_length=1)
    school_sourced_id: SourcedId
    grade: Grade | None = None
    subjects: tuple[str, ...] = ()
    class_type: ClassType = "scheduled"
    class_code: str | None = None
    location: str | None = None
    course_sourced_id: SourcedId | None = None
    term_sourced_ids: tuple[SourcedId, ...] = ()

    @property
    def subject(self) -> str | None:
        return self.subjects[0] if self.subjects else None


class Person(Record):
    """A teacher, student or administrator. Names in Vietnamese order: họ, tên đệm, tên."""

    role: Role
    citizen_id: CitizenId = Field(repr=False)
    family_name: Name = Field(min_length=1, description="họ")
    middle_name: Name = Field("", description="tên đệm, may be empty")
    given_name: Name = Field(min_length=1, description="tên")
    school_sourced_ids: tuple[SourcedId, ...] = Field(min_length=1)
    enabled: bool = True
    username: str | None = None
    email: str | None = None
    phone: str | None = None
    grade: Grade | None = None

    @model_validator(mode="after")
    def _short_id_is_not_the_citizen_id(self) -> Person:
        # The short id is shown on pages and written to logs: a CCCD there would leak it.
        if re.fullmatch(r"[0-9]{12}", self.sourced_id):
            raise PydanticCustomError(
                "sourced_id", "sourcedId must not be a 12-digit citizen ID: it is shown on pages and in logs"
            )
        return self

    @property
    def display_name(self) -> str:
        return " ".join(part for part in (self.family_name, self.middle_name, self.given_name) if part)


class Enrollment(Record):
    """A person in a class, as student or teacher."""

    class_sourced_id: SourcedId
    school_sourced_id: SourcedId
    person_sourced_id: SourcedId
    role: Role
    primary: bool = False
    begin_date: date | None = None
    end_date: date | None = None


class Roster(BaseModel):
    """One consistent set of records, keyed by sourcedId."""

    model_config = ConfigDict(extra="forbid")

    schools: dict[str, School] = Field(default_factory=dict)
    sessions: dict[str, AcademicSession] = Field(default_factory=dict)
    courses: dict[str, Course] = Field(default_factory=dict)
    classes: dict[str, Class] = Field(default_factory=dict)
    people: dict[str, Person] = Field(default_factory=dict)
    enrollments: dict[str, Enrollment] = Field(default_factory=dict)

    def members(self, class_sourced_id: str, role: Role) -> list[Person]:
        """People enrolled in a class with a role, in the order of a Vietnamese class list."""
        found = [
            self.people[e.person_sourced_id]
            for e in self.enrollments.values()
            if e.class_sourced_id == class_sourced_id
            and e.role == role
            and e.status != "tobedeleted"
            and e.person_sourced_id in self.people
        ]
        return sorted(found, key=lambda p: class_list_key(p.family_name, p.middle_name, p.given_name))


# --- Vietnamese alphabetical order ----------------------------------------------------------
# Class lists (sổ điểm, danh sách lớp) sort by given name, then family name, then middle name,
# in the Vietnamese alphabet (a ă â b c d đ e ê ...), tones ranking last: ngang, huyền, hỏi,
# ngã, sắc, nặng. Plain code-point order would put "Đức" after "Yến".

_ALPHABET = tuple("aăâbcdđeêfghijklmnoôơpqrstuưvwxyz")
_LETTER_RANK = {unicodedata.normalize("NFC", letter): rank for rank, letter in enumerate(_ALPHABET)}
_TONE_RANK = {"\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}


def vietnamese_key(text: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """A sort key: letters first (Vietnamese alphabet), tones only to break ties."""
    letters: list[int] = []
    tones: list[int] = []
    for char in unicodedata.normalize("NFD", text.casefold()):
        if char in _TONE_RANK:
            tones[-1:] = [_TONE_RANK[char]] if tones else []
            continue
        if unicodedata.combining(char) and letters:
            # breve, circumflex or horn: makes a different letter (a -> ă, o -> ơ)
            previous = _ALPHABET[letters[-1]] if letters[-1] < len(_ALPHABET) else ""
            composed = unicodedata.normalize("NFC", previous + char)
            letters[-1] = _LETTER_RANK.get(composed, letters[-1])
            continue
        letters.append(_LETTER_RANK.get(char, len(_ALPHABET) + ord(char)))
        tones.append(0)
    return tuple(letters), tuple(tones)


def class_list_key(
    family_name: str, middle_name: str, given_name: str
) -> tuple[tuple[tuple[int, ...], tuple[int, ...]], ...]:
    return (vietnamese_key(given_name), vietnamese_key(family_name), vietnamese_key(middle_name))
