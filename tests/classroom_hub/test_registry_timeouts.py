"""A device that falls silent is marked offline once its own timeout has passed, not before, by the
registry's watch (there is no message for silence); the state history says why."""

from __future__ import annotations

import asyncio

from classroom_hub.clock import FakeClock
from classroom_hub.registry import DeviceChange, DeviceRecord, DeviceRegistry


async def test_a_silent_device_goes_offline_after_its_timeout_and_back_online_when_heard() -> None:
    clock = FakeClock()
    registry = DeviceRegistry(clock=clock)
    registry.add(DeviceRecord("T01", "tablet", timeout_s=30))
    registry.add(DeviceRecord("H01", "headset", timeout_s=90))
    changes: list[DeviceChange] = []
    registry.on_change(changes.append)
    watch = asyncio.create_task(registry.watch_timeouts(interval_s=1.0))
    try:
        registry.seen("T01")
        registry.seen("H01")
        await clock.advance(30)
        assert registry.get("T01").state == "online"  # type: ignore[union-attr]  # silent 30 s: not yet
        await clock.advance(1)
        assert registry.get("T01").state == "offline"  # type: ignore[union-attr]
        assert registry.get("H01").state == "online"  # type: ignore[union-attr]  # its own, longer timeout
        went = changes[-1]
        assert (went.device_id, went.old_state, went.new_state, went.reason) == ("T01", "online", "offline",
                                                                                  "silent for 31 s")  # fmt: skip
        assert went.ts == clock.time()
        registry.seen("T01")
        assert registry.get("T01").state == "online"  # type: ignore[union-attr]
        await clock.advance(60)
        assert registry.get("H01").state == "offline"  # type: ignore[union-attr]
        assert [(c.device_id, c.new_state) for c in changes] == [
            ("T01", "online"), ("H01", "online"), ("T01", "offline"), ("T01", "online"), ("T01", "offline"),
            ("H01", "offline"),
        ]  # fmt: skip
    finally:
        watch.cancel()
        await asyncio.gather(watch, return_exceptions=True)
