"""Answers: how long a tablet waits for ``answered`` now that it comes only after the commit.

    python bench/answers.py [--tablets 40] [--rounds 12]

The hub runs as ``python -m classroom_hub.cli run`` in its own process (tests/faults/lessons.py:
the demo school's class 7A, a lesson of twelve questions, the store and ``lessons.db`` with the
shipped durability, FULL). ``--tablets`` real WebSocket clients (lessons/simulator.py) join.
Each round the teacher opens the next question and every tablet answers at once; the latency
is the tablet's send -> its ``answered`` (both ``time.perf_counter``), which now includes the
group commits of the answer in ``lessons.db`` and of its statement in ``telemetry.db``.

Baselines in the same run, same clients, same moment of the round:
- ``resume``: every tablet sends ``resume`` at once and waits for its answer, a delta the hub
  sends with no commit at all (the round trip without durability);
- ``fsync``: one FULL commit of one row in a WAL SQLite file in the same folder (what one
  commit costs on this disk).

Prints one line per round, then one JSON line last:
``{tablets, rounds, answers, p50_ms, p99_ms, max_ms, resume_p50_ms, resume_p99_ms, fsync_p50_ms,
fsync_p99_ms, load_avg, ...}``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from stats import DEFINITION, percentile, summary

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from classroom_hub.lessons.simulator import LessonClient  # noqa: E402
from tests.faults.lessons import QUESTIONS, LessonRoom, lesson_room, question_step  # noqa: E402


class TimedTablet(LessonClient):
    """A tablet that notes when each ``answered`` and each answer to its ``resume`` came."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.arrived: dict[str, float] = {}
        self.resumed: float | None = None

    async def _apply(self, message: dict[str, Any]) -> None:
        now = time.perf_counter()
        if message["t"] == "answered":
            self.arrived.setdefault(message["id"], now)
        elif message["t"] == "delta" and message.get("since") is not None and self.resumed is None:
            self.resumed = now
        await super()._apply(message)


async def until(check: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("no answer within 30 s")
        await asyncio.sleep(0.001)


def fsync_floor(folder: Path, commits: int = 50) -> list[float]:
    db = sqlite3.connect(folder / "fsync-floor.db", isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)")
    out = []
    for i in range(commits):
        started = time.perf_counter()
        db.execute("BEGIN")
        db.execute("INSERT INTO t (id, body) VALUES (?, ?)", (i, "x" * 600))
        db.execute("COMMIT")
        out.append((time.perf_counter() - started) * 1000)
    db.close()
    return out


async def bench(workdir: Path, tablets: int, rounds: int) -> dict[str, Any]:
    latencies: list[float] = []
    resumes: list[float] = []
    async with lesson_room(workdir, None, tablets) as room:
        await launch_timed(room)
        clients: list[TimedTablet] = room.tablets  # type: ignore[assignment]
        for n in range(1, rounds + 1):
            await room.open_question(n)
            # The baseline: a round trip that needs no commit, all tablets at once.
            for client in clients:
                client.resumed = None
            sent = time.perf_counter()
            await asyncio.gather(*(c.send({"t": "resume", "rev": c.rev}) for c in clients))
            await until(lambda: all(c.resumed is not None for c in clients))
            resumes += [((c.resumed or sent) - sent) * 1000 for c in clients]
            # The answers, all at once.
            ids = [secrets.token_urlsafe(12) for _ in clients]
            started = time.perf_counter()
            await asyncio.gather(*(c.answer(question_step(n), choice=["a"], answer_id=i)
                                   for c, i in zip(clients, ids, strict=True)))  # fmt: skip
            await until(lambda ids=ids: all(i in c.arrived for c, i in zip(clients, ids, strict=True)))
            mine = [(c.arrived[i] - started) * 1000 for c, i in zip(clients, ids, strict=True)]
            latencies += mine
            print(f"round {n}: answered p50 {percentile(mine, 50):.1f} ms, max {max(mine):.1f} ms", file=sys.stderr)
    floor = fsync_floor(workdir)
    answered, resumed, synced = summary(latencies), summary(resumes), summary(floor, 2)
    return {
        "bench": "answers", "tablets": tablets, "rounds": rounds, "answers": len(latencies),
        "p50_ms": answered["p50"], "p99_ms": answered["p99"], "max_ms": answered["max"],
        "resume_p50_ms": resumed["p50"], "resume_p99_ms": resumed["p99"],
        "fsync_p50_ms": synced["p50"], "fsync_p99_ms": synced["p99"],
        "target_p99_ms": 50, "cores": os.cpu_count(), "load_avg": round(os.getloadavg()[0], 2),
        "percentiles": DEFINITION,
    }  # fmt: skip


async def launch_timed(room: LessonRoom) -> None:
    """Launch as the room does, with tablets that note arrival times."""
    assert room.teacher is not None and room.tablets_http is not None
    http = room.tablets_http
    await room.launch()
    # Replace the tablets by timed ones on the same seats (same join: the same client id keeps the seat).
    timed = []
    for old in room.tablets:
        tablet = TimedTablet(http, room.url)
        tablet.client_id, tablet.token = old.client_id, old.token
        await old.close()
        timed.append(tablet)
    await asyncio.gather(*(t.connect() for t in timed))
    await asyncio.gather(*(t.wait(lambda c: c.run is not None, 30) for t in timed))
    room.tablets = list(timed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tablets", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=QUESTIONS, help=f"questions asked (at most {QUESTIONS})")
    args = parser.parse_args()
    rounds = min(args.rounds, QUESTIONS)
    with tempfile.TemporaryDirectory(prefix="bench-answers-") as folder:
        result = asyncio.run(bench(Path(folder), args.tablets, rounds))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
