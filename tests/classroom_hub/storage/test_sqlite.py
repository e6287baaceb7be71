"""The one SQLite helper: migrations once and in order, all or nothing, durability as declared."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from classroom_hub.errors import StoreError
from classroom_hub.storage.sqlite import (
    DURABILITY,
    Database,
    MigrationError,
    Schema,
    connect,
    open_connection,
    statements,
    transaction,
)

LOG = "CREATE TABLE applied (number INTEGER NOT NULL, at INTEGER PRIMARY KEY)"


def numbered(count: int) -> tuple[str, ...]:
    """Migrations that note themselves in a table, so the test sees which ran and in what order."""
    first = f"{LOG}; INSERT INTO applied (number) VALUES (1)"
    return (first, *(f"INSERT INTO applied (number) VALUES ({n})" for n in range(2, count + 1)))


def applied(path: Path) -> list[int]:
    with sqlite3.connect(path) as c:
        return [n for (n,) in c.execute("SELECT number FROM applied ORDER BY at")]


def version(path: Path) -> int:
    with sqlite3.connect(path) as c:
        return int(c.execute("PRAGMA user_version").fetchone()[0])


def test_migrations_are_applied_once_and_in_order(tmp_path: Path) -> None:
    path = tmp_path / "labs" / "book.db"  # the folder is created too
    open_connection(path, Schema("labs", numbered(3))).close()
    assert applied(path) == [1, 2, 3] and version(path) == 3
    open_connection(path, Schema("labs", numbered(3))).close()  # opened again: nothing runs twice
    assert applied(path) == [1, 2, 3]
    open_connection(path, Schema("labs", numbered(5))).close()  # a newer hub: only what is new
    assert applied(path) == [1, 2, 3, 4, 5] and version(path) == 5


def test_a_failed_migration_leaves_the_file_as_it_was_and_names_itself(tmp_path: Path) -> None:
    path = tmp_path / "book.db"
    open_connection(path, Schema("labs", numbered(1))).close()
    broken = (
        *numbered(1),
        "CREATE TABLE feedings (kit_id TEXT); INSERT INTO applied (number) VALUES (2)",
        "ALTER TABLE no_such_table ADD COLUMN x TEXT",
    )
    with pytest.raises(MigrationError) as caught:
        open_connection(path, Schema("labs", broken))
    message = str(caught.value)
    assert str(path) in message and "migration 3 of the labs database" in message
    assert "no_such_table" in message and "left as it was (version 1)" in message
    # Neither migration 2 (which worked) nor 3 left a trace: the file is at version 1, as before.
    assert version(path) == 1 and applied(path) == [1]
    with sqlite3.connect(path) as c:
        assert c.execute("SELECT count(*) FROM sqlite_master WHERE name = 'feedings'").fetchone()[0] == 0
        assert not c.in_transaction


def test_a_file_from_a_newer_hub_is_refused_with_advice(tmp_path: Path) -> None:
    path = tmp_path / "book.db"
    open_connection(path, Schema("labs", numbered(4))).close()
    newer = r"labs database schema version 4 is newer than this hub knows \(2\)"
    with pytest.raises(MigrationError, match=newer) as caught:
        open_connection(path, Schema("labs", numbered(2)))
    assert str(path) in str(caught.value)
    assert applied(path) == [1, 2, 3, 4]


def test_a_script_is_cut_where_sqlite_says_a_statement_ends() -> None:
    script = """
        -- a comment; with a semicolon
        CREATE TABLE t (a TEXT DEFAULT 'x;y');
        CREATE TRIGGER t_guard BEFORE INSERT ON t BEGIN SELECT RAISE(ABORT, 'no'); END;
        INSERT INTO t VALUES ('last, without a semicolon')
    """
    cut = statements(script)
    assert len(cut) == 3
    assert cut[1].startswith("CREATE TRIGGER") and cut[1].endswith("END;")
    assert "'x;y'" in cut[0]


SYNCHRONOUS = {"FULL": 2, "NORMAL": 1}


@pytest.mark.parametrize("database", sorted(DURABILITY))
def test_each_database_gets_the_durability_declared_for_it(tmp_path: Path, database: str) -> None:
    declared = DURABILITY[database]
    conn = connect(tmp_path / f"{database}.db", database)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == SYNCHRONOUS[declared.synchronous]
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == int(declared.busy_timeout_s * 1000)
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == int(declared.foreign_keys)
    finally:
        conn.close()


def test_the_room_file_may_lower_telemetry_and_nothing_else_is_accepted(tmp_path: Path) -> None:
    conn = connect(tmp_path / "t.db", "telemetry", synchronous="NORMAL")
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1
    conn.close()
    with pytest.raises(ValueError, match="no durability declared for the 'notes' database"):
        connect(tmp_path / "n.db", "notes")
    assert not (tmp_path / "n.db").exists()


def test_a_transaction_is_committed_whole_or_rolled_back(tmp_path: Path) -> None:
    conn = open_connection(tmp_path / "b.db", Schema("labs", ("CREATE TABLE t (a INTEGER UNIQUE)",)))
    with transaction(conn):
        conn.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(sqlite3.IntegrityError), transaction(conn):
        conn.execute("INSERT INTO t VALUES (2)")
        conn.execute("INSERT INTO t VALUES (1)")
    assert [a for (a,) in conn.execute("SELECT a FROM t")] == [1]
    assert not conn.in_transaction
    conn.close()


class NoteError(Exception):
    """A package's own error type: the database's errors come out as it."""


async def test_one_thread_runs_every_call_in_order_and_reports_what_failed(tmp_path: Path) -> None:
    db = Database(tmp_path / "n.db", Schema("labs", ("CREATE TABLE notes (n INTEGER UNIQUE)",)), error=NoteError)
    threads: set[str] = set()

    def note(n: int) -> None:
        def write(c: sqlite3.Connection) -> None:
            threads.add(threading.current_thread().name)
            c.execute("INSERT INTO notes VALUES (?)", (n,))

        db.submit(write)

    for n in range(20):
        note(n)
    note(3)  # a duplicate: fails, counted and logged, the rest goes on
    note(20)
    await db.barrier()
    rows = await db.run(lambda c: [n for (n,) in c.execute("SELECT n FROM notes ORDER BY rowid")])
    assert rows == list(range(21))
    assert db.write_errors == 1 and len(threads) == 1

    with pytest.raises(NoteError, match=r"n\.db: UNIQUE constraint failed"):
        await db.write(lambda c: c.executemany("INSERT INTO notes VALUES (?)", [(100,), (0,)]))
    assert await db.run(lambda c: c.execute("SELECT count(*) FROM notes WHERE n = 100").fetchone()[0]) == 0

    await db.close()
    with pytest.raises(NoteError, match="closed"):
        await db.run(lambda c: None)
    db.submit(lambda c: None)  # too late: counted, not raised
    assert db.write_errors == 2


async def test_a_database_that_cannot_open_says_which_file(tmp_path: Path) -> None:
    (tmp_path / "dir.db").mkdir()  # a folder where the file should be
    db = Database(tmp_path / "dir.db", Schema("labs", ()))
    with pytest.raises(StoreError, match=r"cannot open .*dir\.db"):
        await db.open()
    await db.close()
