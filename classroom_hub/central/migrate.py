"""Bring a central PostgreSQL database up to this hub's schema.

The schema is the numbered files in ``migrations/`` (``0001_roster.sql``, ...), applied in
order, each in its own transaction together with its row in ``schema_migrations``, so a
migration is either fully there or not at all. Many hubs may start at once against the
same database: a session advisory lock makes them take turns, and each one only applies
what is still missing. A file changed after it was applied is refused (checksum), rather
than leaving databases that differ under the same version number.

After the migrations, the monthly partitions of ``sensor_readings`` are created a few
months ahead (see :func:`ensure_sensor_partitions`).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from importlib import resources

import asyncpg

from classroom_hub.central.dsn import safe_dsn
from classroom_hub.central.errors import CentralError, MigrationError

# pg_advisory_lock key: the first 8 bytes of sha256("classroom_hub.central.migrate"), fixed forever.
MIGRATION_LOCK = int.from_bytes(hashlib.sha256(b"classroom_hub.central.migrate").digest()[:8], "big", signed=True)
_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

_HISTORY = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     integer PRIMARY KEY,
    name        text NOT NULL,
    checksum    text NOT NULL,              -- sha256 of the file as applied
    applied_at  timestamptz NOT NULL DEFAULT now()
)
"""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()

    @property
    def file_name(self) -> str:
        return f"{self.version:04d}_{self.name}.sql"


@dataclass(slots=True)
class MigrationReport:
    applied: list[int] = field(default_factory=list)  # versions applied by this call
    version: int = 0  # the database's version afterwards
    newer: list[int] = field(default_factory=list)  # versions in the database this hub does not know
    partitions_created: int = 0


def bundled_migrations() -> list[Migration]:
    """The migration files shipped with this hub, in order; numbering must be 1, 2, 3, ..."""
    found: list[Migration] = []
    for entry in resources.files("classroom_hub.central.migrations").iterdir():
        match = _FILE_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise MigrationError(f"migration files must be numbered 1..n without gaps, found {versions}")
    return found


async def connect(dsn: str, *, timeout: float = 10.0) -> asyncpg.Connection:
    """Open a connection, with the errors of a wrong address or password made plain."""
    try:
        return await asyncpg.connect(dsn, timeout=timeout)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError, ValueError) as err:
        raise CentralError(f"cannot connect to the central database {safe_dsn(dsn)}: {err}") from err


async def migrate(
    dsn: str,
    *,
    months_ahead: int = 3,
    lock_timeout_s: float = 120.0,
    migrations: list[Migration] | None = None,
) -> MigrationReport:
    """Apply the missing migrations to the database at ``dsn``; safe to run twice, or from two hubs at once."""
    steps = bundled_migrations() if migrations is None else migrations
    report = MigrationReport()
    conn = await connect(dsn)
    try:
        await _locked(conn, lock_timeout_s)
        try:
            await _apply(conn, steps, report)
            report.partitions_created = await ensure_sensor_partitions(conn, months_ahead)
        finally:
            if not conn.is_closed():
                await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as err:
        raise CentralError(f"{safe_dsn(dsn)}: migration failed: {err}") from err
    finally:
        await conn.close()
    return report


async def _locked(conn: asyncpg.Connection, timeout_s: float) -> None:
    # lock_timeout bounds the wait for another hub's migration instead of hanging forever.
    await conn.execute(f"SET lock_timeout = '{int(timeout_s * 1000)}ms'")
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
    except asyncpg.LockNotAvailableError as err:
        raise MigrationError(f"another migration held the lock for more than {timeout_s:.0f} s") from err
    await conn.execute("RESET lock_timeout")


async def _apply(conn: asyncpg.Connection, steps: list[Migration], report: MigrationReport) -> None:
    await conn.execute(_HISTORY)
    rows = await conn.fetch("SELECT version, name, checksum FROM schema_migrations")
    done = {row["version"]: row for row in rows}
    known = {m.version for m in steps}
    report.newer = sorted(v for v in done if v not in known)
    for step in steps:
        row = done.get(step.version)
        if row is not None:
            if row["checksum"] != step.checksum:
                raise MigrationError(
                    f"{step.file_name} differs from the version applied on this database "
                    f"(checksum {row['checksum'][:12]}... vs {step.checksum[:12]}...): never edit an applied "
                    f"migration, add a new one"
                )
            continue
        try:
            async with conn.transaction():
                await conn.execute(step.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                    step.version,
                    step.name,
                    step.checksum,
                )
        except asyncpg.PostgresError as err:
            raise MigrationError(f"{step.file_name} failed and was rolled back: {err}") from err
        report.applied.append(step.version)
    report.version = max([*done, *report.applied], default=0)


async def ensure_sensor_partitions(conn: asyncpg.Connection, months_ahead: int = 3) -> int:
    """Create the monthly sensor_readings partitions from this month to ``months_ahead`` ahead.

    Returns how many were created. The pusher may call it daily; it is cheap when nothing is due.
    """
    try:
        created: int = await conn.fetchval("SELECT ensure_sensor_partitions(now(), $1)", months_ahead)
    except asyncpg.PostgresError as err:
        raise CentralError(f"cannot create sensor_readings partitions: {err}") from err
    return created
