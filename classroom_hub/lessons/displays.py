"""The room's display pages: one shows the class code only once a technician has paired it.

A technician makes a pairing code on the technician console: 8 digits, shown once, valid
for ten minutes and for one display. The display page sends it once and gets back a
credential it keeps for good (a cookie); the hub stores only a hash of that credential, so
a copy of this file pairs nothing. Revoking a display ends its credential at once.

Wrong codes are counted for the whole hub, not per address (a student can change address):
at most ``MAX_WRONG_PER_MINUTE`` a minute, so the 10^8 codes cannot be tried in the ten
minutes a code lives (30 guesses a minute against one open code: one chance in 330,000).

The file is small and rarely written: synchronous sqlite3 (opened by classroom_hub/storage/sqlite.py),
called through an executor.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import sqlite3
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from classroom_hub.clock import SYSTEM, Clock
from classroom_hub.lessons.errors import LessonError, Problem
from classroom_hub.lessons.protocol import ProtocolError
from classroom_hub.storage.sqlite import MigrationError, Schema, open_connection, transaction

DISPLAYS_FILE = "displays.db"
CODE_DIGITS = 8
CODE_TTL_S = 600.0
MAX_WRONG_PER_MINUTE = 30
MAX_OPEN_CODES = 20
NAME_MAX = 60

SCHEMA = Schema("displays", (
    # 1: pairing codes and paired displays ("IF NOT EXISTS": a file from before numbered
    # migrations has them at version 0)
    """
    CREATE TABLE IF NOT EXISTS codes (
        key TEXT PRIMARY KEY, name TEXT NOT NULL, made_by TEXT NOT NULL,
        expires_at REAL NOT NULL, uses INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS displays (
        id TEXT PRIMARY KEY, key TEXT UNIQUE NOT NULL, name TEXT NOT NULL,
        paired_at REAL NOT NULL, paired_by TEXT NOT NULL, peer TEXT NOT NULL,
        last_seen REAL, revoked_at REAL, revoked_by TEXT);
    """,
))  # fmt: skip


@dataclass(frozen=True, slots=True)
class PairedDisplay:
    id: str
    name: str
    paired_at: float
    paired_by: str  # who made the pairing code
    peer: str  # the address it paired from
    last_seen: float | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class PairingCode:
    code: str
    name: str
    expires_at: float


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class DisplayPairings:
    def __init__(self, path: Path, clock: Clock = SYSTEM) -> None:
        self.path = path
        self.clock = clock
        self._wrong: deque[float] = deque(maxlen=MAX_WRONG_PER_MINUTE)
        self._lock = threading.Lock()
        try:
            self._conn = open_connection(path, SCHEMA)
        except (sqlite3.Error, OSError, MigrationError) as err:
            raise LessonError([Problem(str(path), "", f"cannot open the paired displays: {err}")]) from err

    @classmethod
    def open_or_start_over(cls, path: Path, clock: Clock = SYSTEM) -> tuple[DisplayPairings, LessonError | None]:
        """Open the file; a damaged one is set aside (``displays.db.damaged``) and a new one
        started, so the hub runs and the displays are paired again. Returns the problem too."""
        try:
            return cls(path, clock), None
        except LessonError as err:
            for suffix in ("", "-wal", "-shm"):
                damaged = path.with_name(path.name + suffix)
                if damaged.exists():
                    damaged.replace(path.with_name(path.name + ".damaged" + suffix))
            return cls(path, clock), err

    def close(self) -> None:
        self._conn.close()

    def new_code(self, name: str, made_by: str, *, ttl_s: float = CODE_TTL_S, uses: int = 1) -> PairingCode:
        """A fresh pairing code for a display to be called ``name``. Only its hash is stored."""
        name = " ".join(name.split())[:NAME_MAX] or "display"
        now = self.clock.time()
        code = "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))
        with self._write():
            self._conn.execute("DELETE FROM codes WHERE expires_at < ? OR uses < 1", (now,))
            # Bounded: the oldest open codes make room for new ones.
            self._conn.execute(
                "DELETE FROM codes WHERE key NOT IN (SELECT key FROM codes ORDER BY expires_at DESC LIMIT ?)",
                (MAX_OPEN_CODES - 1,),
            )
            self._conn.execute("INSERT OR REPLACE INTO codes VALUES (?, ?, ?, ?, ?)",
                               (_hash(code), name, made_by, now + ttl_s, uses))  # fmt: skip
        return PairingCode(code, name, now + ttl_s)

    def pair(self, code: str, peer: str) -> tuple[PairedDisplay, str]:
        """Use a pairing code: the new display and its credential (to keep, never shown again)."""
        now = self.clock.monotonic()
        if len(self._wrong) == MAX_WRONG_PER_MINUTE and now - self._wrong[0] < 60:
            raise ProtocolError("too_many_tries", "too many wrong pairing codes: wait a minute")
        with self._write():
            row = self._conn.execute("SELECT name, made_by, expires_at, uses FROM codes WHERE key = ?",
                                     (_hash(code),)).fetchone()  # fmt: skip
            if row is None or row[3] < 1:
                self._wrong.append(now)
                raise ProtocolError("bad_code", "no such pairing code (or it was used already)")
            name, made_by, expires_at, _uses = row
            if expires_at < self.clock.time():
                raise ProtocolError("expired", "this pairing code has expired: make a new one")
            self._conn.execute("UPDATE codes SET uses = uses - 1 WHERE key = ?", (_hash(code),))
            credential = secrets.token_urlsafe(32)
            display = PairedDisplay(secrets.token_hex(6), name, self.clock.time(), made_by, peer, None)
            self._conn.execute(
                "INSERT INTO displays (id, key, name, paired_at, paired_by, peer) VALUES (?, ?, ?, ?, ?, ?)",
                (display.id, _hash(credential), display.name, display.paired_at, made_by, peer),
            )
        return display, credential

    def check(self, credential: str) -> PairedDisplay | None:
        """The paired, not revoked display holding ``credential``."""
        rows = self._read("SELECT id, name, paired_at, paired_by, peer, last_seen FROM displays "
                          "WHERE key = ? AND revoked_at IS NULL", (_hash(credential),))  # fmt: skip
        return PairedDisplay(*rows[0]) if rows else None

    def seen(self, display_id: str) -> None:
        with self._write():
            self._conn.execute("UPDATE displays SET last_seen = ? WHERE id = ?", (self.clock.time(), display_id))

    def paired(self) -> list[PairedDisplay]:
        rows = self._read("SELECT id, name, paired_at, paired_by, peer, last_seen FROM displays "
                          "WHERE revoked_at IS NULL ORDER BY paired_at", ())  # fmt: skip
        return [PairedDisplay(*row) for row in rows]

    def revoke(self, display_id: str, by: str) -> PairedDisplay | None:
        with self._write():
            row = self._conn.execute("SELECT id, name, paired_at, paired_by, peer, last_seen FROM displays "
                                     "WHERE id = ? AND revoked_at IS NULL", (display_id,)).fetchone()  # fmt: skip
            if row is None:
                return None
            self._conn.execute("UPDATE displays SET revoked_at = ?, revoked_by = ? WHERE id = ?",
                               (self.clock.time(), by, display_id))  # fmt: skip
        return PairedDisplay(*row)

    # --- sqlite, with its errors translated once ---------------------------------------

    def _read(self, sql: str, args: tuple[Any, ...]) -> list[Any]:
        try:
            with self._lock:
                return self._conn.execute(sql, args).fetchall()
        except sqlite3.Error as err:
            raise self._failed("read", err) from err

    @contextlib.contextmanager
    def _write(self) -> Iterator[None]:
        """One transaction (executor threads take turns); rolled back on any error."""
        with self._lock:
            try:
                with transaction(self._conn):
                    yield
            except sqlite3.Error as err:
                raise self._failed("write", err) from err

    def _failed(self, doing: str, err: sqlite3.Error) -> LessonError:
        return LessonError([Problem(str(self.path), "", f"cannot {doing} the paired displays: {err}")])
