"""The technician console's API: commands to one device or a group, each kind's command
catalogue, the room's alarms (every source: devices and labs, one list), device history, scene
bundles for the headsets and the live alarm socket.

``setup(app)`` adds the fleet as a long-lived part of the hub, and these routes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from classroom_hub.bus.payloads import KEY_PATTERN
from classroom_hub.fleet.commands import GroupResult
from classroom_hub.fleet.keys import FLEET
from classroom_hub.fleet.part import fleet_part
from classroom_hub.fleet.scenes.launcher import group_view
from classroom_hub.fleet.scenes.shelf import Scene
from classroom_hub.fleet.scenes.web import find_scene
from classroom_hub.fleet.scenes.web import setup as scenes_setup
from classroom_hub.fleet.targets import Target
from classroom_hub.keys import ALARMS, REGISTRY, REJECTIONS
from classroom_hub.problems import describe
from classroom_hub.web.access import allow
from classroom_hub.web.address import hub_url
from classroom_hub.web.routes import Push, live_socket, require
from classroom_hub.web.security import problem
from device_drivers.kinds import declared_kinds

COMMANDERS = ("technician", "teacher")
MAX_HISTORY_H = 24 * 7


def setup(app: web.Application) -> None:
    """The fleet's part and the technician console's API (the fleet's declaration names it)."""
    app.cleanup_ctx.append(fleet_part)
    app.router.add_post("/api/devices/{device_id}/command", device_command)
    app.router.add_post("/api/fleet/command", group_command)
    app.router.add_get("/api/devices/{device_id}/history", device_history)
    app.router.add_get("/api/alarms", alarms)
    app.router.add_post("/api/alarms/{alarm_id}/acknowledge", acknowledge)
    scenes_setup(app)
    app.router.add_get("/ws/fleet", fleet_ws)
    app.router.add_get("/api/device-kinds", device_kinds)


@allow("technician", "teacher", "lab_lead", "studio_staff")
async def device_kinds(request: web.Request) -> web.Response:
    """Each declared device kind's command catalogue (device_drivers/<kind>/): what the
    technician page offers to send to a device of the kind, with example arguments."""
    await require(request, "technician", "teacher", "lab_lead", "studio_staff")
    return web.json_response(
        {"kinds": {name: {"commands": [c.as_json() for c in kind.commands]} for name, kind in declared_kinds().items()}}
    )


# --- requests ----------------------------------------------------------------------------


class CommandRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=KEY_PATTERN)
    args: dict[str, Any] = Field(default_factory=dict)
    timeout_s: float | None = Field(None, gt=0, le=120)
    include_offline: bool = False


class GroupCommandRequest(CommandRequest):
    target: Target


def _bad_request(request: web.Request, reason: str, detail: str, status: int = 400) -> web.HTTPException:
    request.config_dict[REJECTIONS].add(f"http {request.method} {request.path}", reason, detail)
    return problem(status, reason, detail)


async def _parse(request: web.Request, model: type[CommandRequest]) -> Any:
    try:
        body = await request.json()
    except ValueError as err:
        raise _bad_request(request, "malformed_request", f"body is not JSON: {err}") from None
    try:
        return model.model_validate(body)
    except ValidationError as err:
        raise _bad_request(request, "malformed_request", describe(err)) from None


async def _scene_of(request: web.Request, name: str, args: dict[str, Any]) -> Scene | None:
    """The library's scene a launch names by content id. A launch names a scene: without one
    every headset would refuse (and alarm)."""
    if name not in ("launch_scene", "fetch_scene") or "content" in args:
        return None
    content_id = args.get("content_id")
    if not isinstance(content_id, str) or not content_id:
        raise _bad_request(request, "scene_required", f"{name} needs a scene: pick one (args.content_id)")
    try:
        return await find_scene(request, None, content_id)
    except web.HTTPException as err:
        request.config_dict[REJECTIONS].add(f"http {request.method} {request.path}", "unknown_scene", content_id)
        raise err from None


# --- commands ----------------------------------------------------------------------------


