"""The simulated head's mechanics and answers, with a clock the test turns by hand."""

from __future__ import annotations

import pytest

from device_drivers.camera.simulated_head import SimulatedHead
from device_drivers.camera.visca import (
    Direction,
    Memory,
    MemoryAction,
    PanTiltAbsolute,
    PanTiltDrive,
    PanTiltHome,
    Power,
    ZoomDirect,
    ZoomDirection,
    ZoomDrive,
)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def head(clock: Clock) -> SimulatedHead:
    return SimulatedHead(clock=clock)


def drive_for(head: SimulatedHead, clock: Clock, command: PanTiltDrive | ZoomDrive, seconds: float) -> None:
    head.handle(command.encode())
    clock.now += seconds
    stop = PanTiltDrive(Direction.STOP) if isinstance(command, PanTiltDrive) else ZoomDrive(ZoomDirection.STOP)
    head.handle(stop.encode())


def test_commands_are_acknowledged_then_completed_on_alternating_sockets(head: SimulatedHead) -> None:
    assert head.handle(PanTiltHome().encode()) == [bytes.fromhex("90 41 FF"), bytes.fromhex("90 51 FF")]
    assert head.handle(PanTiltHome().encode()) == [bytes.fromhex("90 42 FF"), bytes.fromhex("90 52 FF")]


def test_driving_moves_the_head_further_at_a_higher_speed(head: SimulatedHead, clock: Clock) -> None:
    drive_for(head, clock, PanTiltDrive(Direction.RIGHT, 0x02, 1), 1.0)
    slow_pan, _, _ = head.position()
    head.handle(PanTiltHome().encode())
    drive_for(head, clock, PanTiltDrive(Direction.RIGHT, 0x10, 1), 1.0)
    fast_pan, tilt, _ = head.position()
    assert 0 < slow_pan < fast_pan
    assert fast_pan == 8 * slow_pan
    assert tilt == 0


def test_position_keeps_changing_while_driving_and_holds_after_stop(head: SimulatedHead, clock: Clock) -> None:
    head.handle(PanTiltDrive(Direction.DOWN_LEFT, 0x04, 0x04).encode())
    clock.now += 0.5
    first = head.position()
    clock.now += 0.5
    second = head.position()
    head.handle(PanTiltDrive(Direction.STOP).encode())
    clock.now += 5
    assert second[0] < first[0] < 0 and second[1] < first[1] < 0
    assert head.position() == second


def test_the_head_stops_at_its_mechanical_limits(head: SimulatedHead, clock: Clock) -> None:
    drive_for(head, clock, PanTiltDrive(Direction.UP_RIGHT, 0x18, 0x17), 60)
    drive_for(head, clock, ZoomDrive(ZoomDirection.TELE, 7), 60)
    assert head.position() == (2448, 1296, 0x4000)  # +170 degrees pan, +90 tilt, full tele


def test_zoom_speed_changes_how_fast_zoom_moves(head: SimulatedHead, clock: Clock) -> None:
    drive_for(head, clock, ZoomDrive(ZoomDirection.TELE, 0), 1.0)
    slow = head.position()[2]
    drive_for(head, clock, ZoomDrive(ZoomDirection.TELE, 3), 1.0)
    assert head.position()[2] - slow == 4 * slow
    drive_for(head, clock, ZoomDrive(ZoomDirection.WIDE), 10.0)
    assert head.position()[2] == 0


def test_presets_snap_back_and_an_empty_preset_goes_home_wide(head: SimulatedHead) -> None:
    head.handle(PanTiltAbsolute(-600, 300).encode())
    head.handle(ZoomDirect(0x2000).encode())
    head.handle(Memory(MemoryAction.SET, 4).encode())
    head.handle(PanTiltHome().encode())
    head.handle(Memory(MemoryAction.RECALL, 4).encode())
    assert head.position() == (-600, 300, 0x2000)
    head.handle(Memory(MemoryAction.RESET, 4).encode())
    head.handle(Memory(MemoryAction.RECALL, 4).encode())
    assert head.position() == (0, 0, 0)


def test_view_follows_pan_tilt_and_narrows_with_zoom(head: SimulatedHead) -> None:
    wide = head.view()
    assert (wide.pan_deg, wide.tilt_deg, wide.width_deg) == (0, 0, 60)
    head.handle(PanTiltAbsolute(1440, -144).encode())
    head.handle(ZoomDirect(0x4000).encode())
    tele = head.view()
    assert tele.pan_deg == pytest.approx(100) and tele.tilt_deg == pytest.approx(-10)
    assert tele.width_deg == pytest.approx(5) and tele.height_deg == pytest.approx(5 * 9 / 16)


def test_standby_refuses_motion_but_answers_inquiries(head: SimulatedHead) -> None:
    head.handle(Power(False).encode())
    assert head.handle(PanTiltHome().encode()) == [bytes.fromhex("90 62 41 FF")]  # socket 1 held power-off
    assert head.handle(bytes.fromhex("81 09 04 00 FF")) == [bytes.fromhex("90 50 03 FF")]
    assert head.handle(Power(True).encode()) == [bytes.fromhex("90 42 FF"), bytes.fromhex("90 52 FF")]


def test_bad_bytes_get_the_vendor_error_messages(head: SimulatedHead) -> None:
    assert head.handle(bytes.fromhex("81 01 04 38 FF")) == [bytes.fromhex("90 60 02 FF")]
    assert head.handle(bytes.fromhex("81 01 06 01 19 01 03 01 FF")) == [bytes.fromhex("90 60 02 FF")]
    assert head.handle(bytes(17) + b"\xff") == [bytes.fromhex("90 60 01 FF")]
    assert head.executed == []


def test_commands_for_another_camera_on_the_chain_are_not_answered(head: SimulatedHead) -> None:
    assert head.handle(PanTiltHome().encode(2)) == []
