"""The running lesson on disk (``lessons.db``), so a restart or a power cut does not end it.

What is kept: the run (lesson, class, code, the xAPI setting, the step, the lock, each
question's state and deadline, the whole shared state with its revision: the teacher's
tools ``timers``, ``live_results``, ``picked``, ``groups``, ``sent`` are keys of it), each
seat (its token, so a tablet's ``hello`` is still good; joins, hand, the steps it saw) and
each answer with its xAPI statement. What is not: who is online, round trips, batteries;
the tablets say those again when they reconnect.

Writes are group commits: :meth:`RunStore.changed` marks the run dirty and one task writes
what changed since its last commit, one commit at a time; whatever changes meanwhile goes
into the next. The event loop only takes shallow copies; the database's thread makes the
JSON and compares it with what it wrote last (an ack storm rewrites nothing).
:meth:`RunStore.saved` waits for a commit that started after the call: a tablet is told
``answered``, and a join gets its token, only after it. A failing disk is retried with
backoff; the waiters keep waiting (nothing is acknowledged) and ``failing`` says why.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from classroom_hub.backoff import Backoff
from classroom_hub.errors import StoreError, report_crash
from classroom_hub.lessons.seats import AnswerRecord
from classroom_hub.storage.sqlite import Database, Schema

if TYPE_CHECKING:
    from classroom_hub.lessons.run import LessonRun

log = logging.getLogger(__name__)

RUNS_FILE = "lessons.db"  # under the hub's data_dir

SCHEMA = Schema("lessons", (
    """
    CREATE TABLE runs (
        id TEXT PRIMARY KEY, started_at REAL NOT NULL, ended_at REAL, record TEXT NOT NULL);
    CREATE TABLE seats (
        run TEXT NOT NULL, student TEXT NOT NULL, record TEXT NOT NULL, PRIMARY KEY (run, student));
    CREATE TABLE answers (
        run TEXT NOT NULL, student TEXT NOT NULL, step TEXT NOT NULL, id TEXT NOT NULL, record TEXT NOT NULL,
        PRIMARY KEY (run, student, step));
    """,
))  # fmt: skip


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))  # the same dicts build in the same order


class SavedRun:
    """A run as read back: its record, its seats' records and its answers' records (by student)."""

    def __init__(self, record: dict[str, Any], seats: dict[str, dict[str, Any]],
                 answers: dict[str, list[dict[str, Any]]]) -> None:  # fmt: skip
        self.record = record
        self.seats = seats
        self.answers = answers


class RunStore:
    def __init__(self, path: Path, *, backoff: Backoff | None = None) -> None:
        self.path = path
        self.db = Database(path, SCHEMA, thread_name="db-lessons")
        self.run: LessonRun | None = None
        self.failing: str | None = None  # the last write error while it is being retried
        self.on_failing: Callable[[str | None], None] = lambda _error: None  # told each change of ``failing``
        self.commits = 0
        self.errors = 0  # failed writes (each retried)
        self._backoff = backoff or Backoff(0.2, 10.0)
        self._written: Written = {}
        self._dirty = asyncio.Event()
        self._next: asyncio.Future[None] | None = None
        self._prune = False
        self._task: asyncio.Task[None] | None = None

    @property
    def task(self) -> asyncio.Task[None] | None:
        return self._task

    async def open(self) -> SavedRun | None:
        """Open the file; returns the newest run that had not ended, if any."""
        await self.db.open()
        return await self.db.run(_latest)

    def start(self) -> None:
        self._next = asyncio.get_running_loop().create_future()
        self._task = asyncio.create_task(self._write(), name="lesson-runs")
        self._task.add_done_callback(report_crash("lesson_task_failed", task="lesson-runs"))

    async def close(self) -> None:
        """Write what is left (a last commit), then stop."""
        if self._task is not None:
            if self._dirty.is_set() and self.failing is None:
                await asyncio.wait_for(self.saved(), 10.0)
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await self.db.close()

    def follow(self, run: LessonRun | None) -> None:
        """Keep ``run`` from now on (a new launch, or the one restored); the runs that ended
        before it are deleted with the next commit (their statements are in the store)."""
        self.run = run
        self._prune = True
        self.changed()

    def changed(self) -> None:
        self._dirty.set()

    def saved(self) -> asyncio.Future[None]:
        """Resolves after a commit that began after this call (so it holds everything so far)."""
        assert self._next is not None, "start() first"
        self._dirty.set()
        return asyncio.shield(self._next)

    # --- the writer -----------------------------------------------------------------------

    async def _write(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            assert self._next is not None
            waiting, self._next = self._next, loop.create_future()
            while True:
                rows = self._rows()
                keep = (self.run.id if self.run is not None else "") if self._prune else None
                self._prune = False
                try:
                    done = await self.db.write(partial(_put, rows=rows, written=self._written, prune_except=keep))
                    break
                except StoreError as err:
                    self._prune = self._prune or keep is not None
                    self.errors += 1
                    if self.failing is None:
                        log.error("event=lesson_not_saved path=%s error=%r", self.path, str(err))
                    if self.failing != str(err):
                        self.failing = str(err)
                        self.on_failing(self.failing)
                    await asyncio.sleep(self._backoff.next())
            if self.failing is not None:
                log.info("event=lesson_saved_again path=%s", self.path)
                self.failing = None
                self.on_failing(None)
                self._backoff.reset()
            self.commits += 1
            self._written.update(done)
            if not waiting.done():
                waiting.set_result(None)

    def _rows(self) -> list[Row]:
        """What may have changed, as objects: taken on the event loop (cheap, shallow), turned into
        JSON and compared with what was written on the database's thread."""
        run = self.run
        if run is None:
            return []
        out: list[Row] = [(("run", run.id), _RUN, (run.id, run.started_at, run.ended_at), run.saved())]
        for seat in run.seats.values():
            out.append((("seat", run.id, seat.sourced_id), _SEAT, (run.id, seat.sourced_id), seat.saved()))
            for step, answer in seat.answers.items():
                key = ("answer", run.id, seat.sourced_id, step)
                if key not in self._written:  # an answer never changes: written once
                    out.append((key, _ANSWER, (run.id, seat.sourced_id, step, answer.id), answer))
        return out


