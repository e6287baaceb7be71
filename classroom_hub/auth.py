"""Who is who: accounts with roles, scrypt-hashed passwords, expiring sessions.

The accounts file is small and rarely written: synchronous sqlite3 here, called through an
executor by the web server; opened, and its durability set, by classroom_hub/storage/sqlite.py.

The school's admin manages accounts from ``/admin`` (classroom_hub/admin/): a new account and a
reset one get a **one-time password**, made here, shown to the admin once and stored only as its
hash; it opens one thing, the form where its owner chooses their own password (the web guard
sends every other request there, classroom_hub/web/security.py). A **disabled** account cannot
log in and its sessions end at once; enabling it again does not bring them back.
"""

from __future__ import annotations

import base64
import builtins
import hashlib
import hmac
import logging
import math
import re
import secrets
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from classroom_hub.clock import SYSTEM, Clock
from classroom_hub.errors import AuthError
from classroom_hub.storage.sqlite import Schema, open_connection, transaction

log = logging.getLogger(__name__)

Role = Literal["teacher", "student", "technician", "lab_lead", "studio_staff", "admin"]
ROLES: tuple[str, ...] = get_args(Role)
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,31}$")

# scrypt with N=2^14, r=8 needs 16 MiB per hash: memory-hard, ~50 ms on the hub's CPU.
_N, _R, _P = 2**14, 8, 1
_MAXMEM = 64 * 1024 * 1024
MIN_PASSWORD = 8
# One-time passwords: read aloud or copied from the admin's screen, so no look-alike characters
# (0/O, 1/l/I); 12 of 54 symbols are 69 bits, far beyond what the login throttle lets anyone try.
_ONE_TIME_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
ONE_TIME_LENGTH = 12
# Failed logins: 5 a minute for one user from one address, 20 in 10 minutes from one address
# whatever the user names; at most 10,000 of each remembered (the oldest forgotten first).
PAIR_LIMIT, PAIR_WINDOW_S = 5, 60.0
ADDRESS_LIMIT, ADDRESS_WINDOW_S = 20, 600.0
THROTTLE_ENTRIES = 10_000

SCHEMA = Schema("accounts", (
    # 1: users and sessions ("IF NOT EXISTS": a file from before numbered migrations has them at version 0)
    """
    CREATE TABLE IF NOT EXISTS users (
        username TEXT PRIMARY KEY, role TEXT NOT NULL, display_name TEXT NOT NULL,
        password TEXT NOT NULL, created_at REAL NOT NULL);
    CREATE TABLE IF NOT EXISTS sessions (
        key TEXT PRIMARY KEY, username TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
        expires_at REAL NOT NULL);
    """,
    # 2: the admin page (classroom_hub/admin/): disabled accounts, the last login, and accounts
    # whose password is a one-time password their owner must replace before anything else.
    """
    ALTER TABLE users ADD COLUMN disabled_at REAL;
    ALTER TABLE users ADD COLUMN last_login REAL;
    ALTER TABLE users ADD COLUMN must_change INTEGER NOT NULL DEFAULT 0;
    """,
))  # fmt: skip


@dataclass(frozen=True, slots=True)
class User:
    username: str
    role: Role
    display_name: str
    must_change: bool = False  # signed in with a one-time password: may only choose a new one

    def may(self, *roles: str) -> bool:
        return self.role == "admin" or self.role in roles


@dataclass(frozen=True, slots=True)
class Account:
    """An account as the admin page lists it (never its password)."""

    username: str
    role: Role
    display_name: str
    created_at: float
    last_login: float | None
    disabled_at: float | None
    must_change: bool

    @property
    def disabled(self) -> bool:
        return self.disabled_at is not None


class Disabled(AuthError):
    """The account exists and the password was right, but the admin has disabled it."""

    code = "disabled"
    http_status = 403

    def __init__(self) -> None:
        super().__init__("disabled")


def one_time_password() -> str:
    return "".join(secrets.choice(_ONE_TIME_ALPHABET) for _ in range(ONE_TIME_LENGTH))


class Locked(AuthError):
    """Too many failed logins: try again after ``retry_after`` seconds."""

    code = "locked"
    http_status = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__("locked")
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Attempt:
    username: str
    address: str
    at: float


