"""What the teacher and the display see of a run: the class list, live results, the summary;
and what leaves the room afterwards: a lesson's results and a class's gradebook, made from the
gradebook's record of the stored statements (classroom_hub/lessons/gradebook.py), never from a
run in memory, so they are the same after a restart.

Marks: a question counts once someone answered it (one shown but never opened, or opened
and left unanswered by everyone, is listed and scores nothing); a student's mark is their points
over those questions' points, also on the 10-point scale Vietnamese schools use.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import TYPE_CHECKING, Any

from classroom_hub.lessons.answers import tidy
from classroom_hub.lessons.manifest import PollStep, QuizStep, Step

if TYPE_CHECKING:
    from classroom_hub.lessons.gradebook import AnswerRow, QuestionRow, RunRecord
    from classroom_hub.lessons.run import LessonRun

Student = tuple[str, str]  # sourcedId, name as the class list shows it
CHOICES_JOINED = "[,]"  # how xAPI joins the ids of a choice response

# A student "needs help" below this share of right answers, or when they answered fewer
# than this share of the questions asked while they were there.
LOW_SCORE = 0.5
FEW_ANSWERS = 0.5


def _kind(step: Step) -> str:
    return step.type if isinstance(step, QuizStep) else "poll"


def results_of(run: LessonRun, *, teacher: bool) -> dict[str, Any] | None:
    """Live results of the current question; right/wrong only for the teacher until revealed, and for
    the display the counts too (``hidden``), unless the teacher turned ``live_results`` on."""
    step = run.step
    question = run.questions.get(step.id)
    if question is None or not isinstance(step, QuizStep | PollStep):
        return None
    records = [seat.answers[step.id] for seat in run.seats.values() if step.id in seat.answers]
    out: dict[str, Any] = {
        "step": step.id,
        "index": run.index,
        "type": _kind(step),
        "prompt": step.prompt,
        "state": question.state,
        "revealed": question.revealed,
        "answered": len(records),
        "of": sum(1 for seat in run.seats.values() if seat.online),
        "choices": [{"id": c.id, "text": c.text} for c in step.choices],
    }
    if not teacher and not question.revealed and not run.state.values.get("live_results"):
        # The display shows how many answered, not what, until the teacher reveals the answer (or
        # turns live results on): a class that sees the vote follows the majority (lessons/tools.py).
        out["hidden"] = True
        return out
    counts: Counter[str] = Counter({c.id: 0 for c in step.choices})
    for record in records:
        if isinstance(record.value, list):
            counts.update(record.value)
    out["counts"] = dict(counts)
    if isinstance(step, QuizStep) and (teacher or question.revealed):
        right = sum(1 for r in records if r.correct)
        out.update(correct=right, wrong=len(records) - right)
        if question.revealed:
            out["right_choices"] = list(step.correct)
    if teacher and isinstance(step, QuizStep) and step.type == "short_answer":
        texts: Counter[str] = Counter(
            tidy(r.value, ignore_case=True, ignore_diacritics=False) for r in records if isinstance(r.value, str)
        )
        out["texts"] = [[text, n] for text, n in texts.most_common(10)]
    return out


def class_rows(run: LessonRun, *, teacher: bool) -> list[dict[str, Any]]:
    """One row per student: everything for the teacher, name and presence for the display."""
    if not teacher:
        return [{"name": s.name, "online": s.online} for s in run.seats.values() if s.joined]
    now = time.monotonic()
    rows = []
    for seat in run.seats.values():
        pending_ms = 0.0
        behind = max(0, run.state.rev - seat.acked_rev) if seat.online else 0
        if behind:
            published = run.state.published_at(seat.acked_rev + 1)
            pending_ms = (now - published) * 1000 if published is not None else 60_000.0
        rows.append(
            {
                "id": seat.sourced_id,
                "name": seat.name,
                "state": seat.state(),
                "at_step": seat.at_step,
                "behind": behind,
                "rtt_ms": seat.rtt_ms,
                "pending_ms": round(pending_ms),
                "quality": seat.quality(pending_ms),
                "hand": seat.hand,
                "answered": run.step.id in seat.answers,
                "answers": len(seat.answers),
                "points": sum(a.points for a in seat.answers.values()),
                "joins": seat.joins,
            }
        )
    return rows


def summarise(run: LessonRun) -> dict[str, Any]:
    """The end-of-lesson summary: attendance, each question, each student, who needs help."""
    seats = list(run.seats.values())
    asked = [s for s in run.steps if s.id in run.questions and run.questions[s.id].opened_at is not None]
    questions = []
    for step in asked:
        assert isinstance(step, QuizStep | PollStep)
        records = [seat.answers[step.id] for seat in seats if step.id in seat.answers]
        row: dict[str, Any] = {"step": step.id, "prompt": step.prompt, "type": _kind(step), "answered": len(records)}
        if isinstance(step, QuizStep):
            right = sum(1 for r in records if r.correct)
            row.update(points=step.points, correct=right,
                       percent=round(100 * right / len(records)) if records else None)  # fmt: skip
        else:
            counts: Counter[str] = Counter()
            for r in records:
                if isinstance(r.value, list):
                    counts.update(r.value)
            row["counts"] = {c.id: counts[c.id] for c in step.choices}
        questions.append(row)
    quizzes = [s for s in asked if isinstance(s, QuizStep)]
    maximum = sum(s.points for s in quizzes)
    students = []
    needs_help = []
    for seat in seats:
        marked = [seat.answers[q.id] for q in quizzes if q.id in seat.answers]
        right = sum(1 for r in marked if r.correct)
        points = sum(r.points for r in marked)
        students.append(
            {
                "id": seat.sourced_id,
                "name": seat.name,
                "present": seat.joined,
                "minutes": round(seat.present_s / 60, 1),
                "answered": len(marked),
                "correct": right,
                "points": points,
                "max": maximum,
                "hand": seat.hand,
            }
        )
        if not seat.joined:
            continue
        reasons = []
        if marked and right / len(marked) < LOW_SCORE:
            reasons.append("low_score")
        if quizzes and len(marked) < FEW_ANSWERS * len(quizzes):
            reasons.append("few_answers")
        if seat.hand:
            reasons.append("hand_raised")
        if reasons:
            needs_help.append({"id": seat.sourced_id, "name": seat.name, "reasons": reasons})
    present = [s for s in seats if s.joined]
    return {
        "run": run.id,
        "lesson": {"id": run.lesson.manifest.id, "title": run.lesson.manifest.title},
        "class": run.class_info,
        "started_at": run.started_at,
        "ended_at": run.ended_at,
        "attendance": {
            "present": len(present),
            "total": len(seats),
            "absent": [{"id": s.sourced_id, "name": s.name} for s in seats if not s.joined],
        },
        "questions": questions,
        "students": students,
        "needs_help": needs_help,
    }


# --- after the lesson: results and the gradebook ----------------------------------------------


def out_of_ten(points: float, maximum: float) -> float | None:
    return round(10 * points / maximum, 1) if maximum > 0 else None


def response_text(question: QuestionRow, response: str) -> str:
    """An answer as a person reads it: the choices' texts, or what the student typed."""
    if not question.choices:
        return response
    texts = dict(question.choices)
    return "; ".join(texts.get(part, part) for part in response.split(CHOICES_JOINED) if part)