Row = tuple[tuple[str, ...], str, tuple[Any, ...], Any]
_RUN = "INSERT OR REPLACE INTO runs (id, started_at, ended_at, record) VALUES (?, ?, ?, ?)"
_SEAT = "INSERT OR REPLACE INTO seats (run, student, record) VALUES (?, ?, ?)"
_ANSWER = "INSERT OR IGNORE INTO answers (run, student, step, id, record) VALUES (?, ?, ?, ?, ?)"


Written = dict[tuple[str, ...], str]


def _put(conn: sqlite3.Connection, *, rows: list[Row], written: Written, prune_except: str | None) -> Written:
    """Write the rows whose JSON differs from what was written; returns the new texts by key.
    With ``prune_except``: first delete every ended run but that one, with its seats and answers."""
    if prune_except is not None:
        ended = "SELECT id FROM runs WHERE ended_at IS NOT NULL AND id != ?"
        for table in ("answers", "seats"):
            conn.execute(f"DELETE FROM {table} WHERE run IN ({ended})", (prune_except,))
        conn.execute("DELETE FROM runs WHERE ended_at IS NOT NULL AND id != ?", (prune_except,))
    done: Written = {}
    for key, sql, params, value in rows:
        text = _json(value.saved() if isinstance(value, AnswerRecord) else value)
        if written.get(key) == text:
            continue
        conn.execute(sql, (*params, text))
        done[key] = text
    return done


def _latest(conn: sqlite3.Connection) -> SavedRun | None:
    row = conn.execute("SELECT id, record FROM runs WHERE ended_at IS NULL ORDER BY started_at DESC LIMIT 1").fetchone()
    if row is None:
        return None
    run_id, record = row
    seats = {student: json.loads(text) for student, text in
             conn.execute("SELECT student, record FROM seats WHERE run = ?", (run_id,))}  # fmt: skip
    answers: dict[str, list[dict[str, Any]]] = {}
    for student, text in conn.execute("SELECT student, record FROM answers WHERE run = ? ORDER BY rowid", (run_id,)):
        answers.setdefault(student, []).append(json.loads(text))
    return SavedRun(json.loads(record), seats, answers)
