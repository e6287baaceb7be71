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
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from classroom_hub.bus.link import MqttLink
from classroom_hub.registry import DeviceRegistry
from classroom_hub.rejects import Rejections
from classroom_hub.wired.report import DeviceReport
from config.settings import HubSettings
from device_drivers.camera import (
    Direction,
    PowerState,
    PtzCamera,
    PtzError,
    PtzLinkError,
    PtzRejected,
    PtzTimeout,
    ZoomDirection,
)
from device_drivers.camera.simulated_head import SimulatedHead
from device_drivers.camera.simulator import IpCameraSimulator, SerialCameraSimulator
from studio.api import PtzRequest
from studio.capture import open_source
from studio.capture.sources import FrameSource
from studio.errors import StudioConfigError
from studio.settings import CameraSpec

log = logging.getLogger(__name__)
T = TypeVar("T")
DEFAULT_POLL_S = 10.0


class PtzControl:
    """One PTZ head, opened lazily, one command at a time, reopened after a link failure.

    Every exchange is news of the camera's state: an answer (a refusal included) says it is
    there, silence or a dead link says it is not; ``report`` (when the hub runs the studio)
    tells the registry and the bus. ``last_error`` is the latest exchange's problem, None once
    one succeeds.
    """

    def __init__(self, camera_id: str, camera: PtzCamera, report: DeviceReport | None = None) -> None:
        self.camera_id = camera_id
        self.camera = camera
        self.report = report
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
            result = await self._exchange(lambda: self._do(request))
        self._answered({"power": request.on} if request.action == "power" else None)
        return result

    async def probe(self) -> None:
        """Ask the head whether it is on: its answer, or its silence, is the camera's state."""
        async with self._lock:
            power = await self._exchange(self.camera.power_state)
        self._answered({"power": power is PowerState.ON})

    async def _exchange(self, operation: Callable[[], Awaitable[T]]) -> T:
        try:
            if not self.is_open:
                await self.camera.link.open()
                self.is_open = True
            return await operation()
        except (PtzLinkError, PtzTimeout) as err:
            # Out of step or gone: start clean on the next command.
            self.last_error = str(err)
            if self.is_open:
                await self.camera.link.close()
                self.is_open = False
            if self.report is None:
                raise
            if isinstance(err, PtzTimeout) and err.waiting_for == "completion":
                self.report.answered(error=f"not completed: {err}")  # it ACKed: there, but stuck
            else:
                why = "no answer" if isinstance(err, PtzTimeout) else "no connection"
                self.report.unreachable(f"{why}: {err}")
            raise
        except PtzRejected as err:
            self.last_error = str(err)
            if self.report is not None:
                self.report.answered(error=f"refused: {err}")  # an error reply is an answer: it is there
            raise
        except PtzError as err:
            self.last_error = str(err)
            if self.report is not None:
                self.report.trouble(str(err))
            raise

    def _answered(self, fields: dict[str, Any] | None) -> None:
        self.last_error = None
        if self.report is not None:
            self.report.answered(fields)

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
    watchers: list[asyncio.Task[None]] = field(default_factory=list)  # one per watched camera
    reports: dict[str, DeviceReport] = field(default_factory=dict)

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

    def watch(self, reports: dict[str, DeviceReport], poll_s: dict[str, float]) -> None:
        """Keep each camera's state: a PTZ head is asked its power every ``poll_s``, a camera
        without one is judged by its picture (frames arriving or not)."""
        for camera_id, report in reports.items():
            camera = self.cameras.get(camera_id)
            if camera is None:
                continue
            self.reports[camera_id] = report
            if camera.ptz is not None:
                camera.ptz.report = report
            task = asyncio.create_task(_watch(camera, report, poll_s.get(camera_id, DEFAULT_POLL_S)),
                                       name=f"camera-watch {camera_id}")  # fmt: skip
            self.watchers.append(task)

    async def close(self) -> None:
        for task in self.watchers:
            task.cancel()
        await asyncio.gather(*self.watchers, return_exceptions=True)
        self.watchers.clear()
        for report in self.reports.values():
            report.stopped()
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


def camera_reports(
    hub: HubSettings, registry: DeviceRegistry, link: MqttLink | None, rejections: Rejections | None
) -> tuple[dict[str, DeviceReport], dict[str, float]]:
    """A report (the camera's state in the registry and on the bus) and a poll period per camera."""
    reports: dict[str, DeviceReport] = {}
    poll_s: dict[str, float] = {}
    for device_id, device in hub.device_list():
        if device.kind == "camera":
            reports[device_id] = DeviceReport(device_id, "camera", registry=registry, link=link, room=hub.room.id,
                                              rejections=rejections)  # fmt: skip
            poll_s[device_id] = float(getattr(device, "poll_interval_s", DEFAULT_POLL_S))
    return reports, poll_s


async def _watch(camera: StudioCamera, report: DeviceReport, poll_s: float) -> None:
    while True:
        if camera.ptz is not None:
            try:
                await camera.ptz.probe()
            except PtzError as err:
                log.debug("camera %s: probe failed: %s", camera.spec.device_id, err)  # reported by the probe
        else:
            stats = camera.source.stats
            if stats.stale(time.monotonic(), after_s=max(2.0, poll_s)):
                report.unreachable(f"no picture: {stats.last_error or 'no frame from the source'}")
            else:
                report.answered({"picture": True})
        await asyncio.sleep(poll_s)


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
            try:
                await simulator.start()
            except OSError as err:
                # Only the hub talks to its own simulated head: any free port does (a second
                # studio demo, or a program that holds the port, must not stop the studio).
                log.warning("event=studio_camera_port_taken camera=%s port=%d error=%r using=another_port",
                            spec.device_id, port, str(err))  # fmt: skip
                simulator = IpCameraSimulator(head, host=host, port=0)
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
