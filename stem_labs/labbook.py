"""The lab book: what the labs keep across restarts, in ``<data_dir>/labs/labs.db`` (SQLite, WAL).

Calibrations (with date and who), each kit's limits and rules, feedings (for the daily
limit), experiment runs with their samples and annotations, robot missions.
The sensor readings themselves are in the hub's store (and go to the central database);
this book is the lab's own (the lab's alarms are the room's alarm service's, in the hub's
store; the book's old ``lab_alarms`` table is handed over to it and dropped at the first
start, see ``old_alarms``). Its schema is versioned like the store's: append migrations.

A :class:`Database` of the SQLite helper (classroom_hub/storage/sqlite.py, which declares its
durability): everything runs on one worker thread; writes are queued in order and return at
once (``submit``), reads are awaited.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from classroom_hub.alarms import Alarm
from classroom_hub.storage.sqlite import Database, Schema
from stem_labs.calibration import Calibration
from stem_labs.conditions import parse_condition
from stem_labs.runs import Annotation, Run, RunPlan, Sample

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE calibrations (
        id TEXT PRIMARY KEY, kit_id TEXT NOT NULL, sensor TEXT NOT NULL, method TEXT NOT NULL,
        points TEXT NOT NULL, performed_at REAL NOT NULL, performed_by TEXT NOT NULL,
        due_days INTEGER NOT NULL, quality TEXT NOT NULL, note TEXT NOT NULL
    );
    CREATE INDEX calibrations_by_sensor ON calibrations (kit_id, sensor, performed_at);
    CREATE TABLE kit_settings (
        kit_id TEXT PRIMARY KEY, limits TEXT NOT NULL, rules TEXT NOT NULL,
        updated_at REAL NOT NULL, updated_by TEXT NOT NULL
    );
    CREATE TABLE feedings (
        kit_id TEXT NOT NULL, ts REAL NOT NULL, portions INTEGER NOT NULL, by TEXT NOT NULL
    );
    CREATE INDEX feedings_by_kit ON feedings (kit_id, ts);
    CREATE TABLE lab_alarms (
        id TEXT PRIMARY KEY, device_id TEXT NOT NULL, kind TEXT NOT NULL, severity TEXT NOT NULL,
        detail TEXT NOT NULL, raised_at REAL NOT NULL, sensor TEXT, value REAL, limit_value REAL,
        cleared_at REAL, acknowledged_at REAL, acknowledged_by TEXT
    );
    CREATE INDEX lab_alarms_by_time ON lab_alarms (raised_at);
    CREATE TABLE runs (
        id TEXT PRIMARY KEY, plan TEXT NOT NULL, units TEXT NOT NULL, created_by TEXT NOT NULL,
        created_at REAL NOT NULL, state TEXT NOT NULL, started_at REAL, stopped_at REAL,
        stop_reason TEXT, shared INTEGER NOT NULL, summary TEXT NOT NULL, statement_id TEXT
    );
    CREATE TABLE run_samples (run_id TEXT NOT NULL, ts REAL NOT NULL, "values" TEXT NOT NULL);
    CREATE INDEX run_samples_by_run ON run_samples (run_id, ts);
    CREATE TABLE annotations (
        id TEXT PRIMARY KEY, run_id TEXT NOT NULL, ts REAL NOT NULL, text TEXT NOT NULL,
        author TEXT NOT NULL, created_at REAL NOT NULL
    );
    CREATE TABLE missions (
        id TEXT PRIMARY KEY, robot_id TEXT NOT NULL, slot INTEGER NOT NULL, name TEXT NOT NULL,
        started_by TEXT NOT NULL, started_at REAL NOT NULL, ended_at REAL, success INTEGER,
        statement_id TEXT
    );
    """,
)
SCHEMA = Schema("labs", MIGRATIONS)
KEPT_MAX = 10_000

_ALARM_COLUMNS = ("id, device_id, kind, severity, detail, raised_at, sensor, value, limit_value, cleared_at, "
                  "acknowledged_at, acknowledged_by")  # fmt: skip


