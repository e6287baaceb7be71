"""SIGKILL loops: the hub killed ten times while a sensor sends, the pusher killed ten times
while it delivers; nothing the broker confirmed is lost, nothing reaches the store or the
centre twice (tests/faults/kills.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.kills import sigkill_ingest, sigkill_push


@pytest.mark.timeout(300)
async def test_the_hub_killed_ten_times_while_ingesting_loses_and_doubles_nothing(tmp_path: Path) -> None:
    outcome = await sigkill_ingest(tmp_path, kills=10)
    assert outcome["kills"] == 10
    assert (outcome["lost"], outcome["duplicated"]) == (0, 0), outcome


@pytest.mark.timeout(300)
async def test_the_pusher_killed_ten_times_while_pushing_delivers_each_record_once(tmp_path: Path) -> None:
    outcome = await sigkill_push(tmp_path, kills=10)
    assert outcome["kills"] >= 10, f"the pusher finished before it could be killed ten times: {outcome}"
    assert (outcome["lost"], outcome["duplicated"]) == (0, 0), outcome
