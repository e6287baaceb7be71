"""Safety rules on the hub with nobody logged in: pump interlock, forced aeration, feeder limit,
unconfirmed actuator commands alarmed - through the firmware node on a pty and real MQTT."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from classroom_hub.app import COMMANDS
from stem_labs.safety import RESEND_AFTER_S
from tests.conftest import wait_for

pytestmark = pytest.mark.mosquitto


async def test_pump_interlock_stops_the_pump_on_low_water_and_restores_it(lab_room) -> None:
    async with await lab_room() as room:
        await room.online("vina-1")
        kit = room.lab.kits["vina-1"]
        # The pump runs (switched on as the teacher would, through the hub's command path).
        await room.hub.app[COMMANDS].send("vina-1", "set", {"pump": True}, timeout=3)
        await wait_for(lambda: kit.outputs.get("pump") is True, timeout=3)

        # Nobody is logged in. The tank runs low: the hub switches the pump off by itself.
        room.node.pin("level", 15.0)
        await wait_for(lambda: room.lab.safety.state("vina-1")["pump_interlock"], timeout=3)
        await room.kit_value("level", lambda v: v < 16)
        await wait_for(lambda: kit.outputs.get("pump") is False, timeout=3)
        pump_commands = room.lab.safety.commands_sent["pump"]

        # A person asking for the pump now is refused, with the reason.
        session = await room.login("teacher")
        async with session.post("/api/lab/kits/vina-1/outputs", json={"output": "pump", "on": True}) as response:
            assert response.status == 409
            body = await response.json()
        assert body["error"] == "safety_rule" and "tank is low" in body["detail"]

        # Someone switches it on behind the hub's back (the board's own menu, another tool): off
        # again, at the latest RESEND_AFTER_S after the hub's last pump command. Only pump commands
        # count: in the daytime the grow-light schedule sends commands of its own.
        # The hub sees the pump on in the kit's next report and switches it off again, at the
        # latest RESEND_AFTER_S after its own last command to the pump (other commands, such
        # as the grow-light schedule's in the daytime, do not count).
        await room.hub.app[COMMANDS].send("vina-1", "set", {"pump": True}, timeout=3)
        await wait_for(lambda: room.lab.safety.commands_sent["pump"] > pump_commands, timeout=RESEND_AFTER_S + 3)
        await wait_for(lambda: kit.outputs.get("pump") is False, timeout=3)

        # Refilled: above the 25 % release level the pump runs again, as it did before.
        room.node.pin("level", 22.0)  # inside the hysteresis: still interlocked
        await room.kit_value("level", lambda v: 21 < v < 23)
        assert room.lab.safety.state("vina-1")["pump_interlock"]
        room.node.pin("level", 60.0)
        await wait_for(lambda: not room.lab.safety.state("vina-1")["pump_interlock"], timeout=3)
        await wait_for(lambda: kit.outputs.get("pump") is True, timeout=3)
        assert not room.lab.alarms.is_active("vina-1", "actuator_pump")


async def test_low_oxygen_forces_the_aerator_on_and_refuses_switching_it_off(lab_room) -> None:
    async with await lab_room() as room:
        await room.online("vina-1")
        kit = room.lab.kits["vina-1"]
        await wait_for(lambda: kit.outputs.get("aerator") is False, timeout=3)
        room.node.pin("do", 3.2)
        await wait_for(lambda: kit.outputs.get("aerator") is True, timeout=3)
        session = await room.login("lab_lead")
        async with session.post("/api/lab/kits/vina-1/outputs", json={"output": "aerator", "on": False}) as response:
            assert response.status == 409
        room.node.pin("do", 7.5)
        await wait_for(lambda: not room.lab.safety.state("vina-1")["aerator_forced"], timeout=3)
        async with session.post("/api/lab/kits/vina-1/outputs", json={"output": "aerator", "on": False}) as response:
            assert response.status == 200, await response.text()
        await wait_for(lambda: kit.outputs.get("aerator") is False, timeout=3)


async def test_feeder_limit_per_day_and_an_unconfirmed_command_is_alarmed(lab_room) -> None:
    async with await lab_room() as room:
        await room.online("vina-1")
        session = await room.login("lab_lead")
        wrong = {"low_level_pct": 30, "level_ok_pct": 25}  # no gap to come back through
        async with session.put("/api/lab/kits/vina-1/settings", json={"limits": {}, "rules": wrong}) as response:
            assert response.status == 400 and "hysteresis" in (await response.json())["detail"]
        rules = {"feeds_per_day": 2, "command_timeout_s": 0.6, "lights_schedule": False}
        async with session.put("/api/lab/kits/vina-1/settings", json={"limits": {}, "rules": rules}) as response:
            assert response.status == 200, await response.text()
        for expected in (1, 2):
            async with session.post("/api/lab/kits/vina-1/feed", json={"portions": 1}) as response:
                assert response.status == 200, await response.text()
                assert (await response.json())["fed_today"] == expected
        async with session.post("/api/lab/kits/vina-1/feed", json={"portions": 1}) as response:
            assert response.status == 409
            assert "at most 2 a day" in (await response.json())["detail"]

        # The board hangs: the hub's command is not confirmed, and that is an alarm, not silence.
        room.node.freeze()
        async with session.post("/api/lab/kits/vina-1/outputs", json={"output": "lights", "on": True}) as response:
            assert response.status == 409
        alarm = next(a for a in room.lab.alarms.active("vina-1") if a.kind == "actuator_lights")
        assert alarm.severity == "alarm" and "not confirmed" in alarm.detail
        room.node.thaw()
        await room.online("vina-1")
        async with session.post("/api/lab/kits/vina-1/outputs", json={"output": "lights", "on": True}) as response:
            assert response.status == 200, await response.text()
        assert not room.lab.alarms.is_active("vina-1", "actuator_lights")


async def test_grow_lights_follow_their_schedule(lab_room) -> None:
    async with await lab_room() as room:
        await room.online("vina-1")
        kit = room.lab.kits["vina-1"]
        now = datetime.now().astimezone()
        at = lambda seconds: (now + timedelta(seconds=seconds)).strftime("%H:%M:%S")  # noqa: E731
        # Lights off now (on at +2 s, off at +1 h): the hub switches them on at +2 s by itself.
        session = await room.login("lab_lead")
        rules = {"lights_schedule": True, "lights_on": at(2), "lights_off": at(3600)}
        async with session.put("/api/lab/kits/vina-1/settings", json={"limits": {}, "rules": rules}) as response:
            assert response.status == 200, await response.text()
        await session.close()
        room.session = None
        await wait_for(lambda: kit.outputs.get("lights") is False, timeout=3)
        await wait_for(lambda: kit.outputs.get("lights") is True, timeout=5)
        assert datetime.now().astimezone() >= (now + timedelta(seconds=2)).replace(microsecond=0)  # not before
