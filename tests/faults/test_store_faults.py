"""The hub's own faults heal by themselves: its disk full, its broker restarted, the central
database away. Each shows as an alarm with its true reason (and on /healthz) while it lasts,
and afterwards nothing is lost and nothing is stored twice (tests/faults/store.py)."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import pytest

from classroom_hub.alarms.model import Alarm
from classroom_hub.alarms.service import AlarmService
from classroom_hub.errors import StoreError
from classroom_hub.store import TelemetryStore
from stem_labs.labbook import LabBook
from tests.conftest import wait_for
from tests.faults.store import (
    NotPossibleHere,
    broker_restart,
    central_down,
    device_history_disk_full,
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


async def test_a_device_offline_and_back_while_the_disk_is_full_has_both_changes_in_its_history_once(
    tmp_path: Path, system_mosquitto_url: str
) -> None:
    try:
        outcome = await device_history_disk_full(tmp_path, broker_url=system_mosquitto_url)
    except NotPossibleHere as err:
        pytest.skip(f"LOUD SKIP: {err}")
    assert outcome["held"] == 2, outcome  # the disk really refused them
    assert outcome["states"] == ["online", "offline", "online"], outcome
    assert (outcome["lost"], outcome["duplicated"], outcome["dropped"]) == (0, 0, 0), outcome


async def test_beyond_the_bound_the_hub_drops_the_oldest_device_events_and_its_alarm_says_so(
    tmp_path: Path, system_mosquitto_url: str
) -> None:
    try:
        outcome = await device_history_disk_full(tmp_path, broker_url=system_mosquitto_url, held_max=1)
    except NotPossibleHere as err:
        pytest.skip(f"LOUD SKIP: {err}")
    assert outcome["dropped"] >= 1, outcome
    assert "device events dropped (more than 1 waited)" in outcome["detail"], outcome
    assert outcome["states"] == ["online", "online"], outcome  # the offline between was dropped, the last kept


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


def _history(path: Path) -> list[tuple[str, str]]:
    """The device events in the order the store wrote them (its sequence), as a tool reads them."""
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as c:
        return [(d, data) for d, data in c.execute("SELECT device_id, data FROM device_events ORDER BY seq")]


async def test_device_events_the_hub_writes_itself_wait_for_a_full_disk_and_are_written_in_order_once(
    tmp_path: Path,
) -> None:
    """No broker resends what the hub writes itself (a device's state changes): while the disk is
    full the store keeps it, and once space is back it is written, in the order it happened, once."""
    try:
        with small_disk(tmp_path / "disk", 4) as disk:
            store = TelemetryStore(disk / "telemetry.db")
            await store.open()
            try:
                filler = fill(disk)
                first = [("T01", float(i), "state", f'{{"n":{i}}}') for i in range(2000)]
                store.keep_device_events(first)  # more than the write-ahead log has room for
                await wait_for(lambda: store.state == "failing" and store.held == 2000)
                store.keep_device_events([("T02", 2000.0, "state", '{"to":"offline"}')])
                store.keep_device_events([("T02", 2001.0, "state", '{"to":"online"}')])
                assert store.held == 2002
                filler.unlink()
                store.probe()
                await wait_for(lambda: store.held == 0 and store.state == "up")
                await store.flush()
                history = _history(disk / "telemetry.db")
                back = [("T02", '{"to":"offline"}'), ("T02", '{"to":"online"}')]
                assert history == [(d, data) for d, _, _, data in first] + back
                assert store.stats.held_dropped == 0
            finally:
                await store.close()
    except NotPossibleHere as err:
        pytest.skip(f"LOUD SKIP: {err}")


async def test_beyond_the_bound_the_oldest_waiting_events_are_dropped_and_counted(tmp_path: Path) -> None:
    try:
        with small_disk(tmp_path / "disk", 4) as disk:
            store = TelemetryStore(disk / "telemetry.db", held_max=10)
            await store.open()
            try:
                filler = fill(disk)
                store.keep_device_events([("T01", float(i), "state", f'{{"n":{i}}}') for i in range(2000)])
                await wait_for(lambda: store.state == "failing" and store.held == 10)
                assert (store.stats.held_dropped, store.stats.held_dropped_now) == (1990, 1990)
                store.keep_device_events([("T01", 2000.0 + i, "state", f'{{"n":{2000 + i}}}') for i in range(3)])
                assert (store.held, store.stats.held_dropped) == (10, 1993)
                filler.unlink()
                store.probe()
                await wait_for(lambda: store.held == 0 and store.state == "up")
                await store.flush()
                assert _history(disk / "telemetry.db") == [("T01", f'{{"n":{i}}}') for i in range(1993, 2003)]
                assert (store.stats.held_dropped, store.stats.held_dropped_now) == (1993, 0)
            finally:
                await store.close()
    except NotPossibleHere as err:
        pytest.skip(f"LOUD SKIP: {err}")


async def test_alarm_changes_made_while_the_disk_is_full_are_saved_once_space_returns(tmp_path: Path) -> None:
    """The alarm history is written by the hub itself: a change whose write fails on a full disk
    is written again once the store can write, the alarm's last state, nothing lost."""
    try:
        with small_disk(tmp_path / "disk", 4) as disk:
            store = TelemetryStore(disk / "telemetry.db")
            await store.open()
            alarms = AlarmService(store.db)
            await alarms.open()
            try:
                filler = fill(disk)
                raised: list[Alarm] = []
                while not store.db.last_write_failed:  # until the write-ahead log needs room it cannot get
                    assert len(raised) < 20_000, "the full disk never refused an alarm"
                    for _ in range(50):
                        raised.append(alarms.raise_alarm(f"D{len(raised)}", "offline", "x" * 300))
                    await store.db.barrier()
                assert alarms.unsaved > 0
                for alarm in raised[::2]:
                    alarms.clear(alarm.device_id, "offline")  # cleared while the disk is still full
                await store.db.barrier()
                filler.unlink()
                alarms.save_unsaved()
                await store.db.barrier()
                assert alarms.unsaved == 0 and not store.db.last_write_failed
                history = {a.id: a for a in await alarms.history(limit=len(raised) + 10)}
                assert len(history) == len(raised)
                assert [history[a.id].cleared_at for a in raised] == [a.cleared_at for a in raised]
                assert all(history[a.id].cleared_at is not None for a in raised[::2])
            finally:
                await alarms.close()
                await store.close()
    except NotPossibleHere as err:
        pytest.skip(f"LOUD SKIP: {err}")


def _feedings(path: Path) -> list[float]:
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as c:
        return [ts for (ts,) in c.execute("SELECT ts FROM feedings ORDER BY rowid")]


async def _fill_book_until_refused(book: LabBook) -> int:
    """Feedings (60 wide rows per round) until the full disk refuses one; returns how many were added."""
    added = 0
    while not book.last_write_failed:
        assert added < 50_000, "the full disk never refused a write"
        for _ in range(60):
            book.add_feeding("kit-1", float(added), 1, "x" * 500)
            added += 1
        await book.barrier()
    return added


async def test_lab_book_writes_made_while_the_disk_is_full_are_written_in_order_once_space_returns(
    tmp_path: Path,
) -> None:
    try:
        with small_disk(tmp_path / "disk", 4) as disk:
            book = LabBook(disk / "labs.db")
            await book.open()
            try:
                filler = fill(disk)
                added = await _fill_book_until_refused(book)
                assert book.kept > 0
                filler.unlink()
                book.retry_kept()
                await book.barrier()
                assert (book.kept, book.last_write_failed, book.kept_dropped) == (0, False, 0)
                assert _feedings(disk / "labs.db") == [float(i) for i in range(added)]
            finally:
                await book.close()
    except NotPossibleHere as err:
        pytest.skip(f"LOUD SKIP: {err}")


async def test_beyond_its_bound_the_lab_book_drops_the_oldest_waiting_writes_and_counts_them(tmp_path: Path) -> None:
    try:
        with small_disk(tmp_path / "disk", 4) as disk:
            book = LabBook(disk / "labs.db")
            book.keep_max = 5
            await book.open()
            try:
                filler = fill(disk)
                added = await _fill_book_until_refused(book)
                assert book.kept == 5 and book.kept_dropped > 0
                refused = book.kept_dropped + book.kept
                filler.unlink()
                book.retry_kept()
                await book.barrier()
                assert book.kept == 0
                written = _feedings(disk / "labs.db")
                last_five = [float(i) for i in range(added - 5, added)]
                assert written == [float(i) for i in range(added - refused)] + last_five
            finally:
                await book.close()
    except NotPossibleHere as err:
        pytest.skip(f"LOUD SKIP: {err}")


async def test_the_lab_answers_a_write_only_once_the_lab_book_holds_it(tmp_path: Path) -> None:
    """A teacher's note, a calibration, a feeding: the lab's API answers 2xx only once the lab
    book has it on disk. While the disk is full it answers 503 with the reason (the change is
    kept and written later); once space is back the same answer is a 2xx."""
    from aiohttp import web
    from aiohttp.test_utils import TestClient, TestServer

    from stem_labs.api import _stored
    from stem_labs.keys import LAB

    class Lab:
        book: LabBook

    async def feed(request: web.Request) -> web.Response:
        request.config_dict[LAB].book.add_feeding("kit-1", 0.0, 1, "co-lan")
        try:
            await _stored(request)
        except StoreError as err:
            return web.json_response({"error": err.code, "detail": str(err)}, status=err.http_status)
        return web.json_response({"ok": True})

    try:
        with small_disk(tmp_path / "disk", 4) as disk:
            lab = Lab()
            lab.book = LabBook(disk / "labs.db")
            await lab.book.open()
            app = web.Application()
            app[LAB] = lab  # type: ignore[assignment]
            app.router.add_post("/feed", feed)
            try:
                async with TestClient(TestServer(app)) as client:
                    filler = fill(disk)
                    await _fill_book_until_refused(lab.book)
                    refused = await client.post("/feed")
                    said = await refused.json()
                    assert refused.status == 503 and said["error"] == "store_unavailable", said
                    assert "kept and written once it works again" in said["detail"]
                    filler.unlink()
                    lab.book.retry_kept()
                    await lab.book.barrier()
                    stored = await client.post("/feed")
                    assert stored.status == 200, await stored.text()
            finally:
                await lab.book.close()
    except NotPossibleHere as err:
        pytest.skip(f"LOUD SKIP: {err}")
