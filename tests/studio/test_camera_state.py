"""A PTZ camera's state as the studio keeps it (studio/cameras.py): unknown before the hub first
asks, online from the head's answers (a refusal or a stuck command is still an answer), offline
when it does not answer; ``ptz_error`` and the registry's error gone with the next success."""

from __future__ import annotations

import pathlib

import pytest

from classroom_hub.registry import DeviceRecord, DeviceRegistry
from classroom_hub.wired.report import DeviceReport
from device_drivers.camera import PtzCamera, PtzError, PtzRejected, PtzTimeout, Timeouts
from device_drivers.camera.simulated_head import head_with_profile
from device_drivers.camera.simulator import IpCameraSimulator
from studio.api import PtzRequest
from studio.cameras import PtzControl
from tests.studio.conftest import free_udp_port

FAST = Timeouts(ack=0.3, completion=0.5)


async def test_a_stuck_head_stays_online_with_its_error_until_a_command_works_again() -> None:
    registry = DeviceRegistry()
    registry.add(DeviceRecord("cam-1", "camera", transport="udp"))
    head = head_with_profile("acks_never_completes")
    async with IpCameraSimulator(head, port=free_udp_port()) as simulator:  # the same port when plugged back
        report = DeviceReport("cam-1", "camera", registry=registry, link=None, room="r1")
        control = PtzControl("cam-1", PtzCamera.over_ip(*simulator.address, timeouts=FAST), report)
        record = registry.get("cam-1")
        assert record is not None and record.state == "unknown"  # not asked yet

        await control.probe()
        assert (record.state, record.extra, record.last_error) == ("online", {"power": True}, None)

        with pytest.raises(PtzTimeout):
            await control.run(PtzRequest(camera="cam-1", action="home"))
        assert control.last_error == "PanTiltHome: no completion from the camera within 0.5 s"
        assert record.state == "online"  # it acknowledged: there, but stuck
        assert record.last_error == f"not completed: {control.last_error}"

        await control.probe()  # the next exchange works: the error is history
        assert (control.last_error, record.last_error, record.state) == (None, None, "online")

        with pytest.raises(PtzTimeout):
            await control.run(PtzRequest(camera="cam-1", action="home"))
        with pytest.raises(PtzRejected, match="buffer full"):
            await control.run(PtzRequest(camera="cam-1", action="home"))
        assert record.state == "online" and (record.last_error or "").startswith("refused: ")

        await simulator.close()  # the cable is pulled
        with pytest.raises(PtzError):
            await control.probe()
        assert record.state == "offline" and (record.last_error or "").startswith("no connection: ")
        assert control.last_error is not None and report.outages == 1

        head.completes = True  # repaired, and plugged back in
        await simulator.start()
        await control.run(PtzRequest(camera="cam-1", action="power", on=False))
        assert (record.state, record.last_error, record.extra["power"]) == ("online", None, False)
        assert (control.last_error, report.recoveries) == (None, 1)
        await control.close()


async def test_a_synthetic_camera_whose_port_is_taken_starts_on_another(tmp_path: pathlib.Path) -> None:
    """A second studio demo, or any program holding the room file's port: the simulated head is
    only the hub's, so the studio starts it elsewhere and drives it, instead of not starting."""
    import socket

    from studio.live import Studio
    from studio.settings import CameraSpec, StudioRig
    from tests.studio.conftest import ROOM, small_settings

    holder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    holder.bind(("127.0.0.1", 0))
    taken = holder.getsockname()[1]
    camera = CameraSpec("cam-1", "Camera 1", "synthetic", ptz="visca_ip",
                        transport={"type": "udp", "host": "127.0.0.1", "port": taken})  # fmt: skip
    rig = StudioRig(cameras=(camera,), audio_source="tone:440", displays=())
    studio = Studio(small_settings(), rig, tmp_path / "studio", ROOM)
    try:
        await studio.start()
        answer = await studio.ptz(PtzRequest(camera="cam-1", action="home"))
        assert answer.get("error") is None, answer
        assert studio.cameras.ptz("cam-1") is not None
    finally:
        await studio.close()
        holder.close()
