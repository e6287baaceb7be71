"""The WebSocket lesson protocol: every message both ways, in one place (docs/protocol.md).

Inbound messages (tablet, teacher, display -> hub) are pydantic models, one union per
role, validated straight from the frame's text by pydantic's JSON parser. A message a role
may not send is refused with ``forbidden``, so a student's tablet can never run a teacher
command whatever it sends. Bad input becomes a :class:`ProtocolError` with a code and a
message naming the field; the connection stays open.

Outbound messages (hub -> clients) are built as plain dicts and encoded once by
:func:`encode`: a step change is serialised one time and the same bytes go to every
tablet. Their shapes are the ``*Out`` models below, which tests validate every received
frame against, so this file and the documentation cannot drift apart unnoticed.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from classroom_hub.lessons.errors import LessonError, Problem
from classroom_hub.lessons.manifest import SLUG_PATTERN
from classroom_hub.problems import where
from config.options import ID_PATTERN

Role = Literal["student", "teacher", "display"]
ROLES: tuple[Role, ...] = ("student", "teacher", "display")

MAX_FRAME_BYTES = 64 * 1024
MAX_REV = 2**53  # JavaScript's safe integers

ClientKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{8,64}$")]
Token = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{16,64}$")]
RunId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f-]{36}$")]
StepId = Annotated[str, StringConstraints(pattern=SLUG_PATTERN)]
SourcedId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
LessonKey = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
Rev = Annotated[int, Field(ge=0, le=MAX_REV)]


class ProtocolError(LessonError):
    """A message the hub will not act on; ``code`` is what the client gets in its ``error``."""

    def __init__(self, code: str, message: str, ref: str | None = None) -> None:
        super().__init__([Problem("websocket", ref or "", message)])
        self.code = code
        self.message = message
        self.ref = ref


class Inbound(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    t: str


# --- tablet -> hub ----------------------------------------------------------------------


class Hello(Inbound):
    """First message of a tablet: its seat token (from POST /api/lesson/join) and where it was."""

    t: Literal["hello"]
    token: Token
    run: RunId | None = None
    rev: Rev | None = None


class Ack(Inbound):
    """"I have applied revision ``rev``"; ``beat`` echoes the heartbeat it answers."""

    t: Literal["ack"]
    rev: Rev
    beat: int | None = Field(None, ge=0)


class Resume(Inbound):
    """"I missed something after ``rev``": the hub answers with the changes since."""

    t: Literal["resume"]
    rev: Rev


class Answer(Inbound):
    """An answer; ``id`` is made by the tablet once, so a resend is recognised and counted once."""

    t: Literal["answer"]
    id: ClientKey
    step: StepId
    choice: list[StepId] | None = Field(None, min_length=1, max_length=12)
    text: Annotated[str, StringConstraints(max_length=500)] | None = None
    elapsed_ms: int | None = Field(None, ge=0, le=24 * 3600 * 1000)

    @model_validator(mode="after")
    def _one_value(self) -> Self:
        if (self.choice is None) == (self.text is None):
            raise ValueError("give exactly one of 'choice' (choice ids) or 'text'")
        return self


class Hand(Inbound):
    t: Literal["hand"]
    up: bool


class Status(Inbound):
    """How the tablet is (lessons/tablets.py): its page shown or hidden (Page Visibility), its
    battery in % (Battery API, when the browser has it), and the id of the room's device whose
    agent runs beside the page (``/join?device=T07``): its MQTT status gives the battery otherwise."""

    t: Literal["status"]
    visible: bool
    battery: float | None = Field(None, ge=0, le=100)
    charging: bool | None = None
    device: Annotated[str, StringConstraints(pattern=ID_PATTERN)] | None = None


class Shown(Inbound):
    """"What the teacher sent (``sent.n`` of the state) is on my screen"."""

    t: Literal["shown"]
    n: int = Field(ge=1, le=MAX_REV)


# --- teacher -> hub ---------------------------------------------------------------------


class Launch(Inbound):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    t: Literal["launch"]
    lesson: LessonKey | Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{8,64}$")]
    class_id: SourcedId = Field(alias="class")
    confirm: bool = False  # launch even though the lesson is for another grade than the class


class Goto(Inbound):
    t: Literal["goto"]
    step: int = Field(ge=0, le=10000)


class Next(Inbound):
    t: Literal["next"]


class Prev(Inbound):
    t: Literal["prev"]


class Lock(Inbound):
    """Lock every tablet on an "eyes on the teacher" screen (``on``) or let them go."""

    t: Literal["lock"]
    on: bool


class Question(Inbound):
    """Drive the quiz or poll of the current step."""

    t: Literal["question"]
    action: Literal["start", "close", "reveal"]


class Lower(Inbound):
    """Lower one student's hand, or every hand when ``student`` is left out."""

    t: Literal["lower"]
    student: SourcedId | None = None


