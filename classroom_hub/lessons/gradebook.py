"""The gradebook: every lesson's marks, kept for the school year, made from the stored statements.

A lesson records what happens as xAPI statements in the telemetry store (committed before a
tablet hears "answered"). Those are the durable truth, but not a place to keep marks: they are
removed once every destination has them (``central.keep_delivered_days``, sooner when the disk
budget is spent), and finding one lesson's among a year of them means reading them all.

So the gradebook folds them, in the order stored, into a small database of its own
(``gradebook.db``): one row per lesson run, per question asked, per answer, per student present.
It follows the statements by their sequence number (the cursor is committed with what it
folded, in one transaction), so nothing is folded twice or skipped, and it survives a restart
as the statements do: a new hub, or a lost ``gradebook.db``, folds again whatever is still
stored. It catches up before every read, so an export made during a lesson includes the last
answer, and every few minutes in the background, so marks are kept long before the statements
may be removed. Folding is idempotent (a statement has one id and one place).

Only the lessons' statements are folded (their object or parent is a ``lesson`` activity, from
classroom_hub/xapi.py); the labs' and the studio's are left alone.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import re
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from classroom_hub import xapi
from classroom_hub.storage.sqlite import Database, Schema
from classroom_hub.store import TelemetryStore

log = logging.getLogger(__name__)

GRADEBOOK_FILE = "gradebook.db"  # under the hub's data_dir
BATCH = 2000  # statements folded per transaction

SCHEMA = Schema("gradebook", (
    """
    CREATE TABLE runs (
        run          TEXT PRIMARY KEY,   -- the lesson run: the statements' registration
        class_id     TEXT NOT NULL,
        class_title  TEXT NOT NULL,
        lesson_id    TEXT NOT NULL,
        lesson_title TEXT NOT NULL,
        teacher      TEXT NOT NULL,      -- the hub account that launched it
        room         TEXT NOT NULL,
        started_at   REAL NOT NULL,
        ended_at     REAL
    );
    CREATE INDEX runs_by_class ON runs (class_id, started_at);
    CREATE TABLE questions (
        run      TEXT NOT NULL,
        step     TEXT NOT NULL,
        position INTEGER,               -- the step's index in the lesson
        kind     TEXT NOT NULL,          -- quiz | poll
        prompt   TEXT NOT NULL,
        points   REAL,                   -- a quiz's, once someone answered it
        choices  TEXT NOT NULL,          -- JSON [[id, text], ...]
        correct  TEXT,                   -- JSON: xAPI correct response patterns (quizzes)
        PRIMARY KEY (run, step)
    );
    CREATE TABLE answers (
        run      TEXT NOT NULL,
        step     TEXT NOT NULL,
        student  TEXT NOT NULL,          -- roster sourcedId
        response TEXT NOT NULL,          -- as xAPI has it: choice ids joined by [,], or the text
        correct  INTEGER,                -- 1 right, 0 wrong, NULL a poll
        points   REAL,
        seconds  REAL,                   -- from the question opening to the answer
        at       REAL NOT NULL,
        PRIMARY KEY (run, step, student)
    );
    CREATE TABLE attendance (
        run          TEXT NOT NULL,
        student      TEXT NOT NULL,
        first_joined REAL NOT NULL,
        PRIMARY KEY (run, student)
    );
    CREATE TABLE folded (
        stream   TEXT PRIMARY KEY,
        last_seq INTEGER NOT NULL
    );
    """,
))  # fmt: skip

_LESSON_TYPE = xapi.ACTIVITY_TYPES["lesson"]
_CLASS_TYPE = xapi.ACTIVITY_TYPES["class"]
_ROOM_TYPE = xapi.ACTIVITY_TYPES["room"]
_INTERACTION = xapi.ACTIVITY_TYPES["quiz"]
_VERBS = {verb.id: name for name, verb in xapi.VERBS.items()}
_DURATION = re.compile(r"^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?$")


# --- what is read back ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RunRow:
    run: str
    class_id: str
    class_title: str
    lesson_id: str
    lesson_title: str
    teacher: str
    room: str
    started_at: float
    ended_at: float | None


@dataclass(frozen=True, slots=True)
class QuestionRow:
    step: str
    position: int | None
    kind: str
    prompt: str
    points: float | None
    choices: list[tuple[str, str]]
    correct: list[str] | None


@dataclass(frozen=True, slots=True)
class AnswerRow:
    step: str
    student: str
    response: str
    correct: bool | None
    points: float | None
    seconds: float | None
    at: float


@dataclass(frozen=True, slots=True)
class RunRecord:
    """Everything the gradebook holds about one run."""

    run: RunRow
    questions: list[QuestionRow]  # in lesson order
    answers: list[AnswerRow]
    present: dict[str, float]  # student -> first joined


class Gradebook:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = Database(path, SCHEMA)
        self.folded = 0  # statements folded since the hub started
        self._lock = asyncio.Lock()

    async def close(self) -> None:
        await self.db.close()

    async def catch_up(self, store: TelemetryStore) -> int:
        """Fold every statement stored since the last fold; returns how many were read."""
        read = 0
        async with self._lock:  # two readers at once would read the same batch twice
            after = await self.db.run(_cursor)
            while True:
                rows = await store.read_after("statements", after, BATCH)
                if not rows:
                    break
                bodies = [(int(row[0]), str(row[-1])) for row in rows]
                await self.db.write(functools.partial(_fold_batch, rows=bodies))
                after = bodies[-1][0]
                read += len(rows)
        self.folded += read
        return read

    # --- reads ----------------------------------------------------------------------------

    async def runs(self, class_id: str | None = None) -> list[RunRow]:
        """Lesson runs, oldest first: of one class, or all."""

        def query(conn: sqlite3.Connection) -> list[RunRow]:
            sql = "SELECT * FROM runs" + (" WHERE class_id = ?" if class_id is not None else "")
            params = (class_id,) if class_id is not None else ()
            return [RunRow(*row) for row in conn.execute(sql + " ORDER BY started_at, run", params)]

        return await self.db.run(query)

    async def record(self, run: str) -> RunRecord | None:
        return await self.db.run(lambda conn: _record(conn, run))

    async def records(self, runs: Iterable[str]) -> list[RunRecord]:
        wanted = list(runs)

        def query(conn: sqlite3.Connection) -> list[RunRecord]:
            return [r for r in (_record(conn, run) for run in wanted) if r is not None]

        return await self.db.run(query)


def _cursor(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT last_seq FROM folded WHERE stream = 'statements'").fetchone()
    return int(row[0]) if row else 0


def _record(conn: sqlite3.Connection, run: str) -> RunRecord | None:
    row = conn.execute("SELECT * FROM runs WHERE run = ?", (run,)).fetchone()
    if row is None:
        return None
    questions = [
        QuestionRow(step, position, kind, prompt, points, [(c[0], c[1]) for c in json.loads(choices)],
                    json.loads(correct) if correct is not None else None)
        for step, position, kind, prompt, points, choices, correct in conn.execute(
            "SELECT step, position, kind, prompt, points, choices, correct FROM questions WHERE run = ? "
            "ORDER BY position IS NULL, position, step", (run,))
    ]  # fmt: skip
    answers = [
        AnswerRow(step, student, response, None if correct is None else bool(correct), points, seconds, at)
        for step, student, response, correct, points, seconds, at in conn.execute(
            "SELECT step, student, response, correct, points, seconds, at FROM answers WHERE run = ?", (run,))
    ]  # fmt: skip
    present = dict(conn.execute("SELECT student, first_joined FROM attendance WHERE run = ?", (run,)).fetchall())
    return RunRecord(RunRow(*row), questions, answers, present)


# --- folding --------------------------------------------------------------------------------


def _fold_batch(conn: sqlite3.Connection, rows: list[tuple[int, str]]) -> None:
    done: set[tuple[Any, ...]] = set()  # rows this batch already wrote that a statement would only repeat
    for seq, body in rows:
        try:
            statement = json.loads(body)
            if isinstance(statement, dict):
                fold(conn, statement, done)
        except (ValueError, TypeError, KeyError, AttributeError) as err:
            # A statement the hub did not make (or an older shape): skipped, never fatal.
            log.warning("event=gradebook_statement_skipped seq=%d error=%r", seq, str(err))
    conn.execute(
        "INSERT INTO folded (stream, last_seq) VALUES ('statements', ?) "
        "ON CONFLICT (stream) DO UPDATE SET last_seq = max(last_seq, excluded.last_seq)",
        (rows[-1][0],),
    )


def fold(conn: sqlite3.Connection, statement: Mapping[str, Any], done: set[tuple[Any, ...]] | None = None) -> None:
    """Put one statement's part of the marks in its place (a statement not of a lesson: nothing).
    ``done``: what this batch already wrote, so 40 students' statements about one run or one
    question write it once."""
    done = set() if done is None else done
    context = statement.get("context") or {}
    run = context.get("registration")
    obj = statement.get("object") or {}
    activities = context.get("contextActivities") or {}
    lesson = obj if _type(obj) == _LESSON_TYPE else next(
        (a for a in activities.get("parent") or () if _type(a) == _LESSON_TYPE), None)  # fmt: skip
    if not run or lesson is None:
        return
    verb = _VERBS.get((statement.get("verb") or {}).get("id", ""))
    actor = ((statement.get("actor") or {}).get("account") or {}).get("name", "")
    when = _epoch(statement["timestamp"])
    instructor = ((context.get("instructor") or {}).get("account") or {}).get("name", "")
    grouping = activities.get("grouping") or ()
    klass: Mapping[str, Any] = next((a for a in grouping if _type(a) == _CLASS_TYPE), {})
    room: Mapping[str, Any] = next((a for a in grouping if _type(a) == _ROOM_TYPE), {})
    class_id = (context.get("extensions") or {}).get(xapi.EXT_CLASS) or _last_part(klass.get("id", ""))
    if ("run", run) not in done or verb == "launched":
        conn.execute(
            "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL) ON CONFLICT (run) DO UPDATE SET "
            "started_at = min(started_at, excluded.started_at)",
            (run, class_id, _name(klass) or class_id, _lesson_id(lesson.get("id", "")), _name(lesson),
             instructor, _name(room), when),
        )  # fmt: skip
        done.add(("run", run))
    if verb == "completed" and actor == instructor and obj is lesson:
        conn.execute("UPDATE runs SET ended_at = ? WHERE run = ?", (when, run))
    elif verb == "joined":
        conn.execute(
            "INSERT INTO attendance VALUES (?, ?, ?) ON CONFLICT (run, student) DO UPDATE SET "
            "first_joined = min(first_joined, excluded.first_joined)",
            (run, actor, when),
        )
    elif verb in ("experienced", "answered") and _type(obj) == _INTERACTION:
        step = _step_id(obj.get("id", ""))
        scored = verb == "answered" and bool(((statement.get("result") or {}).get("score") or {}).get("max"))
        if ("question", run, step, scored) not in done:
            _question(conn, run, step, obj, statement, context)
            done.add(("question", run, step, scored))
        if verb == "answered":
            _answer(conn, run, step, actor, statement.get("result") or {}, when)


def _question(conn: sqlite3.Connection, run: str, step: str, obj: Mapping[str, Any],
              statement: Mapping[str, Any], context: Mapping[str, Any]) -> None:  # fmt: skip
    definition = obj.get("definition") or {}
    quiz = "correctResponsesPattern" in definition
    choices = [[c["id"], next(iter((c.get("description") or {}).values()), c["id"])]
               for c in definition.get("choices") or ()]  # fmt: skip
    position = (context.get("extensions") or {}).get(xapi.EXT_STEP_INDEX)
    score = ((statement.get("result") or {}).get("score") or {}).get("max")
    conn.execute(
        "INSERT INTO questions VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run, step) DO UPDATE SET "
        "position = coalesce(excluded.position, position), points = coalesce(excluded.points, points)",
        (run, step, position if isinstance(position, int) else None, "quiz" if quiz else "poll", _name(obj),
         score, json.dumps(choices, ensure_ascii=False),
         json.dumps(definition["correctResponsesPattern"], ensure_ascii=False) if quiz else None),
    )  # fmt: skip


def _answer(conn: sqlite3.Connection, run: str, step: str, student: str, result: Mapping[str, Any],
            when: float) -> None:  # fmt: skip
    success = result.get("success")
    conn.execute(
        "INSERT OR REPLACE INTO answers VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (run, step, student, str(result.get("response", "")), None if success is None else int(bool(success)),
         (result.get("score") or {}).get("raw"), seconds_of(result.get("duration")), when),
    )  # fmt: skip
    # An answer without a "joined" (its statement was removed, or never made) still means present.
    conn.execute("INSERT OR IGNORE INTO attendance VALUES (?, ?, ?)", (run, student, when))


def _type(activity: Mapping[str, Any]) -> str | None:
    return (activity.get("definition") or {}).get("type")


def _name(activity: Mapping[str, Any]) -> str:
    names = (activity.get("definition") or {}).get("name") or {}
    return str(next(iter(names.values()), "")) if isinstance(names, dict) else ""


def _last_part(iri: str) -> str:
    return unquote(iri.rstrip("/").rsplit("/", 1)[-1])


def _lesson_id(iri: str) -> str:
    return unquote(iri.split("/xapi/lessons/", 1)[-1].split("/", 1)[0])


def _step_id(iri: str) -> str:
    return unquote(iri.rsplit("/steps/", 1)[-1])


def _epoch(timestamp: str) -> float:
    return datetime.fromisoformat(timestamp).timestamp()


def seconds_of(duration: object) -> float | None:
    """An ISO 8601 duration as xAPI writes it (``PT1M15.5S``) in seconds; None if it is not one."""
    match = _DURATION.match(duration) if isinstance(duration, str) else None
    if match is None or duration == "PT":
        return None
    hours, minutes, seconds = match.groups()
    return int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds or 0)
