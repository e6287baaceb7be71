"""The scene library's routes (docs/scenes.md).

``GET /api/scenes``: the stored scenes and the current launch with every headset's state (staff).
``POST /api/scenes/launch``: launch one on the room's headsets (teacher, technician).
``POST /api/scenes/stop``: send the headsets home (teacher, technician).
``GET /scenes/<sha256>``: the package itself, with Range requests, for a headset with its key
or a signed-in staff member (keys.py says why).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from classroom_hub.fleet.keys import FLEET
from classroom_hub.fleet.scenes.shelf import Scene
from classroom_hub.problems import describe
from classroom_hub.web.access import ANYONE, allow
from classroom_hub.web.address import hub_url
from classroom_hub.web.routes import require
from classroom_hub.web.security import problem
from classroom_hub.web.session import current_user

log = logging.getLogger(__name__)

STAFF = ("technician", "teacher", "lab_lead", "studio_staff")
LAUNCHERS = ("technician", "teacher")


def setup(app: web.Application) -> None:
    app.router.add_get("/api/scenes", scenes)
    app.router.add_post("/api/scenes/launch", launch)
    app.router.add_post("/api/scenes/stop", stop)
    app.router.add_get("/scenes/{sha256}", scene_bundle)


class LaunchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")
    content_id: str | None = Field(None, min_length=1, max_length=128)
    scene_id: str | None = Field(None, min_length=1, max_length=128)
    device_ids: list[str] | None = Field(None, min_length=1, max_length=500)

    @model_validator(mode="after")
    def _one_scene(self) -> LaunchRequest:
        if (self.sha256 is None) == (self.content_id is None):
            raise ValueError("name the scene: give its sha256 or its content_id")
        return self


def launch_state(request: web.Request) -> dict[str, Any]:
    launcher = request.config_dict[FLEET].launcher
    wanted = launcher.wanted
    return {
        "scene": wanted.scene.as_dict() if wanted else None,
        "scene_id": wanted.scene_id if wanted else None,
        "headsets": launcher.rows(),
    }


async def find_scene(request: web.Request, sha256: str | None, content_id: str | None) -> Scene:
    shelf = request.config_dict[FLEET].scenes
    loop = asyncio.get_running_loop()
    if sha256 is not None:
        scene = await loop.run_in_executor(None, shelf.get, sha256)
    else:
        scene = await loop.run_in_executor(None, shelf.by_content_id, content_id or "")
    if scene is None:
        what = f"sha256 {sha256}" if sha256 else f"content id {content_id!r}"
        raise problem(404, "unknown_scene", f"no scene with {what} in the hub's library (classroom-hub scene import)")
    return scene


@allow(*STAFF)
async def scenes(request: web.Request) -> web.Response:
    await require(request, *STAFF)
    shelf = request.config_dict[FLEET].scenes
    listed = await asyncio.get_running_loop().run_in_executor(None, shelf.list)
    fleet = request.config_dict[FLEET]

    def held(scene: Scene) -> dict[str, int]:
        """How many of the devices that play it hold it: {"ready": n, "total": m}."""
        ids = fleet.launcher.headsets(scene.platform)
        ready = sum(fleet.copies.of(d, scene.sha256).state == "ready" for d in ids)
        return {"ready": ready, "total": len(ids)}

    return web.json_response(
        {"scenes": [s.as_dict() | {"held": held(s)} for s in listed], "launch": launch_state(request)}
    )


@allow(*LAUNCHERS)
async def launch(request: web.Request) -> web.Response:
    await require(request, *LAUNCHERS)
    try:
        body = LaunchRequest.model_validate(await request.json())
    except ValueError as err:
        detail = describe(err) if isinstance(err, ValidationError) else f"body is not JSON: {err}"
        raise problem(400, "malformed_request", detail) from None
    scene = await find_scene(request, body.sha256, body.content_id)
    launcher = request.config_dict[FLEET].launcher
    if not launcher.headsets(scene.platform):
        raise problem(409, "no_headsets", f"this room has no device that plays {scene.platform} scenes")
    await launcher.launch(scene, hub_url(request), body.device_ids, body.scene_id)
    return web.json_response(launch_state(request))


@allow(*LAUNCHERS)
async def stop(request: web.Request) -> web.Response:
    await require(request, *LAUNCHERS)
    fleet = request.config_dict[FLEET]
    wanted = fleet.launcher.wanted
    fleet.launcher.stop()
    if wanted is not None:
        await fleet.commands.send_group(wanted.device_ids, "home")
    return web.json_response(launch_state(request))


@allow(ANYONE, narrowed=True)
async def scene_bundle(request: web.Request) -> web.StreamResponse:
    """A headset with its key (``?device=H07&key=...``, handed out in its own command) or a signed-in
    staff member; anyone else gets 403 even for a hash they know. Range requests resume a cut download."""
    fleet = request.config_dict[FLEET]
    sha256 = request.match_info["sha256"]
    device_id, key = request.query.get("device", ""), request.query.get("key", "")
    if device_id and key:
        if not fleet.scene_keys.check(device_id, sha256, key):
            raise problem(403, "bad_scene_key", "this key is not for this headset and scene")
        who = device_id
    else:
        user = await current_user(request)
        if user is None or not user.may(*STAFF):
            raise problem(403, "scene_key_required", "a headset fetches scenes with the key from its command; "
                          "staff log in first")  # fmt: skip
        who = user.username
    path = await asyncio.get_running_loop().run_in_executor(None, fleet.scenes.path, sha256)
    if path is None:
        raise problem(404, "unknown_scene", "no scene with that SHA-256 in the hub's library")
    log.info("event=scene_served sha256=%s to=%s range=%r", sha256[:12], who, request.headers.get("Range"))
    return web.FileResponse(path, headers={"Content-Type": "application/zip"})
