"""The pulls from the centre show their faults and heal: the roster pull (real PostgreSQL behind a
cuttable link) and the materials sync (the bank's HTTP API), each an alarm with the true reason on
/healthz and /metrics while it fails, gone by itself once the centre answers well again; what the
hub held before stays."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from classroom_hub.central import migrate, roster_to_central
from classroom_hub.lessons import LessonLibrary
from classroom_hub.pusher.materials import lesson_zip
from classroom_hub.roster import RosterCache, import_oneroster
from classroom_hub.roster.location import roster_path
from tests.classroom_hub.pusher.conftest import ROOT, Cuttable
from tests.classroom_hub.pusher.test_materials import TOKEN, Bank
from tests.conftest import RunningHub, add_user, login, room_settings, run_hub, wait_for
from tests.faults.store import TIMEOUT_S, healthy, healthz, hub_alarm

SAMPLE = ROOT / "classroom_hub" / "roster" / "samples" / "demo-school"


def _settings(tmp_path: Path, broker_url: str, **central: Any) -> Any:
    central = {"retry_min_s": 0.05, "retry_max_s": 0.3, "idle_check_s": 0.1, **central}
    room = {"school_code": "THCS-DEMO", "id": f"pull-{secrets.token_hex(3)}", "name": "Phòng thử"}
    return room_settings(tmp_path, broker_url, room=room, central=central,
                         store={"disk_free_min_mb": 1, "watch_interval_s": 0.1})  # fmt: skip


async def _alarm(hub: RunningHub, kind: str) -> dict[str, Any]:
    """The alarm as /healthz shows it (a warning: the hub still teaches)."""
    await hub_alarm(hub, kind)
    status, body = await healthz(hub)
    assert status == 200 and body["status"] == "warning", body
    return next(a for a in body["alarms"] if a["kind"] == kind)


async def _metrics(hub: RunningHub) -> str:
    async with aiohttp.ClientSession() as http, http.get(f"{hub.url}/metrics") as r:
        return await r.text()


def _people(data_dir: Path) -> int:
    with RosterCache(roster_path(data_dir)) as cache:
        return cache.counts()["people"]


async def test_the_roster_pull_alarms_while_the_centre_is_away_or_sends_a_bad_row_and_heals(
    tmp_path: Path, fresh_dsn: str, system_mosquitto_url: str
) -> None:
    await migrate(fresh_dsn)
    await roster_to_central(fresh_dsn, import_oneroster(SAMPLE).roster)
    pg_port = int(fresh_dsn.rsplit(":", 1)[1].split("/", 1)[0])
    relay = Cuttable(pg_port)
    await relay.start()
    relayed = fresh_dsn.replace(f":{pg_port}/", f":{relay.port}/")
    settings = _settings(tmp_path, system_mosquitto_url, roster_dsn=relayed, roster_pull_interval_min=0.005)
    try:
        async with run_hub(settings) as hub:
            await wait_for(lambda: _people(settings.data_dir) == 78, timeout=TIMEOUT_S)
            await healthy(hub)

            await relay.cut()  # the centre is away
            alarm = await _alarm(hub, "roster_pull_failing")
            assert alarm["part"] == "roster" and "cannot connect to the central database" in alarm["detail"], alarm
            assert _people(settings.data_dir) == 78  # the last good copy stays for the lessons
            assert 'hub_alarms_raised_total{kind="roster_pull_failing"} 1' in await _metrics(hub)
            await relay.start()
            await hub_alarm(hub, "roster_pull_failing", present=False)
            await healthy(hub)

            conn = await asyncpg.connect(fresh_dsn)  # a row the hub cannot use arrives at the centre
            try:
                await conn.execute("UPDATE people SET grade = 'lớp bảy' WHERE sourced_id = 'hs-7a-01'")
                citizen_id = await conn.fetchval("SELECT citizen_id FROM people WHERE sourced_id = 'hs-7a-01'")
                alarm = await _alarm(hub, "roster_pull_failing")
                assert "people 'hs-7a-01'" in alarm["detail"] and "grade" in alarm["detail"], alarm
                assert "nothing was changed" in alarm["detail"] and citizen_id not in alarm["detail"], alarm
                assert _people(settings.data_dir) == 78
                text = await _metrics(hub)
                assert 'hub_alarms_raised_total{kind="roster_pull_failing"} 2' in text
                assert "classroom_hub_roster_pull_failures_total" in text
                await conn.execute("UPDATE people SET grade = '07' WHERE sourced_id = 'hs-7a-01'")
            finally:
                await conn.close()
            await hub_alarm(hub, "roster_pull_failing", present=False)
            await healthy(hub)
    finally:
        await relay.cut()


async def test_the_materials_sync_alarms_while_the_bank_is_away_or_refused_and_heals(
    tmp_path: Path, system_mosquitto_url: str, browser: Any
) -> None:
    from tests.classroom_hub.pusher.test_materials import serving

    async with serving(Bank(tmp_path / "bank")) as bank:
        port = int(bank.url.rsplit(":", 1)[1].split("/", 1)[0])
        relay = Cuttable(port)
        url = bank.url.replace(f":{port}/", f":{relay.port}/")  # the relay is not started: the bank is away
        settings = _settings(tmp_path, system_mosquitto_url, roster_pull_interval_min=0, materials_url=url,
                             materials_token=TOKEN, materials_sync_interval_min=0.005)  # fmt: skip
        from classroom_hub.lessons import sample_packages

        good = sample_packages()[0]
        fetched = bank.publish(lesson_zip(good, tmp_path / "good.zip"), "Bài tốt")
        library = LessonLibrary(settings.data_dir / "lessons")
        try:
            async with run_hub(settings) as hub:
                alarm = await _alarm(hub, "materials_sync_failing")
                assert alarm["part"] == "materials" and f"127.0.0.1:{relay.port}" in alarm["detail"], alarm
                # The technician's page says it in Vietnamese, with the reason.
                page = await browser.new_page()
                await login(page, hub, "kythuat", await add_user(hub, "kythuat", "technician"), "/tech")
                row = "#alarms tr[data-kind='materials_sync_failing']"
                await page.wait_for_selector(row)
                text = await page.inner_text(row)
                assert "Không nhận được bài học từ kho học liệu trung tâm" in text, text
                assert "Kho học liệu trung tâm" in text and f"127.0.0.1:{relay.port}" in text, text
                await relay.start()
                await hub_alarm(hub, "materials_sync_failing", present=False)
                await healthy(hub)
                await page.wait_for_selector(row, state="detached")  # gone from the page by itself
                await page.close()
                index = json.loads((settings.data_dir / "materials" / "index.json").read_text(encoding="utf-8"))
                held = {r.id for r in library.list()}
                assert index[fetched]["lesson_id"] in held

                broken = tmp_path / "broken"  # a package the library refuses: a lesson.json that is not JSON
                broken.mkdir()
                (broken / "lesson.json").write_text("{ not json", encoding="utf-8")
                refused = bank.publish(lesson_zip(broken, tmp_path / "broken.zip"), "Bài hỏng")
                alarm = await _alarm(hub, "materials_sync_failing")
                assert "'Bài hỏng' is not a valid lesson package" in alarm["detail"], alarm
                assert "lesson.json" in alarm["detail"], alarm
                assert {r.id for r in library.list()} == held  # the lessons the hub had stay
                assert 'hub_alarms_raised_total{kind="materials_sync_failing"} 2' in await _metrics(hub)
                del bank.items[refused]  # the bank withdraws it
                await hub_alarm(hub, "materials_sync_failing", present=False)
                await healthy(hub)
        finally:
            await relay.cut()
