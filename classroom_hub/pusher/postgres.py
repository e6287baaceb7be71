"""The central PostgreSQL database as a destination (schema: classroom_hub/central/migrations).

Each batch is one transaction: COPY into a temporary staging table (binary, fast), then
``INSERT ... SELECT ... ON CONFLICT DO NOTHING`` into the real table, so a batch delivered
twice (the hub crashed after the commit but before moving its cursor) is stored once. The
cursor moves only after the commit returned.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg

from classroom_hub.central.dsn import safe_dsn
from classroom_hub.pusher.destination import Delivery, Destination, Row
from classroom_hub.pusher.errors import Rejected, Unreachable
from classroom_hub.pusher.privacy import mask_personal

log = logging.getLogger(__name__)

# Temporary tables live as long as the connection; ON COMMIT DELETE ROWS empties them after
# each batch (and a rolled-back batch leaves nothing either).
_STAGING = """
CREATE TEMP TABLE IF NOT EXISTS hub_stage_statements (
    id uuid, statement jsonb, school_code text, room_id text, hub_id text) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS hub_stage_readings (
    hub_id text, device_id text, sensor_key text, measured_at timestamptz, value double precision,
    unit text, samples integer, school_code text, room_id text) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS hub_stage_states (
    hub_id text, device_id text, kind text, changed_at timestamptz, state text, detail jsonb,
    school_code text, room_id text) ON COMMIT DELETE ROWS;
