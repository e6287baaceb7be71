"""An AR device's agent: a headset's, with its own kind and version, that also shows a lesson's
3D model (``open_model``/``close_model``, docs/devices.md "Commands of an AR device").

``open_model`` downloads the model over HTTP from the address it is given, checks that it is
a glTF (``.glb``: starts with the ``glTF`` magic; ``.gltf``: a JSON object with
``asset.version``), then shows it and reports it in its status (``showing_model``); a model it
cannot fetch or read is refused with the reason, and what it showed before stays.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
from pydantic import ValidationError

from classroom_hub.bus.payloads import Command
from device_drivers.ar_device.commands import OpenModel
from device_drivers.headset.simulator import SimulatedHeadset
from device_drivers.mqtt_device.simulator import CommandRejected, agent_simulator

MODEL_TIMEOUT_S = 30.0
MAX_MODEL_BYTES = 200 << 20  # bigger than any model an AR device could show
GLB_MAGIC = b"glTF"


def check_gltf(data: bytes) -> None:
    """Raise ``ValueError`` saying why ``data`` is not a glTF model (binary ``.glb`` or JSON ``.gltf``)."""
    if data[:4] == GLB_MAGIC:
        return
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, ValueError):
        raise ValueError("not a glTF model: neither the 'glTF' magic of a .glb nor JSON") from None
    asset = document.get("asset") if isinstance(document, dict) else None
    if not isinstance(asset, dict) or not isinstance(asset.get("version"), str):
        raise ValueError("not a glTF model: the JSON has no asset.version")


class SimulatedArDevice(SimulatedHeadset):
    kind = "ar_device"
    firmware = "ar-agent 1.2.0"

    def __init__(self, *args: Any, max_model_bytes: int = MAX_MODEL_BYTES, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_model_bytes = max_model_bytes  # what its memory can show (a small AR viewer: less)
        self.showing_model: dict[str, Any] | None = None  # {"url", "title", "bytes"} of the model shown
        self.models: list[str] = []  # the address of every model downloaded

    def status_fields(self) -> dict[str, Any]:
        shown = self.showing_model
        fields = super().status_fields()
        fields["showing_model"] = {"url": shown["url"], "title": shown["title"]} if shown else None
        if shown:
            fields["app"] = "model-viewer"
        return fields

    async def handle(self, command: Command) -> dict[str, Any]:
        if command.name == "open_model":
            return await self._open_model(command.args)
        if command.name == "close_model":
            self.showing_model = None
            self._announce()
            return {"showing_model": None}
        if command.name == "home":
            self.showing_model = None
        return await super().handle(command)

    async def _open_model(self, args: dict[str, Any]) -> dict[str, Any]:
        try:
            wanted = OpenModel.model_validate(args)
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "args"
            raise CommandRejected(f"open_model: {where}: {first['msg']}") from None
        timeout = aiohttp.ClientTimeout(total=MODEL_TIMEOUT_S)
        try:
            async with aiohttp.ClientSession(timeout=timeout) as session, session.get(wanted.url) as response:
                if response.status != 200:
                    raise CommandRejected(f"model not available from the hub: HTTP {response.status}")
                data = bytearray()
                async for chunk in response.content.iter_chunked(1 << 16):
                    data.extend(chunk)
                    if len(data) > self.max_model_bytes:
                        raise CommandRejected(f"model too big for this device (over {self.max_model_bytes} bytes)")
        except (aiohttp.ClientError, TimeoutError) as err:
            raise CommandRejected(f"model download failed: {err or type(err).__name__}") from None
        try:
            check_gltf(bytes(data))
        except ValueError as err:
            raise CommandRejected(str(err)) from None
        self.models.append(wanted.url)
        self.showing_model = {"url": wanted.url, "title": wanted.title, "bytes": len(data)}
        self._announce()
        return {"showing_model": {"url": wanted.url, "title": wanted.title}, "bytes": len(data)}


simulate = agent_simulator(SimulatedArDevice)
