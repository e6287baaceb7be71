"""Migrations against the real PostgreSQL: once, twice, from several hubs at once, and when things go wrong."""

from __future__ import annotations

import asyncio
import socket
from datetime import UTC, datetime

import asyncpg
import pytest

from classroom_hub.central import CentralError, Migration, MigrationError, bundled_migrations, migrate
from classroom_hub.central.migrate import MIGRATION_LOCK

INSERT_READING = (
    "INSERT INTO sensor_readings (hub_id, device_id, sensor_key, measured_at, value) VALUES ($1, $2, $3, $4, $5)"
)

TABLES = {
    "schema_migrations", "schools", "rooms", "academic_sessions", "courses", "classes", "people", "enrollments",
    "xapi_statements", "sensor_readings", "sensor_readings_default", "devices", "device_state_history", "materials",
}  # fmt: skip


async def schema_of(dsn: str) -> list[tuple[str, str, str]]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            """
            SELECT c.relname, c.relkind::text,
                   coalesce(string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ','
                                       ORDER BY a.attnum), '')
              FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
             WHERE n.nspname = 'public'
             GROUP BY c.relname, c.relkind ORDER BY c.relname
            """
        )
        return [tuple(r) for r in rows]
    finally:
        await conn.close()


async def test_first_run_applies_everything_and_second_run_changes_nothing(fresh_dsn: str) -> None:
    first = await migrate(fresh_dsn)
    assert first.applied == [1, 2, 3, 4] and first.version == 4
    assert first.partitions_created == 4  # this month and three ahead
    schema = await schema_of(fresh_dsn)
    assert {name for name, kind, _ in schema if kind in ("r", "p")} >= TABLES

    second = await migrate(fresh_dsn)
    assert (second.applied, second.version, second.partitions_created, second.newer) == ([], 4, 0, [])
    assert await schema_of(fresh_dsn) == schema


async def test_hubs_migrating_at_the_same_time_take_turns(fresh_dsn: str) -> None:
    reports = await asyncio.gather(*(migrate(fresh_dsn) for _ in range(6)))
    assert sorted(r.applied for r in reports) == [[]] * 5 + [[1, 2, 3, 4]]
    assert all(r.version == 4 for r in reports)
    conn = await asyncpg.connect(fresh_dsn)
    try:
        assert await conn.fetchval("SELECT count(*) FROM schema_migrations") == 4
        parts = await conn.fetchval(
            "SELECT count(*) FROM pg_inherits WHERE inhparent = 'sensor_readings'::regclass"
        )
        assert parts == 5  # default + 4 months, none twice
    finally:
        await conn.close()


async def test_monthly_partitions_exist_and_route_readings(db: asyncpg.Connection) -> None:
    now = datetime.now(UTC)
    this_month = f"sensor_readings_y{now:%Y}m{now:%m}"
    partitions = {
        r["name"]: r["bound"]
        for r in await db.fetch(
            "SELECT inhrelid::regclass::text AS name, pg_get_expr(c.relpartbound, c.oid) AS bound"
            "  FROM pg_inherits JOIN pg_class c ON c.oid = inhrelid WHERE inhparent = 'sensor_readings'::regclass"
        )
    }
    assert partitions["sensor_readings_default"] == "DEFAULT"
    assert this_month in partitions and len(partitions) >= 5
    await db.execute(INSERT_READING, "hub-route", "ph-1", "ph", now, 6.8)
    where = await db.fetchval("SELECT tableoid::regclass::text FROM sensor_readings WHERE hub_id = 'hub-route'")
    assert where == this_month