def correct_text(question: QuestionRow) -> str:
    """The right answer of a quiz as a person reads it ("" for a poll)."""
    patterns = question.correct or []
    if question.choices:
        return " | ".join(response_text(question, pattern) for pattern in patterns)
    return " | ".join(patterns)


def scored(record: RunRecord) -> list[QuestionRow]:
    """The questions that count: quizzes someone answered, with their points."""
    answered = {a.step for a in record.answers}
    return [q for q in record.questions if q.kind == "quiz" and q.step in answered and q.points]


def lesson_results(record: RunRecord, class_list: list[Student]) -> dict[str, Any]:
    """One lesson run: each question with its results, each student with their answers and mark."""
    run = record.run
    counted = scored(record)
    maximum = sum(q.points or 0 for q in counted)
    by_student: dict[str, dict[str, AnswerRow]] = {}
    for answer in record.answers:
        by_student.setdefault(answer.student, {})[answer.step] = answer
    questions = []
    for number, q in enumerate(record.questions, start=1):
        answers = [a for a in record.answers if a.step == q.step]
        right = sum(1 for a in answers if a.correct)
        counts: Counter[str] = Counter()
        for a in answers:
            counts.update(part for part in a.response.split(CHOICES_JOINED) if part)
        questions.append({
            "step": q.step, "number": number, "kind": q.kind, "prompt": q.prompt, "points": q.points,
            "choices": [{"id": cid, "text": text, "count": counts[cid]} for cid, text in q.choices],
            "correct": correct_text(q) if q.kind == "quiz" else None,
            "answered": len(answers), "right": right if q.kind == "quiz" else None,
            "percent": round(100 * right / len(answers)) if answers and q.kind == "quiz" else None,
        })  # fmt: skip
    students: list[dict[str, Any]] = []
    for sourced_id, name in _everyone(class_list, record):
        mine = by_student.get(sourced_id, {})
        points = sum(mine[q.step].points or 0 for q in counted if q.step in mine)
        given = {
            q.step: {"response": got.response, "text": response_text(q, got.response), "correct": got.correct,
                     "points": got.points, "seconds": got.seconds, "at": got.at}
            for q in record.questions if (got := mine.get(q.step)) is not None
        }  # fmt: skip
        present = sourced_id in record.present
        students.append({
            "id": sourced_id, "name": name, "present": present, "answers": given,
            "answered": len(given), "right": sum(1 for a in mine.values() if a.correct),
            "points": points if present else None, "max": maximum,
            "score10": out_of_ten(points, maximum) if present else None,
        })  # fmt: skip
    present_marks: list[float] = [s["score10"] for s in students if s["score10"] is not None]
    return {
        "run": run.run,
        "class": {"id": run.class_id, "title": run.class_title},
        "lesson": {"id": run.lesson_id, "title": run.lesson_title},
        "teacher": run.teacher,
        "room": run.room,
        "started_at": run.started_at,
        "ended_at": run.ended_at,
        "max": maximum,
        "attendance": {"present": sum(1 for s in students if s["present"]), "total": len(students)},
        "average10": _mean(present_marks),
        "questions": questions,
        "students": students,
    }