class Resync(Inbound):
    """Push a full snapshot to one student's tablet."""

    t: Literal["resync"]
    student: SourcedId


class End(Inbound):
    t: Literal["end"]


# --- teacher -> hub: the classroom tools (lessons/tools.py) ----------------------------------

Seconds = Annotated[int, Field(ge=1, le=4 * 3600)]
MAX_STUDENTS = 200


class Timer(Inbound):
    """The countdown of the current step: ``start`` (or ``add``) ``seconds``, ``pause``, ``resume``, ``clear``."""

    t: Literal["timer"]
    action: Literal["start", "add", "pause", "resume", "clear"]
    seconds: Seconds | None = None

    @model_validator(mode="after")
    def _seconds(self) -> Self:
        if (self.action in ("start", "add")) != (self.seconds is not None):
            raise ValueError("'seconds' goes with start and add, and only with them")
        return self


class LiveResults(Inbound):
    """Show the open question's answers on the display as they come (``on``), or only once revealed."""

    t: Literal["live_results"]
    on: bool


class Pick(Inbound):
    """Pick a present student at random (``next``; nobody twice until all were picked), or hide the pick."""

    t: Literal["pick"]
    action: Literal["next", "clear"] = "next"


class Groups(Inbound):
    """Make groups of ``size`` from the present students at random, ``set`` the teacher's groups, or ``clear``."""

    t: Literal["groups"]
    action: Literal["random", "set", "clear"]
    size: int | None = Field(None, ge=2, le=20)
    groups: list[Annotated[list[SourcedId], Field(min_length=1, max_length=MAX_STUDENTS)]] | None = Field(
        None, min_length=1, max_length=100
    )

    @model_validator(mode="after")
    def _fields(self) -> Self:
        if (self.action == "random") != (self.size is not None):
            raise ValueError("'size' goes with random, and only with it")
        if (self.action == "set") != (self.groups is not None):
            raise ValueError("'groups' goes with set, and only with it")
        return self


class Send(Inbound):
    """Show a step (``step``: its index), a link (``url``) or a file of the lesson (``path``) on
    the tablets of ``to`` (student ids; every tablet when left out); ``none`` takes it back."""

    t: Literal["send"]
    kind: Literal["step", "link", "file", "none"]
    step: int | None = Field(None, ge=0, le=10000)
    url: Annotated[str, StringConstraints(min_length=1, max_length=2000)] | None = None
    path: Annotated[str, StringConstraints(min_length=1, max_length=300)] | None = None
    title: Annotated[str, StringConstraints(max_length=120)] | None = None
    to: list[SourcedId] | None = Field(None, min_length=1, max_length=MAX_STUDENTS)

    @model_validator(mode="after")
    def _one_target(self) -> Self:
        given = {name for name in ("step", "url", "path") if getattr(self, name) is not None}
        needed = {"step": {"step"}, "link": {"url"}, "file": {"path"}, "none": set()}[self.kind]
        if given != needed:
            what = f"'{next(iter(needed))}'" if needed else "no step, url or path"
            raise ValueError(f"a send of kind {self.kind!r} takes {what}")
        return self


