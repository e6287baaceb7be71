"""How fast the pusher drains the hub's outbox to the central PostgreSQL (or an LRS), against a bare floor.

    python bench/push.py [--n 1000000] [--batch 5000] [--sink postgres|xapi]

postgres (default): queues N realistic xAPI statements (~600 bytes) in a hub store, then
- floor:  a bare asyncpg COPY of the same rows (already in memory) into xapi_statements,
          the same indexed table with its trigger, one COPY per batch; then TRUNCATE;
- pusher: Pusher.drain_now() to a postgres destination: read from SQLite, COPY into the
          staging table, INSERT ... ON CONFLICT DO NOTHING, move the cursor after each commit.
A throwaway database on 127.0.0.1:5432 (user postgres, trust) is created and dropped.

xapi: the same against a real Ralph LRS (.venv-ralph, `make ralph`), each run into an
empty Ralph: floor = bare batched POST /statements of the same statements.

Exactly once, counted where a duplicate would show: the destinations keep a statement once
(PostgreSQL's primary key, the LRS's statement id), so counting rows there can never find
one. The bench counts, per statement id, every row the pusher hands to its destination
(``sent``; ``duplicates``: rows handed over more than once, a resend after a failure
included) and reports the pusher's own count of rows the destination answered it already
had (``already_there``). ``lost``: queued statements not at the destination.

Prints one JSON line last: statements_per_s, floor_per_s, ratio, lost, duplicates, sent,
already_there.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402

from classroom_hub.central import migrate  # noqa: E402
from classroom_hub.pusher.destination import Destination  # noqa: E402
from classroom_hub.pusher.postgres import PostgresDestination  # noqa: E402
from classroom_hub.pusher.pusher import Pusher  # noqa: E402
from classroom_hub.pusher.xapi import XapiDestination  # noqa: E402
from classroom_hub.store import TelemetryStore  # noqa: E402
from config.settings import HubSettings  # noqa: E402

SERVER = "postgresql://postgres@127.0.0.1:5432"
HOME = "https://hub.thcs-demo.example"
HUB_ID = "hub-bench"
TEMPLATE = (
    '{{"id":"{id}","actor":{{"objectType":"Agent","account":{{"homePage":"' + HOME
    + '","name":"hs-7a-{student:02d}"}}}},'
    '"verb":{{"id":"http://adlnet.gov/expapi/verbs/answered","display":{{"vi-VN":"đã trả lời"}}}},'
    '"object":{{"objectType":"Activity","id":"' + HOME + '/lessons/chuyen-dong-thang-10/steps/{step}",'
    '"definition":{{"name":{{"vi-VN":"Câu hỏi {step}"}},"type":"http://adlnet.gov/expapi/activities/cmi.interaction",'
    '"interactionType":"choice"}}}},"result":{{"success":{success},"response":"{answer}","score":{{"scaled":{score}}}}},'
    '"context":{{"registration":"{registration}","contextActivities":{{"parent":[{{"id":"' + HOME
    + '/lessons/chuyen-dong-thang-10"}}]}},"platform":"classroom-hub","language":"vi-VN"}},'
    '"timestamp":"2026-03-02T08:{minute:02d}:{second:02d}.000Z"}}'
)


def queue_statements(path: Path, n: int) -> None:
    """N statements straight into the store's table (executemany): realistic, and quick to make."""
    registration = str(uuid.uuid4())
    now = time.time()
    with sqlite3.connect(path) as c:
        c.execute("PRAGMA synchronous = OFF")
        chunk = 50_000
        for start in range(0, n, chunk):
            rows = []
            for i in range(start, min(n, start + chunk)):
                statement_id = str(uuid.uuid4())
                body = TEMPLATE.format(
                    id=statement_id, student=i % 40, step=i % 12, success="true" if i % 3 else "false",
                    answer="abcd"[i % 4], score="1.0" if i % 3 else "0.0", registration=registration,
                    minute=(i // 60) % 60, second=i % 60,
                )  # fmt: skip
                rows.append((statement_id, now, body))
            c.executemany("INSERT INTO statements (id, stored_at, body) VALUES (?, ?, ?)", rows)


def settings_for(data_dir: Path, destination: dict[str, Any]) -> HubSettings:
    return HubSettings(
        room={"school_code": "THCS-DEMO", "id": "lop-7a", "name": "bench"},
        data_dir=data_dir,
        central={"hub_id": HUB_ID, "roster_pull_interval_min": 0, "destinations": [destination]},
    )


@contextlib.contextmanager
def counting_sent(destination: type[Destination]) -> Iterator[list[str]]:
    """Every statement id the pusher hands to ``destination.deliver``, as many times as it does."""
    sent: list[str] = []
    deliver = destination.deliver

    async def counted(self: Destination, stream: str, rows: Any) -> Any:
        sent.extend(row[1] for row in rows)  # statements: (seq, id, stored_at, body)
        return await deliver(self, stream, rows)

    destination.deliver = counted  # type: ignore[method-assign]
    try:
        yield sent
    finally:
        destination.deliver = deliver  # type: ignore[method-assign]


async def run_pusher(settings: HubSettings, store_path: Path, destination: type[Destination]) -> dict[str, Any]:
    store = TelemetryStore(store_path)
    await store.open()
    pusher = Pusher(settings, store)
    try:
        with counting_sent(destination) as sent:
            started = time.perf_counter()
            errors = await pusher.drain_now()
            elapsed = time.perf_counter() - started
        already = sum(sum(c.already.values()) for c in pusher.couriers.values())
    finally:
        await pusher.close()
        await store.close()
    return {"elapsed": elapsed, "errors": errors, "sent": sent, "already_there": already}


def exactly_once(n: int, sent: list[str], present: int, already_there: int) -> dict[str, int]:
    return {
        "lost": n - present,
        "duplicates": len(sent) - len(set(sent)),
        "sent": len(sent),
        "already_there": already_there,
    }


async def bench_postgres(work: Path, n: int, batch: int) -> dict[str, Any]:
    name = f"bench_push_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(f"{SERVER}/postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    dsn = f"{SERVER}/{name}"
    try:
        await migrate(dsn)
        store_path = work / "hub" / "telemetry.db"
        store = TelemetryStore(store_path)
        await store.open()
        await store.close()
        t = time.perf_counter()
        queue_statements(store_path, n)
        queue_s = time.perf_counter() - t
        with sqlite3.connect(store_path) as c:
            rows = [(r[0], r[1], "THCS-DEMO", "lop-7a", HUB_ID) for r in c.execute("SELECT id, body FROM statements")]
        conn = await asyncpg.connect(dsn)
        try:
            started = time.perf_counter()
            for i in range(0, n, batch):
                await conn.copy_records_to_table(
                    "xapi_statements", records=rows[i : i + batch],
                    columns=["id", "statement", "school_code", "room_id", "hub_id"],
                )  # fmt: skip
            floor_s = time.perf_counter() - started
            assert await conn.fetchval("SELECT count(*) FROM xapi_statements") == n
            await conn.execute("TRUNCATE xapi_statements")
            await conn.execute("VACUUM ANALYZE xapi_statements")
        finally:
            await conn.close()
        del rows
        settings = settings_for(work / "hub", {"name": "central", "kind": "postgres", "dsn": dsn, "batch_size": batch})
        pushed = await run_pusher(settings, store_path, PostgresDestination)
        elapsed, errors = pushed["elapsed"], pushed["errors"]
        with sqlite3.connect(store_path) as c:
            ids = [r[0] for r in c.execute("SELECT id FROM statements")]
        conn = await asyncpg.connect(dsn)
        try:
            present = await conn.fetchval("SELECT count(*) FROM xapi_statements WHERE id = ANY($1::uuid[])", ids)
        finally:
            await conn.close()
        return {
            "sink": "postgres",
            "n": n,
            "batch": batch,
            "statements_per_s": round(n / elapsed),
            "floor_per_s": round(n / floor_s),
            "ratio": round(floor_s / elapsed, 3),
            **exactly_once(n, pushed["sent"], int(present), pushed["already_there"]),
            "pusher_s": round(elapsed, 2),
            "floor_s": round(floor_s, 2),
            "queue_s": round(queue_s, 2),
            "errors": errors,
        }
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


# --- xapi -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Ralph:
    def __init__(self, work: Path) -> None:
        self.work, self.port = work, free_port()
        work.mkdir(parents=True)
        python = ROOT / ".venv-ralph" / "bin" / "python"
        if not python.exists():
            raise SystemExit("Ralph is not installed: run `make ralph`")
        self.env = {**os.environ, "RALPH_APP_DIR": str(work / "app"), "RALPH_AUTH_FILE": str(work / "auth.json"),
                    "RALPH_RUNSERVER_BACKEND": "fs"}  # fmt: skip
        subprocess.run([str(ROOT / ".venv-ralph" / "bin" / "ralph"), "auth", "-u", "bench", "-p", "bench-password",
                        "-s", "all", "-M", "mailto:bench@example.org", "-w"], env=self.env, check=True,
                       capture_output=True)  # fmt: skip
        (work / "cwd").mkdir()
        self.log = open(work / "ralph.log", "ab")  # noqa: SIM115
        launcher = ROOT / "tests" / "classroom_hub" / "pusher" / "ralph_server.py"
        self.proc = subprocess.Popen(
            [str(python), str(launcher), "runserver", "-b", "fs", "-h", "127.0.0.1", "-p", str(self.port),
             "--fs-default-directory-path", str(work / "data")],
            cwd=work / "cwd", env=self.env, stdout=subprocess.DEVNULL, stderr=self.log, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while socket.socket().connect_ex(("127.0.0.1", self.port)) != 0:
            if time.monotonic() > deadline:
                raise SystemExit("Ralph did not start")
            time.sleep(0.05)

    def stored_ids(self) -> list[str]:
        path = self.work / "data" / "fs_lrs.jsonl"
        return [json.loads(line)["id"] for line in path.read_text().splitlines() if line.strip()]

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(10)
        self.log.close()


async def bench_xapi(work: Path, n: int, batch: int) -> dict[str, Any]:
    import aiohttp

    store_path = work / "hub" / "telemetry.db"
    store = TelemetryStore(store_path)
    await store.open()
    await store.close()
    queue_statements(store_path, n)
    with sqlite3.connect(store_path) as c:
        rows = [(r[0], r[1]) for r in c.execute("SELECT id, body FROM statements")]
    ralph = Ralph(work / "ralph-floor")
    try:
        headers = {"X-Experience-API-Version": "1.0.3", "Content-Type": "application/json"}
        async with aiohttp.ClientSession(headers=headers,
                                         auth=None) as session:  # fmt: skip
            import base64

            session.headers["Authorization"] = "Basic " + base64.b64encode(b"bench:bench-password").decode()
            started = time.perf_counter()
            for i in range(0, n, batch):
                body = ("[" + ",".join(r[1] for r in rows[i : i + batch]) + "]").encode()
                async with session.post(f"http://127.0.0.1:{ralph.port}/xAPI/statements", data=body) as response:
                    assert response.status == 200, await response.text()
            floor_s = time.perf_counter() - started
    finally:
        ralph.stop()
    ralph = Ralph(work / "ralph-pusher")
    try:
        destination = {"name": "lrs", "kind": "xapi", "url": f"http://127.0.0.1:{ralph.port}/xAPI",
                       "username": "bench", "password": "bench-password", "batch_size": batch}  # fmt: skip
        pushed = await run_pusher(settings_for(work / "hub", destination), store_path, XapiDestination)
        elapsed, errors = pushed["elapsed"], pushed["errors"]
        stored = ralph.stored_ids()
    finally:
        ralph.stop()
    ours = {r[0] for r in rows}
    return {
        "sink": "xapi",
        "n": n,
        "batch": batch,
        "statements_per_s": round(n / elapsed),
        "floor_per_s": round(n / floor_s),
        "ratio": round(floor_s / elapsed, 3),
        **exactly_once(n, pushed["sent"], len(ours & set(stored)), pushed["already_there"]),
        "stored_twice": len(stored) - len(set(stored)),  # lines in Ralph's file beyond one per id
        "pusher_s": round(elapsed, 2),
        "floor_s": round(floor_s, 2),
        "errors": errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--sink", choices=["postgres", "xapi"], default="postgres")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-push-") as tmp:
        run = bench_postgres if args.sink == "postgres" else bench_xapi
        result = asyncio.run(run(Path(tmp), args.n, args.batch))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