@allow(*COMMANDERS)
async def device_command(request: web.Request) -> web.Response:
    await require(request, *COMMANDERS)
    device_id = request.match_info["device_id"]
    if device_id not in request.config_dict[REGISTRY]:
        raise _bad_request(request, "unknown_device", device_id, 404)
    body: CommandRequest = await _parse(request, CommandRequest)
    args = body.args
    fleet = request.config_dict[FLEET]
    scene = await _scene_of(request, body.name, args)
    if scene is not None and body.name == "fetch_scene":
        (one,) = await fleet.launcher.prefetch(scene, hub_url(request), [device_id])
        return web.json_response(one.as_dict())
    if scene is not None:  # with this headset's own download address
        content = scene.launch_args(None) | {"url": fleet.scene_keys.url(hub_url(request), device_id, scene.sha256)}
        args = {**args, "scene_id": args.get("scene_id", scene.scene), "content": content}
    result = await fleet.commands.send(
        device_id, body.name, args, timeout=body.timeout_s, include_offline=body.include_offline
    )
    return web.json_response(result.as_dict())


@allow(*COMMANDERS)
async def group_command(request: web.Request) -> web.Response:
    await require(request, *COMMANDERS)
    body: GroupCommandRequest = await _parse(request, GroupCommandRequest)
    device_ids = body.target.select(request.config_dict[REGISTRY])
    if not device_ids:
        raise _bad_request(request, "no_devices", f"no device matches {body.target.model_dump(exclude_none=True)}")
    fleet = request.config_dict[FLEET]
    scene = await _scene_of(request, body.name, body.args)
    if scene is not None and body.name == "fetch_scene":  # fetched now, played later
        started_at, started = time.time(), time.perf_counter()
        results = await fleet.launcher.prefetch(scene, hub_url(request), device_ids)
        group = GroupResult("fetch_scene", results, started_at, (time.perf_counter() - started) * 1000)
        return web.json_response(group.as_dict())
    if scene is not None:  # only the headsets holding it launch; the others fetch it first
        scene_id = body.args.get("scene_id")
        scene_id = scene_id if isinstance(scene_id, str) and scene_id else None
        started = time.perf_counter()
        rows = await fleet.launcher.launch(scene, hub_url(request), device_ids, scene_id)
        # The hub's own time from the command to the last headset's answer, as for any group.
        duration_ms = round((time.perf_counter() - started) * 1000, 1)
        return web.json_response(group_view(rows) | {"duration_ms": duration_ms})
    group = await fleet.commands.send_group(
        device_ids, body.name, body.args, timeout=body.timeout_s, include_offline=body.include_offline
    )
    return web.json_response(group.as_dict())


# --- alarms and history ------------------------------------------------------------------


@allow("technician")
async def alarms(request: web.Request) -> web.Response:
    await require(request, "technician")
    service = request.config_dict[ALARMS]
    limit = _int_query(request, "limit", 100, 1, 1000)
    device_id = request.query.get("device") or None
    history = await service.history(limit, device_id=device_id)  # a StoreError is a 503 (security.py)
    return web.json_response(
        {"active": [a.as_dict() for a in service.active()], "history": [a.as_dict() for a in history]}
    )


@allow("technician")
async def acknowledge(request: web.Request) -> web.Response:
    user = await require(request, "technician")
    alarm = request.config_dict[ALARMS].acknowledge(request.match_info["alarm_id"], user.username)
    if alarm is None:
        raise _bad_request(request, "unknown_alarm", request.match_info["alarm_id"], 404)
    return web.json_response(alarm.as_dict())


@allow("technician")
async def device_history(request: web.Request) -> web.Response:
    await require(request, "technician")
    device_id = request.match_info["device_id"]
    if device_id not in request.config_dict[REGISTRY]:
        raise _bad_request(request, "unknown_device", device_id, 404)
    hours = _int_query(request, "hours", 24, 1, MAX_HISTORY_H)
    now = time.time()
    history = await request.config_dict[FLEET].logbook.device_history(device_id, now - hours * 3600, now)
    return web.json_response(history.as_dict())


def _int_query(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _bad_request(request, "malformed_request", f"{name} must be a whole number") from None
    if not low <= value <= high:
        raise _bad_request(request, "malformed_request", f"{name} must be between {low} and {high}")
    return value


# --- live alarms -------------------------------------------------------------------------


@allow("technician")
async def fleet_ws(request: web.Request) -> web.WebSocketResponse:
    """Active alarms (every source) as a snapshot, then each change as it happens."""
    await require(request, "technician")
    alarms = request.config_dict[ALARMS]

    def subscribe(push: Push) -> Callable[[], None]:
        return alarms.on_change(lambda alarm: push({"type": "alarm", "alarm": alarm.as_dict()}))

    return await live_socket(
        request, lambda: {"type": "alarms", "active": [a.as_dict() for a in alarms.active()]}, subscribe
    )
