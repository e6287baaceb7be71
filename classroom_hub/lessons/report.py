"""What the teacher and the display see of a run: the class list, live results, the summary."""

from __future__ import annotations

import time
from collections import Counter
from typing import TYPE_CHECKING, Any

from classroom_hub.lessons.answers import tidy
from classroom_hub.lessons.manifest import PollStep, QuizStep, Step

if TYPE_CHECKING:
    from classroom_hub.lessons.run import LessonRun

# A student "needs help" below this share of right answers, or when they answered fewer
# than this share of the questions asked while they were there.
LOW_SCORE = 0.5
FEW_ANSWERS = 0.5


def _kind(step: Step) -> str:
    return step.type if isinstance(step, QuizStep) else "poll"


def results_of(run: LessonRun, *, teacher: bool) -> dict[str, Any] | None:
    """Live results of the current question; right/wrong only for the teacher until revealed."""
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
