"""The driver against panels that behave as the documentation says real ones do, not as our driver
would like (device_drivers/display/profiles.py): a panel that refuses the all-status request, one
that answers only power in standby, a slow one with a small receive buffer, one that misses
requests. Real TCP sockets and pseudo-terminals."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from device_drivers.base import CommandRefused, DriverTimeout
from device_drivers.display import DisplayStatus, mdc
from device_drivers.display.simulator import PanelSerialPort, PanelState, PanelTcpServer, SimulatedPanel
from tests.device_drivers.display.conftest import DisplayFactory


def commands(panel: SimulatedPanel) -> list[str]:
    """The MDC requests the panel received, as ``get 11`` / ``set 11``."""
    return [f"{'get' if len(f) == 5 else 'set'} {f[1]:02X}" for f in panel.received]


@pytest.fixture
async def no_status_panel() -> AsyncIterator[tuple[SimulatedPanel, PanelTcpServer]]:
    panel = SimulatedPanel("samsung_mdc", 1, PanelState(power=True, input="hdmi2", volume=30), "no_all_status")
    async with PanelTcpServer(panel) as server:
        yield panel, server


@pytest.mark.parametrize("protocol", ["samsung_mdc"])
async def test_a_panel_that_refuses_the_all_status_is_asked_field_by_field_and_that_is_remembered(
    make_display: DisplayFactory, no_status_panel: tuple[SimulatedPanel, PanelTcpServer]
) -> None:
    panel, server = no_status_panel
    display = make_display({"type": "tcp", "host": "127.0.0.1", "port": server.port})
    await display.start()
    full = DisplayStatus(power=True, input="hdmi2", volume=30, mute=False)
    assert await display.status() == full
    assert await display.status() == full
    # One refused 0x00, then only the gets the docs list: power, volume, mute, input.
    assert commands(panel) == ["get 00", *["get 11", "get 12", "get 13", "get 14"] * 2]
    assert panel.received[1] == bytes.fromhex("AA 11 01 00 12")  # "get power" of the manual's table

    await display.execute("volume", {"level": 45})
    assert (await display.status()).volume == 45
    assert commands(panel).count("get 00") == 1
    assert display.health().commands_failed == 0  # a refused 0x00 that the fallback answered is no failure


@pytest.mark.parametrize("protocol", ["samsung_mdc", "viewsonic"])
async def test_in_standby_a_panel_answers_only_power_and_the_status_says_what_is_unknown(
    make_display: DisplayFactory, protocol: str
) -> None:
    panel = SimulatedPanel(protocol, 1, PanelState(power=False, volume=20), "standby_power_only")
    async with PanelSerialPort(panel) as port:
        display = make_display({"type": "serial", "port": port.path})
        await display.start()
        assert await display.status() == DisplayStatus(power=False, input=None, volume=None, mute=None)
        with pytest.raises(CommandRefused, match="refused volume 40"):
            await display.set_volume(40)
        assert panel.state.volume == 20
        await display.power_on()
        assert await display.status() == DisplayStatus(power=True, input="hdmi1", volume=20, mute=False)
        await display.set_volume(40)
        assert panel.state.volume == 40


@pytest.mark.parametrize("protocol", ["samsung_mdc", "viewsonic"])
async def test_a_slow_panel_with_a_small_buffer_is_asked_one_request_at_a_time(
    make_display: DisplayFactory, protocol: str
) -> None:
    panel = SimulatedPanel(protocol, 1, PanelState(power=True), "slow_small_buffer")
    async with PanelTcpServer(panel) as server:
        display = make_display({"type": "tcp", "host": "127.0.0.1", "port": server.port}, timeout_s=2.0)
        await display.start()
        await asyncio.gather(display.set_volume(33), display.set_mute(True), display.status())
        assert (panel.state.volume, panel.state.mute) == (33, True)
        assert panel.overrun == 0  # the driver never had two requests on the line

        # What the profile is for: a controller that does not wait for each reply loses requests.
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        requests = [mdc.encode_volume(1, level) for level in (1, 2, 3, 4, 5)] if protocol == "samsung_mdc" else [
            f"801s5{level:03d}\r".encode() for level in (1, 2, 3, 4, 5)]  # fmt: skip
        writer.write(b"".join(requests))
        await writer.drain()
        await reader.read(1)  # the first reply starts: the panel worked on the first request
        writer.close()
        await writer.wait_closed()
        assert panel.overrun > 0


@pytest.mark.parametrize("protocol", ["samsung_mdc"])
async def test_a_panel_that_misses_requests_times_out_on_those_only(make_display: DisplayFactory) -> None:
    panel = SimulatedPanel("samsung_mdc", 1, PanelState(power=True), "forgetful")
    async with PanelTcpServer(panel) as server:
        display = make_display({"type": "tcp", "host": "127.0.0.1", "port": server.port})
        await display.start()
        await display.status()
        await display.status()
        with pytest.raises(DriverTimeout):
            await display.status()  # the third request goes unanswered
        assert (await display.status()).power is True  # on a fresh connection, answered again