class LoginThrottle:
    """Failed logins counted per (username, client address) and per address.

    A teacher on their own laptop still gets in while someone elsewhere hammers their name:
    the lock is per address. Each attempt is counted as a failure *before* the password is
    checked (check and count under one lock), so 100 wrong passwords sent at once cost at
    most ``PAIR_LIMIT`` password checks; a success takes its count back and clears the pair.
    Both tables forget their least recently used entries beyond ``THROTTLE_ENTRIES``."""

    def __init__(self, clock: Clock = SYSTEM, entries: int = THROTTLE_ENTRIES) -> None:
        self._clock = clock
        self._entries = entries
        self._lock = threading.Lock()
        self._pairs: OrderedDict[tuple[str, str], list[float]] = OrderedDict()
        self._addresses: OrderedDict[str, list[float]] = OrderedDict()

    def begin(self, username: str, address: str) -> Attempt:
        """Count an attempt, or raise :class:`Locked` when its pair or its address is spent."""
        with self._lock:
            now = self._clock.monotonic()
            pair = self._recent(self._pairs, (username, address), now - PAIR_WINDOW_S)
            spread = self._recent(self._addresses, address, now - ADDRESS_WINDOW_S)
            waits = []
            if len(pair) >= PAIR_LIMIT:
                waits.append(pair[-PAIR_LIMIT] + PAIR_WINDOW_S - now)
            if len(spread) >= ADDRESS_LIMIT:
                waits.append(spread[-ADDRESS_LIMIT] + ADDRESS_WINDOW_S - now)
            if waits:
                raise Locked(max(1, math.ceil(max(waits))))
            pair.append(now)
            spread.append(now)
            self._keep(self._pairs, (username, address), pair)
            self._keep(self._addresses, address, spread)
            return Attempt(username, address, now)

    def succeeded(self, attempt: Attempt) -> None:
        with self._lock:
            self._pairs.pop((attempt.username, attempt.address), None)
            spread = self._addresses.get(attempt.address)
            if spread is not None and attempt.at in spread:
                spread.remove(attempt.at)

    def __len__(self) -> int:
        return len(self._pairs) + len(self._addresses)

    @staticmethod
    def _recent(table: OrderedDict[Any, list[float]], key: Any, since: float) -> list[float]:
        return [t for t in table.get(key, ()) if t > since]

    def _keep(self, table: OrderedDict[Any, list[float]], key: Any, times: list[float]) -> None:
        table[key] = times
        table.move_to_end(key)
        while len(table) > self._entries:
            table.popitem(last=False)


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, maxmem=_MAXMEM)
    return f"scrypt${_N}${_R}${_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                             maxmem=_MAXMEM, dklen=len(expected))  # fmt: skip
    except ValueError:
        return False
    return hmac.compare_digest(got, expected)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _token_key(token: str) -> str:
    # Only a hash of the session token is stored: a copied database opens no session.
    return hashlib.sha256(token.encode()).hexdigest()


