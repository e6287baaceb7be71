"""The studio's cameras as the hub runs them: a picture source and, for PTZ heads, a VISCA control.

A camera whose source is ``synthetic`` is simulated whole: the hub starts a VISCA simulator
(VISCA over IP on the configured 127.0.0.x address and port, or a pseudo-terminal for
``visca_serial``) and renders the picture from the simulated head, then drives it over the same
VISCA path as a real camera. Real cameras are read with OpenCV and driven over their transport.
PTZ links open on first use and again after a failure, so a camera switched on late still works.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from dataclasses import dataclass, field
from typing import Any

from device_drivers.camera import Direction, PtzCamera, PtzError, PtzLinkError, PtzTimeout, ZoomDirection
from device_drivers.camera.simulated_head import SimulatedHead
from device_drivers.camera.simulator import IpCameraSimulator, SerialCameraSimulator
from studio.api import PtzRequest
from studio.capture import open_source
from studio.capture.sources import FrameSource
from studio.errors import StudioConfigError
from studio.settings import CameraSpec

log = logging.getLogger(__name__)


class PtzControl:
    """One PTZ head, opened lazily, one command at a time, reopened after a link failure."""

    def __init__(self, camera_id: str, camera: PtzCamera) -> None:
        self.camera_id = camera_id
        self.camera = camera
        self.is_open = False
        self.last_error: str | None = None
        self._lock = asyncio.Lock()

    async def close(self) -> None:
        async with self._lock:
            if self.is_open:
                await self.camera.link.close()
                self.is_open = False

    async def run(self, request: PtzRequest) -> dict[str, Any]:
        async with self._lock:
            if not self.is_open:
                await self.camera.link.open()
                self.is_open = True
            try:
                return await self._do(request)
            except (PtzLinkError, PtzTimeout) as err:
                # Out of step or gone: start clean on the next command.
                self.last_error = str(err)
                await self.camera.link.close()
                self.is_open = False
                raise
            except PtzError as err:
                self.last_error = str(err)
                raise

    async def _do(self, request: PtzRequest) -> dict[str, Any]:
        camera = self.camera
        match request.action:
            case "drive":
                assert request.direction is not None
                if request.direction is Direction.STOP:
                    await camera.stop()
                else:
                    await camera.drive(request.direction, min(request.speed, 0x18), min(request.speed, 0x17))
            case "stop":
                await camera.stop()
            case "zoom":
                assert request.zoom is not None
                await camera.zoom(request.zoom, None if request.zoom is ZoomDirection.STOP else 3)
            case "home":
                await camera.home()
            case "preset_recall":
                assert request.number is not None
                await camera.preset_recall(request.number)
            case "preset_set":
                assert request.number is not None
                await camera.preset_set(request.number)
            case "power":
                assert request.on is not None
                await camera.power(request.on)
        return {"camera": self.camera_id, "action": request.action, "ok": True}


@dataclass
class StudioCamera:
    spec: CameraSpec
    source: FrameSource
    ptz: PtzControl | None = None
    simulator: IpCameraSimulator | SerialCameraSimulator | None = None
    head: SimulatedHead | None = None

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.spec.device_id,
            "name": self.spec.name,
            "display_capture": self.spec.display_capture,
            "ptz": self.ptz is not None,
            "ptz_error": self.ptz.last_error if self.ptz else None,
            "simulated": self.simulator is not None or self.spec.source.startswith("synthetic"),
            "picture": self.source.describe(),
        }


@dataclass
class StudioCameras:
    cameras: dict[str, StudioCamera] = field(default_factory=dict)

    @classmethod
    async def start(cls, specs: tuple[CameraSpec, ...], size: tuple[int, int], fps: float) -> StudioCameras:
        rig = cls()
        try:
            for spec in specs:
                rig.cameras[spec.device_id] = await _start_camera(spec, size, fps)
        except BaseException:
            await rig.close()
            raise
        return rig

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        for camera in self.cameras.values():
            if camera.ptz is not None:
                await camera.ptz.close()
            if camera.simulator is not None:
                await camera.simulator.close()
            await loop.run_in_executor(None, camera.source.stop)

    def ptz(self, camera_id: str) -> PtzControl | None:
        camera = self.cameras.get(camera_id)
        return camera.ptz if camera is not None else None


async def _start_camera(spec: CameraSpec, size: tuple[int, int], fps: float) -> StudioCamera:
    transport = spec.transport
    if spec.source.startswith("synthetic"):
        head = SimulatedHead(address=spec.visca_address)
        simulator: IpCameraSimulator | SerialCameraSimulator | None = None
        ptz: PtzCamera | None = None
        if spec.ptz == "visca_ip":
            host, port = str(transport.get("host", "")), int(transport.get("port", 0))
            try:
                loopback = ipaddress.ip_address(host).is_loopback
            except ValueError:
                loopback = False
            if not loopback:
                raise StudioConfigError(
                    f"camera {spec.device_id}: a synthetic camera listens on 127.0.0.x, not {host!r}"
                )
            simulator = IpCameraSimulator(head, host=host, port=port)
            await simulator.start()
            ptz = PtzCamera.over_ip(*simulator.address)
        elif spec.ptz == "visca_serial":
            simulator = SerialCameraSimulator(head)
            await simulator.start()
            ptz = PtzCamera.over_serial(simulator.port, address=spec.visca_address)
        source = open_source(spec.name, spec.source, size=size, fps=fps, head=head)
        source.start()
        control = PtzControl(spec.device_id, ptz) if ptz is not None else None
        return StudioCamera(spec, source, control, simulator, head)
    source = open_source(spec.name, spec.source, size=spec.size or size, fps=spec.fps)
    source.start()
    control = None
    if spec.ptz == "visca_ip":
        control = PtzControl(spec.device_id, PtzCamera.over_ip(str(transport["host"]), int(transport["port"])))
    elif spec.ptz == "visca_serial":
        if not transport.get("port"):
            raise StudioConfigError(f"camera {spec.device_id}: visca_serial needs transport.port (e.g. /dev/ttyUSB0)")
        baudrate = int(transport.get("baudrate") or 9600)
        if baudrate == 115200:  # the room file's serial default; VISCA heads run at 9600
            baudrate = 9600
        camera = PtzCamera.over_serial(str(transport["port"]), baudrate=baudrate, address=spec.visca_address)
        control = PtzControl(spec.device_id, camera)
    return StudioCamera(spec, source, control)
