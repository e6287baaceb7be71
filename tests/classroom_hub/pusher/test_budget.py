"""The disk budget: alarms well before full, readings downsampled by the policy, statements kept."""

from __future__ import annotations

import re
import sqlite3
import time
from pathlib import Path

from classroom_hub.pusher.pusher import Pusher
from classroom_hub.store import TelemetryStore
from tests.classroom_hub.pusher.conftest import hub_settings, statement

DAY = 86400.0


def _readings(store_path: Path, device_id: str, key: str) -> list[tuple[float, float, int]]:
    with sqlite3.connect(store_path) as c:
        rows = c.execute(
            "SELECT ts, value, samples FROM readings WHERE device_id = ? AND key = ? ORDER BY ts", (device_id, key)
        ).fetchall()
    return [(float(t), float(v), int(n)) for t, v, n in rows]


async def test_old_readings_become_one_minute_means_and_old_delivered_ones_go(
    tmp_path: Path, store: TelemetryStore
) -> None:
    archive = tmp_path / "archive.db"
    settings = hub_settings(tmp_path, [{"name": "archive", "kind": "sqlite", "path": str(archive)}])
    now = time.time()
    start = (now - 10 * DAY) // 60 * 60  # ten days ago, on a minute
    store.add_readings([("node-1", "ec", now - 40 * DAY + i, 1.2, "mS/cm") for i in range(10)])
    store.add_readings([("node-1", "ph", start + i, float(i), "pH") for i in range(180)])
    store.add_readings([("node-1", "water_temp", now - 3600 + i, 25.0, "°C") for i in range(120)])
    await store.flush()
    # The archive has the ec readings and the first ph reading already.
    first_ph = (await store.read_after("readings", 10, 1))[0][0]
    await store.set_cursor("archive", "readings", first_ph)
    pusher = Pusher(settings, store)
    try:
        done = await pusher.budget.housekeep(now=now)
        report = await pusher.report()
        errors = await pusher.drain_now()
    finally:
        await pusher.close()
    assert {(d.action, d.stream, d.rows_in, d.rows_out) for d in done} == {
        ("downsample", "readings", 120, 2),  # minutes 2 and 3; minute 1 holds a reading the archive has
        ("prune_delivered", "readings", 10, 0),  # the ec readings: delivered, older than 30 days
    }
    ph = _readings(store.path, "node-1", "ph")
    assert len(ph) == 60 + 2
    assert ph[-2:] == [(start + 60, sum(range(60, 120)) / 60, 60), (start + 120, sum(range(120, 180)) / 60, 60)]
    assert len(_readings(store.path, "node-1", "water_temp")) == 120  # recent: untouched
    assert _readings(store.path, "node-1", "ec") == []
    # push status tells the policy and what it did.
    assert any("60-second means" in line for line in report.store["policy"])
    assert report.store["housekeeping"][0]["detail"]
    # The means are delivered like any reading, saying how many readings each stands for.
    assert errors == {"archive": None}
    with sqlite3.connect(archive) as c:
        samples = [n for (n,) in c.execute("SELECT samples FROM sensor_readings WHERE sensor_key = 'ph'")]
    assert sorted(samples) == [1] * 59 + [60, 60]


async def test_over_budget_alarms_and_removes_only_what_every_destination_has(
    tmp_path: Path, store: TelemetryStore
) -> None:
    settings = hub_settings(
        tmp_path,
        [{"name": "archive", "kind": "sqlite", "path": str(tmp_path / "archive.db")}],
        disk_budget_mb=16,
        disk_alarm_percent=10,
    )
    pusher = Pusher(settings, store)
    try:
        assert (await pusher.budget.check()).level == "ok"
        await store.add_statements([statement(i) for i in range(3000)])
        state = await pusher.budget.check()
        assert state.level == "warning" and 10 <= state.percent < 100
        assert (await pusher.report()).store["alarm_message"].startswith("telemetry store uses")
        await store.add_statements([statement(i) for i in range(22000)])
        assert (await pusher.budget.check()).level == "over"
        # The archive confirmed the first 16,000; one of them it had refused (quarantined).
        await store.set_cursor("archive", "statements", 16000)
        await pusher.ledger.quarantine("archive", "statements", [(5, "x", "refused by the archive")])
        done = await pusher.budget.housekeep()
        assert [(d.action, d.stream, d.rows_in) for d in done] == [("prune_delivered", "statements", 15999)]
        assert "any age (over budget)" in done[0].detail
        assert (await store.counts())["statements"] == 25000 - 15999
        assert (await store.outbox_depth("archive"))["statements"] == 9000  # nothing undelivered went
        assert (await pusher.budget.check()).level != "over"
    finally:
        await pusher.close()


async def test_a_disk_nearly_full_puts_the_budget_over_whatever_the_store_takes(
    tmp_path: Path, store: TelemetryStore
) -> None:
    """At 100 % disk the console and `push status` must not say "ok": the store is small, the disk is not."""
    import shutil

    free_mb = shutil.disk_usage(tmp_path).free // 1_000_000
    settings = hub_settings(tmp_path, [{"name": "archive", "kind": "sqlite", "path": str(tmp_path / "archive.db")}])
    settings = settings.model_copy(update={"store": settings.store.model_copy(
        update={"disk_free_min_mb": free_mb + 1000})})  # fmt: skip
    pusher = Pusher(settings, store)
    try:
        state = await pusher.budget.check()
        assert state.level == "over" and state.percent < 1
        assert re.search(r"; only \d+ MB free on its disk$", state.message()), state.message()
        assert (await pusher.report()).store["alarm"] == "over"
    finally:
        await pusher.close()
