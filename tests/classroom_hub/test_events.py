"""The one listener list: every listener hears each event, a broken one is logged and counted, never fatal."""

from __future__ import annotations

import logging
from pathlib import Path

import aiohttp
import pytest

from classroom_hub.app import REGISTRY
from classroom_hub.errors import SWALLOWED, contained
from classroom_hub.events import Listeners
from classroom_hub.registry import DeviceChange
from tests.classroom_hub.test_metrics import parse, value
from tests.conftest import room_settings, run_hub


def test_listeners_hear_events_in_order_until_removed() -> None:
    heard: list[str] = []
    listeners: Listeners[[str, int]] = Listeners("test_listener_failed")
    remove_first = listeners.add(lambda kind, n: heard.append(f"first {kind} {n}"))
    listeners.add(lambda kind, n: heard.append(f"second {kind} {n}"))
    listeners.emit("beat", 1)
    remove_first()
    remove_first()  # twice is harmless
    listeners.emit("beat", 2)
    assert heard == ["first beat 1", "second beat 1", "second beat 2"]
    assert len(listeners) == 1


def test_a_listener_may_remove_itself_while_it_is_called() -> None:
    heard: list[int] = []
    listeners: Listeners[[int]] = Listeners("test_listener_failed")

    def once(n: int) -> None:
        heard.append(n)
        remove()

    remove = listeners.add(once)
    listeners.add(lambda n: heard.append(n * 10))
    listeners.emit(1)
    listeners.emit(2)
    assert heard == [1, 10, 20]


def test_a_broken_listener_is_logged_and_counted_and_the_others_still_hear(caplog: pytest.LogCaptureFixture) -> None:
    heard: list[int] = []
    listeners: Listeners[[int]] = Listeners("test_broken_listener")

    def broken(n: int) -> None:
        raise ValueError(f"bug with {n}")

    listeners.add(broken)
    listeners.add(heard.append)
    before = SWALLOWED["test_broken_listener"]
    listeners.emit(7)
    assert heard == [7]
    assert SWALLOWED["test_broken_listener"] == before + 1
    (record,) = [r for r in caplog.records if "event=test_broken_listener" in r.getMessage()]
    assert "listener=test_a_broken_listener_is_logged_and_counted_and_the_others_still_hear.<locals>.broken" in (
        record.getMessage()
    )
    assert record.levelno == logging.ERROR and record.exc_info is not None and "bug with 7" in caplog.text


def test_contained_work_is_logged_and_counted() -> None:
    before = SWALLOWED["test_contained"]
    with contained("test_contained", device="H01"):
        raise OSError("disk full")
    assert SWALLOWED["test_contained"] == before + 1


async def test_metrics_count_what_the_hub_absorbed(tmp_path: Path, system_mosquitto_url: str) -> None:
    async with run_hub(room_settings(tmp_path, system_mosquitto_url)) as hub:
        registry = hub.app[REGISTRY]

        def broken(change: DeviceChange) -> None:
            raise RuntimeError(f"listener bug on {change.device_id}")

        remove = registry.on_change(broken)
        before = SWALLOWED["device_listener_failed"]
        registry.seen("T01")  # unknown -> online: every listener hears it
        registry.seen("T02")
        remove()
        assert registry.get("T01").state == "online" and registry.get("T02").state == "online"
        async with aiohttp.ClientSession() as client, client.get(f"{hub.url}/metrics") as response:
            types, samples = parse(await response.text())
    assert types["classroom_hub_swallowed_errors_total"] == "counter"
    assert value(samples, "swallowed_errors_total", event="device_listener_failed") == before + 2
