"""xAPI 1.0.3 statements: the one place the hub builds them, so every package records alike.

Specification: ADL, *Experience API (xAPI) 1.0.3*, Part Two "Experience API Data"
(https://github.com/adlnet/xAPI-Spec/blob/1.0.3/xAPI-Data.md): statement properties
(2.4), agents with an ``account`` (2.4.2.3), verbs (2.4.3), activity definitions and
interaction activities (2.4.4.1), result (2.4.5), context (2.4.6), timestamps (2.4.7),
durations in ISO 8601 (4.6).

Three rules make statements safe to send more than once:

* **Stable ids.** A statement's ``id`` is a UUID version 5 of :data:`NAMESPACE` and the
  event's natural key (lesson run, verb, student, step, ordinal), so the same event built
  twice - after a crash, a resend, a replay - is the same statement, and the store and
  the central database keep it once.
* **Actors are roster accounts.** ``{"account": {"homePage": <roster home>, "name":
  <sourcedId>}}``: the short roster id, never a citizen ID, no name, no e-mail.
* **Where it happened** rides in ``context``: the lesson run as ``registration``, the
  class and room as ``grouping`` activities, and the school code, room id and class id as
  extensions, so the central side can file statements without looking anything up.

Verbs are ADL's where one exists; join and leave come from Activity Streams, as the
xAPI Virtual Classroom profile uses them. ADL has no verb for raising a hand: we follow
the Virtual Classroom profile's ``reacted`` / ``unreacted`` with the raised-hand emoji as
result extension (the same profile BigBlueButton's xAPI export uses), rather than
inventing a verb no LRS report knows.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, NamedTuple
from urllib.parse import quote, urlsplit

XAPI_VERSION = "1.0.3"

# uuid5(NAMESPACE_URL, "https://w3id.org/classroom-hub/xapi/statements"); fixed forever:
# changing it would give every event a new id and break exactly-once delivery.
NAMESPACE = uuid.UUID("88cb06f2-61d8-5ee1-8c6d-a8a66a28df29")

# Our own vocabulary (extension keys): a permanent-identifier base, not a server we run.
VOCABULARY = "https://w3id.org/classroom-hub/xapi"
EXT_SCHOOL = f"{VOCABULARY}/extensions/school-code"
EXT_ROOM = f"{VOCABULARY}/extensions/room-id"
EXT_CLASS = f"{VOCABULARY}/extensions/class-id"
EXT_STEP_INDEX = f"{VOCABULARY}/extensions/step-index"
EXT_EMOJI = "https://w3id.org/xapi/virtual-classroom/extensions/emoji"
RAISED_HAND = "U+270B"  # ✋
DEFAULT_HOME_PAGE = "http://classroom-hub.local"


class Verb(NamedTuple):
    id: str
    en: str
    vi: str


VERBS: dict[str, Verb] = {
    "launched": Verb("http://adlnet.gov/expapi/verbs/launched", "launched", "đã bắt đầu"),
    "joined": Verb("http://activitystrea.ms/join", "joined", "đã vào lớp"),
    "left": Verb("http://activitystrea.ms/leave", "left", "đã rời lớp"),
    "experienced": Verb("http://adlnet.gov/expapi/verbs/experienced", "experienced", "đã xem"),
    "answered": Verb("http://adlnet.gov/expapi/verbs/answered", "answered", "đã trả lời"),
    "completed": Verb("http://adlnet.gov/expapi/verbs/completed", "completed", "đã hoàn thành"),
    "raised_hand": Verb("https://w3id.org/xapi/virtual-classroom/verbs/reacted", "raised hand", "đã giơ tay"),
    "lowered_hand": Verb("https://w3id.org/xapi/virtual-classroom/verbs/unreacted", "lowered hand", "đã hạ tay"),
}
VerbName = Literal["launched", "joined", "left", "experienced", "answered", "completed", "raised_hand", "lowered_hand"]

ADL_ACTIVITY = "http://adlnet.gov/expapi/activities/"
ACTIVITY_TYPES: dict[str, str] = {
    "lesson": ADL_ACTIVITY + "lesson",
    "slide": ADL_ACTIVITY + "media",
    "video": "https://w3id.org/xapi/video/activity-type/video",
    "quiz": ADL_ACTIVITY + "cmi.interaction",
    "poll": ADL_ACTIVITY + "cmi.interaction",
    "vr_scene": ADL_ACTIVITY + "simulation",
    "experiment": ADL_ACTIVITY + "performance",
    "pdf": ADL_ACTIVITY + "file",
    "model": ADL_ACTIVITY + "media",
    "class": ADL_ACTIVITY + "course",
    "room": "http://id.tincanapi.com/activitytype/place",
}


def statement_id(*natural_key: str) -> str:
    """The stable id of the event named by ``natural_key`` (parts joined by U+001F)."""
    return str(uuid.uuid5(NAMESPACE, "\x1f".join(natural_key)))


def home_page(xapi_url: str | None, public_url: str | None) -> str:
    """The roster's home page for account actors: the central system when there is one."""
    for url in (xapi_url, public_url):
        if url:
            parts = urlsplit(url)
            if parts.scheme and parts.netloc:
                return f"{parts.scheme}://{parts.netloc}"
    return DEFAULT_HOME_PAGE


