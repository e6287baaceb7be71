"""WebSocket lesson messages: whatever a tablet, the teacher's page or the display sends.

Two levels. ``protocol.read`` alone, for every role: a frame is one message the role may
send, or a :class:`ProtocolError` with a documented code and a message. Then a running hub
with the demo class and a lesson on a quiz, over real WebSockets: a student's tablet and
the teacher's page each send any frame (text or binary, small or over the limits); the
hub answers on the same connection, and right after it the same connection still gets
its answer to a good message, in order. A frame over 256 KiB closes the connection, as
documented, and a new one works.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from classroom_hub.lessons import sample_packages
from classroom_hub.lessons.classroom import Classroom
from classroom_hub.lessons.errors import LessonError
from classroom_hub.lessons.keys import LESSONS
from classroom_hub.lessons.protocol import MAX_FRAME_BYTES, ROLES, SERVER_MESSAGE, Inbound, ProtocolError, read
from classroom_hub.lessons.simulator import LessonClient
from tests.conftest import add_user, room_settings, run_hub
from tests.fuzz.profile import counted, fuzz
from tests.fuzz.strategies import NASTY_TEXTS, NUMBERS, json_payloads

LESSON = "vong-tuan-hoan-nuoc-aquaponics"
CLASS = "khtn-7a"
STUDENT = "hs-7a-01"
MAX_MESSAGE = 4 * MAX_FRAME_BYTES  # aiohttp closes the connection (1009) above this

CODES = {"too_large", "bad_json", "invalid", "forbidden", "unknown_type"}
TYPES = {
    "student": {"hello", "ack", "resume", "answer", "hand", "status", "shown"},
    "teacher": {"ack", "launch", "goto", "next", "prev", "lock", "question", "lower", "resync", "end"}
    | {"timer", "live_results", "pick", "groups", "send"},
    "display": {"ack"},
}


def _steps() -> list[tuple[str, list[str]]]:
    """(step id, choice ids) of the sample lessons: answers that reach the marking code."""
    out: list[tuple[str, list[str]]] = []
    for folder in sample_packages():
        manifest = json.loads((folder / "lesson.json").read_text(encoding="utf-8"))
        out += [(step["id"], [c["id"] for c in step.get("choices", [])]) for step in manifest["steps"]]
    return out


STEPS = _steps()
text = st.one_of(st.text(max_size=30), st.sampled_from(NASTY_TEXTS))
revs = st.one_of(st.integers(0, 50), NUMBERS, st.sampled_from([2**53, 2**53 + 1, -1]))
students = st.one_of(st.sampled_from([STUDENT, "hs-7a-02", "hs-7a-40", "gv-lan"]), text)


@st.composite
def answers(draw: st.DrawFn) -> dict[str, Any]:
    step, choices = draw(st.sampled_from(STEPS))
    message: dict[str, Any] = {"t": "answer", "id": draw(st.from_regex(r"[A-Za-z0-9_-]{8,64}", fullmatch=True)),
                               "step": step}  # fmt: skip
    if choices and draw(st.booleans()):
        message["choice"] = draw(st.lists(st.sampled_from(choices), min_size=1, max_size=3))
    else:
        message["text"] = draw(st.one_of(text, st.sampled_from(["nitrat", "Nitrat ", "20,0 m/s"])))
    if draw(st.booleans()):
        message["elapsed_ms"] = draw(st.one_of(st.integers(0, 60_000), NUMBERS))
    return message


# "$TOKEN" and "$RUN" become the tablet's real seat token and the running lesson's id when sent.
STUDENT_MESSAGES = st.one_of(
    st.fixed_dictionaries({"t": st.just("hello"), "token": st.sampled_from(["$TOKEN", "x" * 16])},
                          optional={"run": st.sampled_from(["$RUN", "0" * 36]), "rev": revs}),
    st.fixed_dictionaries({"t": st.just("ack"), "rev": revs}, optional={"beat": revs}),
    st.fixed_dictionaries({"t": st.just("resume"), "rev": revs}),
    answers(),
    st.fixed_dictionaries({"t": st.just("hand"), "up": st.booleans()}),
    st.fixed_dictionaries({"t": st.just("status"), "visible": st.booleans()},
                          optional={"battery": st.one_of(st.none(), NUMBERS, st.floats(0, 100)),
                                    "charging": st.booleans(),
                                    "device": st.one_of(st.sampled_from(["T01", "H01", "T99"]), text)}),
    st.fixed_dictionaries({"t": st.just("shown"), "n": revs}),
)  # fmt: skip
# The classroom tools (lessons/tools.py): a link, a file or a step that may or may not be allowed.
TOOL_MESSAGES = st.one_of(
    st.fixed_dictionaries({"t": st.just("timer"),
                           "action": st.sampled_from(["start", "add", "pause", "resume", "clear"])},
                          optional={"seconds": st.one_of(st.integers(1, 600), NUMBERS)}),
    st.fixed_dictionaries({"t": st.just("live_results"), "on": st.booleans()}),
    st.fixed_dictionaries({"t": st.just("pick")}, optional={"action": st.sampled_from(["next", "clear"])}),
    st.fixed_dictionaries({"t": st.just("groups"), "action": st.sampled_from(["random", "set", "clear"])},
                          optional={"size": st.one_of(st.integers(2, 6), NUMBERS),
                                    "groups": st.lists(st.lists(students, max_size=4), max_size=4)}),
    st.fixed_dictionaries({"t": st.just("send"), "kind": st.sampled_from(["step", "link", "file", "none"])},
                          optional={"step": st.one_of(st.integers(0, 14), NUMBERS),
                                    "url": st.one_of(st.sampled_from(["/join", "//evil.example/", "javascript:x",
                                                                      "https://vi.wikipedia.org/wiki/A"]), text),
                                    "path": st.one_of(st.sampled_from(["slides/01-gioi-thieu.svg", "lesson.json",
                                                                       "../x"]), text),
                                    "to": st.lists(students, max_size=3), "title": text}),
)  # fmt: skip
TEACHER_MESSAGES = st.one_of(
    st.fixed_dictionaries({"t": st.just("launch"), "lesson": st.sampled_from([LESSON, "chuyen-dong-thang-10", "0" * 8]),
                           "class": st.sampled_from([CLASS, "khtn-7b", "x"])}, optional={"confirm": st.booleans()}),
    st.fixed_dictionaries({"t": st.just("goto"), "step": st.one_of(st.integers(0, 14), NUMBERS)}),
    st.sampled_from([{"t": "next"}, {"t": "prev"}, {"t": "end"}]),
    st.fixed_dictionaries({"t": st.just("lock"), "on": st.booleans()}),
    st.fixed_dictionaries({"t": st.just("question"), "action": st.sampled_from(["start", "close", "reveal"])}),
    st.fixed_dictionaries({"t": st.just("lower")}, optional={"student": students}),
    st.fixed_dictionaries({"t": st.just("resync"), "student": students}),
    st.fixed_dictionaries({"t": st.just("ack"), "rev": revs}),
    TOOL_MESSAGES,
)  # fmt: skip
ANY_MESSAGE = st.one_of(STUDENT_MESSAGES, TEACHER_MESSAGES)
FRAMES = {
    "student": json_payloads(st.one_of(STUDENT_MESSAGES, STUDENT_MESSAGES, TEACHER_MESSAGES)),
    "teacher": json_payloads(st.one_of(TEACHER_MESSAGES, TEACHER_MESSAGES, STUDENT_MESSAGES)),
    "display": json_payloads(ANY_MESSAGE),
}


# --- the protocol module --------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
@fuzz(ci=300)
@given(data=st.data())
@counted("WebSocket messages (protocol.read)")
def test_a_frame_is_a_message_of_the_role_or_a_protocol_error(role: str, data: st.DataObject) -> None:
    frame = data.draw(FRAMES[role], label="frame")
    as_text = data.draw(st.booleans(), label="as text")
    sent: str | bytes = frame.decode("utf-8", "replace") if as_text else frame
    try:
        message = read(role, sent)  # type: ignore[arg-type]
    except ProtocolError as err:
        assert err.code in CODES, err.code
        assert err.message and "\n" not in err.message, err.message
        assert isinstance(err, LessonError) and err.problems
        return
    assert isinstance(message, Inbound) and message.t in TYPES[role]


# --- a running hub, over real WebSockets -----------------------------------------------------


class Socket:
    """One raw lesson WebSocket: send any frame, read the answers in order."""

    def __init__(self, http: aiohttp.ClientSession, url: str, role: str) -> None:
        self.http, self.url, self.role = http, url, role
        self.ws: aiohttp.ClientWebSocketResponse | None = None

    async def open(self) -> None:
        self.ws = await self.http.ws_connect(f"{self.url}/ws/lesson?role={self.role}", origin=self.url,
                                             autoping=True)  # fmt: skip

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()

    async def send(self, frame: str | bytes | dict[str, Any]) -> None:
        assert self.ws is not None
        if isinstance(frame, dict):
            await self.ws.send_str(json.dumps(frame))
        elif isinstance(frame, bytes):
            await self.ws.send_bytes(frame)
        else:
            await self.ws.send_str(frame)

    async def until(self, done: Any, timeout: float = 10) -> list[dict[str, Any]]:
        """Every message received up to and including the first one ``done`` accepts."""
        assert self.ws is not None
        seen: list[dict[str, Any]] = []
        async with asyncio.timeout(timeout):
            while True:
                frame = await self.ws.receive()
                if frame.type != aiohttp.WSMsgType.TEXT:
                    return [*seen, {"t": "closed", "code": self.ws.close_code, "type": frame.type.name}]
                message = json.loads(frame.data)
                SERVER_MESSAGE.validate_python(message)  # every answer is a documented message
                seen.append(message)
                if done(message):
                    return seen


@dataclass
class LessonRoom:
    url: str
    classroom: Classroom
    teacher_http: aiohttp.ClientSession
    tablets_http: aiohttp.ClientSession
    token: str


@pytest.fixture
async def lesson_room(tmp_path: Path, system_mosquitto_url: str) -> AsyncIterator[LessonRoom]:
    settings = room_settings(tmp_path, system_mosquitto_url, room={"school_code": "THCS-DEMO", "id": "lop-7a-fuzz",
                                                                   "name": "Lớp 7A"})  # fmt: skip
    async with run_hub(settings) as hub:
        password = await add_user(hub, "co-lan", "teacher")
        jar = aiohttp.CookieJar(unsafe=True)  # the hub is on an IP address
        async with aiohttp.ClientSession(cookie_jar=jar) as teacher_http, aiohttp.ClientSession() as tablets_http:
            login = await teacher_http.post(f"{hub.url}/login", data={"username": "co-lan", "password": password},
                                            headers={"Origin": hub.url}, allow_redirects=False)  # fmt: skip
            assert login.status == 302
            classroom = hub.app[LESSONS]
            run = await classroom.launch(LESSON, CLASS, "co-lan")
            tablet = LessonClient(tablets_http, hub.url)
            joined = await tablet.join(run.code, STUDENT)
            yield LessonRoom(hub.url, classroom, teacher_http, tablets_http, joined["token"])


async def _relaunched(room: LessonRoom) -> None:
    """A lesson runs (a fuzzed ``end`` stopped the last one); the tablet has a seat in it."""
    run = room.classroom.run
    if run is None or run.ended:
        run = await room.classroom.launch(LESSON, CLASS, "co-lan")
        room.token = run.join(STUDENT, "fuzz-tablet", proven=True).token or ""
        assert room.token


_probes = itertools.count()


async def _still_answers(socket: Socket, frame: str | bytes, good: dict[str, Any], answers_good: Any) -> None:
    """Send ``frame``, then ``good`` and a probe: the answer to ``good`` comes before the probe's."""
    await socket.send(frame)
    await socket.send(good)
    probe = f"probe-{next(_probes)}"
    await socket.send({"t": probe})
    seen = await socket.until(lambda m: m.get("t") == "error" and m.get("ref") == probe)
    assert seen[-1].get("t") != "closed", f"the hub closed the connection: {seen[-1]}"
    assert any(answers_good(m) for m in seen[:-1]), f"no answer to {good}: {seen}"


