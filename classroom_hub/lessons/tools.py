"""The teacher's classroom tools on a running lesson (docs/protocol.md, section 9).

Each tool is a key of the run's state (state.py), set whole through ``LessonRun.change``: it
reaches every screen as one revision, like a step change; a page that reloads finds it in its
welcome; and it is kept with the rest of the run. No tool keeps anything outside the state.

- ``timers``: ``{step id: {seconds, ends_at, left_s}}``, a countdown per activity: ``ends_at``
  (hub time) while it runs, ``left_s`` while paused;
- ``live_results``: true, the display shows an open question's answers as they come; false (the
  default), only once the teacher reveals them;
- ``picked``: ``{student: {id, name} or null, round: [ids]}``, the student picked at random;
  ``round`` holds those already picked: nobody twice until every present student was;
- ``groups``: ``{by: random or teacher, size, groups: [[{id, name}]]}``;
- ``sent``: ``{n, kind, to, title, ...}``, what the teacher sent to every tablet (``to`` null)
  or to some.
"""

from __future__ import annotations

import logging
import math
import random
from typing import TYPE_CHECKING, Any

from classroom_hub.lessons.errors import LessonError
from classroom_hub.lessons.links import LinkRefused, check_link
from classroom_hub.lessons.protocol import Groups, LiveResults, Pick, ProtocolError, Send, Timer, ToolMessage
from classroom_hub.lessons.views import asset_url, public_step

if TYPE_CHECKING:
    from classroom_hub.lessons.manifest import Lesson
    from classroom_hub.lessons.run import LessonRun
    from classroom_hub.lessons.seats import Seat

log = logging.getLogger(__name__)
_RANDOM = random.SystemRandom()

# How a tablet shows a file of the lesson, by its extension.
FILE_KINDS = {
    **dict.fromkeys((".png", ".jpg", ".jpeg", ".gif", ".webp", ".avif", ".bmp", ".svg"), "image"),
    **dict.fromkeys((".mp4", ".m4v", ".webm", ".ogv", ".mov"), "video"),
    **dict.fromkeys((".mp3", ".m4a", ".aac", ".oga", ".ogg", ".opus", ".wav", ".flac"), "audio"),
    ".pdf": "pdf",
    **dict.fromkeys((".html", ".htm"), "page"),
}


def handle(run: LessonRun, message: ToolMessage, *, now: float, links: list[str],
           rng: random.Random = _RANDOM) -> None:  # fmt: skip
    """Act on one tool message of the teacher; ``now`` is the hub's clock (countdowns are in it)."""
    if isinstance(message, Timer):
        timer(run, message, now)
    elif isinstance(message, LiveResults):
        if bool(run.state.values.get("live_results")) != message.on:
            run.change({"live_results": message.on})
            run.events.screens_changed()  # the display's results follow the switch
    elif isinstance(message, Pick):
        pick(run, message.action, rng)
    elif isinstance(message, Groups):
        groups(run, message, rng)
    else:
        send(run, message, links)


# --- before launching: the lesson's grade and the class's ------------------------------------


def check_grade(lesson: Lesson, school_class: dict[str, Any], *, confirm: bool, teacher: str) -> None:
    """A grade-10 lesson for a grade-7 class is refused (``grade_mismatch``) unless the teacher confirmed it."""
    grade = school_class.get("grade")
    number = int(grade) if isinstance(grade, str) and grade.isdigit() else None  # "07"; not "KG"
    if number is None or number == lesson.grade:
        return
    if not confirm:
        raise ProtocolError("grade_mismatch", f"this lesson is for grade {lesson.grade} and {school_class['title']} "
                            f"is grade {number}: launch with confirm: true to teach it anyway", "launch")  # fmt: skip
    log.info("event=lesson_grade_mismatch_confirmed lesson=%s lesson_grade=%d class=%s class_grade=%d teacher=%s",
             lesson.id, lesson.grade, school_class["id"], number, teacher)  # fmt: skip


# --- the countdown of each activity ------------------------------------------------------


def timer(run: LessonRun, message: Timer, now: float) -> None:
    step = run.step.id
    timers: dict[str, dict[str, Any]] = dict(run.state.values.get("timers") or {})
    current = timers.get(step)
    if message.action == "clear":
        if current is None:
            return
        del timers[step]
    elif message.action == "start" or current is None:
        if message.action in ("pause", "resume"):
            raise ProtocolError("no_timer", "this step has no countdown: start one first", "timer")
        assert message.seconds is not None
        timers[step] = {"seconds": message.seconds, "ends_at": now + message.seconds, "left_s": None}
    elif message.action == "add":
        assert message.seconds is not None
        seconds = current["seconds"] + message.seconds
        if current["ends_at"] is None:
            timers[step] = {"seconds": seconds, "ends_at": None, "left_s": current["left_s"] + message.seconds}
        else:
            timers[step] = {"seconds": seconds, "ends_at": max(current["ends_at"], now) + message.seconds,
                            "left_s": None}  # fmt: skip
    elif message.action == "pause":
        if current["ends_at"] is None:
            return
        timers[step] = {**current, "ends_at": None, "left_s": round(max(0.0, current["ends_at"] - now), 1)}
    else:  # resume
        if current["ends_at"] is not None:
            return
        timers[step] = {**current, "ends_at": now + current["left_s"], "left_s": None}
    run.change({"timers": timers})


