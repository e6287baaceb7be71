"""Delivering to a real Ralph LRS over HTTP: batches, outages, poisoned statements, pseudonyms."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

from classroom_hub.pusher.pusher import Pusher
from classroom_hub.store import TelemetryStore
from tests.classroom_hub.pusher.conftest import RALPH_PASSWORD, RALPH_USER, Ralph, hub_settings, statement
from tests.conftest import wait_for


def _lrs(url: str, **extra: object) -> dict[str, object]:
    return {"name": "lrs", "kind": "xapi", "url": url, "username": RALPH_USER, "password": RALPH_PASSWORD,
            "batch_size": 50, **extra}  # fmt: skip


async def test_statements_reach_ralph_once_through_an_outage(
    tmp_path: Path, store: TelemetryStore, ralph: Ralph, cuttable
) -> None:
    relay = await cuttable(ralph.port)
    settings = hub_settings(tmp_path, [_lrs(f"http://127.0.0.1:{relay.port}/xAPI")])
    first = [statement(i) for i in range(120)]
    await store.add_statements(first)
    pusher = Pusher(settings, store)
    await pusher.start()
    try:
        courier = pusher.couriers["lrs"]
        await wait_for(lambda: courier.delivered["statements"] == 120, timeout=20)
        await relay.cut()
        second = [statement(i) for i in range(80)]
        await store.add_statements(second)
        await wait_for(lambda: courier.state == "waiting", timeout=10)
        failed_at = courier.last_error_at
        await wait_for(lambda: courier.last_error_at != failed_at, timeout=10)  # tried again after its backoff
        await relay.start()
        pusher.wake()
        # "idle": the courier has saved its cursor and sleeps, so resetting the cursor cannot race it.
        await wait_for(lambda: courier.delivered["statements"] == 200 and courier.state == "idle", timeout=20)
        # Delivered again (a lost answer, a restored backup): the LRS already has them.
        await store.set_cursor("lrs", "statements", 0)
        courier._cursors.clear()
        pusher.wake()
        await wait_for(lambda: courier.already["statements"] == 200, timeout=20)
    finally:
        await pusher.close()
    ours = {s["id"] for s in first + second}
    stored = Counter(s["id"] for s in ralph.statements() if s["id"] in ours)
    assert len(stored) == 200 and set(stored.values()) == {1}


async def test_a_statement_ralph_refuses_is_quarantined_with_the_reason_and_the_rest_flow(
    tmp_path: Path, store: TelemetryStore, ralph: Ralph
) -> None:
    settings = hub_settings(tmp_path, [_lrs(ralph.url)])
    good = [statement(i, student="hs-7a-02") for i in range(90)]
    no_verb = statement(3)
    del no_verb["verb"]  # invalid xAPI: Ralph answers 422 for the whole batch
    rows = [*good[:37], no_verb, *good[37:]]
    await store.add_statements(rows)
    pusher = Pusher(settings, store)
    await pusher.start()
    try:
        courier = pusher.couriers["lrs"]
        # "idle" comes after the cursor of the last batch is saved: then the queue is empty.
        await wait_for(
            lambda: courier.delivered["statements"] == 90 and courier.quarantined == 1 and courier.state == "idle",
            timeout=20,
        )
        (item,) = await pusher.ledger.quarantined("lrs")
        assert item.record_id == no_verb["id"]
        assert item.reason.startswith("LRS answered 422") and "verb" in item.reason
        report = await pusher.report()
        assert report.destinations[0].quarantined == 1 and report.destinations[0].depth == 0
    finally:
        await pusher.close()
    stored = {s["id"] for s in ralph.statements()}
    assert {s["id"] for s in good} <= stored and no_verb["id"] not in stored


async def test_a_statement_that_crashes_the_lrs_is_quarantined_only_because_others_got_through(
    tmp_path: Path, store: TelemetryStore, ralph: Ralph
) -> None:
    settings = hub_settings(tmp_path, [_lrs(ralph.url)])
    good = [statement(i) for i in range(20)]
    crash = statement(5, actor={"objectType": "Agent", "mbox": "not-an-address"})  # Ralph answers 500
    await store.add_statements([*good[:10], crash, *good[10:]])
    pusher = Pusher(settings, store)
    await pusher.start()
    try:
        courier = pusher.couriers["lrs"]
        await wait_for(lambda: courier.delivered["statements"] == 20 and courier.quarantined == 1, timeout=20)
        (item,) = await pusher.ledger.quarantined("lrs")
        assert item.record_id == crash["id"] and item.reason.startswith("LRS answered 500")
        assert "not-an-address" not in item.reason
    finally:
        await pusher.close()


async def test_wrong_credentials_wait_and_never_quarantine(tmp_path: Path, store: TelemetryStore, ralph: Ralph) -> None:
    settings = hub_settings(tmp_path, [_lrs(ralph.url, password="sai-mat-khau")])
    await store.add_statements([statement(i) for i in range(5)])
    pusher = Pusher(settings, store)
    await pusher.start()
    try:
        courier = pusher.couriers["lrs"]
        await wait_for(lambda: courier.last_error is not None, timeout=10)
        assert "401" in courier.last_error and "username/password" in courier.last_error
        assert courier.quarantined == 0
        assert (await store.outbox_depth("lrs"))["statements"] == 5
    finally:
        await pusher.close()


async def test_a_destination_outside_the_province_gets_pseudonyms_not_roster_ids(
    tmp_path: Path, store: TelemetryStore, ralph: Ralph
) -> None:
    key = "khoa-bi-mat-cua-so-giao-duc-2026"
    settings = hub_settings(tmp_path, [_lrs(ralph.url, pseudonymise=True)], pseudonym_key=key)
    ours = statement(1, student=f"hs-7a-{time.monotonic_ns()}")
    ours["actor"]["name"] = "Ngô Anh Bình"
    await store.add_statements([ours])
    pusher = Pusher(settings, store)
    try:
        assert await pusher.drain_now() == {"lrs": None}
    finally:
        await pusher.close()
    (stored,) = [s for s in ralph.statements() if s["id"] == ours["id"]]
    assert "name" not in stored["actor"]
    account = stored["actor"]["account"]
    assert account["homePage"] == "urn:classroom-hub:pseudonym"
    assert len(account["name"]) == 32 and ours["actor"]["account"]["name"] not in str(stored)
    assert stored["verb"] == ours["verb"] and stored["object"]["id"] == ours["object"]["id"]
