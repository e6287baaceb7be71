"""The hub SIGKILLed ten times while 40 tablets answer: every acknowledged answer is stored exactly once.

The scenario is tests/faults/lessons.py's :func:`answers_under_kills` (bench/faults.py runs it too):
a real ``classroom-hub run`` process, 40 real WebSocket tablets that keep an answer until
``answered`` and send it again (same id) after reconnecting, and the store read after the last
restart. Counting from the store, not from what the hub says.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.lessons import answers_under_kills


@pytest.mark.timeout(300)  # ten restarts of the hub process: about 25 s on an idle 2-core machine
async def test_every_acknowledged_answer_survives_ten_kills_exactly_once(
    tmp_path: Path, system_mosquitto_url: str
) -> None:
    counts = await answers_under_kills(tmp_path, broker_url=system_mosquitto_url, kills=10, tablets=40)
    assert counts["answers"] == 400
    assert counts["acknowledged_before_kill"] >= 10  # each kill came after answers were acknowledged
    assert (counts["lost"], counts["duplicated"]) == (0, 0), counts
