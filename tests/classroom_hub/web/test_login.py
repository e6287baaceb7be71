"""Logging in: throttled per (user, address) and per address, and never sent off the hub."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

import classroom_hub.auth as auth
from classroom_hub.auth import ADDRESS_LIMIT, PAIR_LIMIT, PAIR_WINDOW_S, LoginThrottle
from classroom_hub.clock import FakeClock
from classroom_hub.web.routes import safe_next
from tests.conftest import add_user, room_settings, run_hub


async def test_a_pair_is_locked_after_five_failures_and_other_addresses_are_not() -> None:
    clock = FakeClock()
    throttle = LoginThrottle(clock)
    for _ in range(PAIR_LIMIT):
        throttle.begin("lan", "10.0.0.66")  # each attempt counts as a failure until it succeeds
    with pytest.raises(auth.Locked) as locked:
        throttle.begin("lan", "10.0.0.66")
    assert locked.value.retry_after == PAIR_WINDOW_S
    teacher = throttle.begin("lan", "10.0.0.5")  # her own laptop
    throttle.succeeded(teacher)
    await clock.advance(PAIR_WINDOW_S / 2)
    with pytest.raises(auth.Locked) as locked:
        throttle.begin("lan", "10.0.0.66")
    assert locked.value.retry_after == PAIR_WINDOW_S / 2
    await clock.advance(PAIR_WINDOW_S / 2 + 0.01)
    throttle.begin("lan", "10.0.0.66")  # the minute has passed


def test_spraying_many_usernames_from_one_address_is_throttled() -> None:
    throttle = LoginThrottle(FakeClock())
    for n in range(ADDRESS_LIMIT):
        throttle.begin(f"user{n}", "10.0.0.66")
    with pytest.raises(auth.Locked):
        throttle.begin("someone-else", "10.0.0.66")
    throttle.begin("someone-else", "10.0.0.67")


def test_a_success_takes_its_count_back() -> None:
    throttle = LoginThrottle(FakeClock())
    for _ in range(ADDRESS_LIMIT * 2):
        throttle.succeeded(throttle.begin("lan", "10.0.0.5"))  # a teacher logging in all day


def test_the_tables_stay_bounded() -> None:
    throttle = LoginThrottle(FakeClock(), entries=100)
    for n in range(5000):
        throttle.begin(f"user{n}", f"10.{n // 250}.{n % 250}.1")
    assert len(throttle) <= 200


async def test_concurrent_wrong_passwords_get_at_most_five_checks(
    tmp_path: Path, system_mosquitto_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    checks = 0
    real = auth.verify_password

    def counted(password: str, stored: str) -> bool:
        nonlocal checks
        checks += 1
        return real(password, stored)

    monkeypatch.setattr(auth, "verify_password", counted)
    async with run_hub(room_settings(tmp_path, system_mosquitto_url)) as hub:
        password = await add_user(hub, "lan", "teacher")
        origin = {"Origin": hub.url}

        async def attempt(http: aiohttp.ClientSession, secret: str) -> tuple[str, str | None]:
            form = {"username": "lan", "password": secret}
            async with http.post(f"{hub.url}/login", data=form, headers=origin, allow_redirects=False) as r:
                assert r.status == 302
                return r.headers["Location"], r.headers.get("Retry-After")

        async with aiohttp.ClientSession() as attacker:
            answers = await asyncio.gather(*(attempt(attacker, f"guess-{n:03d}") for n in range(100)))
        assert checks <= PAIR_LIMIT
        wrong = [a for a in answers if a[0].startswith("/login?error=bad_credentials")]
        locked = [a for a in answers if a[0].startswith("/login?error=locked")]
        assert len(wrong) == checks and len(wrong) + len(locked) == 100
        assert all(retry is not None and 1 <= int(retry) <= 60 for _, retry in locked)
        # Even the right password, from the attacker's address, waits out the minute...
        async with aiohttp.ClientSession() as attacker:
            location, _ = await attempt(attacker, password)
            assert location.startswith("/login?error=locked")
        # ...while the teacher, on her own laptop (another address), gets in at once.
        laptop = aiohttp.TCPConnector(local_addr=("127.0.0.2", 0))
        async with aiohttp.ClientSession(connector=laptop) as teacher:
            location, _ = await attempt(teacher, password)
            assert location == "/"


def test_next_never_leaves_the_hub() -> None:
    hostile = [
        "//evil.example/", "/\\evil.example", "/\t/evil.example", "/%09/evil.example", "/%2F/evil.example",
        "/%2f%2fevil.example", "/\r\n/evil.example", "/%0d%0a/evil.example", "https://evil.example/",
        "javascript:alert(1)", "/%5Cevil.example", "\\\\evil.example", "evil.example", "", " /teacher",
    ]  # fmt: skip
    assert {safe_next(target) for target in hostile} == {"/"}
    assert safe_next("/studio/book?day=2") == "/studio/book?day=2"
    assert safe_next("/teacher") == "/teacher"


async def test_the_login_form_redirects_only_within_the_hub(tmp_path: Path, system_mosquitto_url: str) -> None:
    async with run_hub(room_settings(tmp_path, system_mosquitto_url)) as hub:
        password = await add_user(hub, "minh", "technician")
        async with aiohttp.ClientSession() as http:
            for target, expected in (("/\t/evil.example", "/"), ("/%2F/evil.example", "/"), ("/tech", "/tech")):
                form = {"username": "minh", "password": password, "next": target}
                async with http.post(f"{hub.url}/login", data=form, headers={"Origin": hub.url},
                                     allow_redirects=False) as r:  # fmt: skip
                    assert (r.status, r.headers["Location"]) == (302, expected)
            form = {"username": "minh", "password": "wrong-one", "next": "/\t/evil.example"}
            async with http.post(f"{hub.url}/login", data=form, allow_redirects=False) as r:
                assert r.headers["Location"] == "/login?error=bad_credentials&next=/"
