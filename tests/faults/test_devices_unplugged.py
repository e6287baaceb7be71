"""Driven devices unplugged and plugged back, twice each: the 86" display (its panel's TCP server
stopped and started), a PTZ camera (its VISCA-over-IP peer gone and back) and a lab kit (the pty
of the host-built firmware closed and a new one opened behind the same path).

Each time the device goes offline with the true reason on the technician's API, its retained
MQTT status and Home Assistant's availability, with one alarm; and comes back everywhere, the
alarm cleared. Each scenario is an importable ``async def (workdir, **opts) -> dict`` (``lost``,
``duplicated``, ``recovery_s``) that bench/faults.py runs too; ``SCENARIOS`` names them.
Options: ``broker_url`` (a private Mosquitto is started without it), ``cycles`` (2).
"""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from classroom_hub.bus.broker import free_port
from config.settings import HubSettings
from device_drivers.display.simulator import PanelState, PanelTcpServer, SimulatedPanel
from firmware_bridge.host_board import HostBoard
from studio.keys import STUDIO
from tests.conftest import room_settings
from tests.faults.devices import broker, unplug_twice, watched_hub

Scenario = Callable[..., Awaitable[dict[str, Any]]]


def _room(workdir: Path, url: str, devices: list[dict[str, Any]], **extra: Any) -> HubSettings:
    return room_settings(workdir, url, devices=devices, **extra)


async def display_unplugged(workdir: Path, **opts: Any) -> dict[str, Any]:
    """The panel answers NAK to the all-status request (asked field by field) and vanishes from the LAN."""
    port = free_port()
    panel = SimulatedPanel("samsung_mdc", 1, PanelState(power=True), profile="no_all_status")
    server = PanelTcpServer(panel)
    async with broker(workdir, opts.get("broker_url")) as url:
        transport = {"type": "tcp", "host": "127.0.0.1", "port": port}
        devices = [{"kind": "display", "id": "display-86", "protocol": "samsung_mdc", "timeout_s": 0.4,
                    "poll_interval_s": 0.2, "transport": transport}]  # fmt: skip
        await server.start("127.0.0.1", port)
        try:
            async with watched_hub(_room(workdir, url, devices)) as hub:
                cycles = opts.get("cycles", 2)
                outcome = await unplug_twice(
                    hub, url, "display-86", server.close, lambda: server.start("127.0.0.1", port),
                    reason=rf"^no connection \(status poll\): tcp://127\.0\.0\.1:{port}: cannot open",
                    cycles=cycles,
                )  # fmt: skip
                async with aiohttp.ClientSession(hub.url) as client, client.get("/metrics") as response:
                    outages = f'classroom_hub_driver_outages_total{{device="display-86"}} {cycles}'
                    assert outages in await response.text()
                return outcome
        finally:
            await server.close()


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def camera_unplugged(workdir: Path, **opts: Any) -> dict[str, Any]:
    """A studio PTZ camera whose VISCA-over-IP socket goes away (its cable pulled) and comes back."""
    async with broker(workdir, opts.get("broker_url")) as url:
        devices = [
            {"kind": "camera", "id": "cam-1", "name": "Camera 1", "source": "synthetic", "ptz": "visca_ip",
             "poll_interval_s": 0.2, "transport": {"type": "udp", "host": "127.0.0.1", "port": _free_udp_port()}},
            {"kind": "audio", "id": "mic-1", "name": "Micro", "source": "tone:440"},
        ]  # fmt: skip
        studio = {"program_size": "320x180", "preview_width": 160, "preview_fps": 2, "min_free_mb": 0,
                  "x264_preset": "ultrafast"}  # fmt: skip
        settings = _room(workdir, url, devices, studio=studio,
                         room={"school_code": "TEST", "id": f"studio-{free_port()}", "name": "Phòng thu",
                               "kind": "studio"})  # fmt: skip
        (settings.data_dir / "studio").mkdir(parents=True, exist_ok=True)
        async with watched_hub(settings) as hub:
            simulator = hub.app[STUDIO].cameras.cameras["cam-1"].simulator
            assert simulator is not None
            return await unplug_twice(
                hub, url, "cam-1", simulator.close, simulator.start,
                reason=r"^no (connection|answer): PowerInquiry: ", cycles=opts.get("cycles", 2),
            )  # fmt: skip


async def kit_unplugged(workdir: Path, **opts: Any) -> dict[str, Any]:
    """A Vinaponics node (the reference firmware, host-built) on a pty behind a stable path, pulled out."""
    cable = workdir / "dev" / "vina-1"  # as /dev/serial/by-id/...: the name stays, the tty behind it changes
    boards: list[HostBoard] = []

    async def plug() -> None:
        board = HostBoard("vinaponics", "vina-1", cable, "--telemetry-ms", "500", "--heartbeat-ms", "100")
        await board.__aenter__()
        boards.append(board)

    async def unplug() -> None:
        await boards.pop().__aexit__(None, None, None)

    async with broker(workdir, opts.get("broker_url")) as url:
        devices = [{"kind": "sensor_node", "id": "vina-1", "sensors": ["ph", "water_temp"],
                    "transport": {"type": "serial", "port": str(cable)}}]  # fmt: skip
        await plug()
        try:
            async with watched_hub(_room(workdir, url, devices)) as hub:
                return await unplug_twice(
                    hub, url, "vina-1", unplug, plug,
                    reason=rf"^serial link lost: {cable}: port closed", cycles=opts.get("cycles", 2),
                )  # fmt: skip
        finally:
            while boards:
                await unplug()


SCENARIOS: dict[str, Scenario] = {
    "display_unplugged": display_unplugged,
    "camera_unplugged": camera_unplugged,
    "kit_unplugged": kit_unplugged,
}


async def scenario(workdir: Path, **opts: Any) -> dict[str, Any]:
    """One of ``SCENARIOS`` by ``opts["device"]`` (display, camera or kit; default display)."""
    device = opts.pop("device", "display")
    return await SCENARIOS[f"{device}_unplugged"](workdir, **opts)


@pytest.mark.parametrize("device", ["display", "camera", "kit"])
async def test_a_device_unplugged_twice_is_reported_offline_and_back_each_time(
    tmp_path: Path, system_mosquitto_url: str, device: str
) -> None:
    outcome = await scenario(tmp_path, device=device, broker_url=system_mosquitto_url)
    assert (outcome["lost"], outcome["duplicated"]) == (0, 0)
    assert len(outcome["recoveries_s"]) == 2