ToolMessage = Timer | LiveResults | Pick | Groups | Send

StudentMessage = Annotated[Hello | Ack | Resume | Answer | Hand | Status | Shown, Field(discriminator="t")]
TeacherMessage = Annotated[
    Ack | Resume | Launch | Goto | Next | Prev | Lock | Question | Lower | Resync | End | ToolMessage,
    Field(discriminator="t"),
]
DisplayMessage = Annotated[Ack, Field(discriminator="t")]

_READERS: dict[Role, TypeAdapter[Any]] = {
    "student": TypeAdapter(StudentMessage),
    "teacher": TypeAdapter(TeacherMessage),
    "display": TypeAdapter(DisplayMessage),
}
_TYPES: dict[Role, frozenset[str]] = {
    "student": frozenset({"hello", "ack", "resume", "answer", "hand", "status", "shown"}),
    "teacher": frozenset(
        {"ack", "resume", "launch", "goto", "next", "prev", "lock", "question", "lower", "resync", "end"}
        | {"timer", "live_results", "pick", "groups", "send"}
    ),
    "display": frozenset({"ack"}),
}
ALL_TYPES = frozenset().union(*_TYPES.values())


def read(role: Role, text: str | bytes) -> Inbound:
    """Validate one frame from a client of ``role``; :class:`ProtocolError` says what is wrong."""
    if len(text) > MAX_FRAME_BYTES:
        raise ProtocolError("too_large", f"a message may be at most {MAX_FRAME_BYTES} bytes")
    try:
        message: Inbound = _READERS[role].validate_json(text, strict=True)
        return message
    except ValidationError as err:
        raise _explain(role, text, err) from err


def _explain(role: Role, text: str | bytes, err: ValidationError) -> ProtocolError:
    first = err.errors()[0]
    kind = first["type"]
    if kind == "json_invalid":
        return ProtocolError("bad_json", f"not valid JSON: {first['ctx'].get('error', first['msg'])}")
    if kind in ("union_tag_invalid", "union_tag_not_found", "model_attributes_type", "model_type"):
        try:
            raw = json.loads(text)
        except ValueError:
            raw = None
        tag = raw.get("t") if isinstance(raw, dict) else None
        if not isinstance(raw, dict):
            return ProtocolError("invalid", "a message is one JSON object with a type field 't'")
        if tag is None:
            return ProtocolError("invalid", "missing the type field 't'")
        if isinstance(tag, str) and tag in ALL_TYPES:
            return ProtocolError("forbidden", f"a {role} may not send {tag!r}", ref=tag)
        return ProtocolError("unknown_type", f"unknown message type {str(tag)[:40]!r}", ref=str(tag)[:40])
    place = where(first["loc"][1:], "message")
    tag = str(first["loc"][0]) if first["loc"] else None
    return ProtocolError("invalid", f"{place}: {first['msg'].removeprefix('Value error, ')}", ref=tag)


# --- hub -> clients ---------------------------------------------------------------------


def encode(message: dict[str, Any]) -> bytes:
    """The UTF-8 JSON text of one outbound message (compact; Vietnamese kept as is)."""
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def error(code: str, message: str, ref: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"t": "error", "code": code, "message": message}
    if ref is not None:
        out["ref"] = ref
    return out


