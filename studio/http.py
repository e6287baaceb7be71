"""What the studio's route modules share: the app key, roles, error translation, body parsing."""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ValidationError

from classroom_hub.auth import User
from device_drivers.camera import PtzError
from studio.bookings import Actor
from studio.errors import BookingConflict, NotAllowed, NotFound, RecordingError, ReviewError, StudioError
from studio.keys import STUDIO
from studio.live import Studio

STAFF = ("studio_staff",)
TEACHERS = ("teacher", "studio_staff")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def error(status: int, code: str, message: str, **extra: Any) -> web.HTTPException:
    body = json.dumps({"error": code, "message": message, **extra}, ensure_ascii=False)
    classes: dict[int, type[web.HTTPException]] = {
        400: web.HTTPBadRequest, 403: web.HTTPForbidden, 404: web.HTTPNotFound, 409: web.HTTPConflict,
        502: web.HTTPBadGateway, 503: web.HTTPServiceUnavailable,
    }  # fmt: skip
    return classes[status](text=body, content_type="application/json")


def studio_errors(handler: Handler) -> Handler:
    """Studio and PTZ errors as JSON with a status a page can act on."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except BookingConflict as err:
            raise error(409, "conflict", str(err), other_id=err.other_id) from None
        except NotAllowed as err:
            raise error(403, "forbidden", str(err)) from None
        except NotFound as err:
            raise error(404, "not_found", str(err)) from None
        except (RecordingError, ReviewError) as err:  # the studio's or the recording's state says no
            raise error(409, type(err).__name__, str(err)) from None
        except StudioError as err:  # bad request: booking rules, values
            raise error(400, type(err).__name__, str(err)) from None
        except PtzError as err:
            raise error(502, "camera", str(err)) from None

    return wrapped


def running_studio(request: web.Request) -> Studio:
    studio = request.config_dict.get(STUDIO)
    if studio is None:
        raise error(503, "no_studio", "this hub's room is not a studio (no cameras configured)")
    return studio


async def body_of(request: web.Request, model: type[BaseModel]) -> Any:
    try:
        raw = await request.json() if request.body_exists else {}  # (the hub may have read it already)
    except json.JSONDecodeError as err:
        raise error(400, "bad_json", f"the body is not JSON: {err}") from None
    try:
        return model.model_validate(raw)
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in err.errors())
        raise error(400, "invalid", problems) from None


def actor_of(user: User) -> Actor:
    return Actor(user.username, staff=user.may(*STAFF))