def _frame(raw: bytes, as_text: bool, token: str, run_id: str) -> str | bytes:
    raw = raw.replace(b"$TOKEN", token.encode()).replace(b"$RUN", run_id.encode())
    return raw.decode("utf-8", "replace") if as_text else raw


async def _after_oversize(socket: Socket, frame: str | bytes) -> None:
    """Above 256 KiB aiohttp closes the connection (1009, documented); a new one works."""
    await socket.send(frame)
    seen = await socket.until(lambda m: False)
    assert seen[-1]["t"] == "closed" and seen[-1]["code"] == 1009, seen
    await socket.open()


@fuzz(ci=200)
@given(raw=FRAMES["student"], as_text=st.booleans(), step=st.integers(0, len(STEPS) // 2))
@counted("WebSocket messages through the hub (tablet)")
async def test_a_tablet_gets_an_answer_to_any_frame_and_then_to_a_good_one(
    lesson_room: LessonRoom, raw: bytes, as_text: bool, step: int
) -> None:
    room = lesson_room
    await _relaunched(room)
    run = room.classroom.run
    assert run is not None
    with contextlib.suppress(LessonError):  # the teacher shows a step and opens its question
        run.goto(min(step, len(run.steps) - 1))
        run.question("start")
    socket = Socket(room.tablets_http, room.url, "student")
    await socket.open()
    try:
        await socket.send({"t": "hello", "token": room.token})
        await socket.until(lambda m: m["t"] == "welcome")
        frame = _frame(raw, as_text, room.token, run.id)
        if len(raw) > MAX_MESSAGE:
            await _after_oversize(socket, frame)
            await socket.send({"t": "hello", "token": room.token})
            await socket.until(lambda m: m["t"] == "welcome")
        rev = run.state.rev

        def caught_up(m: dict[str, Any]) -> bool:
            return m["t"] == "welcome" or (m["t"] == "delta" and m.get("since") == rev)

        await _still_answers(socket, frame if len(raw) <= MAX_MESSAGE else "{}", {"t": "resume", "rev": rev}, caught_up)
    finally:
        await socket.close()


@fuzz(ci=200)
@given(raw=FRAMES["teacher"], as_text=st.booleans())
@counted("WebSocket messages through the hub (teacher)")
async def test_the_teacher_page_gets_an_answer_to_any_frame_and_then_to_a_good_one(
    lesson_room: LessonRoom, raw: bytes, as_text: bool
) -> None:
    room = lesson_room
    await _relaunched(room)
    socket = Socket(room.teacher_http, room.url, "teacher")
    await socket.open()
    try:
        await socket.until(lambda m: m["t"] == "welcome")
        run = room.classroom.run
        assert run is not None
        frame = _frame(raw, as_text, room.token, run.id)
        if len(raw) > MAX_MESSAGE:
            await _after_oversize(socket, frame)
            frame = "{}"
        await socket.send(frame)
        # Whatever the frame did (ended the lesson, launched another), locking answers in order.
        probe = f"probe-{next(_probes)}"
        await socket.send({"t": probe})
        await socket.until(lambda m: m.get("t") == "error" and m.get("ref") == probe)
        run = room.classroom.run
        if run is None or run.ended:
            expected: Any = lambda m: m["t"] == "error" and m["code"] in ("no_lesson", "ended")  # noqa: E731
            on = True
        else:
            on = not run.locked
            expected = lambda m: m["t"] == "delta" and m["set"].get("locked") is on  # noqa: E731
        await _still_answers(socket, "{}", {"t": "lock", "on": on}, expected)
    finally:
        await socket.close()
