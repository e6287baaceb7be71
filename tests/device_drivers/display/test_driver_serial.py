"""The display driver against the simulated panel over a real pseudo-terminal (RS-232), both protocols."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from device_drivers.base import DriverTimeout, LinkError, ProtocolError
from device_drivers.display import DisplayDriver, DisplayStatus
from device_drivers.display.simulator import Fault, PanelSerialPort, PanelState, SimulatedPanel

DisplayFactory = Callable[..., DisplayDriver]


async def test_commands_and_status_over_rs232(serial_display: DisplayDriver, panel: SimulatedPanel) -> None:
    await serial_display.power_on()
    await serial_display.set_input("hdmi2")
    await serial_display.set_volume(64)
    await serial_display.set_mute(True)
    assert panel.state == PanelState(power=True, input="hdmi2", volume=64, mute=True)
    assert await serial_display.status() == DisplayStatus(power=True, input="hdmi2", volume=64, mute=True)
    assert serial_display.health().connected


async def test_the_exact_request_bytes_reach_the_port(
    serial_display: DisplayDriver, panel: SimulatedPanel, protocol: str
) -> None:
    await serial_display.power_on()
    expected = bytes.fromhex("AA 11 01 01 01 14") if protocol == "samsung_mdc" else b"801s!001\r"
    assert panel.received == [expected]


async def test_corrupt_reply_and_silence_over_rs232(serial_display: DisplayDriver, panel: SimulatedPanel) -> None:
    panel.inject(Fault.CORRUPT)
    with pytest.raises(ProtocolError):
        await serial_display.power_on()
    panel.inject(Fault.SILENT)
    with pytest.raises(DriverTimeout):
        await serial_display.power_on()
    await serial_display.power_on()  # the port was reopened and flushed: no stale bytes in the way
    assert await serial_display.status() == DisplayStatus(power=True, input="hdmi1", volume=20, mute=False)


async def test_a_vanished_port_is_a_link_error_not_a_crash(
    serial_display: DisplayDriver, serial_port: PanelSerialPort
) -> None:
    await serial_display.power_on()
    serial_port.close()  # the USB-serial adapter is pulled out
    with pytest.raises(LinkError, match=r"serial://"):
        await serial_display.power_off()
    health = serial_display.health()
    assert not health.connected and health.commands_failed == 1


async def test_port_comes_back_under_the_same_name_and_the_driver_reconnects(
    make_display: DisplayFactory, panel: SimulatedPanel, tmp_path: Path
) -> None:
    # Like /dev/serial/by-id/...: a stable name that udev points at whichever tty appears.
    stable = tmp_path / "display-86"
    first = PanelSerialPort(panel)
    os.symlink(first.open(), stable)
    driver = make_display({"type": "serial", "port": str(stable)})
    await driver.start()
    await driver.power_on()

    first.close()
    stable.unlink()
    with pytest.raises(LinkError):
        await driver.set_volume(70)

    async with PanelSerialPort(panel) as second:
        os.symlink(second.path, stable)
        await driver.set_volume(70)
        assert panel.state.volume == 70
        health = driver.health()
        assert health.connected and health.reconnects == 1
        await driver.stop()


async def test_simulator_answers_only_its_own_display_id(
    make_display: DisplayFactory, serial_port: PanelSerialPort, protocol: str
) -> None:
    driver = make_display({"type": "serial", "port": serial_port.path}, display_id=2)
    await driver.start()
    with pytest.raises(DriverTimeout):
        await driver.power_on()
    assert serial_port.panel.state.power is False