def iso_timestamp(when: datetime | float) -> str:
    """``2026-03-02T08:15:30.250Z``: UTC with milliseconds (xAPI 2.4.7)."""
    if not isinstance(when, datetime):
        when = datetime.fromtimestamp(when, UTC)
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def iso_duration(seconds: float) -> str:
    """ISO 8601 duration with 0.01 s precision (xAPI 4.6): 75.5 -> ``PT1M15.5S``."""
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"a duration must be a finite number of seconds >= 0, not {seconds!r}")
    centis = round(seconds * 100)
    hours, centis = divmod(centis, 360000)
    minutes, centis = divmod(centis, 6000)
    secs = f"{centis / 100:.2f}".rstrip("0").rstrip(".")
    out = "PT"
    if hours:
        out += f"{hours}H"
    if minutes:
        out += f"{minutes}M"
    if secs != "0" or out == "PT":
        out += f"{secs}S"
    return out


def agent(home: str, name: str) -> dict[str, Any]:
    """An actor known by its roster account (sourcedId, or a hub username for teachers)."""
    return {"objectType": "Agent", "account": {"homePage": home, "name": name}}


def _lang_map(text: str, language: str) -> dict[str, str]:
    return {language: text}


def activity(
    activity_id: str,
    kind: str,
    name: str | None = None,
    language: str = "vi",
    **definition: Any,
) -> dict[str, Any]:
    """An activity object; ``definition`` adds interaction fields (``interactionType``, ``choices``...)."""
    body: dict[str, Any] = {"type": ACTIVITY_TYPES[kind]}
    if name:
        body["name"] = _lang_map(name, language)
    body.update({k: v for k, v in definition.items() if v is not None})
    return {"objectType": "Activity", "id": activity_id, "definition": body}


def verb(name: VerbName) -> dict[str, Any]:
    v = VERBS[name]
    return {"id": v.id, "display": {"en-US": v.en, "vi": v.vi}}


def score(points: float, maximum: float) -> dict[str, float]:
    """A score with ``scaled`` in [0, 1] (xAPI 2.4.5.1)."""
    out: dict[str, float] = {"raw": points, "min": 0, "max": maximum}
    if maximum > 0:
        out["scaled"] = round(max(0.0, min(1.0, points / maximum)), 4)
    return out


def choice_response(choices: Sequence[str]) -> str:
    """A ``choice`` interaction's response: ids joined by ``[,]`` (xAPI 2.4.4.1.1)."""
    return "[,]".join(choices)


@dataclass(frozen=True)
class Setting:
    """Where and in which run the statements of one lesson happen; builds them all."""

    home: str
    school_code: str
    room_id: str
    room_name: str
    class_id: str
    class_title: str
    lesson_id: str
    lesson_title: str
    language: str
    registration: str  # the lesson run's id (a UUID)
    instructor: str  # the teacher's hub account name

    def iri(self, *parts: str) -> str:
        return self.home + "/xapi/" + "/".join(quote(p, safe="") for p in parts)

    @property
    def lesson_iri(self) -> str:
        return self.iri("lessons", self.lesson_id)

    def step_iri(self, step_id: str) -> str:
        return self.iri("lessons", self.lesson_id, "steps", step_id)

    def lesson_activity(self) -> dict[str, Any]:
        return activity(self.lesson_iri, "lesson", self.lesson_title, self.language)

    def context(self, *, in_lesson: bool, extensions: Mapping[str, Any] | None = None) -> dict[str, Any]:
        room = self.iri("schools", self.school_code, "rooms", self.room_id)
        grouping = [
            activity(self.iri("classes", self.class_id), "class", self.class_title, self.language),
            activity(room, "room", self.room_name, self.language),
        ]
        activities: dict[str, Any] = {"grouping": grouping}
        if in_lesson:
            activities["parent"] = [self.lesson_activity()]
        ext: dict[str, Any] = {EXT_SCHOOL: self.school_code, EXT_ROOM: self.room_id, EXT_CLASS: self.class_id}
        ext.update(extensions or {})
        return {
            "registration": self.registration,
            "instructor": agent(self.home, self.instructor),
            "platform": "classroom-hub",
            "language": self.language,
            "contextActivities": activities,
            "extensions": ext,
        }

    def statement(
        self,
        key: Sequence[str],
        actor: str,
        verb_name: VerbName,
        obj: dict[str, Any],
        when: datetime | float,
        *,
        result: dict[str, Any] | None = None,
        in_lesson: bool = True,
        extensions: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """One statement; ``key`` names the event within this run (its id is derived from it)."""
        out: dict[str, Any] = {
            "id": statement_id(self.registration, verb_name, *key),
            "actor": agent(self.home, actor),
            "verb": verb(verb_name),
            "object": obj,
            "context": self.context(in_lesson=in_lesson, extensions=extensions),
            "timestamp": iso_timestamp(when),
            "version": XAPI_VERSION,
        }
        if result:
            out["result"] = result
        return out
