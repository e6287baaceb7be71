"""`python -m device_drivers.display.simulator` as a real subprocess, driven by the real driver."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from device_drivers.display import DisplayDriver, DisplayStatus

REPO = Path(__file__).resolve().parents[3]


async def _simulator(*args: str) -> AsyncIterator[str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "device_drivers.display.simulator",
        *args,
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 20)
        yield line.decode().strip()
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(process.communicate(), 20)
        assert process.returncode == 0, err.decode()


@pytest.fixture
async def tcp_simulator() -> AsyncIterator[str]:
    async for line in _simulator("--protocol", "samsung_mdc", "--profile", "no_all_status", "--tcp", "127.0.0.1:0"):
        yield line


@pytest.fixture
async def pty_simulator() -> AsyncIterator[str]:
    async for line in _simulator("--protocol", "viewsonic", "--pty", "--power-on"):
        yield line


async def test_cli_simulator_on_tcp(tcp_simulator: str) -> None:
    kind, _, address = tcp_simulator.partition(" ")
    host, _, port = address.rpartition(":")
    assert kind == "tcp" and host == "127.0.0.1" and int(port) > 0
    options = {"protocol": "samsung_mdc", "transport": {"type": "tcp", "host": host, "port": int(port)}}
    async with DisplayDriver.from_options("display-86", options) as display:
        await display.power_on()
        await display.set_volume(25)
        assert await display.status() == DisplayStatus(power=True, input="hdmi1", volume=25, mute=False)


async def test_cli_simulator_on_a_pty(pty_simulator: str) -> None:
    kind, _, path = pty_simulator.partition(" ")
    assert kind == "pty" and path.startswith("/dev/")
    options = {"protocol": "viewsonic", "transport": {"type": "serial", "port": path, "baudrate": 9600}}
    async with DisplayDriver.from_options("display-86", options) as display:
        assert (await display.status()).power is True
        await display.set_input("displayport")
        assert (await display.status()).input == "displayport"


async def test_cli_rejects_a_bad_address() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "device_drivers.display.simulator",
        "--tcp",
        "nowhere",
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode == 2
    assert b"'nowhere' is not HOST:PORT" in err