class Outbound(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WelcomeOut(Outbound):
    """Answer to a hello (tablets) or to connecting (teacher, display)."""

    t: Literal["welcome"]
    role: Role
    run: str | None
    rev: int
    mode: Literal["snapshot", "delta"]
    state: dict[str, Any]
    beat_s: float
    ts: float | None = None  # the hub's clock (Unix seconds), as in a beat: for countdowns
    me: dict[str, Any] | None = None
    student: dict[str, str] | None = None


class DeltaOut(Outbound):
    t: Literal["delta"]
    rev: int
    set: dict[str, Any]
    since: int | None = None


class BeatOut(Outbound):
    t: Literal["beat"]
    n: int
    rev: int
    ts: float


class AnsweredOut(Outbound):
    t: Literal["answered"]
    id: str
    step: str
    duplicate: bool


class MeOut(Outbound):
    t: Literal["me"]
    me: dict[str, Any]


class ErrorOut(Outbound):
    t: Literal["error"]
    code: str
    message: str
    ref: str | None = None


class ClassOut(Outbound):
    t: Literal["class"]
    students: list[dict[str, Any]]
    joined: int
    total: int
    partial: bool = False  # only the students whose row changed (teacher)


class ResultsOut(Outbound):
    t: Literal["results"]
    results: dict[str, Any] | None


class SummaryOut(Outbound):
    t: Literal["summary"]
    summary: dict[str, Any]


class ByeOut(Outbound):
    t: Literal["bye"]
    reason: Literal["replaced", "relaunched", "unpaired"]  # the reasons docs/protocol.md gives, all the hub sends


class HeadsetResultOut(Outbound):
    device_id: str
    outcome: Literal["ok", "fetching", "failed", "no_reply", "offline", "unknown_device"]
    error: str | None


class HeadsetRowOut(Outbound):
    """One headset's state on a launch (classroom_hub/fleet/scenes/launcher.py ``rows``)."""

    device_id: str
    # showing, model_failed: an AR device on a ``model`` step (reason: no_reply, refused, no_address, ...)
    state: Literal["playing", "launching", "launch_failed", "downloading", "fetch_failed", "waiting", "offline",
                   "showing", "model_failed"]  # fmt: skip
    copy_: Literal["missing", "downloading", "ready", "failed"] = Field(alias="copy")
    percent: int | None
    reason: str | None  # a code the page translates: hash_mismatch, http_error, no_storage, network, ...
    detail: str | None  # the headset's own words


class HeadsetsOut(Outbound):
    """Teacher only: the room's headsets following a ``vr_scene`` step (launch on entering it,
    ``home`` on leaving it), and its AR devices following a ``model`` step (``open_model``,
    ``close_model``), once when the command goes out and once with the outcome."""

    t: Literal["headsets"]
    step: str
    scene: str | None = None  # vr_scene steps
    model: str | None = None  # model steps: the model's file in the lesson
    command: Literal["launch_scene", "home", "open_model", "close_model"]
    state: Literal["sending", "done", "not_on_hub"]  # not_on_hub: the hub has no scene with the step's sha256
    total: int
    counts: dict[str, int] | None = None  # done: headsets per outcome
    summary: str | None = None  # done: "38/40 launched, 2 offline: H07, H22" (English, for logs)
    results: list[HeadsetResultOut] | None = None  # done: one per headset
    rows: list[HeadsetRowOut] | None = None  # launch_scene: every headset's state, again as downloads progress
    content_id: str | None = None  # not_on_hub: the scene to import (classroom-hub scene import)


class RoomOut(Outbound):
    """Teacher only, right after its welcome: the room the lesson runs in and what it allows."""

    t: Literal["room"]
    kind: Literal["classroom", "stem_lab", "studio"]
    robots: int  # robots in the room file: the lab card (and its emergency stop) stays open
    links: list[str]  # where a link may point besides the hub's own pages ([lessons] links)


ServerMessage = Annotated[
    WelcomeOut | DeltaOut | BeatOut | AnsweredOut | MeOut | ErrorOut | ClassOut | ResultsOut | SummaryOut | ByeOut
    | HeadsetsOut | RoomOut,
    Field(discriminator="t"),
]
SERVER_MESSAGE: TypeAdapter[Any] = TypeAdapter(ServerMessage)
