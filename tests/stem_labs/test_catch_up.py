"""A kit's readings that waited on the broker while the hub was away: the hub catches up in
bursts of hundreds of reports a pass and the lab judges them as it would have one by one."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path

import pytest

from classroom_hub.app import STORE
from classroom_hub.bus.link import MqttLink
from classroom_hub.bus.topics import device_topic
from stem_labs.keys import LAB
from tests.conftest import Mosquitto, room_settings, run_hub, wait_for

T0 = 1_800_000_000.0


def ph_at(second: int) -> float:
    if 100 <= second < 180:
        return 5.2  # 80 s below the 5.5 alarm limit: longer than its 60 s delay
    if 300 <= second < 310:
        return 4.9  # 10 s below it: shorter than the delay, no alarm
    return 6.5


@pytest.mark.mosquitto
async def test_a_breach_inside_a_burst_raises_its_alarm_and_a_short_dip_does_not(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    settings = room_settings(tmp_path, mosquitto.url)
    room = settings.room.id
    async with run_hub(settings):
        pass  # the hub's persistent session now exists on the broker
    node = MqttLink(mosquitto.url, client_id="node-1", manual_ack=False)
    task = asyncio.create_task(node.run())
    await node.wait_up(5)
    topic = device_topic(room, "node-1", "telemetry")
    for second in range(400):  # a report a second for 400 s, while the hub is away
        node.publish(topic, json.dumps({"ts": T0 + second, "readings": [{"key": "ph", "value": ph_at(second)}]}))
        if second % 50 == 0:
            await asyncio.sleep(0.005)
    node.publish(topic, json.dumps({"ts": T0 + 400, "readings": [{"key": "ph", "value": 6.6}]}))
    await wait_for(lambda: node.unconfirmed == 0, timeout=10)
    await node.close()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task

    async with run_hub(settings) as hub:
        await wait_for(lambda: hub.app[STORE].stats.readings == 401, timeout=20)
        lab = hub.app[LAB]
        await asyncio.sleep(0.1)  # the pass that stored the last ones has been judged
        history = await lab.book.alarm_history()
        ph_low = [a for a in history if a.kind == "ph_low"]
        by_severity = {a.severity: a for a in ph_low}
        assert set(by_severity) == {"warning", "alarm"}, [a.as_dict() for a in ph_low]  # once each: not the dip
        alarm = by_severity["alarm"]
        assert alarm.detail == "ph below 5.5 (5.2)"  # the 80 s breach; the 10 s dip to 4.9 raised nothing
        assert alarm.cleared_at is not None  # the pH came back within the burst
        assert not lab.alarms.is_active("node-1", "ph_low")
        assert lab.alarms.is_active("node-1", "ph_change")  # a swing of 1.7 within 12 h (the 4.9 dip counts)
        # The kit shows its last report.
        assert lab.kit("node-1").value("ph") == pytest.approx(6.6)
