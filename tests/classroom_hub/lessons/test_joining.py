"""Joining a lesson over HTTP, PINs, the lesson's files, the QR code and the teacher's APIs."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

from classroom_hub.lessons.simulator import LessonClient
from tests.classroom_hub.lessons.conftest import pair_display
from tests.conftest import RunningHub, add_user, room_settings, run_hub

LESSON = "vong-tuan-hoan-nuoc-aquaponics"
_rooms = 0


def demo_room(tmp_path: Path, broker_url: str, **extra: Any) -> Any:
    global _rooms
    _rooms += 1
    room = {"school_code": "THCS-DEMO", "id": f"lop-7a-j{os.getpid()}-{_rooms}", "name": "Lớp 7A"}
    return room_settings(tmp_path, broker_url, room=room, **extra)


@contextlib.asynccontextmanager
async def lesson(tmp_path: Path, broker_url: str, **extra: Any) -> AsyncIterator[tuple[RunningHub, LessonClient, str]]:
    """A hub with a lesson launched by a logged-in teacher: (hub, teacher, join code)."""
    async with run_hub(demo_room(tmp_path, broker_url, **extra)) as hub:
        password = await add_user(hub, "co-lan", "teacher")
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            await http.post(f"{hub.url}/login", data={"username": "co-lan", "password": password})
            teacher = LessonClient(http, hub.url, role="teacher")
            await teacher.connect()
            await teacher.command("launch", lesson=LESSON, **{"class": "khtn-7a"})
            await teacher.wait(lambda c: "code" in c.state)
            try:
                yield hub, teacher, teacher.state["code"]
            finally:
                await teacher.close()


async def post_join(http: aiohttp.ClientSession, hub: RunningHub, **body: Any) -> tuple[int, dict[str, Any]]:
    body.setdefault("client", "tablet-client-1")
    async with http.post(f"{hub.url}/api/lesson/join", json=body) as response:
        return response.status, await response.json()


async def test_joining_by_code_and_name(tmp_path: Path, system_mosquitto_url: str) -> None:
    async with lesson(tmp_path, system_mosquitto_url) as (hub, _teacher, code), aiohttp.ClientSession() as http:
        async with http.get(f"{hub.url}/api/lesson/join", params={"code": code}) as response:
            info = await response.json()
        assert info["class"]["title"] == "Khoa học tự nhiên - Lớp 7A" and len(info["students"]) == 40
        assert info["students"][0] == {"id": "hs-7a-01", "name": "Ngô Anh Bình", "online": False, "pin": False}
        wrong = "0000" if code != "0000" else "1111"
        async with http.get(f"{hub.url}/api/lesson/join", params={"code": wrong}) as response:
            assert response.status == 404 and (await response.json())["error"] == "bad_code"

        status, seat = await post_join(http, hub, code=code, student="hs-7a-01")
        assert status == 200 and seat["student"] == {"id": "hs-7a-01", "name": "Ngô Anh Bình"}
        # Joining again from the same tablet (a reload) gives the same seat.
        assert (await post_join(http, hub, code=code, student="hs-7a-01"))[1]["token"] == seat["token"]
        assert (await post_join(http, hub, code=code, student="hs-9z-99"))[1]["error"] == "unknown_student"
        assert (await post_join(http, hub, code=wrong, student="hs-7a-01"))[0] == 404
        status, refused = await post_join(http, hub, code=code, student="hs-7a-01", client="x")
        assert status == 400 and refused["error"] == "invalid"

        tablet = LessonClient(http, hub.url)
        tablet.client_id, tablet.token = "tablet-client-1", seat["token"]
        await tablet.connect()
        await tablet.wait(lambda c: c.run is not None)
        # While that tablet is connected, another tablet cannot take the seat by name alone.
        status, taken = await post_join(http, hub, code=code, student="hs-7a-01", client="other-tablet-2")
        assert (status, taken["error"]) == (409, "taken")
        await tablet.close()


async def test_too_many_wrong_codes_are_slowed_down(tmp_path: Path, system_mosquitto_url: str) -> None:
    async with lesson(tmp_path, system_mosquitto_url) as (hub, _teacher, code), aiohttp.ClientSession() as http:
        wrong = "0000" if code != "0000" else "1111"
        statuses = []
        for _ in range(21):
            async with http.get(f"{hub.url}/api/lesson/join", params={"code": wrong}) as response:
                statuses.append(response.status)
        assert statuses[:20] == [404] * 20 and statuses[20] == 429
        async with http.get(f"{hub.url}/api/lesson/join", params={"code": code}) as response:
            assert response.status == 429  # even the right code, for a minute


async def test_a_pin_guards_a_seat_and_lets_its_owner_take_it_back(tmp_path: Path, system_mosquitto_url: str) -> None:
    pins = tmp_path / "hub" / "student-pins.csv"
    pins.parent.mkdir(parents=True)
    pins.write_text("sourcedId,pin\nhs-7a-01,2468\nhs-7a-02,1357\n", encoding="utf-8")
    async with lesson(tmp_path, system_mosquitto_url) as (hub, _teacher, code), aiohttp.ClientSession() as http:
        async with http.get(f"{hub.url}/api/lesson/join", params={"code": code}) as response:
            flags = {s["id"]: s["pin"] for s in (await response.json())["students"]}
        assert flags["hs-7a-01"] and flags["hs-7a-02"] and not flags["hs-7a-03"]
        assert (await post_join(http, hub, code=code, student="hs-7a-01"))[1]["error"] == "bad_pin"
        status, seat = await post_join(http, hub, code=code, student="hs-7a-01", pin="2468")
        assert status == 200
        first = LessonClient(http, hub.url)
        first.client_id, first.token = "tablet-client-1", seat["token"]
        await first.connect()
        await first.wait(lambda c: c.run is not None)
        # The owner's PIN takes the seat over from a lost tablet; the old one is told so.
        status, moved = await post_join(http, hub, code=code, student="hs-7a-01", pin="2468", client="new-tablet-22")
        assert status == 200 and moved["token"] != seat["token"]
        second = LessonClient(http, hub.url)
        second.client_id, second.token = "new-tablet-22", moved["token"]
        await second.connect()
        await first.wait(lambda c: any('"reason":"replaced"' in f for f in c.frames))
        # Guessing is stopped after five wrong PINs.
        answers = [await post_join(http, hub, code=code, student="hs-7a-02", pin=f"{n:04d}") for n in range(6)]
        assert [a[1]["error"] for a in answers] == ["bad_pin"] * 5 + ["pin_locked"]
        assert (await post_join(http, hub, code=code, student="hs-7a-02", pin="1357"))[0] == 429
        await asyncio.gather(first.close(), second.close())


async def test_lesson_files_are_served_safely(tmp_path: Path, system_mosquitto_url: str) -> None:
    async with lesson(tmp_path, system_mosquitto_url) as (hub, teacher, code), aiohttp.ClientSession() as http:
        lesson_hash = teacher.state["lesson"]["hash"]
        image = teacher.state["step"]["image"]
        files = image.removesuffix("/slides/01-gioi-thieu.svg")
        assert files.startswith(f"/lesson/{lesson_hash}.") and len(files) > len(f"/lesson/{lesson_hash}.") + 16
        # Without the key from the lesson's state: nothing, even knowing the (public) content hash.
        async with http.get(f"{hub.url}/lesson/{lesson_hash}/slides/01-gioi-thieu.svg") as response:
            assert response.status == 401
        async with http.get(f"{hub.url}/lesson/{lesson_hash}.{'A' * 22}/slides/01-gioi-thieu.svg") as response:
            assert response.status == 403
        # A tablet gets the key with the state once seated with its join token.
        tablet = LessonClient(http, hub.url)
        await tablet.join(code, "hs-7a-05")
        await tablet.connect()
        await tablet.wait(lambda c: "step" in c.state)
        assert tablet.state["step"]["image"] == image
        await tablet.close()
        async with http.get(f"{hub.url}{image}") as response:
            assert response.status == 200 and response.content_type == "image/svg+xml"
            assert "immutable" in response.headers["Cache-Control"]
            assert response.headers["Content-Security-Policy"].startswith("sandbox;")
            assert response.headers["X-Content-Type-Options"] == "nosniff"
        async with http.get(f"{hub.url}{files}/slides/04-chu-trinh-nito.html") as response:
            assert response.status == 200
            assert response.headers["Content-Security-Policy"].startswith("sandbox allow-scripts; connect-src 'none'")
        for path in ("lesson.json", "slides/../lesson.json", "slides/%2e%2e/lesson.json", "nope.svg"):
            async with http.get(f"{hub.url}{files}/{path}") as response:
                assert response.status == 404, path
                assert "correct" not in await response.text()
        async with http.get(f"{hub.url}/lesson/{'0' * 64}/slides/01.svg") as response:
            assert response.status == 401  # not the running lesson: teachers only
        # The teacher's login opens any stored lesson's files, without a key.
        async with teacher.session.get(f"{hub.url}/lesson/{lesson_hash}/slides/01-gioi-thieu.svg") as response:
            assert response.status == 200
        # Once the lesson has ended its key opens nothing more.
        await teacher.command("end")
        await teacher.wait(lambda c: c.summary is not None)
        async with http.get(f"{hub.url}{image}") as response:
            assert response.status == 403


async def test_the_qr_code_carries_the_public_address(tmp_path: Path, system_mosquitto_url: str) -> None:
    extra = {"http": {"host": "127.0.0.1", "port": 0, "public_url": "http://192.168.10.2:8080/"}}
    async with lesson(tmp_path, system_mosquitto_url, **extra) as (hub, teacher, code):
        async with teacher.session.get(f"{hub.url}/api/lesson/qr.svg") as response:
            assert response.content_type == "image/svg+xml"
            assert response.headers["X-Join-Url"] == f"http://192.168.10.2:8080/join?code={code}"
            assert (await response.text()).lstrip().startswith("<?xml")
        # It carries the class code: not for anyone on the LAN.
        async with aiohttp.ClientSession() as http, http.get(f"{hub.url}/api/lesson/qr.svg") as response:
            assert response.status == 401 and "X-Join-Url" not in response.headers


async def test_the_qr_code_never_takes_the_address_from_the_host_header(
    tmp_path: Path, system_mosquitto_url: str
) -> None:
    async with lesson(tmp_path, system_mosquitto_url) as (hub, teacher, code):
        forged = {"Host": "hub.evil.example:8080", "X-Forwarded-Host": "hub.evil.example"}
        async with teacher.session.get(f"{hub.url}/api/lesson/qr.svg", headers=forged) as response:
            assert response.status == 200
            # No public_url in this room: the address the hub listens on ([http] host, the bound port).
            assert response.headers["X-Join-Url"] == f"{hub.url}/join?code={code}"
            assert "evil" not in await response.text()


async def test_teacher_apis_and_commands(tmp_path: Path, system_mosquitto_url: str) -> None:
    async with lesson(tmp_path, system_mosquitto_url) as (hub, teacher, code):
        http = teacher.session
        lessons = await (await http.get(f"{hub.url}/api/lessons")).json()
        # the samples, imported at start
        assert {item["id"] for item in lessons} == {LESSON, "chuyen-dong-thang-10", "xem-mo-hinh-phan-tu-nuoc"}
        detail = await (await http.get(f"{hub.url}/api/lessons/{LESSON}")).json()
        quiz = next(s for s in detail["manifest"]["steps"] if s["id"] == "cau-1-vi-khuan")
        assert quiz["correct"] == ["b"]  # the teacher sees the answers (tablets never get this)
        classes = await (await http.get(f"{hub.url}/api/classes")).json()
        assert [(c["id"], c["students"]) for c in classes] == [("khtn-7a", 40), ("khtn-7b", 35)]
        assert (await http.get(f"{hub.url}/api/lesson/summary")).status == 404

        async with aiohttp.ClientSession() as tablets:
            student = LessonClient(tablets, hub.url)
            await student.join(code, "hs-7a-03")
            await student.connect()
            await student.wait(lambda c: c.run is not None)
            await teacher.command("resync", student="hs-7a-03")
            await student.wait(lambda c: len(c.welcomes) == 2)
            assert student.welcomes[-1]["mode"] == "snapshot"
            await teacher.command("resync", student="hs-7a-04")
            await teacher.command("launch", lesson=LESSON, **{"class": "khtn-7a"})
            await teacher.command("goto", step=99)
            await teacher.command("question", action="start")  # step 0 is a slide
            await teacher.wait(lambda c: len(c.errors) == 4)
            assert [e["code"] for e in teacher.errors] == ["offline", "busy", "unknown_step", "not_a_question"]

            await teacher.command("end")
            await teacher.wait(lambda c: c.summary is not None)
            assert (await http.get(f"{hub.url}/api/lesson/summary")).status == 200
            # A new lesson: tablets of the last one are sent back to join. It is for grade 10, the
            # class is grade 7: the hub says so, and launches it once the teacher confirms.
            await teacher.command("launch", lesson="chuyen-dong-thang-10", **{"class": "khtn-7a"})
            await teacher.wait(lambda c: len(c.errors) == 5)
            assert teacher.errors[-1]["code"] == "grade_mismatch" and "grade 10" in teacher.errors[-1]["message"]
            await teacher.command("launch", lesson="chuyen-dong-thang-10", confirm=True, **{"class": "khtn-7a"})
            await student.wait(lambda c: any('"reason":"relaunched"' in f for f in c.frames))
            await teacher.wait(lambda c: c.state.get("lesson", {}).get("id") == "chuyen-dong-thang-10")
            assert teacher.state["code"] != code and teacher.state["ended"] is None
            await student.close()


async def test_a_display_before_any_lesson_and_an_unknown_role(tmp_path: Path, system_mosquitto_url: str) -> None:
    async with run_hub(demo_room(tmp_path, system_mosquitto_url)) as hub, aiohttp.ClientSession() as http:
        async with http.get(f"{hub.url}/ws/lesson?role=admin") as response:
            assert response.status == 400
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as screen:
            await pair_display(hub, screen)
            display = LessonClient(screen, hub.url, role="display")
            await display.connect()
            await display.wait(lambda c: bool(c.welcomes))
            assert display.welcomes[0]["run"] is None and display.state == {}  # nothing running yet
            await display.close()
