"""Schools, classes, teachers and students: OneRoster 1.1 bundles in and out, and the hub's offline cache.

See docs/roster.md. The citizen ID (CCCD) is kept for the central database only: pages and
lessons use the short ``sourced_id``.
"""

from classroom_hub.roster.cache import ClassEntry, Member, PersonCard, RosterCache
from classroom_hub.roster.citizen_id import CitizenIdError, CitizenIdFacts, mask_citizen_id, read_citizen_id
from classroom_hub.roster.errors import BundleError, RosterError
from classroom_hub.roster.models import (
    AcademicSession,
    Class,
    Course,
    Enrollment,
    Person,
    Roster,
    School,
)
from classroom_hub.roster.oneroster import ImportReport, Problem, export_oneroster, import_oneroster

__all__ = [
    "AcademicSession",
    "BundleError",
    "CitizenIdError",
    "CitizenIdFacts",
    "Class",
    "ClassEntry",
    "Course",
    "Enrollment",
    "ImportReport",
    "Member",
    "Person",
    "PersonCard",
    "Problem",
    "Roster",
    "RosterCache",
    "RosterError",
    "School",
    "export_oneroster",
    "import_oneroster",
    "mask_citizen_id",
    "read_citizen_id",
]