class LabBook(Database):
    def __init__(self, path: Path) -> None:
        # Calibrations, feedings, runs, samples, notes, missions are queued (submit): a write that
        # fails while the disk is full or the file locked waits in memory and is written later.
        super().__init__(path, SCHEMA, thread_name="lab-book", keep_failed_writes=KEPT_MAX)

    # --- alarms kept here before the one alarm service ---------------------------------------

    async def old_alarms(self) -> list[Alarm]:
        """The alarms a hub from before kept in this book (none once they are handed over)."""

        def query(c: sqlite3.Connection) -> list[Alarm]:
            if not c.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'lab_alarms'").fetchone():
                return []
            return [_alarm(r) for r in c.execute(f"SELECT {_ALARM_COLUMNS} FROM lab_alarms ORDER BY raised_at")]

        return await self.run(query)

    async def forget_old_alarms(self) -> None:
        """Drop the old table: only once the alarm service has its rows."""
        await self.write(lambda c: c.execute("DROP TABLE IF EXISTS lab_alarms"))

    # --- calibrations ----------------------------------------------------------------------

    def save_calibration(self, cal: Calibration) -> None:
        row = (cal.id, cal.kit_id, cal.sensor, cal.method, json.dumps(cal.points), cal.performed_at,
               cal.performed_by, cal.due_days, json.dumps(cal.quality), cal.note)  # fmt: skip
        self.submit(lambda c: c.execute(f"INSERT INTO calibrations VALUES ({', '.join('?' * 10)})", row))

    async def calibrations(self, kit_id: str | None = None, limit: int = 200) -> list[Calibration]:
        """Newest first."""
        where, params = ("WHERE kit_id = ?", (kit_id, limit)) if kit_id else ("", (limit,))
        sql = f"SELECT * FROM calibrations {where} ORDER BY performed_at DESC LIMIT ?"
        return await self.run(lambda c: [_calibration(r) for r in c.execute(sql, params)])

    # --- kit settings and feedings ----------------------------------------------------------

    def save_settings(self, kit_id: str, limits: dict[str, Any], rules: dict[str, Any], by: str, ts: float) -> None:
        row = (kit_id, json.dumps(limits), json.dumps(rules), ts, by)
        self.submit(lambda c: c.execute(
            "INSERT INTO kit_settings VALUES (?, ?, ?, ?, ?) ON CONFLICT (kit_id) DO UPDATE SET "
            "limits = excluded.limits, rules = excluded.rules, updated_at = excluded.updated_at, "
            "updated_by = excluded.updated_by", row))  # fmt: skip

    async def settings(self) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
        def query(c: sqlite3.Connection) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
            return {k: (json.loads(limits), json.loads(rules))
                    for k, limits, rules in c.execute("SELECT kit_id, limits, rules FROM kit_settings")}  # fmt: skip

        return await self.run(query)

    def add_feeding(self, kit_id: str, ts: float, portions: int, by: str) -> None:
        self.submit(lambda c: c.execute("INSERT INTO feedings VALUES (?, ?, ?, ?)", (kit_id, ts, portions, by)))

    async def feedings_since(self, kit_id: str, since: float) -> int:
        sql = "SELECT count(*) FROM feedings WHERE kit_id = ? AND ts >= ?"
        return await self.run(lambda c: int(c.execute(sql, (kit_id, since)).fetchone()[0]))

    # --- runs ------------------------------------------------------------------------------

    def save_run(self, run: Run) -> None:
        row = (run.id, json.dumps(run.plan.as_dict(), ensure_ascii=False), json.dumps(run.units, ensure_ascii=False),
               run.created_by, run.created_at, run.state, run.started_at, run.stopped_at, run.stop_reason,
               int(run.shared), json.dumps(run.summary), run.statement_id)  # fmt: skip
        self.submit(lambda c: c.execute(
            f"INSERT INTO runs VALUES ({', '.join('?' * 12)}) ON CONFLICT (id) DO UPDATE SET state = excluded.state, "
            "started_at = excluded.started_at, stopped_at = excluded.stopped_at, stop_reason = excluded.stop_reason, "
            "shared = excluded.shared, summary = excluded.summary, statement_id = excluded.statement_id", row))

    def add_samples(self, run_id: str, samples: Sequence[Sample]) -> None:
        rows = [(run_id, ts, json.dumps(values)) for ts, values in samples]
        self.submit(lambda c: c.executemany("INSERT INTO run_samples VALUES (?, ?, ?)", rows))

    def save_annotation(self, note: Annotation) -> None:
        row = (note.id, note.run_id, note.ts, note.text, note.author, note.created_at)
        self.submit(lambda c: c.execute("INSERT INTO annotations VALUES (?, ?, ?, ?, ?, ?)", row))

    async def run_list(self, limit: int = 100) -> list[dict[str, Any]]:
        def query(c: sqlite3.Connection) -> list[dict[str, Any]]:
            out = []
            for rid, plan, created_by, created_at, state, started_at, stopped_at, shared, count in c.execute(
                "SELECT r.id, r.plan, r.created_by, r.created_at, r.state, r.started_at, r.stopped_at, r.shared, "
                "(SELECT count(*) FROM run_samples s WHERE s.run_id = r.id) FROM runs r "
                "ORDER BY r.created_at DESC LIMIT ?", (limit,)
            ):  # fmt: skip
                out.append({"id": rid, **json.loads(plan), "created_by": created_by, "created_at": created_at,
                            "state": state, "started_at": started_at, "stopped_at": stopped_at,
                            "shared": bool(shared), "sample_count": count})  # fmt: skip
            return out

        return await self.run(query)

    async def load_run(self, run_id: str) -> Run | None:
        def query(c: sqlite3.Connection) -> Run | None:
            row = c.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None:
                return None
            rid, plan, units, created_by, created_at, state, started_at, stopped_at, reason, shared, summary, sid = row
            p = json.loads(plan)
            run = Run(
                rid,
                RunPlan(
                    p["name"], p["kit_id"], tuple(p["sensors"]), p["sample_rate_hz"],
                    parse_condition(p["start_condition"]) if p.get("start_condition") else None,
                    p.get("pretrigger_s", 0.0), p.get("duration_s"),
                    parse_condition(p["stop_condition"]) if p.get("stop_condition") else None,
                ),
                created_by, created_at, tuple(json.loads(units)),
                state="stopped" if state != "stopped" else state,  # a run that was live when the hub stopped
                started_at=started_at, stopped_at=stopped_at, stop_reason=reason or "hub_stopped",
                shared=bool(shared), summary=json.loads(summary), statement_id=sid,
            )  # fmt: skip
            run.samples = [(ts, tuple(json.loads(v))) for ts, v in c.execute(
                'SELECT ts, "values" FROM run_samples WHERE run_id = ? ORDER BY ts', (run_id,))]  # fmt: skip
            run.annotations = [Annotation(*a) for a in c.execute(
                "SELECT id, run_id, ts, text, author, created_at FROM annotations WHERE run_id = ? ORDER BY ts",
                (run_id,))]  # fmt: skip
            return run

        return await self.run(query)

    # --- missions --------------------------------------------------------------------------

    def save_mission(self, row: tuple[Any, ...]) -> None:
        """(id, robot_id, slot, name, started_by, started_at, ended_at, success, statement_id)"""
        self.submit(lambda c: c.execute(
            "INSERT INTO missions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
            "ended_at = excluded.ended_at, success = excluded.success, statement_id = excluded.statement_id", row))

    async def missions(self, limit: int = 50) -> list[dict[str, Any]]:
        cols = ("id", "robot_id", "slot", "name", "started_by", "started_at", "ended_at", "success", "statement_id")
        sql = f"SELECT {', '.join(cols)} FROM missions ORDER BY started_at DESC LIMIT ?"
        return await self.run(lambda c: [dict(zip(cols, r, strict=True)) for r in c.execute(sql, (limit,))])


def _alarm(row: tuple[Any, ...]) -> Alarm:
    rid, device, kind, severity, detail, raised, sensor, value, limit, cleared, acked, by = row
    return Alarm(rid, device, kind, detail, raised, severity, "lab", sensor, value, limit, cleared, acked, by)


def _calibration(row: tuple[Any, ...]) -> Calibration:
    rid, kit_id, sensor, method, points, at, by, due_days, quality, note = row
    return Calibration(kit_id, sensor, method, tuple(tuple(p) for p in json.loads(points)), at, by, due_days,
                       json.loads(quality), note, rid)  # fmt: skip
