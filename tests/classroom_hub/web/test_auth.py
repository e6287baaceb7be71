"""Accounts and sessions: who may open what, through the real HTTP server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from classroom_hub.app import ACCOUNTS
from classroom_hub.auth import Accounts, hash_password, verify_password
from classroom_hub.clock import FakeClock
from classroom_hub.errors import AuthError
from tests.conftest import add_user, room_settings, run_hub


def test_passwords_are_scrypt_hashed_and_salted() -> None:
    first, second = hash_password("mat-khau-123"), hash_password("mat-khau-123")
    assert first.startswith("scrypt$16384$8$1$")
    assert first != second  # a salt of its own
    assert "mat-khau-123" not in first
    assert verify_password("mat-khau-123", first)
    assert not verify_password("mat-khau-124", first)
    assert not verify_password("mat-khau-123", "garbage")


def test_accounts_refuse_weak_or_duplicate_input(tmp_path: Path) -> None:
    accounts = Accounts(tmp_path / "a.db")
    accounts.add("lan", "mat-khau-123", "teacher", "Cô Lan")
    with pytest.raises(AuthError, match="already exists"):
        accounts.add("lan", "mat-khau-456", "teacher")
    with pytest.raises(AuthError, match="at least 8"):
        accounts.add("minh", "short", "technician")
    with pytest.raises(AuthError, match="role must be one of"):
        accounts.add("minh", "mat-khau-123", "janitor")
    accounts.close()


async def test_sessions_expire_and_end_with_a_new_password(tmp_path: Path) -> None:
    clock = FakeClock()
    accounts = Accounts(tmp_path / "a.db", clock)
    accounts.add("lan", "mat-khau-123", "teacher")
    user, token = accounts.login("lan", "mat-khau-123", hours=1)
    assert accounts.session(token) == user
    _user, short = accounts.login("lan", "mat-khau-123", hours=0.5)
    await clock.advance(0.5 * 3600 - 1)
    assert accounts.session(short) == user  # a second before the end
    await clock.advance(2)
    assert accounts.session(short) is None
    assert accounts.session(token) == user
    accounts.set_password("lan", "mat-khau-moi-1")
    assert accounts.session(token) is None
    accounts.close()


def test_five_wrong_passwords_lock_the_account_for_a_minute(tmp_path: Path) -> None:
    accounts = Accounts(tmp_path / "a.db")
    accounts.add("lan", "mat-khau-123", "teacher")
    for _ in range(5):
        with pytest.raises(AuthError, match="bad_credentials"):
            accounts.login("lan", "wrong-one", hours=1)
    with pytest.raises(AuthError, match="locked"):
        accounts.login("lan", "mat-khau-123", hours=1)  # even the right one, for now
    accounts.close()


async def test_pages_and_apis_check_the_role(tmp_path: Path, system_mosquitto_url: str) -> None:
    async with run_hub(room_settings(tmp_path, system_mosquitto_url)) as hub:
        tech_pw = await add_user(hub, "minh", "technician")
        student_pw = await add_user(hub, "an", "student")
        async with aiohttp.ClientSession() as anon:
            async with anon.get(f"{hub.url}/tech", allow_redirects=False) as r:
                assert r.status == 302 and r.headers["Location"] == "/login?next=/tech"
            async with anon.get(f"{hub.url}/api/devices") as r:
                assert r.status == 401
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as student:
            await _login(student, hub.url, "an", student_pw)
            async with student.get(f"{hub.url}/api/devices") as r:
                assert r.status == 403
            async with student.get(f"{hub.url}/tech", allow_redirects=False) as r:
                assert r.status == 302 and "error=forbidden" in r.headers["Location"]
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as tech:
            async with tech.post(f"{hub.url}/login", data={"username": "minh", "password": "nope", "next": "/tech"},
                                 allow_redirects=False) as r:  # fmt: skip
                assert r.headers["Location"].startswith("/login?error=bad_credentials")
            await _login(tech, hub.url, "minh", tech_pw)
            async with tech.get(f"{hub.url}/api/devices") as r:
                assert r.status == 200
                body = await r.json()
            assert {d["id"] for d in body["devices"]} >= {"T01", "T02", "H01", "H02", "node-1"}
            async with tech.get(f"{hub.url}/tech") as r:
                assert r.status == 200
            async with tech.post(f"{hub.url}/logout", allow_redirects=False) as r:
                assert r.status == 302
            async with tech.get(f"{hub.url}/api/devices") as r:
                assert r.status == 401


async def test_login_never_redirects_off_the_hub(tmp_path: Path, system_mosquitto_url: str) -> None:
    async with run_hub(room_settings(tmp_path, system_mosquitto_url)) as hub:
        pw = await add_user(hub, "minh", "technician")
        async with aiohttp.ClientSession() as http:
            data = {"username": "minh", "password": pw, "next": "//evil.example/"}
            async with http.post(f"{hub.url}/login", data=data, allow_redirects=False) as r:
                assert r.headers["Location"] == "/"
        assert len(hub.app[ACCOUNTS].list()) == 1


async def _login(http: aiohttp.ClientSession, url: str, username: str, password: str) -> None:
    async with http.post(f"{url}/login", data={"username": username, "password": password}, allow_redirects=False) as r:
        assert r.status == 302 and r.headers["Location"] == "/", await r.text()


def test_user_add_cli(tmp_path: Path) -> None:
    config = tmp_path / "room.toml"
    config.write_text(f'data_dir = "{tmp_path / "data"}"\n[room]\nschool_code = "S"\nid = "r"\nname = "n"\n')
    cli = [sys.executable, "-m", "classroom_hub.cli", "user"]
    add = [*cli, "add", "lan", "--role", "teacher", "--name", "Cô Lan", "--password-stdin", "-c", str(config)]
    added = subprocess.run(add, input="mat-khau-123\n", capture_output=True, text=True, timeout=60)
    assert added.returncode == 0, added.stderr
    listed = subprocess.run([*cli, "list", "-c", str(config)], capture_output=True, text=True, timeout=60)
    assert "lan" in listed.stdout and "teacher" in listed.stdout and "Cô Lan" in listed.stdout
    weak = subprocess.run([*cli, "add", "minh", "--role", "technician", "--password-stdin", "-c", str(config)],
                          input="123\n", capture_output=True, text=True, timeout=60)  # fmt: skip
    assert weak.returncode == 2 and "at least 8" in weak.stderr
