"""The hub's lesson service: the lesson running in this room, its tablets and its screens.

One lesson runs at a time per hub (one hub per room). The :class:`Classroom` owns the
run, the open connections, and four background tasks it starts and stops: the
heartbeat (every ``beat_s`` a beat to everyone; a connection silent for ``dead_after_s``
is cut), the screens updater (the teacher's class list and live results, coalesced so
40 acks make one update), the statement writer (xAPI statements to the store in
batches, drained before the hub stops) and the run's writer (lessons/run_store.py: the
run, its seats and answers in ``lessons.db``, so a restart resumes the lesson).

Acknowledge only what is stored: a tablet gets ``answered`` once its answer is committed in
``lessons.db`` and its statement in the store (both FULL, group commits), and a join gets
its seat token once the seat is committed.

Its timing is the room file's ``[lessons]`` section. Liveness (the heartbeat, silent
connections, the join throttle) goes by the :class:`~classroom_hub.clock.Clock` it is given,
so a test moves it on instead of waiting; records keep real timestamps and round trips are
measured on the real clock.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from classroom_hub import xapi
from classroom_hub.clock import SYSTEM, Clock
from classroom_hub.errors import StoreError, report_crash
from classroom_hub.lessons import tablets, tools
from classroom_hub.lessons.errors import LessonError
from classroom_hub.lessons.file_keys import FileKeys
from classroom_hub.lessons.library import LessonLibrary
from classroom_hub.lessons.pins import PinBook
from classroom_hub.lessons.protocol import (
    Ack,
    Answer,
    End,
    Goto,
    Hand,
    Hello,
    Inbound,
    Launch,
    Lock,
    Lower,
    Next,
    Prev,
    ProtocolError,
    Question,
    Resume,
    Resync,
    Shown,
    Status,
    ToolMessage,
    error,
    read,
)
from classroom_hub.lessons.rosters import room_classes
from classroom_hub.lessons.run import LessonRun
from classroom_hub.lessons.run_store import RUNS_FILE, RunStore
from classroom_hub.lessons.screens import ScreenFeed
from classroom_hub.lessons.seats import AnswerRecord, Seat
from classroom_hub.lessons.settings import lessons_of
from classroom_hub.lessons.statements import StatementWriter
from classroom_hub.lessons.sync import Link, Links, frame_of
from classroom_hub.lessons.tablets import Devices
from classroom_hub.lessons.views import files_url
from classroom_hub.pusher.settings import central_of
from classroom_hub.roster import RosterCache
from classroom_hub.store import TelemetryStore
from config.settings import HubSettings

if TYPE_CHECKING:
    from classroom_hub.lessons.headsets import LessonHeadsets

log = logging.getLogger(__name__)

class Classroom:
    def __init__(
        self,
        settings: HubSettings,
        store: TelemetryStore,
        library: LessonLibrary,
        roster: RosterCache,
        pins: PinBook,
        file_keys: FileKeys,
        clock: Clock = SYSTEM,
    ) -> None:
        self.settings = settings
        self.store = store
        self.library = library
        self.roster = roster
        self.pins = pins
        self.file_keys = file_keys
        self.clock = clock  # the heartbeat, silent connections and the join throttle go by it
        timing = lessons_of(settings)
        self.beat_s = timing.beat_s
        self.dead_after_s = timing.dead_after_s
        self.screens_every_s = timing.screens_every_s
        self.run: LessonRun | None = None
        self.links = Links()
        self.statements = StatementWriter(store)
        self.runs = RunStore(settings.data_dir / RUNS_FILE)
        self._acks: set[asyncio.Task[None]] = set()  # answers waiting for their commit before "answered"
        self.feed = ScreenFeed(self._tablet_fields)
        self.headsets: LessonHeadsets | None = None  # the room's headsets follow vr_scene steps
        self.devices: Devices | None = None  # the room's devices: a tablet's agent tells its battery
        self.links_allowed = timing.links  # where a link sent to tablets may point (lessons/links.py)
        self._screens_dirty = asyncio.Event()
        self._beat = 0
        self._beat_times: deque[tuple[int, float]] = deque(maxlen=16)
        self._code_failures: dict[str, tuple[int, float]] = {}
        self._tasks: list[asyncio.Task[None]] = []

    # --- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        try:
            saved = await self.runs.open()
        except (StoreError, ValueError) as err:  # the hub teaches on; each write retries and alarms
            log.error("event=lesson_not_resumed path=%s error=%r", self.runs.path, str(err))
            saved = None
        self.runs.start()
        self.statements.start()
        if saved is not None:
            await self._restore(saved)
        if self.run is None:
            self.runs.follow(None)  # nothing to resume: the ended runs' rows go
        self._tasks = [
            asyncio.create_task(self._heartbeat(), name="lesson-heartbeat"),
            asyncio.create_task(self._update_screens(), name="lesson-screens"),
        ]
        for task in self._tasks:
            task.add_done_callback(report_crash("lesson_task_failed", task=task.get_name()))

    async def _restore(self, saved: Any) -> None:
        """Go on with the run that was going when the hub stopped (or lost power)."""
        key = str(saved.record.get("lesson"))
        try:
            lesson = await asyncio.get_running_loop().run_in_executor(None, self.library.open, key)
        except LessonError as err:
            log.error("event=lesson_not_resumed lesson=%s error=%r", key, str(err))
            return
        files = files_url(lesson.record.hash, self.file_keys.key(lesson.record.hash))
        try:
            run = LessonRun.restore(saved.record, saved.seats, saved.answers, lesson=lesson, events=self, files=files)
        except (KeyError, TypeError, ValueError) as err:  # a record this hub cannot read: start without it
            log.error("event=lesson_not_resumed run=%s error=%r", saved.record.get("setting", {}).get("registration"),
                      f"{type(err).__name__}: {err}")  # fmt: skip
            return
        self.run = run
        self.runs.follow(run)
        answers = [a.statement for seat in run.seats.values() for a in seat.answers.values() if a.statement]
        for statement in answers:  # committed in lessons.db but maybe not yet in the store: ids are stable
            self.statements.add(statement)
        log.info("event=lesson_resumed run=%s lesson=%s class=%s step=%d rev=%d answers=%d",
                 run.id, lesson.manifest.id, run.class_info["id"], run.index, run.state.rev, len(answers))  # fmt: skip

    def background(self) -> list[asyncio.Task[None] | None]:
        """The tasks the lessons part's health follows: heartbeat, screens, statement and run writers."""
        return [*self._tasks, self.statements.task, self.runs.task] if self._tasks else [None]

    async def close(self) -> None:
        """Stop the tasks; every statement recorded so far is in the store afterwards."""
        for task in [*self._tasks, *self._acks]:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._acks, return_exceptions=True)
        await self.statements.close()
        await self.runs.close()
        self._tasks = []
        if self.run is not None:
            for question in self.run.questions.values():
                if question.timer is not None:
                    question.timer.cancel()

    async def flush(self) -> None:
        """Wait until every statement recorded so far is stored, and the run as it is now."""
        await self.statements.flush()
        await self.runs.saved()

    @property
    def waiting_answers(self) -> set[asyncio.Task[None]]:
        """Answers taken whose ``answered`` waits for their commit."""
        return self._acks

    def failing(self) -> str | None:
        """Why answers cannot be acknowledged now (the run or the statements cannot be written), if so."""
        if self.runs.failing is not None:
            return f"the running lesson cannot be saved: {self.runs.failing}"
        if self.statements.failing is not None:
            return f"learning statements cannot be stored: {self.statements.failing}"
        return None

    async def saved(self) -> None:
        """Wait until the run as it is now is committed (before acknowledging anything)."""
        await self.runs.saved()

    # --- RunEvents: what the run asks the screens and the store to do ----------------------

    def publish(self, rev: int, values: dict[str, Any]) -> None:
        self.runs.changed()
        frame = frame_of({"t": "delta", "rev": rev, "set": values})
        self.links.broadcast(frame, itertools.chain(self.links.seated(), self.links.screens()))
        if self.headsets is not None and self.run is not None and ("step" in values or "ended" in values):
            self.headsets.follow(self.run)

    def tell(self, seat: Seat, message: dict[str, Any]) -> None:
        self.runs.changed()  # a seat changed (a hand lowered, a reveal)
        for link in self.links.of_seat(seat):
            link.send(message)

    def screens_changed(self) -> None:
        # Not a reason to write the run: every ack says it. What is kept changes with a new
        # revision (publish), a statement (a join, a leave, a step seen, an answer, a hand) or a tell.
        self._screens_dirty.set()

    def record(self, statement: dict[str, Any]) -> None:
        self.runs.changed()
        self.statements.add(statement)

    # --- teacher ------------------------------------------------------------------------

    async def classes(self) -> list[dict[str, Any]]:
        """The classes of this room's school, those taught in this room first."""
        room = self.settings.room
        return await asyncio.get_running_loop().run_in_executor(None, room_classes, self.roster, room.school_code,
                                                                room.id)  # fmt: skip

    async def launch(self, lesson_key: str, class_id: str, teacher: str, *, confirm: bool = False) -> LessonRun:
        if self.run is not None and not self.run.ended:
            raise ProtocolError("busy", "a lesson is running in this room: end it first", "launch")
        loop = asyncio.get_running_loop()
        try:
            lesson = await loop.run_in_executor(None, self.library.open, lesson_key)
        except LessonError as err:
            raise ProtocolError("unknown_lesson", str(err), "launch") from err
        found = [c for c in await self.classes() if c["id"] == class_id]
        if not found:
            raise ProtocolError("unknown_class", f"no class {class_id!r} in this school's roster", "launch")
        tools.check_grade(lesson.manifest, found[0], confirm=confirm, teacher=teacher)
        members = await loop.run_in_executor(None, self.roster.students, class_id)
        room, central = self.settings.room, central_of(self.settings)
        started_ms = int(time.time() * 1000)
        run_id = xapi.statement_id("run", room.school_code, room.id, class_id, lesson.record.hash, str(started_ms))
        setting = xapi.Setting(
            home=xapi.home_page(central.xapi_url, self.settings.http.public_url),
            school_code=room.school_code, room_id=room.id, room_name=room.name,
            class_id=class_id, class_title=found[0]["title"],
            lesson_id=lesson.manifest.id, lesson_title=lesson.manifest.title, language=lesson.manifest.language,
            registration=run_id, instructor=teacher,
        )  # fmt: skip
        previous = self.run
        code = str(1000 + secrets.randbelow(9000))
        while previous is not None and code == previous.code:
            code = str(1000 + secrets.randbelow(9000))
        run = LessonRun(
            lesson=lesson,
            students=[(m.sourced_id, m.display_name) for m in members],
            setting=setting,
            class_info={"id": class_id, "title": found[0]["title"]},
            code=code,
            events=self,
            files=files_url(lesson.record.hash, self.file_keys.key(lesson.record.hash)),
        )
        for link in list(self.links.tablets):  # tablets of the last lesson join again
            link.send({"t": "bye", "reason": "relaunched"})
            link.seat = None
        self.run = run
        self.runs.follow(run)
        run.launch()
        log.info("event=lesson_launched run=%s lesson=%s class=%s students=%d teacher=%s",
                 run.id, lesson.manifest.id, class_id, len(members), teacher)  # fmt: skip
        for link in self.links.screens():
            self.welcome_screen(link)
        return run

    # --- joining (HTTP, before the tablet's WebSocket) -------------------------------------

    def join_info(self, code: str, peer: str) -> dict[str, Any]:
        run = self._run_for_code(code, peer)
        return {
            "run": run.id,
            "lesson": {"title": run.lesson.manifest.title},
            "class": {"title": run.class_info["title"]},
            "students": [
                {"id": s.sourced_id, "name": s.name, "online": s.online, "pin": self.pins.required(s.sourced_id)}
                for s in run.seats.values()
            ],
        }

    def join(self, code: str, student: str, pin: str | None, client_id: str, peer: str) -> dict[str, Any]:
        run = self._run_for_code(code, peer)
        run.seat(student)
        wait = self.pins.locked_for(student)
        if wait > 0:
            raise ProtocolError("pin_locked", f"too many wrong PINs: try again in {int(wait) + 1} s")
        if not self.pins.check(student, pin):
            raise ProtocolError("bad_pin", "this student needs their PIN" if pin is None else "wrong PIN")
        seat = run.join(student, client_id, proven=self.pins.required(student))
        assert seat.token is not None
        return {"token": seat.token, "run": run.id, "student": {"id": seat.sourced_id, "name": seat.name}}

    def _run_for_code(self, code: str, peer: str) -> LessonRun:
        count, since = self._code_failures.get(peer, (0, 0.0))
        if count >= 20 and self.clock.monotonic() - since < 60:
            raise ProtocolError("too_many_tries", "too many wrong codes: wait a minute")
        run = self.run
        if run is None or run.ended or code != run.code:
            now = self.clock.monotonic()
            self._code_failures[peer] = (count + 1 if now - since < 60 else 1, now)
            raise ProtocolError("bad_code", "no lesson with this code is running")
        return run

    # --- connections --------------------------------------------------------------------

    def attach(self, link: Link) -> None:
        link.last_heard = self.clock.monotonic()
        self.links.add(link)
        if link.role != "student":
            self.welcome_screen(link)

    def unpair(self, display_id: str) -> int:
        """A display was revoked: its open screens stop at once. Returns how many there were."""
        gone = [link for link in self.links.displays if link.display == display_id]
        for link in gone:
            link.send({"t": "bye", "reason": "unpaired"})
            link.drop()
        return len(gone)

    def detach(self, link: Link) -> None:
        self.links.discard(link)
        seat, link.seat = link.seat, None
        if seat is not None and self.run is not None and not self.links.of_seat(seat):
            self.run.left(seat)

    def welcome_screen(self, link: Link) -> None:
        run = self.run
        link.send(
            {
                "t": "welcome",
                "role": link.role,
                "run": run.id if run else None,
                "rev": run.state.rev if run else 0,
                "mode": "snapshot",
                "state": run.state.snapshot() if run else {},
                "beat_s": self.beat_s,
                "ts": self.clock.time(),
            }
        )
        if link.role == "teacher":
            room = self.settings.room
            robots = sum(1 for _id, device in self.settings.device_list() if device.kind == "robot")
            link.send({"t": "room", "kind": room.kind, "robots": robots, "links": self.links_allowed})
        if run is not None:
            teacher = link.role == "teacher"
            for message in self.feed.welcome(run, teacher=teacher):
                link.send(message)
            if teacher and run.summary is not None:
                link.send({"t": "summary", "summary": run.summary})
            if teacher and self.headsets is not None and self.headsets.last is not None:
                link.send(self.headsets.last)

    def welcome_tablet(self, link: Link, seat: Seat, rev: int | None, run_id: str | None) -> None:
        run = self.run
        assert run is not None
        changes = run.state.since(rev, run_id)
        link.send(
            {
                "t": "welcome",
                "role": "student",
                "run": run.id,
                "rev": run.state.rev,
                "mode": "snapshot" if changes is None else "delta",
                "state": run.state.snapshot() if changes is None else changes,
                "beat_s": self.beat_s,
                "ts": self.clock.time(),
                "me": run.me(seat),
                "student": {"id": seat.sourced_id, "name": seat.name},
            }
        )

    async def receive(self, link: Link, text: str | bytes) -> None:
        """Act on one frame from ``link``; anything wrong goes back to it as an ``error``."""
        link.last_heard = self.clock.monotonic()
        try:
            message = read(link.role, text)
            if link.role == "student":
                self._from_tablet(link, message)
            elif link.role == "teacher":
                await self._from_teacher(link, message)
            elif isinstance(message, Ack):
                pass  # a display only shows that it is alive
        except ProtocolError as err:
            link.send(error(err.code, err.message, err.ref))

    def _from_tablet(self, link: Link, message: Inbound) -> None:
        run = self.run
        if isinstance(message, Hello):
            seat = run.by_token.get(message.token) if run is not None else None
            if run is None or seat is None:
                raise ProtocolError("bad_token", "this seat is not in the running lesson: join again", "hello")
            for old in self.links.of_seat(seat):
                if old is not link:
                    old.send({"t": "bye", "reason": "replaced"})
                    old.seat = None
                    old.drop()
            if link.seat is not seat:
                link.seat = seat
                seat.beat_heard = self._beat  # missed heartbeats count from now
                if not seat.online:
                    run.joined(seat)
            self.welcome_tablet(link, seat, message.rev, message.run)
            return
        seat = link.seat
        if seat is None or run is None:
            raise ProtocolError("not_joined", "say hello with your seat token first", message.t)
        if isinstance(message, Ack):
            tablets.heard(seat, message.beat)
            run.ack(seat, message.rev, self._beat_sent(message.beat))
        elif isinstance(message, Status | Shown):
            if isinstance(message, Shown):
                self.runs.changed()  # ``shown`` is kept
            if tablets.report(seat, message, run.state.values.get("sent")):
                self.screens_changed()
        elif isinstance(message, Answer):
            record, duplicate = run.answer(seat, message)
            task = asyncio.create_task(self._answered(link, run, seat, record, duplicate), name="lesson-answered")
            self._acks.add(task)
            task.add_done_callback(self._acks.discard)
            task.add_done_callback(report_crash("lesson_task_failed", task="lesson-answered"))
        elif isinstance(message, Hand):
            run.hand(seat, message.up)
        elif isinstance(message, Resume):
            changes = run.state.since(message.rev, run.id)
            if changes is None:
                self.welcome_tablet(link, seat, None, None)
            else:
                link.send({"t": "delta", "rev": run.state.rev, "set": changes, "since": message.rev})

    async def _answered(self, link: Link, run: LessonRun, seat: Seat, record: AnswerRecord, duplicate: bool) -> None:
        """Tell the tablet ``answered`` once the answer and its statement are on disk (the tablet forgets it then)."""
        waits: list[asyncio.Future[None]] = [self.runs.saved()]
        if record.statement is not None:
            waits.append(self.statements.stored(record.statement))
        await asyncio.gather(*waits)
        link.send({"t": "answered", "id": record.id, "step": record.step, "duplicate": duplicate})
        if not duplicate:
            link.send({"t": "me", "me": run.me(seat)})

    async def _from_teacher(self, link: Link, message: Inbound) -> None:
        if isinstance(message, Ack):
            return
        if isinstance(message, Resume):  # the changes since, or a snapshot as on connecting
            if self.runs.failing is None:
                await self.saved()  # what it gets is on disk: a teacher's barrier before, e.g., a restart
            changes = self.run.state.since(message.rev, self.run.id) if self.run is not None else None
            if changes is None or self.run is None:
                self.welcome_screen(link)
            else:
                link.send({"t": "delta", "rev": self.run.state.rev, "set": changes, "since": message.rev})
            return
        if isinstance(message, Launch):
            await self.launch(message.lesson, message.class_id, link.user or "teacher", confirm=message.confirm)
            return
        run = self.run
        if run is None:
            raise ProtocolError("no_lesson", "no lesson is running: launch one first", message.t)
        if isinstance(message, Goto):
            run.goto(message.step)
        elif isinstance(message, Next | Prev):
            target = run.index + (1 if isinstance(message, Next) else -1)
            if 0 <= target < len(run.steps):
                run.goto(target)
        elif isinstance(message, Lock):
            run.lock(message.on)
        elif isinstance(message, Question):
            run.question(message.action)
        elif isinstance(message, Lower):
            run.lower(message.student)
        elif isinstance(message, Resync):
            seat = run.seat(message.student)
            tablets = self.links.of_seat(seat)
            if not tablets:
                raise ProtocolError("offline", f"{seat.name} has no tablet connected", "resync")
            for tablet in tablets:
                self.welcome_tablet(tablet, seat, None, None)
        elif isinstance(message, ToolMessage):
            tools.handle(run, message, now=self.clock.time(), links=self.links_allowed)
        elif isinstance(message, End):
            summary = run.end()
            if self.runs.failing is None:  # (a failing disk is retried and alarmed: the teacher is not held up)
                await self.saved()  # the summary is final once the ended run is on disk
            for seat in run.seats.values():
                self.tell(seat, {"t": "me", "me": run.me(seat)})
            self.links.broadcast(frame_of({"t": "summary", "summary": summary}), self.links.teachers)
            log.info("event=lesson_ended run=%s present=%d", run.id, summary["attendance"]["present"])

    def _tablet_fields(self, seat: Seat, row: dict[str, Any]) -> dict[str, Any]:
        return tablets.fields(seat, row, self._beat, self.devices)

    def _beat_sent(self, beat: int | None) -> float | None:
        if beat is None:
            return None
        for number, at in self._beat_times:
            if number == beat:
                return at
        return None

    # --- background tasks ---------------------------------------------------------------

    async def _heartbeat(self) -> None:
        while True:
            await self.clock.sleep(self.beat_s)
            self._beat += 1
            now = self.clock.monotonic()
            # Round trips are the network's, measured on the real clock whatever the lesson's clock.
            self._beat_times.append((self._beat, time.monotonic()))
            rev = self.run.state.rev if self.run is not None else 0
            self.links.broadcast(frame_of({"t": "beat", "n": self._beat, "rev": rev, "ts": self.clock.time()}),
                                 self.links.all())  # fmt: skip
            for link in self.links.silent_since(now - self.dead_after_s):
                log.info("event=link_dead role=%s peer=%s silent_s=%.1f", link.role, link.peer, now - link.last_heard)
                link.drop()
            if self.links.teachers:
                self.screens_changed()  # the grid counts each tablet's missed heartbeats

    async def _update_screens(self) -> None:
        while True:
            await self._screens_dirty.wait()
            run = self.run
            # Gather a burst of acks into one update; a big class is redrawn less often.
            seats = len(run.seats) if run is not None else 0
            # Coalescing redraws saves the hub's CPU: real time, whatever the lesson's clock.
            await asyncio.sleep(min(1.0, self.screens_every_s * max(1.0, seats / 100)))
            self._screens_dirty.clear()
            if run is None or run is not self.run:
                continue
            for teacher, links in ((True, self.links.teachers), (False, self.links.displays)):
                if links:
                    for frame in self.feed.changes(run, teacher=teacher):
                        self.links.broadcast(frame, links)

