"""``classroom-hub estop -c room.toml``: EMERGENCY STOP of every robot of the room, from a terminal.

It speaks to the robots the way the hub does, over the room's MQTT broker (a robot on USB
serial is on the bus through the running hub's firmware bridge), and prints one line per
robot: confirmed by the robot, or not. The exit status is 0 only if every robot confirmed.
A robot the hub cannot reach stops by itself: its firmware stops the motors when it has not
heard the hub for 1.5 s (docs/serial-protocol.md §7).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import time
from pathlib import Path
from typing import Any

from classroom_hub.bus.commands import Commands
from classroom_hub.bus.link import MqttLink
from classroom_hub.errors import BusError, CommandFailed, CommandTimeout
from classroom_hub.rejects import Rejections
from config.loader import load_settings
from config.settings import HubSettings


def register(sub: Any) -> None:
    estop = sub.add_parser("estop", help="EMERGENCY STOP: stop every robot of the room now")
    estop.add_argument("-c", "--config", required=True, type=Path, help="the room file (TOML)")
    estop.add_argument("--timeout", type=float, default=2.0, help="seconds to wait for each robot's confirmation")
    estop.set_defaults(func=_estop)


def _estop(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    robots = [device_id for device_id, device in settings.device_list() if device.kind == "robot"]
    if not robots:
        print("no robots in this room file", file=sys.stderr)
        return 1
    try:
        results = asyncio.run(estop_robots(settings, robots, args.timeout))
    except BusError as err:
        print(f"EMERGENCY STOP NOT SENT: {err}", file=sys.stderr)
        print("Robots on USB stop by themselves 1.5 s after the hub goes silent; press their red buttons.",
              file=sys.stderr)  # fmt: skip
        return 1
    for robot_id, error in results.items():
        print(f"{robot_id:<16} {'STOPPED' if error is None else 'NOT CONFIRMED: ' + error}")
    return 0 if all(error is None for error in results.values()) else 1


def broker_url(settings: HubSettings) -> str:
    mqtt = settings.mqtt
    if mqtt.url is not None:
        return mqtt.url
    if mqtt.embedded_port:
        return f"mqtt://127.0.0.1:{mqtt.embedded_port}"
    raise BusError("the room runs an embedded broker on a port chosen at start: set mqtt.embedded_port "
                   "in the room file, or use the EMERGENCY STOP button of the lab or teacher page")  # fmt: skip


async def estop_robots(settings: HubSettings, robots: list[str], timeout: float) -> dict[str, str | None]:
    """Send ``estop`` to every robot at once; robot id -> None (confirmed) or what went wrong."""
    mqtt = settings.mqtt
    link = MqttLink(
        broker_url(settings),
        client_id=f"estop-{settings.room.school_code}-{settings.room.id}-{os.getpid()}-{time.monotonic_ns() % 10**6}",
        username=mqtt.username,
        password=mqtt.password.get_secret_value() if mqtt.password else None,
        ca_file=str(mqtt.ca_file) if mqtt.ca_file else None,
        cert_file=str(mqtt.cert_file) if mqtt.cert_file else None,
        key_file=str(mqtt.key_file) if mqtt.key_file else None,
        reconnect_min_s=0.2,
        reconnect_max_s=1.0,
        clean_session=True,
        manual_ack=False,
    )
    task = asyncio.create_task(link.run(), name="estop-mqtt")
    commands = Commands(link, settings.room.id, Rejections())
    try:
        await link.wait_up(timeout=max(timeout, 3.0))

        async def one(robot_id: str) -> str | None:
            try:
                await commands.send(robot_id, "estop", {}, timeout=timeout)
            except CommandFailed as err:
                return err.error
            except CommandTimeout:
                return f"no reply within {timeout:g} s (robot off, unplugged, or the hub is not running)"
            return None

        answers = await asyncio.gather(*(one(r) for r in robots))
        return dict(zip(robots, answers, strict=True))
    finally:
        commands.close()
        await link.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
