"""Every SQLite file of the hub is opened here: its pragmas, its migrations, its one thread.

A database is described once, as data: its :class:`Schema` (numbered migrations, kept in
``PRAGMA user_version``; append one, never edit a shipped one) and its line in
:data:`DURABILITY` (how much a power cut may cost it, and why). Then:

- :func:`open_connection` opens the file with those pragmas and brings it to the newest
  version; for the small files read and written from executor threads (accounts, roster,
  paired displays), which keep their synchronous API;
- :class:`Database` is one connection used by one thread of its own, with async ``run``,
  ``write`` (one transaction) and ``submit`` (a write queued in order that returns at once):
  sqlite3 blocks, and the event loop must not.

Pending migrations are applied in one transaction: all of them or none, so a failed one
leaves the file exactly as it was and the error names the file and the migration.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, TypeVar

from classroom_hub.errors import StoreError

log = logging.getLogger(__name__)
T = TypeVar("T")

Synchronous = Literal["FULL", "NORMAL"]


@dataclass(frozen=True, slots=True)
class Durability:
    """What a database may lose, and how long a writer waits for another before giving up.

    Every file is in WAL mode: readers and the writer never wait for each other, and a crash
    never corrupts the file. ``synchronous`` says what a power cut may cost: FULL syncs the
    log at every commit (nothing committed is lost), NORMAL only at checkpoints (the last
    commits before the cut may be lost, the file stays sound)."""

    synchronous: Synchronous
    busy_timeout_s: float
    foreign_keys: bool = False
    wal_required: bool = True  # False: a file system without WAL (a network share) keeps its rollback journal


# One line per database, with the reason. Page-facing files wait 5 s for a lock (a page
# should fail, not hang); files written in the background by several connections wait 30 s.
DURABILITY: Mapping[str, Durability] = MappingProxyType({
    # MQTT PUBACKs, "answered" and 2xx follow the commit (ARCHITECTURE.md), so every commit
    # must be on disk. The room file may lower it (store.synchronous) on a hub with a UPS.
    # Four connections share it: the store's group-commit writer, its reader (with the
    # alarms), the pusher's ledger and short-lived tools.
    "telemetry": Durability("FULL", 30.0),
    # A new password or a closed session must not come back after a power cut; few writes.
    "accounts": Durability("FULL", 5.0),
    # A roster import is reported done to the technician; rare, whole-file transactions.
    "roster": Durability("FULL", 5.0),
    # The running lesson (lessons/run_store.py): a tablet is told "answered" and a join gets its
    # seat token only after this commit, so a power cut never takes back what a tablet was told.
    # Group commits (one in flight, the next gathers what comes meanwhile) keep it fast.
    "lessons": Durability("FULL", 5.0),
    # A paired display's credential is handed out once: losing it unpairs the display.
    "displays": Durability("FULL", 5.0),
    # Run samples come in at up to 10 Hz and nothing is acknowledged to a device from here
    # (the readings themselves are in telemetry): a power cut may cost the last moments.
    "labs": Durability("NORMAL", 30.0),
    # Bookings are promises to teachers and the materials outbox hands recordings to the
    # pusher; its tables refer to each other.
    "studio": Durability("FULL", 5.0, foreign_keys=True),
    # Marks folded from the stored statements (classroom_hub/lessons/gradebook.py), kept for the
    # school year after the statements are delivered and removed: a report given to a teacher
    # must not change after a power cut. Few writes: a fold every few minutes.
    "gradebook": Durability("FULL", 5.0),
    # A SQLite file as the central database: the pusher moves its cursor after this commit.
    # It may live on a share where WAL cannot work.
    "push_file": Durability("FULL", 30.0, wal_required=False),
})


@dataclass(frozen=True, slots=True)
class Schema:
    """The migrations of one database: migration ``n`` is ``migrations[n - 1]``."""

    database: str  # its line in DURABILITY
    migrations: tuple[str, ...]

    @property
    def version(self) -> int:
        return len(self.migrations)


class MigrationError(StoreError):
    """A migration failed (the file is left as it was) or the file is newer than this hub."""

    code = "store_migration_failed"
    http_status = 503


def durability(database: str) -> Durability:
    try:
        return DURABILITY[database]
    except KeyError:
        raise ValueError(f"no durability declared for the {database!r} database in {__name__}") from None


# --- one connection -----------------------------------------------------------------------


def connect(
    path: Path, database: str, *, synchronous: Synchronous | None = None, check_same_thread: bool = False
) -> sqlite3.Connection:
    """A connection to ``path`` with the pragmas declared for ``database``; the file is created
    if missing. ``synchronous`` overrides the declared level (only the room file does that)."""
    declared = durability(database)
    level = synchronous or declared.synchronous
    if level not in ("FULL", "NORMAL"):
        raise ValueError(f"synchronous must be FULL or NORMAL, not {level!r}")
    conn = sqlite3.connect(
        path, isolation_level=None, check_same_thread=check_same_thread, timeout=declared.busy_timeout_s
    )
    try:
        mode = str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]).lower()
        if mode != "wal":
            if declared.wal_required:
                raise sqlite3.OperationalError(f"cannot use WAL (journal mode stays {mode})")
            log.warning("event=sqlite_without_wal path=%s database=%s journal_mode=%s", path, database, mode)
        conn.execute(f"PRAGMA synchronous = {level}")
        conn.execute(f"PRAGMA busy_timeout = {int(declared.busy_timeout_s * 1000)}")
        if declared.foreign_keys:
            conn.execute("PRAGMA foreign_keys = ON")
    except BaseException:
        conn.close()
        raise
    return conn


def version_of(conn: sqlite3.Connection) -> int:
    version: int = conn.execute("PRAGMA user_version").fetchone()[0]
    return version


def migrate(conn: sqlite3.Connection, path: Path, schema: Schema) -> int:
    """Bring the file to ``schema.version`` in one transaction; returns the version.

    Raises :class:`MigrationError` naming the file and the migration when one fails (nothing
    of this call is kept) or when the file is newer than this hub knows."""
    if version_of(conn) == schema.version:
        return schema.version
    conn.execute("BEGIN IMMEDIATE")  # and read again: another process may have migrated meanwhile
    try:
        start = version_of(conn)
        if start > schema.version:
            raise MigrationError(
                f"{path}: {schema.database} database schema version {start} is newer than this hub knows "
                f"({schema.version}): was the hub downgraded? Keep the newer version or restore a backup."
            )
        for number in range(start + 1, schema.version + 1):
            for statement in statements(schema.migrations[number - 1]):
                try:
                    conn.execute(statement)
                except sqlite3.Error as err:
                    shown = " ".join(statement.split())[:160]
                    raise MigrationError(
                        f"{path}: migration {number} of the {schema.database} database failed ({err}) at "
                        f"{shown!r}; the file is left as it was (version {start})"
                    ) from err
            conn.execute(f"PRAGMA user_version = {number}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    log.info("event=sqlite_migrated path=%s database=%s from=%d to=%d", path, schema.database, start, schema.version)
    return schema.version


def statements(script: str) -> list[str]:
    """A script cut into its statements (SQLite's own rule: triggers and quoted ';' stay whole)."""
    out: list[str] = []
    current = ""
    for piece in script.split(";"):
        current += piece + ";"
        if sqlite3.complete_statement(current):
            if _has_code(current):
                out.append(current.strip())
            current = ""
    if _has_code(current[:-1]):  # the script's last statement had no ';'
        out.append(current.strip())
    return out


def _has_code(sql: str) -> bool:
    return any(line.split("--", 1)[0].strip(" ;\t") for line in sql.splitlines())


def open_connection(
    path: Path, schema: Schema, *, synchronous: Synchronous | None = None, check_same_thread: bool = False
) -> sqlite3.Connection:
    """Create the folder, connect and migrate; the connection is closed again if that fails."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = connect(path, schema.database, synchronous=synchronous, check_same_thread=check_same_thread)
    try:
        migrate(conn, path, schema)
    except BaseException:
        conn.close()
        raise
    return conn


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One IMMEDIATE transaction (the write lock first: check-then-write without a race),
    rolled back on any error."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


# --- one connection on one thread ---------------------------------------------------------


class Database:
    """One connection to ``path``, used only by a thread of its own.

    Opened by :meth:`open` or by the first call; sqlite3 errors come out as ``error(message)``
    (the package's own error type), naming the file."""

    def __init__(
        self,
        path: Path,
        schema: Schema,
        *,
        synchronous: Synchronous | None = None,
        error: Callable[[str], Exception] = StoreError,
        row_factory: Any = None,
        thread_name: str | None = None,
        keep_failed_writes: int = 0,
    ) -> None:
        self.path = path
        # With keep_failed_writes > 0, a submitted write that fails for the file's sake (disk
        # full, locked, I/O: OperationalError) is kept, up to that many, and run again, in
        # order, before the next one and on retry_kept(). Each write then runs in a transaction
        # of its own, so a failed one left nothing and running it again does it once.
        self.keep_max = keep_failed_writes
        self._kept: collections.deque[Callable[[sqlite3.Connection], object]] = collections.deque()  # its thread
        self.kept = 0  # how many wait (a copy the event loop may read)
        self.kept_dropped = 0  # the oldest dropped beyond keep_max, since start
        self.last_error: str | None = None
        self.schema = schema
        self.synchronous = synchronous
        self.write_errors = 0  # writes queued by submit() that failed: each one logged too
        self.last_write_failed = False
        self._error = error
        self._row_factory = row_factory
        self._conn: sqlite3.Connection | None = None
        self._closed = False
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=thread_name or f"db-{schema.database}")

    async def open(self) -> None:
        await self.run(lambda _conn: None)

    async def close(self) -> None:
        """Close after every call queued before; later calls fail with the package's error."""
        if self._closed:
            return
        self._closed = True
        await asyncio.get_running_loop().run_in_executor(self._executor, self._disconnect)
        await asyncio.get_running_loop().run_in_executor(None, self._executor.shutdown)

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """``fn(connection)`` on the database's thread."""
        if self._closed:
            raise self._error(f"{self.path} is closed")
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, self._call, fn)
        except RuntimeError as err:  # the executor shut down between the check and the call
            raise self._error(f"{self.path} is closed") from err

    async def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """``fn(connection)`` in one transaction: committed whole or rolled back."""
        return await self.run(lambda conn: _in_transaction(conn, fn))

    def submit(self, fn: Callable[[sqlite3.Connection], object]) -> None:
        """Queue a write and return at once; writes run in the order queued. A failure is
        logged (``event=sqlite_write_failed``) and counted in ``write_errors``."""
        try:
            future = self._executor.submit(self._call, self._keeping(fn) if self.keep_max else fn)
        except RuntimeError:  # closed: the hub is stopping and this write came too late
            self._failed("closed")
            return
        future.add_done_callback(self._check_write)

    def retry_kept(self) -> None:
        """Run the kept writes again (a watch calls this every few seconds while some wait)."""
        if not self.kept:
            return
        with contextlib.suppress(RuntimeError):  # closed
            future = self._executor.submit(self._call, self._keeping(lambda _conn: None))
            future.add_done_callback(self._check_retry)  # a retry that fails again is not logged again

    def _check_retry(self, future: Future[Any]) -> None:
        error = future.exception()
        self.last_write_failed = error is not None
        self.last_error = None if error is None else str(error)

    def _keeping(self, fn: Callable[[sqlite3.Connection], object]) -> Callable[[sqlite3.Connection], object]:
        def write(conn: sqlite3.Connection) -> None:
            pending = [*self._kept, fn]
            self._kept.clear()
            try:
                for i, each in enumerate(pending):
                    try:
                        with transaction(conn):
                            each(conn)
                    except sqlite3.OperationalError:
                        self._kept.extend(pending[i:])
                        over = len(self._kept) - self.keep_max
                        if over > 0:
                            for _ in range(over):
                                self._kept.popleft()
                            if self.kept_dropped == 0:
                                log.error("event=sqlite_kept_writes_dropped path=%s bound=%d", self.path, self.keep_max)
                            self.kept_dropped += over
                        raise
                    except sqlite3.Error as err:
                        if each is fn:
                            raise
                        log.error("event=sqlite_kept_write_failed path=%s error=%r", self.path, str(err))
            finally:
                self.kept = len(self._kept)

        return write

    async def barrier(self) -> None:
        """Wait until every call queued so far has run."""
        await self.run(lambda _conn: None)

    # --- on the thread ---------------------------------------------------------------

    def _call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        conn = self._connection()
        try:
            return fn(conn)
        except sqlite3.Error as err:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise self._error(f"{self.path}: {err}") from err

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            if self._closed:
                raise self._error(f"{self.path} is closed")
            try:
                conn = open_connection(self.path, self.schema, synchronous=self.synchronous, check_same_thread=True)
            except MigrationError as err:
                raise self._error(str(err)) from err
            except (OSError, sqlite3.Error) as err:
                raise self._error(f"cannot open {self.path}: {err}") from err
            if self._row_factory is not None:
                conn.row_factory = self._row_factory
            self._conn = conn
        return self._conn

    def _disconnect(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _check_write(self, future: Future[Any]) -> None:
        error = future.exception()
        if error is None:
            self.last_write_failed = False
            self.last_error = None
        else:
            self.last_error = str(error)
            self._failed(str(error))

    def _failed(self, error: str) -> None:
        self.write_errors += 1
        self.last_write_failed = True
        log.error("event=sqlite_write_failed path=%s database=%s error=%r", self.path, self.schema.database, error)


def _in_transaction(conn: sqlite3.Connection, fn: Callable[[sqlite3.Connection], T]) -> T:
    with transaction(conn):
        return fn(conn)


# --- backups ------------------------------------------------------------------------------

SQLITE_MAGIC = b"SQLite format 3\x00"


def is_database(path: Path) -> bool:
    """Whether ``path`` is a SQLite file (by its header, whatever its name)."""
    try:
        with path.open("rb") as file:
            return file.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    except OSError:
        return False


def backup(source: Path, target: Path) -> int:
    """A consistent copy of the database ``source`` at ``target`` (a new file), made with SQLite's
    online backup API while the hub keeps writing; returns its schema version.

    One step (``pages=-1``): the copy is read in one read transaction, a snapshot of one moment.
    In WAL mode that transaction never blocks the hub's writers, whereas a copy in several
    steps starts over whenever another connection writes between two steps, which the telemetry
    store, committing several times a second, would do forever. The copy is checked
    (``PRAGMA integrity_check``) and left in rollback-journal mode: a single file, no -wal beside it.
    """
    if target.exists():
        raise StoreError(f"{target}: already exists")
    if not is_database(source):
        raise StoreError(f"{source}: not a SQLite database")
    try:
        src = sqlite3.connect(source, isolation_level=None, timeout=30.0)
        try:
            dst = sqlite3.connect(target, isolation_level=None)
            try:
                src.backup(dst, pages=-1)
                dst.execute("PRAGMA journal_mode = DELETE")
                verdict = dst.execute("PRAGMA integrity_check").fetchone()[0]
                version = version_of(dst)
            finally:
                dst.close()
        finally:
            src.close()
    except sqlite3.Error as err:
        target.unlink(missing_ok=True)
        raise StoreError(f"cannot back up {source}: {err}") from err
    if verdict != "ok":
        target.unlink(missing_ok=True)
        raise StoreError(f"the backup of {source} is damaged: {verdict}")
    return version
