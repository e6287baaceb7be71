"""The scheduled roster pull: from the central database into the hub's cache, kept when the centre is away."""

from __future__ import annotations

import asyncio
from pathlib import Path

from classroom_hub.central import roster_to_central
from classroom_hub.pusher.courier import Backoff
from classroom_hub.pusher.roster_pull import RosterPull
from classroom_hub.roster import RosterCache, import_oneroster
from tests.classroom_hub.pusher.conftest import ROOT
from tests.conftest import wait_for

SAMPLE = ROOT / "classroom_hub" / "roster" / "samples" / "demo-school"


async def test_the_pull_fills_the_cache_and_a_failed_pull_keeps_it(tmp_path: Path, fresh_dsn: str) -> None:
    from classroom_hub.central import migrate

    await migrate(fresh_dsn)
    await roster_to_central(fresh_dsn, import_oneroster(SAMPLE).roster)
    cache_path = tmp_path / "roster.db"
    pull = RosterPull(fresh_dsn, "THCS-DEMO", cache_path, interval_s=3600, backoff=Backoff(0.05, 0.2))
    task = asyncio.create_task(pull.run())
    try:
        await wait_for(lambda: pull.last_pull is not None, timeout=20)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert pull.counts["people"] == 78 and pull.counts["classes"] == 2
    with RosterCache(cache_path) as cache:
        assert len(cache.students("khtn-7a")) == 40

    away = RosterPull(fresh_dsn.rsplit("/", 1)[0] + "/no_such_db", "THCS-DEMO", cache_path, interval_s=3600,
                      backoff=Backoff(0.05, 0.2))  # fmt: skip
    task = asyncio.create_task(away.run())
    try:
        await wait_for(lambda: away.last_error is not None, timeout=20)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert "no_such_db" in away.last_error
    with RosterCache(cache_path) as cache:
        assert cache.counts()["people"] == 78  # the last good copy stays for offline use
