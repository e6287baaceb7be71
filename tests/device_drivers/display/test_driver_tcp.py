"""The display driver against the simulated panel over real TCP sockets, both protocols."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from device_drivers.base import CommandRefused, DriverError, DriverTimeout, InvalidCommand, LinkError, ProtocolError
from device_drivers.display import DisplayDriver, DisplayStatus
from device_drivers.display.link import Link, TcpEndpoint
from device_drivers.display.protocols import AsciiProtocol
from device_drivers.display.simulator import Fault, PanelState, PanelTcpServer, SimulatedPanel
from device_drivers.display.viewsonic import load_table, parse_table
from tests.conftest import wait_for

DisplayFactory = Callable[..., DisplayDriver]

# The first request on the wire for "power on, display 1", per protocol.
POWER_ON_BYTES = {"samsung_mdc": bytes.fromhex("AA 11 01 01 01 14"), "viewsonic": b"801s!001\r"}


async def test_commands_change_the_panel_and_status_reads_it_back(
    tcp_display: DisplayDriver, panel: SimulatedPanel, protocol: str
) -> None:
    assert await tcp_display.status() == DisplayStatus(power=False, input="hdmi1", volume=20, mute=False)

    await tcp_display.power_on()
    await tcp_display.set_input("hdmi2")
    await tcp_display.set_volume(35)
    await tcp_display.set_mute(True)

    assert panel.state == PanelState(power=True, input="hdmi2", volume=35, mute=True)
    assert await tcp_display.status() == DisplayStatus(power=True, input="hdmi2", volume=35, mute=True)
    assert POWER_ON_BYTES[protocol] in panel.received
    health = tcp_display.health()
    assert health.connected and health.commands_ok == 6 and health.commands_failed == 0
    assert health.last_ok is not None and health.reconnects == 0


async def test_commands_by_name_as_the_hub_sends_them(tcp_display: DisplayDriver, panel: SimulatedPanel) -> None:
    assert await tcp_display.execute("power", {"on": True}) == {"power": True}
    assert await tcp_display.execute("volume", {"level": 12}) == {"volume": 12}
    assert await tcp_display.execute("status") == {"power": True, "input": "hdmi1", "volume": 12, "mute": False}
    with pytest.raises(InvalidCommand, match="level: Input should be less than or equal to 100"):
        await tcp_display.execute("volume", {"level": 140})
    with pytest.raises(InvalidCommand, match=r"unknown command 'reboot' .*known: input, mute, power, status, volume"):
        await tcp_display.execute("reboot")
    with pytest.raises(InvalidCommand, match="no input 'scart'"):
        await tcp_display.execute("input", {"source": "scart"})
    assert panel.state.volume == 12
    assert tcp_display.health().commands_failed == 0  # the caller's mistakes are not the display's


async def test_wrong_checksum_or_garbled_reply_is_a_protocol_error_and_the_next_command_works(
    tcp_display: DisplayDriver, panel: SimulatedPanel, protocol: str
) -> None:
    await tcp_display.power_on()
    panel.inject(Fault.CORRUPT)
    problem = "checksum is 0x" if protocol == "samsung_mdc" else "length byte '9'"
    with pytest.raises(ProtocolError, match=problem):
        await tcp_display.set_volume(50)
    health = tcp_display.health()
    assert health.commands_failed == 1 and health.last_error is not None and problem in health.last_error

    await tcp_display.set_volume(51)
    assert panel.state.volume == 51
    assert tcp_display.health().reconnects == 1  # a fresh connection after the bad frame


async def test_refusal_is_command_refused_and_keeps_the_connection(
    tcp_display: DisplayDriver, panel: SimulatedPanel, protocol: str
) -> None:
    await tcp_display.power_on()
    panel.inject(Fault.REFUSE)
    reason = "MDC NAK, error code 0x01" if protocol == "samsung_mdc" else "'-' reply"
    with pytest.raises(CommandRefused, match=reason):
        await tcp_display.set_input("hdmi2")
    assert panel.state.input == "hdmi1"
    await tcp_display.set_input("hdmi2")
    assert panel.state.input == "hdmi2"
    assert tcp_display.health().reconnects == 0


async def test_silence_is_a_timeout_after_the_configured_time(
    tcp_display: DisplayDriver, panel: SimulatedPanel, timeout_s: float
) -> None:
    await tcp_display.power_on()
    panel.inject(Fault.SILENT)
    started = time.monotonic()
    with pytest.raises(DriverTimeout, match=f"no reply within {timeout_s:g} s"):
        await tcp_display.set_mute(True)
    assert timeout_s * 0.9 <= time.monotonic() - started < timeout_s * 3
    await tcp_display.set_mute(True)
    assert panel.state.mute is True


async def test_a_reply_that_comes_after_the_timeout_is_never_taken_for_the_next_one(
    tcp_display: DisplayDriver, panel: SimulatedPanel, timeout_s: float
) -> None:
    panel.late_s = timeout_s * 1.5
    panel.inject(Fault.LATE)
    with pytest.raises(DriverTimeout):
        await tcp_display.set_volume(50)
    await tcp_display.set_mute(True)
    await wait_for(lambda: panel.late_settled == 1)  # the late volume reply came (or its line was closed)
    assert await tcp_display.status() == DisplayStatus(power=False, input="hdmi1", volume=50, mute=True)


async def test_a_command_cancelled_by_its_caller_leaves_no_stale_reply(
    tcp_display: DisplayDriver, panel: SimulatedPanel, timeout_s: float
) -> None:
    panel.late_s = timeout_s / 2
    panel.inject(Fault.LATE)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(tcp_display.set_volume(50), timeout_s / 4)  # e.g. the command expired
    await wait_for(lambda: panel.late_settled == 1)  # its reply comes anyway (or its line was closed)
    await tcp_display.set_mute(True)
    assert await tcp_display.status() == DisplayStatus(power=False, input="hdmi1", volume=50, mute=True)


async def test_a_connection_dropped_once_is_retried_transparently(
    tcp_display: DisplayDriver, panel: SimulatedPanel, protocol: str
) -> None:
    await tcp_display.power_on()
    panel.inject(Fault.DROP)
    await tcp_display.set_volume(44)  # the panel hung up; the same command went again on a new connection
    assert panel.state.volume == 44
    assert tcp_display.health().reconnects == 1
    assert len(panel.received) == 3


async def test_a_connection_that_keeps_dropping_is_a_link_error_and_the_hub_carries_on(
    tcp_display: DisplayDriver, panel: SimulatedPanel
) -> None:
    await tcp_display.power_on()
    panel.inject(Fault.DROP, times=2)
    with pytest.raises(LinkError, match="connection lost"):
        await tcp_display.power_off()
    assert not tcp_display.health().connected
    await tcp_display.power_off()
    assert panel.state.power is False


async def test_simulator_restart_the_driver_reconnects_on_the_next_command(
    tcp_display: DisplayDriver, tcp_server: PanelTcpServer, panel: SimulatedPanel
) -> None:
    await tcp_display.power_on()
    port = tcp_server.port
    await tcp_server.close()

    with pytest.raises(LinkError, match=f"tcp://127.0.0.1:{port}: cannot open"):
        await tcp_display.set_volume(10)
    assert not tcp_display.health().connected

    restarted = PanelTcpServer(panel)
    await restarted.start("127.0.0.1", port)
    try:
        await tcp_display.set_volume(10)
        assert panel.state.volume == 10
        health = tcp_display.health()
        assert health.connected and health.reconnects == 1 and health.commands_failed == 1
    finally:
        await restarted.close()


async def test_start_with_the_display_away_does_not_raise_and_the_first_command_connects(
    make_display: DisplayFactory, panel: SimulatedPanel
) -> None:
    server = PanelTcpServer(panel)
    await server.start()
    port = server.port
    await server.close()  # nothing listens on this port now

    driver = make_display({"type": "tcp", "host": "127.0.0.1", "port": port})
    await driver.start()
    health = driver.health()
    assert not health.connected and health.last_error is not None and "cannot open" in health.last_error

    await server.start("127.0.0.1", port)
    try:
        await driver.power_on()
        assert panel.state.power is True
    finally:
        await server.close()


async def test_a_stopped_driver_refuses_commands(tcp_display: DisplayDriver, panel: SimulatedPanel) -> None:
    async with tcp_display:
        await tcp_display.power_on()
    assert not tcp_display.health().connected
    with pytest.raises(DriverError, match="display-86: driver is stopped"):
        await tcp_display.power_off()
    assert panel.state.power is True


async def test_only_one_request_is_on_the_wire_at_a_time(tcp_display: DisplayDriver, panel: SimulatedPanel) -> None:
    await asyncio.gather(*(tcp_display.set_volume(level) for level in range(10, 20)))
    assert panel.state.volume == 19
    assert tcp_display.health().commands_ok == 10


CLASSBOARD_TOML = """
# A made-up panel family: the same LFD framing, other letters and codes.
name = "classboard"
title = "ClassBoard 86"
source = "test"
tcp_port = 5005
[power]
set = "P"
get = "p"
on = "ONN"
off = "OFF"
[mute]
set = "M"
get = "m"
[volume]
set = "V"
get = "v"
max = 60
[input]
set = "I"
get = "i"
codes = { hdmi1 = "H01", hdmi2 = "H02", ops = "PC1" }
"""


async def test_another_ascii_panel_is_a_new_table_not_new_code(timeout_s: float) -> None:
    table = parse_table(CLASSBOARD_TOML, origin="classboard.toml")
    panel = SimulatedPanel(table, display_id=7)
    protocol = AsciiProtocol(table)
    async with (
        PanelTcpServer(panel) as server,
        Link(TcpEndpoint("127.0.0.1", server.port), protocol.read_frame, timeout=timeout_s) as link,
    ):
        await protocol.set_power(link.exchange, 7, True)
        await protocol.set_input(link.exchange, 7, "ops")
        await protocol.set_volume(link.exchange, 7, 60)
        with pytest.raises(InvalidCommand, match=r"volume 61 is outside 0..60"):
            await protocol.set_volume(link.exchange, 7, 61)
        assert await protocol.status(link.exchange, 7) == DisplayStatus(True, "ops", 60, False)
    assert panel.received[:3] == [b"807sPONN\r", b"807sIPC1\r", b"807sV060\r"]


async def test_a_panel_that_cannot_report_volume_gives_none(timeout_s: float) -> None:
    # The panel's own table lacks the volume read the hub's table uses: it answers '-'.
    hub_table = load_table("viewsonic")
    panel_table = hub_table.model_copy(update={"volume": hub_table.volume.model_copy(update={"get": "F"})})
    panel = SimulatedPanel(panel_table, state=PanelState(power=True, volume=33))
    protocol = AsciiProtocol(hub_table)
    async with (
        PanelTcpServer(panel) as server,
        Link(TcpEndpoint("127.0.0.1", server.port), protocol.read_frame, timeout=timeout_s) as link,
    ):
        assert await protocol.status(link.exchange, 1) == DisplayStatus(True, "hdmi1", None, False)
