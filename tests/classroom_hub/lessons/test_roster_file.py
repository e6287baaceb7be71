"""One roster file: what `roster import` writes, a running hub's teacher sees at once; an old
``roster.db`` (where imports and pulls used to go) is moved into it at start."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import aiohttp

from classroom_hub.cli import main
from classroom_hub.roster import RosterCache, import_oneroster
from classroom_hub.roster.location import OLD_ROSTER_FILE, ROSTER_FILE, migrate_old_roster
from tests.conftest import RunningHub, add_user, room_settings, run_hub

SAMPLE = Path(__file__).resolve().parents[3] / "classroom_hub" / "roster" / "samples" / "demo-school"


def room_file(tmp_path: Path, data: Path) -> Path:
    path = tmp_path / "room.toml"
    path.write_text(f'data_dir = "{data}"\n[room]\nschool_code = "TEST"\nid = "p-1"\nname = "Phòng 1"\n'
                    "[central]\nroster_pull_interval_min = 0\n", encoding="utf-8")  # fmt: skip
    return path


async def classes(hub: RunningHub) -> list[dict[str, Any]]:
    """The classes a teacher's page lists (``/api/classes``), asked as a teacher who just logged in."""
    username = f"gv-{os.urandom(3).hex()}"
    password = await add_user(hub, username, "teacher")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        login = await http.post(f"{hub.url}/login", data={"username": username, "password": password},
                                allow_redirects=False)  # fmt: skip
        assert login.status == 302
        async with http.get(f"{hub.url}/api/classes") as response:
            assert response.status == 200
            body: list[dict[str, Any]] = await response.json()
            return body


async def test_a_roster_import_shows_in_the_running_hub_without_a_restart(
    tmp_path: Path, system_mosquitto_url: str
) -> None:
    settings = room_settings(tmp_path, system_mosquitto_url, room={"school_code": "TEST", "id": "p-1", "name": "P1"})
    async with run_hub(settings) as hub:
        assert await classes(hub) == []
        room = room_file(tmp_path, settings.data_dir)
        code = await asyncio.get_running_loop().run_in_executor(None, main, ["roster", "import", str(SAMPLE), "-c",
                                                                             str(room)])  # fmt: skip
        assert code == 0
        assert {c["id"] for c in await classes(hub)} == {"khtn-7a", "khtn-7b"}
    assert not (settings.data_dir / OLD_ROSTER_FILE).exists()


async def test_an_old_roster_db_is_moved_into_the_one_file_at_start(
    tmp_path: Path, system_mosquitto_url: str
) -> None:
    settings = room_settings(tmp_path, system_mosquitto_url, room={"school_code": "TEST", "id": "p-1", "name": "P1"})
    settings.data_dir.mkdir(parents=True)
    with RosterCache(settings.data_dir / OLD_ROSTER_FILE) as old:  # what `roster import` wrote before
        old.replace(import_oneroster(SAMPLE).roster)
    async with run_hub(settings) as hub:
        assert {c["id"] for c in await classes(hub)} == {"khtn-7a", "khtn-7b"}
    assert not (settings.data_dir / OLD_ROSTER_FILE).exists()
    assert (settings.data_dir / f"{OLD_ROSTER_FILE}.migrated").exists()  # kept, not deleted


def test_of_two_rosters_with_data_the_newer_one_wins(tmp_path: Path) -> None:
    roster = import_oneroster(SAMPLE).roster
    one_class = roster.model_copy(update={"classes": {k: v for k, v in roster.classes.items() if k == "khtn-7a"}})
    old, new = tmp_path / OLD_ROSTER_FILE, tmp_path / ROSTER_FILE
    with RosterCache(new) as cache:
        cache.replace(one_class)
    with RosterCache(old) as cache:
        cache.replace(roster)
    os.utime(new, (1_700_000_000, 1_700_000_000))
    for extra in (new.with_name(new.name + "-wal"),):
        if extra.exists():
            os.utime(extra, (1_700_000_000, 1_700_000_000))
    assert migrate_old_roster(old, new) is True  # roster.db was written last: it wins
    with RosterCache(new) as cache:
        assert cache.counts()["classes"] == 2

    with RosterCache(old) as cache:  # an old file older than the one file's last import: set aside only
        cache.replace(one_class)
    os.utime(old, (1_600_000_000, 1_600_000_000))
    for extra in (old.with_name(old.name + "-wal"),):
        if extra.exists():
            os.utime(extra, (1_600_000_000, 1_600_000_000))
    assert migrate_old_roster(old, new) is False
    with RosterCache(new) as cache:
        assert cache.counts()["classes"] == 2
    assert not old.exists()