async def test_readings_waiting_in_the_default_partition_move_to_their_month(db: asyncpg.Connection) -> None:
    far = datetime(2031, 5, 10, 12, 0, tzinfo=UTC)
    await db.execute(INSERT_READING, "hub-far", "d", "ph", far, 7.0)
    assert await db.fetchval("SELECT tableoid::regclass::text FROM sensor_readings WHERE hub_id = 'hub-far'") == (
        "sensor_readings_default"
    )
    assert await db.fetchval("SELECT ensure_sensor_partitions($1, 0)", far) == 1
    assert await db.fetchval("SELECT ensure_sensor_partitions($1, 0)", far) == 0
    rows = await db.fetch("SELECT tableoid::regclass::text AS part FROM sensor_readings WHERE hub_id = 'hub-far'")
    assert [r["part"] for r in rows] == ["sensor_readings_y2031m05"]
    # the moved partition has the unique key too
    with pytest.raises(asyncpg.UniqueViolationError):
        await db.execute(INSERT_READING, "hub-far", "d", "ph", far, 8.0)


async def test_months_are_utc_months_whatever_the_session_time_zone(db: asyncpg.Connection) -> None:
    await db.execute("SET TimeZone = 'Asia/Ho_Chi_Minh'")
    # 00:30 on 1 January 2033 in Hà Nội is still December 2032 in UTC
    new_year_in_hanoi = datetime(2032, 12, 31, 17, 30, tzinfo=UTC)
    assert await db.fetchval("SELECT ensure_sensor_partitions($1, 0)", new_year_in_hanoi) == 1
    bound = await db.fetchval(
        "SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE relname = 'sensor_readings_y2032m12'"
    )
    await db.execute("SET TimeZone = 'UTC'")
    bound_utc = await db.fetchval(
        "SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE relname = 'sensor_readings_y2032m12'"
    )
    assert bound_utc == "FOR VALUES FROM ('2032-12-01 00:00:00+00') TO ('2033-01-01 00:00:00+00')", bound


async def test_an_edited_migration_is_refused(fresh_dsn: str) -> None:
    await migrate(fresh_dsn)
    edited = bundled_migrations()
    edited[1] = Migration(2, edited[1].name, edited[1].sql + "\n-- tidied up\n")
    with pytest.raises(MigrationError, match=r"0002_statements\.sql differs from the version applied"):
        await migrate(fresh_dsn, migrations=edited)


async def test_a_failing_migration_is_rolled_back_whole(fresh_dsn: str) -> None:
    broken = [*bundled_migrations(), Migration(5, "broken", "CREATE TABLE half_done (a int); SELECT 1/0;")]
    with pytest.raises(MigrationError, match=r"0005_broken\.sql failed and was rolled back: division by zero"):
        await migrate(fresh_dsn, migrations=broken)
    conn = await asyncpg.connect(fresh_dsn)
    try:
        assert await conn.fetchval("SELECT max(version) FROM schema_migrations") == 4
        assert await conn.fetchval("SELECT to_regclass('half_done')") is None
    finally:
        await conn.close()
    fixed = [*bundled_migrations(), Migration(5, "fixed", "CREATE TABLE half_done (a int);")]
    assert (await migrate(fresh_dsn, migrations=fixed)).applied == [5]


async def test_an_older_hub_accepts_a_newer_database(fresh_dsn: str) -> None:
    await migrate(fresh_dsn)
    report = await migrate(fresh_dsn, migrations=bundled_migrations()[:2])
    assert (report.applied, report.newer, report.version) == ([], [3, 4], 4)


async def test_waiting_for_another_migration_has_a_limit(fresh_dsn: str) -> None:
    await migrate(fresh_dsn)
    holder = await asyncpg.connect(fresh_dsn)
    try:
        await holder.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
        with pytest.raises(MigrationError, match="another migration held the lock"):
            await migrate(fresh_dsn, lock_timeout_s=0.3)
    finally:
        await holder.close()
    assert (await migrate(fresh_dsn)).applied == []  # the lock went with the holder's session


async def test_unreachable_server_is_a_central_error_without_the_password() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(CentralError, match="cannot connect to the central database") as caught:
        await migrate(f"postgresql://hub:s3cret-pw@127.0.0.1:{port}/edu")
    assert "s3cret-pw" not in str(caught.value)
    assert f"postgresql://hub:***@127.0.0.1:{port}/edu" in str(caught.value)
