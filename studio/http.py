"""What the studio's route modules share: the app key, roles, body parsing.

A studio or PTZ error escaping a handler is answered by the hub's error middleware
(``classroom_hub/web/security.py``) with its code and status."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ValidationError

from classroom_hub.auth import User
from classroom_hub.problems import describe
from classroom_hub.web.security import problem
from studio.bookings import Actor
from studio.keys import STUDIO
from studio.live import Studio

STAFF = ("studio_staff",)
TEACHERS = ("teacher", "studio_staff")


def running_studio(request: web.Request) -> Studio:
    studio = request.config_dict.get(STUDIO)
    if studio is None:
        raise problem(503, "no_studio", "this hub's room is not a studio (no cameras configured)")
    return studio


async def body_of(request: web.Request, model: type[BaseModel]) -> Any:
    try:
        raw = await request.json() if request.body_exists else {}  # (the hub may have read it already)
    except json.JSONDecodeError as err:
        raise problem(400, "bad_json", f"the body is not JSON: {err}") from None
    try:
        return model.model_validate(raw)
    except ValidationError as err:
        raise problem(400, "invalid", describe(err)) from None


def actor_of(user: User) -> Actor:
    return Actor(user.username, staff=user.may(*STAFF))
