"""The hub's durable store: SQLite in WAL mode, written by one thread in group commits.

Why a thread: sqlite3 calls block, and the event loop must not. One writer thread takes
everything queued since its last commit and writes it in one transaction (group commit),
so a burst of 10,000 readings costs one fsync, not 10,000. A caller learns that its rows
are durable through a callback (MQTT acks) or a future; nothing is "received" before that.

Readers use the store's second connection, ``db``, on a thread of its own (WAL lets them
read while the writer writes); the alarms keep their few small writes there too. Both
connections get telemetry's durability from classroom_hub/storage/sqlite.py.

Device events the hub writes itself (state changes, device and lab alarms, battery samples,
calibrations: ``keep_device_events``) have no broker to resend them: while the store fails
they wait here in memory, in order, up to ``held_max`` (the oldest go beyond it, counted in
``stats.held_dropped``), and are written as soon as a commit succeeds again.

Every row carries a sequence number per stream; a destination's outbox cursor is the last
sequence it has confirmed (see classroom_hub/store/schema.py).
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import json
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from classroom_hub.errors import StoreError
from classroom_hub.storage.sqlite import Database, MigrationError, Synchronous, open_connection
from classroom_hub.store.schema import SCHEMA, STREAMS

log = logging.getLogger(__name__)
T = TypeVar("T")

ReadingRow = tuple[str, str, float, float, str | None]  # device_id, key, ts, value, unit
EventRow = tuple[str, float, str, str]  # device_id, ts, type, data (JSON)
Done = Callable[[], None]
Failed = Callable[[StoreError], None]
StoreState = Literal["new", "up", "failing", "closed"]
HELD_MAX = 10_000


@dataclass
class StoreStats:
    readings: int = 0
    statements: int = 0
    device_events: int = 0
    duplicates_ignored: int = 0
    commits: int = 0
    last_commit_ms: float = 0.0
    last_error: str | None = None
    held_dropped: int = 0  # the hub's own device events dropped beyond held_max since start
    held_dropped_now: int = 0  # ... during the failure under way (0 again once the store heals)


@dataclass
class _Job:
    kind: Literal["readings", "events", "statements", "cursor", "probe", "barrier", "stop"]
    rows: Sequence[Any] = ()
    done: Done | None = None
    future: asyncio.Future[int] | None = None
    failed: Failed | None = None
    cursor: tuple[str, str, int] | None = None


@dataclass
class _Batch:
    readings: list[ReadingRow] = field(default_factory=list)
    events: list[EventRow] = field(default_factory=list)
    statements: list[tuple[str, float, str]] = field(default_factory=list)
    jobs: list[_Job] = field(default_factory=list)


class TelemetryStore:
    def __init__(
        self, path: Path, *, synchronous: Synchronous = "FULL", batch_max: int = 5000, held_max: int = HELD_MAX
    ) -> None:
        self.path = path
        self.held_max = held_max
        # The hub's own device events waiting for the store to heal, oldest first, each with
        # the number it was handed in under (a failed batch puts its rows back in their place).
        self._held: list[tuple[int, EventRow]] = []
        self._kept = 0  # numbers handed out by keep_device_events
        self._releasing = False
        self._release_task: asyncio.Future[None] | None = None
        self.synchronous = synchronous
        self.batch_max = batch_max
        self.state: StoreState = "new"
        self.stats = StoreStats()
        self._queue: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        # When the commit under way began (time.monotonic()): one that waits long is waiting for
        # a lock another program holds (busy_timeout, 30 s) or for a dying disk.
        self.committing_since: float | None = None
        self.db = Database(path, SCHEMA, synchronous=synchronous, thread_name="store-read")

    # --- lifecycle -------------------------------------------------------------------

    async def open(self) -> None:
        self._loop = asyncio.get_running_loop()
        ready: asyncio.Future[int] = self._loop.create_future()
        self._thread = threading.Thread(target=self._writer, args=(ready,), name="store-write", daemon=True)
        self._thread.start()
        version = await ready
        self.state = "up"
        log.info("event=store_opened path=%s schema_version=%d", self.path, version)

    async def close(self) -> None:
        """Write everything queued, then close. Nothing accepted before close is lost."""
        if self._release_task is not None:
            await asyncio.gather(self._release_task, return_exceptions=True)
        if self._held and self._thread is not None:
            with contextlib.suppress(StoreError):
                await self._release_now()
            if self._held:
                log.error("event=store_held_lost count=%d path=%s reason='the store still fails at close'",
                          len(self._held), self.path)  # fmt: skip
                self._held.clear()
        if self._thread is not None:
            self._queue.put(_Job("stop"))
            await asyncio.get_running_loop().run_in_executor(None, self._thread.join)
            self._thread = None
        await self.db.close()
        self.state = "closed"

    def stalled_s(self) -> float:
        """How long the commit under way has been waiting (0: none is)."""
        since = self.committing_since
        return 0.0 if since is None else time.monotonic() - since

    # --- writes ----------------------------------------------------------------------

    def add_readings(self, rows: Sequence[ReadingRow], done: Done | None = None, failed: Failed | None = None) -> None:
        """Queue readings; ``done`` runs on the event loop once they are committed, ``failed``
        (with the error) if their commit failed: a full disk, a locked file...
        A reading already stored (same device, key and time) is ignored: redelivery is harmless."""
        self._put(_Job("readings", rows, done, failed=failed))

    def add_device_events(
        self, rows: Sequence[EventRow], done: Done | None = None, failed: Failed | None = None
    ) -> None:
        self._put(_Job("events", rows, done, failed=failed))

    def keep_device_events(self, rows: Sequence[EventRow]) -> None:
        """Queue device events the hub writes itself (no broker resends them). While the store
        fails they wait in memory, in order, and are written once a commit succeeds again;
        beyond ``held_max`` waiting the oldest are dropped, counted and logged once."""
        if self.state not in ("up", "failing"):
            raise StoreError(f"store is {self.state}")
        numbered = [(self._kept + i, row) for i, row in enumerate(rows)]
        self._kept += len(numbered)
        if self._held or self._releasing:
            self._hold(numbered)  # earlier ones wait: these go after them
            return
        self._put(_Job("events", [row for _, row in numbered], failed=self._put_back(numbered)))

    @property
    def held(self) -> int:
        """The hub's own device events waiting for the store to heal."""
        return len(self._held)

    def _hold(self, numbered: list[tuple[int, EventRow]]) -> None:
        if numbered and (not self._held or numbered[0][0] > self._held[-1][0]):
            self._held.extend(numbered)
        else:
            for item in numbered:  # a failed batch's rows back in their place
                bisect.insort(self._held, item, key=lambda held: held[0])
        over = len(self._held) - self.held_max
        if over > 0:
            del self._held[:over]
            if self.stats.held_dropped_now == 0:
                log.error("event=store_held_dropped path=%s bound=%d reason='the store fails; the oldest device "
                          "events the hub wrote itself are dropped'", self.path, self.held_max)  # fmt: skip
            self.stats.held_dropped += over
            self.stats.held_dropped_now += over

    def _put_back(self, numbered: list[tuple[int, EventRow]]) -> Failed:
        return lambda _err: self._hold(numbered)

    def _release(self) -> None:
        """On the loop, after a commit succeeded: write what waits, in order."""
        if self.state == "up":
            self.stats.held_dropped_now = 0  # this failure is over (its drops stay in held_dropped)
        if self._held and not self._releasing and self.state == "up":
            self._releasing = True  # from now on new events queue behind the held ones
            self._release_task = asyncio.ensure_future(self._release_quietly())

    async def _release_quietly(self) -> None:
        with contextlib.suppress(StoreError):  # put back in _hold; the next success tries again
            await self._release_now()

    async def _release_now(self) -> None:
        self._releasing = True
        try:
            while self._held:
                numbered, self._held = self._held[: self.batch_max], self._held[self.batch_max :]
                job = _Job("events", [row for _, row in numbered], failed=self._put_back(numbered))
                await self._submit(job)
            log.info("event=store_held_written path=%s", self.path)
        finally:
            self._releasing = False

    async def add_statements(self, statements: Sequence[dict[str, Any]]) -> int:
        """Store xAPI statements (each with its stable ``id``); returns how many were new."""
        now = time.time()
        rows = [(s["id"], now, json.dumps(s, ensure_ascii=False, separators=(",", ":"))) for s in statements]
        return await self._submit(_Job("statements", rows))

    async def set_cursor(self, destination: str, stream: str, last_seq: int) -> None:
        if stream not in STREAMS:
            raise StoreError(f"unknown stream {stream!r}")
        await self._submit(_Job("cursor", cursor=(destination, stream, last_seq)))

    def probe(self) -> None:
        """Queue a commit that writes a page and nothing else, so a store that failed learns
        that it can write again (space freed, a lock let go) even if nothing else is written."""
        self._put(_Job("probe"))

    async def flush(self) -> None:
        """Wait until everything queued so far is committed."""
        await self._submit(_Job("barrier"))

    def _put(self, job: _Job) -> None:
        if self.state not in ("up", "failing"):
            raise StoreError(f"store is {self.state}")
        self._queue.put(job)

    async def _submit(self, job: _Job) -> int:
        assert self._loop is not None
        job.future = self._loop.create_future()
        self._put(job)
        return await job.future

    # --- reads -----------------------------------------------------------------------

    async def counts(self) -> dict[str, int]:
        def count(c: sqlite3.Connection) -> dict[str, int]:
            return {s: int(c.execute(f"SELECT count(*) FROM {s}").fetchone()[0]) for s in STREAMS}

        return await self._read(count)

    async def outbox_depth(self, destination: str) -> dict[str, int]:
        """Rows not yet confirmed by ``destination``, per stream."""

        def depth(c: sqlite3.Connection) -> dict[str, int]:
            out = {}
            for stream in STREAMS:
                row = c.execute(
                    "SELECT last_seq FROM outbox_cursor WHERE destination = ? AND stream = ?",
                    (destination, stream),
                ).fetchone()
                after = row[0] if row else 0
                out[stream] = int(c.execute(f"SELECT count(*) FROM {stream} WHERE seq > ?", (after,)).fetchone()[0])
            return out

        return await self._read(depth)

    async def cursor(self, destination: str, stream: str) -> int:
        def get(c: sqlite3.Connection) -> int:
            row = c.execute(
                "SELECT last_seq FROM outbox_cursor WHERE destination = ? AND stream = ?",
                (destination, stream),
            ).fetchone()
            return int(row[0]) if row else 0

        return await self._read(get)

    async def read_after(self, stream: str, after_seq: int, limit: int) -> list[tuple[Any, ...]]:
        """The next ``limit`` rows of ``stream`` after ``after_seq``, oldest first, seq first."""
        if stream not in STREAMS:
            raise StoreError(f"unknown stream {stream!r}")
        return await self._read(
            lambda c: c.execute(
                f"SELECT * FROM {stream} WHERE seq > ? ORDER BY seq LIMIT ?", (after_seq, limit)
            ).fetchall()
        )

    async def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return await self.db.run(fn)

    # --- the writer thread -----------------------------------------------------------

    def _writer(self, ready: asyncio.Future[int]) -> None:
        assert self._loop is not None
        loop = self._loop
        try:
            conn = open_connection(self.path, SCHEMA, synchronous=self.synchronous, check_same_thread=True)
            version = SCHEMA.version
        except (OSError, sqlite3.Error, MigrationError) as err:
            error = StoreError(f"cannot open the store {self.path}: {err}")
            loop.call_soon_threadsafe(_fail, ready, error)
            return
        loop.call_soon_threadsafe(_resolve, ready, version)
        try:
            stopping = False
            while not stopping:
                batch = _Batch()
                job = self._queue.get()
                while True:
                    if job.kind == "stop":
                        stopping = True
                    else:
                        self._collect(batch, job)
                    if stopping or len(batch.readings) + len(batch.statements) >= self.batch_max:
                        break
                    try:
                        job = self._queue.get_nowait()
                    except queue.Empty:
                        break
                if batch.jobs:
                    self._commit(conn, batch)
        finally:
            conn.close()

    @staticmethod
    def _collect(batch: _Batch, job: _Job) -> None:
        if job.kind == "readings":
            batch.readings.extend(job.rows)
        elif job.kind == "events":
            batch.events.extend(job.rows)
        elif job.kind == "statements":
            batch.statements.extend(job.rows)
        batch.jobs.append(job)

    def _commit(self, conn: sqlite3.Connection, batch: _Batch) -> None:
        assert self._loop is not None
        started = time.perf_counter()
        self.committing_since = time.monotonic()
        new: dict[int, int] = {}
        try:
            conn.execute("BEGIN")
            if batch.readings:
                before = conn.total_changes
                # One statement for the whole batch: executemany releases and re-takes the GIL
                # for every row, and behind a busy event loop each re-take can wait 5 ms.
                conn.execute(_INSERT_READINGS, (json.dumps(batch.readings),))
                added = conn.total_changes - before
                self.stats.readings += added
                self.stats.duplicates_ignored += len(batch.readings) - added
            if batch.events:
                conn.executemany(
                    "INSERT OR IGNORE INTO device_events (device_id, ts, type, data) VALUES (?, ?, ?, ?)",
                    batch.events,
                )
            for job in batch.jobs:
                if job.kind == "statements":
                    before = conn.total_changes
                    conn.executemany(
                        "INSERT OR IGNORE INTO statements (id, stored_at, body) VALUES (?, ?, ?)", job.rows
                    )
                    new[id(job)] = conn.total_changes - before
                    self.stats.statements += new[id(job)]
                elif job.kind == "probe":
                    # Page 1 rewritten with the same version: a real write, no change.
                    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
                    conn.execute(f"PRAGMA user_version = {version}")
                elif job.kind == "cursor" and job.cursor is not None:
                    conn.execute(
                        "INSERT INTO outbox_cursor (destination, stream, last_seq, updated_at) VALUES (?, ?, ?, ?) "
                        "ON CONFLICT (destination, stream) DO UPDATE SET last_seq = excluded.last_seq, "
                        "updated_at = excluded.updated_at",
                        (*job.cursor, time.time()),
                    )
            conn.execute("COMMIT")
        except sqlite3.Error as err:
            # Disk full, I/O error...: nothing of this batch is acknowledged, so MQTT
            # redelivers it later and callers see the error; the hub stays up.
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            # One line when the store starts failing (or the reason changes), not one per retry.
            level = logging.DEBUG if self.state == "failing" and self.stats.last_error == str(err) else logging.ERROR
            self.state = "failing"
            self.stats.last_error = str(err)
            log.log(level, "event=store_commit_failed path=%s error=%r rows=%d", self.path, str(err),
                    len(batch.readings) + len(batch.statements))  # fmt: skip
            error = StoreError(f"could not write to {self.path}: {err}")
            self._loop.call_soon_threadsafe(_fail_all, batch.jobs, error)
            return
        finally:
            self.committing_since = None
        if batch.readings or batch.events or any(j.kind in ("statements", "cursor", "probe") for j in batch.jobs):
            # Not on an empty commit (a barrier): that one writes nothing, so it proves nothing.
            if self.state == "failing":
                log.info("event=store_recovered path=%s", self.path)
            self.state = "up"
            if self._held or self.stats.held_dropped_now:
                self._loop.call_soon_threadsafe(self._release)
        self.stats.device_events += len(batch.events)
        self.stats.commits += 1
        self.stats.last_commit_ms = (time.perf_counter() - started) * 1000
        self._loop.call_soon_threadsafe(_complete, batch.jobs, new)


_INSERT_READINGS = (
    "INSERT OR IGNORE INTO readings (device_id, key, ts, value, unit) "
    "SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4 FROM json_each(?)"
)


def _resolve(future: asyncio.Future[int], value: int) -> None:
    if not future.done():
        future.set_result(value)


def _fail(future: asyncio.Future[int], error: Exception) -> None:
    if not future.done():
        future.set_exception(error)


def _fail_all(jobs: list[_Job], error: StoreError) -> None:
    for job in jobs:
        if job.failed is not None:
            try:
                job.failed(error)
            except Exception:
                log.exception("event=store_failed_callback_failed")
        if job.future is not None:
            _fail(job.future, error)


def _complete(jobs: list[_Job], new: dict[int, int]) -> None:
    for job in jobs:
        if job.done is not None:
            try:
                job.done()
            except Exception:
                log.exception("event=store_done_callback_failed")
        if job.future is not None:
            _resolve(job.future, new.get(id(job), 0))
