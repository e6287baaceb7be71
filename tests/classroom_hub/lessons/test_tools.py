"""The teacher's classroom tools over the real lesson protocol (lessons/tools.py, lessons/tablets.py):
countdowns, results hidden from the display until revealed, the picker, groups, sending to chosen
tablets, and what each tablet reports for the teacher's grid."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from classroom_hub.bus.link import MqttLink
from classroom_hub.bus.topics import device_topic
from classroom_hub.clock import FakeClock
from classroom_hub.keys import SETTINGS
from classroom_hub.lessons.library import LessonLibrary
from classroom_hub.lessons.protocol import ProtocolError, read
from classroom_hub.lessons.simulator import LessonClient
from classroom_hub.lessons.tools import check_grade, group_count
from tests.classroom_hub.lessons.conftest import pair_display
from tests.classroom_hub.lessons.test_sync_protocol import FAST_BEATS, STEP, Room, check_wire, open_room, students
from tests.conftest import wait_for

LINKS = {**FAST_BEATS, "links": ["https://vi.wikipedia.org/wiki/"]}


def row(room: Room, student: str) -> dict[str, Any]:
    return next(s for s in room.teacher.students if s["id"] == student)


def error_codes(client: LessonClient) -> list[str]:
    return [e["code"] for e in client.errors]


async def test_a_countdown_per_activity_pauses_resumes_and_survives_a_reload(
    tmp_path: Path, system_mosquitto_url: str
) -> None:
    clock = FakeClock()
    async with open_room(tmp_path, system_mosquitto_url, clock=clock) as room:
        await room.launch()
        tablet = await room.seat("hs-7a-01")
        first = room.teacher.state["step"]["id"]
        start = clock.time()
        await room.teacher.command("timer", action="start", seconds=300)
        await tablet.wait(lambda c: first in (c.state.get("timers") or {}))
        assert tablet.state["timers"][first] == {"seconds": 300, "ends_at": start + 300, "left_s": None}

        await clock.advance(10)
        await room.teacher.command("timer", action="pause")
        await tablet.wait(lambda c: c.state["timers"][first]["ends_at"] is None)
        assert tablet.state["timers"][first]["left_s"] == 290
        await clock.advance(30)  # paused: the time left does not move
        await room.teacher.command("timer", action="resume")
        await room.teacher.command("timer", action="add", seconds=60)
        await tablet.wait(lambda c: c.state["timers"][first]["seconds"] == 360)
        assert tablet.state["timers"][first] == {"seconds": 360, "ends_at": clock.time() + 350, "left_s": None}

        # Each activity has its own: the next step gets one, the first keeps its.
        await room.step_to(STEP["slide"])
        await room.teacher.command("timer", action="start", seconds=60)
        await room.teacher.wait(lambda c: len(c.state["timers"]) == 2)
        await room.teacher.command("timer", action="clear")
        await room.teacher.wait(lambda c: list(c.state["timers"]) == [first])
        await room.teacher.command("timer", action="pause")  # this step has none now
        await room.teacher.command("timer", action="start")  # start needs seconds
        await room.teacher.wait(lambda c: len(c.errors) == 2)
        assert error_codes(room.teacher) == ["no_timer", "invalid"]

        # A reload: the countdown is in the snapshot, with the hub's clock to count it down by.
        reloaded = room.tablet()
        reloaded.client_id, reloaded.token = tablet.client_id, tablet.token
        await reloaded.connect(resume=False)
        await reloaded.wait(lambda c: c.run is not None)
        welcome = reloaded.welcomes[-1]
        assert welcome["state"]["timers"][first]["ends_at"] == start + 390 and welcome["ts"] == clock.time()
        check_wire(reloaded)


async def test_the_display_shows_no_counts_until_the_teacher_reveals_them(
    tmp_path: Path, system_mosquitto_url: str
) -> None:
    async with open_room(tmp_path, system_mosquitto_url, FAST_BEATS) as room:
        await room.launch()
        ana, ben = [await room.seat(s) for s in students(2)]
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as screen:
            await pair_display(room.hub, screen)
            display = LessonClient(screen, room.hub.url, role="display")
            room.clients.append(display)
            await display.connect()
            await room.step_to(STEP["q1"])
            await room.teacher.command("question", action="start")
            await ana.answer("cau-1-vi-khuan", choice=["b"])
            await ben.answer("cau-1-vi-khuan", choice=["a"])
            await display.wait(lambda c: c.results is not None and c.results["answered"] == 2)
            # How many answered, not what: no counts, no right or wrong, in no frame the display got.
            assert display.results is not None and display.results["hidden"] is True
            assert not any(key in display.results for key in ("counts", "correct", "wrong"))
            assert not any('"counts"' in frame for frame in display.frames)
            # The teacher sees what was answered.
            await room.teacher.wait(lambda c: c.results is not None and c.results["counts"]["b"] == 1)

            await room.teacher.command("live_results", on=True)  # the teacher chooses to show the vote live
            await display.wait(lambda c: c.results is not None and "counts" in c.results)
            assert display.results is not None and display.results["counts"] == {"a": 1, "b": 1, "c": 0, "d": 0}
            await room.teacher.command("live_results", on=False)
            await display.wait(lambda c: c.results is not None and c.results.get("hidden") is True)
            await room.teacher.command("question", action="reveal")
            await display.wait(lambda c: c.results is not None and c.results.get("right_choices") == ["b"])
            assert display.results is not None and display.results["counts"]["a"] == 1
            check_wire(display)


async def test_the_picker_takes_present_students_and_nobody_twice_until_all_were_picked(
    tmp_path: Path, system_mosquitto_url: str
) -> None:
    async with open_room(tmp_path, system_mosquitto_url, FAST_BEATS) as room:
        await room.launch()
        await room.teacher.command("pick")
        await room.teacher.wait(lambda c: len(c.errors) == 1)
        assert error_codes(room.teacher) == ["nobody"]  # nobody has joined yet
        present = students(3)
        tablets = [await room.seat(s) for s in present]
        picked = []
        for n in range(1, 5):
            await room.teacher.command("pick", action="next")
            in_round = (n - 1) % 3 + 1
            await room.teacher.wait(lambda c, k=in_round: len((c.state.get("picked") or {}).get("round", [])) == k)  # type: ignore[misc]
            picked.append(room.teacher.state["picked"]["student"]["id"])
        assert sorted(picked[:3]) == present  # every present student once, in a random order
        assert picked[3] != picked[2] and room.teacher.state["picked"]["round"] == [picked[3]]  # a new round
        await tablets[0].wait(lambda c: c.state["picked"]["student"]["id"] == picked[3])
        await room.teacher.command("pick", action="clear")
        await tablets[0].wait(lambda c: c.state["picked"]["student"] is None)
        assert tablets[0].state["picked"]["round"] == [picked[3]]  # the round goes on


async def test_groups_at_random_from_present_students_and_by_the_teacher(
    tmp_path: Path, system_mosquitto_url: str
) -> None:
    async with open_room(tmp_path, system_mosquitto_url, FAST_BEATS) as room:
        await room.launch()
        tablets = [await room.seat(s) for s in students(7)]
        await room.teacher.wait(lambda c: sum(s["state"] == "online" for s in c.students) == 7)
        await room.teacher.command("groups", action="random", size=2)
        await tablets[0].wait(lambda c: c.state.get("groups") is not None)
        made = tablets[0].state["groups"]
        assert made["by"] == "random" and sorted(len(g) for g in made["groups"]) == [2, 2, 3]  # nobody alone
        assert sorted(m["id"] for g in made["groups"] for m in g) == students(7)  # present students, each once

        await room.teacher.command("groups", action="set", groups=[["hs-7a-01", "hs-7a-09"], ["hs-7a-02"]])
        await tablets[1].wait(lambda c: c.state["groups"]["by"] == "teacher")
        assert tablets[1].state["groups"]["groups"] == [
            [{"id": "hs-7a-01", "name": "Ngô Anh Bình"}, {"id": "hs-7a-09", "name": "Phạm Hoài Giang"}],
            [{"id": "hs-7a-02", "name": "Phạm Ngọc Châu"}],
        ]  # the teacher may group an absent student too
        await room.teacher.command("groups", action="set", groups=[["hs-7a-01"], ["hs-7a-01", "hs-7a-02"]])
        await room.teacher.command("groups", action="set", groups=[["hs-7a-99"]])
        await room.teacher.command("groups", action="random")
        await room.teacher.wait(lambda c: len(c.errors) == 3)
        assert error_codes(room.teacher) == ["invalid", "unknown_student", "invalid"]
        assert "hs-7a-01 is in two groups" in room.teacher.errors[0]["message"]
        await room.teacher.command("groups", action="clear")
        await tablets[0].wait(lambda c: c.state["groups"] is None)


@pytest.mark.parametrize(
    ("present", "size", "sizes"), [(3, 2, [3]), (7, 4, [4, 3]), (5, 4, [5]), (40, 6, [6] * 5 + [5] * 2)]
)
def test_group_sizes_differ_by_one_at_most_and_nobody_is_left_alone(present: int, size: int, sizes: list[int]) -> None:
    count = group_count(present, size)
    assert [len(range(present)[i::count]) for i in range(count)] == sizes


async def test_a_page_a_link_or_a_file_goes_to_chosen_tablets_which_say_when_it_is_shown(
    tmp_path: Path, system_mosquitto_url: str
) -> None:
    async with open_room(tmp_path, system_mosquitto_url, LINKS) as room:  # type: ignore[arg-type]
        await room.launch()
        ana, ben, chi = [await room.seat(s) for s in students(3)]
        files = room.teacher.state["step"]["image"].rsplit("/slides/", 1)[0]  # the run's files, key included
        slide = "slides/03-duong-di-cua-nuoc.svg"
        await room.teacher.command("send", kind="file", path=slide, to=["hs-7a-01", "hs-7a-02"])
        await chi.wait(lambda c: c.state.get("sent") is not None)
        sent = chi.state["sent"]
        assert sent == {"n": 1, "kind": "file", "to": ["hs-7a-01", "hs-7a-02"], "title": "03-duong-di-cua-nuoc.svg",
                        "url": f"{files}/slides/03-duong-di-cua-nuoc.svg", "path": "slides/03-duong-di-cua-nuoc.svg",
                        "file": "image"}  # fmt: skip
        async with room.tablets_http.get(room.hub.url + sent["url"]) as response:
            assert response.status == 200  # a tablet of the lesson opens it
        await ana.command("shown", n=1)
        await ben.command("shown", n=2)  # not sent yet: ignored
        await room.teacher.wait(lambda c: row(room, "hs-7a-01")["shown"] == 1)
        await ben.command("shown", n=1)
        await room.teacher.wait(lambda c: row(room, "hs-7a-02")["shown"] == 1)
        assert row(room, "hs-7a-03")["shown"] == 0

        await room.teacher.command("send", kind="step", step=STEP["slide"])  # every tablet
        await ana.wait(lambda c: c.state["sent"]["n"] == 2)
        assert ana.state["sent"]["to"] is None and ana.state["sent"]["step"]["index"] == STEP["slide"]
        assert "correct" not in json.dumps(ana.state["sent"])  # a step as tablets see it: no answers
        for url in ("/lab/share", "https://vi.wikipedia.org/wiki/Thủy_canh"):
            await room.teacher.command("send", kind="link", url=url)
        await ana.wait(lambda c: c.state["sent"]["n"] == 4)
        assert ana.state["sent"]["url"] == "https://vi.wikipedia.org/wiki/Thủy_canh"

        refused = [
            {"kind": "link", "url": "https://vi.wikipedia.org.evil.example/wiki/x"},
            {"kind": "link", "url": "javascript:alert(document.cookie)"},
            {"kind": "link", "url": "//evil.example/"},
            {"kind": "file", "path": "lesson.json"},  # holds the answers
            {"kind": "file", "path": "../../lesson-files.key"},
            {"kind": "step", "step": 99},
            {"kind": "file", "path": "slides/03-duong-di-cua-nuoc.svg", "to": ["hs-7a-99"]},
            {"kind": "link", "path": "slides/03-duong-di-cua-nuoc.svg"},
        ]
        for message in refused:
            await room.teacher.command("send", **message)
        await room.teacher.wait(lambda c: len(c.errors) == len(refused))
        assert error_codes(room.teacher) == ["link_not_allowed"] * 3 + ["unknown_file"] * 2 + [
            "unknown_step", "unknown_student", "invalid"]  # fmt: skip
        assert "https://vi.wikipedia.org/wiki/" in room.teacher.errors[0]["message"]  # says what is allowed
        await room.teacher.command("send", kind="none")
        await ana.wait(lambda c: c.state["sent"] == {"n": 5, "kind": "none", "to": None, "title": None})
        check_wire(room.teacher)


async def publish_status(settings: Any, device_id: str, status: dict[str, Any]) -> None:
    """``device_id``'s agent publishes its retained status, as a tablet's agent does (docs/devices.md)."""
    device = MqttLink(settings.mqtt.url, client_id=device_id, manual_ack=False)
    task = asyncio.create_task(device.run())
    try:
        await device.wait_up(5)
        device.publish(device_topic(settings.room.id, device_id, "status"), json.dumps(status), qos=1, retain=True)
        await wait_for(lambda: device.unconfirmed == 0)
        await device.close()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_each_tablet_tells_its_page_battery_and_device_and_a_silent_one_misses_beats(
    tmp_path: Path, system_mosquitto_url: str
) -> None:
    clock = FakeClock()  # a beat every 2 s, cut after 6 s of silence
    async with open_room(tmp_path, system_mosquitto_url, clock=clock) as room:
        settings = room.hub.app[SETTINGS]
        await publish_status(settings, "T01", {"state": "online", "kind": "tablet", "battery": 73, "charging": True})
        await publish_status(settings, "H01", {"state": "online", "kind": "headset", "battery": 12})
        await room.launch()
        ana, ben, chi = [await room.seat(s) for s in students(3)]
        await ana.command("status", visible=False, battery=42, charging=False)
        await ben.command("status", visible=True, device="T01")  # no Battery API: its agent tells
        await chi.command("status", visible=True, device="H01")  # not a tablet: no battery taken from it
        await room.teacher.wait(lambda c: row(room, "hs-7a-02")["battery"] == 73)
        await room.teacher.wait(lambda c: row(room, "hs-7a-01")["visible"] is False)
        assert {k: row(room, "hs-7a-01")[k] for k in ("visible", "battery", "charging", "battery_from", "device")} == {
            "visible": False, "battery": 42, "charging": False, "battery_from": "tablet", "device": None}  # fmt: skip
        assert {k: row(room, "hs-7a-02")[k] for k in ("battery", "charging", "battery_from", "device")} == {
            "battery": 73, "charging": True, "battery_from": "agent", "device": "T01"}  # fmt: skip
        assert row(room, "hs-7a-03")["battery"] is None and row(room, "hs-7a-03")["device"] is None

        # Chi's page freezes: the socket stays open but answers nothing; the teacher sees beats go missing.
        chi.auto_ack = False
        for _ in range(2):
            await clock.advance(room.classroom.beat_s)
        await room.teacher.wait(lambda c: row(room, "hs-7a-03")["missed"] == 1)
        assert row(room, "hs-7a-03")["quality"] == "fair" and row(room, "hs-7a-01")["missed"] == 0
        await clock.advance(room.classroom.beat_s)
        await room.teacher.wait(lambda c: row(room, "hs-7a-03")["missed"] == 2)
        assert row(room, "hs-7a-03")["quality"] == "poor"
        await clock.advance(room.classroom.beat_s)  # past dead_after_s: cut
        await room.teacher.wait(lambda c: row(room, "hs-7a-03")["state"] == "offline")
        assert row(room, "hs-7a-01")["state"] == "online" and row(room, "hs-7a-01")["missed"] == 0
        await room.teacher.command("end")


def test_tablet_reports_are_checked() -> None:
    for text in ('{"t":"status","visible":"no"}', '{"t":"status","visible":true,"battery":140}',
                 '{"t":"status","visible":true,"device":"../T01"}', '{"t":"shown","n":0}'):  # fmt: skip
        with pytest.raises(ProtocolError) as refused:
            read("student", text)
        assert refused.value.code == "invalid"
    with pytest.raises(ProtocolError) as refused:
        read("teacher", '{"t":"status","visible":true}')
    assert refused.value.code == "forbidden"
    with pytest.raises(ProtocolError) as refused:
        read("student", '{"t":"send","kind":"none"}')
    assert refused.value.code == "forbidden"  # a tablet never sends to the class


def test_a_lesson_for_another_grade_needs_the_teachers_word(tmp_path: Path) -> None:
    from classroom_hub.lessons import sample_packages

    library = LessonLibrary(tmp_path / "lessons")
    physics = next(p for p in sample_packages() if p.name == "chuyen-dong-thang-10")
    lesson = library.open(library.import_package(physics).id).manifest
    seventh = {"id": "khtn-7a", "title": "Lớp 7A", "grade": "07"}
    with pytest.raises(ProtocolError, match="for grade 10 and Lớp 7A is grade 7") as refused:
        check_grade(lesson, seventh, confirm=False, teacher="co-lan")
    assert refused.value.code == "grade_mismatch"
    check_grade(lesson, seventh, confirm=True, teacher="co-lan")
    check_grade(lesson, {**seventh, "grade": "10"}, confirm=False, teacher="co-lan")
    check_grade(lesson, {**seventh, "grade": "KG"}, confirm=False, teacher="co-lan")  # not a number: nothing to say
    check_grade(lesson, {**seventh, "grade": None}, confirm=False, teacher="co-lan")