"""

_COLUMNS = {
    "statements": ("id", "statement", "school_code", "room_id", "hub_id"),
    "readings": (
        "hub_id", "device_id", "sensor_key", "measured_at", "value", "unit", "samples", "school_code", "room_id",
    ),
    "device_events": ("hub_id", "device_id", "kind", "changed_at", "state", "detail", "school_code", "room_id"),
}  # fmt: skip

_UPSERT = {
    "statements": [
        "INSERT INTO xapi_statements (id, statement, school_code, room_id, hub_id) "
        "SELECT id, statement, school_code, room_id, hub_id FROM hub_stage_statements ON CONFLICT (id) DO NOTHING"
    ],
    "readings": [
        "INSERT INTO sensor_readings (hub_id, device_id, sensor_key, measured_at, value, unit, samples, "
        "school_code, room_id) SELECT hub_id, device_id, sensor_key, measured_at, value, unit, samples, "
        "school_code, room_id FROM hub_stage_readings ON CONFLICT DO NOTHING"
    ],
    "device_events": [
        "INSERT INTO device_state_history (hub_id, device_id, changed_at, state, detail) "
        "SELECT hub_id, device_id, changed_at, state, detail FROM hub_stage_states ON CONFLICT DO NOTHING",
        # The latest state per device; an old state delivered late never overwrites a newer one.
        "INSERT INTO devices (hub_id, device_id, kind, school_code, room_id, state, state_changed_at, last_seen) "
        "SELECT DISTINCT ON (device_id) hub_id, device_id, kind, school_code, room_id, state, changed_at, changed_at "
        "FROM hub_stage_states ORDER BY device_id, changed_at DESC "
        "ON CONFLICT (hub_id, device_id) DO UPDATE SET state = excluded.state, "
        "state_changed_at = excluded.state_changed_at, last_seen = greatest(devices.last_seen, excluded.last_seen) "
        "WHERE devices.state_changed_at IS NULL OR excluded.state_changed_at > devices.state_changed_at",
    ],
}
_STAGE_TABLE = {"statements": "hub_stage_statements", "readings": "hub_stage_readings",
                "device_events": "hub_stage_states"}  # fmt: skip
_PARTITIONS_EVERY_S = 24 * 3600

# Errors about the data itself: the batch is split to find the rows at fault.
_DATA_ERRORS = (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError)
_SETUP_HINTS = {
    asyncpg.UndefinedTableError: "the central database is not migrated: run `classroom-hub central migrate --dsn ...`",
    asyncpg.InsufficientPrivilegeError: "the hub's database role lacks a grant (docs/central-database.md, section 1)",
}


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


class PostgresDestination(Destination):
    kind = "postgres"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        assert self.options.dsn is not None
        self._dsn = self.options.dsn.get_secret_value()
        self._conn: asyncpg.Connection | None = None
        self._partitions_checked = 0.0

    def describe(self) -> str:
        return f"postgres {safe_dsn(self._dsn)}"

    async def open(self) -> None:
        await self.close()
        try:
            # command_timeout bounds every query: a link that went silent (a router rebooted, no
            # reset) would otherwise hang the batch until the kernel gives up, ~15 minutes later.
            conn = await asyncpg.connect(
                self._dsn, timeout=self.options.timeout_s, command_timeout=self.options.timeout_s
            )
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as err:
            raise Unreachable(f"cannot connect to {safe_dsn(self._dsn)}: {err}") from err
        try:
            await conn.execute(_STAGING)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as err:
            conn.terminate()  # a graceful close could wait on the very link that failed
            raise Unreachable(f"{safe_dsn(self._dsn)}: cannot prepare staging tables: {err}") from err
        self._conn = conn
        await self._ensure_partitions()

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            try:
                await conn.close(timeout=5)
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
                conn.terminate()

    async def _ensure_partitions(self) -> None:
        # Monthly sensor_readings partitions ahead of time; without the grant, readings still
        # land in the default partition, so this is worth a warning, not a failure.
        if "readings" not in self.streams or time.monotonic() - self._partitions_checked < _PARTITIONS_EVERY_S:
            return
        self._partitions_checked = time.monotonic()
        assert self._conn is not None
        try:
            await self._conn.fetchval("SELECT ensure_sensor_partitions(now(), 3)")
        except asyncpg.PostgresError as err:
            log.warning("event=push_partitions_not_created destination=%s error=%r", self.name, str(err))
        except (OSError, TimeoutError, asyncpg.InterfaceError) as err:
            self._partitions_checked = 0.0  # try again on the next connection
            raise Unreachable(f"{safe_dsn(self._dsn)}: connection lost: {err!r}") from err

    def _records(self, stream: str, rows: Sequence[Row]) -> list[tuple[Any, ...]]:
        hub = self.hub
        if stream == "statements":
            return [(r[1], r[3], hub.school_code, hub.room_id, hub.hub_id) for r in rows]
        if stream == "readings":
            return [
                (hub.hub_id, r[1], r[2], _utc(r[3]), r[4], r[5], r[6], hub.school_code, hub.room_id) for r in rows
            ]
        out = []
        for _seq, device_id, ts, kind, data in rows:
            if kind != "state":
                continue  # only state changes have a central table (docs/privacy.md)
            detail = json.loads(data)
            if not isinstance(detail, dict):
                raise ValueError("a state change must be a JSON object")
            state = str(detail.get("to") or "unknown")
            device_kind = hub.device_kinds.get(device_id, "unknown")
            out.append((hub.hub_id, device_id, device_kind, _utc(ts), state, data, hub.school_code, hub.room_id))
        return out

    async def deliver(self, stream: str, rows: Sequence[Row]) -> Delivery:
        if self._conn is None or self._conn.is_closed():
            raise Unreachable(f"{safe_dsn(self._dsn)}: not connected")
        try:
            records = self._records(stream, rows)
        except (ValueError, TypeError) as err:  # a device event whose data is not a JSON object
            raise Rejected(f"cannot read the record: {err}") from err
        if not records:
            return Delivery(0, 0)
        conn = self._conn
        new = 0
        try:
            async with conn.transaction():
                await conn.copy_records_to_table(_STAGE_TABLE[stream], records=records, columns=_COLUMNS[stream])
                for index, sql in enumerate(_UPSERT[stream]):
                    status = await conn.execute(sql)
                    if index == 0:
                        new = int(status.rsplit(" ", 1)[-1])
        except (*_DATA_ERRORS, ValueError) as err:  # ValueError: asyncpg could not encode a value (a bad UUID)
            raise Rejected(f"PostgreSQL refused the data: {mask_personal(str(err))}") from err
        except asyncpg.PostgresError as err:
            hint = next((h for cls, h in _SETUP_HINTS.items() if isinstance(err, cls)), "")
            raise Unreachable(f"{safe_dsn(self._dsn)}: {err}" + (f" ({hint})" if hint else "")) from err
        except TimeoutError as err:
            raise Unreachable(
                f"{safe_dsn(self._dsn)}: no answer within {self.options.timeout_s:g} s (timeout_s); "
                "the connection is dropped and opened again"
            ) from err
        except (OSError, asyncpg.InterfaceError) as err:
            raise Unreachable(f"{safe_dsn(self._dsn)}: connection lost: {err}") from err
        await self._ensure_partitions()
        return Delivery(new, len(records) - new)
