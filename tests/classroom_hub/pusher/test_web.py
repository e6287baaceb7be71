"""The pusher inside a running hub: it delivers, and /api/push shows it to the technician only."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import aiohttp

from classroom_hub.app import HEALTH, STORE
from classroom_hub.pusher.keys import PUSHER
from tests.classroom_hub.pusher.conftest import statement
from tests.conftest import add_user, room_settings, run_hub, wait_for


async def _session(hub_url: str, username: str, password: str) -> aiohttp.ClientSession:
    session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))  # the hub is an IP address
    async with session.post(f"{hub_url}/login", data={"username": username, "password": password, "next": "/"},
                            allow_redirects=False) as response:  # fmt: skip
        assert response.status == 302
    return session


async def test_the_hub_pushes_and_the_console_api_reports_it(tmp_path: Path) -> None:
    archive = tmp_path / "archive.db"
    settings = room_settings(
        tmp_path, None,
        central={"idle_check_s": 0.1, "roster_pull_interval_min": 0,
                 "destinations": [{"name": "archive", "kind": "sqlite", "path": str(archive)}]},
    )  # fmt: skip
    async with run_hub(settings) as hub:
        good = statement(1)
        await hub.app[STORE].add_statements([good])
        hub.app[STORE].add_device_events([("T01", 1.0, "state", "[1, 2]")])  # a state change must be an object
        pusher = hub.app[PUSHER]
        hub.app[PUSHER].wake()
        courier = pusher.couriers["archive"]
        # "idle" comes after the cursor of the last batch is saved: then the queue is empty.
        await wait_for(lambda: courier.quarantined == 1 and courier.state == "idle", timeout=10)
        _ok, parts = hub.app[HEALTH].report()
        assert parts["pusher"] == "up"

        async with aiohttp.ClientSession() as anonymous, anonymous.get(f"{hub.url}/api/push") as response:
            assert response.status == 401
        teacher = await _session(hub.url, "co-lan", await add_user(hub, "co-lan", "teacher"))
        async with teacher, teacher.get(f"{hub.url}/api/push") as response:
            assert response.status == 403
        tech = await _session(hub.url, "ky-thuat", await add_user(hub, "ky-thuat", "technician"))
        async with tech:
            async with tech.get(f"{hub.url}/api/push") as response:
                assert response.status == 200
                body = await response.json()
            (archive_report,) = body["destinations"]
            assert archive_report["name"] == "archive" and archive_report["depth"] == 0
            assert archive_report["delivered"] == {"statements": 1} and archive_report["last_success"]
            assert body["store"]["alarm"] == "ok" and body["store"]["policy"]
            async with tech.post(f"{hub.url}/api/push/now") as response:
                assert response.status == 202 and (await response.json()) == {"woken": ["archive"]}
            async with tech.get(f"{hub.url}/api/push/quarantine?destination=archive") as response:
                (item,) = (await response.json())["quarantined"]
                assert item["stream"] == "device_events" and "must be a JSON object" in item["reason"]
            async with tech.get(f"{hub.url}/api/push/metrics") as response:
                text = await response.text()
                assert 'classroom_hub_push_queue_depth{destination="archive",stream="statements"} 0' in text
                assert 'classroom_hub_push_quarantined{destination="archive"} 1.000' in text
    with sqlite3.connect(archive) as c:
        assert c.execute("SELECT id, verb FROM xapi_statements").fetchall() == [
            (good["id"], "http://adlnet.gov/expapi/verbs/answered")
        ]
