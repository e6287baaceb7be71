"""A kit's readings that waited on the broker while the hub was away: the hub catches up in
bursts of hundreds of reports a pass and the lab judges them as it would have one by one."""

from __future__ import annotations

from pathlib import Path

import pytest

from classroom_hub.app import STORE
from stem_labs.keys import LAB
from tests.conftest import Mosquitto, publish_while_hub_away, room_settings, run_hub, wait_for

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
    reports = [{"ts": T0 + second, "readings": [{"key": "ph", "value": ph_at(second)}]} for second in range(400)]
    reports.append({"ts": T0 + 400, "readings": [{"key": "ph", "value": 6.6}]})
    await publish_while_hub_away(settings, "node-1", reports)  # a report a second for 400 s

    async with run_hub(settings) as hub:
        await wait_for(lambda: hub.app[STORE].stats.readings == 401, timeout=20)
        lab = hub.app[LAB]
        # The pass that stored the last ones has been judged: the kit shows the last report (6.6 only there).
        await wait_for(lambda: lab.kit("node-1").value("ph") == pytest.approx(6.6))
        history = await lab.alarms.history()
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
