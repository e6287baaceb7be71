"""One lesson being taught: the steps, the lock, the questions, the seats and their answers.

Everything here is synchronous and decides; it never waits on the network. What must
reach the screens goes through :class:`RunEvents`: a state change as a new revision
(``publish``), a private message for one tablet (``tell``), "the teacher's view changed"
(``screens_changed``) and each learning event as an xAPI statement (``record``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
import time
from dataclasses import dataclass
from typing import Any, Protocol

from classroom_hub import xapi
from classroom_hub.lessons.answers import is_correct, points_for
from classroom_hub.lessons.library import StoredLesson
from classroom_hub.lessons.manifest import PollStep, QuizStep, Step
from classroom_hub.lessons.protocol import Answer, ProtocolError
from classroom_hub.lessons.report import class_rows, results_of, summarise
from classroom_hub.lessons.seats import AnswerRecord, Seat
from classroom_hub.lessons.state import LessonState
from classroom_hub.lessons.statements import step_activity
from classroom_hub.lessons.views import is_question, outline, public_step, reveal_of

ANSWER_GRACE_S = 2.0  # answers sent just before the bell still count (the network is slower than the clock)


class RunEvents(Protocol):
    def publish(self, rev: int, values: dict[str, Any]) -> None: ...
    def tell(self, seat: Seat, message: dict[str, Any]) -> None: ...
    def screens_changed(self) -> None: ...
    def record(self, statement: dict[str, Any]) -> None: ...


@dataclass
class QuestionRun:
    step: str
    state: str = "ready"  # ready | open | closed
    revealed: bool = False
    opened_at: float | None = None  # wall clock
    opened_mono: float = 0.0
    deadline: float | None = None  # wall clock
    timer: asyncio.TimerHandle | None = None

    def public(self) -> dict[str, Any]:
        return {"step": self.step, "state": self.state, "revealed": self.revealed, "deadline": self.deadline}

    def saved(self) -> dict[str, Any]:
        return {**self.public(), "opened_at": self.opened_at}


class LessonRun:
    def __init__(
        self,
        *,
        lesson: StoredLesson,
        students: list[tuple[str, str]],
        setting: xapi.Setting,
        class_info: dict[str, Any],
        code: str,
        events: RunEvents,
        files: str,
    ) -> None:
        self.lesson = lesson
        self.steps: list[Step] = list(lesson.manifest.steps)
        self.setting = setting
        self.id = setting.registration
        self.class_info = class_info
        self.code = code
        self.events = events
        self.files = files  # the address of the lesson's files (views.files_url), key included
        self.state = LessonState(self.id)
        self.seats: dict[str, Seat] = {sid: Seat(sid, name) for sid, name in students}
        self.by_token: dict[str, Seat] = {}
        self.questions: dict[str, QuestionRun] = {}
        self.index = 0
        self.step_rev = 0
        self.locked = False
        self.started_at = time.time()
        self.ended_at: float | None = None
        self.summary: dict[str, Any] | None = None

    # --- on disk (lessons/run_store.py) -------------------------------------------------

    def saved(self) -> dict[str, Any]:
        """The run without its seats and answers, as kept across a restart."""
        return {
            "lesson": self.lesson.record.hash,
            "setting": dataclasses.asdict(self.setting),
            "class": self.class_info,
            "code": self.code,
            "students": [[seat.sourced_id, seat.name] for seat in self.seats.values()],
            "index": self.index,
            "step_rev": self.step_rev,
            "locked": self.locked,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "summary": self.summary,
            "questions": {step: question.saved() for step, question in self.questions.items()},
            "state": {"rev": self.state.rev, "values": dict(self.state.values)},  # values are never mutated
        }

    @classmethod
    def restore(
        cls,
        saved: dict[str, Any],
        seats: dict[str, dict[str, Any]],
        answers: dict[str, list[dict[str, Any]]],
        *,
        lesson: StoredLesson,
        events: RunEvents,
        files: str,
    ) -> LessonRun:
        """The run as it was saved; an open question's time limit runs on from its deadline."""
        run = cls(lesson=lesson, students=[(sid, name) for sid, name in saved["students"]],
                  setting=xapi.Setting(**saved["setting"]), class_info=saved["class"], code=saved["code"],
                  events=events, files=files)  # fmt: skip
        run.index = min(int(saved["index"]), len(run.steps) - 1)
        run.step_rev = int(saved["step_rev"])
        run.locked = bool(saved["locked"])
        run.started_at = float(saved["started_at"])
        run.state.rev = int(saved["state"]["rev"])
        run.state.values = dict(saved["state"]["values"])
        now, mono = time.time(), time.monotonic()
        for step, question in saved["questions"].items():
            restored = QuestionRun(step, question["state"], bool(question["revealed"]), question["opened_at"],
                                   deadline=question["deadline"])  # fmt: skip
            if restored.opened_at is not None:
                restored.opened_mono = mono - max(0.0, now - restored.opened_at)
            run.questions[step] = restored
            if restored.state == "open" and restored.deadline is not None:
                delay = max(0.0, restored.deadline + ANSWER_GRACE_S - now)
                restored.timer = asyncio.get_running_loop().call_later(delay, run._time_up, restored)
        for sid, record in seats.items():
            seat = run.seats.get(sid)
            if seat is None:
                continue
            seat.restore(record)
            if seat.token is not None:
                run.by_token[seat.token] = seat
        for sid, records in answers.items():
            owner = run.seats.get(sid)
            if owner is None:
                continue
            for record in records:
                answer = AnswerRecord.restore(record)
                owner.answers[answer.step] = answer
                owner.answer_ids[answer.id] = answer.step
        return run

    # --- teacher ------------------------------------------------------------------------

    def launch(self) -> None:
        values = {
            "lesson": outline(self.lesson),
            "class": self.class_info,
            "code": self.code,
            "locked": False,
            "ended": None,
        }
        self._enter(0, values)
        lesson = self.setting.lesson_activity()
        self.events.record(self.setting.statement(("lesson",), self.setting.instructor, "launched", lesson,
                                                  self.started_at, in_lesson=False))  # fmt: skip

    @property
    def step(self) -> Step:
        return self.steps[self.index]

    @property
    def ended(self) -> bool:
        return self.ended_at is not None

    def goto(self, index: int) -> None:
        self._check_running()
        if not 0 <= index < len(self.steps):
            raise ProtocolError("unknown_step", f"step {index} does not exist (0-{len(self.steps) - 1})", "goto")
        if index != self.index:
            self._enter(index, {})

    def _enter(self, index: int, values: dict[str, Any]) -> None:
        left = self.questions.get(self.step.id)
        if left is not None and left.state == "open":
            self._close(left)  # a question is answered while it is on the screen
        self.index = index
        values["step"] = public_step(self.lesson, index, self.files)
        question = None
        if is_question(self.step):
            question = self.questions.setdefault(self.step.id, QuestionRun(self.step.id))
        values["question"] = question.public() if question else None
        values["reveal"] = reveal_of(self.step) if question and question.revealed else None
        self.step_rev = self._change(values)
        self.events.screens_changed()

    def lock(self, on: bool) -> None:
        self._check_running()
        if on != self.locked:
            self.locked = on
            self._change({"locked": on})

    def question(self, action: str) -> None:
        self._check_running()
        question = self.questions.get(self.step.id)
        if question is None:
            raise ProtocolError("not_a_question", "the current step is not a quiz or a poll", "question")
        if action == "start":
            if question.revealed:
                raise ProtocolError("revealed", "the answer is already shown; this question is over", "question")
            if question.state != "open":
                self._open(question)
        elif action == "close":
            if question.state == "open":
                self._close(question)
        elif not question.revealed:
            if question.state == "open":
                question.state = "closed"
                self._cancel_timer(question)
            question.revealed = True
            self._change({"question": question.public(), "reveal": reveal_of(self.step)})
            for seat in self.seats.values():
                if question.step in seat.answers:
                    self.events.tell(seat, {"t": "me", "me": self.me(seat)})
        self.events.screens_changed()

    def _open(self, question: QuestionRun) -> None:
        step = self.step
        question.state = "open"
        question.opened_at = time.time()
        question.opened_mono = time.monotonic()
        limit = step.time_limit_s if isinstance(step, QuizStep) else None
        question.deadline = question.opened_at + limit if limit else None
        if limit:
            loop = asyncio.get_running_loop()
            question.timer = loop.call_later(limit + ANSWER_GRACE_S, self._time_up, question)
        self._change({"question": question.public()})

    def _time_up(self, question: QuestionRun) -> None:
        question.timer = None
        if question.state == "open" and not self.ended:
            self._close(question)
            self.events.screens_changed()

    def _close(self, question: QuestionRun) -> None:
        question.state = "closed"
        self._cancel_timer(question)
        if question.step == self.step.id:
            self._change({"question": question.public()})

    @staticmethod
    def _cancel_timer(question: QuestionRun) -> None:
        if question.timer is not None:
            question.timer.cancel()
            question.timer = None

    def lower(self, student: str | None) -> list[Seat]:
        """Lower one hand or all; returns the seats whose hand went down."""
        seats = [self.seat(student)] if student else list(self.seats.values())
        lowered = [seat for seat in seats if seat.hand]
        for seat in lowered:
            seat.hand = False
            self.events.tell(seat, {"t": "me", "me": self.me(seat)})
        if lowered:
            self.events.screens_changed()
        return lowered

    def end(self) -> dict[str, Any]:
        if self.summary is not None:
            return self.summary
        now = time.time()
        for question in self.questions.values():
            self._cancel_timer(question)
            question.state = "closed"
        for seat in self.seats.values():
            if seat.online:
                self.left(seat)
        self.ended_at = now
        maximum = sum(s.points for s in self.steps if isinstance(s, QuizStep) and s.id in self.questions)
        for seat in self.seats.values():
            if seat.joined:
                points = sum(a.points for a in seat.answers.values())
                result = {"score": xapi.score(points, maximum), "completion": True,
                          "duration": xapi.iso_duration(seat.present_s)}  # fmt: skip
                self._record((seat.sourced_id,), seat.sourced_id, "completed", self.setting.lesson_activity(),
                             now, result, in_lesson=False)  # fmt: skip
        whole = {"completion": True, "duration": xapi.iso_duration(now - self.started_at)}
        self._record(("lesson",), self.setting.instructor, "completed", self.setting.lesson_activity(), now, whole,
                     in_lesson=False)  # fmt: skip
        self.summary = summarise(self)
        self._change({"ended": {"at": now}, "question": None, "locked": False})
        self.events.screens_changed()
        return self.summary

    # --- tablets ------------------------------------------------------------------------

    def seat(self, student: str) -> Seat:
        try:
            return self.seats[student]
        except KeyError:
            raise ProtocolError("unknown_student", f"no student {student!r} in this class") from None

    def join(self, student: str, client_id: str, *, proven: bool = False) -> Seat:
        """Give ``client_id`` the seat of ``student``; ``proven`` (right PIN) may take it from another tablet."""
        self._check_running()
        seat = self.seat(student)
        if seat.token is not None and seat.client_id == client_id:
            return seat
        if seat.online and not proven:
            raise ProtocolError("taken", "this student is already in the lesson on another tablet")
        if seat.token is not None:
            self.by_token.pop(seat.token, None)
        seat.token = secrets.token_urlsafe(24)
        seat.client_id = client_id
        self.by_token[seat.token] = seat
        return seat

    def joined(self, seat: Seat) -> None:
        seat.online = True
        seat.joins += 1
        seat.joined_mono = time.monotonic()
        now = time.time()
        if seat.first_joined is None:
            seat.first_joined = now
        self._record((seat.sourced_id, str(seat.joins)), seat.sourced_id, "joined", self.setting.lesson_activity(),
                     now, None, in_lesson=False)  # fmt: skip
        self.events.screens_changed()

    def left(self, seat: Seat) -> None:
        if not seat.online:
            return
        seat.online = False
        seat.leaves += 1
        stint = time.monotonic() - seat.joined_mono
        seat.present_s += stint
        self._record((seat.sourced_id, str(seat.leaves)), seat.sourced_id, "left", self.setting.lesson_activity(),
                     time.time(), {"duration": xapi.iso_duration(stint)}, in_lesson=False)  # fmt: skip
        self.events.screens_changed()

    def ack(self, seat: Seat, rev: int, beat_sent: float | None) -> None:
        now = time.monotonic()
        if beat_sent is not None:
            seat.rtt_ms = round((now - beat_sent) * 1000, 1)
        if rev > self.state.rev or rev <= seat.acked_rev:
            return
        seat.acked_rev = rev
        if rev >= self.step_rev:
            seat.at_step = self.index
        if rev >= self.step_rev and self.step.id not in seat.viewed:
            seat.viewed.add(self.step.id)
            seen = step_activity(self.setting, self.step)
            self._record((seat.sourced_id, self.step.id), seat.sourced_id, "experienced", seen,
                         time.time(), None, extensions={xapi.EXT_STEP_INDEX: self.index})  # fmt: skip
        self.events.screens_changed()

    def answer(self, seat: Seat, message: Answer) -> tuple[AnswerRecord, bool]:
        """Take an answer; a resend of the same answer id returns the first one (duplicate=True)."""
        first = seat.answer_ids.get(message.id)
        if first is not None:
            return seat.answers[first], True
        self._check_running()
        if self.locked:
            raise ProtocolError("locked", "the tablets are locked: eyes on the teacher", "answer")
        question = self.questions.get(message.step)
        if question is None or question.state != "open" or message.step != self.step.id:
            raise ProtocolError("closed", "this question is not open for answers", "answer")
        if message.step in seat.answers:
            raise ProtocolError("already_answered", "this question is already answered", "answer")
        step = self.step
        value = self._check_value(step, message)
        server_ms = int((time.monotonic() - question.opened_mono) * 1000)
        elapsed = min(message.elapsed_ms, server_ms) if message.elapsed_ms is not None else server_ms
        if isinstance(step, QuizStep):
            correct: bool | None = is_correct(step, value)
            points = points_for(step, value)
        else:
            correct, points = None, 0
        record = AnswerRecord(message.id, step.id, value, correct, points, elapsed, time.time())
        seat.answers[step.id] = record
        seat.answer_ids[message.id] = step.id
        result: dict[str, Any] = {
            "response": value if isinstance(value, str) else xapi.choice_response(value),
            "duration": xapi.iso_duration(elapsed / 1000),
        }
        if isinstance(step, QuizStep):
            result.update(success=correct, score=xapi.score(points, step.points))
        record.statement = self._record((seat.sourced_id, step.id), seat.sourced_id, "answered",
                                        step_activity(self.setting, step), record.at, result,
                                        extensions={xapi.EXT_STEP_INDEX: self.index})  # fmt: skip
        self.events.screens_changed()
        return record, False

    @staticmethod
    def _check_value(step: Step, message: Answer) -> str | list[str]:
        if isinstance(step, QuizStep) and step.type == "short_answer":
            if message.text is None or not message.text.strip():
                raise ProtocolError("invalid", "a short answer is sent as non-empty 'text'", "answer")
            return message.text.strip()
        assert isinstance(step, QuizStep | PollStep)
        if message.choice is None:
            raise ProtocolError("invalid", "this question is answered with 'choice'", "answer")
        ids = {c.id for c in step.choices}
        unknown = [c for c in message.choice if c not in ids]
        if unknown:
            raise ProtocolError("invalid", f"not a choice of this question: {', '.join(unknown)}", "answer")
        single = (isinstance(step, QuizStep) and step.type == "single_choice") or (
            isinstance(step, PollStep) and not step.allow_multiple
        )
        if len(set(message.choice)) != len(message.choice) or (single and len(message.choice) != 1):
            raise ProtocolError("invalid", "choose one choice" if single else "a choice is listed twice", "answer")
        return list(message.choice)

    def hand(self, seat: Seat, up: bool) -> None:
        self._check_running()
        if seat.hand == up:
            return
        seat.hand = up
        verb: xapi.VerbName
        if up:
            seat.hand_raises += 1
            key, verb = (seat.sourced_id, str(seat.hand_raises)), "raised_hand"
        else:
            seat.hand_lowers += 1
            key, verb = (seat.sourced_id, str(seat.hand_lowers)), "lowered_hand"
        self._record(key, seat.sourced_id, verb, self.setting.lesson_activity(), time.time(),
                     {"extensions": {xapi.EXT_EMOJI: xapi.RAISED_HAND}}, in_lesson=False)  # fmt: skip
        self.events.tell(seat, {"t": "me", "me": self.me(seat)})
        self.events.screens_changed()

    # --- views --------------------------------------------------------------------------

    def me(self, seat: Seat) -> dict[str, Any]:
        """The student's own view: their answers, and marks only for revealed questions."""
        answers: dict[str, Any] = {}
        score = maximum = 0
        for step in self.steps:
            record = seat.answers.get(step.id)
            question = self.questions.get(step.id)
            revealed = question is not None and (question.revealed or self.ended)  # marks are out at the end
            if revealed and isinstance(step, QuizStep):
                maximum += step.points
            if record is None:
                continue
            entry: dict[str, Any] = {"value": record.value}
            if revealed and record.correct is not None:
                entry.update(correct=record.correct, points=record.points)
                score += record.points
            answers[step.id] = entry
        return {"hand": seat.hand, "answers": answers, "score": score, "max": maximum}

    def results(self, *, teacher: bool) -> dict[str, Any] | None:
        return results_of(self, teacher=teacher)

    def class_status(self, *, teacher: bool) -> list[dict[str, Any]]:
        return class_rows(self, teacher=teacher)

    # --- internals ----------------------------------------------------------------------

    def change(self, values: dict[str, Any]) -> int:
        """Set these keys of the state in one revision: the classroom tools' keys (lessons/tools.py)."""
        self._check_running()
        return self._change(values)

    def _check_running(self) -> None:
        if self.ended:
            raise ProtocolError("ended", "this lesson has ended")

    def _change(self, values: dict[str, Any]) -> int:
        rev = self.state.change(values)
        self.events.publish(rev, values)
        return rev

    def _record(
        self,
        key: tuple[str, ...],
        actor: str,
        verb: xapi.VerbName,
        obj: dict[str, Any],
        when: float,
        result: dict[str, Any] | None,
        *,
        in_lesson: bool = True,
        extensions: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        statement = self.setting.statement(key, actor, verb, obj, when, result=result, in_lesson=in_lesson,
                                           extensions=extensions)  # fmt: skip
        self.events.record(statement)
        return statement
