"""Robots through the hub: four robot firmware processes on ptys, listed with battery and firmware;
the emergency stop reaches every one from the lab API and from the CLI; a program uploads in
CRC-checked chunks and resumes after an interruption; a mission ends as an xAPI statement."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from classroom_hub.app import COMMANDS, SETTINGS, STORE
from classroom_hub.errors import CommandFailed
from firmware_bridge.keys import KITS
from stem_labs.errors import UploadFailed
from stem_labs.upload import program_crc, upload_program
from tests.conftest import eventually, wait_for

pytestmark = pytest.mark.mosquitto
ROBOTS = [f"robot-{n}" for n in range(1, 5)]
CLI = Path(sys.executable).with_name("classroom-hub")


def moving(room, robot_id: str) -> bool:
    values = room.lab.robots.views[robot_id].values
    return values.get("motor_l", 0) != 0 and values.get("estop") == 0


def stopped(room, robot_id: str) -> bool:
    values = room.lab.robots.views[robot_id].values
    return values.get("motor_l") == 0 and values.get("motor_r") == 0 and values.get("estop") == 1


async def drive_all(room) -> None:
    commands = room.hub.app[COMMANDS]
    await asyncio.gather(*(commands.send(r, "reset", timeout=3) for r in ROBOTS))
    await asyncio.gather(*(commands.send(r, "drive", {"left": 60, "right": 55}, timeout=3) for r in ROBOTS))
    await wait_for(lambda: all(moving(room, r) for r in ROBOTS), timeout=3)


def room_file(room, path: Path) -> Path:
    settings = room.hub.app[SETTINGS]
    robots = "\n".join(f'[[devices]]\nkind = "robot"\nid = "{r}"\ntransport = {{ type = "serial", port = '
                       f'"{room.tmp}/ttyROBOT{r[-1]}" }}\n' for r in ROBOTS)  # fmt: skip
    path.write_text(
        f'[room]\nschool_code = "{settings.room.school_code}"\nid = "{settings.room.id}"\nname = "Lab"\n\n'
        f'[mqtt]\nurl = "{settings.mqtt.url}"\n\n{robots}',
        encoding="utf-8",
    )
    return path


async def test_emergency_stop_reaches_every_robot_from_the_page_api_and_the_cli(lab_room) -> None:
    async with await lab_room(robots=4, robot_args=("--telemetry-ms", "50")) as room:
        await room.online(*ROBOTS)
        teacher = await room.login("teacher")
        await wait_for(lambda: all(r["battery"] is not None for r in room.lab.robots.listing()), timeout=3)
        async with teacher.get("/api/lab/robots") as response:
            listed = (await response.json())["robots"]
        assert [r["id"] for r in listed] == ROBOTS
        assert all(r["state"] == "online" and r["firmware"] == "1.0.0-host" and 0 < r["battery"] <= 100
                   for r in listed)  # fmt: skip

        await drive_all(room)
        async with teacher.post("/api/lab/estop") as response:
            assert response.status == 200
            body = await response.json()
        assert body["all_stopped"] is True and [r["robot_id"] for r in body["results"]] == ROBOTS
        await wait_for(lambda: all(stopped(room, r) for r in ROBOTS), timeout=2)
        with pytest.raises(CommandFailed, match="emergency stop engaged"):  # latched until reset
            await room.hub.app[COMMANDS].send("robot-2", "drive", {"left": 10, "right": 10}, timeout=3)

        await drive_all(room)
        process = await asyncio.create_subprocess_exec(
            str(CLI), "estop", "-c", str(room_file(room, room.tmp / "lab.toml")),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(process.communicate(), 20)
        assert process.returncode == 0, err.decode()
        lines = out.decode().splitlines()
        assert [line.split()[0] for line in lines] == ROBOTS and all("STOPPED" in line for line in lines)
        await wait_for(lambda: all(stopped(room, r) for r in ROBOTS), timeout=2)


async def test_upload_is_chunked_crc_checked_and_resumes_and_a_mission_is_recorded(lab_room) -> None:
    async with await lab_room(robots=1) as room:
        await room.online("robot-1")
        teacher = await room.login("teacher", "thay.nam")
        program = ";".join(f"{'FLRB'[i % 4]}40:060" for i in range(15)) + ";S"  # 16 steps, 121 bytes
        assert len(program) == 121
        commands = room.hub.app[COMMANDS]
        board = room.robots[0]

        # The robot hangs after the first 32-byte chunk, with the second one on the wire: the hub gives
        # up. (When the robot wakes up it reads that second chunk: it then has 64 bytes.)
        async def send(name: str, args: dict) -> dict:
            if name == "upload_chunk" and args["offset"] > 0:
                board.freeze()
            reply = await commands.send("robot-1", name, args, timeout=1.5)
            return dict(reply.result or {})

        with pytest.raises(UploadFailed):
            await upload_program(send, 2, program, chunk=32, attempts=1)
        supervisor = room.hub.app[KITS].kits["robot-1"]
        await wait_for(lambda: supervisor.state == "offline", timeout=3)  # the hub has given the robot up
        board.thaw()
        await wait_for(lambda: supervisor.connections == 2 and supervisor.state == "online", timeout=5)  # reconnected

        async with teacher.post("/api/lab/robots/robot-1/program", json={"slot": 2, "program": program}) as response:
            assert response.status == 200, await response.text()
            result = await response.json()
        assert result == {"slot": 2, "size": 121, "crc": program_crc(program.encode()), "steps": 16, "chunks": 1,
                          "resumed_from": 64}  # fmt: skip

        # A corrupted upload is refused by the robot's CRC-32 and never stored.
        await commands.send("robot-1", "upload_begin", {"slot": 3, "size": 4, "crc": 12345}, timeout=3)
        await commands.send("robot-1", "upload_chunk", {"offset": 0, "data": "W10;"}, timeout=3)
        with pytest.raises(CommandFailed, match="crc mismatch"):
            await commands.send("robot-1", "upload_end", {}, timeout=3)
        with pytest.raises(CommandFailed, match="slot is empty"):
            await commands.send("robot-1", "run", {"slot": 3}, timeout=3)

        async with teacher.post("/api/lab/robots/robot-1/run", json={"slot": 2, "name": "Đi hình vuông"}) as response:
            assert response.status == 201
            mission = await response.json()
        await wait_for(lambda: room.lab.robots.views["robot-1"].values.get("slot") == 2, timeout=2)
        await wait_for(lambda: "robot-1" not in room.lab.robots.missions, timeout=4)  # program_done
        store = room.hub.app[STORE]
        statements: list[dict[str, Any]] = []

        async def stored() -> bool:  # the statement is stored by a task of its own
            await store.flush()
            statements[:] = [json.loads(row[3]) for row in await store.read_after("statements", 0, 100)]
            return any(s["context"]["registration"] == mission["id"] for s in statements)

        await eventually(stored)
        done = next(s for s in statements if s["context"]["registration"] == mission["id"])
        assert done["result"]["success"] is True and done["actor"]["account"]["name"] == "thay.nam"
        assert done["object"]["definition"]["name"] == {"vi": "Đi hình vuông"}
        assert done["result"]["duration"].startswith("PT0.") or done["result"]["duration"].startswith("PT1")
        console = [line for _, line in room.lab.robots.views["robot-1"].console]
        assert any(line.startswith("[program_done]") for line in console)