# --- the random picker --------------------------------------------------------------------


def pick(run: LessonRun, action: str, rng: random.Random) -> None:
    last = run.state.values.get("picked") or {"student": None, "round": []}
    if action == "clear":
        if last["student"] is not None:
            run.change({"picked": {"student": None, "round": last["round"]}})
        return
    present = [seat for seat in run.seats.values() if seat.online]
    if not present:
        raise ProtocolError("nobody", "no student is in the lesson to pick", "pick")
    done = set(last["round"])
    candidates = [seat for seat in present if seat.sourced_id not in done]
    round_ = list(last["round"])
    if not candidates:  # everyone present has had a turn: a new round, not the same student twice running
        before = last["student"]["id"] if last["student"] else None
        candidates = [seat for seat in present if seat.sourced_id != before] or present
        round_ = []
    chosen = rng.choice(candidates)
    round_.append(chosen.sourced_id)
    run.change({"picked": {"student": _person(chosen), "round": round_}})


# --- pairs and groups ---------------------------------------------------------------------


def groups(run: LessonRun, message: Groups, rng: random.Random) -> None:
    if message.action == "clear":
        if run.state.values.get("groups") is not None:
            run.change({"groups": None})
        return
    if message.action == "random":
        assert message.size is not None
        present = [seat for seat in run.seats.values() if seat.online]
        if len(present) < 2:
            raise ProtocolError("nobody", "fewer than two students are in the lesson: nobody to group", "groups")
        rng.shuffle(present)
        count = group_count(len(present), message.size)
        made = [present[i::count] for i in range(count)]
        run.change({"groups": {"by": "random", "size": message.size,
                               "groups": [[_person(s) for s in group] for group in made]}})  # fmt: skip
        return
    assert message.groups is not None
    seen: set[str] = set()
    made_by_teacher = []
    for group in message.groups:
        members = []
        for student in group:
            if student in seen:
                raise ProtocolError("invalid", f"{student} is in two groups", "groups")
            seen.add(student)
            members.append(_person(run.seat(student)))
        made_by_teacher.append(members)
    run.change({"groups": {"by": "teacher", "size": None, "groups": made_by_teacher}})


def group_count(students: int, size: int) -> int:
    """How many groups ``students`` make in groups of ``size``: sizes differ by one at most, and
    nobody is left alone or nearly (7 in pairs: 3, 2, 2; 3 in pairs: 3; 7 by four: 4, 3; 5 by four: 5)."""
    count = math.ceil(students / size)
    while count > 1 and students // count < max(2, size - 1):
        count -= 1
    return count


# --- sending a page, a link or a file to tablets ------------------------------------------


def send(run: LessonRun, message: Send, links: list[str]) -> None:
    last = run.state.values.get("sent")
    number = (last["n"] if last else 0) + 1
    to = None
    if message.to is not None:
        to = list(dict.fromkeys(run.seat(student).sourced_id for student in message.to))
    item: dict[str, Any] = {"n": number, "kind": message.kind, "to": to, "title": message.title}
    if message.kind == "step":
        assert message.step is not None
        if not 0 <= message.step < len(run.steps):
            raise ProtocolError("unknown_step", f"step {message.step} does not exist (0-{len(run.steps) - 1})",
                                "send")  # fmt: skip
        view = public_step(run.lesson, message.step, run.files)
        item.update(step=view, title=message.title or view["title"] or view.get("prompt") or view["id"])
    elif message.kind == "link":
        assert message.url is not None
        try:
            item.update(url=check_link(message.url, links))
        except LinkRefused as err:
            raise ProtocolError("link_not_allowed", str(err), "send") from None
        item["title"] = message.title or item["url"]
    elif message.kind == "file":
        assert message.path is not None
        try:
            name = run.lesson.asset(message.path).path
        except LessonError:
            raise ProtocolError("unknown_file", f"{message.path!r} is not a file of this lesson", "send") from None
        extension = name[name.rfind(".") :].lower() if "." in name else ""
        item.update(url=asset_url(run.files, name), path=name, file=FILE_KINDS.get(extension, "file"),
                    title=message.title or name.rsplit("/", 1)[-1])  # fmt: skip
    else:
        item.update(to=None, title=None)
    run.change({"sent": item})


def _person(seat: Seat) -> dict[str, str]:
    return {"id": seat.sourced_id, "name": seat.name}
