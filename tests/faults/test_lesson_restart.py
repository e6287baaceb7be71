"""A lesson goes on across a SIGKILL of the hub: the same run, step, code, seats, answers, lock,
question deadline and the teacher's tools (countdown, live results, the pick, groups, what was sent).

A real ``classroom-hub run`` process (tests/faults/lessons.py). Before the kill the teacher sends
``resume`` and waits for its answer: docs/protocol.md says what it gets is on disk then.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from tests.faults.lessons import TIMEOUT_S, lesson_room, question_step, wait_all

KEPT = ("step", "code", "class", "locked", "question", "timers", "live_results", "picked", "groups", "sent")


@pytest.mark.timeout(180)  # a restart of the hub process
async def test_a_lesson_goes_on_after_the_hub_is_killed(tmp_path: Path, system_mosquitto_url: str) -> None:
    async with lesson_room(tmp_path, system_mosquitto_url, tablets=6) as room:
        teacher = room.teacher
        assert teacher is not None
        code = await room.launch()
        run_id = teacher.run
        await room.open_question(1)
        step = question_step(1)
        answers = {}
        for tablet, choice in zip(room.tablets[:3], "aba", strict=True):
            answers[tablet] = (await tablet.answer(step, choice=[choice]), choice)
        await wait_all(room.tablets[:3], lambda c: bool(c.answered))
        await room.tablets[3].command("hand", up=True)
        await teacher.wait(lambda c: any(s["id"] == "hs-7a-04" and s["hand"] for s in c.students), TIMEOUT_S)
        for command in (
            {"t": "timer", "action": "start", "seconds": 300},
            {"t": "live_results", "on": True},
            {"t": "pick", "action": "next"},
            {"t": "groups", "action": "random", "size": 2},
            {"t": "send", "kind": "step", "step": 0, "to": ["hs-7a-05"]},
            {"t": "lock", "on": True},
        ):
            await teacher.send(command)
        await teacher.wait(lambda c: c.state.get("locked") is True and c.state.get("sent") is not None, TIMEOUT_S)
        before = {key: teacher.state.get(key) for key in KEPT}
        assert before["timers"] and before["picked"]["student"] and before["groups"] and before["live_results"]
        deltas = sum(1 for f in teacher.frames if '"since"' in f)
        await teacher.command("resume", rev=teacher.rev)  # answered once everything so far is on disk
        await teacher.wait(lambda c: sum(1 for f in c.frames if '"since"' in f) > deltas, TIMEOUT_S)
        rev = teacher.rev

        room.kill()
        await room.restart()

        # The teacher's screen: the same run at the same revision, every key as it was.
        welcome = teacher.welcomes[-1]
        assert (welcome["run"], welcome["rev"], welcome["mode"]) == (run_id, rev, "snapshot")
        assert {key: welcome["state"].get(key) for key in KEPT} == before
        assert welcome["state"]["code"] == code and welcome["state"]["question"]["state"] == "open"
        await teacher.wait(lambda c: sum(s["state"] == "online" for s in c.students) == 6, TIMEOUT_S)
        rows = {s["id"]: s for s in teacher.students}
        assert rows["hs-7a-04"]["hand"] is True
        assert [rows[f"hs-7a-{i:02d}"]["answered"] for i in range(1, 8)] == [True] * 3 + [False] * 4
        assert all(rows[s]["joins"] == 2 for s in room.students)  # each tablet got its own seat back

        # The tablets: the same seat (the token still good), their answers, the lock.
        for tablet, student in zip(room.tablets, room.students, strict=True):
            assert tablet.welcomes[-1]["student"]["id"] == student
            assert tablet.welcomes[-1]["run"] == run_id and tablet.state.get("locked") is True
        for tablet, (_answer_id, choice) in answers.items():
            assert tablet.me["answers"][step] == {"value": [choice]}
        # Locked: no answer is taken; unlocked, the class goes on where it was.
        late = room.tablets[4]
        await late.answer(step, choice=["c"])
        await late.wait(lambda c: any(e["code"] == "locked" for e in c.errors), TIMEOUT_S)
        await teacher.command("lock", on=False)
        await wait_all(room.tablets, lambda c: c.state.get("locked") is False)
        resent_id, choice = answers[room.tablets[0]]
        await room.tablets[0].answer(step, choice=[choice], answer_id=resent_id)  # no ack seen before: same id
        other = secrets.token_urlsafe(12)
        await room.tablets[1].answer(step, choice=["d"], answer_id=other)  # a different answer: refused
        accepted = await late.answer(step, choice=["c"])
        await late.wait(lambda c: accepted in c.answered, TIMEOUT_S)
        await room.tablets[0].wait(lambda c: c.answered[resent_id]["duplicate"] is True, TIMEOUT_S)
        await room.tablets[1].wait(lambda c: any(e["code"] == "already_answered" for e in c.errors), TIMEOUT_S)
        await teacher.wait(lambda c: (c.results or {}).get("answered") == 4, TIMEOUT_S)
