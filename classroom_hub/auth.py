"""Who is who: accounts with roles, scrypt-hashed passwords, expiring sessions.

The accounts file is small and rarely written: synchronous sqlite3 here, called through an
executor by the web server.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from classroom_hub.errors import AuthError

Role = Literal["teacher", "student", "technician", "lab_lead", "studio_staff", "admin"]
ROLES: tuple[str, ...] = get_args(Role)
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,31}$")

# scrypt with N=2^14, r=8 needs 16 MiB per hash: memory-hard, ~50 ms on the hub's CPU.
_N, _R, _P = 2**14, 8, 1
_MAXMEM = 64 * 1024 * 1024
MIN_PASSWORD = 8
_LOCK_AFTER, _LOCK_S = 5, 60.0


@dataclass(frozen=True, slots=True)
class User:
    username: str
    role: Role
    display_name: str

    def may(self, *roles: str) -> bool:
        return self.role == "admin" or self.role in roles


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
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.executescript(
            """
            CREATE TABLE IF NOT EXISTS users (
                username TEXT PRIMARY KEY, role TEXT NOT NULL, display_name TEXT NOT NULL,
                password TEXT NOT NULL, created_at REAL NOT NULL);
            CREATE TABLE IF NOT EXISTS sessions (
                key TEXT PRIMARY KEY, username TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
                expires_at REAL NOT NULL);
            """
        )
        self._failures: dict[str, list[float]] = {}

    def close(self) -> None:
        self._conn.close()

    def add(self, username: str, password: str, role: str, display_name: str | None = None) -> User:
        if not USERNAME_RE.match(username):
            raise AuthError("username: 2-32 characters, lower-case letters, digits, '.', '_' or '-'")
        if role not in ROLES:
            raise AuthError(f"role must be one of: {', '.join(ROLES)}")
        if len(password) < MIN_PASSWORD:
            raise AuthError(f"password must have at least {MIN_PASSWORD} characters")
        try:
            self._conn.execute(
                "INSERT INTO users VALUES (?, ?, ?, ?, ?)",
                (username, role, display_name or username, hash_password(password), time.time()),
            )
        except sqlite3.IntegrityError as err:
            raise AuthError(f"user {username!r} already exists") from err
        return User(username, role, display_name or username)  # type: ignore[arg-type]

    def set_password(self, username: str, password: str) -> None:
        if len(password) < MIN_PASSWORD:
            raise AuthError(f"password must have at least {MIN_PASSWORD} characters")
        cur = self._conn.execute(
            "UPDATE users SET password = ? WHERE username = ?", (hash_password(password), username)
        )
        if cur.rowcount == 0:
            raise AuthError(f"no user {username!r}")
        self._conn.execute("DELETE FROM sessions WHERE username = ?", (username,))

    def list(self) -> list[User]:
        rows = self._conn.execute("SELECT username, role, display_name FROM users ORDER BY username").fetchall()
        return [User(*row) for row in rows]

    def login(self, username: str, password: str, hours: float) -> tuple[User, str]:
        """Check the password; returns the user and a new session token."""
        now = time.time()
        recent = [t for t in self._failures.get(username, []) if now - t < _LOCK_S]
        if len(recent) >= _LOCK_AFTER:
            raise AuthError("locked")
        row = self._conn.execute(
            "SELECT username, role, display_name, password FROM users WHERE username = ?", (username,)
        ).fetchone()
        if row is None or not verify_password(password, row[3]):
            if row is None:
                hash_password(password)  # same time for unknown users: do not reveal who exists
            self._failures[username] = [*recent, now]
            raise AuthError("bad_credentials")
        self._failures.pop(username, None)
        token = secrets.token_urlsafe(32)
        self._conn.execute("DELETE FROM sessions WHERE expires_at < ?", (now,))
        self._conn.execute("INSERT INTO sessions VALUES (?, ?, ?)", (_token_key(token), username, now + hours * 3600))
        return User(row[0], row[1], row[2]), token

    def session(self, token: str) -> User | None:
        row = self._conn.execute(
            "SELECT u.username, u.role, u.display_name FROM sessions s JOIN users u USING (username) "
            "WHERE s.key = ? AND s.expires_at > ?",
            (_token_key(token), time.time()),
        ).fetchone()
        return User(*row) if row else None

    def logout(self, token: str) -> None:
        self._conn.execute("DELETE FROM sessions WHERE key = ?", (_token_key(token),))
