"""Unique keys make re-delivery harmless: the same statement, reading or state change twice is stored once."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest


def statement(statement_id: uuid.UUID, **changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "id": str(statement_id),
        "actor": {"objectType": "Agent", "account": {"homePage": "https://hub.thcs-demo.example", "name": "hs-7a-01"}},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/answered", "display": {"vi-VN": "đã trả lời"}},
        "object": {"id": "https://hub.thcs-demo.example/lessons/khtn-7/q1", "objectType": "Activity"},
        "timestamp": "2026-03-02T08:15:30.250+07:00",
    }
    body.update(changes)
    return body


async def test_statement_columns_are_filled_from_the_statement(db: asyncpg.Connection) -> None:
    sid = uuid.uuid4()
    await db.execute(
        "INSERT INTO xapi_statements (id, statement, school_code, room_id, hub_id) VALUES ($1, $2::jsonb, $3, $4, $5)",
        sid, json.dumps(statement(sid)), "THCS-DEMO", "lop-7a", "hub-1",
    )  # fmt: skip
    row = await db.fetchrow("SELECT * FROM xapi_statements WHERE id = $1", sid)
    assert row["actor"] == "account:https://hub.thcs-demo.example|hs-7a-01"
    assert row["verb"] == "http://adlnet.gov/expapi/verbs/answered"
    assert row["object_id"] == "https://hub.thcs-demo.example/lessons/khtn-7/q1"
    assert row["occurred_at"] == datetime(2026, 3, 2, 1, 15, 30, 250000, tzinfo=UTC)
    assert row["stored_at"] is not None
    assert json.loads(row["statement"])["verb"]["display"]["vi-VN"] == "đã trả lời"


async def test_columns_given_by_the_writer_are_kept_and_odd_statements_accepted(db: asyncpg.Connection) -> None:
    sid = uuid.uuid4()
    body = statement(sid, actor={"mbox": "mailto:gv-01@thcs-demo.example"}, timestamp="yesterday")
    await db.execute(
        "INSERT INTO xapi_statements (id, statement, verb) VALUES ($1, $2::jsonb, 'urn:x:custom')",
        sid, json.dumps(body),
    )  # fmt: skip
    row = await db.fetchrow("SELECT actor, verb, occurred_at FROM xapi_statements WHERE id = $1", sid)
    assert (row["actor"], row["verb"], row["occurred_at"]) == ("mailto:gv-01@thcs-demo.example", "urn:x:custom", None)


async def test_a_statement_delivered_twice_is_stored_once(db: asyncpg.Connection) -> None:
    sid = uuid.uuid4()
    insert = "INSERT INTO xapi_statements (id, statement) VALUES ($1, $2::jsonb) ON CONFLICT (id) DO NOTHING"
    assert await db.execute(insert, sid, json.dumps(statement(sid))) == "INSERT 0 1"
    assert await db.execute(insert, sid, json.dumps(statement(sid))) == "INSERT 0 0"
    with pytest.raises(asyncpg.UniqueViolationError):
        await db.execute("INSERT INTO xapi_statements (id, statement) VALUES ($1, '{}')", sid)
    assert await db.fetchval("SELECT count(*) FROM xapi_statements WHERE id = $1", sid) == 1


async def test_batch_copied_twice_through_staging_lands_once(db: asyncpg.Connection) -> None:
    # The pusher's way: COPY a batch into a staging table, then an idempotent INSERT ... SELECT.
    start = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    batch = [("hub-copy", "sensor-1", key, start + timedelta(seconds=i), 20.0 + i, "°C")
             for i in range(500) for key in ("water_temp_c", "air_temp_c")]  # fmt: skip
    for attempt in range(2):  # the second delivery of the same batch after a lost acknowledgement
        async with db.transaction():
            await db.execute(
                "CREATE TEMP TABLE staging (LIKE sensor_readings INCLUDING DEFAULTS) ON COMMIT DROP"
            )
            await db.copy_records_to_table(
                "staging", records=batch,
                columns=["hub_id", "device_id", "sensor_key", "measured_at", "value", "unit"],
            )  # fmt: skip
            status = await db.execute(
                "INSERT INTO sensor_readings SELECT * FROM staging ON CONFLICT DO NOTHING"
            )
        assert status == ("INSERT 0 1000" if attempt == 0 else "INSERT 0 0")
    assert await db.fetchval("SELECT count(*) FROM sensor_readings WHERE hub_id = 'hub-copy'") == 1000


async def test_reading_key_is_hub_device_sensor_and_time(db: asyncpg.Connection) -> None:
    at = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
    insert = (
        "INSERT INTO sensor_readings (hub_id, device_id, sensor_key, measured_at, value) VALUES ($1, $2, $3, $4, $5)"
    )
    await db.execute(insert, "hub-k", "d1", "ph", at, 6.5)
    await db.execute(insert, "hub-k", "d1", "ec", at, 1.2)  # another sensor on the same device
    await db.execute(insert, "hub-k", "d2", "ph", at, 6.6)  # another device
    await db.execute(insert, "hub-k2", "d1", "ph", at, 6.7)  # another hub with the same device id
    await db.execute(insert, "hub-k", "d1", "ph", at + timedelta(microseconds=1), 6.5)
    with pytest.raises(asyncpg.UniqueViolationError):
        await db.execute(insert, "hub-k", "d1", "ph", at, 9.9)
    assert await db.fetchval("SELECT count(*) FROM sensor_readings WHERE hub_id LIKE 'hub-k%'") == 5


async def test_device_state_changes_are_idempotent(db: asyncpg.Connection) -> None:
    at = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
    await db.execute(
        "INSERT INTO devices (hub_id, device_id, kind, state, state_changed_at)"
        " VALUES ('hub-s', 'display-86', 'display', 'online', $1)"
        " ON CONFLICT (hub_id, device_id) DO UPDATE SET state = excluded.state,"
        " state_changed_at = excluded.state_changed_at",
        at,
    )
    insert = (
        "INSERT INTO device_state_history (hub_id, device_id, changed_at, state, detail)"
        " VALUES ('hub-s', 'display-86', $1, $2, $3::jsonb) ON CONFLICT DO NOTHING"
    )
    for _ in range(2):
        await db.execute(insert, at, "online", "{}")
        await db.execute(insert, at + timedelta(minutes=5), "offline", '{"reason": "lwt"}')
    rows = await db.fetch("SELECT state FROM device_state_history WHERE hub_id = 'hub-s' ORDER BY changed_at")
    assert [r["state"] for r in rows] == ["online", "offline"]


async def test_people_and_materials_refuse_malformed_keys(db: asyncpg.Connection) -> None:
    with pytest.raises(asyncpg.CheckViolationError):
        await db.execute(
            "INSERT INTO people (sourced_id, citizen_id, role, family_name, given_name, school_sourced_ids)"
            " VALUES ('p-bad', '12345', 'student', 'Lê', 'An', '{}')"
        )
    with pytest.raises(asyncpg.CheckViolationError):  # the short id must not be a citizen ID
        await db.execute(
            "INSERT INTO people (sourced_id, citizen_id, role, family_name, given_name, school_sourced_ids)"
            " VALUES ('036213900004', '036213900004', 'student', 'Lê', 'An', '{}')"
        )
    with pytest.raises(asyncpg.CheckViolationError):
        await db.execute("INSERT INTO materials (content_hash, title, size_bytes) VALUES ('md5:abc', 'Bài 1', 10)")
    digest = "a" * 64
    await db.execute("INSERT INTO materials (content_hash, title, size_bytes) VALUES ($1, 'Bài 1', 10)", digest)
    with pytest.raises(asyncpg.UniqueViolationError):
        await db.execute(
            "INSERT INTO materials (content_hash, title, size_bytes) VALUES ($1, 'Bài 1 (bản sao)', 10)", digest
        )
