"""Pairing displays: codes used once and only in time, guessing stopped, credentials kept as hashes,
revocation at once; and the HTTP side, with who may make codes."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import aiohttp
import pytest

from classroom_hub.clock import FakeClock
from classroom_hub.lessons.displays import CODE_DIGITS, CODE_TTL_S, MAX_WRONG_PER_MINUTE, DisplayPairings
from classroom_hub.lessons.errors import LessonError
from classroom_hub.lessons.keys import DISPLAYS
from classroom_hub.lessons.protocol import ProtocolError
from classroom_hub.lessons.simulator import LessonClient
from tests.classroom_hub.lessons.conftest import pair_display
from tests.conftest import add_user, room_settings, run_hub


def refused(book: DisplayPairings, code: str) -> str:
    with pytest.raises(ProtocolError) as err:
        book.pair(code, "10.0.0.9")
    return err.value.code


def test_a_code_pairs_one_display_which_stays_paired_until_revoked(tmp_path: Path) -> None:
    book = DisplayPairings(tmp_path / "displays.db")
    code = book.new_code("  Màn hình   86 inch ", "kythuat")
    assert len(code.code) == CODE_DIGITS and code.code.isdigit() and code.name == "Màn hình 86 inch"
    display, credential = book.pair(code.code, "10.0.0.7")
    assert refused(book, code.code) == "bad_code"  # once only
    assert book.check(credential) == display and book.check(credential + "x") is None
    book.close()
    # Durable: the hub restarts and the display is still paired; the file holds no code nor credential.
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("displays.db*"))
    assert code.code.encode() not in raw and credential.encode() not in raw
    book = DisplayPairings(tmp_path / "displays.db")
    assert [d.id for d in book.paired()] == [display.id] and book.paired()[0].paired_by == "kythuat"
    book.seen(display.id)
    assert book.check(credential) is not None and book.check(credential).last_seen is not None  # type: ignore[union-attr]
    revoked = book.revoke(display.id, "kythuat")
    assert revoked is not None and revoked.id == display.id
    assert book.check(credential) is None and book.paired() == [] and book.revoke(display.id, "kythuat") is None
    book.close()


async def test_an_old_code_is_refused_and_guessing_is_stopped_for_everyone(tmp_path: Path) -> None:
    clock = FakeClock()
    book = DisplayPairings(tmp_path / "displays.db", clock)
    old = book.new_code("cũ", "kythuat")
    await clock.advance(CODE_TTL_S + 1)  # ten minutes and a second later
    assert refused(book, old.code) == "expired"
    good = book.new_code("mới", "kythuat")
    wrong = [f"{n:08d}" for n in range(MAX_WRONG_PER_MINUTE + 1) if f"{n:08d}" != good.code][:MAX_WRONG_PER_MINUTE]
    assert {refused(book, guess) for guess in wrong} == {"bad_code"}
    # From now on nobody pairs for a minute, not even with the right code from another address.
    assert refused(book, good.code) == "too_many_tries"
    await clock.advance(60)
    assert book.pair(good.code, "10.0.0.7")[0].name == "mới"  # a minute later it works again
    book.close()


def test_a_damaged_file_is_reported_with_its_path_and_set_aside(tmp_path: Path) -> None:
    path = tmp_path / "displays.db"
    path.write_bytes(b"not a database" * 100)
    with pytest.raises(LessonError, match=str(path)):
        DisplayPairings(path)
    book, problem = DisplayPairings.open_or_start_over(path)
    assert problem is not None and str(path) in str(problem)
    assert (tmp_path / "displays.db.damaged").read_bytes() == b"not a database" * 100  # kept for a look
    code = book.new_code("mới", "kythuat")  # the hub carries on: displays are paired again
    assert book.pair(code.code, "10.0.0.7")[0].name == "mới"
    book.close()
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("SELECT count(*) FROM displays").fetchone() == (1,)


async def test_pairing_over_http_and_who_may_make_codes(tmp_path: Path, system_mosquitto_url: str) -> None:
    async with run_hub(room_settings(tmp_path, system_mosquitto_url)) as hub:
        tech_password = await add_user(hub, "kythuat", "technician")
        student_password = await add_user(hub, "hs-01", "student")
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as anyone:
            assert (await anyone.post(f"{hub.url}/api/displays/pairing", json={})).status == 401
            assert (await anyone.get(f"{hub.url}/api/displays")).status == 401
            await anyone.post(f"{hub.url}/login", data={"username": "hs-01", "password": student_password})
            assert (await anyone.post(f"{hub.url}/api/displays/pairing", json={})).status == 403
            assert (await anyone.get(f"{hub.url}/api/display")).status == 401  # a student's login is no display
            for body in ({"code": "123"}, {"code": "12345678", "x": 1}, {}):
                async with anyone.post(f"{hub.url}/api/display/pair", json=body) as response:
                    assert response.status == 400 and (await response.json())["error"] == "invalid"
            async with anyone.post(f"{hub.url}/api/display/pair", data=b"[") as response:
                assert response.status == 400

        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as tech:
            await tech.post(f"{hub.url}/login", data={"username": "kythuat", "password": tech_password})
            async with tech.post(f"{hub.url}/api/displays/pairing", json={"name": "Màn hình 86"}) as response:
                made = await response.json()
            assert made["link"] == f"{hub.url}/display?pair={made['code']}"
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as screen:
                async with screen.post(f"{hub.url}/api/display/pair", json={"code": made["code"]}) as response:
                    assert response.status == 200
                    cookie = response.cookies["hub_display"]
                    assert cookie["httponly"] and cookie["samesite"] == "Strict" and int(cookie["max-age"]) > 86400
                me = await (await screen.get(f"{hub.url}/api/display")).json()
                assert me["display"]["name"] == "Màn hình 86"
                listed = await (await tech.get(f"{hub.url}/api/displays")).json()
                assert [d["name"] for d in listed["displays"]] == ["Màn hình 86"]
                display = LessonClient(screen, hub.url, role="display")
                await display.connect()
                await display.wait(lambda c: bool(c.welcomes))
                async with tech.post(f"{hub.url}/api/displays/{me['display']['id']}/revoke") as response:
                    assert response.status == 200
                # Its open screen is told and cut at once; it cannot come back.
                await display.wait(lambda c: any('"reason":"unpaired"' in f for f in c.frames))
                await display.close()
                assert (await screen.get(f"{hub.url}/api/display")).status == 401
                with pytest.raises(aiohttp.WSServerHandshakeError):
                    await screen.ws_connect(f"{hub.url}/ws/lesson?role=display")
            assert (await tech.post(f"{hub.url}/api/displays/nope/revoke")).status == 404
            # A pairing made by the test helper works the same way (what other tests use).
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as screen:
                assert (await pair_display(hub, screen))["display"]["name"] == "Màn hình 86 inch"
                assert len(hub.app[DISPLAYS].paired()) == 1
