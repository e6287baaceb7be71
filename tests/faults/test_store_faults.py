"""The hub's own faults heal by themselves: its disk full, its broker restarted, the central
database away. Each shows as an alarm with its true reason (and on /healthz) while it lasts,
and afterwards nothing is lost and nothing is stored twice (tests/faults/store.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from classroom_hub.errors import StoreError
from classroom_hub.store import TelemetryStore
from tests.conftest import wait_for
from tests.faults.store import (
    NotPossibleHere,
    broker_restart,
    central_down,
    disk_full,
    fill,
    lrs_down,
    small_disk,
    store_locked,
)


async def test_a_full_disk_is_alarmed_login_still_works_and_ingest_resumes_when_space_returns(
    tmp_path: Path, system_mosquitto_url: str
) -> None:
    try:
        outcome = await disk_full(tmp_path, broker_url=system_mosquitto_url)
    except NotPossibleHere as err:
        pytest.skip(f"LOUD SKIP: {err}")
    assert (outcome["lost"], outcome["duplicated"]) == (0, 0), outcome


async def test_the_store_locked_by_another_program_is_alarmed_and_ingest_resumes_when_it_lets_go(
    tmp_path: Path, system_mosquitto_url: str
) -> None:
    outcome = await store_locked(tmp_path, broker_url=system_mosquitto_url)
    assert (outcome["lost"], outcome["duplicated"]) == (0, 0), outcome


async def test_a_broker_restart_loses_and_doubles_nothing(tmp_path: Path) -> None:
    outcome = await broker_restart(tmp_path, cycles=2)
    assert (outcome["lost"], outcome["duplicated"]) == (0, 0), outcome


async def test_the_central_database_away_then_back_gets_every_reading_once(
    tmp_path: Path, system_mosquitto_url: str
) -> None:
    outcome = await central_down(tmp_path, broker_url=system_mosquitto_url)
    assert (outcome["lost"], outcome["duplicated"]) == (0, 0), outcome


async def test_the_lrs_away_then_back_gets_every_statement_once(tmp_path: Path, system_mosquitto_url: str) -> None:
    outcome = await lrs_down(tmp_path, broker_url=system_mosquitto_url)
    assert (outcome["lost"], outcome["duplicated"]) == (0, 0), outcome


async def test_a_store_that_failed_learns_it_can_write_again_with_nothing_else_to_write(tmp_path: Path) -> None:
    """A quiet room: the last write failed on a full disk, no reading comes after. The hub's
    probe finds the space back (and the alarm clears) without waiting for the next reading."""
    try:
        with small_disk(tmp_path / "disk", 4) as disk:
            store = TelemetryStore(disk / "telemetry.db")
            await store.open()
            try:
                filler = fill(disk)
                failed: list[str] = []
                store.add_device_events([("T01", 1.0, "state", "{}")] * 2000, failed=lambda e: failed.append(str(e)))
                await wait_for(lambda: store.state == "failing")
                assert "full" in failed[0]
                store.probe()
                with pytest.raises(StoreError, match="full"):
                    await store.flush()  # committed with the probe, which fails: still full
                assert store.state == "failing"
                filler.unlink()
                store.probe()
                await store.flush()
                assert store.state == "up"
            finally:
                await store.close()
    except NotPossibleHere as err:
        pytest.skip(f"LOUD SKIP: {err}")
