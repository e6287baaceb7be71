"""/healthz reports each part's real state: a part whose background work died is down, and says so."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from classroom_hub.app import HEALTH, REGISTRY
from classroom_hub.errors import SWALLOWED
from classroom_hub.lessons.keys import LESSONS
from tests.conftest import room_settings, run_hub, wait_for


async def test_a_part_whose_background_task_died_is_down(
    tmp_path: Path, system_mosquitto_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    before = SWALLOWED["device_timeouts_failed"]
    async with run_hub(room_settings(tmp_path, system_mosquitto_url)) as hub, aiohttp.ClientSession() as http:
        health = hub.app[HEALTH]
        assert all(state == "up" for state in health.report()[1].values())

        def broken(*_args: Any) -> Any:
            raise RuntimeError("a bug in the part")

        hub.app[REGISTRY].expire = broken  # type: ignore[method-assign]  # the device-timeout task raises
        hub.app[LESSONS].links.silent_since = broken  # the lesson heartbeat raises
        await wait_for(lambda: health.report()[1]["registry"] == "down")
        await wait_for(lambda: health.report()[1]["lessons"] == "down")

        # Each crash is logged with its traceback and counted when it happens, not at shutdown (the
        # log line comes from the task's done callback, a turn of the event loop after it ended).
        def crashes() -> list[logging.LogRecord]:
            return [r for r in caplog.records if "event=device_timeouts_failed" in r.getMessage()
                    or "event=lesson_task_failed task=lesson-heartbeat" in r.getMessage()]  # fmt: skip

        await wait_for(lambda: len(crashes()) == 2)
        assert all(r.exc_info is not None for r in crashes())
        assert SWALLOWED["device_timeouts_failed"] == before + 1
        async with http.get(f"{hub.url}/healthz") as r:
            assert r.status == 503
            parts = (await r.json())["parts"]
    assert parts["registry"] == parts["lessons"] == "down"
    assert parts["bus"] == parts["store"] == "up"


async def test_the_embedded_broker_is_up_while_it_runs(tmp_path: Path) -> None:
    async with run_hub(room_settings(tmp_path, None)) as hub, aiohttp.ClientSession() as http, \
            http.get(f"{hub.url}/healthz") as r:  # fmt: skip
        parts = (await r.json())["parts"]
    assert parts["broker"] == "up" and parts["bus"] == "up"
