"""Accounts as the admin manages them, through the real HTTP server: a one-time password opens
only the page to replace it; a disabled account is out at once and cannot come back; the school
cannot lock itself out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest

from classroom_hub.auth import Accounts, Disabled
from tests.conftest import RunningHub, add_user, room_settings, run_hub


async def _session(hub: RunningHub, username: str, password: str) -> tuple[aiohttp.ClientSession, str]:
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with http.post(f"{hub.url}/login", data={"username": username, "password": password},
                         allow_redirects=False) as response:  # fmt: skip
        return http, response.headers["Location"]


async def _call(http: aiohttp.ClientSession, method: str, url: str, body: Any = None) -> tuple[int, Any]:
    async with http.request(method, url, json=body, allow_redirects=False) as response:
        if response.content_type == "application/json":
            return response.status, await response.json()
        return response.status, response.headers.get("Location")


async def test_one_time_passwords_and_disabled_accounts(tmp_path: Path) -> None:
    async with run_hub(room_settings(tmp_path, None)) as hub:
        admin, _ = await _session(hub, "hieu-truong", await add_user(hub, "hieu-truong", "admin"))
        try:
            status, made = await _call(admin, "POST", f"{hub.url}/api/admin/users",
                                       {"username": "thay-nam", "display_name": "Thầy Nam", "role": "teacher"})
            assert status == 201 and len(made["password"]) == 12
            assert (await _call(admin, "POST", f"{hub.url}/api/admin/users",
                                {"username": "thay-nam", "display_name": "Ai đó", "role": "teacher"}))[0] == 409
            status, listed = await _call(admin, "GET", f"{hub.url}/api/admin/users")
            nam = next(u for u in listed["users"] if u["username"] == "thay-nam")
            assert (nam["role"], nam["must_change"], nam["last_login"], "password" in nam) == (
                "teacher", True, None, False)

            # The one-time password logs in, to the password page only.
            nam_http, went_to = await _session(hub, "thay-nam", made["password"])
            assert went_to == "/"
            assert await _call(nam_http, "GET", f"{hub.url}/teacher") == (302, "/password?next=/teacher")
            status, refused = await _call(nam_http, "GET", f"{hub.url}/api/devices")
            assert (status, refused["error"]) == (403, "password_change_required")
            # Nor an open route that decides by the session: the teacher's lesson socket.
            with pytest.raises(aiohttp.WSServerHandshakeError) as handshake:
                await nam_http.ws_connect(f"{hub.url}/ws/lesson?role=teacher", headers={"Origin": hub.url})
            assert handshake.value.status == 401
            guess = {"old": "doan-bua", "new": "x" * 10}
            status, wrong = await _call(nam_http, "POST", f"{hub.url}/api/password", guess)
            assert (status, wrong["error"]) == (400, "bad_credentials")
            same = {"old": made["password"], "new": made["password"]}
            assert (await _call(nam_http, "POST", f"{hub.url}/api/password", same))[1]["error"] == "same_password"
            status, changed = await _call(nam_http, "POST", f"{hub.url}/api/password?next=/teacher",
                                          {"old": made["password"], "new": "mat-khau-cua-nam"})
            assert (status, changed["next"]) == (200, "/teacher")
            assert (await _call(nam_http, "GET", f"{hub.url}/api/devices"))[0] == 200  # the same session goes on
            socket = await nam_http.ws_connect(f"{hub.url}/ws/lesson?role=teacher", headers={"Origin": hub.url})
            await socket.close()

            # Reset: a new one-time password, every session of his ends.
            status, reset = await _call(admin, "POST", f"{hub.url}/api/admin/users/thay-nam/reset", {})
            assert status == 200 and reset["password"] != made["password"]
            assert (await _call(nam_http, "GET", f"{hub.url}/api/devices"))[0] == 401
            await nam_http.close()
            nam_http, _ = await _session(hub, "thay-nam", reset["password"])
            assert (await _call(nam_http, "GET", f"{hub.url}/api/devices"))[0] == 403

            # Disabled: out at once, and the right password no longer opens a session.
            status, _ = await _call(admin, "POST", f"{hub.url}/api/admin/users/thay-nam/disabled", {"disabled": True})
            assert status == 200
            assert (await _call(nam_http, "GET", f"{hub.url}/api/me"))[0] == 401
            await nam_http.close()
            nam_http, went_to = await _session(hub, "thay-nam", reset["password"])
            assert went_to == "/login?error=disabled&next=/"
            await nam_http.close()
            # A wrong password still says only "wrong": whether an account is disabled is not told to a guesser.
            nam_http, went_to = await _session(hub, "thay-nam", "doan-bua-thoi")
            assert went_to.startswith("/login?error=bad_credentials")
            await nam_http.close()
            enable = {"disabled": False}
            assert (await _call(admin, "POST", f"{hub.url}/api/admin/users/thay-nam/disabled", enable))[0] == 200
            nam_http, went_to = await _session(hub, "thay-nam", reset["password"])
            assert went_to == "/"
            await nam_http.close()

            # Not their own account: the school would be locked out of its hub.
            status, own = await _call(admin, "POST", f"{hub.url}/api/admin/users/hieu-truong/disabled",
                                      {"disabled": True})  # fmt: skip
            assert (status, own["error"]) == (409, "own_account")
            assert (await _call(admin, "GET", f"{hub.url}/api/admin/users"))[0] == 200
            assert (await _call(admin, "POST", f"{hub.url}/api/admin/users/nobody/reset", {}))[0] == 404
        finally:
            await admin.close()


def test_a_disabled_account_stays_disabled_after_a_restart(tmp_path: Path) -> None:
    accounts = Accounts(tmp_path / "accounts.db")
    accounts.add("lan", "mat-khau-123", "teacher")
    _user, token = accounts.login("lan", "mat-khau-123", hours=1)
    accounts.set_disabled("lan", True)
    accounts.close()
    accounts = Accounts(tmp_path / "accounts.db")
    assert accounts.session(token) is None
    with pytest.raises(Disabled):
        accounts.login("lan", "mat-khau-123", hours=1)
    (lan,) = accounts.accounts()
    assert lan.disabled and lan.last_login is not None
    accounts.close()