class Accounts:
    def __init__(self, path: Path, clock: Clock = SYSTEM) -> None:
        self.path = path
        self.clock = clock
        self._conn = open_connection(path, SCHEMA)
        self._write_lock = threading.Lock()  # one connection, many executor threads: one transaction at a time
        self.throttle = LoginThrottle(clock)
        # Sessions opened while the file could not be written (a full disk, a locked file):
        # a teacher must still be able to log in and teach; they last until the hub restarts.
        self._unsaved: dict[str, tuple[str, float]] = {}  # token key -> username, expires_at

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        with self._write_lock, transaction(self._conn) as conn:
            yield conn

    def close(self) -> None:
        self._conn.close()

    def add(
        self, username: str, password: str, role: str, display_name: str | None = None, *, one_time: bool = False
    ) -> User:
        """A new account; ``one_time``: the password is a one-time one (:func:`one_time_password`)."""
        if not USERNAME_RE.match(username):
            raise AuthError("username: 2-32 characters, lower-case letters, digits, '.', '_' or '-'")
        if role not in ROLES:
            raise AuthError(f"role must be one of: {', '.join(ROLES)}")
        if len(password) < MIN_PASSWORD:
            raise AuthError(f"password must have at least {MIN_PASSWORD} characters")
        try:
            self._conn.execute(
                "INSERT INTO users (username, role, display_name, password, created_at, must_change) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (username, role, display_name or username, hash_password(password), self.clock.time(), int(one_time)),
            )
        except sqlite3.IntegrityError as err:
            raise AuthError(f"user {username!r} already exists") from err
        return User(username, role, display_name or username)  # type: ignore[arg-type]

    def set_password(self, username: str, password: str, *, one_time: bool = False, keep: str | None = None) -> None:
        """A new password; every session of the account ends, but the one whose token is ``keep``
        (its owner, who just chose it). ``one_time``: its owner must replace it at the next login."""
        if len(password) < MIN_PASSWORD:
            raise AuthError(f"password must have at least {MIN_PASSWORD} characters")
        with self._writing():
            cur = self._conn.execute(
                "UPDATE users SET password = ?, must_change = ? WHERE username = ?",
                (hash_password(password), int(one_time), username),
            )
            if cur.rowcount == 0:
                raise AuthError(f"no user {username!r}")
            kept = _token_key(keep) if keep is not None else ""
            self._conn.execute("DELETE FROM sessions WHERE username = ? AND key != ?", (username, kept))
            for key in [k for k, (name, _) in self._unsaved.items() if name == username and k != kept]:
                del self._unsaved[key]

    def reset_password(self, username: str) -> str:
        """Give the account a one-time password (returned, to be shown once) and end its sessions."""
        password = one_time_password()
        self.set_password(username, password, one_time=True)
        return password

    def change_password(self, token: str, old: str, new: str) -> None:
        """The signed-in owner of ``token`` replaces their password (a one-time one included);
        their other sessions end, this one stays."""
        user = self.session(token)
        if user is None:
            raise AuthError("login_required")
        row = self._conn.execute("SELECT password FROM users WHERE username = ?", (user.username,)).fetchone()
        if row is None or not verify_password(old, row[0]):
            raise AuthError("bad_credentials")
        if new == old:
            raise AuthError("the new password must differ from the old one")
        self.set_password(user.username, new, keep=token)

    def set_disabled(self, username: str, disabled: bool) -> None:
        """Disable an account (its sessions end at once) or enable it again."""
        with self._writing():
            cur = self._conn.execute(
                "UPDATE users SET disabled_at = ? WHERE username = ?",
                (self.clock.time() if disabled else None, username),
            )
            if cur.rowcount == 0:
                raise AuthError(f"no user {username!r}")
            if disabled:
                self._conn.execute("DELETE FROM sessions WHERE username = ?", (username,))

    def list(self) -> list[User]:
        rows = self._conn.execute("SELECT username, role, display_name FROM users ORDER BY username").fetchall()
        return [User(*row) for row in rows]

    def accounts(self) -> builtins.list[Account]:
        """Every account with its role, last login and whether it is disabled, by user name."""
        rows = self._conn.execute(
            "SELECT username, role, display_name, created_at, last_login, disabled_at, must_change "
            "FROM users ORDER BY username"
        ).fetchall()
        return [Account(name, role, shown, created, last, disabled, bool(must))
                for name, role, shown, created, last, disabled, must in rows]  # fmt: skip

    def login(self, username: str, password: str, hours: float, address: str = "?") -> tuple[User, str]:
        """Check the password of a login from ``address``; returns the user and a new session
        token. Raises :class:`Locked` while that address has failed too often."""
        attempt = self.throttle.begin(username, address)
        row = self._conn.execute(
            "SELECT username, role, display_name, password, disabled_at, must_change FROM users WHERE username = ?",
            (username,),
        ).fetchone()
        if row is None or not verify_password(password, row[3]):
            if row is None:
                hash_password(password)  # same time for unknown users: do not reveal who exists
            raise AuthError("bad_credentials")
        self.throttle.succeeded(attempt)
        if row[4] is not None:  # told only to whoever knows the password
            raise Disabled()
        now = self.clock.time()
        token = secrets.token_urlsafe(32)
        try:
            with self._writing():
                self._conn.execute("DELETE FROM sessions WHERE expires_at < ?", (now,))
                self._conn.execute("INSERT INTO sessions VALUES (?, ?, ?)",
                                   (_token_key(token), username, now + hours * 3600))  # fmt: skip
                self._conn.execute("UPDATE users SET last_login = ? WHERE username = ?", (now, username))
        except sqlite3.OperationalError as err:  # full, locked, read-only: not a wrong password
            log.warning("event=session_not_saved user=%s path=%s error=%r kept=memory", username, self.path, str(err))
            self._unsaved[_token_key(token)] = (username, now + hours * 3600)
        return User(row[0], row[1], row[2], bool(row[5])), token

    def session(self, token: str) -> User | None:
        row = self._conn.execute(
            "SELECT u.username, u.role, u.display_name, u.must_change FROM sessions s JOIN users u USING (username) "
            "WHERE s.key = ? AND s.expires_at > ? AND u.disabled_at IS NULL",
            (_token_key(token), self.clock.time()),
        ).fetchone()
        if row is None and self._unsaved:
            return self._unsaved_session(_token_key(token))
        return User(row[0], row[1], row[2], bool(row[3])) if row else None

    def _unsaved_session(self, key: str) -> User | None:
        kept = self._unsaved.get(key)
        if kept is None or kept[1] <= self.clock.time():
            return None
        row = self._conn.execute(
            "SELECT username, role, display_name, must_change FROM users WHERE username = ? AND disabled_at IS NULL",
            (kept[0],),
        ).fetchone()
        return User(row[0], row[1], row[2], bool(row[3])) if row else None

    def logout(self, token: str) -> None:
        self._unsaved.pop(_token_key(token), None)
        self._conn.execute("DELETE FROM sessions WHERE key = ?", (_token_key(token),))