def class_results(class_id: str, title: str, records: list[RunRecord], class_list: list[Student]) -> dict[str, Any]:
    """A class's gradebook: students x lesson runs (oldest first), marks out of 10, averages."""
    runs = []
    marks: dict[str, dict[str, float | None]] = {}
    for record in records:
        result = lesson_results(record, class_list)
        runs.append({"run": record.run.run, "lesson": result["lesson"], "started_at": record.run.started_at,
                     "max": result["max"], "average10": result["average10"]})  # fmt: skip
        for student in result["students"]:
            marks.setdefault(student["id"], {})[record.run.run] = student["score10"]
    everyone = list(dict.fromkeys([*class_list, *((sid, sid) for r in records for sid in r.present)]))
    names = dict(reversed(everyone))  # a roster name wins over a bare id
    students: list[dict[str, Any]] = []
    for sourced_id in dict.fromkeys(sid for sid, _ in everyone):
        row = marks.get(sourced_id, {})
        students.append({
            "id": sourced_id, "name": names[sourced_id],
            "marks": {r["run"]: row.get(r["run"]) for r in runs},
            "average10": _mean([m for m in row.values() if m is not None]),
            "absent": sum(1 for r in runs if row.get(r["run"]) is None),
        })  # fmt: skip
    return {
        "class": {"id": class_id, "title": title},
        "runs": runs,
        "students": students,
        "average10": _mean([s["average10"] for s in students if s["average10"] is not None]),
    }


def _everyone(class_list: list[Student], record: RunRecord) -> list[Student]:
    """The class list, then anyone who took part but is no longer on it (by their id)."""
    listed = {sid for sid, _ in class_list}
    extra = sorted({*record.present, *(a.student for a in record.answers)} - listed)
    return [*class_list, *((sid, sid) for sid in extra)]


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None
