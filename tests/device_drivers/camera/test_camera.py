"""The PTZ client driving the simulated camera through a real pty and through real UDP."""

from __future__ import annotations

import pytest

from classroom_hub.clock import FakeClock
from device_drivers.camera import Direction, ErrorCode, PowerState, PtzCamera, PtzRejected, ZoomDirection
from device_drivers.camera.simulated_head import PAN_TILT_RATE_PER_STEP, SimulatedHead
from device_drivers.camera.visca import PanTiltDrive, ZoomDirect

Rig = tuple[PtzCamera, SimulatedHead]  # the client, and the simulated head it talks to


async def test_drive_then_stop_changes_the_position_answer(rig: Rig, clock: FakeClock) -> None:
    camera, _ = rig
    before = await camera.position()
    await camera.drive(Direction.UP_RIGHT, pan_speed=0x18, tilt_speed=0x17)
    await clock.advance(0.2)
    await camera.stop()
    after = await camera.position()
    await clock.advance(0.1)
    assert after.pan > before.pan and after.tilt > before.tilt
    rate = PAN_TILT_RATE_PER_STEP  # per speed step and second: 0.2 s of driving, exactly
    assert (after.pan, after.tilt) == (round(0.2 * 0x18 * rate), round(0.2 * 0x17 * rate))
    assert await camera.position() == after  # stopped means stopped


async def test_drive_left_and_down_goes_the_other_way(rig: Rig, clock: FakeClock) -> None:
    camera, _ = rig
    await camera.drive(Direction.DOWN_LEFT, pan_speed=0x10, tilt_speed=0x10)
    await clock.advance(0.1)
    await camera.stop()
    pan, tilt, zoom = await camera.position()
    assert pan < 0 and tilt < 0 and zoom == 0


async def test_preset_recall_restores_the_stored_position(rig: Rig) -> None:
    camera, _ = rig
    await camera.move_to(-700, 250)
    await camera.zoom_to(0x2400)
    await camera.preset_set(3)
    await camera.home()
    await camera.zoom_to(0)
    assert await camera.position() == (0, 0, 0)
    await camera.preset_recall(3)
    assert await camera.position() == (-700, 250, 0x2400)


async def test_home_returns_pan_and_tilt_to_centre_and_keeps_zoom(rig: Rig, clock: FakeClock) -> None:
    camera, _ = rig
    await camera.zoom_to(0x1000)
    await camera.drive(Direction.RIGHT, pan_speed=0x18)
    await clock.advance(0.1)
    await camera.stop()
    assert (await camera.position()).pan > 0
    await camera.home()
    assert await camera.position() == (0, 0, 0x1000)


async def test_zoom_tele_then_wide_moves_the_lens_both_ways(rig: Rig, clock: FakeClock) -> None:
    camera, _ = rig
    await camera.zoom(ZoomDirection.TELE, 7)
    await clock.advance(0.2)
    await camera.zoom(ZoomDirection.STOP)
    zoomed_in = (await camera.position()).zoom
    await camera.zoom(ZoomDirection.WIDE)
    await clock.advance(0.1)
    await camera.zoom(ZoomDirection.STOP)
    zoomed_out = (await camera.position()).zoom
    assert 0 < zoomed_out < zoomed_in
    await camera.zoom_to(0x3000)
    assert (await camera.position()).zoom == 0x3000


async def test_power_off_then_on(rig: Rig) -> None:
    camera, _ = rig
    assert await camera.power_state() is PowerState.ON
    await camera.power(False)
    assert await camera.power_state() is PowerState.STANDBY
    with pytest.raises(PtzRejected) as refused:
        await camera.drive(Direction.UP)
    assert refused.value.error_code == ErrorCode.NOT_EXECUTABLE
    assert refused.value.meaning == "command not executable"
    await camera.power(True)
    assert await camera.power_state() is PowerState.ON


async def test_invalid_command_is_rejected_with_syntax_error(rig: Rig) -> None:
    camera, _ = rig
    # Sony's command list gives "81 01 04 38 FF" (focus mode lacking its parameter) as a syntax error.
    with pytest.raises(PtzRejected) as rejected:
        await camera.send_raw(bytes.fromhex("81 01 04 38 FF"))
    assert (rejected.value.error_code, rejected.value.meaning, rejected.value.socket) == (0x02, "syntax error", 0)
    assert "syntax error" in str(rejected.value)
    await camera.home()  # the link is still usable afterwards


async def test_each_command_reaches_the_camera_once(rig: Rig) -> None:
    camera, head = rig
    await camera.drive(Direction.LEFT, pan_speed=3, tilt_speed=4)
    await camera.zoom_to(0x0800)
    assert head.executed == [PanTiltDrive(Direction.LEFT, 3, 4), ZoomDirect(0x0800)]
